"""Start the emulator as a child process and wait until it accepts requests.

Used by the tests' fixtures, the benchmarks and the one-command local deploy, so that all of them
run the real `python -m emulator` over real loopback HTTP.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

LISTENING = re.compile(r"emulator listening on (http://127\.0\.0\.1:(\d+))")
DEFAULT_ADMIN_TOKEN = "local-admin-token"


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate a child process if it still runs; kill it if it ignores that for 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class RunningEmulator:
    """A running `python -m emulator` child process."""

    process: subprocess.Popen[str]
    base_url: str
    port: int
    admin_token: str
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    *,
    port: int = 0,
    admin_token: str = DEFAULT_ADMIN_TOKEN,
    state_file: Path | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 30.0,
) -> RunningEmulator:
    """Start the emulator (port 0 picks a free port) and return once it prints its listening line."""
    args = [sys.executable, "-m", "emulator", "--port", str(port), "--admin-token", admin_token]
    if state_file is not None:
        args += ["--state-file", str(state_file)]
    args += list(extra_args)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + startup_timeout
    found: re.Match[str] | None = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        found = LISTENING.search(line)
        if found:
            break
    if found is None:
        process.kill()
        raise RuntimeError("emulator did not start:\n" + "".join(output))
    running = RunningEmulator(process, found.group(1), int(found.group(2)), admin_token, output)

    def drain() -> None:  # keep the pipe from filling up; the lines stay readable for tests
        assert process.stdout is not None
        for rest in process.stdout:
            output.append(rest)

    threading.Thread(target=drain, daemon=True).start()
    return running
