"""Stability of a matching: blocking pairs, the stable alternative, and a report.

Rows (the left side: providers, residents) and columns (the right side: receivers,
hospitals) each rank their allowed partners by score, higher first. A chosen set of pairs is
*stable* when no **blocking pair** exists: an allowed pair ``(i, j)``, not chosen, where row
``i`` has a free slot or prefers ``j`` to its worst current partner, and column ``j`` has a
free slot or prefers ``i`` to its worst current partner. A blocking pair is a provider and a
receiver who would both rather sign with each other than keep the pairing they were given.

* :func:`blocking_pairs` lists the blocking pairs of any matching, vectorised over a dense or
  sparse score matrix;
* :func:`stable_match` finds a stable matching by deferred acceptance with capacities (the
  hospitals/residents algorithm), optimal for the proposing side, or, for one score both
  sides share, the unique stable matching by a greedy fast path;
* :func:`stability_report` measures a :class:`~pbmatch.results.MatchResult` or a
  :class:`~pbmatch.results.PairingResult`: how many blocking pairs, the worst of them, and how
  much total score the stable alternative gives up.

Examples
--------
The pairing with the most total score is not always stable:

>>> import numpy as np
>>> from pbmatch.matching import match
>>> scores = np.array([[10.0, 9.0],
...                    [9.0, 1.0]])
>>> best = match(scores)
>>> best.pairs, best.objective
([(0, 1), (1, 0)], 18.0)
>>> blocking_pairs(scores, best.rows, best.cols)  # row 0 and column 0 prefer each other
(array([0]), array([0]))
>>> stable = stable_match(scores)
>>> stable.pairs, stable.objective
([(0, 0), (1, 1)], 11.0)
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.matching import _counts_iv, _dense_scores_iv, _sparse_scores_iv
from pbmatch.results import MatchResult, PairingResult
from pbmatch.scoring.candidates import _ranges
from pbmatch.scoring.pairscore import _member

if TYPE_CHECKING:
    from pbmatch.scoring.pairscore import PairScorer

__all__ = ["StabilityReport", "blocking_pairs", "stability_report", "stable_match"]

IntArray = npt.NDArray[np.intp]
CountArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ScoreArray = npt.NDArray[Any]  # float64 or int64 scores, as validated by pbmatch.matching

_BLOCK_PAIRS = 1 << 20
"""Pairs per block when a dense matrix or a pairing's scores are scanned for blocking pairs."""
_CANDIDATES_K = 16
"""Candidates per provider and per receiver a large pairing's stable alternative starts from."""


# --- validated preferences ----------------------------------------------------------------------


def _allowed(values: ScoreArray) -> BoolArray:
    """True where a validated score allows the pair (integers always do, floats unless -inf)."""
    if values.dtype.kind == "f":
        return np.asarray(values > -np.inf)
    return np.ones(values.shape, dtype=bool)


def _desc(values: ScoreArray) -> ScoreArray:
    """A sort key that orders ``values`` from highest to lowest (no int64 overflow)."""
    return np.invert(values) if values.dtype.kind in "iu" else -values


@dataclass(frozen=True, eq=False)
class _Prefs:
    """Validated preferences of both sides: dense matrices, or the allowed pairs listed.

    Dense: ``left`` (and ``right``, unless None) are ``(n, m)`` arrays, ``rows`` is None.
    Listed: ``rows``, ``cols`` (sorted by row then column) are the pairs allowed on both sides,
    ``left`` and ``right`` their values. ``right is None`` means the columns rank by ``left``.
    """

    n: int
    m: int
    left: ScoreArray
    right: ScoreArray | None
    rows: IntArray | None = None
    cols: IntArray | None = None

    def pairs(self) -> tuple[IntArray, IntArray, ScoreArray, ScoreArray]:
        """Every allowed pair, sorted by row then column, with the rows' and columns' values."""
        if self.rows is not None and self.cols is not None:
            right = self.left if self.right is None else self.right
            return self.rows, self.cols, self.left, right
        ok = _allowed(self.left)
        if self.right is not None:
            ok &= _allowed(self.right)
        r, c = np.nonzero(ok)
        r, c = r.astype(np.intp, copy=False), c.astype(np.intp, copy=False)
        lv = self.left[r, c]
        return r, c, lv, (lv if self.right is None else self.right[r, c])

    def at(self, rows: IntArray, cols: IntArray) -> tuple[ScoreArray, ScoreArray, BoolArray]:
        """The rows' and columns' values of listed pairs, and whether each pair is allowed."""
        if self.rows is None or self.cols is None:
            lv = self.left[rows, cols]
            rv = lv if self.right is None else self.right[rows, cols]
            return lv, rv, _allowed(lv) & _allowed(rv)
        keys = self.rows.astype(np.int64) * self.m + self.cols
        wanted = rows.astype(np.int64) * self.m + cols
        if keys.size == 0:
            none = np.zeros(rows.size, dtype=self.left.dtype)
            return none, none, np.zeros(rows.size, dtype=bool)
        pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        found = np.asarray(keys[pos] == wanted)
        lv = self.left[pos]
        return lv, (lv if self.right is None else self.right[pos]), found


def _scores_iv(scores: Any, name: str) -> tuple[int, int, ScoreArray, IntArray | None, Any]:
    """``pbmatch.match``'s validation of one score matrix, the messages naming ``name``."""
    try:
        sparse = sys.modules.get("scipy.sparse")  # only a sparse input has loaded scipy
        if sparse is not None and sparse.issparse(scores):
            n, m, rows, cols, values = _sparse_scores_iv(scores)
            return n, m, values, rows.astype(np.intp), cols.astype(np.intp)
        dense = _dense_scores_iv(scores)
        return int(dense.shape[0]), int(dense.shape[1]), dense, None, None
    except InputError as exc:
        if name == "scores":
            raise
        text = str(exc)
        text = text.replace("scores", name, 1) if text.startswith("scores") else f"{name}: {text}"
        raise InputError(text) from exc


def _listed(dense: ScoreArray) -> tuple[IntArray, IntArray, ScoreArray]:
    r, c = np.nonzero(_allowed(dense))
    return r.astype(np.intp), c.astype(np.intp), dense[r, c]


def _prefs_iv(scores: Any, right_scores: Any) -> _Prefs:
    n, m, left, rows, cols = _scores_iv(scores, "scores")
    if right_scores is None:
        return _Prefs(n, m, left, None, rows, cols)
    n2, m2, right, r_rows, r_cols = _scores_iv(right_scores, "right_scores")
    if (n2, m2) != (n, m):
        raise InputError(
            f"right_scores has shape ({n2}, {m2}) but scores has shape ({n}, {m}); give the "
            "columns' own score of every (row, column) pair"
        )
    if rows is None and r_rows is None:
        return _Prefs(n, m, left, right)
    if rows is None:
        rows, cols, left = _listed(left)
    if r_rows is None:
        r_rows, r_cols, right = _listed(right)
    keys = rows.astype(np.int64) * m + cols
    r_keys = r_rows.astype(np.int64) * m + r_cols
    _, li, ri = np.intersect1d(keys, r_keys, assume_unique=True, return_indices=True)
    return _Prefs(n, m, left[li], right[ri], rows[li], cols[li])


def _capacities_iv(
    left_capacity: Any, right_capacity: Any, n: int, m: int
) -> tuple[CountArray, CountArray]:
    return (
        _counts_iv(left_capacity, "left_capacity", n, "row"),
        _counts_iv(right_capacity, "right_capacity", m, "column"),
    )


def _matching_iv(
    rows: Any, cols: Any, prefs: _Prefs, lcap: CountArray, rcap: CountArray
) -> tuple[IntArray, IntArray, ScoreArray, ScoreArray]:
    """A valid matching: in range, each pair once, allowed, within capacities."""
    r, c = np.asarray(rows), np.asarray(cols)
    if r.ndim != 1 or c.ndim != 1 or r.shape != c.shape:
        raise InputError(
            f"rows and cols must be 1-D arrays of one length (the chosen pairs); got shapes "
            f"{r.shape} and {c.shape}"
        )
    if r.size and (r.dtype.kind not in "iu" or c.dtype.kind not in "iu"):
        raise InputError(f"rows and cols must be integer arrays; got {r.dtype} and {c.dtype}")
    r, c = r.astype(np.intp), c.astype(np.intp)
    n, m = prefs.n, prefs.m
    out = np.flatnonzero((r < 0) | (r >= n) | (c < 0) | (c >= m))
    if out.size:
        k = int(out[0])
        raise InputError(f"pair ({r[k]}, {c[k]}) is outside the {n} x {m} score matrix")
    keys = np.sort(r.astype(np.int64) * m + c)
    twice = np.flatnonzero(keys[1:] == keys[:-1])
    if twice.size:
        key = int(keys[twice[0]])
        raise InputError(f"pair ({key // m}, {key % m}) is listed twice; list each pair once")
    lv, rv, allowed = prefs.at(r, c)
    if not allowed.all():
        k = int(np.argmin(allowed))
        raise InputError(
            f"pair ({r[k]}, {c[k]}) is not allowed (score -inf or absent); a matching may use "
            "allowed pairs only"
        )
    sides = (("row", "left_capacity", r, lcap), ("column", "right_capacity", c, rcap))
    for unit, name, owner, cap in sides:
        count = np.bincount(owner, minlength=cap.size)
        over = np.flatnonzero(count > cap)
        if over.size:
            k = int(over[0])
            raise InputError(
                f"{unit} {k} has {count[k]} pairs but {name}[{k}] is {cap[k]}; a matching "
                "keeps every capacity"
            )
    return r, c, lv, rv


# --- blocking pairs -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Worst:
    """Each unit of one side: free slot?, any partner?, its worst partner's value and index."""

    free: BoolArray
    has: BoolArray
    value: ScoreArray
    index: IntArray  # -1 when ties are not broken by index

    @classmethod
    def build(
        cls,
        owner: IntArray,
        other: IntArray,
        values: ScoreArray,
        cap: CountArray,
        break_ties: bool,
    ) -> _Worst:
        count = np.bincount(owner, minlength=cap.size)
        value = np.zeros(cap.size, dtype=values.dtype)
        index = np.full(cap.size, -1, dtype=np.intp)
        if owner.size:
            # By owner; the lowest value first; among equal values the higher index (worse).
            order = np.lexsort((-other, values, owner))
            o = owner[order]
            change = np.ones(o.size, dtype=bool)
            np.not_equal(o[1:], o[:-1], out=change[1:])
            first = order[change]
            value[owner[first]] = values[first]
            if break_ties:
                index[owner[first]] = other[first]
        return cls(count < cap, count > 0, value, index)

    def wants(self, own: Any, other: Any, values: ScoreArray) -> BoolArray:
        """Whether unit ``own`` would take partner ``other`` of value ``values`` (broadcasts)."""
        worst = self.value[own]
        beats = values > worst
        beats |= (values == worst) & (other < self.index[own])
        return np.asarray(self.free[own] | (self.has[own] & beats))


def _blocking(
    prefs: _Prefs,
    rows: IntArray,
    cols: IntArray,
    lv: ScoreArray,
    rv: ScoreArray,
    lcap: CountArray,
    rcap: CountArray,
    break_ties: bool,
) -> tuple[IntArray, IntArray]:
    """The blocking pairs of a validated matching, sorted by row then column."""
    n, m = prefs.n, prefs.m
    row_worst = _Worst.build(rows, cols, lv, lcap, break_ties)
    col_worst = _Worst.build(cols, rows, rv, rcap, break_ties)
    chosen = np.sort(rows.astype(np.int64) * m + cols)
    if prefs.rows is not None:
        r, c, pl, pr = prefs.pairs()
        mask = row_worst.wants(r, c, pl) & col_worst.wants(c, r, pr)
        mask &= ~_member(r.astype(np.int64) * m + c, chosen)
        return r[mask], c[mask]
    found_r: list[IntArray] = []
    found_c: list[IntArray] = []
    step = max(1, _BLOCK_PAIRS // max(m, 1))
    j = np.arange(m, dtype=np.intp)[None, :]
    for start in range(0, n, step):
        stop = min(n, start + step)
        left = prefs.left[start:stop]
        right = left if prefs.right is None else prefs.right[start:stop]
        i = np.arange(start, stop, dtype=np.intp)[:, None]
        mask = _allowed(left)
        if prefs.right is not None:
            mask &= _allowed(right)
        mask &= row_worst.wants(i, j, left)
        mask &= col_worst.wants(j, i, right)
        lo, hi = np.searchsorted(chosen, [start * m, stop * m])
        mask.reshape(-1)[chosen[lo:hi] - start * m] = False
        bi, bj = np.nonzero(mask)
        found_r.append(bi.astype(np.intp) + start)
        found_c.append(bj.astype(np.intp))
    if not found_r:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.concatenate(found_r), np.concatenate(found_c)


def blocking_pairs(
    scores: Any,
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    *,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    right_scores: Any = None,
    break_ties: bool = False,
) -> tuple[IntArray, IntArray]:
    """The pairs that block a matching: both sides would rather pair with each other.

    Pair ``(i, j)`` blocks the matching ``(rows, cols)`` when it is allowed, not chosen, row
    ``i`` has fewer partners than ``left_capacity[i]`` or scores ``j`` higher than its worst
    partner, and column ``j`` has fewer partners than ``right_capacity[j]`` or scores ``i``
    higher (by ``right_scores``) than its worst partner. A matching with no blocking pair is
    stable.

    Parameters
    ----------
    scores : array_like or scipy.sparse matrix/array, shape (n_rows, n_cols)
        The rows' preferences, higher is better, as for :func:`pbmatch.match`: ``-inf`` (dense)
        or an absent entry (sparse) forbids a pair; every allowed pair is acceptable to both
        sides, whatever its sign.
    rows, cols : array_like of int
        The chosen pairs, in any order.
    left_capacity, right_capacity : int or array_like of int, default 1
        Most partners per row / per column, as for :func:`pbmatch.match`.
    right_scores : array_like or scipy.sparse matrix/array, optional
        The columns' own preferences, same shape; default ``scores`` (one score both sides
        share). A pair is allowed only when both matrices allow it.
    break_ties : bool, default False
        False: a partner is preferred only for a strictly higher score (equal scores never
        block). True: equal scores are broken by the lower index, as :func:`stable_match` does,
        so a pair also blocks over a partner of equal score and higher index.

    Returns
    -------
    (ndarray of int, ndarray of int)
        Rows and columns of the blocking pairs, sorted by row then column.

    Raises
    ------
    InputError
        Bad scores or capacities (as :func:`pbmatch.match`), or a matching with a pair
        outside the matrix, a pair listed twice, a forbidden pair or a capacity exceeded.

    See Also
    --------
    stable_match : a matching without blocking pairs.
    stability_report : blocking pairs and the stable alternative of a result.

    Notes
    -----
    Vectorised: one pass over the allowed pairs (dense input in blocks of about a million
    pairs), ``O(n_rows × n_cols)`` time for dense input, ``O(nnz)`` for sparse, plus sorting
    the chosen pairs. Deterministic.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.0, 2.0], [2.0, 1.0]])
    >>> blocking_pairs(scores, [0, 1], [1, 0])
    (array([0]), array([0]))
    >>> blocking_pairs(scores, [0, 1], [0, 1])
    (array([], dtype=int64), array([], dtype=int64))

    Free slots count: row 1 has no partner, column 1 none, and column 0 room for two.

    >>> blocking_pairs(scores, [0], [0], right_capacity=2)
    (array([1, 1]), array([0, 1]))
    """
    prefs = _prefs_iv(scores, right_scores)
    lcap, rcap = _capacities_iv(left_capacity, right_capacity, prefs.n, prefs.m)
    r, c, lv, rv = _matching_iv(rows, cols, prefs, lcap, rcap)
    return _blocking(prefs, r, c, lv, rv, lcap, rcap, bool(break_ties))


# --- stable matchings ---------------------------------------------------------------------------


def _greedy(
    rows: IntArray, cols: IntArray, values: ScoreArray, lcap: CountArray, rcap: CountArray
) -> tuple[IntArray, int]:
    """Positions (in the given lists) of the pairs the greedy takes, and its number of rounds.

    The greedy walks the pairs by (score descending, row, column) and takes a pair when both
    its row and column have room. It runs in rounds: a pair among the best ``room`` live pairs
    of its row and of its column is taken by the greedy whatever happens to the pairs before it
    (at most ``room - 1`` of them are ahead at either end), so each round takes all such pairs
    at once; the best live pair always qualifies. Each round costs ``O(live pairs)``.
    """
    order = np.lexsort((cols, rows, _desc(values)))
    r, c = rows[order], cols[order]
    room_r = np.minimum(lcap, np.bincount(r, minlength=lcap.size))
    room_c = np.minimum(rcap, np.bincount(c, minlength=rcap.size))
    by_row = np.argsort(r, kind="stable")  # ranks grouped by row, best first
    by_col = np.argsort(c, kind="stable")
    live = np.ones(r.size, dtype=bool)
    mark = np.zeros(r.size, dtype=bool)
    taken: list[IntArray] = []
    rounds = 0
    while True:
        by_row = by_row[live[by_row] & (room_r[r[by_row]] > 0) & (room_c[c[by_row]] > 0)]
        if by_row.size == 0:
            break
        by_col = by_col[live[by_col] & (room_r[r[by_col]] > 0) & (room_c[c[by_col]] > 0)]
        rr, cc = r[by_row], c[by_col]
        top_r = by_row[np.arange(rr.size) - np.searchsorted(rr, rr) < room_r[rr]]
        top_c = by_col[np.arange(cc.size) - np.searchsorted(cc, cc) < room_c[cc]]
        mark[top_r] = True
        take = top_c[mark[top_c]]
        mark[top_r] = False
        live[take] = False
        np.subtract.at(room_r, r[take], 1)
        np.subtract.at(room_c, c[take], 1)
        taken.append(take)
        rounds += 1
    chosen = np.concatenate(taken) if taken else np.zeros(0, dtype=np.intp)
    return order[chosen].astype(np.intp), rounds


@dataclass(frozen=True, eq=False)
class _Market:
    """The proposers' preference lists, best first, laid end to end.

    Proposer ``p``'s ``k``-th choice sits at position ``first[p] + k`` (``k < degree[p]``),
    and ``recv[q]`` is the receiver at position ``q``. Dense markets (``stride > 0``) give every
    proposer ``stride`` positions and read the receiver's value of a pair from the matrix
    ``other`` (proposers x receivers) when asked; listed ones keep one proposer and one value
    per position.
    """

    recv: IntArray
    first: CountArray
    degree: CountArray
    recv_degree: CountArray
    other: ScoreArray
    stride: int = 0
    props: IntArray | None = None

    def prop(self, q: IntArray) -> IntArray:
        """The proposer of each position."""
        return q // self.stride if self.props is None else self.props[q]

    def value(self, q: IntArray) -> ScoreArray:
        """The receiver's value of the pair at each position (it prefers higher)."""
        if self.props is None:
            return self.other[q // self.stride, self.recv[q]]
        return self.other[q]

    def entry(self, q: int) -> tuple[Any, int, int]:
        """``(key, proposer, q)`` for one position: the receiver prefers the smallest."""
        if self.props is None:
            p = q // self.stride
            return (-self.other[p, self.recv[q]].item(), p, q)
        return (-self.other[q].item(), int(self.props[q]), q)

    @classmethod
    def dense(cls, own: ScoreArray, other: ScoreArray, allowed: BoolArray | None) -> _Market:
        """Proposers are the rows of ``own`` (their values); ``other``: the receivers' values."""
        n, m = own.shape
        key = _desc(own)
        if allowed is not None and key.dtype.kind == "f":
            key = np.where(allowed, key, np.inf)  # forbidden pairs last
        if allowed is not None and key.dtype.kind != "f":
            order = np.lexsort((key, ~allowed), axis=1)
        else:
            order = _row_order(key)
        if allowed is None:
            degree, recv_degree = np.full(n, m), np.full(m, n)
        else:
            degree, recv_degree = allowed.sum(axis=1), allowed.sum(axis=0)
        return cls(
            recv=order.reshape(-1).astype(np.intp, copy=False),
            first=np.arange(n, dtype=np.int64) * m,
            degree=degree.astype(np.int64),
            recv_degree=recv_degree.astype(np.int64),
            other=other,
            stride=m,
        )

    @classmethod
    def listed(
        cls, prop: IntArray, recv: IntArray, own: ScoreArray, other: ScoreArray, sizes: Any
    ) -> _Market:
        """From a list of allowed pairs; ``sizes``: the numbers of proposers and receivers."""
        order = np.lexsort((recv, _desc(own), prop))
        degree = np.bincount(prop, minlength=sizes[0]).astype(np.int64)
        return cls(
            recv=recv[order],
            first=np.cumsum(degree) - degree,
            degree=degree,
            recv_degree=np.bincount(recv, minlength=sizes[1]).astype(np.int64),
            other=other[order],
            props=prop[order],
        )


def _row_order(key: ScoreArray) -> IntArray:
    """Each row's column order by ``key`` ascending, equal keys by column index.

    An unstable sort, then a stable sort of the rows where it left equal keys side by side
    (none, for scores drawn from a continuous distribution): half the time of a stable sort.
    """
    order = np.argsort(key, axis=1)
    ordered = np.take_along_axis(key, order, axis=1)
    same = ordered[:, 1:] == ordered[:, :-1]
    if key.dtype.kind == "f":
        same &= ordered[:, 1:] < np.inf  # forbidden pairs, last, never proposed to
    tied = np.flatnonzero(same.any(axis=1))
    if tied.size:
        order[tied] = np.argsort(key[tied], axis=1, kind="stable")
    return order


_LISTED_BELOW = 0.25
"""Dense preferences with fewer allowed pairs than this share are listed for sorting."""
_SEQUENTIAL_BELOW = 8
"""Deferred acceptance finishes one proposal at a time once fewer proposers are active."""


def _unique_counts(values: IntArray) -> tuple[IntArray, CountArray]:
    """Sorted distinct values and how often each occurs (``np.unique`` without its overhead)."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    change = np.empty(ordered.size, dtype=bool)
    change[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
    start = np.flatnonzero(change)
    counts = np.empty(start.size, dtype=np.int64)
    np.subtract(start[1:], start[:-1], out=counts[:-1])
    counts[-1] = ordered.size - start[-1]
    return ordered[start], counts


def _deferred_acceptance(
    market: _Market, prop_cap: CountArray, recv_cap: CountArray
) -> tuple[IntArray, dict[str, int]]:
    """Proposer-optimal stable matching: the market positions held, and counts of the work.

    Every round, each proposer with free slots proposes to as many of its next choices; each
    receiver keeps the best of what it holds and what it is offered, up to its capacity, and
    rejects the rest. A receiver's holdings live in fixed slots, so a round costs the proposals
    plus the slots of the receivers proposed to, never the whole market. Once fewer than
    :data:`_SEQUENTIAL_BELOW` proposers are active, what is left is chains of rejections, one
    proposal after another; those are followed one proposal at a time
    (:func:`_finish_sequentially`), far cheaper than a vectorised round per step. The outcome
    does not depend on the order of proposals.
    """
    recv, first, degree = market.recv, market.first, market.degree
    prop_cap = np.minimum(prop_cap, degree)
    recv_cap = np.minimum(recv_cap, market.recv_degree)
    slot0 = np.cumsum(recv_cap) - recv_cap
    slots = np.full(int(recv_cap.sum()), -1, dtype=np.int64)  # -1: an empty slot
    held = np.zeros(prop_cap.size, dtype=np.int64)
    tried = np.zeros(prop_cap.size, dtype=np.int64)
    single = bool((recv_cap <= 1).all())
    active = np.flatnonzero(prop_cap > 0)
    work = {"rounds": 0, "proposals": 0, "sequential": 0}
    while active.size >= _SEQUENTIAL_BELOW:
        count = np.minimum(prop_cap[active] - held[active], degree[active] - tried[active])
        go = count > 0
        active, count = active[go], count[go]
        if active.size == 0:
            break
        start = first[active] + tried[active]
        offers = start if count.max() == 1 else _ranges(start, start + count)[0]
        tried[active] += count
        held[active] += count
        touched = _unique_counts(recv[offers])[0]
        if single:
            where = slot0[touched[recv_cap[touched] > 0]]
        else:
            where = _ranges(slot0[touched], slot0[touched] + recv_cap[touched])[0]
        kept = slots[where]
        pool = np.concatenate([kept[kept >= 0], offers])
        pool = pool[np.lexsort((market.prop(pool), _desc(market.value(pool)), recv[pool]))]
        owner = recv[pool]
        place = np.arange(pool.size) - np.searchsorted(owner, owner)
        keep = place < recv_cap[owner]
        slots[where] = -1
        slots[slot0[owner[keep]] + place[keep]] = pool[keep]
        active, lost = _unique_counts(market.prop(pool[~keep]))
        held[active] -= lost
        work["rounds"] += 1
        work["proposals"] += int(offers.size)
    if active.size:
        work["sequential"] = _finish_sequentially(
            market, prop_cap, recv_cap, slot0, slots, held, tried, active
        )
        work["proposals"] += work["sequential"]
    return slots[slots >= 0].astype(np.intp), work


def _finish_sequentially(
    market: _Market,
    prop_cap: CountArray,
    recv_cap: CountArray,
    slot0: CountArray,
    slots: CountArray,
    held: CountArray,
    tried: CountArray,
    active: IntArray,
) -> int:
    """Deferred acceptance for the last few active proposers, one proposal at a time.

    Updates ``slots`` (and ``held``, ``tried``) in place; returns the number of proposals.
    A receiver's holdings are read from its slots when first proposed to here and written
    back at the end.
    """
    recv, first, degree, entry = market.recv, market.first, market.degree, market.entry
    holdings: dict[int, list[tuple[Any, int, int]]] = {}
    waiting = [int(p) for p in active[::-1]]
    proposals = 0
    while waiting:
        p = waiting.pop()
        cap, last = int(prop_cap[p]), int(degree[p])
        while held[p] < cap and tried[p] < last:
            q = int(first[p] + tried[p])
            tried[p] += 1
            proposals += 1
            r = int(recv[q])
            room = int(recv_cap[r])
            if room == 0:
                continue
            mine = holdings.get(r)
            if mine is None:
                segment = slots[slot0[r] : slot0[r] + room]
                mine = holdings[r] = [entry(int(k)) for k in segment[segment >= 0]]
            offer = entry(q)
            if len(mine) < room:
                mine.append(offer)
                held[p] += 1
                continue
            worst = max(mine)
            if offer < worst:
                mine[mine.index(worst)] = offer
                held[p] += 1
                held[worst[1]] -= 1
                waiting.append(worst[1])
    for r, mine in holdings.items():
        segment = np.full(int(recv_cap[r]), -1, dtype=np.int64)
        segment[: len(mine)] = [q for _, _, q in mine]
        slots[slot0[r] : slot0[r] + recv_cap[r]] = segment
    return proposals


def _greedy_verified(
    rows: IntArray,
    cols: IntArray,
    values: FloatArray | ScoreArray,
    lcap: CountArray,
    rcap: CountArray,
    *,
    m: int,
    blocking: Any,
    score: Any,
) -> tuple[IntArray, IntArray, ScoreArray, int, int]:
    """The greedy stable matching of all pairs, from the greedy of a candidate subset.

    ``blocking(rows, cols, values)`` returns pairs that block a matching (ties broken by
    index), at least one when any does; ``score(rows, cols)`` their values. The greedy
    matching of a set of pairs is stable among them, so every pair that blocks it is new; it
    joins the candidates and the greedy runs again. When none blocks, the matching is stable
    for the strict (index-broken) preferences over all pairs, hence the unique stable one: the
    greedy of all pairs. Returns the pairs, their values, the rounds and the candidates used.
    """
    rounds = 0
    while True:
        rounds += 1
        picked, _ = _greedy(rows, cols, values, lcap, rcap)
        pr, pc, pv = rows[picked], cols[picked], values[picked]
        br, bc = blocking(pr, pc, pv)
        if br.size:
            keys = np.sort(rows.astype(np.int64) * m + cols)
            new = ~_member(br.astype(np.int64) * m + bc, keys)
            br, bc = br[new], bc[new]
        if br.size == 0:
            return pr, pc, pv, rounds, int(rows.size)
        rows = np.concatenate([rows, br])
        cols = np.concatenate([cols, bc])
        values = np.concatenate([values, score(br, bc)])


def _best_per_row(rows: IntArray, cols: IntArray, values: ScoreArray, k: int) -> BoolArray:
    """Mask of the ``k`` best pairs of every row (equal values: the lower column)."""
    order = np.lexsort((cols, _desc(values), rows))
    ordered = rows[order]
    mask = np.zeros(rows.size, dtype=bool)
    mask[order[np.arange(rows.size) - np.searchsorted(ordered, ordered) < k]] = True
    return mask


def _top_per_row(key: ScoreArray, depth: int, axis: int) -> tuple[IntArray, ScoreArray]:
    """The ``depth`` smallest keys along ``axis`` (in no order) and the ``depth``-th key.

    Every key strictly below the ``depth``-th key is among the ``depth`` (ties at the
    ``depth``-th key may be split either way). Returns positions along ``axis`` and the
    ``depth``-th key of every row (``axis=1``) or column (``axis=0``).
    """
    part = np.argpartition(key, depth - 1, axis=axis)
    if axis == 1:
        part = part[:, :depth]
        return part.astype(np.intp), np.take_along_axis(key, part[:, -1:], axis=1)[:, 0]
    part = part[:depth]
    return part.astype(np.intp), np.take_along_axis(key, part[-1:], axis=0)[0]


def _open(worst: _Worst, kth: ScoreArray) -> IntArray:
    """Units with a free slot, or whose worst partner is not strictly above the depth-th best.

    ``kth`` is a key (:func:`_desc`): a smaller key is a higher score.
    """
    closed = worst.has & ~worst.free & (_desc(worst.value) < kth)
    return np.flatnonzero((worst.free | worst.has) & ~closed)


def _greedy_dense(left: ScoreArray, lcap: CountArray, rcap: CountArray) -> tuple[IntArray, int]:
    """Flat positions ``i * m + j`` of the greedy stable pairs of a dense score matrix.

    Candidates: the best few pairs of every row and of every column (one partial sort each
    way, no full sort). The greedy of the candidates is then checked against all pairs, and
    the pairs that block it join the candidates (:func:`_greedy_verified`). Only *open* rows
    and columns are scanned: a unit with a free slot, or whose worst partner is not strictly
    above its ``depth``-th best pair. A closed unit wants only pairs above its worst partner,
    all of them candidates, and a candidate cannot block the greedy of the candidates.
    """
    n, m = left.shape
    key = _desc(left)
    d_row = min(m, int(min(lcap.max(initial=0), m)) + 2)
    d_col = min(n, int(min(rcap.max(initial=0), n)) + 2)
    if d_row >= m or d_col >= n or n == 0 or m == 0:
        r, c = np.nonzero(_allowed(left))
        picked, rounds = _greedy(r.astype(np.intp), c.astype(np.intp), left[r, c], lcap, rcap)
        return (r[picked].astype(np.int64) * m + c[picked]).astype(np.intp), rounds
    row_best, row_kth = _top_per_row(key, d_row, 1)
    col_best, col_kth = _top_per_row(key, d_col, 0)
    marks = np.zeros((n, m), dtype=bool)
    marks[np.arange(n)[:, None], row_best] = True
    marks[col_best, np.arange(m)[None, :]] = True
    marks &= _allowed(left)
    r, c = np.nonzero(marks)
    del marks
    r, c = r.astype(np.intp), c.astype(np.intp)
    per_row = d_row

    def blocking(pr: IntArray, pc: IntArray, pv: ScoreArray) -> tuple[IntArray, IntArray]:
        row_worst = _Worst.build(pr, pc, pv, lcap, True)
        col_worst = _Worst.build(pc, pr, pv, rcap, True)
        # Keys: a worst partner strictly above the depth-th best means closed (smaller key).
        open_r = _open(row_worst, row_kth)
        open_c = _open(col_worst, col_kth)
        chosen = np.sort(pr.astype(np.int64) * m + pc)
        found_r, found_c = [], []
        step = max(1, _BLOCK_PAIRS // max(open_c.size, 1))
        j = open_c[None, :]
        for start in range(0, open_r.size, step):
            rows = open_r[start : start + step]
            block = left[rows][:, open_c]
            i = rows[:, None]
            mask = _allowed(block) & row_worst.wants(i, j, block) & col_worst.wants(j, i, block)
            bi, bj = np.nonzero(mask)
            fr, fc = rows[bi], open_c[bj]
            new = ~_member(fr.astype(np.int64) * m + fc, chosen)
            found_r.append(fr[new])
            found_c.append(fc[new])
        if not found_r:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        fr, fc = np.concatenate(found_r), np.concatenate(found_c)
        keep = _best_per_row(fr, fc, left[fr, fc], per_row)
        return fr[keep], fc[keep]

    pr, pc, _, rounds, _ = _greedy_verified(
        r, c, left[r, c], lcap, rcap, m=m, blocking=blocking, score=lambda a, b: left[a, b]
    )
    return (pr.astype(np.int64) * m + pc).astype(np.intp), rounds


def _greedy_stable(prefs: _Prefs, lcap: CountArray, rcap: CountArray) -> tuple[IntArray, int]:
    """Positions (dense: flat ``i * m + j``; listed: in the list) of the greedy stable pairs."""
    listed = prefs.rows is not None
    if not listed and prefs.left.dtype.kind == "f":
        listed = int(np.count_nonzero(prefs.left > -np.inf)) < _LISTED_BELOW * prefs.left.size
    if not listed:
        return _greedy_dense(prefs.left, lcap, rcap)
    rows, cols, values, _ = prefs.pairs()
    picked, rounds = _greedy(rows, cols, values, lcap, rcap)
    if prefs.rows is None:  # positions in the dense matrix
        picked = (rows[picked].astype(np.int64) * prefs.m + cols[picked]).astype(np.intp)
    return picked, rounds


def _market(prefs: _Prefs, proposing: str) -> _Market:
    """The proposing side's lists; receivers rank by the other side's values."""
    right = prefs.left if prefs.right is None else prefs.right
    if prefs.rows is not None and prefs.cols is not None:
        if proposing == "left":
            sizes = (prefs.n, prefs.m)
            return _Market.listed(prefs.rows, prefs.cols, prefs.left, right, sizes)
        return _Market.listed(prefs.cols, prefs.rows, right, prefs.left, (prefs.m, prefs.n))
    allowed = None
    if prefs.right is not None:
        both = _allowed(prefs.left) & _allowed(prefs.right)
        allowed = None if both.all() else both
    if allowed is not None and allowed.sum() < _LISTED_BELOW * allowed.size:
        rows, cols, lv, rv = prefs.pairs()  # mostly forbidden: sort the allowed pairs only
        return _market(_Prefs(prefs.n, prefs.m, lv, rv, rows, cols), proposing)
    if proposing == "left":
        return _Market.dense(prefs.left, right, allowed)
    return _Market.dense(
        np.ascontiguousarray(right.T),
        np.ascontiguousarray(prefs.left.T),
        None if allowed is None else np.ascontiguousarray(allowed.T),
    )


def stable_match(
    scores: Any,
    *,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    right_scores: Any = None,
    proposing: Literal["left", "right"] = "left",
) -> MatchResult:
    """A stable matching by deferred acceptance with capacities (hospitals/residents).

    Rows rank columns by ``scores`` and columns rank rows by ``right_scores`` (default the
    same scores); each row takes at most ``left_capacity`` partners and each column at most
    ``right_capacity``. The result has no blocking pair (see :func:`blocking_pairs`) and, of
    all stable matchings, is the best for the proposing side.

    Parameters
    ----------
    scores : array_like or scipy.sparse matrix/array, shape (n_rows, n_cols)
        The rows' preferences, higher is better, as for :func:`pbmatch.match`: ``-inf`` (dense)
        or an absent entry (sparse) forbids a pair. Every allowed pair is acceptable to both
        sides: a unit with a free slot takes any allowed partner, whatever the sign of its score.
    left_capacity, right_capacity : int or array_like of int, default 1
        Most partners per row / per column.
    right_scores : array_like or scipy.sparse matrix/array, optional
        The columns' own preferences, same shape; a pair is allowed only when both matrices
        allow it. Default: the columns rank by ``scores`` too.
    proposing : {"left", "right"}, default "left"
        The side that proposes, and gets its best stable matching: rows (``"left"``) or
        columns (``"right"``). With one common score there is only one stable matching and the
        choice does not matter.

    Returns
    -------
    MatchResult
        ``rows``, ``cols`` (sorted by row then column), ``scores`` (the rows' scores of the
        chosen pairs, as floats), ``objective`` (their sum), ``status`` ``"optimal"`` (the
        proposer-optimal stable matching), ``method`` (``"greedy"`` or
        ``"deferred_acceptance"``), ``message``, ``wall_time`` and ``extra`` (``proposing``,
        ``rounds``, and for deferred acceptance ``proposals`` and ``sequential``). It has no
        certificate: ``explain`` does not apply, since it does not maximise the total score.

    Raises
    ------
    InputError
        Bad scores or capacities (as :func:`pbmatch.match`), ``right_scores`` of another
        shape, or an unknown ``proposing``.

    See Also
    --------
    blocking_pairs : check any matching for stability.
    stability_report : how far a result is from stable, and what stability costs.
    pbmatch.match : the matching with the most total score.

    Notes
    -----
    **Ties** are broken deterministically by the lower index: a row ranks columns of equal
    score by column index, a column ranks rows of equal score by row index. The result is
    stable for these strict preferences, hence has no blocking pair under the plain score
    comparison either (``blocking_pairs(..., break_ties=False)``).

    **Deferred acceptance** (``right_scores`` given) runs in rounds: each proposer with free
    slots proposes to as many of its next choices, and each receiver keeps the best offers up
    to its capacity. The outcome is the proposer-optimal stable matching (the order of
    proposals does not change it). Only the proposers' lists are sorted (row by row); receivers
    compare the offers they get. Each round is vectorised and costs the proposals it makes plus
    the capacities of the receivers they reach; once fewer than 8 proposers are active, the
    remaining chains of rejections (inherently one after another) are followed one proposal
    at a time, which costs less than a vectorised round per step (``extra["sequential"]``
    counts those proposals).

    **One common score** (no ``right_scores``): with the ties broken by index, the pairs are in
    one global order (score descending, then row, then column) that both sides agree with, and
    the only stable matching is the greedy one: walk that order and take every pair whose row
    and column still have room. This fast path (``method="greedy"``) needs no full sort: it
    takes the best few pairs of every row and column (a partial sort each way), runs the greedy
    on them in vectorised rounds (a pair among the best ``room`` live pairs of both its row and
    its column is taken by the greedy whatever comes before it), then scans the rows and
    columns that could still want a partner for pairs that block the result, adds them and
    repeats until none does (``extra["rounds"]`` counts these). Unlike deferred acceptance it
    never walks long preference lists, so it stays fast when many rows are left out. Sparse or
    mostly forbidden input runs the greedy rounds on all allowed pairs directly.

    Cost: sorting the proposers' lists, ``O(P log m)`` for ``P`` allowed pairs (deferred
    acceptance), or a few ``O(P)`` passes (the greedy), plus the rounds. Deterministic.

    Examples
    --------
    Residents (rows) rank hospitals (columns); hospitals rank residents by their own scores.
    Each resident's first choice ranks it last:

    >>> import numpy as np
    >>> residents = np.array([[2, 1],
    ...                       [1, 2]])
    >>> hospitals = np.array([[1, 2],
    ...                       [2, 1]])
    >>> r = stable_match(residents, right_scores=hospitals)
    >>> r.pairs, r.method, r.objective
    ([(0, 0), (1, 1)], 'deferred_acceptance', 4.0)
    >>> h = stable_match(residents, right_scores=hospitals, proposing="right")
    >>> h.pairs, h.objective
    ([(0, 1), (1, 0)], 2.0)
    >>> blocking_pairs(residents, h.rows, h.cols, right_scores=hospitals)
    (array([], dtype=int64), array([], dtype=int64))

    Both are stable; residents proposing get their first choices, hospitals proposing theirs.

    One score both sides share: the greedy stable matching.

    >>> stable_match(np.array([[5.0, 4.0], [4.0, -np.inf]])).pairs
    [(0, 0)]
    """
    started = time.perf_counter()
    if proposing not in ("left", "right"):
        raise InputError(f"proposing is {proposing!r}; it must be 'left' (rows) or 'right'")
    prefs = _prefs_iv(scores, right_scores)
    lcap, rcap = _capacities_iv(left_capacity, right_capacity, prefs.n, prefs.m)
    extra: dict[str, Any] = {"proposing": proposing}
    if right_scores is None:
        picked, rounds = _greedy_stable(prefs, lcap, rcap)
        method = "greedy"
        message = "the only stable matching for one common score (greedy by score)"
        extra["rounds"] = rounds
        if prefs.rows is None:
            rows, cols = np.divmod(np.sort(picked), max(prefs.m, 1))
        else:
            picked = np.sort(picked)
            rows, cols = prefs.rows[picked], prefs.cols[picked]  # type: ignore[index]
    else:
        market = _market(prefs, proposing)
        own, other = (lcap, rcap) if proposing == "left" else (rcap, lcap)
        held, work = _deferred_acceptance(market, own, other)
        a, b = market.prop(held), market.recv[held]
        rows, cols = (a, b) if proposing == "left" else (b, a)
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        method = "deferred_acceptance"
        side = "rows" if proposing == "left" else "columns"
        message = f"{side}-optimal stable matching by deferred acceptance ({side} propose)"
        extra.update(work)
    rows, cols = rows.astype(np.intp, copy=False), cols.astype(np.intp, copy=False)
    chosen = prefs.at(rows, cols)[0].astype(np.float64)
    return MatchResult(
        rows=rows,
        cols=cols,
        scores=chosen,
        objective=math.fsum(chosen.tolist()),
        status="optimal",
        method=method,
        message=message,
        wall_time=time.perf_counter() - started,
        extra=extra,
    )


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class StabilityReport:
    """How far a result is from stable, and what its stable alternative scores.

    Attributes
    ----------
    n_blocking : int
        Number of blocking pairs of the result (see :func:`blocking_pairs`).
    rows, cols : ndarray of int
        The worst blocking pairs, highest score first (equal scores by row, then column), at
        most ``top`` of them: positions in the score matrix (for a pairing, in the result's
        ``providers`` and ``receivers``, as in ``result.match``).
    scores : ndarray of float
        Their scores (the rows' scores).
    objective : float
        Total score of the result's pairs.
    pairs : int
        Number of pairs of the result.
    stable : MatchResult
        The stable alternative (:func:`stable_match`), in the same positions.
    shared : int
        Pairs the result and the stable alternative have in common.
    row_ids, col_ids : ndarray or None
        Labels of the rows and columns (a pairing's provider and receiver ids); None when the
        labels are the positions.
    """

    n_blocking: int
    rows: IntArray
    cols: IntArray
    scores: FloatArray
    objective: float
    pairs: int
    stable: MatchResult
    shared: int
    row_ids: npt.NDArray[Any] | None = None
    col_ids: npt.NDArray[Any] | None = None

    @property
    def is_stable(self) -> bool:
        """True when the result has no blocking pair."""
        return self.n_blocking == 0

    @property
    def stable_objective(self) -> float:
        """Total score of the stable alternative."""
        return self.stable.objective

    @property
    def difference(self) -> float:
        """``objective - stable_objective``: the total score the result keeps over stability."""
        return self.objective - self.stable_objective

    def _label(self, ids: npt.NDArray[Any] | None, positions: IntArray) -> list[Any]:
        labels: list[Any] = (positions if ids is None else ids[positions]).tolist()
        return labels

    @property
    def worst(self) -> list[tuple[Any, Any, float]]:
        """The listed blocking pairs as ``(row, col, score)``, in labels, worst first."""
        return list(
            zip(
                self._label(self.row_ids, self.rows),
                self._label(self.col_ids, self.cols),
                self.scores.tolist(),
                strict=True,
            )
        )

    @property
    def stable_pairs(self) -> list[tuple[Any, Any]]:
        """The stable alternative's pairs, in labels."""
        return list(
            zip(
                self._label(self.row_ids, self.stable.rows),
                self._label(self.col_ids, self.stable.cols),
                strict=True,
            )
        )

    def summary(self) -> str:
        """A readable summary: blocking pairs, the worst of them, and the two totals."""
        if self.is_stable:
            lines = [f"Stable: no blocking pair among the {self.pairs} pairs"]
        else:
            plural = "s" if self.n_blocking != 1 else ""
            lines = [
                f"Not stable: {self.n_blocking} blocking pair{plural} (both sides prefer each "
                "other, by score, to a current partner or a free slot)"
            ]
            lines += [f"  {r} – {c}: score {s:.4g}" for r, c, s in self.worst]
            if self.n_blocking > self.rows.size:
                lines.append(f"  … and {self.n_blocking - self.rows.size} more")
        share = f" ({100 * self.difference / abs(self.objective):.1f}%)" if self.objective else ""
        lines.append(
            f"Total score {self.objective:.6g} ({self.pairs} pairs); the stable alternative "
            f"{self.stable_objective:.6g} ({len(self.stable)} pairs, {self.shared} shared); "
            f"difference {self.difference:.6g}{share}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"StabilityReport(n_blocking={self.n_blocking}, objective={self.objective:.6g}, "
            f"stable_objective={self.stable_objective:.6g})"
        )


def _top_iv(top: Any) -> int | None:
    if top is None:
        return None
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise InputError(f"top is {top!r}; it must be an int >= 0 or None (all)")
    return int(top)


def _worst_first(
    rows: IntArray, cols: IntArray, values: ScoreArray, top: int | None
) -> tuple[IntArray, IntArray, FloatArray]:
    """The ``top`` pairs of highest value (equal values by row, then column)."""
    if top is not None and rows.size > top:
        # Keep every pair at least as good as the top-th value, then order them exactly.
        cut = np.partition(values, rows.size - top)[rows.size - top] if top else None
        keep = values >= cut if cut is not None else np.zeros(rows.size, dtype=bool)
        rows, cols, values = rows[keep], cols[keep], values[keep]
    order = np.lexsort((cols, rows, _desc(values)))[:top]
    return rows[order], cols[order], values[order].astype(np.float64)


def _shared(a_rows: IntArray, a_cols: IntArray, b_rows: IntArray, b_cols: IntArray, m: int) -> int:
    a = a_rows.astype(np.int64) * m + a_cols
    b = np.sort(b_rows.astype(np.int64) * m + b_cols)
    return int(_member(a, b).sum())


def stability_report(
    result: MatchResult | PairingResult,
    *,
    scores: Any = None,
    left_capacity: int | npt.ArrayLike | None = None,
    right_capacity: int | npt.ArrayLike | None = None,
    right_scores: Any = None,
    proposing: Literal["left", "right"] = "left",
    top: int | None = 10,
) -> StabilityReport:
    """The blocking pairs of a result and the comparison with its stable alternative.

    Parameters
    ----------
    result : MatchResult or PairingResult
        What :func:`pbmatch.match` (or :func:`stable_match`) or :func:`pbmatch.pair` returned.
    scores : array_like or scipy.sparse matrix/array, optional
        For a ``MatchResult``: the scores it was solved with (a ``MatchResult`` does not keep
        them). A ``PairingResult`` rescores its pairs with
        :class:`~pbmatch.scoring.pairscore.PairScorer` and takes none.
    left_capacity, right_capacity : int or array_like of int, optional
        For a ``MatchResult``: the capacities it was solved with (default 1). A
        ``PairingResult`` uses its ``provider_max`` and ``receiver_max``.
    right_scores : array_like or scipy.sparse matrix/array, optional
        For a ``MatchResult``: the columns' own preferences (default ``scores``).
    proposing : {"left", "right"}, default "left"
        The side the stable alternative favours (see :func:`stable_match`).
    top : int or None, default 10
        How many of the worst blocking pairs to list; None lists all.

    Returns
    -------
    StabilityReport
        ``n_blocking``, the worst blocking pairs (``rows``, ``cols``, ``scores``, ``worst`` in
        labels), ``objective`` against ``stable_objective`` and their ``difference``,
        ``stable`` (the alternative) and ``summary()``.

    Raises
    ------
    InputError
        A result without a solution, a ``MatchResult`` without ``scores``, options a
        ``PairingResult`` does not take, another kind of result, or bad input (as
        :func:`blocking_pairs`).

    Notes
    -----
    Minimums (``left_min``, a unit's ``min_partners``) play no part: a blocking pair is about
    preferences and capacities, and the stable alternative keeps capacities only.

    A pairing of up to :data:`pbmatch.problems.pairing.DENSE_PAIRS` pairs is scored densely.
    Above, nothing of the size of the whole matrix is held: the blocking pairs are found block
    by block of :meth:`PairScorer.block <pbmatch.scoring.pairscore.PairScorer.block>`
    (counted from the block scores; the listed ones rescored with
    :meth:`PairScorer.scores <pbmatch.scoring.pairscore.PairScorer.scores>`), and the stable
    alternative is the greedy stable matching of the top-k candidates of every unit, grown by
    the pairs that block it over all blocks until none does (each round one pass over the
    blocks; usually one or two). Block and pair scores are bit-identical when quantities and
    category weights are whole numbers or binary fractions (see
    :mod:`pbmatch.scoring.pairscore`), otherwise equal to float rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.array([[10.0, 9.0], [9.0, 1.0]])
    >>> report = stability_report(match(scores), scores=scores)
    >>> report.n_blocking, report.worst, report.objective, report.stable_objective
    (1, [(0, 0, 10.0)], 18.0, 11.0)
    >>> print(report.summary())
    Not stable: 1 blocking pair (both sides prefer each other, by score, to a current
    partner or a free slot)
      0 – 0: score 10
    Total score 18 (2 pairs); the stable alternative 11 (2 pairs, 0 shared); difference 7
    (38.9%)

    A co-building pairing:

    >>> import pbmatch
    >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    >>> report = stability_report(result)
    >>> report.n_blocking > 0, report.difference >= 0
    (True, True)
    """
    limit = _top_iv(top)
    if proposing not in ("left", "right"):
        raise InputError(f"proposing is {proposing!r}; it must be 'left' (rows) or 'right'")
    if not isinstance(result, (MatchResult, PairingResult)):
        raise InputError(
            f"result is a {type(result).__name__}; pass a MatchResult (from pbmatch.match or "
            "stable_match) or a PairingResult (from pbmatch.pair)"
        )
    if not result.success:
        raise InputError(
            f"result has no solution (status {result.status!r}); a stability report needs "
            "chosen pairs"
        )
    if isinstance(result, PairingResult):
        given = {
            "scores": scores,
            "left_capacity": left_capacity,
            "right_capacity": right_capacity,
            "right_scores": right_scores,
        }
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            raise InputError(
                f"{', '.join(extra)} given for a PairingResult; a pairing carries its own "
                "scores (rescored from its graph and weights) and partner limits"
            )
        return _pairing_report(result, limit)
    if scores is None:
        raise InputError(
            "scores is missing; a MatchResult does not keep its score matrix: pass "
            "scores= (and the capacities it was solved with)"
        )
    lcap_in = 1 if left_capacity is None else left_capacity
    rcap_in = 1 if right_capacity is None else right_capacity
    prefs = _prefs_iv(scores, right_scores)
    lcap, rcap = _capacities_iv(lcap_in, rcap_in, prefs.n, prefs.m)
    stable = stable_match(
        scores,
        left_capacity=lcap,
        right_capacity=rcap,
        right_scores=right_scores,
        proposing=proposing,
    )
    return _dense_report(prefs, result.rows, result.cols, lcap, rcap, stable, limit)


def _dense_report(
    prefs: _Prefs,
    rows: Any,
    cols: Any,
    lcap: CountArray,
    rcap: CountArray,
    stable: MatchResult,
    top: int | None,
    row_ids: npt.NDArray[Any] | None = None,
    col_ids: npt.NDArray[Any] | None = None,
) -> StabilityReport:
    r, c, lv, rv = _matching_iv(rows, cols, prefs, lcap, rcap)
    br, bc = _blocking(prefs, r, c, lv, rv, lcap, rcap, False)
    values = prefs.at(br, bc)[0]
    wr, wc, ws = _worst_first(br, bc, values, top)
    return StabilityReport(
        n_blocking=int(br.size),
        rows=wr,
        cols=wc,
        scores=ws,
        objective=math.fsum(lv.astype(np.float64).tolist()),
        pairs=int(r.size),
        stable=stable,
        shared=_shared(r, c, stable.rows, stable.cols, prefs.m),
        row_ids=row_ids,
        col_ids=col_ids,
    )


def _pairing_report(result: PairingResult, top: int | None) -> StabilityReport:
    from pbmatch.problems import pairing
    from pbmatch.scoring.pairscore import PairScorer

    scorer = PairScorer(
        result.graph, result.providers, result.receivers, result.weights, max_km=result.max_km
    )
    lcap = np.asarray(result.provider_max, dtype=np.int64)
    rcap = np.asarray(result.receiver_max, dtype=np.int64)
    rows, cols = result.match.rows, result.match.cols
    ids = result.graph.ids
    labels = (ids[result.providers], ids[result.receivers])
    n, m = scorer.shape
    if n * m <= pairing.DENSE_PAIRS:
        dense = scorer.dense()
        stable = stable_match(dense, left_capacity=lcap, right_capacity=rcap)
        prefs = _Prefs(n, m, dense, None)
        return _dense_report(prefs, rows, cols, lcap, rcap, stable, top, *labels)
    started = time.perf_counter()
    values = scorer.scores(rows, cols)
    if not (values > -np.inf).all():
        k = int(np.argmin(values > -np.inf))
        raise InputError(f"pair ({rows[k]}, {cols[k]}) of the result is not allowed")
    scan = _BlockScan(scorer, lcap, rcap)
    stable, (count, found) = _stable_at_scale(scan, started, (rows, cols, values, False, top, None))
    wr, wc, _ = _worst_first(*found, top)
    return StabilityReport(
        n_blocking=count,
        rows=wr,
        cols=wc,
        scores=scorer.scores(wr, wc),
        objective=math.fsum(values.tolist()),
        pairs=int(rows.size),
        stable=stable,
        shared=_shared(rows, cols, stable.rows, stable.cols, m),
        row_ids=labels[0],
        col_ids=labels[1],
    )


_Spec = tuple[IntArray, IntArray, FloatArray, bool, "int | None", "int | None"]
_Found = tuple[IntArray, IntArray, FloatArray]


class _BlockScan:
    """Blocking pairs of matchings over a pairing's scores, scanned block by block of rows."""

    def __init__(self, scorer: PairScorer, lcap: CountArray, rcap: CountArray) -> None:
        self.scorer = scorer
        self.lcap = lcap
        self.rcap = rcap
        self.passes = 0

    def run(self, matchings: list[_Spec]) -> list[tuple[int, _Found]]:
        """For each ``(rows, cols, values, break_ties, keep, per_row)``: blocking pairs.

        One pass over the blocks for all the matchings. Each gets the number of its blocking
        pairs and some of them: the ``keep`` of highest score (None: all), or with
        ``per_row`` the ``per_row`` best of every row.
        """
        n, m = self.scorer.shape
        step = max(1, _BLOCK_PAIRS // max(m, 1))
        tests = []
        for rows, cols, values, ties, _, _ in matchings:
            tests.append(
                (
                    _Worst.build(rows, cols, values, self.lcap, ties),
                    _Worst.build(cols, rows, values, self.rcap, ties),
                    np.sort(rows.astype(np.int64) * m + cols),
                )
            )
        counts = [0] * len(tests)
        found: list[list[tuple[IntArray, IntArray, FloatArray]]] = [[] for _ in tests]
        j = np.arange(m, dtype=np.intp)[None, :]
        for start in range(0, n, step):
            stop = min(n, start + step)
            block = self.scorer.block(start, stop)
            i = np.arange(start, stop, dtype=np.intp)[:, None]
            allowed = block > -np.inf
            for t, (row_worst, col_worst, chosen) in enumerate(tests):
                mask = allowed & row_worst.wants(i, j, block) & col_worst.wants(j, i, block)
                lo, hi = np.searchsorted(chosen, [start * m, stop * m])
                mask.reshape(-1)[chosen[lo:hi] - start * m] = False
                bi, bj = np.nonzero(mask)
                bv = block[bi, bj]
                bi = bi.astype(np.intp) + start
                bj = bj.astype(np.intp)
                counts[t] += int(bi.size)
                keep, per_row = matchings[t][4], matchings[t][5]
                if per_row is not None:
                    sel = _best_per_row(bi, bj, bv, per_row)
                    found[t].append((bi[sel], bj[sel], bv[sel]))
                else:
                    found[t].append(_worst_first(bi, bj, bv, keep))
                    if keep is not None and len(found[t]) > 1:
                        mr, mc, mv = (np.concatenate(x) for x in zip(*found[t], strict=True))
                        found[t] = [_worst_first(mr, mc, mv, keep)]
        self.passes += 1
        out = []
        for t in range(len(tests)):
            parts = found[t] or [(np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0))]
            arrays = tuple(np.concatenate(x) for x in zip(*parts, strict=True))
            out.append((counts[t], (arrays[0], arrays[1], arrays[2])))
        return out


def _stable_at_scale(
    scan: _BlockScan, started: float, also: _Spec
) -> tuple[MatchResult, tuple[int, _Found]]:
    """The greedy stable matching of a pairing too large for a dense matrix.

    Greedy on the top-k candidates, then add the pairs that block it (with ties broken by
    index, the unique stable matching's order) and repeat until none does
    (:func:`_greedy_verified`). The first pass over the blocks also scans the matching
    ``also`` (the result being reported on); returns its count and pairs too.
    """
    scorer = scan.scorer
    m = scorer.shape[1]
    k = max(_CANDIDATES_K, int(min(max(scan.lcap.max(initial=0), 1), 64)) + 2)
    cand = scorer.top_k(k)
    first: list[tuple[int, _Found]] = []

    def blocking(pr: IntArray, pc: IntArray, pv: ScoreArray) -> tuple[IntArray, IntArray]:
        specs: list[_Spec] = [(pr, pc, pv, True, None, k)]
        if not first:
            specs.append(also)
        found = scan.run(specs)
        if not first:
            first.append(found[1])
        br, bc, _ = found[0][1]
        return br, bc

    pr, pc, pv, rounds, size = _greedy_verified(
        np.asarray(cand.rows, dtype=np.intp),
        np.asarray(cand.cols, dtype=np.intp),
        np.asarray(cand.scores, dtype=np.float64),
        scan.lcap,
        scan.rcap,
        m=m,
        blocking=blocking,
        score=scorer.scores,
    )
    order = np.lexsort((pc, pr))
    chosen = np.asarray(pv[order], dtype=np.float64)
    stable = MatchResult(
        rows=pr[order],
        cols=pc[order],
        scores=chosen,
        objective=math.fsum(chosen.tolist()),
        status="optimal",
        method="greedy",
        message="the only stable matching for one common score (greedy by score), "
        f"from candidates grown in {rounds} rounds",
        wall_time=time.perf_counter() - started,
        extra={"proposing": "left", "rounds": rounds, "candidates": size, "passes": scan.passes},
    )
    return stable, first[0]
