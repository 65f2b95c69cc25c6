"""Benchmark ``form_joint_branches`` against the plain CP-SAT group-assignment model.

Instance: ``synthetic_district(seed, n_streets=12, n_townships=2)`` (about 1,000 units, 10-25
small units a street). pbmatch enumerates each street's feasible groups and solves the packing
exactly (subset DP up to 16 small units, CP-SAT above); the peer is
:func:`pbmatch.problems.branches.compact_model` (one Boolean per unit and group representative,
pair variables for the distance and industry terms, the same lexicographic weights), solved by
CP-SAT with 1 worker, seed 0 and a time limit per street. Each side prints the small units
covered, its proven bound on them (the sum of the streets' bounds: the district's bound) and
the gap, and the total pairwise distance within groups (the second level); pbmatch must be
optimal with bound = covered, and a peer that proves its streets must agree. Times are the
best of ``--repeat`` runs (the machine is shared); ratios are pbmatch / peer.

Usage::

    python benchmarks/bench_branches.py            # ~1,000 units
    python benchmarks/bench_branches.py --smoke    # the default district, for CI
"""

from __future__ import annotations

import argparse
import sys
import time

from pbmatch.datasets import synthetic_district
from pbmatch.problems import branches
from pbmatch.verify import verify_branches


def _num(value: float | None) -> str:
    return f"{'-':>6}" if value is None else f"{value:>6g}"


def _pct(gap: float | None) -> str:
    return f"{'-':>6}" if gap is None else f"{100 * gap:>5.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-limit", type=float, default=30.0)
    args = parser.parse_args()
    streets, townships, seeds, repeat, limit = 12, 2, args.seeds, args.repeat, args.peer_limit
    if args.smoke:
        streets, townships, seeds, repeat, limit = 2, 0, 1, 1, 10.0
    failures = 0
    print(
        f"{'seed':>4} {'units':>6} {'small':>6} {'pbmatch s':>10} {'status':>8} {'covered':>8} "
        f"{'bound':>6} {'gap':>6} {'km':>8} | {'peer s':>8} {'peer':>9} {'covered':>8} "
        f"{'bound':>6} {'gap':>6} {'km':>8} | {'ratio':>6}"
    )
    for seed in range(seeds):
        graph = synthetic_district(seed=seed, n_streets=streets, n_townships=townships)
        best, result = float("inf"), None
        for _ in range(repeat):
            start = time.perf_counter()
            result = branches.form_joint_branches(graph)
            best = min(best, time.perf_counter() - start)
        assert result is not None
        problems = verify_branches(result)
        if problems or result.status != "optimal" or result.bound != result.objective:
            print(f"FAILED: seed {seed}: {result.status} bound {result.bound} {problems}")
            failures += 1
        start = time.perf_counter()
        peer = branches.form_joint_branches(graph, max_groups=1, time_limit=limit)
        peer_time = time.perf_counter() - start
        if verify_branches(peer):
            print(f"FAILED: seed {seed}: peer {verify_branches(peer)}")
            failures += 1
        if peer.status == "optimal" and (
            peer.objective != result.objective
            or abs(peer.total_km - result.total_km) > 1e-3 * (1 + len(result.groups))
        ):
            print(f"FAILED: seed {seed}: peer {peer.objective} {peer.total_km}")
            failures += 1
        if peer.success and peer.objective > result.objective:
            print(f"FAILED: seed {seed}: peer covers more ({peer.objective})")
            failures += 1
        small = int(result.objective) + len(result.uncovered)
        print(
            f"{seed:>4} {len(graph):>6} {small:>6} {best:>10.3f} {result.status:>8} "
            f"{result.objective:>8g} {_num(result.bound)} {_pct(result.gap)} "
            f"{result.total_km:>8.2f} | {peer_time:>8.2f} {peer.status:>9} "
            f"{peer.objective:>8g} {_num(peer.bound)} {_pct(peer.gap)} {peer.total_km:>8.2f} | "
            f"{best / peer_time:>6.3f}",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
