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
4. *solve*: per component, a weighted set packing over its cycles, each unit in at most one
   (:func:`pbmatch.solvers.cpsat.solve_set_packing`: CP-SAT, after an LP reduction when there
   are many cycles);
5. *decode*: cycles as tuples of unit ids in giving order, each arc with what it gives.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pbmatch._status import FEASIBLE, OPTIMAL, Status
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.graph import RegionGraph
from pbmatch.results import ExchangeResult
from pbmatch.scoring.complementarity import complementarity
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.cpsat import dominating_weights, relative_gap, solve_set_packing
from pbmatch.solvers.scaling import choose_scale, count_merged

__all__ = [
    "MAX_PATHS",
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


@dataclass(frozen=True, eq=False)
class _Solved:
    chosen: BoolArray  # per cycle
    status: Status
    bound_units: int  # proven upper bound on the units in cycles
    message: str
    extra: dict[str, object]


def _solve_components(
    cycles: CycleSet,
    weights: IntArray,
    label: IntArray,
    w_units: int,
    rest: IntArray,
    time_limit: float | None,
) -> _Solved:
    """The set packing of each strongly connected component, solved on its own.

    ``rest[c]`` bounds what the later levels add to component ``c``'s objective (its units
    count ``w_units`` each), which lets the packing solver require the units a target implies.
    Splitting is exact (the components share no unit) and tightens the proof: each
    component's bound is rounded down to an integer on its own.
    """
    started = time.perf_counter()
    chosen = np.zeros(len(cycles), dtype=bool)
    component = label[cycles.nodes[:, 0]] if len(cycles) else np.zeros(0, dtype=np.int64)
    sizes = np.bincount(label, minlength=int(label.max(initial=-1)) + 1)
    statuses: list[Status] = []
    bound = 0
    messages: list[str] = []
    lp_bound: float | None = None
    rounds = 0
    solved_columns: list[int] = []
    for c in range(sizes.size):
        columns = np.flatnonzero(component == c)
        remaining = None
        if time_limit is not None:
            remaining = max(float(time_limit) - (time.perf_counter() - started), 1e-3)
        nodes, lengths = cycles.nodes[columns], cycles.lengths[columns]
        local = np.flatnonzero(label == c)  # component c's units, ascending
        indptr = np.zeros(columns.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.searchsorted(local, nodes[nodes >= 0]).astype(np.int64)
        packing = solve_set_packing(
            indptr, indices, weights[columns], local.size,
            time_limit=remaining, element_weight=(w_units, int(rest[c])),
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
        rounds += int(packing.extra.get("lp_rounds", 0))  # type: ignore[call-overload]
        solved_columns += list(packing.extra.get("solved_columns", []))  # type: ignore[call-overload]
    if all(status == OPTIMAL for status in statuses):
        status: Status = OPTIMAL
    elif any(status in (OPTIMAL, FEASIBLE) for status in statuses):
        status = FEASIBLE
    else:
        status = statuses[0]
    extra: dict[str, object] = {
        "columns": len(cycles),
        "components": int(sizes.size),
        "lp_bound": lp_bound,
        "lp_rounds": rounds,
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
        Seconds for the CP-SAT solves; without it they run to proof.

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
    cycles are enumerated once each from their smallest unit. Small packings go to CP-SAT
    whole; large ones (many thousand cycles, as in a 1,000-unit district) are first reduced by
    LP reduced costs, which keeps the answer exact, and then solved with the number of units
    the target implies as a constraint: when every candidate unit can be placed, an
    exactly-one per unit, a partition that CP-SAT proves in about a second where the packing
    took up to ten (see :func:`pbmatch.solvers.cpsat.solve_set_packing`). Deterministic: one
    CP-SAT worker, seed 0; a time limit makes it machine-dependent.

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
    solved = _solve_components(
        cycles, weights, label, w_units, w_q * np.bincount(label, weights=out_q), time_limit
    )

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
