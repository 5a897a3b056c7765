"""A local, faithful emulator of the OVHcloud AI Deploy regional API (with a vLLM stand-in).

    python -m emulator [--port 19080] [--admin-token local-admin-token] [--state-file PATH]
                       [--timings fast|realistic|<JSON file>|<inline JSON>] [--gpu-quota 4]
                       [--host 127.0.0.1]

prints `emulator listening on http://127.0.0.1:PORT` once it accepts requests (`--port 0` picks
a free port and prints it). Modules, one job each:

- `__main__`: the command line; `app`: assembles the ASGI app; `context`: shared handler state.
- `apps_api`, `tokens_api`, `misc_api` (volumes, capabilities, me), `control_api` (`/_emulator/`):
  thin handlers that parse, call the rules and render.
- `backend` (apps: quota, spec swaps, start/stop/delete, pages), `backend_objects` (tokens, user
  volumes): the rules, plain functions over the store, testable without HTTP; `render`: the wire
  shapes (the official `ovhai` client's models; lists as `{items, metadata}`).
- `lifecycle`: the state machine as a persisted schedule of timestamped transitions.
- `store`: state and its atomic JSON persistence; `validation`: 400s naming the wire field.
- `auth`: tokens, roles, label selectors; `faults`: scripted faults and request counters.
- `vllm_standin`, `model_name`, `vllm_logs`: the OpenAI-compatible stand-in at each app's URL
  and its vLLM-shaped start-up log (`GET /v1/app/{id}/log` answers `text/plain`, one line per
  line, oldest first; `?tail=N` keeps the last N).

Image markers: `emulator-fail` (QUEUED -> INITIALIZING -> FAILED with `status.info` and a vLLM
error in the log), `emulator-never-ready` (RUNNING, but the stand-in answers 503),
`emulator-error` (QUEUED -> ERROR, a platform fault). Label `emulator/startup-seconds=<float>`
sets an app's whole QUEUED -> RUNNING time.
"""
