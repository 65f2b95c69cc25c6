"""``RegionGraph``: validated units, regions and ties as columnar numpy arrays.

The graph is the boundary between the validated records (:mod:`pbmatch.model`) and the numeric
layers: scoring reads its arrays, solvers never see ids. It is immutable once built.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.model import KINDS, LEVELS, Region, Tie, Unit, validate_records

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["TIERS", "RegionGraph"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

TIERS: dict[str, tuple[str, ...]] = {
    "city": ("city",),
    "district": ("district",),
    "street": ("street", "township"),
    "park": ("park", "building"),
    "community": ("community", "village"),
    "grid": ("grid",),
}
"""Tiers of the region tree and the levels each covers (a township is a rural street)."""


class RegionGraph:
    """The units of a region with their needs, offers and standing ties, as arrays.

    Parameters
    ----------
    units : iterable of Unit or dict
    regions : iterable of Region or dict
        Every region a unit or another region refers to.
    ties : iterable of Tie or dict, optional
        Standing co-building agreements.
    categories : sequence of str, optional
        Column order of the ``offers`` / ``needs`` matrices; by default every category named
        by any unit, sorted.

    Attributes
    ----------
    ids : ndarray of str, shape (n,)
    kinds : ndarray of int8, shape (n,)
        Index into :data:`pbmatch.model.KINDS`.
    lat, lon : ndarray of float, shape (n,)
        Degrees; NaN where unknown.
    members, max_partners, min_partners : ndarray of int, shape (n,)
        ``max_partners`` is -1 where the unit left it to the problem's default.
    categories : tuple of str
    offers, needs : ndarray of float, shape (n, len(categories))
    unit_region : ndarray of int, shape (n,)
        Index into ``region_ids`` of each unit's region.
    region_ids : tuple of str
    region_levels : ndarray of int8
        Index into :data:`pbmatch.model.LEVELS`.
    region_parent : ndarray of int
        Index of each region's parent, -1 for a root.
    tie_a, tie_b : ndarray of int
        Unit indices of each standing tie; ``tie_since`` holds the year (-1 if unknown).

    Raises
    ------
    InputError
        On any invalid record or cross reference (see :func:`pbmatch.model.validate_records`).

    Examples
    --------
    >>> g = RegionGraph.from_records(
    ...     units=[{"id": "a1", "kind": "机关", "region": "s1", "offers": {"venue": 2}},
    ...            {"id": "c1", "kind": "社区", "region": "c1", "needs": {"venue": 1}}],
    ...     regions=[{"id": "d1", "level": "区"}, {"id": "s1", "level": "街道", "parent": "d1"},
    ...              {"id": "c1", "level": "社区", "parent": "s1"}],
    ...     ties=[{"a": "a1", "b": "c1", "since": 2022}])
    >>> len(g), g.categories, g.offers.tolist()
    (2, ('venue',), [[2.0], [0.0]])
    >>> g.street_of("c1"), g.lowest_common_ancestor("a1", "c1")
    ('s1', 's1')
    """

    def __init__(
        self,
        units: Iterable[Unit | Mapping[str, Any]],
        regions: Iterable[Region | Mapping[str, Any]],
        ties: Iterable[Tie | Mapping[str, Any]] = (),
        *,
        categories: Sequence[str] | None = None,
    ) -> None:
        unit_list, region_list, tie_list = validate_records(units, regions, ties)
        self._units = tuple(unit_list)
        self._regions = tuple(region_list)
        self._ties = tuple(tie_list)
        self._index = {u.id: i for i, u in enumerate(self._units)}
        self._region_index = {r.id: i for i, r in enumerate(self._regions)}

        self.ids = np.array([u.id for u in unit_list], dtype=str)
        kind_code = {k: i for i, k in enumerate(KINDS)}
        self.kinds = np.array([kind_code[u.kind] for u in unit_list], dtype=np.int8)
        self.lat = np.array([np.nan if u.lat is None else u.lat for u in unit_list], dtype=float)
        self.lon = np.array([np.nan if u.lon is None else u.lon for u in unit_list], dtype=float)
        self.members = np.array([u.members for u in unit_list], dtype=np.int64)
        self.max_partners = np.array(
            [-1 if u.max_partners is None else u.max_partners for u in unit_list], dtype=np.int64
        )
        self.min_partners = np.array([u.min_partners for u in unit_list], dtype=np.int64)

        named = sorted({c for u in unit_list for c in (*u.offers, *u.needs)})
        if categories is None:
            self.categories = tuple(named)
        else:
            self.categories = tuple(categories)
            unknown = sorted(set(named) - set(self.categories))
            if unknown or len(set(self.categories)) != len(self.categories):
                raise InputError(
                    f"categories: {unknown!r} are named by units but not listed, or the list "
                    "has duplicates; list every category once"
                )
        self.offers = self._quantity_matrix("offers")
        self.needs = self._quantity_matrix("needs")

        self.region_ids = tuple(r.id for r in region_list)
        level_code = {lv: i for i, lv in enumerate(LEVELS)}
        self.region_levels = np.array([level_code[r.level] for r in region_list], dtype=np.int8)
        self.region_parent = np.array(
            [-1 if r.parent is None else self._region_index[r.parent] for r in region_list],
            dtype=np.int64,
        )
        self.unit_region = np.array(
            [self._region_index[u.region] for u in unit_list], dtype=np.int64
        )
        self._region_tier = {tier: self._tier_codes(levels) for tier, levels in TIERS.items()}

        self.tie_a = np.array([self._index[t.a] for t in tie_list], dtype=np.int64)
        self.tie_b = np.array([self._index[t.b] for t in tie_list], dtype=np.int64)
        self.tie_since = np.array(
            [-1 if t.since is None else t.since for t in tie_list], dtype=np.int64
        )

    @classmethod
    def from_records(
        cls,
        *,
        units: Iterable[Mapping[str, Any]],
        regions: Iterable[Mapping[str, Any]],
        ties: Iterable[Mapping[str, Any]] = (),
        categories: Sequence[str] | None = None,
    ) -> RegionGraph:
        """Build a graph from plain dicts whose keys are the models' field names."""
        return cls(units, regions, ties, categories=categories)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> RegionGraph:
        """Read a workbook, CSV, JSON or GeoJSON file (see :func:`pbmatch.io.read`)."""
        from pbmatch.io import read

        return read(path)

    @classmethod
    def from_pandas(cls, frames: Any) -> RegionGraph:
        """Build a graph from DataFrames by sheet (:func:`pbmatch.io.graph_from_pandas`)."""
        from pbmatch.io import graph_from_pandas

        return graph_from_pandas(frames)

    @classmethod
    def from_networkx(cls, graph: nx.MultiDiGraph) -> RegionGraph:
        """Rebuild a graph from :meth:`to_networkx` (:func:`pbmatch.io.graph_from_networkx`)."""
        from pbmatch.io import graph_from_networkx

        return graph_from_networkx(graph)

    def to_pandas(self) -> dict[str, Any]:
        """The graph as DataFrames by sheet: units, needs, offers, regions, ties."""
        from pbmatch.io import graph_to_pandas

        return graph_to_pandas(self)

    # -- arrays ------------------------------------------------------------------------------
    def _quantity_matrix(self, field: str) -> FloatArray:
        column = {c: j for j, c in enumerate(self.categories)}
        rows, cols, vals = [], [], []
        for i, unit in enumerate(self._units):
            for category, quantity in getattr(unit, field).items():
                rows.append(i)
                cols.append(column[category])
                vals.append(quantity)
        matrix = np.zeros((len(self._units), len(self.categories)))
        matrix[np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)] = vals
        return matrix

    def _tier_codes(self, levels: tuple[str, ...]) -> IntArray:
        """For each region, the index of its nearest ancestor-or-self in ``levels`` (or -1)."""
        wanted = np.isin(self.region_levels, [LEVELS.index(lv) for lv in levels])
        code = np.where(wanted, np.arange(len(self._regions)), -1)
        parent = self.region_parent.copy()
        # Pointer jumping: each pass looks twice as far up the tree; depth is tiny anyway.
        while True:
            missing = (code < 0) & (parent >= 0)
            if not missing.any():
                return code
            code[missing] = code[parent[missing]]
            parent[missing] = parent[parent[missing]]

    def region_codes(self, tier: str) -> IntArray:
        """Index into ``region_ids`` of each unit's enclosing region at ``tier`` (-1 if none).

        Parameters
        ----------
        tier : {"city", "district", "street", "park", "community", "grid"}
            ``"street"`` covers townships, ``"community"`` villages, ``"park"`` buildings.
        """
        if tier not in TIERS:
            raise InputError(f"tier {tier!r} is unknown; allowed: {', '.join(TIERS)}")
        return self._region_tier[tier][self.unit_region]

    @property
    def kind_names(self) -> npt.NDArray[np.str_]:
        """Each unit's kind identifier."""
        return np.asarray(KINDS, dtype=str)[self.kinds]

    # -- records -----------------------------------------------------------------------------
    @property
    def units(self) -> tuple[Unit, ...]:
        return self._units

    @property
    def regions(self) -> tuple[Region, ...]:
        return self._regions

    @property
    def ties(self) -> tuple[Tie, ...]:
        return self._ties

    def __len__(self) -> int:
        return len(self._units)

    def __repr__(self) -> str:
        return (
            f"RegionGraph(units={len(self)}, regions={len(self._regions)}, "
            f"ties={len(self._ties)}, categories={len(self.categories)})"
        )

    def unit(self, unit_id: str) -> Unit:
        """The validated record of ``unit_id``."""
        return self._units[self.index(unit_id)]

    def index(self, unit_id: str) -> int:
        """Position of ``unit_id`` in the arrays."""
        try:
            return self._index[unit_id]
        except KeyError:
            raise InputError(f"unit {unit_id!r} is not in this graph") from None

    def indices(self, unit_ids: Iterable[str]) -> IntArray:
        """Positions of several unit ids."""
        return np.array([self.index(u) for u in unit_ids], dtype=np.int64)

    # -- region tree -------------------------------------------------------------------------
    def _region_of(self, item: str) -> int:
        if item in self._index:
            return int(self.unit_region[self._index[item]])
        if item in self._region_index:
            return self._region_index[item]
        raise InputError(f"{item!r} is neither a unit nor a region of this graph")

    def ancestors(self, item: str) -> list[str]:
        """Region ids from ``item``'s region (or ``item`` itself if a region) up to the root."""
        path: list[str] = []
        node = self._region_of(item)
        while node >= 0:
            path.append(self.region_ids[node])
            node = int(self.region_parent[node])
        return path

    def enclosing(self, item: str, tier: str) -> str | None:
        """The region id at ``tier`` that contains a unit or region, or ``None``."""
        if tier not in TIERS:
            raise InputError(f"tier {tier!r} is unknown; allowed: {', '.join(TIERS)}")
        code = int(self._region_tier[tier][self._region_of(item)])
        return None if code < 0 else self.region_ids[code]

    def street_of(self, item: str) -> str | None:
        """The street or township that contains a unit or region, or ``None``."""
        return self.enclosing(item, "street")

    def lowest_common_ancestor(self, a: str, b: str) -> str | None:
        """The smallest region containing both units (or regions), or ``None``."""
        above_b = set(self.ancestors(b))
        return next((r for r in self.ancestors(a) if r in above_b), None)

    # -- views -------------------------------------------------------------------------------
    def to_networkx(self) -> nx.MultiDiGraph:
        """The graph as a networkx ``MultiDiGraph``.

        Nodes are ``("region", id)``, ``("unit", id)`` and ``("category", name)`` tuples with
        their fields as attributes. Edges carry a ``relation``: ``located_in`` (unit → region,
        region → parent), ``offers`` (unit → category, ``quantity``), ``needs`` (category →
        unit, ``quantity``) and ``tie`` (unit → unit, ``since``).

        Examples
        --------
        >>> import pbmatch
        >>> G = pbmatch.synthetic_district(seed=1).to_networkx()
        >>> sorted({d["relation"] for _, _, d in G.edges(data=True)})
        ['located_in', 'needs', 'offers', 'tie']
        """
        import networkx as nx

        graph = nx.MultiDiGraph()
        for region in self._regions:
            graph.add_node(("region", region.id), type="region", **region.model_dump())
            if region.parent is not None:
                graph.add_edge(
                    ("region", region.id), ("region", region.parent), relation="located_in"
                )
        graph.add_nodes_from((("category", c), {"type": "category"}) for c in self.categories)
        for unit in self._units:
            node = ("unit", unit.id)
            attrs = unit.model_dump(exclude={"offers", "needs"})
            graph.add_node(node, type="unit", **attrs)
            graph.add_edge(node, ("region", unit.region), relation="located_in")
            for category, quantity in unit.offers.items():
                graph.add_edge(node, ("category", category), relation="offers", quantity=quantity)
            for category, quantity in unit.needs.items():
                graph.add_edge(("category", category), node, relation="needs", quantity=quantity)
        for tie in self._ties:
            graph.add_edge(("unit", tie.a), ("unit", tie.b), relation="tie", since=tie.since)
        return graph
