"""Top-k candidates: the pruned algorithm against the plain definition on the dense matrix."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pbmatch
from pbmatch import InputError, RegionGraph, Weights
from pbmatch._progress import Progress
from pbmatch.datasets import synthetic_city
from pbmatch.scoring.candidates import Candidates, _top_k_pruned, top_k, top_k_dense
from pbmatch.scoring.pairscore import PairScorer

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROVIDER_KINDS = ("agency", "soe", "private_enterprise", "school", "hospital")


def random_graph(
    seed: int,
    *,
    n_providers: int = 30,
    n_receivers: int = 25,
    n_categories: int = 4,
    located: float = 0.9,
    integral: bool = True,
    ties: int = 5,
    extent_deg: float = 0.08,
) -> RegionGraph:
    """A small random graph: 2 districts × 2 streets × communities, random everything."""
    rng = np.random.default_rng(seed)
    regions: list[dict[str, Any]] = []
    communities: list[str] = []
    for d in range(2):
        regions.append({"id": f"D{d}", "level": "district"})
        for s in range(2):
            regions.append({"id": f"D{d}S{s}", "level": "street", "parent": f"D{d}"})
            for c in range(3):
                cid = f"D{d}S{s}C{c}"
                regions.append({"id": cid, "level": "community", "parent": f"D{d}S{s}"})
                communities.append(cid)
    cats = [f"c{t}" for t in range(n_categories)]

    def quantities(count: int) -> dict[str, float]:
        chosen = rng.choice(len(cats), size=min(count, len(cats)), replace=False)
        if integral:
            return {cats[t]: float(rng.integers(1, 6)) for t in chosen}
        return {cats[t]: float(np.round(rng.uniform(0.1, 5.0), 3)) for t in chosen}

    def place() -> dict[str, float]:
        if rng.random() >= located:
            return {}
        return {
            "lat": float(30.0 + rng.uniform(0, extent_deg)),
            "lon": float(120.0 + rng.uniform(0, extent_deg)),
        }

    units: list[dict[str, Any]] = []
    for t in range(n_receivers):
        units.append(
            {
                "id": f"r{t}",
                "kind": "community" if t % 3 else "village",
                "region": communities[int(rng.integers(len(communities)))],
                "needs": quantities(int(rng.integers(0, 4))),
                "offers": quantities(int(rng.integers(0, 2))),
                **place(),
            }
        )
    for t in range(n_providers):
        units.append(
            {
                "id": f"p{t}",
                "kind": PROVIDER_KINDS[int(rng.integers(len(PROVIDER_KINDS)))],
                "region": communities[int(rng.integers(len(communities)))],
                "offers": quantities(int(rng.integers(0, 4))),
                "needs": quantities(int(rng.integers(0, 2))),
                **place(),
            }
        )
    tie_list = []
    for _ in range(ties if n_providers and n_receivers else 0):
        a, b = int(rng.integers(n_providers)), int(rng.integers(n_receivers))
        tie_list.append({"a": f"p{a}", "b": f"r{b}"})
    unique = {(t["a"], t["b"]): t for t in tie_list}
    return RegionGraph.from_records(
        units=units, regions=regions, ties=list(unique.values()), categories=cats
    )


def sides(graph: RegionGraph) -> tuple[np.ndarray, np.ndarray]:
    receiver = np.isin(graph.kind_names, ["community", "village"])
    return np.flatnonzero(~receiver), np.flatnonzero(receiver)


def reference(scorer: PairScorer, k: int) -> Candidates:
    """The plain definition on the canonical float64 scores of every pair."""
    n, m = scorer.shape
    rows, cols = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    return top_k_dense(scorer.scores(rows, cols).reshape(n, m), k)


def assert_same(got: Candidates, want: Candidates) -> None:
    assert got.shape == want.shape
    got_pairs = set(zip(got.rows.tolist(), got.cols.tolist(), strict=True))
    want_pairs = set(zip(want.rows.tolist(), want.cols.tolist(), strict=True))
    assert got_pairs == want_pairs, (
        f"missing {sorted(want_pairs - got_pairs)[:5]}, extra {sorted(got_pairs - want_pairs)[:5]}"
    )
    np.testing.assert_array_equal(got.rows, want.rows)
    np.testing.assert_array_equal(got.cols, want.cols)
    np.testing.assert_array_equal(got.scores, want.scores)


# ---------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------
def test_candidates_sorts_and_freezes() -> None:
    c = Candidates(np.array([2, 0, 0]), np.array([1, 3, 1]), np.array([1.0, 2.0, 3.0]), (3, 4))
    assert c.rows.tolist() == [0, 0, 2] and c.cols.tolist() == [1, 3, 1]
    assert c.scores.tolist() == [3.0, 2.0, 1.0] and len(c) == 3
    with pytest.raises(ValueError):
        c.rows[0] = 5
    assert repr(c) == "Candidates(3 pairs, shape=(3, 4))"


@pytest.mark.parametrize(
    ("rows", "cols", "scores", "shape", "text"),
    [
        ([0, 0], [1, 1], [1.0, 2.0], (2, 2), "occurs twice"),
        ([0], [5], [1.0], (2, 2), "cols"),
        ([0, 1], [0], [1.0, 1.0], (2, 2), "one length"),
        ([0], [0], [np.nan], (2, 2), "NaN"),
        ([0.5], [0], [1.0], (2, 2), "integers"),
        ([0], [0], [1.0], (2,), "shape"),
    ],
)
def test_candidates_rejects_bad_input(
    rows: list[Any], cols: list[Any], scores: list[float], shape: Any, text: str
) -> None:
    with pytest.raises(InputError, match=text):
        Candidates(np.array(rows), np.array(cols), np.array(scores), shape)


def test_candidates_scipy_round_trip_keeps_zero_scores() -> None:
    pytest.importorskip("scipy")
    import scipy.sparse as sp

    c = Candidates(np.array([0, 1, 1]), np.array([2, 0, 1]), np.array([0.0, -1.5, 2.0]), (2, 3))
    for fmt in ("csr", "csc", "coo"):
        matrix = c.to_scipy(fmt)
        assert matrix.nnz == 3 and matrix.format == fmt
        back = Candidates.from_scipy(matrix)
        assert_same(back, c)
    assert_same(
        Candidates.from_scipy(sp.csr_matrix(c.to_scipy().toarray())),
        Candidates(np.array([1, 1]), np.array([0, 1]), np.array([-1.5, 2.0]), (2, 3)),
    )
    with pytest.raises(InputError, match=r"scipy\.sparse"):
        Candidates.from_scipy(np.eye(2))


# ---------------------------------------------------------------------------------------------
# The plain definition
# ---------------------------------------------------------------------------------------------
def test_top_k_dense_breaks_ties_by_lower_index() -> None:
    s = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [-np.inf, 0.0, -np.inf]])
    c = top_k_dense(s, 1)
    # rows keep their lowest column, columns their lowest row
    assert list(zip(c.rows.tolist(), c.cols.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (2, 1),
    ]
    assert len(top_k_dense(np.full((2, 2), -np.inf), 3)) == 0
    with pytest.raises(InputError, match="k"):
        top_k_dense(s, 0)


def test_top_k_dense_against_sorting_per_row_and_column() -> None:
    rng = np.random.default_rng(3)
    s = np.round(rng.normal(size=(20, 15)), 1)  # many ties
    s[rng.random(s.shape) < 0.2] = -np.inf
    k = 3
    want = set()
    for i in range(20):
        order = sorted((j for j in range(15) if np.isfinite(s[i, j])), key=lambda j: (-s[i, j], j))
        want |= {(i, j) for j in order[:k]}
    for j in range(15):
        order = sorted((i for i in range(20) if np.isfinite(s[i, j])), key=lambda i: (-s[i, j], i))
        want |= {(i, j) for i in order[:k]}
    c = top_k_dense(s, k)
    assert set(zip(c.rows.tolist(), c.cols.tolist(), strict=True)) == want


# ---------------------------------------------------------------------------------------------
# The pruned algorithm equals the plain definition
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("max_km", [None, 1.5, 6.0])
def test_city_top_k_equals_brute_force(seed: int, max_km: float | None) -> None:
    g = synthetic_city(seed, n_providers=260, n_receivers=240, n_districts=2, extent_km=12.0)
    s = PairScorer(g, *sides(g), max_km=max_km)
    for k in (1, 5):
        stats: dict[str, float] = {}
        got = _top_k_pruned(s, k, 2**30, False, stats)
        assert_same(got, reference(s, k))
        assert_same(got, top_k_dense(s.dense(), k))  # integral data: dense scores are exact
    assert stats["near_pairs"] < s.shape[0] * s.shape[1]  # the grid pruned something


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    n_providers=st.integers(0, 30),
    n_receivers=st.integers(0, 25),
    n_categories=st.integers(0, 5),
    located=st.sampled_from([1.0, 0.8, 0.0]),
    integral=st.booleans(),
    k=st.integers(1, 4),
    max_km=st.sampled_from([None, 0.5, 2.0, 50.0]),
    weights=st.sampled_from(
        [
            Weights(),
            Weights(distance=0.0),
            Weights(need_met=0.0, offer_used=0.0, kind=0.0),
            Weights(same_street=0.0, same_district=0.0, continuity=2.0, half_distance_km=0.3),
            Weights(category_weights={"c0": 0.3, "c1": 2.5, "c2": 0.0}, same_district=0.5),
        ]
    ),
)
def test_pruned_equals_definition_on_random_graphs(
    seed: int,
    n_providers: int,
    n_receivers: int,
    n_categories: int,
    located: float,
    integral: bool,
    k: int,
    max_km: float | None,
    weights: Weights,
) -> None:
    g = random_graph(
        seed,
        n_providers=n_providers,
        n_receivers=n_receivers,
        n_categories=n_categories,
        located=located,
        integral=integral,
    )
    s = PairScorer(g, *sides(g), weights, max_km=max_km)
    if min(s.shape) == 0:
        assert len(top_k(s, k)) == 0
        return
    got = _top_k_pruned(s, k, 2**30, False)
    assert_same(got, reference(s, k))
    np.testing.assert_array_equal(got.scores, s.breakdown(got.rows, got.cols)["score"])


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 3))
def test_overlapping_and_repeated_sides(seed: int, k: int) -> None:
    """A unit on both sides (self pairs are forbidden) and a unit listed twice."""
    g = random_graph(seed, n_providers=15, n_receivers=15)
    units = np.random.default_rng(seed).permutation(len(g))
    providers = np.concatenate([units[:20], units[:2]])
    receivers = units[10:]
    s = PairScorer(g, providers, receivers, max_km=None if seed % 2 else 3.0)
    got = _top_k_pruned(s, k, 2**30, False)
    assert_same(got, reference(s, k))
    assert not (s.providers[got.rows] == s.receivers[got.cols]).any()


def test_every_row_and_column_gets_its_candidates() -> None:
    g = synthetic_city(7, n_providers=400, n_receivers=300, n_districts=2)
    s = PairScorer(g, *sides(g))
    c = s.top_k(8)
    assert np.bincount(c.rows, minlength=s.shape[0]).min() >= 8
    assert np.bincount(c.cols, minlength=s.shape[1]).min() >= 8
    np.testing.assert_array_equal(c.scores, s.breakdown(c.rows, c.cols)["score"])


def test_small_inputs_and_large_k() -> None:
    g = random_graph(1, n_providers=6, n_receivers=4)
    s = PairScorer(g, *sides(g), max_km=2.0)
    assert_same(top_k(s, 10), reference(s, 10))  # k beyond the columns: every finite pair
    assert_same(_top_k_pruned(s, 10, 2**30, False), reference(s, 10))
    one = PairScorer(g, sides(g)[0][:1], sides(g)[1][:1])
    assert_same(top_k(one, 1), reference(one, 1))


def test_memory_budget_is_checked() -> None:
    g = synthetic_city(0, n_providers=300, n_receivers=300, n_districts=2)
    s = PairScorer(g, *sides(g))
    with pytest.raises(InputError, match="memory_budget"):
        s.top_k(4, memory_budget=100_000)
    with pytest.raises(InputError, match="memory_budget"):
        s.top_k(4, memory_budget=0)
    with pytest.raises(InputError, match="memory_budget"):
        s.dense(memory_budget=8 * 300 * 300 - 1)
    with pytest.raises(InputError, match="k is"):
        s.top_k(0)
    # A budget that forces small blocks gives the same answer.
    assert_same(s.top_k(4, memory_budget=6_000_000), s.top_k(4))


def test_progress_bar_reports_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    g = synthetic_city(2, n_providers=300, n_receivers=300, n_districts=2)
    s = PairScorer(g, *sides(g))
    s.top_k(3, progress=True)
    err = capsys.readouterr().err
    assert "top-k candidates" in err
    s.top_k(3)
    assert capsys.readouterr().err == ""
    out = io.StringIO()
    with Progress(2, "x", enabled=True, stream=out, use_tqdm=False) as bar:
        bar.add_total(1)
        bar.update(3)
    assert out.getvalue().rstrip().endswith("x: 3/3 (100%)")


def test_pair_uses_dense_scores_consistently() -> None:
    result = pbmatch.pair(pbmatch.synthetic_district(seed=4))
    scorer = PairScorer(result.graph, result.providers, result.receivers, result.weights)
    cand = scorer.top_k(5)
    chosen = set(zip(result.match.rows.tolist(), result.match.cols.tolist(), strict=True))
    # Most chosen pairs are among the candidates (the k best of their row or column).
    inside = chosen & set(zip(cand.rows.tolist(), cand.cols.tolist(), strict=True))
    assert len(inside) >= 0.5 * len(chosen)


# ---------------------------------------------------------------------------------------------
# The engine's parts: running top-k, fixed-point bounds, chunks, batches, threads, cut-offs
# ---------------------------------------------------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 6), size=st.integers(1, 12))
def test_running_top_k_equals_sorting(seed: int, k: int, size: int) -> None:
    from pbmatch.scoring.candidates import _TopK

    rng = np.random.default_rng(seed)
    acc = _TopK(size, k, batch=int(rng.integers(1, 40)))
    seen: list[list[float]] = [[] for _ in range(size)]
    for _ in range(int(rng.integers(1, 8))):
        if rng.random() < 0.5:  # values for any rows, repeats allowed
            idx = rng.integers(0, size, int(rng.integers(0, 30)))
            vals = rng.integers(-3, 4, idx.size).astype(np.float32)  # ties too
            acc.add(idx, vals)
            for i, v in zip(idx.tolist(), vals.tolist(), strict=True):
                seen[i].append(v)
        else:  # a matrix of values for distinct rows, -inf padded
            rows = rng.permutation(size)[: int(rng.integers(1, size + 1))]
            vals = rng.integers(-3, 4, (rows.size, int(rng.integers(1, 9)))).astype(np.float32)
            vals[rng.random(vals.shape) < 0.2] = -np.inf
            acc.merge(rows, vals)
            for i, row in zip(rows.tolist(), vals.tolist(), strict=True):
                seen[i].extend(v for v in row if v > -np.inf)
    want = [sorted(v, reverse=True)[k - 1] if len(v) >= k else -np.inf for v in seen]
    np.testing.assert_array_equal(acc.kth(), np.array(want, dtype=np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_fixed_point_bounds_are_upper_bounds(seed: int) -> None:
    from pbmatch.scoring.candidates import _Engine

    g = random_graph(seed, n_providers=40, n_receivers=35, n_categories=5, ties=12)
    weights = Weights(category_weights={"c0": 0.3, "c1": 2.5}, same_district=0.2)
    s = PairScorer(g, *sides(g), weights)
    engine = _Engine(s, 3, 2**30, False)
    n, m = s.shape
    cols = np.arange(m, dtype=np.int64)
    bound = engine._bound_block(0, n, cols).astype(np.float64) / engine.q_scale
    # Exact A + specials (everything but the distance) of the same pairs, internal order.
    i, j = np.repeat(engine.p_order, m), np.tile(engine.r_order, n)
    parts = s.breakdown(i, j)
    exact = (parts["score"] - parts["distance"]).reshape(n, m)
    assert np.all(bound >= exact - engine.eps)
    assert np.all(bound <= exact + 0.01 * engine.span + engine.w["offer_used"] + 1e-3)


@pytest.mark.parametrize("max_km", [None, 2.0])
def test_chunks_batches_and_threads_change_nothing(
    max_km: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pbmatch.scoring.candidates as module

    g = synthetic_city(3, n_providers=300, n_receivers=280, n_districts=2, extent_km=8.0)
    s = PairScorer(g, *sides(g), max_km=max_km)
    want = reference(s, 4)
    for chunk, batch, threads in [(2**19, 64, 2), (2**10, 1, 2), (2**12, 3, 1)]:
        monkeypatch.setattr(module, "_CHUNK_BYTES", chunk)
        monkeypatch.setattr(module, "_FAR_BATCH", batch)
        monkeypatch.setattr(module, "_THREADS", threads)
        stats: dict[str, float] = {}
        assert_same(_top_k_pruned(s, 4, 2**30, False, stats), want)
        assert stats["seed_pairs"] > 0


@pytest.mark.parametrize("near_span", [0.0, 4.0, 100.0])
def test_cut_off_near_or_far(near_span: float, monkeypatch: pytest.MonkeyPatch) -> None:
    # A cut-off beyond the near radius: scanned by the far pass (0.0) or made the near
    # radius (a cut-off within a few near radii): the same candidates.
    import pbmatch.scoring.candidates as module

    monkeypatch.setattr(module, "_NEAR_SPAN", near_span)
    g = synthetic_city(5, n_providers=260, n_receivers=240, n_districts=2, extent_km=12.0)
    s = PairScorer(g, *sides(g), max_km=5.0)
    stats: dict[str, float] = {}
    assert_same(_top_k_pruned(s, 3, 2**30, False, stats), reference(s, 3))
    assert (stats["rho"] == 5.0) == (near_span > 0)
    assert ("far_groups" in stats) == (near_span == 0)


def test_threads_follow_the_memory_budget() -> None:
    from pbmatch.scoring.candidates import _Engine

    g = synthetic_city(0, n_providers=300, n_receivers=300, n_districts=2)
    s = PairScorer(g, *sides(g))
    engine = _Engine(s, 4, 2**30, False)
    assert engine.threads == 2
    # A budget that holds one block's temporaries but not two: one thread, same answer.
    largest = int(np.max(engine.block_stop - engine.block_start))
    one = engine.fixed_bytes + (8 * engine.table.shape[0] + 24 * largest) * engine.widest
    assert _Engine(s, 4, one, False).threads == 1
    assert _Engine(s, 4, 2 * one - engine.fixed_bytes, False).threads == 2
    assert_same(_top_k_pruned(s, 4, one, False), reference(s, 4))


def test_widest_block_counts_every_receiver_a_block_scans() -> None:
    # The receivers of a block's near cells and of its providers' streets, at most all.
    from pbmatch.scoring.candidates import _Engine, _ranges

    g = synthetic_city(4, n_providers=300, n_receivers=280, n_districts=2, extent_km=60.0)
    s = PairScorer(g, *sides(g))
    engine = _Engine(s, 4, 2**30, False)
    widest = 0
    for block in range(engine.block_start.size):
        cells, _ = engine._near_cells(block, engine.rho)
        cols, _ = _ranges(engine.cell_start[cells], engine.cell_stop[cells])
        streets = engine.street_p[engine.block_start[block] : engine.block_stop[block]]
        on_street = np.isin(engine.street_r, streets[streets >= 0])
        widest = max(widest, cols.size + int(on_street.sum()))
    assert engine.widest == min(s.shape[1], widest)
    assert 0 < engine.widest < s.shape[1]


def test_select_of_shuffled_pairs_equals_the_definition() -> None:
    # Pairs in any order (as the passes collect them) give the plain definition's result:
    # ties broken by the lower index, whatever the order they came in.
    from pbmatch.scoring.candidates import _select

    rng = np.random.default_rng(11)
    for _ in range(60):
        n, m = (int(x) for x in rng.integers(1, 14, size=2))
        s = np.round(rng.normal(size=(n, m)), 1)  # many ties
        s[rng.random(s.shape) < 0.2] = -np.inf
        k = int(rng.integers(1, 5))
        rows, cols = np.nonzero(s > -np.inf)
        perm = rng.permutation(rows.size)
        rows, cols = rows[perm].astype(np.int64), cols[perm].astype(np.int64)
        assert_same(_select(rows, cols, s[rows, cols], k, (n, m)), top_k_dense(s, k))


def test_covered_pairs_are_the_near_pass_cells() -> None:
    # Which pairs the near pass scanned: the same street, or a cell within the near radius of
    # the provider's block (the definition by box gaps, pair by pair).
    from pbmatch.scoring.candidates import _box_gap, _Engine

    g = synthetic_city(2, n_providers=300, n_receivers=280, n_districts=2, extent_km=60.0)
    s = PairScorer(g, *sides(g))
    engine = _Engine(s, 4, 2**30, False)
    n, m = s.shape
    i, j = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    expected = (engine.street_p[i] == engine.street_r[j]) & (engine.street_p[i] >= 0)
    block, cell = engine.block_of[i], engine.cell_of[j]
    both = (block >= 0) & (cell >= 0)
    b, c = block[both], cell[both]
    rows = engine.cell_row[c]
    inside = (rows >= engine.block_rows[0][b] - engine.reach_rows) & (
        rows <= engine.block_rows[1][b] + engine.reach_rows
    )
    gap = _box_gap(engine.block_lo[b], engine.block_hi[b], engine.cell_lo[c], engine.cell_hi[c])
    expected[both] |= inside & (gap <= engine.rho)
    covered = engine._covered(i, j)
    assert np.array_equal(covered, expected)
    assert 0 < covered.sum() < covered.size


def test_scores_in_chunks_are_the_block_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    # PairScorer.scores works in cache-sized chunks: the same bits in any chunks, and the
    # dense block's bits when the sums are exact (whole-number quantities).
    import pbmatch.scoring.pairscore as module

    rng = np.random.default_rng(0)
    for integral in (True, False):
        g = random_graph(3, n_providers=40, n_receivers=35, integral=integral)
        s = PairScorer(g, *sides(g))
        n, m = s.shape
        rows, cols = rng.integers(0, n, 3000), rng.integers(0, m, 3000)
        monkeypatch.setattr(module, "_PAIR_CHUNK", 1 << 20)
        monkeypatch.setattr(module, "_SCORE_CHUNK", 1 << 20)
        whole = s.scores(rows, cols)
        if integral:
            assert np.array_equal(whole, s.dense()[rows, cols])
        for pair_chunk, score_chunk in [(1 << 13, 1 << 15), (7, 50), (1, 1)]:
            monkeypatch.setattr(module, "_PAIR_CHUNK", pair_chunk)
            monkeypatch.setattr(module, "_SCORE_CHUNK", score_chunk)
            assert np.array_equal(s.scores(rows, cols), whole)
