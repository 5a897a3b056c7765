#!/usr/bin/env python3
"""The main job in one command: the seed's deployment as `pulumi up`, against the local emulator.

    .venv/bin/python scripts/local_deploy.py up     # emulator + `pulumi up` of `dev` + a chat request
    .venv/bin/python scripts/local_deploy.py down   # `pulumi destroy` of `dev`, then stop the emulator
    .venv/bin/python scripts/local_deploy.py up --door public    # the same through the public API door
    .venv/bin/python scripts/local_deploy.py down --door public

`up` starts the emulator (detached, state in .local/emulator-state.json; reused when already
running), uses a local file backend (.local/state: no Pulumi Cloud account) and a local secrets
passphrase, selects or creates the `dev` stack, runs `pulumi up --yes`, prints the stack outputs
(the token masked) and asks the deployed model "Give me the name of OVHcloud's founder." with the
OpenAI Python client. Running it again changes nothing.

Credentials: the provider gets the emulator's admin token through OVHAI_TOKEN and a placeholder
Hugging Face token through HF_TOKEN (the emulator downloads nothing), so no stack file holds a
token. The passphrase defaults to "local-dev-passphrase": it only protects the secrets of the
local state under .local/; export PULUMI_CONFIG_PASSPHRASE to choose another.

`--door public` deploys the same `dev` stack through the emulator's OVHcloud public API door, as
a team holding OVHcloud API credentials would: no AI token anywhere (neither OVHAI_TOKEN nor
`ovhai:token`); the app and the consumer token are made with the emulator's default application
key, application secret and consumer key. The stack's config for that door lives in
.local/Pulumi.dev.public.yaml (Pulumi.dev.yaml without `ovhai:endpoint`, plus `ovh:endpoint` =
the emulator's `/1.0`, `ovh:applicationKey`, `vllm-ai-deploy:serviceName`, `ovhai:region`, and
the secrets `ovh:applicationSecret` / `ovh:consumerKey` set with `pulumi config set --secret`),
passed to every command with `--config-file`, so the repository's stack file is not rewritten.
Both doors reach the same backend: an app deployed through one is unchanged through the other.
Switching the door of a deployed stack: that first `up` runs without `--refresh`, because Pulumi
refreshes with the provider configuration recorded in the state, the previous door's (the last
door is kept in .local/door), and `down` destroys through the door of the last `up` whatever
`--door` says (Pulumi deletes with the provider configuration of the state).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
STACK = "dev"
DEFAULT_PASSPHRASE = "local-dev-passphrase"
ADMIN_TOKEN = "local-admin-token"
HF_PLACEHOLDER = "hf_local-emulator-placeholder"
QUESTION = "Give me the name of OVHcloud's founder."
LISTENING = re.compile(r"emulator listening on (http://127\.0\.0\.1:(\d+))")
DEFAULT_PORT = 19080
DOORS = ("regional", "public")
PUBLIC_CONFIG = "Pulumi.dev.public.yaml"  # under the local directory
# The emulator's documented defaults of its public door (`python -m emulator --help`).
OVH_APPLICATION_KEY = "emulator-application-key"
OVH_APPLICATION_SECRET = "emulator-application-secret"
OVH_CONSUMER_KEY = "emulator-consumer-key"
OVH_SERVICE_NAME = "emulator-project"
OVH_REGION = "gra"

INSTALL_HELP = """\
The Pulumi CLI is not on PATH nor in this virtual environment. Install it and run this again:
  This project: bash scripts/setup.sh  (the pinned CLI, built from Go modules without internet)
  Linux/macOS:  curl -fsSL https://get.pulumi.com | sh
  macOS:        brew install pulumi/tap/pulumi
  Windows:      choco install pulumi   (or: winget install pulumi)
  Other ways:   https://www.pulumi.com/docs/install/
No Pulumi Cloud account is needed: this script keeps the state in .local/state."""


class Failure(Exception):
    """A step failed; the message says which and what to do."""


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


# --- pulumi ------------------------------------------------------------------------------------


def require_pulumi() -> str:
    # scripts/setup.sh links the pinned CLI into the virtual environment this script runs from.
    beside = Path(sys.prefix) / "bin" / "pulumi"
    found = shutil.which("pulumi") or (str(beside) if beside.exists() else None)
    if found is None:
        print(INSTALL_HELP, file=sys.stderr)
        raise SystemExit(2)
    return found


def pulumi_env(local: Path, emulator_url: str, door: str = "regional") -> dict[str, str]:
    env = dict(os.environ)
    state = local / "state"
    state.mkdir(parents=True, exist_ok=True)
    env["PULUMI_BACKEND_URL"] = "file://" + state.resolve().as_posix()
    if "PULUMI_CONFIG_PASSPHRASE" not in env and "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
        env["PULUMI_CONFIG_PASSPHRASE"] = DEFAULT_PASSPHRASE
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["HF_TOKEN"] = HF_PLACEHOLDER
    if door == "public":  # the stack config's ovh:* keys alone: no AI token, no regional endpoint
        for name in ("OVHAI_ENDPOINT", "OVHAI_TOKEN"):
            env.pop(name, None)
        return env
    # The provider's fallbacks when the stack config has no ovhai:token (dev has none).
    env["OVHAI_ENDPOINT"] = emulator_url
    env["OVHAI_TOKEN"] = ADMIN_TOKEN
    return env


def public_config(local: Path, emulator_url: str) -> Path:
    """.local/Pulumi.dev.public.yaml: Pulumi.dev.yaml's config without `ovhai:endpoint` (kept with
    its encryption salt when it exists); the `ovh:*` keys are set by `configure_public_door`."""
    import yaml

    path = local / PUBLIC_CONFIG
    dev = yaml.safe_load((REPO / f"Pulumi.{STACK}.yaml").read_text(encoding="utf-8")) or {}
    previous = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    document: dict[str, Any] = {}
    if isinstance(previous, dict) and previous.get("encryptionsalt"):
        document["encryptionsalt"] = previous["encryptionsalt"]
    document["config"] = {k: v for k, v in (dev.get("config") or {}).items() if k != "ovhai:endpoint"}
    header = ("# Written by scripts/local_deploy.py --door public: the dev stack through the emulator's\n"
              f"# public API door at {emulator_url}/1.0 (regenerated on each run).\n")
    local.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def configure_public_door(pulumi: str, env: Mapping[str, str], config_file: Path, emulator_url: str) -> None:
    """The stack's `ovh:*` keys for the emulator's public door, secrets with `--secret`."""
    plain = {"ovh:endpoint": f"{emulator_url}/1.0", "ovh:applicationKey": OVH_APPLICATION_KEY,
             "vllm-ai-deploy:serviceName": OVH_SERVICE_NAME, "ovhai:region": OVH_REGION}
    secret = {"ovh:applicationSecret": OVH_APPLICATION_SECRET, "ovh:consumerKey": OVH_CONSUMER_KEY}
    say(f"configuring the public door in {config_file} (secrets with --secret)")
    for key, value in [*plain.items(), *secret.items()]:
        flags = ["--secret"] if key in secret else []
        run_pulumi(pulumi, ["config", "set", *flags, key, value, "--stack", STACK,
                            "--config-file", str(config_file)], env, capture=True)


def run_pulumi(pulumi: str, args: Sequence[str], env: Mapping[str, str], *, capture: bool = False,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [pulumi, *args, "--non-interactive"]
    if not capture:
        say("pulumi " + " ".join(args))
    result = subprocess.run(cmd, cwd=REPO, env=dict(env), text=True,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.PIPE if capture else None)
    if check and result.returncode != 0:
        detail = f"\n{result.stderr.strip()}" if capture and result.stderr else ""
        raise Failure(f"`pulumi {' '.join(args)}` failed with exit code {result.returncode}{detail}")
    return result


def stack_exists(pulumi: str, env: Mapping[str, str]) -> bool:
    result = run_pulumi(pulumi, ["stack", "ls", "--json"], env, capture=True, check=False)
    if result.returncode != 0:
        return False
    try:
        return any(item.get("name") == STACK for item in json.loads(result.stdout or "[]"))
    except (json.JSONDecodeError, AttributeError):
        return False


# --- emulator ----------------------------------------------------------------------------------


def stack_port() -> int:
    """The port of `ovhai:endpoint` in Pulumi.dev.yaml: the emulator must listen there."""
    text = (REPO / f"Pulumi.{STACK}.yaml").read_text(encoding="utf-8")
    found = re.search(r"ovhai:endpoint:\s*['\"]?http://127\.0\.0\.1:(\d+)", text)
    return int(found.group(1)) if found else DEFAULT_PORT


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    except OSError:
        return False
    return True


def _answers(url: str) -> bool:
    import httpx

    try:
        response = httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _python() -> str:
    venv = REPO / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(venv) if venv.exists() else sys.executable


def ensure_emulator(local: Path, port: int) -> dict[str, Any]:
    """The running emulator (reused) or a new detached one; its pid and URL in .local/emulator.json."""
    info_file = local / "emulator.json"
    if info_file.exists():
        info = json.loads(info_file.read_text(encoding="utf-8"))
        if _alive(int(info.get("pid", 0))) and _answers(info["url"]):
            say(f"emulator already running at {info['url']} (pid {info['pid']})")
            return dict(info)
    if port and _answers(f"http://127.0.0.1:{port}"):
        raise Failure(f"an emulator not started by this script already listens on port {port}: stop it, "
                      f"or run `{Path(sys.argv[0]).name} down` if it was started from another checkout")
    local.mkdir(parents=True, exist_ok=True)
    log_path = local / "emulator.log"
    state_file = local / "emulator-state.json"
    log = log_path.open("w", encoding="utf-8")
    args = [_python(), "-m", "emulator", "--port", str(port), "--admin-token", ADMIN_TOKEN,
            "--state-file", str(state_file)]
    process = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"), start_new_session=True)
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = LISTENING.search(log_path.read_text(encoding="utf-8", errors="replace"))
        if found:
            info = {"pid": process.pid, "url": found.group(1), "port": int(found.group(2)),
                    "stateFile": str(state_file), "log": str(log_path)}
            info_file.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            say(f"emulator started at {info['url']} (pid {process.pid}, state {state_file})")
            return info
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if process.poll() is None:
        process.terminate()
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    raise Failure(f"the emulator did not start; its log:\n{log_text}")


def stop_emulator(local: Path) -> None:
    info_file = local / "emulator.json"
    if not info_file.exists():
        say("no emulator started by this script is running")
        return
    info = json.loads(info_file.read_text(encoding="utf-8"))
    pid = int(info.get("pid", 0))
    if pid and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not _alive(pid):
                break
            with contextlib.suppress(ChildProcessError):  # reap it when it is our own child
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        say(f"emulator stopped (pid {pid})")
    info_file.unlink()


# --- outputs and the chat request --------------------------------------------------------------


def mask(value: str) -> str:
    return value[:4] + "..." + f" ({len(value)} chars)" if len(value) > 8 else "****"


def print_outputs(outputs: Mapping[str, Any]) -> None:
    say("stack outputs")
    width = max((len(k) for k in outputs), default=0)
    for key in sorted(outputs):
        value = outputs[key]
        shown = mask(str(value)) if key.lower().endswith("token") else (
            json.dumps(value) if isinstance(value, dict | list) else str(value))
        print(f"  {key.ljust(width)}  {shown}")


def chat(outputs: Mapping[str, Any]) -> str:
    from openai import OpenAI

    client = OpenAI(base_url=str(outputs["openaiBaseUrl"]), api_key=str(outputs["token"]), timeout=120.0,
                    max_retries=3)
    response = client.chat.completions.create(
        model=str(outputs["model"]), messages=[{"role": "user", "content": QUESTION}], max_tokens=256
    )
    return response.choices[0].message.content or ""


# --- subcommands -------------------------------------------------------------------------------


def up(local: Path, port: int, door: str = "regional") -> None:
    pulumi = require_pulumi()
    if door == "regional" and port and port != stack_port():
        say(f"warning: Pulumi.{STACK}.yaml points ovhai:endpoint at port {stack_port()}, not {port}")
    emulator = ensure_emulator(local, port)
    env = pulumi_env(local, emulator["url"], door)
    run_pulumi(pulumi, ["stack", "select", "--create", STACK], env)
    extra: list[str] = []
    if door == "public":
        config_file = public_config(local, emulator["url"])
        configure_public_door(pulumi, env, config_file, emulator["url"])
        extra = ["--config-file", str(config_file)]
    door_file = local / "door"
    previous = door_file.read_text(encoding="utf-8").strip() if door_file.exists() else door
    refresh = ["--refresh"] if previous == door else []
    if not refresh:
        say(f"the stack was deployed through the {previous} door: this `up` does not refresh "
            "(a refresh would use the provider configuration of the state, the other door's)")
    run_pulumi(pulumi, ["up", "--yes", *refresh, "--stack", STACK, *extra], env)
    door_file.write_text(door + "\n", encoding="utf-8")
    result = run_pulumi(pulumi, ["stack", "output", "--json", "--show-secrets", "--stack", STACK], env,
                        capture=True)
    outputs = json.loads(result.stdout)
    print_outputs(outputs)
    say(f"asking {outputs['model']}: {QUESTION}")
    print(chat(outputs).strip())


def down(local: Path, port: int, door: str = "regional") -> None:
    pulumi = require_pulumi()
    door_file = local / "door"
    deployed = door_file.read_text(encoding="utf-8").strip() if door_file.exists() else door
    if deployed != door:
        say(f"the stack was deployed through the {deployed} door: destroying through it "
            "(Pulumi deletes with the provider configuration of the state)")
        door = deployed
    emulator = ensure_emulator(local, port)  # destroy talks to it
    env = pulumi_env(local, emulator["url"], door)
    if stack_exists(pulumi, env):
        extra: list[str] = []
        if door == "public":
            config_file = public_config(local, emulator["url"])
            configure_public_door(pulumi, env, config_file, emulator["url"])
            extra = ["--config-file", str(config_file)]
        run_pulumi(pulumi, ["destroy", "--yes", "--stack", STACK, *extra], env)
        door_file.unlink(missing_ok=True)
    else:
        say(f"no stack '{STACK}' in {local / 'state'}: nothing to destroy")
    stop_emulator(local)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", choices=("up", "down"),
                        help="up: deploy and query; down: destroy and stop")
    parser.add_argument("--local-dir", type=Path, default=REPO / ".local",
                        help="where the emulator's state, its log and the Pulumi state live (default .local)")
    parser.add_argument("--emulator-port", type=int, default=None,
                        help="emulator port (default: the port of ovhai:endpoint in Pulumi.dev.yaml)")
    parser.add_argument("--door", choices=DOORS, default="regional",
                        help="regional (default): the AI token of the regional API; public: the OVHcloud "
                             "public API door with the emulator's default ovh:* credentials")
    args = parser.parse_args(argv)
    port = stack_port() if args.emulator_port is None else args.emulator_port
    try:
        (up if args.command == "up" else down)(args.local_dir, port, args.door)
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
