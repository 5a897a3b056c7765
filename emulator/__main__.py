"""`python -m emulator`: serve the emulated AI Deploy API on loopback (the regional API under /v1,
OVHcloud's public API door under /1.0).

Prints `emulator listening on http://127.0.0.1:PORT` (the bound port, also for `--port 0`) once
the socket accepts requests.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

import uvicorn

from .app import build_app
from .context import DEFAULT_GPU_QUOTA, Context
from .ovh_auth import DEFAULT_CREDENTIALS, DEFAULT_OAUTH2, DEFAULT_SERVICE_NAME, OvhDoorConfig
from .runner import DEFAULT_ADMIN_TOKEN
from .store import Store
from .timings import parse_timings

DEFAULT_PORT = 19080


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port, 0 = any free (default {DEFAULT_PORT})"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--admin-token",
        default=DEFAULT_ADMIN_TOKEN,
        help=f"unscoped operator token (default {DEFAULT_ADMIN_TOKEN!r})",
    )
    parser.add_argument(
        "--state-file", type=Path, default=None, help="JSON file keeping state across restarts"
    )
    parser.add_argument(
        "--timings",
        default="fast",
        help="fast (default, a start takes ~2 s), realistic (minutes), or per-state seconds as a "
        'JSON file or inline JSON, e.g. \'{"QUEUED": 1, "INITIALIZING": 5, "SCALING": 5}\'',
    )
    parser.add_argument(
        "--gpu-quota",
        type=int,
        default=DEFAULT_GPU_QUOTA,
        help=f"project GPU quota (default {DEFAULT_GPU_QUOTA})",
    )
    parser.add_argument(
        "--ovh-credentials",
        action="append",
        metavar="AK:AS:CK[:METHODS]",
        help="public API door (/1.0): an application key, its secret and a consumer key it accepts "
        "(repeatable; the key is granted GET/POST/PUT/DELETE on /*; METHODS, e.g. GET or GET,POST, "
        f"grants only those on /*, empty: nothing; default {DEFAULT_CREDENTIALS})",
    )
    parser.add_argument(
        "--ovh-access-rules",
        action="append",
        metavar="CK=METHOD:PATH[,METHOD:PATH...]",
        help="public API door: replace the access rules of a consumer key of --ovh-credentials with "
        "OVHcloud-style rules, '*' matching any characters (repeatable), e.g. "
        "CK=GET:/cloud/project/*/ai/*,POST:/cloud/project/*/ai/*",
    )
    parser.add_argument(
        "--ovh-oauth2",
        action="append",
        metavar="CLIENT_ID:CLIENT_SECRET",
        help=f"public API door: an OAuth2 service account (repeatable; default {DEFAULT_OAUTH2})",
    )
    parser.add_argument(
        "--service-name",
        default=DEFAULT_SERVICE_NAME,
        help="public API door: the project id of /1.0/cloud/project/NAME/ai "
        f"(default {DEFAULT_SERVICE_NAME})",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    timings = parse_timings(args.timings)
    door = OvhDoorConfig.parse(  # bad flags: exit 2
        args.ovh_credentials, args.ovh_oauth2, args.service_name, args.ovh_access_rules
    )
    store = Store(args.state_file)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it, Nagle + delayed ACK add ~40 ms per keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    display_host = "127.0.0.1" if args.host in ("127.0.0.1", "0.0.0.0", "localhost") else args.host
    base_url = f"http://{display_host}:{port}"
    context = Context(store, args.admin_token, args.gpu_quota, timings, base_url)
    context.ovh = door
    config = uvicorn.Config(build_app(context), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        print(f"emulator listening on {base_url}", flush=True)

    task = asyncio.create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        task.cancel()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except ValueError as exc:  # bad --timings or a corrupt state file
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
