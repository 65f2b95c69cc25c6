"""Top-k candidate pairs of a ``PairScorer``, exact, without the dense score matrix.

For every provider its ``k`` best receivers and for every receiver its ``k`` best providers
("top-k both ways", so no unit is left without candidates), as a sparse :class:`Candidates`.
The result equals the plain definition on the dense matrix (:func:`top_k_dense`): same pairs,
same float64 scores (recomputed by :meth:`PairScorer.scores`), ties broken by the lower index.

How it avoids the ``n × m`` scan
--------------------------------
A score is ``A(p, r) + Geo(p, r) + Tie(p, r)``: ``A`` the complementarity, kind and
same-district terms, ``Geo`` the distance decay (plus the same-street bonus), ``Tie`` the
standing-tie bonus. ``A`` is a sum of a few rows of receiver tables selected by the provider
(``w · min(v, need_r) / total_r`` per category and offered value ``v``, and so on): a
gather-and-add per provider "slot", never a product. Everything below compares an *upper
bound* with a *lower bound* of the k-th best score of the row or column, so no pair that can
make either top-k is skipped:

1. **Grid.** Receivers are binned in a latitude/longitude grid, providers in blocks of cells.
   A rigorous lower bound on the distance between a point and a cell's box bounds the decay
   of every pair of a provider and a cell.
2. **Seed pass.** Each provider block is scored (float32, see below) against the receivers
   of the cells near it. For each row, the maxima of ``4k`` interleaved groups of those
   receivers, and for each column the maxima of ``4k`` groups of the block's rows (merged
   over the blocks), are scores of distinct pairs: their k-th largest is a lower bound ``θ``
   of the true k-th best. The pairs that can still make a top-k are collected.
3. **Near pass.** Each block is bounded against every other receiver within the radius
   ``ρ`` (and of its streets) in 16-bit fixed point: the table rows rounded up and added in
   ``uint16`` (16 lanes per AVX2 instruction), plus the decay bound of the pair's cell. Pairs
   whose bound reaches ``min(θ_row, θ_col)`` are scored exactly; the others cannot be in
   either top-k. A cut-off ``max_km`` within a few ``ρ`` becomes the radius itself: every
   allowed pair is near and there is no far pass.
4. **Far pass.** Every other pair is farther than ``ρ``, so ``Geo ≤ w_distance ·
   decay(ρ)``. Providers with the same categories on offer (and alike in needing) form
   groups whose largest quantities bound ``A`` of all their members; the bounds of a batch of
   groups against all receivers are one ``uint16`` matrix (the same gather-and-add), and
   where a bound reaches the thresholds (now final for the near pairs) the members are
   checked with ``A`` from the float32 table, and the few that pass are scored.
5. **Ties** (standing agreements) are scored exactly up front, whatever their distance.
6. **Selection.** From the collected pairs, the row and column thresholds are recomputed;
   every pair within twice the float32 error bound of them is rescored in float64 with the
   canonical formula, and the exact top-k is taken with the index tie-break.

Float32 arithmetic (table sums, distances from float32 local coordinates) and the
fixed-point bounds are used only for bounds and pre-selection, with a rigorous absolute
error bound ``ε`` on every float32 score (fixed-point values are rounded up from them, and
thresholds down); thresholds carry a ``2ε`` margin, so rounding can only add candidates to
the final float64 rescoring, never lose one.

Cost and threads: the passes are loops over blocks (or batches of groups) of vectorised
numpy whose temporaries stay in the CPU cache (about 512 kB). The seed and near passes run
their blocks on two threads (numpy releases the GIL for the large operations) when the
memory budget holds two blocks; the far pass, made of many small operations, runs on one.
The result does not depend on the threads; only the statistics may.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from pbmatch._progress import Progress
from pbmatch._sorting import descending_order, group_ranks
from pbmatch.exceptions import InputError
from pbmatch.scoring.components import EARTH_RADIUS_KM

if TYPE_CHECKING:
    from pbmatch.scoring.pairscore import PairScorer

__all__ = ["Candidates", "top_k", "top_k_dense"]

_T = TypeVar("_T")
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

_U32 = 2.0**-24  # unit roundoff of float32
_LN2 = math.log(2.0)
_ONE_HOT_MAX = 32  # distinct provider values of a category encoded one-hot (else direct)
_DENSE_PAIRS = 1 << 16  # below this many pairs top_k scores the dense matrix
_TARGET_NEAR = 3000.0  # receivers a provider is scored against in the near pass, at most
_GAMMA_SHARE = 0.06  # the near radius leaves a far-pair distance bonus below this share
_BLOCK_PROVIDERS = 192.0  # providers per block of the grid (target)
_PAIR_CHUNK = 1 << 18  # pairs scored at a time on the sparse path
_BYTES_PER_BLOCK_PAIR = 24  # working memory of one (provider, receiver) pair of a block
_BYTES_PER_CANDIDATE = 40
_SEED_SPAN = 2.0  # seed radius, in distances to a unit's k-th nearest receiver
_CLASS_SPLIT = 1
_KIND_SPLIT = 0.01
_THETA_SPLIT = 1.0
_GROUP_MAX = 16  # providers per group of the far pass, at most
_NEAR_SPAN = 4.0  # a cut-off up to this many near radii away makes every pair near
_CHUNK_BYTES = 1 << 19  # temporaries of a gather step (they stay in the L2 cache)
_THREADS = 2  # threads of the block passes (numpy releases the GIL on large arrays)
_FAR_BATCH = 64  # groups whose bounds the far pass computes at once, at most
_FAR_BATCH_BYTES = 1 << 20  # ... and bytes of one (groups × receivers) uint16 matrix


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Candidates:
    """Sparse candidate pairs: row, column and score, sorted by row then column.

    Parameters
    ----------
    rows, cols : array of int
        Row (provider) and column (receiver) positions, no pair twice.
    scores : array of float
        Score of each pair (float64).
    shape : (int, int)
        ``(n_rows, n_cols)`` of the score matrix the pairs come from.

    Raises
    ------
    InputError
        If the arrays differ in length, an index is out of range, a pair occurs twice or a
        score is NaN. Pairs given out of order are sorted.

    Examples
    --------
    >>> import numpy as np
    >>> c = Candidates(np.array([1, 0]), np.array([0, 2]), np.array([0.5, 1.5]), (2, 3))
    >>> c.rows.tolist(), c.cols.tolist(), c.scores.tolist(), len(c)
    ([0, 1], [2, 0], [1.5, 0.5], 2)
    >>> c.to_scipy().toarray()
    array([[0. , 0. , 1.5],
           [0.5, 0. , 0. ]])
    >>> Candidates.from_scipy(c.to_scipy()).cols.tolist()
    [2, 0]
    """

    rows: IntArray
    cols: IntArray
    scores: FloatArray
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        rows = np.asarray(self.rows)
        cols = np.asarray(self.cols)
        scores = np.asarray(self.scores, dtype=np.float64)
        try:
            shape = (int(self.shape[0]), int(self.shape[1]))
        except (TypeError, ValueError, IndexError) as exc:
            raise InputError(f"shape must be two ints (rows, cols); got {self.shape!r}") from exc
        if len(self.shape) != 2 or min(shape) < 0:
            raise InputError(f"shape must be two ints >= 0; got {self.shape!r}")
        if not (rows.ndim == cols.ndim == scores.ndim == 1) or not (
            rows.size == cols.size == scores.size
        ):
            raise InputError(
                "rows, cols and scores must be 1-D arrays of one length; got shapes "
                f"{rows.shape}, {cols.shape} and {scores.shape}"
            )
        for name, arr, size in (("rows", rows, shape[0]), ("cols", cols, shape[1])):
            if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= size):
                raise InputError(f"{name} must be integers in 0..{size - 1} (shape {shape})")
        if np.isnan(scores).any():
            raise InputError(f"scores[{int(np.flatnonzero(np.isnan(scores))[0])}] is NaN")
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)
        keys = rows * max(1, shape[1]) + cols
        if keys.size > 1 and not (np.diff(keys) > 0).all():
            order = np.argsort(keys, kind="stable")
            rows, cols, scores, keys = rows[order], cols[order], scores[order], keys[order]
            dup = np.flatnonzero(np.diff(keys) == 0)
            if dup.size:
                t = int(dup[0])
                raise InputError(f"the pair ({rows[t]}, {cols[t]}) occurs twice; list it once")
        frozen: tuple[npt.NDArray[Any], ...] = (rows, cols, scores)
        for arr in frozen:
            arr.flags.writeable = False
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "cols", cols)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "shape", shape)

    def __len__(self) -> int:
        return int(self.rows.size)

    def __repr__(self) -> str:
        return f"Candidates({len(self)} pairs, shape={self.shape})"

    def to_scipy(self, format: str = "csr") -> Any:
        """The pairs as a ``scipy.sparse`` array (explicit entries, zero scores kept).

        Parameters
        ----------
        format : str, default "csr"
            Any format ``scipy.sparse`` arrays convert to (``"csr"``, ``"csc"``, ``"coo"``...).
        """
        from pbmatch._optional import require

        sparse = require("scipy.sparse", "sparse", "Candidates.to_scipy")
        coo = sparse.coo_array((self.scores, (self.rows, self.cols)), shape=self.shape)
        return coo.asformat(format)

    @classmethod
    def from_scipy(cls, matrix: Any) -> Candidates:
        """Candidates from the stored entries of a ``scipy.sparse`` matrix or array.

        Raises
        ------
        InputError
            If ``matrix`` is not a scipy sparse matrix or holds a pair twice.
        """
        if not (type(matrix).__module__ or "").startswith("scipy.sparse"):
            raise InputError(
                f"from_scipy needs a scipy.sparse matrix or array; got {type(matrix).__name__}"
            )
        coo = matrix.tocoo()
        return cls(
            np.asarray(coo.row, dtype=np.int64),
            np.asarray(coo.col, dtype=np.int64),
            np.asarray(coo.data, dtype=np.float64),
            (int(coo.shape[0]), int(coo.shape[1])),
        )


# ---------------------------------------------------------------------------------------------
# The plain definition
# ---------------------------------------------------------------------------------------------
def _run_rank(sorted_keys: IntArray) -> IntArray:
    """Rank of each element within its run of equal (sorted) keys."""
    size = sorted_keys.size
    if size == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    counts = np.diff(np.r_[starts, size])
    return np.arange(size, dtype=np.int64) - np.repeat(starts, counts)


def _descending_rank(score: FloatArray) -> tuple[IntArray, int]:
    """Dense rank of each score, 0 for the largest, and the number of distinct scores."""
    distinct, inverse = np.unique(score, return_inverse=True)
    return (distinct.size - 1 - inverse.reshape(-1)).astype(np.int64), int(distinct.size)


def _top_mask(group: IntArray, rank: IntArray, n_rank: int, other: IntArray, k: int) -> BoolArray:
    """True for the k best of each group: lowest ``rank`` (best score), then lowest ``other``."""
    keep = np.zeros(group.size, dtype=bool)
    if group.size == 0:
        return keep
    n_other = int(other.max()) + 1
    span = n_rank * n_other
    if (int(group.max()) + 1) * span < 2**62:  # one int64 key: a single sort
        order = np.argsort(group * span + rank * n_other + other)
    else:
        order = np.lexsort((other, rank, group))
    keep[order[_run_rank(group[order]) < k]] = True
    return keep


def _select(
    rows: IntArray, cols: IntArray, scores: FloatArray, k: int, shape: tuple[int, int]
) -> Candidates:
    """Exact top-k both ways of a list of distinct pairs (finite scores only).

    The pairs are sorted by row then column first: a row's ties are then in column order and
    a column's in row order, so one order by score (ties by position) ranks both ways.
    """
    finite = np.isfinite(scores)
    rows, cols, scores = rows[finite], cols[finite], scores[finite]
    keys = rows * max(1, shape[1]) + cols
    if keys.size > 1 and not bool((keys[1:] > keys[:-1]).all()):
        by_key = np.argsort(keys)
        rows, cols, scores = rows[by_key], cols[by_key], scores[by_key]
    order = descending_order(scores)
    keep = (group_ranks(rows, order, shape[0]) < k) | (group_ranks(cols, order, shape[1]) < k)
    return Candidates(rows[keep], cols[keep], scores[keep], shape)


def top_k_dense(scores: Any, k: int) -> Candidates:
    """Top-k both ways of a dense score matrix: the plain definition.

    Row ``i`` keeps its ``k`` highest finite scores, column ``j`` its ``k`` highest; equal
    scores are broken by the lower column (for a row) or row (for a column) index. The
    result is the union.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[3.0, 1.0, 2.0], [0.0, -np.inf, 5.0]])
    >>> c = top_k_dense(s, 1)
    >>> list(zip(c.rows.tolist(), c.cols.tolist()))
    [(0, 0), (0, 1), (1, 2)]
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"scores must be a 2-D array; got shape {arr.shape}")
    if np.isnan(arr).any():
        raise InputError("scores contains NaN; use -inf for forbidden pairs")
    k = _check_k(k)
    rows, cols = np.nonzero(np.isfinite(arr))
    return _select(rows.astype(np.int64), cols.astype(np.int64), arr[rows, cols], k, arr.shape)


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k is {k!r}; it must be an int >= 1")
    return int(k)


# ---------------------------------------------------------------------------------------------
# Geometry: lat/lon grid for binning, 3-D boxes (km) for rigorous distance bounds
# ---------------------------------------------------------------------------------------------
def _box_gap(lo_a: FloatArray, hi_a: FloatArray, lo_b: FloatArray, hi_b: FloatArray) -> FloatArray:
    """Least straight-line distance between axis-aligned 3-D boxes (last axis: x, y, z).

    Points of the boxes are R · unit vectors, so this bounds the chord between any two of
    them, and the great-circle distance is longer than the chord.
    """
    gap = np.maximum(0.0, np.maximum(lo_b - hi_a, lo_a - hi_b))
    out = np.sqrt(np.einsum("...i,...i->...", gap, gap))
    return np.asarray(np.maximum(0.0, out * (1.0 - 1e-12) - 1e-9))  # float64 rounding


def _runs(*keys: IntArray) -> IntArray:
    """Start of every run of equal consecutive keys (all keys equal), plus the end."""
    size = keys[0].size
    if size == 0:
        return np.zeros(1, np.int64)
    change = np.zeros(size, dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.asarray(np.r_[np.flatnonzero(change), size], dtype=np.int64)


def _ranges(starts: IntArray, stops: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated ``arange(start, stop)`` of several ranges, and each element's range."""
    counts = stops - starts
    which = np.repeat(np.arange(starts.size, dtype=np.int64), counts)
    offset = np.arange(which.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return starts[which] + offset, which


# ---------------------------------------------------------------------------------------------
# Running top-k values of rows or columns
# ---------------------------------------------------------------------------------------------
class _TopK:
    """The k largest values seen for each of ``size`` rows (in no order within a row)."""

    def __init__(self, size: int, k: int, batch: int = 1 << 20) -> None:
        self.k = k
        self.best = np.full((size, k), -np.inf, dtype=np.float32)
        self.floor = np.full(size, -np.inf, dtype=np.float32)  # k-th largest so far
        self._idx: list[IntArray] = []
        self._vals: list[F32] = []
        self._count = 0
        self._batch = batch

    def add(self, idx: IntArray, vals: F32) -> None:
        """Values for rows ``idx`` (repeats allowed), merged in batches."""
        # A value at most the row's current k-th largest changes nothing: drop it now.
        vals = vals.astype(np.float32, copy=False)
        better = vals > self.floor[idx]
        if not better.all():
            idx, vals = idx[better], vals[better]
        if idx.size == 0:
            return
        self._idx.append(idx)
        self._vals.append(vals)
        self._count += idx.size
        if self._count >= self._batch:
            self._flush()

    def merge(self, rows: IntArray, values: F32) -> None:
        """Merge ``values[t]`` (any number of columns, ``-inf`` padded) into distinct ``rows``."""
        both = np.concatenate([self.best[rows], values.astype(np.float32, copy=False)], axis=1)
        if both.shape[1] > self.k:
            both = np.partition(both, both.shape[1] - self.k, axis=1)[:, -self.k :]
        self.best[rows] = both
        self.floor[rows] = both.min(axis=1)

    def _flush(self) -> None:
        if not self._idx:
            return
        idx, vals = np.concatenate(self._idx), np.concatenate(self._vals)
        self._idx, self._vals, self._count = [], [], 0
        # The k largest new values of each row (one sort by row, then value descending)...
        bits = vals.view(np.int32).astype(np.int64)
        ascending = np.where(bits >= 0, bits, bits ^ 0x7FFFFFFF) + 2**31  # order-preserving
        order = np.argsort((idx << 32) | (2**32 - 1 - ascending))
        idx, vals = idx[order], vals[order]
        rank = _run_rank(idx)
        top = rank < self.k
        idx, vals, rank = idx[top], vals[top], rank[top]
        starts = _runs(idx)
        rows = idx[starts[:-1]]
        which = np.repeat(np.arange(rows.size), np.diff(starts))
        values = np.full((rows.size, self.k), -np.inf, dtype=np.float32)
        values[which, rank] = vals
        # ... merged with the kept ones.
        self.merge(rows, values)

    def kth(self) -> F32:
        """The k-th largest value of each row (``-inf`` where fewer than k were seen)."""
        self._flush()
        return self.floor


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------
class _Engine:
    """State of one pruned top-k run.

    Internal orders: providers by block of the grid (each block a contiguous range), then by
    decreasing number of table entries; receivers by kind, district and grid cell (each
    (kind, district) a contiguous range, each cell too). Units without a location come last.
    """

    def __init__(self, scorer: PairScorer, k: int, budget: int, progress: bool) -> None:
        self.scorer = scorer
        self.k = k
        self.budget = budget
        self.progress_on = progress
        self.n, self.m = scorer.shape
        self.w = scorer._w
        self.half = float(scorer.weights.half_distance_km)
        self.max_km = scorer.max_km
        g = scorer.graph
        phi_p = np.radians(g.lat[scorer._p.units])
        lam_p = np.radians(g.lon[scorer._p.units])
        phi_r = np.radians(g.lat[scorer._r.units])
        lam_r = np.radians(g.lon[scorer._r.units])
        fin_p = np.isfinite(phi_p) & np.isfinite(lam_p)
        fin_r = np.isfinite(phi_r) & np.isfinite(lam_r)
        self._plan(phi_r[fin_r], lam_r[fin_r])
        self._entries = self._slot_entries()
        self._order_units(phi_p, lam_p, fin_p, phi_r, lam_r, fin_r)
        self._build_tables()
        self._build_geometry()
        self._build_specials()
        self._error_bound()
        self._build_fixed()
        self.fixed_bytes = (
            2 * self.table.nbytes
            + self.slot_row.nbytes
            + self.slot_coef.nbytes
            + 200 * (self.n + self.m)
            + 8 * k * (self.n + self.m)
        )
        # Two threads run two blocks at once: only if the budget holds both blocks' temporaries
        # (a block against every receiver it is scored with).
        self._near_key_cache: IntArray | None = None
        largest = int(np.max(self.block_stop - self.block_start, initial=1))
        room = self.budget - self.fixed_bytes
        self.widest = self._widest()
        whole = (8 * self.table.shape[0] + _BYTES_PER_BLOCK_PAIR * largest) * max(1, self.widest)
        self.threads = _THREADS if room >= _THREADS * whole else 1
        self.th_row = np.full(self.n, -np.inf)
        self.th_col = np.full(self.m, -np.inf)
        self._rows_acc = _TopK(self.n, k)
        self._cols_acc = _TopK(self.m, k)
        self.pool: list[tuple[IntArray, IntArray, F32, npt.NDArray[np.int8]]] = []
        self._merged = 0  # pool entries merged into the running top-k
        # Rows and columns whose every allowed pair is already collected (see lonely_pass).
        self.done_row = np.zeros(self.n, dtype=bool)
        self.done_col = np.zeros(self.m, dtype=bool)
        self.stats: dict[str, float] = {}
        self._lock = threading.Lock()  # the running top-k, the progress bar, the stats
        self._local = threading.local()

    # -- threads -----------------------------------------------------------------------------
    def _scratch(self) -> tuple[IntArray, BoolArray]:
        """This thread's scratch arrays over the receivers: a column index (-1) and flags."""
        local = self._local
        if not hasattr(local, "where"):
            local.where = np.full(self.m, -1, np.int64)
            local.flags = np.zeros(self.m, dtype=bool)
        return local.where, local.flags

    def _run(self, tasks: Sequence[_T], work: Callable[[_T], None], threads: int = 0) -> None:
        """``work(task)`` for every task, on up to ``threads`` (default ``self.threads``)
        threads taking tasks in turn.

        The tasks write disjoint rows of the engine's arrays and append to the pool (atomic);
        everything else they share goes through ``self._lock``. The result does not depend
        on which thread ran which task (only the collected extras and the stats may).
        """
        threads = min(threads or self.threads, os.cpu_count() or 1, len(tasks))
        if threads <= 1:
            for task in tasks:
                work(task)
            return
        queue = iter(tasks)
        done = object()
        failed = threading.Event()

        def worker() -> None:
            while not failed.is_set():
                with self._lock:
                    task = next(queue, done)
                if task is done:
                    return
                try:
                    work(task)  # type: ignore[arg-type]
                except BaseException:
                    failed.set()  # the other thread stops at its next task
                    raise

        with ThreadPoolExecutor(max_workers=threads - 1) as pool:
            others = [pool.submit(worker) for _ in range(threads - 1)]
            worker()
            for other in others:
                other.result()

    def _count(self, **counts: float) -> None:
        """Add to the stats (thread-safe)."""
        with self._lock:
            for name, value in counts.items():
                self.stats[name] = self.stats.get(name, 0) + value

    # -- planning ----------------------------------------------------------------------------
    def _plan(self, phi_r: FloatArray, lam_r: FloatArray) -> None:
        """Near radius ρ (km), grid cell size and block size."""
        w = self.w
        table_max = float(self.scorer._kind_table.max(initial=0.0))
        self.span = (
            w["need_met"]
            + w["offer_used"]
            + w["kind"] * table_max
            + max(w["same_street"], w["same_district"])
            + w["continuity"]
            + w["distance"]
        )
        a_span = w["need_met"] + w["offer_used"] + w["kind"] * table_max + w["same_district"]
        wd = w["distance"]
        if wd <= 0 or phi_r.size == 0:
            rho = 0.0
        elif a_span <= 0:
            rho = self.half * 16.0
        else:
            rho = self.half * max(0.0, math.log2(wd / (_GAMMA_SHARE * a_span)))
        density = 1.0  # receivers per km², over the 1-km cells they occupy
        if phi_r.size:
            cos_ref = max(0.05, math.cos(float(np.max(np.abs(phi_r)))))
            keys = np.floor(phi_r * EARTH_RADIUS_KM) * 4e9 + np.floor(
                lam_r * cos_ref * EARTH_RADIUS_KM
            )
            density = phi_r.size / max(1.0, float(np.unique(keys).size))
        rho = min(rho, math.sqrt(_TARGET_NEAR / (math.pi * density)))
        if wd > 0:  # enough receivers near every provider for a first k-th best
            rho = max(rho, math.sqrt(4.0 * self.k / (math.pi * density)))
        self.cell_km = max(rho / 4.0, math.sqrt(4.0 / density), 1e-3)
        if self.max_km is not None and self.max_km <= _NEAR_SPAN * rho:
            # A cut-off within a few near radii: the near pass scans every allowed pair (its
            # bounds cost a few cycles a pair), no far pass over the whole city.
            rho = self.max_km
        self.rho = rho
        self.density = density
        # Seed radius: a few times the distance to a provider's k-th nearest receiver.
        self.seed_km = min(
            rho, max(self.cell_km / 2, _SEED_SPAN * math.sqrt(self.k / (math.pi * density)))
        )
        block_km = math.sqrt(_BLOCK_PROVIDERS / density)
        self.block_cells = max(1, round(block_km / self.cell_km))

    def _slot_entries(self) -> dict[str, Any]:
        """Which table row each provider (original order) selects, per family of rows."""
        s = self.scorer
        w = self.w
        cw = s._category_w
        entries: dict[str, Any] = {"nm": {}, "ou": {}, "direct_nm": [], "direct_ou": []}
        for c in np.flatnonzero(cw > 0).tolist():
            offers, needs_r = s._p.offers_t[c], s._r.needs_t[c]
            if w["need_met"] > 0 and (offers > 0).any() and (needs_r > 0).any():
                if np.unique(offers).size <= _ONE_HOT_MAX:
                    entries["nm"][c] = np.unique(offers[offers > 0])
                else:
                    entries["direct_nm"].append(c)
            needs, offers_r = s._p.needs_t[c], s._r.offers_t[c]
            if w["offer_used"] > 0 and (needs > 0).any() and (offers_r > 0).any():
                if np.unique(needs).size <= _ONE_HOT_MAX:
                    entries["ou"][c] = np.unique(needs[needs > 0])
                else:
                    entries["direct_ou"].append(c)
        return entries

    def _order_units(
        self,
        phi_p: FloatArray,
        lam_p: FloatArray,
        fin_p: BoolArray,
        phi_r: FloatArray,
        lam_r: FloatArray,
        fin_r: BoolArray,
    ) -> None:
        s = self.scorer
        n, m = self.n, self.m
        phis = np.concatenate([phi_p[fin_p], phi_r[fin_r]])
        lams = np.concatenate([lam_p[fin_p], lam_r[fin_r]])
        phi0 = float(phis.min()) if phis.size else 0.0
        lam0 = float(lams.min()) if lams.size else 0.0
        cos_ref = max(0.05, math.cos(float(np.abs(phis).max()))) if phis.size else 1.0
        d_phi = self.cell_km / EARTH_RADIUS_KM
        d_lam = d_phi / cos_ref
        ncol = int(np.floor((float(lams.max()) - lam0) / d_lam)) + 2 if lams.size else 1
        self.reach_rows = math.ceil(self.rho * math.pi / 2.0 / self.cell_km) + 1

        def grid(phi: FloatArray, lam: FloatArray, fin: BoolArray) -> tuple[IntArray, IntArray]:
            row = np.zeros(phi.size, np.int64)
            col = np.zeros(phi.size, np.int64)
            row[fin] = np.floor((phi[fin] - phi0) / d_phi)
            col[fin] = np.floor((lam[fin] - lam0) / d_lam)
            return row, col

        # Receivers: located first, by kind, district, cell.
        row_r, col_r = grid(phi_r, lam_r, fin_r)
        cell_r = row_r * ncol + col_r
        kinds_r, district_r = s._r.kinds.astype(np.int64), s._r.district
        r_order = np.lexsort((np.arange(m), cell_r, district_r, kinds_r, ~fin_r))
        self.r_order = r_order.astype(np.int64)
        self.r_rank = np.empty(m, np.int64)
        self.r_rank[r_order] = np.arange(m)
        self.m_located = int(fin_r.sum())
        loc = r_order[: self.m_located]
        cells = _runs(kinds_r[loc], district_r[loc], cell_r[loc])
        self.cell_start, self.cell_stop = cells[:-1], cells[1:]
        self.cell_row = row_r[loc][self.cell_start] if self.cell_start.size else cells[:0]
        self.cell_of = np.full(m, -1, np.int64)  # cell of each internal receiver
        self.cell_of[: self.m_located] = np.repeat(
            np.arange(self.cell_start.size), self.cell_stop - self.cell_start
        )
        n_rows = int(self.cell_row.max(initial=-1)) + 2
        self.cells_by_row = np.argsort(self.cell_row, kind="stable").astype(np.int64)
        self.row_ptr = np.searchsorted(self.cell_row[self.cells_by_row], np.arange(n_rows + 1))
        self.segments = _runs(kinds_r[r_order], district_r[r_order])

        # Providers: located first, by block of cells, then by decreasing table entries.
        row_p, col_p = grid(phi_p, lam_p, fin_p)
        bc = self.block_cells
        block_p = np.where(fin_p, (row_p // bc) * (ncol // bc + 2) + col_p // bc, -1)
        count = np.zeros(n, np.int64)
        for c, _ in self._entries["nm"].items():
            count += s._p.offers_t[c] > 0
        for c, _ in self._entries["ou"].items():
            count += s._p.needs_t[c] > 0
        p_order = np.lexsort((np.arange(n), -count, block_p, ~fin_p))
        self.p_order = p_order.astype(np.int64)
        self.p_rank = np.empty(n, np.int64)
        self.p_rank[p_order] = np.arange(n)
        self.n_located = int(fin_p.sum())
        blocks = _runs(block_p[p_order[: self.n_located]])
        self.block_start, self.block_stop = blocks[:-1], blocks[1:]
        self.block_of = np.full(n, -1, np.int64)
        self.block_of[: self.n_located] = np.repeat(
            np.arange(self.block_start.size), self.block_stop - self.block_start
        )
        if self.block_start.size:
            located_rows = row_p[p_order[: self.n_located]]
            self.block_rows = (
                np.minimum.reduceat(located_rows, self.block_start),
                np.maximum.reduceat(located_rows, self.block_start),
            )
        else:
            self.block_rows = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    # -- tables ------------------------------------------------------------------------------
    def _build_tables(self) -> None:
        """Receiver tables (rows) and the provider slots that select and weight them.

        ``A(p, r) = Σ_e coef[p, e] · table[slot[p, e], r]``: one row per (category, offered
        value) holding ``w_need · w_c · min(v, need_r) / total_r``, one per (category, needed
        value) holding ``w_c · min(v, offer_r)`` (weighted by ``w_offer / total_p``), and one
        per (kind, district) of the providers holding the kind affinity plus the
        same-district bonus.
        """
        s = self.scorer
        w = self.w
        cw = s._category_w
        p_ord, r_ord = self.p_order, self.r_order
        self.offers_p = s._p.offers_t[:, p_ord]
        self.needs_p = s._p.needs_t[:, p_ord]
        self.needs_r = s._r.needs_t[:, r_ord]
        self.offers_r = s._r.offers_t[:, r_ord]
        total_r = s._r.need_total[r_ord]
        self.total_p = s._p.need_total[p_ord]
        inv_r = np.divide(1.0, total_r, out=np.zeros_like(total_r), where=total_r > 0)
        inv_p = np.divide(
            1.0, self.total_p, out=np.zeros_like(self.total_p), where=self.total_p > 0
        )
        self.ou_scale = (w["offer_used"] * inv_p).astype(np.float32)
        self.kinds_p = s._p.kinds[p_ord].astype(np.int64)
        self.kinds_r = s._r.kinds[r_ord].astype(np.int64)
        self.district_p = s._p.district[p_ord]
        self.district_r = s._r.district[r_ord]
        self.street_p = s._p.street[p_ord]
        self.street_r = s._r.street[r_ord]
        n = self.n

        rows: list[F32] = []  # float32 as built (the table is their stack)
        ent_p: list[IntArray] = []
        ent_row: list[IntArray] = []
        ent_coef: list[FloatArray] = []
        self.nm_rows: dict[int, tuple[FloatArray, IntArray]] = {}
        self.ou_rows: dict[int, tuple[FloatArray, IntArray]] = {}
        for c, values in self._entries["nm"].items():
            base = len(rows)
            scale = w["need_met"] * cw[c] * inv_r
            rows.extend((np.minimum(v, self.needs_r[c]) * scale).astype(np.float32) for v in values)
            pos = np.flatnonzero(self.offers_p[c] > 0)
            ent_p.append(pos)
            ent_row.append(base + np.searchsorted(values, self.offers_p[c, pos]))
            ent_coef.append(np.ones(pos.size))
            self.nm_rows[c] = (values, base + np.arange(values.size, dtype=np.int64))
        combo_base = len(rows)
        combos = np.zeros((0, 2), np.int64)
        if w["kind"] > 0 or w["same_district"] > 0:
            codes = np.column_stack([self.kinds_p, self.district_p])
            combos, inverse = np.unique(codes, axis=0, return_inverse=True)
            for kind, district in combos.tolist():
                row = w["kind"] * s._kind_table[kind, self.kinds_r]
                if district >= 0:
                    row = row + w["same_district"] * (self.district_r == district)
                rows.append(np.asarray(row, dtype=np.float32))
            ent_p.append(np.arange(n, dtype=np.int64))
            ent_row.append(combo_base + inverse.reshape(-1))
            ent_coef.append(np.ones(n))
        self.combos = combos
        for c, values in self._entries["ou"].items():
            base = len(rows)
            rows.extend(
                (cw[c] * np.minimum(v, self.offers_r[c])).astype(np.float32) for v in values
            )
            pos = np.flatnonzero(self.needs_p[c] > 0)
            ent_p.append(pos)
            ent_row.append(base + np.searchsorted(values, self.needs_p[c, pos]))
            ent_coef.append(self.ou_scale[pos].astype(float))
            self.ou_rows[c] = (values, base + np.arange(values.size, dtype=np.int64))
        self.direct_nm = [(c, w["need_met"] * cw[c] * inv_r) for c in self._entries["direct_nm"]]
        self.direct_ou = list(self._entries["direct_ou"])
        self.zero_row = len(rows)
        rows.append(np.zeros(0, dtype=np.float32))
        self.table = np.zeros((len(rows), self.m), dtype=np.float32)
        for t, row in enumerate(rows[:-1]):
            self.table[t] = row
        rows.clear()
        # Slots: each provider's entries in family order (the weighted ou ones last).
        prov = np.concatenate([*ent_p, np.zeros(0, np.int64)]).astype(np.int64)
        trow = np.concatenate([*ent_row, np.zeros(0, np.int64)]).astype(np.int64)
        coef = np.concatenate([*ent_coef, np.zeros(0)])
        order = np.argsort(prov, kind="stable")
        prov, trow, coef = prov[order], trow[order], coef[order]
        counts = np.bincount(prov, minlength=n)
        width = max(1, int(counts.max(initial=0)))
        self.slot_row = np.full((n, width), self.zero_row, dtype=np.int64)
        self.slot_coef = np.zeros((n, width), dtype=np.float32)
        pos = np.arange(prov.size) - np.repeat(np.cumsum(counts) - counts, counts)
        self.slot_row[prov, pos] = trow
        self.slot_coef[prov, pos] = coef
        self.slot_count = counts
        self.weighted_from = np.full(n, width, np.int64)  # first ou slot of each provider
        if self.ou_rows:
            first_ou = min(int(rows_c[0]) for _, rows_c in self.ou_rows.values())
            is_ou = self.slot_row >= first_ou
            is_ou &= self.slot_row != self.zero_row
            self.weighted_from = np.where(is_ou.any(axis=1), is_ou.argmax(axis=1), width)

    # -- geometry and error bound ------------------------------------------------------------
    def _build_geometry(self) -> None:
        s = self.scorer
        xyz_p = s._p.xyz[self.p_order] * EARTH_RADIUS_KM
        xyz_r = s._r.xyz[self.r_order] * EARTH_RADIUS_KM
        both = np.concatenate([xyz_p, xyz_r])
        finite = np.isfinite(both).all(axis=1)
        origin = both[finite].mean(axis=0) if finite.any() else np.zeros(3)
        self.xp = np.ascontiguousarray((xyz_p - origin).astype(np.float32))
        self.xr = np.ascontiguousarray((xyz_r - origin).astype(np.float32))
        self.xp64 = xyz_p
        self.x_max = float(np.abs(both[finite] - origin).max(initial=0.0)) * math.sqrt(3.0)
        self.big = self.x_max > 200.0  # beyond the chord series: use float32 arcsin
        loc_r = xyz_r[: self.m_located]
        loc_p = xyz_p[: self.n_located]
        if self.cell_start.size:
            self.cell_lo = np.minimum.reduceat(loc_r, self.cell_start, axis=0)
            self.cell_hi = np.maximum.reduceat(loc_r, self.cell_start, axis=0)
        else:
            self.cell_lo = self.cell_hi = np.zeros((0, 3))
        # The boxes in float32 local coordinates, widened by one unit in the last place, one
        # contiguous row per axis (for the decay bounds of the near pass).
        low, high = np.float32(-np.inf), np.float32(np.inf)
        self.cell_lo32 = np.ascontiguousarray(
            np.nextafter((self.cell_lo - origin).astype(np.float32), low).T
        )
        self.cell_hi32 = np.ascontiguousarray(
            np.nextafter((self.cell_hi - origin).astype(np.float32), high).T
        )
        if self.block_start.size:
            self.block_lo = np.minimum.reduceat(loc_p, self.block_start, axis=0)
            self.block_hi = np.maximum.reduceat(loc_p, self.block_start, axis=0)
        else:
            self.block_lo = self.block_hi = np.zeros((0, 3))

    def _error_bound(self) -> None:
        """``ε``: bound on |float32 score - float64 score| for every pair scored here."""
        w = self.w
        terms = self.slot_row.shape[1] + len(self.direct_nm) + len(self.direct_ou) + 8
        eps_a = 2.0 * terms * _U32 * self.span
        self.delta_km = 64.0 * _U32 * (self.x_max + 1.0)
        if not self.big:  # chord → arc by c (1 + c²/24R²): truncation below c (c/R)⁴ / 200
            c = 2.0 * self.x_max
            self.delta_km += c * (c / EARTH_RADIUS_KM) ** 4 / 100.0
        eps_geo = w["distance"] * (_LN2 / self.half * self.delta_km + 16.0 * _U32)
        self.eps = 4.0 * (eps_a + eps_geo) + 1e-12 * self.span

    def _build_fixed(self) -> None:
        """16-bit fixed-point copy of the table for upper bounds (the near pass).

        ``q = ceil(x · up)`` with ``up = scale · (1 + 2**-21)``: at least ``x · scale`` even
        after one float rounding, so sums of such entries bound sums of the entries. An
        offer-used row (category ``c``, need ``v``) is weighted by ``w_offer / N_p`` for
        provider ``p``, and ``N_p >= w_c · v``: its fixed-point row bounds the weighted term
        with ``w_offer · min(1, offers_r[c] / v)``, whatever the provider. The scale (a power
        of two) keeps every bound of a pair below 65535.
        """
        width = self.slot_row.shape[1] + len(self.direct_nm) + len(self.direct_ou) + 8
        n_ou = int(np.max(self.slot_count - np.minimum(self.slot_count, self.weighted_from),
                          initial=0))  # fmt: skip
        room = 60000.0 - 2.0 * width
        span = self.span + self.w["offer_used"] * n_ou
        self.q_scale = 2.0 ** math.floor(math.log2(room / (span + 1.0)))
        self.q_up = self.q_scale * (1.0 + 8.0 * _U32)
        self.table_q = self._fixed_up(self.table)
        for c, (values, rows_c) in self.ou_rows.items():
            share = np.minimum(1.0, self.offers_r[c][None, :] / values[:, None])
            self.table_q[rows_c] = self._fixed_up(self.w["offer_used"] * share)

    def _fixed_up(self, x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint16]:
        """``ceil(x · up)`` as uint16 (``x`` >= 0 and within the span)."""
        y: npt.NDArray[np.floating[Any]] = np.multiply(
            x, self.q_up, dtype=np.float32 if x.dtype == np.float32 else np.float64
        )
        np.ceil(y, out=y)
        return y.astype(np.uint16)

    def _fixed_down(self, x: FloatArray) -> npt.NDArray[np.uint16]:
        """``floor(x · scale)`` as uint16, clipped to ``[0, 65535]`` (``-inf`` gives 0)."""
        y = np.floor(np.clip(x * self.q_scale, 0.0, 65535.0))
        return y.astype(np.uint16)

    # -- special pairs -----------------------------------------------------------------------
    def _build_specials(self) -> None:
        s = self.scorer
        m = max(1, self.m)

        def internal(keys: IntArray) -> IntArray:
            i, j = np.divmod(keys, m)
            return np.sort(self.p_rank[i] * m + self.r_rank[j])

        self.tie_keys = internal(s._tie_keys)
        self.self_keys = internal(s._self_keys)
        codes = self.street_r
        order = np.argsort(codes, kind="stable")
        self.street_order = order[codes[order] >= 0].astype(np.int64)
        self.street_sorted = codes[self.street_order]

    # -- neighbourhoods ----------------------------------------------------------------------
    def _reach(self, radius: float) -> int:
        """Grid rows that may hold points within ``radius`` km (chord ≥ 2/π · arc)."""
        return math.ceil(radius * math.pi / 2.0 / self.cell_km) + 1

    def _near_cells(
        self, block: int, radius: float, reach: int | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Cells scanned for a block: grid rows within reach and box gap <= ``radius``."""
        if self.cell_start.size == 0:
            return np.zeros(0, np.int64), np.zeros(0)
        if reach is None:
            reach = self.reach_rows if radius > 0 else 1
        top = self.row_ptr.size - 1
        lo = min(top, max(0, int(self.block_rows[0][block]) - reach))
        hi = min(top, max(lo, int(self.block_rows[1][block]) + reach + 1))
        cells = np.sort(self.cells_by_row[self.row_ptr[lo] : self.row_ptr[hi]])
        gap = _box_gap(
            self.block_lo[block], self.block_hi[block], self.cell_lo[cells], self.cell_hi[cells]
        )
        near = gap <= radius
        return cells[near], gap[near]

    def _covered(self, i: IntArray, j: IntArray) -> BoolArray:
        """Whether the near pass scanned each pair (internal indices)."""
        covered: BoolArray = (self.street_p[i] == self.street_r[j]) & (self.street_p[i] >= 0)
        block, cell = self.block_of[i], self.cell_of[j]
        both = (block >= 0) & (cell >= 0)
        if both.any():
            n_cells = max(1, self.cell_start.size)
            covered[both] |= _member(block[both] * n_cells + cell[both], self._near_keys())
        return covered

    def _widest(self) -> int:
        """The most receivers one block of the seed and near passes is scored against: those
        of its cells within ``ρ`` (the seed cells among them) and of its providers' streets."""
        n_blocks = self.block_start.size
        n_cells = max(1, self.cell_start.size)
        keys = self._near_keys()
        width = np.bincount(
            keys // n_cells,
            weights=(self.cell_stop - self.cell_start)[keys % n_cells],
            minlength=n_blocks + 1,
        ).astype(np.float64)  # (an int array when there are no keys)
        on_street = self.street_p >= 0
        if on_street.any() and self.street_sorted.size:
            # Receivers of each block's streets (unlocated providers: one more block).
            block = np.where(self.block_of >= 0, self.block_of, n_blocks)[on_street]
            streets = self.street_p[on_street]
            top = int(streets.max()) + 1
            pairs = np.unique(block * top + streets)
            size = np.bincount(self.street_sorted, minlength=top)
            width += np.bincount(pairs // top, weights=size[pairs % top], minlength=n_blocks + 1)
        return int(min(self.m, width.max(initial=0)))

    def _near_keys(self) -> IntArray:
        """Sorted keys ``block * cells + cell`` of the cells the near pass scans for each block
        (:meth:`_near_cells` within ``ρ``, the seed cells among them), computed once."""
        if self._near_key_cache is None:
            n_cells = max(1, self.cell_start.size)
            parts = [
                block * n_cells + self._near_cells(block, self.rho)[0]
                for block in range(self.block_start.size)
            ]
            self._near_key_cache = np.sort(np.concatenate([*parts, np.zeros(0, np.int64)]))
        keys: IntArray = self._near_key_cache
        return keys

    def _fresh(self, i: IntArray, j: IntArray) -> BoolArray:
        """Pairs no other pass collects: not scanned near, not a tie, not of a done column."""
        fresh = ~self._covered(i, j)
        fresh &= ~_member(i * max(1, self.m) + j, self.tie_keys)
        fresh &= ~self.done_col[j]
        return fresh

    def _street_extras(self, pa: int, pb: int, in_cells: BoolArray) -> IntArray:
        """Receivers in the streets of providers pa:pb outside the scanned cells."""
        streets = np.unique(self.street_p[pa:pb])
        streets = streets[streets >= 0]
        if streets.size == 0 or self.street_order.size == 0:
            return np.zeros(0, np.int64)
        lo = np.searchsorted(self.street_sorted, streets, side="left")
        hi = np.searchsorted(self.street_sorted, streets, side="right")
        members, _ = _ranges(lo, hi)
        members = self.street_order[members]
        return np.unique(members[~in_cells[members]])

    # -- scoring primitives ------------------------------------------------------------------
    @staticmethod
    def _rows_at(table: npt.NDArray[Any], rows: IntArray, cols: IntArray) -> npt.NDArray[Any]:
        """``table[rows][:, cols]`` plus a zero last row, copying runs of adjacent columns."""
        right = np.empty((rows.size + 1, cols.size), dtype=table.dtype)
        right[-1] = 0
        breaks = np.flatnonzero(np.diff(cols) != 1) + 1
        edges = np.r_[0, breaks, cols.size]
        for lo, hi in itertools.pairwise(edges):
            if hi > lo:
                right[:-1, lo:hi] = table[rows, int(cols[lo]) : int(cols[hi - 1]) + 1]
        return right

    def _block_slots(self, pa: int, pb: int, counts: IntArray) -> tuple[IntArray, IntArray]:
        """The table rows providers pa:pb use (``used``) and ``index[r, e]``, the position in
        ``used`` of slot ``e`` of provider ``pa + r`` (``used.size``, a zero row, from slot
        ``counts[r]`` on)."""
        slot = self.slot_row[pa:pb]
        used, inv = np.unique(slot, return_inverse=True)
        index = inv.reshape(slot.shape).astype(np.int64)
        index[np.arange(slot.shape[1])[None, :] >= counts[:, None]] = used.size
        return used, index

    def _slot_sums(self, right: npt.NDArray[Any], index: IntArray, counts: IntArray,
                   out: npt.NDArray[Any], coef: F32 | None = None) -> None:  # fmt: skip
        """``out[r] = Σ_e right[index[r, e]]`` (times ``coef[r, e]`` if given) over the slots
        ``e < counts[r]`` (the others select the zero row), a few rows at a time so that the
        temporaries stay in cache. Providers are ordered by decreasing slot count, so a few
        adjacent rows have about as many slots.
        """
        b, q = out.shape
        rows = int(np.clip(_CHUNK_BYTES // max(1, q * out.itemsize), 1, max(1, b)))
        tmp = np.empty((rows, q), dtype=out.dtype)
        for s in range(0, b, rows):
            t = min(b, s + rows)
            width = int(counts[s:t].max(initial=0))
            if width == 0:
                out[s:t] = 0
                continue
            np.take(right, index[s:t, 0], axis=0, out=out[s:t], mode="clip")  # in range
            if coef is not None:
                out[s:t] *= coef[s:t, 0, None]
            part = tmp[: t - s]
            for e in range(1, width):
                np.take(right, index[s:t, e], axis=0, out=part, mode="clip")
                if coef is not None:
                    part *= coef[s:t, e, None]
                out[s:t] += part

    def _gather_block(self, pa: int, pb: int, cols: IntArray) -> F32:
        """``A`` (complementarity, kind, same district) of providers pa:pb × receivers ``cols``.

        A sum of gathered table rows, one slot at a time, a few rows at a time.
        """
        counts = self.slot_count[pa:pb]
        used, index = self._block_slots(pa, pb, counts)
        out = np.empty((pb - pa, cols.size), dtype=np.float32)
        weighted = bool((self.weighted_from[pa:pb] < counts).any())
        coef = self.slot_coef[pa:pb] if weighted else None
        self._slot_sums(self._rows_at(self.table, used, cols), index, counts, out, coef)
        self._direct_terms(pa, pb, cols, out)
        return out

    def _direct_terms(self, pa: int, pb: int, cols: IntArray, out: F32) -> None:
        """Add the terms of the categories without a table (many distinct values)."""
        for c, coef in self.direct_nm:
            term = np.minimum(self.offers_p[c, pa:pb, None], self.needs_r[c][cols][None, :])
            out += (term * coef[cols][None, :]).astype(np.float32)
        for c in self.direct_ou:
            term = np.minimum(self.needs_p[c, pa:pb, None], self.offers_r[c][cols][None, :])
            term *= self.scorer._category_w[c] * self.ou_scale[pa:pb, None]
            out += term.astype(np.float32)

    def _bound_block(self, pa: int, pb: int, cols: IntArray) -> npt.NDArray[np.uint16]:
        """Fixed-point upper bound of ``A`` plus the specials, providers pa:pb × ``cols``.

        The slots sum in uint16 (see :meth:`_build_fixed`); the categories without a table
        are added in float32 and rounded up. Self pairs are not marked (a bound).
        """
        counts = self.slot_count[pa:pb]
        used, index = self._block_slots(pa, pb, counts)
        out = np.empty((pb - pa, cols.size), dtype=np.uint16)
        self._slot_sums(self._rows_at(self.table_q, used, cols), index, counts, out)
        if self.direct_nm or self.direct_ou:
            extra = np.zeros((pb - pa, cols.size), dtype=np.float32)
            self._direct_terms(pa, pb, cols, extra)
            out += self._fixed_up(extra)
        self._specials_block(pa, pb, cols, out)
        return out

    def _specials_block(self, pa: int, pb: int, cols: IntArray, out: npt.NDArray[Any]) -> None:
        """Same-street bonus, ties and forbidden self pairs of a block, added in place.

        A uint16 ``out`` holds fixed-point upper bounds: the bonuses are added rounded up
        and self pairs are left alone.
        """
        fixed = out.dtype == np.uint16
        quantize = self._fixed_up
        w = self.w
        m = max(1, self.m)
        where, _ = self._scratch()
        where[cols] = np.arange(cols.size)
        flat = out.reshape(-1)
        q = cols.size
        if (w["same_street"] or w["same_district"]) and self.street_order.size:
            streets = self.street_p[pa:pb]
            by_street = np.argsort(streets, kind="stable")
            ordered = streets[by_street]
            codes = np.unique(ordered[ordered >= 0])
            # Receivers of those streets that are columns of the block...
            lo = np.searchsorted(self.street_sorted, codes, side="left")
            hi = np.searchsorted(self.street_sorted, codes, side="right")
            members, which = _ranges(lo, hi)
            col = where[self.street_order[members]]
            inside = col >= 0
            col, code = col[inside], codes[which[inside]]
            # ... each paired with the block's providers of the same street.
            lo = np.searchsorted(ordered, code, side="left")
            hi = np.searchsorted(ordered, code, side="right")
            at, which = _ranges(lo, hi)
            rows, col = by_street[at], col[which]
            d_p = self.district_p[pa + rows]
            same_d = (d_p == self.district_r[cols[col]]) & (d_p >= 0)
            bonus = np.where(same_d, w["same_street"] - w["same_district"], w["same_street"])
            flat[rows * q + col] += quantize(bonus) if fixed else bonus.astype(np.float32)
        for keys, value in ((self.tie_keys, w["continuity"]), (self.self_keys, -np.inf)):
            if not value or (fixed and value < 0):
                continue
            lo, hi = np.searchsorted(keys, [pa * m, pb * m])
            i, j = np.divmod(keys[lo:hi], m)
            c = where[j]
            hit = c >= 0
            add = quantize(np.array([value]))[0] if fixed else np.float32(value)
            flat[(i[hit] - pa) * q + c[hit]] += add
        where[cols] = -1

    def _distance(self, i: IntArray, j: IntArray) -> F32:
        """Float32 great-circle km of pairs (internal indices; broadcastable), NaN if unknown."""
        diff = self.xp[i, 0] - self.xr[j, 0]
        chord2 = diff * diff
        for axis in (1, 2):
            diff = self.xp[i, axis] - self.xr[j, axis]
            diff *= diff
            chord2 += diff
        chord = np.sqrt(chord2)
        if self.big:
            half = np.float32(0.5 / EARTH_RADIUS_KM)
            return np.asarray(
                np.float32(2.0 * EARTH_RADIUS_KM) * np.arcsin(np.minimum(chord * half, 1)),
                dtype=np.float32,
            )
        chord2 *= np.float32(1.0 / (24.0 * EARTH_RADIUS_KM**2))
        chord2 += np.float32(1.0)
        chord *= chord2
        return np.asarray(chord, dtype=np.float32)

    def _decay(self, km: F32) -> F32:
        """``w_distance · 0.5 ** (km / half)`` in float32, 0 where ``km`` is NaN."""
        out: F32 = np.multiply(km, np.float32(-_LN2 / self.half))
        np.exp(out, out=out)
        out *= np.float32(self.w["distance"])
        out[np.isnan(out)] = 0.0
        return out

    def _status(self, km: F32) -> npt.NDArray[np.int8]:
        """1: surely allowed, 2: maybe beyond ``max_km`` (decided in float64), 0: beyond."""
        status = np.ones(km.shape, dtype=np.int8)
        if self.max_km is not None:
            slack = 4.0 * self.delta_km
            status[km > self.max_km - slack] = 2
            status[km > self.max_km + slack] = 0
        return status

    def _pair_table(self, i: IntArray, j: IntArray) -> F32:
        """``A`` of pairs (internal indices), gathering receiver-major table rows."""
        acc = np.zeros(i.size, dtype=np.float32)
        flat = self.table.reshape(-1)
        rows, coefs = self.slot_row[i], self.slot_coef[i]
        for e in range(rows.shape[1]):
            term = np.take(flat, rows[:, e] * self.m + j, mode="clip")  # in range
            term *= coefs[:, e]
            acc += term
        for c, coef in self.direct_nm:
            acc += (np.minimum(self.offers_p[c, i], self.needs_r[c, j]) * coef[j]).astype(
                np.float32
            )
        for c in self.direct_ou:
            term = np.minimum(self.needs_p[c, i], self.offers_r[c, j]) * self.scorer._category_w[c]
            acc += (term * self.ou_scale[i]).astype(np.float32)
        return np.asarray(acc, dtype=np.float32)

    def _pair_scores(self, i: IntArray, j: IntArray, a: F32 | None = None) -> None:
        """Float32 scores of pairs (internal indices, any distance), collected in the pool."""
        w = self.w
        m = max(1, self.m)
        for start in range(0, i.size, _PAIR_CHUNK):
            ii, jj = i[start : start + _PAIR_CHUNK], j[start : start + _PAIR_CHUNK]
            acc = self._pair_table(ii, jj) if a is None else a[start : start + _PAIR_CHUNK]
            same_s = (self.street_p[ii] == self.street_r[jj]) & (self.street_p[ii] >= 0)
            if same_s.any():
                same_d = (self.district_p[ii] == self.district_r[jj]) & (self.district_p[ii] >= 0)
                acc = acc + np.where(
                    same_s,
                    np.where(same_d, w["same_street"] - w["same_district"], w["same_street"]),
                    0.0,
                ).astype(np.float32)
            keys = ii * m + jj
            acc = acc + np.where(_member(keys, self.tie_keys), w["continuity"], 0.0).astype(
                np.float32
            )
            acc[_member(keys, self.self_keys)] = -np.inf
            km = self._distance(ii, jj)
            acc += self._decay(km)
            self._collect(ii, jj, acc, km)

    def _collect(self, i: IntArray, j: IntArray, score: F32, km: F32) -> None:
        """Add scored pairs to the pool (not the forbidden ones)."""
        status = self._status(km)
        status[~np.isfinite(score)] = 0
        keep = status > 0
        if keep.any():
            self.pool.append((i[keep], j[keep], score[keep], status[keep]))

    def _rows_fit(self, q: int) -> int:
        """Rows of a block that fit the memory budget against ``q`` receivers (a thread's
        share of it)."""
        per_row = _BYTES_PER_BLOCK_PAIR * max(1, q)
        room = (self.budget - self.fixed_bytes) // self.threads
        rows = (room - 8 * self.table.shape[0] * max(1, q)) // per_row
        if rows < 1:
            need = self.fixed_bytes + (8 * self.table.shape[0] + _BYTES_PER_BLOCK_PAIR) * q
            raise InputError(
                f"memory_budget = {self.budget} bytes is too small for top_k on this input "
                f"({self.n} × {self.m}): it needs at least about {need} bytes; raise it"
            )
        return int(rows)

    # -- passes ------------------------------------------------------------------------------
    def _best_of(self, values: F32) -> F32:
        """At least ``k`` values of distinct pairs per row, the k-th largest kept as high as
        cheaply possible: the maxima of ``4k`` interleaved column groups (``values`` as is
        when it has at most that many columns)."""
        groups = 4 * self.k
        size = values.shape[1]
        if size <= groups:
            return values
        full = size // groups * groups
        best = values[:, :full].reshape(values.shape[0], -1, groups).max(axis=1)
        if full < size:
            np.maximum(best[:, : size - full], values[:, full:], out=best[:, : size - full])
        return np.asarray(best)

    def seed_pass(self, bar: Progress) -> None:
        """Exact scores of each block against the cells within ``seed_km`` → first thresholds.

        A few rows at a time (the temporaries stay in cache). Rows: the k best of the
        maxima of ``4k`` interleaved groups of the receivers there; columns: the k best of
        the maxima of ``4k`` interleaved groups of the block's rows, merged over the blocks
        that reach them. Each is a k-th best of distinct pairs, hence a lower bound of the
        true one (up to ``ε``), and goes straight into the running top-k. The pairs that
        can still make a row's or a column's top-k are collected; the near pass skips these
        cells.
        """
        self.update_thresholds()  # the ties collected so far
        two_eps = np.float32(2.0 * self.eps)
        rows_acc, cols_acc = self._rows_acc, self._cols_acc
        groups = 4 * self.k

        def seed_block(block: int) -> None:
            cells, _ = self._near_cells(block, self.seed_km)
            cols, _ = _ranges(self.cell_start[cells], self.cell_stop[cells])
            a_all, b_all = int(self.block_start[block]), int(self.block_stop[block])
            if cols.size == 0:
                with self._lock:
                    bar.update()
                return
            # Column maxima of groups of rows (row t in group t mod groups), over the block.
            col_best = np.full((groups, cols.size), -np.inf, dtype=np.float32)
            a = self._gather_block(a_all, b_all, cols)
            self._specials_block(a_all, b_all, cols, a)
            km = np.empty_like(a)
            step = max(groups, _CHUNK_BYTES // (4 * cols.size) // groups * groups)
            for pa in range(a_all, b_all, step):
                pb = min(b_all, pa + step)
                s = a[pa - a_all : pb - a_all]
                rows = np.arange(pa, pb, dtype=np.int64)
                km[pa - a_all : pb - a_all] = self._distance(rows[:, None], cols[None, :])
                s += self._decay(km[pa - a_all : pb - a_all])
                sure = s
                if self.max_km is not None:
                    status = self._status(km[pa - a_all : pb - a_all])
                    sure = np.where(status == 1, s, np.float32(-np.inf))
                best = self._best_of(sure)
                with self._lock:
                    rows_acc.merge(rows, best)
                full = (pb - pa) // groups * groups
                if full:
                    np.maximum(col_best, sure[:full].reshape(-1, groups, cols.size).max(axis=0),
                               out=col_best)  # fmt: skip
                np.maximum(col_best[: pb - pa - full], sure[full:], out=col_best[: pb - pa - full])
            top = np.ascontiguousarray(col_best.T)
            with self._lock:
                cols_acc.merge(cols, top)
                bar.update()
            # Keep what can still make a top-k (forbidden pairs are dropped there), against
            # the floors that now include this block.
            floor_col = (cols_acc.floor[cols] - two_eps)[None, :]
            for pa in range(a_all, b_all, step):
                pb = min(b_all, pa + step)
                s = a[pa - a_all : pb - a_all]
                keep = s >= (rows_acc.floor[pa:pb] - two_eps)[:, None]
                keep |= s >= floor_col
                pos = np.flatnonzero(keep)
                r, c = np.divmod(pos, cols.size)
                self._collect(
                    r + pa,
                    cols[c],
                    s.reshape(-1)[pos],
                    km[pa - a_all : pb - a_all].reshape(-1)[pos],
                )
            self._count(seed_pairs=a.size)

        self._run(range(self.block_start.size), seed_block)
        self._merged = len(self.pool)  # all in the running top-k already
        np.maximum(self.th_row, rows_acc.kth(), out=self.th_row)
        np.maximum(self.th_col, cols_acc.kth(), out=self.th_col)

    def near_pass(self, bar: Progress) -> None:
        """Pairs within ρ (and of one street): bound, then score what can make a top-k."""
        two_eps = 2.0 * self.eps
        wd = self.w["distance"]
        n_blocks = self.block_start.size

        def near_block(block: int) -> None:
            _, in_cells = self._scratch()
            if block < n_blocks:
                cells, _ = self._near_cells(block, self.rho)
                in_cells[_ranges(self.cell_start[cells], self.cell_stop[cells])[0]] = True
                seeded, _ = self._near_cells(block, self.seed_km)  # done by the seed pass
                cells = cells[~np.isin(cells, seeded, assume_unique=True)]
                starts, stops = self.cell_start[cells], self.cell_stop[cells]
                cols, _ = _ranges(starts, stops)
                counts = stops - starts
                a_all, b_all = int(self.block_start[block]), int(self.block_stop[block])
            else:  # providers without a location: only their streets
                cells = np.zeros(0, np.int64)
                cols = counts = np.zeros(0, np.int64)
                a_all, b_all = self.n_located, self.n
            extra = self._street_extras(a_all, b_all, in_cells)
            in_cells[:] = False
            cols_all = np.concatenate([cols, extra])
            n_cells = cols.size
            touched = scored = 0
            if cols_all.size and b_all > a_all:
                thr_col = self._fixed_down(self.th_col[cols_all] - two_eps)
                step = self._rows_fit(cols_all.size)
                for pa in range(a_all, b_all, step):
                    pb = min(b_all, pa + step)
                    u = self._bound_block(pa, pb, cols_all)
                    if wd > 0:
                        if n_cells:
                            bound = self._fixed_up(self._decay_bound(pa, pb, cells))
                            u[:, :n_cells] += np.repeat(bound, counts, axis=1)
                        if extra.size:
                            located = (pa + np.arange(pb - pa) < self.n_located)[:, None] & (
                                extra < self.m_located
                            )[None, :]
                            up = self._fixed_up(np.array([wd]))[0]
                            u[:, n_cells:] += np.where(located, up, np.uint16(0))
                    thr_row = self._fixed_down(self.th_row[pa:pb] - two_eps)
                    keep = u >= thr_row[:, None]
                    keep |= u >= thr_col[None, :]
                    if extra.size:  # beyond the cells, a block scans only same-street pairs
                        keep[:, n_cells:] &= (
                            self.street_p[pa:pb, None] == self.street_r[extra][None, :]
                        )
                    pos = np.flatnonzero(keep)
                    touched += u.size
                    rows_local, c = np.divmod(pos, cols_all.size)
                    scored += pos.size
                    self._pair_scores(rows_local + pa, cols_all[c])
            with self._lock:
                bar.update()
            self._count(near_pairs=touched, near_scored=scored)

        self._run(range(n_blocks + 1), near_block)

    def _decay_bound(self, pa: int, pb: int, cells: IntArray) -> F32:
        """``w_distance · decay(lower bound of km)`` from each provider to each cell, rounded up.

        In float32: the gap between a provider and a cell's box (widened by an ulp) is within
        ``delta_km`` of the exact one, which is at most the chord, at most the arc.
        """
        gap2 = np.zeros((pb - pa, cells.size), dtype=np.float32)
        part = np.empty_like(gap2)
        for axis in range(3):
            x = self.xp[pa:pb, axis, None]
            np.subtract(self.cell_lo32[axis, cells][None, :], x, out=part)
            np.maximum(part, x - self.cell_hi32[axis, cells][None, :], out=part)
            np.maximum(part, 0, out=part)
            part *= part
            gap2 += part
        gap = np.sqrt(gap2, out=gap2)
        gap -= np.float32(self.delta_km)
        np.maximum(gap, 0, out=gap)
        gap *= np.float32(-1.0 / self.half)
        bound = np.exp2(gap, out=gap)
        bound *= np.float32(self.w["distance"] * (1 + 64 * _U32))
        bound += np.float32(4 * _U32 * (1 + self.w["distance"]))
        return bound

    def update_thresholds(self) -> None:
        """Thresholds: k-th best of the collected (distinct, surely allowed) pairs."""
        for i, j, s, status in self.pool[self._merged :]:
            sure = status == 1
            self._rows_acc.add(i[sure], s[sure])
            self._cols_acc.add(j[sure], s[sure])
        self._merged = len(self.pool)
        np.maximum(self.th_row, self._rows_acc.kth(), out=self.th_row)
        np.maximum(self.th_col, self._cols_acc.kth(), out=self.th_col)

    def far_pass(self, bar: Progress, providers: IntArray, receivers: IntArray) -> None:
        """Pairs beyond ρ: group bounds on ``A``, then exact ``A``, then scores.

        ``receivers``: every receiver (``arange(m)``) or a sorted subset.
        """
        if providers.size == 0 or receivers.size == 0:
            return
        w = self.w
        full = receivers.size == self.m
        gamma = w["distance"] * 2.0 ** (-self.rho / self.half) if self.rho > 0 else w["distance"]
        # Slack: float32 rounding of the bounds (< 64 terms) and of the scores compared.
        slack = 2.0 * self.eps + gamma + 64 * _U32 * self.span + 1e-9
        order, starts = self._groups(providers)
        n_groups = starts.size - 1
        bar.add_total(n_groups)
        stats = _GroupStats(self, order, starts)
        # Group bounds in 16-bit fixed point, rounded up (half the memory traffic of float32).
        # Every bound is at most a_span = w_need + w_offer + w_kind·max + w_district.
        a_span = w["need_met"] + w["offer_used"] + w["same_district"]
        a_span += w["kind"] * float(self.scorer._kind_table.max(initial=0.0))
        scale = 2.0 ** math.floor(math.log2(60000.0 / (a_span + 1.0)))
        up = scale * (1 + 8 * _U32)

        def fixed_up(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint16]:
            # up = scale · (1 + 2**-21) covers one rounding of the product, in float32 too.
            y: npt.NDArray[np.floating[Any]] = np.multiply(
                x, up, dtype=np.float32 if x.dtype == np.float32 else np.float64
            )
            np.ceil(y, out=y)
            return y.astype(np.uint16)

        def fixed_down(x: FloatArray) -> npt.NDArray[np.uint16]:
            return np.floor(np.clip(x, 0.0, a_span + 1.0) * scale).astype(np.uint16)

        # The bound rows of the groups: the table rows of their largest offered quantities.
        nm_index = {row: t for t, row in enumerate(sorted({r for g in stats._rows for r in g}))}
        group_rows: list[list[int]] = [
            [nm_index[row] for row in stats.rows(g)] for g in range(n_groups)
        ]
        bound_rows = [fixed_up(self.table[row] if full else self.table[row, receivers])
                      for row in nm_index]  # fmt: skip
        bound_rows.append(np.zeros(receivers.size, dtype=np.uint16))  # padding
        bound_table = np.vstack(bound_rows)
        del bound_rows
        n_rows = np.array([len(rows) for rows in group_rows], dtype=np.int64)
        rows_mat = np.full((n_groups, int(n_rows.max(initial=0))), bound_table.shape[0] - 1)
        for g, rows in enumerate(group_rows):
            rows_mat[g, : len(rows)] = rows
        limit_col = fixed_down(self.th_col[receivers] - slack)
        seg = self.segments if full else _runs(self.kinds_r[receivers], self.district_r[receivers])
        seg_len = np.diff(seg)
        seg_kind = self.kinds_r[receivers[seg[:-1]]]
        seg_district = self.district_r[receivers[seg[:-1]]]
        bonus = fixed_up(stats.bonus(self, seg_kind, seg_district))
        direct_coef = dict(self.direct_nm)
        theta_all = fixed_down(np.minimum.reduceat(self.th_row[order], starts[:-1]) - slack)

        def extra_terms(g: int) -> F32:
            """Float32 bound of the offer-used and direct terms of group ``g``."""
            extra = np.zeros(receivers.size, dtype=np.float32)
            ou_rows, ou_scale, ou_direct = stats.ou(g)
            if (ou_rows or ou_direct) and ou_scale > 0:
                for row in ou_rows:
                    extra += self.table[row] if full else self.table[row, receivers]
                for c, top in ou_direct:
                    term = np.minimum(top, self.offers_r[c, receivers])
                    extra += (self.scorer._category_w[c] * term).astype(np.float32)
                extra *= np.float32(ou_scale)
                np.minimum(extra, np.float32(w["offer_used"]), out=extra)
            for c, top in stats.direct(g):
                needs = self.needs_r[c, receivers]
                extra += (np.minimum(top, needs) * direct_coef[c][receivers]).astype(np.float32)
            return extra

        with_extra = {g for g in range(n_groups) if stats.has_extra(g)}
        # Float32 thresholds a member's bound must reach, rounded down (the slack covers it).
        low = np.float32(-np.inf)
        row_need = np.nextafter((self.th_row - slack).astype(np.float32), low)
        col_need = np.nextafter((self.th_col - slack).astype(np.float32), low)
        batch = max(1, min(_FAR_BATCH, _FAR_BATCH_BYTES // (2 * max(1, receivers.size))))
        found_i: list[IntArray] = []
        found_j: list[IntArray] = []

        def scan(first: int) -> None:
            """Bounds of a batch of groups, then their members' exact bound at the receivers
            hit.

            A batch's bounds are one ``(groups, receivers)`` uint16 matrix: the kind and
            district bonus expanded over the receiver segments, plus the fixed-point table rows
            of each group's largest quantities (groups sorted by their number of rows, so
            that the groups with more than ``e`` rows are a prefix: one gather and one
            addition per ``e``), plus the few float32 extra terms.
            """
            hits_total = expanded = 0
            gs = np.arange(first, min(n_groups, first + batch))
            gs = gs[np.argsort(-n_rows[gs], kind="stable")]
            size = gs.size
            ub = np.repeat(bonus[gs], seg_len, axis=1)
            tmp = np.empty_like(ub)
            counts = n_rows[gs]
            for e in range(int(counts.max(initial=0))):
                r = int(np.count_nonzero(counts > e))
                np.take(bound_table, rows_mat[gs[:r], e], axis=0, out=tmp[:r], mode="clip")
                ub[:r] += tmp[:r]
            for t, g in enumerate(gs.tolist()):
                if g in with_extra:
                    ub[t] += fixed_up(extra_terms(g))
            # Hit: the bound reaches the column's limit or the group's (two compares and a
            # flat nonzero are several times faster than a broadcast minimum and a 2-D
            # nonzero).
            above = ub >= limit_col[None, :]
            above |= ub >= theta_all[gs][:, None]
            rows_hit, hit = np.divmod(np.flatnonzero(above), receivers.size)
            edges = np.searchsorted(rows_hit, np.arange(size + 1))
            mine_i: list[IntArray] = []
            mine_j: list[IntArray] = []
            for t in np.flatnonzero(np.diff(edges)).tolist():
                g = int(gs[t])
                members = order[starts[g] : starts[g + 1]]
                hits_total += int(edges[t + 1] - edges[t])
                # Members × surviving receivers: exact A (+ far distance bonus) vs thresholds.
                j = receivers[hit[edges[t] : edges[t + 1]]]
                a = self._member_table(members, j, stats.used(g))
                good = a >= row_need[members][:, None]
                good |= a >= col_need[j][None, :]
                ok = np.flatnonzero(good)
                expanded += a.size
                if ok.size:
                    mi, hj = np.divmod(ok, j.size)
                    mine_i.append(members[mi])
                    mine_j.append(j[hj])
            with self._lock:
                found_i.extend(mine_i)
                found_j.extend(mine_j)
                bar.update(size)
            self._count(far_hits=hits_total, far_expanded=expanded)

        # One thread: the scan runs many small numpy calls, and two threads queue on the GIL.
        self._run(range(0, n_groups, batch), scan, threads=1)
        scored = 0
        if found_i:
            i, jj = np.concatenate(found_i), np.concatenate(found_j)
            fresh = self._fresh(i, jj)
            scored = int(fresh.sum())
            self._pair_scores(i[fresh], jj[fresh])
        self._count(far_groups=n_groups, far_scored=scored)

    def _member_table(self, members: IntArray, cols: IntArray, used: IntArray) -> F32:
        """Upper bound of ``A`` of a few providers × receivers ``cols`` (``used``: their rows).

        ``A`` in float32, as the scores are computed (its rounding is within the far pass's
        slack): a filter; the pairs it passes are scored. The used rows at those receivers are
        gathered once (``used × cols`` scattered reads of the float32 table; a half-precision
        copy halved the reads but cost more in conversions and let more pairs through); each
        slot of the members then adds whole rows of that small matrix (padded slots select the
        zero row).
        """
        index = used[:, None] * self.m + cols[None, :]
        sub = np.take(self.table.reshape(-1), index, mode="clip")
        pos = np.searchsorted(used, self.slot_row[members])
        width = int(self.slot_count[members].max(initial=0))
        weighted = int(self.weighted_from[members].min(initial=width))
        out = np.take(sub, pos[:, 0], axis=0, mode="clip")  # in range
        if weighted == 0:
            out *= self.slot_coef[members, 0, None]
        term = np.empty_like(out)
        for e in range(1, width):
            np.take(sub, pos[:, e], axis=0, out=term, mode="clip")
            if e >= weighted:
                term *= self.slot_coef[members, e, None]
            out += term
        for c, coef in self.direct_nm:
            term = np.minimum(self.offers_p[c, members, None], self.needs_r[c][cols][None, :])
            out += (term * coef[cols][None, :]).astype(np.float32)
        for c in self.direct_ou:
            term = np.minimum(self.needs_p[c, members, None], self.offers_r[c][cols][None, :])
            term *= self.scorer._category_w[c] * self.ou_scale[members, None]
            out += term.astype(np.float32)
        return out

    def _groups(self, providers: IntArray) -> tuple[IntArray, IntArray]:
        """Providers in groups of at most ``_GROUP_MAX`` alike ones: ``order``, group ``starts``.

        First by the categories they offer and whether they need anything the receivers
        offer; then each class is split at the median of its widest quantity, kind or
        district (a k-d tree) until groups are small, so that the group's largest
        quantities stay close to each member's. Providers without a threshold yet
        (``-inf``: fewer than k candidates so far) form groups of one.
        """
        nm_cats = sorted(self.nm_rows) + [c for c, _ in self.direct_nm]
        ou_cats = sorted(self.ou_rows) + list(self.direct_ou)
        lonely = ~np.isfinite(self.th_row[providers])
        parts = [self.offers_p[c, providers] > 0 for c in nm_cats] if _CLASS_SPLIT else []
        if ou_cats:
            parts.append(np.asarray((self.needs_p[ou_cats][:, providers] > 0).any(axis=0)))
        parts.append(lonely)
        bits = np.packbits(np.array(parts, dtype=bool).reshape(len(parts), -1).T, axis=1)
        _, inverse = np.unique(bits, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        sort = np.argsort(inverse, kind="stable")
        order = providers[sort]
        cuts = _runs(inverse[sort]).tolist()
        # Split features, each scaled to the bound it moves: quantities through the share of a
        # receiver's needs they can meet (about w / max), the threshold as it is.
        top_o = self.offers_p[nm_cats].max(axis=1, initial=1.0)[:, None]
        top_n = self.needs_p[ou_cats].max(axis=1, initial=1.0)[:, None]
        w = self.w
        th = np.where(np.isfinite(self.th_row), self.th_row, 0.0)
        features = np.vstack(
            [
                self.offers_p[nm_cats] * (w["need_met"] / top_o),
                self.needs_p[ou_cats] * (w["offer_used"] / top_n),
                self.kinds_p[None, :] * (w["kind"] * _KIND_SPLIT),
                self.district_p[None, :] * (w["same_district"] * _KIND_SPLIT),
                th[None, :] * _THETA_SPLIT,
            ]
        )
        out_starts: list[int] = []
        stack = [(cuts[t], cuts[t + 1]) for t in range(len(cuts) - 1)]
        while stack:
            a, b = stack.pop()
            members = order[a:b]
            if not np.isfinite(self.th_row[members[0]]):
                out_starts.extend(range(a, b))
                continue
            if b - a <= _GROUP_MAX:
                out_starts.append(a)
                continue
            f = features[:, members]
            spread = f.max(axis=1) - f.min(axis=1)
            axis = int(np.argmax(spread))
            if spread[axis] == 0:  # identical members: one group
                out_starts.append(a)
                continue
            order[a:b] = members[np.argsort(f[axis], kind="stable")]
            mid = (a + b) // 2
            stack.append((mid, b))
            stack.append((a, mid))
        starts = np.array([*sorted(out_starts), providers.size], dtype=np.int64)
        return order, starts

    def lonely_pass(self) -> None:
        """Rows and columns with fewer than k candidates so far, when ``max_km`` > ρ.

        Score every pair of theirs within ``max_km`` that the near pass did not scan: then
        all their allowed pairs are collected and the far pass can skip them.
        """
        assert self.max_km is not None
        lonely_p = ~np.isfinite(self.th_row)
        lonely_p[self.n_located :] = False
        lonely_r = ~np.isfinite(self.th_col)
        lonely_r[self.m_located :] = False
        if not (lonely_p.any() or lonely_r.any()):
            return
        for block in range(self.block_start.size):
            a, b = int(self.block_start[block]), int(self.block_stop[block])
            cells, _ = self._near_cells(block, self.max_km, reach=self._reach(self.max_km))
            cols, _ = _ranges(self.cell_start[cells], self.cell_stop[cells])
            rows = np.arange(a, b, dtype=np.int64)
            mine = rows[lonely_p[a:b]]
            theirs = cols[lonely_r[cols]]
            i = np.concatenate(
                [np.repeat(mine, cols.size), np.repeat(rows[~lonely_p[a:b]], theirs.size)]
            )
            j = np.concatenate([np.tile(cols, mine.size), np.tile(theirs, b - a - mine.size)])
            fresh = self._fresh(i, j)
            self._pair_scores(i[fresh], j[fresh])
        # Pairs with a unit without a location are never cut off.
        lost_p = np.arange(self.n_located, self.n, dtype=np.int64)
        lost_r = np.arange(self.m_located, self.m, dtype=np.int64)
        mine, theirs = np.flatnonzero(lonely_p), np.flatnonzero(lonely_r)
        i = np.concatenate([np.repeat(mine, lost_r.size), np.repeat(lost_p, theirs.size)])
        j = np.concatenate([np.tile(lost_r, mine.size), np.tile(theirs, lost_p.size)])
        fresh = self._fresh(i, j)
        self._pair_scores(i[fresh], j[fresh])
        self.done_row |= lonely_p
        self.done_col |= lonely_r
        self.stats["lonely"] = int(lonely_p.sum() + lonely_r.sum())

    def ties(self) -> None:
        """Standing ties the near pass does not scan, scored whatever their distance."""
        i, j = np.divmod(self.tie_keys, max(1, self.m))
        far = ~self._covered(i, j)
        self._pair_scores(i[far], j[far])

    # -- selection ---------------------------------------------------------------------------
    def select(self) -> Candidates:
        self.update_thresholds()
        if not self.pool:
            return Candidates(
                np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), (self.n, self.m)
            )
        i = np.concatenate([p[0] for p in self.pool])
        j = np.concatenate([p[1] for p in self.pool])
        s = np.concatenate([p[2] for p in self.pool])
        margin = 2.0 * self.eps
        vals = s.astype(np.float64)
        keep = (vals >= self.th_row[i] - margin) | (vals >= self.th_col[j] - margin)
        rows, cols = self.p_order[i[keep]], self.r_order[j[keep]]
        del i, j, s, vals, keep
        exact = np.concatenate(
            [
                self.scorer.scores(rows[t : t + _PAIR_CHUNK], cols[t : t + _PAIR_CHUNK])
                for t in range(0, rows.size, _PAIR_CHUNK)
            ]
            or [np.zeros(0)]
        )
        self.stats["rescored"] = rows.size
        return _select(rows, cols, exact, self.k, (self.n, self.m))


class _GroupStats:
    """Per group of providers: the table rows of its largest quantities, kinds, districts."""

    def __init__(self, engine: _Engine, order: IntArray, starts: IntArray) -> None:
        first = starts[:-1]
        self._starts = starts
        self._order = order
        n_groups = first.size

        def top(matrix: FloatArray) -> FloatArray:
            if matrix.shape[0] == 0 or n_groups == 0:
                return np.zeros((matrix.shape[0], n_groups))
            return np.maximum.reduceat(matrix[:, order], first, axis=1)

        nm_cats = sorted(engine.nm_rows)
        ou_cats = sorted(engine.ou_rows)
        offer_max = top(engine.offers_p[nm_cats])
        need_max = top(engine.needs_p[ou_cats])
        self._rows: list[list[int]] = [[] for _ in range(n_groups)]
        self._ou_rows: list[list[int]] = [[] for _ in range(n_groups)]
        for t, c in enumerate(nm_cats):
            values, rows = engine.nm_rows[c]
            has = np.flatnonzero(offer_max[t] > 0)
            for g, row in zip(
                has.tolist(), rows[np.searchsorted(values, offer_max[t, has])].tolist(), strict=True
            ):
                self._rows[g].append(row)
        for t, c in enumerate(ou_cats):
            values, rows = engine.ou_rows[c]
            has = np.flatnonzero(need_max[t] > 0)
            for g, row in zip(
                has.tolist(), rows[np.searchsorted(values, need_max[t, has])].tolist(), strict=True
            ):
                self._ou_rows[g].append(row)
        self._direct = {c: top(engine.offers_p[[c]])[0] for c, _ in engine.direct_nm}
        self._direct_need = {c: top(engine.needs_p[[c]])[0] for c in engine.direct_ou}
        totals = np.where(engine.total_p > 0, engine.total_p, np.inf)[order]
        least = np.minimum.reduceat(totals, first) if n_groups else np.zeros(0)
        self._ou_scale = np.where(np.isfinite(least), engine.w["offer_used"] / least, 0.0)
        # Distinct (kind, district) of each group, and the table rows its members select.
        group = np.repeat(np.arange(n_groups, dtype=np.int64), np.diff(starts))
        kd = engine.kinds_p[order] * (int(engine.district_p.max(initial=0)) + 2) + (
            engine.district_p[order] + 1
        )
        keys = np.unique(group * (int(kd.max(initial=0)) + 1) + kd)
        span = int(kd.max(initial=0)) + 1
        self._combo_ptr = np.searchsorted(keys // span, np.arange(n_groups + 1))
        combo = keys % span
        width = int(engine.district_p.max(initial=0)) + 2
        self._combo_kind = combo // width
        self._combo_district = combo % width - 1
        slots = engine.slot_row[order]
        keys = np.unique(group[:, None] * engine.table.shape[0] + slots)
        self._used_ptr = np.searchsorted(keys // engine.table.shape[0], np.arange(n_groups + 1))
        self._used = keys % engine.table.shape[0]

    def rows(self, g: int) -> list[int]:
        return self._rows[g]

    def ou(self, g: int) -> tuple[list[int], float, list[tuple[int, float]]]:
        direct = [(c, float(top[g])) for c, top in self._direct_need.items() if top[g] > 0]
        return self._ou_rows[g], float(self._ou_scale[g]), direct

    def direct(self, g: int) -> list[tuple[int, float]]:
        return [(c, float(top[g])) for c, top in self._direct.items() if top[g] > 0]

    def has_extra(self, g: int) -> bool:
        """Whether group ``g`` has offer-used rows or categories without a table."""
        return bool(self._ou_rows[g] or self._direct or self._direct_need)

    def bonus(self, engine: _Engine, seg_kind: IntArray, seg_district: IntArray) -> FloatArray:
        """Kind affinity plus same-district bonus, the largest over each group's (kind,
        district) pairs, per receiver segment: ``(groups, segments)``."""
        w = engine.w
        kind = w["kind"] * engine.scorer._kind_table[self._combo_kind[:, None], seg_kind[None, :]]
        kind += w["same_district"] * (
            (self._combo_district[:, None] == seg_district[None, :])
            & (self._combo_district[:, None] >= 0)
        )
        if kind.shape[0] == 0:
            return np.zeros((self._combo_ptr.size - 1, seg_kind.size))
        return np.asarray(np.maximum.reduceat(kind, self._combo_ptr[:-1], axis=0))

    def combos(self, g: int) -> tuple[IntArray, IntArray]:
        a, b = self._combo_ptr[g], self._combo_ptr[g + 1]
        return self._combo_kind[a:b], self._combo_district[a:b]

    def used(self, g: int) -> IntArray:
        return self._used[self._used_ptr[g] : self._used_ptr[g + 1]]


def _member(keys: IntArray, sorted_keys: IntArray) -> BoolArray:
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[pos] == keys)


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------
def top_k(
    scorer: PairScorer,
    k: int,
    *,
    memory_budget: int | None = None,
    progress: bool = False,
) -> Candidates:
    """The ``k`` best receivers of every provider and the ``k`` best providers of every receiver.

    Parameters
    ----------
    scorer : PairScorer
        The pairs to choose from (rows: providers, columns: receivers).
    k : int
        Candidates per row and per column (``>= 1``).
    memory_budget : int, optional
        Bytes of working memory besides the scorer (default
        :data:`~pbmatch.scoring.pairscore.DEFAULT_MEMORY_BUDGET`, 1 GiB); it sets the block
        size. The ``n × m`` matrix is never formed.
    progress : bool, default False
        Show a progress bar on stderr (``tqdm`` if installed).

    Returns
    -------
    Candidates
        Row ``i`` contributes its ``min(k, #finite)`` highest-scoring pairs, column ``j``
        likewise; equal scores are broken by the lower index. Scores are the float64 scores
        of :meth:`PairScorer.scores` (``-inf`` pairs never appear), so they equal
        ``scorer.breakdown(rows, cols)["score"]``.

    Raises
    ------
    InputError
        If ``k`` is not an int ``>= 1`` or ``memory_budget`` is too small to hold the
        encoded receivers and one row of a block.

    See Also
    --------
    top_k_dense : the same on a dense matrix (the plain definition).

    Notes
    -----
    Exact: the same pairs and scores as ``top_k_dense(scorer.dense(), k)`` when the dense
    scores are exact (whole-number or binary-fraction quantities and category weights);
    otherwise equal to the top-k of the float64 scores of :meth:`PairScorer.scores`. See the
    module docstring for the algorithm. Work grows with the pairs within the near radius
    (a few thousand per provider; with ``max_km`` up to a few near radii, every pair within
    ``max_km``) plus, without such a ``max_km``, one pass over the receivers per group of
    providers offering the same categories. On a 2-core machine, top-16 of 50,000 ×
    50,000 units of :func:`~pbmatch.datasets.synthetic_city` take about 8.5 s and 0.4 GB
    besides the graph, 6.4 s with ``max_km=10`` (``benchmarks/bench_candidates.py``, other
    processes using about two cores). Up to two threads; deterministic (the result does not
    depend on them).

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> from pbmatch.scoring.pairscore import PairScorer
    >>> g = pbmatch.synthetic_city(n_providers=300, n_receivers=300, n_districts=2)
    >>> receiver = np.isin(g.kind_names, ["community", "village"])
    >>> s = PairScorer(g, np.flatnonzero(~receiver), np.flatnonzero(receiver))
    >>> c = top_k(s, 4)
    >>> ref = top_k_dense(s.dense(), 4)
    >>> bool((c.rows == ref.rows).all() and (c.cols == ref.cols).all())
    True
    >>> bool(np.bincount(c.rows).min() >= 4), bool(np.bincount(c.cols).min() >= 4)
    (True, True)
    """
    from pbmatch.scoring.pairscore import _budget

    k = _check_k(k)
    budget = _budget(memory_budget)
    n, m = scorer.shape
    if n == 0 or m == 0:
        return Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), (n, m))
    if n * m <= _DENSE_PAIRS or min(n, m) <= k:
        return _top_k_blocks(scorer, k, budget)
    return _top_k_pruned(scorer, k, budget, progress)


def _top_k_blocks(scorer: PairScorer, k: int, budget: int) -> Candidates:
    """Plain top-k from dense row blocks (small inputs); the columns keep k per block."""
    n, m = scorer.shape
    step = max(1, min(n, budget // max(1, 48 * m)))
    parts: list[tuple[IntArray, IntArray, FloatArray]] = []
    for start in range(0, n, step):
        block = scorer.block(start, min(n, start + step))
        rows, cols = np.nonzero(np.isfinite(block))
        vals = block[rows, cols]
        rows = rows.astype(np.int64)
        cols = cols.astype(np.int64)
        # Keep the block's candidates for its rows (k each) and for the columns (k each).
        rank, n_rank = _descending_rank(vals)
        keep = _top_mask(cols, rank, n_rank, rows, k) | _top_mask(rows, rank, n_rank, cols, k)
        parts.append((rows[keep] + start, cols[keep], vals[keep]))
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    return _select(rows, cols, vals, k, (n, m))


def _top_k_pruned(
    scorer: PairScorer, k: int, budget: int, progress: bool, stats: dict[str, float] | None = None
) -> Candidates:
    """The pruned algorithm of the module docstring (any size)."""
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        engine.stats[f"time_{name}"] = now - clock[0]
        engine.stats[f"cpu_{name}"] = cpu - clock[1]
        clock[:] = [now, cpu]

    engine = _Engine(scorer, k, budget, progress)
    lap("setup")
    n_blocks = engine.block_start.size
    with Progress(2 * n_blocks + 1, "top-k candidates", enabled=progress) as bar:
        engine.ties()
        lap("ties")
        engine.seed_pass(bar)
        lap("seed")
        engine.near_pass(bar)
        lap("near")
        engine.update_thresholds()
        lap("thresholds")
        everything_near = engine.max_km is not None and engine.max_km <= engine.rho
        if engine.max_km is not None and not everything_near:
            engine.lonely_pass()
        all_p = np.flatnonzero(~engine.done_row).astype(np.int64)
        all_r = np.arange(engine.m, dtype=np.int64)
        if not everything_near:
            engine.far_pass(bar, all_p, all_r)
        else:  # only pairs with an unlocated unit can lie beyond the near pass
            lost_p = np.arange(engine.n_located, engine.n, dtype=np.int64)
            lost_r = np.arange(engine.m_located, engine.m, dtype=np.int64)
            engine.far_pass(bar, lost_p, all_r)
            engine.far_pass(bar, all_p[all_p < engine.n_located], lost_r)
        lap("far")
        result = engine.select()
        lap("select")
    if stats is not None:
        stats.update(engine.stats)
        stats.update(rho=engine.rho, eps=engine.eps, cell_km=engine.cell_km)
    return result
