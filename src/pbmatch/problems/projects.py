"""Projects list (项目清单): projects staffed by contributions from several units' offers.

Encode → solve → decode:

1. *encode*: per project, the candidate units (every unit but the owner that offers a needed
   category, within ``max_km`` of the owner); contributions ``x[u, p, c]`` (integers up to
   ``min(offer, need)``), ``z[u, p]`` (unit ``u`` contributes to ``p``), ``y[p]`` (an
   indivisible project is staffed);
2. *solve* with CP-SAT (:func:`pbmatch.solvers.cpsat.solve_model`: one worker, seed 0);
3. *decode* contributions to ids, with each project's share met.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.graph import RegionGraph
from pbmatch.model import Project, validate_items
from pbmatch.results import ProjectsResult
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.cpsat import relative_gap, solve_model

__all__ = ["DISTANCE_RESOLUTION_KM", "QUANTITY_SCALE", "staff_projects"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DISTANCE_RESOLUTION_KM = 2.0**-10
"""Distances enter the solver in steps of 1/1024 km (about 1 m), rounded to nearest."""
QUANTITY_SCALE = 1024
"""Fractional quantities are counted in 1/1024 steps: needs rounded up, offers down."""
_PRIORITY_BITS = 30


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
    for project in items:
        if project.owner not in set(graph.ids.tolist()):
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
        Seconds for each of the two CP-SAT solves; without it, they run to proof.

    Returns
    -------
    ProjectsResult
        ``objective`` (priority-weighted projects staffed), ``bound``, ``gap``, ``total_km``;
        ``to_pandas()`` has one row per contribution (``project``, ``unit``, ``category``,
        ``quantity``, ``distance_km``); ``summary()`` one per project.

    Raises
    ------
    InputError
        A bad project (unknown owner or category, empty needs ...) or argument.

    Notes
    -----
    Objective, lexicographic and exact, by two CP-SAT solves: (1) the most
    ``sum(priority * value)``, where *value* is 1 or 0 for an indivisible project and the share
    of its total need met for a divisible one; then, with (1) fixed at its optimum, (2) the
    least ``sum of distance(unit, owner)`` over the contributing (unit, project) pairs (就近).
    Level (1) is counted exactly when every priority is whole (in steps of ``1 / L``, ``L`` the
    least common multiple of the divisible projects' total needs, if that stays below
    2**30 / total priority), else in steps of ``1 / S``, ``S`` a power of two up to 1024
    (``result.resolution``); level (2) in steps of :data:`DISTANCE_RESOLUTION_KM`; a unit
    without a location counts as the farthest candidate. Fractional quantities are counted in
    steps of 1/:data:`QUANTITY_SCALE`, needs rounded up and offers down (a
    :class:`~pbmatch.PrecisionWarning` says so), so every answer is feasible in the real
    quantities. ``status`` is ``"optimal"`` only when both solves are proven (for level (1) in
    its steps); ``bound`` is the first solve's proven bound on (1), widened by the most the
    rounding of its coefficients can move it, so it bounds the real priority value.

    The model has one integer per (unit, project, category) candidate, a Boolean per (unit,
    project) and per indivisible project, and redundant cover cuts ``sum(cap * z) >= need * y``
    that link a staffed project's Booleans to its needs directly. NP-hard in general (it
    contains knapsack); CP-SAT proves optimality or, under ``time_limit``, returns its bound.
    Deterministic: one worker, seed 0 (a time limit makes it depend on the machine's speed).

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
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    if not isinstance(graph, RegionGraph):
        raise InputError(f"graph is a {type(graph).__name__}; pass a pbmatch.RegionGraph")
    if isinstance(max_units, bool) or not isinstance(max_units, (int, np.integer)) or max_units < 1:
        raise InputError(f"max_units is {max_units!r}; it must be an int >= 1")
    km_limit = _number_iv("max_km", max_km)
    seconds = _number_iv("time_limit", time_limit)
    items = _projects_iv(graph, projects)
    n_p = len(items)
    cats = {c: j for j, c in enumerate(graph.categories)}
    owner = np.array([graph.index(p.owner) for p in items], dtype=np.int64)
    limit = np.array([p.max_units or max_units for p in items], dtype=np.int64)
    need = np.zeros((n_p, len(graph.categories)))
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
            stacklevel=2,
        )

    # Candidates: (unit, project) pairs where the unit offers something the project needs.
    useful = (offer_int[:, None, :] > 0) & (need_int[None, :, :] > 0)  # (units, projects, cats)
    pair_ok: npt.NDArray[np.bool_] = np.asarray(useful.any(axis=2), dtype=bool)
    pair_ok[owner, np.arange(n_p)] = False
    km = haversine_km(
        graph.lat[:, None], graph.lon[:, None], graph.lat[owner][None, :], graph.lon[owner][None, :]
    )
    if km_limit is not None:
        pair_ok &= km <= km_limit
    units_c, projects_c = np.nonzero(pair_ok)
    known_km = km[units_c, projects_c]
    far = np.nanmax(known_km) if np.isfinite(known_km).any() else 0.0
    pair_km = np.where(np.isnan(known_km), far, known_km)
    d_int = np.rint(pair_km / DISTANCE_RESOLUTION_KM).astype(np.int64)

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

    model = cp_model.CpModel()
    z = [model.new_bool_var(f"z{k}") for k in range(units_c.size)]
    y = [model.new_bool_var(f"y{i}") if not divisible[i] else None for i in range(n_p)]
    per_project: list[list[int]] = [[] for _ in range(n_p)]
    for k, p in enumerate(projects_c.tolist()):
        per_project[p].append(k)
    x_keys: list[tuple[int, int, int]] = []  # (pair k, category, local var index)
    x_vars: list[cp_model.IntVar] = []
    given: dict[tuple[int, int], list[cp_model.IntVar]] = {}  # (unit, category)
    received: dict[tuple[int, int], list[cp_model.IntVar]] = {}  # (project, category)
    primary: list[Any] = []
    distance: list[Any] = []
    for k, (u, p) in enumerate(zip(units_c.tolist(), projects_c.tolist(), strict=True)):
        cats_k = np.flatnonzero(useful[u, p]).tolist()
        own = []
        for c in cats_k:
            cap = int(min(offer_int[u, c], need_int[p, c]))
            var = model.new_int_var(0, cap, f"x{k}_{c}")
            model.add(var <= cap * z[k])
            own.append(var)
            x_keys.append((k, c, len(x_vars)))
            x_vars.append(var)
            given.setdefault((u, c), []).append(var)
            received.setdefault((p, c), []).append(var)
            if divisible[p] and coef_unit[p]:
                primary.append(int(coef_unit[p]) * var)
        model.add(sum(own) >= z[k])  # a contributing unit gives something
        yp = y[p]
        if yp is not None:
            model.add_implication(z[k], yp)
        distance.append(int(d_int[k]) * z[k])
    for (u, c), vars_ in given.items():
        if len(vars_) > 1:
            model.add(sum(vars_) <= int(offer_int[u, c]))
    for p in range(n_p):
        if per_project[p]:
            model.add(sum(z[k] for k in per_project[p]) <= int(limit[p]))
        yp = y[p]
        if yp is None:
            continue
        for c in np.flatnonzero(need_int[p] > 0).tolist():
            vars_ = received.get((p, c), [])
            if not vars_:
                model.add(yp == 0)
                break
            model.add(sum(vars_) >= int(need_int[p, c]) * yp)
        primary.append(int(coef_whole[p]) * yp)
    for (p, c), vars_ in received.items():
        if len(vars_) > 1:  # no project takes more than it needs
            model.add(sum(vars_) <= int(need_int[p, c]))
    # Redundant cover cuts: a staffed indivisible project's contributors can give all it needs,
    # sum(cap * z) >= need * y. Implied by the rows above, but as a constraint on the Booleans
    # alone it prunes the distance search (a street's 17 projects: 4.5 s instead of 17.6 s).
    cover: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (project, category)
    for k, (u, p) in enumerate(zip(units_c.tolist(), projects_c.tolist(), strict=True)):
        if not divisible[p]:
            for c in np.flatnonzero(useful[u, p]).tolist():
                cap = int(min(offer_int[u, c], need_int[p, c]))
                cover.setdefault((p, c), []).append((k, cap))
    for (p, c), terms in cover.items():
        yp = y[p]
        assert yp is not None
        model.add(sum(cap * z[k] for k, cap in terms) >= int(need_int[p, c]) * yp)
    # Lexicographic by two solves: the most priority value, then, with it fixed, the least
    # distance (the first solution as a hint).
    model.maximize(sum(primary))
    first = solve_model(model, time_limit=seconds, linearization_level=2)
    out = first
    if first.success:
        p_best = first.objective
        model.add(sum(primary) >= p_best)
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var, value in zip(z, first.values[[v.index for v in z]].tolist(), strict=True):
            model.add_hint(var, value)
        for var in x_vars:
            model.add_hint(var, int(first.values[var.index]))
        for var_y in y:
            if var_y is not None:
                model.add_hint(var_y, int(first.values[var_y.index]))
        model.minimize(sum(distance))
        second = solve_model(model, time_limit=seconds, linearization_level=2)
        if second.success:
            out = second
        status = first.status if second.status == "optimal" else "feasible"
    else:
        status = first.status

    # Decode.
    rows_p: list[int] = []
    rows_u: list[int] = []
    rows_c: list[int] = []
    rows_q: list[float] = []
    rows_km: list[float] = []
    if out.success:
        values = out.values
        for k, c, v in x_keys:
            amount = int(values[x_vars[v].index])
            if amount > 0:
                rows_p.append(int(projects_c[k]))
                rows_u.append(int(units_c[k]))
                rows_c.append(c)
                rows_q.append(amount / q_scale)
                rows_km.append(float(km[units_c[k], projects_c[k]]))
    order = np.lexsort((np.array(rows_c), np.array(rows_u), np.array(rows_p)))
    proj_idx = np.array(rows_p, dtype=np.int64)[order]
    unit_idx = np.array(rows_u, dtype=np.int64)[order]
    cat_idx = np.array(rows_c, dtype=np.int64)[order]
    quantity = np.array(rows_q, dtype=np.float64)[order]
    dist = np.array(rows_km, dtype=np.float64)[order]
    met = np.zeros_like(need)
    np.add.at(met, (proj_idx, cat_idx), quantity)
    share = np.where(need.sum(axis=1) > 0, met.sum(axis=1) / need.sum(axis=1), 0.0)
    full = np.all(met >= need - 1e-9, axis=1)
    value = np.where(divisible, share, full.astype(np.float64))
    objective_value = math.fsum((priority * value).tolist()) if out.success else math.nan
    pairs = np.unique(proj_idx * len(graph) + unit_idx)
    pair_km_used = km[pairs % len(graph), pairs // len(graph)]
    total_km = math.fsum(np.nan_to_num(pair_km_used).tolist())
    bound: float | None = None
    if out.success:
        # The integer objective differs from S * (priority value) by at most `slack` for any
        # staffing: per indivisible project |coef - priority * S|, per divisible one
        # |coef * need - priority * S| (it takes at most its need).
        slack = math.fsum(
            np.where(
                divisible,
                np.abs(coef_unit * total_need - priority * p_scale),
                np.abs(coef_whole - priority * p_scale),
            ).tolist()
        )
        bound = max(objective_value, (first.bound + slack) / p_scale)
        if first.status == "optimal" and exact:
            bound = objective_value
    return ProjectsResult(
        project_ids=np.array([items[i].id for i in proj_idx.tolist()], dtype=str),
        unit_ids=graph.ids[unit_idx],
        category_names=np.asarray(graph.categories, dtype=str)[cat_idx]
        if cat_idx.size
        else np.zeros(0, dtype=str),
        quantities=quantity,
        distance_km=dist,
        projects=tuple(items),
        max_units=limit,
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
        message=first.message("CP-SAT, priority value:")
        + ("; " + out.message("then distance:") if out is not first else "")
        + f" ({units_c.size} unit-project pairs)",
        wall_time=time.perf_counter() - started,
    )
