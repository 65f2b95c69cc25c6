"""Co-building pairing on graphs: optimality against an LP, breakdowns, rules, reports."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

import pbmatch
from pbmatch import COMPONENTS, InputError, RegionGraph
from pbmatch.problems import pairing
from pbmatch.scoring.pairscore import PairScorer
from pbmatch.verify import verify_pairing


def lp_optimum(
    scores: np.ndarray,
    left_cap: np.ndarray,
    right_cap: np.ndarray,
    left_min: np.ndarray,
    right_min: np.ndarray,
) -> float:
    """Optimum of the b-matching LP (integral for bipartite graphs), by HiGHS."""
    rows, cols = np.nonzero(np.isfinite(scores))
    n, m, e = scores.shape[0], scores.shape[1], rows.size
    a_rows = np.zeros((n, e))
    a_rows[rows, np.arange(e)] = 1
    a_cols = np.zeros((m, e))
    a_cols[cols, np.arange(e)] = 1
    res = linprog(
        -scores[rows, cols],
        A_ub=np.vstack([a_rows, a_cols, -a_rows, -a_cols]),
        b_ub=np.concatenate([left_cap, right_cap, -left_min, -right_min]),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return float(-res.fun)


@pytest.mark.parametrize("seed", range(6))
def test_pairing_is_optimal_and_verified(seed: int) -> None:
    graph = pbmatch.synthetic_district(seed=seed, n_streets=2)
    result = pbmatch.pair(graph, max_km=3.0 if seed % 2 else None)
    assert result.status == "optimal"
    assert verify_pairing(result) == []
    left_cap = np.where(
        graph.max_partners[result.providers] >= 0, graph.max_partners[result.providers], 1
    )
    right_cap = np.where(
        graph.max_partners[result.receivers] >= 0, graph.max_partners[result.receivers], 26
    )
    scores = PairScorer(
        graph, result.providers, result.receivers, max_km=3.0 if seed % 2 else None
    ).dense()
    best = lp_optimum(
        scores,
        left_cap,
        right_cap,
        graph.min_partners[result.providers],
        graph.min_partners[result.receivers],
    )
    assert result.objective == pytest.approx(best, rel=1e-6, abs=1e-6)


def test_breakdown_sums_to_score_and_matches_dense_scores() -> None:
    graph = pbmatch.synthetic_district(seed=3)
    result = pbmatch.pair(graph)
    parts = sum(result.breakdown[c] for c in COMPONENTS)
    np.testing.assert_array_equal(parts, result.breakdown["score"])
    np.testing.assert_allclose(
        result.breakdown["score"], result.match.scores, rtol=1e-9, atol=1e-12
    )
    assert result.objective == pytest.approx(result.match.objective, rel=1e-9)


def test_to_pandas_columns() -> None:
    pd = pytest.importorskip("pandas")
    result = pbmatch.pair(pbmatch.synthetic_district(seed=1))
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["provider", "receiver", "score", *COMPONENTS, "distance_km"]
    assert len(frame) == len(result) > 0


def test_every_receiver_covered_and_report() -> None:
    result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    coverage = result.coverage()
    assert coverage["uncovered"] == []
    assert coverage["receivers_covered"] == coverage["receivers"]
    text = result.report()
    assert "optimal" in text and "全覆盖" in text and "Partners per receiver" in text


def test_to_networkx() -> None:
    result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    G = result.to_networkx()
    assert G.number_of_edges() == len(result)
    p, r = result.pairs[0]
    assert G.edges[p, r]["score"] == pytest.approx(result.breakdown["score"][0])


def small_graph(**receiver: object) -> RegionGraph:
    regions = [{"id": "D", "level": "district"}, {"id": "S", "level": "street", "parent": "D"}]
    units = [
        {"id": "a", "kind": "agency", "region": "S", "lat": 30.0, "lon": 120.0, "offers": {"x": 2}},
        {"id": "b", "kind": "school", "region": "S", "lat": 30.0, "lon": 120.3, "offers": {"x": 1}},
        {
            "id": "c",
            "kind": "community",
            "region": "S",
            "lat": 30.0,
            "lon": 120.01,
            "needs": {"x": 2},
            **receiver,
        },
        {
            "id": "v",
            "kind": "village",
            "region": "S",
            "lat": 30.0,
            "lon": 120.29,
            "needs": {"x": 1},
        },
    ]
    return RegionGraph.from_records(units=units, regions=regions)


def test_max_km_forbids_far_pairs_and_mins_can_make_it_infeasible() -> None:
    graph = small_graph(min_partners=2)
    result = pbmatch.pair(graph, max_km=5)
    assert result.status == "infeasible"
    with pytest.raises(pbmatch.InfeasibleError):
        result.raise_for_status()
    ok = pbmatch.pair(graph)
    assert ok.status == "optimal" and sorted(ok.pairs)[:2] == [("a", "c"), ("b", "c")]
    assert verify_pairing(ok) == []


def test_explicit_sides_never_pair_a_unit_with_itself() -> None:
    graph = small_graph()
    result = pbmatch.pair(graph, providers=["a", "c"], receivers=["c", "v"], receiver_max=2)
    assert all(p != r for p, r in result.pairs)
    assert verify_pairing(result) == []


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"providers": ["zz"]}, "'zz'"),
        ({"providers": "a"}, "providers"),
        ({"providers": ["a", "a"]}, "more than once"),
        ({"max_km": -1}, "max_km"),
        ({"provider_max": -1}, "provider_max"),
        ({"weights": "heavy"}, "weights"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], text: str) -> None:
    with pytest.raises(InputError, match=text):
        pbmatch.pair(small_graph(), **kwargs)  # type: ignore[arg-type]


def test_min_partners_above_default_capacity_names_the_unit() -> None:
    with pytest.raises(InputError, match=r"'c'.*min_partners 30.*receiver_max 26"):
        pbmatch.pair(small_graph(min_partners=30))


def test_deterministic() -> None:
    graph = pbmatch.synthetic_district(seed=5)
    a, b = pbmatch.pair(graph), pbmatch.pair(graph)
    assert a.pairs == b.pairs and a.objective == b.objective


# --- certified at every size -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_pairing_is_certified(seed: int) -> None:
    result = pbmatch.pair(pbmatch.synthetic_district(seed=seed))
    assert result.certified and result.match.certificate.duals is not None


def test_large_sides_go_through_blocks_and_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = pbmatch.synthetic_city(n_providers=600, n_receivers=150, n_districts=2, seed=3)
    dense = pbmatch.pair(graph, max_km=8.0)
    monkeypatch.setattr(pairing, "DENSE_PAIRS", 0)
    blocks = pbmatch.pair(graph, max_km=8.0)
    assert blocks.certified and blocks.match.method == "certified"
    assert blocks.objective == pytest.approx(dense.objective, rel=1e-12)
    assert verify_pairing(blocks) == []


class _ExactTopK:
    """A stand-in for the scoring layer's generator: the exact top k from the dense matrix."""

    def __init__(self, scorer: PairScorer, k: int) -> None:
        s = scorer.dense()
        rows_top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        cols_top = np.argsort(-s, axis=0, kind="stable")[:k, :]
        r = np.concatenate([np.repeat(np.arange(s.shape[0]), rows_top.shape[1]), cols_top.ravel()])
        c = np.concatenate([rows_top.ravel(), np.tile(np.arange(s.shape[1]), cols_top.shape[0])])
        keys = np.unique(r * s.shape[1] + c)
        self.rows, self.cols = keys // s.shape[1], keys % s.shape[1]
        self.scores = s[self.rows, self.cols]


def test_external_top_k_candidates_are_priced_by_their_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = pbmatch.synthetic_city(n_providers=500, n_receivers=120, n_districts=2, seed=4)
    dense = pbmatch.pair(graph)
    monkeypatch.setattr(pairing, "DENSE_PAIRS", 0)
    used: list[int] = []

    def fake(scorer: PairScorer, k: int) -> _ExactTopK:
        used.append(k)
        return _ExactTopK(scorer, k)

    monkeypatch.setattr(pairing, "_external_candidates", fake)
    result = pbmatch.pair(graph)
    assert used == [2 * pairing.SCALE_K] and result.certified
    assert result.objective == pytest.approx(dense.objective, rel=1e-12)


def test_topk_bounds_bound_every_pair_left_out() -> None:
    rng = np.random.default_rng(5)
    s = rng.random((40, 30))
    s[rng.random(s.shape) < 0.3] = -np.inf
    for k in (1, 3, 8):
        rows_top = np.argsort(-s, axis=1)[:, :k]
        cols_top = np.argsort(-s, axis=0)[:k, :]
        keep = np.zeros(s.shape, dtype=bool)
        keep[np.repeat(np.arange(40), k), rows_top.ravel()] = True
        keep[cols_top.ravel(), np.tile(np.arange(30), k)] = True
        r, c = np.nonzero(keep)
        row_bound, col_bound = pairing.topk_bounds(r, c, s[r, c], s.shape, k)
        left_out = ~keep & np.isfinite(s)
        assert (s <= row_bound[:, None])[left_out].all()
        assert (s <= col_bound[None, :])[left_out].all()
