"""Benchmark ``pbmatch.match`` against its peers on the same seeded instances, in one process.

Problems
--------
* dense 1:1, ``n x n`` (n = 4000; smoke 400):

  - *structured* scores, as real co-building scores are: the pairing score of
    :func:`pbmatch.synthetic_city` providers and receivers (complementarity of needs and offers
    both ways, distance decay, kind affinity, same street or district, standing ties);
  - *uniform* random scores in [0, 1).

  Peers: ``lap.lapjv`` (minimises: given ``-scores``), ``scipy.optimize.linear_sum_assignment``
  and raw OR-Tools ``SimpleLinearSumAssignment`` on the same integer costs pbmatch derived.
  pbmatch solves on top-k candidates and proves the answer optimal for every pair
  (``method="certified"``, chosen by ``auto`` at this size).
* capacitated many-to-one, 2000 x 5000, 20 random candidate columns a row, right capacity 3,
  pairs optional (smoke 200 x 500): raw OR-Tools ``SimpleMinCostFlow`` and networkx
  ``network_simplex`` (in a child process; over 60 s it is run again on a quarter-size
  instance, and the line says so). pbmatch solves the sparse input directly and certifies it.

Each contender is timed end to end as a user would call it (from the float scores to the chosen
pairs: building arcs or graphs, solving, reading the answer), the best of ``--repeat`` runs
with the contenders interleaved (the machine is shared). Integer peers get the integer costs
pbmatch derived (``round(score / resolution)``), so every objective must agree: the float sum
of the chosen scores, to 1e-9 relative. The targets of the issue are checked in the same run:

* structured, n = 4000: pbmatch >= 3x faster than ``lap.lapjv``;
* uniform, n = 4000: pbmatch within 1.4x of ``lap.lapjv``;
* many-to-one: >= 50x faster than networkx and within 2x of raw ``SimpleMinCostFlow``;
* ``certified`` true on every instance.

Exit status 1 on an objective mismatch or an uncertified answer; targets are reported (``met``
or ``MISSED``) but only fail the run with ``--strict``.

Usage::

    python benchmarks/bench_match.py            # full sizes (several minutes)
    python benchmarks/bench_match.py --smoke    # small, for CI (seconds)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from _harness import timed_in_child
from pbmatch.exceptions import PrecisionWarning
from pbmatch.matching import match
from pbmatch.results import MatchResult

Solution = tuple[np.ndarray, np.ndarray]  # chosen rows, cols
NX_BUDGET = 60.0  # seconds
_failures: list[str] = []
_targets: list[tuple[str, bool]] = []


def timed_together(
    contenders: dict[str, Callable[[], Any]], repeat: int
) -> dict[str, tuple[float, Any]]:
    """Best wall time of each contender over ``repeat`` interleaved rounds, with its output."""
    best: dict[str, tuple[float, Any]] = {name: (float("inf"), None) for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            start = time.perf_counter()
            out = fn()
            elapsed = time.perf_counter() - start
            if elapsed < best[name][0]:
                best[name] = (elapsed, out)
    return best


def objective(scores: Any, rows: np.ndarray, cols: np.ndarray) -> float:
    if sparse.issparse(scores):
        return float(np.asarray(scores[rows, cols]).sum())
    return float(scores[rows, cols].sum())


def report(
    title: str, ours: tuple[float, MatchResult], peers: list[tuple[str, float, float]]
) -> None:
    t_ours, res = ours
    label = f"pbmatch.match [{res.method}]"
    print(f"\n{title}")
    print(
        f"  {label:<42} {t_ours:9.3f} s   objective {res.objective:.10f}   certified "
        f"{res.certified} ({res.rounds} rounds, {res.priced:,} pairs priced)"
    )
    if not res.certified:
        _failures.append(f"{title}: pbmatch's answer is not certified ({res.message})")
    for name, t_peer, obj_peer in peers:
        same = abs(obj_peer - res.objective) <= 1e-9 * max(1.0, abs(obj_peer))
        flag = "" if same else "   <-- OBJECTIVE MISMATCH"
        print(
            f"  {name:<42} {t_peer:9.3f} s   objective {obj_peer:.10f}   "
            f"peer/pbmatch {t_peer / t_ours:7.2f}x{flag}"
        )
        if not same:
            _failures.append(f"{title}: {name} {obj_peer!r} != pbmatch {res.objective!r}")


def target(text: str, ok: bool) -> None:
    _targets.append((text, ok))
    print(f"  target: {text}: {'met' if ok else 'MISSED'}")


# --- dense 1:1 ---------------------------------------------------------------------------------


def ortools_lsa(scores: np.ndarray, scale: float) -> Solution:
    from ortools.graph.python import linear_sum_assignment as lsa

    n = scores.shape[0]
    costs = -np.rint(scores * scale).astype(np.int64).ravel()
    nodes = np.arange(n, dtype=np.int32)
    solver = lsa.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(np.repeat(nodes, n), np.tile(nodes, n), costs)
    if solver.solve() != solver.OPTIMAL:
        raise RuntimeError("OR-Tools assignment failed")
    cols = np.fromiter(map(solver.right_mate, range(n)), dtype=np.intp, count=n)
    return np.arange(n), cols


def structured_scores(n: int, seed: int) -> np.ndarray:
    """Pairing scores of ``n`` providers x ``n`` receivers of a synthetic city."""
    import pbmatch
    from pbmatch.scoring.pairscore import PairScorer

    graph = pbmatch.synthetic_city(seed=seed, n_providers=n, n_receivers=n)
    receiver = np.isin(graph.kind_names, ["community", "village"])
    scorer = PairScorer(graph, np.flatnonzero(~receiver), np.flatnonzero(receiver))
    return scorer.dense()


def bench_dense(kind: str, n: int, repeat: int, seed: int, full: bool) -> None:
    if kind == "structured":
        scores = structured_scores(n, seed)
    else:
        scores = np.random.default_rng(seed).random((n, n))
    res = match(scores)  # warm the caches; gives the resolution for the integer peers
    assert res.resolution is not None
    scale = 1.0 / res.resolution
    contenders: dict[str, Callable[[], Any]] = {
        "pbmatch": lambda: match(scores),
        "lap.lapjv": lambda: lap_solve(scores),
        "scipy linear_sum_assignment": lambda: linear_sum_assignment(scores, maximize=True),
    }
    if n <= 4000:
        contenders["OR-Tools SimpleLinearSumAssignment (raw)"] = lambda: ortools_lsa(scores, scale)
    best = timed_together(contenders, repeat)
    t_ours, ours = best.pop("pbmatch")
    peers = [(name, t, objective(scores, *out)) for name, (t, out) in best.items()]
    report(f"dense 1:1, {n} x {n}, {kind} scores (best of {repeat})", (t_ours, ours), peers)
    t_lap = best["lap.lapjv"][0]
    if full and kind == "structured":
        target(
            f"structured n={n}: >= 3x faster than lap.lapjv ({t_lap / t_ours:.2f}x)",
            t_lap / t_ours >= 3,
        )
    if full and kind == "uniform":
        target(
            f"uniform n={n}: within 1.4x of lap.lapjv ({t_ours / t_lap:.2f}x)",
            t_ours / t_lap <= 1.4,
        )


def lap_solve(scores: np.ndarray) -> Solution:
    import lap

    _, x, _ = lap.lapjv(-scores)
    return np.arange(scores.shape[0]), x


# --- capacitated many-to-one --------------------------------------------------------------------


def many_to_one_instance(n: int, m: int, k: int, seed: int) -> sparse.csr_array:
    rng = np.random.default_rng(seed)
    cols = np.argsort(rng.random((n, m)), axis=1)[:, :k]  # k distinct columns a row
    rows = np.repeat(np.arange(n), k)
    return sparse.csr_array((rng.random(n * k), (rows, cols.ravel())), shape=(n, m))


def flow_network(
    scores: sparse.csr_array, scale: float, right_capacity: int
) -> tuple[np.ndarray, ...]:
    """Source -> rows -> candidate columns (cost -score) -> sink, and a source -> sink bypass."""
    n, m = scores.shape
    coo = scores.tocoo()
    p = coo.nnz
    s, t = n + m, n + m + 1
    tails = np.concatenate([coo.row, np.full(n, s), np.arange(n, n + m), [s]]).astype(np.int32)
    heads = np.concatenate([coo.col + n, np.arange(n), np.full(m, t), [t]]).astype(np.int32)
    caps = np.concatenate([np.ones(p + n), np.full(m, right_capacity), [n]]).astype(np.int64)
    costs = np.zeros(tails.size, dtype=np.int64)
    costs[:p] = -np.rint(coo.data * scale).astype(np.int64)
    return tails, heads, caps, costs, coo.row, coo.col


def ortools_flow(scores: sparse.csr_array, scale: float, right_capacity: int) -> Solution:
    from ortools.graph.python import min_cost_flow

    n, m = scores.shape
    tails, heads, caps, costs, rows, cols = flow_network(scores, scale, right_capacity)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    solver.set_nodes_supplies(np.array([n + m, n + m + 1], np.int32), np.array([n, -n], np.int64))
    if solver.solve() != solver.OPTIMAL:
        raise RuntimeError("OR-Tools min-cost flow failed")
    chosen = solver.flows(np.arange(rows.size, dtype=np.int32)) > 0
    return rows[chosen], cols[chosen]


def networkx_flow(scores: sparse.csr_array, scale: float, right_capacity: int) -> Solution:
    import networkx as nx

    n, m = scores.shape
    tails, heads, caps, costs, rows, cols = flow_network(scores, scale, right_capacity)
    graph = nx.DiGraph()
    graph.add_node(n + m, demand=-n)
    graph.add_node(n + m + 1, demand=n)
    graph.add_edges_from(
        (int(u), int(v), {"capacity": int(c), "weight": int(w)})
        for u, v, c, w in zip(tails, heads, caps, costs, strict=True)
    )
    _, flow = nx.network_simplex(graph)
    chosen = np.array(
        [flow[int(r)].get(int(c) + n, 0) > 0 for r, c in zip(rows, cols, strict=True)]
    )
    return rows[chosen], cols[chosen]


def _networkx_objective(scores: sparse.csr_array, scale: float, cap: int) -> float:
    rows, cols = networkx_flow(scores, scale, cap)
    return objective(scores, rows, cols)


def networkx_within_budget(
    scores: sparse.csr_array, scale: float, cap: int
) -> tuple[float, float] | None:
    return timed_in_child(lambda: _networkx_objective(scores, scale, cap), NX_BUDGET)


def bench_many_to_one(n: int, m: int, k: int, cap: int, repeat: int, seed: int, full: bool) -> None:
    scores = many_to_one_instance(n, m, k, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        res = match(scores, right_capacity=cap)
        assert res.resolution is not None
        scale = 1.0 / res.resolution
        best = timed_together(
            {
                "pbmatch": lambda: match(scores, right_capacity=cap),
                "OR-Tools SimpleMinCostFlow (raw)": lambda: ortools_flow(scores, scale, cap),
            },
            repeat,
        )
    t_ours, ours = best.pop("pbmatch")
    t_raw, (r, c) = best["OR-Tools SimpleMinCostFlow (raw)"]
    title = f"capacitated many-to-one, {n} x {m}, {k} candidates a row, right capacity {cap}"
    peers = [("OR-Tools SimpleMinCostFlow (raw)", t_raw, objective(scores, r, c))]
    nx_out = networkx_within_budget(scores, scale, cap)
    if nx_out is not None:
        peers.append(("networkx network_simplex (one run)", *nx_out))
    report(f"{title} (best of {repeat})", (t_ours, ours), peers)
    if full:
        target(
            f"many-to-one: within 2x of raw SimpleMinCostFlow ({t_ours / t_raw:.2f}x)",
            t_ours / t_raw <= 2,
        )
        if nx_out is not None:
            target(
                f"many-to-one: >= 50x faster than networkx ({nx_out[0] / t_ours:.1f}x)",
                nx_out[0] / t_ours >= 50,
            )
    if nx_out is not None:
        return
    # networkx took too long: compare it on a quarter-size instance instead.
    small = many_to_one_instance(n // 4, m // 4, k, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        t_small, res_small = timed_together(
            {"pbmatch": lambda: match(small, right_capacity=cap)}, repeat
        )["pbmatch"]
    assert res_small.resolution is not None
    nx_small = networkx_within_budget(small, 1.0 / res_small.resolution, cap)
    title_small = f"{title} -- networkx over {NX_BUDGET:.0f} s, so at {n // 4} x {m // 4}"
    if nx_small is None:
        print(f"\n{title_small}: networkx still over budget, skipped")
        return
    report(title_small, (t_small, res_small), [("networkx network_simplex", *nx_small)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, a few seconds (CI)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per timing (best counts)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    full = not args.smoke
    n = 400 if args.smoke else 4000
    shape = (200, 500) if args.smoke else (2000, 5000)
    repeat = args.repeat or (1 if args.smoke else 3)

    import ortools

    # Warm-up: load the backends once so that no timing includes an import.
    match(np.ones((3, 3)))
    match(np.ones((3, 3)), method="flow")
    match(np.random.default_rng(0).random((500, 500)))
    print(
        f"numpy {np.__version__}, ortools {ortools.__version__}, python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (a shared machine: "
        f"each time is the best of {repeat} interleaved runs)"
    )
    bench_dense("structured", n, repeat, args.seed, full)
    bench_dense("uniform", n, repeat, args.seed, full)
    bench_many_to_one(*shape, k=20, cap=3, repeat=repeat * 3, seed=args.seed, full=full)
    missed = [text for text, ok in _targets if not ok]
    if _failures:
        print("\nFAILED:\n  " + "\n  ".join(_failures), file=sys.stderr)
        return 1
    print("\nall objectives agree; every answer is certified")
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
        return 1 if args.strict else 0
    if full:
        print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
