"""Every result's views: its table (to_records, to_pandas), its networkx graph, its notebook
view, and the behaviour the shared base gives every result class."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import pbmatch
from pbmatch import results
from pbmatch.results._base import Result

pd = pytest.importorskip("pandas")

RESULT_CLASSES = [
    results.AllocationResult,
    results.ExchangeResult,
    results.FloatingResult,
    results.GeneralMatchResult,
    results.JointBranchesResult,
    results.MatchResult,
    results.PairingResult,
    results.PostAssignmentResult,
    results.ProjectsResult,
]


@pytest.fixture(scope="module")
def district() -> pbmatch.RegionGraph:
    return pbmatch.synthetic_district(seed=0)


@pytest.fixture(scope="module")
def problem_results(district: pbmatch.RegionGraph) -> dict[str, tuple[Any, str, str]]:
    """Each issue-6 result with the source and target columns of its table."""
    members, posts = pbmatch.synthetic_members(district), pbmatch.synthetic_posts(district)
    floating, hosts = pbmatch.synthetic_floating(district)
    projects = pbmatch.synthetic_projects(district)[:4]
    return {
        "allocate": (pbmatch.allocate(district, within="street"), "provider", "receiver"),
        "posts": (pbmatch.assign_posts(members, posts), "member", "post"),
        "floating": (pbmatch.host_floating_members(floating, hosts), "member", "host"),
        "exchange": (pbmatch.exchange_cycles(district, max_length=3), "giver", "receiver"),
        "branches": (pbmatch.form_joint_branches(district), "group", "unit"),
        "projects": (
            pbmatch.staff_projects(district, projects, max_km=3),
            "unit",
            "project",
        ),
    }


def test_networkx_view_has_one_edge_per_table_row(
    problem_results: dict[str, tuple[Any, str, str]],
) -> None:
    for name, (result, source, target) in problem_results.items():
        frame = result.to_pandas()
        frame = frame.dropna(subset=[source, target])
        graph = result.to_networkx()
        assert graph.number_of_edges() == len(frame), name
        edges = sorted((str(u), str(v)) for u, v in graph.edges())
        rows = sorted(zip(frame[source].astype(str), frame[target].astype(str), strict=True))
        assert edges == rows, name
        html = result._repr_html_()
        assert type(result).__name__ in html, name


def _same_rows(frame: Any, records: list[dict[str, Any]]) -> bool:
    """The DataFrame's rows equal the records (NaN equal to NaN, None to NaN)."""
    if list(frame.columns) != (list(records[0]) if records else list(frame.columns)):
        return False
    rows = frame.to_dict("records")
    if len(rows) != len(records):
        return False

    def same(a: Any, b: Any) -> bool:
        missing = [x is None or (isinstance(x, float) and math.isnan(x)) for x in (a, b)]
        return all(missing) if any(missing) else bool(a == b)

    return all(
        same(row[k], record[k]) for row, record in zip(rows, records, strict=True) for k in record
    )


def test_records_and_pandas_agree_for_every_problem(
    district: pbmatch.RegionGraph, problem_results: dict[str, tuple[Any, str, str]]
) -> None:
    found = {name: result for name, (result, _, _) in problem_results.items()}
    found["pair"] = pbmatch.pair(district)
    for name, result in found.items():
        records = result.to_records()
        frame = result.to_pandas()
        assert records, name
        assert _same_rows(frame, records), name


@pytest.mark.parametrize("seed", range(12))
def test_match_table_round_trips_and_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(k) for k in rng.integers(1, 9, size=2))
    scores = rng.integers(1, 50, size=(n, m)).astype(float)
    if seed % 2:
        scores = scores + rng.random((n, m))  # fractional scores too
    result = pbmatch.match(scores)
    frame = result.to_pandas()
    assert list(frame.columns) == ["row", "col", "score"]
    assert frame["row"].tolist() == result.rows.tolist()
    assert frame["col"].tolist() == result.cols.tolist()
    assert frame["score"].tolist() == scores[result.rows, result.cols].tolist()
    assert float(frame["score"].sum()) == pytest.approx(result.objective, rel=1e-12)
    assert frame.to_dict("records") == result.to_records()
    # independent reference: the scores are positive and every pair is allowed, so the best
    # matching is a best assignment
    r, c = linear_sum_assignment(scores, maximize=True)
    assert result.objective == pytest.approx(float(scores[r, c].sum()), rel=1e-9)

    graph = result.to_networkx()
    assert nx.is_bipartite(graph)
    assert sorted(graph.edges(data="score")) == sorted(
        (("row", i), ("col", j), float(scores[i, j])) for i, j in result.pairs
    )
    assert {d for _, d in graph.nodes(data="bipartite")} <= {0, 1}


def test_match_table_of_a_result_without_pairs() -> None:
    failed = pbmatch.match(np.ones((2, 2)), forbid=[(0, 0)], require=[(0, 0)])
    assert failed.status == "infeasible"
    frame = failed.to_pandas()
    assert list(frame.columns) == ["row", "col", "score"] and len(frame) == 0
    assert failed.to_records() == [] and failed.to_networkx().number_of_edges() == 0


@pytest.mark.parametrize("seed", range(10))
def test_general_match_table_round_trips_and_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 12))
    reference = nx.gnp_random_graph(n, 0.5, seed=seed)
    edges = [(u, v, int(rng.integers(1, 20))) for u, v in reference.edges()]
    if not edges:
        edges = [(0, 1, 1)]
    result = pbmatch.match_general(edges)
    frame = result.to_pandas()
    assert list(frame.columns) == ["u", "v", "weight"]
    assert list(zip(frame["u"].tolist(), frame["v"].tolist(), strict=True)) == result.pairs
    assert frame["weight"].tolist() == result.weights.tolist()
    assert float(frame["weight"].sum()) == result.objective
    assert frame.to_dict("records") == result.to_records()
    # independent reference: networkx's blossom algorithm
    graph = nx.Graph()
    graph.add_weighted_edges_from(edges)
    best = nx.max_weight_matching(graph)
    assert result.objective == sum(graph[u][v]["weight"] for u, v in best)
    assert result.to_networkx().number_of_edges() == len(result)


def test_general_match_table_keeps_node_labels() -> None:
    result = pbmatch.match_general([(("a", 1), ("b", 2), 2.0), (("b", 2), ("c", 3), 1.0)])
    assert result.to_records() == [{"u": ("a", 1), "v": ("b", 2), "weight": 2.0}]
    assert result.to_pandas()["u"].tolist() == [("a", 1)]


@pytest.mark.parametrize("cls", RESULT_CLASSES, ids=lambda c: c.__name__)
def test_every_result_class_shares_the_base(cls: type[Any]) -> None:
    assert getattr(pbmatch, cls.__name__) is cls
    assert cls.__name__ in results.__all__
    assert issubclass(cls, Result)
    assert dataclasses.is_dataclass(cls) and cls.__dict__["__dataclass_params__"].frozen
    for name in ("success", "raise_for_status", "to_records", "to_pandas", "to_networkx",
                 "write", "to_html", "_repr_html_", "__len__", "__repr__"):  # fmt: skip
        assert hasattr(cls, name), name
    # no field of the base leaks into the constructor
    assert "_ITEMS" not in {f.name for f in dataclasses.fields(cls)}


def test_raise_for_status_of_every_problem(
    problem_results: dict[str, tuple[Any, str, str]],
) -> None:
    for name, (result, _, _) in problem_results.items():
        assert result.raise_for_status() is result, name
        infeasible = dataclasses.replace(result, status="infeasible", message="no way")
        with pytest.raises(pbmatch.InfeasibleError, match=r"^infeasible: no way$") as caught:
            infeasible.raise_for_status()
        assert caught.value.result is infeasible, name
        stopped = dataclasses.replace(result, status="not_solved", message="time limit")
        with pytest.raises(pbmatch.SolverError, match=r"^not_solved: time limit$"):
            stopped.raise_for_status()
        assert not stopped.success and repr(stopped).startswith(
            f"{type(result).__name__}(status='not_solved', "
        )


def test_match_results_have_the_notebook_and_file_views(tmp_path: Any) -> None:
    result = pbmatch.match(np.array([[3.0, 1.0], [2.0, 1.5]]))
    assert "MatchResult" in result._repr_html_()
    assert result.to_html(figures=False).startswith("<!DOCTYPE html>")
    path = result.write(tmp_path / "match.csv")
    assert path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")[:3] == [
        "row",
        "col",
        "score",
    ]
    general = pbmatch.match_general([("a", "b", 2.0)])
    assert "GeneralMatchResult" in general._repr_html_()
