"""The endpoint benchmark: `python -m components.bench --url BASE --model NAME --token-env VAR
--out DIR` (or `--stack NAME`) loads an OpenAI-compatible endpoint at a few concurrency levels
with NVIDIA AIPerf and writes a JSON report (latency, throughput, errors, cost per million output
tokens) and a PNG plot into DIR.

Modules, one job each: cli (arguments, the run), target (URL/model/token/cost from the flags or
a stack's outputs), preflight (one-line causes for an unreachable endpoint, a refused token, an
unknown model), aiperf (the load-generator adapter), report (pure report math), plot and
tokenizer (run in the bench virtual environment, .venv-bench, which holds the heavy packages).
"""
