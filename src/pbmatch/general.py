"""One-pool (non-bipartite) maximum-weight matching and b-matching: :func:`match_general`."""

from __future__ import annotations

import decimal
import math
import numbers
import sys
import time
import warnings
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import ERROR, FEASIBLE, OPTIMAL, WITH_SOLUTION
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.matching import _counts_iv, _score_dtype_iv
from pbmatch.results import GeneralMatchResult
from pbmatch.solvers.general_problem import GeneralProblem, GeneralSolution
from pbmatch.solvers.scaling import Scaling, max_safe_cost, scale_scores

__all__ = ["GENERAL_METHODS", "check_general", "match_general", "verify_general"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

GENERAL_METHODS: tuple[str, ...] = ("auto", "relaxation", "cpsat")
"""Every name ``method=`` accepts; ``auto`` is ``relaxation``."""

_INT64_MAX = np.iinfo(np.int64).max


def match_general(
    edges: Any,
    *,
    capacity: int | Mapping[Any, int] | npt.ArrayLike = 1,
    maxcardinality: bool = False,
    time_limit: float | None = None,
    method: str = "auto",
) -> GeneralMatchResult:
    """Choose pairs within one pool that maximise the total weight (general b-matching).

    Node ``v`` is in at most ``capacity[v]`` chosen pairs and a pair is chosen at most once;
    pairs are optional. Unlike :func:`pbmatch.match` there are no sides: any two nodes joined
    by an edge may pair (community with community, village with village, 毗邻党建 across a
    border).

    Parameters
    ----------
    edges : iterable of (u, v, weight), or array_like or scipy.sparse matrix, shape (n, n)
        Candidate pairs. In an edge list ``u`` and ``v`` are any hashable node ids; each pair
        appears once (in either orientation) and ``-inf`` forbids it. Or a symmetric score
        matrix whose nodes are ``0 .. n - 1``: ``-inf`` (or, in a sparse matrix, an absent
        entry) forbids a pair and the diagonal is ignored. Weights are int or float.
    capacity : int or mapping of node to int, or array_like of int for a matrix, default 1
        Most pairs per node, >= 0: one int for all, or an entry for every node (a mapping
        ``node -> int``; for a matrix also a sequence of ``n`` ints).
    maxcardinality : bool, default False
        If True, as in networkx: the most pairs first, then the most weight among those. Pairs
        of weight <= 0 are then used when they add a pair.
    time_limit : float or None, default None
        Seconds, > 0, for CP-SAT (the b-matching repair, or ``method="cpsat"``). When it stops
        the proof, the best pairs found are returned with status ``"feasible"``. The
        polynomial 1-matching repair ignores it.
    method : {"auto", "relaxation", "cpsat"}, default "auto"
        ``relaxation`` (the ``auto`` choice): the fractional relaxation solved exactly on the
        bipartite double cover, then an exact repair of the odd cycles it leaves: Edmonds'
        blossom method warm-started from the relaxation for a 1-matching, CP-SAT for a
        b-matching (see Notes). ``cpsat``: one plain CP-SAT model of the whole problem.

    Returns
    -------
    GeneralMatchResult
        ``pairs`` (each ``(u, v)`` as given, in the order of ``edges``), ``weights``,
        ``edge_index``, ``objective`` (the exactly rounded float sum of the chosen weights),
        ``status`` (``"optimal"``, ``"feasible"``, ...), ``success``, ``bound``, ``method``,
        ``resolution``, ``message``, ``wall_time``, ``raise_for_status()``.

    Raises
    ------
    InputError
        Also a ``ValueError``. An edge that is not a ``(u, v, weight)`` triple, an unhashable
        node id, a self loop, a pair given twice, a weight that is NaN, ``+inf`` or not a real
        number, a score matrix that is not square or not symmetric, a capacity that is
        negative, not a whole number or missing for a node, a bad ``maxcardinality``,
        ``time_limit`` or ``method``. The message names the edge or node and the value.

    Warns
    -----
    PrecisionWarning
        Scaling the weights to the solvers' integers made distinct weights equal.

    See Also
    --------
    verify_general : check a result independently of the solver.
    pbmatch.match : two-sided (bipartite) matching.

    Notes
    -----
    **Method.** The fractional relaxation (``x(delta(v)) <= b_v``, ``0 <= x <= 1``) has a
    half-integral optimum, found exactly as a bipartite b-matching on the double cover (each
    node split into a left and a right copy, each edge into two arcs) with OR-Tools'
    ``SimpleMinCostFlow``. If it is integral it is optimal. Otherwise an optimal dual is
    recovered from the flow's residual graph (vectorised Bellman-Ford). When every capacity
    is 1, that dual and the relaxation's whole edges (plus a rounding of its half edges) are a
    valid start for Edmonds' primal-dual blossom algorithm, which then searches only from the
    few vertices the rounding leaves exposed with a positive dual, about one per odd cycle
    (:mod:`pbmatch.solvers.general_blossom`); the answer is proved by a dual of equal value,
    checked in integers. For b-matchings the dual is tightened by one blossom inequality per
    odd connected component; the identity
    ``2 bound - 2 w(x) = sum(reduced cost) + sum(node dual x slack) + sum(edge dual x (1 - x))
    + (>= 0)`` then proves, for a guessed gap ``g``, which edges any b-matching within ``g`` of
    the bound may use, must use and which nodes it must fill. Components of the kept edges on
    which the relaxation is integral are solved by it; the ones holding its odd cycles are
    solved exactly by CP-SAT (with blossom cuts, warm-started). The guess grows until the best
    b-matching found is within the guess of the bound, which proves it optimal; at worst every
    edge is kept (a plain CP-SAT model). See :mod:`pbmatch.solvers.general_relax` for the proof.
    Status ``"optimal"`` is always proven. Integer weights with room to spare get a
    deterministic tie-breaking perturbation (an optimum of the perturbed weights is an optimum
    of the given ones), which keeps ties from making the relaxation degenerate.

    **Complexity.** One min-cost flow on ``2n + 2`` nodes and ``2p + 2n + 1`` arcs (``p``
    candidate edges) and ``O(passes * p)`` for the dual. For 1-matchings the blossom
    searches are polynomial (``O(n)`` dual updates of ``O(p)`` each per search, one search per
    exposed vertex of positive dual): on 1,000 nodes and 10,000 edges a few to a few dozen
    searches, 0.05-0.5 s, geometric neighbourhoods (many triangles) included. For
    b-matchings CP-SAT sees only the fractional part, a few hundred edges on random graphs,
    but most edges when the integrality gap exceeds typical reduced costs (dense geometric
    neighbourhoods); its search is exponential in the worst case and ``time_limit`` bounds
    it (a 1-matching ignores ``time_limit``).

    **Determinism.** The same input gives the same output: the flow solver and the blossom
    searches are deterministic and CP-SAT runs with one worker and a fixed seed. Only a run
    stopped by ``time_limit`` can differ between runs (the limit is wall-clock time).

    **Scaling.** The solvers take integer weights. Integer weights that fit are used exactly
    (``resolution`` is None). Other weights are multiplied by the largest power of two that
    cannot overflow the flow solver (:mod:`pbmatch.solvers.scaling`) and rounded;
    ``resolution = 1 / scale`` bounds the rounding of each weight by ``resolution / 2``, and the
    total is optimal to within ``len(result) * resolution`` (typically ``resolution`` is about
    ``1e-11`` times the largest weight at 1,000 nodes). With ``maxcardinality`` the scale also
    makes room for one more pair to outweigh any weights, costing ``log2(n)`` bits. Only edges
    of weight > 0 are candidates unless ``maxcardinality`` (a pair of weight <= 0 cannot raise
    the total), and a weight that rounds to 0 is left out.

    Examples
    --------
    >>> from pbmatch.general import match_general
    >>> edges = [("a", "b", 4.0), ("b", "c", 3.0), ("c", "d", 2.0), ("a", "d", 2.5)]
    >>> result = match_general(edges)
    >>> result.pairs, result.objective, result.status
    ([('a', 'b'), ('c', 'd')], 6.0, 'optimal')

    A triangle, where the fractional relaxation is all halves, with a pendant edge:

    >>> tri = [(1, 2, 5), (2, 3, 5), (1, 3, 5), (3, 4, 1)]
    >>> match_general(tri).pairs
    [(1, 2), (3, 4)]

    With ``maxcardinality`` the most pairs come first, even at a loss:

    >>> path = [("x", "y", 1.0), ("y", "z", 10.0), ("z", "w", 1.0)]
    >>> match_general(path).pairs, match_general(path, maxcardinality=True).pairs
    ([('y', 'z')], [('x', 'y'), ('z', 'w')])

    b-matching: each node in up to two pairs; a symmetric matrix works too:

    >>> import numpy as np
    >>> scores = np.array([[0, 3, 2, 1], [3, 0, 1, 2], [2, 1, 0, 3], [1, 2, 3, 0]])
    >>> r = match_general(scores, capacity=2)
    >>> r.pairs, r.objective
    ([(0, 1), (0, 2), (1, 3), (2, 3)], 10.0)

    Bad input is named:

    >>> match_general([(1, 2, 1.0), (2, 1, 2.0)])
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: edges[1] (2, 1) repeats the pair of edges[0]; give each pair once
    """
    graph = _general_iv(edges, capacity, maxcardinality, time_limit, method)
    started = time.perf_counter()
    if method == "auto":
        method = "relaxation"
    problem, encoded = _encode(graph, bool(maxcardinality), time_limit)
    scaling = encoded.scaling
    if scaling is not None and scaling.resolution is None:
        scaling = None
    if scaling is not None and scaling.merged:
        warnings.warn(
            f"{scaling.merged} distinct weights became equal when scaled to integers "
            f"(resolution {scaling.resolution:.3g}); the total is optimal to within "
            "len(result) * resolution",
            PrecisionWarning,
            stacklevel=2,
        )
    resolution = None if scaling is None else scaling.resolution
    if problem is None:
        return _decode(
            graph,
            np.zeros(0, dtype=np.int64),
            OPTIMAL,
            encoded.why_empty,
            method,
            resolution,
            None,
            started,
            {},
        )
    solution = _solve(problem, method)
    chosen = encoded.edges[solution.chosen] if solution.status in WITH_SOLUTION else None
    bound = None
    if solution.status == FEASIBLE and solution.upper2 is not None and not maxcardinality:
        # upper2 / 2 bounds the integer weight; the perturbation only adds, so dividing by
        # the units per weight bounds the rounded weights; rounding adds <= resolution / 2 a pair.
        slack = 0.0 if resolution is None else encoded.max_pairs * resolution / 2
        bound = solution.upper2 / 2 / encoded.per_unit + slack
    return _decode(
        graph,
        np.zeros(0, dtype=np.int64) if chosen is None else chosen,
        solution.status,
        solution.message,
        method,
        resolution,
        bound,
        started,
        solution.stats,
    )


def _solve(problem: GeneralProblem, method: str) -> GeneralSolution:
    if method == "cpsat":
        from pbmatch.solvers import general_cpsat

        return general_cpsat.solve(problem)
    from pbmatch.solvers import general_relax

    return general_relax.solve(problem)


# --- validated graph ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Graph:
    """A validated one-pool graph: node ids, edges on node indices, capacities."""

    nodes: list[Hashable]
    tails: IntArray
    heads: IntArray
    weights: npt.NDArray[Any]  # float64 or int64, finite, as given
    index: IntArray  # position in `edges`, or i * n + j for a matrix
    capacity: IntArray


@dataclass(frozen=True, eq=False)
class _Encoded:
    edges: IntArray  # graph edge of each problem edge
    scaling: Scaling | None
    max_pairs: int
    why_empty: str
    per_unit: float  # integer units (before the maxcardinality offset) per unit of weight


def _general_iv(
    edges: Any, capacity: Any, maxcardinality: Any, time_limit: Any, method: Any
) -> _Graph:
    if not isinstance(method, str) or method not in GENERAL_METHODS:
        known = ", ".join(repr(name) for name in GENERAL_METHODS)
        raise InputError(f"method is {method!r}; known methods are {known}")
    if not isinstance(maxcardinality, (bool, np.bool_)):
        raise InputError(f"maxcardinality is {maxcardinality!r}; it must be True or False")
    if time_limit is not None and not (
        isinstance(time_limit, numbers.Real)
        and not isinstance(time_limit, bool)
        and math.isfinite(float(time_limit))
        and float(time_limit) > 0
    ):
        raise InputError(
            f"time_limit is {time_limit!r}; it must be a number of seconds > 0 or None"
        )
    sparse = sys.modules.get("scipy.sparse")  # scipy is optional: only a sparse input loads it
    if sparse is not None and sparse.issparse(edges):
        nodes, tails, heads, weights, index = _sparse_matrix_iv(edges)
        matrix = True
    elif isinstance(edges, np.ndarray):
        nodes, tails, heads, weights, index = _dense_matrix_iv(edges)
        matrix = True
    else:
        nodes, tails, heads, weights, index = _edge_list_iv(edges)
        matrix = False
    cap = _capacity_iv(capacity, nodes, matrix)
    return _Graph(nodes, tails, heads, weights, index, cap)


def _edge_list_iv(edges: Any) -> tuple[list[Hashable], IntArray, IntArray, Any, IntArray]:
    if isinstance(edges, (str, bytes, Mapping)) or not isinstance(edges, Iterable):
        raise InputError(
            f"edges is a {type(edges).__name__}; give an iterable of (u, v, weight) triples or "
            "a symmetric score matrix (numpy array or scipy.sparse)"
        )
    index: dict[Hashable, int] = {}
    tails: list[int] = []
    heads: list[int] = []
    raw: list[Any] = []
    for k, item in enumerate(edges):
        try:
            u, v, w = item
        except (TypeError, ValueError):
            raise InputError(
                f"edges[{k}] is {item!r}; each edge must be a (u, v, weight) triple"
            ) from None
        try:
            iu = index.setdefault(u, len(index))
            iv = index.setdefault(v, len(index))
        except TypeError:
            raise InputError(
                f"edges[{k}] is {item!r}; node ids must be hashable (str, int, tuple, ...)"
            ) from None
        if iu == iv:
            raise InputError(
                f"edges[{k}] ({u!r}, {v!r}) is a self loop; a node cannot pair with itself"
            )
        tails.append(iu)
        heads.append(iv)
        raw.append(w)
    nodes = list(index)
    t = np.asarray(tails, dtype=np.int64)
    h = np.asarray(heads, dtype=np.int64)
    weights = _weights_iv(raw, nodes, t, h)
    _duplicates_iv(nodes, t, h)
    if weights.dtype.kind == "f":
        allowed = weights > -np.inf
        if not allowed.all():
            keep = np.flatnonzero(allowed)
            return nodes, t[keep], h[keep], weights[keep], keep.astype(np.int64)
    return nodes, t, h, weights, np.arange(t.size, dtype=np.int64)


def _edge_name(nodes: list[Hashable], t: IntArray, h: IntArray, k: int) -> str:
    return f"edges[{k}] ({nodes[int(t[k])]!r}, {nodes[int(h[k])]!r})"


def _weights_iv(raw: list[Any], nodes: list[Hashable], t: IntArray, h: IntArray) -> Any:
    rule = "weights must be real numbers (int or float), or -inf to forbid a pair"
    try:
        array = np.asarray(raw)
    except (TypeError, ValueError, OverflowError):
        array = np.asarray(raw, dtype=object)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        # Mixed, object or non-numeric: look at each weight to name the first bad one.
        values = np.empty(len(raw), dtype=np.float64)
        for k, w in enumerate(raw):
            if isinstance(w, (bool, np.bool_)) or not isinstance(
                w, (numbers.Real, decimal.Decimal)
            ):
                raise InputError(f"{_edge_name(nodes, t, h, k)} has weight {w!r}; {rule}")
            values[k] = float(w)
        array = values
    elif array.dtype.kind in "iu":
        array = _score_dtype_iv(array, "weights")
    else:
        array = array.astype(np.float64, copy=False)
    if array.dtype.kind == "f":
        bad = ~(array < np.inf)  # NaN and +inf
        if bad.any():
            k = int(np.argmax(bad))
            raise InputError(f"{_edge_name(nodes, t, h, k)} has weight {array[k]}; {rule}")
    return array


def _duplicates_iv(nodes: list[Hashable], t: IntArray, h: IntArray) -> None:
    if t.size < 2:
        return
    n = len(nodes)
    keys = np.minimum(t, h) * n + np.maximum(t, h)
    order = np.argsort(keys, kind="stable")
    repeat = keys[order][1:] == keys[order][:-1]
    if repeat.any():
        later, earlier = order[1:][repeat], order[:-1][repeat]
        first = int(np.argmin(later))
        k, j = int(later[first]), int(earlier[first])
        raise InputError(
            f"{_edge_name(nodes, t, h, k)} repeats the pair of edges[{j}]; give each pair once"
        )


def _matrix_edges(
    n: int, rows: IntArray, cols: IntArray, values: Any
) -> tuple[list[Hashable], IntArray, IntArray, Any, IntArray]:
    upper = rows < cols
    if values.dtype.kind == "f":
        upper &= values > -np.inf
    rows, cols, values = rows[upper], cols[upper], values[upper]
    return list(range(n)), rows, cols, values, rows * n + cols


def _dense_matrix_iv(
    scores: npt.NDArray[Any],
) -> tuple[list[Hashable], IntArray, IntArray, Any, IntArray]:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise InputError(
            f"a score matrix must be square (n x n); got shape {scores.shape}. Give an edge "
            "list as a list of (u, v, weight) tuples"
        )
    array = _score_dtype_iv(scores, "scores")
    n = array.shape[0]
    off = ~np.eye(n, dtype=bool)
    if array.dtype.kind == "f":
        bad = ~(array < np.inf) & off
        if bad.any():
            i, j = np.unravel_index(int(np.argmax(bad)), array.shape)
            raise InputError(
                f"scores[{i}, {j}] is {array[i, j]}; weights must be finite numbers, or -inf "
                "to forbid a pair (the diagonal is ignored)"
            )
    asym = (array != array.T) & off
    if asym.any():
        i, j = np.unravel_index(int(np.argmax(np.triu(asym))), array.shape)
        raise InputError(
            f"scores is not symmetric: scores[{i}, {j}] is {array[i, j]} but scores[{j}, {i}] "
            f"is {array[j, i]}; a one-pool score matrix must be symmetric"
        )
    rows, cols = np.nonzero(np.triu(np.ones((n, n), dtype=bool), 1))
    return _matrix_edges(n, rows.astype(np.int64), cols.astype(np.int64), array[rows, cols])


def _sparse_matrix_iv(scores: Any) -> tuple[list[Hashable], IntArray, IntArray, Any, IntArray]:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise InputError(f"a score matrix must be square (n x n); got shape {scores.shape}")
    csr = scores.tocsr(copy=True)  # sums duplicates, keeps explicit zeros
    csr.sum_duplicates()
    n = int(csr.shape[0])
    values = _score_dtype_iv(np.asarray(csr.data), "scores")
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    cols = np.asarray(csr.indices, dtype=np.int64)
    off = rows != cols
    rows, cols, values = rows[off], cols[off], values[off]
    if values.dtype.kind == "f":
        bad = ~(values < np.inf)
        if bad.any():
            k = int(np.argmax(bad))
            raise InputError(
                f"scores[{rows[k]}, {cols[k]}] is {values[k]}; weights must be finite numbers, "
                "or -inf (or an absent entry) to forbid a pair"
            )
    keys = rows * n + cols  # sorted: csr is sorted by row, then column
    mirror = cols * n + rows
    order = np.argsort(mirror, kind="stable")
    if not (np.array_equal(keys, mirror[order]) and np.array_equal(values, values[order])):
        differs = np.flatnonzero((keys != mirror[order]) | (values != values[order]))
        k = int(differs[0]) if differs.size else 0
        i, j = int(rows[k]), int(cols[k])
        other = csr[j, i] if keys[k] in set(mirror.tolist()) else "absent"
        raise InputError(
            f"scores is not symmetric: scores[{i}, {j}] is {values[k]} but scores[{j}, {i}] is "
            f"{other}; a one-pool score matrix must be symmetric"
        )
    return _matrix_edges(n, rows, cols, values)


def _capacity_iv(capacity: Any, nodes: list[Hashable], matrix: bool) -> IntArray:
    n = len(nodes)
    rule = "capacities must be whole numbers >= 0"
    if isinstance(capacity, Mapping):
        values = np.empty(n, dtype=np.int64)
        for k, node in enumerate(nodes):
            try:
                value = capacity[node]
            except KeyError:
                raise InputError(
                    f"capacity has no entry for node {node!r}; give every node a capacity, or "
                    "one int for all"
                ) from None
            ok = not isinstance(value, (bool, np.bool_)) and (
                isinstance(value, numbers.Integral)
                or (
                    isinstance(value, numbers.Real)
                    and math.isfinite(float(value))
                    and float(value).is_integer()
                )
            )
            if not ok or value < 0 or value > _INT64_MAX:
                raise InputError(f"capacity[{node!r}] is {value!r}; {rule}")
            values[k] = int(value)
        return values
    if np.ndim(capacity) != 0 and not matrix:
        raise InputError(
            f"capacity is a {type(capacity).__name__}; for an edge list give one int for all "
            "nodes or a mapping node -> int"
        )
    return _counts_iv(capacity, "capacity", n, "node")


# --- encode to integers, decode back to ids ---------------------------------------------------


def _encode(
    graph: _Graph, maxcardinality: bool, time_limit: float | None
) -> tuple[GeneralProblem | None, _Encoded]:
    """Candidate edges -> a :class:`GeneralProblem` with positive int64 weights.

    The integer weight is built in exact steps, each keeping the optimal b-matchings optimal:
    scale and round (:func:`scale_scores`), divide by the weights' greatest common divisor, then
    when there is room multiply by ``K`` and add a tie-breaking perturbation ``0 <= pi_e < P``
    (``K > max_pairs * (P - 1)``, so the perturbation of a whole b-matching is below one unit of
    the weights: an optimum of the perturbed weights is an optimum of the unperturbed ones),
    and for ``maxcardinality`` add ``big``, more than any b-matching's weights can differ by, so
    that one more pair always wins.
    """
    t, h, w, cap = graph.tails, graph.heads, graph.weights, graph.capacity
    cand = (cap[t] > 0) & (cap[h] > 0)
    if not maxcardinality:
        cand &= w > 0
    edges = np.flatnonzero(cand).astype(np.int64)
    if edges.size == 0:
        why = "no pair can be chosen (no edge with weight > 0 between nodes with capacity > 0)"
        if maxcardinality:
            why = "no pair can be chosen (no edge between nodes with capacity > 0)"
        return None, _Encoded(edges, None, 0, why, 1.0)
    used = np.unique(np.concatenate([t[edges], h[edges]]))
    max_cost = max_safe_cost(2 * used.size + 5)  # double cover: 2n + 2 nodes, + 2 by the solver
    degree_room = int(np.minimum(cap[used], used.size - 1).sum())
    max_pairs = max(1, min(int(edges.size), degree_room // 2))
    # Room left for the maxcardinality offset: big + weight <= max_cost.
    limit = max(1, (max_cost - 1) // (2 * max_pairs + 3)) if maxcardinality else max_cost
    costs, scaling = scale_scores(w[edges], max_cost=limit)
    if not maxcardinality:
        positive = costs > 0  # a weight that rounds to 0 cannot raise the scaled total
        edges, costs = edges[positive], costs[positive]
        if edges.size == 0:
            return None, _Encoded(edges, scaling, 0, "no edge weight is above the resolution", 1.0)
        used = np.unique(np.concatenate([t[edges], h[edges]]))
    divisor = int(np.gcd.reduce(np.abs(costs))) or 1
    costs = costs // divisor
    per_unit = scaling.scale / divisor  # integer units per unit of weight, before perturbation
    levels = _perturbation_levels(int(np.abs(costs).max()), max_pairs, limit)
    if levels > 1:
        factor = max_pairs * (levels - 1) + 1
        costs = costs * factor + _perturbation(graph.index[edges], levels)
        per_unit *= factor
    if maxcardinality:
        hi, lo = int(costs.max()), int(costs.min())
        big = max_pairs * max(hi, 0) + (max_pairs + 1) * max(-lo, 0) + 1
        costs = costs + big
    n = int(used.size)
    tails = np.searchsorted(used, t[edges]).astype(np.int64)
    heads = np.searchsorted(used, h[edges]).astype(np.int64)
    degree = np.bincount(tails, minlength=n) + np.bincount(heads, minlength=n)
    problem = GeneralProblem(
        n_nodes=n,
        tails=tails,
        heads=heads,
        costs=costs.astype(np.int64, copy=False),
        capacity=np.minimum(cap[used], degree).astype(np.int64),
        time_limit=time_limit if time_limit is None else float(time_limit),
    )
    return problem, _Encoded(edges, scaling, max_pairs, "", per_unit)


_PERTURBATION_BITS = 20


def _perturbation_levels(max_abs: int, max_pairs: int, limit: int) -> int:
    """The most perturbation levels ``P`` (a power of two, <= 2**20) that fit: weights
    ``c * (max_pairs * (P - 1) + 1) + P`` within ``limit``; 1 (none) when fewer than 64 fit."""
    for bits in range(_PERTURBATION_BITS, 5, -1):
        levels = 1 << bits
        if max_abs * (max_pairs * (levels - 1) + 1) + levels <= limit:
            return levels
    return 1


def _perturbation(keys: IntArray, levels: int) -> IntArray:
    """A deterministic, well-spread value in ``[0, levels)`` per key (Fibonacci hashing)."""
    mixed = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # wraps modulo 2**64
    top: IntArray = (mixed >> np.uint64(64 - levels.bit_length() + 1)).astype(np.int64)
    return top


def _decode(
    graph: _Graph,
    chosen: IntArray,
    status: Any,
    message: str,
    method: str,
    resolution: float | None,
    bound: float | None,
    started: float,
    stats: dict[str, Any],
) -> GeneralMatchResult:
    chosen = np.sort(chosen)
    nodes = graph.nodes
    t, h = graph.tails[chosen].tolist(), graph.heads[chosen].tolist()
    pairs = [(nodes[a], nodes[b]) for a, b in zip(t, h, strict=True)]
    weights = graph.weights[chosen].astype(np.float64)
    success = status in WITH_SOLUTION
    objective = math.fsum(weights.tolist()) if success else math.nan
    if status == OPTIMAL:
        bound = objective
    if status == ERROR:
        pairs, weights, chosen = [], weights[:0], chosen[:0]
    return GeneralMatchResult(
        pairs=pairs,
        weights=weights,
        edge_index=graph.index[chosen].astype(np.intp),
        objective=objective,
        status=status,
        method=method,
        resolution=resolution,
        message=message,
        bound=bound,
        wall_time=time.perf_counter() - started,
        extra=stats,
    )


# --- independent checks --------------------------------------------------------------------------


def verify_general(
    result: GeneralMatchResult,
    edges: Any,
    *,
    capacity: Any = 1,
    maxcardinality: bool = False,
) -> list[str]:
    """Recompute every rule of a :func:`match_general` result from its input.

    Shares no code with the solver. Checks: the status is known; without a solution no pairs
    are reported and the objective is NaN; every pair is an allowed edge (finite weight),
    oriented as given, in the order of ``edges``, chosen once; the reported weights are the
    given ones and ``objective`` is their sum; no node exceeds its capacity; without
    ``maxcardinality`` no pair has weight <= 0; an ``optimal`` result has
    ``bound == objective`` and a ``feasible`` one no bound below its objective. Optimality
    itself is checked in the tests against independent solvers.

    Parameters
    ----------
    result : GeneralMatchResult
        What :func:`match_general` returned.
    edges, capacity, maxcardinality
        What it was called with (``edges`` must be re-iterable: a list, not a generator).

    Returns
    -------
    list of str
        The violations, empty when the result is consistent.

    Examples
    --------
    >>> edges = [("a", "b", 2.0), ("b", "c", 3.0)]
    >>> verify_general(match_general(edges), edges)
    []
    >>> both = match_general(edges, capacity=2)
    >>> verify_general(both, edges, capacity=2)
    []
    >>> verify_general(both, edges)
    ["node 'b' is in 2 pairs, above its capacity 1"]
    """
    problems: list[str] = []
    if result.status not in {"optimal", "feasible", "infeasible", "not_solved", "error"}:
        problems.append(f"unknown status {result.status!r}")
    pairs = list(result.pairs)
    weights = np.asarray(result.weights, dtype=np.float64)
    if len(pairs) != weights.size or weights.ndim != 1:
        return [*problems, f"{len(pairs)} pairs but {weights.size} weights"]
    if result.status not in WITH_SOLUTION:
        if pairs:
            problems.append(f"status {result.status!r} but {len(pairs)} pairs reported")
        if not math.isnan(result.objective):
            problems.append(f"status {result.status!r} but objective {result.objective!r}")
        return problems

    # The allowed pairs as given: oriented pair -> (position, weight).
    given: dict[tuple[Any, Any], tuple[int, float]] = {}
    sparse = sys.modules.get("scipy.sparse")
    if isinstance(edges, np.ndarray) or (sparse is not None and sparse.issparse(edges)):
        dense = edges.toarray() if hasattr(edges, "toarray") else np.asarray(edges)
        n = dense.shape[0]
        present = np.ones((n, n), dtype=bool)
        if hasattr(edges, "toarray"):
            coo = edges.tocoo()
            present = np.zeros((n, n), dtype=bool)
            present[coo.row, coo.col] = True
        for i, j in zip(*np.nonzero(present), strict=True):
            value = float(dense[i, j])
            if i < j and value > -math.inf:
                given[(int(i), int(j))] = (int(i) * n + int(j), value)
    else:
        for k, (u, v, w) in enumerate(edges):
            if float(w) > -math.inf:
                given[(u, v)] = (k, float(w))

    seen: set[frozenset[Any]] = set()
    count: dict[Any, int] = {}
    last = -1
    for k, (u, v) in enumerate(pairs):
        entry = given.get((u, v))
        if entry is None:
            flipped = " (given the other way round)" if (v, u) in given else ""
            problems.append(f"pair {(u, v)!r} is not an allowed edge{flipped}")
            continue
        position, weight = entry
        if position <= last:
            problems.append(f"pair {(u, v)!r} is out of the order of edges")
        last = position
        if frozenset((u, v)) in seen:
            problems.append(f"pair {(u, v)!r} is chosen more than once")
        seen.add(frozenset((u, v)))
        if weights[k] != weight:
            problems.append(f"pair {(u, v)!r} reports weight {weights[k]}, given {weight}")
        if weight <= 0 and not maxcardinality:
            problems.append(f"pair {(u, v)!r} has weight {weight} <= 0 and cannot raise the total")
        count[u] = count.get(u, 0) + 1
        count[v] = count.get(v, 0) + 1
    for node, c in count.items():
        if isinstance(capacity, Mapping):
            limit = int(capacity[node])
        elif np.ndim(capacity):
            limit = int(np.asarray(capacity)[node])
        else:
            limit = int(capacity)
        if c > limit:
            problems.append(f"node {node!r} is in {c} pairs, above its capacity {limit}")

    expected = math.fsum(weights.tolist())
    scale = math.fsum(np.abs(weights).tolist())
    if not math.isclose(result.objective, expected, rel_tol=1e-12, abs_tol=1e-12 * scale):
        problems.append(
            f"objective {result.objective!r} but the chosen weights sum to {expected!r}"
        )
    if result.status == OPTIMAL and result.bound != result.objective:
        problems.append(f"status optimal but bound {result.bound!r} != objective")
    if result.bound is not None and result.bound < result.objective - 1e-9 * (1 + scale):
        problems.append(f"bound {result.bound!r} is below the objective {result.objective!r}")
    return problems


def check_general(
    result: GeneralMatchResult, edges: Any, *, capacity: Any = 1, maxcardinality: bool = False
) -> None:
    """Like :func:`verify_general`, but raise ``AssertionError`` listing the violations.

    Examples
    --------
    >>> edges = [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0)]
    >>> check_general(match_general(edges), edges)
    """
    problems = verify_general(result, edges, capacity=capacity, maxcardinality=maxcardinality)
    if problems:
        raise AssertionError("match_general result violates its rules:\n  " + "\n  ".join(problems))
