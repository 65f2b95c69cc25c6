"""``PairScorer``: the co-building score of provider × receiver pairs of a ``RegionGraph``.

One canonical formula, evaluated element by element in float64, gives every score: a dense
block (:meth:`PairScorer.block`), a list of pairs (:meth:`PairScorer.scores`) and the
breakdown of chosen pairs (:meth:`PairScorer.breakdown`) produce the same bits for the same
pair whenever the complementarity sums are exact (whole-number or binary-fraction quantities
and category weights, the usual case); otherwise they agree to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.scoring import components as comp
from pbmatch.scoring.weights import COMPONENTS, Weights

if TYPE_CHECKING:
    from pbmatch.scoring.candidates import Candidates
    from pbmatch.scoring.complementarity import ComplementarityKernel

__all__ = ["DEFAULT_MEMORY_BUDGET", "PairScorer"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_MEMORY_BUDGET = 2**30
"""Bytes of working memory a dense score matrix or a top-k run may take by default (1 GiB)."""

_DENSE_BYTES_PER_PAIR = 8 * 6  # the result plus the float64 temporaries of one block
_PAIR_CHUNK = 1 << 13  # pairs per step of the pairwise complementarity sums (in L2 cache)
_SCORE_CHUNK = 1 << 15  # pairs per step of scores(): its temporaries stay in cache


def _share(met: npt.NDArray[np.floating[Any]], total: FloatArray) -> FloatArray:
    """``met / total`` with 0 where nothing is needed."""
    out = np.zeros(np.broadcast(met, total).shape)
    np.divide(met, total, out=out, where=total > 0)
    return out


def _as_index(values: Any, size: int, name: str, what: str) -> IntArray:
    """A 1-D int64 array of positions in ``0..size-1`` (``InputError`` otherwise)."""
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InputError(
            f"{name} must be a 1-D array of integer {what}; got dtype {arr.dtype}, "
            f"shape {arr.shape}"
        )
    arr = arr.astype(np.int64, copy=False)
    bad = np.flatnonzero((arr < 0) | (arr >= size))
    if bad.size:
        raise InputError(
            f"{name}[{bad[0]}] = {arr[bad[0]]} is out of range; {what} run from 0 to {size - 1}"
        )
    return arr


def _member(keys: IntArray, sorted_keys: IntArray) -> BoolArray:
    """True where ``keys`` occur in the sorted array ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[pos] == keys)


def _join(side: IntArray, units: IntArray) -> tuple[IntArray, IntArray]:
    """All ``(k, position)`` with ``side[position] == units[k]`` (duplicates allowed)."""
    order = np.argsort(side, kind="stable")
    ordered = side[order]
    lo = np.searchsorted(ordered, units, side="left")
    counts = np.searchsorted(ordered, units, side="right") - lo
    k = np.repeat(np.arange(units.size, dtype=np.int64), counts)
    offset = np.arange(k.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return k, order[np.repeat(lo, counts) + offset].astype(np.int64)


def _cross_pairs(left: IntArray, right: IntArray, a: IntArray, b: IntArray) -> IntArray:
    """Sorted unique keys ``i * len(right) + j`` where ``left[i] = a_t`` and ``right[j] = b_t``."""
    k_left, i = _join(left, a)
    k_right, j = _join(right, b)
    # Pair every position of a_t with every position of b_t (usually exactly one each).
    order = np.argsort(k_right, kind="stable")
    k_sorted = k_right[order]
    lo = np.searchsorted(k_sorted, k_left, side="left")
    counts = np.searchsorted(k_sorted, k_left, side="right") - lo
    ii = np.repeat(i, counts)
    offset = np.arange(ii.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    jj = j[order][np.repeat(lo, counts) + offset]
    return np.unique(ii * max(1, right.size) + jj)


@dataclass(frozen=True, eq=False)
class _Side:
    """Arrays of one side (providers or receivers), indexed by position on that side."""

    units: IntArray
    offers_t: FloatArray  # (C, size): offers by category, contiguous rows
    needs_t: FloatArray
    need_total: FloatArray  # Σ_c w_c · needs
    kinds: npt.NDArray[np.intp]
    street: IntArray
    district: IntArray
    xyz: FloatArray  # (size, 3) unit vectors, NaN rows where the location is unknown
    offers_w: FloatArray  # (size, C') offers of the categories with a weight > 0
    needs_w: FloatArray

    @classmethod
    def build(cls, graph: RegionGraph, units: IntArray, category_w: FloatArray) -> _Side:
        needs = graph.needs[units]
        weighted = np.flatnonzero(category_w > 0)
        return cls(
            units=units,
            offers_w=np.ascontiguousarray(graph.offers[units][:, weighted]),
            needs_w=np.ascontiguousarray(needs[:, weighted]),
            offers_t=np.ascontiguousarray(graph.offers[units].T),
            needs_t=np.ascontiguousarray(needs.T),
            need_total=needs @ category_w,
            kinds=graph.kinds[units].astype(np.intp),
            street=graph.region_codes("street")[units],
            district=graph.region_codes("district")[units],
            xyz=comp.unit_vectors(graph.lat[units], graph.lon[units]),
        )


class PairScorer:
    """Scores pairs of providers and receivers of a graph with the components of ``Weights``.

    Parameters
    ----------
    graph : RegionGraph
    providers, receivers : array of int
        Unit indices of the two sides (rows and columns of every block).
    weights : Weights, optional
    max_km : float, optional
        Pairs farther apart are forbidden (score ``-inf``); pairs with an unknown location are
        not cut off.

    Raises
    ------
    InputError
        If a unit index is out of range, ``max_km`` is not a number > 0 or ``weights`` is not
        a :class:`~pbmatch.scoring.weights.Weights`.

    See Also
    --------
    pbmatch.scoring.candidates.top_k : the best pairs of every row and column without the
        dense matrix.

    Notes
    -----
    The score of a pair is the sum, in :data:`~pbmatch.scoring.weights.COMPONENTS` order and
    starting from 0, of its weighted components; self pairs (the same unit on both sides)
    and pairs beyond ``max_km`` are forbidden. Distances are great-circle distances computed
    from 3-D unit vectors (:func:`~pbmatch.scoring.components.arc_km`). The complementarity
    terms of :meth:`block` come from two prepared
    :class:`~pbmatch.scoring.complementarity.ComplementarityKernel` (offers × needs and
    needs × offers), those of :meth:`scores` and :meth:`breakdown` from a fixed-order sum
    over categories; all three are exact, hence bit-identical, when quantities and category
    weights are whole numbers (or binary fractions). ``block`` costs
    ``O(rows × receivers)`` time and memory.

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> g = pbmatch.synthetic_district(seed=0)
    >>> receiver = np.isin(g.kind_names, ["community", "village"])
    >>> s = PairScorer(g, np.flatnonzero(~receiver), np.flatnonzero(receiver))
    >>> block = s.block(0, 5)
    >>> block.shape == (5, receiver.sum()), bool(np.isfinite(block).all())
    (True, True)
    >>> b = s.breakdown(np.array([0, 1]), np.array([2, 2]))
    >>> bool((b["score"] == block[[0, 1], 2]).all())
    True
    """

    def __init__(
        self,
        graph: RegionGraph,
        providers: IntArray,
        receivers: IntArray,
        weights: Weights | None = None,
        *,
        max_km: float | None = None,
    ) -> None:
        if weights is not None and not isinstance(weights, Weights):
            raise InputError(f"weights is a {type(weights).__name__}; pass a pbmatch.Weights")
        if max_km is not None and (
            isinstance(max_km, bool)
            or not isinstance(max_km, (int, float, np.integer, np.floating))
            or not max_km > 0
        ):
            raise InputError(f"max_km is {max_km!r}; it must be a number > 0 or None")
        self.graph = graph
        self.providers = _as_index(providers, len(graph), "providers", "unit indices")
        self.receivers = _as_index(receivers, len(graph), "receivers", "unit indices")
        self.weights = weights if weights is not None else Weights()
        self.max_km = None if max_km is None else float(max_km)
        self._w = self.weights.component_weights()
        self._category_w = np.array(
            [self.weights.category_weights.get(c, 1.0) for c in graph.categories], dtype=float
        )
        self._kind_table = np.asarray(self.weights.kind_table(), dtype=float)
        self._weighted = np.flatnonzero(self._category_w > 0)
        self._p = _Side.build(graph, self.providers, self._category_w)
        self._r = _Side.build(graph, self.receivers, self._category_w)
        ends = (
            np.concatenate([graph.tie_a, graph.tie_b]),
            np.concatenate([graph.tie_b, graph.tie_a]),
        )
        # Position keys i * m + j of standing ties and of self pairs (same unit both sides).
        self._tie_keys = _cross_pairs(self.providers, self.receivers, *ends)
        units = np.unique(np.concatenate([self.providers, self.receivers]))
        self._self_keys = _cross_pairs(self.providers, self.receivers, units, units)
        self._kernels: tuple[ComplementarityKernel, ComplementarityKernel] | None = None

    # -- shape and kernels -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(number of providers, number of receivers)."""
        return (self.providers.size, self.receivers.size)

    def _kernel_pair(self) -> tuple[ComplementarityKernel, ComplementarityKernel]:
        """The two complementarity kernels, prepared on first use."""
        if self._kernels is None:
            from pbmatch.scoring.complementarity import ComplementarityKernel

            cw = self._category_w
            self._kernels = (
                ComplementarityKernel(self._p.offers_t.T, self._r.needs_t.T, cw),
                ComplementarityKernel(self._p.needs_t.T, self._r.offers_t.T, cw),
            )
        return self._kernels

    # -- the canonical formula ---------------------------------------------------------------
    def _pair_sum(self, a: FloatArray, b: FloatArray, i: IntArray, j: IntArray) -> FloatArray:
        """``Σ_c w_c min(a[i, c], b[j, c])`` over the weighted categories, in category order.

        ``a`` and ``b`` hold one row per unit and one column per weighted category.
        """
        cw = self._category_w[self._weighted]
        total = np.zeros(i.size)
        for start in range(0, i.size, _PAIR_CHUNK):
            stop = min(i.size, start + _PAIR_CHUNK)
            terms = np.take(a, i[start:stop], axis=0)
            np.minimum(terms, np.take(b, j[start:stop], axis=0), out=terms)
            terms *= cw
            acc = total[start:stop]
            for c in range(cw.size):  # a fixed order: the same bits for a pair in any call
                acc += terms[:, c]
        return total

    def _parts(
        self,
        i: IntArray,
        j: IntArray,
        need_sum: FloatArray,
        offer_sum: FloatArray,
        tie: BoolArray,
    ) -> dict[str, FloatArray]:
        """Unweighted components for broadcastable positions ``i`` (rows) and ``j`` (columns)."""
        p, r = self._p, self._r
        shape = np.broadcast(i, j).shape
        chord2 = np.zeros(shape)
        for axis in range(3):
            diff = p.xyz[:, axis][i] - r.xyz[:, axis][j]
            diff *= diff
            chord2 += diff
        km = comp.arc_km(np.sqrt(chord2))
        same_street = comp.same_region(p.street[i], r.street[j])
        same_district = comp.same_region(p.district[i], r.district[j]) & ~same_street
        return {
            "need_met": _share(need_sum, r.need_total[j]),
            "offer_used": _share(offer_sum, p.need_total[i]),
            "distance": comp.distance_decay(km, self.weights.half_distance_km),
            "kind": comp.kind_affinity(self._kind_table, p.kinds[i], r.kinds[j]),
            "same_street": same_street.astype(float),
            "same_district": same_district.astype(float),
            "continuity": tie.astype(float),
            "_km": km,
        }

    def _combine(self, parts: dict[str, FloatArray], forbidden: BoolArray) -> FloatArray:
        """The score: weighted components added in ``COMPONENTS`` order, forbidden → ``-inf``."""
        score = np.zeros(parts["_km"].shape)
        for name in COMPONENTS:
            if self._w[name]:
                score += self._w[name] * parts[name]
        if self.max_km is not None:
            forbidden = forbidden | (parts["_km"] > self.max_km)
        score[forbidden] = -np.inf
        return score

    def _block_flags(self, start: int, stop: int, keys: IntArray) -> BoolArray:
        """Rows ``start:stop`` × all columns, True at the given sorted position keys."""
        m = self.receivers.size
        flags = np.zeros((stop - start, m), dtype=bool)
        lo, hi = np.searchsorted(keys, [start * m, stop * m])
        inside = keys[lo:hi] - start * m
        flags.reshape(-1)[inside] = True
        return flags

    def _pair_flags(self, i: IntArray, j: IntArray, keys: IntArray) -> BoolArray:
        """True where ``(i, j)`` is among the sorted position keys."""
        return _member(i * max(1, self.receivers.size) + j, keys)

    def _pairs(self, rows: Any, cols: Any) -> tuple[IntArray, IntArray]:
        n, m = self.shape
        i = _as_index(rows, n, "rows", "provider positions")
        j = _as_index(cols, m, "cols", "receiver positions")
        if i.shape != j.shape:
            raise InputError(f"rows and cols differ in length ({i.size} and {j.size})")
        return i, j

    # -- public ------------------------------------------------------------------------------
    def block(self, start: int, stop: int) -> FloatArray:
        """Scores of providers ``start:stop`` (rows) against every receiver; ``-inf`` forbids.

        Examples
        --------
        >>> import numpy as np, pbmatch
        >>> g = pbmatch.synthetic_district(seed=0)
        >>> s = PairScorer(g, np.arange(3), np.arange(3))
        >>> np.diag(s.block(0, 3)).tolist()  # the same unit on both sides
        [-inf, -inf, -inf]
        """
        n = self.providers.size
        if not (
            isinstance(start, (int, np.integer))
            and isinstance(stop, (int, np.integer))
            and 0 <= start <= stop <= n
        ):
            raise InputError(
                f"start, stop = {start!r}, {stop!r} must be integers with "
                f"0 <= start <= stop <= {n} (the number of providers)"
            )
        need_kernel, offer_kernel = self._kernel_pair()
        need_sum = np.asarray(need_kernel.block(int(start), int(stop)), dtype=float)
        offer_sum = np.asarray(offer_kernel.block(int(start), int(stop)), dtype=float)
        start, stop = int(start), int(stop)
        i = np.arange(start, stop, dtype=np.int64)[:, None]
        j = np.arange(self.receivers.size, dtype=np.int64)[None, :]
        tie = self._block_flags(start, stop, self._tie_keys)
        parts = self._parts(i, j, need_sum, offer_sum, tie)
        return self._combine(parts, self._block_flags(start, stop, self._self_keys))

    def dense(self, *, memory_budget: int | None = None) -> FloatArray:
        """The whole provider × receiver score matrix, computed in row blocks.

        Parameters
        ----------
        memory_budget : int, optional
            Bytes the matrix and its working memory may take (default
            :data:`DEFAULT_MEMORY_BUDGET`, 1 GiB).

        Raises
        ------
        InputError
            If the matrix alone (``8 × providers × receivers`` bytes) exceeds the budget;
            :meth:`top_k` then gives the best candidates without it.

        Examples
        --------
        >>> import numpy as np, pbmatch
        >>> g = pbmatch.synthetic_district(seed=0)
        >>> PairScorer(g, np.arange(4), np.arange(4, 10)).dense().shape
        (4, 6)
        >>> PairScorer(g, np.arange(4), np.arange(4, 10)).dense(memory_budget=100)
        Traceback (most recent call last):
        ...
        pbmatch.exceptions.InputError: the dense 4 × 6 score matrix needs 192 bytes, ...
        """
        n, m = self.shape
        budget = _budget(memory_budget)
        need = 8 * n * m
        if need > budget:
            raise InputError(
                f"the dense {n} × {m} score matrix needs {_bytes(need)}, more than "
                f"memory_budget = {_bytes(budget)}; use PairScorer.top_k(k) for the k best "
                "candidates of every row and column, or raise memory_budget"
            )
        out = np.empty((n, m))
        rows = max(1, (budget - need) // max(1, _DENSE_BYTES_PER_PAIR * m))
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            out[start:stop] = self.block(start, stop)
        return out

    def scores(self, rows: Any, cols: Any) -> FloatArray:
        """Scores of the pairs ``(rows[t], cols[t])`` (positions); ``-inf`` where forbidden.

        Examples
        --------
        >>> import numpy as np, pbmatch
        >>> g = pbmatch.synthetic_district(seed=0)
        >>> s = PairScorer(g, np.arange(4), np.arange(4, 10))
        >>> bool((s.scores([0, 3], [5, 1]) == s.dense()[[0, 3], [5, 1]]).all())
        True
        """
        i, j = self._pairs(rows, cols)
        if i.size <= _SCORE_CHUNK:
            return self._scores(i, j)
        out = np.empty(i.size)
        for start in range(0, i.size, _SCORE_CHUNK):  # elementwise: the same bits in chunks
            stop = min(i.size, start + _SCORE_CHUNK)
            out[start:stop] = self._scores(i[start:stop], j[start:stop])
        return out

    def _scores(self, i: IntArray, j: IntArray) -> FloatArray:
        p, r = self._p, self._r
        need_sum = self._pair_sum(p.offers_w, r.needs_w, i, j)
        offer_sum = self._pair_sum(p.needs_w, r.offers_w, i, j)
        parts = self._parts(i, j, need_sum, offer_sum, self._pair_flags(i, j, self._tie_keys))
        return self._combine(parts, self._pair_flags(i, j, self._self_keys))

    def breakdown(self, rows: Any, cols: Any) -> dict[str, FloatArray]:
        """Weighted components of chosen pairs (positions into ``providers``/``receivers``).

        Returns a dict with one array per name in :data:`~pbmatch.scoring.weights.COMPONENTS`,
        plus ``"score"`` (their sum, in that order, from 0) and ``"distance_km"``. The score
        ignores ``max_km`` and self pairs (it is never ``-inf``); ``distance_km`` shows the
        distance.
        """
        i, j = self._pairs(rows, cols)
        p, r = self._p, self._r
        need_sum = self._pair_sum(p.offers_w, r.needs_w, i, j)
        offer_sum = self._pair_sum(p.needs_w, r.offers_w, i, j)
        parts = self._parts(i, j, need_sum, offer_sum, self._pair_flags(i, j, self._tie_keys))
        out = {name: self._w[name] * parts[name] for name in COMPONENTS}
        score = np.zeros(i.shape)
        for name in COMPONENTS:
            score += out[name]
        out["score"] = score
        out["distance_km"] = parts["_km"]
        return out

    def top_k(
        self,
        k: int,
        *,
        memory_budget: int | None = None,
        progress: bool = False,
    ) -> Candidates:
        """The ``k`` best receivers of every provider and ``k`` best providers of every receiver.

        See :func:`pbmatch.scoring.candidates.top_k`, which this calls.

        Examples
        --------
        >>> import numpy as np, pbmatch
        >>> g = pbmatch.synthetic_district(seed=0)
        >>> receiver = np.isin(g.kind_names, ["community", "village"])
        >>> s = PairScorer(g, np.flatnonzero(~receiver), np.flatnonzero(receiver))
        >>> cand = s.top_k(3)
        >>> bool((cand.scores == s.breakdown(cand.rows, cand.cols)["score"]).all())
        True
        """
        from pbmatch.scoring.candidates import top_k

        return top_k(self, k, memory_budget=memory_budget, progress=progress)


def _budget(memory_budget: int | None) -> int:
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    if (
        isinstance(memory_budget, bool)
        or not isinstance(memory_budget, (int, np.integer))
        or memory_budget <= 0
    ):
        raise InputError(f"memory_budget is {memory_budget!r}; it must be an int > 0 (bytes)")
    return int(memory_budget)


def _bytes(count: int) -> str:
    """A byte count for messages: ``'1.5 GB'``, ``'12.0 MB'``, ``'192 bytes'``."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"
