"""A stand-in for the `pulumi` CLI, for testing scripts/local_deploy.py where the CLI is absent.

It records each call (argv and the environment the script gave it) in $FAKE_PULUMI_LOG and plays
the `dev` stack against the emulator with the API client: `up` makes a label-scoped token and an
app (once; a second `up` changes nothing), `stack output` prints the outputs, `destroy` deletes
both. Enough to exercise the script's emulator handling, env wiring, output masking and chat call.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from components.ovhai import OvhAiClient

ENV_KEYS = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "OVHAI_ENDPOINT", "OVHAI_TOKEN", "HF_TOKEN")
LABEL = "vllm-ai-deploy/deployment=vllm-ai-deploy-dev"


def main(argv: list[str]) -> int:
    with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"argv": argv, "env": {k: os.environ.get(k) for k in ENV_KEYS}}) + "\n")
    state_dir = Path(urlparse(os.environ["PULUMI_BACKEND_URL"]).path)
    state = state_dir / "fake-dev.json"
    args = [a for a in argv if a != "--non-interactive"]
    client = OvhAiClient(os.environ["OVHAI_ENDPOINT"], os.environ["OVHAI_TOKEN"])
    if args[:2] == ["stack", "select"]:
        return 0
    if args[:2] == ["stack", "ls"]:
        print(json.dumps([{"name": "dev"}] if state.exists() else []))
        return 0
    if args[:1] == ["up"]:
        if state.exists():
            print("Resources:\n    3 unchanged")
            return 0
        token = client.create_token("fake-dev-read", "read", LABEL)
        key, value = LABEL.split("=")
        app = client.create_app({
            "name": "fake-dev", "image": "vllm/vllm-openai:latest", "defaultHttpPort": 8000,
            "command": ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "fake/model"],
            "labels": {key: value}, "resources": {"flavor": "l40s-1-gpu", "gpu": 2},
        })
        app = client.wait_for_app(app.id, timeout=60)
        url = str(app.status.url)
        outputs = {"endpoint": url, "openaiBaseUrl": url + "/v1", "model": "fake/model",
                   "token": token.status.value, "appId": app.id, "tokenId": token.id}
        state.write_text(json.dumps(outputs), encoding="utf-8")
        print("Resources:\n    + 3 created")
        return 0
    if args[:2] == ["stack", "output"]:
        print(state.read_text(encoding="utf-8"))
        return 0
    if args[:1] == ["destroy"]:
        if state.exists():
            outputs = json.loads(state.read_text(encoding="utf-8"))
            client.delete_app(outputs["appId"], force=True)
            client.wait_for_app_gone(outputs["appId"], timeout=60)
            client.delete_token(outputs["tokenId"])
            state.unlink()
        return 0
    print(f"fake pulumi: unexpected {argv}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
