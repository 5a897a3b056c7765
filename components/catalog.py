"""Known models: the architecture facts the GPU planner needs and the vLLM flags each model needs.

Pure data and validation: no Pulumi, no HTTP. The catalog ships inside the package
(`components/data/models.json`, seeded from the public `config.json` of each model) so that it is
readable at run time wherever the package is installed.

A stack names a model by short key (`mistral-small-24b`), by Hugging Face id (any case), or
describes a model that is not in the catalog with the same numbers (a mapping); `resolve_model`
turns any of these into a `ModelSpec`. `from_hf_config` reads a model's own `config.json` (the
planner CLI's `--config`), naming the field the planner needs when it is missing.

Beyond the dense shape, a spec carries what decides memory on today's models (each catalog entry
cites the config.json it was read from in its `source`):
- Mixture of experts: `num_experts` x `moe_intermediate_size` per layer. Every expert stays
  resident in GPU memory (vLLM loads all of them; only compute is sparse), so weights count the
  total parameters, and a checkpoint that quantises only the experts (gpt-oss: MXFP4 experts,
  bf16 attention and embeddings, `quantization_config.modules_to_not_convert`) is sized that way.
- Sliding-window attention: `sliding_window` tokens on `sliding_window_layers` of the layers
  (gpt-oss: every other layer, 128 tokens; Gemma 3: 5 local layers to 1 global, 1024 tokens);
  components.sizing counts their KV cache at most a window per sequence.
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
    "MissingConfigField",
    "ModelSpec",
    "UnknownModel",
    "from_hf_config",
    "resolve_model",
]

# Pre-quantised checkpoint formats the planner knows how to size.
QUANTIZATIONS = ("fp8", "awq", "gptq", "mxfp4")
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
    quantization: str | None = None  # pre-quantised checkpoint: "fp8", "awq", "gptq" or "mxfp4"
    # Additions beyond the shared contract (all defaulted).
    group_size: int | None = None  # AWQ/GPTQ quantisation group along intermediate_size
    tie_word_embeddings: bool = False
    num_experts: int = 0  # routed experts per MoE layer (0: dense)
    num_experts_per_tok: int = 0
    moe_intermediate_size: int = 0  # one expert's MLP width
    sliding_window: int = 0  # tokens a sliding-window layer attends to (0: none)
    sliding_window_layers: int = 0  # how many of the layers use that window
    published_checkpoint_bytes: int | None = None  # safetensors total of the Hub's index, if cited
    source: str = ""  # where the facts come from (config.json, model card)

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise ValueError(f"invalid model description {self.key or self.hf_id!r}: " + "; ".join(problems))

    @property
    def embedding_params(self) -> int:
        """Parameters of the input embedding and the LM head (kept in 16-bit by quantisation)."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)

    @property
    def expert_params(self) -> int:
        """Parameters of all routed experts (gate, up and down projections), every one resident."""
        return self.num_experts * self.num_hidden_layers * 3 * self.hidden_size * self.moe_intermediate_size

    @property
    def full_attention_layers(self) -> int:
        """Layers whose KV cache grows with the whole context."""
        return self.num_hidden_layers - self.sliding_window_layers


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
    for name in ("num_experts", "num_experts_per_tok", "moe_intermediate_size", "sliding_window",
                 "sliding_window_layers"):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{name} must be a non-negative integer, got {value!r}")
    if not problems:
        if spec.num_experts and not spec.moe_intermediate_size:
            problems.append("moe_intermediate_size is needed with num_experts (one expert's MLP width)")
        if spec.sliding_window_layers > spec.num_hidden_layers:
            problems.append(
                f"sliding_window_layers ({spec.sliding_window_layers}) exceeds num_hidden_layers "
                f"({spec.num_hidden_layers})"
            )
        if spec.sliding_window_layers and not spec.sliding_window:
            problems.append("sliding_window (tokens) is needed with sliding_window_layers")
        if spec.expert_params and spec.expert_params >= spec.params_b * 1e9:
            problems.append(
                f"params_b ({spec.params_b}) must count every expert: the experts alone hold "
                f"{spec.expert_params / 1e9:.2f}B parameters"
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
    ignored = {"about"}
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


# --- a model's own config.json -----------------------------------------------------------------


class MissingConfigField(ValueError):
    """A config.json lacks a field the planner needs; `field` names it."""

    def __init__(self, field_name: str, why: str, where: str = "config.json") -> None:
        self.field = field_name
        super().__init__(
            f"{where} has no `{field_name}`, which the planner needs ({why}); add it to the file "
            "or describe the model with the catalog's fields (modelSpec)"
        )


# Field -> why the planner needs it (the message of MissingConfigField).
_NEEDED = {
    "hidden_size": "weights, activations and the KV cache scale with it",
    "num_hidden_layers": "every layer holds weights and KV cache",
    "num_attention_heads": "tensor parallelism must divide the heads",
    "vocab_size": "embeddings, LM head and the sampler's logits",
    "max_position_embeddings": "the longest context the model accepts",
}
# What transformers fills in when a model type's config.json leaves it out (the Hub's files rely
# on these): Gemma3TextConfig's defaults, vocab 262208, 131072 positions, 5 local layers to 1
# global (`sliding_window_pattern` 6) and tied embeddings.
_MODEL_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {"vocab_size": 262208, "max_position_embeddings": 131072, "sliding_window_pattern": 6,
                    "tie_word_embeddings": True},
}  # fmt: skip
_QUANT_METHODS = {"fp8": "fp8", "fbgemm_fp8": "fp8", "awq": "awq", "gptq": "gptq", "mxfp4": "mxfp4"}


def _first(config: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if config.get(name) is not None:
            return config[name]
    return None


def _quantization(config: Mapping[str, Any], where: str) -> tuple[str | None, int | None]:
    """(format, AWQ/GPTQ group size) of `quantization_config`; unsupported formats are refused."""
    qc = config.get("quantization_config")
    if not qc:
        return None, None
    if not isinstance(qc, Mapping):
        raise ValueError(f"{where}: quantization_config must be an object")
    method = str(qc.get("quant_method", "")).lower()
    if method in ("awq", "gptq"):
        bits = qc.get("bits", qc.get("w_bit", 4))
        if bits != 4:
            raise ValueError(
                f"{where}: quantization_config.bits {bits} is not sized by the planner (4-bit only)"
            )
        group = qc.get("group_size", qc.get("q_group_size", 128))
        return method, int(group) if isinstance(group, int) and group > 0 else None
    if method in _QUANT_METHODS:
        return _QUANT_METHODS[method], None
    if method == "compressed-tensors":
        bits = {
            (group.get("weights") or {}).get("num_bits")
            for group in (qc.get("config_groups") or {}).values()
            if isinstance(group, Mapping)
        }
        if bits == {8}:
            return "fp8", None
        if bits == {4}:
            return "gptq", 128
    raise ValueError(
        f"{where}: quantization_config.quant_method {method or '(none)'!r} is not one the planner sizes "
        f"({', '.join(sorted(set(_QUANT_METHODS)))}, compressed-tensors 8- or 4-bit)"
    )


def _sliding_layers(config: Mapping[str, Any], layers: int) -> int:
    """Layers with a sliding window: `layer_types` (gpt-oss, newer configs) or Gemma's pattern.

    A bare `sliding_window` without either (Qwen2/3 ship one with use_sliding_window false) counts
    no layer as windowed: the KV estimate then errs on the safe, larger side.
    """
    types = config.get("layer_types")
    if isinstance(types, list) and types:
        return sum(1 for t in types if t == "sliding_attention")
    pattern = config.get("sliding_window_pattern")
    if isinstance(pattern, int) and pattern > 1 and config.get("sliding_window"):
        return layers - layers // pattern  # every pattern-th layer is global (Gemma 3: 5 local, 1 global)
    return 0


def _estimate_params(values: Mapping[str, Any]) -> float:
    """Parameters (billions) from the shapes: embeddings, attention and MLP (or every expert)."""
    hidden, layers = values["hidden_size"], values["num_hidden_layers"]
    q = values["num_attention_heads"] * values["head_dim"]
    kv = values["num_key_value_heads"] * values["head_dim"]
    attention = hidden * (2 * q + 2 * kv)
    if values.get("num_experts"):
        experts = values["num_experts"]
        mlp = experts * 3 * hidden * values["moe_intermediate_size"] + hidden * experts  # + router
    else:
        mlp = 3 * hidden * values["intermediate_size"]
    embed = values["vocab_size"] * hidden * (1 if values.get("tie_word_embeddings") else 2)
    return float(embed + layers * (attention + mlp)) / 1e9


def from_hf_config(
    config: Mapping[str, Any],
    hf_id: str | None = None,
    *,
    params_b: float | None = None,
    where: str = "config.json",
) -> ModelSpec:
    """A ModelSpec from a Hugging Face `config.json` (multimodal configs: their `text_config`).

    `params_b` defaults to an estimate from the shapes (a vision tower, if any, is not counted).
    A field the planner needs and cannot default raises MissingConfigField naming it.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"{where} must be a JSON object")
    text = config.get("text_config")
    merged: dict[str, Any] = {**config, **(text if isinstance(text, Mapping) else {})}
    for default, value in _MODEL_TYPE_DEFAULTS.get(str(merged.get("model_type", "")), {}).items():
        merged.setdefault(default, value)
    for needed, why in _NEEDED.items():
        if merged.get(needed) is None:
            raise MissingConfigField(needed, why, where)
    hidden, heads, layers = merged["hidden_size"], merged["num_attention_heads"], merged["num_hidden_layers"]
    experts = _first(merged, "num_experts", "num_local_experts", "n_routed_experts") or 0
    moe_width = _first(merged, "moe_intermediate_size") or (merged.get("intermediate_size") if experts else 0)
    intermediate = merged.get("intermediate_size") or moe_width
    if intermediate is None:
        raise MissingConfigField("intermediate_size", "the MLP's width sizes weights and activations", where)
    quantization, group = _quantization(merged, where)
    name = hf_id or merged.get("_name_or_path")
    if not name:
        raise MissingConfigField("_name_or_path", "the Hugging Face id vLLM downloads; or give the id", where)
    dtype = str(_first(merged, "torch_dtype", "dtype") or "bfloat16")
    values: dict[str, Any] = {
        "hf_id": str(name),
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": merged.get("num_key_value_heads") or heads,
        "head_dim": merged.get("head_dim") or (hidden // heads if isinstance(hidden, int) and heads else 0),
        "vocab_size": merged["vocab_size"],
        "max_position_embeddings": merged["max_position_embeddings"],
        "torch_dtype": dtype if dtype in _DTYPES else "bfloat16",
        "tie_word_embeddings": bool(merged.get("tie_word_embeddings", False)),
        "num_experts": int(experts),
        "num_experts_per_tok": int(_first(merged, "num_experts_per_tok", "experts_per_token") or 0),
        "moe_intermediate_size": int(moe_width or 0),
        "sliding_window_layers": _sliding_layers(merged, layers),
        "quantization": quantization,
        "group_size": group,
        "source": f"read from {where}",
    }
    if values["sliding_window_layers"]:
        values["sliding_window"] = int(merged["sliding_window"])
    values["params_b"] = params_b if params_b is not None else round(_estimate_params(values), 3)
    return _from_mapping(values)
