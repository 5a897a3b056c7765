"""vLLM release profiles: which flags a release accepts, which it needs, and how it budgets memory.

Pure (no Pulumi, no HTTP, nothing else of `components`). The release is read from the stack's
image tag (`vllm/vllm-openai:v0.X.Y[-cu129|-cu130|-ubuntu2404]`); a digest, a custom tag or a
release newer than the newest profile needs an explicit `vllmVersion`; `latest` maps to the
newest profile (with a warning; prod refuses floating tags anyway).

Every fact below names its source. Checked against vLLM's own pull requests (corpus `issues`,
repository vllm-project/vllm) and, where the argument definition was stored, its code:
- PR #21489 (merged July 2025, first in 0.10.2): `--kv-cache-memory-bytes`, a fixed KV-cache size
  per GPU; `gpu_memory_utilization` is then ignored (vllm/config/cache.py CacheConfig docstring,
  `kv_cache_memory_bytes: int | None = None`). Gated here from 0.11.0, the first line checked.
- PR #28659 (merged 2025-11-13, first in 0.12.0): `--tokenizer-mode/--config-format/--load-format
  auto` pick `mistral` when the checkpoint has Mistral files, so forcing them is only needed before.
- PR #29431 (merged 2025-11-25): `--max-model-len auto` (or -1) fits the context to the KV cache;
  the shared release table (shared/reference/vllm-releases.md) dates it 0.14, gated from there.
- PR #28204 (merged 2025-11-06, "the last PR to remove VLLM_USE_V1 env totally"): from 0.12.0 the
  variable only logs "Unknown vLLM environment variable detected" (llm-d-fast-model-actuation#597).
  OpenRLHF#1328 dates the removal 0.29; vLLM's own PR is earlier and wins here.
- V0 removed in 0.11 (release notes): V0-only flags (`--num-scheduler-steps`,
  `--multi-step-stream-outputs`, `--preemption-mode`, `--num-lookahead-slots`,
  `--use-v2-block-manager`, `--max-seq-len-to-capture`) are refused from 0.11.
- Images: from 0.20 the plain tag is built on CUDA 13.0 (needs NVIDIA driver >= 580); a `-cu129`
  variant of the same release is seen from 0.30.0 (`vllm/vllm-openai:v0.30.0-cu129` in public
  repositories, e.g. a host config that picks it for CUDA 12.x drivers); `-cu130` variants of
  0.16.0 are seen too (DCC-BS/vllm Dockerfile, `v0.16.0-cu130`).
- Memory: up to 0.20 CUDA-graph memory sits outside the `--gpu-memory-utilization` budget; from
  0.21 its estimate is subtracted inside it (gpustack/runner#251); the profiling run's activation
  peak is much lower from 0.17 (llm-d planner accuracy notes: Qwen3-14B 5.64 -> 2.23 GiB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "CU129_SINCE",
    "CUDA13_SINCE",
    "CUDA_VARIANTS",
    "NEWEST",
    "OLDEST",
    "PINNED_RELEASE",
    "ImageRelease",
    "MemoryModel",
    "ReleaseError",
    "ReleaseProfile",
    "default_image",
    "format_version",
    "image_release",
    "parse_version",
    "profile",
    "resolve_release",
]

Version = tuple[int, int, int]

OLDEST: Version = (0, 10, 0)  # the oldest line this project supports
NEWEST: Version = (0, 33, 0)  # latest on PyPI per shared/reference/vllm-releases.md (Nov 2026)
# The default pinned release of staging and prod: the newest whose `-cu129` image has been seen
# in public material (0.31-0.33 exist on PyPI, their image variants were not found).
PINNED_RELEASE: Version = (0, 30, 0)
CUDA13_SINCE: Version = (0, 20, 0)  # plain tag built on CUDA 13.0 from here
CU129_SINCE: Version = (0, 30, 0)  # `-cu129` variant seen from here
CUDA_VARIANTS = ("cu129", "cu130")

V1_ONLY_SINCE: Version = (0, 11, 0)
KV_CACHE_MEMORY_BYTES_SINCE: Version = (0, 11, 0)
MISTRAL_AUTO_SINCE: Version = (0, 12, 0)
VLLM_USE_V1_REMOVED: Version = (0, 12, 0)
MAX_MODEL_LEN_AUTO_SINCE: Version = (0, 14, 0)
LOW_ACTIVATION_SINCE: Version = (0, 17, 0)
CUDAGRAPH_IN_BUDGET_SINCE: Version = (0, 21, 0)

# Flags of `vllm serve` that every supported line (0.10 .. 0.33) accepts. Names only (facts of
# the CLI), from the argument definitions and the published lists of supported arguments
# (e.g. Cloudera AI's lists for vLLM 0.20.0 and 0.27.1).
_COMMON_FLAGS = frozenset(
    {
        # model
        "--model", "--served-model-name", "--tokenizer", "--tokenizer-mode", "--revision",
        "--code-revision", "--tokenizer-revision", "--trust-remote-code", "--download-dir",
        "--load-format", "--config-format", "--dtype", "--max-model-len", "--seed",
        "--hf-config-path", "--hf-overrides", "--skip-tokenizer-init", "--max-logprobs",
        "--logprobs-mode", "--disable-sliding-window", "--disable-cascade-attn",
        "--generation-config", "--override-generation-config", "--enforce-eager",
        "--quantization", "--rope-scaling", "--rope-theta", "--model-impl",
        "--allowed-local-media-path", "--limit-mm-per-prompt", "--mm-processor-kwargs",
        "--enable-prompt-embeds", "--ignore-patterns", "--model-loader-extra-config",
        # cache
        "--kv-cache-dtype", "--block-size", "--gpu-memory-utilization", "--swap-space",
        "--cpu-offload-gb", "--enable-prefix-caching", "--no-enable-prefix-caching",
        "--prefix-caching-hash-algo", "--calculate-kv-scales", "--num-gpu-blocks-override",
        # parallel
        "--tensor-parallel-size", "-tp", "--pipeline-parallel-size", "-pp",
        "--data-parallel-size", "-dp", "--enable-expert-parallel",
        "--distributed-executor-backend", "--disable-custom-all-reduce",
        "--max-parallel-loading-workers",
        # scheduler
        "--max-num-batched-tokens", "--max-num-seqs", "--enable-chunked-prefill",
        "--no-enable-chunked-prefill", "--max-num-partial-prefills",
        "--max-long-partial-prefills", "--long-prefill-token-threshold", "--scheduling-policy",
        "--disable-chunked-mm-input", "--async-scheduling",
        # compilation, speculative decoding, LoRA
        "--compilation-config", "-O", "--speculative-config", "--kv-transfer-config",
        "--enable-lora", "--max-loras", "--max-lora-rank", "--lora-modules", "--max-cpu-loras",
        # server
        "--host", "--port", "--uvicorn-log-level", "--allow-credentials", "--allowed-origins",
        "--allowed-methods", "--allowed-headers", "--api-key", "--chat-template",
        "--chat-template-content-format", "--response-role", "--ssl-keyfile", "--ssl-certfile",
        "--root-path", "--middleware", "--return-tokens-as-token-ids",
        "--disable-frontend-multiprocessing", "--enable-auto-tool-choice", "--tool-call-parser",
        "--tool-parser-plugin", "--reasoning-parser", "--enable-request-id-headers",
        "--disable-fastapi-docs", "--enable-prompt-tokens-details", "--enable-force-include-usage",
        "--enable-server-load-tracking", "--max-log-len", "--disable-log-stats",
        "--otlp-traces-endpoint", "--collect-detailed-traces", "--enable-sleep-mode",
        "--worker-cls", "--api-server-count",
    }
)  # fmt: skip
# flag -> (first release that accepts it, source)
_ADDED: dict[str, tuple[Version, str]] = {
    "--kv-cache-memory-bytes": (KV_CACHE_MEMORY_BYTES_SINCE, "vllm PR #21489"),
    "--enable-log-requests": ((0, 11, 0), "vllm 0.11 release notes (replaces --disable-log-requests)"),
    "--structured-outputs-config": ((0, 11, 0), "vllm 0.11 release notes (replaces guided decoding)"),
}
# flag -> (first release that refuses it, source)
_REMOVED: dict[str, tuple[Version, str]] = {
    "--num-scheduler-steps": (V1_ONLY_SINCE, "V0 removed in 0.11"),
    "--multi-step-stream-outputs": (V1_ONLY_SINCE, "V0 removed in 0.11"),
    "--preemption-mode": (V1_ONLY_SINCE, "V0 removed in 0.11"),
    "--num-lookahead-slots": (V1_ONLY_SINCE, "V0 removed in 0.11"),
    "--use-v2-block-manager": (V1_ONLY_SINCE, "V0 removed in 0.11"),
    "--max-seq-len-to-capture": (V1_ONLY_SINCE, "V0 removed in 0.11 (CUDA-graph capture sizes)"),
    "--guided-decoding-backend": ((0, 11, 0), "replaced by --structured-outputs-config in 0.11"),
    "--disable-log-requests": ((0, 12, 0), "deprecated in 0.11 for --enable-log-requests"),
}
# Catalog flags that a release auto-detects from the checkpoint (flag -> release from which
# giving it is no longer needed): the builder leaves them out there.
_AUTO_DETECTED: dict[str, Version] = {
    "--tokenizer-mode": MISTRAL_AUTO_SINCE,
    "--config-format": MISTRAL_AUTO_SINCE,
    "--load-format": MISTRAL_AUTO_SINCE,
}
_OPTIMISATION_LEVEL = re.compile(r"^-O\d$")  # -O0 .. -O3: compilation level, like -O 3
_REMOVED_ENV: dict[str, Version] = {"VLLM_USE_V1": VLLM_USE_V1_REMOVED}


@dataclass(frozen=True)
class MemoryModel:
    """How one release line accounts for GPU memory (components.sizing reads it).

    `sampler`: the top-k/top-p implementation the profiling run exercises ("native" PyTorch sort,
    or "flashinfer"); `activation_scale`: the forward pass's activation peak relative to the
    0.10/0.11 model; `cudagraph_in_budget`: CUDA-graph memory is subtracted inside the
    `--gpu-memory-utilization` budget (from 0.21) rather than left outside it.
    """

    line: str
    sampler: str
    activation_scale: float
    sampler_scale: float
    cudagraph_in_budget: bool
    non_torch_single_gib: float
    non_torch_multi_gib: float


def _memory_model(version: Version) -> MemoryModel:
    if version >= CUDAGRAPH_IN_BUDGET_SINCE:
        return MemoryModel("0.21+", "native", 0.4, 0.4, True, 0.2, 0.55)
    if version >= LOW_ACTIVATION_SINCE:
        return MemoryModel("0.17-0.20", "native", 0.4, 0.4, False, 0.2, 0.55)
    if version >= V1_ONLY_SINCE:
        return MemoryModel("0.11-0.16", "native", 1.0, 1.0, False, 0.2, 0.55)
    return MemoryModel("0.10", "native", 1.0, 1.0, False, 0.2, 0.55)


@dataclass(frozen=True)
class ReleaseProfile:
    """What one vLLM release accepts and needs, and its memory model."""

    version: Version
    memory: MemoryModel
    flags: frozenset[str] = field(repr=False)

    @property
    def label(self) -> str:
        return format_version(self.version)

    def accepts(self, flag: str) -> bool:
        """Whether `vllm serve` of this release knows `flag` (`--x_y` and `--x-y` alike)."""
        name = _normal(flag)
        return name in self.flags or bool(_OPTIMISATION_LEVEL.match(name))

    def why_not(self, flag: str) -> str:
        """Why this release refuses `flag` (for messages)."""
        name = _normal(flag)
        if name in _ADDED and self.version < _ADDED[name][0]:
            since, source = _ADDED[name]
            return f"'{name}' first appears in vLLM {format_version(since)} ({source})"
        if name in _REMOVED and self.version >= _REMOVED[name][0]:
            since, source = _REMOVED[name]
            return f"'{name}' is gone from vLLM {format_version(since)} ({source})"
        return f"'{name}' is not a `vllm serve` flag of vLLM {self.label} known to this project"

    def needs(self, flag: str) -> bool:
        """Whether a catalog flag must still be given (False where the release auto-detects it)."""
        since = _AUTO_DETECTED.get(_normal(flag))
        return since is None or self.version < since

    @property
    def max_model_len_auto(self) -> bool:
        """`--max-model-len auto` is accepted (vllm PR #29431)."""
        return self.version >= MAX_MODEL_LEN_AUTO_SINCE

    @property
    def kv_cache_memory_bytes(self) -> bool:
        return self.accepts("--kv-cache-memory-bytes")

    @property
    def removed_env(self) -> frozenset[str]:
        return frozenset(name for name, since in _REMOVED_ENV.items() if self.version >= since)

    @property
    def cuda13(self) -> bool:
        """The plain image tag is built on CUDA 13.0 (needs a recent NVIDIA driver)."""
        return self.version >= CUDA13_SINCE

    @property
    def has_cu129_variant(self) -> bool:
        return self.version >= CU129_SINCE


def _normal(flag: str) -> str:
    name = flag.split("=", 1)[0]
    return name if not name.startswith("--") else "--" + name[2:].replace("_", "-")


def _flags(version: Version) -> frozenset[str]:
    flags = set(_COMMON_FLAGS) | set(_REMOVED)
    flags |= {flag for flag, (since, _) in _ADDED.items() if version >= since}
    flags -= {flag for flag, (since, _) in _REMOVED.items() if version >= since}
    return frozenset(flags)


def profile(version: Version | str) -> ReleaseProfile:
    """The profile of a supported release (0.10.0 .. the newest line)."""
    v = parse_version(version) if isinstance(version, str) else version
    if v is None or not OLDEST <= v < (NEWEST[0], NEWEST[1] + 1, 0):
        raise ValueError(f"no release profile for vLLM {version!r}")
    return ReleaseProfile(v, _memory_model(v), _flags(v))


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:\.(?:post)?\d+)?$")
_TAG = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?(?:\.(?:post)?\d+)?)(?:-(cu\d+|ubuntu\d+))*$")


def parse_version(text: str) -> Version | None:
    """'0.10.1.1' / 'v0.30.0' / '0.21' -> (0, 10, 1) / (0, 30, 0) / (0, 21, 0); else None."""
    match = _VERSION.match(text.strip())
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class ImageRelease:
    """What an image reference says about its release: the tag's version and CUDA variant."""

    tag: str
    digest: str
    version: Version | None  # None: not a release tag
    cuda: str | None  # "cu129", "cu130" or None (the release's default build)
    floating: bool  # no tag, or `latest`


def image_release(image: str) -> ImageRelease:
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    match = _TAG.match(tag)
    version = parse_version(match[1]) if match else None
    if version is not None and version[0] != 0:
        version, match = None, None  # a date or a team's own numbering, not a vLLM release
    cuda = next((part for part in tag.split("-")[1:] if part.startswith("cu")), None) if match else None
    floating = not digest and tag in ("", "latest")
    return ImageRelease(tag, digest, version, cuda, floating)


class ReleaseError(ValueError):
    """The release cannot be told or is not supported; `key` is the config key to change."""

    def __init__(self, key: str, message: str, value: str) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


def resolve_release(image: str, vllm_version: str = "") -> tuple[ReleaseProfile, list[str]]:
    """The profile of the vLLM an image runs, and warnings. `vllm_version` (the stack's
    `vllmVersion`) wins over the tag; it is needed for a digest, a custom or an unknown tag."""
    newest = format_version(NEWEST)
    ref = image_release(image)
    warnings: list[str] = []
    given = vllm_version.strip()
    if given:
        version = parse_version(given)
        if version is None:
            raise ReleaseError("vllmVersion", f"'{given}' is not a vLLM version (e.g. {newest})", newest)
        if ref.version is not None and ref.version[:2] != version[:2]:
            raise ReleaseError(
                "vllmVersion",
                f"'{given}' contradicts the image tag '{ref.tag}' (vLLM {format_version(ref.version)}); "
                "remove vllmVersion or make it match",
                format_version(ref.version),
            )
    elif ref.version is not None:
        version = ref.version
    elif ref.floating:
        warnings.append(
            f"vllmImage '{image}' floats: planned and launched as vLLM {newest} (the newest profile); "
            "pin a release tag so that a restart cannot change the engine"
        )
        version = NEWEST
    else:
        what = f"digest {ref.digest[:19]}..." if ref.digest and not ref.tag else f"tag '{ref.tag}'"
        raise ReleaseError(
            "vllmVersion",
            f"the vLLM release of '{image}' cannot be read from its {what}: say which release it runs",
            newest,
        )
    if version < OLDEST:
        raise ReleaseError(
            "vllmImage" if not given else "vllmVersion",
            f"vLLM {format_version(version)} is older than the oldest supported release "
            f"({format_version(OLDEST)})",
            default_image("cu129"),
        )
    if version[:2] > NEWEST[:2]:
        raise ReleaseError(
            "vllmVersion",
            f"vLLM {format_version(version)} is newer than the newest release profile ({newest}): its "
            "flags and memory model are unknown; give the closest known line explicitly",
            newest,
        )
    return profile(version), warnings


def default_image(cuda: str, release: Version = PINNED_RELEASE) -> str:
    """The pinned default image for a CUDA variant: `-cu129` where the release has one."""
    tag = "v" + format_version(release)
    if cuda == "cu129" and release >= CU129_SINCE:
        tag += "-cu129"
    return f"vllm/vllm-openai:{tag}"
