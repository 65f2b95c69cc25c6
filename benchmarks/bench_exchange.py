"""Benchmark ``exchange_cycles`` against the plain CP-SAT cycle model on the same districts.

Target (issue 6): a 1,000-unit district with ``max_length=3`` solved to proven optimality in
at most 10 s. Instances: ``synthetic_district(seed, n_streets=12, n_townships=2)`` (about
1,000 units) for ``--seeds`` seeds, each with ``max_length`` 2 (swaps only) and 3
(``--lengths``). pbmatch: strongly connected components, cycle enumeration, then a matching
for swaps (``pbmatch.match_general``) or LP duals with triple cuts and a reduced CP-SAT model
for longer cycles (see ``exchange_cycles``). Peer: the cycle formulation as one would first
write it: every cycle of length <= ``max_length`` from ``networkx.simple_cycles`` on the whole
can-give graph, one CP-SAT Boolean each (Python API), an at-most-one per unit, the same
lexicographic weights (units, then quantity) and the same parameters (1 worker, seed 0,
linearization level 2) with a time limit. Both objectives are printed (units in cycles,
quantity exchanged); when the peer proves its optimum they must be equal. pbmatch times are the
best of ``--repeat`` runs (the machine is shared); ratios are pbmatch / peer. The summary gives,
per length, pbmatch's median and largest time and how many seeds met the 10 s target.

Usage::

    python benchmarks/bench_exchange.py            # 8 districts of ~1,000 units, peer <= 60 s
    python benchmarks/bench_exchange.py --smoke    # one street, for CI
    python benchmarks/bench_exchange.py --seeds 25 --no-peer --lengths 3   # pbmatch's tail
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import networkx as nx
import numpy as np

from pbmatch.datasets import synthetic_district
from pbmatch.graph import RegionGraph
from pbmatch.problems.exchange import can_give, exchange_cycles
from pbmatch.verify import verify_exchange

TARGET_S = 10.0


def peer(graph: RegionGraph, max_length: int, time_limit: float) -> tuple[str, int, float]:
    """The plain cycle model: (CP-SAT status, units in cycles, quantity exchanged)."""
    from ortools.sat.python import cp_model

    adjacency, quantity = can_give(graph, np.arange(len(graph)))
    g = nx.DiGraph()
    g.add_edges_from(zip(*np.nonzero(adjacency), strict=False))
    cycles = list(nx.simple_cycles(g, length_bound=max_length))
    q = [sum(quantity[c[i], c[(i + 1) % len(c)]] for i in range(len(c))) for c in cycles]
    w = int(np.where(adjacency, quantity, 0).max(axis=1).sum()) + 1
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in cycles]
    by_unit: dict[int, list[int]] = {}
    for k, c in enumerate(cycles):
        for u in c:
            by_unit.setdefault(u, []).append(k)
    for ks in by_unit.values():
        model.add_at_most_one(x[k] for k in ks)
    weights = [w * len(c) + int(qq) for c, qq in zip(cycles, q, strict=True)]
    model.maximize(sum(wk * xk for wk, xk in zip(weights, x, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.linearization_level = 2
    solver.parameters.max_time_in_seconds = time_limit
    status = solver.status_name(solver.solve(model))
    if status not in ("OPTIMAL", "FEASIBLE"):
        return status, 0, 0.0
    chosen = [k for k in range(len(cycles)) if solver.value(x[k])]
    return status, sum(len(cycles[k]) for k in chosen), float(sum(q[k] for k in chosen))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--lengths", default="2,3", help="max_length values, comma-separated")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--peer-limit", type=float, default=60.0)
    parser.add_argument("--no-peer", action="store_true", help="pbmatch only (many seeds)")
    args = parser.parse_args()
    streets, townships, seeds, repeat, limit = 12, 2, args.seeds, args.repeat, args.peer_limit
    lengths = [int(v) for v in args.lengths.split(",")]
    if args.smoke:
        streets, townships, seeds, repeat, limit = 1, 0, 1, 1, 10.0
    warm = synthetic_district(seed=0, n_streets=1, n_townships=0)
    for length in lengths:
        exchange_cycles(warm, max_length=length)  # warm imports
    failures = 0
    print(
        f"{'len':>3} {'seed':>4} {'units':>6} {'cycles':>8} {'pbmatch s':>10} {'status':>8} "
        f"{'in cycles':>9} {'quantity':>9} {'peer s':>8} {'peer status':>11} "
        f"{'peer units':>10} {'peer qty':>9} {'ratio':>6}"
    )
    times: dict[int, list[float]] = {length: [] for length in lengths}
    for seed in range(args.first_seed, args.first_seed + seeds):
        graph = synthetic_district(seed=seed, n_streets=streets, n_townships=townships)
        for length in lengths:
            best, result = float("inf"), None
            for _ in range(repeat):
                start = time.perf_counter()
                result = exchange_cycles(graph, max_length=length)
                best = min(best, time.perf_counter() - start)
            assert result is not None
            times[length].append(best)
            problems = verify_exchange(result)
            if problems or result.status != "optimal":
                print(f"FAILED: seed {seed} length {length}: {result.status} {problems}")
                failures += 1
            start = time.perf_counter()
            status, units, quantity = (
                ("SKIPPED", 0, 0.0) if args.no_peer else peer(graph, length, limit)
            )
            peer_time = time.perf_counter() - start
            if status == "OPTIMAL" and (units, quantity) != (result.objective, result.quantity):
                print(
                    f"FAILED: seed {seed} length {length}: peer proved {units} units / "
                    f"{quantity:g}, pbmatch {result.objective:g} / {result.quantity:g}"
                )
                failures += 1
            print(
                f"{length:>3} {seed:>4} {len(graph):>6} {result.n_cycles:>8} {best:>10.2f} "
                f"{result.status:>8} {result.objective:>9g} {result.quantity:>9g} "
                f"{peer_time:>8.2f} {status:>11} {units:>10} {quantity:>9g} "
                + (f"{'-':>6}" if args.no_peer else f"{best / peer_time:>6.3f}"),
                flush=True,
            )
    for length in lengths:
        met = sum(t <= TARGET_S for t in times[length])
        print(
            f"max_length={length}: pbmatch median {statistics.median(times[length]):.2f} s, "
            f"largest {max(times[length]):.2f} s; {met} of {len(times[length])} seeds within "
            f"the {TARGET_S:g} s target"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
