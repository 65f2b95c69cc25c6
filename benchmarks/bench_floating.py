"""Benchmark ``host_floating_members`` (流动党员) against its peers on seeded instances.

Instances: :func:`pbmatch.datasets.synthetic_floating` on a synthetic district (networkx size)
and on :func:`pbmatch.synthetic_city` (a city's floating members), with a distance cap.

pbmatch is timed end to end as a user calls it, from the record dicts to the result. Peers, in
the same process run (networkx in a child process with a time budget), solve the same rules:

* **plain OR-Tools**: the dense member x host distance matrix in numpy, the pairs within
  ``max_km`` as one ``SimpleMinCostFlow`` network, costs in integer micro-km,
  ``solve_max_flow_with_min_cost`` (its time alone is printed too: pbmatch against the bare
  solve);
* **networkx** ``max_flow_min_cost`` on the same network.

Members hosted must be equal and the cost (km, plus ``industry_km`` for another industry)
equal up to the peers' micro-km grid (``1e-6`` a member); a mismatch is printed loudly and
the script exits 1. Times are the best of ``--repeat`` runs (the machine is shared); ratios
are pbmatch / peer.

Usage::

    python benchmarks/bench_floating.py            # 1,000 / 10,000 / 50,000 members (a few minutes)
    python benchmarks/bench_floating.py --smoke    # small, for CI (seconds)
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

import pbmatch
from _harness import timed, timed_in_child
from pbmatch.datasets import synthetic_floating
from pbmatch.problems.floating import host_floating_members
from pbmatch.scoring.components import haversine_km
from pbmatch.verify import verify_floating

Records = list[dict[str, Any]]
Objective = tuple[int, float]  # members hosted, cost km
NX_BUDGET = 60.0
INDUSTRY_KM = 5.0
PER_CONTACT = 5
_failures: list[str] = []


def network(members: Records, hosts: Records, max_km: float) -> tuple[Any, ...]:
    """Pairs within max_km (dense numpy scan), micro-km costs and each host's room."""
    m_lat = np.array([m["lat"] for m in members], dtype=float)
    m_lon = np.array([m["lon"] for m in members], dtype=float)
    h_lat = np.array([h["lat"] for h in hosts], dtype=float)
    h_lon = np.array([h["lon"] for h in hosts], dtype=float)
    n = len(members)
    room = np.array(
        [
            min(h.get("capacity") or n, PER_CONTACT * h["contacts"] if h.get("contacts") else n)
            for h in hosts
        ],
        dtype=np.int64,
    )
    km = haversine_km(m_lat[:, None], m_lon[:, None], h_lat[None, :], h_lon[None, :])
    pm, ph = np.nonzero((km <= max_km) & (room[None, :] > 0))
    m_ind = np.array([m.get("industry") or "" for m in members], dtype=str)
    h_ind = np.array([h.get("industry") or "" for h in hosts], dtype=str)
    same = (m_ind[pm] == h_ind[ph]) & (m_ind[pm] != "")
    cost = km[pm, ph] + np.where(same, 0.0, INDUSTRY_KM)
    return pm, ph, cost, room


_solve_seconds: list[float] = []  # the plain peer's solve_max_flow_with_min_cost calls


def plain_ortools(members: Records, hosts: Records, max_km: float) -> Objective:
    from ortools.graph.python import min_cost_flow

    pm, ph, cost, room = network(members, hosts, max_km)
    n_m, n_h = len(members), len(hosts)
    reach = np.bincount(pm, minlength=n_m) > 0
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        pm.astype(np.int32),
        (n_m + ph).astype(np.int32),
        np.ones(pm.size, dtype=np.int64),
        np.rint(cost * 1e6).astype(np.int64),
    )
    supplies = np.concatenate([reach.astype(np.int64), -room])
    solver.set_nodes_supplies(np.arange(n_m + n_h, dtype=np.int32), supplies)
    start = time.perf_counter()
    code = solver.solve_max_flow_with_min_cost()
    _solve_seconds.append(time.perf_counter() - start)
    if code != solver.OPTIMAL:
        raise RuntimeError("OR-Tools min-cost flow failed")
    flows = solver.flows(np.arange(pm.size, dtype=np.int32)) > 0
    return int(flows.sum()), float(cost[flows].sum())


def networkx_peer(members: Records, hosts: Records, max_km: float) -> Objective:
    import networkx as nx

    pm, ph, cost, room = network(members, hosts, max_km)
    graph = nx.DiGraph()
    for m in np.unique(pm).tolist():
        graph.add_edge("s", ("m", m), capacity=1, weight=0)
    for k, (m, h) in enumerate(zip(pm.tolist(), ph.tolist(), strict=True)):
        graph.add_edge(("m", m), ("h", h), capacity=1, weight=round(cost[k] * 1e6))
    for h in np.unique(ph).tolist():
        graph.add_edge(("h", h), "t", capacity=int(room[h]), weight=0)
    flow = nx.max_flow_min_cost(graph, "s", "t")
    used = np.array(
        [flow[("m", m)][("h", h)] > 0 for m, h in zip(pm.tolist(), ph.tolist(), strict=True)],
        dtype=bool,
    )
    return int(used.sum()), float(cost[used].sum())


def networkx_within_budget(
    members: Records, hosts: Records, max_km: float
) -> tuple[float, Objective] | None:
    return timed_in_child(lambda: networkx_peer(members, hosts, max_km), NX_BUDGET)


def bench(
    label: str,
    members: Records,
    hosts: Records,
    max_km: float,
    repeat: int,
    *,
    networkx: bool,
) -> None:
    t, res = timed(
        lambda: host_floating_members(
            members, hosts, max_km=max_km, industry_km=INDUSTRY_KM, per_contact=PER_CONTACT
        ),
        repeat,
    )
    problems = verify_floating(res)
    if res.status != "optimal" or problems:
        _failures.append(f"{label}: {res.status} {problems}")
    print(
        f"\n{label}: {len(members):,} members x {len(hosts):,} hosts, max_km={max_km:g}: "
        f"{len(res):,} hosted"
    )
    print(
        f"  {'pbmatch.host_floating_members':<36} {t:8.3f} s   hosted {int(res.objective)}, "
        f"cost_km {res.cost_km:.6f}"
    )
    peers: list[tuple[str, float, Objective]] = []
    _solve_seconds.clear()
    t_p, obj = timed(lambda: plain_ortools(members, hosts, max_km), repeat)
    peers.append(("OR-Tools, one network (plain model)", t_p, obj))
    solve_only = min(_solve_seconds)
    if networkx:
        out = networkx_within_budget(members, hosts, max_km)
        if out is None:
            print(f"  (networkx over {NX_BUDGET:.0f} s: skipped)")
        else:
            peers.append(("networkx max_flow_min_cost", *out))
    for name, t_peer, (hosted, cost) in peers:
        same = hosted == res.objective and abs(cost - res.cost_km) <= 1e-6 * max(hosted, 1)
        flag = "" if same else "   <-- OBJECTIVE MISMATCH"
        print(
            f"  {name:<36} {t_peer:8.3f} s   hosted {hosted}, cost_km {cost:.6f}   "
            f"pbmatch/peer {t / t_peer:5.2f}{flag}"
        )
        if not same:
            _failures.append(f"{label}: {name} ({hosted}, {cost}) != pbmatch")
        if name.startswith("OR-Tools"):
            print(
                f"  {'  of which the flow solve alone':<36} {solve_only:8.3f} s"
                f"{'':>37}pbmatch/solve {t / solve_only:5.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, a few seconds (CI)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from importlib.metadata import version

    print(f"numpy {np.__version__}, ortools {version('ortools')}, python {sys.version.split()[0]}")
    print(f"best of {args.repeat} runs each; the machine may be shared")
    district = pbmatch.synthetic_district(seed=args.seed)
    if args.smoke:
        members, hosts = synthetic_floating(district, seed=args.seed, n=100)
        bench("district", members, hosts, 1.0, args.repeat, networkx=True)
    else:
        members, hosts = synthetic_floating(district, seed=args.seed, n=1_000)
        bench("district", members, hosts, 1.5, args.repeat, networkx=True)
        city = pbmatch.synthetic_city(seed=args.seed)
        for n in (10_000, 50_000):
            members, hosts = synthetic_floating(city, seed=args.seed, n=n)
            bench("city", members, hosts, 2.0, args.repeat, networkx=False)
    if _failures:
        print("\nFAILURES:\n  " + "\n  ".join(_failures), file=sys.stderr)
        return 1
    print("\nall objectives agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
