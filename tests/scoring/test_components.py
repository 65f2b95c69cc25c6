"""Score components against independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbmatch import InputError, Weights
from pbmatch.model import KINDS
from pbmatch.scoring import components as comp


def law_of_cosines_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    a, b, c, d = map(math.radians, (lat1, lon1, lat2, lon2))
    cos = math.sin(a) * math.sin(c) + math.cos(a) * math.cos(c) * math.cos(d - b)
    return comp.EARTH_RADIUS_KM * math.acos(min(1.0, max(-1.0, cos)))


def test_haversine_matches_law_of_cosines() -> None:
    rng = np.random.default_rng(0)
    lat = rng.uniform(-80, 80, (200, 2))
    lon = rng.uniform(-180, 180, (200, 2))
    got = comp.haversine_km(lat[:, 0], lon[:, 0], lat[:, 1], lon[:, 1])
    want = [
        law_of_cosines_km(*lat[i, :1], *lon[i, :1], *lat[i, 1:], *lon[i, 1:]) for i in range(200)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_haversine_broadcasts_to_a_block() -> None:
    lat, lon = np.array([30.0, 30.1, 30.2]), np.array([120.0, 120.1, 120.3])
    block = comp.haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert block.shape == (3, 3)
    np.testing.assert_allclose(np.diag(block), 0.0, atol=1e-9)
    np.testing.assert_allclose(block, block.T)


def test_distance_decay() -> None:
    np.testing.assert_allclose(comp.distance_decay(np.array([0.0, 1.0, 3.0]), 1.0), [1, 0.5, 0.125])
    assert comp.distance_decay(np.array([np.nan]), 1.0)[0] == 0.0


def test_same_region_ignores_missing() -> None:
    got = comp.same_region(np.array([1, -1, 2]), np.array([1, -1, 3]))
    assert got.tolist() == [True, False, False]


def test_tied_block_and_pairs_agree() -> None:
    n = 7
    ties = [(0, 3), (2, 5), (6, 1)]
    keys = np.sort([a * n + b for a, b in ties] + [b * n + a for a, b in ties])
    p, r = np.arange(n), np.arange(n)
    block = comp.tied(p[:, None], r[None, :], keys, n)
    want = np.zeros((n, n), dtype=bool)
    for a, b in ties:
        want[a, b] = want[b, a] = True
    np.testing.assert_array_equal(block, want)
    assert comp.tied(np.array([0, 0]), np.array([3, 4]), keys, n).tolist() == [True, False]
    assert not comp.tied(p, r, np.array([], dtype=np.int64), n).any()


def test_kind_table_defaults_and_overrides() -> None:
    table = np.asarray(Weights(kind_affinity={"agency": {"community": 0.25}}).kind_table())
    assert table.shape == (len(KINDS), len(KINDS))
    assert table[KINDS.index("agency"), KINDS.index("community")] == 0.25
    assert table[KINDS.index("agency"), KINDS.index("village")] == 0.5


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"distance": -1}, "distance"),
        ({"half_distance_km": 0}, "half_distance_km"),
        ({"category_weights": {"venue": -2}}, "'venue'"),
        ({"kind_affinity": {"bank": {}}}, "'bank'"),
        ({"need_met": float("nan")}, "need_met"),
    ],
)
def test_bad_weights(fields: dict[str, object], text: str) -> None:
    with pytest.raises(InputError, match=text):
        Weights(**fields)  # type: ignore[arg-type]
