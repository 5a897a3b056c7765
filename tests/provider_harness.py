"""Drive a real `python -m pulumi.dynamic` provider process the way the Pulumi engine does.

The engine starts the dynamic provider as a plugin, reads its gRPC port from stdout, sends
`Configure` with the stack's config (secret values wrapped as secrets), then Check/Diff/Create/
Read/Update/Delete with protobuf Structs: every number a float, `None` values dropped, old
*outputs* as `olds`, and `__provider` the base64 dill pickle made by the SDK's own
`serialize_provider`. Because the provider answers Configure with `acceptSecrets: false`, the
engine strips secret wrappers from everything it sends afterwards; this driver does the same.

The process runs with a neutral working directory (a temp dir) so that it proves `components`
is importable from anywhere, as it must be when the Pulumi CLI spawns it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import ResourceProvider, serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.proto.provider_pb2_grpc import ResourceProviderStub

from emulator.runner import stop_process

PROVIDER_KEY = "__provider"
STACK, PROJECT = "dev", "vllm-ai-deploy"


@dataclass(frozen=True)
class Secret:
    """A value the engine sends as a secret (only in Configure, see the module docstring)."""

    value: Any


class Unknown:
    """A value not known yet (during preview): sent as the engine's UNKNOWN sentinel."""


UNKNOWN = Unknown()


def _to_wire(value: Any, keep_secrets: bool) -> Any:
    if isinstance(value, Secret):
        inner = _to_wire(value.value, keep_secrets)
        return {rpc._special_sig_key: rpc._special_secret_sig, "value": inner} if keep_secrets else inner
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, Mapping):
        return {str(k): _to_wire(v, keep_secrets) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_wire(v, keep_secrets) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)  # protobuf Struct numbers are doubles: the engine sends 2 as 2.0
    raise TypeError(f"cannot send {type(value).__name__} to a provider")


def to_struct(props: Mapping[str, Any], *, keep_secrets: bool = False) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_to_wire(props, keep_secrets))
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Deserialise with the SDK's own function, as the engine's view of the provider's answer."""
    result: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    return result


@dataclass
class DiffAnswer:
    changes: int
    replaces: list[str]
    delete_before_replace: bool

    @property
    def kind(self) -> str:
        if self.replaces:
            return "replace"
        if self.changes == provider_pb2.DiffResponse.DIFF_SOME:
            return "update"
        return "none" if self.changes == provider_pb2.DiffResponse.DIFF_NONE else "unknown"


@dataclass
class ProviderProcess:
    """A running `python -m pulumi.dynamic` and a stub connected to it."""

    process: subprocess.Popen[bytes]
    port: int
    stub: ResourceProviderStub
    channel: grpc.Channel
    stderr_path: Path
    workdir: tempfile.TemporaryDirectory[str]
    type_name: str = "pulumi-python:dynamic:Resource"
    accept_secrets: bool = False
    calls: list[str] = field(default_factory=list)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def start(cls, *, env: Mapping[str, str] | None = None, timeout: float = 30.0) -> ProviderProcess:
        workdir = tempfile.TemporaryDirectory(prefix="dynprov-")
        stderr_path = Path(workdir.name) / "provider.stderr"
        stderr_file = stderr_path.open("wb")
        full_env = dict(os.environ)
        full_env.pop("PYTHONPATH", None)  # `components` must come from the installed project, not cwd
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            cwd=workdir.name,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            env=full_env,
        )
        stderr_file.close()
        assert process.stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not line or not line[0].strip().isdigit():
            process.kill()
            raise RuntimeError(f"provider did not print its port: {line!r}\n{stderr_path.read_text()}")
        port = int(line[0])
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=timeout)
        return cls(process, port, ResourceProviderStub(channel), channel, stderr_path, workdir)

    def close(self) -> None:
        self.channel.close()
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> ProviderProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        self.workdir.cleanup()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    # -- helpers ---------------------------------------------------------------------------
    def urn(self, name: str) -> str:
        return f"urn:pulumi:{STACK}::{PROJECT}::{self.type_name}::{name}"

    def _props(self, props: Mapping[str, Any]) -> struct_pb2.Struct:
        return to_struct(props, keep_secrets=self.accept_secrets)

    def _target(self, name: str) -> dict[str, Any]:
        """The fields by which every resource RPC names its resource."""
        return {"urn": self.urn(name), "name": name, "type": self.type_name}

    def _change(
        self,
        name: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The fields of Diff and Update, which the engine fills alike."""
        return {
            **self._target(name),
            "id": id_,
            "olds": self._props(olds),
            "news": self._props(news),
            "old_inputs": self._props(old_inputs or {}),
        }

    # -- the RPCs, in the engine's shapes ---------------------------------------------------
    def configure(self, config: Mapping[str, Any]) -> provider_pb2.ConfigureResponse:
        """Send the stack config (`ovhai:endpoint`, `ovhai:token` as a Secret, ...) as the engine does."""
        variables = {k: str(v.value if isinstance(v, Secret) else v) for k, v in config.items()}
        request = provider_pb2.ConfigureRequest(
            variables=variables,
            args=to_struct(config, keep_secrets=True),
            acceptSecrets=True,
            acceptResources=True,
        )
        response: provider_pb2.ConfigureResponse = self.stub.Configure(request)
        self.accept_secrets = response.acceptSecrets
        return response

    def check(
        self, name: str, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append("Check")
        response = self.stub.Check(
            provider_pb2.CheckRequest(
                **self._target(name), olds=self._props(olds or {}), news=self._props(news)
            )
        )
        return from_struct(response.inputs), [(f.property, f.reason) for f in response.failures]

    def diff(
        self,
        name: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> DiffAnswer:
        self.calls.append("Diff")
        response = self.stub.Diff(provider_pb2.DiffRequest(**self._change(name, id_, olds, news, old_inputs)))
        return DiffAnswer(response.changes, list(response.replaces), response.deleteBeforeReplace)

    def create(
        self, name: str, props: Mapping[str, Any], *, timeout: float = 0.0
    ) -> tuple[str, dict[str, Any]]:
        self.calls.append("Create")
        response = self.stub.Create(
            provider_pb2.CreateRequest(**self._target(name), properties=self._props(props), timeout=timeout)
        )
        return response.id, from_struct(response.properties)

    def read(
        self, name: str, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        self.calls.append("Read")
        response = self.stub.Read(
            provider_pb2.ReadRequest(
                **self._target(name), id=id_, properties=self._props(props), inputs=self._props(inputs or {})
            )
        )
        return response.id, from_struct(response.properties), from_struct(response.inputs)

    def update(
        self,
        name: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        self.calls.append("Update")
        response = self.stub.Update(
            provider_pb2.UpdateRequest(**self._change(name, id_, olds, news, old_inputs))
        )
        return from_struct(response.properties)

    def delete(self, name: str, id_: str, props: Mapping[str, Any]) -> None:
        self.calls.append("Delete")
        self.stub.Delete(
            provider_pb2.DeleteRequest(**self._target(name), id=id_, properties=self._props(props))
        )


def provider_blob(provider: ResourceProvider) -> str:
    """`__provider` exactly as `pulumi.dynamic.Resource` makes it (the engine then strips the secret)."""
    blob: str = serialize_provider(provider)
    return blob


def with_provider(props: Mapping[str, Any], blob: str) -> dict[str, Any]:
    return {**props, PROVIDER_KEY: blob}


@dataclass
class EmulatorControl:
    """The emulator's `/_emulator/` control routes and an admin view of `/v1`, for assertions."""

    base_url: str
    admin_token: str

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx  # only the tests need it here

        headers = {"Authorization": f"Bearer {self.admin_token}"}
        response = httpx.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def faults(
        self, faults: list[dict[str, Any]], *, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        match = {k: v for k, v in {"method": method, "pathPrefix": path_prefix}.items() if v}
        self._call(
            "POST", "/_emulator/faults", json={"faults": faults, **({"match": match} if match else {})}
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "/_emulator/faults")

    def requests(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_emulator/requests")
        return result

    def reset_requests(self) -> None:
        self._call("DELETE", "/_emulator/requests")

    def apps(self, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else {}
        body = self._call("GET", "/v1/app", params=params)
        result: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body  # {items, metadata}
        return result

    def delete_app(self, app_id: str) -> None:
        self._call("DELETE", f"/v1/app/{app_id}", params={"force": "true"})

    def stop_app(self, app_id: str) -> None:
        self._call("PUT", f"/v1/app/{app_id}/stop")
