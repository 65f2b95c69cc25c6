"""``pbmatch.match`` with rules (forbid, require, previous + max_changes, max-min) against MILP.

The reference is a MILP written here from the documented meaning of each keyword and solved by
``scipy.optimize.milp`` (HiGHS); it shares no code with pbmatch. Every result also passes
``verify_match``. Infeasible instances must come with a conflict, named in index terms, that
the MILP confirms infeasible and minimal.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import Any

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from pbmatch import InfeasibleError, InputError
from pbmatch.matching import match
from pbmatch.verify import verify_match

TOL = 1e-6
Rule = tuple[Any, ...]


def all_rules(call: dict[str, Any], n: int, m: int) -> set[Rule]:
    """Every rule of a call, as the reference names them."""
    rules: set[Rule] = set()
    for kind in ("forbid", "require"):
        rules |= {(kind, (int(i), int(j))) for i, j in call.get(kind) or []}
    if call.get("previous") is not None:
        rules.add(("previous",))
    for kind, size in (("left", n), ("right", m)):
        for what in ("min", "capacity"):
            rules |= {(f"{kind}_{what}", k) for k in range(size)}
    return rules


def reference(
    scores: np.ndarray, call: dict[str, Any], rules: set[Rule] | None = None, feasibility=False
):
    """(status, total, smallest column total) by MILP; ``rules``: only these in force."""
    n, m = scores.shape
    rows, cols = np.nonzero(np.isfinite(scores))
    e = rows.size
    if rules is None:
        rules = all_rules(call, n, m)

    def per(value: Any, size: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(value), (size,)).astype(float)

    lcap, rcap = per(call.get("left_capacity", 1), n), per(call.get("right_capacity", 1), m)
    lmin, rmin = per(call.get("left_min", 0), n), per(call.get("right_min", 0), m)
    maxmin = call.get("objective") == "maxmin" and not feasibility
    counted = (np.bincount(cols, minlength=m) > 0) & (rcap > 0)
    use_t = maxmin and counted.any()
    nv = e + 1 + (1 if use_t else 0)  # a dummy variable at e: never empty
    a, lo, hi = [], [], []

    def add(idx, coef, low, high):
        row = np.zeros(nv)
        row[np.asarray(idx, dtype=int)] = coef
        a.append(row), lo.append(low), hi.append(high)

    for i in range(n):
        idx = np.flatnonzero(rows == i)
        add(idx, 1.0, lmin[i] if ("left_min", i) in rules else 0,
            lcap[i] if ("left_capacity", i) in rules else np.inf)  # fmt: skip
    for j in range(m):
        idx = np.flatnonzero(cols == j)
        add(idx, 1.0, rmin[j] if ("right_min", j) in rules else 0,
            rcap[j] if ("right_capacity", j) in rules else np.inf)  # fmt: skip
    where = {(int(r), int(c)): k for k, (r, c) in enumerate(zip(rows, cols, strict=True))}
    lb, ub = np.zeros(nv), np.ones(nv)
    ub[e] = 0
    for pair in call.get("forbid") or []:
        if ("forbid", tuple(pair)) in rules and tuple(pair) in where:
            ub[where[tuple(pair)]] = 0
    for pair in call.get("require") or []:
        if ("require", tuple(pair)) in rules:
            lb[where[tuple(pair)]] = 1
    previous = call.get("previous")
    if previous is not None and ("previous",) in rules:
        distinct = {tuple(p) for p in previous}
        idx = [where[p] for p in distinct if p in where]
        add(idx, 1.0, len(distinct) - call["max_changes"], np.inf)
    integrality = np.ones(nv)
    if use_t:
        lb[-1], ub[-1], integrality[-1] = -1e9, 1e9, 0
        for j in np.flatnonzero(counted):
            row = np.zeros(nv)
            sel = cols == j
            row[:e][sel] = -scores[rows[sel], j]
            row[-1] = 1.0
            a.append(row), lo.append(-np.inf), hi.append(0.0)
    cons = [LinearConstraint(np.array(a), lo, hi)]
    if lb.max() > 0 and (lb > ub).any():
        return "infeasible", None, None
    c = np.zeros(nv)
    if feasibility:
        res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub))
        return ("infeasible" if res.status == 2 else "feasible"), None, None
    t = None
    if use_t:
        c[-1] = -1.0
        res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub))
        if res.status == 2:
            return "infeasible", None, None
        t = res.x[-1]
        lb[-1] = t - TOL
        c[-1] = 0.0
    c[:e] = -scores[rows, cols]
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub))
    if res.status == 2:
        return "infeasible", None, None
    assert res.status == 0, res.message
    return "optimal", -res.fun, t


_NAME = [
    (re.compile(r"^forbid \((\d+), (\d+)\)$"), lambda g: ("forbid", (int(g[0]), int(g[1])))),
    (re.compile(r"^require \((\d+), (\d+)\)$"), lambda g: ("require", (int(g[0]), int(g[1])))),
    (re.compile(r"^at most \d+ of the \d+ previous pairs dropped"), lambda g: ("previous",)),
    (re.compile(r"^row (\d+) min \d+$"), lambda g: ("left_min", int(g[0]))),
    (re.compile(r"^column (\d+) min \d+$"), lambda g: ("right_min", int(g[0]))),
    (re.compile(r"^row (\d+) capacity \d+$"), lambda g: ("left_capacity", int(g[0]))),
    (re.compile(r"^column (\d+) capacity \d+$"), lambda g: ("right_capacity", int(g[0]))),
]


def parse(name: str) -> Rule:
    for pattern, make in _NAME:
        found = pattern.match(name)
        if found:
            return make(found.groups())
    raise AssertionError(f"unknown rule name {name!r}")


def random_call(rng: np.random.Generator, kinds: tuple[str, ...]) -> tuple[np.ndarray, dict]:
    n, m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    if rng.random() < 0.6:
        scores = rng.integers(-2, 10, size=(n, m)).astype(float)
    else:
        scores = np.round(rng.uniform(-1, 8, size=(n, m)), 2)
    scores[rng.random((n, m)) < 0.25] = -np.inf
    finite = np.argwhere(np.isfinite(scores))
    call: dict[str, Any] = {
        "left_capacity": rng.integers(1, 4, size=n) if rng.random() < 0.7 else 1,
        "right_capacity": rng.integers(0, 4, size=m) if rng.random() < 0.7 else 2,
    }

    def some_pairs(k: int) -> list[tuple[int, int]]:
        if not len(finite):
            return []
        idx = rng.choice(len(finite), size=min(k, len(finite)), replace=False)
        return [tuple(int(v) for v in finite[i]) for i in idx]

    if "min" in kinds:
        lcap = np.broadcast_to(call["left_capacity"], (n,))
        rcap = np.broadcast_to(call["right_capacity"], (m,))
        call["left_min"] = np.minimum(rng.integers(0, 2, size=n), lcap)
        call["right_min"] = np.minimum(rng.integers(0, 3, size=m) * (rng.random(m) < 0.5), rcap)
    if "forbid" in kinds:
        call["forbid"] = some_pairs(int(rng.integers(1, 4)))
        if rng.random() < 0.3:  # a pair that is not allowed anyway
            call["forbid"].append((int(rng.integers(n)), int(rng.integers(m))))
    if "require" in kinds:
        call["require"] = some_pairs(int(rng.integers(1, 3)))
    if "previous" in kinds:
        previous = some_pairs(int(rng.integers(1, 5)))
        if rng.random() < 0.3:
            previous.append((int(rng.integers(n)), int(rng.integers(m))))
        call["previous"] = previous
        call["max_changes"] = int(rng.integers(0, len(previous) + 1))
    if "maxmin" in kinds:
        call["objective"] = "maxmin"
    return scores, call


def check(scores: np.ndarray, call: dict[str, Any], *, matrix: Any = None) -> str:
    result = match(scores if matrix is None else matrix, **call)
    rules = {k: v for k, v in call.items() if k not in ("method",)}
    problems = verify_match(result, scores if matrix is None else matrix, **rules)
    assert problems == [], (problems, result)
    status, total, t = reference(scores, call)
    if status == "infeasible":
        assert result.status == "infeasible", result
        d = result.diagnosis
        conflict = {parse(name) for name in d.names}
        assert len(conflict) == len(d.names) and d.minimal
        assert reference(scores, call, conflict, feasibility=True)[0] == "infeasible", d
        for rule in conflict:
            assert reference(scores, call, conflict - {rule}, True)[0] == "feasible", (d, rule)
        assert d.relaxations
        with pytest.raises(InfeasibleError) as caught:
            result.raise_for_status()
        assert caught.value.diagnosis is d
        return "infeasible"
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(total, abs=1e-6)
    if t is not None:
        assert result.min_fair == pytest.approx(t, abs=1e-6)
    assert result.gap == 0 or result.gap is None
    return result.method


COMBOS = [
    ("forbid",),
    ("require",),
    ("previous",),
    ("maxmin",),
    ("min", "forbid", "require"),
    ("min", "previous"),
    ("forbid", "require", "previous"),
    ("maxmin", "forbid", "require"),
    ("maxmin", "previous", "min"),
    ("min", "forbid", "require", "previous", "maxmin"),
]


@pytest.mark.parametrize("kinds", COMBOS, ids=["+".join(k) for k in COMBOS])
def test_rules_against_milp(kinds: tuple[str, ...]) -> None:
    rng = np.random.default_rng(zlib.crc32("+".join(kinds).encode()))
    seen = set()
    for _ in range(25):
        scores, call = random_call(rng, kinds)
        seen.add(check(scores, call))
    assert seen - {"infeasible"}, seen  # some instances are solved


def test_sparse_input_with_rules() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        scores, call = random_call(rng, ("min", "forbid", "require", "previous"))
        finite = np.isfinite(scores)
        matrix = sparse.csr_matrix((scores[finite], np.nonzero(finite)), shape=scores.shape)
        check(scores, call, matrix=matrix)


def test_forcing_cpsat_gives_the_same_optimum() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        scores, call = random_call(rng, ("min", "forbid", "require"))
        flow = match(scores, **call)
        cpsat = match(scores, **call, method="cpsat")
        assert flow.status == cpsat.status
        assert cpsat.method == "cpsat"
        if flow.success:
            assert flow.method == "flow"
            assert cpsat.objective == pytest.approx(flow.objective, abs=1e-9)
            assert verify_match(cpsat, scores, **call) == []


def test_hall_conflict_names_the_columns_and_their_rows() -> None:
    # Columns 3, 5, 7 can only pair with rows 1 and 2, which take 2 partners each.
    scores = np.full((4, 8), -np.inf)
    scores[:, [0, 1, 2, 4, 6]] = 1.0
    scores[1:3, [3, 5, 7]] = 2.0
    right_min = np.zeros(8, dtype=int)
    right_min[[3, 5, 7]] = 2
    result = match(scores, left_capacity=2, right_capacity=2, right_min=right_min)
    assert result.status == "infeasible"
    d = result.diagnosis
    assert set(d.kinds) == {"right_min", "left_capacity"}
    assert "columns {3, 5, 7} need 6 partners" in d.message
    assert "{1, 2}, offer at most 4" in d.message
    # The full problem is 2 partners short: a minimum of 2 must go entirely.
    assert d.relaxations[0] == "drop column 3 min 2" and d.steps[0].amount == 2


def test_previous_relaxation_speaks_of_max_changes() -> None:
    scores = np.array([[5.0, 1.0], [1.0, 5.0]])
    # Both previous pairs use row 0, whose capacity is 1: keeping both is impossible.
    result = match(scores, previous=[(0, 0), (0, 1)], max_changes=0)
    assert result.status == "infeasible"
    assert "raise max_changes from 0 to 1" in result.diagnosis.relaxations
    assert any(name.startswith("at most 0 of the 2") for name in result.diagnosis.names)


def test_time_limit_returns_a_solution_a_bound_and_a_gap() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random((60, 60))
    result = match(scores, left_capacity=3, right_capacity=3, objective="maxmin", time_limit=0.5)
    assert result.status in ("feasible", "optimal")
    assert result.bound is not None and result.gap is not None and result.gap >= 0
    assert result.bound >= result.min_fair - 1e-9
    assert verify_match(result, scores, left_capacity=3, right_capacity=3, objective="maxmin") == []


def test_deterministic() -> None:
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 20, size=(12, 12)).astype(float)
    call = {"right_capacity": 2, "objective": "maxmin", "previous": [(0, 1), (2, 3), (4, 5)],
            "max_changes": 1}  # fmt: skip
    first = match(scores, **call)
    for _ in range(2):
        again = match(scores, **call)
        assert again.pairs == first.pairs and again.objective == first.objective


def test_no_rules_keeps_the_plain_path() -> None:
    scores = np.array([[3.0, 1.0], [2.0, 4.0]])
    assert match(scores, forbid=[], require=[]).method == match(scores).method
    assert match(scores).certified


@pytest.mark.parametrize(
    ("call", "words"),
    [
        ({"forbid": [(0, 5)]}, "forbid[0] is (0, 5), outside the 2 x 2"),
        ({"forbid": [(0,)]}, "forbid[0] is (0,); each item must be a (row, col) pair"),
        ({"require": [(0.5, 1)]}, "row and col must be ints"),
        ({"require": [(1, 1)]}, "require contains (1, 1), a pair that is not allowed"),
        ({"previous": [(0, 0)]}, "previous is given without max_changes"),
        ({"max_changes": 1}, "max_changes is given without previous"),
        ({"previous": [(0, 0)], "max_changes": -1}, "max_changes is -1"),
        ({"objective": "fair"}, "objective is 'fair'"),
        ({"forbid": [(0, 0)], "method": "certified"}, "method='certified' does not take"),
        ({"forbid": 3}, "forbid is 3; pass a list of (row, col) pairs"),
    ],
)
def test_bad_rules_raise_input_error(call: dict[str, Any], words: str) -> None:
    scores = np.array([[1.0, 2.0], [3.0, -np.inf]])
    with pytest.raises(InputError, match=re.escape(words)):
        match(scores, **call)


def test_verify_match_catches_broken_rules() -> None:
    scores = np.array([[3.0, 1.0], [2.0, 4.0]])
    result = match(scores)
    problems = verify_match(result, scores, forbid=[(0, 0)], require=[(0, 1)],
                            previous=[(1, 0), (0, 1)], max_changes=1)  # fmt: skip
    assert "pair (0, 0) is forbidden but chosen" in problems
    assert "pair (0, 1) is required but not chosen" in problems
    assert any("previous pairs are dropped, above max_changes 1" in p for p in problems)
    fair = match(scores, objective="maxmin")
    assert verify_match(fair, scores, objective="maxmin") == []
    assert math.isclose(fair.min_fair, 3.0)


def test_repairing_medium_instances_against_milp() -> None:
    """Re-pairing beyond toy sizes: the Lagrangian flows and reduced-cost fixing paths."""
    rng = np.random.default_rng(17)
    methods = set()
    for _ in range(25):
        n, m = int(rng.integers(6, 13)), int(rng.integers(6, 13))
        cap = int(rng.integers(1, 3))
        last_year = rng.integers(0, 50, size=(n, m)).astype(float)
        previous = match(last_year, left_capacity=cap, right_capacity=cap).pairs
        scores = np.clip(last_year + rng.normal(0, 15, size=(n, m)), 0, None).round()
        if rng.random() < 0.5:
            scores += rng.random((n, m)).round(2)
        scores[rng.random((n, m)) < 0.1] = -np.inf
        call = {
            "left_capacity": cap,
            "right_capacity": cap,
            "previous": previous,
            "max_changes": int(rng.integers(0, len(previous) // 3 + 2)),
        }
        methods.add(check(scores, call))
    assert {"flow", "cpsat"} <= methods
