"""The emulator's state (apps, tokens, user volumes) and its atomic JSON persistence.

Every mutation runs under `lock` and calls `save()` before the handler answers: the state file is
written to a temporary file in the same directory, fsynced, then `os.replace`d over the old one,
so a crash leaves either the old or the new state, never half of one, and nothing acknowledged is
lost. Token values are never stored, only their SHA-256.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .lifecycle import iso

Record = dict[str, Any]


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_record(**fields: Any) -> Record:
    """A volume or token as first stored: a fresh id, created and updated now, then `fields`."""
    now = iso(time.time())
    return {"id": str(uuid.uuid4()), "createdAt": now, "updatedAt": now, **fields}


def oldest_first(records: Iterable[Record]) -> list[Record]:
    """The listing order of volumes and tokens (the id breaks ties)."""
    return sorted(records, key=lambda r: (r["createdAt"], r["id"]))


# The collections of the state, each named once: the attribute and the state file's key.
COLLECTIONS = ("apps", "tokens", "volumes", "datastore")


class Store:
    apps: dict[str, Record]
    tokens: dict[str, Record]
    volumes: dict[str, Record]
    datastore: dict[str, Record]  # emulator/datastore.py: what each datastore prefix caches

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = asyncio.Lock()
        for name in COLLECTIONS:
            setattr(self, name, {})
        if path is not None and path.exists():
            self._load(path)

    def _collections(self) -> dict[str, dict[str, Record]]:
        return {name: getattr(self, name) for name in COLLECTIONS}

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        for name in COLLECTIONS:
            setattr(self, name, dict(data.get(name, {})))

    def token_by_value(self, value: str) -> Record | None:
        digest = hash_token(value)
        for token in self.tokens.values():
            if token["valueHash"] == digest:
                return token
        return None

    def reset(self) -> None:
        for collection in self._collections().values():
            collection.clear()

    def save(self) -> None:
        """Write the whole state atomically (no-op without a state file)."""
        if self.path is None:
            return
        data = {"version": 1, **self._collections()}
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        # Make the rename itself durable.
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
