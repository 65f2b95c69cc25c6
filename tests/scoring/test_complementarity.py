"""Tests of :mod:`pbmatch.scoring.complementarity` against the plain definition.

Every path (packed levels in place or gathered, several packing widths, dyadic scaling,
compacted need columns, unpacked float levels, direct, skipped categories) is forced by the
data or by ``method`` and checked against ``Σ_c w_c · min(offers[i, c], needs[j, c])``
computed by the broadcast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbmatch.exceptions import InputError
from pbmatch.scoring.complementarity import ComplementarityKernel, complementarity

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
METHODS = ("auto", "table", "levels", "direct")


def reference(offers: Any, needs: Any, weights: Any = None) -> np.ndarray:
    """The definition, by broadcast, in float64."""
    o = np.asarray(offers, dtype=np.float64)
    n = np.asarray(needs, dtype=np.float64)
    w = np.ones(o.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    return (np.minimum(o[:, None, :], n[None, :, :]) * w).sum(axis=-1)


def magnitude(offers: Any, needs: Any, weights: Any = None) -> np.ndarray:
    """``Σ_c |w_c| · min(...)``: the scale the float error is relative to."""
    w = None if weights is None else np.abs(np.asarray(weights, dtype=np.float64))
    return reference(offers, needs, w)


def check(result: np.ndarray, offers: Any, needs: Any, weights: Any = None, exact: bool = False):
    """Compare with the definition: exactly, or within the documented float error."""
    o = np.asarray(offers.toarray() if sp.issparse(offers) else offers)
    n = np.asarray(needs.toarray() if sp.issparse(needs) else needs)
    w = None if weights is None else np.asarray(weights).astype(result.dtype)
    expected = reference(o, n, w)
    assert result.shape == expected.shape
    if exact:
        np.testing.assert_array_equal(result, expected)
        return
    eps = np.finfo(result.dtype).eps
    n_terms = 4 * (o.shape[1] * (o.shape[0] + n.shape[0]) + 8)  # ≥ levels + categories
    tol = n_terms * eps * magnitude(o, n, w) + np.finfo(result.dtype).tiny
    assert np.all(np.abs(result - expected) <= tol), np.max(np.abs(result - expected))


# ------------------------------------------------------------------------- strategies


@st.composite
def quantity_pair(draw: st.DrawFn, kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """offers (n, C) and needs (m, C), sparse-ish, with values of one kind."""
    n = draw(st.integers(0, 9))
    m = draw(st.integers(0, 9))
    c = draw(st.integers(0, 5))
    kind = kind or draw(st.sampled_from(["small", "quarters", "continuous", "large", "mixed"]))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.2, 0.5, 1.0]))
    rng = np.random.default_rng(seed)

    def make(rows: int) -> np.ndarray:
        if kind == "small":
            x = rng.integers(0, 11, (rows, c)).astype(np.float64)
        elif kind == "quarters":
            x = rng.integers(0, 41, (rows, c)) / 4.0
        elif kind == "continuous":
            x = rng.random((rows, c)) * 10.0
        elif kind == "large":
            x = rng.integers(0, 100_000, (rows, c)).astype(np.float64)
        else:  # integer in some categories, continuous in the others
            x = rng.integers(0, 6, (rows, c)).astype(np.float64)
            cont = rng.random(c) < 0.5
            x[:, cont] = rng.random((rows, int(cont.sum()))) * 3.0
        x[rng.random((rows, c)) >= density] = 0.0
        return x

    return make(n), make(m)


def weights_for(draw: st.DrawFn, c: int, integral: bool) -> np.ndarray | None:
    choice = draw(st.sampled_from(["none", "int", "float", "negative"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if choice == "none":
        return None
    if choice == "int" or integral:
        return rng.integers(0, 4, c).astype(np.float64)
    if choice == "negative":
        return rng.integers(-3, 4, c) * 0.5
    return rng.random(c) * 3.0


# ------------------------------------------------------------------------- properties


@SETTINGS
@given(data=st.data(), pair=quantity_pair(), method=st.sampled_from(METHODS))
def test_matches_definition_float64(data: st.DataObject, pair: Any, method: str) -> None:
    offers, needs = pair
    weights = weights_for(data.draw, offers.shape[1], integral=False)
    result = complementarity(offers, needs, weights, method=method)
    assert result.dtype == np.float64
    check(result, offers, needs, weights)


@SETTINGS
@given(data=st.data(), pair=quantity_pair(), method=st.sampled_from(METHODS))
def test_matches_definition_float32(data: st.DataObject, pair: Any, method: str) -> None:
    offers, needs = (x.astype(np.float32) for x in pair)
    weights = weights_for(data.draw, offers.shape[1], integral=False)
    result = complementarity(offers, needs, weights, method=method)
    assert result.dtype == np.float32
    check(result, offers, needs, weights)


@SETTINGS
@given(
    data=st.data(),
    pair=quantity_pair(kind="small"),
    method=st.sampled_from(METHODS),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
)
def test_whole_numbers_are_exact(data: st.DataObject, pair: Any, method: str, dtype: Any) -> None:
    offers, needs = (x.astype(dtype) for x in pair)
    weights = weights_for(data.draw, offers.shape[1], integral=True)
    result = complementarity(offers, needs, weights, method=method)
    assert result.dtype == (np.float32 if dtype == np.float32 else np.float64)
    check(result, offers, needs, weights, exact=True)


@SETTINGS
@given(
    pair=quantity_pair(),
    fmt=st.sampled_from(["csr_matrix", "csc_matrix", "coo_matrix", "csr_array"]),
    method=st.sampled_from(METHODS),
)
def test_sparse_inputs(pair: Any, fmt: str, method: str) -> None:
    offers, needs = pair
    sparse_offers = getattr(sp, fmt)(offers)
    result = complementarity(sparse_offers, getattr(sp, fmt)(needs), method=method)
    check(result, offers, needs)
    dense = complementarity(offers, needs, method=method)
    np.testing.assert_allclose(result, dense, rtol=1e-12, atol=1e-12)
    assert ComplementarityKernel(sparse_offers, needs).nbytes > 0


@SETTINGS
@given(pair=quantity_pair(), data=st.data())
def test_blocks_assemble_the_matrix(pair: Any, data: st.DataObject) -> None:
    offers, needs = pair
    kernel = ComplementarityKernel(offers, needs)
    n = offers.shape[0]
    cut = data.draw(st.integers(0, n))
    top, bottom = kernel.block(0, cut), kernel.block(cut, n)
    assert top.shape == (cut, needs.shape[0]) and bottom.shape == (n - cut, needs.shape[0])
    np.testing.assert_allclose(np.vstack([top, bottom]), kernel.full(), rtol=1e-12, atol=1e-12)
    check(np.vstack([top, bottom]), offers, needs)


# ------------------------------------------------------------------------- forced paths


def sparse_integers(rng: np.random.Generator, rows: int, c: int, density: float, high: int):
    x = rng.integers(1, high + 1, (rows, c)).astype(np.float64)
    x[rng.random((rows, c)) >= density] = 0.0
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_levels_in_place(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    offers = sparse_integers(rng, 1300, 8, 0.3, 10).astype(dtype)  # > one 1024-row step
    needs = sparse_integers(rng, 70, 8, 0.3, 10).astype(dtype)
    kernel = ComplementarityKernel(offers, needs, method="levels")
    assert kernel.packed and kernel.plan["levels"] == tuple(range(8))
    assert kernel.plan["direct"] == () and kernel._columns is None
    check(kernel.full(), offers, needs, exact=True)


def test_packed_levels_with_several_widths() -> None:
    # Most rows need 6 bits (4 rows per float32); a few need 8, 12 and 24 bits.
    rng = np.random.default_rng(2)
    offers = sparse_integers(rng, 300, 6, 0.3, 5)
    needs = sparse_integers(rng, 40, 6, 0.5, 5)
    offers[7] = [200, 0, 0, 0, 0, 0]
    offers[8] = [3000, 1, 0, 0, 0, 0]
    offers[9] = [2_000_000, 0, 0, 0, 0, 2]
    needs[3, 0] = 5_000_000
    kernel = ComplementarityKernel(offers, needs, method="levels")
    assert kernel.packed
    from pbmatch.scoring.complementarity import _width_classes

    assert {6, 8, 12, 24} <= set(_width_classes(kernel._row_bounds).tolist())
    check(kernel.full(), offers, needs, exact=True)
    check(kernel.block(5, 11), offers[5:11], needs, exact=True)


def test_packed_levels_gathered_rows_and_compacted_columns() -> None:
    # Most offer rows and need rows are empty: rows are gathered, columns compacted.
    rng = np.random.default_rng(3)
    offers = sparse_integers(rng, 200, 5, 0.3, 7)
    needs = sparse_integers(rng, 60, 5, 0.3, 7)
    offers[rng.random(200) < 0.7] = 0
    needs[rng.random(60) < 0.6] = 0
    kernel = ComplementarityKernel(offers, needs, method="levels")
    assert kernel.packed and kernel._columns is not None
    check(kernel.full(), offers, needs, exact=True)
    check(kernel.block(10, 150), offers[10:150], needs, exact=True)


def test_dyadic_quantities_are_scaled_exactly() -> None:
    rng = np.random.default_rng(4)
    offers = rng.integers(0, 9, (50, 4)) / 4.0  # quarter hours
    needs = rng.integers(0, 9, (30, 4)) / 4.0
    weights = np.array([0.5, 1.0, 2.0, 1.5])
    kernel = ComplementarityKernel(offers, needs, weights, method="levels")
    assert kernel.packed and kernel._scale_factor == 8.0
    check(kernel.full(), offers, needs, weights, exact=True)
    table = ComplementarityKernel(offers, needs, weights, method="table")
    assert table._table is not None and table._table.dtype == np.uint8
    assert table._table_scale == 8.0
    check(table.full(), offers, needs, weights, exact=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unpacked_float_levels(dtype: Any) -> None:
    rng = np.random.default_rng(5)
    offers = sparse_integers(rng, 40, 4, 0.5, 6).astype(dtype)
    needs = sparse_integers(rng, 30, 4, 0.5, 6).astype(dtype)
    weights = np.array([0.1, 0.37, 1.0, 2.9])
    kernel = ComplementarityKernel(offers, needs, weights, method="levels")
    assert not kernel.packed and kernel.plan["levels"] == (0, 1, 2, 3)
    assert kernel._b.dtype == dtype
    check(kernel.full(), offers, needs, weights)


def test_huge_whole_numbers_fall_back_to_unpacked_levels() -> None:
    offers = np.array([[3e7, 1.0], [5.0, 0.0]])
    needs = np.array([[4e7, 2.0], [1.0, 1.0]])
    kernel = ComplementarityKernel(offers, needs, method="levels")
    assert not kernel.packed
    check(kernel.full(), offers, needs, exact=True)


@pytest.mark.parametrize("continuous", ["offers", "needs"])
def test_one_sided_grid_uses_the_side_with_fewer_values(continuous: str) -> None:
    # One side continuous, the other whole numbers: one level per distinct whole value,
    # the continuous side encoded as ramps.
    rng = np.random.default_rng(6)
    smooth = rng.random((60, 3)) * 5
    whole = rng.integers(0, 4, (50, 3)).astype(np.float64)
    offers, needs = (smooth, whole) if continuous == "offers" else (whole, smooth)
    kernel = ComplementarityKernel(offers, needs, method="levels")
    assert kernel.n_levels <= 9 and not kernel.packed
    check(kernel.full(), offers, needs)


@pytest.mark.parametrize("ramp", ["offers", "needs"])
def test_one_sided_grid_packed_with_quarters(ramp: str) -> None:
    rng = np.random.default_rng(12)
    fine = rng.integers(0, 41, (70, 3)) / 4.0  # quarter hours: many distinct values
    coarse = rng.integers(0, 5, (60, 3)).astype(np.float64)
    offers, needs = (fine, coarse) if ramp == "offers" else (coarse, fine)
    weights = np.array([1.0, 0.5, 3.0])
    kernel = ComplementarityKernel(offers, needs, weights, method="levels")
    assert kernel.packed and kernel._scale_factor == 8.0 and kernel.n_levels <= 12
    check(kernel.full(), offers, needs, weights, exact=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_path_chosen_for_continuous_values(dtype: Any) -> None:
    rng = np.random.default_rng(7)
    offers = (rng.random((600, 3)) * (rng.random((600, 3)) < 0.3)).astype(dtype)
    needs = (rng.random((400, 3)) * (rng.random((400, 3)) < 0.3)).astype(dtype)
    weights = np.array([1.0, 0.3, 2.0])
    kernel = ComplementarityKernel(offers, needs, weights)
    assert kernel.plan["direct"] == (0, 1, 2) and kernel.n_levels == 0
    check(kernel.full(), offers, needs, weights)
    check(kernel.block(250, 600), offers[250:600], needs, weights)


def test_levels_and_direct_in_one_kernel() -> None:
    rng = np.random.default_rng(8)
    offers = sparse_integers(rng, 500, 4, 0.3, 5)
    needs = sparse_integers(rng, 500, 4, 0.3, 5)
    offers[:, 2] = rng.random(500) * (rng.random(500) < 0.3)
    needs[:, 2] = rng.random(500) * (rng.random(500) < 0.3)
    kernel = ComplementarityKernel(offers, needs, method="levels")
    assert kernel.plan["levels"] == (0, 1, 2, 3) and not kernel.packed
    check(kernel.full(), offers, needs)
    kernel = ComplementarityKernel(offers, needs)
    assert kernel.plan["direct"] == (2,) and kernel.plan["table"] == (0, 1, 3)
    check(kernel.full(), offers, needs)


def test_table_levels_and_direct_in_one_kernel() -> None:
    # Dense yes/no categories are cheapest as packed levels, sparse counts with many values
    # as tables, sparse continuous quantities directly: all three add into one block.
    rng = np.random.default_rng(13)
    n, m = 700, 600
    offers = np.hstack(
        [
            rng.integers(0, 2, (n, 10)),
            sparse_integers(rng, n, 10, 0.2, 40),
            rng.random((n, 1)) * (rng.random((n, 1)) < 0.05),
        ]
    )
    needs = np.hstack(
        [
            rng.integers(0, 2, (m, 10)),
            sparse_integers(rng, m, 10, 0.2, 40),
            rng.random((m, 1)) * (rng.random((m, 1)) < 0.05),
        ]
    )
    kernel = ComplementarityKernel(offers, needs)
    assert kernel.plan["levels"] == tuple(range(10)) and kernel.packed
    assert kernel.plan["table"] == tuple(range(10, 20))
    assert kernel.plan["direct"] == (20,)
    check(kernel.full(), offers, needs)
    check(kernel.block(13, 480), offers[13:480], needs)
    whole = ComplementarityKernel(offers[:, :20], needs[:, :20])
    check(whole.full(), offers[:, :20], needs[:, :20], exact=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("top", "lane"), [(10, np.uint8), (300, np.uint16), (200_000, np.uint32), (2**40, np.uint64)]
)
def test_table_lanes_are_exact(dtype: Any, top: int, lane: Any) -> None:
    # The narrowest unsigned accumulator that holds every row's largest possible score.
    rng = np.random.default_rng(14)
    offers = sparse_integers(rng, 90, 6, 0.4, 5)
    needs = sparse_integers(rng, 80, 6, 0.4, 5)
    offers[3, 2] = needs[5, 2] = top
    if dtype == np.float32 and top > 2**24:
        offers[3, 2] = needs[5, 2] = 2**24  # whole numbers float32 holds
        lane = np.uint32
    offers, needs = offers.astype(dtype), needs.astype(dtype)
    kernel = ComplementarityKernel(offers, needs, method="table")
    assert kernel._table is not None and kernel._table.dtype == lane
    check(kernel.full(), offers, needs, exact=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_table_in_the_result_dtype(dtype: Any) -> None:
    # Weights that are not binary fractions: the table holds w · min rounded once, and the
    # sum runs in the result dtype (the broadcast's kind of error).
    rng = np.random.default_rng(15)
    offers = sparse_integers(rng, 120, 5, 0.3, 8).astype(dtype)
    needs = (rng.random((70, 5)) * 8 * (rng.random((70, 5)) < 0.3)).astype(dtype)
    weights = np.array([0.1, 0.7, 1.3, 2.9, -0.4])
    kernel = ComplementarityKernel(offers, needs, weights, method="table")
    assert kernel._table is not None and kernel._table.dtype == dtype
    check(kernel.full(), offers, needs, weights)
    check(kernel.block(7, 100), offers[7:100], needs, weights)


@pytest.mark.parametrize("method", METHODS)
def test_blocks_without_quantities(method: str) -> None:
    # Offer rows 0..399 are empty: blocks there produce zeros on every path.
    rng = np.random.default_rng(10)
    offers = sparse_integers(rng, 700, 3, 0.4, 4)
    offers[:400] = 0
    offers[400:, 1] = rng.random(300)  # continuous: direct in "auto" too
    needs = sparse_integers(rng, 300, 3, 0.4, 4)
    needs[:, 1] = rng.random(300)
    kernel = ComplementarityKernel(offers, needs, method=method)
    if method == "direct":
        assert kernel.plan["direct"] == (0, 1, 2)
    np.testing.assert_array_equal(kernel.block(0, 400), np.zeros((400, 300)))
    check(kernel.full(), offers, needs)


@pytest.mark.parametrize("kind", ["packed", "gathered", "plain", "direct", "table", "scaled"])
def test_steps_and_threads(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Force several row steps and the two-thread split on every path.
    import pbmatch.scoring.complementarity as module

    monkeypatch.setattr(module, "_PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(module, "_STEP_BYTES", 2**12)
    monkeypatch.setattr(module, "_TABLE_BLOCK_BYTES", 2**10)
    rng = np.random.default_rng(11)
    offers = sparse_integers(rng, 1100, 4, 0.4, 6)
    needs = sparse_integers(rng, 90, 4, 0.4, 6)
    offers[rng.random(1100) < 0.1] = 0
    weights = None
    method: Any = {"plain": "levels", "table": "table", "scaled": "table"}.get(kind, kind)
    if kind in ("packed", "gathered"):
        method = "levels"
    if kind == "gathered":
        offers[rng.random(1100) < 0.8] = 0
    elif kind == "plain":
        weights = np.array([0.3, 1.0, 2.5, 0.7])
    elif kind == "scaled":
        weights = np.array([0.25, 1.0, 2.5, 0.75])
    kernel = ComplementarityKernel(offers, needs, weights, method=method)
    assert kernel._step == (256 if method == "levels" else 1100)
    assert kernel.packed == (kind in ("packed", "gathered"))
    if kind in ("table", "scaled"):
        assert kernel._t_rows == 11 and kernel._table_scale == (4.0 if kind == "scaled" else 1.0)
    check(kernel.full(), offers, needs, weights, exact=kind != "plain")
    check(kernel.block(3, 1001), offers[3:1001], needs, weights, exact=kind != "plain")


def test_skipped_categories() -> None:
    offers = np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 0.0]])
    needs = np.array([[2.0, 5.0, 4.0]])
    kernel = ComplementarityKernel(offers, needs, weights=[0.0, 1.0, 1.0])
    assert kernel.plan["skipped"] == (0, 2)
    np.testing.assert_array_equal(kernel.full(), [[2.0], [1.0]])


@pytest.mark.parametrize("method", METHODS)
def test_edge_shapes(method: str) -> None:
    assert (
        complementarity(np.zeros((3, 0)), np.zeros((2, 0)), method=method).tolist()
        == [[0.0, 0.0]] * 3
    )
    assert complementarity(np.zeros((0, 4)), np.ones((5, 4)), method=method).shape == (0, 5)
    assert complementarity(np.ones((5, 4)), np.zeros((0, 4)), method=method).shape == (5, 0)
    assert complementarity(np.zeros((0, 0)), np.zeros((0, 0)), method=method).shape == (0, 0)
    one = complementarity(np.array([[2.0, 3.0]]), np.array([[5.0, 1.0]]), method=method)
    np.testing.assert_array_equal(one, [[3.0]])
    zeros = complementarity(np.zeros((4, 3)), np.ones((2, 3)), method=method)
    np.testing.assert_array_equal(zeros, np.zeros((4, 2)))


@pytest.mark.parametrize(
    ("dtype_o", "dtype_n", "expected"),
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, np.float64),
        (np.int64, np.int32, np.float64),
        (np.int64, np.float32, np.float64),
        (np.uint8, np.uint8, np.float64),
        (np.bool_, np.bool_, np.float64),
        (np.float16, np.float32, np.float32),
    ],
)
def test_result_dtype(dtype_o: Any, dtype_n: Any, expected: Any) -> None:
    offers = np.array([[1, 0, 2]], dtype=dtype_o)
    needs = np.array([[1, 1, 1], [0, 1, 0]], dtype=dtype_n)
    result = complementarity(offers, needs)
    assert result.dtype == expected
    np.testing.assert_array_equal(result, [[2.0, 0.0]])


def test_deterministic_and_block_out() -> None:
    rng = np.random.default_rng(9)
    offers = rng.random((120, 5)).astype(np.float32) * 3
    needs = rng.random((90, 5)).astype(np.float32) * 3
    first = complementarity(offers, needs)
    np.testing.assert_array_equal(first, complementarity(offers, needs))
    kernel = ComplementarityKernel(offers, needs)
    buffer = np.full((20, 90), np.nan, dtype=np.float32)
    assert kernel.block(30, 50, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, kernel.block(30, 50))
    assert kernel.nbytes >= 0


def test_sparse_explicit_zeros_and_duplicates() -> None:
    offers = sp.coo_matrix(([2.0, 1.0, 0.0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    needs = sp.csr_matrix(np.array([[5.0, 5.0]]))
    np.testing.assert_array_equal(complementarity(offers, needs), [[3.0], [0.0]])


def test_scipy_not_imported_for_dense_inputs() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from pbmatch.scoring.complementarity import complementarity\n"
        "complementarity(np.ones((2, 2)), np.ones((3, 2)))\n"
        "print('scipy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["offers", "needs"])
@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        (-3.0, ["is negative", "-3.0"]),
        (np.nan, ["not finite", "nan"]),
        (np.inf, ["not finite", "inf"]),
        (-np.inf, ["not finite", "-inf"]),
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_bad_quantity(name: str, value: float, fragments: list[str], sparse: bool) -> None:
    offers = np.ones((3, 4))
    needs = np.ones((5, 4))
    bad = offers if name == "offers" else needs
    bad[2, 3] = value
    args = {"offers": offers, "needs": needs}
    if sparse:
        args = {k: sp.csr_matrix(v) for k, v in args.items()}
    with pytest.raises(InputError) as info:
        complementarity(**args)
    message = str(info.value)
    assert f"{name}[2, 3]" in message
    for fragment in fragments:
        assert fragment in message


def test_negative_integer_quantity() -> None:
    with pytest.raises(InputError, match=r"needs\[1, 0\] = -7 is negative"):
        complementarity(np.ones((1, 2), dtype=int), np.array([[1, 1], [-7, 1]]))


@pytest.mark.parametrize("name", ["offers", "needs"])
@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), ()])
def test_not_two_dimensional(name: str, shape: tuple[int, ...]) -> None:
    args: dict[str, Any] = {"offers": np.ones((3, 4)), "needs": np.ones((3, 4))}
    args[name] = np.ones(shape)
    with pytest.raises(InputError, match=rf"{name} must be a 2-D array.*{len(shape)}-D"):
        complementarity(**args)


def test_not_two_dimensional_sparse() -> None:
    with pytest.raises(InputError, match=r"needs must be a 2-D array.*1-D"):
        complementarity(np.ones((2, 3)), sp.coo_array(np.ones(3)))


def test_mismatched_categories() -> None:
    with pytest.raises(InputError, match=r"offers has 3 categories.*needs has 4"):
        complementarity(np.ones((2, 3)), np.ones((2, 4)))


@pytest.mark.parametrize("name", ["offers", "needs"])
@pytest.mark.parametrize(
    "value", [np.array([["a", "b"]]), np.array([[1 + 2j, 0]]), [[1.0], [2.0, 3.0]]]
)
def test_not_numbers(name: str, value: Any) -> None:
    args: dict[str, Any] = {"offers": np.ones((1, 2)), "needs": np.ones((1, 2))}
    args[name] = value
    with pytest.raises(InputError, match=name):
        complementarity(**args)


def test_long_double_rejected() -> None:
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("long double is float64 here")
    with pytest.raises(InputError, match=r"offers has dtype .*convert it to float64"):
        complementarity(np.ones((1, 2), dtype=np.longdouble), np.ones((1, 2)))


@pytest.mark.parametrize(
    ("weights", "pattern"),
    [
        ([1.0, 2.0], r"weights has length 2 but offers and needs have 3 categories"),
        ([1.0, 2.0, 3.0, 4.0], r"weights has length 4"),
        ([[1.0, 2.0, 3.0]], r"weights must be a 1-D array.*shape \(1, 3\)"),
        ([1.0, np.nan, 1.0], r"weights\[1\] = nan is not finite"),
        ([1.0, 1.0, np.inf], r"weights\[2\] = inf is not finite"),
        (["a", "b", "c"], r"weights has dtype"),
        ([[1.0], [2.0, 3.0]], r"weights must be a 1-D array of numbers"),
    ],
)
def test_bad_weights(weights: Any, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        complementarity(np.ones((2, 3)), np.ones((2, 3)), weights)


def test_weights_overflowing_float32() -> None:
    with pytest.raises(InputError, match=r"weights\[0\] = 1e\+300 overflows"):
        complementarity(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), [1e300])


def test_bad_method_and_block_arguments() -> None:
    with pytest.raises(InputError, match="method must be one of"):
        complementarity(np.ones((1, 1)), np.ones((1, 1)), method="fast")  # type: ignore[arg-type]
    kernel = ComplementarityKernel(np.ones((4, 2)), np.ones((3, 2)))
    for start, stop in [(-1, 2), (3, 2), (0, 5), (0.5, 2)]:
        with pytest.raises(InputError, match=r"row_start, row_stop"):
            kernel.block(start, stop)  # type: ignore[arg-type]
    for out in [
        np.empty((2, 3), dtype=np.float32),
        np.empty((2, 4)),
        np.empty((3, 2)).T,
        [[0.0] * 3] * 2,
    ]:
        with pytest.raises(InputError, match=r"out must be a C-contiguous float64 array"):
            kernel.block(0, 2, out=out)  # type: ignore[arg-type]


def test_input_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="offers"):
        complementarity(np.ones(3), np.ones((1, 3)))
