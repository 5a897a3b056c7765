"""The report's PNG: latency and throughput against concurrency (matplotlib, in .venv-bench).

`python -m components.bench.plot REPORT.json OUT.png`. Left: time to first token p50/p99 and
inter-token latency p50 (ms, log scale); right: output tokens/s and requests/s.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any


def _series(levels: list[dict[str, Any]], *keys: str) -> list[float]:
    values = []
    for level in levels:
        value: Any = level
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        values.append(float("nan") if value is None else float(value))
    return values


def draw(report: dict[str, Any], out: Path) -> Path:
    # matplotlib is only in .venv-bench: imported by name, so that the core venv's mypy passes.
    importlib.import_module("matplotlib").use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    NullLocator: Any = importlib.import_module("matplotlib.ticker").NullLocator

    levels = report["levels"]
    x = [level["concurrency"] for level in levels]
    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4.2))
    for keys, label, style in (
        (("timeToFirstTokenMs", "p50"), "TTFT p50", "o-"),
        (("timeToFirstTokenMs", "p99"), "TTFT p99", "o--"),
        (("interTokenLatencyMs", "p50"), "ITL p50", "s-"),
        (("interTokenLatencyMs", "p99"), "ITL p99", "s--"),
    ):
        latency.plot(x, _series(levels, *keys), style, label=label)
    latency.set(xlabel="concurrency", ylabel="ms", title="Latency", xscale="log", yscale="log")
    latency.set_xticks(x, [str(c) for c in x])
    latency.xaxis.set_minor_locator(NullLocator())
    latency.grid(True, which="both", alpha=0.3)
    latency.legend()
    throughput.plot(x, _series(levels, "outputTokensPerSecond"), "o-", color="tab:green",
                    label="output tokens/s")
    throughput.set(xlabel="concurrency", ylabel="output tokens/s", title="Throughput", xscale="log")
    throughput.set_xticks(x, [str(c) for c in x])
    throughput.xaxis.set_minor_locator(NullLocator())
    throughput.grid(True, alpha=0.3)
    requests = throughput.twinx()
    requests.plot(x, _series(levels, "requestsPerSecond"), "s--", color="tab:purple", label="requests/s")
    requests.set_ylabel("requests/s")
    lines = throughput.get_legend_handles_labels()[0] + requests.get_legend_handles_labels()[0]
    throughput.legend(lines, [str(line.get_label()) for line in lines], loc="upper left")
    target = report.get("target", {})
    title = f"{target.get('model', '')} at {target.get('baseUrl', '')}"
    if report.get("synthetic"):
        title += "  (emulator stand-in: synthetic latencies)"
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


if __name__ == "__main__":
    print(draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])))
