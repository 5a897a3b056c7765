"""The emulator's rules as plain functions over a store: no HTTP, no server."""

from __future__ import annotations

import time
from typing import Any

import pytest

from emulator import backend, validation
from emulator.auth import OPERATOR, Principal
from emulator.errors import ApiError
from emulator.lifecycle import AppState
from emulator.store import Store

ADMIN = Principal("admin", OPERATOR, is_admin=True)


def gpu_spec(gpus: int, replicas: int = 1) -> dict[str, Any]:
    return validation.app_spec(
        {
            "image": "vllm/vllm-openai:latest",
            "resources": {"flavor": "l40s-1-gpu", "gpu": gpus},
            "scalingStrategy": {"fixed": {"replicas": replicas}},
        }
    )


def rules(quota: int = 4) -> backend.Rules:
    return backend.Rules(Store(None), gpu_quota=quota)


def test_quota_counts_apps_holding_gpus_and_answers_402() -> None:
    r, now = rules(), time.time()
    first = backend.create_app(r, ADMIN, gpu_spec(2), now)
    backend.create_app(r, ADMIN, gpu_spec(2), now)
    with pytest.raises(ApiError) as over:
        backend.create_app(r, ADMIN, gpu_spec(1), now)
    assert over.value.status == 402 and "4 of the project's 4 are in use" in over.value.message
    backend.stop_app(r, first, now)  # a stopped app frees its GPUs once STOPPED
    assert backend.gpus_in_use(r, now + 60) == 2
    backend.create_app(r, ADMIN, gpu_spec(2), now + 60)


def test_a_spec_swap_checks_the_quota_only_when_it_grows() -> None:
    r, now = rules(quota=3), time.time()
    app = backend.create_app(r, ADMIN, gpu_spec(2), now)
    backend.replace_spec(r, app, now, gpu_spec(1))  # smaller: no check
    with pytest.raises(ApiError) as over:
        backend.replace_spec(r, app, now, gpu_spec(2, replicas=2))
    assert over.value.status == 402 and backend.gpus_held(app["spec"]) == 1  # unchanged on refusal


def test_start_and_stop_races() -> None:
    r, now = rules(), time.time()
    app = backend.create_app(r, ADMIN, gpu_spec(1), now)
    with pytest.raises(ApiError) as running:
        backend.start_app(r, app, now + 60)
    assert running.value.status == 400 and "RUNNING" in running.value.message
    assert backend.stop_app(r, app, now + 60) is True
    assert backend.stop_app(r, app, now + 60) is False  # the second stop of a race changes nothing
    backend.start_app(r, app, now + 120)
    assert backend.state_of(app, now + 120) is AppState.QUEUED


def test_delete_needs_force_while_active() -> None:
    r, now = rules(), time.time()
    app = backend.create_app(r, ADMIN, gpu_spec(1), now)
    with pytest.raises(ApiError) as conflict:
        backend.delete_app(r, app, now, force=False)
    assert conflict.value.status == 409
    assert backend.delete_app(r, app, now, force=True) is True
    assert backend.delete_app(r, app, now, force=True) is False  # already DELETING


def test_pages_and_their_metadata() -> None:
    records = [{"id": str(i)} for i in range(5)]
    page = backend.paginate(records, 2, 2)
    assert [r["id"] for r in page.items] == ["2", "3"]
    assert page.metadata("/v1/token") == {
        "currentPage": 2,
        "pageCount": 3,
        "total": 5,
        "links": {"next": "/v1/token?page=3&size=2"},
    }
    assert backend.paginate([], 1, 100).metadata("/v1/app") == {
        "currentPage": 1,
        "pageCount": 1,
        "total": 0,
        "links": {},
    }
