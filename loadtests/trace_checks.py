"""How often the trace checks refuse an honest trip: realistic traces per mode (the demo's
generator: plausible speeds, GPS jitter of a few metres with occasional 50-100 m jumps,
fixes every 1-10 s with dropouts shorter than the gap limit) checked against the packaged
methodology. `python -m loadtests.trace_checks [--per-mode N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from admin.demo_traces import CRUISE_KMH, synthetic_trace
from loadtests.bodies import TRIP_KM
from points.actions.traces import TraceRefused, check_trace
from points.methodology.service import read_packaged_file


def measure(
    per_mode: int, seed: int, jitter_m: float = 4.0, jump_chance: float = 0.01
) -> dict[str, tuple[int, Counter, float]]:
    """Per mode: (traces refused, refusals by code, mean measured/true length)."""
    methodology = read_packaged_file()
    rules, area = methodology["trace"], methodology["city_area"]["polygon"]
    bounds = methodology["plausibility"]["trip"]
    rng = random.Random(seed)
    ended = datetime(2026, 12, 3, 2, tzinfo=UTC)
    report = {}
    for mode in CRUISE_KMH:
        refused: Counter = Counter()
        ratios = []
        for _ in range(per_mode):
            km = round(rng.uniform(*TRIP_KM[mode]), 1)
            speed = rng.uniform(*CRUISE_KMH[mode])
            minutes = max(5, round(km / speed * 60))
            started = ended - timedelta(minutes=minutes)
            trace = synthetic_trace(
                rng, mode, started, ended, km, jitter_m=jitter_m, jump_chance=jump_chance
            )
            try:
                figures = check_trace(
                    trace,
                    started_at=started.timestamp(),
                    ended_at=ended.timestamp(),
                    max_kmh=bounds[mode]["max_kmh"],
                    rules=rules,
                    area=area,
                )
            except TraceRefused as refusal:
                refused[refusal.code] += 1
                continue
            ratios.append(figures.distance_m / (km * 1000))
        mean_ratio = sum(ratios) / len(ratios) if ratios else 0.0
        report[mode] = (sum(refused.values()), refused, mean_ratio)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-mode", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--jitter-m", type=float, default=4.0, help="GPS noise (sigma, m)")
    parser.add_argument("--jump-chance", type=float, default=0.01, help="fixes 50-100 m off")
    args = parser.parse_args()
    report = measure(args.per_mode, args.seed, args.jitter_m, args.jump_chance)
    total = 0
    print(f"{'mode':<10} {'refused':>8} {'rate':>7}  length measured/true  reasons")
    for mode, (refused, reasons, ratio) in report.items():
        total += refused
        rate = refused / args.per_mode
        print(f"{mode:<10} {refused:>8} {rate:>7.2%}  {ratio:>21.3f}  {dict(reasons) or '-'}")
    checked = args.per_mode * len(report)
    print(f"{'all':<10} {total:>8} {total / checked:>7.2%}  of {checked} honest traces")


if __name__ == "__main__":
    main()
