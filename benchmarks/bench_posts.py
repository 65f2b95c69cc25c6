"""Benchmark ``assign_posts`` (double reporting, 双报到) against its peers on seeded instances.

Instances come from :func:`pbmatch.synthetic_city` (the communities) with
:func:`pbmatch.datasets.synthetic_members` and :func:`~pbmatch.datasets.synthetic_posts`:

* the target: 100,000 members x 20,000 posts in 1,000 communities, which must take <= 30 s;
* a city like Foshan: 95,800 members in 780 communities (15,600 posts);
* for networkx: 2,000 members x 400 posts in 20 communities (it cannot do a city).

Each instance is solved with ``max_posts_per_member`` 1 and 3. pbmatch is timed end to end as
a user calls it: from the list of record dicts to the result (pydantic validation included).
Peers, in the same process run (networkx in a child process with a time budget):

* **plain OR-Tools**: the same lexicographic model as one ``SimpleMinCostFlow`` network for the
  whole city (no split by community), built here with numpy from the dicts, with one global
  load weight ``W = F * (fit range) + 1``;
* **networkx** ``max_flow_min_cost`` on the same network (integer costs).

Every peer must reach the same seats, load and fit (lexicographic optimum, so these are unique);
a mismatch is printed loudly and the script exits 1. Times are the best of ``--repeat`` runs (the
machine is shared); ratios are pbmatch / peer (below 1: pbmatch faster).

Usage::

    python benchmarks/bench_posts.py            # full sizes (about two minutes)
    python benchmarks/bench_posts.py --smoke    # small, for CI (seconds)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

import pbmatch
from _harness import timed, timed_in_child
from pbmatch.datasets import synthetic_members, synthetic_posts
from pbmatch.problems.posts import assign_posts

Records = list[dict[str, Any]]
Objective = tuple[int, int, int]  # seats, load, fit
NX_BUDGET = 60.0
TARGET_S = 30.0
_failures: list[str] = []


def instance(members: int, posts: int, communities: int, seed: int) -> tuple[Records, Records]:
    graph = pbmatch.synthetic_city(seed=seed, n_providers=2 * communities, n_receivers=communities)
    return (
        synthetic_members(graph, seed=seed, n=members),
        synthetic_posts(graph, seed=seed, n=posts),
    )


def network(members: Records, posts: Records, cap: int) -> tuple[Any, ...]:
    """The whole-city network from the dicts: one source, one sink, global load weight."""
    vocab: dict[str, int] = {}
    bits = np.zeros(len(members), dtype=np.uint64)
    need = np.zeros(len(posts), dtype=np.uint64)
    for out, records in ((bits, members), (need, posts)):
        for i, r in enumerate(records):
            for s in r.get("skills", ()):
                out[i] |= np.uint64(1 << vocab.setdefault(s, len(vocab)))
    assert len(vocab) <= 64
    names = sorted({r["community"] for r in members} | {r["community"] for r in posts})
    code = {c: k for k, c in enumerate(names)}
    mc = np.array([code[r["community"]] for r in members])
    pc = np.array([code[r["community"]] for r in posts])
    head = np.array([r.get("headcount", 1) for r in posts], dtype=np.int64)
    order = np.argsort(mc, kind="stable")
    lo, hi = np.searchsorted(mc[order], pc, "left"), np.searchsorted(mc[order], pc, "right")
    count = hi - lo
    p = np.repeat(np.arange(len(posts)), count)
    m = order[np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - lo, count)]
    ok = ((bits[m] & need[p]) == need[p]) & (head[p] > 0)
    m, p = m[ok], p[ok]
    popcount = np.vectorize(lambda x: bin(int(x)).count("1"))
    fit = (popcount(bits[m]) - popcount(need[p])).astype(np.int64)
    n_m, n_p = len(members), len(posts)
    source, sink = n_m + n_p, n_m + n_p + 1
    seats = min(cap * n_m, int(head.sum()))
    w = seats * (int(fit.max(initial=0)) - int(fit.min(initial=0))) + 1
    slot_m = np.tile(np.arange(n_m), cap)
    slot_k = np.repeat(np.arange(cap), n_m)
    tails = np.concatenate([np.full(slot_m.size, source), m, n_m + np.arange(n_p)])
    heads = np.concatenate([slot_m, n_m + p, np.full(n_p, sink)])
    caps = np.concatenate([np.ones(slot_m.size + m.size, dtype=np.int64), head])
    costs = np.concatenate([w * slot_k, fit, np.zeros(n_p, dtype=np.int64)]).astype(np.int64)
    return tails, heads, caps, costs, source, sink, m, p, fit, slot_m.size


def objective_of(members: Records, m: np.ndarray, fit: np.ndarray) -> Objective:
    held = np.bincount(m, minlength=len(members))
    return int(m.size), int((held * (held - 1) // 2).sum()), int(fit.sum())


def plain_ortools(members: Records, posts: Records, cap: int) -> Objective:
    from ortools.graph.python import min_cost_flow

    tails, heads, caps, costs, source, sink, m, _p, fit, n_slots = network(members, posts, cap)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    solver.set_node_supply(int(source), int(caps[:n_slots].sum()))
    solver.set_node_supply(int(sink), -int(caps[n_slots + m.size :].sum()))
    if solver.solve_max_flow_with_min_cost() != solver.OPTIMAL:
        raise RuntimeError("OR-Tools min-cost flow failed")
    flows = solver.flows(np.arange(n_slots, n_slots + m.size, dtype=np.int32))
    chosen = flows > 0
    return objective_of(members, m[chosen], fit[chosen])


def networkx_peer(members: Records, posts: Records, cap: int) -> Objective:
    import networkx as nx

    tails, heads, caps, costs, source, sink, m, p, fit, n_slots = network(members, posts, cap)
    graph = nx.DiGraph()  # each parallel load arc source -> member goes through a slot node
    for k, (u, v, c, w) in enumerate(zip(tails, heads, caps, costs, strict=True)):
        if k < n_slots:
            graph.add_edge(int(u), ("slot", k), capacity=int(c), weight=int(w))
            graph.add_edge(("slot", k), int(v), capacity=int(c), weight=0)
        else:
            graph.add_edge(int(u), int(v), capacity=int(c), weight=int(w))
    flow = nx.max_flow_min_cost(graph, int(source), int(sink))
    n_m = len(members)
    chosen = np.array(
        [flow[int(mi)][n_m + int(pj)] > 0 for mi, pj in zip(m, p, strict=True)], dtype=bool
    )
    return objective_of(members, m[chosen], fit[chosen])


def networkx_within_budget(
    members: Records, posts: Records, cap: int
) -> tuple[float, Objective] | None:
    return timed_in_child(lambda: networkx_peer(members, posts, cap), NX_BUDGET)


def report(
    title: str, ours: tuple[float, Objective], peers: list[tuple[str, float, Objective]]
) -> None:
    t_ours, obj = ours
    print(f"\n{title}")
    print(f"  {'pbmatch.assign_posts':<36} {t_ours:8.2f} s   seats/load/fit {obj}")
    for name, t_peer, obj_peer in peers:
        flag = "" if obj_peer == obj else "   <-- OBJECTIVE MISMATCH"
        print(
            f"  {name:<36} {t_peer:8.2f} s   seats/load/fit {obj_peer}   "
            f"pbmatch/peer {t_ours / t_peer:5.2f}{flag}"
        )
        if flag:
            _failures.append(f"{title}: {name} {obj_peer} != pbmatch {obj}")


def bench(
    label: str,
    sizes: tuple[int, int, int],
    caps: tuple[int, ...],
    repeat: int,
    seed: int,
    *,
    plain: bool = True,
    networkx: bool = False,
    target: float | None = None,
) -> None:
    members, posts = instance(*sizes, seed)
    seats = sum(p["headcount"] for p in posts)
    for cap in caps:
        t, res = timed(
            lambda cap=cap: assign_posts(members, posts, max_posts_per_member=cap), repeat
        )
        assert res.status == "optimal"
        ours = (t, (res.seats, res.load_cost, res.fit_cost))
        title = (
            f"{label}: {sizes[0]:,} members x {sizes[1]:,} posts ({seats:,} seats) in "
            f"{sizes[2]:,} communities, max_posts_per_member={cap}"
        )
        peers: list[tuple[str, float, Objective]] = []
        if plain:
            t_p, obj_p = timed(lambda cap=cap: plain_ortools(members, posts, cap), repeat)
            peers.append(("OR-Tools, one network (plain model)", t_p, obj_p))
        if networkx:
            out = networkx_within_budget(members, posts, cap)
            if out is None:
                print(f"  (networkx over {NX_BUDGET:.0f} s: skipped)")
            else:
                peers.append(("networkx max_flow_min_cost", *out))
        report(title, ours, peers)
        if target is not None:
            verdict = "meets" if t <= target else "MISSES"
            print(f"  target <= {target:.0f} s: {verdict} ({t:.2f} s, best of {repeat})")
            if t > target:
                _failures.append(f"{title}: {t:.2f} s > target {target:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, a few seconds (CI)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import ortools

    assign_posts([{"id": "m", "community": "c"}], [{"id": "p", "community": "c"}])  # warm-up
    print(f"numpy {np.__version__}, ortools {ortools.__version__}, python {sys.version.split()[0]}")
    print(f"best of {args.repeat} runs each; the machine may be shared")
    if args.smoke:
        bench("smoke", (500, 100, 5), (1, 3), args.repeat, args.seed, networkx=True)
    else:
        bench("networkx size", (2_000, 400, 20), (1, 3), args.repeat, args.seed, networkx=True)
        bench("Foshan-like", (95_800, 15_600, 780), (1, 3), args.repeat, args.seed)
        bench("target", (100_000, 20_000, 1_000), (1, 3), args.repeat, args.seed, target=TARGET_S)
    if _failures:
        print("\nFAILURES:\n  " + "\n  ".join(_failures), file=sys.stderr)
        return 1
    print("\nall objectives agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
