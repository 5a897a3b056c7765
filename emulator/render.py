"""Stored records -> the wire shapes of the regional API (the official `ovhai` models' fields)."""

from __future__ import annotations

from typing import Any

from . import datastore, lifecycle
from .auth import Principal
from .backend import Page, current_replicas
from .store import Record

VOLUME_KEYS = ("id", "createdAt", "updatedAt", "cache", "dataStore", "privateSwift", "publicGit",
               "publicSwift", "standalone")  # fmt: skip
TENANT = "emulator-project"


def app(record: Record, base_url: str, now: float) -> dict[str, Any]:
    app_id = record["id"]
    status = lifecycle.render_status(record["schedule"], now, current_replicas(record))
    status.update(
        url=f"{base_url}/app/{app_id}",
        infoUrl=f"{base_url}/_emulator/ui/app/{app_id}",
        monitoringUrl=f"{base_url}/_emulator/monitoring/app/{app_id}",
    )
    syncs = datastore.render_syncs(record, now)
    if syncs:
        status["dataSync"] = syncs
    if record["spec"].get("grpcPort"):
        status["grpcAddress"] = f"127.0.0.1:{base_url.rsplit(':', 1)[-1]}"
    return {
        "id": app_id,
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "user": record["user"],
        "spec": record["spec"],
        "status": status,
    }


def token(record: Record, value: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"version": record["status"]["version"]}
    if value is not None:
        status["value"] = value
    return {
        "id": record["id"],
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "spec": record["spec"],
        "status": status,
    }


def volume(record: Record) -> dict[str, Any]:
    return {key: record[key] for key in VOLUME_KEYS if key in record}


def listing(page: Page, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """`{items, metadata: {currentPage, pageCount, total, links: {next?}}}` (`AppList` and kin)."""
    return {"items": items, "metadata": page.metadata(path)}


def quotas(gpu_quota: int, cpu_quota: int, storage_bits: int) -> dict[str, Any]:
    """`ProjectQuotas`: per compute kind, upper-case as in the official example, storage in bits."""
    return {"resources": {"GPU": gpu_quota, "CPU": cpu_quota}, "storage": storage_bits}


def me(principal: Principal, quota: dict[str, Any]) -> dict[str, Any]:
    """`Me`: the admin token stands for the project's user (OAuth), others are app tokens."""
    body: dict[str, Any] = {
        "name": principal.name,
        "tenant": TENANT,
        "role": "administrator" if principal.is_admin else principal.role,
        "tokenKind": "oauth" if principal.is_admin else "app",
        "trustId": f"{TENANT}-trust",
        "quotas": quota,
    }
    return body
