"""Benchmark ``staff_projects`` against the plain CP-SAT model of the projects list.

Instances: ``synthetic_district(seed, n_streets=--streets, n_townships=0)`` with the default
``synthetic_projects(graph, seed)`` (0-2 projects a community, 30% divisible, 2-5 units a
project). pbmatch: candidate (unit, project) pairs, cover cuts on the staffed projects, two
lexicographic CP-SAT solves (priority value, then distance; ``time_limit`` each). Peer: the
model as one would first write it with the CP-SAT Python API: an integer per (unit, project,
category) with an offer and a need, a Boolean per (unit, project) and per indivisible
project, the same rules and coefficients, and one solve of the combined objective
``W * priority value - distance`` (``W`` larger than any distance), 1 worker, seed 0, the same
time limit in total. Both sides print the priority value reached, its proven bound and the
gap, and the total distance of the contributing pairs; when both prove optimality the values
and distances must agree. Times are wall seconds on a shared machine; ratios are pbmatch /
peer.

Usage::

    python benchmarks/bench_projects.py            # 4 streets of ~80 units, 60 s limits
    python benchmarks/bench_projects.py --smoke    # 5 projects on ~35 units, for CI
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import numpy as np

from pbmatch.datasets import synthetic_district, synthetic_projects
from pbmatch.graph import RegionGraph
from pbmatch.model import Project
from pbmatch.problems.projects import DISTANCE_RESOLUTION_KM, staff_projects
from pbmatch.scoring.components import haversine_km
from pbmatch.verify import verify_projects


def peer(
    graph: RegionGraph, projects: list[dict[str, Any]], time_limit: float, default_max: int = 5
) -> dict[str, Any]:
    """The plain model, one combined solve: status, value, bound, gap, km, seconds."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    items = [Project(**p) for p in projects]
    cats = list(graph.categories)
    priority = np.array([p.priority for p in items], dtype=float)
    common = math.lcm(*(int(sum(p.needs.values())) for p in items if p.divisible))
    exact = bool(np.array_equal(np.rint(priority), priority)) and (
        common * (priority.sum() + 1) <= 2.0**30
    )  # the same steps as pbmatch: exact shares when priorities are whole
    if exact:
        scale = float(common)
    else:
        scale = 2.0 ** min(10, 30 - math.ceil(math.log2(priority.sum() + 1)))
    model = cp_model.CpModel()
    x: dict[tuple[int, int, int], Any] = {}
    z: dict[tuple[int, int], Any] = {}
    km: dict[tuple[int, int], float] = {}
    primary: list[Any] = []
    distance: list[Any] = []
    slack = 0.0
    for p, item in enumerate(items):
        owner = graph.index(item.owner)
        total = sum(int(q) for q in item.needs.values())
        y = None if item.divisible else model.new_bool_var(f"y{p}")
        per_unit = round(item.priority * scale / total)
        slack += (
            abs(per_unit * total - item.priority * scale)
            if item.divisible
            else abs(round(item.priority * scale) - item.priority * scale)
        )
        for u in range(len(graph)):
            if u == owner:
                continue
            useful = [c for c in item.needs if graph.offers[u, cats.index(c)] > 0]
            if not useful:
                continue
            z[u, p] = model.new_bool_var(f"z{u}_{p}")
            d = float(haversine_km(graph.lat[u], graph.lon[u], graph.lat[owner], graph.lon[owner]))
            km[u, p] = d
            distance.append(round(d / DISTANCE_RESOLUTION_KM) * z[u, p])
            for c in useful:
                j = cats.index(c)
                cap = int(min(graph.offers[u, j], item.needs[c]))
                x[u, p, j] = model.new_int_var(0, cap, f"x{u}_{p}_{j}")
                model.add(x[u, p, j] <= cap * z[u, p])
                if item.divisible:
                    primary.append(per_unit * x[u, p, j])
            model.add(sum(x[u, p, cats.index(c)] for c in useful) >= z[u, p])
            if y is not None:
                model.add_implication(z[u, p], y)
        limit_p = item.max_units or default_max
        model.add(sum(v for (_, pp), v in z.items() if pp == p) <= limit_p)
        for c, q in item.needs.items():
            got = [v for (_, pp, j), v in x.items() if pp == p and j == cats.index(c)]
            model.add(sum(got) <= int(q))
            if y is not None:
                model.add(sum(got) >= int(q) * y)
        if y is not None:
            primary.append(round(item.priority * scale) * y)
    for u in range(len(graph)):
        for j in range(len(cats)):
            given = [v for (uu, _, jj), v in x.items() if uu == u and jj == j]
            if len(given) > 1:
                model.add(sum(given) <= int(graph.offers[u, j]))
    span = sum(round(d / DISTANCE_RESOLUTION_KM) for d in km.values())
    weight = span + 1
    model.maximize(weight * sum(primary) - sum(distance))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = time_limit
    status = solver.status_name(solver.solve(model))
    out: dict[str, Any] = {"status": status.lower(), "value": math.nan, "bound": None}
    if status in ("OPTIMAL", "FEASIBLE"):
        value, used = 0.0, set()
        for p, item in enumerate(items):
            got = {
                c: sum(solver.value(v) for (_, pp, j), v in x.items() if pp == p and c == cats[j])
                for c in item.needs
            }
            if item.divisible:
                value += item.priority * sum(got.values()) / sum(item.needs.values())
            elif all(got[c] >= q for c, q in item.needs.items()):
                value += item.priority
        used = {k for k, v in z.items() if solver.value(v)}
        level = -(-int(solver.best_objective_bound) // weight)  # ceil(bound / W)
        bound = max(value, (level + slack) / scale)
        if status == "OPTIMAL" and exact:
            bound = value
        out.update(
            value=value,
            bound=bound,
            km=math.fsum(km[k] for k in used),
            gap=max(0.0, bound - value) / max(abs(bound), 1.0),
        )
    out["seconds"] = time.perf_counter() - started
    return out


def _num(value: float | None) -> str:
    return f"{'-':>8}" if value is None else f"{value:>8.3f}"


def _pct(gap: float | None) -> str:
    return f"{'-':>7}" if gap is None else f"{100 * gap:>6.2f}%"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--streets", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    seeds, limit = args.seeds, args.time_limit
    units, n_projects = (45, 87), None
    if args.smoke:
        seeds, limit, units, n_projects = 1, 20.0, (30, 40), 5
    failures = 0
    print(
        f"{'seed':>4} {'units':>5} {'proj':>4} | {'pbmatch s':>9} {'status':>8} {'value':>8} "
        f"{'bound':>8} {'gap':>7} {'km':>7} | {'peer s':>7} {'status':>8} {'value':>8} "
        f"{'bound':>8} {'gap':>7} {'km':>7} | {'ratio':>6}"
    )
    for seed in range(seeds):
        graph = synthetic_district(
            seed=seed, n_streets=args.streets, n_townships=0, units_per_street=units
        )
        projects = synthetic_projects(graph, seed=seed, n_projects=n_projects)
        start = time.perf_counter()
        # pbmatch's limit is per solve (two solves): half of the peer's total each.
        result = staff_projects(graph, projects, time_limit=limit / 2)
        seconds = time.perf_counter() - start
        problems = verify_projects(result)
        if problems or not result.success:
            print(f"FAILED: seed {seed}: {result.status} {problems}")
            failures += 1
        other = peer(graph, projects, limit)
        if result.status == "optimal" and other["status"] == "optimal":
            same_km = abs(other["km"] - result.total_km) <= DISTANCE_RESOLUTION_KM * (
                1 + len(result)
            )
            if not math.isclose(other["value"], result.objective) or not same_km:
                print(f"FAILED: seed {seed}: peer {other['value']} / {other['km']}")
                failures += 1
        if other["bound"] is not None and result.objective > other["bound"] + 1e-9:
            print(f"FAILED: seed {seed}: pbmatch {result.objective} above the peer's bound")
            failures += 1
        print(
            f"{seed:>4} {len(graph):>5} {len(projects):>4} | {seconds:>9.2f} {result.status:>8} "
            f"{result.objective:>8.3f} {_num(result.bound)} {_pct(result.gap)} "
            f"{result.total_km:>7.2f} | {other['seconds']:>7.2f} {other['status']:>8} "
            f"{other['value']:>8.3f} {_num(other['bound'])} {_pct(other.get('gap'))} "
            f"{other.get('km', math.nan):>7.2f} | {seconds / other['seconds']:>6.2f}",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
