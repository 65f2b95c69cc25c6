"""Benchmark ``pbmatch.stability.stable_match`` against the ``matching`` library's HospitalResident.

Stable many-to-one matching (hospitals/residents): ``n`` residents (rows), each ranking its
``L`` best of ``m`` hospitals (columns) by its own random score; each hospital ranks the
residents who ranked it by its own random score and takes up to ``ceil(n / m)`` of them.
Seeded. Three modes on every instance:

* ``residents``: residents propose (the resident-optimal stable matching);
* ``hospitals``: hospitals propose (the hospital-optimal one);
* ``common``: hospitals rank residents by the residents' own scores (one common score: the
  stable matching is unique, and pbmatch takes its greedy fast path).

The peer, in the same process, is ``matching.games.HospitalResident`` (``pip install
matching``; pure Python, recursive player copies, so the recursion limit is raised while it
runs): its game is built from preference dictionaries (``create_from_dictionaries``, timed as
*build*) and solved (``solve``, timed as *solve*). Building the dictionaries from the score
matrices is not timed. pbmatch is timed from the score matrices to the result, validation
included. The ratio is peer (build + solve) / pbmatch; the solve-only ratio is printed too.

Each run checks that pbmatch's matching has no blocking pair
(:func:`pbmatch.stability.blocking_pairs`), and that the peer's matching is the same one; the
run exits with status 1 otherwise. If ``matching`` cannot be imported, pbmatch runs alone.

Usage::

    python benchmarks/bench_stability.py            # full: 2000 x 200, lists of 10
    python benchmarks/bench_stability.py --smoke    # a few seconds, for CI
    python benchmarks/bench_stability.py --lists 0  # full preference lists (the peer: minutes)
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pbmatch.stability import blocking_pairs, stable_match

MODES = ("residents", "hospitals", "common")


@dataclass
class Instance:
    scores: np.ndarray  # residents' scores, -inf outside their lists
    hospital_scores: np.ndarray  # hospitals' scores, -inf outside the residents' lists
    capacity: int


def make_instance(n: int, m: int, lists: int, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    s = rng.random((n, m))
    h = rng.random((n, m))
    if 0 < lists < m:
        keep = np.zeros((n, m), dtype=bool)
        best = np.argpartition(-s, lists - 1, axis=1)[:, :lists]
        keep[np.arange(n)[:, None], best] = True
        s[~keep] = -np.inf
        h[~keep] = -np.inf
    return Instance(s, h, math.ceil(n / m))


@dataclass
class Run:
    seconds: float
    pairs: set[tuple[int, int]]
    objective: float
    note: str = ""
    solve_seconds: float = math.nan


def run_pbmatch(inst: Instance, mode: str) -> Run:
    right = None if mode == "common" else inst.hospital_scores
    proposing = "right" if mode == "hospitals" else "left"
    start = time.perf_counter()
    result = stable_match(
        inst.scores, right_capacity=inst.capacity, right_scores=right, proposing=proposing
    )
    seconds = time.perf_counter() - start
    extra = result.extra
    note = f"{result.method}, {extra['rounds']} rounds"
    if "proposals" in extra:
        note += f", {extra['proposals']} proposals ({extra['sequential']} one by one)"
    return Run(seconds, set(result.pairs), result.objective, note)


def peer_preferences(
    inst: Instance, mode: str
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Preference lists for the peer, best first, ties broken by the lower index (as pbmatch)."""
    s = inst.scores
    h = s if mode == "common" else inst.hospital_scores
    n, m = s.shape
    allowed = np.isfinite(s) & np.isfinite(h)
    residents = {}
    for i in range(n):
        cols = np.flatnonzero(allowed[i])
        residents[i] = cols[np.lexsort((cols, -s[i, cols]))].tolist()
    hospitals = {}
    for j in range(m):
        rows = np.flatnonzero(allowed[:, j])
        hospitals[j] = rows[np.lexsort((rows, -h[rows, j]))].tolist()
    return residents, hospitals


def run_peer(inst: Instance, mode: str) -> Run:
    from matching.games import HospitalResident

    residents, hospitals = peer_preferences(inst, mode)
    capacities = {j: inst.capacity for j in hospitals}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 1_000_000))  # deep copies of linked player objects
    try:
        start = time.perf_counter()
        game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
        built = time.perf_counter()
        matching = game.solve(optimal="hospital" if mode == "hospitals" else "resident")
        done = time.perf_counter()
    finally:
        sys.setrecursionlimit(limit)
    pairs = {(r.name, h.name) for h, matched in matching.items() for r in matched}
    objective = math.fsum(inst.scores[i, j] for i, j in pairs)
    return Run(done - start, pairs, objective, f"build {built - start:.2f} s", done - built)


def best_of(repeat: int, run: Callable[[], Run]) -> Run:
    return min((run() for _ in range(repeat)), key=lambda r: r.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for CI (seconds)")
    parser.add_argument("--residents", type=int, default=None, help="rows (2000; 200 smoke)")
    parser.add_argument("--hospitals", type=int, default=None, help="columns (200; 20 smoke)")
    parser.add_argument(
        "--lists", type=int, default=None, help="hospitals each resident ranks (10; 0 = all)"
    )
    parser.add_argument("--seeds", type=int, default=None, help="instances (2; 1 smoke)")
    parser.add_argument("--repeat", type=int, default=3, help="pbmatch runs, best taken")
    parser.add_argument("--no-peer", action="store_true", help="run pbmatch alone")
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES)
    )
    args = parser.parse_args(argv)
    n = args.residents or (200 if args.smoke else 2000)
    m = args.hospitals or (20 if args.smoke else 200)
    lists = args.lists if args.lists is not None else (5 if args.smoke else 10)
    seeds = args.seeds or (1 if args.smoke else 2)
    modes = [x.strip() for x in args.modes.split(",") if x.strip()]

    peer_ok = not args.no_peer
    if peer_ok:
        try:
            import matching  # noqa: F401
        except ImportError:
            print("The `matching` library is not installed (pip install matching): pbmatch alone.")
            peer_ok = False

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(
        f"stable many-to-one benchmark: {n} residents x {m} hospitals, "
        f"{'full lists' if not 0 < lists < m else f'lists of {lists}'}, capacity "
        f"{math.ceil(n / m)}, {seeds} seed(s); best of {args.repeat} pbmatch runs, 1 peer run; "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {load[0]}"
    )
    header = (
        f"{'seed':>4} {'mode':<10}{'pbmatch s':>10}{'peer s':>9}{'(solve)':>9}{'ratio':>8}"
        f"{'(solve)':>9}  {'pbmatch obj':>13}{'peer obj':>13}  same  notes"
    )
    print(header)
    print("-" * len(header))
    failures: list[str] = []
    ratios: dict[str, list[float]] = {}
    stable_match(np.ones((2, 2)), right_scores=np.ones((2, 2)))  # warm the imports
    for seed in range(seeds):
        inst = make_instance(n, m, lists, seed)
        for mode in modes:
            ours = best_of(args.repeat, lambda i=inst, md=mode: run_pbmatch(i, md))
            rows, cols = (np.array(x, dtype=np.intp) for x in zip(*sorted(ours.pairs), strict=True))
            right = None if mode == "common" else inst.hospital_scores
            blocking = blocking_pairs(
                inst.scores, rows, cols, right_capacity=inst.capacity, right_scores=right
            )[0].size
            if blocking:
                failures.append(f"seed {seed} {mode}: pbmatch has {blocking} blocking pairs")
            line = f"{seed:>4} {mode:<10}{ours.seconds:>10.3f}"
            if peer_ok:
                peer = run_peer(inst, mode)
                same = peer.pairs == ours.pairs
                if not same:
                    failures.append(
                        f"seed {seed} {mode}: the matchings differ in "
                        f"{len(peer.pairs ^ ours.pairs)} pairs"
                    )
                ratio = peer.seconds / ours.seconds
                solve_ratio = peer.solve_seconds / ours.seconds
                ratios.setdefault(mode, []).append(ratio)
                ratios.setdefault(f"{mode} (solve only)", []).append(solve_ratio)
                line += (
                    f"{peer.seconds:>9.2f}{peer.solve_seconds:>9.2f}{ratio:>7.1f}x"
                    f"{solve_ratio:>8.1f}x  {ours.objective:>13.4f}{peer.objective:>13.4f}  "
                    f"{'yes' if same else 'NO':<4}  {ours.note}; peer {peer.note}"
                )
            else:
                line += (
                    f"{'-':>9}{'-':>9}{'-':>8}{'-':>9}  {ours.objective:>13.4f}{'-':>13}  "
                    f"{'-':<4}  {ours.note}"
                )
            print(line, flush=True)
    print()
    for key, values in ratios.items():
        geo = math.exp(sum(math.log(r) for r in values) / len(values))
        print(
            f"{key:<22} peer / pbmatch: geometric mean {geo:.1f}x, min {min(values):.1f}x, "
            f"max {max(values):.1f}x over {len(values)} instance(s)"
        )
    if failures:
        print("\nFAILURES:\n  " + "\n  ".join(failures))
        return 1
    print(
        "\nEvery pbmatch matching is stable"
        + (" and the same as the peer's." if peer_ok else " (no peer run).")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
