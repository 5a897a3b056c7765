"""What the benchmark loads: an OpenAI base URL, a model name, a token, and the hourly cost.

From flags (`--url`, `--model`, `--token-env VAR`, `--hourly-cost`) or from a stack's outputs
(`pulumi stack output --json --show-secrets --stack NAME`: openaiBaseUrl, model, token,
estimatedHourlyCost, as components/deployment.py exports them). The token is held here and handed
to the load generator through its environment; it is never printed, logged or written out.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import BenchError

# The emulator's app URLs (DESIGN.md, public surface): http://127.0.0.1:PORT/app/<id>.
_STANDIN = re.compile(r"^/app/[0-9a-fA-F-]{8,}(/v1)?/?$")


@dataclass(frozen=True)
class Target:
    base_url: str  # the OpenAI base URL, ending in /v1
    model: str
    token: str = field(repr=False)  # never in a repr, a message or the report
    hourly_cost: float | None = None
    currency: str | None = None
    cost_source: str | None = None

    @property
    def server_root(self) -> str:
        """The URL the OpenAI paths hang from (AIPerf appends /v1/chat/completions)."""
        return self.base_url.rstrip("/").removesuffix("/v1")

    @property
    def is_standin(self) -> bool:
        """The emulator's vLLM stand-in (loopback, /app/<id>): its latencies are synthetic."""
        parts = urlsplit(self.base_url)
        return parts.hostname in ("127.0.0.1", "localhost", "::1") and bool(_STANDIN.match(parts.path))


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BenchError(f"--url {url!r} is not an http(s) URL (give the OpenAI base URL, .../v1)", 2)
    if not parts.path.rstrip("/").endswith("/v1"):
        raise BenchError(
            f"--url {url!r} does not end in /v1: give the OpenAI base URL (the stack output openaiBaseUrl)", 2
        )
    return url.rstrip("/")


def target_from_outputs(outputs: Mapping[str, Any], stack: str) -> Target:
    """The target in a stack's outputs; a clear error naming a missing output."""
    missing = [name for name in ("openaiBaseUrl", "model") if not outputs.get(name)]
    if missing:
        raise BenchError(
            f"stack {stack} has no output {', '.join(missing)}: run `pulumi up --stack {stack}` first", 2
        )
    cost = outputs.get("estimatedHourlyCost")
    amount = cost.get("amount") if isinstance(cost, Mapping) else None
    return Target(
        base_url=check_base_url(str(outputs["openaiBaseUrl"])),
        model=str(outputs["model"]),
        token=str(outputs.get("token") or ""),
        hourly_cost=float(amount) if isinstance(amount, int | float) else None,
        currency=str(cost.get("currency")) if isinstance(cost, Mapping) and cost.get("currency") else None,
        cost_source=f"stack {stack} output estimatedHourlyCost (the planner's estimate)"
        if amount is not None
        else None,
    )


def pulumi_binary(project_dir: Path) -> str:
    local = project_dir / ".venv" / "bin" / "pulumi"
    if local.exists():
        return str(local)
    found = shutil.which("pulumi")
    if found is None:
        raise BenchError("--stack needs the Pulumi CLI: not on PATH (bash scripts/setup.sh installs it)", 2)
    return found


def stack_outputs(stack: str, project_dir: Path) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets`; its stdout holds the token, so it is parsed
    here and never echoed (an error shows pulumi's stderr only)."""
    command = [pulumi_binary(project_dir), "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(command, cwd=project_dir, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`pulumi stack output --stack {stack}` did not answer in 120 s", 1) from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        cause = lines[-1] if lines else f"exit code {done.returncode}"
        raise BenchError(f"cannot read the outputs of stack {stack}: {cause}", 2)
    try:
        outputs = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise BenchError(f"`pulumi stack output --json --stack {stack}` printed no JSON", 1) from None
    if not isinstance(outputs, dict):
        raise BenchError(f"`pulumi stack output --json --stack {stack}` printed no JSON object", 1)
    return outputs
