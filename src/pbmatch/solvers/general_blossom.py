"""Exact one-pool 1-matching: Edmonds' primal-dual blossom method, warm-started from the relaxation.

The fractional relaxation (:mod:`pbmatch.solvers.general_lp`) is optimal for the matching LP
without odd-set inequalities; its half-integral solution is a matching except on a few odd
cycles. This module starts Edmonds' weighted blossom algorithm from it: the relaxation's duals
are valid blossom-algorithm duals with no blossoms, its whole edges and a rounding of its half
edges a matching of tight edges, and only the vertices this rounding leaves exposed with a
positive dual (about one per odd cycle) need a search. A cold start searches from every
vertex; here a 1,000-node graph needs a few dozen searches instead of hundreds.

Duals and conditions
--------------------
In doubled units (integers): a dual ``y_v >= 0`` per vertex and ``zz_B >= 0`` per blossom (an
odd vertex set), with the *slack* of an edge ``y_i + y_j - 2 w_ij + sum(zz_B, B contains i and
j) >= 0``. A matching ``M`` is optimal when every edge of ``M`` and of every blossom's defining
cycle has slack 0, every exposed vertex has ``y_v = 0`` and every blossom with ``zz_B > 0`` has
``(|B| - 1) / 2`` edges of ``M`` inside: then ``2 w(M) = sum(y) + sum(zz_B (|B| - 1) / 2)``,
the value of a feasible dual of the matching LP with odd-set inequalities, so no matching (or
fractional point of the matching polytope) weighs more. :func:`solve_warm` checks this equality
and the dual's feasibility on every edge, in exact integers, before it returns.

Search
------
One alternating tree at a time, rooted at an exposed vertex with ``y > 0``: tight edges from
its outer (S) vertices grow it (a free blossom becomes inner, T, and its mate's blossom outer),
join two outer blossoms into a new blossom, or reach an exposed vertex, and then the path is
augmented. Otherwise the duals move by ``delta``: S vertices ``-delta``, T vertices ``+delta``,
S blossoms ``zz + 2 delta``, T blossoms ``zz - 2 delta``, with ``delta`` the least of: the
smallest S-vertex dual (that vertex then takes the root's place: the even alternating path
from the root to it is flipped and it is left exposed with dual 0), the least slack of an edge
from S to a free vertex, half the least slack of an edge joining two S blossoms (even: the
tree's vertices share the parity of the root, as tight edges join them), and half the least
``zz`` of a T blossom (which is then expanded). Each search ends with one exposed vertex of
positive dual fewer, so there are as many searches as such vertices. The slacks are computed
with numpy over the edges at the tree's S vertices.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import SolverError
from pbmatch.solvers.general_problem import GeneralProblem

__all__ = ["solve_warm"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FREE, _S, _T = 0, 1, 2


class _Blossom:
    """The state of the primal-dual algorithm (see the module notes).

    Blossom ids ``0 .. n - 1`` are the vertices, ``n .. 2n - 1`` the non-trivial blossoms.
    """

    def __init__(
        self, problem: GeneralProblem, y: IntArray, mate: list[int], adjacency: list[IntArray]
    ) -> None:
        n = problem.n_nodes
        self.n = n
        self.et, self.eh = problem.tails, problem.heads
        self.w2 = 2 * problem.costs
        self.adjacency = adjacency
        self.y = y
        self.mate = mate
        self.parent = [-1] * (2 * n)
        self.children: list[list[int]] = [[] for _ in range(2 * n)]
        self.cedges: list[list[tuple[int, int]]] = [[] for _ in range(2 * n)]
        self.base = list(range(n)) + [-1] * n
        self.zz = [0] * (2 * n)
        self.leaves: list[IntArray] = [np.array([v], dtype=np.int64) for v in range(n)]
        self.leaves += [np.zeros(0, dtype=np.int64)] * n
        self.unused = list(range(2 * n - 1, n - 1, -1))
        self.inb = np.arange(n, dtype=np.int64)  # top-level blossom of each vertex
        self.label = [_FREE] * (2 * n)
        self.labelend: list[tuple[int, int] | None] = [None] * (2 * n)
        self.vlabel = np.zeros(n, dtype=np.int8)  # label of each vertex's top-level blossom
        self.tree: set[int] = set()  # top-level blossoms labelled in this search
        self.pending: list[IntArray] = []  # edges at new S vertices, to scan
        self.in_scan = np.zeros(problem.n_edges, dtype=np.bool_)
        empty = np.zeros(0, dtype=np.int64)
        self.scan = (empty, empty, empty, empty)  # edges at S vertices: ids, tails, heads, 2w
        self.stats = {"searches": 0, "dual_updates": 0, "blossoms": 0, "expansions": 0}

    # --- labels ------------------------------------------------------------------------------

    def _set_label(self, b: int, label: int, end: tuple[int, int] | None) -> None:
        self.label[b] = label
        self.labelend[b] = end
        self.tree.add(b)
        leaves = self.leaves[b]
        self.vlabel[leaves] = label
        if label == _S:
            self.pending.extend(self.adjacency[v] for v in leaves.tolist())

    def _clear_labels(self) -> None:
        for b in self.tree:
            self.label[b] = _FREE
            self.labelend[b] = None
        self.vlabel[:] = _FREE
        self.tree = set()
        self.in_scan[:] = False
        self.pending = []
        empty = np.zeros(0, dtype=np.int64)
        self.scan = (empty, empty, empty, empty)

    # --- blossoms ----------------------------------------------------------------------------

    def _s_parent(self, b: int) -> tuple[int, int] | None:
        """For an S blossom below the root: (its T parent, that T blossom's S parent)."""
        end = self.labelend[b]
        if end is None:
            return None
        bt = int(self.inb[end[0]])
        t_end = self.labelend[bt]
        assert t_end is not None
        return bt, int(self.inb[t_end[0]])

    def _add_blossom(self, v: int, w: int) -> None:
        """Join S blossoms of ``v`` and ``w`` (a tight edge) and their tree paths to the LCA."""
        bv, bw = int(self.inb[v]), int(self.inb[w])
        chain_v = [bv]  # S, T, S, T, ..., S (the root)
        while (up := self._s_parent(chain_v[-1])) is not None:
            chain_v.extend(up)
        on_v = {b: k for k, b in enumerate(chain_v)}
        chain_w = [bw]
        while chain_w[-1] not in on_v:
            up = self._s_parent(chain_w[-1])
            assert up is not None, "two S blossoms of one tree without a common ancestor"
            chain_w.extend(up)
        lca = chain_w[-1]
        side_v = chain_v[: on_v[lca]]  # bv, T, S, ..., T (below the LCA)
        side_w = chain_w[:-1]
        children = [lca, *reversed(side_v), *side_w]
        edges: list[tuple[int, int]] = []
        for b in reversed(side_v):  # down from the LCA to bv
            end = self.labelend[b]
            assert end is not None
            edges.append(end)  # T: (s in parent, t in b); S: (t in parent, base of b)
        edges.append((v, w))
        for b in side_w:  # up from bw to the LCA
            end = self.labelend[b]
            assert end is not None
            edges.append((end[1], end[0]))
        lca_end = self.labelend[lca]
        new = self.unused.pop()
        self.children[new] = children
        self.cedges[new] = edges
        self.base[new] = self.base[lca]
        self.zz[new] = 0
        self.leaves[new] = np.concatenate([self.leaves[c] for c in children])
        for c in children:
            self.parent[c] = new
            self.tree.discard(c)
            if self.label[c] == _T:  # its vertices become S
                self.pending.extend(self.adjacency[x] for x in self.leaves[c].tolist())
            self.label[c] = _FREE
            self.labelend[c] = None
        self.inb[self.leaves[new]] = new
        self.vlabel[self.leaves[new]] = _S
        self.label[new] = _S
        self.labelend[new] = lca_end
        self.tree.add(new)
        self.stats["blossoms"] += 1

    def _child_of(self, b: int, v: int) -> int:
        """The child of blossom ``b`` that holds vertex ``v``."""
        c = v
        while self.parent[c] != b:
            c = self.parent[c]
        return c

    def _expand(self, b: int, *, in_search: bool) -> None:
        """Make the children of top-level blossom ``b`` top-level; relabel a T blossom's."""
        children, edges = self.children[b], self.cedges[b]
        entry = -1
        if in_search:
            end = self.labelend[b]
            assert end is not None
            entry = children.index(self._child_of(b, end[1]))
        for c in children:
            self.parent[c] = -1
            self.inb[self.leaves[c]] = c
        if not in_search:
            for c in children:
                if c >= self.n and self.zz[c] == 0:
                    self._expand(c, in_search=False)
        else:
            self.tree.discard(b)
            self.label[b] = _FREE
            self.vlabel[self.leaves[b]] = _FREE
            end = self.labelend[b]
            assert end is not None
            k1 = len(children)
            j = entry
            self._set_label(children[j], _T, end)
            step = 1 if j % 2 == 1 else -1
            label = _S
            while j % k1 != 0:
                if step == 1:
                    x, z = edges[j % k1]
                else:
                    z, x = edges[j - 1]
                j += step
                self._set_label(children[j % k1], label, (x, z))
                label = _T if label == _S else _S
        self.labelend[b] = None
        self.children[b], self.cedges[b] = [], []
        self.leaves[b] = np.zeros(0, dtype=np.int64)
        self.base[b] = -1
        self.zz[b] = 0
        self.unused.append(b)
        self.stats["expansions"] += 1

    def _augment_blossom(self, b: int, v: int) -> None:
        """Flip the even alternating path inside ``b`` from ``v`` to its base: ``v`` is the new
        base (its own mate is the caller's to set)."""
        if b < self.n:
            return
        c = self._child_of(b, v)
        self._augment_blossom(c, v)
        children, edges = self.children[b], self.cedges[b]
        k1 = len(children)
        i = children.index(c)
        j = i
        if i % 2 == 1:  # forward: c_i =m= c_i+1 -u- c_i+2 ...
            while j % k1 != 0:
                x, z = edges[(j + 1) % k1]
                self._pair(children[(j + 1) % k1], x, children[(j + 2) % k1], z)
                j += 2
        else:  # backward
            while j != 0:
                z, x = edges[j - 2]
                self._pair(children[j - 1], x, children[j - 2], z)
                j -= 2
        self.children[b] = children[i:] + children[:i]
        self.cedges[b] = edges[i:] + edges[:i]
        self.base[b] = v

    def _pair(self, cx: int, x: int, cz: int, z: int) -> None:
        self._augment_blossom(cx, x)
        self._augment_blossom(cz, z)
        self.mate[x] = z
        self.mate[z] = x

    def _flip_to_root(self, x: int, partner: int) -> None:
        """Flip the tree path from S vertex ``x`` to the root; ``x`` gets ``partner`` (or -1)."""
        b = int(self.inb[x])
        self._augment_blossom(b, x)
        self.mate[x] = partner
        while (end := self.labelend[b]) is not None:
            bt = int(self.inb[end[0]])
            t_end = self.labelend[bt]
            assert t_end is not None
            s, tp = t_end
            self._augment_blossom(bt, tp)
            self.mate[tp] = s
            b = int(self.inb[s])
            self._augment_blossom(b, s)
            self.mate[s] = tp

    # --- one search --------------------------------------------------------------------------

    def search(self, root: int) -> None:
        """Grow a tree from exposed ``root`` (``y > 0``) until it augments or its dual is spent."""
        self.stats["searches"] += 1
        b0 = int(self.inb[root])
        self._set_label(b0, _S, None)
        y, inb, vlabel = self.y, self.inb, self.vlabel
        try:
            while True:
                if self.pending:
                    self._grow_scan()
                edges, t, h, w2e = self.scan
                lt, lh = vlabel[t], vlabel[h]
                slack = y[t] + y[h] - w2e
                to_free = ((lt == _S) & (lh == _FREE)) | ((lt == _FREE) & (lh == _S))
                both = (lt == _S) & (lh == _S)
                same = both & (inb[t] == inb[h])
                both &= ~same
                if 4 * int(np.count_nonzero(same)) > edges.size:
                    # Edges inside one S blossom stay there until the search ends: drop them.
                    keep = ~same
                    self.scan = (edges[keep], t[keep], h[keep], w2e[keep])
                tight = np.flatnonzero((to_free | both) & (slack == 0))
                if tight.size:
                    for k in tight.tolist():
                        if self._tight_edge(int(t[k]), int(h[k])):
                            return
                    continue
                # No tight edge: move the duals.
                s_vertices = np.flatnonzero(vlabel == _S)
                ys = y[s_vertices]
                k1 = int(np.argmin(ys))
                delta = int(ys[k1])
                kind = 1
                if to_free.any():
                    d2 = int(slack[to_free].min())
                    if d2 < delta:
                        delta, kind = d2, 2
                if both.any():
                    d3 = int(slack[both].min())
                    if d3 % 2:
                        raise SolverError("blossom search: odd slack between two S blossoms")
                    if d3 // 2 < delta:
                        delta, kind = d3 // 2, 3
                t_blossom = -1
                for b in self.tree:
                    if b >= self.n and self.label[b] == _T and self.zz[b] // 2 < delta:
                        delta, kind, t_blossom = self.zz[b] // 2, 4, b
                self.stats["dual_updates"] += 1
                if delta:
                    y[s_vertices] -= delta
                    y[vlabel == _T] += delta
                    for b in self.tree:
                        if b >= self.n:
                            self.zz[b] += 2 * delta if self.label[b] == _S else -2 * delta
                if kind == 1:
                    self._flip_to_root(int(s_vertices[k1]), -1)
                    return
                if kind == 4:
                    self._expand(t_blossom, in_search=True)
        finally:
            self._end_search()

    def _grow_scan(self) -> None:
        """Add the edges at new S vertices to the scanned edges (each edge once)."""
        new = np.concatenate(self.pending)
        self.pending = []
        new = np.unique(new[~self.in_scan[new]])
        if new.size:
            self.in_scan[new] = True
            e, t, h, w2 = self.scan
            self.scan = (
                np.concatenate([e, new]),
                np.concatenate([t, self.et[new]]),
                np.concatenate([h, self.eh[new]]),
                np.concatenate([w2, self.w2[new]]),
            )

    def _tight_edge(self, a: int, b: int) -> bool:
        """Act on a tight edge found by the scan; True when the search is over."""
        ba, bb = int(self.inb[a]), int(self.inb[b])
        if ba == bb:
            return False
        la, lb = self.label[ba], self.label[bb]
        if la != _S:
            a, b, ba, bb, la, lb = b, a, bb, ba, lb, la
        if la != _S or lb == _T:
            return False
        if lb == _S:
            self._add_blossom(a, b)
            return False
        # b's blossom is free: an exposed base ends the search, else it and its mate join.
        base = self.base[bb]
        other = self.mate[base]
        if other == -1:
            self._augment_blossom(bb, b)
            self.mate[b] = a
            self._flip_to_root(a, b)
            return True
        self._set_label(bb, _T, (a, b))
        self._set_label(int(self.inb[other]), _S, (base, other))
        return False

    def _end_search(self) -> None:
        outer = [b for b in self.tree if b >= self.n and self.label[b] == _S and self.zz[b] == 0]
        self._clear_labels()
        for b in outer:
            self._expand(b, in_search=False)


def _start(problem: GeneralProblem, x2: IntArray, y2: IntArray, z2: IntArray) -> Any:
    """Warm start: duals with the edge duals folded into a vertex, and a matching of tight
    edges (whole edges, then half edges greedily in edge order)."""
    n = problem.n_nodes
    tails, heads = problem.tails, problem.heads
    y = y2.astype(np.int64).copy()
    z_edges = np.flatnonzero(z2 > 0)
    if z_edges.size and not (x2[z_edges] == 2).all():
        raise SolverError("blossom warm start: an edge dual on an edge not in the relaxation")
    np.add.at(y, tails[z_edges], z2[z_edges])
    mate = [-1] * n
    tl, hl = tails.tolist(), heads.tolist()
    for e in np.flatnonzero(x2 == 2).tolist():
        mate[tl[e]], mate[hl[e]] = hl[e], tl[e]
    for e in np.flatnonzero(x2 == 1).tolist():
        a, b = tl[e], hl[e]
        if mate[a] == -1 and mate[b] == -1:
            mate[a], mate[b] = b, a
    return y, mate


def _adjacency(n: int, tails: IntArray, heads: IntArray) -> list[IntArray]:
    p = tails.size
    ends = np.concatenate([tails, heads])
    order = np.argsort(ends, kind="stable")
    edge_ids = np.concatenate([np.arange(p), np.arange(p)])[order].astype(np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=ptr[1:])
    return [edge_ids[ptr[v] : ptr[v + 1]] for v in range(n)]


def _check(state: _Blossom, chosen: BoolArray, costs: IntArray) -> None:
    """Prove the matching optimal: a feasible dual of equal value, in exact integers."""
    y, n = state.y, state.n
    tails, heads = state.et, state.eh
    if (y < 0).any() or any(z < 0 for z in state.zz):
        raise SolverError("blossom check: a negative dual")
    slack = y[tails] + y[heads] - state.w2
    blossoms = [b for b in range(n, 2 * n) if state.base[b] != -1 and state.zz[b] > 0]
    if blossoms:
        same = np.flatnonzero(state.inb[tails] == state.inb[heads])
        inside = np.zeros(n, dtype=np.bool_)
        for b in blossoms:
            inside[state.leaves[b]] = True
            both = same[inside[tails[same]] & inside[heads[same]]]
            slack[both] += state.zz[b]
            inside[state.leaves[b]] = False
    if (slack < 0).any() or (slack[chosen] != 0).any():
        raise SolverError("blossom check: the dual is infeasible or not tight on the matching")
    degree = np.bincount(tails[chosen], minlength=n) + np.bincount(heads[chosen], minlength=n)
    if (degree > 1).any() or (y[degree == 0] != 0).any():
        raise SolverError("blossom check: not a matching, or an exposed vertex with a dual")
    dual = int(y.sum()) + sum(state.zz[b] * (state.leaves[b].size - 1) // 2 for b in blossoms)
    primal = 2 * int(costs[chosen].sum())
    if dual != primal:
        raise SolverError(f"blossom check: dual value {dual} != twice the weight {primal}")


def solve_warm(
    problem: GeneralProblem, x2: IntArray, y2: IntArray, z2: IntArray
) -> tuple[BoolArray, dict[str, Any]]:
    """An optimal matching (every capacity 1), from the relaxation's solution and duals.

    Parameters
    ----------
    problem : GeneralProblem
        With ``capacity`` all 1.
    x2 : ndarray of int64
        Twice an optimal half-integral solution of the relaxation.
    y2, z2 : ndarray of int64
        Its doubled node and edge duals, with reduced costs ``y2_u + y2_v + z2_e - 2 w_e >= 0``,
        zero where ``x2 > 0`` (:func:`pbmatch.solvers.general_lp.relaxation_duals`).

    Returns
    -------
    chosen : ndarray of bool
        The optimal matching, proved (see the module notes).
    stats : dict
        ``searches``, ``dual_updates``, ``blossoms``, ``expansions``, ``seconds``.

    Raises
    ------
    SolverError
        The final proof failed (never expected): the caller can fall back to another method.

    Examples
    --------
    Two triangles joined by an edge: the relaxation puts 1/2 on all six triangle edges.

    >>> import numpy as np
    >>> from pbmatch.solvers.general_lp import relaxation_duals, solve_relaxation
    >>> t, h = np.array([0, 1, 0, 3, 4, 3, 2]), np.array([1, 2, 2, 4, 5, 5, 3])
    >>> problem = GeneralProblem(6, t, h, np.array([4, 4, 4, 4, 4, 4, 1]), np.ones(6, np.int64))
    >>> relax = solve_relaxation(problem)
    >>> duals = relaxation_duals(problem, relax)
    >>> chosen, stats = solve_warm(problem, relax.x2, duals.y2, duals.z2)
    >>> int(problem.costs[chosen].sum()), int(chosen.sum())
    (9, 3)
    """
    started = time.perf_counter()
    n = problem.n_nodes
    y, mate = _start(problem, x2, y2, z2)
    state = _Blossom(problem, y, mate, _adjacency(n, problem.tails, problem.heads))
    roots = [v for v in range(n) if mate[v] == -1 and y[v] > 0]
    for r in roots:
        if state.mate[r] == -1 and state.y[r] > 0:
            state.search(r)
    tails, heads = problem.tails, problem.heads
    mate_arr = np.asarray(state.mate, dtype=np.int64)
    chosen: BoolArray = mate_arr[tails] == heads
    _check(state, chosen, problem.costs)
    stats: dict[str, Any] = dict(state.stats)
    stats["roots"] = len(roots)
    stats["seconds"] = time.perf_counter() - started
    return chosen, stats
