"""Projects list (项目清单): projects staffed by contributions from several units' offers.

Encode → solve → decode:

1. *encode* (numpy): the candidate ``(unit, project)`` pairs (every unit but the owner that
   offers a needed category, within ``max_km`` of the owner) and their *entries*
   ``(pair, category, cap)``, ``cap = min(offer, need)`` in whole steps;
2. *solve* with CP-SAT (:func:`pbmatch.solvers.cpsat.solve_model`: one worker, seed 0) and
   GLOP, in stages that each keep the answer feasible and every bound proven:

   a. every project *alone*, as if it had the offers to itself: the most it can get, then the
      least distance for that, on the candidates with fewer than ``max_units`` dominating
      candidates (a candidate that is no nearer and gives no more of any category can always
      replace it). The sum of these bounds the priority value and, when every project
      reaches its own best, the sum of the distances bounds the distance from below;
   b. when the projects' own best staffings fit the offers together, that is the answer;
      else the projects that overdraw an offer are staffed again, one by one, from what is
      left (the incumbent);
   c. *price and branch* on the projects that draw on a contested offer: the master problem
      takes one staffing per project, the contested offers shared; GLOP solves its linear
      relaxation, each project is priced alone at the offers' dual prices (a small CP-SAT
      model on its undominated, near enough candidates) and the staffings of negative
      reduced cost join the master, until none is left; the priced costs give a Lagrangian
      bound; CP-SAT then picks one generated staffing per project. This runs for the
      priority value first when the incumbent misses a project's own best (with CP-SAT on
      the groups of competing projects for a tighter bound), then for the distance, at
      every project's own best value or at the total value reached;
   d. a *local search*: a project and the few that compete with it most for offers are
      staffed anew, exactly, by CP-SAT with every other staffing fixed, until no such
      neighbourhood improves;
   e. *exact*, without a time limit (or with time left and a small model): the pairs that
      cannot be in a staffing as good as the best found (by the Lagrangian reduced costs)
      are dropped, the rest splits into groups of projects linked by offers they cannot all
      draw on in full, each solved by CP-SAT to proof;
3. *decode* quantities to ids, each project's share trimmed to its need (nearest units kept).
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import FEASIBLE, OPTIMAL, Status
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.graph import RegionGraph
from pbmatch.model import Project, validate_items
from pbmatch.results import ProjectsResult
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.cpsat import CpsatSolution, relative_gap, solve_model

__all__ = ["DISTANCE_RESOLUTION_KM", "QUANTITY_SCALE", "staff_projects"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DISTANCE_RESOLUTION_KM = 2.0**-10
"""Distances enter the solver in steps of 1/1024 km (about 1 m), rounded to nearest."""
QUANTITY_SCALE = 1024
"""Fractional quantities are counted in 1/1024 steps: needs rounded up, offers down."""
_PRIORITY_BITS = 30
_DOMINANCE_BLOCK = 512  # rows of the pairwise dominance test at a time
_PRICE_SCALE = 64  # offer prices in steps of 1/64 distance step per unit
_SMALL_PARAMETERS: dict[str, Any] = {"cp_model_presolve": False}
"""CP-SAT parameters of the small per-project solves: without presolve, about twice as fast
on the pricing models of a district (14 instead of 33 ms each)."""
_MIN_SOLVE_SECONDS = 0.05  # a group's CP-SAT solve is skipped with less time than this
_EXACT_MIN_SECONDS = 1.0  # the exact stage runs only with at least this much time left
_EXACT_MAX_PAIRS = 4000  # under a time limit, the exact stage only on at most this many pairs
_VALUE_MAX_PAIRS = 20000  # under a time limit, level 1 by CP-SAT on at most this many pairs
_NEIGHBOURS = 3  # competing projects re-staffed with each project in the local search
_RIVALS_PER_OFFER = 64  # offers wanted by more members do not define neighbourhoods
_LNS_WORK = 5.0  # most deterministic time (about seconds) for one neighbourhood


def _number_iv(name: str, value: object) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        raise InputError(f"{name} is {value!r}; it must be a number > 0 or None")
    return float(value)  # type: ignore[arg-type]


def _projects_iv(
    graph: RegionGraph, projects: Iterable[Project | Mapping[str, Any]] | Any
) -> list[Project]:
    items = validate_items(projects, Project, "projects")
    known = set(graph.categories)
    units = set(graph.ids.tolist())
    for project in items:
        if project.owner not in units:
            raise InputError(
                f"Project {project.id!r}: field 'owner' has value {project.owner!r}, which is not "
                "a unit of the graph"
            )
        unknown = sorted(set(project.needs) - known)
        if unknown:
            raise InputError(
                f"Project {project.id!r}: field 'needs' names category {unknown[0]!r}, which is "
                f"not a category of the graph ({', '.join(graph.categories)})"
            )
    return items


@dataclass(frozen=True, eq=False)
class _Instance:
    """The encoded problem: pairs sorted by project then unit, entries by pair then category.

    ``res`` numbers an offer ``(unit, category)`` as ``unit * n_categories + category``; ``pc``
    numbers a project's need ``(project, category)``, sorted by project then category.
    """

    pair_unit: IntArray
    pair_project: IntArray
    pair_d: IntArray  # distance in steps of DISTANCE_RESOLUTION_KM
    pair_ptr: IntArray  # pairs of project p: pair_ptr[p]:pair_ptr[p + 1]
    ent_pair: IntArray
    ent_pc: IntArray
    ent_cap: IntArray
    ent_res: IntArray
    ent_ptr: IntArray  # entries of pair k: ent_ptr[k]:ent_ptr[k + 1]
    pc_project: IntArray
    pc_need: IntArray
    pc_ptr: IntArray  # needs of project p: pc_ptr[p]:pc_ptr[p + 1]
    offer: IntArray  # per res
    limit: IntArray
    divisible: BoolArray
    coef_whole: IntArray
    coef_unit: IntArray
    p_scale: float  # integer value steps per unit of priority value

    def priority(self, value: int) -> str:
        """An integer value as priority-weighted projects, for messages."""
        return f"{value / self.p_scale:.4g}"

    @property
    def n_projects(self) -> int:
        return int(self.limit.size)

    def value(self, received: IntArray) -> IntArray:
        """Per project, the integer priority value of the quantities received per need."""
        n_p = self.n_projects
        got = np.bincount(self.pc_project, received, minlength=n_p).astype(np.int64)
        short = np.bincount(self.pc_project, received < self.pc_need, minlength=n_p)
        whole = np.where(short == 0, self.coef_whole, 0)
        return np.where(self.divisible, self.coef_unit * got, whole).astype(np.int64)


@dataclass(frozen=True, eq=False)
class _Plan:
    """A staffing: quantity per entry (before trimming) and per-project value and distance."""

    quantity: IntArray
    value: IntArray
    distance: IntArray


def _cut(inst: _Instance, entries: IntArray, quantity: IntArray) -> IntArray:
    """The ``quantity`` on ``entries`` cut down to each need, nearest contributor first.

    ``entries`` hold each of their needs whole (all the entries of some projects). An
    indivisible project that is not fully met gives everything back (fully or not at all).
    """
    need = inst.pc_need
    pc = inst.ent_pc[entries]
    order = np.lexsort((inst.ent_res[entries], inst.pair_d[inst.ent_pair[entries]], pc))
    q = quantity[order]
    group = pc[order]
    before = np.cumsum(q) - q
    first = np.zeros(need.size, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if group.size else group
    first[group[starts]] = before[starts]
    cut = np.zeros_like(quantity)
    cut[order] = np.clip(need[group] - (before - first[group]), 0, q)
    received = np.bincount(pc, cut, minlength=need.size)
    short = np.bincount(inst.pc_project, received < need, minlength=inst.n_projects) > 0
    project = inst.pair_project[inst.ent_pair[entries]]
    return np.where(short[project] & ~inst.divisible[project], 0, cut)


def _trim(inst: _Instance, quantity: IntArray) -> _Plan:
    """Cut every need's receipts down to the need (:func:`_cut`) and score the staffing."""
    trimmed = _cut(inst, np.arange(quantity.size, dtype=np.int64), quantity)
    received = np.bincount(inst.ent_pc, trimmed, minlength=inst.pc_need.size).astype(np.int64)
    used = np.bincount(inst.ent_pair, trimmed, minlength=inst.pair_d.size) > 0
    distance = np.bincount(
        inst.pair_project[used], inst.pair_d[used], minlength=inst.n_projects
    ).astype(np.int64)
    return _Plan(trimmed, inst.value(received), distance)


def _per_offer(inst: _Instance, res: IntArray, amount: IntArray) -> IntArray:
    """Sum of ``amount`` per offer ``res`` (exact: whole numbers below 2**53)."""
    return np.bincount(res, amount, minlength=inst.offer.size).astype(np.int64)


def _undominated(cap: IntArray, d: IntArray, depth: int, coef: IntArray | None = None) -> BoolArray:
    """Rows with fewer than ``depth`` dominating rows.

    Row ``b`` dominates row ``a`` when it comes earlier in (distance, row) order and, in every
    column ``a`` gives something, gives at least as much at no higher price ``coef`` (per unit).
    With ``depth`` or more dominators, a row is never needed by a best staffing of at most
    ``depth`` rows: an unused dominator replaces it, giving the same quantities.
    """
    n = d.size
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), d))] = np.arange(n)
    keep = np.zeros(n, dtype=bool)
    for lo in range(0, n, _DOMINANCE_BLOCK):
        hi = min(n, lo + _DOMINANCE_BLOCK)
        covers = cap[None, :, :] >= cap[lo:hi, None, :]
        if coef is not None:
            covers &= (coef[None, :, :] <= coef[lo:hi, None, :]) | (cap[lo:hi, None, :] == 0)
        dominated = covers.all(axis=2) & (rank[None, :] < rank[lo:hi, None])
        keep[lo:hi] = dominated.sum(axis=1) < depth
    return keep


def _deadline_left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 1e-3)


def _weighted(variables: list[Any], coefs: IntArray | list[int]) -> Any:
    from ortools.sat.python import cp_model

    return cp_model.LinearExpr.weighted_sum(variables, list(map(int, coefs)))


@dataclass
class _Stats:
    solves: int = 0
    proven: bool = True
    solve_time: float = 0.0

    def add(self, solution: CpsatSolution) -> None:
        self.solves += 1
        self.solve_time += solution.wall_time
        if solution.status not in ("optimal", "infeasible"):
            self.proven = False


@dataclass(frozen=True, eq=False)
class _Cells:
    """One project's candidates as a dense (pair, need) table of caps."""

    entries: IntArray  # the project's entries
    row: IntArray  # local pair of each entry
    col: IntArray  # local need of each entry
    cap: IntArray  # (pairs, needs)
    d: IntArray  # per local pair


def _cells(inst: _Instance, p: int, residual: IntArray | None = None) -> _Cells:
    k0, k1 = int(inst.pair_ptr[p]), int(inst.pair_ptr[p + 1])
    entries = np.arange(int(inst.ent_ptr[k0]), int(inst.ent_ptr[k1]), dtype=np.int64)
    pc0 = int(inst.pc_ptr[p])
    row = inst.ent_pair[entries] - k0
    col = inst.ent_pc[entries] - pc0
    cap_e = inst.ent_cap[entries]
    if residual is not None:
        cap_e = np.minimum(cap_e, residual[inst.ent_res[entries]])
    cap = np.zeros((k1 - k0, int(inst.pc_ptr[p + 1]) - pc0), dtype=np.int64)
    cap[row, col] = cap_e
    return _Cells(entries, row, col, cap, inst.pair_d[k0:k1])


@dataclass(frozen=True, eq=False)
class _Small:
    """The CP-SAT model of one project on some of its candidates."""

    model: Any  # ortools.sat.python.cp_model.CpModel
    z: list[Any]
    x: dict[tuple[int, int], Any]  # (kept row, need) -> quantity, on priced cells
    received: list[Any]  # per need, of a divisible project
    staffed: Any  # the Boolean "staffed" of an indivisible project that may stay unstaffed


def _small_model(
    cap: IntArray,
    need: IntArray,
    limit: int,
    divisible: bool,
    priced: BoolArray | None,
    optional: bool = False,
) -> _Small:
    """At most ``limit`` rows meeting every need (divisible: ``received`` up to each need).

    A cell gives its whole cap when its row is chosen, or, when ``priced``, an integer
    quantity ``x <= cap * z`` of its own. ``optional``: an indivisible project is staffed
    (all needs met) or has no row at all.
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    z = [model.new_bool_var(f"z{i}") for i in range(cap.shape[0])]
    model.add(cp_model.LinearExpr.sum(z) <= limit)
    staffed: Any = None
    if optional and not divisible:
        staffed = model.new_bool_var("y")
        for var in z:
            model.add_implication(var, staffed)
    x: dict[tuple[int, int], Any] = {}
    received = []
    for j in range(cap.shape[1]):
        variables: list[Any] = []
        coefs: list[int] = []
        for i in np.flatnonzero(cap[:, j]).tolist():
            c = int(cap[i, j])
            if priced is not None and priced[i, j]:
                var = model.new_int_var(0, c, f"x{i}_{j}")
                model.add(var <= c * z[i])
                x[i, j] = var
                variables.append(var)
                coefs.append(1)
            else:
                variables.append(z[i])
                coefs.append(c)
        expr = cp_model.LinearExpr.weighted_sum(variables, coefs)
        if divisible:
            r = model.new_int_var(0, int(need[j]), f"r{j}")
            model.add(expr >= r)
            received.append(r)
        elif staffed is not None:
            model.add(expr >= int(need[j]) * staffed)
        else:
            model.add(expr >= int(need[j]))
    return _Small(model, z, x, received, staffed)


def _alone(
    inst: _Instance, p: int, residual: IntArray | None, deadline: float | None, stats: _Stats
) -> tuple[IntArray, IntArray, int, int, int]:
    """Project ``p`` alone: (entries, quantities, value bound, distance bound, candidates).

    The quantities are the entries' caps (at most ``residual`` of each offer when given) on
    the chosen pairs: the most value, then the least distance for it. The bounds hold for
    every staffing of ``p``; the distance bound for those that reach the value bound.
    """
    cells = _cells(inst, p, residual)
    none = (cells.entries[:0], cells.entries[:0], 0, 0, 0)
    weight = int(inst.coef_unit[p] if inst.divisible[p] else inst.coef_whole[p])
    if cells.d.size == 0 or weight == 0:
        return none
    limit = int(inst.limit[p])
    keep = np.flatnonzero(_undominated(cells.cap, cells.d, limit) & (cells.cap.sum(axis=1) > 0))
    need = inst.pc_need[inst.pc_ptr[p] : inst.pc_ptr[p + 1]]
    top = -np.sort(-cells.cap[keep], axis=0)[:limit].sum(axis=0)
    if not inst.divisible[p] and np.any(top < need):
        return none  # cannot be staffed, even alone
    small = _small_model(cells.cap[keep], need, limit, bool(inst.divisible[p]), None)
    model, z = small.model, small.z
    got = got_bound = 0
    if inst.divisible[p]:
        from ortools.sat.python import cp_model

        model.maximize(cp_model.LinearExpr.sum(small.received))
        first = solve_model(
            model, time_limit=_deadline_left(deadline), parameters=_SMALL_PARAMETERS
        )
        stats.add(first)
        if not first.success:  # no answer in time: only the trivial bound
            return cells.entries[:0], cells.entries[:0], weight * int(need.sum()), 0, 0
        got, got_bound = first.objective, first.bound
        model.add(cp_model.LinearExpr.sum(small.received) >= got)
        for var in z:
            model.add_hint(var, int(first.values[var.index]))
    model.minimize(_weighted(z, cells.d[keep]))
    second = solve_model(model, time_limit=_deadline_left(deadline), parameters=_SMALL_PARAMETERS)
    stats.add(second)
    if not second.success:
        if second.status == "infeasible":
            return none  # proven: cannot be staffed
        return cells.entries[:0], cells.entries[:0], weight * max(got_bound, 1), 0, 0
    chosen = np.zeros(cells.d.size, dtype=bool)
    chosen[keep[second.values[[v.index for v in z]] > 0]] = True
    mask = chosen[cells.row]
    value_bound = weight * got_bound if inst.divisible[p] else weight
    distance_bound = second.bound if got == got_bound else 0
    cap_e = cells.cap[cells.row, cells.col]
    return cells.entries[mask], cap_e[mask], value_bound, distance_bound, int(keep.size)


@dataclass(frozen=True)
class _Mode:
    """What a column generation optimises.

    ``level1``: the most priority value. Else the least distance, with every project at its
    ``target`` value, or with the members' total value at least ``floor``.
    """

    level1: bool
    target: IntArray | None = None
    floor: int | None = None


@dataclass(frozen=True, eq=False)
class _Staffing:
    """One project's staffing, cut to its needs: value, distance and use of offer rows."""

    project: int
    value: int
    distance: int
    entries: IntArray  # with a quantity > 0
    quantity: IntArray
    rows: IntArray  # offer rows drawn on
    use: IntArray  # how much of each

    @classmethod
    def of(
        cls, inst: _Instance, p: int, entries: IntArray, quantity: IntArray, ent_row: IntArray
    ) -> _Staffing:
        """From quantities on all the ``entries`` of ``p`` (cut first, :func:`_cut`)."""
        quantity = _cut(inst, entries, quantity)
        on = quantity > 0
        entries, quantity = entries[on], quantity[on]
        need = inst.pc_need[inst.pc_ptr[p] : inst.pc_ptr[p + 1]]
        got = np.bincount(inst.ent_pc[entries] - inst.pc_ptr[p], quantity, minlength=need.size)
        if inst.divisible[p]:
            value = int(inst.coef_unit[p]) * int(np.minimum(got, need).sum())
        else:
            value = int(inst.coef_whole[p]) if entries.size else 0
        rows = ent_row[entries]
        drawn = rows >= 0
        distance = int(inst.pair_d[np.unique(inst.ent_pair[entries])].sum())
        return cls(p, value, distance, entries, quantity, rows[drawn], quantity[drawn])

    @property
    def key(self) -> tuple[int, bytes, bytes]:
        return (self.project, self.entries.tobytes(), self.quantity.tobytes())


@dataclass
class _Columns:
    """The staffings known to the master problem, each once."""

    items: list[_Staffing]
    index: dict[tuple[int, bytes, bytes], int]

    def __len__(self) -> int:
        return len(self.items)

    def add(self, staffing: _Staffing) -> int:
        """Add ``staffing`` unless known; its index."""
        key = staffing.key
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(staffing)
        return self.index[key]

    def seed(self, inst: _Instance, members: IntArray, plan: _Plan, ent_row: IntArray) -> list[int]:
        """Add every member's staffing in ``plan``; their indices."""
        out = []
        for p in members.tolist():
            e0, e1 = int(inst.ent_ptr[inst.pair_ptr[p]]), int(inst.ent_ptr[inst.pair_ptr[p + 1]])
            entries = np.arange(e0, e1, dtype=np.int64)
            out.append(self.add(_Staffing.of(inst, p, entries, plan.quantity[e0:e1], ent_row)))
        return out


def _offer_rows(inst: _Instance, pairs: BoolArray) -> tuple[IntArray, IntArray]:
    """The offers the ``pairs`` cannot all draw on in full: row per entry (-1), offer per row."""
    on = pairs[inst.ent_pair]
    demand = _per_offer(inst, inst.ent_res[on], inst.ent_cap[on])
    binding = np.flatnonzero(demand > inst.offer)
    row_of = np.full(inst.offer.size, -1, dtype=np.int64)
    row_of[binding] = np.arange(binding.size)
    return np.where(on, row_of[inst.ent_res], -1), inst.offer[binding]


def _units_expr(small: _Small) -> Any:
    """Steps of value in a small model: units received (divisible) or staffed (0/1 or 1)."""
    from ortools.sat.python import cp_model

    if small.received:
        return cp_model.LinearExpr.sum(small.received)
    return 1 if small.staffed is None else small.staffed


def _price(
    inst: _Instance,
    p: int,
    ent_row: IntArray,
    prices: IntArray,
    value_price: float,
    mode: _Mode,
    cutoff: float,
    deadline: float | None,
    stats: _Stats,
) -> tuple[tuple[IntArray, IntArray] | None, int]:
    """The cheapest staffing of ``p`` at integer offer ``prices``.

    Its cost: ``prices @ use - _PRICE_SCALE * value`` for ``mode.level1`` (then the least
    distance), else ``_PRICE_SCALE * distance + prices @ use - value_price * value`` (the
    fewest units drawn on offer rows breaking ties), the value at least the project's
    target when ``mode.target`` is set. The value enters in whole steps of a staffed
    project or unit received, its price per step rounded; the bound allows for that. Level
    2 tries only pairs nearer than ``cutoff`` distance steps; a staffing with a farther one
    costs at least what it is charged for. Returns the staffing (entries, quantities), or
    None, and a proven lower bound on the cost over all staffings.
    """
    from ortools.sat.python import cp_model

    cells = _cells(inst, p)
    rows = ent_row[cells.entries]
    priced = np.zeros(cells.cap.shape, dtype=bool)
    priced[cells.row, cells.col] = rows >= 0
    unit = np.zeros(cells.cap.shape, dtype=np.int64)
    unit[cells.row, cells.col] = np.where(rows >= 0, prices[np.maximum(rows, 0)], 0)
    limit = int(inst.limit[p])
    tie = int(cells.cap[priced].sum()) + 1  # > any number of units drawn on rows
    coef = np.where(priced, unit * tie + 1, 0)
    need = inst.pc_need[inst.pc_ptr[p] : inst.pc_ptr[p + 1]]
    step = int(inst.coef_unit[p] if inst.divisible[p] else inst.coef_whole[p])
    steps = int(need.sum()) if inst.divisible[p] else 1
    near = cells.d < cutoff
    farther = 2**62
    if not near.all():  # such a staffing costs at least its distance less its value's worth
        farther = math.floor(_PRICE_SCALE * int(cells.d[~near].min()) - value_price * step * steps)
    keep = np.flatnonzero(near & (cells.cap.sum(axis=1) > 0))  # a farther one never dominates
    keep = keep[_undominated(cells.cap[keep], cells.d[keep], limit, coef[keep])]
    target = None if mode.target is None else int(mode.target[p])
    if target is not None:
        top = -np.sort(-cells.cap[keep], axis=0)[:limit].sum(axis=0)
        if inst.divisible[p]:
            if int(inst.coef_unit[p]) * int(np.minimum(top, need).sum()) < target:
                return None, farther
        elif np.any(top < need):
            return None, farther
    small = _small_model(
        cells.cap[keep], need, limit, bool(inst.divisible[p]), priced[keep], target is None
    )
    model, z = small.model, small.z
    units = _units_expr(small)
    value = step * units
    if target is not None and inst.divisible[p]:
        model.add(value >= target)
    x_vars = list(small.x.values())
    x_units = [int(unit[keep[i], j]) for i, j in small.x]
    drawn = cp_model.LinearExpr.sum(x_vars)
    spent = _weighted(x_vars, x_units)
    distance = _weighted(z, cells.d[keep])
    seconds = _deadline_left(deadline)
    if mode.level1:
        model.minimize(spent - _PRICE_SCALE * value)
        out = solve_model(model, time_limit=seconds, parameters=_SMALL_PARAMETERS)
        stats.add(out)
        if not out.success:
            return None, -(2**62)
        bound = out.objective if out.status == "optimal" else out.bound
        model.add(spent - _PRICE_SCALE * value <= out.objective)
        for var in z:
            model.add_hint(var, int(out.values[var.index]))
        model.minimize(tie * distance + drawn)
        second = solve_model(
            model, time_limit=_deadline_left(deadline), parameters=_SMALL_PARAMETERS
        )
        stats.add(second)
        if second.success:
            out = second
    else:
        worth = round(value_price * step)  # per step; off by at most 1/2 a step's worth
        model.minimize(tie * (_PRICE_SCALE * distance + spent - worth * units) + drawn)
        out = solve_model(model, time_limit=seconds, parameters=_SMALL_PARAMETERS)
        stats.add(out)
        if not out.success:
            return None, farther if out.status == "infeasible" else -(2**62)
        # Optimal: the tie-break part is below `tie`; else bound its share of the proven bound.
        proven = out.status == "optimal"
        bound = out.objective // tie if proven else -((tie - 1 - out.bound) // tie)
        bound -= math.ceil(abs(worth - value_price * step) * steps)
    on = out.values[[v.index for v in z]] > 0
    quantity_cell = np.where(on[:, None], cells.cap[keep], 0)
    for (i, j), var in small.x.items():
        quantity_cell[i, j] = out.values[var.index]
    full = np.zeros_like(cells.cap)
    full[keep] = quantity_cell
    return (cells.entries, full[cells.row, cells.col]), min(bound, farther)


def _groups(inst: _Instance, pairs: BoolArray) -> tuple[IntArray, BoolArray]:
    """Projects linked by the offers their ``pairs`` cannot all draw on in full.

    Returns the group label of every project (the least project index of its group) and the
    *binding* entries (on such offers).
    """
    ent_row, _ = _offer_rows(inst, pairs)
    binding = ent_row >= 0
    proj = inst.pair_project[inst.ent_pair[binding]]
    rows = ent_row[binding]
    labels = np.arange(inst.n_projects, dtype=np.int64)
    while proj.size:  # spread the least label through projects and offers to a fixed point
        row_label = np.full(int(rows.max()) + 1, inst.n_projects, dtype=np.int64)
        np.minimum.at(row_label, rows, labels[proj])
        spread = labels.copy()
        np.minimum.at(spread, proj, row_label[rows])
        if np.array_equal(spread, labels):
            break
        labels = spread
    return labels, binding


_NO_BOUND = -(2**62)


@dataclass
class _Lagrange:
    """The best Lagrangian bound of a column generation and where it was found.

    ``bound`` is a lower bound, in steps of 1/:data:`_PRICE_SCALE`, on the master's objective
    (level 1: minus the members' priority value; level 2: their distance in distance steps):
    ``sum(lower) - prices @ offers + value_price * floor``, ``lower`` the least priced cost
    of each member at those integer prices.
    """

    bound: int
    lower: IntArray
    prices: IntArray
    value_price: float
    relaxation: float  # the master relaxation's last value
    rounds: int


def _column_generation(
    inst: _Instance,
    members: IntArray,
    ent_row: IntArray,
    row_offer: IntArray,
    columns: _Columns,
    mode: _Mode,
    deadline: float | None,
    stats: _Stats,
) -> _Lagrange:
    """Price staffings of ``members`` into ``columns`` (Dantzig-Wolfe column generation).

    The master problem takes one staffing per member, the offers shared (and, with
    ``mode.floor``, a total value at least that). Its linear relaxation is solved with GLOP;
    each member is priced at the duals (:func:`_price`, prices in integer steps) and every
    staffing of negative reduced cost is added, until none is left, the Lagrangian bound
    meets the relaxation, or ``deadline``.
    """
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    convex = {p: solver.Constraint(1.0, 1.0) for p in members.tolist()}
    rows = [solver.Constraint(-solver.infinity(), float(b)) for b in row_offer.tolist()]
    floor_row = None if mode.floor is None else solver.Constraint(mode.floor, solver.infinity())
    objective = solver.Objective()
    objective.SetMinimization()
    in_lp = 0

    def cost(staffing: _Staffing) -> float:
        return float(-staffing.value if mode.level1 else staffing.distance)

    def add_to_lp() -> None:
        nonlocal in_lp
        for staffing in columns.items[in_lp:]:
            var = solver.NumVar(0.0, solver.infinity(), "")
            objective.SetCoefficient(var, cost(staffing))
            convex[staffing.project].SetCoefficient(var, 1.0)
            for r, u in zip(staffing.rows.tolist(), staffing.use.tolist(), strict=True):
                rows[r].SetCoefficient(var, float(u))
            if floor_row is not None:
                floor_row.SetCoefficient(var, float(staffing.value))
        in_lp = len(columns)

    # Artificial staffings (of a very long distance) keep the relaxation feasible until real
    # ones replace them.
    far = 1e3 * float(int(inst.pair_d.max(initial=0)) * int(inst.limit.max(initial=1)) + 1)
    member_rows = []
    for p in members.tolist():
        k0, k1 = int(inst.pair_ptr[p]), int(inst.pair_ptr[p + 1])
        if mode.target is not None:
            var = solver.NumVar(0.0, solver.infinity(), "")
            objective.SetCoefficient(var, far)
            convex[p].SetCoefficient(var, 1.0)
        rows_p = ent_row[inst.ent_ptr[k0] : inst.ent_ptr[k1]]
        member_rows.append(rows_p[rows_p >= 0])
    if floor_row is not None:
        var = solver.NumVar(0.0, solver.infinity(), "")
        objective.SetCoefficient(var, far)
        floor_row.SetCoefficient(var, 1.0)
    add_to_lp()
    most = np.where(
        inst.divisible, inst.coef_unit * np.bincount(inst.pc_project, inst.pc_need), inst.coef_whole
    )
    lower = np.zeros(members.size, dtype=np.int64)
    last = np.full(row_offer.size, -1, dtype=np.int64)
    last_value = -1.0
    best = _Lagrange(_NO_BOUND, lower.copy(), last.copy(), 0.0, math.inf, 0)
    while True:
        best.rounds += 1
        if solver.Solve() != pywraplp.Solver.OPTIMAL:
            break
        best.relaxation = relaxation = objective.Value()
        mu = np.array([convex[p].dual_value() for p in members.tolist()], dtype=np.float64)
        pi = np.maximum(-np.array([r.dual_value() for r in rows], dtype=np.float64), 0.0)
        rho = 0.0 if floor_row is None else max(floor_row.dual_value(), 0.0)
        prices = np.rint(pi * _PRICE_SCALE).astype(np.int64)
        value_price = rho * _PRICE_SCALE
        changed = prices != last
        added = 0
        for i, p in enumerate(members.tolist()):
            if best.rounds > 1 and value_price == last_value and not changed[member_rows[i]].any():
                continue  # the same prices as last round: the same cheapest staffing
            if deadline is not None and time.perf_counter() > deadline:
                return best
            cutoff = math.inf if mode.level1 else float(mu[i] + rho * most[p])
            staffing, lower[i] = _price(
                inst, p, ent_row, prices, value_price, mode, cutoff, deadline, stats
            )
            if staffing is None:
                continue
            found = _Staffing.of(inst, p, staffing[0], staffing[1], ent_row)
            if found.key in columns.index:
                continue
            reduced = cost(found) + float(pi[found.rows] @ found.use)
            if reduced - rho * found.value - mu[i] < -1e-6 * max(1.0, abs(mu[i])):
                columns.add(found)
                added += 1
        last, last_value = prices, value_price
        lagrange = int(lower.sum()) - int(prices @ row_offer)
        if mode.floor is not None:
            lagrange += math.floor(value_price * mode.floor)
        if lagrange > best.bound:
            best.bound, best.lower, best.prices = lagrange, lower.copy(), prices
            best.value_price = value_price
        add_to_lp()
        if added == 0 or best.bound >= _PRICE_SCALE * relaxation - 1:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
    return best


def _master(
    columns: _Columns,
    members: IntArray,
    row_offer: IntArray,
    mode: _Mode,
    hint: list[int],
    seconds: float | None,
    stats: _Stats,
) -> tuple[list[int], CpsatSolution]:
    """One staffing per member from ``columns``, offers shared: CP-SAT.

    Level 1: the most value, then the least distance; level 2: the least distance (with
    ``mode.floor``, at a total value at least that).
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    chosen = [model.new_bool_var(f"c{j}") for j in range(len(columns))]
    project = np.array([c.project for c in columns.items], dtype=np.int64)
    for p in members.tolist():
        model.add_exactly_one([chosen[j] for j in np.flatnonzero(project == p).tolist()])
    sizes = [c.rows.size for c in columns.items]
    col = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    row = np.concatenate([c.rows for c in columns.items] + [np.zeros(0, dtype=np.int64)])
    use = np.concatenate([c.use for c in columns.items] + [np.zeros(0, dtype=np.int64)])
    tight = np.bincount(row, use, minlength=row_offer.size) > row_offer
    order = np.argsort(row, kind="stable")
    starts = np.searchsorted(row[order], np.arange(row_offer.size + 1))
    for r in np.flatnonzero(tight).tolist():
        at = order[starts[r] : starts[r + 1]]
        model.add(_weighted([chosen[j] for j in col[at].tolist()], use[at]) <= int(row_offer[r]))
    values = np.array([c.value for c in columns.items], dtype=np.int64)
    distances = np.array([c.distance for c in columns.items], dtype=np.int64)
    if mode.level1:  # the most value, then the least distance
        longest = np.zeros(int(project.max(initial=-1)) + 1, dtype=np.int64)
        np.maximum.at(longest, project, distances)
        weight = 1 + int(longest.sum())
        model.maximize(_weighted(chosen, weight * values - distances))
    else:
        if mode.floor is not None:
            model.add(_weighted(chosen, values) >= mode.floor)
        model.minimize(_weighted(chosen, distances))
    for j in hint:
        model.add_hint(chosen[j], 1)
    out = solve_model(model, time_limit=seconds)
    stats.add(out)
    if not out.success:
        return [], out
    return np.flatnonzero(out.values[: len(chosen)] > 0).tolist(), out


@dataclass(frozen=True, eq=False)
class _GroupAnswer:
    quantity: IntArray  # per entry of the group (trimmed by the caller)
    entries: IntArray
    value_bound: int
    distance_bound: int
    proven: bool


def _solve_group(
    inst: _Instance,
    projects: IntArray,
    pairs: BoolArray,
    binding: BoolArray,
    target: IntArray | None,
    value_cap: int,
    hint: IntArray,
    seconds: float | None,
    stats: _Stats,
    offer: IntArray | None = None,
    distance: bool = True,
    work: float | None = None,
) -> _GroupAnswer | None:
    """One CP-SAT model for a group of projects: value (unless ``target`` fixes it), distance.

    ``target`` (per project of the instance) is the value each project must reach; without
    it the priority value is maximised first (at most ``value_cap``). ``hint`` holds trimmed
    quantities per entry of a feasible staffing. ``offer`` (per offer) replaces the units'
    offers, e.g. by what other projects leave; ``binding`` must then be computed with it.
    Without ``distance``, only the priority value is solved (``distance_bound`` 0). ``work``
    caps each solve in CP-SAT's deterministic time (the same answer on every machine).
    """
    from ortools.sat.python import cp_model

    in_group = np.zeros(inst.n_projects, dtype=bool)
    in_group[projects] = True
    ks = np.flatnonzero(pairs & in_group[inst.pair_project])
    local = np.full(inst.pair_d.size, -1, dtype=np.int64)
    local[ks] = np.arange(ks.size)
    es = np.flatnonzero(local[inst.ent_pair] >= 0)
    offer = inst.offer if offer is None else offer
    cap_of = np.minimum(inst.ent_cap, offer[inst.ent_res])
    model = cp_model.CpModel()
    z = [model.new_bool_var(f"z{k}") for k in ks.tolist()]
    hint_pair = np.bincount(inst.ent_pair[es], hint[es], minlength=inst.pair_d.size)[ks] > 0
    for var, on in zip(z, hint_pair.tolist(), strict=True):
        model.add_hint(var, int(on))
    # Terms per entry: cap * z on offers that suffice, an integer x <= cap * z on binding ones.
    terms: list[Any] = []
    x_of: dict[int, Any] = {}
    for e, k, cap, b in zip(
        es.tolist(),
        local[inst.ent_pair[es]].tolist(),
        cap_of[es].tolist(),
        binding[es].tolist(),
        strict=True,
    ):
        if b:
            x = model.new_int_var(0, cap, f"x{e}")
            model.add(x <= cap * z[k])
            model.add_hint(x, int(hint[e]))
            x_of[e] = x
            terms.append(x)
        else:
            terms.append(cap * z[k])
    binding_es = es[binding[es]]
    binding_es = binding_es[np.argsort(inst.ent_res[binding_es], kind="stable")]
    res_of = inst.ent_res[binding_es]
    cuts: list[int] = []
    if res_of.size:
        cuts = np.flatnonzero(np.r_[True, res_of[1:] != res_of[:-1], True]).tolist()
    for a, b in itertools.pairwise(cuts):
        on_res = binding_es[a:b].tolist()
        model.add(cp_model.LinearExpr.sum([x_of[e] for e in on_res]) <= int(offer[res_of[a]]))
    pos = np.full(inst.ent_pc.size, -1, dtype=np.int64)
    pos[es] = np.arange(es.size)
    by_pc: dict[int, list[int]] = {}
    for e, pc in zip(es.tolist(), inst.ent_pc[es].tolist(), strict=True):
        by_pc.setdefault(pc, []).append(e)
    received_hint = np.bincount(inst.ent_pc[es], hint[es], minlength=inst.pc_need.size)
    primary: list[Any] = []
    for p in projects.tolist():
        own = np.flatnonzero(local[inst.pair_ptr[p] : inst.pair_ptr[p + 1]] >= 0)
        own_z = [z[int(local[inst.pair_ptr[p] + i])] for i in own.tolist()]
        model.add(cp_model.LinearExpr.sum(own_z) <= int(inst.limit[p]))
        pcs = range(int(inst.pc_ptr[p]), int(inst.pc_ptr[p + 1]))
        if inst.divisible[p]:
            got = []
            for pc in pcs:
                need = int(inst.pc_need[pc])
                r = model.new_int_var(0, need, f"r{pc}")
                model.add_hint(r, int(min(need, received_hint[pc])))
                model.add(cp_model.LinearExpr.sum([terms[pos[e]] for e in by_pc.get(pc, [])]) >= r)
                got.append(r)
            if target is not None:
                model.add(cp_model.LinearExpr.sum(got) * int(inst.coef_unit[p]) >= int(target[p]))
            else:
                primary.append(cp_model.LinearExpr.sum(got) * int(inst.coef_unit[p]))
            continue
        if target is not None and target[p] == 0:
            for var in own_z:
                model.add(var == 0)
            continue
        y: Any = 1
        if target is None:
            y = model.new_bool_var(f"y{p}")
            staffed = all(received_hint[pc] >= inst.pc_need[pc] for pc in pcs)
            model.add_hint(y, int(staffed))
            for var in own_z:
                model.add_implication(var, y)
            primary.append(int(inst.coef_whole[p]) * y)
        for pc in pcs:
            need = int(inst.pc_need[pc])
            group = by_pc.get(pc, [])
            model.add(cp_model.LinearExpr.sum([terms[pos[e]] for e in group]) >= need * y)
            if any(binding[e] for e in group):  # redundant cover cut on the Booleans alone
                caps = [int(cap_of[e]) * z[int(local[inst.ent_pair[e]])] for e in group]
                model.add(cp_model.LinearExpr.sum(caps) >= need * y)
    value_bound = int(target[projects].sum()) if target is not None else value_cap
    proven = True
    level1 = None if seconds is None else seconds / 2 if distance else seconds
    started = time.perf_counter()

    def answer(solution: CpsatSolution, distance_bound: int) -> _GroupAnswer:
        values = solution.values
        z_on = values[[v.index for v in z]] > 0
        quantity = np.where(z_on[local[inst.ent_pair[es]]], cap_of[es], 0)
        for e, x in x_of.items():
            quantity[pos[e]] = values[x.index]
        return _GroupAnswer(quantity, es, value_bound, distance_bound, proven)

    if target is None:
        model.add(cp_model.LinearExpr.sum(primary) <= value_cap)
        model.maximize(cp_model.LinearExpr.sum(primary))
        first = solve_model(
            model, time_limit=level1, linearization_level=2, deterministic_limit=work
        )
        stats.add(first)
        if not first.success:
            return None
        proven = first.status == "optimal"
        value_bound = min(value_cap, first.bound)
        if not distance:
            return answer(first, 0)
        model.add(cp_model.LinearExpr.sum(primary) >= first.objective)
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var in z:
            model.add_hint(var, int(first.values[var.index]))
        for x in x_of.values():
            model.add_hint(x, int(first.values[x.index]))
    model.minimize(_weighted(z, inst.pair_d[ks]))
    rest = None if seconds is None else max(seconds - (time.perf_counter() - started), 1e-3)
    second = solve_model(model, time_limit=rest, linearization_level=2, deterministic_limit=work)
    stats.add(second)
    if not second.success:
        return None if target is not None else answer(first, 0)
    proven = proven and second.status == "optimal"
    return answer(second, second.bound)


def _rivals(inst: _Instance, pairs: BoolArray, members: IntArray) -> dict[int, IntArray]:
    """Per member, the ``_NEIGHBOURS`` members it competes with for the most offers.

    Offers count when ``pairs`` could draw more than there is, and at most
    ``_RIVALS_PER_OFFER`` members could; ties go to the lower index.
    """
    on = pairs[inst.ent_pair]
    demand = _per_offer(inst, inst.ent_res[on], inst.ent_cap[on])
    contested = on & (demand[inst.ent_res] > inst.offer[inst.ent_res])
    is_member = np.zeros(inst.n_projects, dtype=bool)
    is_member[members] = True
    project = inst.pair_project[inst.ent_pair[contested]]
    keep = is_member[project]
    n_p = inst.n_projects
    # (offer, project) once each, by offer; then every pair of projects on an offer.
    code = np.unique(inst.ent_res[contested][keep] * n_p + project[keep])
    res, proj = code // n_p, code % n_p
    starts = np.flatnonzero(np.r_[True, res[1:] != res[:-1]]) if res.size else res
    sizes = np.diff(np.r_[starts, res.size])
    small = sizes <= _RIVALS_PER_OFFER  # an offer everyone wants tells little: skip it
    members_of = np.repeat(small, sizes)
    res, proj = res[members_of], proj[members_of]
    starts = np.flatnonzero(np.r_[True, res[1:] != res[:-1]]) if res.size else res
    sizes = np.diff(np.r_[starts, res.size])
    a = np.repeat(proj, np.repeat(sizes, sizes))  # each project against its offer's others
    first = np.repeat(starts, sizes * sizes)
    within = np.arange(a.size) - np.repeat(np.cumsum(sizes * sizes) - sizes * sizes, sizes * sizes)
    b = proj[first + within % np.repeat(sizes, sizes * sizes)]
    mask = a != b
    pair_code, shared = np.unique(a[mask] * n_p + b[mask], return_counts=True)
    a, b = pair_code // n_p, pair_code % n_p
    order = np.lexsort((b, -shared, a))  # per project: most offers shared, then lowest index
    a, b = a[order], b[order]
    out: dict[int, IntArray] = {}
    bounds = np.searchsorted(a, np.arange(n_p + 1))
    for p in members.tolist():
        out[p] = b[bounds[p] : bounds[p + 1]][:_NEIGHBOURS]
    return out


def _improve(
    inst: _Instance,
    plan: _Plan,
    members: IntArray,
    pairs: BoolArray,
    value_ub: IntArray,
    dist_lb: IntArray,
    fixed: bool,
    deadline: float | None,
    stats: _Stats,
) -> tuple[_Plan, int, int]:
    """Large neighbourhood search: re-staff a few competing projects at a time, exactly.

    Each neighbourhood is a member and the ``_NEIGHBOURS`` members that compete with it for
    the most offers (on ``pairs``); with every other project's staffing fixed, CP-SAT staffs
    them anew (:func:`_solve_group` on what the others leave): at least distance with every
    project at its own best value when ``fixed``, else the most value, then the least
    distance. Members are tried by their shortfall in value, then their excess over their own
    least distance, most first; the search stops after a pass without improvement or at
    ``deadline``. Returns the plan, the number of neighbourhoods solved and of improvements.
    """
    neighbours = _rivals(inst, pairs, members)
    tried: set[bytes] = set()
    solved = improved = 0
    entry_project = inst.pair_project[inst.ent_pair]
    while True:
        progress = False
        short = value_ub - plan.value
        excess = plan.distance - dist_lb
        for seed in members[np.lexsort((members, -excess[members], -short[members]))].tolist():
            if deadline is not None and time.perf_counter() >= deadline:
                return plan, solved, improved
            group = np.sort(np.r_[seed, neighbours[seed]])
            key = group.tobytes()
            if key in tried:
                continue
            tried.add(key)
            inside = np.zeros(inst.n_projects, dtype=bool)
            inside[group] = True
            mine = inside[entry_project]
            left = inst.offer - _per_offer(inst, inst.ent_res[~mine], plan.quantity[~mine])
            allowed = pairs & inside[inst.pair_project]
            if fixed:  # a better staffing keeps each project within the group's excess
                slack = int(plan.distance[group].sum() - dist_lb[group].sum())
                allowed &= inst.pair_d <= dist_lb[inst.pair_project] + slack
            ok = allowed[inst.ent_pair]
            cap = np.minimum(inst.ent_cap, left[inst.ent_res])
            need = _per_offer(inst, inst.ent_res[ok], cap[ok])
            binding = ok & (need[inst.ent_res] > left[inst.ent_res])
            seconds = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
            answer = _solve_group(
                inst,
                group,
                allowed,
                binding,
                value_ub if fixed else None,
                int(value_ub[group].sum()),
                plan.quantity,
                seconds,
                stats,
                offer=left,
                work=_LNS_WORK,
            )
            solved += 1
            if answer is None:
                continue
            quantity = np.where(mine, 0, plan.quantity)
            quantity[answer.entries] = answer.quantity
            candidate = _trim(inst, quantity)
            now = (int(plan.value.sum()), -int(plan.distance.sum()))
            if (int(candidate.value.sum()), -int(candidate.distance.sum())) > now:
                plan = candidate
                improved += 1
                progress = True
                tried.clear()
        if not progress:
            return plan, solved, improved


def _restaff(
    inst: _Instance, plan: _Plan, over: BoolArray, value_ub: IntArray, deadline: float | None
) -> _Plan:
    """An incumbent: projects that overdraw an offer staffed again, one by one, from the rest.

    The others keep their own best staffing; the overdrawing ones take turns, most valuable
    first, each staffed alone from what is left of the offers.
    """
    on_project = inst.pair_project[inst.ent_pair]
    hit = np.zeros(inst.n_projects, dtype=bool)
    hit[on_project[(plan.quantity > 0) & over[inst.ent_res]]] = True
    quantity = np.where(hit[on_project], 0, plan.quantity)
    residual = inst.offer - _per_offer(inst, inst.ent_res, quantity)
    for p in sorted(np.flatnonzero(hit).tolist(), key=lambda q: (-int(value_ub[q]), q)):
        entries, given, _, _, _ = _alone(inst, p, residual, deadline, _Stats())
        single = np.zeros_like(quantity)
        single[entries] = given
        single = _trim(inst, single).quantity
        quantity += single
        residual -= _per_offer(inst, inst.ent_res, single)
    return _trim(inst, quantity)


_Outcome = tuple[_Plan, int, int, bool]  # plan, value bound, distance bound, proven


def _exact(
    inst: _Instance,
    pairs: BoolArray,
    target: IntArray | None,
    value_ub: IntArray,
    dist_lb: IntArray,
    alone: _Plan,
    hint: _Plan,
    deadline: float | None,
    stats: _Stats,
    stages: list[str],
) -> _Outcome:
    """Solve the projects linked by shared offers in groups, exactly (CP-SAT, one per group).

    ``pairs`` are the candidate pairs allowed; a project alone in its group keeps its own best
    staffing (``alone``). With ``target``, every project must reach it and only the distance
    is minimised; without, the priority value first. ``hint`` is a feasible staffing inside
    ``pairs``, kept for a group whose solve finds nothing in time.
    """
    labels, binding = _groups(inst, pairs)
    sizes = np.bincount(labels, minlength=inst.n_projects)
    shared = np.flatnonzero(sizes > 1)
    single = sizes[labels] == 1
    work = np.bincount(
        labels[inst.pair_project[inst.ent_pair]], pairs[inst.ent_pair], minlength=sizes.size
    )
    shared = shared[np.argsort(work[shared], kind="stable")]  # the quick ones first
    quantity = np.where(single[inst.pair_project[inst.ent_pair]], alone.quantity, 0)
    value_bound = int(value_ub[single].sum())
    distance_bound = int(dist_lb[single].sum())
    proven = True
    described = []
    for rank, g in enumerate(shared.tolist()):
        members = np.flatnonzero(labels == g)
        seconds = None
        if deadline is not None:
            later = int(work[shared[rank:]].sum())
            seconds = (deadline - time.perf_counter()) * int(work[g]) / max(later, 1)
        answer = None
        if seconds is None or seconds >= _MIN_SOLVE_SECONDS:
            answer = _solve_group(
                inst,
                members,
                pairs,
                binding,
                target,
                int(value_ub[members].sum()),
                hint.quantity,
                seconds,
                stats,
            )
        own = int(dist_lb[members].sum()) if target is not None else 0  # all at their best
        if answer is None:  # nothing found in time: keep the hint's staffing
            mine = np.isin(inst.pair_project[inst.ent_pair], members)
            quantity[mine] = hint.quantity[mine]
            value_bound += int(value_ub[members].sum())
            distance_bound += own
            proven = False
            described.append(f"{members.size} (no solution)")
            continue
        quantity[answer.entries] = answer.quantity
        value_bound += answer.value_bound
        distance_bound += max(answer.distance_bound, own)
        proven = proven and answer.proven
        described.append(f"{members.size}")
    stages.append(
        f"{shared.size} groups of competing projects solved exactly"
        + (" (values fixed)" if target is not None else "")
        + f", sizes {', '.join(described) or '-'}"
    )
    return _trim(inst, quantity), value_bound, distance_bound, proven


def _value_groups(
    inst: _Instance,
    plan: _Plan,
    members: IntArray,
    pairs: BoolArray,
    value_ub: IntArray,
    value_bound: int,
    deadline: float | None,
    stats: _Stats,
    stages: list[str],
) -> tuple[_Plan, int]:
    """The members' priority value by CP-SAT on their groups (:func:`_solve_group`, value only).

    Returns the plan (a group's staffing replaced when worth more) and the members' value
    bound, the lesser of ``value_bound`` and the groups' own. Skipped under a time limit when
    the members have more than :data:`_VALUE_MAX_PAIRS` pairs.
    """
    is_member = np.zeros(inst.n_projects, dtype=bool)
    is_member[members] = True
    on = pairs & is_member[inst.pair_project]
    if deadline is not None and int(on.sum()) > _VALUE_MAX_PAIRS:
        return plan, value_bound
    labels, binding = _groups(inst, on)
    sizes = np.bincount(labels, minlength=inst.n_projects)
    single = is_member & (sizes[labels] == 1)
    bound = int(value_ub[single].sum())
    quantity = plan.quantity.copy()
    entry_project = inst.pair_project[inst.ent_pair]
    shared = np.flatnonzero((sizes > 1) & is_member)
    work = np.bincount(labels[inst.pair_project], on, minlength=sizes.size)
    shared = shared[np.argsort(work[shared], kind="stable")]  # the quick ones first
    described = []
    for rank, g in enumerate(shared.tolist()):
        group = np.flatnonzero(labels == g)
        seconds = None
        if deadline is not None:
            later = int(work[shared[rank:]].sum())
            seconds = (deadline - time.perf_counter()) * int(work[g]) / max(later, 1)
        answer = None
        if seconds is None or seconds >= _MIN_SOLVE_SECONDS:
            answer = _solve_group(
                inst,
                group,
                on,
                binding,
                None,
                int(value_ub[group].sum()),
                plan.quantity,
                seconds,
                stats,
                distance=False,
            )
        if answer is None:
            bound += int(value_ub[group].sum())
            described.append(f"{group.size} (no solution)")
            continue
        bound += answer.value_bound
        described.append(f"{group.size}" + ("" if answer.proven else " (not proven)"))
        trial = np.where(np.isin(entry_project, group), 0, quantity)
        trial[answer.entries] = answer.quantity
        if int(_trim(inst, trial).value[group].sum()) > int(plan.value[group].sum()):
            quantity = trial
    stages.append(f"priority value by CP-SAT on groups of sizes {', '.join(described) or '-'}")
    return _trim(inst, quantity), min(value_bound, bound)


def _coupled(
    inst: _Instance,
    value_ub: IntArray,
    dist_lb: IntArray,
    alone: _Plan,
    incumbent: _Plan,
    deadline: float | None,
    stats: _Stats,
    stages: list[str],
) -> _Outcome:
    """The projects that compete for offers: price and branch, local search, then exact.

    Level 1, unless the incumbent already gets every project its own best value: column
    generation (:func:`_column_generation`) for the Lagrangian bound on the value, CP-SAT on
    the generated staffings (:func:`_master`). Level 2 the same for the distance, at every
    project's own best value when level 1 reaches it (then a pair that cannot be in a
    staffing as short as the best found is dropped), else at the level-1 value found; then
    :func:`_improve`, and, when there is time, :func:`_exact` on the pairs left.
    """
    pairs = value_ub[inst.pair_project] > 0
    ent_row, row_offer = _offer_rows(inst, pairs)
    is_member = np.zeros(inst.n_projects, dtype=bool)
    is_member[inst.pair_project[inst.ent_pair[ent_row >= 0]]] = True
    members = np.flatnonzero(is_member)
    others_value = int(value_ub[~is_member].sum())
    others_km = int(dist_lb[~is_member].sum())
    most = int(value_ub[members].sum())

    def budget(share: float) -> float | None:
        if deadline is None:
            return None
        return time.perf_counter() + share * max(deadline - time.perf_counter(), 0.0)

    def plan_of(chosen: list[int], columns: _Columns) -> _Plan:
        quantity = np.where(is_member[inst.pair_project[inst.ent_pair]], 0, alone.quantity)
        for j in chosen:
            quantity[columns.items[j].entries] += columns.items[j].quantity
        return _trim(inst, quantity)

    def km(steps: int) -> str:
        return f"{steps * DISTANCE_RESOLUTION_KM:.4f} km"

    # Level 1.
    columns = _Columns([], {})
    hint = columns.seed(inst, members, incumbent, ent_row)
    columns.seed(inst, members, alone, ent_row)
    best = incumbent
    value_bound = most
    if int(incumbent.value[members].sum()) < most:
        empty = _Plan(np.zeros_like(alone.quantity), alone.value * 0, alone.distance * 0)
        columns.seed(inst, members, empty, ent_row)
        mode = _Mode(level1=True)
        lagrange = _column_generation(
            inst, members, ent_row, row_offer, columns, mode, budget(0.25), stats
        )
        if lagrange.bound > _NO_BOUND:
            value_bound = min(most, (-lagrange.bound) // _PRICE_SCALE)
        chosen, master = _master(columns, members, row_offer, mode, hint, budget(0.25), stats)
        if chosen:
            found = plan_of(chosen, columns)
            if int(found.value.sum()) > int(best.value.sum()):
                best = found
        stages.append(
            f"priority value by column generation on {members.size} projects sharing "
            f"{row_offer.size} offers: {lagrange.rounds} rounds, {len(columns)} staffings, "
            f"bound {inst.priority(value_bound + others_value)}; "
            + f"master {master.name} ({master.wall_time:.3f} s)"
        )
        if int(best.value[members].sum()) < value_bound:
            best, value_bound = _value_groups(
                inst, best, members, pairs, value_ub, value_bound, budget(0.4), stats, stages
            )
    reached = int(best.value[members].sum())
    fixed = reached >= most

    # Level 2: every project at its own best value, or the members' total at `reached`.
    mode = _Mode(level1=False, target=value_ub if fixed else None, floor=None if fixed else reached)
    if fixed:  # only staffings at the targets
        keep_items = [c for c in columns.items if c.value >= value_ub[c.project]]
        columns = _Columns([], {})
        for c in keep_items:
            columns.add(c)
    hint = columns.seed(inst, members, best, ent_row)
    lagrange = _column_generation(
        inst, members, ent_row, row_offer, columns, mode, budget(0.5), stats
    )
    chosen, master = _master(columns, members, row_offer, mode, hint, budget(0.25), stats)
    if chosen:
        found = plan_of(chosen, columns)
        if (int(found.value.sum()), -int(found.distance.sum())) > (
            int(best.value.sum()),
            -int(best.distance.sum()),
        ):
            best = found
    lower = -(-max(lagrange.bound, 0) // _PRICE_SCALE)
    bound = others_km + max(int(dist_lb[members].sum()) if fixed else 0, lower)
    stages.append(
        f"distance by column generation: {lagrange.rounds} rounds, {len(columns)} staffings, "
        f"relaxation {km(round(lagrange.relaxation))}, Lagrangian bound {km(lower)}; "
        + f"master {master.name} ({master.wall_time:.3f} s)"
    )
    value_total = others_value + value_bound

    def done(plan: _Plan, distance_bound: int) -> _Outcome:
        level1 = int(plan.value.sum()) >= value_total
        proven = level1 and int(plan.distance.sum()) <= distance_bound
        return plan, value_total, distance_bound, proven

    if int(best.distance.sum()) <= bound and int(best.value.sum()) >= value_total:
        return done(best, bound)
    keep = pairs & is_member[inst.pair_project]
    if fixed and lagrange.bound > _NO_BOUND:
        # At the best prices, a project's priced cost in a staffing at most as long as this
        # one exceeds its least by at most the Lagrangian gap.
        low = np.zeros(inst.n_projects, dtype=np.int64)
        low[members] = np.maximum(lagrange.lower, _PRICE_SCALE * dist_lb[members])
        gap = _PRICE_SCALE * int(best.distance[members].sum()) - (
            int(low[members].sum()) - int(lagrange.prices @ row_offer)
        )
        keep &= _PRICE_SCALE * inst.pair_d <= low[inst.pair_project] + gap
    start = best
    best, solved, improved = _improve(
        inst, best, members, keep, value_ub, dist_lb, fixed, budget(1.0), stats
    )
    stages.append(
        f"local search on {int(keep.sum())} pairs: {solved} neighbourhoods, {improved} better "
        f"(value {inst.priority(int(start.value.sum()))} to "
        f"{inst.priority(int(best.value.sum()))}, distance "
        f"{km(int(start.distance.sum()))} to {km(int(best.distance.sum()))})"
    )
    if int(best.distance.sum()) <= bound and int(best.value.sum()) >= value_total:
        return done(best, bound)
    left = None if deadline is None else deadline - time.perf_counter()
    if left is not None and (left < _EXACT_MIN_SECONDS or int(keep.sum()) > _EXACT_MAX_PAIRS):
        return done(best, bound)
    exact, exact_value, exact_bound, _ = _exact(
        inst,
        keep,
        value_ub if fixed else None,
        value_ub,
        dist_lb,
        alone,
        best,
        deadline,
        stats,
        stages,
    )
    if (int(exact.value.sum()), -int(exact.distance.sum())) > (
        int(best.value.sum()),
        -int(best.distance.sum()),
    ):
        best = exact
    # Both distance bounds hold for every staffing of at least the value reached, so for the
    # best value too.
    value_total = min(value_total, exact_value)
    return done(best, max(bound, exact_bound))


def _encode(
    graph: RegionGraph, items: list[Project], max_units: int, km_limit: float | None
) -> tuple[_Instance, FloatArray, int, float, bool, float]:
    """The instance, the need matrix, the quantity and priority scales, exactness, slack.

    The integer priority objective differs from ``S * (priority value)`` by at most *slack*
    for any staffing: per indivisible project ``|coef - priority * S|``, per divisible one
    ``|coef * need - priority * S|`` (it takes at most its need).
    """
    n_p = len(items)
    n_c = len(graph.categories)
    cats = {c: j for j, c in enumerate(graph.categories)}
    owner = np.array([graph.index(p.owner) for p in items], dtype=np.int64)
    limit = np.array([p.max_units or max_units for p in items], dtype=np.int64)
    need = np.zeros((n_p, n_c))
    for i, item in enumerate(items):
        for name, q in item.needs.items():
            need[i, cats[name]] = q

    # Quantities: whole numbers as they are; fractions in 1/QUANTITY_SCALE steps.
    integral = bool(
        np.array_equal(np.rint(need), need) and np.array_equal(np.rint(graph.offers), graph.offers)
    )
    q_scale = 1 if integral else QUANTITY_SCALE
    need_int = np.ceil(need * q_scale - 1e-9).astype(np.int64)
    offer_int = np.floor(graph.offers * q_scale + 1e-9).astype(np.int64)
    if not integral:
        warnings.warn(
            f"staff_projects: fractional quantities are counted in steps of 1/{q_scale} "
            "(needs rounded up, offers down)",
            PrecisionWarning,
            stacklevel=3,
        )

    # Candidate pairs, project-major: the unit offers something the project needs.
    useful = (need_int > 0).astype(np.int64) @ (offer_int > 0).astype(np.int64).T > 0
    useful[np.arange(n_p), owner] = False
    km = haversine_km(
        graph.lat[owner][:, None], graph.lon[owner][:, None], graph.lat[None, :], graph.lon[None, :]
    )  # (projects, units)
    if km_limit is not None:
        useful &= km <= km_limit
    pair_project, pair_unit = np.nonzero(useful)
    known_km = km[pair_project, pair_unit]
    far = np.nanmax(known_km) if np.isfinite(known_km).any() else 0.0
    pair_d = np.rint(np.where(np.isnan(known_km), far, known_km) / DISTANCE_RESOLUTION_KM)
    pair_ptr = np.searchsorted(pair_project, np.arange(n_p + 1)).astype(np.int64)

    # Needs (project, category) and entries (pair, need) with cap = min(offer, need) > 0.
    pc_project, pc_cat = np.nonzero(need_int > 0)
    pc_ptr = np.searchsorted(pc_project, np.arange(n_p + 1)).astype(np.int64)
    per_pair = np.diff(pc_ptr)[pair_project]
    ent_pair = np.repeat(np.arange(pair_project.size, dtype=np.int64), per_pair)
    within = np.arange(ent_pair.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    ent_pc = pc_ptr[pair_project[ent_pair]] + within
    ent_res = pair_unit[ent_pair] * n_c + pc_cat[ent_pc]
    ent_cap = np.minimum(offer_int.reshape(-1)[ent_res], need_int[pc_project, pc_cat][ent_pc])
    on = ent_cap > 0
    ent_pair, ent_pc, ent_res, ent_cap = ent_pair[on], ent_pc[on], ent_res[on], ent_cap[on]
    ent_ptr = np.searchsorted(ent_pair, np.arange(pair_project.size + 1)).astype(np.int64)

    # Primary objective in integer steps of 1/S.
    priority = np.array([p.priority for p in items], dtype=np.float64)
    divisible = np.array([p.divisible for p in items], dtype=bool)
    total_need = need_int.sum(axis=1)
    # Whole priorities: counted exactly in steps of 1/L, L the least common multiple of the
    # divisible projects' total needs (a share met/N is then a whole number of steps).
    common = 1
    for total in np.unique(total_need[divisible]).tolist():
        common = math.lcm(common, max(int(total), 1))
    exact = bool(np.array_equal(np.rint(priority), priority)) and (
        common * (priority.sum() + 1) <= 2.0**_PRIORITY_BITS
    )
    if exact:
        p_scale = float(common)
    else:
        p_scale = 2.0 ** min(10, _PRIORITY_BITS - math.ceil(math.log2(priority.sum() + 1)))
    coef_whole = np.rint(priority * p_scale).astype(np.int64)  # per staffed indivisible project
    coef_unit = np.where(
        divisible, np.rint(priority * p_scale / np.maximum(total_need, 1)), 0
    ).astype(np.int64)  # per unit of quantity given to a divisible project
    inst = _Instance(
        pair_unit=pair_unit.astype(np.int64),
        pair_project=pair_project.astype(np.int64),
        pair_d=pair_d.astype(np.int64),
        pair_ptr=pair_ptr,
        ent_pair=ent_pair,
        ent_pc=ent_pc.astype(np.int64),
        ent_cap=ent_cap.astype(np.int64),
        ent_res=ent_res.astype(np.int64),
        ent_ptr=ent_ptr,
        pc_project=pc_project.astype(np.int64),
        pc_need=need_int[pc_project, pc_cat].astype(np.int64),
        pc_ptr=pc_ptr,
        offer=offer_int.reshape(-1),
        limit=limit,
        divisible=divisible,
        coef_whole=coef_whole,
        coef_unit=coef_unit,
        p_scale=p_scale,
    )
    slack = math.fsum(
        np.where(
            divisible,
            np.abs(coef_unit * total_need - priority * p_scale),
            np.abs(coef_whole - priority * p_scale),
        ).tolist()
    )
    return inst, need, q_scale, p_scale, exact, slack


def staff_projects(
    graph: RegionGraph,
    projects: Iterable[Project | Mapping[str, Any]] | Any,
    *,
    max_units: int = 5,
    max_km: float | None = None,
    time_limit: float | None = None,
) -> ProjectsResult:
    """Staff the projects list (项目清单) from the units' offers.

    Each project is staffed by contributions of at most its ``max_units`` units (never its
    owner), each giving whole quantities of the categories the project needs; a unit's offer
    is shared across all projects. An indivisible project is staffed fully or not at all; a
    divisible one may be met in part.

    Parameters
    ----------
    graph : RegionGraph
    projects : iterable of Project or dict, or a DataFrame
        Fields of :class:`~pbmatch.model.Project`.
    max_units : int, default 5
        Most contributing units of a project whose ``max_units`` is unset.
    max_km : float, optional
        Only units at most this far from the project's owner contribute.
    time_limit : float, optional
        Seconds for the whole solve (the encoding comes on top; a stage under way may run a
        little over). Without it, every stage runs to proof, which at district scale (60-80
        projects competing for offers) can take very long: pass one there.

    Returns
    -------
    ProjectsResult
        ``objective`` (priority-weighted projects staffed), ``bound``, ``gap``, ``total_km``;
        ``to_pandas()`` has one row per contribution (``project``, ``unit``, ``category``,
        ``quantity``, ``distance_km``); ``summary()`` one per project. ``message`` tells the
        stages and ends with the distance and its proven lower bound (``bound X km``).

    Raises
    ------
    InputError
        A bad project (unknown owner or category, empty needs ...) or argument.

    Notes
    -----
    Objective, lexicographic and exact: (1) the most ``sum(priority * value)``, where *value*
    is 1 or 0 for an indivisible project and the share of its total need met for a divisible
    one; then, with (1) at its optimum, (2) the least ``sum of distance(unit, owner)`` over the
    contributing (unit, project) pairs (就近). Level (1) is counted exactly when every priority
    is whole (in steps of ``1 / L``, ``L`` the least common multiple of the divisible projects'
    total needs, if that stays below 2**30 / total priority), else in steps of ``1 / S``, ``S``
    a power of two up to 1024 (``result.resolution``); level (2) in steps of
    :data:`DISTANCE_RESOLUTION_KM`; a unit without a location counts as the farthest
    candidate. Fractional quantities are counted in steps of 1/:data:`QUANTITY_SCALE`, needs
    rounded up and offers down (a :class:`~pbmatch.PrecisionWarning` says so), so every answer
    is feasible in the real quantities.

    Solved in stages (see the module docstring): each project alone on its undominated
    candidates (an upper bound on (1), and a lower bound on (2) when every project reaches
    it); if those staffings fit the offers together they are optimal. Else the projects that
    compete for offers are solved by price and branch (column generation with GLOP and
    CP-SAT pricing, a Lagrangian bound, CP-SAT on the generated staffings), improved by a
    local search that re-solves a few competing projects at a time exactly, and, without a
    time limit, finished exactly on the pairs that reduced costs cannot rule out.
    ``status`` is ``"optimal"`` only when both levels are proven (level (1) in its steps);
    ``bound`` is a proven bound on (1), widened by the most the rounding of its
    coefficients can move it, so it bounds the real priority value; ``message`` ends with
    the distance and its proven lower bound (among staffings of the best priority value).

    NP-hard in general (it contains knapsack). On the synthetic district (74 projects,
    490 units) level (1) is proven within seconds and the distance comes within 2-4% of its
    bound in 20-30 s; see the docs page for figures. Deterministic without a time limit:
    one worker, seed 0, the local search's solves capped in deterministic time (a time
    limit makes the answer depend on the machine's speed).

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district, synthetic_projects
    >>> graph = synthetic_district(seed=0, n_streets=1, n_townships=0)
    >>> projects = synthetic_projects(graph, seed=0, n_projects=6)
    >>> result = staff_projects(graph, projects)
    >>> result.status
    'optimal'
    >>> sorted(result.to_pandas().columns)
    ['category', 'distance_km', 'project', 'quantity', 'unit']
    >>> result.objective <= result.bound
    True
    """
    started = time.perf_counter()
    if not isinstance(graph, RegionGraph):
        raise InputError(f"graph is a {type(graph).__name__}; pass a pbmatch.RegionGraph")
    if isinstance(max_units, bool) or not isinstance(max_units, (int, np.integer)) or max_units < 1:
        raise InputError(f"max_units is {max_units!r}; it must be an int >= 1")
    km_limit = _number_iv("max_km", max_km)
    seconds = _number_iv("time_limit", time_limit)
    items = _projects_iv(graph, projects)
    inst, need, q_scale, p_scale, exact, slack = _encode(graph, items, int(max_units), km_limit)
    deadline = None if seconds is None else time.perf_counter() + seconds
    stats = _Stats()
    n_p = len(items)
    n_e = inst.ent_pair.size
    stages: list[str] = []

    # (a) Every project alone: value bound, distance bound, own best staffing.
    alone = np.zeros(n_e, dtype=np.int64)
    value_ub = np.zeros(n_p, dtype=np.int64)
    dist_lb = np.zeros(n_p, dtype=np.int64)
    kept_candidates = 0
    for p in range(n_p):
        es, qs, v_ub, d_lb, n_kept = _alone(inst, p, None, deadline, stats)
        alone[es] = qs
        value_ub[p], dist_lb[p] = v_ub, d_lb
        kept_candidates += n_kept
    alone_proven = stats.proven
    stages.append(
        f"{n_p} projects alone on {kept_candidates} of {inst.pair_d.size} candidates "
        f"({stats.solves} solves)"
    )
    plan = _trim(inst, alone)
    usage = _per_offer(inst, inst.ent_res, plan.quantity)
    over = usage > inst.offer
    value_bound = int(value_ub.sum())
    distance_bound = int(dist_lb.sum())
    proven = alone_proven

    # (b) If the own best staffings overdraw an offer: restaff those projects from what is
    # left (the incumbent), then (c) price and branch, or (d) solve exactly in groups.
    if over.any():
        incumbent = _restaff(inst, plan, over, value_ub, deadline)
        stages.append(f"{int(over.sum())} offers overdrawn; incumbent restaffs the projects")
        outcome = _coupled(inst, value_ub, dist_lb, plan, incumbent, deadline, stats, stages)
        plan, value_bound, distance_bound, proven = outcome
        proven = proven and alone_proven
    status: Status = OPTIMAL if proven else FEASIBLE
    if int(plan.value.sum()) > value_bound:  # pragma: no cover - a bound below a solution
        raise AssertionError("staff_projects: value above its proven bound")
    distance_bound = min(distance_bound, int(plan.distance.sum()))

    # Decode.
    used = np.flatnonzero(plan.quantity > 0)
    pc_cat_of = np.asarray(inst.ent_res % len(graph.categories))
    pair = inst.ent_pair[used]
    proj_idx = inst.pair_project[pair]
    unit_idx = inst.pair_unit[pair]
    cat_idx = pc_cat_of[used]
    order = np.lexsort((cat_idx, unit_idx, proj_idx))
    proj_idx, unit_idx, cat_idx = proj_idx[order], unit_idx[order], cat_idx[order]
    quantity = plan.quantity[used][order] / q_scale
    owner = np.array([graph.index(p.owner) for p in items], dtype=np.int64)
    dist = haversine_km(
        graph.lat[unit_idx],
        graph.lon[unit_idx],
        graph.lat[owner][proj_idx],
        graph.lon[owner][proj_idx],
    ).astype(np.float64)
    met = np.zeros_like(need)
    np.add.at(met, (proj_idx, cat_idx), quantity)
    share = np.where(need.sum(axis=1) > 0, met.sum(axis=1) / need.sum(axis=1), 0.0)
    full = np.all(met >= need - 1e-9, axis=1)
    divisible = inst.divisible
    priority = np.array([p.priority for p in items], dtype=np.float64)
    value = np.where(divisible, share, full.astype(np.float64))
    objective_value = math.fsum((priority * value).tolist())
    first_of_pair = np.r_[True, (proj_idx[1:] != proj_idx[:-1]) | (unit_idx[1:] != unit_idx[:-1])]
    total_km = math.fsum(np.nan_to_num(dist[first_of_pair[: dist.size]]).tolist())
    bound = max(objective_value, (value_bound + slack) / p_scale)
    if proven and exact:
        bound = objective_value
    stages.append(
        f"distance {int(plan.distance.sum()) * DISTANCE_RESOLUTION_KM:.4f} km, "
        f"bound {distance_bound * DISTANCE_RESOLUTION_KM:.4f} km"
    )
    return ProjectsResult(
        project_ids=np.array([items[i].id for i in proj_idx.tolist()], dtype=str),
        unit_ids=graph.ids[unit_idx],
        category_names=np.asarray(graph.categories, dtype=str)[cat_idx]
        if cat_idx.size
        else np.zeros(0, dtype=str),
        quantities=quantity,
        distance_km=dist,
        projects=tuple(items),
        max_units=inst.limit,
        staffed=full & ~divisible,
        share=share,
        objective=objective_value,
        total_km=total_km,
        status=status,
        graph=graph,
        max_km=km_limit,
        bound=bound,
        gap=relative_gap(objective_value, bound),
        resolution=None if exact else 1.0 / p_scale,
        message=f"CP-SAT in stages, {stats.solves} solves ({stats.solve_time:.3f} s): "
        + "; ".join(stages),
        wall_time=time.perf_counter() - started,
        distance_bound_km=distance_bound * DISTANCE_RESOLUTION_KM,
    )
