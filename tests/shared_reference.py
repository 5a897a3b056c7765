"""Where the project's shared reference files live (`../shared` beside the repository).

CI always has them, so there a missing file is a failure; a developer's clone elsewhere may not,
so there the tests that need one are skipped, saying which file and why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_file(relative: str) -> Path:
    """The shared file's path; skip (outside CI) or fail (in CI) when it is absent."""
    path = SHARED / relative
    if not path.exists():
        message = f"shared reference file {path} not found (the ../shared directory beside the repo)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)
    return path
