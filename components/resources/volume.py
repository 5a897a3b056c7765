"""AiVolume: an AI Deploy user volume (`/v1/volume`) as a Pulumi dynamic resource, and its provider.

A model cache outlives any app: destroying a model stack keeps its volume unless asked. That is
an input, `retainOnDelete` (default true), rather than Pulumi's `retain_on_delete` option, because
(1) the decision is then part of the resource's recorded inputs, shown by `pulumi preview` when it
changes and read by the provider, which says in the log which volume it kept and why (the
option drops the resource from the state without a word from the provider); and (2) a kept volume
is found again: `create` adopts a volume of the same name and spec instead of making a second one,
so a model stack destroyed and brought up again mounts the same cache. `retainOnDelete: false`
then `pulumi up` (recorded), then `pulumi destroy` deletes it.

The API has no update of a volume: any change of `spec` replaces it; `retainOnDelete` updates in
place (no API call).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import ValidationError

from components.ovhai import ApiError, NotFound
from components.ovhai.models import UserVolume, UserVolumeSpec
from components.resources.credentials import Credentials
from components.resources.fingerprint import redact
from components.resources.progress import log
from components.resources.provider_base import ApiProvider
from components.resources.spec_diff import contains_unknown, same

PROVIDER_KEY = "__provider"
SOURCES = ("dataStore", "publicGit", "publicSwift", "standalone")


class VolumeError(RuntimeError):
    """An API error while managing a volume (never carrying the token)."""


def check_volume(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalised inputs and (property, reason) failures: a valid spec, at most one source."""
    inputs = {k: v for k, v in news.items() if v is not None}
    failures: list[tuple[str, str]] = []
    retain = inputs.get("retainOnDelete", True)
    if not isinstance(retain, bool) and not contains_unknown(retain):
        failures.append(("retainOnDelete", f"must be true or false, not {retain!r}"))
    inputs["retainOnDelete"] = retain
    spec = inputs.get("spec")
    if contains_unknown(spec):
        return inputs, failures
    if not isinstance(spec, Mapping):
        return inputs, [*failures, ("spec", "the volume's spec (name and at most one source) is required")]
    given = [key for key in SOURCES if key in spec]
    if len(given) > 1:
        failures.append(("spec", f"one source at most, not {', '.join(given)}"))
    try:
        # The name is this resource's own (the official UserVolume has none): not sent to the API.
        wire = UserVolumeSpec.from_input({k: v for k, v in spec.items() if k != "name"}).to_wire()
        inputs["spec"] = {**({"name": spec["name"]} if "name" in spec else {}), **wire}
    except ValidationError as error:
        failures += [(".".join(["spec", *(str(p) for p in e["loc"])]), e["msg"]) for e in error.errors()]
    return inputs, failures


def volume_outputs(inputs: Mapping[str, Any], volume: UserVolume) -> dict[str, Any]:
    outs = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
    outs["volumeId"] = volume.id
    return outs


def matches(volume: UserVolume, spec: Mapping[str, Any]) -> bool:
    """A volume that a create may adopt: the same source (the official `UserVolume` is flat and
    carries no name, so the source, a standalone disk's name included, is what identifies it)."""
    theirs = volume.to_wire()
    return any(key in spec for key in SOURCES) and all(
        same(theirs.get(key), spec.get(key)) for key in SOURCES)


class AiVolumeProvider(ApiProvider):
    """CRUD of one user volume (`/v1/volume`); delete keeps it while `retainOnDelete`."""

    def _fail(self, name: str, error: ApiError, creds: Credentials) -> VolumeError:
        return VolumeError(redact(f"volume {name}: {error}", creds.secrets))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_volume(news)
        return CheckResult(inputs, [CheckFailure(path, reason) for path, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replace = contains_unknown(news.get("spec")) or not same(olds.get("spec"), news.get("spec"))
        retain = not same(olds.get("retainOnDelete", True), news.get("retainOnDelete", True))
        return DiffResult(changes=replace or retain, replaces=["spec"] if replace else [],
                          delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        creds = self.credentials()
        spec = dict(props["spec"])
        name = str(spec["name"])
        try:
            with self.client(creds, name) as client:
                kept = [v for v in client.list_volumes() if matches(v, spec)]
                if kept:
                    volume = kept[0]
                    log(name, f"volume {volume.id} (kept by an earlier delete) adopted")
                else:
                    volume = client.create_volume({k: v for k, v in spec.items() if k != "name"})
                    log(name, f"volume {volume.id} created")
        except ApiError as error:
            raise self._fail(name, error, creds) from None
        return CreateResult(volume.id, volume_outputs(props, volume))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        creds = self.credentials()
        name = str((props.get("spec") or {}).get("name", id_))
        try:
            with self.client(creds, name) as client:
                volume = client.get_volume(id_)
        except NotFound:
            return ReadResult("", {})
        except ApiError as error:
            raise self._fail(name, error, creds) from None
        return ReadResult(id_, volume_outputs(props, volume))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only retainOnDelete changes in place (spec replaces): nothing to tell the API.
        outs = {k: v for k, v in news.items() if k != PROVIDER_KEY}
        outs["volumeId"] = olds.get("volumeId", id_)
        if "state" in olds:
            outs["state"] = olds["state"]
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        name = str((props.get("spec") or {}).get("name", id_))
        if props.get("retainOnDelete", True) is not False:
            log(name, f"volume {id_} kept (retainOnDelete); set retainOnDelete: false and "
                      "`pulumi up` before destroying to delete it")
            return
        creds = self.credentials()
        try:
            with self.client(creds, name) as client:
                client.delete_volume(id_)
        except NotFound:
            return
        except ApiError as error:
            raise self._fail(name, error, creds) from None
        log(name, f"volume {id_} deleted")


class AiVolume(pulumi.dynamic.Resource, module="ovhai", name="AiVolume"):
    """A user volume; kept by `pulumi destroy` unless `retain_on_delete=False` was applied first."""

    spec: pulumi.Output[dict[str, Any]]
    retainOnDelete: pulumi.Output[bool]
    volumeId: pulumi.Output[str]
    state: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        spec: pulumi.Input[Mapping[str, Any]],
        retain_on_delete: pulumi.Input[bool] = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "spec": spec,
            "retainOnDelete": retain_on_delete,
            "volumeId": None,
            "state": None,
        }
        super().__init__(AiVolumeProvider(), resource_name, props, opts)
