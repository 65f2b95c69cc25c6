"""Joint branches: optimal against scipy MILPs over independently enumerated groups."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

import pbmatch.problems.branches as branches
from pbmatch import InputError, RegionGraph
from pbmatch.datasets import synthetic_district
from pbmatch.problems.branches import form_joint_branches, subset_dp
from pbmatch.verify import verify_branches

RES = branches.DISTANCE_RESOLUTION_KM


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
    graph: RegionGraph, max_units: int = 5, lo: int = 3, hi: int = 50, max_km: float | None = None
) -> tuple[int, float]:
    """(units covered, least total distance among those) by two HiGHS MILPs per street."""
    small = [
        i
        for i, u in enumerate(graph.units)
        if u.kind not in ("community", "village") and u.members < lo
    ]
    covered, total = 0, 0.0
    for street in sorted({graph.street_of(graph.ids[i]) for i in small}):
        units = [i for i in small if graph.street_of(graph.ids[i]) == street]
        groups, dist = [], []
        for size in range(2, max_units + 1):
            for group in itertools.combinations(units, size):
                members = sum(graph.units[i].members for i in group)
                pairs = [km(graph, a, b) for a, b in itertools.combinations(group, 2)]
                if lo <= members <= hi and (max_km is None or max(pairs) <= max_km):
                    groups.append(group)
                    dist.append(sum(round(d / RES) for d in pairs) * RES)
        if not groups:
            continue
        a = np.zeros((len(units), len(groups)))
        for k, group in enumerate(groups):
            a[[units.index(i) for i in group], k] = 1
        size_v = a.sum(axis=0)
        rows = LinearConstraint(a, 0, 1)
        ones = np.ones(len(groups))
        first = milp(-size_v, constraints=rows, integrality=ones, bounds=Bounds(0, 1))
        best = round(-first.fun)
        second = milp(
            np.array(dist),
            constraints=[rows, LinearConstraint(size_v[None, :], best, np.inf)],
            integrality=ones,
            bounds=Bounds(0, 1),
        )
        covered += best
        total += second.fun
    return covered, total


def rounded_km(result: branches.JointBranchesResult) -> float:
    g = result.graph
    index = {u: i for i, u in enumerate(g.ids.tolist())}
    return sum(
        round(km(g, index[a], index[b]) / RES) * RES
        for group in result.groups
        for a, b in itertools.combinations(group, 2)
    )


@pytest.mark.parametrize("seed", range(6))
def test_optimal_against_milp(seed: int) -> None:
    graph = synthetic_district(seed=seed, n_streets=2, n_townships=1)
    max_km = 1.5 if seed % 2 else None
    result = form_joint_branches(graph, max_units=4, max_km=max_km)
    assert result.status == "optimal"
    assert verify_branches(result) == []
    covered, total = reference(graph, max_units=4, max_km=max_km)
    assert result.objective == covered == result.bound
    assert rounded_km(result) == pytest.approx(total, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_set_packing_and_compact_paths(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=1)
    expected = reference(graph, max_units=3)
    monkeypatch.setattr(branches, "DP_MAX_UNITS", 0)
    packed = form_joint_branches(graph, max_units=3)
    compact = form_joint_branches(graph, max_units=3, max_groups=1)
    for result in (packed, compact):
        assert result.status == "optimal"
        assert verify_branches(result) == []
        assert result.objective == expected[0]
        assert rounded_km(result) == pytest.approx(expected[1], abs=1e-6)
    assert {s["method"] for s in compact.extra["streets"]} == {"compact"}


def test_subset_dp_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(1, 8))
        groups = [list(c) for size in (1, 2, 3) for c in itertools.combinations(range(n), size)]
        keep = rng.permutation(len(groups))[: int(rng.integers(1, 11))]
        groups = [groups[k] for k in sorted(keep.tolist())]
        padded = np.full((len(groups), 3), -1)
        for k, g in enumerate(groups):
            padded[k, : len(g)] = g
        weights = rng.integers(1, 20, len(groups))
        chosen, value = subset_dp(padded, weights, n)
        best = 0
        for r in range(len(groups) + 1):
            for pick in itertools.combinations(range(len(groups)), r):
                used = [u for k in pick for u in groups[k]]
                if len(used) == len(set(used)):
                    best = max(best, int(weights[list(pick)].sum()))
        assert value == best == int(weights[chosen].sum())


def tiny_graph() -> RegionGraph:
    def unit(ident: str, members: int, lat: float | None, tags: tuple[str, ...] = ()) -> dict:
        return {
            "id": ident,
            "kind": "private_enterprise",
            "region": ident[0],
            "members": members,
            "lat": lat,
            "lon": None if lat is None else 120.0,
            "tags": tags,
        }

    regions = [
        {"id": "d", "level": "district"},
        {"id": "a", "level": "street", "parent": "d"},
        {"id": "b", "level": "street", "parent": "d"},
        {"id": "c", "level": "street", "parent": "d"},
        {"id": "e", "level": "district"},
    ]
    units = [
        unit("a1", 1, 30.0, ("it",)),
        unit("a2", 2, 30.001, ("it",)),
        unit("a3", 1, 30.002),
        unit("a4", 2, 30.5),  # 55 km away
        unit("b1", 1, 30.0),
        unit("c1", 2, None),
        unit("c2", 2, 30.0),
        unit("e1", 1, 30.0),
        unit("a9", 7, 30.0),  # not small
    ]
    return RegionGraph(units, regions)


def test_reasons_for_uncovered_units() -> None:
    graph = tiny_graph()
    result = form_joint_branches(graph, max_km=5.0)
    assert verify_branches(result) == []
    assert result.groups == [("a1", "a2")] or result.groups == [("a1", "a2", "a3")]
    assert result.uncovered["a4"] == branches._TOO_FAR
    assert result.uncovered["b1"] == branches._ALONE
    assert result.uncovered["c1"] == branches._NO_LOCATION
    assert result.uncovered["e1"] == branches._NO_STREET
    assert "a9" not in result.uncovered
    # c2 is alone in its street once c1 (no location) is left out.
    assert result.uncovered["c2"] == branches._ALONE
    rows = result.to_records()
    assert {r["unit"] for r in rows if r["group"] is None} == set(result.uncovered)
    # With min_members 5, the near units a1, a2, a3 total 4 members: no group.
    none = form_joint_branches(graph, max_km=5.0, min_members=5)
    assert none.groups == []
    assert "no group of at most" in none.uncovered["a1"]
    assert verify_branches(none) == []


def test_outputs() -> None:
    pd = pytest.importorskip("pandas")
    result = form_joint_branches(synthetic_district(seed=0), max_km=1.0)
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["group", "unit", "street", "members", "industry", "reason"]
    assert frame["group"].notna().sum() == result.objective
    assert (frame.loc[frame["group"].isna(), "reason"] != "").all()
    assert "Joint branches" in result.report()
    assert result.raise_for_status() is result


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_units": 1}, "max_units"),
        ({"min_members": 0}, "min_members"),
        ({"min_members": 5, "max_members": 4}, "max_members"),
        ({"max_km": 0}, "max_km"),
        ({"max_units": 2.5}, "max_units"),
    ],
)
def test_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        form_joint_branches(synthetic_district(seed=0), **kwargs)  # type: ignore[arg-type]
