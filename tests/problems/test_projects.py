"""Projects list: optimal against a scipy MILP of the same rules; verify; bad input.

The small instances (5 projects) are solved by the projects alone; the competing ones (8
projects on a street of 30-40 units, or needs doubled) go through the column generation,
the local search and the exact groups, and must still match the MILP exactly.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from pbmatch import InputError, RegionGraph
from pbmatch.datasets import synthetic_district, synthetic_projects
from pbmatch.model import Project
from pbmatch.problems.projects import DISTANCE_RESOLUTION_KM, _undominated, staff_projects
from pbmatch.verify import verify_projects


def km(graph: RegionGraph, a: int, b: int) -> float:
    lat1, lon1, lat2, lon2 = map(
        math.radians, (graph.lat[a], graph.lon[a], graph.lat[b], graph.lon[b])
    )
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def reference(
    graph: RegionGraph, projects: list[dict[str, Any]], default_max: int = 5
) -> tuple[float, float]:
    """(priority value, rounded distance of the contributing pairs) by two HiGHS MILPs."""
    cats = list(graph.categories)
    items = [Project(**p) for p in projects]
    pairs, xs = [], []  # pairs: (u, p); xs: (pair, c, cap)
    for p, proj in enumerate(items):
        owner = graph.index(proj.owner)
        for u in range(len(graph)):
            if u == owner:
                continue
            useful = [
                c for c, q in proj.needs.items() if graph.offers[u, cats.index(c)] > 0 and q > 0
            ]
            if useful:
                pairs.append((u, p))
                for c in useful:
                    cap = min(graph.offers[u, cats.index(c)], proj.needs[c])
                    xs.append((len(pairs) - 1, c, cap))
    nz, nx_, ny = len(pairs), len(xs), len(items)
    n = nz + nx_ + ny  # variables: z..., x..., y...
    rows: list[Any] = []
    lo: list[float] = []
    hi: list[float] = []

    def row() -> Any:
        r = lil_matrix((1, n))
        rows.append(r)
        return r

    for k, (pk, _c, cap) in enumerate(xs):  # x <= cap z
        r = row()
        r[0, nz + k] = 1
        r[0, pk] = -cap
        lo.append(-np.inf)
        hi.append(0)
    for pk in range(nz):  # a contributing unit gives something
        r = row()
        r[0, pk] = -1
        for k, (owner_pk, _c, _cap) in enumerate(xs):
            if owner_pk == pk:
                r[0, nz + k] = 1
        lo.append(0)
        hi.append(np.inf)
    for u in range(len(graph)):
        for c in cats:
            ks = [k for k, (pk, cc, _) in enumerate(xs) if cc == c and pairs[pk][0] == u]
            if ks:
                r = row()
                for k in ks:
                    r[0, nz + k] = 1
                lo.append(0)
                hi.append(graph.offers[u, cats.index(c)])
    for p, proj in enumerate(items):
        r = row()
        for pk, (_u, pp) in enumerate(pairs):
            if pp == p:
                r[0, pk] = 1
        lo.append(0)
        hi.append(proj.max_units or default_max)
        for c, q in proj.needs.items():
            ks = [k for k, (pk, cc, _) in enumerate(xs) if cc == c and pairs[pk][1] == p]
            r = row()
            for k in ks:
                r[0, nz + k] = 1
            if not proj.divisible:
                r[0, nz + nx_ + p] = -q  # sum x >= q y
                lo.append(0)
                hi.append(np.inf)
                r2 = row()
                for k in ks:
                    r2[0, nz + k] = 1
                lo.append(0)
                hi.append(q)
            else:
                lo.append(0)
                hi.append(q)
        if not proj.divisible:
            for pk, (_u, pp) in enumerate(pairs):
                if pp == p:  # z <= y
                    r = row()
                    r[0, pk] = 1
                    r[0, nz + nx_ + p] = -1
                    lo.append(-np.inf)
                    hi.append(0)
    a = np.vstack([r.toarray() for r in rows])
    value = np.zeros(n)
    for k, (pk, _c, _cap) in enumerate(xs):
        proj = items[pairs[pk][1]]
        if proj.divisible:
            value[nz + k] = proj.priority / sum(proj.needs.values())
    for p, proj in enumerate(items):
        if not proj.divisible:
            value[nz + nx_ + p] = proj.priority
    dist = np.zeros(n)
    for pk, (u, p) in enumerate(pairs):
        dist[pk] = round(km(graph, u, graph.index(items[p].owner)) / DISTANCE_RESOLUTION_KM)
    upper = np.ones(n)
    upper[nz : nz + nx_] = [cap for _, _, cap in xs]
    integrality = np.ones(n)
    cons = LinearConstraint(a, lo, hi)
    first = milp(-value, constraints=cons, integrality=integrality, bounds=Bounds(0, upper))
    best = -first.fun
    second = milp(
        dist,
        constraints=[cons, LinearConstraint(value[None, :], best - 1e-6, np.inf)],
        integrality=integrality,
        bounds=Bounds(0, upper),
    )
    return best, second.fun * DISTANCE_RESOLUTION_KM


def used_km(result: Any) -> float:
    g = result.graph
    owners = {p.id: g.index(p.owner) for p in result.projects}
    pairs = set(zip(result.project_ids.tolist(), result.unit_ids.tolist(), strict=True))
    return sum(
        round(km(g, g.index(u), owners[p]) / DISTANCE_RESOLUTION_KM) * DISTANCE_RESOLUTION_KM
        for p, u in pairs
    )


@pytest.mark.parametrize("seed", range(6))
def test_optimal_against_milp(seed: int) -> None:
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=0, units_per_street=(30, 40))
    projects = synthetic_projects(graph, seed=seed, n_projects=5, divisible_share=0.0)
    result = staff_projects(graph, projects)
    assert result.status == "optimal"
    assert verify_projects(result) == []
    value, distance = reference(graph, projects)
    assert result.objective == pytest.approx(value)
    assert result.bound == pytest.approx(value)
    assert used_km(result) == pytest.approx(distance, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_divisible_projects(seed: int) -> None:
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=0, units_per_street=(30, 40))
    projects = synthetic_projects(graph, seed=seed + 10, n_projects=5, divisible_share=0.6)
    result = staff_projects(graph, projects)
    assert result.status == "optimal" and result.resolution is None  # shares counted exactly
    assert verify_projects(result) == []
    value, distance = reference(graph, projects)
    assert result.objective == pytest.approx(value)
    assert result.bound == pytest.approx(value)
    assert used_km(result) == pytest.approx(distance, abs=1e-6)


def distance_bound(result: Any) -> float:
    """The proven lower bound on the distance (km), as the result and its message say."""
    found = re.search(r"bound ([0-9.]+) km$", result.message)
    assert found is not None, result.message
    assert result.distance_bound_km == pytest.approx(float(found.group(1)), abs=1e-4)
    return float(result.distance_bound_km)


@pytest.mark.parametrize(
    ("seed", "n_projects", "scale"),
    [(0, 8, 1), (2, 8, 1), (6, 8, 1), (9, 8, 1), (1, 6, 2), (2, 6, 2)],
)
def test_competing_projects_against_milp(seed: int, n_projects: int, scale: int) -> None:
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=0, units_per_street=(30, 40))
    projects = synthetic_projects(graph, seed=seed, n_projects=n_projects)
    for project in projects:
        project["needs"] = {c: q * scale for c, q in project["needs"].items()}
    result = staff_projects(graph, projects)
    assert "overdrawn" in result.message  # the projects compete for some offers
    assert result.status == "optimal"
    assert verify_projects(result) == []
    value, distance = reference(graph, projects)
    assert result.objective == pytest.approx(value)
    assert used_km(result) == pytest.approx(distance, abs=1e-6)
    assert distance_bound(result) <= distance + 1e-4  # the message rounds to 0.1 m
    again = staff_projects(graph, projects)
    assert again.contributions == result.contributions  # deterministic without a time limit


def test_time_limit_keeps_bounds() -> None:
    graph = synthetic_district(seed=3, n_streets=2, n_townships=0, units_per_street=(45, 50))
    projects = synthetic_projects(graph, seed=3, per_community=(1, 3))
    result = staff_projects(graph, projects, time_limit=3)
    assert result.status in ("optimal", "feasible")
    assert verify_projects(result) == []
    assert result.bound is not None and result.objective <= result.bound + 1e-9
    assert distance_bound(result) <= result.total_km + 1e-4


def test_dominance_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n, m, depth = int(rng.integers(1, 12)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        cap = rng.integers(0, 3, size=(n, m))
        d = rng.integers(0, 4, size=n)
        coef = rng.integers(0, 3, size=(n, m))
        keep = _undominated(cap, d, depth, coef)
        for a in range(n):
            dominators = sum(
                (d[b], b) < (d[a], a)
                and all(
                    cap[b, j] >= cap[a, j] and (coef[b, j] <= coef[a, j] or cap[a, j] == 0)
                    for j in range(m)
                )
                for b in range(n)
            )
            assert keep[a] == (dominators < depth)


def test_fractional_priorities_are_bounded() -> None:
    graph = synthetic_district(seed=4, n_streets=1, n_townships=0, units_per_street=(30, 40))
    projects = synthetic_projects(graph, seed=14, n_projects=5, divisible_share=0.6)
    for k, project in enumerate(projects):
        project["priority"] = 1.0 + 0.37 * k
    result = staff_projects(graph, projects)
    assert result.success and result.resolution is not None
    assert verify_projects(result) == []
    value, _ = reference(graph, projects)
    # The priority value is counted in steps of result.resolution; the bound stays proven.
    assert result.objective == pytest.approx(value, abs=len(projects) * result.resolution)
    assert result.bound is not None and result.bound >= value - 1e-9


def test_scarce_offers_and_max_units() -> None:
    units = [
        {"id": "c", "kind": "community", "region": "s", "lat": 30.0, "lon": 120.0},
        {"id": "u1", "kind": "school", "region": "s", "lat": 30.01, "lon": 120.0,
         "offers": {"venue": 2}},
        {"id": "u2", "kind": "school", "region": "s", "lat": 30.0, "lon": 120.01,
         "offers": {"venue": 2, "volunteers": 4}},
        {"id": "u3", "kind": "agency", "region": "s", "lat": 30.1, "lon": 120.0,
         "offers": {"volunteers": 4}},
    ]  # fmt: skip
    graph = RegionGraph(units, [{"id": "s", "level": "street"}])
    projects = [
        {"id": "big", "owner": "c", "needs": {"venue": 4, "volunteers": 4}, "priority": 3},
        {"id": "small", "owner": "c", "needs": {"venue": 2}, "priority": 2},
        {"id": "two", "owner": "c", "needs": {"venue": 2, "volunteers": 4}, "max_units": 1},
    ]
    result = staff_projects(graph, projects)
    assert verify_projects(result) == []
    # big needs all venues (u1 + u2) and volunteers: value 3 beats small + two (2 + 1).
    assert result.objective == 3
    assert result.staffed.tolist() == [True, False, False]
    assert {r["project"]: r["staffed"] for r in result.summary()}["big"]
    # Volunteers come from u2 (1.0 km), not u3 (11 km): u2 already contributes.
    assert set(result.unit_ids.tolist()) == {"u1", "u2"}


def test_outputs_and_determinism() -> None:
    pd = pytest.importorskip("pandas")
    graph = synthetic_district(seed=0, n_streets=1, n_townships=0)
    projects = synthetic_projects(graph, seed=0, n_projects=6)
    assert projects == synthetic_projects(graph, seed=0, n_projects=6)
    a, b = staff_projects(graph, projects), staff_projects(graph, projects)
    assert a.contributions == b.contributions
    frame = a.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["project", "unit", "category", "quantity", "distance_km"]
    assert "Projects" in a.report()
    assert a.raise_for_status() is a


@pytest.mark.parametrize(
    ("project", "match"),
    [
        ({"id": "p", "owner": "nobody", "needs": {"venue": 1}}, "owner"),
        ({"id": "p", "owner": "S1-C01", "needs": {"drones": 1}}, "drones"),
        ({"id": "p", "owner": "S1-C01", "needs": {}}, "empty"),
        ({"id": "p", "owner": "S1-C01", "needs": {"venue": 0}}, "quantity 0"),
        ({"id": "p", "owner": "S1-C01", "needs": {"venue": 1}, "max_units": 0}, "max_units"),
        ({"id": "p", "owner": "S1-C01", "needs": {"venue": 1}, "priority": -1}, "priority"),
    ],
)
def test_bad_projects(project: dict[str, Any], match: str) -> None:
    graph = synthetic_district(seed=0, n_streets=1, n_townships=0)
    with pytest.raises(InputError, match=match):
        staff_projects(graph, [project])


def test_bad_arguments() -> None:
    graph = synthetic_district(seed=0, n_streets=1, n_townships=0)
    ok = [{"id": "p", "owner": "S1-C01", "needs": {"venue": 1}}]
    with pytest.raises(InputError, match="duplicated"):
        staff_projects(graph, ok + ok)
    with pytest.raises(InputError, match="max_units"):
        staff_projects(graph, ok, max_units=0)
    with pytest.raises(InputError, match="max_km"):
        staff_projects(graph, ok, max_km=-2)
    with pytest.raises(InputError, match="projects"):
        staff_projects(graph, "p")
