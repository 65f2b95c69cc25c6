"""Rules on ``pbmatch.pair``: optimal against an independent MILP, diagnosed minimally.

The reference (:func:`reference`) encodes every rule straight from its meaning on the graph
— not through :func:`pbmatch.rules.compile_rules` — as a mixed-integer program solved by
``scipy.optimize.milp`` (HiGHS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

import pbmatch
from pbmatch import InfeasibleError, InputError, RegionGraph
from pbmatch.fairness import fairness_report, gini
from pbmatch.graph import TIERS
from pbmatch.model import KINDS, LEVELS
from pbmatch.rules import (
    Forbid,
    KindQuota,
    Lock,
    MaxDistance,
    RegionCap,
    Rule,
    SameRegion,
    compile_rules,
)
from pbmatch.scoring.pairscore import PairScorer
from pbmatch.verify import verify_pairing


def small_graph(seed: int, *, township: bool | None = None, receiver_min: int = 1) -> RegionGraph:
    """A small synthetic district: 2 streets (and maybe a township), 2-3 receivers each."""
    return pbmatch.synthetic_district(
        seed=seed,
        n_streets=2,
        n_townships=int(seed % 2 if township is None else township),
        units_per_street=(3, 5),
        communities_per_street=(2, 3),
        units_per_township=(3, 4),
        villages_per_township=(2, 3),
        parks=0,
        buildings=0,
        tie_share=0.5,
        receiver_min_partners=receiver_min,
    )


# ---------------------------------------------------------------------------------------------
# The reference MILP
# ---------------------------------------------------------------------------------------------
class Model:
    """x_e (one per allowed pair) plus slack columns, linear rows, an objective."""

    def __init__(self, scores: np.ndarray) -> None:
        self.rows, self.cols = np.nonzero(np.isfinite(scores))
        self.score = scores[self.rows, self.cols]
        self.n_x = self.rows.size
        self.gain = list(self.score)  # objective coefficient per column (maximised)
        self.A: list[dict[int, float]] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def slack(self, penalty: float) -> int:
        self.gain.append(-penalty)
        return len(self.gain) - 1

    def add(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        self.A.append(coefs)
        self.lo.append(lo)
        self.hi.append(hi)

    def count(self, mask: np.ndarray, lo: float, hi: float, penalty: float | None) -> None:
        """lo <= (chosen among mask) <= hi, hard or with slack."""
        coefs = {int(e): 1.0 for e in np.flatnonzero(mask)}
        if penalty is None:
            self.add(coefs, lo, hi)
            return
        if lo > 0:
            self.add({**coefs, self.slack(penalty): 1.0}, lo, np.inf)
        if hi < np.inf:
            self.add({**coefs, self.slack(penalty): -1.0}, -np.inf, hi)

    def solve(self, fair: np.ndarray | None = None) -> tuple[float, float | None] | None:
        """(best net objective, min fair mean or None); None when infeasible."""
        n_var = len(self.gain) + (fair is not None)
        a = np.zeros((len(self.A), n_var))
        for k, coefs in enumerate(self.A):
            for v, c in coefs.items():
                a[k, v] = c
        lo_b = np.zeros(n_var)
        hi_b = np.r_[np.ones(self.n_x), np.full(n_var - self.n_x, np.inf)]
        cons = [LinearConstraint(a, self.lo, self.hi)] if self.A else []
        gain = np.r_[self.gain, np.zeros(n_var - len(self.gain))]
        integrality = np.r_[np.ones(len(self.gain)), np.zeros(n_var - len(self.gain))]
        t_fair = None
        if fair is not None:  # t <= mean total score of every fair group, maximise t first
            lo_b[-1], hi_b[-1] = -np.inf, np.inf
            groups = [fair == g for g in np.unique(fair[fair >= 0])]
            f = np.zeros((len(groups), n_var))
            for k, members in enumerate(groups):
                f[k, : self.n_x] = self.score * members[self.cols] / members.sum()
                f[k, -1] = -1
            cons.append(LinearConstraint(f, 0, np.inf))
            first = np.zeros(n_var)
            first[-1] = -1
            res = milp(first, constraints=cons, integrality=integrality,
                       bounds=Bounds(lo_b, hi_b))  # fmt: skip
            if res.status == 2:
                return None
            assert res.status == 0, res.message
            t_fair = -float(res.fun)
            lo_b[-1] = t_fair - 1e-7
        res = milp(-gain, constraints=cons, integrality=integrality, bounds=Bounds(lo_b, hi_b))
        if res.status == 2:
            return None
        assert res.status == 0, res.message
        return -float(res.fun), t_fair


def reference(
    graph: RegionGraph,
    rules: Sequence[Rule] = (),
    *,
    drop_mins: Sequence[str] = (),
    previous: np.ndarray | None = None,
    max_changes: int | None = None,
    max_km: float | None = None,
    fair_by: str | None = None,
    provider_max: int = 1,
    receiver_max: int = 26,
    weights: pbmatch.Weights | None = None,
    soft_mins: Sequence[str] = (),
    zero: bool = False,
) -> tuple[float, float | None] | None:
    """Best (net objective, min fair mean) of the default sides under the rules, or None.

    ``drop_mins`` / ``soft_mins`` name the sides (``"receiver_min"``, ``"provider_min"``)
    whose ``min_partners`` are dropped / soft with penalty 1; ``zero`` sets every score to 0.
    """
    recv = np.isin(graph.kind_names, ["community", "village"])
    providers, receivers = np.flatnonzero(~recv), np.flatnonzero(recv)
    scores = PairScorer(graph, providers, receivers, weights, max_km=max_km).dense()
    if zero:
        scores = np.where(np.isfinite(scores), 0.0, -np.inf)
    model = Model(scores)
    p_unit, r_unit = providers[model.rows], receivers[model.cols]
    km = PairScorer(graph, providers, receivers).breakdown(model.rows, model.cols)["distance_km"]
    for side, units, default, own in (
        (model.rows, providers, provider_max, "provider_min"),
        (model.cols, receivers, receiver_max, "receiver_min"),
    ):
        cap = np.where(graph.max_partners[units] >= 0, graph.max_partners[units], default)
        low = 0 * graph.min_partners[units] if own in drop_mins else graph.min_partners[units]
        for k in range(units.size):
            model.count(side == k, 0, cap[k], None)
            if low[k]:
                model.count(side == k, low[k], np.inf, 1.0 if own in soft_mins else None)
    if previous is not None and max_changes is not None:
        prev = np.zeros(model.n_x, dtype=bool)
        for i, j in previous.tolist():
            prev |= (model.rows == i) & (model.cols == j)
        model.count(prev, previous.shape[0] - max_changes, np.inf, None)
    for rule in rules:
        pen = rule.penalty
        if isinstance(rule, (Forbid, Lock)):
            a, b = graph.index(rule.a), graph.index(rule.b)
            edge = ((p_unit == a) & (r_unit == b)) | ((p_unit == b) & (r_unit == a))
            if isinstance(rule, Forbid):
                model.count(edge, 0, 0, pen)
            else:
                model.count(edge, 1, np.inf, pen)
        elif isinstance(rule, (SameRegion, MaxDistance)):
            if isinstance(rule, SameRegion):
                code = graph.region_codes(rule.level)
                bad = (code[p_unit] != code[r_unit]) | (code[p_unit] < 0)
            else:
                bad = km > rule.km
            if pen is None:
                model.count(bad, 0, 0, None)
            else:  # a penalty per chosen bad pair: lower its score
                for e in np.flatnonzero(bad):
                    model.gain[e] -= pen
        elif isinstance(rule, KindQuota):
            of_kind = np.isin(graph.kind_names[p_unit], rule.kinds)
            targets = (
                range(receivers.size)
                if rule.receivers is None
                else [int(np.flatnonzero(receivers == graph.index(u))[0]) for u in rule.receivers]
            )
            hi = np.inf if rule.max is None else rule.max
            for j in targets:
                model.count(of_kind & (model.cols == j), rule.min, hi, pen)
        elif isinstance(rule, RegionCap):
            code = graph.region_codes(rule.level)[r_unit if rule.side == "receiver" else p_unit]
            if isinstance(rule.max, int):
                side = receivers if rule.side == "receiver" else providers
                caps = {int(c): rule.max for c in np.unique(graph.region_codes(rule.level)[side])}
            else:
                caps = {graph.region_ids.index(r): c for r, c in rule.max}
            for region, cap in caps.items():
                if region >= 0:
                    model.count(code == region, 0, cap, pen)
        else:  # pragma: no cover
            raise AssertionError(rule)
    fair = None
    if fair_by is not None:
        if fair_by == "receiver":
            fair = np.arange(receivers.size)
        else:
            fair = graph.region_codes(fair_by)[receivers]
    return model.solve(fair)


def check_optimal(graph: RegionGraph, result: Any, rules: Sequence[Rule], **kw: Any) -> None:
    """The result is optimal (or correctly infeasible) against the reference and verified."""
    best = reference(graph, rules, **kw)
    assert verify_pairing(result) == [], verify_pairing(result)
    if best is None:
        assert result.status == "infeasible", result.report()
        assert result.diagnosis is not None
        return
    assert result.status == "optimal", result.report()
    value, fair = best
    if fair is not None:
        assert result.min_fair == pytest.approx(fair, rel=1e-6, abs=1e-6)
    assert result.net_objective == pytest.approx(value, rel=1e-6, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# Rule instances drawn at random on a graph
# ---------------------------------------------------------------------------------------------
def provider_receiver(graph: RegionGraph, rng: np.random.Generator) -> tuple[str, str]:
    recv = np.isin(graph.kind_names, ["community", "village"])
    return (str(rng.choice(graph.ids[~recv])), str(rng.choice(graph.ids[recv])))


def draw_rule(kind: str, graph: RegionGraph, rng: np.random.Generator, soft: bool) -> Rule:
    penalty = float(rng.choice([0.05, 0.4, 2.0])) if soft else None
    if kind == "forbid":
        a, b = provider_receiver(graph, rng)
        return (
            Forbid(b, a, penalty=penalty) if rng.random() < 0.5 else Forbid(a, b, penalty=penalty)
        )
    if kind == "lock":
        a, b = provider_receiver(graph, rng)
        return Lock(a, b, penalty=penalty)
    if kind == "same_region":
        return SameRegion(str(rng.choice(["street", "community", "district"])), penalty=penalty)
    if kind == "max_distance":
        return MaxDistance(float(rng.choice([0.5, 1.0, 2.0, 4.0])), penalty=penalty)
    if kind == "kind_quota":
        kinds = sorted(set(graph.kind_names.tolist()) - {"community", "village"})
        chosen = list(rng.choice(kinds, size=int(rng.integers(1, 3)), replace=False))
        lo = int(rng.integers(0, 2))
        hi = None if rng.random() < 0.4 else int(rng.integers(max(lo, 1), 3))
        if lo == 0 and hi is None:
            hi = 1
        recv = graph.ids[np.isin(graph.kind_names, ["community", "village"])]
        some = None if rng.random() < 0.6 else list(rng.choice(recv, size=2, replace=False))
        return KindQuota(chosen, min=lo, max=hi, receivers=some, penalty=penalty)
    if kind == "region_cap":
        side = "receiver" if rng.random() < 0.7 else "provider"
        if rng.random() < 0.3:  # a cap of its own for one street
            return RegionCap("street", {"S1": int(rng.integers(1, 5))}, side=side, penalty=penalty)
        return RegionCap(str(rng.choice(["street", "district"])), int(rng.integers(2, 7)),
                         side=side, penalty=penalty)  # fmt: skip
    raise AssertionError(kind)


KINDS_OF_RULES = ["forbid", "lock", "same_region", "max_distance", "kind_quota", "region_cap"]


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("kind", KINDS_OF_RULES)
def test_each_rule_is_optimal_against_milp(kind: str, soft: bool) -> None:
    for seed in range(6):
        graph = small_graph(seed)
        rng = np.random.default_rng([seed, KINDS_OF_RULES.index(kind), soft])
        rules = [draw_rule(kind, graph, rng, soft) for _ in range(1 + seed % 2)]
        result = pbmatch.pair(graph, rules=rules)
        check_optimal(graph, result, rules)


@pytest.mark.parametrize("seed", range(24))
def test_combinations_are_optimal_against_milp(seed: int) -> None:
    graph = small_graph(seed, receiver_min=seed % 3 // 2)
    rng = np.random.default_rng([seed, 99])
    kinds = rng.choice(KINDS_OF_RULES, size=int(rng.integers(2, 5)))
    rules = [draw_rule(str(k), graph, rng, bool(rng.random() < 0.5)) for k in kinds]
    options: dict[str, Any] = {}
    if seed % 4 == 1:
        options = {"previous": "ties", "max_changes": int(rng.integers(0, 3))}
    result = pbmatch.pair(graph, rules=rules, **options)
    previous = result.previous if options else None
    check_optimal(graph, result, rules, previous=previous, max_changes=options.get("max_changes"))


@pytest.mark.parametrize("seed", range(8))
def test_maxmin_is_optimal_against_milp(seed: int) -> None:
    graph = small_graph(seed)
    fair_by = ["receiver", "street"][seed % 2]
    rng = np.random.default_rng([seed, 7])
    rules = [draw_rule("kind_quota", graph, rng, True)] if seed % 3 == 0 else []
    result = pbmatch.pair(graph, rules=rules, objective="maxmin", fair_by=fair_by)
    assert result.objective_kind == "maxmin" and result.fair_by == fair_by
    check_optimal(graph, result, rules, fair_by=fair_by)


@pytest.mark.parametrize("max_changes", [0, 1, 3])
def test_previous_ties_and_max_changes(max_changes: int) -> None:
    for seed in range(4):
        graph = small_graph(seed)
        # Make keeping the ties costly: nearby pairs matter, continuity does not.
        weights = pbmatch.Weights(continuity=0.0, distance=2.0)
        result = pbmatch.pair(graph, previous="ties", max_changes=max_changes, weights=weights)
        changes = result.changes()
        assert len(changes["kept"]) + len(changes["dropped"]) == result.previous.shape[0]
        assert len(changes["dropped"]) <= max_changes
        check_optimal(graph, result, [], previous=result.previous, max_changes=max_changes,
                      weights=weights)  # fmt: skip


def test_previous_pairs_given_as_a_list_and_reported() -> None:
    graph = small_graph(3)
    plain = pbmatch.pair(graph)
    previous = plain.pairs[:3]
    again = pbmatch.pair(graph, previous=[(r, p) for p, r in previous])  # either order
    assert again.changes()["kept"] == sorted(previous)
    assert "Previous pairs kept: 3 of 3" in again.report()
    with pytest.raises(InputError, match="more than once"):
        pbmatch.pair(graph, previous=[previous[0], previous[0]])


# ---------------------------------------------------------------------------------------------
# Infeasibility: minimal conflicts in domain words
# ---------------------------------------------------------------------------------------------
def own_rules_dropped(sources: Sequence[int | str]) -> list[str]:
    return [s for s in ("receiver_min", "provider_min") if s not in sources]


def check_minimal(graph: RegionGraph, result: Any, rules: Sequence[Rule], **kw: Any) -> None:
    """The diagnosed conflict is infeasible alone and feasible without any one of its rules."""
    diagnosis = result.diagnosis
    assert diagnosis is not None and diagnosis.minimal
    sources = list(diagnosis.sources)
    assert len(sources) == len(diagnosis.conflict) >= 1
    kept = [rules[s] for s in sources if isinstance(s, int)]
    changes = kw.get("max_changes") if "max_changes" in sources else None
    options = {k: v for k, v in kw.items() if k != "max_changes"}
    assert reference(graph, kept, drop_mins=own_rules_dropped(sources), max_changes=changes,
                     **options) is None  # fmt: skip
    for leave in sources:
        rest = [s for s in sources if s != leave]
        left = [rules[s] for s in rest if isinstance(s, int)]
        changes = kw.get("max_changes") if "max_changes" in rest else None
        feasible = reference(graph, left, drop_mins=own_rules_dropped(rest),
                             max_changes=changes, **options)  # fmt: skip
        assert feasible is not None, (leave, diagnosis)


def check_relaxations(graph: RegionGraph, result: Any, rules: Sequence[Rule]) -> None:
    """Each complete relaxation is the least violation of its rule that makes it feasible."""
    diagnosis = result.diagnosis
    source = dict(zip(diagnosis.conflict, diagnosis.sources, strict=True))
    assert [r.amount for r in diagnosis.relaxations if not r.partial] == sorted(
        r.amount for r in diagnosis.relaxations if not r.partial
    )
    for relaxation in diagnosis.relaxations:
        assert relaxation.amount >= 1 and relaxation.text
        which = source[relaxation.rule]
        if relaxation.partial or which == "max_changes":
            continue
        hard = [r for k, r in enumerate(rules) if r.hard and k != which]  # soft ones cost 0
        if isinstance(which, int):
            best = reference(graph, [*hard, replace(rules[which], penalty=1.0)], zero=True)
        else:
            best = reference(graph, hard, soft_mins=[str(which)], zero=True)
        assert best is not None
        assert -best[0] == pytest.approx(relaxation.amount), relaxation


@pytest.mark.parametrize("seed", range(10))
def test_infeasible_rules_are_diagnosed_minimally(seed: int) -> None:
    graph = small_graph(seed, receiver_min=1 + seed % 2)
    rng = np.random.default_rng([seed, 5])
    rules: list[Rule] = [
        SameRegion("street"),
        KindQuota(["soe", "private_enterprise"], min=1 + seed % 2),
        MaxDistance(float(rng.choice([0.3, 0.8, 1.5]))),
        draw_rule("forbid", graph, rng, False),
        draw_rule("region_cap", graph, rng, bool(seed % 3 == 0)),
    ]
    result = pbmatch.pair(graph, rules=rules)
    if result.status != "infeasible":
        check_optimal(graph, result, rules)
        return
    assert reference(graph, rules) is None
    check_minimal(graph, result, rules)
    assert result.diagnosis.message
    check_relaxations(graph, result, rules)


def test_lock_against_forbid_names_both() -> None:
    graph = small_graph(0)
    a, b = provider_receiver(graph, np.random.default_rng(1))
    rules: list[Rule] = [SameRegion("district"), Lock(a, b), Forbid(b, a)]
    result = pbmatch.pair(graph, rules=rules)
    assert result.status == "infeasible"
    assert result.diagnosis.sources == (1, 2)
    assert f"{Lock(a, b).label} asks for a pair that {Forbid(b, a).label} rules out" in (
        result.diagnosis.message
    )
    with pytest.raises(InfeasibleError) as caught:
        result.raise_for_status()
    assert caught.value.diagnosis is result.diagnosis
    assert "rules out" in str(caught.value)
    assert "These rules cannot all hold" in result.report()


def test_lock_beyond_max_km_is_infeasible_and_said_so() -> None:
    graph = small_graph(0)
    result = pbmatch.pair(graph, rules=[Lock("S2-U01", "S1-C01")], max_km=1.0)
    assert result.status == "infeasible"
    assert result.diagnosis.sources == (0,)
    assert result.diagnosis.message.startswith(
        "S2-U01 and S1-C01 may not pair at all (max_km=1), but Lock('S2-U01', 'S1-C01') asks"
    )
    soft = pbmatch.pair(graph, rules=[Lock("S2-U01", "S1-C01", penalty=0.5)], max_km=1.0)
    assert soft.status == "optimal" and soft.penalty == 0.5
    assert verify_pairing(soft) == []


def test_street_short_of_providers_is_explained_in_domain_words() -> None:
    graph = pbmatch.synthetic_district(
        seed=12, n_streets=2, n_townships=0, units_per_street=(5, 8),
        communities_per_street=(3, 4), parks=0, buildings=0, receiver_min_partners=2,
        ensure_coverage=False,
    )  # fmt: skip
    assert pbmatch.pair(graph).status == "optimal"
    result = pbmatch.pair(graph, rules=[SameRegion("street")])
    assert result.status == "infeasible"
    diagnosis = result.diagnosis
    assert set(diagnosis.sources) == {0, "receiver_min"}
    assert diagnosis.message == (
        "street S2 has 4 communities that each need 2 partners — 8 in all — but the providers "
        "allowed to pair with them (under SameRegion('street')) can take at most 7 — 1 short."
    )
    check_minimal(graph, result, [SameRegion("street")])
    check_relaxations(graph, result, [SameRegion("street")])
    assert {r.rule for r in diagnosis.relaxations} == {
        "SameRegion('street')",
        "min_partners of receivers",
    }
    # Each relaxation is the least violation of its rule that makes the pairing feasible.
    for relaxation in diagnosis.relaxations:
        assert relaxation.amount == 1, relaxation
    lowered = next(r for r in diagnosis.relaxations if r.rule == "min_partners of receivers")
    assert lowered.text.startswith("lower the receivers' min_partners by 1 in all: S2-C")


def test_max_changes_conflict_is_diagnosed() -> None:
    for seed in range(6):
        graph = small_graph(seed)
        result = pbmatch.pair(
            graph, rules=[SameRegion("community")], previous="ties", max_changes=0
        )
        best = reference(graph, [SameRegion("community")], previous=result.previous,
                         max_changes=0)  # fmt: skip
        if best is not None:
            assert result.status == "optimal"
            continue
        assert result.status == "infeasible"
        assert "max_changes" in result.diagnosis.sources or 0 in result.diagnosis.sources
        check_minimal(graph, result, [SameRegion("community")], previous=result.previous,
                      max_changes=0)  # fmt: skip


def test_plain_pairing_infeasible_gets_a_diagnosis_too() -> None:
    graph = small_graph(2, receiver_min=3)
    result = pbmatch.pair(graph, max_km=1.0)
    if result.status == "infeasible":
        assert result.diagnosis is not None
        assert result.diagnosis.sources == ("receiver_min",)
        assert "short" in result.diagnosis.message


# ---------------------------------------------------------------------------------------------
# The fast path, compilation, validation
# ---------------------------------------------------------------------------------------------
def test_without_rules_the_fast_path_is_unchanged() -> None:
    graph = small_graph(1)
    plain = pbmatch.pair(graph)
    assert plain.method in ("flow", "assignment", "certified") and plain.certified
    same = pbmatch.pair(graph, rules=[])
    assert same.pairs == plain.pairs and same.method == plain.method
    vacuous = pbmatch.pair(graph, rules=[MaxDistance(10_000.0)])
    assert vacuous.objective == pytest.approx(plain.objective, rel=1e-9)
    assert not vacuous.certified
    with pytest.raises(pbmatch.SolverError, match="certificate"):
        vacuous.explain(*vacuous.pairs[0])


def test_rules_above_the_dense_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pbmatch.problems import pairing

    monkeypatch.setattr(pairing, "DENSE_PAIRS", 10)
    with pytest.raises(InputError, match="district by district"):
        pbmatch.pair(small_graph(0), rules=[SameRegion()])


def test_compile_rules_groups_match_their_meaning() -> None:
    graph = small_graph(0)
    recv = np.isin(graph.kind_names, ["community", "village"])
    providers, receivers = np.flatnonzero(~recv), np.flatnonzero(recv)
    n, m = providers.size, receivers.size
    rows, cols = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    street = graph.region_codes("street")
    rules: list[Rule] = [
        SameRegion("street"),
        KindQuota("agency", min=1, max=2, penalty=1.0),
        RegionCap("street", 3),
    ]
    compiled = compile_rules(graph, providers, receivers, rows, cols, rules)
    same, quota, cap = compiled.rules[:3]
    np.testing.assert_array_equal(same.exclude, street[providers[rows]] != street[receivers[cols]])
    assert same.hard and not quota.hard and quota.penalty == 1.0
    assert len(quota.groups) == m
    for group in quota.groups:
        j = int(np.flatnonzero(graph.ids[receivers] == group.where)[0])
        expect = np.flatnonzero((cols == j) & (graph.kind_names[providers[rows]] == "agency"))
        np.testing.assert_array_equal(group.edges, expect)
        assert (group.lo, group.hi) == (1, 2)
    for group in cap.groups:
        region = graph.region_ids.index(group.where)
        np.testing.assert_array_equal(
            group.edges, np.flatnonzero(street[receivers[cols]] == region)
        )
        assert group.hi == 3
    own = compiled.rules[3]
    assert own.kind == "receiver_min" and len(own.groups) == m


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Forbid("a", "a"), "two different units"),
        (lambda: Lock("", "b"), "non-empty unit id"),
        (lambda: SameRegion("quarter"), "level 'quarter' is unknown"),
        (lambda: MaxDistance(0), "km is 0"),
        (lambda: MaxDistance(float("nan")), "km is nan"),
        (lambda: KindQuota("firm", min=1), "kind 'firm' is unknown"),
        (lambda: KindQuota("agency", min=-1), "min is -1"),
        (lambda: KindQuota("agency", min=1.5), "min is 1.5"),
        (lambda: KindQuota("agency", min=3, max=2), "min 3 is greater than max 2"),
        (lambda: KindQuota("agency"), "asks nothing"),
        (lambda: KindQuota("agency", min=1, receivers="S1-C01"), "list of ids"),
        (lambda: RegionCap("street", -1), "max is -1"),
        (lambda: RegionCap("street", 2, side="both"), "side is 'both'"),
        (lambda: RegionCap("street", {"S1": "x"}), "max\\['S1'\\]"),
        (lambda: SameRegion(penalty=0), "penalty is 0"),
        (lambda: SameRegion(penalty=True), "penalty is True"),
        (lambda: Forbid("a", "b", penalty=float("inf")), "penalty is inf"),
    ],
)
def test_rules_validate_their_numbers(make: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        make()


def test_rules_are_checked_against_the_graph() -> None:
    graph = small_graph(0)
    recv = graph.ids[np.isin(graph.kind_names, ["community", "village"])]
    prov = graph.ids[~np.isin(graph.kind_names, ["community", "village"])]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rules": [Forbid("nobody", recv[0])]}, "unit 'nobody' is not in the graph"),
        ({"rules": [Lock(prov[0], prov[1])]}, "not a provider and a receiver"),
        ({"rules": [KindQuota("agency", min=1, receivers=[prov[0]])]}, "not a receiver"),
        ({"rules": [RegionCap("street", {"Nowhere": 1})]}, "region 'Nowhere' is not"),
        ({"rules": [RegionCap("street", {"D1": 1})]}, "'D1' is a district, not a street"),
        ({"rules": SameRegion()}, "pass a list of rules"),
        ({"rules": ["SameRegion"]}, "rules\\[0\\] is a str"),
        ({"objective": "mean"}, "objective is 'mean'"),
        ({"fair_by": "street"}, "fair_by is 'street' but objective is 'sum'"),
        ({"objective": "maxmin", "fair_by": "quarter"}, "level 'quarter' is unknown"),
        ({"max_changes": 2}, "previous is None"),
        ({"previous": "ties", "max_changes": -1}, "max_changes is -1"),
        ({"previous": "last year"}, "previous is 'last year'"),
        ({"previous": [("x",)]}, "each previous pair is"),
        ({"previous": [(prov[0], prov[1])]}, "not a provider and a receiver"),
        ({"seed": 1.5}, "seed is 1.5"),
    ]
    for options, match in cases:
        with pytest.raises(InputError, match=match):
            pbmatch.pair(graph, **options)


def test_labels_levels_and_kinds() -> None:
    assert SameRegion("乡镇").level == "street" and SameRegion("village").level == "community"
    assert KindQuota("机关", min=1).kind == "agency"
    quota = KindQuota(("soe", "国企"), max=1)
    assert quota.kinds == ("soe",)
    assert RegionCap("街道", {"S2": 3}).label == "RegionCap('street', {'S2': 3})"
    assert set(TIERS) >= {"street", "community"} and "township" in LEVELS and "agency" in KINDS


# ---------------------------------------------------------------------------------------------
# Fairness report, verify
# ---------------------------------------------------------------------------------------------
def test_gini_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.gamma(1.0, size=int(rng.integers(1, 30))) * (rng.random() < 0.9)
        if x.sum() == 0:
            assert gini(x) == 0.0
            continue
        pairwise = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
        assert gini(x) == pytest.approx(pairwise, abs=1e-12)
    with pytest.raises(InputError):
        gini([1.0, -1.0])


def test_fairness_report_and_maxmin_raise_the_worst_off() -> None:
    graph = small_graph(4)
    plain = pbmatch.pair(graph)
    fair = pbmatch.pair(graph, objective="maxmin", fair_by="street")
    before, after = plain.fairness("street"), fair.fairness("street")
    assert after.worst_mean >= before.worst_mean - 1e-9
    assert fair.min_fair == pytest.approx(after.worst_mean, rel=1e-9)
    totals = np.zeros(plain.receivers.size)
    np.add.at(totals, plain.match.cols, plain.scores)
    assert before.gini == pytest.approx(gini(totals))
    street = graph.region_codes("street")[plain.receivers]
    means = {graph.region_ids[s]: totals[street == s].mean() for s in np.unique(street)}
    assert before.worst == min(means, key=lambda k: means[k])
    assert before.to_dict()["means"] == pytest.approx(means)
    assert "Worst-off street" in plain.report()
    direct = fairness_report(
        graph, plain.receivers, plain.match.cols, plain.scores, level="receiver"
    )
    assert direct.worst_mean == pytest.approx(totals.min())


def test_verify_pairing_catches_broken_rules() -> None:
    graph = small_graph(5)
    rules: list[Rule] = [SameRegion("street"), KindQuota("agency", max=0, penalty=0.5)]
    result = pbmatch.pair(graph, rules=rules)
    assert verify_pairing(result) == []
    plain = pbmatch.pair(graph)
    # Claim the rule-free pairing obeyed the rules: verify recounts and objects.
    forged = replace(plain, rules=tuple(rules), violations=(), penalty=0.0)
    problems = verify_pairing(forged)
    same_street = graph.region_codes("street")
    crossing = any(
        same_street[graph.index(p)] != same_street[graph.index(r)] for p, r in plain.pairs
    )
    assert crossing == any("SameRegion" in p for p in problems)
    wrong_penalty = replace(result, penalty=result.penalty + 1.0)
    assert any("penalty" in p for p in verify_pairing(wrong_penalty))
