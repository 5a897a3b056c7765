"""Known models: the architecture facts the GPU planner needs and the vLLM flags each model needs.

Pure data and validation: no Pulumi, no HTTP. The catalog ships inside the package
(`components/data/models.json`, seeded from the public `config.json` of each model) so that it is
readable at run time wherever the package is installed.

A stack names a model by short key (`mistral-small-24b`), by Hugging Face id (any case), or
describes a model that is not in the catalog with the same numbers (a mapping); `resolve_model`
turns any of these into a `ModelSpec`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "CATALOG",
    "QUANTIZATIONS",
    "ModelSpec",
    "UnknownModel",
    "resolve_model",
]

# Pre-quantised checkpoint formats the planner knows how to size.
QUANTIZATIONS = ("fp8", "awq", "gptq")
_DTYPES = ("bfloat16", "float16", "float32")


class UnknownModel(ValueError):
    """The model is neither a catalog key nor a known Hugging Face id."""

    def __init__(self, name: str, known: list[str], suggestion: str | None) -> None:
        self.name = name
        self.known = known
        self.suggestion = suggestion
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(
            f"unknown model {name!r}.{hint} Known models: {', '.join(known)}. "
            "A model outside the catalog can be described with its config.json numbers "
            "(hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, "
            "num_key_value_heads, head_dim, vocab_size, max_position_embeddings, params_b, ...)."
        )


@dataclass(frozen=True)
class ModelSpec:
    """Architecture facts of one model (from its config.json) and how vLLM must serve it."""

    hf_id: str
    key: str
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    max_position_embeddings: int
    torch_dtype: str
    params_b: float
    gated: bool
    vllm_flags: tuple[str, ...] = ()
    tool_call_parser: str | None = None
    quantization: str | None = None  # pre-quantised checkpoint: "fp8", "awq" or "gptq"
    # Additions beyond the shared contract (all defaulted).
    group_size: int | None = None  # AWQ/GPTQ quantisation group along intermediate_size
    tie_word_embeddings: bool = False

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise ValueError(f"invalid model description {self.key or self.hf_id!r}: " + "; ".join(problems))

    @property
    def embedding_params(self) -> int:
        """Parameters of the input embedding and the LM head (kept in 16-bit by quantisation)."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)


_INT_FIELDS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "vocab_size",
    "max_position_embeddings",
)
_REQUIRED = ("hf_id", *_INT_FIELDS, "params_b")


def _check(spec: ModelSpec) -> list[str]:
    problems: list[str] = []
    if not spec.hf_id or not isinstance(spec.hf_id, str):
        problems.append("hf_id must be a non-empty string")
    for name in _INT_FIELDS:
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{name} must be a positive integer, got {value!r}")
    if isinstance(spec.params_b, bool) or not isinstance(spec.params_b, int | float) or spec.params_b <= 0:
        problems.append(f"params_b must be a positive number (billions of parameters), got {spec.params_b!r}")
    if spec.torch_dtype not in _DTYPES:
        problems.append(f"torch_dtype must be one of {', '.join(_DTYPES)}, got {spec.torch_dtype!r}")
    if spec.quantization is not None and spec.quantization not in QUANTIZATIONS:
        problems.append(
            f"quantization must be one of {', '.join(QUANTIZATIONS)} or None, got {spec.quantization!r}"
        )
    if not problems and spec.num_attention_heads % spec.num_key_value_heads:
        problems.append(
            f"num_attention_heads ({spec.num_attention_heads}) must be a multiple of "
            f"num_key_value_heads ({spec.num_key_value_heads})"
        )
    return problems


def _from_mapping(data: Mapping[str, Any], key: str | None = None) -> ModelSpec:
    """Build a ModelSpec from a description; a missing or unknown field is named in the error."""
    missing = [name for name in _REQUIRED if data.get(name) is None]
    if missing:
        label = data.get("key") or data.get("hf_id") or "model description"
        raise ValueError(f"{label}: missing required field(s) {', '.join(missing)}")
    allowed = {f.name for f in fields(ModelSpec)}
    ignored = {"source", "about"}
    unknown = sorted(set(data) - allowed - ignored)
    if unknown:
        raise ValueError(f"{data['hf_id']}: unknown field(s) {', '.join(unknown)}")
    values: dict[str, Any] = {k: v for k, v in data.items() if k in allowed}
    hf_id = str(values["hf_id"])
    values.setdefault("key", key or hf_id.rsplit("/", 1)[-1].lower())
    values.setdefault("torch_dtype", "bfloat16")
    values.setdefault("gated", False)
    values["vllm_flags"] = tuple(values.get("vllm_flags") or ())
    if values.get("quantization") in ("awq", "gptq") and values.get("group_size") is None:
        values["group_size"] = 128
    return ModelSpec(**values)


def _load_catalog() -> Mapping[str, ModelSpec]:
    text = resources.files("components").joinpath("data/models.json").read_text(encoding="utf-8")
    raw = json.loads(text)["models"]
    return MappingProxyType({key: _from_mapping(entry, key) for key, entry in raw.items()})


CATALOG: Mapping[str, ModelSpec] = _load_catalog()
_BY_HF_ID = {spec.hf_id.lower(): spec for spec in CATALOG.values()}


def resolve_model(model: str | ModelSpec | Mapping[str, Any]) -> ModelSpec:
    """A catalog key, a Hugging Face id (case-insensitive), a ModelSpec, or a model description."""
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, Mapping):
        return _from_mapping(model)
    if not isinstance(model, str):
        raise TypeError(
            f"model must be a catalog key, a Hugging Face id or a description, got {type(model).__name__}"
        )
    name = model.strip()
    lowered = name.lower()
    if lowered in CATALOG:
        return CATALOG[lowered]
    if lowered in _BY_HF_ID:
        return _BY_HF_ID[lowered]
    candidates = {**{k: k for k in CATALOG}, **{hf: CATALOG[s.key].key for hf, s in _BY_HF_ID.items()}}
    close = difflib.get_close_matches(lowered, list(candidates), n=1, cutoff=0.5)
    suggestion = candidates[close[0]] if close else None
    raise UnknownModel(name, sorted(CATALOG), suggestion)
