"""Complementarity: how much of unit ``j``'s needs unit ``i``'s offers can meet.

.. math::

    S_{ij} = \\sum_c w_c \\, \\min(\\mathrm{offers}_{ic}, \\mathrm{needs}_{jc})

computed exactly, without ever forming the ``n × m × C`` broadcast. A cost model sends each
category to one of three paths; their terms add up in one output block.

Tables (sparse offers, few distinct values)
-------------------------------------------
For a category ``c`` with distinct offered values ``v_1 < … < v_L``, the table holds the
``L`` rows ``w_c · min(v_k, needs[:, c])`` (``L × m``). Row ``i`` of ``S`` is the sum of the
table rows its non-zero offers select: ``nnz(offers) × m`` additions and no multiplication,
where the broadcast does ``n × C × m`` minimums. With whole numbers (after an exact
power-of-two scaling) the sums run in the narrowest unsigned integer that holds the largest
score a row can reach (``uint8`` for small counts: 32 lanes per AVX2 instruction), which is
exact in any order; otherwise in the result dtype, in category order.

Levels (dense offers)
---------------------
For one category ``c``, let ``u_1 < … < u_L`` be the distinct non-zero values of one side
(the *grid side*, whichever has fewer distinct values) and ``u_0 = 0``. For every ``g`` on
the grid and every ``h ≥ 0``::

    min(g, h) = Σ_k [g ≥ u_k] · clip(h − u_{k−1}, 0, u_k − u_{k−1})

(the thermometer code of ``g`` against a piecewise-linear "ramp" code of ``h``; for ``h`` on
the grid too this is the level identity ``min(a, b) = ∫ [a ≥ t][b ≥ t] dt``). So every category
becomes ``L`` columns of two encoded matrices ``A`` (offers) and ``B`` (needs), and
``S = A · Bᵀ`` is one BLAS matrix product whose inner dimension is the total number of levels.

When the encoded entries are whole numbers (integer quantities and weights, or halves,
quarters, … after an exact power-of-two scaling) every product and partial sum of that
matrix product is an integer below ``2**24``, so float32 arithmetic is exact in any order.
The kernel then *packs* several offer rows into one: row ``i_t`` is multiplied by ``2**(b·t)``
and ``p = 24 // b`` rows are summed, where ``b`` bits hold the largest score the rows can
reach (``S[i, j] ≤ Σ_c w_c · min(offers[i, c], max_j needs[j, c])``). One sgemm then yields
``p`` rows of ``S`` at once, which are split apart exactly (int32 masks and shifts). For
small whole quantities (hours, seats, people) ``p`` is 3 or 4. When one side's values are
all levels of the other (the usual case for counts), both sides are plain thermometers.

Direct (continuous quantities)
------------------------------
Categories with many distinct values on both sides (continuous quantities) would need too
many columns or table rows; such a category goes to the *direct* path, which computes
``w_c · min`` only for the rows and columns that are non-zero in that category and adds them
into the output block. Categories where one side is all zero, or whose weight is zero, are
skipped.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError

__all__ = ["ComplementarityKernel", "complementarity"]

Method = Literal["auto", "table", "levels", "direct"]

FloatArray = npt.NDArray[np.floating[Any]]
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]

_METHODS: tuple[str, ...] = ("auto", "table", "levels", "direct")

# Cost model: CPU seconds (both threads together), fitted on a 2-core AMD EPYC (AVX2,
# OpenBLAS) over sparse and dense instances; only the ratios matter.
_GEMM_SECONDS_PER_FMA = {4: 0.04e-9, 8: 0.08e-9}  # by itemsize: sgemm, dgemm
_DIRECT_SECONDS_PER_PAIR = 5e-9  # min, weight, gather-add-scatter of one (i, j) entry
_UNPACK_SECONDS_PER_ENTRY = 1.5e-9  # packing rows and splitting them apart, per entry of S
_DIRECT_SECONDS_PER_CALL = 30e-6  # numpy overhead of one category in one row block
# Table path: per gathered element (one offer entry times one need column), by lane size;
# per output entry (putting rows back in order, converting); per table element built.
_TABLE_SECONDS_PER_ENTRY = {1: 0.25e-9, 2: 0.6e-9, 4: 1.6e-9, 8: 2.5e-9}
_TABLE_WRITE_SECONDS_PER_ENTRY = 0.75e-9
_TABLE_BUILD_SECONDS_PER_ENTRY = 1e-9

# Row packing: ``b`` bits per packed row, ``24 // b`` rows per float32 (24-bit significand).
_SIGNIFICAND_BITS = 24
_EXACT_LIMIT = float(2**_SIGNIFICAND_BITS)
_PACK_WIDTHS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 24)
_MAX_DYADIC_EXPONENT = 24
_TABLE_LIMIT = 2**22  # cells of the presence table that finds distinct whole quantities
_MAIN_CLASS_SHARE = 0.9  # the packing width of a block covers at least this share of its rows
_CONTIGUOUS_SHARE = 0.5  # pack in place when the main class holds at least half the block
_COMPACT_COLUMNS_SHARE = 0.75  # drop needs rows without levels when fewer than this remain

_STEP_BYTES = 2**25  # temporaries per step of offer rows: packed product, encoded offers
_UNPACK_ROWS = 32  # packed rows peeled apart at a time (keeps temporaries in cache)
_DIRECT_BYTES = 2**22  # output block of the direct path (stays in cache), 16..256 rows
_THREADS = 2  # numpy work (peeling packed rows, direct terms) runs on up to two threads
_PARALLEL_MIN_WORK = 2**20  # elements below which one thread is faster
_TABLE_BYTES = 2**26  # tables of the table path, at most (unless forced by ``method``)
_TABLE_BLOCK_BYTES = 2**19  # accumulator of the table path: rows × m lanes (per thread)
_UINT_LANES: tuple[type[np.unsignedinteger[Any]], ...] = (np.uint8, np.uint16, np.uint32, np.uint64)
_UINT_LIMIT = float(2**53)  # whole sums below this convert exactly from uint64 to float64


# --------------------------------------------------------------------------------------
# Validation and conversion at the boundary
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Side:
    """One validated quantity matrix: by category (CSC) plus a copy for reading rows."""

    n_rows: int
    n_cols: int
    cptr: IntArray  # CSC category pointers, length n_cols + 1
    crow: IntArray  # row of each non-zero entry, by category (rows ascending within one)
    ccat: IntArray  # category of each entry
    cval: F64  # value of each entry (> 0)
    dense: npt.NDArray[Any] | None  # private copy of a dense input (rows are read from it)
    csr: tuple[IntArray, IntArray, F64] | None  # (indptr, indices, data) of a sparse input


def _fmt(value: Any) -> str:
    """Format one offending value for an error message."""
    if isinstance(value, np.integer | int):
        return str(int(value))
    return repr(float(value))


def _is_sparse(x: object) -> bool:
    """True for scipy.sparse matrices and arrays (checked without importing scipy)."""
    module = type(x).__module__ or ""
    return module.startswith("scipy.sparse") and hasattr(x, "tocsr")


def _check_dtype(dtype: np.dtype[Any], name: str) -> None:
    if dtype.kind not in "biuf":
        raise InputError(
            f"{name} has dtype {dtype}; quantities must be numbers (bool, integer or float)"
        )
    if dtype.kind == "f" and dtype.itemsize > 8:
        raise InputError(
            f"{name} has dtype {dtype}, which is not supported; convert it to float64 first"
        )


def _result_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """float16/float32 -> float32, float64 -> float64, bool/integers -> float64."""
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _pointers(keys: IntArray, size: int) -> IntArray:
    ptr = np.zeros(size + 1, dtype=np.intp)
    np.cumsum(np.bincount(keys, minlength=size), out=ptr[1:])
    return ptr


def _dense_side(x: Any, name: str) -> tuple[_Side, np.dtype[Any]]:
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 2-D array of quantities; {exc}") from exc
    _check_dtype(arr.dtype, name)
    if arr.ndim != 2:
        raise InputError(
            f"{name} must be a 2-D array (units × categories); "
            f"got a {arr.ndim}-D array of shape {arr.shape}"
        )
    # Two reductions spot NaN, infinities and negatives; only then look for the culprit.
    if arr.size and arr.dtype.kind in "if" and not (arr.min() >= 0 and arr.max() < np.inf):
        if arr.dtype.kind == "f":
            finite = np.isfinite(arr)
            if not finite.all():
                i, c = np.argwhere(~finite)[0]
                raise InputError(
                    f"{name}[{i}, {c}] = {_fmt(arr[i, c])} is not finite; "
                    "quantities must be finite numbers >= 0"
                )
        i, c = np.argwhere(arr < 0)[0]
        raise InputError(
            f"{name}[{i}, {c}] = {_fmt(arr[i, c])} is negative; quantities must be >= 0"
        )
    dense = np.array(arr, order="C", copy=True)  # later changes to the input do not leak in
    n_rows = max(dense.shape[0], 1)
    flat = np.flatnonzero(dense.T != 0).astype(np.intp)  # by category, then row
    cats = flat // n_rows
    rows = flat - cats * n_rows
    side = _Side(
        n_rows=dense.shape[0],
        n_cols=dense.shape[1],
        cptr=_pointers(cats, dense.shape[1]),
        crow=rows,
        ccat=cats,
        cval=np.asarray(dense[rows, cats], dtype=np.float64),
        dense=dense,
        csr=None,
    )
    return side, _result_dtype(arr.dtype)


def _sparse_side(x: Any, name: str) -> tuple[_Side, np.dtype[Any]]:
    ndim = len(x.shape)
    if ndim != 2:
        raise InputError(
            f"{name} must be a 2-D array (units × categories); "
            f"got a {ndim}-D sparse array of shape {x.shape}"
        )
    dtype = np.dtype(x.dtype)
    _check_dtype(dtype, name)
    csr = x.tocsr(copy=True)
    csr.sum_duplicates()
    indptr = np.asarray(csr.indptr, dtype=np.intp)
    indices = np.asarray(csr.indices, dtype=np.intp)
    data = np.asarray(csr.data)
    bad = ~np.isfinite(data) if dtype.kind == "f" else np.zeros(data.shape, dtype=bool)
    for mask, rule in (
        (bad, "is not finite; quantities must be finite numbers >= 0"),
        (data < 0 if dtype.kind in "if" else bad, "is negative; quantities must be >= 0"),
    ):
        if mask.any():
            pos = int(np.flatnonzero(mask)[0])
            row = int(np.searchsorted(indptr, pos, side="right")) - 1
            raise InputError(f"{name}[{row}, {indices[pos]}] = {_fmt(data[pos])} {rule}")
    n_rows, n_cols = (int(s) for s in csr.shape)
    rows = np.repeat(np.arange(n_rows, dtype=np.intp), np.diff(indptr))
    keep = data != 0
    rows, indices = rows[keep], indices[keep]
    values = np.asarray(data[keep], dtype=np.float64)
    order = np.argsort(indices, kind="stable")
    side = _Side(
        n_rows=n_rows,
        n_cols=n_cols,
        cptr=_pointers(indices, n_cols),
        crow=rows[order],
        ccat=indices[order],
        cval=values[order],
        dense=None,
        csr=(_pointers(rows, n_rows), indices, values),
    )
    return side, _result_dtype(dtype)


def _as_side(x: Any, name: str) -> tuple[_Side, np.dtype[Any]]:
    if _is_sparse(x):
        return _sparse_side(x, name)
    return _dense_side(x, name)


def _as_weights(weights: Any, n_cols: int, dtype: np.dtype[Any]) -> F64:
    """Validate ``weights``; return them rounded to the result dtype, held as float64."""
    if weights is None:
        return np.ones(n_cols)
    try:
        arr = np.asarray(weights)
    except (TypeError, ValueError) as exc:
        raise InputError(f"weights must be a 1-D array of numbers; {exc}") from exc
    _check_dtype(arr.dtype, "weights")
    if arr.ndim != 1:
        raise InputError(
            f"weights must be a 1-D array with one weight per category; got shape {arr.shape}"
        )
    if arr.shape[0] != n_cols:
        raise InputError(
            f"weights has length {arr.shape[0]} but offers and needs have {n_cols} "
            "categories (columns); give one weight per category"
        )
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            k = int(np.flatnonzero(~finite)[0])
            raise InputError(f"weights[{k}] = {_fmt(arr[k])} is not finite; weights must be finite")
    with np.errstate(over="ignore"):
        rounded = arr.astype(dtype)
    if not np.isfinite(rounded).all():
        k = int(np.flatnonzero(~np.isfinite(rounded))[0])
        raise InputError(f"weights[{k}] = {_fmt(arr[k])} overflows the result dtype {dtype}")
    return np.asarray(rounded, dtype=np.float64)


# --------------------------------------------------------------------------------------
# Planning helpers
# --------------------------------------------------------------------------------------


def _dyadic_exponents(values: F64) -> npt.NDArray[np.int64]:
    """For each finite value, the smallest ``e >= 0`` making ``value * 2**e`` whole."""
    mant, exp = np.frexp(np.abs(values))
    significand = (mant * 2.0**53).astype(np.int64)  # exact: 53 bits
    lowest = significand & -significand  # lowest set bit, 2**trailing_zeros
    trailing = np.frexp(lowest.astype(np.float64))[1].astype(np.int64) - 1
    e = 53 - exp.astype(np.int64) - trailing
    return np.where(values == 0, 0, np.maximum(e, 0))


def _segment_max(values: npt.NDArray[Any], ptr: IntArray) -> F64:
    """Max of each segment ``values[ptr[k]:ptr[k + 1]]`` (0 for empty segments)."""
    out = np.zeros(ptr.size - 1)
    nonempty = np.flatnonzero(np.diff(ptr) > 0)
    if nonempty.size:
        out[nonempty] = np.maximum.reduceat(values, ptr[nonempty])
    return out


def _width_classes(bounds: F64) -> IntArray:
    """Packing width of each row (0 for rows whose scores are all zero)."""
    need = np.zeros(bounds.shape, dtype=np.intp)
    positive = bounds > 0
    need[positive] = np.floor(np.log2(bounds[positive])).astype(np.intp) + 1
    widths = np.asarray(_PACK_WIDTHS, dtype=np.intp)
    cls = np.zeros(bounds.shape, dtype=np.intp)
    cls[positive] = widths[np.searchsorted(widths, need[positive])]
    return cls


@dataclass(frozen=True, eq=False)
class _Category:
    """What planning learnt about one active category."""

    index: int
    n_offers: int  # offer rows with a non-zero quantity
    n_needs: int  # need rows with a non-zero quantity
    grid_on_needs: bool  # which side's distinct values are the levels (its thermometer)
    grid: F64  # distinct clipped values of the grid side
    offer_values: F64  # distinct clipped offer values (the rows of its table)
    other_on_grid: bool  # the other side's values are levels too: both sides thermometers
    a_max: float
    b_max: float
    value_exponent: int  # smallest e making every quantity times 2**e whole
    weight_exponent: int  # the same for the weight

    @property
    def integral(self) -> bool:
        """Whether ``2**(value_exponent + weight_exponent)`` makes every entry whole."""
        return (
            self.value_exponent <= _MAX_DYADIC_EXPONENT
            and self.weight_exponent <= _MAX_DYADIC_EXPONENT
        )

    @property
    def case(self) -> int:
        """Column group: 0 offers thermometer, needs ramp; 1 both; 2 offers ramp."""
        if self.other_on_grid:
            return 1
        return 2 if self.grid_on_needs else 0


def _distinct(side: _Side, cap: F64, active: npt.NDArray[np.bool_]) -> tuple[list[F64], bool]:
    """Sorted distinct values of ``min(value, cap[c])`` per category (empty if inactive).

    Also returns whether every clipped value is a whole number. Small whole numbers (the
    common case: counts) are tabulated at once instead of sorted category by category.
    """
    clipped = np.minimum(side.cval, cap[side.ccat])
    whole = bool(np.array_equal(clipped, np.floor(clipped)))
    n_cols = side.n_cols
    top = float(clipped.max()) if clipped.size else 0.0
    empty = np.zeros(0)
    if whole and n_cols * (top + 1) <= _TABLE_LIMIT:
        table = np.zeros((n_cols, int(top) + 1), dtype=bool)
        table[side.ccat, clipped.astype(np.intp)] = True
        table[:, 0] = False
        return [
            np.flatnonzero(table[c]).astype(np.float64) if active[c] else empty
            for c in range(n_cols)
        ], whole
    return [
        np.unique(clipped[side.cptr[c] : side.cptr[c + 1]]) if active[c] else empty
        for c in range(n_cols)
    ], whole


# --------------------------------------------------------------------------------------
# The kernel
# --------------------------------------------------------------------------------------


class ComplementarityKernel:
    """Prepared complementarity ``S = Σ_c w_c · min(offers[:, None, c], needs[None, :, c])``.

    Validates and encodes the inputs once; :meth:`block` then returns any rows of ``S``
    cheaply, so a caller can scan ``S`` block by block (top-k candidates) without holding it.

    Parameters
    ----------
    offers : array_like or scipy.sparse matrix, shape (n, C)
        What each of ``n`` units offers, per category; finite and ``>= 0``.
    needs : array_like or scipy.sparse matrix, shape (m, C)
        What each of ``m`` units needs, per category; finite and ``>= 0``.
    weights : array_like, shape (C,), optional
        Finite weight of each category (default all ones). Negative weights are allowed
        (they subtract). Weights are rounded to the result dtype first.
    method : {"auto", "table", "levels", "direct"}, default "auto"
        ``"auto"`` chooses per category by a cost model; ``"table"`` sums table rows for
        every category; ``"levels"`` encodes every category as levels (one matrix
        product); ``"direct"`` computes every category on its non-zero rows and columns.
        All give the same result up to float rounding.

    Attributes
    ----------
    shape : tuple of int
        ``(n, m)``, the shape of ``S``.
    dtype : numpy.dtype
        float32 if both inputs are float32 (or float16), else float64; integer and bool
        inputs count as float64 (so float32 with int64 gives float64).
    plan : dict of str to tuple of int
        Categories by path: ``"table"``, ``"levels"``, ``"direct"`` and ``"skipped"``
        (zero weight or one side all zero).
    packed : bool
        Whether the level product runs in exact integer-valued float32 with packed rows.
    n_levels : int
        Inner dimension of the level product (total number of level columns).
    nbytes : int
        Memory held by the encodings (the tables or the encoded needs matrix dominate).

    Raises
    ------
    InputError
        If an input is not 2-D, the category counts differ, a quantity is negative, NaN or
        infinite, or the weights have the wrong length or are not finite.

    See Also
    --------
    complementarity : the whole matrix in one call.

    Notes
    -----
    **Complexity.** The table path costs ``O(nnz_T(offers) · m)`` additions, where
    ``nnz_T`` counts the non-zero offers of its categories, plus ``O(L · m)`` to build the
    tables (``L`` distinct offered values in all). Let ``K`` be the number of level columns (at most
    ``Σ_c min(#distinct offer values, #distinct need values)`` over level categories) and
    ``p`` the packing factor (``24 // b`` rows per float32 when scores fit ``b`` bits, else 1).
    The level path costs one ``(n/p) × K × m`` matrix product plus ``O(n·m)`` for peeling the
    packed rows; the direct path costs ``O(|I_c|·|J_c|)`` per category, where ``I_c`` and
    ``J_c`` are the rows with a non-zero quantity. Encoding costs ``O(nnz + m·K)``.

    **Memory.** The tables take ``L × m`` lanes (1 byte each for small whole numbers, at most
    64 MB in ``"auto"``). The encoded needs matrix takes ``m' × K × 4`` bytes (float32; 8 when the
    level product runs in float64), where ``m'`` counts need rows with a level quantity
    (all of them unless a quarter or more have none). Besides it the kernel keeps the inputs:
    a copy of a dense input (``(n + m) × C`` values) or the non-zero entries of a sparse one,
    and the non-zero entries by category, ``O(nnz)`` (see :attr:`nbytes`). A step of
    :meth:`block` temporarily needs about 32 MB plus the block itself (the table path 1 MB).

    **Exactness and dtype.** When every encoded entry is a whole number after an exact
    power-of-two scaling (integer quantities and weights, halves, quarters, ...) and every
    score is below ``2**24`` after that scaling, the level product is exact, whatever the
    order of summation: the result equals the definition exactly in float32 and float64.
    The table path sums such whole numbers exactly in unsigned integers up to ``2**53``
    (one rounding when a float32 result cannot hold the sum); otherwise each table entry
    ``w_c · min(v, need)`` is rounded once to the result dtype, exactly as the broadcast
    rounds it, and the terms of a row are added in category order.
    Otherwise the level product runs in the result dtype with one rounding per encoded entry
    and BLAS accumulation over ``K`` terms (relative error about ``K · eps`` of
    ``Σ_c |w_c| · min(...)``, where ``eps`` is ``2**-24`` for float32 and ``2**-53`` for
    float64); the direct path adds one rounding per category term. The plain broadcast has
    the same kind of error over ``C`` terms.

    **Determinism and threads.** The same inputs give the same output, run after run:
    planning uses stable sorts and no randomness. Exact (whole-number) results are
    bit-identical on every machine and for any block split; otherwise the bits may depend on
    the BLAS build, its thread count and the block split, within the error above. The level
    product uses BLAS's threads; table sums, splitting packed rows and the direct terms of
    large blocks run on two Python threads writing disjoint rows, which changes no bit.

    Examples
    --------
    >>> import numpy as np
    >>> offers = np.array([[2, 0, 1], [0, 3, 0]])
    >>> needs = np.array([[1, 1, 1], [5, 0, 0], [0, 0, 0]])
    >>> kernel = ComplementarityKernel(offers, needs)
    >>> kernel.shape, kernel.dtype
    ((2, 3), dtype('float64'))
    >>> kernel.block(0, 2)
    array([[2., 2., 0.],
           [1., 0., 0.]])
    >>> kernel.block(1, 2)
    array([[1., 0., 0.]])
    >>> kernel.plan
    {'table': (), 'levels': (0, 1, 2), 'direct': (), 'skipped': ()}
    >>> ComplementarityKernel(offers, needs, method="table").block(0, 2)
    array([[2., 2., 0.],
           [1., 0., 0.]])
    """

    def __init__(
        self,
        offers: Any,
        needs: Any,
        weights: Any = None,
        *,
        method: Method = "auto",
    ) -> None:
        if method not in _METHODS:
            raise InputError(f"method must be one of {_METHODS}; got {method!r}")
        self._offers, dtype_o = _as_side(offers, "offers")
        self._needs, dtype_n = _as_side(needs, "needs")
        if self._offers.n_cols != self._needs.n_cols:
            raise InputError(
                f"offers has {self._offers.n_cols} categories (columns) but needs has "
                f"{self._needs.n_cols}; both need one column per category, in the same order"
            )
        self.dtype: np.dtype[Any] = np.result_type(dtype_o, dtype_n)
        self.shape: tuple[int, int] = (self._offers.n_rows, self._needs.n_rows)
        self._weights = _as_weights(weights, self._offers.n_cols, self.dtype)
        self._bounds_cache: dict[tuple[tuple[int, ...], float], tuple[F64, float]] = {}
        self._plan(method)
        del self._bounds_cache

    # ---------------------------------------------------------------- planning

    def _analyse(self) -> tuple[list[_Category], list[int]]:
        """Per-category statistics; returns the active categories and the skipped ones."""
        o, nd, w = self._offers, self._needs, self._weights
        a_max, b_max = _segment_max(o.cval, o.cptr), _segment_max(nd.cval, nd.cptr)
        cap = np.minimum(a_max, b_max)  # min(a, b) = min(a, b, cap): clip both sides there
        active = (w != 0) & (cap > 0)
        offer_values, offers_whole = _distinct(o, cap, active)
        need_values, needs_whole = _distinct(nd, cap, active)
        # Negative weights are never packed: mark them with an impossible exponent.
        w_exponent = np.where(w > 0, _dyadic_exponents(w), _MAX_DYADIC_EXPONENT + 1)
        categories: list[_Category] = []
        for c in np.flatnonzero(active).tolist():
            ua, ub = offer_values[c], need_values[c]
            grid_on_needs = ub.size <= ua.size
            grid, other = (ub, ua) if grid_on_needs else (ua, ub)
            pos = np.minimum(np.searchsorted(grid, other), grid.size - 1)
            if offers_whole and needs_whole:
                exponent = 0
            else:
                exponent = int(_dyadic_exponents(np.concatenate([ua, ub])).max())
            categories.append(
                _Category(
                    index=c,
                    n_offers=int(o.cptr[c + 1] - o.cptr[c]),
                    n_needs=int(nd.cptr[c + 1] - nd.cptr[c]),
                    grid_on_needs=grid_on_needs,
                    grid=grid,
                    offer_values=ua,
                    other_on_grid=bool(np.array_equal(grid[pos], other)),
                    a_max=float(a_max[c]),
                    b_max=float(b_max[c]),
                    value_exponent=exponent,
                    weight_exponent=int(w_exponent[c]),
                )
            )
        return categories, np.flatnonzero(~active).tolist()

    def _bounds(self, cats: list[_Category], scale: float) -> tuple[F64, float]:
        """Row bounds ``U_i ≥ max_j S_ij`` (scaled) over ``cats`` and the column bound ``V``."""
        key = (tuple(cat.index for cat in cats), scale)
        if key in self._bounds_cache:
            return self._bounds_cache[key]
        o, nd, w = self._offers, self._needs, self._weights
        n, m = self.shape
        cap = np.zeros(o.n_cols)  # min(a, b) = min(a, b, cap) with cap = min(max a, max b)
        for cat in cats:
            cap[cat.index] = min(cat.a_max, cat.b_max)
        ws = w * scale
        u = np.bincount(o.crow, weights=ws[o.ccat] * np.minimum(o.cval, cap[o.ccat]), minlength=n)
        v = np.bincount(
            nd.crow, weights=ws[nd.ccat] * np.minimum(nd.cval, cap[nd.ccat]), minlength=m
        )
        v_max = float(v.max()) if v.size else 0.0
        self._bounds_cache[key] = (np.minimum(u, v_max), v_max)
        return self._bounds_cache[key]

    def _plan(self, method: str) -> None:
        n, m = self.shape
        active, skipped = self._analyse()
        self._direct_rows = int(np.clip(_DIRECT_BYTES // max(1, m * self.dtype.itemsize), 16, 256))
        n_blocks = max(1, math.ceil(n / self._direct_rows))
        out_itemsize = self.dtype.itemsize

        def direct_cost(cat: _Category) -> float:
            return (
                cat.n_offers * cat.n_needs * _DIRECT_SECONDS_PER_PAIR
                + n_blocks * _DIRECT_SECONDS_PER_CALL
            )

        def level_cost(cat: _Category, itemsize: int, rows_per_float: float) -> float:
            return cat.grid.size * n * m * _GEMM_SECONDS_PER_FMA[itemsize] / rows_per_float

        def table_cost(cat: _Category, itemsize: int) -> float:
            return (
                cat.n_offers * m * _TABLE_SECONDS_PER_ENTRY[itemsize]
                + cat.offer_values.size * m * _TABLE_BUILD_SECONDS_PER_ENTRY
            )

        if method == "direct":
            table: list[_Category] = []
            levels: list[_Category] = []
        elif method == "levels":
            table, levels = [], list(active)
        elif method == "table":
            table, levels = list(active), []
        else:
            # Integral categories as packed float32 levels: the packing factor they reach.
            integral = [cat for cat in active if cat.integral]
            packable = integral
            p_est = 1.0
            if integral:
                scale = self._scale(integral)
                bounds, v_max = self._bounds(integral, scale)
                if v_max < _EXACT_LIMIT:
                    cls = _width_classes(bounds)
                    cls = cls[cls > 0]
                    if cls.size:
                        p_est = cls.size / float(np.sum(1.0 / (_SIGNIFICAND_BITS // cls)))
                else:
                    packable = []
            lane = self._table_lanes(integral)[0] if integral else self.dtype
            whole_lanes = lane.kind == "u"
            in_integral = {cat.index for cat in integral}
            in_packable = {cat.index for cat in packable}
            costs: list[dict[str, float]] = []
            for cat in active:
                whole = whole_lanes and cat.index in in_integral
                costs.append(
                    {
                        "direct": direct_cost(cat),
                        "plain": level_cost(cat, out_itemsize, 1.0),
                        "packed": level_cost(cat, 4, p_est)
                        if cat.index in in_packable
                        else math.inf,
                        "whole": table_cost(cat, lane.itemsize) if whole else math.inf,
                        "float": table_cost(cat, out_itemsize),
                    }
                )
            itemsizes = {"whole": lane.itemsize, "float": out_itemsize}
            best: tuple[float, list[str]] | None = None
            for options in (
                ("packed", "direct"),
                ("plain", "direct"),
                ("whole", "packed", "direct"),
                ("whole", "plain", "direct"),
                ("float", "direct"),
                ("float", "plain", "direct"),
            ):
                total, choice = self._plan_cost(active, costs, options, itemsizes)
                if best is None or total < best[0]:
                    best = (total, choice)
            assert best is not None
            table = [cat for cat, way in zip(active, best[1], strict=True) if way in itemsizes]
            levels = [
                cat for cat, way in zip(active, best[1], strict=True) if way in ("packed", "plain")
            ]

        in_table = {cat.index for cat in table}
        level_set = {cat.index for cat in levels}
        direct = [cat for cat in active if cat.index not in level_set | in_table]
        self.plan: dict[str, tuple[int, ...]] = {
            "table": tuple(sorted(in_table)),
            "levels": tuple(sorted(level_set)),
            "direct": tuple(cat.index for cat in direct),
            "skipped": tuple(skipped),
        }
        self._setup_table(table)
        self._setup_levels(levels)
        self._setup_direct(direct)

    def _plan_cost(
        self,
        active: list[_Category],
        costs: list[dict[str, float]],
        options: tuple[str, ...],
        itemsizes: dict[str, int],
    ) -> tuple[float, list[str]]:
        """Estimated seconds of computing ``active`` with ``options``, and each one's path.

        Each category takes its cheapest option; tables beyond :data:`_TABLE_BYTES` go, least
        saving per byte first, to their next-cheapest option. Fixed costs: peeling packed
        rows apart and writing the table path's rows back, once per output entry each.
        """
        n, m = self.shape
        choice = [min(options, key=lambda way: cost[way]) for cost in costs]
        tabled = [t for t, way in enumerate(choice) if way in itemsizes]
        if tabled:
            rest = [way for way in options if way not in itemsizes]

            def saving(t: int) -> float:
                cost = costs[t]
                gain = min((cost[way] for way in rest), default=math.inf) - cost[choice[t]]
                return gain / max(1, active[t].offer_values.size)

            used = 0
            for t in sorted(tabled, key=saving, reverse=True):
                size = active[t].offer_values.size * m * itemsizes[choice[t]]
                if used + size <= _TABLE_BYTES:
                    used += size
                elif rest:
                    choice[t] = min(rest, key=lambda way: costs[t][way])
                else:
                    return math.inf, choice
        total = sum(cost[way] for cost, way in zip(costs, choice, strict=True))
        if "packed" in choice:
            total += n * m * _UNPACK_SECONDS_PER_ENTRY
        if any(way in itemsizes for way in choice):
            total += n * m * _TABLE_WRITE_SECONDS_PER_ENTRY
        return total, choice

    def _table_lanes(self, cats: list[_Category]) -> tuple[np.dtype[Any], float]:
        """Accumulator dtype of the table path over ``cats`` and its power-of-two scale.

        Whole numbers (after the scale) whose row bounds fit an unsigned integer are summed
        exactly in the narrowest one that holds them; anything else in the result dtype.
        """
        if cats and all(cat.integral for cat in cats):
            scale = self._scale(cats)
            bounds, _ = self._bounds(cats, scale)
            top = float(bounds.max(initial=0.0))
            if top < _UINT_LIMIT:
                for lane in _UINT_LANES:
                    if top <= float(np.iinfo(lane).max):
                        return np.dtype(lane), scale
        return self.dtype, 1.0

    def _scale(self, cats: list[_Category]) -> float:
        """The power of two that makes every encoded entry of ``cats`` a whole number."""
        return self._value_scale(cats) * float(2 ** max(cat.weight_exponent for cat in cats))

    @staticmethod
    def _value_scale(cats: list[_Category]) -> float:
        """The power of two that makes every quantity of ``cats`` a whole number."""
        return float(2 ** max(cat.value_exponent for cat in cats))

    # ---------------------------------------------------------------- encodings

    def _setup_levels(self, levels: list[_Category]) -> None:
        m = self.shape[1]
        w = self._weights
        self.packed = False
        self._scale_factor = 1.0
        self._row_bounds: F64 | None = None
        if levels and all(cat.integral for cat in levels):
            scale = self._scale(levels)
            bounds, v_max = self._bounds(levels, scale)
            if v_max < _EXACT_LIMIT:
                self.packed = True
                self._scale_factor = scale
                self._row_bounds = bounds
        self._compute_dtype: np.dtype[Any] = np.dtype(np.float32) if self.packed else self.dtype
        cdt = self._compute_dtype
        # Columns by case (see _Category.case): offers are thermometers on [:k_a] and ramps
        # after; needs are ramps on [:k_b] and thermometers after. Weights, and the exact
        # power-of-two scaling, sit on the needs side, encoded once.
        ordered = sorted(levels, key=lambda cat: cat.case)  # stable: category order within
        self._lev_index = np.full(self._offers.n_cols, -1, dtype=np.intp)
        for j, cat in enumerate(ordered):
            self._lev_index[cat.index] = j
        self._n_lev = len(ordered)
        self._lev_cats = np.array([cat.index for cat in ordered], dtype=np.intp)
        self._lev_identity = bool(np.array_equal(self._lev_cats, np.arange(self._offers.n_cols)))
        self._cap = np.array([min(cat.a_max, cat.b_max) for cat in ordered])
        value_scale = self._value_scale(levels) if self.packed else 1.0
        lower, upper, scale_a, scale_b = [], [], [], []
        for cat in ordered:
            grid = cat.grid
            lo = np.concatenate([[0.0], grid[:-1]])
            weight = w[cat.index] * self._scale_factor
            lower.append(lo)
            upper.append(grid)
            if cat.case == 1:  # thermometer × thermometer, weighted by the level step
                scale_a.append(np.ones(grid.size))
                scale_b.append(weight * (grid - lo))
            elif cat.case == 2:  # ramp of offers (scaled to whole numbers) × thermometer
                scale_a.append(np.full(grid.size, value_scale))
                scale_b.append(np.full(grid.size, weight / value_scale))
            else:  # thermometer × ramp of needs
                scale_a.append(np.ones(grid.size))
                scale_b.append(np.full(grid.size, weight))
        self._col_count = np.array([cat.grid.size for cat in ordered], dtype=np.intp)
        self.n_levels = int(self._col_count.sum())
        cases = [cat.case for cat in ordered for _ in range(cat.grid.size)]
        self._k_a = sum(1 for case in cases if case < 2)  # offers thermometers
        self._k_b = sum(1 for case in cases if case == 0)  # needs ramps
        low = np.concatenate(lower) if lower else np.zeros(0)
        up = np.concatenate(upper) if upper else np.zeros(0)
        self._lower = low.astype(cdt)
        self._upper = up.astype(cdt)
        self._delta = (up - low).astype(cdt)
        self._scale_a = np.concatenate(scale_a).astype(cdt) if scale_a else np.zeros(0, cdt)
        self._scale_b = np.concatenate(scale_b).astype(cdt) if scale_b else np.zeros(0, cdt)
        # All categories with as many levels, thermometers on a side: that side compares by
        # broadcasting instead of repeating columns.
        uniform = bool(ordered) and bool(np.all(self._col_count == self._col_count[0]))
        self._uniform_offers = uniform and self._k_a == self.n_levels
        self._uniform_needs = uniform and self._k_b == 0

        # Needs rows without any level quantity give zero columns of the product: drop them
        # from ``B`` when that saves enough.
        nd = self._needs
        has_level = np.zeros(m, dtype=bool)
        if self.n_levels:
            has_level[nd.crow[self._lev_index[nd.ccat] >= 0]] = True
        kept = np.flatnonzero(has_level)
        self._columns: IntArray | None = (
            kept if self.n_levels and kept.size <= _COMPACT_COLUMNS_SHARE * m else None
        )
        rows: IntArray | slice = kept if self._columns is not None else slice(0, m)
        if self.n_levels:
            self._b = self._encode(self._slab(nd, rows), offers_side=False)
        else:
            self._b = np.zeros((m, 0), dtype=cdt)
        # Offer rows per step: the packed product (rows / p × m' float32) and the encoded
        # offers (rows × n_levels) stay within about _STEP_BYTES each.
        step = _STEP_BYTES // (cdt.itemsize * max(1, self.n_levels))
        if self.packed and self._row_bounds is not None:
            widths = np.sort(_width_classes(self._row_bounds))
            widths = widths[widths > 0]
            main = int(widths[int(_MAIN_CLASS_SHARE * (widths.size - 1))]) if widths.size else 1
            rows_per_float = _SIGNIFICAND_BITS // main
            step = min(step, rows_per_float * (_STEP_BYTES // (4 * max(1, self._b.shape[0]))))
        self._step = max(256, step) if self.n_levels else max(1, self.shape[0])

    def _setup_table(self, cats: list[_Category]) -> None:
        """Tables ``w_c · min(v, needs[:, c])`` per offered value ``v``, and each row's entries.

        Row ``i`` of ``S`` is then the sum of the table rows its non-zero offers select:
        ``nnz(offers) × m`` additions in all, in the narrowest exact accumulator.
        """
        o, nd, w = self._offers, self._needs, self._weights
        n, m = self.shape
        lane, scale = self._table_lanes(cats)
        self._table_scale = scale
        self._table: npt.NDArray[Any] | None = None
        self._t_ptr = np.zeros(n + 1, dtype=np.intp)
        self._t_ids = np.zeros(0, dtype=np.intp)
        self._t_rows = 1
        if not cats:
            return
        ordered = sorted(cats, key=lambda cat: cat.index)
        slot = np.full(o.n_cols, -1, dtype=np.intp)  # position of each category in ordered
        slot[[cat.index for cat in ordered]] = np.arange(len(ordered))
        counts = np.array([cat.offer_values.size for cat in ordered], dtype=np.intp)
        first = np.cumsum(counts) - counts  # first table row of each category
        row_cat = np.repeat(np.arange(len(ordered)), counts)
        values = np.concatenate([cat.offer_values for cat in ordered])
        caps = np.array([min(cat.a_max, cat.b_max) for cat in ordered])
        ws = w[[cat.index for cat in ordered]] * scale
        # w · min(v, need) = min(w·v, w·need) for w >= 0 (max for w < 0), also after rounding
        # both products once to the lane dtype (rounding is monotonic); the products of
        # values of the result dtype are exact in float64. Needs clipped at ``cap`` change no
        # minimum and keep whole lanes within their range.
        t = slot[nd.ccat]
        keep = t >= 0
        t = t[keep]
        weighted = np.zeros((len(ordered), m), dtype=lane)
        weighted[t, nd.crow[keep]] = np.minimum(nd.cval[keep], caps[t]) * ws[t]
        table = np.take(weighted, row_cat, axis=0, mode="clip")
        del weighted
        lane_values = (values * ws[row_cat]).astype(lane)[:, None]
        up = ws[row_cat] >= 0
        if up.all():
            np.minimum(table, lane_values, out=table)
        else:
            table[up] = np.minimum(table[up], lane_values[up])
            table[~up] = np.maximum(table[~up], lane_values[~up])
        # The table row of each non-zero offer: its category's first row plus the rank of its
        # (clipped) value among the category's values.
        t = slot[o.ccat]
        entries = np.flatnonzero(t >= 0)
        t = t[entries]
        x = np.minimum(o.cval[entries], caps[t])
        top = float(values.max(initial=0.0))
        if np.array_equal(x, np.floor(x)) and len(ordered) * (top + 1) <= _TABLE_LIMIT:
            lookup = np.zeros((len(ordered), int(top) + 1), dtype=np.intp)
            lookup[row_cat, values.astype(np.intp)] = np.arange(values.size)
            row_of = lookup[t, x.astype(np.intp)]
        else:  # entries are grouped by category (CSC order)
            row_of = np.empty(entries.size, dtype=np.intp)
            bounds = np.searchsorted(t, np.arange(len(ordered) + 1))
            for k in range(len(ordered)):
                lo, hi = bounds[k], bounds[k + 1]
                own = values[first[k] : first[k] + counts[k]]
                row_of[lo:hi] = first[k] + np.searchsorted(own, x[lo:hi])
        rows = o.crow[entries]
        by_row = np.argsort(rows, kind="stable")  # category order within a row
        self._table = table
        self._t_ids = row_of[by_row]
        self._t_ptr = _pointers(rows, n)
        self._t_rows = int(np.clip(_TABLE_BLOCK_BYTES // max(1, m * lane.itemsize), 4, 1024))

    def _setup_direct(self, direct: list[_Category]) -> None:
        nd = self._needs
        dt = self.dtype
        self._direct: list[tuple[int, IntArray, FloatArray, float]] = []
        for cat in direct:
            c = cat.index
            lo, hi = nd.cptr[c], nd.cptr[c + 1]
            self._direct.append(
                (c, nd.crow[lo:hi], nd.cval[lo:hi].astype(dt), float(self._weights[c]))
            )
        self._offer_cval = self._offers.cval.astype(dt)
        # Direct terms per offer row and need column (work estimate for threading).
        n, m = self.shape
        pairs = sum(cat.n_offers * cat.n_needs for cat in direct)
        self._direct_density = pairs / max(1, n * m)

    @property
    def nbytes(self) -> int:
        """Bytes held by the kernel: encoded needs, by-category entries, input copies."""
        total = self._b.nbytes + self._offer_cval.nbytes + self._t_ids.nbytes + self._t_ptr.nbytes
        if self._table is not None:
            total += self._table.nbytes
        for side in (self._offers, self._needs):
            total += side.cptr.nbytes + side.crow.nbytes + side.ccat.nbytes + side.cval.nbytes
            if side.dense is not None:
                total += side.dense.nbytes
            if side.csr is not None:
                total += sum(part.nbytes for part in side.csr)
        return int(total)

    def _slab(self, side: _Side, rows: IntArray | slice) -> FloatArray:
        """Quantities of ``rows`` in the level categories, clipped, in the compute dtype.

        Clipping at ``min(max offers, max needs)`` of the category changes no minimum and
        keeps packed values exactly representable in float32.
        """
        if side.dense is not None:
            raw = side.dense[rows]
            if not self._lev_identity:
                raw = np.take(raw, self._lev_cats, axis=1)
        else:
            assert side.csr is not None
            indptr, indices, data = side.csr
            if isinstance(rows, slice):
                rows = np.arange(rows.start, rows.stop, dtype=np.intp)
            raw = np.zeros((rows.size, self._n_lev))
            starts = indptr[rows]
            counts = indptr[rows + 1] - starts
            # Entry positions of the selected rows, vectorised (no loop over rows).
            pos = np.repeat(starts - np.cumsum(counts) + counts, counts)
            pos += np.arange(pos.size)
            local = np.repeat(np.arange(rows.size), counts)
            lc = self._lev_index[indices[pos]]
            keep = lc >= 0
            raw[local[keep], lc[keep]] = data[pos[keep]]
        slab = np.empty(raw.shape, dtype=self._compute_dtype)
        np.minimum(raw, self._cap, out=slab)
        return slab

    def _encode(self, slab: FloatArray, *, offers_side: bool) -> FloatArray:
        """Level encoding of the ``slab`` rows: ``(rows, n_levels)`` in the compute dtype.

        Thermometer columns hold ``[x ≥ u_k]``, ramp columns ``clip(x − u_{k−1}, 0, Δ_k)``;
        both are then multiplied by the side's column scale unless it is all ones.
        """
        rows = slab.shape[0]
        if offers_side:
            therm, ramp, scale = slice(0, self._k_a), slice(self._k_a, None), self._scale_a
        else:
            therm, ramp, scale = slice(self._k_b, None), slice(0, self._k_b), self._scale_b
        out = np.empty((rows, self.n_levels), dtype=self._compute_dtype)
        if self._uniform_offers if offers_side else self._uniform_needs:
            levels = int(self._col_count[0])
            np.greater_equal(
                slab[:, :, None],
                self._upper.reshape(self._n_lev, levels),
                out=out.reshape(rows, self._n_lev, levels),
            )
        else:
            values = np.repeat(slab, self._col_count, axis=1)  # one column per level
            np.greater_equal(values[:, therm], self._upper[therm], out=out[:, therm])
            r = out[:, ramp]
            np.subtract(values[:, ramp], self._lower[ramp], out=r)
            np.clip(r, 0, self._delta[ramp], out=r)
        if not np.all(scale == 1):
            np.multiply(out, scale, out=out)
        return out

    # ---------------------------------------------------------------- computing blocks

    def block(self, row_start: int, row_stop: int, *, out: FloatArray | None = None) -> FloatArray:
        """Rows ``row_start:row_stop`` of ``S`` (offer units against every need unit).

        Parameters
        ----------
        row_start, row_stop : int
            The slice of offer rows, ``0 <= row_start <= row_stop <= n``.
        out : numpy.ndarray, optional
            C-contiguous array of shape ``(row_stop - row_start, m)`` and dtype
            :attr:`dtype` to write into (reused buffers avoid page faults).

        Returns
        -------
        numpy.ndarray
            The block, shape ``(row_stop - row_start, m)``.

        Raises
        ------
        InputError
            If the slice is out of range or ``out`` has the wrong shape, dtype or layout.

        Examples
        --------
        >>> import numpy as np
        >>> kernel = ComplementarityKernel(np.eye(3, dtype=np.float32), np.ones((2, 3)))
        >>> kernel.block(1, 3)
        array([[1., 1.],
               [1., 1.]])
        """
        n, m = self.shape
        if (
            not isinstance(row_start, int | np.integer)
            or not isinstance(row_stop, int | np.integer)
            or not 0 <= row_start <= row_stop <= n
        ):
            raise InputError(
                f"row_start, row_stop = {row_start!r}, {row_stop!r} must be integers with "
                f"0 <= row_start <= row_stop <= {n} (the number of offer rows)"
            )
        row_start, row_stop = int(row_start), int(row_stop)
        shape = (row_stop - row_start, m)
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        elif (
            not isinstance(out, np.ndarray)
            or out.shape != shape
            or out.dtype != self.dtype
            or not out.flags.c_contiguous
        ):
            got = getattr(out, "dtype", type(out).__name__)
            raise InputError(
                f"out must be a C-contiguous {self.dtype} array of shape {shape}; "
                f"got {got} of shape {getattr(out, 'shape', None)}"
            )
        if out.size == 0:
            return out
        step = self._step
        for start in range(row_start, row_stop, step):
            stop = min(row_stop, start + step)
            self._compute(start, stop, out[start - row_start : stop - row_start])
        return out

    def full(self) -> FloatArray:
        """The whole ``n × m`` matrix ``S``.

        Examples
        --------
        >>> import numpy as np
        >>> ComplementarityKernel(np.array([[1.5, 4.0]]), np.array([[2.0, 1.0]])).full()
        array([[2.5]])
        """
        return self.block(0, self.shape[0])

    def _compute(self, start: int, stop: int, out: FloatArray) -> None:
        written = False
        if self.n_levels:
            a = self._encode(self._slab(self._offers, slice(start, stop)), offers_side=True)
            if self.packed:
                assert self._row_bounds is not None
                self._packed_product(a, self._row_bounds[start:stop], out)
            else:
                self._plain_product(a, out)
            written = True
        if self._table is not None:
            self._table_product(start, stop, out, add=written)
            written = True
        if not written:
            out[...] = 0
        if self._direct:
            m = self.shape[1]

            def direct_rows(lo: int, hi: int) -> None:
                for s in range(lo, hi, self._direct_rows):
                    e = min(hi, s + self._direct_rows)
                    self._add_direct(start + s, start + e, out[s:e])

            rows = self._direct_rows
            _in_parallel(direct_rows, stop - start, rows, m * self._direct_density)

    def _table_product(self, start: int, stop: int, out: FloatArray, *, add: bool) -> None:
        """Write (or add) the table path's terms of offer rows ``start:stop`` into ``out``.

        A few rows at a time, sorted by decreasing number of entries so that the rows with
        more than ``t`` entries are a prefix: entry ``t`` of those rows is one gather of
        table rows and one addition, in the lane dtype; the rows are then put back in order.
        """
        table, ptr, ids = self._table, self._t_ptr, self._t_ids
        assert table is not None
        m = self.shape[1]
        rows = self._t_rows
        inv = self.dtype.type(1.0 / self._table_scale)
        scaled = self._table_scale != 1.0

        def table_rows(lo: int, hi: int) -> None:
            acc = np.empty((min(rows, hi - lo), m), dtype=table.dtype)
            tmp = np.empty_like(acc)
            for s in range(lo, hi, rows):
                e = min(hi, s + rows)
                first = ptr[start + s : start + e]
                count = ptr[start + s + 1 : start + e + 1] - first
                block = out[s:e]
                width = int(count.max(initial=0))
                if width == 0:
                    if not add:
                        block[...] = 0
                    continue
                order = np.argsort(-count, kind="stable")
                first = first[order]
                # prefix[t]: how many rows have more than t entries.
                prefix = np.searchsorted(-count[order], -np.arange(width), side="left")
                # Indices are in range: mode="clip" skips numpy's slower checked copy.
                r = int(prefix[0])
                np.take(table, ids[first[:r]], axis=0, out=acc[:r], mode="clip")
                acc[r : e - s] = 0
                for t in range(1, width):
                    r = int(prefix[t])
                    np.take(table, ids[first[:r] + t], axis=0, out=tmp[:r], mode="clip")
                    np.add(acc[:r], tmp[:r], out=acc[:r])
                values = acc[: e - s]
                if scaled:
                    values = np.multiply(values, inv, dtype=self.dtype)
                if add:
                    block[order] += values
                else:
                    block[order] = values

        entries = (ptr[stop] - ptr[start]) / max(1, stop - start)
        _in_parallel(table_rows, stop - start, rows, m * max(1.0, entries))

    def _plain_product(self, a: FloatArray, out: FloatArray) -> None:
        """``out = A · Bᵀ`` in the result dtype (no packing)."""
        if self._columns is None:
            np.matmul(a, self._b.T, out=out)
        else:
            out[...] = 0
            out[:, self._columns] = a @ self._b.T

    def _packed_product(self, a: F32, bounds: F64, out: FloatArray) -> None:
        """``out = A · Bᵀ`` exactly, several rows of ``A`` per float32 (see module notes)."""
        rows = a.shape[0]
        cls = _width_classes(bounds)
        nonzero = cls > 0
        n_nonzero = int(np.count_nonzero(nonzero))
        if n_nonzero == 0:
            out[...] = 0
            return
        # The main width covers at least 90 % of the rows with a non-zero bound.
        widths = np.sort(cls[nonzero])
        main = int(widths[min(n_nonzero - 1, math.ceil(_MAIN_CLASS_SHARE * n_nonzero) - 1)])
        in_main = nonzero & (cls <= main)
        groups: list[tuple[int, IntArray]] = []
        for width in np.unique(cls[nonzero & ~in_main]).tolist():
            groups.append((int(width), np.flatnonzero(cls == width)))
        if self._columns is not None:
            out[...] = 0  # columns of need rows without levels stay zero
        if np.count_nonzero(in_main) >= _CONTIGUOUS_SHARE * rows:
            others = np.flatnonzero(~in_main)
            taken = [(width, idx, a[idx]) for width, idx in groups]
            a[others] = 0  # their rows come out zero here and are overwritten below
            self._pack_multiply(a, main, out, None)
            for width, idx, a_idx in taken:
                self._pack_multiply(a_idx, width, out, idx)
        else:
            if self._columns is None:
                out[...] = 0
            groups.append((main, np.flatnonzero(in_main)))
            for width, idx in groups:
                self._pack_multiply(a[idx], width, out, idx)
        if self._scale_factor != 1.0:
            np.multiply(out, 1.0 / self._scale_factor, out=out)

    def _pack_multiply(self, a: F32, width: int, out: FloatArray, rows: IntArray | None) -> None:
        """Packed product of the rows ``a`` into ``out`` rows ``rows`` (``None``: all, in order).

        Row ``t·q + i`` of ``a`` goes to slot ``t`` of packed row ``i``; slot ``t`` of packed
        rows ``a0:a1`` therefore lands in the consecutive rows ``t·q + a0 : t·q + a1``.
        """
        r = a.shape[0]
        p = _SIGNIFICAND_BITS // width
        q = -(-r // p)
        if p == 1:
            packed = a
        else:
            packed = np.zeros((q, a.shape[1]), dtype=np.float32)
            for t in range(p):
                part = a[t * q : (t + 1) * q]
                packed[: part.shape[0]] += part * np.float32(2.0 ** (width * t))
        in_place = rows is None and self._columns is None
        columns = self._columns
        m_eff = self._b.shape[0]
        if in_place and out.dtype == np.float32:
            # The packed product lives in the rows of slot 0 of ``out`` itself: each chunk is
            # read (converted to int32) before its slot-0 rows are written, and BLAS takes
            # the first page faults of the output on its threads.
            x = out[:q]
            np.matmul(packed, self._b.T, out=x)
        else:
            x = packed @ self._b.T
        # x is (q, m'), exact: every partial sum is a whole number below 2**24.

        def unpack_rows(lo: int, hi: int) -> None:
            chunk = min(_UNPACK_ROWS, hi - lo)
            ints = np.empty((chunk, m_eff), dtype=np.int32)
            scratch = np.empty((p, chunk, m_eff), dtype=self.dtype)
            for a0 in range(lo, hi, chunk):
                a1 = min(hi, a0 + chunk)
                h = a1 - a0
                spans = [(t * q + a0, min(r, t * q + a1)) for t in range(p)]
                full = [in_place and d1 - d0 == h for d0, d1 in spans]
                dests = [
                    out[d0:d1] if full[t] else scratch[t, :h] for t, (d0, d1) in enumerate(spans)
                ]
                _unpack(x[a0:a1], width, dests, ints[:h])
                for t, (d0, d1) in enumerate(spans):
                    if full[t] or d1 <= d0:
                        continue
                    values = dests[t][: d1 - d0]
                    if rows is None:
                        if columns is None:
                            out[d0:d1] = values
                        else:
                            out[d0:d1, columns] = values
                    elif columns is None:
                        out[rows[d0:d1]] = values
                    else:
                        out[np.ix_(rows[d0:d1], columns)] = values

        _in_parallel(unpack_rows, q, _UNPACK_ROWS, p * m_eff)

    def _add_direct(self, start: int, stop: int, out: FloatArray) -> None:
        """Add the direct categories' terms for offer rows ``start:stop`` into ``out``."""
        o = self._offers
        m = self.shape[1]
        flat = out.reshape(-1)
        dt = self.dtype.type
        for c, need_rows, need_vals, weight in self._direct:
            lo, hi = o.cptr[c], o.cptr[c + 1]
            crow = o.crow[lo:hi]
            i0, i1 = np.searchsorted(crow, [start, stop])
            if i0 == i1:
                continue
            terms = np.minimum.outer(self._offer_cval[lo + i0 : lo + i1], need_vals).ravel()
            if weight != 1.0:
                np.multiply(terms, dt(weight), out=terms)
            index = ((crow[i0:i1] - start) * m)[:, None] + need_rows
            np.add.at(flat, index.ravel(), terms)  # one gather-add-scatter pass


def _in_parallel(task: Callable[[int, int], None], total: int, unit: int, cost: float) -> None:
    """Run ``task(lo, hi)`` over ``range(total)``, split in two on two threads if worth it.

    ``cost`` is the work per index (elements touched); the split is aligned to ``unit``.
    The parts write disjoint output rows, so the result does not depend on the split.
    """
    threads = min(_THREADS, os.cpu_count() or 1)
    if threads < 2 or total * cost < _PARALLEL_MIN_WORK or total < 2 * unit:
        task(0, total)
        return
    mid = -(-total // (2 * unit)) * unit
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(task, mid, total)
        task(0, mid)
        other.result()


def _unpack(x: F32, width: int, dests: list[FloatArray], scratch: npt.NDArray[np.int32]) -> None:
    """Split packed rows ``x = Σ_t 2**(width·t) · s_t`` into ``dests[t] = s_t``, exactly.

    Every value of ``x`` is a whole number below ``2**24``, so its conversion to int32 is
    exact; the slots are then masked and shifted out, converted to float on writing.
    """
    p = len(dests)
    if p == 1:
        np.copyto(dests[0], x)
        return
    np.copyto(scratch, x, casting="unsafe")
    mask = (1 << width) - 1
    for t in range(p - 1):
        np.bitwise_and(scratch, mask, out=dests[t])
        np.right_shift(scratch, width, out=scratch if t < p - 2 else dests[p - 1])


def complementarity(
    offers: Any,
    needs: Any,
    weights: Any = None,
    *,
    method: Method = "auto",
) -> FloatArray:
    """How much of each unit's needs each unit's offers can meet.

    ``S[i, j] = Σ_c weights[c] · min(offers[i, c], needs[j, c])``.

    Parameters
    ----------
    offers : array_like or scipy.sparse matrix, shape (n, C)
        Offered quantity of each category per unit; finite and ``>= 0``.
    needs : array_like or scipy.sparse matrix, shape (m, C)
        Needed quantity of each category per unit; finite and ``>= 0``.
    weights : array_like, shape (C,), optional
        Finite weight of each category, default all ones; rounded to the result dtype.
    method : {"auto", "table", "levels", "direct"}, default "auto"
        Force a path (see :class:`ComplementarityKernel`); the result is the same.

    Returns
    -------
    numpy.ndarray, shape (n, m)
        float32 when both inputs are float32 (or float16), else float64 (integer and bool
        inputs count as float64).

    Raises
    ------
    InputError
        If an input is not 2-D, the category counts differ, a quantity is negative, NaN or
        infinite, or the weights have the wrong length or are not finite. The message names
        the argument, the row and column (or weight index) and the value.

    See Also
    --------
    ComplementarityKernel : prepared encodings and row blocks, for scanning a large ``S``.

    Notes
    -----
    Whole-number quantities and weights give exact results in both float32 and float64 (sums
    of table rows in small unsigned integers, or an exact, packed float32 level product);
    see :class:`ComplementarityKernel`
    for the algorithm, its complexity, memory bound, float error and determinism. For
    5,000 × 5,000 units, 32 categories with 20 % non-zero quantities of 1 to 10, it is
    more than 20 times faster than the blocked numpy broadcast (``benchmarks/
    bench_complementarity.py``).

    Examples
    --------
    >>> import numpy as np
    >>> offers = np.array([[3, 0], [1, 2]])          # 2 units, 2 categories
    >>> needs = np.array([[2, 2], [0, 5], [4, 1]])   # 3 units
    >>> complementarity(offers, needs)
    array([[2., 0., 3.],
           [3., 2., 2.]])
    >>> complementarity(offers, needs, weights=[1.0, 0.5])
    array([[2. , 0. , 3. ],
           [2. , 1. , 1.5]])
    >>> complementarity(np.float32([[0.5, 1.25]]), np.float32([[1.0, 1.0]])).dtype
    dtype('float32')
    """
    return ComplementarityKernel(offers, needs, weights, method=method).full()
