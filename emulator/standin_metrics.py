"""Per-app serving counters, rendered as vLLM's `/metrics` (Prometheus text) for the release.

The stand-in records what it actually served: requests running and waiting (standin_queue.py),
tokens in and out, time to first token and the gaps between streamed tokens. Label set as vLLM's
V1 loggers: model_name, engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .standin_queue import RequestQueue
from .standin_release import Release

TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
ITL_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        counts = self.counts or [0] * len(self.buckets)
        out = [
            f'{name}_bucket{{{labels},le="{bound}"}} {float(n)}'
            for bound, n in zip(self.buckets, counts, strict=True)
        ]
        out += [
            f'{name}_bucket{{{labels},le="+Inf"}} {float(self.count)}',
            f"{name}_count{{{labels}}} {float(self.count)}",
            f"{name}_sum{{{labels}}} {self.total}",
        ]
        return out


@dataclass
class AppMetrics:
    running: int = 0
    running_tokens: int = 0
    prompt_tokens: int = 0
    generation_tokens: int = 0
    success: dict[str, int] = field(default_factory=lambda: {"stop": 0, "length": 0, "abort": 0})
    ttft: Histogram = field(default_factory=lambda: Histogram(TTFT_BUCKETS))
    itl: Histogram = field(default_factory=lambda: Histogram(ITL_BUCKETS))
    e2e: Histogram = field(default_factory=lambda: Histogram(TTFT_BUCKETS))
    queue: RequestQueue = field(default_factory=RequestQueue)

    def start(self, tokens: int) -> None:
        self.running += 1
        self.running_tokens += tokens

    def finish(self, tokens: int, prompt: int, generated: int, reason: str, elapsed: float) -> None:
        self.running -= 1
        self.running_tokens -= tokens
        self.prompt_tokens += prompt
        self.generation_tokens += generated
        key = reason if reason in self.success else "stop"  # tool_calls ends on a stop token
        self.success[key] += 1
        self.e2e.observe(elapsed)


def render(metrics: AppMetrics, release: Release, model: str, kv_tokens: int) -> str:
    labels = f'engine="0",model_name="{model}"'
    usage = min(1.0, metrics.running_tokens / kv_tokens) if kv_tokens else 0.0
    lines: list[str] = []

    def family(name: str, kind: str, doc: str, body: list[str]) -> None:
        lines.extend([f"# HELP {name} {doc}", f"# TYPE {name} {kind}", *body])

    family(
        "vllm:num_requests_running",
        "gauge",
        "Number of requests in model execution batches.",
        [f"vllm:num_requests_running{{{labels}}} {float(metrics.running)}"],
    )
    family(
        "vllm:num_requests_waiting",
        "gauge",
        "Number of requests waiting to be processed.",
        [f"vllm:num_requests_waiting{{{labels}}} {float(metrics.queue.waiting)}"],
    )
    for name in release.kv_usage_metrics:
        family(name, "gauge", "KV-cache usage. 1 means 100 percent usage.", [f"{name}{{{labels}}} {usage}"])
    family(
        "vllm:prompt_tokens",
        "counter",
        "Number of prefill tokens processed.",
        [f"vllm:prompt_tokens_total{{{labels}}} {float(metrics.prompt_tokens)}"],
    )
    family(
        "vllm:generation_tokens",
        "counter",
        "Number of generation tokens processed.",
        [f"vllm:generation_tokens_total{{{labels}}} {float(metrics.generation_tokens)}"],
    )
    family(
        "vllm:request_success",
        "counter",
        "Count of successfully processed requests.",
        [
            f'vllm:request_success_total{{{labels},finished_reason="{reason}"}} {float(n)}'
            for reason, n in metrics.success.items()
        ],
    )
    family(
        "vllm:time_to_first_token_seconds",
        "histogram",
        "Histogram of time to first token in seconds.",
        metrics.ttft.lines("vllm:time_to_first_token_seconds", labels),
    )
    for name in release.itl_metrics:
        family(
            name, "histogram", "Histogram of inter-token latency in seconds.", metrics.itl.lines(name, labels)
        )
    family(
        "vllm:e2e_request_latency_seconds",
        "histogram",
        "Histogram of e2e request latency in seconds.",
        metrics.e2e.lines("vllm:e2e_request_latency_seconds", labels),
    )
    return "\n".join(lines) + "\n"
