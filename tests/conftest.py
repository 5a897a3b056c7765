"""Shared fixtures: a real emulator process on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.runner import RunningEmulator, start_emulator
from tests.provider_harness import EmulatorControl

ADMIN_TOKEN = "test-admin-token"

# Stack programs price their plans from OVHcloud's public catalog at preview: tests use the built-in
# estimates unless they ask for a catalog (the `priceCatalogUrl` key wins), so that the live prices
# never change a test's result (tests/test_pricing*.py fetch from the emulator's catalog).
os.environ.setdefault("VLLM_AI_DEPLOY_PRICE_CATALOG", "none")


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """One emulator for the session (fast timings). Tests must not assume it is empty."""
    with start_emulator(admin_token=ADMIN_TOKEN) as running:
        yield running


@pytest.fixture
def fresh_emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    """An emulator of one's own, with a state file, for tests that count apps or restart it."""
    with start_emulator(admin_token=ADMIN_TOKEN, state_file=tmp_path / "state.json") as running:
        yield running


# A module that defines a module-scoped `admin_token` fixture gets its own emulator as `emu`, so its
# secret-leak checks can look for a token no other module uses.
@pytest.fixture(scope="module")
def emu(admin_token: str) -> Iterator[RunningEmulator]:
    with start_emulator(admin_token=admin_token) as running:
        yield running


@pytest.fixture(scope="module")
def control(emu: RunningEmulator, admin_token: str) -> EmulatorControl:
    return EmulatorControl(emu.base_url, admin_token)
