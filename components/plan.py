"""`python -m components.plan MODEL ...`: print the ranked GPU plans for a model.

Shows flavor, GPUs, tensor parallel size, weights, KV cache tokens, concurrency at the context
length, the hourly cost and whether a plan fits (why not, and trade-offs, wrap under its row),
then the best plan with the exact `pulumi config set` lines of a stack that deploys it (or what
would fit, with the key to change).

MODEL is a catalog key or a Hugging Face id. A model outside the catalog is planned from its
config.json: `--config path/config.json` (MODEL, if given, is the id to deploy; otherwise the
file's `_name_or_path`), or, for an id, through `huggingface_hub` (its cache first; offline with
HF_HUB_OFFLINE=1; components/hub_config.py).

The inputs are checked by the stack settings' own rules (components/settings/rules_gpu.py, ranges
from components/settings/keys.py): a problem names the CLI flag, the stack key and its fix.
The plan follows the memory model of `--vllm-version` (default: the release the stacks pin).
Exit status: 0 when a plan fits, 1 when none does, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from components import price_catalog, pricing, vllm_releases
from components.catalog import CATALOG, ModelSpec, UnknownModel, from_hf_config, resolve_model
from components.hub_config import ConfigLoadError, fetch_config, read_config
from components.settings import rules_gpu
from components.settings import rules_prices as price_rules
from components.settings.keys import PROJECT, StackConfig
from components.settings.problems import Problems, set_command
from components.settings.rules_base import Findings
from components.sizing import FLAVORS, TABLE_WIDTH, NoFittingPlan, Plan, best_plan, format_plans, plan

# Stack key -> the CLI flag that sets it (problems name both).
FLAGS = {
    "model": "MODEL",
    "modelSpec": "--config",
    "maxModelLen": "--max-model-len",
    "dtype": "--dtype",
    "kvCacheDtype": "--kv-cache-dtype",
    "gpuFlavor": "--flavor",
    "gpuCount": "--gpus",
    "gpuMemoryUtilization": "--gpu-memory-utilization",
    "prices": "--price",
    "vllmVersion": "--vllm-version",
    "ovhSubsidiary": "--subsidiary",
    "priceCatalogUrl": "--catalog-url",
}
DEFAULT_GMU = StackConfig.model_fields["gpuMemoryUtilization"].default
# ModelSpec fields a stack's modelSpec carries for a model outside the catalog (camelCase there).
_SPEC_FIELDS = (
    "hf_id", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "torch_dtype", "params_b",
    "tie_word_embeddings", "quantization", "group_size", "num_experts", "num_experts_per_tok",
    "moe_intermediate_size", "sliding_window", "sliding_window_layers",
)  # fmt: skip


class UsageError(ValueError):
    """Bad input: printed as `error: ...` with exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.plan",
        description="Rank AI Deploy GPU plans for serving MODEL with vLLM.",
        epilog=f"Catalog models: {', '.join(CATALOG)}. A Hugging Face id of a catalog model works too; "
        "another id is planned from its config.json (--config, or the Hub through huggingface_hub).",
    )
    parser.add_argument("model", metavar="MODEL", nargs="?", help="catalog key or Hugging Face id")
    parser.add_argument("--config", metavar="PATH", help="plan from this config.json (outside the catalog)")
    parser.add_argument("--params-b", type=float, help="parameters in billions (default: from the shapes)")
    parser.add_argument("--revision", help="Hub revision of the config.json (with a Hugging Face id)")
    parser.add_argument("--cache-dir", help="Hugging Face cache directory (default: huggingface_hub's)")
    parser.add_argument("--max-model-len", type=int, default=0, help="context length (default: the model's)")
    parser.add_argument("--dtype", default="auto", help="auto, bfloat16, float16/half, or fp8 (FP8 weights)")
    parser.add_argument("--kv-cache-dtype", default="auto", help="auto or fp8")
    parser.add_argument("--flavor", action="append", help="only this flavor (repeatable)")
    parser.add_argument("--gpus", type=int, default=0, help="only this many GPUs")
    parser.add_argument("--gpu-memory-utilization", default=DEFAULT_GMU)
    parser.add_argument(
        "--min-concurrency", type=int, default=1, help="full-length sequences the KV cache must hold"
    )
    parser.add_argument(
        "--price", action="append", default=[], metavar="FLAVOR=EUR",
        help="override a flavor's hourly price per GPU (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--subsidiary", default="FR", help="OVHcloud subsidiary whose public catalog prices the plans (FR)"
    )
    parser.add_argument(
        "--catalog-url",
        default="",
        help="catalog URL or API base (default: the subsidiary's API); none: the built-in estimates",
    )
    parser.add_argument(
        "--vllm-version", default="",
        help=f"vLLM release whose memory model to plan for (default: {vllm_releases.format_version(vllm_releases.PINNED_RELEASE)}, the stacks' pinned image)",  # noqa: E501
    )  # fmt: skip
    return parser


# --- inputs -------------------------------------------------------------------------------------------


def _looks_like_hub_id(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name))


def load_model(args: argparse.Namespace) -> tuple[ModelSpec, bool]:
    """(spec, in the catalog) for MODEL / --config; a model outside the catalog comes from its config.json."""
    if args.config:
        config = read_config(args.config)
        return from_hf_config(config, args.model, params_b=args.params_b, where=args.config), False
    if not args.model:
        raise UsageError("give MODEL (a catalog key or Hugging Face id) or --config path/config.json")
    try:
        return resolve_model(args.model), True
    except UnknownModel as exc:
        if not _looks_like_hub_id(args.model.strip()):
            raise
        unknown = exc
    try:
        config, path = fetch_config(args.model.strip(), revision=args.revision, cache_dir=args.cache_dir)
    except ConfigLoadError as exc:
        hint = f" Did you mean {unknown.suggestion!r}?" if unknown.suggestion else ""
        raise UsageError(f"{exc}.{hint}") from exc
    return from_hf_config(config, args.model.strip(), params_b=args.params_b, where=str(path)), False


def stack_config(args: argparse.Namespace, spec: ModelSpec, in_catalog: bool) -> StackConfig:
    """The stack keys this command line stands for (validated by the settings rules)."""
    flavors = args.flavor or []
    values: dict[str, Any] = {
        "model": spec.key if in_catalog else spec.hf_id,
        "maxModelLen": args.max_model_len,
        "dtype": args.dtype,
        "kvCacheDtype": args.kv_cache_dtype,
        "gpuFlavor": flavors[0] if len(flavors) == 1 else "",
        "gpuCount": args.gpus,
        "gpuMemoryUtilization": str(args.gpu_memory_utilization),
        "prices": list(args.price),
        "vllmVersion": args.vllm_version,
        "ovhSubsidiary": args.subsidiary,
        "priceCatalogUrl": args.catalog_url,
    }
    if not in_catalog:
        values["modelSpec"] = model_spec_json(spec)
    return StackConfig(**values)


def model_spec_json(spec: ModelSpec) -> str:
    """The stack's `modelSpec` for a model outside the catalog (camelCase keys, defaults left out)."""
    out: dict[str, Any] = {}
    for name in _SPEC_FIELDS:
        value = getattr(spec, name)
        if value in (None, 0, False) and name not in ("hf_id",):
            continue
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
        out[camel] = value
    return json.dumps(out, separators=(",", ":"))


def _release(cfg: StackConfig) -> vllm_releases.ReleaseProfile:
    if not cfg.vllmVersion.strip():
        return vllm_releases.profile(vllm_releases.PINNED_RELEASE)
    try:  # the stacks' own rule: vllmVersion names a supported release line
        release, _ = vllm_releases.resolve_release("vllm/vllm-openai:latest", cfg.vllmVersion)
    except vllm_releases.ReleaseError as exc:
        raise UsageError(f"--vllm-version (stack key {exc.key}): {exc}") from exc
    return release


def _report(findings: Findings) -> str:
    lines = []
    for problem in findings.problems.items:
        key = problem.key.split(":", 1)[-1]
        flag = FLAGS.get(key, key)
        lines.append(f"error: {flag} (stack key {key}): {problem.message}\n    stack fix: {problem.fix}")
    return "\n".join(lines)


# --- output -------------------------------------------------------------------------------------------


def say(text: str, indent: str = "") -> None:
    """Print prose wrapped to the table's width (commands are printed whole, to be copied)."""
    print("\n".join(textwrap.wrap(text, TABLE_WIDTH, initial_indent=indent,
                                   subsequent_indent=indent + "  ")))  # fmt: skip


def stack_lines(cfg: StackConfig, best: Plan) -> list[str]:
    """`pulumi config set` lines of a stack that deploys `best` (the keys the planner chose)."""
    def cmd(key: str, value: str) -> str:
        return set_command(key, value, namespace=PROJECT)

    lines = [cmd("model", shlex.quote(cfg.model))]
    if cfg.modelSpec:
        lines.append(cmd("modelSpec", shlex.quote(cfg.modelSpec)))
    lines += [
        cmd("gpuFlavor", best.flavor),
        cmd("gpuCount", str(best.gpus)),
        cmd("maxModelLen", str(best.max_model_len)),
    ]
    if cfg.dtype != "auto":
        lines.append(cmd("dtype", cfg.dtype))
    if best.kv_cache_dtype == "fp8":
        lines.append(cmd("kvCacheDtype", cfg.kvCacheDtype))
    if cfg.gpuMemoryUtilization != DEFAULT_GMU:
        lines.append(cmd("gpuMemoryUtilization", cfg.gpuMemoryUtilization))
    if cfg.vllmVersion.strip():
        lines.append(cmd("vllmVersion", cfg.vllmVersion.strip()))
    if cfg.ovhSubsidiary.strip().upper() != "FR":
        lines.append(cmd("ovhSubsidiary", cfg.ovhSubsidiary.strip().upper()))
    return lines


def _best_line(best: Plan) -> str:
    return (
        f"Best: {best.gpus} x {best.flavor} (tensor parallel {best.tensor_parallel}, {best.dtype}"
        f"{', ' + best.quantization if best.quantization else ''}"
        f"{', fp8 KV cache' if best.kv_cache_dtype == 'fp8' else ''}): "
        f"{best.kv_cache_tokens:,} KV tokens, {best.max_concurrency:.2f} sequences of "
        f"{best.max_model_len:,} tokens, about {best.hourly_cost:.2f} {best.currency}/h."
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec, in_catalog = load_model(args)
        cfg = stack_config(args, spec, in_catalog)
        release = _release(cfg)
    except (UsageError, ConfigLoadError, ValueError) as exc:  # UnknownModel and MissingConfigField too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    findings = Findings(Problems(PROJECT))
    gmu = rules_gpu.gpu_memory_utilization(cfg, findings)
    prices = rules_gpu.prices(cfg, findings)
    sub = price_rules.subsidiary(cfg, findings)
    url_ok = price_rules.catalog_url_ok(cfg, findings)
    inputs_ok = rules_gpu.planner_inputs_ok(cfg, findings)
    for flavor in args.flavor if args.flavor and len(args.flavor) > 1 else []:
        if flavor not in FLAVORS:
            findings.add("gpuFlavor", f"'{flavor}' is not a GPU flavor ({', '.join(sorted(FLAVORS))})",
                         value="l40s-1-gpu")
    if args.min_concurrency < 1:
        print(f"error: --min-concurrency must be at least 1 (got {args.min_concurrency})", file=sys.stderr)
        return 2
    if inputs_ok:
        rules_gpu.context_length(cfg, spec, findings)
    if findings.failed or gmu is None or prices is None or sub is None or not url_ok:
        print(_report(findings), file=sys.stderr)
        return 2
    # Checked first, fetched after: a bad key makes no request (the stacks' order too).
    fetched = price_catalog.prices_for_config({"ovhSubsidiary": sub, "priceCatalogUrl": cfg.priceCatalogUrl})
    price_list = price_rules.price_list(cfg, sub, fetched, prices, findings)
    per_gpu_hour = price_list.per_gpu_hour()

    kwargs = rules_gpu.planner_kwargs(cfg, gmu, per_gpu_hour)
    kwargs.update(release=release, min_concurrency=args.min_concurrency)
    if args.flavor and len(args.flavor) > 1:
        kwargs["flavors"] = list(args.flavor)
    print(format_plans([pricing.in_currency(p, price_list) for p in plan(spec, **kwargs)]))
    say(pricing.source_line(price_list))
    print()
    if args.min_concurrency > 1 or (args.flavor and len(args.flavor) > 1):
        return _best_with_planner(spec, kwargs, cfg, price_list)
    chosen = rules_gpu.plan(cfg, spec, gmu, per_gpu_hour, findings, release)
    if chosen is None:
        problem = findings.problems.items[0]
        key = problem.key.split(":", 1)[-1]
        say(f"No plan fits: {problem.message}")
        print(f"Fix ({FLAGS.get(key, key)}, stack key {key}):")
        print(f"  {problem.fix}")
        return 1
    return _print_best(cfg, pricing.in_currency(chosen[0], price_list), findings.warnings)


def _best_with_planner(
    spec: ModelSpec, kwargs: dict[str, Any], cfg: StackConfig, prices: pricing.PriceList
) -> int:
    """Options a stack has no key for (--min-concurrency, several flavors): the planner's own advice."""
    try:
        chosen = best_plan(spec, **kwargs)
    except NoFittingPlan as exc:
        say(f"No plan fits: {exc}")
        return 1
    return _print_best(cfg, pricing.in_currency(chosen, prices), [])


def _print_best(cfg: StackConfig, best: Plan, warnings: Sequence[str]) -> int:
    say(_best_line(best))
    for note in warnings or [f"{best.gpus} x {best.flavor}: {n}" for n in best.notes]:
        say(f"note: {note}", "  ")
    print("Stack config for this plan:")
    for line in stack_lines(cfg, best):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
