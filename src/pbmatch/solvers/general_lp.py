"""The fractional b-matching relaxation of a one-pool problem, solved exactly on its double cover.

The relaxation is ``max w.x`` subject to ``x(delta(v)) <= b_v`` at every node and
``0 <= x_e <= 1``. It is solved by a *bipartite* b-matching on the bipartite double cover: every
node ``v`` becomes a left copy ``v'`` and a right copy ``v''`` (each of capacity ``b_v``) and every
edge ``uv`` the two arcs ``u' -> v''`` and ``v' -> u''`` (capacity 1, weight ``w_uv``).

* From a fractional solution ``x`` put ``x`` on both arcs: a double-cover solution of twice the
  weight. From a double-cover solution ``f`` put ``x_uv = (f_u'v'' + f_v'u'') / 2``: a fractional
  solution of half the weight. So the relaxation's optimum is half the double cover's.
* The double cover is bipartite, so its constraint matrix is totally unimodular and OR-Tools'
  min-cost flow returns an integral optimum ``f``; ``x2 = f_u'v'' + f_v'u''`` (0, 1 or 2) is twice
  a *half-integral* optimum of the relaxation and ``upper2 = w.x2`` twice its value, an upper
  bound on every b-matching (exactly, in integers).
* When ``x2`` has no 1 the optimum is integral, hence an optimal b-matching.

Dual solution
-------------
The flow solver gives no duals, so :func:`relaxation_duals` recovers them from the residual graph
of the optimal flow: it has no negative cycle (optimality), so shortest-path distances ``d`` from a
virtual root (0 to every node) are feasible potentials, found by a vectorised Bellman-Ford. From
them the bipartite dual ``p_v' = d_v' - d_s``, ``q_v'' = d_t - d_v''`` (clipped at 0; the bypass
arc in both directions makes ``d_s = d_t``) and ``r_a = w_a - p - q`` on arcs with flow; averaging
the two copies gives a dual of the relaxation, in doubled units to stay integral:

``y2_v = p_v' + q_v''`` (node), ``z2_e = r_u'v'' + r_v'u''`` (edge bound ``x_e <= 1``),
``rc2_e = y2_u + y2_v + z2_e - 2 w_e >= 0`` (reduced cost), and ``sum(b y2) + sum(z2) = upper2``.

For any b-matching ``x`` this gives the identity

``upper2 - 2 w.x = sum(rc2_e x_e) + sum(y2_v slack_v) + sum(z2_e (1 - x_e))``

with every term >= 0, which :mod:`pbmatch.solvers.general_relax` uses to prove which edges no
better solution can use. The dual objective is checked against ``upper2`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pbmatch._status import OPTIMAL
from pbmatch.exceptions import SolverError
from pbmatch.solvers.general_problem import GeneralProblem
from pbmatch.solvers.status import map_status

__all__ = ["Duals", "Relaxation", "relaxation_duals", "solve_relaxation"]

IntArray = npt.NDArray[np.int64]

_SOLVER = "SimpleMinCostFlow"


@dataclass(frozen=True, eq=False)
class Relaxation:
    """An optimal half-integral solution of the fractional relaxation.

    Attributes
    ----------
    x2 : ndarray of int64, shape (p,)
        Twice the value of each edge: 0, 1 (half) or 2 (whole).
    upper2 : int
        Twice the relaxation's optimum, ``costs . x2``: twice an upper bound on every b-matching.
    message : str
        The flow solver's status.
    arc_tails, arc_heads, arc_caps, arc_costs, arc_flows : ndarray of int64
        The double-cover network and its optimal flow (for :func:`relaxation_duals`).
    """

    x2: IntArray
    upper2: int
    message: str
    arc_tails: IntArray
    arc_heads: IntArray
    arc_caps: IntArray
    arc_costs: IntArray
    arc_flows: IntArray

    @property
    def integral(self) -> bool:
        """True when no edge is at one half: the relaxation's optimum is a b-matching."""
        return not bool((self.x2 == 1).any())


@dataclass(frozen=True, eq=False)
class Duals:
    """A dual optimum of the relaxation, doubled (see the module notes).

    Attributes
    ----------
    y2 : ndarray of int64, shape (n,)
        Node duals, >= 0.
    z2 : ndarray of int64, shape (p,)
        Edge-bound duals, >= 0.
    rc2 : ndarray of int64, shape (p,)
        Reduced costs ``y2_u + y2_v + z2_e - 2 w_e``, >= 0; 0 on every edge with ``x2 > 0``.
    passes : int
        Bellman-Ford passes used.
    """

    y2: IntArray
    z2: IntArray
    rc2: IntArray
    passes: int


def solve_relaxation(problem: GeneralProblem) -> Relaxation:
    """Solve the fractional relaxation exactly with a min-cost flow on the double cover.

    Network (``n`` nodes, ``p`` edges): source ``s = 2n``, sink ``t = 2n + 1``; arcs
    ``s -> v'`` and ``v'' -> t`` of capacity ``b_v``, ``u' -> v''`` and ``v' -> u''`` of capacity
    1 and cost ``-w_uv``, and a bypass ``s -> t`` that makes every pair optional. ``2n + 2``
    nodes, ``2p + 2n + 1`` arcs.

    Raises
    ------
    SolverError
        The flow solver did not report an optimum (it cannot happen with costs scaled within
        :func:`pbmatch.solvers.scaling.max_safe_cost`).
    """
    n, p = problem.n_nodes, problem.n_edges
    a, b, c, cap = problem.tails, problem.heads, problem.costs, problem.capacity
    total = int(cap.sum())
    src, snk = 2 * n, 2 * n + 1
    nodes = np.arange(n, dtype=np.int64)
    tails = np.concatenate([a, b, np.full(n, src), nodes + n, [src]]).astype(np.int64)
    heads = np.concatenate([b + n, a + n, nodes, np.full(n, snk), [snk]]).astype(np.int64)
    caps = np.concatenate([np.ones(2 * p, np.int64), cap, cap, [total]]).astype(np.int64)
    costs = np.zeros(tails.size, dtype=np.int64)
    np.negative(c, out=costs[:p])
    np.negative(c, out=costs[p : 2 * p])

    from ortools.graph.python import min_cost_flow

    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    supplies = np.zeros(2 * n + 2, dtype=np.int64)
    supplies[src], supplies[snk] = total, -total
    solver.set_nodes_supplies(np.arange(2 * n + 2, dtype=np.int32), supplies)
    status, message = map_status(_SOLVER, solver.solve())
    if status != OPTIMAL:
        raise SolverError(f"the double-cover relaxation failed: {message}")
    flows = np.asarray(solver.flows(np.arange(tails.size, dtype=np.int32)), dtype=np.int64)
    x2 = flows[:p] + flows[p : 2 * p]
    upper2 = int(np.dot(c, x2))
    return Relaxation(x2, upper2, message, tails, heads, caps, costs, flows)


def _bellman_ford(
    n_nodes: int, tails: IntArray, heads: IntArray, costs: IntArray
) -> tuple[IntArray, int]:
    """Shortest distances from a virtual root joined to every node by a 0-cost arc.

    Vectorised: each pass relaxes every arc at once (``minimum.reduceat`` over arcs grouped by
    head). At most ``n_nodes`` passes; the residual graph of an optimal flow has no negative
    cycle, so a pass without change ends it.
    """
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    targets, starts = np.unique(heads, return_index=True)
    dist = np.zeros(n_nodes, dtype=np.int64)
    for passes in range(1, n_nodes + 2):
        best = np.minimum.reduceat(dist[tails] + costs, starts)
        current = dist[targets]
        better = best < current
        if not better.any():
            return dist, passes
        dist[targets[better]] = best[better]
    raise SolverError("negative cycle in the residual graph of an optimal flow")


def relaxation_duals(problem: GeneralProblem, relax: Relaxation) -> Duals:
    """Recover an optimal dual of the relaxation from the optimal double-cover flow.

    Raises
    ------
    SolverError
        The recovered dual is infeasible or its objective differs from ``upper2``: the flow was
        not optimal (never expected; checked exactly in integers).
    """
    n, p = problem.n_nodes, problem.n_edges
    a, b, c = problem.tails, problem.heads, problem.costs
    t, h, caps = relax.arc_tails, relax.arc_heads, relax.arc_caps
    cost, flow = relax.arc_costs, relax.arc_flows
    forward = flow < caps
    backward = flow > 0
    forward[-1] = backward[-1] = True  # the bypass both ways: d_s == d_t
    rt = np.concatenate([t[forward], h[backward]])
    rh = np.concatenate([h[forward], t[backward]])
    rc = np.concatenate([cost[forward], -cost[backward]])
    dist, passes = _bellman_ford(2 * n + 2, rt, rh, rc)
    ds, dt = dist[2 * n], dist[2 * n + 1]
    pl = np.maximum(dist[:n] - ds, 0)
    qr = np.maximum(dt - dist[n : 2 * n], 0)
    f_ab, f_ba = relax.arc_flows[:p], relax.arc_flows[p : 2 * p]
    r_ab = np.where(f_ab > 0, c - pl[a] - qr[b], 0)
    r_ba = np.where(f_ba > 0, c - pl[b] - qr[a], 0)
    y2 = pl + qr
    z2 = r_ab + r_ba
    rc2 = y2[a] + y2[b] + z2 - 2 * c
    objective = int(np.dot(problem.capacity, y2)) + int(z2.sum())
    if ds != dt or (r_ab < 0).any() or (r_ba < 0).any() or (rc2 < 0).any():
        raise SolverError("the recovered relaxation dual is infeasible")
    if objective != relax.upper2:
        raise SolverError(
            f"the recovered relaxation dual has objective {objective}, not {relax.upper2}"
        )
    return Duals(y2, z2, rc2, passes)
