"""solve_rules against an independent MILP (scipy.optimize.milp, HiGHS) on small random instances.

Each instance mixes capacities, minimums, forbidden and required edges, "previous pairs" groups,
general hard groups and soft groups; the objective is the total or max-min. Every answer is
checked for feasibility and value against the MILP; every infeasible answer's conflict is
checked to be infeasible (MILP) and minimal (dropping any one rule makes the MILP feasible).
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from pbmatch.exceptions import InputError
from pbmatch.solvers.rules import Diagnosis, EdgeGroup, RulesSolution, SolveProgress, solve_rules

TOL = 1e-6


@dataclass
class Instance:
    n: int
    m: int
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    lcap: np.ndarray
    rcap: np.ndarray
    lmin: np.ndarray
    rmin: np.ndarray
    groups: list[EdgeGroup] = field(default_factory=list)
    objective: str = "sum"
    fair: np.ndarray | None = None

    def kwargs(self) -> dict:
        return dict(
            n_rows=self.n, n_cols=self.m, left_capacity=self.lcap, right_capacity=self.rcap,
            left_min=self.lmin, right_min=self.rmin, groups=self.groups,
            objective=self.objective, fair_groups=self.fair,
        )  # fmt: skip

    def solve(self, **extra) -> RulesSolution:
        return solve_rules(self.rows, self.cols, self.scores, **self.kwargs(), **extra)


def milp_reference(inst: Instance, rules: set[int] | None = None, objective: bool = True):
    """Optimum of ``inst`` by scipy's MILP: (status, value, min_fair, chosen).

    ``rules``: only these rule numbers in force (the numbering of pbmatch.solvers.rules); None
    for all. ``objective=False``: a feasibility test.
    """
    n, m, e = inst.n, inst.m, inst.rows.size
    explicit = [g.rule for g in inst.groups if g.rule >= 0]
    next_rule = max(explicit) + 1 if explicit else 0
    numbers = []
    for g in inst.groups:
        if g.rule >= 0:
            numbers.append(g.rule)
        else:
            numbers.append(next_rule)
            next_rule += 1
    base = next_rule

    def on(number: int) -> bool:
        return rules is None or number in rules

    soft = [g for g in inst.groups if g.penalty is not None]
    n_soft = len(soft)
    fair = None
    if inst.objective == "maxmin":
        fair = inst.fair if inst.fair is not None else np.arange(m)
    use_t = objective and fair is not None
    nv = e + 2 * n_soft + 1 + (1 if use_t else 0)  # a dummy at e + 2 n_soft: never empty
    a_rows, a_lo, a_hi = [], [], []

    def add(idx, coef, lo, hi):
        row = np.zeros(nv)
        row[np.asarray(idx, dtype=int)] = coef
        a_rows.append(row)
        a_lo.append(lo)
        a_hi.append(hi)

    for i in range(n):
        idx = np.flatnonzero(inst.rows == i)
        lo = inst.lmin[i] if on(base + i) else 0
        hi = inst.lcap[i] if on(base + n + m + i) else np.inf
        add(idx, 1.0, lo, hi)
    for j in range(m):
        idx = np.flatnonzero(inst.cols == j)
        lo = inst.rmin[j] if on(base + n + j) else 0
        hi = inst.rcap[j] if on(base + 2 * n + m + j) else np.inf
        add(idx, 1.0, lo, hi)
    k = 0
    for g, number in zip(inst.groups, numbers, strict=True):
        hi = np.inf if g.hi is None else g.hi
        if g.penalty is None:
            if on(number):
                add(g.edges, 1.0, g.lo, hi)
        else:
            if objective:
                row = np.zeros(nv)
                row[g.edges] = 1.0
                row[e + 2 * k] = 1.0
                a_rows.append(row), a_lo.append(g.lo), a_hi.append(np.inf)
                row = np.zeros(nv)
                row[g.edges] = 1.0
                row[e + 2 * k + 1] = -1.0
                a_rows.append(row), a_lo.append(-np.inf), a_hi.append(hi)
            k += 1
    lb = np.zeros(nv)
    ub = np.ones(nv)
    ub[e : e + 2 * n_soft] = np.inf
    ub[e + 2 * n_soft] = 0.0
    integrality = np.ones(nv)
    integrality[e : e + 2 * n_soft] = 0
    total_c = np.zeros(nv)
    total_c[:e] = -inst.scores
    for k, g in enumerate(soft):
        if objective:
            total_c[e + 2 * k : e + 2 * k + 2] = g.penalty
    if use_t:
        lb[-1], ub[-1], integrality[-1] = -1e9, 1e9, 0
        codes = np.unique(fair[fair >= 0])
        for c in codes:
            cols_g = np.flatnonzero(fair == c)
            row = np.zeros(nv)
            sel = np.isin(inst.cols, cols_g)
            row[:e][sel] = -inst.scores[sel]
            row[-1] = cols_g.size
            a_rows.append(row), a_lo.append(-np.inf), a_hi.append(0.0)
    cons = [LinearConstraint(np.array(a_rows), a_lo, a_hi)] if a_rows else []
    bounds = Bounds(lb, ub)
    if not objective:
        res = milp(np.zeros(nv), constraints=cons, integrality=integrality, bounds=bounds)
        return ("infeasible" if res.status == 2 else "feasible"), None, None, None
    if use_t:
        c1 = np.zeros(nv)
        c1[-1] = -1.0
        res = milp(c1, constraints=cons, integrality=integrality, bounds=bounds)
        if res.status == 2:
            return "infeasible", None, None, None
        assert res.status == 0, res.message
        t = res.x[-1]
        lb[-1] = t - TOL
        bounds = Bounds(lb, ub)
    res = milp(total_c, constraints=cons, integrality=integrality, bounds=bounds)
    if res.status == 2:
        return "infeasible", None, None, None
    assert res.status == 0, res.message
    chosen = np.rint(res.x[:e]).astype(bool)
    return "optimal", -res.fun, (res.x[-1] if use_t else None), chosen


def check_feasible(inst: Instance, out: RulesSolution) -> None:
    x = out.chosen
    assert x.shape == (inst.rows.size,)
    rc = np.bincount(inst.rows[x], minlength=inst.n)
    cc = np.bincount(inst.cols[x], minlength=inst.m)
    assert (rc <= inst.lcap).all() and (rc >= inst.lmin).all()
    assert (cc <= inst.rcap).all() and (cc >= inst.rmin).all()
    penalty = 0.0
    for g in inst.groups:
        k = int(x[g.edges].sum())
        hi = math.inf if g.hi is None else g.hi
        if g.penalty is None:
            assert g.lo <= k <= hi, (g, k)
        else:
            penalty += g.penalty * (max(0, g.lo - k) + max(0, k - hi))
    total = math.fsum(inst.scores[x].tolist())
    assert out.score_total == pytest.approx(total, abs=1e-9)
    assert out.penalty == pytest.approx(penalty, abs=1e-9)
    assert out.objective == pytest.approx(total - penalty, abs=1e-9)
    if inst.objective == "maxmin":
        fair = inst.fair if inst.fair is not None else np.arange(inst.m)
        totals = np.bincount(inst.cols[x], weights=inst.scores[x], minlength=inst.m)
        means = [totals[fair == c].mean() for c in np.unique(fair[fair >= 0])]
        assert out.min_fair == pytest.approx(min(means), abs=1e-9)


def check_diagnosis(inst: Instance, d: Diagnosis) -> None:
    conflict = set(d.conflict)
    assert conflict, d
    assert len(d.names) == len(d.conflict) == len(d.kinds) == len(d.items)
    assert d.minimal
    assert milp_reference(inst, conflict, objective=False)[0] == "infeasible", d
    for rule in conflict:
        status = milp_reference(inst, conflict - {rule}, objective=False)[0]
        assert status == "feasible", (d, rule)
    assert d.relaxations and d.message


def random_instance(rng: np.random.Generator, kinds: tuple[str, ...], objective: str) -> Instance:
    n, m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    mask = rng.random((n, m)) < rng.uniform(0.4, 1.0)
    rows, cols = np.nonzero(mask)
    e = rows.size
    if rng.random() < 0.7:
        scores = rng.integers(-3, 12, size=e).astype(np.float64)
    else:
        scores = np.round(rng.uniform(-2, 10, size=e), 3)
    lcap = rng.integers(0, 4, size=n)
    rcap = rng.integers(0, 4, size=m)
    lmin = np.zeros(n, dtype=int)
    rmin = np.zeros(m, dtype=int)
    if "min" in kinds:
        lmin = np.minimum(rng.integers(0, 3, size=n) * (rng.random(n) < 0.4), lcap)
        rmin = np.minimum(rng.integers(0, 3, size=m) * (rng.random(m) < 0.4), rcap)
    groups: list[EdgeGroup] = []
    if e:
        if "forbid" in kinds:
            for k in rng.choice(e, size=min(e, int(rng.integers(1, 3))), replace=False):
                groups.append(EdgeGroup(np.array([k]), hi=0, name=f"forbid {k}"))
        if "require" in kinds:
            for k in rng.choice(e, size=min(e, int(rng.integers(1, 3))), replace=False):
                groups.append(EdgeGroup(np.array([k]), lo=1, name=f"require {k}"))
        if "previous" in kinds:
            prev = rng.choice(e, size=int(rng.integers(1, e + 1)), replace=False)
            keep = max(0, prev.size - int(rng.integers(0, 3)))
            groups.append(EdgeGroup(np.sort(prev), lo=keep, name="previous"))
        if "group" in kinds:
            for _ in range(int(rng.integers(1, 3))):
                edges = rng.choice(e, size=int(rng.integers(1, e + 1)), replace=False)
                lo = int(rng.integers(0, 3))
                hi = lo + int(rng.integers(0, 3)) if rng.random() < 0.7 else None
                groups.append(EdgeGroup(np.sort(edges), lo=lo, hi=hi, name="group"))
        if "soft" in kinds:
            for _ in range(int(rng.integers(1, 3))):
                edges = rng.choice(e, size=int(rng.integers(1, e + 1)), replace=False)
                lo = int(rng.integers(0, 3))
                hi = lo + int(rng.integers(0, 2)) if rng.random() < 0.7 else None
                pen = float(rng.choice([0.5, 2.0, 7.0]))
                groups.append(EdgeGroup(np.sort(edges), lo=lo, hi=hi, penalty=pen, name="soft"))
        if "shared" in kinds and len(groups) >= 2:
            groups = [
                EdgeGroup(g.edges, g.lo, g.hi, g.penalty, g.name, rule=k % 2)
                for k, g in enumerate(groups)
            ]
    fair = None
    if objective == "maxmin" and rng.random() < 0.5:
        fair = rng.integers(-1, 3, size=m)
        if not (fair >= 0).any():
            fair[0] = 0
    return Instance(n, m, rows, cols, scores, lcap, rcap, lmin, rmin, groups, objective, fair)


KINDS = [
    ("min",),
    ("forbid",),
    ("require",),
    ("previous",),
    ("group",),
    ("soft",),
    ("forbid", "require", "min"),
    ("previous", "forbid", "min"),
    ("group", "soft", "require"),
    ("min", "forbid", "require", "previous", "group", "soft", "shared"),
]


def compare(inst: Instance, out: RulesSolution) -> None:
    status, value, t, _ = milp_reference(inst)
    if status == "infeasible":
        assert out.status == "infeasible", out
        assert out.diagnosis is not None
        check_diagnosis(inst, out.diagnosis)
        assert not out.chosen.any() and math.isnan(out.objective)
        return
    assert out.status == "optimal", (out.status, out.message)
    check_feasible(inst, out)
    if inst.objective == "maxmin":
        assert out.min_fair == pytest.approx(t, abs=1e-5)
        assert out.bound == pytest.approx(out.min_fair) and out.gap == 0
    else:
        assert out.bound == pytest.approx(out.objective) and out.gap == 0
    assert out.objective == pytest.approx(value, abs=1e-5)


@pytest.mark.parametrize("kinds", KINDS, ids=["+".join(k) for k in KINDS])
@pytest.mark.parametrize("objective", ["sum", "maxmin"])
def test_against_milp(kinds: tuple[str, ...], objective: str) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{kinds}{objective}".encode()))
    for _ in range(15):
        inst = random_instance(rng, kinds, objective)
        compare(inst, inst.solve())


def test_infeasible_with_cpsat_rules_is_diagnosed_minimally() -> None:
    """Heavy minimums with general groups: conflicts found through CP-SAT's assumptions."""
    rng = np.random.default_rng(2024)
    diagnosed = 0
    for _ in range(40):
        inst = random_instance(rng, ("min", "group", "previous"), "sum")
        inst.rmin = np.minimum(inst.rcap, 2)
        out = inst.solve()
        if out.status == "infeasible":
            diagnosed += 1
        compare(inst, out)
    assert diagnosed >= 10


def test_hall_message_rule_numbers_and_names() -> None:
    # Columns 0-2 may only pair with rows 0 and 1 (capacity 2 each) and need 2 partners each.
    rows = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    cols = np.array([0, 1, 2, 0, 1, 2, 3, 4])
    scores = np.arange(8.0)
    out = solve_rules(
        rows, cols, scores, n_rows=3, n_cols=5, left_capacity=2, right_capacity=2,
        right_min=[2, 2, 2, 0, 0], groups=[EdgeGroup(np.array([6]), hi=0, name="no 2-3")],
        row_names=["A", "B", "C"], col_names=["c0", "c1", "c2", "c3", "c4"],
    )  # fmt: skip
    d = out.diagnosis
    assert out.status == "infeasible" and d is not None and d.minimal
    assert d.message.startswith("columns {c0, c1, c2} need 6 partners (their minimums)")
    assert "rows they can pair with, {A, B}, offer at most 4" in d.message
    # One group rule (number 0), then 3 row minimums, 5 column minimums, 3 row capacities.
    base = 1
    for number, kind, item in zip(d.conflict, d.kinds, d.items, strict=True):
        offset = {"right_min": 3, "left_capacity": 3 + 5}[kind]
        assert number == base + offset + item
    assert {n.split()[0] for n in d.names} <= {"c0", "c1", "c2", "A", "B"}
    assert "Cheapest relaxations:" in str(d)


def test_shared_rule_numbers_are_kept_and_dropped_together() -> None:
    # Two forbids sharing rule 7 and a require of the same edge: the conflict is rules 7, 8.
    rows, cols, scores = np.array([0, 0]), np.array([0, 1]), np.array([1.0, 2.0])
    groups = [
        EdgeGroup(np.array([0]), hi=0, name="keep apart", rule=7),
        EdgeGroup(np.array([1]), hi=0, name="keep apart", rule=7),
        EdgeGroup(np.array([1]), lo=1, name="lock"),
    ]
    out = solve_rules(rows, cols, scores, n_rows=1, n_cols=2, right_capacity=1, groups=groups)
    d = out.diagnosis
    assert out.status == "infeasible" and d is not None
    assert d.conflict == (7, 8) and d.names == ("keep apart", "lock")
    assert d.kinds == ("group", "group") and d.items == (7, 8)
    words = dict(zip(d.names, d.relaxations, strict=False))
    assert set(d.relaxations) == {"allow 1 exception to keep apart", "drop lock"}
    assert words


def test_time_limit_gives_feasible_bound_and_gap() -> None:
    rng = np.random.default_rng(1)
    n = 60
    rows, cols = np.nonzero(np.ones((n, n), dtype=bool))
    scores = rng.random(rows.size)
    out = solve_rules(rows, cols, scores, n_rows=n, n_cols=n, left_capacity=3,
                      right_capacity=3, objective="maxmin", time_limit=0.3)  # fmt: skip
    assert out.status in ("feasible", "optimal")
    assert out.bound is not None and out.gap is not None and out.gap >= 0
    assert out.min_fair is not None and out.min_fair <= out.bound + 1e-12
    inst = Instance(n, n, rows, cols, scores, np.full(n, 3), np.full(n, 3), np.zeros(n, int),
                    np.zeros(n, int), [], "maxmin", None)  # fmt: skip
    check_feasible(inst, out)


def test_progress_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import pbmatch.solvers.rules as rules

    monkeypatch.setattr(rules, "PROGRESS_AFTER", 0.0)
    events: list[SolveProgress] = []
    rng = np.random.default_rng(0)
    inst = random_instance(rng, ("soft", "group"), "maxmin")
    while not inst.groups:
        inst = random_instance(rng, ("soft", "group"), "maxmin")
    inst.solve(progress=events.append, method="cpsat")
    assert events and all(isinstance(e, SolveProgress) for e in events)
    assert {e.phase for e in events} <= {"fairness", "total", "cpsat", "diagnosis"}


def test_progress_true_prints_one_line(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    import pbmatch.solvers.rules as rules

    monkeypatch.setattr(rules, "PROGRESS_AFTER", 0.0)
    rows, cols = np.array([0, 1]), np.array([0, 0])
    solve_rules(rows, cols, np.array([1.0, 2.0]), n_rows=2, n_cols=1, objective="maxmin",
                progress=True, method="cpsat")  # fmt: skip
    err = capsys.readouterr().err
    assert "objective" in err and err.endswith("\n")


def test_same_answer_every_run() -> None:
    rng = np.random.default_rng(9)
    inst = random_instance(rng, ("previous", "soft", "group"), "maxmin")
    first = inst.solve()
    for _ in range(2):
        again = inst.solve()
        assert np.array_equal(again.chosen, first.chosen) and again.objective == first.objective


def test_integer_scores_stay_exact() -> None:
    rows, cols = np.array([0, 0, 1]), np.array([0, 1, 1])
    big = np.array([2**40 + 1, 2**40, 3], dtype=np.int64)
    out = solve_rules(rows, cols, big, n_rows=2, n_cols=2, objective="maxmin")
    assert out.resolution is None and out.min_fair == 3.0 and out.objective == 2**40 + 4


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"rows": [0, 0], "cols": [1, 1]}, "edge (0, 1) is listed twice"),
        ({"rows": [0, 5]}, "edge 1 is (5, 0), outside the 2 x 2 problem"),
        ({"scores": [1.0, np.nan]}, "scores[1] is nan; edge scores must be finite"),
        ({"rows": [0.0, 1.0]}, "rows and cols must be integer arrays"),
        ({"scores": [1.0]}, "rows, cols and scores have lengths 2, 2, 1"),
        ({"left_capacity": -1}, "left_capacity[0] is -1"),
        ({"left_min": 2}, "left_min[0] is 2 but the row's capacity is 1"),
        ({"objective": "max"}, "objective is 'max'; use 'sum' or 'maxmin'"),
        ({"fair_groups": [0, 1]}, "fair_groups applies to objective='maxmin' only"),
        ({"objective": "maxmin", "fair_groups": [-1, -1]}, "needs at least one column counted"),
        ({"objective": "maxmin", "fair_groups": [0]}, "fair_groups has shape (1,)"),
        ({"groups": [EdgeGroup(np.array([2]))]}, "edge index out of range 0..1"),
        ({"groups": [EdgeGroup(np.array([0, 0]))]}, "an edge is listed twice"),
        ({"groups": [EdgeGroup(np.array([0]), lo=2, hi=1)]}, "lo 2 is above hi 1"),
        ({"groups": [EdgeGroup(np.array([0]), penalty=-1.0)]}, "penalty is -1.0"),
        ({"groups": [EdgeGroup(np.array([0]), rule=-2)]}, "rule is -2"),
        ({"groups": [(0, 1)]}, "groups[0] is a tuple; pass EdgeGroup objects"),
        ({"time_limit": 0}, "time_limit is 0"),
        ({"method": "lp"}, "method is 'lp'"),
        ({"num_workers": 0}, "num_workers is 0"),
        ({"progress": 3}, "progress is 3"),
        ({"method": "flow", "objective": "maxmin"}, "method='flow' cannot take these rules"),
        ({"row_names": ["a"]}, "row_names has 1 names; give one per item (2)"),
    ],
)
def test_bad_input_raises(kwargs: dict, words: str) -> None:
    call = {"rows": [0, 1], "cols": [1, 0], "scores": [1.0, 2.0], "n_rows": 2, "n_cols": 2}
    call.update(kwargs)
    rows, cols, scores = call.pop("rows"), call.pop("cols"), call.pop("scores")
    with pytest.raises(InputError, match=re.escape(words)):
        solve_rules(np.asarray(rows), np.asarray(cols), np.asarray(scores), **call)
