"""Planner accuracy: the KV-cache estimate of components.sizing against vLLM's own start-up figures,
per vLLM release line.

Run: `python -m bench.planner_accuracy`. The cases and their citations live in
tests/test_sizing_accuracy.py (the test asserts every error is within 20 %; the aim is 10 %).
Each case is estimated with the memory model of its release line (a case naming its release
follows that release's profile); the profile lines without a cited case are listed as
uncalibrated.
"""

from __future__ import annotations

from collections import defaultdict

from tests.test_sizing_accuracy import CASES, TOLERANCE, estimate

AIM = 0.10
PROFILE_LINES = ("0.11-0.16", "0.17-0.20", "0.21+")  # components.vllm_releases memory lines


def main() -> int:
    print(f"{'case':32} {'line':12} {'GPU':>9} {'TP':>2} {'estimate':>10} {'vLLM':>10} {'error':>7}")
    worst = 0.0
    by_line: dict[str, list[float]] = defaultdict(list)
    for case in CASES:
        est, rep = estimate(case), case.reported()
        err = (est - rep) / rep
        worst = max(worst, abs(err))
        by_line[case.line].append(err)
        print(f"{case.id:32} {case.line:12} {case.gpu:>9} {case.gpus:>2} {est:>10,} {rep:>10,} {err:>+7.1%}")
    print("\nper release line: cases, mean |error|, worst |error|, within the 10 % aim")
    for line, errors in by_line.items():
        mean = sum(abs(e) for e in errors) / len(errors)
        within = sum(abs(e) <= AIM for e in errors)
        print(f"- {line:12} {len(errors):2} cases  mean {mean:5.1%}  worst {max(map(abs, errors)):5.1%}  "
              f"{within}/{len(errors)} within {AIM:.0%}")
    for line in PROFILE_LINES:
        if line not in by_line:
            print(f"- {line:12}  0 cases  (memory model from the release notes, no cited start-up log yet)")
    print(f"\nworst |error| {worst:.1%} (tolerance {TOLERANCE:.0%}); sources:")
    for case in CASES:
        print(f"- {case.id}: {case.source}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
