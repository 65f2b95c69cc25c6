"""Joint Party branches (联合党支部): small units grouped, street by street.

A unit with fewer than ``min_members`` full Party members cannot form a branch of its own
(communities and villages aside). Small units of one street are grouped into joint branches of
at most ``max_units`` units whose members total between ``min_members`` and ``max_members``:
地域相邻 (one street, optionally all within ``max_km`` of each other), 行业相近 (same industry
preferred), 规模适当 (the member limits).

Encode → solve → decode, street by street (streets are independent):

1. *enumerate* every feasible group of the street's small units (vectorised, growing sorted
   index sets; the member total only grows, so ``max_members`` prunes as it goes);
2. *solve* the weighted set packing over those groups exactly
   (:func:`pbmatch.solvers.cpsat.solve_set_packing`), with one integer objective that is
   lexicographic: most units covered, then least total pairwise distance within groups, then
   most same-industry pairs;
3. *decode* groups to unit ids and give every uncovered small unit its reason.

A street with too many small units to enumerate (more than ``max_groups`` groups) is solved
with :func:`compact_model` instead, the plain CP-SAT group-assignment model, within
``time_limit``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pbmatch._status import FEASIBLE, INFEASIBLE, NOT_SOLVED, OPTIMAL, Status
from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS, RECEIVER_KINDS
from pbmatch.results import JointBranchesResult
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.cpsat import (
    CpsatSolution,
    dominating_weights,
    relative_gap,
    solve_model,
    solve_set_packing,
)

__all__ = [
    "DISTANCE_RESOLUTION_KM",
    "DP_MAX_UNITS",
    "MAX_GROUPS",
    "StreetProblem",
    "compact_model",
    "enumerate_groups",
    "form_joint_branches",
    "street_problems",
    "subset_dp",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DISTANCE_RESOLUTION_KM = 2.0**-10
"""Distances enter the solver in steps of 1/1024 km (about 1 m), rounded to nearest."""
DP_MAX_UNITS = 16
"""Streets with at most this many small units are solved by :func:`subset_dp`."""
MAX_GROUPS = 300_000
"""A street with more feasible groups than this is solved with the compact model instead."""

_NO_STREET = "not inside any street or township"
_NO_LOCATION = "has no location (lat/lon); distances to it are unknown"
_ALONE = "no other small unit in its street"
_TOO_FAR = "no other small unit of its street within max_km"
_NO_GROUP = (
    "no group of at most {max_units} small units of its street (within max_km) has "
    "{min_members}–{max_members} full members"
)
_LEFT_OUT = (
    "left out of the optimal grouping: each group it could join would cover fewer units in "
    "all, or add distance"
)


@dataclass(frozen=True, eq=False)
class StreetProblem:
    """The small units of one street, ready to solve.

    Attributes
    ----------
    street : str
        Region id of the street or township.
    units : ndarray of int64
        Graph indices of its small units (with a location), ascending.
    members : ndarray of int64
    km : ndarray of float, shape (n, n)
        Pairwise great-circle distances.
    compatible : ndarray of bool, shape (n, n)
        Pairs that may share a group (within ``max_km``; never a unit with itself).
    same_industry : ndarray of bool, shape (n, n)
        Pairs sharing a tag.
    """

    street: str
    units: IntArray
    members: IntArray
    km: FloatArray
    compatible: BoolArray
    same_industry: BoolArray

    @property
    def size(self) -> int:
        return int(self.units.size)


def _int_iv(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} is {value!r}; it must be an int >= {minimum}")
    return int(value)


def _positive_iv(name: str, value: object) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        raise InputError(f"{name} is {value!r}; it must be a number > 0 or None")
    return float(value)  # type: ignore[arg-type]


def street_problems(
    graph: RegionGraph, *, min_members: int, max_km: float | None
) -> tuple[list[StreetProblem], dict[int, str]]:
    """The small units of ``graph`` street by street, and the reasons of those left out.

    Returns
    -------
    problems : list of StreetProblem
        One per street with at least one small unit, in region order.
    excluded : dict of int to str
        Graph index → reason, for small units outside every street or without a location.
    """
    receiver = np.isin(graph.kinds, [KINDS.index(k) for k in sorted(RECEIVER_KINDS)])
    small = np.flatnonzero(~receiver & (graph.members < min_members))
    street = graph.region_codes("street")[small]
    located = ~(np.isnan(graph.lat[small]) | np.isnan(graph.lon[small]))
    excluded = {int(u): _NO_STREET for u in small[street < 0].tolist()}
    excluded.update({int(u): _NO_LOCATION for u in small[(street >= 0) & ~located].tolist()})
    keep = (street >= 0) & located
    small, street = small[keep], street[keep]
    problems: list[StreetProblem] = []
    tags = [frozenset(u.tags) for u in graph.units]
    for code in np.unique(street).tolist():
        units = small[street == code]
        lat, lon = graph.lat[units], graph.lon[units]
        km = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        compatible = np.ones(km.shape, dtype=bool) if max_km is None else km <= max_km
        np.fill_diagonal(compatible, False)
        unit_tags = [tags[u] for u in units.tolist()]
        same = np.array([[bool(a & b) for b in unit_tags] for a in unit_tags], dtype=bool)
        problems.append(
            StreetProblem(
                street=graph.region_ids[code],
                units=units.astype(np.int64),
                members=graph.members[units].astype(np.int64),
                km=km,
                compatible=compatible,
                same_industry=same.reshape(km.shape),
            )
        )
    return problems, excluded


def enumerate_groups(
    problem: StreetProblem,
    *,
    max_units: int,
    min_members: int,
    max_members: int,
    limit: int = MAX_GROUPS,
) -> IntArray | None:
    """Every feasible group of a street, as rows of local indices padded with ``-1``.

    A group has 2 .. ``max_units`` pairwise compatible units whose members total
    ``min_members`` .. ``max_members``. Returns ``None`` when there are more than ``limit``.

    Examples
    --------
    >>> import numpy as np
    >>> p = StreetProblem("s", np.arange(3), np.array([1, 2, 2]), np.zeros((3, 3)),
    ...                   ~np.eye(3, dtype=bool), np.zeros((3, 3), dtype=bool))
    >>> enumerate_groups(p, max_units=3, min_members=3, max_members=4).tolist()
    [[0, 1, -1], [0, 2, -1], [1, 2, -1]]
    """
    n = problem.size
    members = problem.members
    sets = np.arange(n, dtype=np.int64)[:, None]
    totals = members.copy()
    found: list[IntArray] = []
    count = 0
    for size in range(2, max_units + 1):
        last = sets[:, -1]
        extra = n - 1 - last
        which = np.repeat(np.arange(sets.shape[0], dtype=np.int64), extra)
        start = np.repeat(np.cumsum(extra) - extra, extra)
        nxt = last[which] + 1 + np.arange(which.size, dtype=np.int64) - start
        ok = totals[which] + members[nxt] <= max_members
        for col in range(sets.shape[1]):
            ok &= problem.compatible[sets[which, col], nxt]
        sets = np.concatenate([sets[which[ok]], nxt[ok, None]], axis=1)
        totals = totals[which[ok]] + members[nxt[ok]]
        valid = totals >= min_members
        count += int(valid.sum())
        if count > limit:
            return None
        if valid.any():
            block = np.full((int(valid.sum()), max_units), -1, dtype=np.int64)
            block[:, :size] = sets[valid]
            found.append(block)
        if sets.shape[0] == 0:
            break
    if not found:
        return np.zeros((0, max_units), dtype=np.int64)
    return np.concatenate(found)


def _pair_terms(problem: StreetProblem, groups: IntArray) -> tuple[IntArray, IntArray]:
    """Per group: total pairwise distance (in resolution steps) and same-industry pairs."""
    d_int = np.rint(problem.km / DISTANCE_RESOLUTION_KM).astype(np.int64)
    same = problem.same_industry.astype(np.int64)
    width = groups.shape[1]
    dist = np.zeros(groups.shape[0], dtype=np.int64)
    pairs = np.zeros(groups.shape[0], dtype=np.int64)
    for a in range(width):
        for b in range(a + 1, width):
            both = (groups[:, a] >= 0) & (groups[:, b] >= 0)
            i, j = np.maximum(groups[:, a], 0), np.maximum(groups[:, b], 0)
            dist += np.where(both, d_int[i, j], 0)
            pairs += np.where(both, same[i, j], 0)
    return dist, pairs


def _level_weights(problem: StreetProblem, max_units: int) -> tuple[int, int, int, int]:
    """Dominating weights of (units covered, -distance, same-industry pairs) for a street,
    and the span of the distance level."""
    d_int = np.rint(problem.km / DISTANCE_RESOLUTION_KM).astype(np.int64)
    reach = np.where(problem.compatible, d_int, 0).max(axis=1, initial=0)
    # Total pairwise distance = 1/2 sum_u sum_(v in u's group) d(u, v) <= 1/2 sum_u (k-1) max_u.
    span_d = -(-(max_units - 1) * int(reach.sum()) // 2)
    span_t = -(-(max_units - 1) * problem.size // 2)
    w_units, w_dist, w_pairs = dominating_weights([problem.size, span_d, span_t])
    return w_units, w_dist, w_pairs, span_d


@dataclass(frozen=True, eq=False)
class _StreetSolution:
    groups: list[IntArray]  # local indices of each chosen group
    status: Status
    bound_units: int
    message: str
    method: str
    n_groups: int | None


def _solve_street(
    problem: StreetProblem,
    *,
    max_units: int,
    min_members: int,
    max_members: int,
    time_limit: float | None,
    max_groups: int,
) -> tuple[_StreetSolution, IntArray | None]:
    groups = enumerate_groups(
        problem,
        max_units=max_units,
        min_members=min_members,
        max_members=max_members,
        limit=max_groups,
    )
    w_units, w_dist, w_pairs, span_d = _level_weights(problem, max_units)
    if groups is None:
        return (
            _solve_compact(
                problem,
                max_units=max_units,
                min_members=min_members,
                max_members=max_members,
                time_limit=time_limit,
            ),
            None,
        )
    sizes = (groups >= 0).sum(axis=1).astype(np.int64)
    dist, pairs = _pair_terms(problem, groups)
    weights = w_units * sizes - w_dist * dist + w_pairs * pairs
    if problem.size <= DP_MAX_UNITS:
        picked, value = subset_dp(groups, weights, problem.size)
        solution = _StreetSolution(
            groups=[groups[k][groups[k] >= 0] for k in picked.tolist()],
            status=OPTIMAL,
            bound_units=int(sizes[picked].sum()),
            message=f"{problem.street}: subset DP over {groups.shape[0]} groups, objective {value}",
            method="subset_dp",
            n_groups=int(groups.shape[0]),
        )
        return solution, groups
    indptr = np.zeros(groups.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    indices = groups[groups >= 0].astype(np.int64)
    # A packing is worth at most w_units * units + w_pairs * span_t (= w_dist - 1).
    packing = solve_set_packing(
        indptr, indices, weights, problem.size,
        time_limit=time_limit, element_weight=(w_units, w_dist - 1),
    )  # fmt: skip
    chosen = [groups[k][groups[k] >= 0] for k in np.flatnonzero(packing.chosen).tolist()]
    # weight = w_units * units - w_dist * distance + w_pairs * pairs, distance <= span_d.
    bound_units = (packing.bound + w_dist * span_d) // w_units if packing.success else problem.size
    solution = _StreetSolution(
        groups=chosen,
        status=packing.status,
        bound_units=int(min(bound_units, problem.size)),
        message=f"{problem.street}: {packing.message}",
        method="set_packing",
        n_groups=int(groups.shape[0]),
    )
    return solution, groups


def subset_dp(groups: IntArray, weights: IntArray, n: int) -> tuple[IntArray, int]:
    """Exact weighted set packing of ``n <= 20`` elements by dynamic programming over subsets.

    ``f[S]`` is the best packing of groups inside the set ``S``; with ``i`` the smallest
    element of ``S``, either ``i`` stays uncovered (``f[S - i]``) or a group ``g`` whose smallest
    element is ``i`` is taken (``w_g + f[S - g]``). Sets are processed by their smallest
    element, from the largest down, so every subproblem is solved before it is needed; each
    group updates all the sets that contain it at once (numpy). Time
    ``O(sum over groups of 2 ** (n - 1 - smallest element))``, memory ``O(2 ** n)``. Ties keep the
    earlier choice (uncovered before groups, groups in the given order): deterministic.

    Returns
    -------
    chosen : ndarray of int64
        Indices of the chosen groups, ascending.
    value : int
        Their total weight.

    Examples
    --------
    >>> import numpy as np
    >>> groups = np.array([[0, 1], [1, 2], [0, 2]])
    >>> subset_dp(groups, np.array([5, 7, 6]), 3)
    (array([1]), 7)
    """
    valid = groups >= 0
    bits = np.where(valid, np.left_shift(1, np.maximum(groups, 0)), 0).sum(axis=1)
    lowest = np.where(valid, groups, n).min(axis=1)
    f = np.zeros(1 << n, dtype=np.int64)
    choice = np.full(1 << n, -1, dtype=np.int64)
    order = np.argsort(lowest, kind="stable")
    starts = np.searchsorted(lowest[order], np.arange(n + 1))
    for i in range(n - 1, -1, -1):
        layer = (np.arange(1 << (n - 1 - i), dtype=np.int64) << (i + 1)) | (1 << i)
        f[layer] = f[layer ^ (1 << i)]
        for k in order[starts[i] : starts[i + 1]].tolist():
            g = int(bits[k])
            inside = layer[(layer & g) == g]
            value = weights[k] + f[inside ^ g]
            better = value > f[inside]
            f[inside[better]] = value[better]
            choice[inside[better]] = k
    chosen: list[int] = []
    mask = (1 << n) - 1
    while mask:
        low = mask & -mask
        k = int(choice[mask])
        if k < 0:
            mask ^= low
        else:
            chosen.append(k)
            mask ^= int(bits[k])
    return np.sort(np.asarray(chosen, dtype=np.int64)), int(f[(1 << n) - 1])


def compact_model(
    problem: StreetProblem, *, max_units: int, min_members: int, max_members: int
) -> tuple[object, dict[tuple[int, int], object]]:
    """The plain CP-SAT group-assignment model of one street (the peer of enumeration).

    Each group is named by its smallest member ``r`` (which breaks the symmetry between
    groups): ``x[r, v]`` says unit ``v >= r`` is in ``r``'s group, ``x[r, r]`` that the
    group exists. Pairs ``y[r, v, w] = x[r, v] AND x[r, w]`` carry the distance and industry
    terms. Same lexicographic weights as the enumeration.

    Returns
    -------
    model : ortools.sat.python.cp_model.CpModel
    x : dict of (r, v) to BoolVar
    """
    from ortools.sat.python import cp_model

    n = problem.size
    w_units, w_dist, w_pairs, _ = _level_weights(problem, max_units)
    d_int = np.rint(problem.km / DISTANCE_RESOLUTION_KM).astype(np.int64)
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for r in range(n):
        x[r, r] = model.new_bool_var(f"open_{r}")
        for v in range(r + 1, n):
            if problem.compatible[r, v]:
                x[r, v] = model.new_bool_var(f"x_{r}_{v}")
                model.add_implication(x[r, v], x[r, r])
    objective: list[cp_model.LinearExprT] = []
    for v in range(n):
        model.add_at_most_one([x[r, v] for r in range(v + 1) if (r, v) in x])
    for r in range(n):
        in_group = [v for v in range(r, n) if (r, v) in x]
        size = sum(x[r, v] for v in in_group)
        model.add(size <= max_units)
        model.add(size >= 2 * x[r, r])
        total = sum(int(problem.members[v]) * x[r, v] for v in in_group)
        model.add(total >= min_members * x[r, r])
        model.add(total <= max_members)
        objective.append(w_units * size)
        for i, v in enumerate(in_group):
            for w in in_group[i + 1 :]:
                if not problem.compatible[v, w]:
                    model.add_bool_or([x[r, v].Not(), x[r, w].Not()])
                    continue
                y = model.new_bool_var(f"y_{r}_{v}_{w}")
                model.add_multiplication_equality(y, [x[r, v], x[r, w]])
                coefficient = -w_dist * int(d_int[v, w]) + w_pairs * int(
                    problem.same_industry[v, w]
                )
                if coefficient:
                    objective.append(coefficient * y)
    model.maximize(sum(objective))
    return model, dict(x)


def _solve_compact(
    problem: StreetProblem,
    *,
    max_units: int,
    min_members: int,
    max_members: int,
    time_limit: float | None,
) -> _StreetSolution:
    from ortools.sat.python import cp_model

    model, x = compact_model(
        problem, max_units=max_units, min_members=min_members, max_members=max_members
    )
    assert isinstance(model, cp_model.CpModel)
    out: CpsatSolution = solve_model(model, time_limit=time_limit)
    w_units, w_dist, _, span_d = _level_weights(problem, max_units)
    groups: list[IntArray] = []
    if out.success:
        for r in range(problem.size):
            if out.values[x[r, r].index]:  # type: ignore[attr-defined]
                members = [v for v in range(r, problem.size) if (r, v) in x]
                chosen = [v for v in members if out.values[x[r, v].index]]  # type: ignore[attr-defined]
                groups.append(np.asarray(chosen, dtype=np.int64))
    bound = (out.bound + w_dist * span_d) // w_units if out.success else problem.size
    return _StreetSolution(
        groups=groups,
        status=out.status,
        bound_units=int(min(bound, problem.size)),
        message=f"{problem.street}: " + out.message("CP-SAT compact model:"),
        method="compact",
        n_groups=None,
    )


def _reasons(
    problem: StreetProblem,
    groups: IntArray | None,
    covered: BoolArray,
    *,
    max_units: int,
    min_members: int,
    max_members: int,
) -> list[str]:
    """Why each uncovered unit of a street is uncovered ('' for covered ones)."""
    n = problem.size
    in_some = np.zeros(n, dtype=bool)
    if groups is not None:
        in_some[groups[groups >= 0]] = True
    else:
        in_some[:] = True  # not enumerated: groups may exist
    rule = _NO_GROUP.format(max_units=max_units, min_members=min_members, max_members=max_members)
    out: list[str] = []
    for i in range(n):
        if covered[i]:
            out.append("")
        elif n == 1:
            out.append(_ALONE)
        elif not problem.compatible[i].any():
            out.append(_TOO_FAR)
        elif not in_some[i]:
            out.append(rule)
        else:
            out.append(_LEFT_OUT)
    return out


def form_joint_branches(
    graph: RegionGraph,
    *,
    max_units: int = 5,
    min_members: int = 3,
    max_members: int = 50,
    max_km: float | None = None,
    time_limit: float | None = None,
    max_groups: int = MAX_GROUPS,
) -> JointBranchesResult:
    """Group small units into joint Party branches (联合党支部), street by street.

    A *small unit* is any unit but a community or village with fewer than ``min_members``
    full members. Each joint branch lies inside one street (or township), has 2 ..
    ``max_units`` small units, and their members total ``min_members`` .. ``max_members``;
    with ``max_km``, its units are pairwise at most that far apart.

    Parameters
    ----------
    graph : RegionGraph
    max_units : int, default 5
        Most units in one joint branch (一般不超过5个).
    min_members : int, default 3
        Fewest full members of a branch; also the size below which a unit is small.
    max_members : int, default 50
        Most members of a branch.
    max_km : float, optional
        Most distance between any two units of a branch (地域相邻).
    time_limit : float, optional
        Seconds for each street's solve; without it each runs to proof.
    max_groups : int, default 300,000
        A street with more feasible groups than this is solved with the compact CP-SAT
        model instead of by enumeration (usually then within ``time_limit`` with a bound).

    Returns
    -------
    JointBranchesResult
        ``groups`` (tuples of unit ids), ``uncovered`` (unit id → reason), ``objective``
        (small units covered), ``total_km``, ``same_industry_pairs``, ``bound``, ``gap``;
        ``to_pandas()`` has one row per small unit: ``group`` (``None`` if uncovered),
        ``unit``, ``street``, ``members``, ``industry``, ``reason``.

    Raises
    ------
    InputError
        A bad argument (``max_members < min_members``, ``max_units < 2`` ...).

    Notes
    -----
    Lexicographic objective, exact: (1) most small units covered, (2) least total pairwise
    distance within groups, (3) most pairs within groups that share an industry tag. It is one
    integer objective ``w1 * units - w2 * distance + w3 * pairs`` whose weights
    (:func:`pbmatch.solvers.cpsat.dominating_weights`) make each level outweigh every possible
    change of the next ones: the distance span is bounded by
    ``(max_units - 1) / 2 * sum_u (largest distance from u to a unit it may join)``, the pairs
    by ``(max_units - 1) / 2 * units``. Distances are rounded to
    :data:`DISTANCE_RESOLUTION_KM` (``result.resolution``), so level (2) is exact to about a
    metre per pair.

    Each street is exact on its own: all feasible groups are enumerated and the set packing is
    solved by CP-SAT to proof; the district's answer is the union, optimal when every street
    is, and ``bound`` (units) is the sum of the streets' proven bounds. Deterministic (one
    CP-SAT worker, seed 0), unless a time limit stops a street.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district
    >>> graph = synthetic_district(seed=0)
    >>> result = form_joint_branches(graph)
    >>> result.status, len(result.groups) > 0
    ('optimal', True)
    >>> frame = result.to_pandas()
    >>> list(frame.columns)
    ['group', 'unit', 'street', 'members', 'industry', 'reason']
    >>> all(3 <= sum(graph.unit(u).members for u in g) <= 50 for g in result.groups)
    True
    """
    started = time.perf_counter()
    if not isinstance(graph, RegionGraph):
        raise InputError(f"graph is a {type(graph).__name__}; pass a pbmatch.RegionGraph")
    max_units = _int_iv("max_units", max_units, 2)
    min_members = _int_iv("min_members", min_members, 1)
    max_members = _int_iv("max_members", max_members, 1)
    max_groups = _int_iv("max_groups", max_groups, 1)
    if max_members < min_members:
        raise InputError(
            f"max_members is {max_members}, below min_members {min_members}; "
            "a branch needs max_members >= min_members"
        )
    km_limit = _positive_iv("max_km", max_km)
    seconds = _positive_iv("time_limit", time_limit)

    problems, excluded = street_problems(graph, min_members=min_members, max_km=km_limit)
    groups_out: list[tuple[str, ...]] = []
    group_names: list[str] = []
    group_street: list[str] = []
    reasons: dict[str, str] = {graph.ids[u]: why for u, why in excluded.items()}
    statuses: list[Status] = []
    bound_units = 0
    messages: list[str] = []
    per_street: list[dict[str, object]] = []
    for problem in problems:
        solution, groups = _solve_street(
            problem,
            max_units=max_units,
            min_members=min_members,
            max_members=max_members,
            time_limit=seconds,
            max_groups=max_groups,
        )
        statuses.append(solution.status)
        bound_units += solution.bound_units
        messages.append(solution.message)
        covered = np.zeros(problem.size, dtype=bool)
        ordered = sorted(solution.groups, key=lambda g: int(g[0]))
        for k, local in enumerate(ordered):
            covered[local] = True
            groups_out.append(tuple(graph.ids[problem.units[local]].tolist()))
            group_names.append(f"{problem.street}-J{k + 1:02d}")
            group_street.append(problem.street)
        why = _reasons(
            problem,
            groups,
            covered,
            max_units=max_units,
            min_members=min_members,
            max_members=max_members,
        )
        for i, text in enumerate(why):
            if text:
                reasons[str(graph.ids[problem.units[i]])] = text
        per_street.append(
            {
                "street": problem.street,
                "small_units": problem.size,
                "covered": int(covered.sum()),
                "bound": solution.bound_units,
                "status": solution.status,
                "method": solution.method,
                "groups_enumerated": solution.n_groups,
            }
        )
    if any(s not in (OPTIMAL, FEASIBLE) for s in statuses):
        bad = [s for s in statuses if s not in (OPTIMAL, FEASIBLE)]
        status: Status = INFEASIBLE if INFEASIBLE in bad else bad[0] if bad else NOT_SOLVED
    elif all(s == OPTIMAL for s in statuses):
        status = OPTIMAL
    else:
        status = FEASIBLE
    covered_total = sum(len(g) for g in groups_out)
    idx = {u: i for i, u in enumerate(graph.ids.tolist())}
    total_km = 0.0
    same_pairs = 0
    tags = [frozenset(u.tags) for u in graph.units]
    for group in groups_out:
        pos = np.array([idx[u] for u in group], dtype=np.int64)
        km = haversine_km(
            graph.lat[pos][:, None], graph.lon[pos][:, None], graph.lat[pos], graph.lon[pos]
        )
        total_km += float(np.triu(km, 1).sum())
        same_pairs += sum(
            bool(tags[a] & tags[b]) for i, a in enumerate(pos.tolist()) for b in pos[i + 1 :]
        )
    success = status in (OPTIMAL, FEASIBLE)
    objective = float(covered_total) if success else math.nan
    bound = float(bound_units) if success else None
    return JointBranchesResult(
        groups=groups_out,
        group_ids=group_names,
        group_streets=group_street,
        uncovered=dict(sorted(reasons.items(), key=lambda item: idx[item[0]])),
        objective=objective,
        total_km=total_km,
        same_industry_pairs=same_pairs,
        status=status,
        graph=graph,
        max_units=max_units,
        min_members=min_members,
        max_members=max_members,
        max_km=km_limit,
        bound=bound,
        gap=relative_gap(objective, bound),
        resolution=DISTANCE_RESOLUTION_KM,
        message="; ".join(messages) if messages else "no small units",
        wall_time=time.perf_counter() - started,
        extra={"streets": per_street},
    )
