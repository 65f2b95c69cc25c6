"""The numbers-only one-pool b-matching problem the ``general_*`` backends solve.

Built once by :func:`pbmatch.general.match_general` after validation and scaling; the backends
trust its arrays. Every weight here is a positive int64 (the scaled, possibly transformed weight
of a candidate edge), and the problem is to choose edges maximising their total weight with node
``v`` in at most ``capacity[v]`` chosen edges and each edge chosen at most once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status

__all__ = ["GeneralProblem", "GeneralSolution", "components"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class GeneralProblem:
    """A validated one-pool b-matching problem with integer weights.

    Attributes
    ----------
    n_nodes : int
        Nodes are ``0 .. n_nodes - 1``; every node has at least one edge.
    tails, heads : ndarray of int64, shape (p,)
        The candidate edges; ``tails[e] != heads[e]`` and no pair repeats.
    costs : ndarray of int64, shape (p,)
        Weight of each edge, > 0, small enough for the flow solver (see
        :mod:`pbmatch.solvers.scaling`).
    capacity : ndarray of int64, shape (n_nodes,)
        Most chosen edges at each node, ``1 <= capacity <= degree``.
    time_limit : float or None
        Seconds for the whole solve, or None.
    """

    n_nodes: int
    tails: IntArray
    heads: IntArray
    costs: IntArray
    capacity: IntArray
    time_limit: float | None = None

    @property
    def n_edges(self) -> int:
        return int(self.tails.size)


@dataclass(frozen=True, eq=False)
class GeneralSolution:
    """What a ``general_*`` backend hands back.

    Attributes
    ----------
    chosen : ndarray of bool, shape (p,)
        Which edges of the problem are chosen.
    status : str
        ``"optimal"`` (proven), ``"feasible"`` (a limit stopped the proof), ``"error"``.
    message : str
        What the backend did, with the solvers' own status names.
    upper2 : int or None
        Twice an upper bound on the total weight of any feasible choice, in the problem's
        integer units (twice, because the relaxation's bound is a half-integer).
    stats : dict
        Counters for reports and benchmarks (rounds, sizes of the exact sub-solves, ...).
    """

    chosen: BoolArray
    status: Status
    message: str
    upper2: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)


def components(n_nodes: int, tails: IntArray, heads: IntArray) -> IntArray:
    """Connected-component label of each node: the smallest node index in its component.

    Vectorised hook-and-jump (Shiloach-Vishkin style): every root that has an edge to a smaller
    root is hooked below it, then pointers are jumped to their roots; rounds repeat until every
    edge joins two nodes of one root. Labels only ever decrease, so no cycle can form.

    Examples
    --------
    >>> import numpy as np
    >>> components(6, np.array([4, 1, 5]), np.array([2, 0, 4])).tolist()
    [0, 0, 2, 3, 2, 2]
    """
    parent = np.arange(n_nodes, dtype=np.int64)
    if tails.size == 0:
        return parent
    while True:
        pa, pb = parent[tails], parent[heads]
        differ = pa != pb
        if not differ.any():
            return parent
        lo = np.minimum(pa[differ], pb[differ])
        hi = np.maximum(pa[differ], pb[differ])
        np.minimum.at(parent, hi, lo)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
