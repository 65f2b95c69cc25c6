"""PairScorer: dense blocks, pair lists and breakdowns against the plain definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pbmatch
from pbmatch import COMPONENTS, InputError, RegionGraph, Weights
from pbmatch.scoring import components as comp
from pbmatch.scoring.pairscore import PairScorer

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small_graph(seed: int, n: int = 12, located: float = 0.8, integral: bool = True) -> RegionGraph:
    """Units of every kind in two streets of one district, some without a location."""
    rng = np.random.default_rng(seed)
    regions = [
        {"id": "D", "level": "district"},
        {"id": "S1", "level": "street", "parent": "D"},
        {"id": "S2", "level": "street", "parent": "D"},
        {"id": "T", "level": "township"},  # a township outside any district
    ]
    units = []
    for t in range(n):
        q = (lambda: float(rng.integers(1, 5))) if integral else (lambda: float(rng.uniform(0, 4)))
        unit = {
            "id": f"u{t}",
            "kind": ["agency", "school", "community", "village"][t % 4],
            "region": ["S1", "S2", "T"][int(rng.integers(3))],
            "offers": {c: q() for c in ("a", "b", "c") if rng.random() < 0.5},
            "needs": {c: q() for c in ("a", "b", "c") if rng.random() < 0.5},
        }
        if rng.random() < located:
            unit |= {"lat": 30 + rng.uniform(0, 0.05), "lon": 120 + rng.uniform(0, 0.05)}
        units.append(unit)
    ties = [{"a": "u0", "b": "u2"}, {"a": "u5", "b": "u1"}]
    return RegionGraph.from_records(
        units=units, regions=regions, ties=ties, categories=["a", "b", "c"]
    )


def plain_score(g: RegionGraph, w: Weights, p: int, r: int, max_km: float | None) -> float:
    """The score of one pair from its definition, in plain Python (haversine distance)."""
    if p == r:
        return -math.inf
    cw = [w.category_weights.get(c, 1.0) for c in g.categories]
    need_r = sum(cw[c] * g.needs[r, c] for c in range(len(cw)))
    need_p = sum(cw[c] * g.needs[p, c] for c in range(len(cw)))
    met = sum(cw[c] * min(g.offers[p, c], g.needs[r, c]) for c in range(len(cw)))
    used = sum(cw[c] * min(g.needs[p, c], g.offers[r, c]) for c in range(len(cw)))
    km = float(comp.haversine_km(g.lat[p], g.lon[p], g.lat[r], g.lon[r]))
    if max_km is not None and km > max_km:
        return -math.inf
    street, district = g.region_codes("street"), g.region_codes("district")
    same_street = street[p] == street[r] and street[p] >= 0
    same_district = district[p] == district[r] and district[p] >= 0 and not same_street
    tied = any({int(a), int(b)} == {p, r} for a, b in zip(g.tie_a, g.tie_b, strict=True))
    table = w.kind_table()
    return (
        w.need_met * (met / need_r if need_r > 0 else 0.0)
        + w.offer_used * (used / need_p if need_p > 0 else 0.0)
        + w.distance * (0.0 if math.isnan(km) else 0.5 ** (km / w.half_distance_km))
        + w.kind * table[g.kinds[p]][g.kinds[r]]
        + w.same_street * same_street
        + w.same_district * same_district
        + w.continuity * tied
    )


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    integral=st.booleans(),
    max_km=st.sampled_from([None, 1.0, 3.0]),
    weights=st.sampled_from(
        [Weights(), Weights(category_weights={"a": 0.25, "b": 3.0}, distance=2.0, kind=0.0)]
    ),
)
def test_block_scores_and_breakdown_agree_with_the_definition(
    seed: int, integral: bool, max_km: float | None, weights: Weights
) -> None:
    g = small_graph(seed, integral=integral)
    units = np.arange(len(g))
    s = PairScorer(g, units[:9], units[4:], weights, max_km=max_km)
    dense = s.dense()
    n, m = s.shape
    rows, cols = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    pairs = s.scores(rows, cols).reshape(n, m)
    want = np.array(
        [
            [plain_score(g, weights, int(p), int(r), max_km) for r in s.receivers]
            for p in s.providers
        ]
    )
    assert (np.isinf(dense) == np.isinf(want)).all() and (np.isinf(pairs) == np.isinf(want)).all()
    finite = np.isfinite(want)
    np.testing.assert_allclose(dense[finite], want[finite], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pairs[finite], want[finite], rtol=1e-12, atol=1e-12)
    if integral:  # exact sums: every path gives the same bits
        np.testing.assert_array_equal(dense, pairs)
    parts = s.breakdown(rows, cols)
    np.testing.assert_array_equal(sum(parts[c] for c in COMPONENTS), parts["score"])
    np.testing.assert_array_equal(parts["score"][finite.ravel()], pairs[finite])
    for start, stop in ((0, 0), (2, 5), (8, 9)):
        block = s.block(start, stop)
        if integral:
            np.testing.assert_array_equal(block, dense[start:stop])
        else:  # the kernel's float sums may depend on the block split
            np.testing.assert_allclose(block, dense[start:stop], rtol=1e-13, atol=1e-13)


def test_distance_component_and_cut_off() -> None:
    g = small_graph(1, located=1.0)
    s = PairScorer(g, np.arange(6), np.arange(6, 12), max_km=2.0)
    b = s.breakdown(np.repeat(np.arange(6), 6), np.tile(np.arange(6), 6))
    km = comp.haversine_km(
        g.lat[:6, None], g.lon[:6, None], g.lat[None, 6:], g.lon[None, 6:]
    ).ravel()
    np.testing.assert_allclose(b["distance_km"], km, rtol=1e-9)
    np.testing.assert_allclose(b["distance"], 0.5 * 0.5 ** (km / 2.0), rtol=1e-12)
    dense = s.dense().ravel()
    assert (np.isinf(dense) == (km > 2.0)).all()


def test_unknown_locations_are_never_cut_off() -> None:
    g = small_graph(2, located=0.0)
    s = PairScorer(g, np.arange(6), np.arange(6, 12), max_km=0.001)
    b = s.breakdown(np.arange(6), np.arange(6))
    assert np.isnan(b["distance_km"]).all() and (b["distance"] == 0).all()
    assert np.isfinite(s.dense()).all()


def test_self_pairs_ties_and_regions() -> None:
    g = small_graph(3)
    units = np.arange(len(g))
    s = PairScorer(g, units, units)
    dense = s.dense()
    assert np.isneginf(np.diag(dense)).all()
    b = s.breakdown(np.array([0, 2, 5]), np.array([2, 0, 1]))
    assert b["continuity"].tolist() == [0.4, 0.4, 0.4]  # ties count both ways
    street = g.region_codes("street")
    b = s.breakdown(np.repeat(units, units.size), np.tile(units, units.size))
    same = (street[:, None] == street[None, :]) & (street[:, None] >= 0)
    assert ((b["same_street"] > 0) == same.ravel()).all()
    assert not ((b["same_street"] > 0) & (b["same_district"] > 0)).any()


def test_zero_categories_and_empty_sides() -> None:
    g = RegionGraph.from_records(
        units=[
            {"id": "a", "kind": "agency", "region": "S", "lat": 30.0, "lon": 120.0},
            {"id": "c", "kind": "community", "region": "S", "lat": 30.01, "lon": 120.0},
        ],
        regions=[{"id": "S", "level": "street"}],
    )
    assert g.categories == ()
    s = PairScorer(g, np.array([0]), np.array([1]))
    b = s.breakdown([0], [0])
    assert b["need_met"].tolist() == [0.0] and b["same_street"].tolist() == [0.3]
    assert s.dense()[0, 0] == b["score"][0]
    empty = PairScorer(g, np.array([], dtype=int), np.array([1]))
    assert empty.dense().shape == (0, 1) and empty.shape == (0, 1)
    assert len(empty.top_k(3)) == 0


def test_matches_the_district_pairing() -> None:
    result = pbmatch.pair(pbmatch.synthetic_district(seed=2))
    s = PairScorer(result.graph, result.providers, result.receivers, result.weights)
    np.testing.assert_array_equal(
        s.breakdown(result.match.rows, result.match.cols)["score"], result.breakdown["score"]
    )


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"providers": np.array([0, 99])}, "providers"),
        ({"receivers": np.array([[0]])}, "receivers"),
        ({"providers": np.array([0.5])}, "providers"),
        ({"max_km": 0}, "max_km"),
        ({"max_km": True}, "max_km"),
        ({"weights": {"distance": 1}}, "weights"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], text: str) -> None:
    g = small_graph(0)
    args: dict[str, object] = {"providers": np.arange(3), "receivers": np.arange(3, 6)}
    args |= kwargs
    with pytest.raises(InputError, match=text):
        PairScorer(g, **args)  # type: ignore[arg-type]


def test_bad_block_and_pair_arguments() -> None:
    s = PairScorer(small_graph(0), np.arange(3), np.arange(3, 6))
    with pytest.raises(InputError, match="start, stop"):
        s.block(2, 1)
    with pytest.raises(InputError, match="rows"):
        s.scores([0, 5], [0, 0])
    with pytest.raises(InputError, match="differ in length"):
        s.breakdown([0, 1], [0])


def test_arc_km_matches_haversine_and_is_elementwise() -> None:
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-80, 80, (300, 2)), rng.uniform(-180, 180, (300, 2))
    u = comp.unit_vectors(lat, lon)
    chord = np.linalg.norm(u[:, 0] - u[:, 1], axis=1)
    got = comp.arc_km(chord)
    want = comp.haversine_km(lat[:, 0], lon[:, 0], lat[:, 1], lon[:, 1])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    near = chord * 1e-3  # the series branch
    np.testing.assert_allclose(
        comp.arc_km(near), 2 * comp.EARTH_RADIUS_KM * np.arcsin(near / 2), rtol=1e-15
    )
    for t in range(0, 300, 37):  # one element alone gives the same bits as in the array
        assert comp.arc_km(near[t : t + 1])[0] == comp.arc_km(near)[t]
