"""Exchange (交换机制): disjoint giving cycles A → B → C → A, each unit giving what the next needs.

Encode → solve → decode, as every problem:

1. *can give*: unit ``a`` can give to ``b`` when ``a`` offers some category that ``b`` needs;
   the quantity of the arc is ``complementarity(offers, needs)[a, b]`` (the scoring core),
   ``sum_c min(offers[a, c], needs[b, c])``;
2. *reduce*: a cycle lies inside one strongly connected component of the can-give graph, so
   arcs between components and units alone in theirs are dropped;
3. *enumerate*: every cycle of length 2 .. ``max_length`` exactly once, starting at its
   smallest index, by growing paths whose later nodes all have larger indices (vectorised over
   the CSR arrays of the can-give graph);
4. *solve*: per component, a weighted set packing over its cycles, each unit in at most one.
   Components with swaps only (2-cycles) are a maximum matching of the mutual can-give graph
   (:func:`pbmatch.match_general`, exact blossom); small packings go to
   :func:`pbmatch.solvers.cpsat.solve_set_packing`; large ones (10^5 cycles) are reduced by the
   duals of their LP relaxation, tightened by subset-row cuts, and solved by CP-SAT over the
   few thousand cycles that can still be in an optimum (:func:`_reduced_packing`);
5. *decode*: cycles as tuples of unit ids in giving order, each arc with what it gives.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pbmatch._status import FEASIBLE, INFEASIBLE, OPTIMAL, Status
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.graph import RegionGraph
from pbmatch.results import ExchangeResult
from pbmatch.scoring.complementarity import complementarity
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.cpsat import (
    CpsatSolution,
    PackingSolution,
    dominating_weights,
    relative_gap,
    solve_model,
    solve_set_packing,
)
from pbmatch.solvers.scaling import choose_scale, count_merged

__all__ = [
    "LP_MIN_COLUMNS",
    "MAX_PATHS",
    "PACKING_PARAMETERS",
    "CycleSet",
    "can_give",
    "enumerate_cycles",
    "exchange_cycles",
    "strong_components",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MAX_PATHS = 50_000_000
"""Most paths the enumeration may hold at once (about 1 GB); more raises ``InputError``."""
_QUANTITY_SCALE_CAP = 2.0**10
"""Fractional quantities are rounded to 1/1024 for the solver (exact ones are used as is)."""


@dataclass(frozen=True, eq=False)
class CycleSet:
    """Cycles of a directed graph on ``0 .. n - 1``, each once.

    Attributes
    ----------
    nodes : ndarray of int64, shape (k, max_length)
        Nodes in giving order, starting at the cycle's smallest node; ``-1`` pads short ones.
    lengths : ndarray of int64, shape (k,)
    """

    nodes: IntArray
    lengths: IntArray

    def __len__(self) -> int:
        return int(self.lengths.size)

    def csr(self) -> tuple[IntArray, IntArray]:
        """Column → nodes CSR arrays (``indptr``, ``indices``) for a set packing."""
        indptr = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=indptr[1:])
        indices = self.nodes[self.nodes >= 0]  # row-major: each cycle's nodes in order
        return indptr, indices.astype(np.int64)

    def arcs(self) -> tuple[IntArray, IntArray, IntArray]:
        """``(cycle, tail, head)`` of every arc, in cycle then giving order."""
        width = self.nodes.shape[1]
        pos = np.arange(width)
        valid = pos[None, :] < self.lengths[:, None]
        nxt = np.where(pos[None, :] + 1 < self.lengths[:, None], pos[None, :] + 1, 0)
        heads = np.take_along_axis(self.nodes, nxt, axis=1)
        cycle = np.broadcast_to(np.arange(len(self))[:, None], self.nodes.shape)
        return (
            cycle[valid].astype(np.int64),
            self.nodes[valid].astype(np.int64),
            heads[valid].astype(np.int64),
        )


def _expand(indptr: IntArray, indices: IntArray, last: IntArray) -> tuple[IntArray, IntArray]:
    """For each path end in ``last``: (path index, out-neighbour) of every out-arc."""
    counts = indptr[last + 1] - indptr[last]
    total = int(counts.sum())
    if total > MAX_PATHS:
        raise InputError(
            f"max_length: enumerating the exchange cycles needs more than {MAX_PATHS:,} paths; "
            "lower max_length, set max_km, or pass fewer units"
        )
    path = np.repeat(np.arange(last.size, dtype=np.int64), counts)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return path, indices[np.repeat(indptr[last], counts) + offset]


def enumerate_cycles(adjacency: BoolArray, max_length: int) -> CycleSet:
    """Every directed cycle of length 2 .. ``max_length`` in a boolean adjacency matrix, once.

    Parameters
    ----------
    adjacency : ndarray of bool, shape (n, n)
        ``adjacency[a, b]``: an arc a → b. The diagonal is ignored.
    max_length : int
        ``>= 2``.

    Returns
    -------
    CycleSet
        Sorted by length, then lexicographically by nodes.

    Notes
    -----
    A cycle is found once, from its smallest node ``a``: paths ``a → v1 → … → vk`` with every
    ``vi > a`` and distinct are grown one arc at a time over all paths at once; a path closes
    when its end has an arc back to ``a``. Time and memory are linear in the number of such
    paths (the last step keeps only closing ones); more than :data:`MAX_PATHS` raises
    ``InputError``.

    Examples
    --------
    >>> import numpy as np
    >>> adj = np.array([[0, 1, 1], [1, 0, 1], [1, 0, 0]], dtype=bool)
    >>> cycles = enumerate_cycles(adj, 3)
    >>> cycles.nodes.tolist(), cycles.lengths.tolist()
    ([[0, 1, -1], [0, 2, -1], [0, 1, 2]], [2, 2, 3])
    """
    n = adjacency.shape[0]
    adj = adjacency.astype(bool, copy=True)
    np.fill_diagonal(adj, False)
    tails, heads = np.nonzero(adj)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n), out=indptr[1:])
    indices = heads.astype(np.int64)
    found_nodes: list[IntArray] = []
    found_len: list[IntArray] = []
    # Paths of one arc a -> b with b > a.
    up = heads > tails
    paths = np.stack([tails[up], heads[up]], axis=1).astype(np.int64)
    for length in range(2, max_length + 1):
        if paths.shape[0] == 0:
            break
        if length > 2:
            which, nxt = _expand(indptr, indices, paths[:, -1])
            start = paths[which, 0]
            ok = nxt > start
            for col in range(1, paths.shape[1]):
                ok &= nxt != paths[which, col]
            if length == max_length:  # only closing paths matter at the last step
                ok &= adj[nxt, start]
            paths = np.concatenate([paths[which[ok]], nxt[ok, None]], axis=1)
        closing = adj[paths[:, -1], paths[:, 0]]
        if closing.any():
            block = np.full((int(closing.sum()), max_length), -1, dtype=np.int64)
            block[:, :length] = paths[closing]
            found_nodes.append(block)
            found_len.append(np.full(block.shape[0], length, dtype=np.int64))
    if not found_nodes:
        return CycleSet(np.zeros((0, max_length), dtype=np.int64), np.zeros(0, dtype=np.int64))
    nodes = np.concatenate(found_nodes)
    lengths = np.concatenate(found_len)
    order = np.lexsort((*nodes.T[::-1], lengths))
    return CycleSet(nodes[order], lengths[order])


def can_give(
    graph: RegionGraph, units: IntArray, max_km: float | None = None
) -> tuple[BoolArray, FloatArray]:
    """The can-give matrix of ``units`` and the quantity of each arc.

    Returns
    -------
    adjacency : ndarray of bool, shape (m, m)
        ``[i, j]``: unit ``units[i]`` offers a category ``units[j]`` needs (and, with
        ``max_km``, the two are at most that far apart); never ``i == j``.
    quantity : ndarray of float, shape (m, m)
        ``sum_c min(offers[i, c], needs[j, c])`` (the complementarity score).
    """
    quantity = np.asarray(
        complementarity(graph.offers[units], graph.needs[units]), dtype=np.float64
    )
    adjacency = quantity > 0
    np.fill_diagonal(adjacency, False)
    if max_km is not None:
        lat, lon = graph.lat[units], graph.lon[units]
        km = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        adjacency &= km <= max_km  # NaN (unknown location) compares False
    return adjacency, quantity


def _prune(adjacency: BoolArray) -> IntArray:
    """Indices of the nodes left after repeatedly removing nodes without in- or out-arcs."""
    keep = np.arange(adjacency.shape[0], dtype=np.int64)
    sub = adjacency
    while keep.size:
        alive = sub.any(axis=1) & sub.any(axis=0)
        if alive.all():
            break
        keep = keep[alive]
        sub = sub[np.ix_(alive, alive)]
    return keep


def strong_components(adjacency: BoolArray) -> IntArray:
    """The strongly connected component of every node (labels ``0, 1, …`` by smallest node).

    A cycle lies inside one strongly connected component, so arcs between components and
    nodes alone in theirs (no cycle through them) can be dropped, and each component is an
    independent exchange problem. Uses :mod:`scipy.sparse.csgraph` when scipy is installed
    (linear time), else networkx.

    Examples
    --------
    >>> import numpy as np
    >>> adj = np.zeros((4, 4), dtype=bool)
    >>> adj[0, 1] = adj[1, 0] = adj[1, 2] = adj[2, 3] = adj[3, 2] = True
    >>> strong_components(adj).tolist()
    [0, 0, 1, 1]
    """
    n = adjacency.shape[0]
    try:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components
    except ImportError:  # pragma: no cover - scipy is in the test environment
        import networkx as nx

        digraph = nx.DiGraph()
        digraph.add_nodes_from(range(n))
        tails, heads = np.nonzero(adjacency)
        digraph.add_edges_from(zip(tails.tolist(), heads.tolist(), strict=True))
        raw = np.empty(n, dtype=np.int64)
        for k, component in enumerate(nx.strongly_connected_components(digraph)):
            raw[sorted(component)] = k
    else:
        raw = connected_components(csr_matrix(adjacency), directed=True, connection="strong")[1]
    # Renumber by each component's smallest node, so the labels do not depend on the library.
    first = np.full(int(raw.max(initial=-1)) + 1, n, dtype=np.int64)
    np.minimum.at(first, raw, np.arange(n, dtype=np.int64))
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size, dtype=np.int64)
    return rank[raw].astype(np.int64)


def _units_iv(graph: RegionGraph, units: Sequence[str] | None) -> IntArray:
    if units is None:
        return np.arange(len(graph), dtype=np.int64)
    if isinstance(units, str):
        raise InputError(f"units: got the string {units!r}; pass a list of unit ids")
    idx = np.array([graph.index(u) for u in units], dtype=np.int64)
    if np.unique(idx).size != idx.size:
        raise InputError("units: lists a unit more than once; list each unit id once")
    return np.sort(idx)


def _check_args(max_length: object, max_km: object, time_limit: object) -> int:
    if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)):
        raise InputError(f"max_length is {max_length!r}; it must be an int >= 2")
    if max_length < 2:
        raise InputError(f"max_length is {max_length}; a cycle has at least 2 units (>= 2)")
    for name, value in (("max_km", max_km), ("time_limit", time_limit)):
        if value is None:
            continue
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        )
        if not ok or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
            raise InputError(f"{name} is {value!r}; it must be a number > 0 or None")
    return int(max_length)


def _quantity_scale(arc_q: FloatArray, span: float, n: int) -> tuple[float, float | None]:
    """Scale for the arc quantities: 1 when whole numbers, else a power of two <= 1024."""
    integral = bool(np.array_equal(np.rint(arc_q), arc_q))
    # Level spans: units (<= n) and quantity; the combined objective must fit in 2**52.
    max_cost = max(1, (1 << 52) // (n + 2) - 1)
    if integral and span <= max_cost:
        return 1.0, None
    scale = min(choose_scale(span, integral=False, max_cost=max_cost), _QUANTITY_SCALE_CAP)
    return scale, 1.0 / scale


# ---------------------------------------------------------------------------------------------
# Solving: pairwise swaps by matching, larger packings by LP duals and CP-SAT
# ---------------------------------------------------------------------------------------------
LP_MIN_COLUMNS = 2000
"""Components with more cycles than this are reduced by LP duals before CP-SAT (smaller ones go
to :func:`pbmatch.solvers.cpsat.solve_set_packing` whole)."""
_CUT_ROUNDS = 4
_CUTS_PER_ROUND = 60
_CG_BATCH = 300
_CG_START = 2
_RC_SCALE = 2**20
_GLOP_OPTIMAL = 0
PACKING_PARAMETERS: dict[str, object] = {}
"""CP-SAT parameters of the reduced exchange models (besides 1 worker, seed 0 and
``linearization_level=2``)."""


@dataclass(frozen=True, eq=False)
class _Solved:
    chosen: BoolArray  # per cycle
    status: Status
    bound_units: int  # proven upper bound on the units in cycles
    message: str
    extra: dict[str, object]


@dataclass(frozen=True, eq=False)
class _Dual:
    """One dual solution of the packing LP, as a proof: every packing ``P`` satisfies
    ``w(P) + sum(slack[j] for j in P) <= bound``, with float rounding inside ``bound``."""

    bound: float
    slack: FloatArray  # per column, >= 0: max(0, -reduced cost)


class _PackingLP:
    """The LP relaxation of a weighted set packing, by column generation with GLOP, tightened
    by subset-row cuts on triples of elements.

    Columns are the rows of ``nodes`` (elements ``0 .. n - 1``, padded with ``n``). The cut of
    a triple ``T``, ``sum(x[j] for j meeting T in two or more elements) <= 1``, holds for every
    packing (disjoint columns share at most three elements of ``T`` between them, so at most
    one column meets it twice); the column-level formulation alone leaves it violated by the
    fractional triangles of kidney-exchange LPs (three 2-cycles ``ab``, ``bc``, ``ca`` at 1/2).
    """

    def __init__(self, nodes: IntArray, weights: IntArray, n: int) -> None:
        from ortools.linear_solver import pywraplp

        self.nodes, self.n = nodes, n
        self.w = weights.astype(np.float64)
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        inf = self.solver.infinity()
        self.rows = [self.solver.Constraint(-inf, 1.0) for _ in range(n)]
        self.objective = self.solver.Objective()
        self.objective.SetMaximization()
        self.vars: dict[int, object] = {}
        self.cuts: list[IntArray] = []  # columns of each cut
        self.cut_rows: list[object] = []
        self.cuts_of: dict[int, list[int]] = {}  # column -> its cuts
        self.cut_keys: set[tuple[int, int, int]] = set()
        self._pairs: tuple[IntArray, IntArray] | None = None
        self.rounds = 0

    def add_columns(self, columns: IntArray) -> None:
        for j in columns.tolist():
            var = self.solver.NumVar(0.0, self.solver.infinity(), "")
            self.objective.SetCoefficient(var, float(self.w[j]))
            for e in self.nodes[j].tolist():
                if e < self.n:
                    self.rows[e].SetCoefficient(var, 1.0)
            for c in self.cuts_of.get(j, ()):
                self.cut_rows[c].SetCoefficient(var, 1.0)  # type: ignore[attr-defined]
            self.vars[j] = var

    def _pair_index(self) -> tuple[IntArray, IntArray]:
        """Every pair of elements of every column, as sorted keys ``a * n + b`` (a < b)."""
        if self._pairs is None:
            width = self.nodes.shape[1]
            keys, cols = [], []
            for p in range(width):
                for q in range(p + 1, width):
                    a, b = self.nodes[:, p], self.nodes[:, q]
                    ok = b < self.n
                    lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
                    keys.append(lo * self.n + hi)
                    cols.append(np.flatnonzero(ok))
            key, col = np.concatenate(keys), np.concatenate(cols)
            order = np.argsort(key, kind="stable")
            self._pairs = (key[order], col[order])
        return self._pairs

    def add_cut(self, triple: tuple[int, int, int]) -> None:
        key, col = self._pair_index()
        a, b, c = triple
        wanted = np.array([a * self.n + b, a * self.n + c, b * self.n + c], dtype=np.int64)
        lo, hi = np.searchsorted(key, wanted), np.searchsorted(key, wanted, side="right")
        members = np.unique(np.concatenate([col[i:j] for i, j in zip(lo, hi, strict=True)]))
        index = len(self.cuts)
        row = self.solver.Constraint(-self.solver.infinity(), 1.0)
        for j in members.tolist():
            self.cuts_of.setdefault(j, []).append(index)
            var = self.vars.get(j)
            if var is not None:
                row.SetCoefficient(var, 1.0)
        self.cuts.append(members)
        self.cut_rows.append(row)
        self.cut_keys.add(triple)

    def duals(self) -> tuple[FloatArray, FloatArray]:
        pi = np.array([r.dual_value() for r in self.rows], dtype=np.float64)
        mu = np.array([r.dual_value() for r in self.cut_rows], dtype=np.float64)  # type: ignore[attr-defined]
        return np.maximum(pi, 0.0), np.maximum(mu, 0.0)

    def price(self, pi: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(reduced cost, price) of every column."""
        price = np.append(pi, 0.0)[self.nodes].sum(axis=1)
        for members, m in zip(self.cuts, mu.tolist(), strict=True):
            if m > 0:
                price[members] += m
        return self.w - price, price

    def solve(self) -> tuple[str, _Dual | None]:
        """Column generation to the LP optimum over every column; its dual as a proof."""
        k = self.w.size
        tol = 1e-9 * max(1.0, float(self.w.max(initial=0.0)))
        name = "NOT_SOLVED"
        while True:
            self.rounds += 1
            code = self.solver.Solve()
            name = {0: "OPTIMAL", 1: "FEASIBLE", 2: "INFEASIBLE", 3: "UNBOUNDED"}.get(
                code, "ABNORMAL"
            )
            if code != _GLOP_OPTIMAL:
                return name, None
            pi, mu = self.duals()
            rc, price = self.price(pi, mu)
            in_lp = np.zeros(k, dtype=bool)
            in_lp[list(self.vars)] = True
            new = np.flatnonzero((rc > tol) & ~in_lp)
            if new.size == 0:
                break
            if new.size > _CG_BATCH:
                new = np.sort(new[np.argsort(-rc[new], kind="stable")[:_CG_BATCH]])
            self.add_columns(new)
        value = math.fsum(pi.tolist()) + math.fsum(mu.tolist())
        value += math.fsum(np.maximum(rc, 0.0).tolist())
        # Rounding of rc, of the sums and of pi: far below 2**-38 of the magnitudes involved.
        scale = float(np.abs(self.w).sum()) + float(np.abs(price).sum())
        margin = 2.0**-38 * (scale + float(pi.sum()) + float(mu.sum()) + 1.0)
        return name, _Dual(value + margin, np.maximum(-rc, 0.0))

    def violated_triples(self) -> list[tuple[int, int, int]]:
        """Triples whose subset-row cut the current LP solution violates, most violated first."""
        cols = np.fromiter(self.vars, dtype=np.int64, count=len(self.vars))
        x = np.array([self.vars[j].solution_value() for j in cols.tolist()])  # type: ignore[attr-defined]
        keep = x > 1e-9
        cols, x = cols[keep], x[keep]
        nodes = self.nodes[cols]
        # An element covered by a whole column is in no violated triple: use the others.
        elements = np.unique(nodes[x < 1 - 1e-9])
        elements = elements[elements < self.n]
        if elements.size < 3:
            return []
        local = np.full(self.n + 1, -1, dtype=np.int64)
        local[elements] = np.arange(elements.size)
        m = elements.size
        pair = np.zeros((m + 1, m + 1))  # x covering both elements of each pair (index m: other)
        width = nodes.shape[1]
        loc = np.where(nodes < self.n, local[nodes], -1)
        loc = np.where(loc >= 0, loc, m)
        for p in range(width):
            for q in range(p + 1, width):
                np.add.at(pair, (loc[:, p], loc[:, q]), x)
                np.add.at(pair, (loc[:, q], loc[:, p]), x)
        pair = pair[:m, :m]
        # x of columns holding all three elements of a triple, counted three times above.
        triples: dict[tuple[int, ...], float] = {}
        for row, value in zip(loc.tolist(), x.tolist(), strict=True):
            inside = sorted(v for v in row if v < m)
            for three in itertools.combinations(inside, 3):
                triples[three] = triples.get(three, 0.0) + value
        # A violated triple has two pairs of positive x (each pair is at most 1): enumerate it
        # from the element in both, over that element's neighbours.
        found: dict[tuple[int, int, int], float] = {}
        for a in range(m):
            near = np.flatnonzero(pair[a] > 1e-9)
            if near.size < 2:
                continue
            total = pair[a, near][:, None] + pair[a, near][None, :] + pair[np.ix_(near, near)]
            for i, j in zip(*np.nonzero(np.triu(total > 1 + 1e-6, 1)), strict=True):
                b, c = int(near[i]), int(near[j])
                lo, mid, hi = sorted((a, b, c))
                value = float(total[i, j]) - 2 * triples.get((lo, mid, hi), 0.0)
                key = (int(elements[lo]), int(elements[mid]), int(elements[hi]))
                if value > 1 + 1e-6 and key not in self.cut_keys:
                    found[key] = value
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        return [t for t, _ in ranked[:_CUTS_PER_ROUND]]


def _packing_duals(nodes: IntArray, weights: IntArray, n: int) -> tuple[list[_Dual], str]:
    """Dual proofs of the packing LP: the plain LP's, then one per round of triple cuts."""
    lp = _PackingLP(nodes, weights, n)
    # Start from each element's best few columns by weight.
    k = weights.size
    flat = nodes.ravel()
    col = np.repeat(np.arange(k, dtype=np.int64), nodes.shape[1])
    ok = flat < n
    flat, col = flat[ok], col[ok]
    order = np.lexsort((-weights[col], flat))
    first = np.searchsorted(flat[order], np.arange(n))
    rank = np.arange(order.size) - np.repeat(first, np.bincount(flat, minlength=n))
    lp.add_columns(np.unique(col[order][rank < _CG_START]))
    duals: list[_Dual] = []
    name, dual = lp.solve()
    if dual is not None:
        duals.append(dual)
    cuts = 0
    for _ in range(_CUT_ROUNDS):
        if dual is None:
            break
        triples = lp.violated_triples()
        if not triples:
            break
        for t in triples:
            lp.add_cut(t)
        cuts += len(triples)
        name, dual = lp.solve()
        if dual is None:
            break
        if dual.bound > min(d.bound for d in duals) - 1e-3:
            duals.append(dual)
            break  # the cuts no longer move the bound
        duals.append(dual)
    message = f"GLOP status {name} ({lp.rounds} rounds, {cuts} triple cuts, LP bound "
    message += f"{min(d.bound for d in duals):.10g})" if duals else "none)"
    return duals, message


def _cpsat_packing(
    nodes: IntArray,
    weights: IntArray,
    n: int,
    columns: IntArray,
    duals: list[_Dual],
    *,
    accept: int,
    upper: int,
    min_elements: int,
    hint: IntArray,
    time_limit: float | None,
) -> tuple[CpsatSolution, IntArray]:
    """CP-SAT over ``columns``: the best packing worth ``accept .. upper``.

    One Boolean per column; an exactly-one per element when ``min_elements >= n`` (else an
    at-most-one and, when positive, a count); the objective's domain ``[accept, upper]`` (so the
    search stops at a packing worth the proven bound); and per dual the reduced-cost row
    ``sum(slack[j] * x[j]) <= bound - accept`` (coefficients rounded down to multiples of
    ``2**-20``, the right side down), which every packing worth ``accept`` or more satisfies.
    Those rows let the search discard a partial packing whose reduced costs already exceed the
    gap, which CP-SAT's own LP sees only at its relaxation's optimum (and without the cuts).
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(columns.size)]
    sub = nodes[columns]
    width = sub.shape[1]
    element = sub.ravel()
    owner = np.repeat(np.arange(columns.size, dtype=np.int64), width)
    ok = element < n
    element, owner = element[ok], owner[ok]
    order = np.argsort(element, kind="stable")
    element, owner = element[order], owner[order]
    cuts = np.searchsorted(element, np.arange(n + 1))
    cover = min_elements >= n
    for e in range(n):
        lits = [x[i] for i in owner[cuts[e] : cuts[e + 1]].tolist()]
        if cover:
            model.add_exactly_one(lits)
        elif len(lits) > 1:
            model.add_at_most_one(lits)
    if 0 < min_elements < n:
        sizes = (sub < n).sum(axis=1)
        model.add(cp_model.LinearExpr.weighted_sum(x, sizes.tolist()) >= min_elements)
    for dual in duals:
        coeffs = np.floor(dual.slack[columns] * _RC_SCALE).astype(np.int64)
        rhs = math.floor((dual.bound - accept) * _RC_SCALE)
        used = np.flatnonzero(coeffs > 0)
        if used.size and int(coeffs[used].sum()) > rhs:
            lits = [x[i] for i in used.tolist()]
            model.add(cp_model.LinearExpr.weighted_sum(lits, coeffs[used].tolist()) <= rhs)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, weights[columns].tolist()))
    model.proto.objective.domain.extend([-int(upper), -int(accept)])  # CP-SAT minimises -w.x
    for i in np.flatnonzero(np.isin(columns, hint)).tolist():
        model.add_hint(x[i], True)
    out = solve_model(
        model, time_limit=time_limit, linearization_level=2, parameters=PACKING_PARAMETERS
    )
    chosen = columns[out.values[: columns.size] > 0] if out.success else columns[:0]
    return out, chosen


def _greedy(nodes: IntArray, weights: IntArray, n: int, order: IntArray) -> IntArray:
    """A packing: columns in ``order``, each taken when its elements are still free."""
    free = np.ones(n + 1, dtype=bool)
    taken: list[int] = []
    for j in order.tolist():
        row = nodes[j]
        if free[row[row < n]].all():
            free[row[row < n]] = False
            taken.append(j)
    return np.sort(np.asarray(taken, dtype=np.int64))


def _reduced_packing(
    nodes: IntArray,
    weights: IntArray,
    n: int,
    element_weight: tuple[int, int],
    time_limit: float | None,
) -> PackingSolution:
    """Weighted set packing of many columns, exactly: LP duals, reduced costs, CP-SAT.

    Every dual ``(bound, slack)`` proves ``w(P) + sum(slack over P) <= bound``; so a packing
    worth ``t`` or more uses only the columns with ``slack <= bound - t`` under every dual,
    ``C(t)``, usually a few hundred to a few thousand of 10^5. With ``upper`` the proven bound
    and ``t`` a target, CP-SAT finds the best packing in ``C(t)`` worth ``accept = t - 1``
    (or more than the incumbent) up to ``upper``: found, it is optimal over every column
    (those outside ``C(t)`` give at most ``t - 1``); infeasible proves the optimum below
    ``t`` (below the incumbent plus one) and the next target is lower, at doubling steps.
    The duals are the plain LP's and those after each round of triple cuts (see
    :class:`_PackingLP`); all of them filter the columns and bound the search.
    """
    started = time.perf_counter()
    deadline = None if time_limit is None else started + float(time_limit)
    per, rest = element_weight
    duals, message = _packing_duals(nodes, weights, n)
    k = weights.size
    if not duals:  # the LP failed: the trivial bound, and CP-SAT on every column
        duals = [_Dual(float(weights.clip(min=0).sum()) + 0.5, np.zeros(k))]
    upper = min(math.floor(d.bound) for d in duals)
    z, best = -1, np.zeros(0, dtype=np.int64)
    status: Status = FEASIBLE
    solved: list[int] = []
    step, target = 1, upper
    while True:
        if z >= upper:
            status = OPTIMAL
            break
        target = max(target, z + 1)
        accept = max(target - 1, z + 1)
        keep = np.ones(k, dtype=bool)
        for dual in duals:
            keep &= dual.slack <= dual.bound - target
        columns = np.flatnonzero(keep)
        need = max(0, -((rest - accept) // per))  # ceil((accept - rest) / per) elements
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
        out, chosen = _cpsat_packing(
            nodes, weights, n, columns, duals, accept=accept, upper=upper,
            min_elements=need, hint=best, time_limit=remaining,
        )  # fmt: skip
        solved.append(int(columns.size))
        message += "; " + out.message(f"CP-SAT for {accept}..{upper} on {columns.size} columns:")
        if out.success:
            best, z = chosen, out.objective
            if out.status == OPTIMAL:  # the best in C(target); the rest is < target <= z + 1
                upper = z
                status = OPTIMAL
            else:  # time limit
                upper = min(upper, max(out.bound, target - 1))
            break
        if out.status == INFEASIBLE:
            upper = min(upper, max(accept - 1, target - 1))
            target = upper - step + 1
            step *= 2
            continue
        break  # time limit before an answer
    if z < 0:  # no packing found in time: a greedy one, by slack under the first dual
        best = _greedy(nodes, weights, n, np.lexsort((-weights, duals[0].slack)))
        z = int(weights[best].sum())
        status = FEASIBLE
    chosen_all = np.zeros(k, dtype=bool)
    chosen_all[best] = True
    extra: dict[str, object] = {
        "columns": k,
        "lp_bound": min(d.bound for d in duals),
        "lp_duals": len(duals),
        "solved_columns": solved,
    }
    return PackingSolution(
        chosen_all, status, z, max(upper, z), message, time.perf_counter() - started, extra
    )


def _swap_matching(
    cycles: CycleSet, columns: IntArray, cycle_q: IntArray, w_units: int, w_q: int
) -> tuple[BoolArray, Status, str] | None:
    """The 2-cycles ``columns`` as a maximum matching of most weight (``None``: not exact).

    With only pairwise swaps the packing is a matching on the mutual can-give graph: the most
    pairs (two units each), then the most quantity, which is
    :func:`pbmatch.match_general` with ``maxcardinality=True`` and the pair quantities as
    weights (whole numbers: exact).
    """
    from pbmatch.general import match_general

    pairs = cycles.nodes[columns, :2]
    weights = cycle_q[columns]  # both arcs' quantities, as integers
    edges = list(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist(), weights.tolist(), strict=True))
    result = match_general(edges, maxcardinality=True)
    if result.resolution is not None or result.status not in (OPTIMAL, FEASIBLE):
        return None
    chosen = np.zeros(len(cycles), dtype=bool)
    chosen[columns[np.asarray(result.edge_index, dtype=np.int64)]] = True
    value = w_units * 2 * len(result.pairs) + w_q * int(weights[result.edge_index].sum())
    message = f"matching of {len(result.pairs)} swaps, weight {value} ({result.message})"
    return chosen, result.status, message


def _solve_components(
    cycles: CycleSet,
    weights: IntArray,
    cycle_q: IntArray,
    label: IntArray,
    w_units: int,
    w_q: int,
    rest: IntArray,
    time_limit: float | None,
) -> _Solved:
    """The set packing of each strongly connected component, solved on its own.

    Components whose cycles are all swaps (2-cycles) are one matching together
    (:func:`_swap_matching`); the others are a set packing each, small ones by
    :func:`pbmatch.solvers.cpsat.solve_set_packing`, large ones by :func:`_reduced_packing`.
    ``rest[c]`` bounds what the later levels add to component ``c``'s objective (its units
    count ``w_units`` each), which lets the packing require the units a target implies.
    Splitting is exact (the components share no unit) and tightens the proof: each
    component's bound is rounded down to an integer on its own.
    """
    started = time.perf_counter()
    chosen = np.zeros(len(cycles), dtype=bool)
    component = label[cycles.nodes[:, 0]] if len(cycles) else np.zeros(0, dtype=np.int64)
    sizes = np.bincount(label, minlength=int(label.max(initial=-1)) + 1)
    longest = np.zeros(sizes.size, dtype=np.int64)
    np.maximum.at(longest, component, cycles.lengths)
    statuses: list[Status] = []
    bound = 0
    messages: list[str] = []
    lp_bound: float | None = None
    solved_columns: list[int] = []
    swaps = np.flatnonzero(longest[component] == 2)
    if swaps.size:
        matched = _swap_matching(cycles, swaps, cycle_q, w_units, w_q)
        if matched is not None:
            done = np.unique(component[swaps])
            chosen |= matched[0]
            statuses.append(matched[1])
            if matched[1] == OPTIMAL:
                bound += 2 * int(matched[0].sum())
            else:
                bound += int(sizes[done].sum())
            messages.append(matched[2])
            longest[done] = 0
    for c in np.flatnonzero(longest > 0).tolist():
        columns = np.flatnonzero(component == c)
        remaining = None
        if time_limit is not None:
            remaining = max(float(time_limit) - (time.perf_counter() - started), 1e-3)
        local = np.flatnonzero(label == c)  # component c's units, ascending
        nodes = np.searchsorted(local, cycles.nodes[columns]).astype(np.int64)
        nodes[cycles.nodes[columns] < 0] = local.size
        hint = (w_units, int(rest[c]))
        if columns.size > LP_MIN_COLUMNS:
            packing = _reduced_packing(nodes, weights[columns], local.size, hint, remaining)
        else:
            lengths = cycles.lengths[columns]
            indptr = np.zeros(columns.size + 1, dtype=np.int64)
            np.cumsum(lengths, out=indptr[1:])
            indices = nodes[nodes < local.size]  # row-major: each cycle's units in order
            packing = solve_set_packing(
                indptr, indices, weights[columns], local.size,
                time_limit=remaining, element_weight=hint,
            )  # fmt: skip
        statuses.append(packing.status)
        chosen[columns] = packing.chosen
        bound += int(packing.bound // w_units) if packing.success else int(local.size)
        if sizes.size > 1:
            messages.append(f"component {c} ({local.size} units): {packing.message}")
        else:
            messages.append(packing.message)
        lp = packing.extra.get("lp_bound")
        if isinstance(lp, float):
            lp_bound = lp + (lp_bound or 0.0)
        solved_columns += list(packing.extra.get("solved_columns", []))  # type: ignore[call-overload]
    if not statuses or all(status == OPTIMAL for status in statuses):
        status: Status = OPTIMAL
    elif any(status in (OPTIMAL, FEASIBLE) for status in statuses):
        status = FEASIBLE
    else:
        status = statuses[0]
    extra: dict[str, object] = {
        "columns": len(cycles),
        "components": int(sizes.size),
        "swap_components": int(np.unique(component[swaps]).size) if swaps.size else 0,
        "lp_bound": lp_bound,
        "solved_columns": solved_columns,
    }
    return _Solved(chosen, status, bound, "; ".join(messages) or "no cycles", extra)


def exchange_cycles(
    graph: RegionGraph,
    *,
    max_length: int = 3,
    units: Sequence[str] | None = None,
    max_km: float | None = None,
    time_limit: float | None = None,
) -> ExchangeResult:
    """Find disjoint exchange cycles (交换机制) that include the most units.

    Unit ``a`` can give to unit ``b`` when ``a`` offers some category ``b`` needs. A cycle
    ``(u1, u2, …, uk)`` has ``u1`` give to ``u2``, …, ``uk`` give to ``u1``; each gives, in
    every category, ``min(offer, need)``. Cycles are disjoint and of length 2 .. ``max_length``.

    Parameters
    ----------
    graph : RegionGraph
    max_length : int, default 3
        Longest cycle (2: pairwise swaps only). Short cycles (2–4) are the practice.
    units : sequence of str, optional
        The units that may take part (default: every unit of the graph).
    max_km : float, optional
        Only units at most this far apart give to each other (units without a location then
        take no part).
    time_limit : float, optional
        Seconds for the CP-SAT solves; without it they run to proof (the LP and the swap
        matching run to their end regardless).

    Returns
    -------
    ExchangeResult
        ``cycles`` (tuples of unit ids in giving order), ``gives`` (per cycle and arc, the
        quantity of each category given), ``objective`` (units in cycles), ``quantity`` (the
        total exchanged), ``bound`` (proven upper bound on the units), ``to_pandas()`` (one row
        per arc and category), ``report()``.

    Raises
    ------
    InputError
        A bad argument, an unknown unit id, or more paths than :data:`MAX_PATHS` to enumerate.

    Notes
    -----
    The kidney-exchange cycle formulation, with resource types and quantities: one Boolean
    per cycle, at most one cycle per unit. The objective is lexicographic, exactly: first the
    most units in cycles, then the most quantity exchanged, as one integer objective
    ``W * units + quantity`` with ``W = 1 + sum over units of their largest outgoing arc
    quantity`` (no packing exchanges that much, since each unit gives once), so one more unit
    outweighs any quantity. Whole quantities are used exactly; fractional ones are rounded to
    a resolution of at most 1/1024 (``result.resolution``; a :class:`~pbmatch.PrecisionWarning`
    when that makes distinct arc quantities equal), which can only affect the tie-break.

    Only units in a strongly connected component of the can-give graph with another unit are
    encoded (no cycle passes through the others), and each component is solved on its own;
    cycles are enumerated once each from their smallest unit. With swaps only (``max_length=2``,
    or a component without longer cycles) the problem is a maximum matching on the pairs that
    can give to each other, the most pairs first and then the most quantity:
    :func:`pbmatch.match_general` with ``maxcardinality=True`` solves it exactly in a fraction
    of a second. Longer cycles make a set packing. Small ones go to CP-SAT whole; large ones
    (10^5 cycles in a 1,000-unit district) are reduced by the duals of their LP relaxation
    (column generation with GLOP, then rounds of subset-row cuts on triples of units): a cycle
    whose reduced cost exceeds the gap between the LP bound and a target cannot be in a packing
    that reaches it, which leaves a few hundred to a few thousand cycles. CP-SAT then searches
    them for a packing between the target and the bound, with an exactly-one per unit when the
    target needs every unit, and the reduced costs of the chosen cycles limited to that gap.
    The answer stays exact: the cycles left out cannot reach the target, and when no packing
    reaches it the target is lowered. Deterministic: one CP-SAT worker, seed 0; a time limit
    makes it machine-dependent.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district
    >>> graph = synthetic_district(seed=0, n_streets=1, n_townships=0)
    >>> result = exchange_cycles(graph, max_length=3)
    >>> result.status, result.objective == sum(len(c) for c in result.cycles)
    ('optimal', True)
    >>> giver, receiver = result.cycles[0][:2]
    >>> gift = result.gives[0][0]      # what the first unit gives the second
    >>> all(graph.unit(giver).offers[c] >= q and graph.unit(receiver).needs[c] >= q
    ...     for c, q in gift.items())
    True
    """
    started = time.perf_counter()
    length_cap = _check_args(max_length, max_km, time_limit)
    if not isinstance(graph, RegionGraph):
        raise InputError(f"graph is a {type(graph).__name__}; pass a pbmatch.RegionGraph")
    pool = _units_iv(graph, units)
    # Only units that offer something another needs and need something another offers.
    offered = graph.offers[pool] > 0
    needed = graph.needs[pool] > 0
    gives_some = (offered & needed.any(axis=0)).any(axis=1)
    takes_some = (needed & offered.any(axis=0)).any(axis=1)
    pool = pool[gives_some & takes_some]
    adjacency, quantity = can_give(graph, pool, max_km=float(max_km) if max_km else None)
    # Cycles stay inside strongly connected components: drop the arcs between components and
    # the units alone in theirs; each component is then solved on its own.
    keep = _prune(adjacency)  # cheap first cut: units that give to or take from nobody
    adjacency = adjacency[np.ix_(keep, keep)]
    label = strong_components(adjacency)
    adjacency &= label[:, None] == label[None, :]
    alive = np.flatnonzero(adjacency.any(axis=1))
    keep = keep[alive]
    members = pool[keep]
    label = np.unique(label[alive], return_inverse=True)[1].astype(np.int64).ravel()
    adjacency = adjacency[np.ix_(alive, alive)]
    quantity = quantity[np.ix_(keep, keep)]
    cycles = enumerate_cycles(adjacency, length_cap)

    # Objective: W * units + quantity, both integers.
    cyc, tail, head = cycles.arcs()
    arc_q = quantity[tail, head]
    max_out = np.where(adjacency, quantity, 0.0).max(axis=1, initial=0.0)
    scale, resolution = _quantity_scale(arc_q, float(max_out.sum()), members.size)
    if resolution is not None and count_merged(arc_q, scale) > 0:
        warnings.warn(
            f"exchange_cycles: arc quantities were rounded to a resolution of {resolution:g}, "
            "which made some distinct quantities equal; the tie-break on quantity is exact "
            "only to that resolution",
            PrecisionWarning,
            stacklevel=2,
        )
    q_int = np.rint(arc_q * scale).astype(np.int64)
    out_q = np.rint(max_out * scale).astype(np.int64)  # most each unit can give in a cycle
    w_units, w_q = dominating_weights([members.size, int(out_q.sum())])
    cycle_q = np.bincount(cyc, weights=q_int, minlength=len(cycles)).astype(np.int64)
    weights = w_units * cycles.lengths + w_q * cycle_q
    rest = w_q * np.bincount(label, weights=out_q).astype(np.int64)
    solved = _solve_components(cycles, weights, cycle_q, label, w_units, w_q, rest, time_limit)

    chosen = np.flatnonzero(solved.chosen)
    chosen = chosen[np.argsort(cycles.nodes[chosen, 0], kind="stable")]  # by first unit
    ids = graph.ids
    cycle_ids: list[tuple[str, ...]] = []
    gives: list[tuple[dict[str, float], ...]] = []
    for k in chosen.tolist():
        local = cycles.nodes[k, : cycles.lengths[k]]
        unit_idx = members[local]
        cycle_ids.append(tuple(ids[unit_idx].tolist()))
        nxt = np.roll(unit_idx, -1)
        amount = np.minimum(graph.offers[unit_idx], graph.needs[nxt])
        gives.append(
            tuple(
                {graph.categories[c]: float(row[c]) for c in np.flatnonzero(row > 0).tolist()}
                for row in amount
            )
        )
    success = solved.status in (OPTIMAL, FEASIBLE)
    objective = float(cycles.lengths[chosen].sum()) if success else math.nan
    exchanged = math.fsum(q for arcs in gives for gift in arcs for q in gift.values())
    bound = float(solved.bound_units) if success else None
    return ExchangeResult(
        cycles=cycle_ids,
        gives=gives,
        objective=objective,
        quantity=exchanged if success else math.nan,
        status=solved.status,
        graph=graph,
        max_length=length_cap,
        max_km=float(max_km) if max_km is not None else None,
        candidates=graph.ids[members],
        n_cycles=len(cycles),
        bound=bound,
        gap=relative_gap(objective, bound),
        resolution=resolution,
        message=solved.message,
        wall_time=time.perf_counter() - started,
        extra={**solved.extra, "weight_units": w_units, "quantity_scale": scale},
    )
