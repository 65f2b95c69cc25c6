"""One-pool matching and b-matching (``match_general``) against independent solvers.

References: networkx ``max_weight_matching`` (both maxcardinality modes) for 1-matching, brute
force on tiny graphs and scipy's ``milp`` (HiGHS) for b-matching. Every result also passes
``verify_general``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbmatch import InputError, PrecisionWarning, SolverError
from pbmatch.general import check_general, match_general, verify_general

Edge = tuple[Hashable, Hashable, Any]


# --- references ---------------------------------------------------------------------------------


def nx_best(edges: Sequence[Edge], maxcardinality: bool) -> tuple[int, float]:
    graph = nx.Graph()
    graph.add_weighted_edges_from(edges)
    mate = nx.max_weight_matching(graph, maxcardinality=maxcardinality)
    return len(mate), math.fsum(graph[u][v]["weight"] for u, v in mate)


def brute_best(edges: Sequence[Edge], capacity: Any, maxcardinality: bool) -> tuple[int, float]:
    """(pairs, weight) of the best b-matching by enumerating every subset of edges."""
    best = (0, 0.0)
    for size in range(len(edges) + 1):
        for subset in itertools.combinations(edges, size):
            count: dict[Hashable, int] = {}
            for u, v, _ in subset:
                count[u] = count.get(u, 0) + 1
                count[v] = count.get(v, 0) + 1
            if any(
                c > (capacity[k] if isinstance(capacity, dict) else capacity)
                for k, c in count.items()
            ):
                continue
            value = math.fsum(w for _, _, w in subset)
            key = (size, value) if maxcardinality else (0, value)
            if key > (best if maxcardinality else (0, best[1])):
                best = (size, value)
    return best


def milp_best(edges: Sequence[Edge], capacity: Any, maxcardinality: bool) -> tuple[int, float]:
    """(pairs, weight) of the best b-matching by scipy's MILP (two stages for maxcardinality)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    nodes = sorted({u for u, _, _ in edges} | {v for _, v, _ in edges})
    where = {node: k for k, node in enumerate(nodes)}
    m = len(edges)
    if m == 0:
        return 0, 0.0
    rows = [where[u] for u, _, _ in edges] + [where[v] for _, v, _ in edges]
    a = coo_matrix((np.ones(2 * m), (rows, list(range(m)) * 2)), shape=(len(nodes), m))
    caps = np.array([capacity[k] if isinstance(capacity, dict) else capacity for k in nodes])
    w = np.array([float(x) for _, _, x in edges])
    constraints = [LinearConstraint(a, 0, caps)]
    kwargs: dict[str, Any] = {"integrality": np.ones(m), "bounds": Bounds(0, 1)}
    if maxcardinality:
        most = milp(-np.ones(m), constraints=constraints, **kwargs)
        pairs = round(-most.fun)
        constraints.append(LinearConstraint(np.ones((1, m)), pairs, pairs))
    result = milp(-w, constraints=constraints, **kwargs)
    x = np.round(result.x)
    return int(x.sum()), float(-result.fun)


def assert_same(result: Any, expected: tuple[int, float], maxcardinality: bool) -> None:
    pairs, weight = expected
    assert result.status == "optimal", result.message
    assert result.bound == result.objective
    assert math.isclose(result.objective, weight, rel_tol=1e-9, abs_tol=1e-9), (
        result.objective,
        weight,
    )
    if maxcardinality:
        assert len(result) == pairs


# --- random graphs ------------------------------------------------------------------------------


def random_edges(rng: np.random.Generator, kind: str, weights: str) -> list[Edge]:
    pairs: list[tuple[int, int]] = []
    if kind in ("sparse", "dense"):
        n = int(rng.integers(0, 26))
        p = rng.uniform(0.05, 0.25) if kind == "sparse" else rng.uniform(0.4, 1.0)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    elif kind == "triangles":  # many odd cycles: the relaxation is fractional
        k = int(rng.integers(1, 8))
        for t in range(k):
            a, b, c = 3 * t, 3 * t + 1, 3 * t + 2
            pairs += [(a, b), (b, c), (a, c)]
        extra = {tuple(sorted(map(int, rng.integers(0, 3 * k, 2)))) for _ in range(k)}
        pairs += [(i, j) for i, j in extra if i != j and (i, j) not in pairs]
    elif kind == "rings":  # odd rings, joined by a few chords
        start = 0
        for _ in range(int(rng.integers(1, 4))):
            size = 2 * int(rng.integers(1, 5)) + 1
            ring = list(range(start, start + size))
            pairs += [tuple(sorted((ring[i], ring[(i + 1) % size]))) for i in range(size)]
            start += size
        extra = {tuple(sorted(map(int, rng.integers(0, start, 2)))) for _ in range(3)}
        pairs += [(i, j) for i, j in extra if i != j and (i, j) not in pairs]
    m = len(pairs)
    if weights == "int":
        w: list[Any] = rng.integers(-3, 20, m).tolist()
    elif weights == "float":
        w = rng.uniform(-1.0, 10.0, m).tolist()
    elif weights == "ties":
        w = rng.integers(1, 4, m).tolist()
    elif weights == "equal":
        w = [1.5] * m
    else:  # positive floats
        w = rng.uniform(0.0, 1.0, m).tolist()
    edges: list[Edge] = []
    for (i, j), x in zip(pairs, w, strict=True):
        edges.append((i, j, x) if rng.random() < 0.5 else (j, i, x))  # either orientation
    order = rng.permutation(len(edges))
    return [edges[k] for k in order]


KINDS = ["sparse", "dense", "triangles", "rings"]
WEIGHTS = ["int", "float", "ties", "equal", "unit"]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", KINDS)
def test_against_networkx(seed: int, kind: str) -> None:
    rng = np.random.default_rng(1000 * seed + KINDS.index(kind))
    for weights in WEIGHTS:
        edges = random_edges(rng, kind, weights)
        for maxcardinality in (False, True):
            result = match_general(edges, maxcardinality=maxcardinality)
            check_general(result, edges, maxcardinality=maxcardinality)
            assert_same(result, nx_best(edges, maxcardinality), maxcardinality)


@pytest.mark.parametrize("maxcardinality", [False, True])
def test_larger_against_networkx(maxcardinality: bool) -> None:
    rng = np.random.default_rng(7)
    n = 120
    pairs = {tuple(sorted(map(int, rng.integers(0, n, 2)))) for _ in range(700)}
    for weights in (rng.uniform(-0.2, 1.0, len(pairs)), rng.integers(1, 6, len(pairs))):
        edges = [
            (i, j, w) for (i, j), w in zip(sorted(pairs), weights.tolist(), strict=True) if i != j
        ]
        result = match_general(edges, maxcardinality=maxcardinality)
        check_general(result, edges, maxcardinality=maxcardinality)
        assert_same(result, nx_best(edges, maxcardinality), maxcardinality)


@pytest.mark.parametrize("seed", range(40))
def test_b_matching_against_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.7][:10]
    weights = rng.integers(-2, 6, len(pairs)) if seed % 2 else rng.uniform(-1, 5, len(pairs))
    edges = [(f"n{i}", f"n{j}", w) for (i, j), w in zip(pairs, weights.tolist(), strict=True)]
    capacity: Any = int(rng.integers(1, 4))
    if seed % 3 == 0:
        capacity = {f"n{i}": int(rng.integers(0, 4)) for i in range(n)}
    for maxcardinality in (False, True):
        result = match_general(edges, capacity=capacity, maxcardinality=maxcardinality)
        check_general(result, edges, capacity=capacity, maxcardinality=maxcardinality)
        assert_same(result, brute_best(edges, capacity, maxcardinality), maxcardinality)


@pytest.mark.parametrize("seed", range(24))
def test_b_matching_against_milp(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(8, 30))
    kind = KINDS[seed % 4]
    edges = random_edges(rng, kind, WEIGHTS[seed % 5])
    nodes = sorted({u for u, _, _ in edges} | {v for _, v, _ in edges})
    capacity: Any = int(rng.integers(2, 4))
    if seed % 2:
        capacity = {node: int(rng.integers(1, 4)) for node in nodes}
    del n
    for maxcardinality in (False, True):
        result = match_general(edges, capacity=capacity, maxcardinality=maxcardinality)
        check_general(result, edges, capacity=capacity, maxcardinality=maxcardinality)
        assert_same(result, milp_best(edges, capacity, maxcardinality), maxcardinality)


def test_b_matching_bigger_against_milp() -> None:
    rng = np.random.default_rng(3)
    n = 150
    pairs = sorted({tuple(sorted(map(int, rng.integers(0, n, 2)))) for _ in range(900)})
    edges = [
        (i, j, w)
        for (i, j), w in zip(pairs, rng.uniform(0, 1, len(pairs)).tolist(), strict=True)
        if i != j
    ]
    for capacity in (2, 3):
        result = match_general(edges, capacity=capacity)
        check_general(result, edges, capacity=capacity)
        assert_same(result, milp_best(edges, capacity, False), False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(-4, 9)),
        max_size=9,
        unique_by=lambda e: frozenset(e[:2]),
    ).map(lambda es: [e for e in es if e[0] != e[1]]),
    st.integers(1, 3),
    st.booleans(),
)
def test_hypothesis_against_brute_force(
    edges: list[Edge], capacity: int, maxcardinality: bool
) -> None:
    result = match_general(edges, capacity=capacity, maxcardinality=maxcardinality)
    check_general(result, edges, capacity=capacity, maxcardinality=maxcardinality)
    assert_same(result, brute_best(edges, capacity, maxcardinality), maxcardinality)


# --- special graphs -----------------------------------------------------------------------------


def test_empty_and_trivial() -> None:
    for edges in ([], iter([]), [("a", "b", -1.0)], [("a", "b", -math.inf)]):
        result = match_general(edges)
        assert (result.pairs, result.objective, result.status) == ([], 0.0, "optimal")
        assert result.bound == 0.0 and result.success and len(result) == 0
    result = match_general([("a", "b", -1.0)], maxcardinality=True)
    assert result.pairs == [("a", "b")] and result.objective == -1.0
    assert match_general([("a", "b", 2)], capacity=0).pairs == []


def test_triangle_odd_cycle() -> None:
    edges = [(1, 2, 5), (2, 3, 5), (1, 3, 5)]
    result = match_general(edges)
    assert len(result) == 1 and result.objective == 5.0 and result.status == "optimal"
    two = match_general(edges, capacity=2)
    assert len(two) == 3 and two.objective == 15.0


def test_isolated_nodes_and_capacity_zero() -> None:
    edges = [("a", "b", 3.0), ("b", "c", 2.0), ("c", "d", 4.0), ("e", "f", -math.inf)]
    result = match_general(edges, capacity={"a": 1, "b": 1, "c": 0, "d": 1, "e": 5, "f": 5})
    assert result.pairs == [("a", "b")]
    check_general(result, edges, capacity={"a": 1, "b": 1, "c": 0, "d": 1, "e": 5, "f": 5})


def test_maxcardinality_semantics() -> None:
    path = [("x", "y", 1.0), ("y", "z", 10.0), ("z", "w", 1.0)]
    assert match_general(path).pairs == [("y", "z")]
    assert match_general(path, maxcardinality=True).pairs == [("x", "y"), ("z", "w")]
    # Among the largest matchings, the heaviest, even with negative weights.
    neg = [(0, 1, -5.0), (1, 2, -1.0), (2, 3, -5.0), (0, 3, -1.0)]
    result = match_general(neg, maxcardinality=True)
    assert len(result) == 2 and result.objective == -2.0


def test_odd_pool_all_equal_weights() -> None:
    # A complete graph on 41 nodes: the relaxation is a fractional perfect matching.
    edges = [(i, j, 1.0) for i in range(41) for j in range(i + 1, 41)]
    for maxcardinality in (False, True):
        result = match_general(edges, maxcardinality=maxcardinality)
        assert len(result) == 20 and result.status == "optimal"


def test_matrix_inputs() -> None:
    scores = np.array(
        [
            [9.0, 3.0, 2.0, -np.inf],
            [3.0, 0.0, 1.0, 2.0],
            [2.0, 1.0, 7.0, 3.0],
            [-np.inf, 2.0, 3.0, 0.0],
        ]
    )
    result = match_general(scores)
    assert result.pairs == [(0, 1), (2, 3)] and result.objective == 6.0
    assert result.edge_index.tolist() == [1, 11]
    check_general(result, scores)
    edges = [(i, j, scores[i, j]) for i in range(4) for j in range(i + 1, 4)]
    assert result.objective == nx_best(edges, False)[1]
    scipy_sparse = pytest.importorskip("scipy.sparse")
    sparse = scipy_sparse.csr_array(np.where(np.isinf(scores), 0.0, scores))
    sparse.eliminate_zeros()
    from_sparse = match_general(sparse)
    assert from_sparse.pairs == result.pairs
    check_general(from_sparse, sparse)
    per_node = match_general(scores, capacity=[2, 1, 2, 1])
    check_general(per_node, scores, capacity=[2, 1, 2, 1])
    assert per_node.objective == 8.0


def test_integer_weights_are_exact() -> None:
    big = 2**40
    edges = [(0, 1, big + 1), (1, 2, big), (2, 3, big + 1), (0, 3, big)]
    result = match_general(edges)
    assert result.resolution is None and result.objective == 2 * big + 2


def test_precision_warning() -> None:
    # maxcardinality leaves ~2**29 integer steps for the weights at 500 pairs: 1 + 1e-12
    # cannot be told from 1 (a finer grid would not warn: it is below float noise).
    edges = [(2 * i, 2 * i + 1, 1.0 + (1e-12 if i == 0 else 0.0)) for i in range(500)]
    edges.append((0, 2, 0.5))
    with pytest.warns(PrecisionWarning, match="distinct weights became equal"):
        result = match_general(edges, maxcardinality=True)
    assert len(result) == 500 and result.resolution is not None
    assert result.resolution > 1e-12


# --- determinism, methods, limits, result API ---------------------------------------------------


def test_deterministic_and_methods_agree() -> None:
    rng = np.random.default_rng(11)
    pairs = sorted({tuple(sorted(map(int, rng.integers(0, 300, 2)))) for _ in range(2500)})
    edges = [
        (i, j, w)
        for (i, j), w in zip(pairs, rng.integers(1, 5, len(pairs)).tolist(), strict=True)
        if i != j
    ]
    first = match_general(edges, capacity=2)
    again = match_general(edges, capacity=2)
    assert first.pairs == again.pairs and first.objective == again.objective
    plain = match_general(edges, capacity=2, method="cpsat")
    assert plain.method == "cpsat" and plain.status == "optimal"
    assert plain.objective == first.objective
    check_general(plain, edges, capacity=2)


def test_time_limit_gives_a_valid_answer() -> None:
    rng = np.random.default_rng(5)
    pairs = sorted({tuple(sorted(map(int, rng.integers(0, 400, 2)))) for _ in range(4000)})
    edges = [
        (i, j, w)
        for (i, j), w in zip(pairs, rng.random(len(pairs)).tolist(), strict=True)
        if i != j
    ]
    result = match_general(edges, time_limit=0.001, method="cpsat")
    assert result.status in ("optimal", "feasible", "not_solved")
    check_general(result, edges)
    result = match_general(edges, time_limit=0.001)
    assert result.status in ("optimal", "feasible")
    check_general(result, edges)
    if result.status == "feasible":
        assert result.bound is not None and result.bound >= result.objective


def test_result_api() -> None:
    edges = [("a", "b", 2.0), ("b", "c", 3.0), ("c", "d", 1.0)]
    result = match_general(edges, capacity=2)
    assert result.raise_for_status() is result
    assert result.partners() == {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"]}
    graph = result.to_networkx()
    assert graph["b"]["c"]["weight"] == 3.0
    assert "GeneralMatchResult(status='optimal', pairs=3" in repr(result)
    assert result.weights.tolist() == [2.0, 3.0, 1.0] and result.edge_index.tolist() == [0, 1, 2]
    failed = type(result)([], result.weights[:0], result.edge_index[:0], math.nan, "error")
    with pytest.raises(SolverError):
        failed.raise_for_status()


def test_verify_catches_bad_results() -> None:
    edges = [("a", "b", 2.0), ("b", "c", 3.0)]
    good = match_general(edges)
    bad = type(good)(
        [("a", "b"), ("b", "c")], np.array([2.0, 3.0]), np.array([0, 1]), 5.0, "optimal", bound=5.0
    )
    assert verify_general(bad, edges) == ["node 'b' is in 2 pairs, above its capacity 1"]
    wrong = type(good)([("c", "b")], np.array([3.0]), np.array([1]), 3.0, "optimal", bound=3.0)
    assert "not an allowed edge (given the other way round)" in verify_general(wrong, edges)[0]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edges", "kwargs", "words"),
    [
        ([("a", "b")], {}, ["edges[0]", "(u, v, weight) triple"]),
        ([("a", "b", 1.0), ("b", "b", 2.0)], {}, ["edges[1]", "self loop"]),
        (
            [("a", "b", 1.0), ("c", "d", 1.0), ("b", "a", 2.0)],
            {},
            ["edges[2] ('b', 'a') repeats the pair of edges[0]"],
        ),
        ([("a", "b", math.nan)], {}, ["edges[0] ('a', 'b')", "nan"]),
        ([("a", "b", 1.0), ("a", "c", math.inf)], {}, ["edges[1] ('a', 'c')", "inf"]),
        ([("a", "b", "heavy")], {}, ["edges[0] ('a', 'b')", "'heavy'", "real numbers"]),
        ([("a", "b", True)], {}, ["edges[0]", "True"]),
        ([(["a"], "b", 1.0)], {}, ["edges[0]", "hashable"]),
        ("ab", {}, ["edges is a str"]),
        (5, {}, ["edges is a int"]),
        ([("a", "b", 1.0)], {"capacity": -1}, ["capacity", "-1", ">= 0"]),
        ([("a", "b", 1.0)], {"capacity": 1.5}, ["capacity", "1.5"]),
        ([("a", "b", 1.0)], {"capacity": {"a": 1}}, ["no entry for node 'b'"]),
        ([("a", "b", 1.0)], {"capacity": {"a": 1, "b": -2}}, ["capacity['b'] is -2"]),
        ([("a", "b", 1.0)], {"capacity": [1, 1]}, ["capacity is a list", "mapping"]),
        ([("a", "b", 1.0)], {"maxcardinality": "yes"}, ["maxcardinality is 'yes'"]),
        ([("a", "b", 1.0)], {"time_limit": 0}, ["time_limit is 0"]),
        ([("a", "b", 1.0)], {"method": "blossom"}, ["method is 'blossom'", "'cpsat'"]),
        (np.ones((2, 3)), {}, ["square", "(2, 3)"]),
        (np.array([[0.0, 1.0], [2.0, 0.0]]), {}, ["not symmetric", "scores[0, 1] is 1.0"]),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), {}, ["scores[0, 1] is nan"]),
        (np.array([["a", "b"], ["b", "a"]]), {}, ["dtype"]),
        (np.eye(2), {"capacity": [1, 1, 1]}, ["capacity has length 3"]),
    ],
)
def test_bad_input(edges: Any, kwargs: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        match_general(edges, **kwargs)
    assert isinstance(info.value, ValueError)
    for word in words:
        assert word in str(info.value)


def test_bad_sparse_input() -> None:
    scipy_sparse = pytest.importorskip("scipy.sparse")
    asym = scipy_sparse.csr_array(np.array([[0.0, 1.0], [0.0, 0.0]]))
    asym.eliminate_zeros()
    with pytest.raises(InputError, match=r"scores\[0, 1\] is 1.0 but scores\[1, 0\] is absent"):
        match_general(asym)


def test_diagonal_is_ignored() -> None:
    scores = np.array([[np.nan, 2.0], [2.0, np.inf]])
    assert match_general(scores).pairs == [(0, 1)]


def test_no_warning_on_exact_floats() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = match_general([(0, 1, 0.5), (1, 2, 0.25), (2, 0, 0.75)])
    assert result.pairs == [(2, 0)]


# --- the blossom repair of 1-matchings (general_blossom) -----------------------------------------


def geometric_edges(rng: np.random.Generator, n: int, k: int, weights: str) -> list[Edge]:
    """Units in a square joined to their k nearest: many triangles, a fractional relaxation."""
    xy = rng.random((n, 2))
    d = np.linalg.norm(xy[:, None] - xy[None, :], axis=2)
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1)[:, :k]
    pairs = {(min(i, int(j)), max(i, int(j))) for i in range(n) for j in near[i]}
    out: list[Edge] = []
    for i, j in sorted(pairs):
        if weights == "decay":
            w: Any = float(np.exp(-d[i, j] / 0.1) * (0.5 + rng.random()))
        elif weights == "ties":
            w = int(rng.integers(1, 4))
        else:  # "equal": every matching of a size ties
            w = 1.0
        out.append((i, j, w))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_blossom_repair_on_geometric_graphs_against_networkx(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    searched = 0
    for weights in ("decay", "ties", "equal"):
        n = int(rng.integers(30, 160))
        edges = geometric_edges(rng, n, int(rng.integers(3, 9)), weights)
        for maxcardinality in (False, True):
            result = match_general(edges, maxcardinality=maxcardinality)
            check_general(result, edges, maxcardinality=maxcardinality)
            assert_same(result, nx_best(edges, maxcardinality), maxcardinality)
            extra = result.extra
            assert "blossom_failed" not in extra
            if extra.get("half_edges", 0):
                assert extra["blossom_searches"] >= 1 and extra["cpsat_edges"] == 0
                searched += 1
    assert searched >= 1


def test_blossom_repair_nests_and_expands_blossoms() -> None:
    # Larger geometric graphs make blossoms inside blossoms, and T blossoms that expand.
    rng = np.random.default_rng(77)
    totals = {"blossom_blossoms": 0, "blossom_expansions": 0}
    for _ in range(3):
        edges = geometric_edges(rng, 220, 8, "decay")
        result = match_general(edges)
        assert_same(result, nx_best(edges, False), False)
        for key in totals:
            totals[key] += int(result.extra.get(key, 0))
    assert totals["blossom_blossoms"] > 10 and totals["blossom_expansions"] > 0


def test_blossom_failure_falls_back_to_the_exact_cpsat_repair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pbmatch.solvers import general_blossom

    def broken(*args: Any) -> Any:
        raise SolverError("blossom check: made to fail")

    monkeypatch.setattr(general_blossom, "solve_warm", broken)
    rng = np.random.default_rng(78)
    edges = geometric_edges(rng, 60, 5, "decay")
    result = match_general(edges)
    assert_same(result, nx_best(edges, False), False)
    assert "made to fail" in result.extra["blossom_failed"]
    assert result.extra["half_edges"] > 0 and result.extra["rounds"] >= 1


def test_cpsat_statuses_map_through_the_one_table() -> None:
    from ortools.sat import cp_model_pb2

    from pbmatch.solvers.cpsat import cpsat_status
    from pbmatch.solvers.status import STATUS_TABLE, map_status

    names = list(cp_model_pb2.CpSolverStatus.keys())
    assert set(names) == {"UNKNOWN", "MODEL_INVALID", "FEASIBLE", "INFEASIBLE", "OPTIMAL"}
    for name in names:
        assert ("CpSolver", name) in STATUS_TABLE
        assert cpsat_status(name) == STATUS_TABLE[("CpSolver", name)]
        assert map_status("CpSolver", name) == (
            STATUS_TABLE[("CpSolver", name)],
            f"CpSolver status {name}",
        )
    assert cpsat_status("SOMETHING_NEW") == "error"
