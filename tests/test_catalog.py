"""components.catalog: keys, Hugging Face ids, descriptions of models outside the catalog."""

from __future__ import annotations

import json

import pytest

from components.catalog import CATALOG, ModelSpec, UnknownModel, resolve_model
from tests.shared_reference import shared_file

EXPECTED_KEYS = {
    "mistral-small-24b",
    "mistral-7b",
    "llama-3.1-8b",
    "llama-3.3-70b",
    "deepseek-r1-distill-llama-70b",
    "qwen2.5-7b",
    "qwen2.5-32b",
    "qwen2.5-72b",
}


def test_catalog_has_the_issue_models() -> None:
    assert set(CATALOG) >= EXPECTED_KEYS
    for key, spec in CATALOG.items():
        assert spec.key == key


def test_catalog_matches_the_shared_reference() -> None:
    reference = json.loads(shared_file("reference/models.json").read_text())["models"]
    by_id = {spec.hf_id: spec for spec in CATALOG.values() if spec.quantization is None}
    assert set(reference) <= set(by_id)  # the catalog of today adds models beyond the reference
    for hf_id, facts in reference.items():
        spec = by_id[hf_id]
        for name, value in facts.items():
            got = getattr(spec, name)
            assert (tuple(value) if isinstance(value, list) else value) == got, (hf_id, name)


def test_resolve_by_key_hf_id_any_case_and_spec() -> None:
    spec = resolve_model("mistral-small-24b")
    assert spec.hf_id == "mistralai/Mistral-Small-24B-Instruct-2501"
    assert resolve_model("MistralAI/mistral-small-24b-instruct-2501") is spec
    assert resolve_model("  Mistral-Small-24B ") is spec
    assert resolve_model(spec) is spec


def test_model_flags_and_gating() -> None:
    mistral = CATALOG["mistral-small-24b"]
    assert mistral.gated
    assert mistral.vllm_flags == (
        "--tokenizer-mode",
        "mistral",
        "--config-format",
        "mistral",
        "--load-format",
        "mistral",
    )
    assert mistral.tool_call_parser == "mistral"
    assert CATALOG["llama-3.1-8b"].tool_call_parser == "llama3_json"
    assert not CATALOG["qwen2.5-7b"].gated
    assert CATALOG["deepseek-r1-distill-llama-70b"].tool_call_parser is None


def test_quantised_variants() -> None:
    fp8 = CATALOG["llama-3.3-70b-fp8"]
    assert fp8.quantization == "fp8" and fp8.num_hidden_layers == 80
    awq = CATALOG["qwen2.5-72b-awq"]
    assert awq.quantization == "awq" and awq.group_size == 128 and awq.intermediate_size == 29696


def test_unknown_model_lists_keys_and_suggests() -> None:
    with pytest.raises(UnknownModel) as err:
        resolve_model("mistral-smal-24b")
    assert err.value.suggestion == "mistral-small-24b"
    assert "Did you mean 'mistral-small-24b'" in str(err.value)
    for key in EXPECTED_KEYS:
        assert key in str(err.value)
    with pytest.raises(UnknownModel) as err:
        resolve_model("Qwen/Qwen2.5-7B-Instrct")
    assert err.value.suggestion == "qwen2.5-7b"
    assert isinstance(err.value, ValueError)


DESCRIPTION = {
    "hf_id": "acme/Tiny-1B",
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "vocab_size": 32000,
    "max_position_embeddings": 8192,
    "params_b": 1.1,
}


def test_description_of_a_model_outside_the_catalog() -> None:
    spec = resolve_model(DESCRIPTION)
    assert isinstance(spec, ModelSpec)
    assert spec.key == "tiny-1b" and spec.torch_dtype == "bfloat16" and not spec.gated
    assert resolve_model({**DESCRIPTION, "key": "tiny", "gated": True}).gated


def test_description_missing_field_is_named() -> None:
    partial = {k: v for k, v in DESCRIPTION.items() if k != "num_key_value_heads"}
    with pytest.raises(ValueError, match="num_key_value_heads"):
        resolve_model(partial)


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"head_dim": 0}, "head_dim"),
        ({"num_hidden_layers": "32"}, "num_hidden_layers"),
        ({"torch_dtype": "int8"}, "torch_dtype"),
        ({"quantization": "gguf"}, "quantization"),
        ({"num_key_value_heads": 5}, "multiple"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_description_is_validated(change: dict[str, object], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        resolve_model({**DESCRIPTION, **change})


def test_bad_type() -> None:
    with pytest.raises(TypeError):
        resolve_model(42)  # type: ignore[arg-type]
