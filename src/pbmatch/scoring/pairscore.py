"""``PairScorer``: the co-building score of provider × receiver pairs of a ``RegionGraph``."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch.graph import RegionGraph
from pbmatch.scoring import components as comp
from pbmatch.scoring.complementarity import complementarity
from pbmatch.scoring.weights import COMPONENTS, Weights

__all__ = ["PairScorer"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _share(met: npt.NDArray[np.floating[Any]], total: FloatArray) -> FloatArray:
    """``met / total`` with 0 where nothing is needed."""
    out = np.zeros(np.broadcast(met, total).shape)
    np.divide(met, total, out=out, where=total > 0)
    return out


class PairScorer:
    """Scores pairs of providers and receivers of a graph with the components of ``Weights``.

    Parameters
    ----------
    graph : RegionGraph
    providers, receivers : array of int
        Unit indices of the two sides (rows and columns of every block).
    weights : Weights, optional
    max_km : float, optional
        Pairs farther apart are forbidden (score ``-inf``); pairs with an unknown location are
        not cut off.

    Notes
    -----
    ``block`` and ``breakdown`` share the component functions of
    :mod:`pbmatch.scoring.components`; a pair's breakdown (weighted components) sums to its
    score. Self pairs (the same unit on both sides) are forbidden.

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> g = pbmatch.synthetic_district(seed=0)
    >>> receiver = np.isin(g.kind_names, ["community", "village"])
    >>> s = PairScorer(g, np.flatnonzero(~receiver), np.flatnonzero(receiver))
    >>> block = s.block(0, 5)
    >>> block.shape == (5, receiver.sum()), bool(np.isfinite(block).all())
    (True, True)
    """

    def __init__(
        self,
        graph: RegionGraph,
        providers: IntArray,
        receivers: IntArray,
        weights: Weights | None = None,
        *,
        max_km: float | None = None,
    ) -> None:
        self.graph = graph
        self.providers = np.asarray(providers, dtype=np.int64)
        self.receivers = np.asarray(receivers, dtype=np.int64)
        self.weights = weights if weights is not None else Weights()
        self.max_km = max_km
        self._w = self.weights.component_weights()
        self._category_w = np.array(
            [self.weights.category_weights.get(c, 1.0) for c in graph.categories], dtype=float
        )
        self._kind_table = np.asarray(self.weights.kind_table(), dtype=float)
        self._need_total = graph.needs @ self._category_w
        self._street = graph.region_codes("street")
        self._district = graph.region_codes("district")
        ends = (
            np.concatenate([graph.tie_a, graph.tie_b]),
            np.concatenate([graph.tie_b, graph.tie_a]),
        )
        self._tie_keys = np.sort(ends[0] * len(graph) + ends[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(number of providers, number of receivers)."""
        return (self.providers.size, self.receivers.size)

    def _components(
        self, p: IntArray, r: IntArray, need_met: FloatArray, offer_used: FloatArray
    ) -> dict[str, FloatArray]:
        """Unweighted components for broadcastable unit indices ``p`` and ``r``."""
        g = self.graph
        km = comp.haversine_km(g.lat[p], g.lon[p], g.lat[r], g.lon[r])
        same_street = comp.same_region(self._street[p], self._street[r])
        return {
            "need_met": need_met,
            "offer_used": offer_used,
            "distance": comp.distance_decay(km, self.weights.half_distance_km),
            "kind": comp.kind_affinity(self._kind_table, g.kinds[p], g.kinds[r]),
            "same_street": same_street.astype(float),
            "same_district": (
                comp.same_region(self._district[p], self._district[r]) & ~same_street
            ).astype(float),
            "continuity": comp.tied(p, r, self._tie_keys, len(g)).astype(float),
            "_km": km,
        }

    def _combine(self, parts: dict[str, FloatArray], p: IntArray, r: IntArray) -> FloatArray:
        score = np.zeros(np.broadcast(p, r).shape)
        for name in COMPONENTS:
            if self._w[name]:
                score += self._w[name] * parts[name]
        forbidden = p == r
        if self.max_km is not None:
            forbidden = forbidden | (parts["_km"] > self.max_km)
        score[forbidden] = -np.inf
        return score

    def block(self, start: int, stop: int) -> FloatArray:
        """Scores of providers ``start:stop`` (rows) against every receiver; ``-inf`` forbids."""
        g = self.graph
        p = self.providers[start:stop]
        r = self.receivers
        cw = self._category_w
        need_met = _share(
            complementarity(g.offers[p], g.needs[r], cw), self._need_total[r][None, :]
        )
        offer_used = _share(
            complementarity(g.needs[p], g.offers[r], cw), self._need_total[p][:, None]
        )
        parts = self._components(p[:, None], r[None, :], need_met, offer_used)
        return self._combine(parts, p[:, None], r[None, :])

    def dense(self) -> FloatArray:
        """The whole provider × receiver score matrix."""
        return self.block(0, self.providers.size)

    def breakdown(self, rows: IntArray, cols: IntArray) -> dict[str, FloatArray]:
        """Weighted components of chosen pairs (positions into ``providers``/``receivers``).

        Returns a dict with one array per name in :data:`~pbmatch.scoring.weights.COMPONENTS`,
        plus ``"score"`` (their sum) and ``"distance_km"``.
        """
        g = self.graph
        p, r = self.providers[rows], self.receivers[cols]
        cw = self._category_w
        need_met = _share(np.minimum(g.offers[p], g.needs[r]) @ cw, self._need_total[r])
        offer_used = _share(np.minimum(g.needs[p], g.offers[r]) @ cw, self._need_total[p])
        parts = self._components(p, r, need_met, offer_used)
        out = {name: self._w[name] * parts[name] for name in COMPONENTS}
        score = np.zeros(p.shape)
        for name in COMPONENTS:
            score += out[name]
        out["score"] = score
        out["distance_km"] = parts["_km"]
        return out
