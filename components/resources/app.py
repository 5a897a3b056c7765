"""AiApp: an AI Deploy app as a Pulumi dynamic resource, and its provider.

The provider instance travels to the provider process as a dill pickle of this importable,
side-effect-free module (pickled by reference): it holds no client, no lock and no credential
(`__getstate__` drops what `configure()` stored). Every operation builds its own client, so the
up to four operations the engine runs at once in threads share nothing mutable.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from components.ovhai import (
    ApiConnectionError,
    ApiError,
    Conflict,
    NotFound,
    NotGrantedCall,
    OvhAiClient,
    PaymentRequired,
    ServerError,
    WaitTimeout,
)
from components.ovhai.models import App, TokenRole
from components.platform import DEPLOYMENT_LABEL, RESTARTABLE_STATES, STOP_STATES
from components.resources.credentials import Credentials
from components.resources.field_policy import SPEC_POLICY, update_fields
from components.resources.fingerprint import fingerprint, fingerprints, new_key, redact
from components.resources.progress import Progress, log
from components.resources.provider_base import ApiProvider
from components.resources.readiness import (
    DEFAULT_POLICY,
    Deadline,
    WaitOutcome,
    WaitPolicy,
    choose_deadline,
    wait_until_ready,
)
from components.resources.spec_diff import (
    IMAGE_KEYS,
    PUT_SPEC_KEYS,
    SCALING_KEYS,
    AppChanges,
    diff_app,
    normalize,
    project_live,
    user_labels,
)
from components.resources.validation import DEFAULT_TIMEOUT_SECONDS, check_app

PROVIDER_KEY = "__provider"
STATUS_KEYS = ("appId", "url", "state", "availableReplicas", "infoUrl", "monitoringUrl", "createdAt")
LOG_TAIL = 20
DELETE_TIMEOUT = 600.0
CREATE_ATTEMPTS = 3


class AppFailed(RuntimeError):
    """The app did not become ready: the message names the state, the platform's info and the log tail."""


class AdoptionRefused(RuntimeError):
    """`adoptAppId` names an app this resource may not take over; nothing was changed."""


class ProviderError(RuntimeError):
    """An API error during an operation, with the resource's name and a hint where one helps."""


# ------------------------------------------------------------------------------------------- helpers


def wire_spec(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The AppSpec to send: the input spec, the deployment-key label, and the secret env vars."""
    spec = dict(inputs["spec"])
    spec["labels"] = {**(spec.get("labels") or {}), DEPLOYMENT_LABEL: inputs["deploymentKey"]}
    secret_env = inputs.get("secretEnv") or {}
    env = [*(spec.get("envVars") or []), *({"name": k, "value": v} for k, v in sorted(secret_env.items()))]
    if env:
        spec["envVars"] = env
    return spec


def status_outputs(app: App) -> dict[str, Any]:
    status = app.status
    outs = {
        "appId": app.id,
        "url": status.url,
        "state": app.state,
        "availableReplicas": status.available_replicas,
        "infoUrl": status.info_url,
        "monitoringUrl": status.monitoring_url,
        "createdAt": app.created_at.isoformat().replace("+00:00", "Z") if app.created_at else None,
    }
    return {k: v for k, v in outs.items() if v is not None}


def app_outputs(inputs: Mapping[str, Any], app: App, key: str) -> dict[str, Any]:
    """Outputs = the inputs (secret values as fingerprints) + the fingerprint key + the app's status."""
    outs = {k: v for k, v in inputs.items() if k != PROVIDER_KEY and k not in STATUS_KEYS}
    outs["secretEnv"] = fingerprints(key, inputs.get("secretEnv") or {})
    outs["fingerprintKey"] = key
    outs.update(status_outputs(app))
    return outs


def live_outputs(props: Mapping[str, Any], app: App) -> dict[str, Any]:
    """What a refresh stores: the old outputs with the live spec and status laid over them."""
    outs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
    key = outs.get("fingerprintKey") or new_key()
    outs["fingerprintKey"] = key
    old_prints: Mapping[str, str] = outs.get("secretEnv") or {}
    live = normalize(app.spec.to_wire())
    label = (live.get("labels") or {}).get(DEPLOYMENT_LABEL)
    input_spec = outs.get("spec")
    if isinstance(input_spec, Mapping) and input_spec:
        outs["spec"] = project_live(input_spec, live, set(old_prints))
    else:  # no inputs to shape it (an import): the whole live spec, without platform labels
        live["labels"] = user_labels(live.get("labels"))
        live["envVars"] = [e for e in live.get("envVars") or [] if e.get("name") not in old_prints]
        outs["spec"] = live
    live_env = {e.get("name"): e.get("value") for e in live.get("envVars") or [] if isinstance(e, Mapping)}
    outs["secretEnv"] = {
        name: fingerprint(key, name, str(live_env[name]))
        for name in old_prints
        if live_env.get(name) is not None
    }
    if label is not None:
        outs["deploymentKey"] = label
    for name in STATUS_KEYS:
        outs.pop(name, None)
    outs.update(status_outputs(app))
    return outs


def app_name(props: Mapping[str, Any]) -> str:
    spec = props.get("spec")
    name = spec.get("name") if isinstance(spec, Mapping) else None
    return str(name or props.get("deploymentKey") or "ai-app")


def secret_values(props: Mapping[str, Any], creds: Credentials | None) -> list[str]:
    values = [str(v) for v in (props.get("secretEnv") or {}).values() if isinstance(v, str)]
    return [*values, *creds.secrets] if creds else values


@contextmanager
def probe_token(client: OvhAiClient, creds: Credentials, app: App) -> Iterator[str]:
    """The bearer that probes the app's URL: the regional door's AI token; on the public door (no AI
    token pasted anywhere) a read token minted for this app alone, deleted after the wait."""
    if creds.token:
        yield creds.token
        return
    minted = client.create_token(f"probe-{app.id}", TokenRole.READ, f"ovh/id={app.id}")
    try:
        yield minted.value or ""
    finally:
        try:
            client.delete_token(minted.id)
        except ApiError as error:  # the wait's own outcome matters more; the token reads one app
            log(app.spec.name or app.id, f"could not delete probe token {minted.id}: {error}")


def deployment_apps(client: OvhAiClient, props: Mapping[str, Any], app: App) -> list[App]:
    """The apps of this deployment (its label), the starting one first: the evidence of a push."""
    others = client.list_apps(label_selector=f"{DEPLOYMENT_LABEL}={props['deploymentKey']}")
    return [app, *(a for a in others if a.id != app.id and a.state not in ("DELETING", "DELETED"))]


def deadline_for(client: OvhAiClient, props: Mapping[str, Any], app: App) -> Deadline:
    """Which readiness deadline this start runs under (readiness.choose_deadline says how). The
    apps are read only when a bucket deadline is declared: one list request per wait."""
    readiness = props.get("readiness") or {}
    if not isinstance(readiness.get("fromBucket"), Mapping):
        return choose_deadline(readiness, {}, [])
    apps = deployment_apps(client, props, app)
    return choose_deadline(readiness, wire_spec(props),
                           [(a.id, a.spec.to_wire(), a.status.data_sync or []) for a in apps])


def deadline_words(props: Mapping[str, Any], deadline: Deadline | None) -> str:
    """The deadline a timeout names: the input that set it, and for a bucket start why it applied."""
    if deadline is not None and deadline.source == "bucket":
        return (f"readiness.fromBucket.timeoutSeconds={deadline.seconds:g} (the bucket deadline: "
                f"{deadline.reason}; an emptied prefix downloads from the Hub again: raise it to "
                "readiness.timeoutSeconds, or push the prefix again)")
    timeout = (props.get("readiness") or {}).get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
    return f"readiness.timeoutSeconds={timeout}"


def hint(error: ApiError) -> str:
    if isinstance(error, PaymentRequired):
        return (
            " (the project's GPU quota or payment method refuses this app: free GPUs by deleting or "
            "stopping other apps, ask OVHcloud for a higher quota, or plan fewer GPUs)"
        )
    if error.status == 401:
        return (
            " (the API token is wrong, revoked, or of another region: check ovhai:token and ovhai:endpoint;"
            " on the public API: the ovh:* credentials and ovh:endpoint)"
        )
    if isinstance(error, NotGrantedCall):
        return ""  # its message already names the refused call and the rules the product needs
    if error.status == 403:
        return (
            " (the API token's role or label selector does not allow this: use an operator token;"
            " on the public API: a consumer key granted GET/POST/PUT/DELETE on /cloud/project/*/ai/*)"
        )
    if isinstance(error, Conflict):
        return " (the app's current state does not allow this change; retry once it is RUNNING or STOPPED)"
    return ""


# ------------------------------------------------------------------------------------------- provider


def _applied_changes(app: App, props: Mapping[str, Any]) -> tuple[dict[str, Any], AppChanges]:
    """The live app as outputs, and how the inputs differ from it (secrets compared by fingerprint)."""
    key = new_key()
    secrets = fingerprints(key, props.get("secretEnv") or {})
    as_applied = {**props, "secretEnv": secrets, "fingerprintKey": key}
    live = live_outputs(as_applied, app)
    return live, diff_app(live, props)


class AiAppProvider(ApiProvider):
    """CRUD of one AI Deploy app against the regional API (see the issue and DESIGN.md)."""

    policy: WaitPolicy = DEFAULT_POLICY

    # -- check / diff -----------------------------------------------------------------------
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_app(news)
        return CheckResult(inputs, [CheckFailure(path, reason) for path, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = diff_app(olds, news)
        return DiffResult(
            changes=changes.changed,
            replaces=changes.replaces,
            delete_before_replace=changes.delete_before_replace if changes.replaces else None,
        )

    # -- create -----------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        started = time.monotonic()
        creds = self.credentials(props.get("serviceName"))
        progress = Progress(app_name(props))
        secrets = secret_values(props, creds)
        app: App | None = None
        try:
            with self.client(creds, progress.name) as client:
                app = self._find_or_create(client, props, progress)
                outcome = self._wait(client, app, props, creds, progress, started)
                if outcome.kind != "ready":
                    # An adopted app was someone's before it was ours: it is never deleted for failing.
                    delete = not props.get("keepFailedApps") and not props.get("adoptAppId")
                    self._give_up(client, outcome, props, progress, secrets, delete=delete)
                progress.say(f"ready as app {outcome.app.id} after {progress.elapsed():.0f} s")
                return CreateResult(outcome.app.id, app_outputs(props, outcome.app, new_key()))
        except ApiError as error:
            # The API gave up on us mid-wait: the app may be running, unknown to the state. It is
            # labelled with the deployment key, so the next `pulumi up` adopts it instead of paying twice.
            orphan = (
                f" App {app.id} exists and is not in the stack's state: the next `pulumi up` adopts it "
                f"(deploymentKey={props['deploymentKey']})."
                if app is not None
                else ""
            )
            raise ProviderError(redact(f"{progress.name}: {error}{hint(error)}{orphan}", secrets)) from None

    def _adoptable(self, client: OvhAiClient, props: Mapping[str, Any], progress: Progress) -> list[App]:
        """Apps this create may adopt: labelled with the deployment key, alive, and alike in every
        field that forces a replacement. An app left by an interrupted attempt is alike; one that
        differs (another name, other volumes) is the app a replacement is about to delete - the
        engine owns it, and adopting it would delete the live app before its successor exists."""
        key = props["deploymentKey"]
        apps = client.list_apps(label_selector=f"{DEPLOYMENT_LABEL}={key}")
        alike: list[App] = []
        for app in apps:
            if app.state in ("DELETING", "DELETED"):
                continue
            differs = _applied_changes(app, props)[1].replaces
            if differs:
                progress.say(
                    f"app {app.id} carries {DEPLOYMENT_LABEL}={key} but differs in {', '.join(differs)}: "
                    "left alone (the app being replaced, else one to delete by hand)"
                )
            else:
                alike.append(app)
        return sorted(alike, key=lambda a: (a.created_at is None, a.created_at, a.id))

    def _adopt_by_id(self, client: OvhAiClient, props: Mapping[str, Any], progress: Progress) -> App:
        """Take over the app `adoptAppId` names (made by `ovhai app run`, say) instead of creating one.

        Refused, before anything changes, when the app is gone, belongs to another deployment, or
        differs in a field that forces a replacement: adopting it would then mean replacing it.
        Otherwise it gets the deployment label and the in-place fields of the inputs (a rolling
        update at most, never a new app)."""
        app_id, key = str(props["adoptAppId"]), props["deploymentKey"]
        refused = f"{progress.name}: adoptAppId={app_id}:"
        try:
            app = client.get_app(app_id)
        except NotFound:
            raise AdoptionRefused(f"{refused} no such app in this project and region") from None
        owner = (app.spec.labels or {}).get(DEPLOYMENT_LABEL)
        if app.state in ("DELETING", "DELETED"):
            raise AdoptionRefused(f"{refused} the app is {app.state}")
        if owner is not None and owner != key:
            raise AdoptionRefused(
                f"{refused} the app belongs to deployment {owner!r} ({DEPLOYMENT_LABEL}), not to this "
                "one: it is left alone"
            )
        differs = _applied_changes(app, props)[1].replaces
        if differs:
            raise AdoptionRefused(
                f"{refused} the app differs from the stack in {', '.join(differs)}, which cannot change "
                "in place: set the stack to match the app, or drop adoptAppId to create a new app"
            )
        if owner is None:
            progress.say(f"adopting app {app_id}: labelling it {DEPLOYMENT_LABEL}={key}")
            client.set_app_label(app_id, DEPLOYMENT_LABEL, key)
        if app.state in STOP_STATES:
            progress.say(f"adopted app {app_id} is {app.state}: starting it")
            client.start_app(app_id)
        return self._converge(client, client.get_app(app_id), props, progress)

    def _find_or_create(self, client: OvhAiClient, props: Mapping[str, Any], progress: Progress) -> App:
        key = props["deploymentKey"]
        if props.get("adoptAppId"):
            return self._adopt_by_id(client, props, progress)
        found = self._adoptable(client, props, progress)
        if found:
            app = found[0]
            if len(found) > 1:
                others = ", ".join(a.id for a in found[1:])
                progress.say(
                    f"warning: more apps carry {DEPLOYMENT_LABEL}={key}: {others} (not managed here)"
                )
            if app.state in STOP_STATES:
                progress.say(
                    f"found app {app.id} of an earlier attempt, {app.state}: deleting it and starting over"
                )
                self._delete(client, app.id, progress)
            else:
                progress.say(f"adopting app {app.id} ({app.state}) of an earlier attempt")
                return self._converge(client, app, props, progress)
        spec = wire_spec(props)
        last: ApiError | None = None
        for _ in range(CREATE_ATTEMPTS):
            try:
                app = client.create_app(spec)
                progress.say(f"created app {app.id}")
                return app
            except (ApiConnectionError, ServerError) as error:
                # The server may have made the app before the answer was lost: look before posting again.
                last = error
                progress.say(
                    f"create got no clean answer ({error}); looking for the app by its deployment key"
                )
                time.sleep(1.0)
                found = self._adoptable(client, props, progress)
                if found:
                    progress.say(f"adopting app {found[0].id}, created by the unanswered request")
                    return found[0]
        assert last is not None
        raise last

    def _converge(self, client: OvhAiClient, app: App, props: Mapping[str, Any], progress: Progress) -> App:
        """An adopted app may lag the inputs (an image changed between attempts): bring it in line.
        It never differs in a field that forces a replacement (see `_adoptable`)."""
        live, changes = _applied_changes(app, props)
        spec_keys, secret_changed = changes.spec_keys(), "secretEnv" in changes.updates
        if spec_keys or secret_changed:
            progress.say(f"adopted app differs in {', '.join(changes.updates)}: updating it")
            self._apply(
                client, app.id, live, props, spec_keys, secret_changed=secret_changed, progress=progress
            )
            return client.get_app(app.id)
        return app

    def _wait(
        self,
        client: OvhAiClient,
        app: App,
        props: Mapping[str, Any],
        creds: Credentials,
        progress: Progress,
        started: float,
    ) -> WaitOutcome:
        readiness = props.get("readiness") or {}
        deadline = deadline_for(client, props, app)
        if isinstance(readiness.get("fromBucket"), Mapping):
            progress.say(deadline.describe())
        with probe_token(client, creds, app) as token:
            outcome = wait_until_ready(
                client,
                app,
                token=token,
                path=str(readiness.get("path", "/")),
                deadline=started + deadline.seconds,
                progress=progress,
                policy=self.policy,
            )
        outcome.deadline = deadline
        return outcome

    def _give_up(
        self,
        client: OvhAiClient,
        outcome: WaitOutcome,
        props: Mapping[str, Any],
        progress: Progress,
        secrets: Iterable[str],
        *,
        delete: bool,
    ) -> NoReturn:
        app = outcome.app
        info = app.status.info.message if app.status.info and app.status.info.message else "no message"
        try:
            tail = client.get_app_logs(app.id, tail=LOG_TAIL)
        except ApiError as error:
            tail = [f"(logs unavailable: {error})"]
        if outcome.kind == "timeout":
            what = f"was not ready within {deadline_words(props, outcome.deadline)} ({outcome.detail})"
        else:
            what = f"ended {app.state}"
        fate = "kept for inspection (keepFailedApps)"
        if delete:
            try:
                self._delete(client, app.id, progress)
                fate = "deleted"
            except (ApiError, WaitTimeout) as error:
                fate = f"NOT deleted ({error}): delete it by hand"
        message = (
            f"{progress.name}: app {app.id} {what}; platform info: {info}; the app was {fate}.\n"
            f"last {len(tail)} log lines:\n" + "\n".join(f"  | {line}" for line in tail)
        )
        progress.say(f"{what}; app {fate}")
        raise AppFailed(redact(message, secrets))

    # -- read -------------------------------------------------------------------------------
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        creds = self.credentials(props.get("serviceName"))
        try:
            with self.client(creds, app_name(props)) as client:
                try:
                    app = client.get_app(id_)
                except NotFound:
                    return ReadResult("", {})
        except ApiError as error:
            raise ProviderError(redact(f"{app_name(props)}: {error}{hint(error)}", creds.secrets)) from None
        if app.state in ("DELETING", "DELETED"):
            return ReadResult("", {})
        return ReadResult(id_, live_outputs(props, app))

    # -- update -----------------------------------------------------------------------------
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        started = time.monotonic()
        creds = self.credentials(news.get("serviceName"))
        progress = Progress(app_name(news))
        secrets = secret_values(news, creds)
        changes = diff_app(olds, news)
        key = olds.get("fingerprintKey") or new_key()
        try:
            with self.client(creds, progress.name) as client:
                moved = self._apply(
                    client,
                    id_,
                    olds,
                    news,
                    changes.spec_keys(),
                    secret_changed="secretEnv" in changes.updates,
                    progress=progress,
                )
                app = client.get_app(id_)
                if olds.get("state") in RESTARTABLE_STATES and app.state in RESTARTABLE_STATES:
                    progress.say(f"app is {app.state}: starting it")
                    client.start_app(id_)
                    app, moved = client.get_app(id_), True
                if moved:
                    outcome = self._wait(client, app, news, creds, progress, started)
                    if outcome.kind != "ready":
                        self._give_up(client, outcome, news, progress, secrets, delete=False)
                    app = outcome.app
                    progress.say(f"updated and ready after {progress.elapsed():.0f} s")
                return UpdateResult(app_outputs(news, app, key))
        except ApiError as error:
            raise ProviderError(redact(f"{progress.name}: {error}{hint(error)}", secrets)) from None

    def _apply(
        self,
        client: OvhAiClient,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        keys: set[str],
        *,
        secret_changed: bool,
        progress: Progress,
    ) -> bool:
        """Send each change through its endpoint; True when the app will roll (a wait is needed)."""
        new_spec: Mapping[str, Any] = news["spec"]
        moved = False
        if keys & set(IMAGE_KEYS):
            progress.say(f"image -> {new_spec['image']}")
            client.set_app_image(id_, new_spec["image"])
            moved = True
        put_keys = keys & set(PUT_SPEC_KEYS)
        if put_keys or secret_changed:
            body: dict[str, Any] = {}
            # Fields sent as themselves first, then envVars (secrets merged), then unpacked ones.
            unpacked = {k for k in put_keys if update_fields(k) != (k,)}
            for key in sorted(put_keys - {"envVars"} - unpacked):
                value = new_spec.get(key)
                body[key] = value if value is not None else SPEC_POLICY[key].cleared
            if "envVars" in put_keys or secret_changed:
                body["envVars"] = wire_spec(news).get("envVars", [])
            for key in sorted(unpacked):
                nested = new_spec.get(key) or {}
                body.update({k: nested[k] for k in update_fields(key) if k in nested})
            body = {k: v for k, v in body.items() if v is not None}
            progress.say(
                f"updating {', '.join(sorted(put_keys | ({'secretEnv'} if secret_changed else set())))}"
            )
            client.update_app(id_, body)
            moved = True
        if keys & set(SCALING_KEYS):
            progress.say("scaling strategy changed")
            client.set_app_scaling(id_, new_spec["scalingStrategy"])
            moved = True
        if "labels" in keys:
            old_labels = user_labels((olds.get("spec") or {}).get("labels"))
            new_labels = user_labels(new_spec.get("labels"))
            for name in sorted(set(old_labels) | set(new_labels)):
                if old_labels.get(name) != new_labels.get(name):
                    client.set_app_label(id_, name, new_labels.get(name))
        return moved

    # -- delete -----------------------------------------------------------------------------
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        creds = self.credentials(props.get("serviceName"))
        progress = Progress(app_name(props))
        try:
            with self.client(creds, progress.name) as client:
                self._delete(client, id_, progress)
        except (ApiError, WaitTimeout) as error:
            raise ProviderError(
                redact(f"{progress.name}: deleting app {id_}: {error}", creds.secrets)
            ) from None

    def _delete(self, client: OvhAiClient, id_: str, progress: Progress) -> None:
        try:
            client.delete_app(id_, force=True)
        except NotFound:
            return
        except Conflict:
            pass  # already on its way out
        progress.say(f"deleting app {id_}")
        client.wait_for_app_gone(
            id_,
            timeout=DELETE_TIMEOUT,
            initial_interval=0.5,
            max_interval=5.0,
            on_change=lambda _old, new, _elapsed: progress.state_seen(new),
        )
        progress.say(f"app {id_} is gone after {progress.elapsed():.0f} s")


# ------------------------------------------------------------------------------------------- resource


class AiApp(pulumi.dynamic.Resource, module="ovhai", name="AiApp"):
    """An AI Deploy app. Outputs: the inputs (secret values fingerprinted) and the app's status.

    Changing `deploymentKey`, `serviceName`, `spec.grpcPort`, `spec.name`, `spec.partnerId`,
    `spec.region`, `spec.unsecureHttp` or `spec.volumes` replaces the app; any other change updates it
    in place.
    (Rendered from field_policy.py; tests/test_field_policy.py keeps this text equal to it.)
    """

    spec: pulumi.Output[dict[str, Any]]  # the input AppSpec (camelCase); a refresh lays the live one over it
    secretEnv: pulumi.Output[dict[str, str]]  # name -> fingerprint of the value (secret), never the value
    # {path, timeoutSeconds[, fromBucket {timeoutSeconds, mountPath, model}]}: what "ready" meant
    # for the wait; fromBucket's deadline applies to a start whose cache prefix an app of this
    # deployment pushed (readiness.choose_deadline), the Hub's timeoutSeconds to any other
    readiness: pulumi.Output[dict[str, Any]]
    deploymentKey: pulumi.Output[str]  # the label value that finds (and adopts) this app
    gpuQuota: pulumi.Output[int]  # the project's GPU quota the replacement order was planned against
    keepFailedApps: pulumi.Output[bool]  # whether an app that failed to start is kept for its logs
    adoptAppId: pulumi.Output[str]  # the app made outside Pulumi that the create took over, if any
    # the public door's project when the stack names none (the platform stack's `serviceName`)
    serviceName: pulumi.Output[str]
    fingerprintKey: pulumi.Output[str]  # the secret key of the secretEnv fingerprints
    appId: pulumi.Output[str]  # the AI Deploy app id
    url: pulumi.Output[str]  # the app's own URL (the OpenAI-compatible server behind the platform token)
    state: pulumi.Output[str]  # the app's state when last seen (RUNNING after a create or update)
    availableReplicas: pulumi.Output[int]  # replicas serving when last seen
    infoUrl: pulumi.Output[str]  # the platform's page of the app
    monitoringUrl: pulumi.Output[str]  # the platform's metrics dashboard of the app
    createdAt: pulumi.Output[str]  # when the platform created the app (ISO 8601, UTC)

    def __init__(
        self,
        resource_name: str,
        *,
        spec: pulumi.Input[Mapping[str, Any]],
        secret_env: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        readiness: pulumi.Input[Mapping[str, Any]] | None = None,
        deployment_key: pulumi.Input[str] | None = None,
        gpu_quota: pulumi.Input[int] | None = None,
        keep_failed_apps: pulumi.Input[bool] | None = None,
        adopt_app_id: pulumi.Input[str] | None = None,
        service_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "spec": spec,
            # Secret in, so the engine keeps the (fingerprinted) output secret too.
            "secretEnv": pulumi.Output.secret(secret_env or {}),
            "readiness": readiness,
            "deploymentKey": deployment_key,
            "gpuQuota": gpu_quota,
            "keepFailedApps": keep_failed_apps,
            "adoptAppId": adopt_app_id,
            "fingerprintKey": None,
            **dict.fromkeys(STATUS_KEYS),
        }
        if service_name is not None:  # absent otherwise, so that existing stacks see no diff
            props["serviceName"] = service_name
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["fingerprintKey"])
        super().__init__(
            AiAppProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_opts)
        )
