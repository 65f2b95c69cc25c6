"""Three lists (allocate): optimal against networkx, scipy MILP and brute force; rules; reports."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import pbmatch
from pbmatch import InputError, RegionGraph
from pbmatch.problems.allocation import allocate
from pbmatch.verify import verify_allocation

MICRO = 10**6  # the references' integer grid: micro-km


def km(a: Any, b: Any) -> float:
    """Great-circle km, written out with math (independent of the library's haversine)."""
    if a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return math.nan
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def candidates(
    graph: RegionGraph, within: str | None, max_km: float | None
) -> list[tuple[str, str, str, int, float]]:
    """(provider, receiver, category, capacity, km) by plain loops over the records."""
    out = []
    for c in graph.categories:
        for a in graph.units:
            if a.offers.get(c, 0) <= 0:
                continue
            for b in graph.units:
                if a.id == b.id or b.needs.get(c, 0) <= 0:
                    continue
                if within is not None:
                    ra, rb = graph.enclosing(a.id, within), graph.enclosing(b.id, within)
                    if ra is None or ra != rb:
                        continue
                d = km(a, b)
                if max_km is not None and d > max_km:
                    continue
                out.append((a.id, b.id, c, int(min(a.offers[c], b.needs[c])), d))
    return out


def networkx_reference(
    graph: RegionGraph, within: str | None, max_km: float | None
) -> tuple[int, float]:
    """Max flow with min cost (micro-km integer costs), one networkx solve per category."""
    arcs = candidates(graph, within, max_km)
    met, cost = 0, 0
    for c in graph.categories:
        G = nx.DiGraph()
        for p, r, cat, cap, d in arcs:
            if cat != c:
                continue
            G.add_edge("S", ("p", p), capacity=int(graph.unit(p).offers[c]), weight=0)
            G.add_edge(("p", p), ("r", r), capacity=cap, weight=round(d * MICRO))
            G.add_edge(("r", r), "T", capacity=int(graph.unit(r).needs[c]), weight=0)
        if G.number_of_nodes() == 0:
            continue
        flow = nx.max_flow_min_cost(G, "S", "T")
        met += sum(flow["S"].values())
        cost += nx.cost_of_flow(G, flow)
    return met, cost / MICRO


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("within", "max_km"), [(None, None), ("street", 1.5), ("community", None)])
def test_allocate_matches_networkx(seed: int, within: str | None, max_km: float | None) -> None:
    graph = pbmatch.synthetic_district(
        seed=seed, n_streets=2, units_per_street=(20, 30), units_per_township=(10, 15)
    )
    result = allocate(graph, within=within, max_km=max_km)
    assert result.status == "optimal"
    assert verify_allocation(result) == []
    met, cost = networkx_reference(graph, within, max_km)
    assert result.need_met == met
    assert result.objective == met
    # Rounding each unit of flow's distance to 1e-6 km moves the reference by < 1e-6 per unit.
    assert result.quantity_km == pytest.approx(cost, abs=1e-6 * max(met, 1))


def milp_reference(
    graph: RegionGraph, weight: dict[tuple[str, str], float], max_km: float | None
) -> tuple[float, float]:
    """Lexicographic optimum by two integer programs (HiGHS): weighted need, then distance."""
    arcs = [a for a in candidates(graph, None, max_km) if weight[(a[1], a[2])] > 0]
    n = len(arcs)
    if n == 0:
        return 0.0, 0.0
    rows_p = {(p, c) for p, _, c, _, _ in arcs}
    rows_r = {(r, c) for _, r, c, _, _ in arcs}
    keys = sorted(rows_p) + sorted(rows_r)
    index = {("p", *k) if i < len(rows_p) else ("r", *k): i for i, k in enumerate(keys)}
    A = np.zeros((len(keys), n))
    ub = np.zeros(len(keys))
    for j, (p, r, c, _, _) in enumerate(arcs):
        A[index[("p", p, c)], j] = 1
        A[index[("r", r, c)], j] = 1
    for (kind, u, c), i in index.items():
        ub[i] = graph.unit(u).offers[c] if kind == "p" else graph.unit(u).needs[c]
    caps = np.array([a[3] for a in arcs], dtype=float)
    w = np.array([weight[(a[1], a[2])] for a in arcs])
    d = np.array([a[4] for a in arcs])
    base = [LinearConstraint(A, -np.inf, ub)]
    first = milp(-w, constraints=base, integrality=np.ones(n), bounds=Bounds(0, caps))
    assert first.status == 0
    best = -first.fun
    keep = LinearConstraint(w[None, :], best - 1e-7 * max(1.0, best), np.inf)
    second = milp(d, constraints=[*base, keep], integrality=np.ones(n), bounds=Bounds(0, caps))
    assert second.status == 0
    return float(best), float(second.fun)


@pytest.mark.parametrize("seed", range(5))
def test_weighted_allocation_matches_milp(seed: int) -> None:
    graph = pbmatch.synthetic_district(
        seed=seed, n_streets=1, n_townships=0, units_per_street=(15, 20),
        communities_per_street=(4, 6),
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    cats = list(graph.categories)
    category_weights = {c: float(rng.choice([1.0, 2.0, 3.5])) for c in cats}
    priority = {u.id: float(rng.choice([0.0, 1.0, 2.0, 5.0])) for u in graph.units if u.needs}
    result = allocate(graph, category_weights=category_weights, priority=priority, max_km=2.0)
    assert result.status == "optimal"
    assert verify_allocation(result) == []
    weight = {(u.id, c): category_weights[c] * priority.get(u.id, 1.0) for u in graph.units
              for c in cats}  # fmt: skip
    best, distance = milp_reference(graph, weight, 2.0)
    assert result.objective == pytest.approx(best, rel=1e-9)
    assert result.quantity_km == pytest.approx(distance, rel=1e-6, abs=1e-6)


@st.composite
def tiny_graphs(draw: Any) -> tuple[RegionGraph, dict[str, float]]:
    n = draw(st.integers(2, 4))
    cats = ["x", "y"][: draw(st.integers(1, 2))]
    units = []
    for i in range(n):
        offers = {c: draw(st.integers(0, 3)) for c in cats}
        needs = {c: draw(st.integers(0, 3)) for c in cats}
        units.append(
            {
                "id": f"u{i}",
                "kind": "community" if i % 2 else "agency",
                "region": "S",
                "lat": 30 + draw(st.integers(0, 20)) / 1000,
                "lon": 120 + draw(st.integers(0, 20)) / 1000,
                "offers": {c: q for c, q in offers.items() if q},
                "needs": {c: q for c, q in needs.items() if q},
            }
        )
    priority = {f"u{i}": float(draw(st.sampled_from([0, 1, 2, 3]))) for i in range(n)}
    regions = [{"id": "D", "level": "district"}, {"id": "S", "level": "street", "parent": "D"}]
    return RegionGraph.from_records(units=units, regions=regions, categories=cats), priority


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(tiny_graphs())
def test_allocate_brute_force(case: tuple[RegionGraph, dict[str, float]]) -> None:
    graph, priority = case
    arcs = [a for a in candidates(graph, None, None) if priority[a[1]] > 0]
    assume(math.prod(a[3] + 1 for a in arcs) <= 3000)
    result = allocate(graph, priority=priority)
    assert verify_allocation(result) == []
    best = (-1.0, 0.0)
    for flows in itertools.product(*(range(a[3] + 1) for a in arcs)):
        sent: dict[tuple[str, str], int] = {}
        got: dict[tuple[str, str], int] = {}
        for (p, r, c, _, _), f in zip(arcs, flows, strict=True):
            sent[(p, c)] = sent.get((p, c), 0) + f
            got[(r, c)] = got.get((r, c), 0) + f
        if any(v > graph.unit(p).offers[c] for (p, c), v in sent.items()):
            continue
        if any(v > graph.unit(r).needs[c] for (r, c), v in got.items()):
            continue
        value = sum(f * priority[a[1]] for a, f in zip(arcs, flows, strict=True))
        cost = sum(f * a[4] for a, f in zip(arcs, flows, strict=True))
        if value > best[0] + 1e-9 or (abs(value - best[0]) <= 1e-9 and cost < best[1]):
            best = (value, cost)
    assert result.objective == pytest.approx(best[0], abs=1e-9)
    assert result.quantity_km == pytest.approx(best[1], abs=1e-6)


def test_category_weights_change_the_objective_but_not_the_flows() -> None:
    graph = pbmatch.synthetic_district(seed=2, n_streets=2)
    plain = allocate(graph, within="street")
    weights = {c: 1.0 + i for i, c in enumerate(graph.categories)}
    weighted = allocate(graph, within="street", category_weights=weights)
    assert weighted.flows == plain.flows
    expected = sum(q * weights[c] for _, _, c, q in plain.flows)
    assert weighted.objective == pytest.approx(expected)


def test_priority_forms_agree_and_zero_weight_needs_are_left_out() -> None:
    graph = pbmatch.synthetic_district(seed=4, n_streets=1, n_townships=0)
    needy = [u.id for u in graph.units if u.needs][:3]
    by_unit = allocate(graph, priority={u: 0.0 for u in needy})
    array = np.ones((len(graph), len(graph.categories)))
    array[graph.indices(needy)] = 0
    by_array = allocate(graph, priority=array)
    pairs = {(u, c): 0.0 for u in needy for c in graph.unit(u).needs}
    by_pair = allocate(graph, priority=pairs)
    assert by_unit.flows == by_array.flows == by_pair.flows
    assert not set(by_unit.receiver_ids.tolist()) & set(needy)
    assert any("weight 0" in w for w in by_unit.warnings)


def test_rules_never_self_within_and_max_km() -> None:
    graph = pbmatch.synthetic_district(seed=1)
    result = allocate(graph, within="street", max_km=1.0)
    assert (result.provider_ids != result.receiver_ids).all()
    assert (result.distance_km <= 1.0).all()
    streets = {u: graph.street_of(u) for u in graph.ids.tolist()}
    assert all(streets[p] == streets[r] for p, r, _, _ in result.flows)
    assert verify_allocation(result) == []


def test_to_pandas_unmet_and_report() -> None:
    pytest.importorskip("pandas")
    graph = pbmatch.synthetic_district(seed=0)
    result = allocate(graph, within="street")
    frame = result.to_pandas()
    assert list(frame.columns) == ["provider", "receiver", "category", "quantity", "distance_km"]
    assert int(frame["quantity"].sum()) == result.need_met
    assert result.to_records()[0] == frame.iloc[0].to_dict()
    unmet = result.unmet()
    assert sum(row["unmet"] for row in unmet) == pytest.approx(graph.needs.sum() - result.need_met)
    assert unmet == sorted(unmet, key=lambda row: -row["unmet"])
    assert {row["region"] for row in unmet} <= set(graph.region_ids)
    text = result.report()
    assert "optimal" in text and "Unmet need by street and category" in text
    assert result.raise_for_status() is result


def small(**extra: Any) -> RegionGraph:
    regions = [
        {"id": "D", "level": "district"},
        {"id": "S1", "level": "street", "parent": "D"},
        {"id": "S2", "level": "street", "parent": "D"},
    ]
    units = [
        {"id": "a", "kind": "agency", "region": "S1", "lat": 30.0, "lon": 120.0,
         "offers": {"venue": 3}},
        {"id": "b", "kind": "school", "region": "S2", "lat": 30.0, "lon": 120.05,
         "offers": {"venue": 2}},
        {"id": "c", "kind": "community", "region": "S1", "lat": 30.0, "lon": 120.01,
         "needs": {"venue": 4}, **extra},
        {"id": "v", "kind": "village", "region": "S2", "lat": 30.0, "lon": 120.04,
         "needs": {"venue": 2}},
    ]  # fmt: skip
    return RegionGraph.from_records(units=units, regions=regions)


def test_small_example_by_hand() -> None:
    result = allocate(small())
    # 5 offered, 6 needed: all 5 flow; nearest first: a->c 3, b->v 2.
    assert result.need_met == 5
    assert sorted(result.flows) == [("a", "c", "venue", 3), ("b", "v", "venue", 2)]
    crossing = allocate(small(), within="street")
    assert sorted(crossing.flows) == sorted(result.flows)
    far = allocate(small(), max_km=0.5)
    assert far.need_met == 0 and far.status == "optimal" and len(far) == 0
    assert verify_allocation(far) == []


def test_units_without_location_are_warned_and_costed_last() -> None:
    graph = small(lat=None, lon=None)
    result = allocate(graph)
    assert result.status == "optimal" and result.need_met == 5
    assert any("no location" in w for w in result.warnings)
    assert np.isnan(result.distance_km[result.receiver_ids == "c"]).all()
    assert "no location" in result.report()
    assert verify_allocation(result) == []


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"within": "county"}, "within"),
        ({"max_km": 0}, "max_km"),
        ({"max_km": float("nan")}, "max_km"),
        ({"categories": "venue"}, "categories"),
        ({"categories": ["venue", "venue"]}, "twice"),
        ({"categories": ["nope"]}, "'nope'"),
        ({"category_weights": {"nope": 1}}, "'nope'"),
        ({"category_weights": {"venue": -1}}, "venue"),
        ({"category_weights": [1]}, "dict"),
        ({"priority": {"zz": 1}}, "'zz'"),
        ({"priority": {"c": float("inf")}}, "priority"),
        ({"priority": {("c", "nope"): 1}}, "'nope'"),
        ({"priority": {3: 1}}, "keys"),
        ({"priority": np.ones((2, 2))}, "shape"),
        ({"priority": -np.ones((4, 1))}, "'a'"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError, match=text):
        allocate(small(), **kwargs)


def test_fractional_quantity_is_an_input_error_naming_unit_field_category() -> None:
    graph = small(needs={"venue": 2.5})
    with pytest.raises(InputError, match=r"Unit 'c': field 'needs' has quantity 2.5.*'venue'"):
        allocate(graph)
    with pytest.raises(InputError, match="graph"):
        allocate("graph")  # type: ignore[arg-type]


def test_deterministic_and_no_precision_warning() -> None:
    graph = pbmatch.synthetic_district(seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = allocate(graph, within="street")
    b = allocate(graph, within="street")
    assert a.flows == b.flows and a.quantity_km == b.quantity_km
    assert a.resolution is not None and a.resolution < 1e-6


def test_verify_catches_broken_results() -> None:
    import dataclasses

    result = allocate(small())
    more = dataclasses.replace(result, quantities=result.quantities + 5)
    assert any("sends" in p or "gets" in p for p in verify_allocation(more))
    assert any("need_met" in p for p in verify_allocation(more))
    swapped = dataclasses.replace(result, receiver_ids=result.provider_ids)
    assert verify_allocation(swapped)
    failed = dataclasses.replace(result, status="error")
    assert verify_allocation(failed) == ["status 'error' but 2 rows reported"]
    with pytest.raises(pbmatch.SolverError):
        failed.raise_for_status()
