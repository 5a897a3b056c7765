"""Which vLLM release an app's image names, and what of the server's surface changed with it.

The stand-in answers like the release in the image tag (`vllm/vllm-openai:v0.10.1.1`). A tag that
names no version (`latest`, `nightly`, a test image) is taken as the newest release we model.
Each flag below names the vLLM change it follows; tests/test_standin_openai.py cites the sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The newest release listed in ../shared/reference/vllm-releases.md (PyPI, November 2026).
LATEST = (0, 33, 0)
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True)
class Release:
    version: tuple[int, ...]

    @property
    def text(self) -> str:
        return ".".join(str(part) for part in self.version)

    @property
    def nested_errors(self) -> bool:
        """`{"error": {...}}` from 0.10.1 (vllm PR #22099); a flat `{"object": "error", ...}` before."""
        return self.version >= (0, 10, 1)

    @property
    def context_message(self) -> str:
        """Wording of the over-the-context 400: 'requested' (<= 0.10.1), 'too_large', 'total' (0.20+)."""
        if self.version < (0, 10, 2):
            return "requested"
        return "too_large" if self.version < (0, 20) else "total"

    @property
    def kv_usage_metrics(self) -> tuple[str, ...]:
        """vllm:kv_cache_usage_perc added and the gpu_ name deprecated by PR #18354; the old name
        hidden a release later and removed by PR #29330."""
        names: list[str] = []
        if self.version >= (0, 10):
            names.append("vllm:kv_cache_usage_perc")
        if self.version < (0, 11):
            names.append("vllm:gpu_cache_usage_perc")
        return tuple(names)

    @property
    def itl_metrics(self) -> tuple[str, ...]:
        """vllm:inter_token_latency_seconds from 0.10.1 (seen in vllm PR #22227's output);
        vllm:time_per_output_token_seconds deprecated in 0.11, hidden in 0.12 (PR #29330)."""
        names: list[str] = []
        if self.version >= (0, 10, 1):
            names.append("vllm:inter_token_latency_seconds")
        if self.version < (0, 12):
            names.append("vllm:time_per_output_token_seconds")
        return tuple(names)


def release_of(image: str) -> Release:
    """The release an image reference names: the tag's version, else the newest one."""
    tag = image.rsplit("/", 1)[-1].partition(":")[2].partition("@")[0]
    found = _VERSION.match(tag)
    if found is None:
        return Release(LATEST)
    parts = tuple(int(group) for group in found.groups() if group is not None)
    return Release(parts + (0,) * (3 - len(parts)) if len(parts) < 3 else parts)
