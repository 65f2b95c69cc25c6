"""Floating members (host_floating_members): optimal against networkx and scipy MILP; rules."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import pbmatch
from pbmatch import InputError
from pbmatch.datasets import synthetic_floating
from pbmatch.problems.floating import host_floating_members
from pbmatch.verify import verify_floating

Record = dict[str, Any]
MICRO = 10**6


def km(a: Record, b: Record) -> float:
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b["lon"] - a["lon"]) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def room(h: Record, per_contact: int = 5) -> int:
    limits = [h.get("capacity"), None if h.get("contacts") is None else per_contact * h["contacts"]]
    return int(min(x for x in limits if x is not None))


def arcs(
    members: list[Record], hosts: list[Record], max_km: float | None, industry_km: float
) -> list[tuple[int, int, float]]:
    out = []
    for i, m in enumerate(members):
        for j, h in enumerate(hosts):
            d = km(m, h)
            if (max_km is None or d <= max_km) and room(h) > 0:
                same = m.get("industry") is not None and m.get("industry") == h.get("industry")
                out.append((i, j, d + (0.0 if same else industry_km)))
    return out


def networkx_reference(
    members: list[Record], hosts: list[Record], max_km: float | None, industry_km: float
) -> tuple[int, float]:
    G = nx.DiGraph()
    for i, j, c in arcs(members, hosts, max_km, industry_km):
        G.add_edge("S", ("m", i), capacity=1, weight=0)
        G.add_edge(("m", i), ("h", j), capacity=1, weight=round(c * MICRO))
        G.add_edge(("h", j), "T", capacity=room(hosts[j]), weight=0)
    if G.number_of_nodes() == 0:
        return 0, 0.0
    flow = nx.max_flow_min_cost(G, "S", "T")
    return sum(flow["S"].values()), nx.cost_of_flow(G, flow) / MICRO


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("max_km", "industry_km"), [(None, 5.0), (1.0, 0.5), (0.4, 0.0)])
def test_matches_networkx(seed: int, max_km: float | None, industry_km: float) -> None:
    graph = pbmatch.synthetic_district(seed=seed, n_streets=2, n_townships=0)
    members, hosts = synthetic_floating(graph, seed=seed, n=70)
    result = host_floating_members(members, hosts, max_km=max_km, industry_km=industry_km)
    assert result.status == "optimal"
    assert verify_floating(result) == []
    hosted, cost = networkx_reference(members, hosts, max_km, industry_km)
    assert len(result) == result.objective == hosted
    assert result.cost_km == pytest.approx(cost, abs=1e-6 * max(hosted, 1))


def scarce(seed: int) -> tuple[list[Record], list[Record]]:
    """Few, small hosts: the capacity limits bind and some members go unhosted."""
    rng = np.random.default_rng(seed)
    members = [
        {"id": f"m{i}", "lat": 30 + rng.uniform(0, 0.05), "lon": 120 + rng.uniform(0, 0.05),
         "industry": str(rng.choice(["it", "retail", "none"]))}
        for i in range(25)
    ]  # fmt: skip
    hosts = [
        {"id": f"h{j}", "lat": 30 + rng.uniform(0, 0.05), "lon": 120 + rng.uniform(0, 0.05),
         "industry": str(rng.choice(["it", "retail"])), "contacts": int(rng.integers(0, 2)),
         "capacity": int(rng.integers(1, 6))}
        for j in range(6)
    ]  # fmt: skip
    return members, hosts


@pytest.mark.parametrize("seed", range(4))
def test_lexicographic_optimum_matches_milp(seed: int) -> None:
    members, hosts = scarce(seed)
    result = host_floating_members(members, hosts, max_km=3.0, industry_km=2.0)
    assert verify_floating(result) == []
    candidates = arcs(members, hosts, 3.0, 2.0)
    n = len(candidates)
    rows, hi = [], []
    for i in range(len(members)):
        rows.append([1.0 if a[0] == i else 0.0 for a in candidates])
        hi.append(1)
    for j, h in enumerate(hosts):
        rows.append([1.0 if a[1] == j else 0.0 for a in candidates])
        hi.append(room(h))
    A = LinearConstraint(np.array(rows), -np.inf, hi)
    first = milp(-np.ones(n), constraints=[A], integrality=np.ones(n), bounds=Bounds(0, 1))
    keep = LinearConstraint(np.ones((1, n)), -first.fun, np.inf)
    cost = np.array([a[2] for a in candidates])
    second = milp(cost, constraints=[A, keep], integrality=np.ones(n), bounds=Bounds(0, 1))
    assert len(result) == round(-first.fun) < len(members)
    assert result.cost_km == pytest.approx(second.fun, rel=1e-9)


@st.composite
def tiny(draw: Any) -> tuple[list[Record], list[Record]]:
    coords = st.integers(0, 30).map(lambda k: k / 1000)
    members = [
        {"id": f"m{i}", "lat": 30 + draw(coords), "lon": 120 + draw(coords),
         "industry": draw(st.sampled_from(["a", "b", None]))}
        for i in range(draw(st.integers(1, 5)))
    ]  # fmt: skip
    hosts = [
        {"id": f"h{j}", "lat": 30 + draw(coords), "lon": 120 + draw(coords),
         "industry": draw(st.sampled_from(["a", "b", None])),
         "capacity": draw(st.integers(0, 3))}
        for j in range(draw(st.integers(1, 3)))
    ]  # fmt: skip
    return members, hosts


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(tiny())
def test_brute_force(case: tuple[list[Record], list[Record]]) -> None:
    members, hosts = case
    result = host_floating_members(members, hosts, max_km=2.5, industry_km=1.0)
    assert verify_floating(result) == []
    options = {i: [(j, c) for m, j, c in arcs(members, hosts, 2.5, 1.0) if m == i]
               for i in range(len(members))}  # fmt: skip
    best = (-1, 0.0)
    for choice in itertools.product(*([None, *opts] for opts in options.values())):
        taken = [c for c in choice if c is not None]
        load = [sum(1 for j, _ in taken if j == k) for k in range(len(hosts))]
        if any(n > room(h) for n, h in zip(load, hosts, strict=True)):
            continue
        cost = sum(c for _, c in taken)
        if len(taken) > best[0] or (len(taken) == best[0] and cost < best[1] - 1e-12):
            best = (len(taken), cost)
    assert len(result) == best[0]
    assert result.cost_km == pytest.approx(best[1], abs=1e-7)


def test_capacity_contacts_branches_and_report() -> None:
    members = [{"id": f"m{i}", "lat": 30.0, "lon": 120.0 + i / 10000} for i in range(14)]
    hosts = [
        {"id": "big", "lat": 30.0, "lon": 120.0, "contacts": 2},  # room 10
        {"id": "small", "lat": 30.0, "lon": 120.01, "capacity": 3, "contacts": 4},  # room 3
        {"id": "none", "lat": 30.0, "lon": 120.0, "capacity": 0},
    ]
    result = host_floating_members(members, hosts)
    assert len(result) == 13 and len(result.unhosted) == 1
    summary = {row["host"]: row for row in result.host_summary()}
    assert summary["big"]["members"] == 10 and summary["big"]["contacts_needed"] == 2
    assert summary["small"]["members"] == 3 and summary["small"]["branch"]
    assert result.branches == ["big", "small"]
    big = result.contact[result.host_ids == "big"]
    assert sorted(np.bincount(big).tolist()) == [0, 5, 5]
    text = result.report()
    assert "13 of 14 hosted" in text and "temporary branch possible): 2" in text
    assert any("no room" in w for w in result.warnings)
    assert verify_floating(result) == []


def test_same_industry_is_preferred_within_industry_km() -> None:
    members = [{"id": "m", "lat": 30.0, "lon": 120.0, "industry": "it"}]
    hosts = [
        {"id": "near", "lat": 30.0, "lon": 120.01, "industry": "retail", "capacity": 1},
        {"id": "it", "lat": 30.0, "lon": 120.03, "industry": "it", "capacity": 1},
    ]
    assert host_floating_members(members, hosts, industry_km=5).pairs == [("m", "it")]
    assert host_floating_members(members, hosts, industry_km=1).pairs == [("m", "near")]
    far = host_floating_members(members, hosts, max_km=0.5)
    assert far.pairs == [] and far.unhosted == ["m"] and "no host with room" in far.warnings[0]


def test_dataframes_and_columns() -> None:
    pd = pytest.importorskip("pandas")
    members, hosts = synthetic_floating(pbmatch.synthetic_district(seed=3), seed=3, n=60)
    a = host_floating_members(members, hosts, max_km=2)
    b = host_floating_members(pd.DataFrame(members), pd.DataFrame(hosts), max_km=2)
    assert a.pairs == b.pairs
    frame = a.to_pandas()
    assert list(frame.columns) == ["member", "host", "distance_km", "same_industry", "contact"]
    assert a.to_records()[0] == frame.iloc[0].to_dict()


@pytest.mark.parametrize(
    ("members", "hosts", "kwargs", "text"),
    [
        ([], [{"id": "h", "lat": 0, "lon": 0}], {}, "neither capacity nor contacts"),
        ([{"id": "m", "lat": 0}], [], {}, r"FloatingMember 'm': field 'lon' is missing"),
        ([{"id": "m", "lat": 91, "lon": 0}], [], {}, r"'lat' has value 91"),
        ([{"id": "m", "lat": 0, "lon": 0}] * 2, [], {}, "duplicated"),
        ([], [{"id": "h", "lat": 0, "lon": 0, "capacity": -1}], {}, "capacity"),
        ([], [], {"max_km": -1}, "max_km"),
        ([], [], {"industry_km": float("nan")}, "industry_km"),
        ([], [], {"per_contact": 0}, "per_contact"),
        ([], [], {"branch_min": 1.5}, "branch_min"),
    ],
)
def test_bad_input(members: Any, hosts: Any, kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError, match=text):
        host_floating_members(members, hosts, **kwargs)


def test_verify_catches_broken_results() -> None:
    members, hosts = synthetic_floating(pbmatch.synthetic_district(seed=2), seed=2, n=80)
    result = host_floating_members(members, hosts, max_km=1.5)
    assert verify_floating(result) == []
    nearer = dataclasses.replace(result, distance_km=result.distance_km * 0.5)
    assert any("distance_km" in p for p in verify_floating(nearer))
    one_contact = dataclasses.replace(result, contact=np.ones_like(result.contact))
    crowded = [h["id"] for h in hosts if sum(result.host_ids == h["id"]) > 5]
    if crowded:
        assert verify_floating(one_contact)
    assert verify_floating(dataclasses.replace(result, cost_km=0.0))


@pytest.mark.parametrize("max_km", [None, 0.3, 1.0, 2.5, 50.0])
@pytest.mark.parametrize(("lat0", "lon0"), [(30.0, 120.0), (69.9, 179.9)])
def test_candidate_band_matches_the_full_scan(
    max_km: float | None, lat0: float, lon0: float
) -> None:
    from pbmatch.problems import floating
    from pbmatch.scoring.components import haversine_km

    rng = np.random.default_rng(7)

    def lon(n: int) -> Any:  # across the antimeridian for lon0 = 179.9
        return (lon0 + rng.random(n) * 0.2 + 180.0) % 360.0 - 180.0

    for chunk in (floating._CHUNK, 37):  # one chunk, and many small ones
        m_lat, m_lon = lat0 + rng.random(300) * 0.2, lon(300)
        h_lat, h_lon = lat0 + rng.random(60) * 0.2, lon(60)
        h_lat[:5] = m_lat[:5]  # same latitude: the band's edge
        open_ = rng.random(60) < 0.8
        saved, floating._CHUNK = floating._CHUNK, chunk
        try:
            pm, ph, d = floating._candidates(m_lat, m_lon, h_lat, h_lon, open_, max_km)
        finally:
            floating._CHUNK = saved
        full = haversine_km(m_lat[:, None], m_lon[:, None], h_lat[None, :], h_lon[None, :])
        ok = open_[None, :] & ((full >= 0) if max_km is None else (full <= max_km))
        em, eh = np.nonzero(ok)
        assert pm.tolist() == em.tolist() and ph.tolist() == eh.tolist()
        np.testing.assert_allclose(d, full[em, eh], rtol=0, atol=1e-12)


def test_list_fast_path_gives_the_same_records_and_errors() -> None:
    from pbmatch.model import FloatingMember, Host, validate_items
    from pbmatch.problems.floating import _records

    members, hosts = synthetic_floating(pbmatch.synthetic_district(seed=0), seed=0, n=50)
    assert _records(members, FloatingMember, "members") == validate_items(
        members, FloatingMember, "members"
    )
    assert _records(hosts, Host, "hosts") == validate_items(hosts, Host, "hosts")
    bad = [dict(members[0]), dict(members[1], lat=95.0)]
    with pytest.raises(InputError) as fast:
        _records(bad, FloatingMember, "members")
    with pytest.raises(InputError) as slow:
        validate_items(bad, FloatingMember, "members")
    assert str(fast.value) == str(slow.value)
    twice = [members[0], dict(members[0])]
    with pytest.raises(InputError, match="duplicated"):
        _records(twice, FloatingMember, "members")
