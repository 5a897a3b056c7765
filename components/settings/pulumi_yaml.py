"""Regenerate the `config:` block of Pulumi.yaml from the settings' keys (`StackConfig`).

    .venv/bin/python -m components.settings.pulumi_yaml --write    # rewrite Pulumi.yaml's config:
    .venv/bin/python -m components.settings.pulumi_yaml --check    # exit 1 when it is stale

Everything above `config:` (the header comment, name, runtime) is kept as written; the block
itself is rendered from `declared_config()`, so a new stack key is a field of `StackConfig` and
this command, never a hand edit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from components.settings.keys import declared_config

__all__ = ["COMMAND", "PULUMI_YAML", "render"]

PULUMI_YAML = Path(__file__).resolve().parents[2] / "Pulumi.yaml"
COMMAND = ".venv/bin/python -m components.settings.pulumi_yaml --write"
_MARK = "\nconfig:\n"


def render(text: str) -> str:
    """`text` (a Pulumi.yaml) with its `config:` block, the last of the file, rendered afresh."""
    head = text[: text.index(_MARK) + 1] if _MARK in text else text.rstrip("\n") + "\n"
    block = yaml.safe_dump({"config": declared_config()}, sort_keys=False, width=1000, allow_unicode=True)
    return head + block


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite Pulumi.yaml in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if Pulumi.yaml is not up to date")
    parser.add_argument(
        "--file", type=Path, default=PULUMI_YAML, help="the Pulumi.yaml (default: the project's)"
    )
    args = parser.parse_args(argv)
    current = args.file.read_text(encoding="utf-8")
    wanted = render(current)
    if args.write:
        if wanted != current:
            args.file.write_text(wanted, encoding="utf-8")
        print(f"{args.file}: config block {'rewritten' if wanted != current else 'already up to date'}")
        return 0
    if args.check:
        if wanted != current:
            print(f"{args.file} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
