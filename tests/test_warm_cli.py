"""The two readiness deadlines with the REAL Pulumi CLI (issue 12, `warm` follow-up).

Same setting as tests/test_cache_cli.py (whose fixtures this module reuses): the pinned CLI with
a file backend, a copy of the dev stack with `cacheStack`, a STAND-IN platform project (outputs
only: pulumi-resource-ovh cannot be obtained here, tests/test_cache_cli.py says more), and a real
emulator process with its Hub download model on. Checked: the preview states both deadlines as
estimates; the first `pulumi up` of a fresh prefix waits under the Hub deadline; after its push,
an in-place update (a new engine option: a rolling update whose replica pulls the prefix) waits
under the bucket deadline, named in the engine's output.
"""

from __future__ import annotations

from emulator.runner import RunningEmulator
from tests.pulumi_cli import PulumiProject
from tests.test_cache_cli import PLATFORM, admin, emu, projects  # noqa: F401  (the fixtures)


def test_the_first_up_waits_for_the_hub_and_an_update_after_the_push_for_the_bucket(
    projects: tuple[PulumiProject, PulumiProject], emu: RunningEmulator,  # noqa: F811
) -> None:
    platform, model = projects
    platform.run("stack", "init", "gra")
    platform.config_set("platform:region", "GRA")
    platform.run("up", "--yes", "--skip-preview")
    admin(emu, "POST", "/_emulator/datastore", json={"hubDownloads": True, "scale": 0.002})
    model.config_set("vllm-ai-deploy:cacheStack", PLATFORM)

    planned = model.run("preview", timeout=300)
    assert "readiness deadline 1800 s for a start from the Hub" in planned.stdout, planned.stdout
    assert "720 s for a start from the bucket once an app of this stack pushed the prefix (estimates)" \
        in planned.stdout, planned.stdout

    first = model.run("up", "--yes", "--skip-preview", timeout=600)
    printed = first.stdout + first.stderr
    assert "readiness deadline 1800 s (a start from the Hugging Face Hub: no push of" in printed, printed
    app_id = model.outputs()["appId"]

    model.config_set("vllm-ai-deploy:gpuMemoryUtilization", "0.85")
    second = model.run("up", "--yes", "--skip-preview", timeout=600)
    printed = second.stdout + second.stderr
    assert model.outputs()["appId"] == app_id  # updated in place, not replaced
    assert f"readiness deadline 720 s (a start from the bucket: app {app_id} pushed" in printed, printed
    last = admin(emu, "GET", f"/_emulator/app/{app_id}/starts")["starts"][-1]
    assert last["kind"] == "rolling-update" and last["hubBytes"] == 0, last
