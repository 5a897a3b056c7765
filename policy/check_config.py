"""Check a `--policy-pack-config` file before a preview: `python policy/check_config.py FILE`.

The pack refuses unknown policy names and settings when the engine configures it (policy/
__main__.py), but an unknown policy name whose entry has no enforcementLevel is refused earlier
by the engine itself, as `invalid enforcement level ""`, without the name: this names it.
"""

import json
import sys
from pathlib import Path

from pack import CONFIG_FILE_HINT, POLICIES, config_problems


def main(path: str) -> int:
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        print(f"policy pack config {path}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(config, dict):
        print(f"policy pack config {path}: not a JSON object of policy names", file=sys.stderr)
        return 2
    problems = config_problems(config, POLICIES)
    for problem in problems:
        print(f"policy pack config {path}: {problem}", file=sys.stderr)
    if problems:
        print(CONFIG_FILE_HINT, file=sys.stderr)
        return 1
    print(f"policy pack config {path}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]) if len(sys.argv) == 2 else 2)
