"""Planner accuracy: the KV-cache estimate of components.sizing against vLLM's own start-up figures.

Run: `python -m bench.planner_accuracy`. The cases and their citations live in
tests/test_sizing_accuracy.py (the test asserts every error is within 20 %).
"""

from __future__ import annotations

from tests.test_sizing_accuracy import CASES, TOLERANCE, estimate


def main() -> int:
    print(f"{'case':32} {'GPU':>9} {'TP':>2} {'estimate':>10} {'vLLM':>10} {'error':>7}")
    worst = 0.0
    for case in CASES:
        est, rep = estimate(case), case.reported()
        err = (est - rep) / rep
        worst = max(worst, abs(err))
        print(f"{case.id:32} {case.gpu:>9} {case.gpus:>2} {est:>10,} {rep:>10,} {err:>+7.1%}")
    print(f"\nworst |error| {worst:.1%} (tolerance {TOLERANCE:.0%}); sources:")
    for case in CASES:
        print(f"- {case.id}: {case.source}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
