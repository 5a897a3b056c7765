"""The AiApp field policy: for each field of the API's AppSpec, how a change reaches a live app.

One table, read by the diff (`spec_diff.diff_app`: replace or update) and by the update
(`AiAppProvider._apply`: which endpoint, which body), the Terraform way: the decision stands next
to the field, with its reason where it is not obvious. `tests/test_field_policy.py` fails when
`AppSpec` gains a field this table does not classify, holds the in-place fields against
`AppUpdate` (the body of `PUT /v1/app/{id}`), and checks that the README and `AiApp`'s docstring
say what `replacement_sentence()` renders from it.

A spec field missing here (a newer API) is replaced: safer than an update the API may not offer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "INPUT_POLICY",
    "SPEC_POLICY",
    "FieldPolicy",
    "keys_applied_by",
    "replacement_sentence",
    "update_fields",
]

# How a change is applied: a new app, or one of the update endpoints of a live app.
# "create" steers the create alone: a later change is no change at all (not even a no-op update).
Apply = Literal["replace", "put", "image", "scaling", "labels", "provider", "create"]


@dataclass(frozen=True)
class FieldPolicy:
    apply: Apply
    reason: str = ""
    # For "put": the keys of the flat `PUT /v1/app/{id}` body (AppUpdate) this field is sent as.
    # A nested field (resources) is unpacked into them; by default a field is sent as itself.
    update_fields: tuple[str, ...] = ()
    # For "put": what a field removed from the inputs is sent as (None: left out, unchanged).
    cleared: Any = None

    @property
    def replaces(self) -> bool:
        return self.apply == "replace"


def _put(*update_fields: str, reason: str = "", cleared: Any = None) -> FieldPolicy:
    return FieldPolicy("put", reason, update_fields, cleared)


SPEC_POLICY: Mapping[str, FieldPolicy] = MappingProxyType(
    {
        "name": FieldPolicy("replace", "no endpoint renames an app"),
        "image": FieldPolicy("image", "PUT /v1/app/{id}/image (a rolling update)"),
        "command": _put("command", cleared=[], reason="[] resets it to the image's entrypoint"),
        "envVars": _put("envVars", reason="sent with the secretEnv values merged in"),
        "defaultHttpPort": _put("defaultHttpPort"),
        "grpcPort": FieldPolicy(
            "replace",
            "AppUpdate accepts grpcPort, but the provider replaces the app on purpose: nothing this "
            "product serves speaks gRPC, and a new app is the conservative path for a port clients "
            "dial directly (status.grpcAddress); kept as it was, not to change behaviour",
        ),
        "labels": FieldPolicy("labels", "PUT /v1/app/{id}/label, one label at a time"),
        "unsecureHttp": FieldPolicy("replace", "no endpoint opens or closes a live app"),
        "resources": _put(
            "flavor", "gpu", "cpu", reason="AppUpdate takes flavor, gpu and cpu flat, the rest is derived"
        ),
        "volumes": FieldPolicy("replace", "no endpoint changes the volumes of a live app"),
        "scalingStrategy": FieldPolicy("scaling", "PUT /v1/app/{id}/scalingstrategy"),
        "probe": _put("probe"),
        "livenessProbe": _put("livenessProbe"),
        "deploymentStrategy": _put("deploymentStrategy"),
        "region": FieldPolicy("replace", "an app lives in the region it was created in"),
        "partnerId": FieldPolicy("replace", "no endpoint changes it on a live app"),
    }
)

# The AiApp inputs beside `spec`.
INPUT_POLICY: Mapping[str, FieldPolicy] = MappingProxyType(
    {
        "deploymentKey": FieldPolicy("replace", "apps are found and adopted by it: another key, another app"),
        "serviceName": FieldPolicy(
            "replace", "the public door's project (given when the stack names none): another project, "
            "another app"
        ),
        "secretEnv": _put("envVars", reason="merged into envVars; compared by fingerprint"),
        # Steer the provider only: no API call when they change.
        "readiness": FieldPolicy("provider"),
        "gpuQuota": FieldPolicy("provider"),
        "keepFailedApps": FieldPolicy("provider"),
        "adoptAppId": FieldPolicy(
            "create",
            "which existing app the create takes over instead of making one (the way to bring an app "
            "made outside Pulumi under management: `pulumi import` cannot import a dynamic resource)",
        ),
    }
)


def update_fields(key: str) -> tuple[str, ...]:
    """The AppUpdate keys a "put" spec field is sent as."""
    return SPEC_POLICY[key].update_fields or (key,)


def keys_applied_by(apply: Apply, table: Mapping[str, FieldPolicy] = SPEC_POLICY) -> tuple[str, ...]:
    return tuple(k for k, p in table.items() if p.apply == apply)


def replacement_sentence() -> str:
    """What the README and AiApp's docstring say about replacements, rendered from the tables."""
    names = [f"`{k}`" for k in keys_applied_by("replace", INPUT_POLICY)]
    names += [f"`spec.{k}`" for k in sorted(keys_applied_by("replace"))]
    listed = ", ".join(names[:-1]) + " or " + names[-1]
    return f"Changing {listed} replaces the app; any other change updates it in place."
