"""The ``relaxation`` backend: half-integral relaxation, dual fixing, exact repair.

For a 1-matching (every capacity 1) step 3 below is replaced by Edmonds' blossom algorithm
warm-started from the relaxation's solution and duals (:mod:`~.general_blossom`): polynomial,
and on geometric neighbourhoods, whose relaxations leave an integrality gap that keeps most
edges in the CP-SAT repair, two orders of magnitude faster. If its final proof ever failed
(never expected), the CP-SAT repair below runs instead. b-matchings take the steps below.

1. Solve the fractional b-matching relaxation exactly on the bipartite double cover
   (:mod:`pbmatch.solvers.general_lp`): a half-integral optimum ``x2 / 2`` and twice its value,
   ``upper2``, an upper bound. If ``x2`` is integral it is an optimal b-matching: done.
2. Otherwise recover an optimal dual: node duals ``y2``, edge-bound duals ``z2``, reduced costs
   ``rc2 >= 0`` (all doubled, integers), and tighten it for free with one blossom inequality per
   connected component whose capacity total is odd (:func:`_odd_component_shift`). For every
   b-matching ``x``::

       upper2 - 2 w.x = sum(rc2_e x_e) + sum(y2_v slack_v) + sum(z2_e (1 - x_e)) + (>= 0)

   with every term >= 0. Write ``need(x) = upper2 - 2 w.x - 2``. A b-matching ``y`` better than
   ``x`` (``w.y >= w.x + 1``, integers) therefore uses only edges with ``rc2 <= need(x)``,
   uses every edge with ``z2 > need(x)`` and fills every node with ``y2 > need(x)``.
3. Repair in rounds, starting from ``x2`` rounded. Each round guesses a gap ``g`` (growing; the
   last possible guess is ``need(best)``) and solves exactly: *the best b-matching that uses
   only edges with rc2 <= g, uses every edge with z2 > g and fills every node with y2 > g*.
   The forced edges are taken out (their ends lose capacity), and the kept edges split into
   connected components:

   * a component on which ``x2`` is integral is solved by ``x2``: the original dual restricted
     to it is feasible and complementary to ``x2`` (so ``x2`` is optimal for the component's
     relaxation), and ``x2`` fills its nodes with ``y2 > 0`` and holds its edges with
     ``z2 > 0``;
   * the components holding half edges (the relaxation's odd cycles and what the kept edges
     join to them) go to CP-SAT (:mod:`~.general_cpsat`) in one model, warm-started from the
     best b-matching so far, with blossom inequalities for each component and each odd cycle
     (:func:`_blossom_cuts`), and with an equivalent objective of small coefficients
     (``2 w_e = y_u + y_v + z_e - rc_e``, dropping the constant duals of filled nodes).

   If the round's optimum (or the best so far) has ``need(best) <= g``, then every better
   b-matching would obey the round's rules, so none exists: optimal, proven. Otherwise the
   guess grows: by the reduced-cost quantile that keeps 4x more non-tight edges, at least to
   the next value where a rule changes and at least fourfold, never past ``need(best)``.
   At ``g = need(best)`` the round is exact on its own; when every edge is kept it is a plain
   CP-SAT model of the fractional part.

Only CP-SAT's time limit can stop a round early; the best b-matching so far is then returned
as ``"feasible"`` with the (shifted) relaxation's bound.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import ERROR, FEASIBLE, INFEASIBLE, OPTIMAL, Status
from pbmatch.exceptions import SolverError
from pbmatch.solvers import general_blossom, general_cpsat
from pbmatch.solvers.general_lp import relaxation_duals, solve_relaxation
from pbmatch.solvers.general_problem import GeneralProblem, GeneralSolution, components

__all__ = ["solve"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_FIRST_EXTRA = 64
"""Non-tight edges kept (beyond the tight ones) by the first round's guess."""
_GROWTH = 4
"""Factor by which the number of non-tight edges kept grows from round to round."""


def _round_half(problem: GeneralProblem, x2: IntArray) -> BoolArray:
    """A b-matching from a half-integral solution: its whole edges, then its half edges by
    weight (heaviest first) while both ends have room."""
    chosen: BoolArray = np.equal(x2, 2)
    room = problem.capacity.copy()
    np.subtract.at(room, problem.tails[chosen], 1)
    np.subtract.at(room, problem.heads[chosen], 1)
    half = np.flatnonzero(x2 == 1)
    half = half[np.argsort(-problem.costs[half], kind="stable")]
    tails, heads = problem.tails.tolist(), problem.heads.tolist()
    for e in half.tolist():
        u, v = tails[e], heads[e]
        if room[u] > 0 and room[v] > 0:
            chosen[e] = True
            room[u] -= 1
            room[v] -= 1
    return chosen


def _odd_component_shift(
    problem: GeneralProblem, y2: IntArray, upper2: int
) -> tuple[IntArray, int]:
    """Tighten the relaxation's dual with one blossom inequality per odd component.

    For a connected component ``C`` with an odd capacity total ``b(C)``, every b-matching has
    ``x(E(C)) <= (b(C) - 1) / 2`` (each edge inside uses two units). Lowering the node duals of
    ``C`` by ``d = min(y2 over C)`` and giving that inequality the dual ``2d`` keeps every
    reduced cost (no edge leaves a component) and lowers the bound ``upper2`` by ``d``; the
    identity of the module notes gains the term ``d (b(C) - 1 - 2 x(E(C))) >= 0``. This closes
    the whole gap of, for example, a maximum-cardinality matching on an odd number of nodes.
    """
    labels = components(problem.n_nodes, problem.tails, problem.heads)
    odd = (np.bincount(labels, weights=problem.capacity, minlength=problem.n_nodes) % 2) == 1
    if not odd.any():
        return y2, upper2
    lowest = np.full(problem.n_nodes, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, labels, y2)
    shift = np.where(odd, lowest, 0)
    shift[lowest == np.iinfo(np.int64).max] = 0
    return y2 - shift[labels], upper2 - int(shift.sum())


def _blossom_cuts(
    tails: IntArray,
    heads: IntArray,
    room: IntArray,
    component: IntArray,
    half: BoolArray,
    whole: BoolArray,
) -> list[tuple[IntArray, int]]:
    """Blossom inequalities for a sub-problem (local node indices), to help CP-SAT's LP.

    For a node set ``S`` and edges ``F`` leaving it, every b-matching has
    ``2 x(E(S)) + x(delta(S)) <= b(S)`` and ``x(F) <= |F|``, so
    ``x(E(S)) + x(F) <= floor((b(S) + |F|) / 2)``: a cut when ``b(S) + |F|`` is odd. Used for
    each connected component (``F`` empty) and for each odd cycle of the relaxation (its
    nodes, with ``F`` the whole edges of the relaxation leaving it), which the relaxation
    violates by one half.
    """
    n = room.size
    cuts: list[tuple[IntArray, int]] = []
    families = [np.unique(component, return_inverse=True)[1].astype(np.int64)]
    if half.any():
        cyc = components(n, tails[half], heads[half])
        on_cycle = np.zeros(n, dtype=bool)
        on_cycle[tails[half]] = on_cycle[heads[half]] = True
        labels = np.full(n, -1, dtype=np.int64)
        labels[on_cycle] = np.unique(cyc[on_cycle], return_inverse=True)[1]
        families.append(labels)
    for k, labels in enumerate(families):
        lt, lh = labels[tails], labels[heads]
        inside = (lt == lh) & (lt >= 0)
        n_sets = int(labels.max()) + 1
        budget = np.bincount(labels[labels >= 0], weights=room[labels >= 0], minlength=n_sets)
        budget = budget.astype(np.int64)
        members: list[IntArray] = [np.flatnonzero(inside & (lt == s)) for s in range(n_sets)]
        if k > 0:  # odd cycles: add the relaxation's whole edges leaving the set
            leaving = whole & (lt != lh)
            for side in (lt, lh):
                out = np.flatnonzero(leaving & (side >= 0))
                for s in range(n_sets):
                    chosen = out[side[out] == s]
                    members[s] = np.concatenate([members[s], chosen])
                    budget[s] += chosen.size
        for s in range(n_sets):
            edges = np.unique(members[s])
            rhs = int(budget[s]) // 2
            if budget[s] % 2 == 1 and edges.size > rhs:
                cuts.append((edges, rhs))
    return cuts


def solve(problem: GeneralProblem) -> GeneralSolution:
    """Solve a :class:`GeneralProblem` exactly (see the module notes).

    Notes
    -----
    The relaxation is one min-cost flow on ``2n + 2`` nodes and ``2p + 2n + 1`` arcs; the dual
    recovery a vectorised Bellman-Ford of at most ``2n + 2`` passes of ``O(p + n)``. The repair
    solves only the fractional components of the kept edges, typically a few dozen to a few
    hundred edges. Deterministic: every step is, and CP-SAT runs with one worker and a seed.
    """
    started = time.perf_counter()
    deadline = None if problem.time_limit is None else started + problem.time_limit
    relax = solve_relaxation(problem)
    half = relax.x2 == 1
    stats: dict[str, Any] = {
        "half_edges": int(half.sum()),
        "upper2": relax.upper2,
        "rounds": 0,
        "cpsat_edges": 0,
        "cpsat_nodes": 0,
    }
    if relax.integral:
        message = f"the double-cover relaxation is integral ({relax.message})"
        return GeneralSolution(relax.x2 == 2, OPTIMAL, message, relax.upper2, stats)

    duals = relaxation_duals(problem, relax)
    rc2, z2 = duals.rc2, duals.z2
    stats["bellman_ford_passes"] = duals.passes
    if bool((problem.capacity == 1).all()):
        try:
            chosen, blossom = general_blossom.solve_warm(problem, relax.x2, duals.y2, z2)
        except (SolverError, RecursionError) as exc:  # never expected; CP-SAT is exact too
            stats["blossom_failed"] = f"{type(exc).__name__}: {exc}"
        else:
            stats.update({f"blossom_{key}": value for key, value in blossom.items()})
            message = (
                f"optimal, proven by a dual of equal value; double-cover relaxation with "
                f"{stats['half_edges']} half edges, then {blossom['searches']} blossom "
                f"search(es) from {blossom['roots']} exposed vertices ({relax.message})"
            )
            return GeneralSolution(
                chosen, OPTIMAL, message, 2 * int(problem.costs[chosen].sum()), stats
            )
    y2, upper2 = _odd_component_shift(problem, duals.y2, relax.upper2)
    stats["upper2"] = upper2
    sorted_rc = np.sort(rc2)
    n_tight = int(np.searchsorted(sorted_rc, 0, side="right"))
    tails, heads, costs, capacity = problem.tails, problem.heads, problem.costs, problem.capacity
    n, p = problem.n_nodes, problem.n_edges
    whole = relax.x2 == 2

    # The thresholds at which the rules below change: a guess between two of them is no
    # better than the lower one.
    steps = np.unique(np.concatenate([rc2, y2, z2]))
    best = _round_half(problem, relax.x2)
    lb = int(costs[best].sum())
    extra = _FIRST_EXTRA
    guess = -1
    names: list[str] = []

    def finish(status: Status, why: str) -> GeneralSolution:
        message = (
            f"{why}; double-cover relaxation with {stats['half_edges']} half edges, "
            f"{stats['rounds']} round(s) of exact repair, at most {stats['cpsat_edges']} edges "
            f"for CP-SAT ({', '.join(names) or 'not called'}; {relax.message})"
        )
        return GeneralSolution(best, status, message, upper2, stats)

    while True:
        # need(x) = upper2 - 2 w.x - 2. A b-matching y with w.y >= w.x + 1 has
        # sum(rc2 y) + sum(y2 slack) + sum(z2 (1 - y)) = upper2 - 2 w.y <= need(x) (module
        # notes), so every edge of y has rc2 <= need(x), every edge with z2 > need(x) is in y
        # and every node with y2 > need(x) is full in y.
        need = upper2 - 2 * lb - 2
        if need < 0:
            return finish(OPTIMAL, "optimal, proven")
        # Guess that the optimum is within `guess` of the bound: keep the edges with
        # rc2 <= guess, force those with z2 > guess, fill the nodes with y2 > guess.
        # Keep `extra` more edges than the tight ones, `extra` growing fourfold a round; and
        # move at least to the next threshold and by a factor of four, so that every round
        # differs from the last and the rounds are few. Once every edge is kept, go to `need`.
        if n_tight + extra >= p:
            guess = need
        else:
            above = int(np.searchsorted(steps, guess, side="right"))
            next_step = int(steps[above]) if above < steps.size else need
            quantile = int(sorted_rc[n_tight + extra - 1])
            guess = min(need, max(quantile, next_step, _GROWTH * guess))
        extra *= _GROWTH
        forced = z2 > guess
        room = capacity - np.bincount(tails[forced], minlength=n)
        room -= np.bincount(heads[forced], minlength=n)
        if (room < 0).any():
            if guess == need:
                return finish(OPTIMAL, "optimal, proven (no better b-matching has room)")
            continue
        active = (rc2 <= guess) & ~forced & (room[tails] > 0) & (room[heads] > 0)
        labels = components(n, tails[active], heads[active])
        fractional = np.zeros(n, dtype=bool)
        fractional[labels[tails[half]]] = True
        sub = np.flatnonzero(active & fractional[labels[tails]])
        nodes, local = np.unique(np.concatenate([tails[sub], heads[sub]]), return_inverse=True)
        fill = y2[nodes] > guess
        cuts = _blossom_cuts(
            local[: sub.size].astype(np.int64),
            local[sub.size :].astype(np.int64),
            room[nodes],
            labels[nodes],
            half[sub],
            whole[sub],
        )
        remaining = None if deadline is None else deadline - time.perf_counter()
        # An equivalent objective with small coefficients: 2 w_e = y_u + y_v + z_e - rc_e
        # (original duals), and a filled node has a fixed degree, so its dual adds a constant
        # and is dropped. This takes out the large common parts of the weights (the
        # maxcardinality offset, the perturbation factor) that slow CP-SAT's LP down.
        y_open = np.where(y2 > guess, 0, duals.y2)
        objective = y_open[tails[sub]] + y_open[heads[sub]] + z2[sub] - rc2[sub]
        out = general_cpsat.solve_edges(
            local[: sub.size].astype(np.int64),
            local[sub.size :].astype(np.int64),
            objective,
            room[nodes],
            lower=np.where(fill, room[nodes], 0),
            hint=best[sub],
            cuts=cuts,
            time_limit=remaining,
        )
        stats["rounds"] += 1
        stats["cpsat_edges"] = max(stats["cpsat_edges"], int(sub.size))
        stats["cpsat_nodes"] = max(stats["cpsat_nodes"], int(nodes.size))
        names.append(out.name)
        if out.status in (OPTIMAL, FEASIBLE):
            # Whole edges (the forced ones among them) outside the sub-problem, which solve
            # their components: each is optimal for its own relaxation.
            candidate = whole.copy()
            candidate[sub] = out.chosen
            value = int(costs[candidate].sum())
            if value > lb:
                best, lb = candidate, value
        if out.status == OPTIMAL or out.status == INFEASIBLE:
            # The rules above are now an optimum (or nothing) among all b-matchings within
            # `guess` of the bound: if need(best) <= guess, nothing beats `best`.
            if upper2 - 2 * lb - 2 <= guess:
                return finish(OPTIMAL, "optimal, proven")
            continue
        # A time limit (FEASIBLE, UNKNOWN) or a failure (MODEL_INVALID, never expected).
        return finish(
            ERROR if out.status == ERROR else FEASIBLE,
            f"stopped: CP-SAT status {out.name} on {sub.size} of {p} edges in round "
            f"{stats['rounds']}; the best b-matching found, bounded by the relaxation",
        )
