"""The served model name(s) of a vLLM app, read from its container command.

Order of precedence, as vLLM itself applies it: `--served-model-name` (one or more names), else
`--model X`, else the positional after `vllm serve`. A `bash -c "..."` command is shlex-split.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

SHELLS = frozenset({"bash", "sh", "/bin/bash", "/bin/sh", "/usr/bin/bash", "zsh"})


def _tokens(command: Sequence[str]) -> list[str]:
    parts = list(command)
    if len(parts) >= 3 and parts[0] in SHELLS and parts[1] in ("-c", "-lc"):
        return shlex.split(parts[2])
    if len(parts) == 1:
        return shlex.split(parts[0])
    return parts


def _underscored(name: str) -> str:
    """`--max-num-seqs` -> `--max_num_seqs` (vLLM's parser takes either spelling)."""
    return "--" + name.removeprefix("--").replace("-", "_")


def _option(tokens: list[str], name: str) -> list[str]:
    alt = _underscored(name)
    for index, token in enumerate(tokens):
        for flag in (name, alt):
            if token.startswith(flag + "="):
                return [token.split("=", 1)[1]]
            if token == flag:
                values = []
                for value in tokens[index + 1 :]:
                    if value.startswith("-") or value in ("&&", ";", "|"):
                        break
                    values.append(value)
                return values
    return []


def command_tokens(command: Sequence[str]) -> list[str]:
    """The argv of a container command, a `bash -c "..."` string split as the shell would."""
    try:
        return _tokens(command)
    except ValueError:  # unbalanced quotes: fall back to plain tokens
        return list(command)


def option_values(tokens: list[str], name: str) -> list[str]:
    """The values after `--name` (or `--name=value`, or the underscore spelling); [] if absent."""
    return _option(tokens, name)


def has_flag(tokens: list[str], name: str) -> bool:
    alt = _underscored(name)
    return any(token in (name, alt) or token.startswith((name + "=", alt + "=")) for token in tokens)


def model_path(command: Sequence[str], default: str) -> str:
    """What vLLM loads: `--model X`, else the positional after `vllm serve`."""
    tokens = command_tokens(command)
    found = _option(tokens, "--model")[:1]
    if not found:
        for index, token in enumerate(tokens[:-1]):
            if token == "serve" and not tokens[index + 1].startswith("-"):
                found = [tokens[index + 1]]
                break
    return found[0] if found else default


def served_model_names(command: Sequence[str], default: str) -> list[str]:
    names = _option(command_tokens(command), "--served-model-name")
    return names or [model_path(command, default)]
