"""Bring-your-own-scores bipartite matching: :func:`match`."""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import WITH_SOLUTION
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.results import MatchResult
from pbmatch.solvers import choose_method, get_backend, method_names
from pbmatch.solvers.certified import certify
from pbmatch.solvers.problem import BackendResult, MatchProblem

__all__ = ["match", "match_blocks"]

_INT64_MAX = np.iinfo(np.int64).max


def match(
    scores: Any,
    *,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    left_min: int | npt.ArrayLike = 0,
    right_min: int | npt.ArrayLike = 0,
    time_limit: float | None = None,
    method: str = "auto",
) -> MatchResult:
    """Choose (row, column) pairs of a score matrix that maximise the total score.

    Each row ``i`` is in at most ``left_capacity[i]`` and at least ``left_min[i]`` chosen pairs,
    each column ``j`` in at most ``right_capacity[j]`` and at least ``right_min[j]``; a pair is
    chosen at most once. Pairs are optional unless a minimum asks for them.

    Parameters
    ----------
    scores : array_like or scipy.sparse matrix/array, shape (n_rows, n_cols)
        Higher is better; rectangular allowed; int or float. In a dense array ``-inf`` forbids a
        pair. In a sparse matrix an absent entry forbids a pair, and every stored entry (an
        explicit zero too) is an allowed pair; duplicate entries are summed, as scipy does.
    left_capacity, right_capacity : int or array_like of int, default 1
        Most pairs per row / per column: one int for all, or one entry per row / column, >= 0.
    left_min, right_min : int or array_like of int, default 0
        Fewest pairs per row / per column, ``0 <= min <= capacity``.
    time_limit : float or None, default None
        Seconds, > 0. Accepted for the CP-SAT based methods to come; the ``assignment`` and
        ``flow`` methods are polynomial and ignore it.
    method : {"auto", "assignment", "flow"}, default "auto"
        ``assignment``: OR-Tools ``SimpleLinearSumAssignment``, for capacities <= 1 and no
        minimums. ``flow``: OR-Tools ``SimpleMinCostFlow``, for everything. ``auto`` picks
        ``assignment`` where it applies, else ``flow``.

    Returns
    -------
    MatchResult
        ``rows``, ``cols`` (sorted by row then column), ``scores`` (as given, as floats),
        ``objective`` (their exactly rounded float sum; NaN when there is no solution),
        ``status`` (``"optimal"``, or ``"infeasible"`` when the minimums cannot all be met,
        ``"error"`` if a backend failed), ``method``, ``resolution``, ``message`` (the backend's
        own status name, or which row or column makes the minimums infeasible), ``wall_time``.

    Raises
    ------
    InputError
        Also a ``ValueError``. NaN or ``+inf`` scores, a non-numeric dtype, not 2-D, a capacity
        or minimum that is negative, not a whole number, or of the wrong length, a minimum above
        its capacity, a bad ``time_limit`` or an unknown ``method``; the message names the
        parameter, the row or column and the value.

    Warns
    -----
    PrecisionWarning
        Scaling the scores to the solver's integers made distinct scores equal.

    See Also
    --------
    pbmatch.verify.verify_match : check a result independently of the solver.

    Notes
    -----
    With no minimums only pairs with a score > 0 are chosen: a pair of score <= 0 cannot raise
    the total, so it is left out (ties with an empty pair go to leaving it out). With minimums,
    a pair of score <= 0 is chosen only at a row or column that has a minimum.

    OR-Tools takes integer costs. Integer-valued scores that fit are used exactly
    (``resolution`` is None). Other scores are multiplied by the largest power of two that
    cannot overflow the solver (see :mod:`pbmatch.solvers.scaling`) and rounded;
    ``resolution = 1 / scale`` then bounds the rounding of each score by ``resolution / 2``, so
    the returned total is within ``resolution`` times the most pairs a solution can have of the
    true optimum (``resolution`` is typically about ``1e-11`` times the largest score).

    The same input gives the same output. Complexity: the assignment solver is
    ``O(n m log(n C))`` (Goldberg-Kennedy cost scaling), the flow solver ``O(V^2 E log(V C))``
    worst case and near-linear in practice. Validation and arc building are vectorised.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.array([[3.0, 1.0, -np.inf],
    ...                    [2.0, 4.0, 0.5]])
    >>> result = match(scores)
    >>> result.pairs, result.objective, result.status
    ([(0, 0), (1, 1)], 7.0, 'optimal')

    A column may take two rows; row 1 must be paired twice:

    >>> result = match(scores, right_capacity=2, left_capacity=2, left_min=[0, 2])
    >>> result.pairs, result.method
    ([(0, 0), (0, 1), (1, 0), (1, 1)], 'flow')

    Minimums that cannot be met give an ``infeasible`` status, not an exception:

    >>> bad = match(scores, right_min=1)
    >>> bad.status, bad.success
    ('infeasible', False)
    >>> bad.diagnosis
    {'side': 'right', 'total': 3, 'room': 2}
    >>> print(bad.message[:51])
    the columns' minimums (right_min) total 3 pairs but
    """
    problem, method = _match_iv(
        scores, left_capacity, right_capacity, left_min, right_min, time_limit, method
    )
    started = time.perf_counter()
    if method == "auto":
        method = choose_method(problem)
    backend = get_backend(method)
    reason = backend.unsupported(problem)
    if reason is not None:
        raise InputError(f"method={method!r} cannot solve this problem: {reason}")
    raw = backend.solve(problem)
    certificate = raw.certificate
    if certificate is None and raw.status in WITH_SOLUTION:
        certificate = certify(problem, raw)
    return _result(raw, method, certificate, started)


def _result(raw: BackendResult, method: str, certificate: Any, started: float) -> MatchResult:
    """Decode a backend's answer; warn when scaling merged distinct scores."""
    scaling = raw.scaling
    if scaling is not None and scaling.merged:
        warnings.warn(
            f"{scaling.merged} distinct score values became equal when scaled to integers "
            f"(resolution {scaling.resolution:.3g}); the total is optimal to within "
            "resolution x the most pairs a solution can have",
            PrecisionWarning,
            stacklevel=3,
        )
    chosen = np.asarray(raw.values, dtype=np.float64)
    success = raw.status in WITH_SOLUTION
    return MatchResult(
        rows=raw.rows.astype(np.intp, copy=False),
        cols=raw.cols.astype(np.intp, copy=False),
        scores=chosen,
        objective=math.fsum(chosen.tolist()) if success else math.nan,
        status=raw.status,
        method=method,
        resolution=None if scaling is None else scaling.resolution,
        message=raw.message,
        bound=certificate.bound if certificate is not None and certificate.certified else None,
        wall_time=time.perf_counter() - started,
        diagnosis=raw.diagnosis,
        certificate=certificate,
    )


def match_blocks(
    block: Callable[[int, int], Any],
    shape: tuple[int, int],
    *,
    candidates: Any = None,
    bounds: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    pair_scores: Callable[[Any, Any], Any] | None = None,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    left_min: int | npt.ArrayLike = 0,
    right_min: int | npt.ArrayLike = 0,
    k: int | None = None,
    rows_per_block: int | None = None,
) -> MatchResult:
    """:func:`match` on a score matrix given by rows, never held whole, with a certificate.

    Solves on candidate pairs and prices the others through ``block`` (or ``bounds``) until
    the answer is proved optimal for the whole matrix (see :mod:`pbmatch.solvers.certified`).
    The rules and the result are those of :func:`match` (method ``"certified"``).

    Parameters
    ----------
    block : callable
        ``block(start, stop)`` returns rows ``start:stop`` of the scores as a float array of
        shape ``(stop - start, n_cols)``; ``-inf`` forbids a pair.
    shape : (int, int)
        ``(n_rows, n_cols)``.
    candidates : object or (rows, cols, scores), optional
        Pairs to start from: three arrays, or any object with ``rows``, ``cols`` and
        ``scores`` attributes. Default: the top ``k`` of every row and column, found in two
        passes over the blocks.
    bounds : (row_bound, col_bound), optional
        Every useful pair not in ``candidates`` scores at most ``row_bound[i]`` and at most
        ``col_bound[j]``; pricing then scores only the pairs the bounds cannot rule out, with
        ``pair_scores``. Ignored without ``candidates`` (the default candidates bring their
        own bounds).
    pair_scores : callable, optional
        ``pair_scores(rows, cols)``: exact scores of listed pairs; default, read rows through
        ``block``.
    left_capacity, right_capacity, left_min, right_min
        As in :func:`match`.
    k : int, optional
        Candidates per row and column when none are given, and the most pairs each row and
        column adds per pricing pass (default
        :data:`~pbmatch.solvers.certified.DEFAULT_K`).
    rows_per_block : int, optional
        Rows per ``block`` call when pricing (default about a million pairs a call).

    Returns
    -------
    MatchResult
        With ``certified``, ``rounds`` and ``priced``.

    Raises
    ------
    InputError
        Bad shape, capacities or minimums (as :func:`match`), candidates out of range, or a
        block of the wrong shape or with NaN or ``+inf``.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.random.default_rng(0).random((300, 200))
    >>> result = match_blocks(lambda a, b: scores[a:b], scores.shape, right_capacity=2)
    >>> result.certified, result.objective == match(scores, right_capacity=2).objective
    (True, True)
    """
    from pbmatch.solvers.certified import DEFAULT_K, ScoreSource, solve_certified

    started = time.perf_counter()
    if not callable(block):
        raise InputError(f"block is a {type(block).__name__}; pass a function block(start, stop)")
    try:
        n, m = (int(x) for x in shape)
    except (TypeError, ValueError) as exc:
        raise InputError(f"shape is {shape!r}; pass (n_rows, n_cols)") from exc
    if n < 0 or m < 0:
        raise InputError(f"shape is {shape!r}; sizes must be >= 0")
    lcap = _counts_iv(left_capacity, "left_capacity", n, "row")
    rcap = _counts_iv(right_capacity, "right_capacity", m, "column")
    lmin = _counts_iv(left_min, "left_min", n, "row")
    rmin = _counts_iv(right_min, "right_min", m, "column")
    _min_cap_iv(lmin, lcap, left_min, left_capacity, "left_min", "left_capacity", "row")
    _min_cap_iv(rmin, rcap, right_min, right_capacity, "right_min", "right_capacity", "column")
    triple = None
    if candidates is not None:
        triple = _candidates_iv(candidates, n, m)
    elif bounds is not None:
        bounds = None  # the default candidates come with their own bounds
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1):
        raise InputError(f"k is {k!r}; it must be an int >= 1")
    source = ScoreSource((n, m), block=block, rows_per_block=rows_per_block)
    raw = solve_certified(
        source,
        lcap,
        rcap,
        lmin,
        rmin,
        candidates=triple,
        k=DEFAULT_K if k is None else int(k),
        bounds=bounds,
        pair_scores=pair_scores,
    )
    return _result(raw, "certified", raw.certificate, started)


def _candidates_iv(candidates: Any, n: int, m: int) -> tuple[Any, Any, Any]:
    if all(hasattr(candidates, name) for name in ("rows", "cols", "scores")):
        parts = (candidates.rows, candidates.cols, candidates.scores)
    else:
        try:
            parts = tuple(candidates)
        except TypeError as exc:
            raise InputError(
                "candidates must be (rows, cols, scores) or have rows, cols and scores"
            ) from exc
        if len(parts) != 3:
            raise InputError(f"candidates has {len(parts)} parts; pass (rows, cols, scores)")
    rows, cols, scores = (np.asarray(x).reshape(-1) for x in parts)
    if not (rows.size == cols.size == scores.size):
        raise InputError(
            f"candidates: rows, cols and scores have lengths {rows.size}, {cols.size}, "
            f"{scores.size}; they must be equal"
        )
    if rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu"):
        raise InputError("candidates: rows and cols must be integer arrays")
    bad = (rows < 0) | (rows >= n) | (cols < 0) | (cols >= m)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"candidates: pair ({rows[i]}, {cols[i]}) is outside the {n} x {m} matrix")
    values = _score_dtype_iv(scores, "candidates' scores").astype(np.float64)
    if not (values < np.inf).all():
        i = int(np.argmin(values < np.inf))
        raise InputError(_bad_score_message(f"candidate ({rows[i]}, {cols[i]})", values[i]))
    return rows.astype(np.int64), cols.astype(np.int64), values


# --- validation, once, at the boundary --------------------------------------------------------


def _match_iv(
    scores: Any,
    left_capacity: Any,
    right_capacity: Any,
    left_min: Any,
    right_min: Any,
    time_limit: Any,
    method: Any,
) -> tuple[MatchProblem, str]:
    if not isinstance(method, str) or method not in method_names():
        get_backend(method)  # raises the InputError that lists the known names
    if time_limit is not None and not (
        isinstance(time_limit, numbers.Real)
        and not isinstance(time_limit, bool)
        and math.isfinite(float(time_limit))
        and float(time_limit) > 0
    ):
        raise InputError(
            f"time_limit is {time_limit!r}; it must be a number of seconds > 0 or None"
        )

    sparse = sys.modules.get("scipy.sparse")  # scipy is optional: only a sparse input loads it
    if sparse is not None and sparse.issparse(scores):
        n, m, pair_rows, pair_cols, pair_values = _sparse_scores_iv(scores)
        dense = None
    else:
        dense = _dense_scores_iv(scores)
        n, m = dense.shape
        pair_rows = pair_cols = pair_values = None

    lcap = _counts_iv(left_capacity, "left_capacity", n, "row")
    rcap = _counts_iv(right_capacity, "right_capacity", m, "column")
    lmin = _counts_iv(left_min, "left_min", n, "row")
    rmin = _counts_iv(right_min, "right_min", m, "column")
    _min_cap_iv(lmin, lcap, left_min, left_capacity, "left_min", "left_capacity", "row")
    _min_cap_iv(rmin, rcap, right_min, right_capacity, "right_min", "right_capacity", "column")
    problem = MatchProblem(
        n_rows=n,
        n_cols=m,
        dense=dense,
        pair_rows=pair_rows,
        pair_cols=pair_cols,
        pair_values=pair_values,
        left_capacity=lcap,
        right_capacity=rcap,
        left_min=lmin,
        right_min=rmin,
        time_limit=None if time_limit is None else float(time_limit),
    )
    return problem, method


def _score_dtype_iv(array: np.ndarray, what: str) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float64, copy=False)
    if kind in "iu":
        if kind == "u" and array.size and array.max() > _INT64_MAX:
            return array.astype(np.float64)
        return array.astype(np.int64, copy=False)
    raise InputError(
        f"{what} has dtype {array.dtype}; scores must be real numbers (an integer or float dtype)"
    )


def _bad_score_message(where: str, value: float) -> str:
    return f"{where} is {value}; scores must be finite numbers, or -inf to forbid a pair"


def _dense_scores_iv(scores: Any) -> np.ndarray:
    try:
        array = np.asarray(scores)
    except (TypeError, ValueError) as exc:
        raise InputError(f"scores could not be read as a 2-D numeric array: {exc}") from exc
    if array.ndim != 2:
        raise InputError(
            f"scores must be 2-D (rows x columns); got {array.ndim}-D with shape {array.shape}"
        )
    array = _score_dtype_iv(array, "scores")
    if array.dtype.kind == "f":
        ok = array < np.inf  # False for NaN and +inf
        if not ok.all():
            i, j = np.unravel_index(int(np.argmin(ok)), array.shape)
            raise InputError(_bad_score_message(f"scores[{i}, {j}]", float(array[i, j])))
    return array


def _sparse_scores_iv(scores: Any) -> tuple[int, int, Any, Any, Any]:
    if scores.ndim != 2:
        raise InputError(f"scores must be 2-D (rows x columns); got a {scores.ndim}-D sparse array")
    csr = scores.tocsr(copy=True)  # sums duplicates, keeps explicit zeros
    csr.sort_indices()
    n, m = csr.shape
    values = _score_dtype_iv(np.asarray(csr.data), "scores")
    rows = np.repeat(np.arange(n, dtype=np.intp), np.diff(csr.indptr))
    cols = np.asarray(csr.indices, dtype=np.intp)
    if values.dtype.kind == "f":
        ok = values < np.inf
        if not ok.all():
            k = int(np.argmin(ok))
            raise InputError(_bad_score_message(f"scores[{rows[k]}, {cols[k]}]", float(values[k])))
        allowed = values > -np.inf
        if not allowed.all():
            rows, cols, values = rows[allowed], cols[allowed], values[allowed]
    return int(n), int(m), rows, cols, values


def _counts_iv(value: Any, name: str, size: int, unit: str) -> npt.NDArray[np.int64]:
    """An int or one whole number >= 0 per row/column -> int64 array of length ``size``."""
    rule = f"{name} must be whole numbers >= 0 (one int, or one per {unit})"
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} is {value!r}; {rule}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} could not be read as integers: {exc}; {rule}") from exc
    if array.ndim > 1:
        raise InputError(f"{name} has shape {array.shape}; {rule}")
    if array.ndim == 1 and array.shape[0] != size:
        raise InputError(
            f"{name} has length {array.shape[0]} but scores has {size} {unit}s; "
            f"give one entry per {unit} or a single int"
        )
    flat = array.reshape(-1)
    if array.dtype.kind == "f":
        bad = ~(np.isfinite(flat) & (flat == np.rint(flat)))
    elif array.dtype.kind in "iu":
        bad = np.zeros(flat.shape, dtype=bool)
    else:
        raise InputError(f"{name} has dtype {array.dtype}; {rule}")
    bad |= flat < 0
    if array.dtype.kind in "uf":
        bad |= flat > _INT64_MAX
    if bad.any():
        k = int(np.argmax(bad))
        where = name if array.ndim == 0 else f"{name}[{k}]"
        raise InputError(f"{where} is {flat[k].item()!r}; {rule}")
    counts = flat.astype(np.int64)
    if array.ndim == 0:
        return np.full(size, counts[0], dtype=np.int64)
    return counts


def _min_cap_iv(
    mins: npt.NDArray[np.int64],
    caps: npt.NDArray[np.int64],
    min_value: Any,
    cap_value: Any,
    min_name: str,
    cap_name: str,
    unit: str,
) -> None:
    over = np.flatnonzero(mins > caps)
    if over.size:
        k = int(over[0])
        lo = min_name if np.ndim(min_value) == 0 else f"{min_name}[{k}]"
        hi = cap_name if np.ndim(cap_value) == 0 else f"{cap_name}[{k}]"
        raise InputError(
            f"{lo} is {int(mins[k])} but {hi} is {int(caps[k])}; a {unit}'s minimum must not "
            "exceed its capacity"
        )
