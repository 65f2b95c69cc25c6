"""Pairing rules in domain words: who may, must, or may not pair, and how many.

Pass a list of rules to :func:`pbmatch.pair` (``rules=[...]``). Each rule is hard by default
(it must hold; when the rules cannot all hold the pairing is ``infeasible`` and its
``diagnosis`` says which rules conflict), or soft when given a ``penalty``: it may then be
broken, and the pairing loses ``penalty`` score for each unit of violation (each pair, or
each partner, named on the rule).

- ``Forbid(a, b)``: units ``a`` and ``b`` are not paired; a unit of violation is the pair.
- ``Lock(a, b)``: units ``a`` and ``b`` are paired; the missing pair.
- ``SameRegion(level="street")``: both units of every pair lie in one region of that level;
  each pair that does not.
- ``MaxDistance(km)``: no pair is more than ``km`` apart (pairs with an unknown location are
  exempt); each pair farther.
- ``KindQuota(kind, min=, max=)``: every receiver has between ``min`` and ``max`` partners of
  that kind (or kinds); each partner short or over, per receiver.
- ``RegionCap(level, max)``: no region of that level hosts more than ``max`` pairs (a pair is
  hosted by its receiver's region, or its provider's with ``side="provider"``); each pair
  over, per region.

Levels are the tiers of :data:`pbmatch.graph.TIERS` (``"street"`` covers townships,
``"community"`` villages, ``"park"`` buildings); level names such as ``"township"`` and their
Chinese names (``"街道"``) are accepted. Kinds are those of :data:`pbmatch.model.KINDS` or
their Chinese names. Every rule checks its own numbers when it is made; unit and region ids
are checked against the graph when the pairing is solved. Either way a bad value raises
:class:`~pbmatch.InputError`.

Examples
--------
>>> from pbmatch.rules import Forbid, KindQuota, SameRegion
>>> rules = [SameRegion("street"), KindQuota("机关", min=1, penalty=0.5), Forbid("u1", "c1")]
>>> [r.label for r in rules]
["SameRegion('street')", "KindQuota('agency', min=1, penalty=0.5)", "Forbid('u1', 'c1')"]
>>> rules[1].hard, rules[0].hard
(False, True)
>>> SameRegion("quarter")
Traceback (most recent call last):
...
pbmatch.exceptions.InputError: SameRegion: level 'quarter' is unknown; allowed: city, ...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.graph import TIERS, RegionGraph
from pbmatch.model import KIND_NAMES_ZH, KINDS, LEVEL_NAMES_ZH, LEVELS
from pbmatch.scoring import components as comp

__all__ = [
    "RULE_TYPES",
    "CompiledRule",
    "Forbid",
    "KindQuota",
    "Lock",
    "MaxDistance",
    "PairingRules",
    "RegionCap",
    "Rule",
    "RuleGroup",
    "SameRegion",
    "Violation",
    "compile_rules",
    "count_violations",
    "previous_positions",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_TIER_OF_LEVEL: dict[str, str] = {lv: tier for tier, levels in TIERS.items() for lv in levels}


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _tier(value: Any, who: str) -> str:
    """The tier of :data:`~pbmatch.graph.TIERS` a level name (English or Chinese) falls in."""
    if isinstance(value, str):
        name = LEVEL_NAMES_ZH.get(value.strip(), value.strip())
        name = _TIER_OF_LEVEL.get(name, name)
        if name in TIERS:
            return name
    raise InputError(
        f"{who}: level {value!r} is unknown; allowed: {', '.join(TIERS)} "
        f"(or the levels {', '.join(LEVELS)}, or Chinese names such as 街道)"
    )


def _kind(value: Any, who: str) -> str:
    if isinstance(value, str):
        name = KIND_NAMES_ZH.get(value.strip(), value.strip())
        if name in KINDS:
            return name
    raise InputError(
        f"{who}: kind {value!r} is unknown; allowed: {', '.join(KINDS)} "
        "(or Chinese names such as 机关)"
    )


def _unit_id(value: Any, who: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{who}: {field_name} is {value!r}; it must be a non-empty unit id")
    return value.strip()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


@dataclass(frozen=True)
class Rule:
    """Base of the pairing rules: hard unless a ``penalty`` is given.

    Parameters
    ----------
    penalty : float or None, keyword-only
        ``None`` (default): the rule is hard and must hold. A number > 0: the rule is soft;
        each unit of violation costs that much score.
    """

    penalty: float | None = field(default=None, kw_only=True)

    violation_unit: ClassVar[str] = "pair"
    """What one unit of violation counts (a ``"pair"`` or a ``"partner"``)."""

    def __post_init__(self) -> None:
        value = self.penalty
        if value is not None and (
            not _is_number(value) or not math.isfinite(float(value)) or float(value) <= 0
        ):
            raise InputError(
                f"{type(self).__name__}: penalty is {value!r}; it must be a finite number > 0 "
                "(score lost per unit of violation), or None for a hard rule"
            )
        object.__setattr__(self, "penalty", None if value is None else float(value))

    @property
    def hard(self) -> bool:
        """True when the rule must hold (no ``penalty``)."""
        return self.penalty is None

    def _args(self) -> list[str]:
        return []

    @property
    def label(self) -> str:
        """The rule as code, e.g. ``"Forbid('S1-U01', 'S1-C02')"``."""
        args = self._args()
        if self.penalty is not None:
            args.append(f"penalty={self.penalty:g}")
        return f"{type(self).__name__}({', '.join(args)})"

    def describe(self) -> str:
        """The rule in words."""
        raise NotImplementedError

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        raise NotImplementedError

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        raise NotImplementedError


@dataclass(frozen=True)
class _PairRule(Rule):
    """A rule about one named pair of units, ``a`` and ``b`` (either may be the provider)."""

    a: str
    b: str

    def __post_init__(self) -> None:
        super().__post_init__()
        name = type(self).__name__
        object.__setattr__(self, "a", _unit_id(self.a, name, "a"))
        object.__setattr__(self, "b", _unit_id(self.b, name, "b"))
        if self.a == self.b:
            raise InputError(f"{name}: a and b are both {self.a!r}; name two different units")

    def _args(self) -> list[str]:
        return [repr(self.a), repr(self.b)]

    def _edges(self, ctx: _Context) -> BoolArray:
        """The candidate edges between ``a`` and ``b``."""
        return ctx.pair_mask(ctx.pair_of(self.a, self.b, self.label))


@dataclass(frozen=True)
class Forbid(_PairRule):
    """Units ``a`` and ``b`` must not pair (either may be the provider).

    Examples
    --------
    >>> Forbid("S1-U01", "S1-C02").describe()
    'S1-U01 and S1-C02 may not pair'
    """

    def describe(self) -> str:
        return f"{self.a} and {self.b} may not pair"

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        return self._edges(ctx), []

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        hit = int(self._edges(ctx).sum())
        return hit, [(f"{self.a}–{self.b}", hit)] if hit else []


@dataclass(frozen=True)
class Lock(_PairRule):
    """Units ``a`` and ``b`` must pair (either may be the provider).

    A locked pair that the pairing does not allow at all (farther than ``max_km``) cannot be
    chosen: a hard lock on it makes the pairing infeasible.

    Examples
    --------
    >>> Lock("S1-U01", "S1-C02", penalty=3).label
    "Lock('S1-U01', 'S1-C02', penalty=3)"
    """

    def describe(self) -> str:
        return f"{self.a} and {self.b} must pair"

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        edges = np.flatnonzero(self._edges(ctx))
        return None, [RuleGroup(edges.astype(np.int64), lo=1, where=f"{self.a}–{self.b}")]

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        miss = int(not self._edges(ctx).any())
        return miss, [(f"{self.a}–{self.b}", miss)] if miss else []


@dataclass(frozen=True)
class SameRegion(Rule):
    """Both units of every pair lie in one region of ``level`` (default the street).

    A unit outside every region of that level (a district agency under ``level="street"``)
    cannot pair under the hard rule.

    Examples
    --------
    >>> SameRegion("乡镇").level, SameRegion().describe()
    ('street', 'every pair lies within one street')
    """

    level: str = "street"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "level", _tier(self.level, "SameRegion"))

    def _args(self) -> list[str]:
        return [repr(self.level)]

    def describe(self) -> str:
        return f"every pair lies within one {self.level}"

    def _mask(self, ctx: _Context) -> BoolArray:
        codes = ctx.graph.region_codes(self.level)
        p, r = codes[ctx.p_units], codes[ctx.r_units]
        return ~comp.same_region(p, r)

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        return self._mask(ctx), []

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        bad = np.flatnonzero(self._mask(ctx))
        return int(bad.size), [(ctx.pair_text(e), 1) for e in bad.tolist()]


@dataclass(frozen=True)
class MaxDistance(Rule):
    """No pair is more than ``km`` apart; pairs with an unknown location are exempt.

    Unlike ``pair(max_km=...)``, which removes far pairs from the problem, this is a rule: it
    can be soft, and a diagnosis names it.

    Examples
    --------
    >>> MaxDistance(2.5).describe()
    'no pair is more than 2.5 km apart'
    """

    km: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _is_number(self.km) or not math.isfinite(float(self.km)) or float(self.km) <= 0:
            raise InputError(f"MaxDistance: km is {self.km!r}; it must be a finite number > 0")
        object.__setattr__(self, "km", float(self.km))

    def _args(self) -> list[str]:
        return [f"{self.km:g}"]

    def describe(self) -> str:
        return f"no pair is more than {self.km:g} km apart"

    def _mask(self, ctx: _Context) -> BoolArray:
        return np.asarray(ctx.km > self.km)  # NaN (unknown location) compares False

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        return self._mask(ctx), []

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        bad = np.flatnonzero(self._mask(ctx))
        return int(bad.size), [
            (f"{ctx.pair_text(e)} ({ctx.km[e]:.2f} km)", 1) for e in bad.tolist()
        ]


def _kinds(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise InputError(f"KindQuota: kind is {value!r}; give a kind or a list of kinds")
    out = tuple(dict.fromkeys(_kind(k, "KindQuota") for k in items))
    if not out:
        raise InputError("KindQuota: kind is empty; name at least one kind")
    return out


@dataclass(frozen=True)
class KindQuota(Rule):
    """Every receiver has at least ``min`` and at most ``max`` partners of ``kind``.

    Parameters
    ----------
    kind : str or sequence of str
        A provider kind, or several counted together (``("soe", "private_enterprise")`` for
        firms); Chinese names accepted.
    min : int, default 0
    max : int or None, default None
        ``None``: no upper limit. ``max=0`` keeps that kind away from the receivers.
    receivers : sequence of str or None, keyword-only
        The receivers the quota applies to (default: every receiver of the pairing).
    penalty : float or None, keyword-only
        Soft: the score lost per partner short of ``min`` or over ``max``, per receiver.

    Examples
    --------
    >>> KindQuota("agency", min=1).describe()
    'each receiver has at least 1 agency partner'
    >>> KindQuota(["soe", "非公企业"], min=1, max=3).describe()
    'each receiver has 1 to 3 soe or private_enterprise partners'
    >>> KindQuota("agency", min=2, max=1)
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: KindQuota: min 2 is greater than max 1; ...
    """

    kind: str | tuple[str, ...]
    min: int = 0
    max: int | None = None
    receivers: tuple[str, ...] | None = field(default=None, kw_only=True)

    violation_unit: ClassVar[str] = "partner"

    def __post_init__(self) -> None:
        super().__post_init__()
        kinds = _kinds(self.kind)
        object.__setattr__(self, "kind", kinds[0] if len(kinds) == 1 else kinds)
        lo, hi = self.min, self.max
        if not _is_int(lo) or lo < 0:
            raise InputError(f"KindQuota: min is {lo!r}; it must be an int >= 0")
        if hi is not None and (not _is_int(hi) or hi < 0):
            raise InputError(f"KindQuota: max is {hi!r}; it must be an int >= 0 or None")
        if hi is not None and lo > hi:
            raise InputError(f"KindQuota: min {lo} is greater than max {hi}; need min <= max")
        if lo == 0 and hi is None:
            raise InputError("KindQuota: min is 0 and max is None, so it asks nothing; set one")
        object.__setattr__(self, "min", int(lo))
        object.__setattr__(self, "max", None if hi is None else int(hi))
        if self.receivers is not None:
            if isinstance(self.receivers, str):
                raise InputError(
                    f"KindQuota: receivers is the string {self.receivers!r}; pass a list of ids"
                )
            ids = tuple(_unit_id(u, "KindQuota", "receivers") for u in self.receivers)
            object.__setattr__(self, "receivers", ids)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds counted, as a tuple."""
        return (self.kind,) if isinstance(self.kind, str) else self.kind

    def _args(self) -> list[str]:
        kind = repr(self.kind) if isinstance(self.kind, str) else repr(list(self.kind))
        args = [kind]
        if self.min:
            args.append(f"min={self.min}")
        if self.max is not None:
            args.append(f"max={self.max}")
        if self.receivers is not None:
            args.append(f"receivers={list(self.receivers)!r}")
        return args

    def describe(self) -> str:
        what = " or ".join(self.kinds)
        if self.max is None:
            count = f"at least {self.min}"
        elif self.min == 0:
            count = f"at most {self.max}"
        elif self.min == self.max:
            count = f"exactly {self.min}"
        else:
            count = f"{self.min} to {self.max}"
        many = self.max if self.min == 0 and self.max is not None else self.min
        if self.max is not None and 0 < self.min < self.max:
            many = 2  # a range: plural
        who = "each receiver" if self.receivers is None else "each of " + ", ".join(self.receivers)
        return f"{who} has {count} {what} partner{'' if many == 1 else 's'}"

    def _targets(self, ctx: _Context) -> IntArray:
        """Positions of the receivers the quota applies to."""
        if self.receivers is None:
            return np.arange(ctx.receivers.size, dtype=np.int64)
        return np.array([ctx.receiver_position(u, self.label) for u in self.receivers])

    def _edges(self, ctx: _Context) -> BoolArray:
        codes = [KINDS.index(k) for k in self.kinds]
        return np.isin(ctx.graph.kinds[ctx.p_units], codes)

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        of_kind = self._edges(ctx)
        groups = []
        for j, edges in zip(ctx.targets(self._targets(ctx)), ctx.by_col(of_kind), strict=True):
            if j < 0:
                continue
            if self.min == 0 and self.max is not None and edges.size <= self.max:
                continue  # can never be over
            groups.append(RuleGroup(edges, lo=self.min, hi=self.max, where=ctx.receiver_id(j)))
        return None, groups

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        counts = np.bincount(ctx.cols[self._edges(ctx)], minlength=ctx.receivers.size)
        j = self._targets(ctx)
        short = np.maximum(self.min - counts[j], 0)
        over = 0 if self.max is None else np.maximum(counts[j] - self.max, 0)
        bad = short + over
        hit = np.flatnonzero(bad)
        return int(bad.sum()), [(ctx.receiver_id(j[k]), int(bad[k])) for k in hit.tolist()]


def _caps(value: Any) -> int | tuple[tuple[str, int], ...]:
    if _is_int(value):
        if value < 0:
            raise InputError(f"RegionCap: max is {value!r}; it must be an int >= 0")
        return int(value)
    if isinstance(value, Mapping):
        out = []
        for region, cap in value.items():
            if not isinstance(region, str) or not _is_int(cap) or cap < 0:
                raise InputError(
                    f"RegionCap: max[{region!r}] is {cap!r}; map region ids to ints >= 0"
                )
            out.append((region, int(cap)))
        return tuple(sorted(out))
    if isinstance(value, tuple) and all(
        isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) and _is_int(x[1])
        for x in value
    ):
        return _caps(dict(value))
    raise InputError(
        f"RegionCap: max is {value!r}; give an int >= 0 or a mapping of region id to int"
    )


@dataclass(frozen=True)
class RegionCap(Rule):
    """No region of ``level`` hosts more than ``max`` pairs.

    A pair is hosted by the region (at ``level``) of its receiver, or of its provider with
    ``side="provider"``; pairs whose unit lies outside every region of that level are not
    counted. ``RegionCap("street", 40)``: no street signs more than 40 agreements for its
    communities. ``max`` may also map region ids to their own caps (regions not listed are
    not capped); it is kept as a sorted tuple of ``(region, cap)``.

    Examples
    --------
    >>> RegionCap("street", 40).describe()
    'no street hosts more than 40 pairs (by the receiver)'
    >>> RegionCap("街道", {"S2": 10, "S1": 12}, side="provider").max
    (('S1', 12), ('S2', 10))
    """

    level: str
    max: int | tuple[tuple[str, int], ...]
    side: str = field(default="receiver", kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "level", _tier(self.level, "RegionCap"))
        object.__setattr__(self, "max", _caps(self.max))
        if self.side not in ("receiver", "provider"):
            raise InputError(f"RegionCap: side is {self.side!r}; allowed: 'receiver', 'provider'")

    def _args(self) -> list[str]:
        cap = self.max if isinstance(self.max, int) else dict(self.max)
        args = [repr(self.level), repr(cap)]
        if self.side != "receiver":
            args.append(f"side={self.side!r}")
        return args

    def describe(self) -> str:
        if isinstance(self.max, int):
            cap = f"no {self.level} hosts more than {_plural(self.max, 'pair')}"
        else:
            cap = "; ".join(f"{r} hosts at most {_plural(c, 'pair')}" for r, c in self.max)
        return f"{cap} (by the {self.side})"

    def _codes(self, ctx: _Context) -> IntArray:
        units = ctx.r_units if self.side == "receiver" else ctx.p_units
        return ctx.graph.region_codes(self.level)[units]

    def _limits(self, ctx: _Context) -> dict[int, int]:
        """Region index → cap, for every capped region."""
        if isinstance(self.max, int):
            side = ctx.receivers if self.side == "receiver" else ctx.providers
            present = np.unique(ctx.graph.region_codes(self.level)[side])
            return {int(r): self.max for r in present.tolist() if r >= 0}
        out = {}
        for region, cap in self.max:
            code = ctx.region_code(region, self.level, self.label)
            out[code] = cap
        return out

    def _compile(self, ctx: _Context) -> tuple[BoolArray | None, list[RuleGroup]]:
        codes = self._codes(ctx)
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        groups = []
        for region, cap in sorted(self._limits(ctx).items()):
            lo, hi = np.searchsorted(ordered, [region, region + 1])
            if hi - lo > cap:
                edges = np.sort(order[lo:hi]).astype(np.int64)
                groups.append(RuleGroup(edges, hi=cap, where=ctx.graph.region_ids[region]))
        return None, groups

    def _count(self, ctx: _Context) -> tuple[int, list[tuple[str, int]]]:
        codes = self._codes(ctx)
        total, where = 0, []
        for region, cap in sorted(self._limits(ctx).items()):
            over = max(0, int((codes == region).sum()) - cap)
            if over:
                total += over
                where.append((ctx.graph.region_ids[region], over))
        return total, where


RULE_TYPES: tuple[type[Rule], ...] = (Forbid, Lock, SameRegion, MaxDistance, KindQuota, RegionCap)
"""The rule classes :func:`pbmatch.pair` accepts."""


# ---------------------------------------------------------------------------------------------
# Compilation: rules -> groups of candidate edges
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RuleGroup:
    """At least ``lo`` and at most ``hi`` of the candidate ``edges`` are chosen.

    ``where`` names what the group is about: a receiver, a region, a pair.
    """

    edges: IntArray
    lo: int = 0
    hi: int | None = None
    where: str = ""

    def violation(self, chosen: BoolArray) -> int:
        """Units of violation under a chosen-edge mask."""
        count = int(chosen[self.edges].sum())
        over = 0 if self.hi is None else max(0, count - self.hi)
        return max(0, self.lo - count) + over


@dataclass(frozen=True, eq=False)
class CompiledRule:
    """One rule as groups of candidate edges.

    Attributes
    ----------
    index : int
        Its position among the compiled rules (the ``rule`` of its solver groups).
    rule : Rule or None
        The user's rule; ``None`` for the pairing's own rules (``kind`` says which).
    kind : str
        ``"rule"``, ``"receiver_min"``, ``"provider_min"`` or ``"max_changes"``.
    label, text : str
        The rule as code and in words.
    penalty : float or None
        ``None`` when hard.
    exclude : ndarray of bool or None
        The candidate edges the rule rules out (a rule that forbids pairs); else None.
    groups : tuple of RuleGroup
        Counting groups (an ``exclude`` mask is one group with ``hi=0`` over its edges).
    unit : str
        What one unit of violation counts.
    """

    index: int
    rule: Rule | None
    kind: str
    label: str
    text: str
    penalty: float | None
    exclude: BoolArray | None
    groups: tuple[RuleGroup, ...]
    unit: str = "pair"

    @property
    def hard(self) -> bool:
        return self.penalty is None

    def all_groups(self) -> tuple[RuleGroup, ...]:
        """``groups`` with the ``exclude`` mask as one more group (``hi=0``)."""
        if self.exclude is None:
            return self.groups
        edges = np.flatnonzero(self.exclude).astype(np.int64)
        return (*self.groups, RuleGroup(edges, hi=0, where=""))

    def violations(
        self, chosen: BoolArray, pair_text: Callable[[int], str]
    ) -> list[tuple[str, int]]:
        """``(where, amount)`` for each violated group under a chosen-edge mask."""
        out = []
        if self.exclude is not None:
            out += [(pair_text(e), 1) for e in np.flatnonzero(self.exclude & chosen).tolist()]
        for group in self.groups:
            amount = group.violation(chosen)
            if amount:
                out.append((group.where, amount))
        return out


class _Context:
    """Candidate edges of a pairing and lookups the rules compile against."""

    def __init__(
        self,
        graph: RegionGraph,
        providers: IntArray,
        receivers: IntArray,
        rows: IntArray,
        cols: IntArray,
    ) -> None:
        self.graph = graph
        self.providers, self.receivers = providers, receivers
        self.rows, self.cols = rows, cols
        self.p_units, self.r_units = providers[rows], receivers[cols]
        self._p_pos = {int(u): k for k, u in enumerate(providers.tolist())}
        self._r_pos = {int(u): k for k, u in enumerate(receivers.tolist())}
        self._km: FloatArray | None = None
        self._col_order: IntArray | None = None

    @property
    def km(self) -> FloatArray:
        """Great-circle km of each edge, computed as the scorer does (NaN where unknown)."""
        if self._km is None:
            g = self.graph
            xyz = comp.unit_vectors(g.lat, g.lon)
            chord2 = np.zeros(self.rows.size)
            for axis in range(3):
                diff = xyz[self.p_units, axis] - xyz[self.r_units, axis]
                diff *= diff
                chord2 += diff
            self._km = comp.arc_km(np.sqrt(chord2))
        return self._km

    def pair_of(self, a: str, b: str, who: str) -> tuple[int, int]:
        """Provider and receiver positions of units ``a`` and ``b``, in either order."""
        g = self.graph
        ia, ib = self._index(a, who), self._index(b, who)
        for p, r in ((ia, ib), (ib, ia)):
            if p in self._p_pos and r in self._r_pos:
                return self._p_pos[p], self._r_pos[r]
        raise InputError(
            f"{who}: {a!r} and {b!r} are not a provider and a receiver of this pairing "
            f"({a!r} is a {g.kind_names[ia]}, {b!r} a {g.kind_names[ib]}); name one unit of "
            "each side"
        )

    def _index(self, unit: str, who: str) -> int:
        try:
            return self.graph.index(unit)
        except InputError:
            raise InputError(f"{who}: unit {unit!r} is not in the graph") from None

    def receiver_position(self, unit: str, who: str) -> int:
        pos = self._r_pos.get(self._index(unit, who))
        if pos is None:
            raise InputError(f"{who}: unit {unit!r} is not a receiver of this pairing")
        return pos

    def region_code(self, region: str, tier: str, who: str) -> int:
        g = self.graph
        try:
            code = g.region_ids.index(region)
        except ValueError:
            raise InputError(f"{who}: region {region!r} is not in the graph") from None
        if LEVELS[g.region_levels[code]] not in TIERS[tier]:
            raise InputError(
                f"{who}: region {region!r} is a {LEVELS[g.region_levels[code]]}, not a {tier}"
            )
        return code

    def pair_mask(self, pair: tuple[int, int]) -> BoolArray:
        return np.asarray((self.rows == pair[0]) & (self.cols == pair[1]))

    def receiver_id(self, j: int) -> str:
        return str(self.graph.ids[self.receivers[j]])

    def pair_text(self, e: int) -> str:
        return f"{self.graph.ids[self.p_units[e]]}–{self.graph.ids[self.r_units[e]]}"

    def by_col(self, mask: BoolArray | None = None) -> list[IntArray]:
        """Edge positions of each receiver (sorted), restricted to ``mask``."""
        if self._col_order is None:
            self._col_order = np.argsort(self.cols, kind="stable").astype(np.int64)
        order = self._col_order if mask is None else self._col_order[mask[self._col_order]]
        bounds = np.searchsorted(self.cols[order], np.arange(self.receivers.size + 1))
        return [order[bounds[j] : bounds[j + 1]] for j in range(self.receivers.size)]

    def by_row(self) -> list[IntArray]:
        """Edge positions of each provider (sorted)."""
        order = np.argsort(self.rows, kind="stable").astype(np.int64)
        bounds = np.searchsorted(self.rows[order], np.arange(self.providers.size + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(self.providers.size)]

    def targets(self, positions: IntArray) -> list[int]:
        """All receiver positions, marking those outside ``positions`` with -1."""
        wanted = np.zeros(self.receivers.size, dtype=bool)
        wanted[positions] = True
        return [j if wanted[j] else -1 for j in range(self.receivers.size)]


@dataclass(frozen=True, eq=False)
class PairingRules:
    """Every rule of one pairing compiled against its candidate edges.

    Attributes
    ----------
    rules : tuple of CompiledRule
        The user's rules first, in the order given, then the pairing's own rules that take
        part in a diagnosis: the receivers' and providers' ``min_partners`` and
        ``max_changes``.
    previous : ndarray of int, shape (k, 2)
        Provider and receiver positions of the previous pairs (empty without ``previous``).
    previous_edges : ndarray of int
        Candidate edges of the previous pairs that are allowed at all.
    """

    rules: tuple[CompiledRule, ...]
    previous: IntArray
    previous_edges: IntArray
    n_user: int

    @property
    def user(self) -> tuple[CompiledRule, ...]:
        return self.rules[: self.n_user]

    def hard_exclusion(self, n_edges: int) -> BoolArray:
        """Edges ruled out by the user's hard rules that forbid pairs."""
        out = np.zeros(n_edges, dtype=bool)
        for rule in self.user:
            if rule.hard and rule.exclude is not None:
                out |= rule.exclude
        return out


@dataclass(frozen=True)
class Violation:
    """How much a soft rule is broken in a pairing.

    Attributes
    ----------
    rule, text : str
        The rule as code and in words.
    amount : int
        Units of violation (``unit``: pairs or partners).
    unit : str
    cost : float
        ``penalty × amount``: the score the pairing gave up for it.
    where : tuple of (str, int)
        The pairs, receivers or regions that break it, with how many units each.
    """

    rule: str
    text: str
    amount: int
    unit: str
    cost: float
    where: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        places = ", ".join(w if n == 1 else f"{w} ({n})" for w, n in self.where[:6] if w)
        more = f", … ({len(self.where)} in all)" if len(self.where) > 6 else ""
        at = f" at {places}{more}" if places else ""
        return (
            f"{self.rule} broken by {_plural(self.amount, self.unit)}{at}, costing {self.cost:.4g}"
        )


def previous_positions(
    graph: RegionGraph, providers: IntArray, receivers: IntArray, previous: Any
) -> IntArray:
    """Provider and receiver positions of previous pairs, shape ``(k, 2)``, sorted.

    Parameters
    ----------
    previous : None, "ties" or sequence of (str, str)
        ``"ties"``: the graph's standing ties that join a provider and a receiver of this
        pairing (others are ignored); a list: ``(unit, unit)`` pairs, provider and receiver
        in either order, each listed once.

    Raises
    ------
    InputError
        Another string, an unknown unit, a pair that is not a provider and a receiver, a
        pair listed twice.

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> g = pbmatch.synthetic_district(seed=0, n_streets=2, n_townships=0,
    ...                                units_per_street=(4, 4), communities_per_street=(2, 2))
    >>> p, r = np.arange(2, 6), np.array([0, 1])
    >>> previous_positions(g, p, r, [("S1-C02", "S1-U03")]).tolist()
    [[2, 1]]
    """
    empty = np.zeros(0, dtype=np.int64)
    return _previous_pairs(_Context(graph, providers, receivers, empty, empty), previous)


def _previous_pairs(ctx: _Context, previous: Any) -> IntArray:
    """Provider and receiver positions of the previous pairs (sorted, unique)."""
    g = ctx.graph
    if previous is None:
        return np.zeros((0, 2), dtype=np.int64)
    if isinstance(previous, str):
        if previous != "ties":
            raise InputError(
                f"previous is {previous!r}; pass 'ties', a list of (unit, unit) pairs or None"
            )
        p_pos = np.full(len(g), -1, dtype=np.int64)
        r_pos = np.full(len(g), -1, dtype=np.int64)
        p_pos[ctx.providers] = np.arange(ctx.providers.size)
        r_pos[ctx.receivers] = np.arange(ctx.receivers.size)
        a = np.concatenate([g.tie_a, g.tie_b])
        b = np.concatenate([g.tie_b, g.tie_a])
        ok = (p_pos[a] >= 0) & (r_pos[b] >= 0)
        pairs = np.stack([p_pos[a[ok]], r_pos[b[ok]]], axis=1)
        return np.unique(pairs, axis=0) if pairs.size else pairs.reshape(0, 2)
    out = []
    for k, item in enumerate(previous):
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
            raise InputError(f"previous[{k}] is {item!r}; each previous pair is (unit, unit)")
        out.append(ctx.pair_of(str(item[0]), str(item[1]), f"previous[{k}]"))
    pairs = np.array(out, dtype=np.int64).reshape(-1, 2)
    unique = np.unique(pairs, axis=0)
    if unique.shape[0] != pairs.shape[0]:
        raise InputError("previous lists a pair more than once; list each pair once")
    return unique


def compile_rules(
    graph: RegionGraph,
    providers: IntArray,
    receivers: IntArray,
    rows: IntArray,
    cols: IntArray,
    rules: Sequence[Rule] = (),
    *,
    previous: Any = None,
    max_changes: int | None = None,
) -> PairingRules:
    """Compile pairing rules against the candidate edges ``(rows[e], cols[e])``.

    Parameters
    ----------
    graph : RegionGraph
    providers, receivers : ndarray of int
        Unit indices of the two sides.
    rows, cols : ndarray of int
        Candidate edges as positions into ``providers`` and ``receivers`` (the pairs the
        pairing allows at all).
    rules : sequence of Rule
    previous : None, "ties" or sequence of (str, str)
        Previous pairs; ``"ties"``: the graph's standing ties between the two sides.
    max_changes : int or None
        At most this many previous pairs may be dropped.

    Returns
    -------
    PairingRules

    Raises
    ------
    InputError
        An object that is not a rule, an unknown unit or region id, a pair that is not a
        provider and a receiver, a bad ``previous`` or ``max_changes``.

    Examples
    --------
    >>> import numpy as np
    >>> import pbmatch
    >>> g = pbmatch.synthetic_district(seed=0, n_streets=2, n_townships=0,
    ...                                units_per_street=(4, 4), communities_per_street=(2, 2))
    >>> p, r = np.arange(2, 6), np.array([0, 1])
    >>> rows, cols = np.repeat(np.arange(4), 2), np.tile(np.arange(2), 4)
    >>> compiled = compile_rules(g, p, r, rows, cols, [Lock("S1-U01", "S1-C02")])
    >>> for c in compiled.rules:
    ...     print(c.label, [grp.edges.tolist() for grp in c.groups])
    Lock('S1-U01', 'S1-C02') [[1]]
    min_partners of receivers [[0, 2, 4, 6], [1, 3, 5, 7]]
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    ctx = _Context(graph, providers, receivers, rows, cols)
    if isinstance(rules, (Rule, str)) or not isinstance(rules, Iterable):
        raise InputError(f"rules is {rules!r}; pass a list of rules such as [SameRegion()]")
    compiled: list[CompiledRule] = []
    for k, rule in enumerate(rules):
        if not isinstance(rule, RULE_TYPES):
            raise InputError(
                f"rules[{k}] is a {type(rule).__name__}; allowed: "
                f"{', '.join(t.__name__ for t in RULE_TYPES)} (from pbmatch.rules)"
            )
        exclude, groups = rule._compile(ctx)
        compiled.append(
            CompiledRule(
                index=k,
                rule=rule,
                kind="rule",
                label=rule.label,
                text=rule.describe(),
                penalty=rule.penalty,
                exclude=exclude,
                groups=tuple(groups),
                unit=rule.violation_unit,
            )
        )
    n_user = len(compiled)
    prev = _previous_pairs(ctx, previous)
    keys = rows * max(1, receivers.size) + cols
    order = np.argsort(keys, kind="stable")
    prev_keys = prev[:, 0] * max(1, receivers.size) + prev[:, 1]
    pos = np.minimum(np.searchsorted(keys[order], prev_keys), max(keys.size - 1, 0))
    found = keys[order][pos] == prev_keys if keys.size else np.zeros(prev_keys.size, bool)
    previous_edges = np.sort(order[pos[found]]).astype(np.int64)

    def own(kind: str, label: str, text: str, groups: list[RuleGroup]) -> None:
        if groups:
            compiled.append(
                CompiledRule(
                    len(compiled),
                    None,
                    kind,
                    label,
                    text,
                    None,
                    None,
                    tuple(groups),
                    unit="partner",
                )
            )

    r_min = graph.min_partners[receivers]
    own(
        "receiver_min",
        "min_partners of receivers",
        "each receiver has at least its min_partners partners",
        [
            RuleGroup(edges, lo=int(r_min[j]), where=ctx.receiver_id(j))
            for j, edges in enumerate(ctx.by_col())
            if r_min[j] > 0
        ],
    )
    p_min = graph.min_partners[providers]
    own(
        "provider_min",
        "min_partners of providers",
        "each provider has at least its min_partners partners",
        [
            RuleGroup(edges, lo=int(p_min[i]), where=str(graph.ids[providers[i]]))
            for i, edges in enumerate(ctx.by_row())
            if p_min[i] > 0
        ],
    )
    if max_changes is not None:
        if not _is_int(max_changes) or max_changes < 0:
            raise InputError(f"max_changes is {max_changes!r}; it must be an int >= 0 or None")
        if previous is None:
            raise InputError(
                "max_changes is set but previous is None; pass previous='ties' or a list of "
                "previous pairs"
            )
        keep = prev.shape[0] - int(max_changes)
        if keep > 0:
            compiled.append(
                CompiledRule(
                    len(compiled),
                    None,
                    "max_changes",
                    f"max_changes={int(max_changes)}",
                    f"at most {int(max_changes)} of the {prev.shape[0]} previous pairs are dropped",
                    None,
                    None,
                    (RuleGroup(previous_edges, lo=keep, where="previous pairs"),),
                    unit="pair",
                )
            )
    return PairingRules(tuple(compiled), prev, previous_edges, n_user)


def count_violations(
    graph: RegionGraph,
    providers: IntArray,
    receivers: IntArray,
    rows: IntArray,
    cols: IntArray,
    rules: Sequence[Rule],
) -> list[tuple[int, list[tuple[str, int]]]]:
    """Violations of each rule by the chosen pairs ``(rows[t], cols[t])``, counted directly.

    Independent of the compilation: each rule counts on the chosen pairs alone.

    Returns
    -------
    list of (int, list of (str, int))
        Per rule, the total units of violation and where (a pair, a receiver or a region)
        with how many.

    Examples
    --------
    >>> import numpy as np
    >>> import pbmatch
    >>> g = pbmatch.synthetic_district(seed=0, n_streets=2, n_townships=0,
    ...                                units_per_street=(4, 4), communities_per_street=(2, 2))
    >>> p, r = np.arange(2, 6), np.array([0, 1])
    >>> count_violations(g, p, r, np.array([0]), np.array([1]), [Forbid("S1-U01", "S1-C02")])
    [(1, [('S1-U01–S1-C02', 1)])]
    """
    ctx = _Context(
        graph, providers, receivers, np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    )
    return [rule._count(ctx) for rule in rules]
