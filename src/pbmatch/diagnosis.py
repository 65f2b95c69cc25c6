"""Why a pairing is infeasible, in domain words, and the cheapest ways out.

When the rules of :func:`pbmatch.pair` cannot all hold, the result's ``diagnosis`` is a
:class:`PairingDiagnosis`:

- ``conflict``: a minimal set of conflicting rules — together they admit no pairing, and
  dropping any one of them leaves the others satisfiable (the pairing's fixed limits, each
  unit's ``max_partners``, the two sides and ``max_km``, always hold). The pairing's own
  rules take part: the receivers' and the providers' ``min_partners``, and ``max_changes``;
- ``reasons``: counting arguments that show the conflict, such as "street S2 has 9
  communities that each need 2 partners — 18 in all — but the providers allowed to pair with
  them can take at most 11";
- ``relaxations``: for each conflicting rule, the least violation of it (in pairs or
  partners) that makes the whole pairing feasible, found by solving with that rule soft and
  every score 0; cheapest first. When another conflict remains, the least violation that
  resolves this one is given and marked ``partial``.

The search is done by the caller's solver (:func:`build_diagnosis` takes it as a function);
the counting arguments use a maximum flow (:func:`scipy.sparse.csgraph.maximum_flow`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS, LEVELS
from pbmatch.rules import CompiledRule, KindQuota, Lock, PairingRules, RegionCap

__all__ = ["PairingDiagnosis", "Relaxation", "build_diagnosis", "hall_shortfall"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Outcome = tuple[str, "BoolArray | None"]
"""What the caller's solver returns: status and chosen-edge mask (None without a solution)."""

_NAMING_TIERS = ("community", "park", "street", "district", "city")


@dataclass(frozen=True)
class Relaxation:
    """One way out of a conflict: violate one rule by ``amount`` units.

    Attributes
    ----------
    rule : str
        The rule, as code.
    text : str
        What to change, in words.
    amount : int
        Units of violation (pairs or partners) needed at least.
    partial : bool
        True when relaxing this rule alone does not make the pairing feasible (another
        conflict remains): ``amount`` then resolves this conflict only.
    """

    rule: str
    text: str
    amount: int
    partial: bool = False


@dataclass(frozen=True)
class PairingDiagnosis:
    """A minimal set of conflicting rules, why they conflict, and the cheapest relaxations.

    Attributes
    ----------
    conflict : tuple of str
        The conflicting rules as code (``"SameRegion('street')"``, ``"min_partners of
        receivers"`` ...).
    rules : tuple of str
        The same rules in words.
    reasons : tuple of str
        Counting arguments that show the conflict (may be empty when no simple count does).
    relaxations : tuple of Relaxation
        Cheapest first (complete ones before ``partial`` ones, then fewest units of
        violation).
    message : str
        One paragraph: the reasons, or the conflicting rules when there is no simple count.
    minimal : bool
        True when every rule of ``conflict`` was checked to be needed.
    sources : tuple of int or str
        Per conflicting rule: its index in ``pair(rules=...)``, or ``"receiver_min"``,
        ``"provider_min"``, ``"max_changes"`` for the pairing's own rules.
    """

    conflict: tuple[str, ...]
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    relaxations: tuple[Relaxation, ...]
    message: str
    minimal: bool = True
    sources: tuple[int | str, ...] = ()

    def lines(self) -> list[str]:
        """The diagnosis as lines of text."""
        out = ["These rules cannot all hold:"]
        out += [
            f"  - {label}: {text}" for label, text in zip(self.conflict, self.rules, strict=True)
        ]
        out += [f"Why: {reason}" for reason in self.reasons]
        if self.relaxations:
            out.append("Cheapest relaxations:")
            out += [
                f"  - {r.text}" + (" (resolves this conflict; others remain)" if r.partial else "")
                for r in self.relaxations
            ]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


# ---------------------------------------------------------------------------------------------
# Counting arguments
# ---------------------------------------------------------------------------------------------
def hall_shortfall(
    demand: IntArray, capacity: IntArray, rows: IntArray, cols: IntArray
) -> tuple[IntArray, int, int] | None:
    """A set of columns whose demand exceeds what the rows allowed to serve them can give.

    Columns ``j`` need ``demand[j]`` distinct rows among the edges ``(rows[e], cols[e])``;
    row ``i`` serves at most ``capacity[i]`` columns. When no assignment meets every demand
    (maximum flow below the total demand), returns ``(columns, need, room)``: a set of columns
    (the source side of a minimum cut) whose total demand ``need`` exceeds ``room``, the sum
    over the rows adjacent to them of ``min(capacity, edges into the set)`` — an upper bound
    on what the set can get. Returns None when every demand can be met.

    Examples
    --------
    >>> import numpy as np
    >>> demand, cap = np.array([2, 2, 1]), np.array([1, 1, 3])
    >>> rows, cols = np.array([0, 1, 0, 1, 2]), np.array([0, 0, 1, 1, 2])
    >>> cols_short, need, room = hall_shortfall(demand, cap, rows, cols)
    >>> cols_short.tolist(), need, room
    ([0, 1], 4, 2)
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow

    m, n = demand.size, capacity.size
    need_total = int(demand.sum())
    if need_total == 0:
        return None
    source, sink = 0, m + n + 1
    tail = np.concatenate([np.zeros(m, np.int64), 1 + cols, 1 + m + np.arange(n)])
    head = np.concatenate([1 + np.arange(m), 1 + m + rows, np.full(n, sink)])
    cap = np.concatenate([demand, np.ones(rows.size, np.int64), capacity]).astype(np.int32)
    size = m + n + 2
    graph = csr_matrix((cap, (tail, head)), shape=(size, size))
    graph.sum_duplicates()
    flow = maximum_flow(graph, source, sink)
    if flow.flow_value >= need_total:
        return None
    residual = (graph - flow.flow).tocsr()
    residual.data = np.where(residual.data > 0, 1, 0).astype(np.int32)
    residual.eliminate_zeros()
    reach = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    inside = np.zeros(size, dtype=bool)
    inside[reach] = True
    columns = np.flatnonzero(inside[1 : m + 1]).astype(np.int64)
    in_set = np.zeros(m, dtype=bool)
    in_set[columns] = True
    into = np.bincount(rows[in_set[cols]], minlength=n)
    room = int(np.minimum(capacity, into).sum())
    return columns, int(demand[columns].sum()), room


def _words(kinds: Sequence[str], count: int) -> str:
    """``"communities"``, ``"villages"``, ``"communities and villages"`` or ``"receivers"``."""
    nouns = {"community": ("community", "communities"), "village": ("village", "villages")}
    distinct = sorted(set(kinds))
    if all(k in nouns for k in distinct):
        return " and ".join(nouns[k][count != 1] for k in distinct)
    return "receiver" if count == 1 else "receivers"


def _region_words(graph: RegionGraph, units: IntArray, pool: IntArray) -> str | None:
    """``"street S2"`` when ``units`` are exactly the members of ``pool`` in one region."""
    for tier in _NAMING_TIERS:
        codes = graph.region_codes(tier)
        found = np.unique(codes[units])
        if found.size == 1 and found[0] >= 0:
            members = pool[codes[pool] == found[0]]
            if np.array_equal(np.sort(members), np.sort(units)):
                region = int(found[0])
                return f"{LEVELS[graph.region_levels[region]]} {graph.region_ids[region]}"
    return None


def _list(ids: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", … ({len(ids)} in all)" if len(ids) > limit else "")


def _demand_sentence(
    graph: RegionGraph,
    units: IntArray,
    pool: IntArray,
    demand: IntArray,
    what: str,
    receiver_side: bool,
) -> str:
    """``"street S2 has 9 communities that each need 2 partners — 18 in all —"``."""
    count = units.size
    noun = (
        _words([KINDS[k] for k in graph.kinds[units]], count)
        if receiver_side
        else ("provider" if count == 1 else "providers")
    )
    total = int(demand.sum())
    if count == 1:
        return f"{graph.ids[units[0]]} needs {_count(total, what)}"
    each = (
        f"each need {_count(int(demand[0]), what)}"
        if (demand == demand[0]).all()
        else f"need {int(demand.min())} to {int(demand.max())} {what}s each"
    )
    region = _region_words(graph, units, pool)
    if region is not None:
        return f"{region} has {count} {noun} that {each} — {total} in all —"
    return f"the {count} {noun} {_list(graph.ids[units].tolist())} {each} — {total} in all —"


def _count(k: int, what: str) -> str:
    return f"{k} {what}" + ("" if k == 1 else "s")


def _by(rules: Sequence[CompiledRule]) -> str:
    return f" (under {', '.join(r.label for r in rules)})" if rules else ""


def _hall_reason(
    graph: RegionGraph,
    side_units: IntArray,
    demand: IntArray,
    other_capacity: IntArray,
    own: IntArray,
    other: IntArray,
    what: str,
    receiver_side: bool,
    restricting: Sequence[CompiledRule],
    who: str,
) -> str | None:
    """The Hall-type sentence for one side's demands, or None when they can be met."""
    found = hall_shortfall(demand, other_capacity, other, own)
    if found is None:
        return None
    members, need, room = found
    pool = side_units[demand > 0]
    head = _demand_sentence(graph, side_units[members], pool, demand[members], what, receiver_side)
    them = "it" if members.size == 1 else "them"
    if room == 0:
        return f"{head} but none of the {who} may pair with {them}{_by(restricting)}."
    return (
        f"{head} but the {who} allowed to pair with {them}{_by(restricting)} can take at most "
        f"{room} — {need - room} short."
    )


def _region_cap_reasons(
    graph: RegionGraph,
    providers: IntArray,
    receivers: IntArray,
    rows: IntArray,
    cols: IntArray,
    left_capacity: IntArray,
    rule: CompiledRule,
) -> list[str]:
    """Region caps against the receivers' minimums."""
    cap = rule.rule
    assert isinstance(cap, RegionCap)
    mins = graph.min_partners[receivers].astype(np.int64)
    codes = graph.region_codes(cap.level)
    out = []
    if cap.side == "receiver":
        for group in rule.groups:
            region = graph.region_ids.index(group.where)
            members = np.flatnonzero(codes[receivers] == region)
            need = int(mins[members].sum())
            if group.hi is not None and need > group.hi:
                level = LEVELS[graph.region_levels[region]]
                noun = _words([KINDS[k] for k in graph.kinds[receivers[members]]], members.size)
                out.append(
                    f"{level} {group.where} may host at most {_count(group.hi, 'pair')} "
                    f"({rule.label}) but its {members.size} {noun} need {need} partners (their "
                    "min_partners)."
                )
        return out
    # Provider side: every pair comes from a provider inside a capped region or outside all.
    capped = np.zeros(providers.size, dtype=bool)
    room = 0
    for group in rule.groups:
        region = graph.region_ids.index(group.where)
        inside = codes[providers] == region
        capped |= inside
        room += min(int(group.hi or 0), int(left_capacity[inside].sum()))
    free = np.unique(rows[~capped[rows]])
    room += int(left_capacity[free].sum())
    need = int(mins.sum())
    if need > room:
        out.append(
            f"the receivers need {need} partners in all (their min_partners) but under "
            f"{rule.label} the providers can give at most {room} pairs."
        )
    return out


def _reasons(
    graph: RegionGraph,
    providers: IntArray,
    receivers: IntArray,
    rows: IntArray,
    cols: IntArray,
    left_capacity: IntArray,
    right_capacity: IntArray,
    compiled: PairingRules,
    conflict: Sequence[int],
    max_km: float | None,
) -> list[str]:
    """Counting arguments that show why the rules ``conflict`` admit no pairing."""
    chosen = [compiled.rules[k] for k in conflict]
    allowed = np.ones(rows.size, dtype=bool)
    restricting = []
    for rule in chosen:
        if rule.exclude is not None:
            allowed &= ~rule.exclude
            restricting.append(rule)
    out: list[str] = []
    ids = graph.ids
    # Locks: on a pair that is ruled out, or more than a unit may have.
    locks = [r for r in chosen if isinstance(r.rule, Lock)]
    for rule in locks:
        lock = rule.rule
        assert isinstance(lock, Lock)
        edges = rule.groups[0].edges
        if edges.size == 0:
            far = "" if max_km is None else f" (max_km={max_km:g})"
            out.append(
                f"{lock.a} and {lock.b} may not pair at all{far}, but {rule.label} asks for it."
            )
        elif not allowed[edges].any():
            blockers = [
                r.label for r in restricting if r.exclude is not None and r.exclude[edges].any()
            ]
            out.append(f"{rule.label} asks for a pair that {', '.join(blockers)} rules out.")
    if locks:
        locked = np.concatenate([r.groups[0].edges for r in locks])
        for side, caps, units, word in (
            (rows, left_capacity, providers, "provider"),
            (cols, right_capacity, receivers, "receiver"),
        ):
            per = np.bincount(side[locked], minlength=caps.size)
            for k in np.flatnonzero(per > caps).tolist():
                out.append(
                    f"{word} {ids[units[k]]} is locked to {per[k]} partners but may have "
                    f"{caps[k]} (its max_partners)."
                )
    kinds = {r.kind for r in chosen}
    edges = np.flatnonzero(allowed)
    if "receiver_min" in kinds:
        demand = graph.min_partners[receivers].astype(np.int64)
        reason = _hall_reason(
            graph,
            receivers,
            demand,
            left_capacity,
            cols[edges],
            rows[edges],
            "partner",
            True,
            restricting,
            "providers",
        )
        if reason:
            out.append(reason)
    if "provider_min" in kinds:
        demand = graph.min_partners[providers].astype(np.int64)
        reason = _hall_reason(
            graph,
            providers,
            demand,
            right_capacity,
            rows[edges],
            cols[edges],
            "partner",
            False,
            restricting,
            "receivers",
        )
        if reason:
            out.append(reason)
    for rule in chosen:
        quota = rule.rule
        if isinstance(quota, KindQuota) and quota.min > 0:
            demand = np.zeros(receivers.size, dtype=np.int64)
            position = {u: k for k, u in enumerate(graph.ids[receivers].tolist())}
            for group in rule.groups:
                demand[position[group.where]] = group.lo
            of_kind = np.isin(graph.kinds[providers[rows]], [KINDS.index(k) for k in quota.kinds])
            sel = np.flatnonzero(allowed & of_kind)
            what = f"{' or '.join(quota.kinds)} partner"
            reason = _hall_reason(
                graph,
                receivers,
                demand,
                left_capacity,
                cols[sel],
                rows[sel],
                what,
                True,
                restricting,
                " or ".join(quota.kinds) + " units",
            )
            if reason:
                out.append(reason)
    if "receiver_min" in kinds:
        for rule in chosen:
            if isinstance(rule.rule, RegionCap):
                out += _region_cap_reasons(
                    graph, providers, receivers, rows, cols, left_capacity, rule
                )
    for rule in chosen:
        if rule.kind == "max_changes":
            group = rule.groups[0]
            total = compiled.previous.shape[0]
            still = int(allowed[group.edges].sum())
            if still < group.lo:
                lost = total - still
                out.append(
                    f"{rule.label} keeps at least {group.lo} of the {total} previous pairs, but "
                    f"{lost} of them are not allowed{_by(restricting)}."
                )
    return out


# ---------------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------------
def _relaxation_text(rule: CompiledRule, where: list[tuple[str, int]], amount: int) -> str:
    """What to change to violate ``rule`` by ``amount`` at ``where``, in words."""
    places = _list([w if n == 1 else f"{w} ({n})" for w, n in where if w], 4)
    at = f": {places}" if places else ""
    unit = _count(amount, rule.unit)
    if rule.kind == "receiver_min":
        return f"lower the receivers' min_partners by {amount} in all{at}"
    if rule.kind == "provider_min":
        return f"lower the providers' min_partners by {amount} in all{at}"
    if rule.kind == "max_changes":
        return f"allow {amount} more change{'s' if amount != 1 else ''} ({rule.label})"
    if isinstance(rule.rule, Lock):
        return f"drop {rule.label}"
    if rule.exclude is not None:
        return f"allow {unit} that break{'s' if amount == 1 else ''} {rule.label}{at}"
    return f"let {rule.label} be off by {unit}{at}"


def build_diagnosis(
    graph: RegionGraph,
    providers: IntArray,
    receivers: IntArray,
    rows: IntArray,
    cols: IntArray,
    left_capacity: IntArray,
    right_capacity: IntArray,
    compiled: PairingRules,
    conflict: Sequence[int] | None,
    solve: Callable[[Sequence[int], Sequence[int]], Outcome],
    *,
    max_km: float | None = None,
    check_minimal: bool = True,
    pair_text: Callable[[int], str] | None = None,
) -> PairingDiagnosis:
    """Shrink a conflict to a minimal one, explain it and find the cheapest relaxations.

    Parameters
    ----------
    graph, providers, receivers, rows, cols, left_capacity, right_capacity
        The pairing's candidate edges (positions into the two sides) and its fixed limits.
    compiled : PairingRules
        Every rule, the pairing's own ones included.
    conflict : sequence of int or None
        Indices into ``compiled.rules`` of a conflicting set (from the solver), or None to
        start from every hard rule.
    solve : callable
        ``solve(hard, soft)`` solves the pairing under the rules ``hard`` (indices), breaking
        the rules ``soft`` as little as possible (in units of violation), every other rule
        dropped; returns ``(status, chosen or None)``.
    max_km : float or None
        The pairing's distance cut-off, for the words.
    check_minimal : bool
        Drop every rule of ``conflict`` whose removal leaves the rest infeasible.
    pair_text : callable, optional
        Edge → ``"provider–receiver"``.
    """
    hard_rules = [r.index for r in compiled.rules if r.hard]
    current = list(hard_rules if conflict is None else conflict)
    minimal = True
    if check_minimal:
        for k in list(current):
            rest = [r for r in current if r != k]
            status, _ = solve(rest, ())
            if status == "infeasible":
                current = rest
            elif status not in ("optimal", "feasible"):
                minimal = False  # undecided within the time limit: keep the rule
    rules = [compiled.rules[k] for k in current]
    text = pair_text or (
        lambda e: f"{graph.ids[providers[rows[e]]]}–{graph.ids[receivers[cols[e]]]}"
    )
    relaxations = []
    for rule in rules:
        soft = (rule.index,)
        partial = False
        status, chosen = solve([k for k in hard_rules if k != rule.index], soft)
        if chosen is None and status == "infeasible":  # another conflict remains
            partial = True
            status, chosen = solve([k for k in current if k != rule.index], soft)
        if chosen is None:
            continue
        where = rule.violations(chosen, text)
        amount = sum(n for _, n in where)
        words = _relaxation_text(rule, where, amount)
        relaxations.append(Relaxation(rule.label, words, amount, partial))
    relaxations.sort(key=lambda r: (r.partial, r.amount))
    reasons = _reasons(
        graph,
        providers,
        receivers,
        rows,
        cols,
        left_capacity,
        right_capacity,
        compiled,
        current,
        max_km,
    )
    labels = tuple(r.label for r in rules)
    if reasons:
        message = " ".join(reasons)
    else:
        message = (
            "These rules admit no pairing together: "
            + "; ".join(f"{r.label} ({r.text})" for r in rules)
            + "."
        )
    if any(r.partial for r in relaxations):
        message += " Other rules conflict too: relaxing one rule of these is not enough alone."
    return PairingDiagnosis(
        conflict=labels,
        rules=tuple(r.text for r in rules),
        reasons=tuple(reasons),
        relaxations=tuple(relaxations),
        message=message,
        minimal=minimal,
        sources=tuple(r.index if r.kind == "rule" else r.kind for r in rules),
    )
