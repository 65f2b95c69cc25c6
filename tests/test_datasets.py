"""Tests of the synthetic generators (pbmatch.datasets)."""

from __future__ import annotations

import math
from typing import Any

import networkx as nx
import numpy as np
import pytest

from pbmatch.datasets import (
    CATEGORIES,
    CATEGORY_GROUPS,
    CATEGORY_NAMES_ZH,
    GROUP_NAMES_ZH,
    INDUSTRIES,
    PROVIDER_KIND_SHARES,
    synthetic_city,
    synthetic_district,
)
from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS, RECEIVER_KINDS

RECEIVERS = sorted(RECEIVER_KINDS)


@pytest.fixture(scope="module")
def district() -> RegionGraph:
    return synthetic_district()


@pytest.fixture(scope="module")
def city() -> RegionGraph:
    return synthetic_city(n_providers=2000, n_receivers=400, n_districts=4, n_categories=20)


def is_receiver(g: RegionGraph) -> np.ndarray:
    return np.isin(g.kind_names, RECEIVERS)


def arrays(g: RegionGraph) -> dict[str, Any]:
    return {
        "ids": g.ids,
        "kinds": g.kinds,
        "lat": g.lat,
        "lon": g.lon,
        "members": g.members,
        "max_partners": g.max_partners,
        "min_partners": g.min_partners,
        "offers": g.offers,
        "needs": g.needs,
        "unit_region": g.unit_region,
        "region_parent": g.region_parent,
        "tie_a": g.tie_a,
        "tie_b": g.tie_b,
        "tie_since": g.tie_since,
    }


def km_xy(g: RegionGraph) -> tuple[np.ndarray, np.ndarray]:
    lat0 = math.radians(float(np.mean(g.lat)))
    return g.lon * 111.320 * math.cos(lat0), g.lat * 110.574


def street_feasible(g: RegionGraph) -> None:
    """Provider capacity covers the receivers' minimums, street by street and in total."""
    recv = is_receiver(g)
    street = g.region_codes("street")
    assert (street >= 0).all()
    n = len(g.region_ids)
    capacity = np.bincount(street[~recv], weights=g.max_partners[~recv], minlength=n)
    need = np.bincount(street[recv], weights=g.min_partners[recv], minlength=n)
    assert (capacity >= need).all()
    assert capacity.sum() >= need.sum()


# -- module constants ---------------------------------------------------------------------------
def test_constants_are_consistent() -> None:
    assert len(CATEGORY_NAMES_ZH) == 16
    assert tuple(CATEGORY_NAMES_ZH) == CATEGORIES
    assert set(CATEGORY_GROUPS) == set(CATEGORIES)
    assert set(CATEGORY_GROUPS.values()) == set(GROUP_NAMES_ZH)
    assert all(c.isidentifier() and c == c.lower() for c in CATEGORIES)
    assert set(PROVIDER_KIND_SHARES) == set(KINDS) - RECEIVER_KINDS
    assert math.isclose(sum(PROVIDER_KIND_SHARES.values()), 1.0)
    assert max(PROVIDER_KIND_SHARES, key=PROVIDER_KIND_SHARES.__getitem__) == "private_enterprise"
    assert min(PROVIDER_KIND_SHARES, key=PROVIDER_KIND_SHARES.__getitem__) == "military"


# -- determinism --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [synthetic_district, synthetic_city])
def test_same_seed_same_graph(make: Any) -> None:
    kwargs = {} if make is synthetic_district else {"n_providers": 300, "n_receivers": 80}
    a, b = make(seed=5, **kwargs), make(seed=5, **kwargs)
    for name, value in arrays(a).items():
        np.testing.assert_array_equal(value, arrays(b)[name], err_msg=name)
    assert a.units == b.units
    assert a.regions == b.regions
    assert a.ties == b.ties
    assert a.categories == b.categories


@pytest.mark.parametrize("make", [synthetic_district, synthetic_city])
def test_different_seed_different_graph(make: Any) -> None:
    kwargs = {} if make is synthetic_district else {"n_providers": 300, "n_receivers": 80}
    a, b = make(seed=1, **kwargs), make(seed=2, **kwargs)
    assert not np.array_equal(a.lat, b.lat)
    assert a.units != b.units


def test_default_seed_is_zero(district: RegionGraph) -> None:
    assert synthetic_district(seed=0).units == district.units


# -- the default district -----------------------------------------------------------------------
def test_default_district_size_and_kinds(district: RegionGraph) -> None:
    assert 200 <= len(district) <= 800
    assert set(district.kind_names) == set(KINDS)
    assert district.categories == CATEGORIES
    levels = {r.level for r in district.regions}
    assert levels == {"district", "street", "township", "community", "village", "park", "building"}
    recv = is_receiver(district)
    assert 40 <= recv.sum() <= 100
    # Kind shares of the providers follow PROVIDER_KIND_SHARES roughly.
    providers = district.kind_names[~recv]
    for kind, share in PROVIDER_KIND_SHARES.items():
        assert abs(np.mean(providers == kind) - share) < 0.09, kind


def test_region_tree_and_ids(district: RegionGraph) -> None:
    by_id = {r.id: r for r in district.regions}
    (root,) = [r for r in district.regions if r.parent is None]
    assert root.id == "D1" and root.name.endswith("区")
    for region in district.regions:
        if region.level in ("street", "township"):
            assert region.parent == "D1"
            assert region.name.endswith("街道" if region.level == "street" else "镇")
        elif region.level != "district":
            assert by_id[region.parent].level in ("street", "township")
            assert region.id.startswith(f"{region.parent}-")
    names = {"community": "社区", "village": "村"}
    for unit in district.units:
        if unit.kind in RECEIVER_KINDS:
            assert unit.region == unit.id
            assert by_id[unit.id].level == unit.kind
            assert unit.name.endswith(names[unit.kind])
        else:
            assert by_id[unit.region].level in ("community", "village", "park", "building")
            assert unit.id.startswith(district.street_of(unit.id) + "-U")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in unit.name)
    # Community names do not repeat within a street.
    street = district.region_codes("street")
    recv = is_receiver(district)
    for s in np.unique(street):
        names_here = [district.units[i].name for i in np.flatnonzero(recv & (street == s))]
        assert len(set(names_here)) == len(names_here)


def test_coordinates_valid_and_clustered_by_street(district: RegionGraph) -> None:
    assert np.isfinite(district.lat).all() and np.isfinite(district.lon).all()
    assert (np.abs(district.lat - 30.27) < 0.2).all() and (
        np.abs(district.lon - 120.15) < 0.2
    ).all()
    x, y = km_xy(district)
    street = district.region_codes("street")
    codes = np.unique(street)
    cx = np.array([x[street == s].mean() for s in codes])
    cy = np.array([y[street == s].mean() for s in codes])
    own = np.searchsorted(codes, street)
    dist = np.hypot(x[:, None] - cx[None, :], y[:, None] - cy[None, :])
    to_own = dist[np.arange(len(x)), own]
    others = np.where(np.arange(len(codes))[None, :] == own[:, None], np.nan, dist)
    assert to_own.mean() < np.nanmean(others, axis=1).mean() / 2
    assert np.mean(dist.argmin(axis=1) == own) > 0.95
    urban = np.array([district.regions[s].level == "street" for s in codes])[own]
    assert to_own[urban].max() < 1.6  # units within ~1-1.5 km of their street centre
    assert to_own[~urban].max() < 4.0  # townships are wider


def test_needs_and_offers(district: RegionGraph) -> None:
    g = district
    recv = is_receiver(g)
    for matrix in (g.offers, g.needs):
        assert (matrix >= 0).all()
        np.testing.assert_array_equal(matrix, np.round(matrix))
    assert g.needs[recv].sum() > 0.75 * g.needs.sum()  # needs mostly from communities
    assert g.offers[~recv].sum() > 0.9 * g.offers.sum()  # offers mostly from providers
    n_needs = (g.needs[recv] > 0).sum(axis=1)
    assert n_needs.min() >= 4 and n_needs.max() <= 8
    n_offers = (g.offers[~recv] > 0).sum(axis=1)
    assert n_offers.min() >= 2 and n_offers.max() <= 5
    assert g.needs.max() <= 10 and g.offers.max() <= 10
    assert 0 < (g.needs[~recv].sum(axis=1) > 0).mean() < 0.4  # a few providers need things
    # Kind profiles: hospitals offer medical help, schools education.
    col = {c: j for j, c in enumerate(g.categories)}
    hospital = g.kind_names == "hospital"
    assert (
        g.offers[hospital, col["medical"]].mean()
        > 2 * g.offers[~hospital & ~recv, col["medical"]].mean()
    )
    school = g.kind_names == "school"
    assert (
        g.offers[school, col["education"]].mean()
        > 2 * g.offers[~school & ~recv, col["education"]].mean()
    )


def test_members_limits_and_tags(district: RegionGraph) -> None:
    g = district
    recv = is_receiver(g)
    assert g.members[~recv].min() >= 1 and g.members[~recv].max() <= 200
    assert g.members[recv].min() >= 20 and g.members[recv].max() <= 300
    firms = g.kind_names == "private_enterprise"
    assert 0.05 < np.mean(g.members[firms] < 3) < 0.5  # small firms: joint-branch candidates
    assert g.max_partners[~recv].min() >= 1 and g.max_partners[~recv].max() <= 3
    assert (g.max_partners[firms & (g.members < 10)] == 1).all()
    assert (g.min_partners[~recv] == 0).all()
    assert (g.min_partners[recv] == 1).all()
    assert (g.max_partners[recv] >= g.min_partners[recv]).all()
    assert g.max_partners[recv].max() <= 26
    for unit in g.units:
        if unit.kind in ("private_enterprise", "soe"):
            assert len(unit.tags) == 1 and unit.tags[0] in INDUSTRIES
        else:
            assert unit.tags == ()


def test_firms_cluster_in_parks_and_buildings(district: RegionGraph) -> None:
    level = np.array([district.regions[r].level for r in district.unit_region])
    contained = np.isin(level, ["park", "building"])
    firms = district.kind_names == "private_enterprise"
    assert contained[firms].mean() > 0.25
    assert contained[firms].mean() > 3 * contained[~firms].mean()


def test_every_receiver_can_be_covered(district: RegionGraph) -> None:
    street_feasible(district)
    # And exactly: a flow that gives every receiver min_partners partners from its own street.
    g = district
    recv = is_receiver(g)
    street = g.region_codes("street")
    flow = nx.DiGraph()
    for i in np.flatnonzero(~recv):
        flow.add_edge("s", ("p", i), capacity=int(g.max_partners[i]))
        for j in np.flatnonzero(recv & (street == street[i])):
            flow.add_edge(("p", i), ("r", j), capacity=1)
    for j in np.flatnonzero(recv):
        flow.add_edge(("r", j), "t", capacity=int(g.min_partners[j]))
    assert nx.maximum_flow_value(flow, "s", "t") == g.min_partners[recv].sum()


def test_receivers_max_consistent_with_supply(district: RegionGraph) -> None:
    recv = is_receiver(district)
    street = district.region_codes("street")
    for s in np.unique(street):
        here = street == s
        capacity = district.max_partners[here & ~recv].sum()
        assert district.min_partners[here & recv].sum() <= capacity
        assert capacity < district.max_partners[here & recv].sum() <= 1.6 * capacity


def test_ties(district: RegionGraph) -> None:
    g = district
    recv = is_receiver(g)
    providers = (~recv).sum()
    assert 0.25 * providers <= len(g.ties) <= 0.3 * providers + 1
    assert (~recv[g.tie_a]).all() and recv[g.tie_b].all()
    street = g.region_codes("street")
    np.testing.assert_array_equal(street[g.tie_a], street[g.tie_b])
    assert g.tie_since.min() >= 2015 and g.tie_since.max() <= 2025
    assert len({(t.a, t.b) for t in g.ties}) == len(g.ties)
    per_receiver = np.bincount(g.tie_b, minlength=len(g))
    assert (per_receiver[recv] <= g.max_partners[recv]).all()
    assert len(synthetic_district(tie_share=0.0).ties) == 0


# -- parameters ---------------------------------------------------------------------------------
def test_sizes_honoured() -> None:
    g = synthetic_district(
        n_streets=2, n_townships=0, units_per_street=(50, 50), communities_per_street=(10, 10),
        parks=2, buildings=1,
    )  # fmt: skip
    assert len(g) == 2 * (50 + 10)
    levels = [r.level for r in g.regions]
    assert levels.count("street") == 2 and levels.count("township") == 0
    assert levels.count("park") == 2 and levels.count("building") == 1
    assert levels.count("community") == 20
    assert len(g.ties) == 30

    g = synthetic_district(
        seed=3, n_streets=3, n_townships=2, units_per_street=(45, 87),
        communities_per_street=(9, 13), units_per_township=(20, 25), villages_per_township=(14, 19),
    )  # fmt: skip
    recv = is_receiver(g)
    street = g.region_codes("street")
    for s in np.unique(street):
        township = g.regions[s].level == "township"
        n_recv = int((recv & (street == s)).sum())
        n_prov = int((~recv & (street == s)).sum())
        assert (14 <= n_recv <= 19) if township else (9 <= n_recv <= 13)
        assert (20 <= n_prov <= 25) if township else (45 <= n_prov <= 87)
    assert set(
        g.kind_names[
            recv & np.isin(street, [i for i, r in enumerate(g.regions) if r.level == "township"])
        ]
    ) == {"village"}


def test_townships_only_and_other_center() -> None:
    g = synthetic_district(n_streets=0, n_townships=2, center=(-33.87, 151.21))
    assert {r.level for r in g.regions} >= {"township", "village"}
    assert "community" not in set(g.kind_names)
    assert (np.abs(g.lat + 33.87) < 0.3).all() and (np.abs(g.lon - 151.21) < 0.3).all()
    street_feasible(g)


def test_longitudes_wrap_at_the_antimeridian() -> None:
    g = synthetic_district(center=(0.0, 179.99))
    assert (g.lon >= -180).all() and (g.lon <= 180).all()
    assert (np.abs(np.abs(g.lon) - 180) < 0.2).all()


def test_coverage_repair_raises_provider_limits() -> None:
    kwargs: dict[str, Any] = {
        "n_streets": 1, "n_townships": 0, "units_per_street": (2, 2),
        "communities_per_street": (9, 9), "buildings": 0, "parks": 0,
    }  # fmt: skip
    g = synthetic_district(**kwargs)
    recv = is_receiver(g)
    assert g.max_partners[~recv].sum() >= 9
    street_feasible(g)
    short = synthetic_district(**kwargs, ensure_coverage=False)
    assert short.max_partners[~is_receiver(short)].sum() < 9

    with pytest.raises(InputError, match="no co-building units"):
        synthetic_district(**{**kwargs, "units_per_street": (0, 0)})
    empty = synthetic_district(**{**kwargs, "units_per_street": (0, 0)}, ensure_coverage=False)
    assert set(empty.kind_names) == {"community"}


def test_receiver_min_partners() -> None:
    g = synthetic_district(receiver_min_partners=3)
    recv = is_receiver(g)
    assert (g.min_partners[recv] == 3).all()
    street_feasible(g)
    g0 = synthetic_district(receiver_min_partners=0)
    assert (g0.min_partners == 0).all()


BAD_DISTRICT = [
    ("seed", -1),
    ("seed", 1.5),
    ("seed", "0"),
    ("n_streets", -1),
    ("n_streets", 2.0),
    ("n_streets", True),
    ("n_townships", -2),
    ("units_per_street", (87, 45)),
    ("units_per_street", (-1, 5)),
    ("units_per_street", 50),
    ("units_per_street", (1, 2, 3)),
    ("communities_per_street", (0, 13)),
    ("units_per_township", (5.5, 8)),
    ("villages_per_township", "14-19"),
    ("parks", -1),
    ("buildings", None),
    ("tie_share", 1.5),
    ("tie_share", -0.1),
    ("tie_share", float("nan")),
    ("receiver_min_partners", -1),
    ("receiver_min_partners", 27),
    ("ensure_coverage", 1),
    ("center", (95.0, 120.0)),
    ("center", (30.0, 200.0)),
    ("center", "30,120"),
    ("center", (30.0,)),
    ("street_spacing_km", 0),
    ("street_radius_km", float("inf")),
]


@pytest.mark.parametrize(("name", "value"), BAD_DISTRICT)
def test_district_rejects_bad_parameters(name: str, value: Any) -> None:
    kwargs = {name: value}
    with pytest.raises(InputError) as info:
        if name == "seed":
            synthetic_district(value)
        else:
            synthetic_district(**kwargs)
    message = str(info.value)
    assert f"'{name}'" in message and repr(value) in message
    assert "synthetic_district" in message


def test_district_needs_a_street_or_township() -> None:
    with pytest.raises(InputError, match="'n_streets' has value 0"):
        synthetic_district(n_streets=0, n_townships=0)


BAD_CITY = [
    ("n_providers", -1),
    ("n_receivers", 0),
    ("n_receivers", 10.0),
    ("n_districts", 0),
    ("n_districts", 10_000),
    ("n_categories", 0),
    ("township_share", 2),
    ("communities_per_street", (13, 9)),
    ("extent_km", -40),
    ("parks", -1),
    ("tie_share", "0.3"),
]


@pytest.mark.parametrize(("name", "value"), BAD_CITY)
def test_city_rejects_bad_parameters(name: str, value: Any) -> None:
    with pytest.raises(InputError) as info:
        synthetic_city(**{name: value})
    message = str(info.value)
    assert f"'{name}'" in message and repr(value) in message
    assert "synthetic_city" in message


def test_city_needs_a_provider_per_street_for_coverage() -> None:
    with pytest.raises(InputError, match="'n_providers' has value 5"):
        synthetic_city(n_providers=5, n_receivers=200)
    g = synthetic_city(n_providers=5, n_receivers=200, ensure_coverage=False)
    assert (~is_receiver(g)).sum() == 5
    g = synthetic_city(n_providers=0, n_receivers=20, ensure_coverage=False)
    assert set(g.kind_names) <= set(RECEIVERS)


# -- the city -----------------------------------------------------------------------------------
def test_city_counts(city: RegionGraph) -> None:
    recv = is_receiver(city)
    assert recv.sum() == 400 and (~recv).sum() == 2000
    levels = [r.level for r in city.regions]
    assert levels.count("district") == 4
    assert levels.count("park") == 4 and levels.count("building") == 12
    assert levels.count("community") + levels.count("village") == 400
    assert "township" in levels and "village" in set(city.kind_names)
    assert set(city.kind_names) == set(KINDS)
    # About 9-13 communities per street.
    street = city.region_codes("street")
    per_street = np.bincount(street[recv])[np.unique(street)]
    assert 8 <= per_street.mean() <= 16


@pytest.mark.parametrize(("n_providers", "n_receivers"), [(1, 1), (7, 30), (50, 13), (500, 100)])
def test_city_small_sizes_exact(n_providers: int, n_receivers: int) -> None:
    g = synthetic_city(n_providers=n_providers, n_receivers=n_receivers)
    recv = is_receiver(g)
    assert recv.sum() == n_receivers and (~recv).sum() == n_providers
    street_feasible(g)


def test_city_categories(city: RegionGraph) -> None:
    assert city.categories[:16] == CATEGORIES
    assert city.categories[16:] == ("resource_17", "resource_18", "resource_19", "resource_20")
    assert city.offers[:, 16:].sum() > 0 and city.needs[:, 16:].sum() > 0
    assert (
        synthetic_city(n_providers=50, n_receivers=10, n_categories=5).categories == CATEGORIES[:5]
    )


def test_city_geometry_and_feasibility(city: RegionGraph) -> None:
    x, y = km_xy(city)
    assert np.ptp(x) < 42 and np.ptp(y) < 42  # a ~40 x 40 km city
    assert np.ptp(x) > 20 and np.ptp(y) > 20
    street_feasible(city)
    district = city.region_codes("district")
    codes = np.unique(district)
    cx = np.array([x[district == d].mean() for d in codes])
    cy = np.array([y[district == d].mean() for d in codes])
    nearest = np.hypot(x[:, None] - cx, y[:, None] - cy).argmin(axis=1)
    assert np.mean(codes[nearest] == district) > 0.9  # districts are clustered too
    recv = is_receiver(city)
    np.testing.assert_array_equal(city.offers, np.round(city.offers))
    assert city.needs[recv].sum() > 0.75 * city.needs.sum()
