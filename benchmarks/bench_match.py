"""Benchmark ``pbmatch.matching.match`` against its peers on the same seeded instances.

Problems
--------
* dense 1:1, ``n x n`` uniform [0, 1) scores (n = 2000 and 4000): ``scipy.optimize.
  linear_sum_assignment``, raw OR-Tools ``SimpleLinearSumAssignment`` and, if installed,
  ``lap.lapjv``.
* capacitated many-to-one, 2000 x 5000, 20 random candidate columns a row, right capacity 3,
  pairs optional: raw OR-Tools ``SimpleMinCostFlow`` and networkx ``network_simplex`` (run in a
  child process; if it needs more than 60 s it is run again on a quarter-size instance, and the
  line says so).

Each peer is timed end to end as a user would call it: from the float score matrix to the chosen
pairs (building its arcs or graph, solving, reading the answer). The integer peers get the same
integer costs pbmatch derived (``round(score / resolution)``), so every objective must agree: the
float sum of the chosen scores, to 1e-9 relative. A mismatch is printed loudly and the script
exits with status 1. Ratios are pbmatch / peer (below 1: pbmatch faster).

Usage::

    python benchmarks/bench_match.py            # full sizes (minutes)
    python benchmarks/bench_match.py --smoke    # tiny, for CI (seconds)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from pbmatch.exceptions import PrecisionWarning
from pbmatch.matching import match

Solution = tuple[np.ndarray, np.ndarray]  # chosen rows, cols
NX_BUDGET = 60.0  # seconds
_failures: list[str] = []


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def objective(scores: Any, rows: np.ndarray, cols: np.ndarray) -> float:
    if sparse.issparse(scores):
        return float(np.asarray(scores[rows, cols]).sum())
    return float(scores[rows, cols].sum())


def report(
    title: str, ours: tuple[float, float, str], peers: list[tuple[str, float, float]]
) -> None:
    t_ours, obj_ours, label = ours
    print(f"\n{title}")
    print(f"  {'pbmatch.match [' + label + ']':<40} {t_ours:9.3f} s   objective {obj_ours:.10f}")
    for name, t_peer, obj_peer in peers:
        same = abs(obj_peer - obj_ours) <= 1e-9 * max(1.0, abs(obj_peer))
        flag = "" if same else "   <-- OBJECTIVE MISMATCH"
        print(
            f"  {name:<40} {t_peer:9.3f} s   objective {obj_peer:.10f}   "
            f"pbmatch/peer {t_ours / t_peer:6.2f}{flag}"
        )
        if not same:
            _failures.append(f"{title}: {name} {obj_peer!r} != pbmatch {obj_ours!r}")


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


def bench_dense(n: int, repeat: int, seed: int) -> None:
    scores = np.random.default_rng(seed).random((n, n))
    t, res = timed(lambda: match(scores), repeat)
    ours = (t, res.objective, res.method)
    assert res.resolution is not None
    scale = 1.0 / res.resolution
    peers = []
    t, (r, c) = timed(lambda: linear_sum_assignment(scores, maximize=True), repeat)
    peers.append(("scipy linear_sum_assignment", t, objective(scores, r, c)))
    t, (r, c) = timed(lambda: ortools_lsa(scores, scale), repeat)
    peers.append(("OR-Tools SimpleLinearSumAssignment (raw)", t, objective(scores, r, c)))
    try:
        import lap
    except ImportError:
        pass
    else:

        def run_lap() -> Solution:
            _, x, _ = lap.lapjv(-scores)
            return np.arange(n), x

        t, (r, c) = timed(run_lap, repeat)
        peers.append(("lap.lapjv", t, objective(scores, r, c)))
    report(
        f"dense 1:1, {n} x {n}, uniform [0, 1) scores, resolution {res.resolution:.3g}", ours, peers
    )


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


def _nx_child(queue: Any, scores: sparse.csr_array, scale: float, cap: int) -> None:
    start = time.perf_counter()
    rows, cols = networkx_flow(scores, scale, cap)
    queue.put((time.perf_counter() - start, objective(scores, rows, cols)))


def networkx_within_budget(
    scores: sparse.csr_array, scale: float, cap: int
) -> tuple[float, float] | None:
    ctx = mp.get_context("fork") if sys.platform != "win32" else mp.get_context()
    queue = ctx.Queue()
    child = ctx.Process(target=_nx_child, args=(queue, scores, scale, cap))
    child.start()
    child.join(NX_BUDGET)
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    result: tuple[float, float] = queue.get()
    return result


def bench_many_to_one(n: int, m: int, k: int, cap: int, repeat: int, seed: int) -> None:
    scores = many_to_one_instance(n, m, k, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        t, res = timed(lambda: match(scores, right_capacity=cap), repeat)
    assert res.resolution is not None
    scale = 1.0 / res.resolution
    title = f"capacitated many-to-one, {n} x {m}, {k} candidates a row, right capacity {cap}"
    peers = []
    t_peer, (r, c) = timed(lambda: ortools_flow(scores, scale, cap), repeat)
    peers.append(("OR-Tools SimpleMinCostFlow (raw)", t_peer, objective(scores, r, c)))
    nx_out = networkx_within_budget(scores, scale, cap)
    if nx_out is not None:
        peers.append(("networkx network_simplex", *nx_out))
        report(title, (t, res.objective, res.method), peers)
        return
    report(title, (t, res.objective, res.method), peers)
    # networkx took too long: compare it on a quarter-size instance instead.
    small = many_to_one_instance(n // 4, m // 4, k, seed)
    t_small, res_small = timed(lambda: match(small, right_capacity=cap), repeat)
    scale_small = 1.0 / res_small.resolution
    nx_small = networkx_within_budget(small, scale_small, cap)
    title_small = f"{title} -- networkx over {NX_BUDGET:.0f} s, so at {n // 4} x {m // 4}"
    if nx_small is None:
        print(f"\n{title_small}: networkx still over budget, skipped")
        return
    report(
        title_small,
        (t_small, res_small.objective, res_small.method),
        [("networkx network_simplex", *nx_small)],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per timing; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = (200, 400) if args.smoke else (2000, 4000)
    shape = (200, 500) if args.smoke else (2000, 5000)

    import ortools
    from ortools.graph.python import linear_sum_assignment as _lsa  # noqa: F401
    from ortools.graph.python import min_cost_flow as _mcf  # noqa: F401

    # Warm-up: load the backends once so that no timing includes an import.
    match(np.ones((3, 3)))
    match(np.ones((3, 3)), method="flow")
    print(f"numpy {np.__version__}, ortools {ortools.__version__}, python {sys.version.split()[0]}")
    for n in sizes:
        bench_dense(n, args.repeat, args.seed)
    bench_many_to_one(*shape, k=20, cap=3, repeat=args.repeat, seed=args.seed)
    if _failures:
        print("\nOBJECTIVE MISMATCH:\n  " + "\n  ".join(_failures), file=sys.stderr)
        return 1
    print("\nall objectives agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
