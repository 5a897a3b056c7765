"""scripts/local_deploy.py: stops at once without the Pulumi CLI; with a stand-in `pulumi` on PATH,
the whole flow (emulator started detached and reused, local backend and passphrase, outputs with
the token masked, the seed's chat request, `down` destroying and stopping the emulator)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "local_deploy.py"
ADMIN = "local-admin-token"


def script(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=timeout)


def python_without_pulumi(tmp_path: Path) -> Path:
    """A virtual environment with the project's packages but no `pulumi` in its bin/ (setup.sh
    links the CLI into the project's .venv/bin, where local_deploy.py looks after PATH)."""
    venv = tmp_path / "venv-without-pulumi"
    subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    real = [p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)]
    (site / "project.pth").write_text("\n".join(real) + "\n")
    return venv / "bin" / "python"


@pytest.mark.parametrize("command", ["up", "down"])
def test_without_pulumi_it_stops_at_once_saying_how_to_install(tmp_path: Path, command: str) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # no pulumi there
    python = python_without_pulumi(tmp_path)
    started = time.monotonic()
    result = subprocess.run([str(python), str(SCRIPT), command, "--local-dir", str(tmp_path / "local")],
                            cwd=REPO, env=env, text=True, capture_output=True, timeout=30)
    assert result.returncode == 2
    assert time.monotonic() - started < 10
    assert "https://www.pulumi.com/docs/install/" in result.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in result.stderr and "brew" in result.stderr
    assert "choco" in result.stderr
    assert not (tmp_path / "local" / "emulator.json").exists()  # nothing was started


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def test_flow_with_a_stand_in_pulumi(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} {REPO / 'tests' / 'fake_pulumi.py'} \"$@\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.jsonl"
    local = tmp_path / "local"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_PULUMI_LOG=str(log),
               PYTHONPATH=str(REPO))
    args = ["--local-dir", str(local), "--emulator-port", "0"]
    pid = 0
    try:
        first = script(["up", *args], env)
        assert first.returncode == 0, first.stdout + first.stderr
        info = json.loads((local / "emulator.json").read_text())
        pid = info["pid"]
        assert _alive(pid)
        out = first.stdout
        assert "emulator started" in out and "Give me the name of OVHcloud's founder." in out
        outputs = json.loads((local / "state" / "fake-dev.json").read_text())
        assert outputs["token"] not in out and outputs["token"][:4] + "..." in out  # masked
        answer = out.split("Give me the name of OVHcloud's founder.", 1)[1].strip()
        assert answer  # the stand-in's reply

        calls = [json.loads(line) for line in log.read_text().splitlines()]
        expected = [["stack", "select"], ["up", "--yes"], ["stack", "output"]]
        assert [c["argv"][:2] for c in calls[:3]] == expected
        assert all("--non-interactive" in c["argv"] for c in calls)
        env_seen = calls[1]["env"]
        assert env_seen["PULUMI_BACKEND_URL"] == "file://" + (local / "state").resolve().as_posix()
        assert env_seen["PULUMI_CONFIG_PASSPHRASE"] == "local-dev-passphrase"
        assert env_seen["OVHAI_TOKEN"] == ADMIN and env_seen["OVHAI_ENDPOINT"] == info["url"]
        assert env_seen["HF_TOKEN"].startswith("hf_")

        again = script(["up", *args], env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "emulator already running" in again.stdout and "unchanged" in again.stdout
        assert json.loads((local / "emulator.json").read_text())["pid"] == pid

        down = script(["down", *args], env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert any(json.loads(line)["argv"][0] == "destroy" for line in log.read_text().splitlines())
        assert not (local / "emulator.json").exists()
        for _ in range(50):
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{info['url']}/v1/me", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=1)
    finally:
        if pid and _alive(pid):
            os.kill(pid, 15)


# ------------------------------------------------------------------------------ the public API door


def test_the_scripts_public_door_keys_are_the_emulators_documented_defaults() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import local_deploy
    finally:
        sys.path.remove(str(SCRIPT.parent))
    from emulator.ovh_auth import DEFAULT_CREDENTIALS, DEFAULT_SERVICE_NAME

    keys = (local_deploy.OVH_APPLICATION_KEY, local_deploy.OVH_APPLICATION_SECRET,
            local_deploy.OVH_CONSUMER_KEY)
    assert ":".join(keys) == DEFAULT_CREDENTIALS
    assert local_deploy.OVH_SERVICE_NAME == DEFAULT_SERVICE_NAME


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.e2e
@pytest.mark.slow
def test_up_and_down_through_the_public_door_with_the_real_cli(tmp_path: Path) -> None:
    """The real Pulumi CLI: `up --door public` deploys `dev` with the emulator's default `ovh:*`
    credentials (no AI token: the script gives no OVHAI_TOKEN and the stack has no ovhai:token), the
    secrets set with `--secret` in .local/Pulumi.dev.public.yaml; `up` again and `up` through the
    regional door change nothing (one backend behind both doors); `down --door public` destroys.
    Uses port 19080 (Pulumi.dev.yaml's emulator, for the regional step): run it in a private
    network namespace, `unshare -n bash -c 'ip link set lo up; ...'`."""
    from tests.pulumi_cli import clean_env, require_pulumi

    require_pulumi()
    if not _port_free(19080):
        pytest.fail("port 19080 (Pulumi.dev.yaml's emulator) is in use: run this test in a private network "
                    "namespace (unshare -n) or stop what holds it", pytrace=False)
    local = tmp_path / "local"
    stack_file = REPO / "Pulumi.dev.yaml"
    original = stack_file.read_text(encoding="utf-8")  # `stack init` adds an encryptionsalt line
    env = {k: v for k, v in clean_env().items() if not k.startswith(("OVHAI_", "OVH_"))}
    printed: list[str] = []

    def local_deploy(*args: str) -> subprocess.CompletedProcess[str]:
        result = script([*args, "--local-dir", str(local)], env, timeout=900)
        printed.append(result.stdout + result.stderr)
        return result

    try:
        first = local_deploy("up", "--door", "public")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "+ 4 created" in first.stdout and "Give me the name of OVHcloud's founder." in first.stdout
        answer = first.stdout.split("Give me the name of OVHcloud's founder.", 1)[1].strip()
        assert answer
        config = (local / "Pulumi.dev.public.yaml").read_text(encoding="utf-8")
        assert "ovhai:endpoint" not in config and "ovhai:token" not in config
        assert "ovh:endpoint: http://127.0.0.1:19080/1.0" in config
        for key in ("ovh:applicationSecret", "ovh:consumerKey"):
            assert f"{key}:\n    secure: " in config, config
        url = json.loads((local / "emulator.json").read_text())["url"]
        apps = httpx.get(f"{url}/v1/app", headers={"Authorization": f"Bearer {ADMIN}"}).json()["items"]
        assert len(apps) == 1  # seen through the regional door

        again = local_deploy("up", "--door", "public")
        assert again.returncode == 0 and "4 unchanged" in again.stdout, again.stdout + again.stderr
        # The other door: the same app, unchanged (the first up after a switch does not refresh).
        regional = local_deploy("up")
        assert regional.returncode == 0, regional.stdout + regional.stderr
        assert "4 unchanged" in regional.stdout and "does not refresh" in regional.stdout, regional.stdout
        back = local_deploy("up", "--door", "public")
        assert back.returncode == 0 and "4 unchanged" in back.stdout, back.stdout + back.stderr
    finally:
        down = local_deploy("down", "--door", "regional")  # destroys through the door of the last up
        stack_file.write_text(original, encoding="utf-8")
        info = local / "emulator.json"
        if info.exists() and _alive(pid := json.loads(info.read_text())["pid"]):
            os.kill(pid, 15)  # a failed down leaves the emulator this test started
    assert down.returncode == 0, down.stdout + down.stderr
    assert "destroying through it" in down.stdout
    assert "Resources:\n    - 4 deleted" in down.stdout or "4 deleted" in down.stdout, down.stdout
    assert not (local / "emulator.json").exists()
    for secret in ("emulator-application-secret", "emulator-consumer-key"):
        assert secret not in "\n".join(printed)
