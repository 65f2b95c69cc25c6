"""Benchmark ``allocate`` (three lists, 三张清单) against its peers on seeded instances.

Instances: :func:`pbmatch.synthetic_district` (about 490 units, 16 categories) and
:func:`pbmatch.synthetic_city` (5,000 co-building units and 1,000 communities), with flows kept
within a street or district, capped by distance, or free.

pbmatch is timed from the graph to the result. Peers, in the same process run (networkx in a
child process with a time budget), get the same candidate flows:

* **plain OR-Tools**: the whole instance as one ``SimpleMinCostFlow`` network (every category
  and region together) solved by ``solve_max_flow_with_min_cost``, costs in integer micro-km,
  arcs built here with numpy;
* **networkx** ``max_flow_min_cost``, one network per category, integer micro-km costs.

The need met must be equal and ``quantity_km`` equal up to the peers' micro-km grid
(``1e-6 * need met``); a mismatch is printed loudly and the script exits 1. Times are the best
of ``--repeat`` runs (the machine is shared); ratios are pbmatch / peer.

Usage::

    python benchmarks/bench_allocate.py            # full sizes (a few minutes)
    python benchmarks/bench_allocate.py --smoke    # small, for CI (seconds)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

import pbmatch
from _harness import timed, timed_in_child
from pbmatch.graph import RegionGraph
from pbmatch.problems.allocation import allocate
from pbmatch.scoring.components import haversine_km

Objective = tuple[int, float]  # need met, quantity x km
NX_BUDGET = 60.0
MICRO = 1e6
_failures: list[str] = []


def candidates(graph: RegionGraph, within: str | None, max_km: float | None) -> tuple[Any, ...]:
    """Every (category, provider, receiver) flow the rules allow, dense per category."""
    codes = graph.region_codes(within) if within else np.zeros(len(graph), dtype=np.int64)
    parts = []
    for c in range(len(graph.categories)):
        prov = np.flatnonzero((graph.offers[:, c] > 0) & (codes >= 0))
        rec = np.flatnonzero((graph.needs[:, c] > 0) & (codes >= 0))
        p, r = np.repeat(prov, rec.size), np.tile(rec, prov.size)
        km = haversine_km(graph.lat[p], graph.lon[p], graph.lat[r], graph.lon[r])
        keep = (p != r) & (codes[p] == codes[r])
        if max_km is not None:
            keep &= km <= max_km
        parts.append((np.full(keep.sum(), c), p[keep], r[keep], km[keep]))
    cat, p, r, km = (np.concatenate(x) for x in zip(*parts, strict=True))
    return cat, p, r, km


def plain_ortools(graph: RegionGraph, within: str | None, max_km: float | None) -> Objective:
    from ortools.graph.python import min_cost_flow

    cat, p, r, km = candidates(graph, within, max_km)
    n, n_cat = len(graph), len(graph.categories)
    # Nodes: provider (unit, category), receiver (unit, category), one source and one sink.
    prov_node, rec_node = cat * n + p, n * n_cat + cat * n + r
    source, sink = 2 * n * n_cat, 2 * n * n_cat + 1
    units = np.arange(n * n_cat)
    offer = graph.offers.T.ravel().astype(np.int64)
    need = graph.needs.T.ravel().astype(np.int64)
    tails = np.concatenate([np.full(units.size, source), prov_node, n * n_cat + units])
    heads = np.concatenate([units, rec_node, np.full(units.size, sink)])
    caps = np.concatenate([offer, np.minimum(offer[cat * n + p], need[cat * n + r]), need])
    costs = np.concatenate([np.zeros(units.size), np.rint(km * MICRO), np.zeros(units.size)])
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs.astype(np.int64)
    )
    solver.set_node_supply(source, int(offer.sum()))
    solver.set_node_supply(sink, -int(need.sum()))
    if solver.solve_max_flow_with_min_cost() != solver.OPTIMAL:
        raise RuntimeError("OR-Tools min-cost flow failed")
    flows = solver.flows(np.arange(units.size, units.size + p.size, dtype=np.int32))
    return int(flows.sum()), float((flows * km).sum())


def networkx_peer(graph: RegionGraph, within: str | None, max_km: float | None) -> Objective:
    import networkx as nx

    cat, p, r, km = candidates(graph, within, max_km)
    met, total = 0, 0.0
    for c in np.unique(cat).tolist():
        sel = np.flatnonzero(cat == c)
        G = nx.DiGraph()
        for i, j, d in zip(p[sel].tolist(), r[sel].tolist(), km[sel].tolist(), strict=True):
            offer, need = int(graph.offers[i, c]), int(graph.needs[j, c])
            G.add_edge("S", ("p", i), capacity=offer, weight=0)
            G.add_edge(("p", i), ("r", j), capacity=min(offer, need), weight=round(d * MICRO))
            G.add_edge(("r", j), "T", capacity=need, weight=0)
        flow = nx.max_flow_min_cost(G, "S", "T")
        for i, j, d in zip(p[sel].tolist(), r[sel].tolist(), km[sel].tolist(), strict=True):
            q = flow[("p", i)].get(("r", j), 0)
            met += q
            total += q * d
    return met, total


def networkx_within_budget(
    graph: RegionGraph, within: str | None, max_km: float | None
) -> tuple[float, Objective] | None:
    return timed_in_child(lambda: networkx_peer(graph, within, max_km), NX_BUDGET)


def bench(
    label: str,
    graph: RegionGraph,
    within: str | None,
    max_km: float | None,
    repeat: int,
    *,
    networkx: bool,
) -> None:
    t, res = timed(lambda: allocate(graph, within=within, max_km=max_km), repeat)
    assert res.status == "optimal"
    rules = f"within={within!r}, max_km={max_km!r}"
    print(f"\n{label}, {rules}: {len(res)} flows")
    print(
        f"  {'pbmatch.allocate':<36} {t:8.3f} s   need met {res.need_met}, "
        f"quantity_km {res.quantity_km:.6f}"
    )
    peers: list[tuple[str, float, Objective]] = []
    t_p, obj = timed(lambda: plain_ortools(graph, within, max_km), repeat)
    peers.append(("OR-Tools, one network (plain model)", t_p, obj))
    if networkx:
        out = networkx_within_budget(graph, within, max_km)
        if out is None:
            print(f"  (networkx over {NX_BUDGET:.0f} s: skipped)")
        else:
            peers.append(("networkx max_flow_min_cost", *out))
    for name, t_peer, (met, qkm) in peers:
        same = met == res.need_met and abs(qkm - res.quantity_km) <= 1e-6 * max(met, 1)
        flag = "" if same else "   <-- OBJECTIVE MISMATCH"
        print(
            f"  {name:<36} {t_peer:8.3f} s   need met {met}, quantity_km {qkm:.6f}   "
            f"pbmatch/peer {t / t_peer:5.2f}{flag}"
        )
        if not same:
            _failures.append(f"{label} {rules}: {name} ({met}, {qkm}) != pbmatch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, a few seconds (CI)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import ortools

    print(f"numpy {np.__version__}, ortools {ortools.__version__}, python {sys.version.split()[0]}")
    print(f"best of {args.repeat} runs each; the machine may be shared")
    if args.smoke:
        small = pbmatch.synthetic_district(seed=args.seed, n_streets=2)
        allocate(small)  # warm-up: load OR-Tools once
        bench("district, 2 streets", small, None, None, args.repeat, networkx=True)
        bench("district, 2 streets", small, "street", 1.5, args.repeat, networkx=True)
    else:
        district = pbmatch.synthetic_district(seed=args.seed)
        allocate(district)
        label = f"district ({len(district)} units)"
        bench(label, district, None, None, args.repeat, networkx=True)
        bench(label, district, "street", None, args.repeat, networkx=True)
        city = pbmatch.synthetic_city(seed=args.seed)
        label = f"city ({len(city)} units)"
        bench(label, city, "street", None, args.repeat, networkx=True)
        bench(label, city, "district", None, args.repeat, networkx=False)
        bench(label, city, None, 5.0, args.repeat, networkx=False)
        bench(label, city, None, None, 1, networkx=False)
    if _failures:
        print("\nOBJECTIVE MISMATCH:\n  " + "\n  ".join(_failures), file=sys.stderr)
        return 1
    print("\nall objectives agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
