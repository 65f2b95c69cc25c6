"""Every issue-6 result has a networkx view that mirrors its table, and a notebook view."""

from __future__ import annotations

import pytest

import pbmatch

pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def district() -> pbmatch.RegionGraph:
    return pbmatch.synthetic_district(seed=0)


def _results(graph: pbmatch.RegionGraph) -> dict[str, tuple[object, str, str]]:
    members, posts = pbmatch.synthetic_members(graph), pbmatch.synthetic_posts(graph)
    floating, hosts = pbmatch.synthetic_floating(graph)
    projects = pbmatch.synthetic_projects(graph)[:4]
    return {
        "allocate": (pbmatch.allocate(graph, within="street"), "provider", "receiver"),
        "posts": (pbmatch.assign_posts(members, posts), "member", "post"),
        "floating": (pbmatch.host_floating_members(floating, hosts), "member", "host"),
        "exchange": (pbmatch.exchange_cycles(graph, max_length=3), "giver", "receiver"),
        "branches": (pbmatch.form_joint_branches(graph), "group", "unit"),
        "projects": (pbmatch.staff_projects(graph, projects, max_km=3), "unit", "project"),
    }


def test_networkx_view_has_one_edge_per_table_row(district: pbmatch.RegionGraph) -> None:
    for name, (result, source, target) in _results(district).items():
        frame = result.to_pandas()  # type: ignore[attr-defined]
        frame = frame.dropna(subset=[source, target])
        graph = result.to_networkx()  # type: ignore[attr-defined]
        assert graph.number_of_edges() == len(frame), name
        edges = sorted((str(u), str(v)) for u, v in graph.edges())
        rows = sorted(zip(frame[source].astype(str), frame[target].astype(str), strict=True))
        assert edges == rows, name
        html = result._repr_html_()  # type: ignore[attr-defined]
        assert type(result).__name__ in html, name
