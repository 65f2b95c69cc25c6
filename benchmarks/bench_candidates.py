"""Benchmark: the scoring core at city scale — top-k candidates both ways, and its peers.

Prints, from one run:

1. **Complementarity**: ``ComplementarityKernel`` against the blocked numpy broadcast
   (256 rows a block, ``min(...).sum(-1)`` and ``min(...) @ w``) on ``n × n`` units with 32
   categories, 20 % filled with whole quantities 1..10 (float32); the results must agree
   exactly.
2. **Dense baseline**: on a city the brute force can do (``--dense-size``), the plain
   definition ``top_k_dense(scorer.dense(), k)`` against ``PairScorer.top_k(k)``: both
   timed, the ratio, and the two answers compared pair for pair (they must be equal).
3. **City**: ``synthetic_city`` with ``--size`` providers and receivers (50,000 each by
   default; building it takes 10–35 s, mostly pydantic, and is not timed), top-``k``
   candidates both ways without and with ``--max-km`` (10 km): wall and CPU time (best of
   ``--repeat``; the ``PairScorer`` build, about 1 s, included and shown apart, with the
   phases of the algorithm) and peak memory, each run in a fresh forked process
   (``ru_maxrss`` of the process, which includes the graph, and the increase over the graph
   alone).
   Exactness at that scale: every row and column got its candidates, every score equals
   ``breakdown()["score"]``, and for ``--check`` random rows and columns the full row or
   column is scored in float64 and its top-k (index tie-break) compared with ours.

The exit status is 1 if any exactness check fails. Timings are noisy on a shared machine:
the script reports the load average, and the CPU time of the run besides its wall time.

Usage::

    python benchmarks/bench_candidates.py            # full: 50,000 × 50,000 (a few minutes)
    python benchmarks/bench_candidates.py --smoke    # CI: a few seconds
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pbmatch.datasets import synthetic_city
from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS, RECEIVER_KINDS
from pbmatch.scoring.candidates import Candidates, _top_k_pruned, top_k_dense
from pbmatch.scoring.complementarity import ComplementarityKernel
from pbmatch.scoring.pairscore import DEFAULT_MEMORY_BUDGET, PairScorer

BLOCK = 256


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


# ---------------------------------------------------------------------------------------------
# 1. Complementarity
# ---------------------------------------------------------------------------------------------
def complementarity_section(n: int, repeat: int, seed: int) -> bool:
    rng = np.random.default_rng(seed)

    def side() -> np.ndarray:
        x = rng.integers(1, 11, size=(n, 32)).astype(np.float32)
        x[rng.random((n, 32)) >= 0.2] = 0
        return x

    offers, needs, w = side(), side(), np.ones(32, dtype=np.float32)

    def broadcast(form: str) -> np.ndarray:
        out = np.empty((n, n), dtype=np.float32)
        for s in range(0, n, BLOCK):
            block = np.minimum(offers[s : s + BLOCK, None, :], needs[None, :, :])
            out[s : s + BLOCK] = block.sum(-1) if form == "sum" else block @ w
        return out

    t_kernel, got = best_of(repeat, lambda: ComplementarityKernel(offers, needs, w).full())
    t_sum, want = best_of(repeat, lambda: broadcast("sum"))
    t_matvec, want2 = best_of(repeat, lambda: broadcast("matvec"))
    ok = bool(np.array_equal(got, want) and np.array_equal(got, want2))
    print(f"complementarity {n} × {n} × 32, 20 % whole 1..10, float32 (best of {repeat}):")
    print(
        f"  kernel {t_kernel:.3f} s   broadcast sum {t_sum:.3f} s   broadcast @ w {t_matvec:.3f} s"
    )
    print(
        f"  speed-up {t_sum / t_kernel:.1f}× over the sum form, {t_matvec / t_kernel:.1f}× over "
        f"the @ w form; exact: {'yes' if ok else 'NO'}"
    )
    return ok


# ---------------------------------------------------------------------------------------------
# 2. and 3. Top-k candidates
# ---------------------------------------------------------------------------------------------
def sides(graph: RegionGraph) -> tuple[np.ndarray, np.ndarray]:
    receiver = np.isin(graph.kinds, [KINDS.index(k) for k in sorted(RECEIVER_KINDS)])
    return np.flatnonzero(~receiver), np.flatnonzero(receiver)


def same(a: Candidates, b: Candidates) -> bool:
    return bool(
        a.shape == b.shape
        and np.array_equal(a.rows, b.rows)
        and np.array_equal(a.cols, b.cols)
        and np.array_equal(a.scores, b.scores)
    )


def dense_section(size: int, k: int, repeat: int, seed: int) -> bool:
    graph = synthetic_city(seed, n_providers=size, n_receivers=size)
    scorer = PairScorer(graph, *sides(graph))
    t_dense, want = best_of(repeat, lambda: top_k_dense(scorer.dense(memory_budget=2**33), k))
    t_ours, got = best_of(repeat, lambda: scorer.top_k(k))
    ok = same(got, want)
    n, m = scorer.shape
    print(f"dense baseline {n} × {m}, top-{k} both ways (best of {repeat}):")
    print(
        f"  top_k_dense(dense()) {t_dense:.2f} s   PairScorer.top_k {t_ours:.2f} s   "
        f"ratio {t_dense / t_ours:.1f}×; {len(got)} pairs, equal: {'yes' if ok else 'NO'}"
    )
    return ok


def _run_top_k(graph: RegionGraph, k: int, max_km: float | None) -> dict[str, Any]:
    """One timed run (in this process): time, CPU, peak RSS, the candidates, the phases.

    The timed run is ``PairScorer(...)`` plus ``top_k`` (the pruned algorithm, as
    ``PairScorer.top_k`` runs it at this size, called directly for its statistics).
    """
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cpu0, start = time.process_time(), time.perf_counter()
    scorer = PairScorer(graph, *sides(graph), max_km=max_km)
    built = time.perf_counter() - start
    stats: dict[str, float] = {}
    cand = _top_k_pruned(scorer, k, DEFAULT_MEMORY_BUDGET, False, stats)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "wall": wall, "cpu": cpu, "peak": peak, "base": base_rss, "cand": cand,
        "scorer": built, "stats": stats,
    }  # fmt: skip


def run_in_child(graph: RegionGraph, k: int, max_km: float | None) -> dict[str, Any]:
    """``_run_top_k`` in a forked process (fresh peak memory); in-process without fork."""
    if not hasattr(os, "fork"):
        return _run_top_k(graph, k, max_km)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        try:
            data = pickle.dumps(_run_top_k(graph, k, max_km), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # report any failure to the parent
            data = pickle.dumps({"error": repr(exc)})
        with os.fdopen(write, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = pickle.loads(data)
    if "error" in result:
        raise RuntimeError(f"top_k failed in the child process: {result['error']}")
    return result


def check_exact(graph: RegionGraph, cand: Candidates, k: int, max_km: float | None, n_check: int,
                seed: int) -> list[str]:  # fmt: skip
    """Exactness at scale: coverage, scores, and full rows and columns rescored in float64."""
    scorer = PairScorer(graph, *sides(graph), max_km=max_km)
    n, m = scorer.shape
    problems = []
    rescored = scorer.breakdown(cand.rows, cand.cols)["score"]
    if not np.array_equal(rescored, cand.scores):
        problems.append("candidate scores differ from breakdown()['score']")
    rng = np.random.default_rng(seed)
    for axis, size, other in (("row", n, m), ("column", m, n)):
        counts = np.bincount(cand.rows if axis == "row" else cand.cols, minlength=size)
        for t in rng.choice(size, size=min(n_check, size), replace=False).tolist():
            fixed = np.full(other, t)
            free = np.arange(other)
            full = scorer.scores(fixed, free) if axis == "row" else scorer.scores(free, fixed)
            finite = np.flatnonzero(np.isfinite(full))
            best = finite[np.lexsort((finite, -full[finite]))][:k]
            mine = cand.cols[cand.rows == t] if axis == "row" else cand.rows[cand.cols == t]
            if not set(best.tolist()) <= set(mine.tolist()):
                problems.append(f"{axis} {t}: its top-{k} is not among the candidates")
            if counts[t] < min(k, finite.size):
                problems.append(f"{axis} {t} has {counts[t]} candidates < {min(k, finite.size)}")
    return problems


def city_section(args: argparse.Namespace) -> bool:
    start = time.perf_counter()
    graph = synthetic_city(args.seed, n_providers=args.size, n_receivers=args.size)
    print(
        f"city: synthetic_city({args.seed}, n_providers={args.size}, n_receivers={args.size}) "
        f"built in {time.perf_counter() - start:.1f} s (not timed below)"
    )
    ok = True
    for max_km in (None, args.max_km):
        load = os.getloadavg()[0]
        runs = [run_in_child(graph, args.k, max_km) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall"])
        wall = best["wall"]
        cpu = min(r["cpu"] for r in runs)
        peak = max(r["peak"] for r in runs)
        grown = max(r["peak"] - r["base"] for r in runs)
        cand = runs[-1]["cand"]
        problems = check_exact(graph, cand, args.k, max_km, args.check, args.seed)
        ok &= not problems
        label = "no cut-off" if max_km is None else f"max_km {max_km:g}"
        print(
            f"  top-{args.k} both ways, {label}: {wall:.2f} s wall (CPU {cpu:.2f} s, all "
            f"threads), best of {args.repeat}, load average {load:.1f} before; peak memory "
            f"{peak / 2**30:.2f} GiB (ru_maxrss of a forked child: the graph and top_k), "
            f"+{grown / 2**30:.2f} GiB for top_k; {len(cand)} pairs; exact: "
            f"{'yes' if not problems else 'NO'}"
        )
        st = best["stats"]
        phases = ", ".join(
            f"{name} {st[f'time_{name}']:.2f}"
            for name in ("setup", "ties", "seed", "near", "thresholds", "far", "select")
            if f"time_{name}" in st
        )
        print(f"    of which PairScorer {best['scorer']:.2f} s; top_k phases (s): {phases}")
        counts = ("seed_pairs", "near_pairs", "near_scored", "far_groups", "far_hits", "rescored")
        print(
            "    "
            + ", ".join(f"{name} {int(st[name]):,}" for name in counts if name in st)
            + f"; near radius {st['rho']:.2f} km"
        )
        for problem in problems[:10]:
            print(f"    {problem}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes for CI (seconds)")
    parser.add_argument("--size", type=int, default=50_000, help="providers = receivers")
    parser.add_argument("--dense-size", type=int, default=4000, help="city of the baseline")
    parser.add_argument("--kernel-size", type=int, default=5000, help="complementarity n")
    parser.add_argument("-k", type=int, default=16)
    parser.add_argument("--max-km", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--check", type=int, default=100, help="rows and columns rescored")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.dense_size, args.kernel_size, args.check = 3000, 600, 800, 20
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = complementarity_section(args.kernel_size, 3, args.seed)
    ok &= dense_section(args.dense_size, args.k, max(1, args.repeat), args.seed)
    ok &= city_section(args)
    print("exactness checks:", "passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
