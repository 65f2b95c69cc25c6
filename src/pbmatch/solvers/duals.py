"""Dual prices (node potentials) of a solved b-matching, computed from the solution alone.

OR-Tools' Python min-cost-flow and assignment solvers do not expose their node potentials
(or-tools issue #3321), so pbmatch computes them itself, exactly, in the integer costs the
solver saw, by shortest paths in the residual graph of the solution.

The b-matching LP and its dual
------------------------------
Over allowed pairs ``e = (i, j)`` with integer gains ``g_e`` (scaled scores)::

    max  sum_e g_e x_e   s.t.  lmin_i <= sum_j x_ij <= lcap_i,  rmin_j <= sum_i x_ij <= rcap_j,
                               0 <= x_e <= 1.

Its constraint matrix is totally unimodular, so the LP has an integral optimum, and an integral
``x`` is optimal among all (fractional or integral) solutions iff there are prices ``u`` (rows)
and ``v`` (columns) with the complementary-slackness conditions

* ``g_e <= u_i + v_j`` for every allowed pair not chosen and ``g_e >= u_i + v_j`` for every
  chosen pair (the arc duals are ``w_e = max(0, g_e - u_i - v_j)``);
* ``u_i > 0`` only if row ``i`` is full (``deg_i = lcap_i``), ``u_i < 0`` only if it is at its
  minimum (``deg_i = lmin_i``); the same for ``v_j``.

With these, the dual objective ``sum lcap u+ - lmin u- + sum rcap v+ - rmin v- + sum w`` equals
``sum_e g_e x_e``: weak duality then proves that no feasible ``x'`` scores more.

Where the prices come from
--------------------------
Model the solution as a circulation through one outside node ``R`` (the merged source and sink
of the flow network): arcs ``R -> i`` (flow ``deg_i`` in ``[lmin_i, lcap_i]``), ``i -> j`` for
pairs (flow ``x_e``, cost ``-g_e``), ``j -> R``. Its residual graph has ``R -> i`` (cost 0) if
``deg_i < lcap_i``, ``i -> R`` if ``deg_i > lmin_i``, ``i -> j`` (cost ``-g_e``) for unchosen
pairs, ``j -> i`` (cost ``+g_e``) for chosen ones, ``j -> R`` if ``deg_j < rcap_j`` and
``R -> j`` if ``deg_j > rmin_j``. ``x`` is optimal iff this graph has no negative cycle, and
then shortest-path distances ``d`` (any node potentials with ``d(b) <= d(a) + cost(a, b)`` on
every residual arc) give ``u_i = d(i) - d(R)``, ``v_j = d(R) - d(j)``, which satisfy every
condition above (each residual arc is one of them). :func:`compute_duals` finds ``d`` by a
vectorised label-correcting Bellman-Ford from ``R`` in int64 arithmetic, and returns ``None``
when it meets a negative cycle (``x`` is not optimal). :func:`dual_violations` re-checks every
condition independently, so a returned dual is a certificate whatever path found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FAR",
    "Duals",
    "compute_duals",
    "dual_violations",
    "residual_graph",
]

I64 = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_INF = np.int64(1) << 62
FAR = 1 << 61
"""The price of a row or column with capacity 0: no pair there is allowed, none is priced.

Live prices stay far below: ``|u|, |v| <= 4 (n + m + 1) C <= 2**59`` for costs within
:data:`~pbmatch.solvers.scaling.PRICE_ROOM`.
"""


@dataclass(frozen=True, eq=False)
class Duals:
    """Row and column prices certifying a b-matching optimal (see the module notes).

    Attributes
    ----------
    u, v : ndarray of int64
        Row and column prices in the solver's integer gains; :data:`FAR` for a row or column
        of capacity 0.
    """

    u: I64
    v: I64


def _degrees(n: int, m: int, rows: I64, cols: I64, flow: I64) -> tuple[I64, I64]:
    deg_r = np.bincount(rows, weights=flow, minlength=n).astype(np.int64)
    deg_c = np.bincount(cols, weights=flow, minlength=m).astype(np.int64)
    return deg_r, deg_c


def _flow_of(chosen: npt.NDArray[Any]) -> I64:
    return np.asarray(chosen).astype(np.int64, copy=False)


def residual_graph(
    rows: I64,
    cols: I64,
    gains: I64,
    chosen: npt.NDArray[Any],
    lcap: I64,
    rcap: I64,
    lmin: I64,
    rmin: I64,
    pair_cap: I64 | None = None,
) -> tuple[I64, I64, I64]:
    """The residual arcs ``(tail, head, cost)`` of a solution, nodes numbered rows, columns, R.

    Rows are ``0..n-1``, columns ``n..n+m-1`` and ``R = n + m``. ``chosen`` is the flow on
    each pair (bool or int), ``pair_cap`` the most it may carry (default 1).
    """
    n, m = lcap.size, rcap.size
    r_node = n + m
    flow = _flow_of(chosen)
    deg_r, deg_c = _degrees(n, m, rows, cols, flow)
    col_node = cols + n
    room = flow < (1 if pair_cap is None else pair_cap)
    used = flow > 0
    tails = [rows[room], col_node[used]]
    heads = [col_node[room], rows[used]]
    costs = [-gains[room], gains[used]]
    row_ids = np.arange(n, dtype=np.int64)
    col_ids = np.arange(n, n + m, dtype=np.int64)
    for ids, into in (
        (row_ids[deg_r < lcap], True),  # R -> i
        (row_ids[deg_r > lmin], False),  # i -> R
        (col_ids[deg_c < rcap], False),  # j -> R
        (col_ids[deg_c > rmin], True),  # R -> j
    ):
        hub = np.full(ids.size, r_node, dtype=np.int64)
        tails.append(hub if into else ids)
        heads.append(ids if into else hub)
        costs.append(np.zeros(ids.size, dtype=np.int64))
    return np.concatenate(tails), np.concatenate(heads), np.concatenate(costs)


def _label_correct(
    indptr: I64, head: I64, cost: I64, d: I64, frontier: I64, watch: int | None
) -> bool:
    """Relax out-arcs of the nodes whose distance changed, round by round, in place.

    Returns False when a negative cycle shows: node ``watch`` (the root, if given) gets a
    lower distance than it started with, or the parent pointers (the arc that last lowered
    each distance) close a cycle, which is then negative (Cherkassky and Goldberg's
    observation; checked every few rounds, so a negative cycle away from the root costs a
    few rounds more than its length, not a round per node), or more rounds than nodes pass.
    """
    n_nodes = d.size
    root_start = d[watch] if watch is not None else 0
    parent = np.full(n_nodes, -1, dtype=np.int64)
    for rounds in range(1, n_nodes + 2):
        if frontier.size == 0:
            return True
        start = indptr[frontier]
        count = indptr[frontier + 1] - start
        total = int(count.sum())
        if total == 0:
            return True
        # Arc positions of every frontier node's out-arcs, in one vectorised gather.
        shift = np.repeat(start - (np.cumsum(count) - count), count)
        arcs = shift + np.arange(total, dtype=np.int64)
        heads = head[arcs]
        cand = np.repeat(d[frontier], count) + cost[arcs]
        better = cand < d[heads]
        if not better.any():
            return True
        heads, cand = heads[better], cand[better]
        np.minimum.at(d, heads, cand)
        if watch is not None and d[watch] < root_start:
            return False
        won = cand == d[heads]
        parent[heads[won]] = np.repeat(frontier, count)[better][won]
        if rounds >= 16 and rounds % 8 == 0 and _has_cycle(parent):
            return False
        mark = np.zeros(n_nodes, dtype=np.bool_)
        mark[heads] = True
        frontier = np.flatnonzero(mark)
    return False


def _has_cycle(parent: I64) -> bool:
    """Whether the pointers ``parent`` (-1: none) contain a cycle (pointer doubling)."""
    size = parent.size
    top = np.where(parent >= 0, parent, np.arange(size, dtype=np.int64))
    for _ in range(max(1, size.bit_length())):
        top = top[top]
    return bool((parent[top] >= 0).any())


def _csr(n_nodes: int, tail: I64, head: I64, cost: I64) -> tuple[I64, I64, I64]:
    order = np.argsort(tail, kind="stable")
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n_nodes), out=indptr[1:])
    return indptr, head[order], cost[order]


def compute_duals(
    rows: I64,
    cols: I64,
    gains: I64,
    chosen: npt.NDArray[Any],
    lcap: I64,
    rcap: I64,
    lmin: I64,
    rmin: I64,
    pair_cap: I64 | None = None,
) -> Duals | None:
    """Prices ``u``, ``v`` for a b-matching solution, or None if it is not optimal.

    Parameters
    ----------
    rows, cols : ndarray of int64
        The allowed pairs the solution was chosen from.
    gains : ndarray of int64
        Their integer gains (higher is better).
    chosen : ndarray of bool or int
        Which pairs the solution uses (or the units on each); it must respect every capacity
        and minimum.
    lcap, rcap, lmin, rmin : ndarray of int64
        Capacities (each at most the size of the other side) and minimums.
    pair_cap : ndarray of int64, optional
        Most units on each pair (default 1, the b-matching).

    Returns
    -------
    Duals or None
        None when the residual graph has a negative cycle (the solution can be improved).

    Notes
    -----
    Shortest paths from ``R`` give the largest row prices the solution admits; column prices
    are then raised as far as every condition allows (to ``min(0 if the column has room,
    g_e - u_i over its chosen pairs)``), which keeps them valid and makes fewer unchosen pairs
    look attractive when pricing. Nodes ``R`` cannot reach get prices from a second pass that
    starts every node at 0, shifted above the first (the pointwise minimum of two valid
    potentials is valid). ``|u|, |v| <= 4 (n + m + 1) C`` for gains of magnitude ``<= C``.

    ``O(rounds * arcs)`` with rounds the depth of the shortest-path tree, usually far fewer
    than nodes. Deterministic.

    Examples
    --------
    Two rows, two columns, pairs (0, 0), (0, 1), (1, 0) with gains 3, 2, 2; choosing (0, 1)
    and (1, 0) gains 4, more than (0, 0) alone:

    >>> import numpy as np
    >>> rows, cols, gains = np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([3, 2, 2])
    >>> ones, zeros = np.ones(2, np.int64), np.zeros(2, np.int64)
    >>> best = np.array([False, True, True])
    >>> duals = compute_duals(rows, cols, gains, best, ones, ones, zeros, zeros)
    >>> duals.u.tolist(), duals.v.tolist()
    ([2, 1], [1, 0])
    >>> dual_violations(duals, rows, cols, gains, best, ones, ones, zeros, zeros)
    []
    >>> compute_duals(rows, cols, gains, ~best, ones, ones, zeros, zeros) is None  # (0, 0) only
    True
    """
    n, m = lcap.size, rcap.size
    n_nodes = n + m + 1
    r_node = n + m
    tail, head, cost = residual_graph(rows, cols, gains, chosen, lcap, rcap, lmin, rmin, pair_cap)
    indptr, head, cost = _csr(n_nodes, tail, head, cost)
    d = np.full(n_nodes, _INF, dtype=np.int64)
    d[r_node] = 0
    if not _label_correct(indptr, head, cost, d, np.array([r_node], np.int64), r_node):
        return None
    active = np.concatenate([lcap > 0, rcap > 0, [True]])
    lost = active & (d >= _INF)
    if lost.any():
        # Nodes R cannot reach: potentials from "every node starts at 0", shifted above the
        # first pass on the reached nodes; the pointwise minimum of the two is valid.
        d0 = np.zeros(n_nodes, dtype=np.int64)
        if not _label_correct(indptr, head, cost, d0, np.flatnonzero(active), None):
            return None
        reached = active & ~lost
        shift = int(d[reached].max()) - int(d0.min())
        d = np.where(lost, d0 + shift, d)
    u = d[:n] - d[r_node]
    v = d[r_node] - d[n : n + m]
    # Raise each column price to its largest valid value given u.
    flow = _flow_of(chosen)
    _, deg_c = _degrees(n, m, rows, cols, flow)
    top = np.where(deg_c < rcap, 0, _INF).astype(np.int64)
    used = flow > 0
    np.minimum.at(top, cols[used], gains[used] - u[rows[used]])
    v = np.where(top < _INF, top, v)
    u = np.where(lcap > 0, u, FAR)
    v = np.where(rcap > 0, v, FAR)
    return Duals(u.astype(np.int64), v.astype(np.int64))


def dual_violations(
    duals: Duals,
    rows: I64,
    cols: I64,
    gains: I64,
    chosen: npt.NDArray[Any],
    lcap: I64,
    rcap: I64,
    lmin: I64,
    rmin: I64,
    pair_cap: I64 | None = None,
    *,
    limit: int = 5,
) -> list[str]:
    """Every complementary-slackness condition the prices break on the given pairs.

    Checks primal feasibility (each row and column within its minimum and capacity, chosen
    pairs unique is assumed) and the conditions of the module notes for ``rows``/``cols``; an
    empty list means ``chosen`` is optimal among solutions using only these pairs. Pairs not
    listed are the caller's to price.
    """
    n, m = lcap.size, rcap.size
    out: list[str] = []
    u, v = duals.u, duals.v
    flow = _flow_of(chosen)
    cap = np.ones(rows.size, np.int64) if pair_cap is None else pair_cap
    deg_r, deg_c = _degrees(n, m, rows, cols, flow)
    for name, deg, low, top, price in (
        ("row", deg_r, lmin, lcap, u),
        ("column", deg_c, rmin, rcap, v),
    ):
        for i in np.flatnonzero((deg < low) | (deg > top))[:limit]:
            out.append(f"{name} {i} has {deg[i]} pairs outside [{low[i]}, {top[i]}]")
        live = top > 0
        bad = live & (((price > 0) & (deg < top)) | ((price < 0) & (deg > low)))
        for i in np.flatnonzero(bad)[:limit]:
            out.append(
                f"{name} {i} has price {price[i]} but {deg[i]} pairs in [{low[i]}, {top[i]}]"
            )
    for k in np.flatnonzero((flow < 0) | (flow > cap))[:limit]:
        out.append(f"pair ({rows[k]}, {cols[k]}) carries {flow[k]} outside [0, {cap[k]}]")
    reduced = gains - u[rows] - v[cols]
    bad_pair = ((flow > 0) & (reduced < 0)) | ((flow < cap) & (reduced > 0))
    for k in np.flatnonzero(bad_pair)[:limit]:
        out.append(
            f"pair ({rows[k]}, {cols[k]}) with {flow[k]} chosen has reduced gain {reduced[k]}"
        )
    return out
