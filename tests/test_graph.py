"""RegionGraph arrays, region-tree queries and the networkx view."""

from __future__ import annotations

import numpy as np
import pytest

from pbmatch import InputError, RegionGraph
from pbmatch.model import KINDS

REGIONS = [
    {"id": "D1", "level": "district"},
    {"id": "S1", "level": "street", "parent": "D1"},
    {"id": "T1", "level": "township", "parent": "D1"},
    {"id": "C1", "level": "community", "parent": "S1"},
    {"id": "P1", "level": "park", "parent": "S1"},
    {"id": "V1", "level": "village", "parent": "T1"},
    {"id": "D2", "level": "district"},
]
UNITS = [
    {
        "id": "a",
        "kind": "agency",
        "region": "S1",
        "lat": 30.0,
        "lon": 120.0,
        "offers": {"venue": 2, "legal": 1},
    },
    {
        "id": "f",
        "kind": "非公企业",
        "region": "P1",
        "members": 2,
        "max_partners": 3,
        "offers": {"jobs": 5},
    },
    {"id": "c", "kind": "community", "region": "C1", "needs": {"venue": 4}, "min_partners": 1},
    {"id": "v", "kind": "village", "region": "V1", "needs": {"jobs": 1, "legal": 2}},
    {"id": "x", "kind": "school", "region": "D2"},
]


@pytest.fixture
def graph() -> RegionGraph:
    return RegionGraph.from_records(
        units=UNITS, regions=REGIONS, ties=[{"a": "a", "b": "c", "since": 2019}]
    )


def test_arrays(graph: RegionGraph) -> None:
    assert len(graph) == 5
    assert graph.ids.tolist() == ["a", "f", "c", "v", "x"]
    assert graph.kind_names.tolist() == [
        "agency",
        "private_enterprise",
        "community",
        "village",
        "school",
    ]
    assert graph.kinds.dtype == np.int8 and KINDS[graph.kinds[1]] == "private_enterprise"
    assert graph.categories == ("jobs", "legal", "venue")
    np.testing.assert_array_equal(graph.offers[:, 2], [2, 0, 0, 0, 0])
    np.testing.assert_array_equal(graph.needs[3], [1, 2, 0])
    assert np.isnan(graph.lat[1]) and graph.lat[0] == 30.0
    assert graph.max_partners.tolist() == [-1, 3, -1, -1, -1]
    assert graph.min_partners.tolist() == [0, 0, 1, 0, 0]
    assert graph.members.tolist() == [0, 2, 0, 0, 0]
    assert (graph.tie_a.tolist(), graph.tie_b.tolist(), graph.tie_since.tolist()) == (
        [0],
        [2],
        [2019],
    )


def test_region_codes(graph: RegionGraph) -> None:
    street = [graph.region_ids[i] if i >= 0 else None for i in graph.region_codes("street")]
    assert street == ["S1", "S1", "S1", "T1", None]
    district = [graph.region_ids[i] for i in graph.region_codes("district")]
    assert district == ["D1", "D1", "D1", "D1", "D2"]
    community = graph.region_codes("community")
    assert community[0] == -1 and graph.region_ids[community[3]] == "V1"
    with pytest.raises(InputError, match="tier 'nation'"):
        graph.region_codes("nation")


def test_tree_queries(graph: RegionGraph) -> None:
    assert graph.street_of("f") == "S1"
    assert graph.street_of("v") == "T1"
    assert graph.street_of("x") is None
    assert graph.ancestors("c") == ["C1", "S1", "D1"]
    assert graph.lowest_common_ancestor("f", "c") == "S1"
    assert graph.lowest_common_ancestor("c", "v") == "D1"
    assert graph.lowest_common_ancestor("c", "x") is None
    assert graph.enclosing("P1", "district") == "D1"
    with pytest.raises(InputError, match="'zz'"):
        graph.street_of("zz")


def test_lookup(graph: RegionGraph) -> None:
    assert graph.unit("f").members == 2
    assert graph.indices(["v", "a"]).tolist() == [3, 0]
    with pytest.raises(InputError, match="unit 'nope'"):
        graph.index("nope")


def test_explicit_categories(graph: RegionGraph) -> None:
    g = RegionGraph(graph.units, graph.regions, categories=["venue", "legal", "jobs", "extra"])
    assert g.offers.shape == (5, 4) and g.offers[0, 0] == 2
    with pytest.raises(InputError, match="categories"):
        RegionGraph(graph.units, graph.regions, categories=["venue"])


def test_to_networkx(graph: RegionGraph) -> None:
    G = graph.to_networkx()
    assert G.nodes["unit", "f"]["kind"] == "private_enterprise"
    assert G.nodes["region", "S1"]["level"] == "street"
    relations = [d["relation"] for _, _, d in G.edges(data=True)]
    assert relations.count("located_in") == 5 + 5  # units, plus regions with a parent
    assert relations.count("offers") == 3 and relations.count("needs") == 3
    assert G.has_edge(("unit", "a"), ("unit", "c"))
    assert G.get_edge_data(("category", "venue"), ("unit", "c"))[0]["quantity"] == 4


def test_empty_graph() -> None:
    g = RegionGraph([], [])
    assert len(g) == 0 and g.offers.shape == (0, 0)
