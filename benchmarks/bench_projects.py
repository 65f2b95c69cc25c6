"""Benchmark ``staff_projects`` against the plain CP-SAT model of the projects list.

Instances: the full ``synthetic_district(seed)`` (five streets and a township, 400-500 units)
with all its default projects, ``synthetic_projects(graph, seed)`` (0-2 projects a community,
30% divisible, 2-5 units a project: 60-80 projects), optionally within ``--max-km``.

pbmatch: ``staff_projects(graph, projects, time_limit=T)`` end to end (stages: every project
alone, column generation with a Lagrangian bound, CP-SAT on the generated staffings, a local
search; see the docs page). Peer: the model as one would first write it with the CP-SAT
Python API, in the same process on the same instance: an integer per (unit, project,
category) with an offer and a need, a Boolean per (unit, project) and per indivisible
project, the same rules and coefficients, and one solve of the combined objective
``W * priority value - distance`` (``W`` larger than any distance), 1 worker, seed 0,
``max_time_in_seconds = T``.

Both sides print the priority value reached, its proven bound and the gap, and the total
distance of the contributing pairs; pbmatch also its proven lower bound on the distance (at
the best priority value). Checks (a failure exits 1): pbmatch's result passes
``verify_projects``; neither side's value exceeds the other's bound; when both prove
optimality the values and distances agree; a peer staffing of the proven best value is no
shorter than pbmatch's distance bound. Times are wall seconds on a shared machine; the ratio
is pbmatch / peer.

Usage::

    python benchmarks/bench_projects.py              # 4 full districts, 60 s limits
    python benchmarks/bench_projects.py --max-km 3   # the same within 3 km of the owner
    python benchmarks/bench_projects.py --smoke      # 8 projects on ~50 units, 3 s, for CI
"""

from __future__ import annotations

import argparse
import math
import re
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
    graph: RegionGraph,
    projects: list[dict[str, Any]],
    time_limit: float,
    max_km: float | None,
    default_max: int = 5,
) -> dict[str, Any]:
    """The plain model, one combined solve: status, value, bound, gap, km, seconds."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    items = [Project(**p) for p in projects]
    cats = {c: j for j, c in enumerate(graph.categories)}
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
    given: dict[tuple[int, int], list[Any]] = {}
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
        dist = haversine_km(graph.lat, graph.lon, graph.lat[owner], graph.lon[owner])
        received: dict[int, list[Any]] = {cats[c]: [] for c in item.needs}
        units = []
        for u in range(len(graph)):
            if u == owner or (max_km is not None and not dist[u] <= max_km):
                continue
            useful = [cats[c] for c in item.needs if graph.offers[u, cats[c]] > 0]
            if not useful:
                continue
            z[u, p] = model.new_bool_var(f"z{u}_{p}")
            units.append(z[u, p])
            km[u, p] = float(dist[u])
            distance.append(round(float(dist[u]) / DISTANCE_RESOLUTION_KM) * z[u, p])
            for j in useful:
                cap = int(min(graph.offers[u, j], item.needs[graph.categories[j]]))
                x[u, p, j] = model.new_int_var(0, cap, f"x{u}_{p}_{j}")
                model.add(x[u, p, j] <= cap * z[u, p])
                given.setdefault((u, j), []).append(x[u, p, j])
                received[j].append(x[u, p, j])
                if item.divisible:
                    primary.append(per_unit * x[u, p, j])
            model.add(sum(x[u, p, j] for j in useful) >= z[u, p])
            if y is not None:
                model.add_implication(z[u, p], y)
        model.add(sum(units) <= (item.max_units or default_max))
        for c, q in item.needs.items():
            model.add(sum(received[cats[c]]) <= int(q))
            if y is not None:
                model.add(sum(received[cats[c]]) >= int(q) * y)
        if y is not None:
            primary.append(round(item.priority * scale) * y)
    for (u, j), vars_ in given.items():
        if len(vars_) > 1:
            model.add(sum(vars_) <= int(graph.offers[u, j]))
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
        value = 0.0
        got_all: dict[tuple[int, str], int] = {}
        for (_, pp, j), var in x.items():
            key = (pp, graph.categories[j])
            got_all[key] = got_all.get(key, 0) + solver.value(var)
        for p, item in enumerate(items):
            got = {c: got_all.get((p, c), 0) for c in item.needs}
            if item.divisible:
                value += item.priority * sum(got.values()) / sum(item.needs.values())
            elif all(got[c] >= q for c, q in item.needs.items()):
                value += item.priority
        used = [k for k, v in z.items() if solver.value(v)]
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


def km_bound(result: Any) -> float:
    """pbmatch's proven lower bound on the distance, km (from its message)."""
    field = getattr(result, "distance_bound_km", None)
    if field is not None:
        return float(field)
    found = re.search(r"bound ([0-9.]+) km$", result.message)
    return float(found.group(1)) if found else math.nan


def _num(value: float | None, width: int = 8) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def _pct(gap: float | None) -> str:
    return f"{'-':>7}" if gap is None else f"{100 * gap:>6.2f}%"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--max-km", type=float, default=None)
    args = parser.parse_args()
    seeds, limit = args.seeds, args.time_limit
    if args.smoke:
        seeds, limit = 1, min(limit, 3.0)
    print(
        f"{'seed':>4} {'units':>5} {'proj':>4} | {'pbmatch s':>9} {'status':>8} {'value':>8} "
        f"{'bound':>8} {'gap':>7} {'km':>7} {'km bnd':>7} | {'peer s':>7} {'status':>10} "
        f"{'value':>8} {'bound':>8} {'gap':>7} {'km':>7} | {'ratio':>6}"
    )
    failures = 0
    for seed in range(seeds):
        if args.smoke:
            graph = synthetic_district(
                seed=seed, n_streets=1, n_townships=0, units_per_street=(30, 40)
            )
            projects = synthetic_projects(graph, seed=seed, n_projects=8)
        else:
            graph = synthetic_district(seed=seed)
            projects = synthetic_projects(graph, seed=seed)
        start = time.perf_counter()
        result = staff_projects(graph, projects, max_km=args.max_km, time_limit=limit)
        seconds = time.perf_counter() - start
        problems = verify_projects(result)
        if problems or not result.success:
            print(f"FAILED: seed {seed}: {result.status} {problems}")
            failures += 1
        other = peer(graph, projects, limit, args.max_km)
        bound_km = km_bound(result)
        if other["bound"] is not None and result.objective > other["bound"] + 1e-9:
            print(f"FAILED: seed {seed}: pbmatch {result.objective} above the peer's bound")
            failures += 1
        if other["bound"] is not None and result.bound is not None:
            if other["value"] > result.bound + 1e-9:
                print(f"FAILED: seed {seed}: peer {other['value']} above pbmatch's bound")
                failures += 1
            proven_value = result.gap == 0.0 and math.isclose(other["value"], result.objective)
            if proven_value and other["km"] < bound_km - 1e-3:
                print(f"FAILED: seed {seed}: peer {other['km']} km below pbmatch's km bound")
                failures += 1
        if result.status == "optimal" and other["status"] == "optimal":
            same_km = abs(other["km"] - result.total_km) <= DISTANCE_RESOLUTION_KM * (
                1 + len(result)
            )
            if not math.isclose(other["value"], result.objective) or not same_km:
                print(f"FAILED: seed {seed}: peer {other['value']} / {other['km']}")
                failures += 1
        print(
            f"{seed:>4} {len(graph):>5} {len(projects):>4} | {seconds:>9.2f} {result.status:>8} "
            f"{result.objective:>8.3f} {_num(result.bound)} {_pct(result.gap)} "
            f"{result.total_km:>7.2f} {bound_km:>7.2f} | {other['seconds']:>7.2f} "
            f"{other['status']:>10} {other['value']:>8.3f} {_num(other['bound'])} "
            f"{_pct(other.get('gap'))} {other.get('km', math.nan):>7.2f} | "
            f"{seconds / other['seconds']:>6.2f}",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
