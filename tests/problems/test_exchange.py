"""Exchange cycles: optimal against a scipy MILP over independently enumerated cycles, and
(swaps only) against networkx's maximum-weight matching of the mutual can-give graph."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

import pbmatch.problems.exchange as exchange
import pbmatch.solvers.cpsat as cpsat
from pbmatch import InputError, RegionGraph
from pbmatch.datasets import synthetic_district
from pbmatch.problems.exchange import enumerate_cycles, exchange_cycles, strong_components
from pbmatch.verify import verify_exchange


def reference(
    graph: RegionGraph, max_length: int, max_km: float | None = None
) -> tuple[int, float]:
    """(units, quantity) of the lexicographic optimum: networkx cycles + two HiGHS MILPs."""
    offers, needs = graph.offers, graph.needs
    digraph = nx.DiGraph()
    for a, b in itertools.permutations(range(len(graph)), 2):
        q = float(np.minimum(offers[a], needs[b]).sum())
        if q > 0:
            if max_km is not None:
                lat, lon = (
                    np.radians([graph.lat[a], graph.lat[b]]),
                    np.radians([graph.lon[a], graph.lon[b]]),
                )
                h = (
                    np.sin((lat[1] - lat[0]) / 2) ** 2
                    + np.cos(lat[0]) * np.cos(lat[1]) * np.sin((lon[1] - lon[0]) / 2) ** 2
                )
                if 2 * 6371.0088 * np.arcsin(np.sqrt(h)) > max_km:
                    continue
            digraph.add_edge(a, b, q=q)
    cycles = list(nx.simple_cycles(digraph, length_bound=max_length))
    if not cycles:
        return 0, 0.0
    size = np.array([len(c) for c in cycles], dtype=float)
    qty = np.array(
        [sum(digraph[c[i]][c[(i + 1) % len(c)]]["q"] for i in range(len(c))) for c in cycles]
    )
    member = np.zeros((len(graph), len(cycles)))
    for k, c in enumerate(cycles):
        member[c, k] = 1
    rows = LinearConstraint(member, 0, 1)
    ones = np.ones(len(cycles))
    first = milp(-size, constraints=rows, integrality=ones, bounds=Bounds(0, 1))
    units = round(-first.fun)
    second = milp(
        -qty,
        constraints=[rows, LinearConstraint(size[None, :], units, np.inf)],
        integrality=ones,
        bounds=Bounds(0, 1),
    )
    return units, float(-second.fun)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("max_length", [2, 3])
def test_optimal_against_milp(seed: int, max_length: int) -> None:
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=0)
    result = exchange_cycles(graph, max_length=max_length)
    assert result.status == "optimal"
    assert verify_exchange(result) == []
    units, quantity = reference(graph, max_length)
    assert result.objective == units
    assert result.quantity == pytest.approx(quantity)
    assert result.bound == units


@pytest.mark.parametrize("seed", range(4))
def test_lp_reduced_path_is_exact(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Force solve_set_packing's LP reduction (column generation + reduced-cost targets)."""
    monkeypatch.setattr(exchange, "LP_MIN_COLUMNS", 10**9)
    monkeypatch.setattr(cpsat, "DIRECT_MAX_COLUMNS", 3)
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=0)
    result = exchange_cycles(graph, max_length=3)
    assert result.extra["lp_bound"] is not None
    assert result.status == "optimal"
    assert verify_exchange(result) == []
    assert (result.objective, result.quantity) == pytest.approx(reference(graph, 3))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("max_length", [3, 4])
def test_reduced_path_is_exact(seed: int, max_length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the exchange's own reduction (LP duals with triple cuts, CP-SAT on what is left)."""
    monkeypatch.setattr(exchange, "LP_MIN_COLUMNS", 3)
    graph = synthetic_district(seed=seed, n_streets=1, n_townships=0)
    result = exchange_cycles(graph, max_length=max_length)
    assert result.extra["lp_bound"] is not None
    assert result.status == "optimal"
    assert verify_exchange(result) == []
    units, quantity = reference(graph, max_length)
    assert (result.objective, result.quantity) == pytest.approx((units, quantity))
    assert result.bound == units


def mutual_matching(graph: RegionGraph) -> tuple[int, float]:
    """(units, quantity) of the best swaps: networkx's max-cardinality max-weight matching."""
    offers, needs = graph.offers, graph.needs
    pairs = nx.Graph()
    for a, b in itertools.combinations(range(len(graph)), 2):
        ab = float(np.minimum(offers[a], needs[b]).sum())
        ba = float(np.minimum(offers[b], needs[a]).sum())
        if ab > 0 and ba > 0:
            pairs.add_edge(a, b, weight=ab + ba)
    matching = nx.max_weight_matching(pairs, maxcardinality=True)
    return 2 * len(matching), sum(pairs[a][b]["weight"] for a, b in matching)


@pytest.mark.parametrize("seed", range(12))
def test_swaps_against_networkx_matching(seed: int) -> None:
    """max_length=2 is a matching; networkx's answer has the same units and quantity."""
    graph = synthetic_district(seed=seed, n_streets=1 + seed % 2, n_townships=seed % 3 // 2)
    result = exchange_cycles(graph, max_length=2)
    assert result.status == "optimal"
    assert verify_exchange(result) == []
    assert all(len(cycle) == 2 for cycle in result.cycles)
    units, quantity = mutual_matching(graph)
    assert result.objective == units == result.bound
    assert result.quantity == pytest.approx(quantity)
    assert "matching" in result.message


def test_swaps_of_a_district() -> None:
    """The default district with swaps only (the case CP-SAT took minutes on)."""
    graph = synthetic_district(seed=0)
    result = exchange_cycles(graph, max_length=2)
    assert result.status == "optimal" and verify_exchange(result) == []
    units, quantity = mutual_matching(graph)
    assert result.objective == units
    assert result.quantity == pytest.approx(quantity)


def test_swap_components_next_to_cycles() -> None:
    """With max_km some components have swaps only (matched) and others longer cycles."""
    graph = synthetic_district(seed=1, n_streets=3, n_townships=0)
    result = exchange_cycles(graph, max_length=3, max_km=0.6)
    assert 0 < result.extra["swap_components"] < result.extra["components"]
    assert result.status == "optimal" and verify_exchange(result) == []
    assert (result.objective, result.quantity) == pytest.approx(reference(graph, 3, max_km=0.6))


def random_columns(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """A random packing: (nodes padded with n, weights ``per * size + rest``, n, rest)."""
    n = int(rng.integers(4, 12))
    k = int(rng.integers(3, 40))
    sizes = rng.integers(1, 4, size=k)
    nodes = np.full((k, 3), n, dtype=np.int64)
    for j, size in enumerate(sizes):
        nodes[j, :size] = rng.choice(n, size=min(int(size), n), replace=False)[:size]
    rest = rng.integers(0, 6, size=k)
    return nodes, (5 * n + 1) * (nodes < n).sum(axis=1) + rest, n, rest


def milp_packing(nodes: np.ndarray, weights: np.ndarray, n: int) -> float:
    """The best packing's weight by a HiGHS MILP."""
    k = weights.size
    a = np.zeros((n + 1, k))
    a[nodes.T, np.arange(k)] = 1
    res = milp(
        -weights.astype(float),
        constraints=LinearConstraint(a[:n], 0, 1),
        integrality=np.ones(k),
        bounds=Bounds(0, 1),
    )
    return float(-res.fun)


@pytest.mark.parametrize("seed", range(30))
def test_reduced_packing_against_milp(seed: int) -> None:
    """The dual proofs hold and the reduced packing is exact, with and without a cover."""
    rng = np.random.default_rng(seed)
    nodes, weights, n, _ = random_columns(rng)
    best = milp_packing(nodes, weights, n)
    duals, _ = exchange._packing_duals(nodes, weights, n)
    for dual in duals:  # every packing P: w(P) + slack(P) <= bound
        assert milp_packing(nodes, weights + dual.slack, n) <= dual.bound + 1e-6
    out = exchange._reduced_packing(nodes, weights, n, (5 * n + 1, 5 * n), None)
    assert out.status == "optimal" and out.objective == best and out.bound == best
    chosen = nodes[out.chosen]
    covered = chosen[chosen < n]
    assert covered.size == np.unique(covered).size  # disjoint
    assert int(weights[out.chosen].sum()) == best


def test_triple_cuts_tighten_the_triangle() -> None:
    """Three swaps ab, bc, ca: the LP takes each at 1/2; the triple cut allows one."""
    nodes = np.array([[0, 1], [1, 2], [0, 2]], dtype=np.int64)
    weights = np.array([10, 10, 10], dtype=np.int64)
    duals, message = exchange._packing_duals(nodes, weights, 3)
    assert duals[0].bound == pytest.approx(15.0, abs=1e-3)
    assert duals[-1].bound == pytest.approx(10.0, abs=1e-3)
    assert "1 triple cuts" in message


def test_time_limit_gives_a_verified_packing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reduced path stopped by its time limit still returns a packing (greedy at worst)."""
    monkeypatch.setattr(exchange, "LP_MIN_COLUMNS", 3)
    graph = synthetic_district(seed=2, n_streets=2, n_townships=0)
    result = exchange_cycles(graph, max_length=3, time_limit=0.001)
    assert result.status in ("optimal", "feasible")
    assert verify_exchange(result) == []
    assert result.bound is not None and result.objective <= result.bound


def packing_optimum(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, n: int) -> int:
    """The best packing's weight by a HiGHS MILP."""
    k = weights.size
    a = np.zeros((n, k))
    a[indices, np.repeat(np.arange(k), np.diff(indptr))] = 1
    res = milp(
        -weights.astype(float),
        constraints=LinearConstraint(a, 0, 1),
        integrality=np.ones(k),
        bounds=Bounds(0, 1),
    )
    return round(float(-res.fun))


@pytest.mark.parametrize("seed", range(30))
def test_lp_reduced_packing_against_milp(seed: int) -> None:
    """The LP-reduced packing (forced), with and without the element-count hint, is exact."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 12))
    k = int(rng.integers(3, 40))
    sizes = rng.integers(1, 4, size=k)
    cols = [np.sort(rng.choice(n, size=min(int(s), n), replace=False)) for s in sizes]
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum([c.size for c in cols], out=indptr[1:])
    indices = np.concatenate(cols).astype(np.int64)
    rest = rng.integers(0, 6, size=k)  # the later levels: at most 5 a column
    per = int(5 * n + 1)  # outweighs every packing's rest
    weights = (per * np.diff(indptr) + rest).astype(np.int64)
    best = packing_optimum(indptr, indices, weights, n)
    for hint in (None, (per, 5 * n)):
        out = cpsat.solve_set_packing(
            indptr, indices, weights, n, direct_max=0, element_weight=hint
        )
        assert out.status == "optimal" and out.objective == best and out.bound == best
        chosen = np.flatnonzero(out.chosen)
        parts = [indices[indptr[j] : indptr[j + 1]] for j in chosen]
        covered = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        assert covered.size == np.unique(covered).size  # disjoint
        assert int(weights[chosen].sum()) == best


def test_strong_components_match_networkx() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(1, 12))
        adj = rng.random((n, n)) < 0.2
        label = strong_components(adj)
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from((a, b) for a, b in zip(*np.nonzero(adj), strict=False))
        theirs = {frozenset(c) for c in nx.strongly_connected_components(graph)}
        ours = {frozenset(np.flatnonzero(label == k).tolist()) for k in np.unique(label)}
        assert ours == theirs
        firsts = [int(np.flatnonzero(label == k)[0]) for k in range(int(label.max(initial=-1)) + 1)]
        assert firsts == sorted(firsts)  # numbered by smallest node


def test_components_are_solved_apart() -> None:
    graph = synthetic_district(seed=5, n_streets=3, n_townships=0)
    result = exchange_cycles(graph, max_km=0.8)
    assert result.extra["components"] > 1
    assert result.status == "optimal" and verify_exchange(result) == []
    assert (result.objective, result.quantity) == pytest.approx(reference(graph, 3, max_km=0.8))


def test_max_km_and_units() -> None:
    graph = synthetic_district(seed=3, n_streets=2, n_townships=0)
    result = exchange_cycles(graph, max_km=1.0)
    assert verify_exchange(result) == []
    assert (result.objective, result.quantity) == pytest.approx(reference(graph, 3, max_km=1.0))
    street = [u.id for u in graph.units if graph.street_of(u.id) == "S1"]
    only = exchange_cycles(graph, units=street)
    assert set(only.units) <= set(street)
    assert verify_exchange(only) == []


def tiny_graph() -> RegionGraph:
    units = [
        {"id": "a", "kind": "agency", "region": "s", "offers": {"x": 2}, "needs": {"y": 1}},
        {"id": "b", "kind": "school", "region": "s", "offers": {"y": 3}, "needs": {"z": 2}},
        {"id": "c", "kind": "hospital", "region": "s", "offers": {"z": 1}, "needs": {"x": 5}},
        {"id": "d", "kind": "soe", "region": "s", "offers": {"y": 1}, "needs": {"x": 1}},
        {"id": "e", "kind": "social_org", "region": "s", "offers": {"w": 1}},
    ]
    return RegionGraph(units, [{"id": "s", "level": "street"}])


def test_brute_force_tiny() -> None:
    graph = tiny_graph()
    result = exchange_cycles(graph, max_length=3)
    assert verify_exchange(result) == []
    # a gives x to c, c gives z to b, b gives y to a: 3 units beat the swap a <-> d.
    assert result.cycles == [("a", "c", "b")]
    assert result.gives == [({"x": 2.0}, {"z": 1.0}, {"y": 1.0})]
    assert (result.objective, result.quantity) == (3, 4)
    two = exchange_cycles(graph, max_length=2)
    assert two.cycles == [("a", "d")]
    assert two.gives == [({"x": 1.0}, {"y": 1.0})]


def test_enumerate_cycles_matches_networkx() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(2, 9))
        adj = rng.random((n, n)) < 0.4
        for length in (2, 3, 4):
            ours = enumerate_cycles(adj, length)
            mine = {tuple(row[row >= 0].tolist()) for row in ours.nodes}
            graph = nx.DiGraph([(a, b) for a, b in zip(*np.nonzero(adj), strict=False) if a != b])
            theirs = set()
            for cycle in nx.simple_cycles(graph, length_bound=length):
                k = cycle.index(min(cycle))
                theirs.add(tuple(int(v) for v in cycle[k:] + cycle[:k]))
            assert mine == theirs
            assert len(mine) == len(ours)


def test_outputs() -> None:
    pd = pytest.importorskip("pandas")
    result = exchange_cycles(synthetic_district(seed=0, n_streets=1, n_townships=0))
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "cycle", "length", "step", "giver", "receiver", "category", "quantity",
    ]  # fmt: skip
    assert frame["quantity"].sum() == pytest.approx(result.quantity)
    assert "Exchange cycles" in result.report()
    assert result.raise_for_status() is result
    assert repr(result).startswith("ExchangeResult(")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_length": 1}, "max_length"),
        ({"max_length": "3"}, "max_length"),
        ({"max_km": -1.0}, "max_km"),
        ({"time_limit": 0}, "time_limit"),
        ({"units": "S1-U01"}, "units"),
        ({"units": ["nope"]}, "nope"),
        ({"units": ["S1-U01", "S1-U01"]}, "more than once"),
    ],
)
def test_bad_input(kwargs: dict[str, object], match: str) -> None:
    graph = synthetic_district(seed=0, n_streets=1, n_townships=0)
    with pytest.raises(InputError, match=match):
        exchange_cycles(graph, **kwargs)  # type: ignore[arg-type]
