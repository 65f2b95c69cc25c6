"""Three lists (三张清单) and two-way claiming (双向认领): quantities from offers to needs.

Encode → solve → decode. Each resource category is a transportation problem: units that offer
it send whole quantities (hours, seats, people, yuan) to units that need it, never to
themselves, only inside one region of the ``within`` tier, and never farther than ``max_km``.
Categories share no capacity, and with ``within`` neither do regions, so the network falls
apart into independent blocks, one per (category, region), each solved exactly by min-cost
flow (:mod:`pbmatch.problems._flow`).

The objective is lexicographic: first the most need met (weighted by category and need
priority when given), then the least quantity × distance. It is solved exactly in two phases
without any dominating weight (see :func:`allocate`, Notes).
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import ERROR, OPTIMAL, WITH_SOLUTION, Status
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.graph import TIERS, RegionGraph
from pbmatch.problems._flow import batches, cost_limit, solve_blocks
from pbmatch.results import AllocationResult
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.scaling import scale_scores

__all__ = ["allocate"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_MAX_QUANTITY = float(1 << 50)
"""Largest total quantity of one category: far from int64 overflow in any flow sum."""


# -- validation ----------------------------------------------------------------------------------
def _check_categories(graph: RegionGraph, categories: Sequence[str] | None) -> list[int]:
    if categories is None:
        return list(range(len(graph.categories)))
    if isinstance(categories, str) or not isinstance(categories, Sequence):
        raise InputError(
            f"categories is {categories!r}; pass a list of category names such as "
            f"{list(graph.categories[:2])!r}"
        )
    index = {c: j for j, c in enumerate(graph.categories)}
    out: list[int] = []
    for name in categories:
        if name not in index:
            raise InputError(
                f"categories: {name!r} is not a category of this graph; known: "
                f"{', '.join(graph.categories)}"
            )
        if index[name] in out:
            raise InputError(f"categories: {name!r} is listed twice; list each category once")
        out.append(index[name])
    return out


def _weight_value(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{where} is {value!r}; weights must be finite numbers >= 0")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{where} is {value!r}; weights must be finite numbers >= 0")
    return number


def _need_weights(
    graph: RegionGraph,
    cols: list[int],
    category_weights: Mapping[str, float] | None,
    priority: Any,
) -> FloatArray:
    """Weight of each need, ``category weight × need priority``, shape (units, len(cols))."""
    n = len(graph)
    names = [graph.categories[j] for j in cols]
    column = {c: k for k, c in enumerate(names)}
    cat_w = np.ones(len(cols))
    if category_weights is not None:
        if not isinstance(category_weights, Mapping):
            raise InputError(
                f"category_weights is a {type(category_weights).__name__}; pass a dict "
                "{category: weight}"
            )
        for name, value in category_weights.items():
            if name not in graph.categories:
                raise InputError(
                    f"category_weights: {name!r} is not a category of this graph; known: "
                    f"{', '.join(graph.categories)}"
                )
            weight = _weight_value(value, f"category_weights[{name!r}]")
            if name in column:
                cat_w[column[name]] = weight
    prio = np.ones((n, len(cols)))
    if priority is None:
        pass
    elif isinstance(priority, Mapping):
        for key, value in priority.items():
            if isinstance(key, tuple) and len(key) == 2:
                unit, name = key
                if name not in graph.categories:
                    raise InputError(
                        f"priority[{key!r}]: {name!r} is not a category of this graph; known: "
                        f"{', '.join(graph.categories)}"
                    )
                weight = _weight_value(value, f"priority[{key!r}]")
                if name in column:
                    prio[graph.index(str(unit)), column[name]] = weight
            elif isinstance(key, str):
                prio[graph.index(key), :] = _weight_value(value, f"priority[{key!r}]")
            else:
                raise InputError(
                    f"priority has the key {key!r}; keys are unit ids or (unit id, category) pairs"
                )
    else:
        array = np.asarray(priority)
        shape = (n, len(graph.categories))
        if array.shape != shape or array.dtype.kind not in "iuf":
            raise InputError(
                f"priority is an array of shape {array.shape} and dtype {array.dtype}; it must "
                f"be numeric with shape {shape} (units × the graph's categories), or a dict"
            )
        array = array.astype(float)[:, cols]
        bad = ~np.isfinite(array) | (array < 0)
        if bad.any():
            i, k = np.argwhere(bad)[0]
            raise InputError(
                f"priority[{i}, {cols[k]}] (unit {str(graph.ids[i])!r}, category {names[k]!r}) is "
                f"{float(array[i, k])!r}; priorities must be finite numbers >= 0"
            )
        prio = array
    weights: FloatArray = prio * cat_w[None, :]
    return weights


def _whole_quantities(graph: RegionGraph, cols: list[int]) -> tuple[IntArray, IntArray]:
    """The offers and needs of the chosen categories as int64; fractions are an InputError."""
    out: list[IntArray] = []
    for field in ("offers", "needs"):
        matrix = getattr(graph, field)[:, cols]
        bad = matrix != np.rint(matrix)
        if bad.any():
            i, k = np.argwhere(bad)[0]
            raise InputError(
                f"Unit {str(graph.ids[i])!r}: field {field!r} has quantity "
                f"{float(matrix[i, k])!r} for category {graph.categories[cols[k]]!r}; allocate "
                "moves whole quantities (hours, seats, people, yuan): use whole numbers"
            )
        totals = matrix.sum(axis=0)
        if (totals > _MAX_QUANTITY).any():
            k = int(np.argmax(totals))
            raise InputError(
                f"{field} of category {graph.categories[cols[k]]!r} total {totals[k]:.6g}; "
                f"allocate handles totals up to 2**50 per category: use a larger unit"
            )
        out.append(matrix.astype(np.int64))
    return out[0], out[1]


# -- encoding ------------------------------------------------------------------------------------
def _group_pairs(left_codes: IntArray, right_codes: IntArray) -> tuple[IntArray, IntArray]:
    """All (i, j) with ``left_codes[i] == right_codes[j]``; ``right_codes`` sorted."""
    lo = np.searchsorted(right_codes, left_codes, side="left")
    hi = np.searchsorted(right_codes, left_codes, side="right")
    count = (hi - lo).astype(np.int64)
    total = int(count.sum())
    left = np.repeat(np.arange(left_codes.size, dtype=np.int64), count)
    first = np.cumsum(count) - count
    right = np.arange(total, dtype=np.int64) - np.repeat(first - lo, count)
    return left, right


@dataclass
class _Pairs:
    """Candidate flows: one entry per (category, provider, receiver)."""

    cat: IntArray  # column in the solved categories
    provider: IntArray  # unit index
    receiver: IntArray
    region: IntArray  # region code at the `within` tier (0 without it)
    km: FloatArray  # NaN where a location is unknown


def _candidate_pairs(
    graph: RegionGraph,
    offers: IntArray,
    needs: IntArray,
    weights: FloatArray,
    codes: IntArray,
    max_km: float | None,
) -> _Pairs:
    parts: list[tuple[IntArray, ...]] = []
    kms: list[FloatArray] = []
    for k in range(offers.shape[1]):
        prov = np.flatnonzero((offers[:, k] > 0) & (codes >= 0))
        rec = np.flatnonzero((needs[:, k] > 0) & (weights[:, k] > 0) & (codes >= 0))
        if prov.size == 0 or rec.size == 0:
            continue
        rec = rec[np.argsort(codes[rec], kind="stable")]
        i, j = _group_pairs(codes[prov], codes[rec])
        p, r = prov[i], rec[j]
        keep = p != r
        p, r = p[keep], r[keep]
        km = haversine_km(graph.lat[p], graph.lon[p], graph.lat[r], graph.lon[r])
        if max_km is not None:
            near = ~(km > max_km)  # unknown locations (NaN) are not cut off
            p, r, km = p[near], r[near], km[near]
        parts.append((np.full(p.size, k, dtype=np.int64), p, r, codes[p]))
        kms.append(km)
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return _Pairs(empty, empty, empty, empty, np.zeros(0))
    cat, p, r, region = (np.concatenate(column) for column in zip(*parts, strict=True))
    return _Pairs(cat, p, r, region, np.concatenate(kms))


def _ranks(keys: IntArray) -> tuple[IntArray, IntArray]:
    """Dense ranks of sorted-unique ``keys`` and the unique values (``np.unique`` inverse)."""
    values, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64), values.astype(np.int64)


def _offsets(counts: IntArray) -> IntArray:
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


@dataclass
class _Network:
    """The block-structured network of the allocation (see :func:`_encode`)."""

    pairs: _Pairs
    n_blocks: int
    node_start: IntArray
    # provider nodes
    prov_node: IntArray  # node id
    prov_block: IntArray
    prov_cap: IntArray
    pair_prov: IntArray  # provider node (row in prov_*) of each pair
    # receiver nodes
    rec_node: IntArray
    rec_block: IntArray
    rec_cap: IntArray
    rec_level: IntArray  # 0 = highest weight in its block
    pair_rec: IntArray
    # level nodes
    levels: IntArray  # per block: number of distinct weights
    level_first: IntArray  # node id of each block's first level node
    source: IntArray  # node id of each block's source


def _encode(pairs: _Pairs, offers: IntArray, needs: IntArray, weights: FloatArray) -> _Network:
    """Number the nodes block by block: ``[source, providers, receivers, levels]``."""
    n_units = offers.shape[0]
    n_regions = int(pairs.region.max()) + 1 if pairs.region.size else 1
    block, _ = _ranks(pairs.cat * n_regions + pairs.region)
    n_blocks = int(block.max()) + 1 if block.size else 0
    pair_prov, prov_keys = _ranks(block * n_units + pairs.provider)
    pair_rec, rec_keys = _ranks(block * n_units + pairs.receiver)
    prov_block, prov_unit = prov_keys // n_units, prov_keys % n_units
    rec_block, rec_unit = rec_keys // n_units, rec_keys % n_units
    block_cat = np.zeros(n_blocks, dtype=np.int64)
    block_cat[block] = pairs.cat
    prov_cap = offers[prov_unit, block_cat[prov_block]]
    rec_cap = needs[rec_unit, block_cat[rec_block]]
    # Levels: the distinct need weights of a block, highest first.
    rec_weight = weights[rec_unit, block_cat[rec_block]]
    order = np.lexsort((-rec_weight, rec_block))
    new = np.ones(order.size, dtype=bool)
    new[1:] = (rec_block[order][1:] != rec_block[order][:-1]) | (
        rec_weight[order][1:] != rec_weight[order][:-1]
    )
    level_id = np.cumsum(new) - 1
    levels = np.bincount(rec_block[order][new], minlength=n_blocks).astype(np.int64)
    first_level = _offsets(levels)[:-1]
    rec_level = np.empty(order.size, dtype=np.int64)
    rec_level[order] = level_id - first_level[rec_block[order]]

    n_prov = np.bincount(prov_block, minlength=n_blocks).astype(np.int64)
    n_rec = np.bincount(rec_block, minlength=n_blocks).astype(np.int64)
    node_start = _offsets(1 + n_prov + n_rec + levels)
    prov_start, rec_start = _offsets(n_prov), _offsets(n_rec)
    prov_node = node_start[prov_block] + 1 + np.arange(prov_block.size) - prov_start[prov_block]
    rec_node = (
        node_start[rec_block]
        + 1
        + n_prov[rec_block]
        + np.arange(rec_block.size)
        - rec_start[rec_block]
    )
    return _Network(
        pairs=pairs,
        n_blocks=n_blocks,
        node_start=node_start,
        prov_node=prov_node,
        prov_block=prov_block,
        prov_cap=prov_cap,
        pair_prov=pair_prov,
        rec_node=rec_node,
        rec_block=rec_block,
        rec_cap=rec_cap,
        rec_level=rec_level,
        pair_rec=pair_rec,
        levels=levels,
        level_first=node_start[:-1] + 1 + n_prov + n_rec,
        source=node_start[:-1],
    )


@dataclass
class _Arcs:
    block: IntArray
    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    kind: IntArray  # 0 source, 1 pair, 2 receiver, 3 chain
    index: IntArray  # row in its family (pair index for kind 1, receiver for kind 2 ...)


def _arcs(net: _Network, parts: list[tuple[int, IntArray, IntArray, IntArray, IntArray]]) -> _Arcs:
    """Concatenate arc families ``(kind, block, tails, heads, caps)``, grouped by block."""
    block = np.concatenate([p[1] for p in parts])
    order = np.argsort(block, kind="stable")
    kind = np.concatenate([np.full(p[1].size, p[0], dtype=np.int64) for p in parts])
    index = np.concatenate([np.arange(p[1].size, dtype=np.int64) for p in parts])
    return _Arcs(
        block=block[order],
        tails=np.concatenate([p[2] for p in parts])[order],
        heads=np.concatenate([p[3] for p in parts])[order],
        caps=np.concatenate([p[4] for p in parts])[order],
        costs=np.zeros(order.size, dtype=np.int64),
        kind=kind[order],
        index=index[order],
    )


def _pair_caps(net: _Network) -> IntArray:
    return np.minimum(net.prov_cap[net.pair_prov], net.rec_cap[net.pair_rec])


def _phase_one(net: _Network) -> tuple[IntArray, Status, str]:
    """``met[b, k]``: the most need of block ``b``'s levels ``0..k`` that can be met."""
    n_levels = int(net.levels.max()) if net.n_blocks else 0
    met = np.zeros((net.n_blocks, max(n_levels, 1)), dtype=np.int64)
    pair_block = net.prov_block[net.pair_prov]
    messages: list[str] = []
    for k in range(n_levels):
        live = net.levels > k
        prov = np.flatnonzero(live[net.prov_block])
        pair = np.flatnonzero(live[pair_block])
        rec = np.flatnonzero(live[net.rec_block] & (net.rec_level <= k))
        arcs = _arcs(
            net,
            [
                (0, net.prov_block[prov], net.source[net.prov_block[prov]],
                 net.prov_node[prov], net.prov_cap[prov]),
                (1, pair_block[pair], net.prov_node[net.pair_prov[pair]],
                 net.rec_node[net.pair_rec[pair]], _pair_caps(net)[pair]),
                (2, net.rec_block[rec], net.rec_node[rec],
                 net.level_first[net.rec_block[rec]], net.rec_cap[rec]),
            ],
        )  # fmt: skip
        supplies = np.zeros(int(net.node_start[-1]), dtype=np.int64)
        np.add.at(supplies, net.source[net.prov_block[prov]], net.prov_cap[prov])
        np.add.at(supplies, net.level_first[net.rec_block[rec]], -net.rec_cap[rec])
        answer = solve_blocks(
            net.node_start,
            _offsets(np.bincount(arcs.block, minlength=net.n_blocks)),
            arcs.tails,
            arcs.heads,
            arcs.caps,
            arcs.costs,
            supplies,
            maximise_flow=True,
        )
        if not answer.success:
            return met, answer.status, f"phase 1 (need met, level {k + 1}): {answer.message}"
        sink = arcs.kind == 2
        met[:, k] = np.bincount(
            arcs.block[sink], weights=answer.flows[sink], minlength=net.n_blocks
        )
        messages.append(answer.message)
    return met, OPTIMAL, "; ".join(dict.fromkeys(messages))


def _phase_two(net: _Network, met: IntArray, costs: IntArray) -> tuple[IntArray, Status, str]:
    """The least-cost flow that meets exactly ``met`` at every level; flows on the pairs."""
    blocks = np.arange(net.n_blocks, dtype=np.int64)
    total = met[blocks, net.levels - 1]
    # Chain arcs level k -> k + 1 carry the need met at levels 0..k: lower bound met[b, k].
    chain_block = np.repeat(blocks, net.levels - 1)
    chain_k = np.arange(chain_block.size) - np.repeat(_offsets(net.levels - 1)[:-1], net.levels - 1)
    chain_tail = net.level_first[chain_block] + chain_k
    chain_low = met[chain_block, chain_k]
    pair_block = net.prov_block[net.pair_prov]
    arcs = _arcs(
        net,
        [
            (0, net.prov_block, net.source[net.prov_block], net.prov_node, net.prov_cap),
            (1, pair_block, net.prov_node[net.pair_prov], net.rec_node[net.pair_rec],
             _pair_caps(net)),
            (2, net.rec_block, net.rec_node, net.level_first[net.rec_block] + net.rec_level,
             net.rec_cap),
            (3, chain_block, chain_tail, chain_tail + 1, total[chain_block] - chain_low),
        ],
    )  # fmt: skip
    pair_arc = np.flatnonzero(arcs.kind == 1)
    arcs.costs[pair_arc] = costs[arcs.index[pair_arc]]
    supplies = np.zeros(int(net.node_start[-1]), dtype=np.int64)
    supplies[net.source] = total
    last = net.level_first + net.levels - 1
    supplies[last] -= total
    np.add.at(supplies, chain_tail, -chain_low)
    np.add.at(supplies, chain_tail + 1, chain_low)
    answer = solve_blocks(
        net.node_start,
        _offsets(np.bincount(arcs.block, minlength=net.n_blocks)),
        arcs.tails,
        arcs.heads,
        arcs.caps,
        arcs.costs,
        supplies,
        maximise_flow=False,
    )
    flows = np.zeros(net.pairs.cat.size, dtype=np.int64)
    if not answer.success:
        status = ERROR  # phase 1 proved these amounts can be met: anything else is a failure
        return flows, status, f"phase 2 (quantity x distance): {answer.message}"
    flows[arcs.index[pair_arc]] = answer.flows[pair_arc]
    return flows, answer.status, answer.message


def _single_phase(net: _Network, costs: IntArray) -> tuple[IntArray, Status, str]:
    """One level in every block: the cheapest maximum flow, in one solve per batch."""
    pair_block = net.prov_block[net.pair_prov]
    arcs = _arcs(
        net,
        [
            (0, net.prov_block, net.source[net.prov_block], net.prov_node, net.prov_cap),
            (1, pair_block, net.prov_node[net.pair_prov], net.rec_node[net.pair_rec],
             _pair_caps(net)),
            (2, net.rec_block, net.rec_node, net.level_first[net.rec_block], net.rec_cap),
        ],
    )  # fmt: skip
    pair_arc = np.flatnonzero(arcs.kind == 1)
    arcs.costs[pair_arc] = costs[arcs.index[pair_arc]]
    supplies = np.zeros(int(net.node_start[-1]), dtype=np.int64)
    np.add.at(supplies, net.source[net.prov_block], net.prov_cap)
    np.add.at(supplies, net.level_first[net.rec_block], -net.rec_cap)
    answer = solve_blocks(
        net.node_start,
        _offsets(np.bincount(arcs.block, minlength=net.n_blocks)),
        arcs.tails,
        arcs.heads,
        arcs.caps,
        arcs.costs,
        supplies,
        maximise_flow=True,
    )
    flows = np.zeros(net.pairs.cat.size, dtype=np.int64)
    if answer.success:
        flows[arcs.index[pair_arc]] = answer.flows[pair_arc]
    return flows, answer.status, answer.message


def _max_batch_nodes(net: _Network, n_arcs_per_block: IntArray) -> int:
    cuts = batches(_offsets(n_arcs_per_block))
    if net.n_blocks == 0:
        return 1
    return int(np.diff(net.node_start[cuts]).max())


# -- the problem ---------------------------------------------------------------------------------
def allocate(
    graph: RegionGraph,
    *,
    within: str | None = None,
    max_km: float | None = None,
    categories: Sequence[str] | None = None,
    category_weights: Mapping[str, float] | None = None,
    priority: Mapping[Any, float] | npt.ArrayLike | None = None,
) -> AllocationResult:
    """Meet the needs list from the resources list (三张清单, 双向认领), optimally.

    Whole quantities of each category flow from units that offer it to units that need it:
    never from a unit to itself, only between units in the same region of the ``within``
    tier, and never farther apart than ``max_km``. The allocation first meets the most need
    (weighted, if weights are given), then, among all allocations that meet that much, moves
    the least quantity × distance.

    Parameters
    ----------
    graph : RegionGraph
        Units with their ``offers`` and ``needs`` (whole numbers: hours, seats, people, yuan).
    within : {"street", "district", "community", "park", "grid", "city"} or None
        Keep every flow inside one region of this tier (``"street"`` covers townships,
        ``"community"`` villages). A unit outside every region of the tier takes no part.
        ``None``: flows may cross any border.
    max_km : float or None
        Most distance of a flow, great-circle km. A pair with an unknown location is not cut
        off (as in :func:`pbmatch.pair`).
    categories : sequence of str, optional
        Allocate only these categories (default: all of the graph's).
    category_weights : dict of str to float, optional
        Weight (>= 0) of a unit of met need, by category; default 1.
    priority : dict or array, optional
        Priority (>= 0) of each need, multiplying its category weight: a dict from unit id (all
        its needs) or ``(unit id, category)`` to a number, or an array of shape (units, the
        graph's categories); default 1. A need of weight 0 is left out.

    Returns
    -------
    AllocationResult
        ``to_pandas()`` has the columns ``provider``, ``receiver``, ``category``, ``quantity``,
        ``distance_km``; ``need_met`` (total quantity), ``objective`` (weighted need met),
        ``quantity_km``; ``unmet()`` and ``report()`` give the unmet needs by region and
        category.

    Raises
    ------
    InputError
        A fractional offer or need, an unknown tier, category or unit, a negative weight.

    Warns
    -----
    PrecisionWarning
        When rounding distances to the solver's integer grid made distinct distances equal
        (never at the sizes of a city: the grid is 1e-9 km or finer).

    Notes
    -----
    *Exactness.* The network is ``source -> provider (offer) -> receiver (min(offer, need),
    cost = distance) -> sink (need)``, one copy per category and ``within`` region (the
    blocks). Two phases make the lexicographic objective exact without a dominating weight:

    1. *Most (weighted) need met.* The vectors of need that can be met together form a
       polymatroid (Megiddo 1974), so a weighted sum with weights ``w_1 > ... > w_K > 0`` is
       greatest exactly when, for every ``k``, the need met at the ``k`` highest weights is
       the maximum flow into those receivers alone. Phase 1 computes these ``K`` maximum flows
       per block (one, ``K = 1``, without weights: category weights alone never change the
       flows, because categories share no capacity).
    2. *Least quantity × distance.* A min-cost flow in which the need met at levels ``1..k``
       is held at its phase-1 maximum by lower bounds on a chain of level nodes; among all
       allocations that are optimal for phase 1 it finds the one with the least cost.

    With one level in every block (no ``priority``, or equal priorities) the two phases are
    one call of OR-Tools' ``solve_max_flow_with_min_cost``, itself lexicographic: it computes
    the maximum flow, fixes it, then finds the cheapest flow of that value.

    Distances are km rounded to an integer grid by :func:`pbmatch.solvers.scaling.scale_scores`
    (``resolution`` on the result, far below a metre). A pair with an unknown location costs
    ``max_km`` (or the longest known candidate distance) so that it is never preferred; its
    ``distance_km`` is NaN and ``report()`` warns.

    *Cost.* Candidate pairs are built with numpy (per category: offering × needing units of one
    region); the blocks are solved in batches by OR-Tools' cost-scaling min-cost flow, near-
    linear in practice. On a shared 2-core machine (``benchmarks/bench_allocate.py``) the
    default district takes 0.1–0.2 s and a city of 6,000 units 0.8 s within streets, 1.5 s
    within districts, 3 s with ``max_km=5``; ``within=None`` at that scale makes 16 dense
    blocks of ~600,000 candidate flows and takes about 30 s: prefer a tier or ``max_km``.
    Deterministic.

    Examples
    --------
    >>> import pbmatch
    >>> from pbmatch.problems.allocation import allocate
    >>> graph = pbmatch.synthetic_district(seed=0)
    >>> result = allocate(graph, within="street", max_km=3)
    >>> result.status, result.need_met == int(result.to_pandas()["quantity"].sum())
    ('optimal', True)
    >>> list(result.to_pandas().columns)
    ['provider', 'receiver', 'category', 'quantity', 'distance_km']
    >>> row = result.unmet()[0]
    >>> sorted(row)
    ['category', 'met', 'need', 'region', 'unmet']
    """
    started = time.perf_counter()
    if not isinstance(graph, RegionGraph):
        raise InputError(f"graph is a {type(graph).__name__}; pass a pbmatch.RegionGraph")
    if within is not None and within not in TIERS:
        raise InputError(f"within is {within!r}; use one of {', '.join(map(repr, TIERS))} or None")
    if max_km is not None and (
        isinstance(max_km, bool)
        or not isinstance(max_km, numbers.Real)
        or not math.isfinite(float(max_km))
        or max_km <= 0
    ):
        raise InputError(f"max_km is {max_km!r}; it must be a finite number > 0 or None")
    max_km = None if max_km is None else float(max_km)
    cols = _check_categories(graph, categories)
    weights = _need_weights(graph, cols, category_weights, priority)
    offers, needs = _whole_quantities(graph, cols)
    codes = graph.region_codes(within) if within is not None else np.zeros(len(graph), np.int64)
    pairs = _candidate_pairs(graph, offers, needs, weights, codes, max_km)

    notes: list[str] = []
    active = ((offers > 0) | (needs > 0)).any(axis=1)
    outside = np.flatnonzero(active & (codes < 0))
    if outside.size:
        notes.append(
            f"{outside.size} units with offers or needs lie in no {within} region and took no "
            f"part (e.g. {str(graph.ids[outside[0]])!r})"
        )
    ignored = int(np.count_nonzero((needs > 0) & (weights == 0)))
    if ignored:
        notes.append(f"{ignored} needs have weight 0 and were left out")
    unknown = np.isnan(pairs.km)
    if unknown.any():
        units = np.unique(np.concatenate([pairs.provider[unknown], pairs.receiver[unknown]]))
        units = units[np.isnan(graph.lat[units]) | np.isnan(graph.lon[units])]
        notes.append(
            f"{units.size} units have no location (e.g. {str(graph.ids[units[0]])!r}); their flows "
            "count as the longest distance and show distance_km NaN"
        )

    net = _encode(pairs, offers, needs, weights)
    resolution: float | None = None
    flows = np.zeros(pairs.cat.size, dtype=np.int64)
    status: Status = OPTIMAL
    message = "no candidate flow: no offer and need of a category meet"
    if net.n_blocks:
        if net.levels.max() > 1:
            met, status, message = _phase_one(net)
        if status in WITH_SOLUTION:
            known = pairs.km[~unknown]
            penalty = max_km if max_km is not None else (float(known.max()) if known.size else 0)
            km_cost = np.where(unknown, penalty, pairs.km)
            per_block = (
                np.bincount(net.prov_block, minlength=net.n_blocks)
                + np.bincount(net.prov_block[net.pair_prov], minlength=net.n_blocks)
                + np.bincount(net.rec_block, minlength=net.n_blocks)
                + net.levels
            )
            limit = cost_limit(_max_batch_nodes(net, per_block), int(net.prov_cap.sum()))
            costs, scaling = scale_scores(km_cost, max_cost=limit)
            resolution = scaling.resolution
            if scaling.merged:
                warnings.warn(
                    f"allocate: rounding distances to a grid of {scaling.resolution:.3g} km "
                    f"made {scaling.merged} distinct distances equal",
                    PrecisionWarning,
                    stacklevel=2,
                )
            if net.levels.max() > 1:
                flows, status, second = _phase_two(net, met, costs)
                message = f"phase 1: {message}; phase 2: {second}"
            else:
                flows, status, message = _single_phase(net, costs)

    chosen = np.flatnonzero(flows > 0)
    order = np.lexsort((pairs.cat[chosen], pairs.receiver[chosen], pairs.provider[chosen]))
    chosen = chosen[order]
    provider, receiver = pairs.provider[chosen], pairs.receiver[chosen]
    cat, quantity, km = pairs.cat[chosen], flows[chosen], pairs.km[chosen]
    names = np.asarray([graph.categories[j] for j in cols] or [""], dtype=str)
    success = status in WITH_SOLUTION
    objective = float(np.sum(quantity * weights[receiver, cat])) if success else math.nan
    return AllocationResult(
        provider_ids=graph.ids[provider],
        receiver_ids=graph.ids[receiver],
        category_names=names[cat],
        quantities=quantity,
        distance_km=km,
        objective=objective,
        need_met=int(quantity.sum()),
        quantity_km=float(np.nansum(quantity * km)),
        status=status,
        graph=graph,
        categories=tuple(graph.categories[j] for j in cols),
        need_weights=weights,
        providers=provider,
        receivers=receiver,
        category_index=cat,
        within=within,
        max_km=max_km,
        resolution=resolution,
        message=message,
        bound=objective if status == OPTIMAL else None,
        wall_time=time.perf_counter() - started,
        warnings=tuple(notes),
    )
