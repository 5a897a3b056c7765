"""`python -m components.plan MODEL ...`: print the ranked GPU plans for a model.

Shows flavor, GPUs, tensor parallel size, weights, KV cache tokens, concurrency at the context
length, the hourly cost and why a plan does not fit, then the best plan (or what would fit).
Exit status: 0 when a plan fits, 1 when none does, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from components import price_catalog, pricing
from components.catalog import CATALOG, UnknownModel
from components.sizing import FLAVORS, NoFittingPlan, best_plan, format_plans, plan


def _price(text: str) -> tuple[str, float]:
    flavor, sep, value = text.partition("=")
    if not sep or flavor not in FLAVORS:
        raise argparse.ArgumentTypeError(f"expected FLAVOR=EUR_PER_HOUR with FLAVOR in {', '.join(FLAVORS)}")
    try:
        return flavor, float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a price: {value!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.plan",
        description="Rank AI Deploy GPU plans for serving MODEL with vLLM.",
        epilog=f"Catalog models: {', '.join(CATALOG)}. A Hugging Face id of a catalog model works too.",
    )
    parser.add_argument("model", metavar="MODEL", help="catalog key or Hugging Face id")
    parser.add_argument("--max-model-len", type=int, help="context length (default: the model's)")
    parser.add_argument("--dtype", help="auto, bfloat16, float16/half, or fp8 (FP8 weights)")
    parser.add_argument("--kv-cache-dtype", help="auto or fp8")
    parser.add_argument(
        "--flavor", action="append", choices=list(FLAVORS), help="only this flavor (repeatable)"
    )
    parser.add_argument("--gpus", type=int, help="only this many GPUs")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    parser.add_argument(
        "--min-concurrency", type=int, default=1, help="full-length sequences the KV cache must hold"
    )
    parser.add_argument(
        "--price",
        action="append",
        type=_price,
        default=[],
        metavar="FLAVOR=EUR",
        help="override a flavor's hourly price per GPU (repeatable)",
    )
    parser.add_argument(
        "--subsidiary", default="FR", help="OVHcloud subsidiary whose public catalog prices the plans (FR)"
    )
    parser.add_argument(
        "--catalog-url",
        default="",
        help="catalog URL or API base (default: the subsidiary's API); none: the built-in estimates",
    )
    return parser


def _prices(args: argparse.Namespace) -> pricing.PriceList:
    """The catalog's prices (cached, or the built-in estimates when unreachable), overrides on top."""
    raw = {"ovhSubsidiary": args.subsidiary, "priceCatalogUrl": args.catalog_url}
    fetched = price_catalog.prices_for_config(raw)
    base = fetched or pricing.builtin_prices(args.subsidiary, reason="--catalog-url none")
    return base.with_overrides(dict(args.price))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        prices = _prices(args)
    except pricing.UnknownSubsidiary as exc:
        print(f"error: --subsidiary {args.subsidiary}: {str(exc).split(': ', 1)[1]}", file=sys.stderr)
        return 2
    options = {
        "max_model_len": args.max_model_len,
        "dtype": args.dtype,
        "kv_cache_dtype": args.kv_cache_dtype,
        "gpu_memory_utilization": args.gpu_memory_utilization,
        "flavors": args.flavor,
        "min_concurrency": args.min_concurrency,
        "prices": prices.per_gpu_hour(),
        "gpus": args.gpus,
    }
    try:
        plans = plan(args.model, **options)
    except UnknownModel as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_plans([pricing.in_currency(p, prices) for p in plans]))
    print(pricing.source_line(prices))
    for warning in prices.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print()
    try:
        chosen = pricing.in_currency(best_plan(args.model, **options), prices)
    except NoFittingPlan as exc:
        print(f"No plan fits: {exc}")
        return 1
    print(
        f"Best: {chosen.gpus} x {chosen.flavor} (tensor parallel {chosen.tensor_parallel}, {chosen.dtype}"
        f"{', ' + chosen.quantization if chosen.quantization else ''}"
        f"{', fp8 KV cache' if chosen.kv_cache_dtype == 'fp8' else ''}): "
        f"{chosen.kv_cache_tokens:,} KV tokens, {chosen.max_concurrency:.2f} sequences of "
        f"{chosen.max_model_len:,} tokens, about {chosen.hourly_cost:.2f} {chosen.currency}/h."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
