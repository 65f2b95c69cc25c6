"""Bipartite b-matching with side rules, max-min fairness, time limits and diagnosis.

:func:`solve_rules` chooses edges of a bipartite candidate graph (``rows[e]``, ``cols[e]``,
``scores[e]``) under

* per-row and per-column capacities and minimums (``left_capacity`` ... ``right_min``);
* :class:`EdgeGroup` rules: "at least ``lo`` and at most ``hi`` of these edges", each hard or
  soft (a ``penalty`` per unit of violation). Forbidding an edge is ``hi=0`` on it, requiring
  it ``lo=1``; "at most ``K`` of the previous pairs dropped" is ``lo = len(previous) - K`` on
  the previous pairs;
* ``objective="sum"`` (the total score minus soft penalties) or ``"maxmin"`` (first the
  smallest, over fair groups of columns, of the group's mean total score per column; then the
  total).

Method
------
``flow`` (OR-Tools ``SimpleMinCostFlow``, the network of :mod:`pbmatch.solvers.flow`) is
chosen when the structure allows: objective ``"sum"`` and every rule hard and either
forbidding all its edges (``hi = 0``: the edges are dropped) or requiring all of them
(``lo = len(edges)``: the edges are fixed, and their rows' and columns' capacities and
minimums reduced by one each). Otherwise ``cpsat`` (OR-Tools CP-SAT): one Boolean per edge,
one linear constraint per row, column and group, and slack variables for soft groups.

The max-sum flow over the flow-compatible rules always runs first (unless ``method="cpsat"``):
when it is infeasible the whole problem is; when its answer already satisfies every rule and
nothing else is asked (objective ``"sum"``, no soft group) it is optimal and returned as
``flow``; otherwise it is CP-SAT's solution hint, and the answer returned (status
``"feasible"``) if CP-SAT finds nothing better before the time limit.

``"maxmin"`` is lexicographic and solved in two CP-SAT phases, each on its own integer grid
(so each level keeps the full 2**53 range, where one objective weighted by
:func:`pbmatch.solvers.cpsat.dominating_weights` would leave each level about 2**26 and merge
float scores that differ by 1e-7): (A) maximise ``t``, a variable below every fair group's
mean; (B) fix ``t >= t*`` and maximise the total minus penalties. Before them, rounds of
multiplicative weights over max-sum flows find fair solutions and a proven bound on the
smallest mean: for weights ``mu >= 0`` on the fair groups summing to 1, every solution has
``min_g mean_g <= sum_g mu_g mean_g``, a weighted total that a max-sum flow over the
flow-compatible rules (a relaxation) maximises. When the best solution meets the bound,
phase A is skipped. On 150 x 150 problems with capacity 3 (``benchmarks/bench_rules.py``)
the rounds took a few tenths of a second and proved the smallest mean optimal.

Edges that can never help are dropped first (exact): a score <= 0, no minimum at its row or
column and in no group with ``lo > 0``.

Rules and their numbers
-----------------------
Every hard requirement is a *rule* that the diagnosis may name. Group rules come first: a
group's number is its ``rule`` field when >= 0 (groups sharing a number are one rule, kept or
dropped together); groups with ``rule = -1`` are numbered after the largest explicit number,
in order. With ``G`` group-rule numbers, row ``i``'s minimum is rule ``G + i``, column ``j``'s
minimum ``G + n_rows + j``, row ``i``'s capacity ``G + n_rows + n_cols + i`` and column
``j``'s capacity ``G + 2 n_rows + n_cols + j``. :class:`Diagnosis` also carries each rule's
kind and item, so callers need not do this arithmetic.

Diagnosis
---------
When no solution exists the result has ``status="infeasible"`` and a :class:`Diagnosis`: a
minimal set of rules that cannot all hold (every rule not in it dropped, it is infeasible;
dropping any one more of its rules makes it feasible; edges and "each edge at most once" are
data, not rules), and the cheapest relaxation of each of its rules.

1. A first conflict: CP-SAT solved with one assumption literal per rule returns a sufficient
   subset (``sufficient_assumptions_for_infeasibility``); when every rule is flow-compatible,
   all rules.
2. A deletion filter makes it minimal. It tries to drop a chunk of the unknown rules (half of
   them at first); if the rest is still infeasible the chunk goes (and the set shrinks to the
   oracle's own core when CP-SAT gives one), else the chunk is halved; a chunk of one that
   cannot go is necessary. Dropping rules never makes a feasible set infeasible, so a rule
   found necessary stays necessary. Feasibility tests are a min-cost flow when every rule
   tested is flow-compatible, else CP-SAT with assumptions. ``O(k log c)`` tests for a
   conflict of ``k`` rules found in ``c`` (at most ``c``, plus ``k``, in the worst case).
3. For each rule of the conflict, the least relaxation (minimum lowered, capacity or maximum
   raised, by how many pairs) that makes the whole problem feasible with every other rule
   kept: a min-cost flow (costs on the rule's own edges) or CP-SAT (minimise its slack). When
   no relaxation of that one rule suffices (another conflict remains), the relaxation that
   resolves this conflict is given and marked ``partial``. Relaxations are sorted, cheapest
   first.

A test stopped by the time limit counts as "feasible" (the rule is kept), so the set stays
infeasible but may not be minimal; ``Diagnosis.minimal`` says so. The diagnosis runs on the
time left after the solve, and at least ``min(time_limit, 1 s)``.

Determinism, time limits and scaling
------------------------------------
CP-SAT runs with ``num_workers`` (1 by default) and ``random_seed=seed``; a solve that ends
by proof is the same run after run, one stopped by ``time_limit`` depends on the machine's
speed. ``time_limit`` covers everything from validation to the answer (the flow rounds take
at most :data:`FAIR_SHARE` of it, phase A :data:`PHASE_A_SHARE` of what is left; CP-SAT is
stopped a little early, as it overruns its own limit while loading a large model, and skips
its presolve above :data:`PRESOLVE_MAX_EDGES` edges). On timeout the best solution so far
comes back with status ``"feasible"``, its objective, a proven ``bound`` and the ``gap``.
Scores (and penalties) become integers as in :mod:`pbmatch.solvers.scaling`: integers that
fit are exact, others are multiplied by a power of two and rounded (``resolution``), with the
level's total kept below 2**53. A fair group's mean is exact when the least common multiple
of the group sizes is at most 65536 (always with the default one column per group), else it
is maximised to within one resolution step. Importing OR-Tools' CP-SAT module (about 1 s,
once per process) counts against the first call's time limit.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from pbmatch._status import FEASIBLE, INFEASIBLE, NOT_SOLVED, OPTIMAL, Status
from pbmatch.exceptions import InputError
from pbmatch.solvers.cpsat import MAX_OBJECTIVE, cpsat_status, relative_gap
from pbmatch.solvers.flow import solve_network
from pbmatch.solvers.scaling import Scaling, max_safe_cost, scale_scores

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

__all__ = [
    "CPSAT_PARAMETERS",
    "Diagnosis",
    "EdgeGroup",
    "Relaxation",
    "RulesSolution",
    "SolveProgress",
    "solve_rules",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

CPSAT_PARAMETERS: dict[str, Any] = {
    "symmetry_level": 0,
    "cp_model_probing_level": 0,
    "linearization_level": 2,
}
"""CP-SAT parameters of every solve here: no symmetry detection and no probing in presolve
(on a 150 x 150 dense problem they took the whole of a 2 s budget and left no time to search),
and the full LP relaxation (``linearization_level`` 2): a 10 x 6 problem with soft column
minimums and one cardinality cap took 40-60 s with the default level and 0.04 s with it."""
DIAGNOSIS_MIN_TIME = 1.0
"""Seconds the diagnosis gets at least (or ``time_limit`` if smaller) after an infeasible solve."""
PROGRESS_AFTER = 1.0
"""Seconds after which progress is reported (shorter runs stay silent)."""
PRESOLVE_MAX_EDGES = 5000
"""Under a time limit, CP-SAT skips its presolve above this many candidate edges: on a 150 x
150 dense problem presolve alone overran a 1 s budget by 0.3 s (it checks the clock rarely),
while the search without it stops on time."""
FAIR_ROUNDS = 40
"""Most multiplicative-weights rounds for ``"maxmin"`` (see :func:`_fair_rounds`)."""
FAIR_SHARE = 0.3
"""Share of the time left that those rounds may take under a time limit."""
PHASE_A_SHARE = 0.6
"""Share of the time left for the max-min level's CP-SAT solve; the total's solve has the rest."""
_LCM_MAX = 1 << 16
_BEFORE = "found before calling SimpleMinCostFlow"
_MARGIN = 0.1  # seconds kept back from CP-SAT: it overruns its limit (loading, copying) ...
_MARGIN_PER_VAR = 4e-6  # ... by about 0.1 s on a 22,500-variable model


# ---------------------------------------------------------------------------------------------
# Public data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeGroup:
    """At least ``lo`` and at most ``hi`` of the candidate edges ``edges`` are chosen.

    Attributes
    ----------
    edges : ndarray of int
        Indices into the edge arrays (``rows``, ``cols``, ``scores``), distinct.
    lo : int, default 0
    hi : int or None, default None
        ``None``: no upper bound. ``0 <= lo <= hi``.
    penalty : float or None, default None
        ``None``: hard. Else soft: the objective loses ``penalty`` per unit of violation
        (``max(0, lo - count) + max(0, count - hi)``); ``penalty >= 0``.
    name : str
        The rule in words, used by the diagnosis.
    rule : int, default -1
        The user-level rule this group belongs to (groups sharing a rule are kept or dropped
        together in a diagnosis); -1: its own rule.

    Examples
    --------
    >>> import numpy as np
    >>> EdgeGroup(np.array([4]), hi=0, name="forbid (1, 2)").hi
    0
    """

    edges: IntArray
    lo: int = 0
    hi: int | None = None
    penalty: float | None = None
    name: str = ""
    rule: int = -1


@dataclass(frozen=True)
class Relaxation:
    """The least change of one rule that removes a conflict.

    Attributes
    ----------
    rule : int
        The rule's number.
    name : str
    amount : int
        Pairs of slack needed (the minimum lowered, or the maximum raised, by this much).
    lo, new_lo : int
        The rule's minimum before and after (for a capacity: 0, 0).
    hi, new_hi : int or None
        Its maximum before and after (None: none).
    words : str
        ``"lower the minimum of column 3 from 2 to 1"``, ``"drop forbid (1, 2)"``, ...
    partial : bool
        True when relaxing this rule alone does not make the whole problem feasible (another
        conflict remains); the amount then resolves this conflict only.
    """

    rule: int
    name: str
    amount: int
    lo: int
    new_lo: int
    hi: int | None
    new_hi: int | None
    words: str
    partial: bool = False


@dataclass(frozen=True)
class Diagnosis:
    """Why a problem has no solution: a minimal set of conflicting rules and ways out.

    Attributes
    ----------
    conflict : tuple of int
        Numbers of a minimal set of rules that cannot all hold (see the module notes for the
        numbering).
    names : tuple of str
        Their names (``"column 7 min 2"``, ``"row 1 capacity 2"``, a group's name).
    relaxations : tuple of str
        The cheapest relaxations, in words, cheapest first.
    message : str
        One or two sentences.
    kinds : tuple of str
        Per conflict rule: ``"group"``, ``"left_min"``, ``"right_min"``, ``"left_capacity"``
        or ``"right_capacity"``.
    items : tuple of int
        Per conflict rule: the group rule's number, or the row / column index.
    steps : tuple of Relaxation
        The relaxations with their numbers, in the order of ``relaxations``.
    minimal : bool
        False when a time limit stopped the deletion filter: the set is infeasible but may
        not be minimal.
    tests : int
        Feasibility tests run.

    Examples
    --------
    Row 0 may take one partner but two pairs at it are required:

    >>> import numpy as np
    >>> out = solve_rules(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 2.0]),
    ...                   n_rows=1, n_cols=2, groups=[EdgeGroup(np.array([0, 1]), lo=2,
    ...                   name="both pairs")])
    >>> d = out.diagnosis
    >>> d.names, d.kinds, d.conflict
    (('both pairs', 'row 0 capacity 1'), ('group', 'left_capacity'), (0, 4))
    >>> d.relaxations
    ('lower the minimum of both pairs from 2 to 1', 'raise the capacity of row 0 from 1 to 2')
    """

    conflict: tuple[int, ...]
    names: tuple[str, ...]
    relaxations: tuple[str, ...]
    message: str
    kinds: tuple[str, ...] = ()
    items: tuple[int, ...] = ()
    steps: tuple[Relaxation, ...] = ()
    minimal: bool = True
    tests: int = 0

    def __str__(self) -> str:
        lines = [self.message, *(f"- {name}" for name in self.names)]
        if self.relaxations:
            lines.append("Cheapest relaxations: " + "; ".join(self.relaxations))
        return "\n".join(lines)


@dataclass(frozen=True)
class SolveProgress:
    """One progress report (given to a ``progress`` callback).

    Attributes
    ----------
    phase : str
        ``"cpsat"`` (searching) or ``"diagnosis"``.
    elapsed : float
        Seconds since the call started.
    objective, bound : float or None
        The best solution's value and the proven bound so far, in score units (for
        ``"maxmin"``: the smallest group mean); approximate to within the scaling resolution.
    gap : float or None
    solutions : int
        Solutions found so far (``"cpsat"``), or tests run (``"diagnosis"``).
    """

    phase: str
    elapsed: float
    objective: float | None
    bound: float | None
    gap: float | None
    solutions: int


@dataclass(frozen=True)
class RulesSolution:
    """The answer of :func:`solve_rules`.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"feasible"`` (a time limit stopped the search), ``"infeasible"``,
        ``"not_solved"`` (stopped before any solution) or ``"error"``.
    chosen : ndarray of bool
        One flag per edge (all False without a solution).
    objective : float
        ``score_total - penalty``: what ``"sum"`` maximises, and the second level of
        ``"maxmin"``; NaN without a solution.
    bound : float or None
        A proven upper bound on the primary objective: on ``objective`` for ``"sum"``, on
        ``min_fair`` for ``"maxmin"``; equal to it when optimal.
    gap : float or None
        ``(bound - value) / max(|bound|, 1)`` for the primary objective's value.
    method : str
        ``"flow"`` or ``"cpsat"``.
    message : str
        The solvers' own status words.
    diagnosis : Diagnosis or None
        When infeasible.
    min_fair : float or None
        For ``"maxmin"``: the smallest fair-group mean reached.
    score_total : float
        The exactly rounded float sum of the chosen edges' scores.
    penalty : float
        Soft penalties paid: ``sum(penalty * violation)``.
    resolution : float or None
        One integer step of the solver in score units (None: scores used exactly).
    merged : int
        Distinct scores made equal by rounding.
    wall_time : float
        Seconds.
    """

    status: Status
    chosen: BoolArray
    objective: float
    bound: float | None
    gap: float | None
    method: str
    message: str
    diagnosis: Diagnosis | None
    min_fair: float | None
    score_total: float = math.nan
    penalty: float = 0.0
    resolution: float | None = None
    merged: int = 0
    wall_time: float = 0.0

    @property
    def success(self) -> bool:
        """True when a solution is present."""
        return self.status in (OPTIMAL, FEASIBLE)


# ---------------------------------------------------------------------------------------------
# The validated problem
# ---------------------------------------------------------------------------------------------
RuleKind = Literal["group", "left_min", "right_min", "left_capacity", "right_capacity"]


@dataclass(eq=False)
class _Group:
    edges: IntArray  # candidate positions
    lo: int
    hi: int  # clipped to len(edges)
    penalty: float | None
    name: str
    rule: int
    flow_kind: str  # "forbid", "require", "vacuous", "impossible", "general" (hard only)


@dataclass(eq=False)
class _Rule:
    number: int
    kind: RuleKind
    item: int
    name: str
    groups: list[_Group]
    flow: bool


@dataclass(eq=False)
class _Problem:
    n: int
    m: int
    n_edges: int
    cand: IntArray  # original edge index of each candidate edge
    rows: IntArray
    cols: IntArray
    scores: npt.NDArray[Any]  # float64 or int64, per candidate
    lcap: IntArray
    rcap: IntArray
    lmin: IntArray
    rmin: IntArray
    deg_row: IntArray
    deg_col: IntArray
    hard: list[_Group]
    soft: list[_Group]
    n_group_rules: int
    rules: list[_Rule]
    objective: str
    fair: IntArray | None  # per column, -1 not counted
    row_names: Sequence[str] | None
    col_names: Sequence[str] | None

    @property
    def p(self) -> int:
        return int(self.rows.size)

    def rule_number(self, kind: str, item: int) -> int:
        base = self.n_group_rules
        offset = {
            "left_min": 0,
            "right_min": self.n,
            "left_capacity": self.n + self.m,
            "right_capacity": 2 * self.n + self.m,
        }[kind]
        return base + offset + item


def _who(problem: _Problem, side: str, item: int) -> str:
    names = problem.row_names if side == "row" else problem.col_names
    return str(names[item]) if names is not None else f"{side} {item}"


def _int_iv(value: Any, name: str, *, low: int = 0) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} is {value!r}; it must be an int >= {low}")
    if int(value) < low:
        raise InputError(f"{name} is {value!r}; it must be an int >= {low}")
    return int(value)


def _counts_iv(value: Any, name: str, size: int, unit: str) -> IntArray:
    rule = f"{name} must be whole numbers >= 0 (one int, or one per {unit})"
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} is {value!r}; {rule}")
    array = np.asarray(value)
    if array.ndim > 1 or (array.ndim == 1 and array.shape[0] != size):
        raise InputError(f"{name} has shape {array.shape}; {rule} ({size} {unit}s)")
    flat = array.reshape(-1)
    if array.dtype.kind == "f":
        bad = ~(np.isfinite(flat) & (flat == np.rint(flat)))
    elif array.dtype.kind in "iu":
        bad = np.zeros(flat.shape, dtype=bool)
    else:
        raise InputError(f"{name} has dtype {array.dtype}; {rule}")
    bad |= flat < 0
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"{name}[{k}] is {flat[k].item()!r}; {rule}")
    counts = flat.astype(np.int64)
    return np.full(size, counts[0], dtype=np.int64) if array.ndim == 0 else counts


def _edge_arrays(rows: Any, cols: Any, scores: Any, n: int, m: int) -> tuple[Any, Any, Any]:
    r = np.asarray(rows).reshape(-1) if np.ndim(rows) <= 1 else None
    c = np.asarray(cols).reshape(-1) if np.ndim(cols) <= 1 else None
    s = np.asarray(scores).reshape(-1) if np.ndim(scores) <= 1 else None
    if r is None or c is None or s is None:
        raise InputError("rows, cols and scores must be 1-D arrays, one entry per edge")
    if not (r.size == c.size == s.size):
        raise InputError(
            f"rows, cols and scores have lengths {r.size}, {c.size}, {s.size}; they must be equal"
        )
    if r.size and (r.dtype.kind not in "iu" or c.dtype.kind not in "iu"):
        raise InputError(f"rows and cols must be integer arrays; got {r.dtype} and {c.dtype}")
    r, c = r.astype(np.int64), c.astype(np.int64)
    out = (r < 0) | (r >= n) | (c < 0) | (c >= m)
    if out.any():
        e = int(np.argmax(out))
        raise InputError(f"edge {e} is ({r[e]}, {c[e]}), outside the {n} x {m} problem")
    if s.dtype.kind == "f":
        s = s.astype(np.float64)
        if not np.isfinite(s).all():
            e = int(np.argmin(np.isfinite(s)))
            raise InputError(f"scores[{e}] is {s[e]}; edge scores must be finite")
    elif s.dtype.kind in "iu":
        too_big = s.dtype.kind == "u" and s.size and int(s.max()) > np.iinfo(np.int64).max
        s = s.astype(np.float64 if too_big else np.int64)
    else:
        raise InputError(f"scores has dtype {s.dtype}; scores must be real numbers")
    keys = r * max(m, 1) + c
    sorted_keys = np.sort(keys)
    dup = sorted_keys[1:] == sorted_keys[:-1]
    if dup.any():
        key = int(sorted_keys[1:][dup][0])
        raise InputError(f"edge ({key // m}, {key % m}) is listed twice; list each pair once")
    return r, c, s


def _validate(
    rows: Any,
    cols: Any,
    scores: Any,
    n_rows: Any,
    n_cols: Any,
    left_capacity: Any,
    right_capacity: Any,
    left_min: Any,
    right_min: Any,
    groups: Sequence[EdgeGroup],
    objective: Any,
    fair_groups: Any,
    row_names: Sequence[str] | None,
    col_names: Sequence[str] | None,
) -> _Problem:
    n = _int_iv(n_rows, "n_rows")
    m = _int_iv(n_cols, "n_cols")
    r, c, s = _edge_arrays(rows, cols, scores, n, m)
    n_edges = int(r.size)
    lcap = _counts_iv(left_capacity, "left_capacity", n, "row")
    rcap = _counts_iv(right_capacity, "right_capacity", m, "column")
    lmin = _counts_iv(left_min, "left_min", n, "row")
    rmin = _counts_iv(right_min, "right_min", m, "column")
    for name, low, high, unit in (
        ("left_min", lmin, lcap, "row"),
        ("right_min", rmin, rcap, "column"),
    ):
        over = np.flatnonzero(low > high)
        if over.size:
            k = int(over[0])
            raise InputError(
                f"{name}[{k}] is {int(low[k])} but the {unit}'s capacity is {int(high[k])}; "
                "a minimum must not exceed its capacity"
            )
    if objective not in ("sum", "maxmin"):
        raise InputError(f"objective is {objective!r}; use 'sum' or 'maxmin'")
    fair: IntArray | None = None
    if objective == "maxmin":
        if fair_groups is None:
            fair = np.arange(m, dtype=np.int64)
        else:
            codes = np.asarray(fair_groups)
            if codes.shape != (m,) or (codes.size and codes.dtype.kind not in "iu"):
                raise InputError(
                    f"fair_groups has shape {codes.shape} and dtype {codes.dtype}; give one "
                    f"int code per column ({m}), -1 for a column not counted"
                )
            fair = codes.astype(np.int64)
            if (fair < -1).any():
                k = int(np.argmax(fair < -1))
                raise InputError(f"fair_groups[{k}] is {fair[k]}; codes must be >= -1")
        if not (fair >= 0).any():
            raise InputError("objective='maxmin' needs at least one column counted (code >= 0)")
    elif fair_groups is not None:
        raise InputError("fair_groups applies to objective='maxmin' only")
    for names, size, what in ((row_names, n, "row_names"), (col_names, m, "col_names")):
        if names is not None and len(names) != size:
            raise InputError(f"{what} has {len(names)} names; give one per item ({size})")

    # Groups, checked against the original edge indices.
    checked: list[tuple[IntArray, int, int | None, float | None, str, int]] = []
    for k, g in enumerate(groups):
        if not isinstance(g, EdgeGroup):
            raise InputError(f"groups[{k}] is a {type(g).__name__}; pass EdgeGroup objects")
        edges = np.asarray(g.edges).reshape(-1)
        if edges.size and edges.dtype.kind not in "iu":
            raise InputError(f"groups[{k}] ({g.name!r}): edges must be integer indices")
        edges = edges.astype(np.int64)
        if edges.size and (edges.min() < 0 or edges.max() >= n_edges):
            raise InputError(f"groups[{k}] ({g.name!r}): edge index out of range 0..{n_edges - 1}")
        if np.unique(edges).size != edges.size:
            raise InputError(f"groups[{k}] ({g.name!r}): an edge is listed twice")
        lo = _int_iv(g.lo, f"groups[{k}].lo")
        hi = None if g.hi is None else _int_iv(g.hi, f"groups[{k}].hi")
        if hi is not None and hi < lo:
            raise InputError(f"groups[{k}] ({g.name!r}): lo {lo} is above hi {hi}")
        pen = g.penalty
        if pen is not None and not (
            isinstance(pen, numbers.Real)
            and not isinstance(pen, bool)
            and math.isfinite(float(pen))
            and float(pen) >= 0
        ):
            raise InputError(f"groups[{k}] ({g.name!r}): penalty is {pen!r}; use None or >= 0")
        rule = g.rule
        if isinstance(rule, bool) or not isinstance(rule, numbers.Integral) or rule < -1:
            raise InputError(f"groups[{k}] ({g.name!r}): rule is {rule!r}; use an int >= -1")
        checked.append((edges, lo, hi, None if pen is None else float(pen), str(g.name), int(rule)))

    # Edges that can help (exact; see the module notes).
    needed = np.zeros(n_edges, dtype=bool)
    for edges, lo, _, _, _, _ in checked:
        if lo > 0:
            needed[edges] = True
    keep = (s > 0) | (lmin[r] > 0) | (rmin[c] > 0) | needed
    cand = np.flatnonzero(keep).astype(np.int64)
    pos = np.full(n_edges, -1, dtype=np.int64)
    pos[cand] = np.arange(cand.size, dtype=np.int64)
    rows_c, cols_c, scores_c = r[cand], c[cand], s[cand]

    explicit = [rule for *_, rule in checked if rule >= 0]
    next_rule = max(explicit) + 1 if explicit else 0
    hard: list[_Group] = []
    soft: list[_Group] = []
    by_rule: dict[int, list[_Group]] = {}
    for edges, lo, hi, pen, name, rule in checked:
        if rule < 0:
            rule = next_rule
            next_rule += 1
        mapped = pos[edges]
        mapped = np.sort(mapped[mapped >= 0])
        size = int(mapped.size)
        top = size if hi is None else min(hi, size)
        if pen is None:
            if lo > size:
                kind = "impossible"
                top = max(top, lo)  # a valid (unreachable) domain for the solvers
            elif top == 0:
                kind = "forbid" if size else "vacuous"
            elif lo == size:
                kind = "require"
            elif lo <= 0 and top >= size:
                kind = "vacuous"
            else:
                kind = "general"
        else:
            kind = "soft"
        group = _Group(mapped, lo, top, pen, name or f"rule {rule}", rule, kind)
        if pen is None:
            hard.append(group)
            if kind != "vacuous":
                by_rule.setdefault(rule, []).append(group)
        elif lo > 0 or top < size:
            soft.append(group)
    n_group_rules = next_rule

    deg_row = np.bincount(rows_c, minlength=n).astype(np.int64)
    deg_col = np.bincount(cols_c, minlength=m).astype(np.int64)
    problem = _Problem(
        n, m, n_edges, cand, rows_c, cols_c, scores_c, lcap, rcap, lmin, rmin, deg_row,
        deg_col, hard, soft, n_group_rules, [], str(objective), fair, row_names, col_names,
    )  # fmt: skip
    rules: list[_Rule] = []
    for number in sorted(by_rule):
        gs = by_rule[number]
        named = next((g.name for g in gs if g.name), f"rule {number}")
        flow = all(g.flow_kind in ("forbid", "require", "impossible") for g in gs)
        rules.append(_Rule(number, "group", number, named, gs, flow))
    for kind, side, values, what in (
        ("left_min", "row", lmin, "min"),
        ("right_min", "column", rmin, "min"),
    ):
        for i in np.flatnonzero(values > 0).tolist():
            name = f"{_who(problem, side, i)} {what} {int(values[i])}"
            rules.append(_Rule(problem.rule_number(kind, i), kind, i, name, [], True))  # type: ignore[arg-type]
    for kind, side, caps, deg in (
        ("left_capacity", "row", lcap, deg_row),
        ("right_capacity", "column", rcap, deg_col),
    ):
        for i in np.flatnonzero(caps < deg).tolist():
            name = f"{_who(problem, side, i)} capacity {int(caps[i])}"
            rules.append(_Rule(problem.rule_number(kind, i), kind, i, name, [], True))  # type: ignore[arg-type]
    problem.rules = rules
    return problem


# ---------------------------------------------------------------------------------------------
# Rule sets as boolean masks over rule numbers
# ---------------------------------------------------------------------------------------------
def _n_rule_numbers(problem: _Problem) -> int:
    return problem.n_group_rules + 2 * (problem.n + problem.m)


def _mask(problem: _Problem, numbers_: Iterable[int]) -> BoolArray:
    mask = np.zeros(_n_rule_numbers(problem), dtype=bool)
    mask[np.fromiter(numbers_, dtype=np.int64)] = True
    return mask


def _side_arrays(problem: _Problem, active: BoolArray) -> tuple[IntArray, ...]:
    """Minimums and capacities with only the active min/capacity rules in force."""
    n, m, base = problem.n, problem.m, problem.n_group_rules
    lmin = np.where(active[base : base + n], problem.lmin, 0)
    rmin = np.where(active[base + n : base + n + m], problem.rmin, 0)
    lcap = np.where(active[base + n + m : base + 2 * n + m], problem.lcap, problem.deg_row)
    rcap = np.where(active[base + 2 * n + m :], problem.rcap, problem.deg_col)
    return lmin, rmin, np.minimum(lcap, problem.deg_row), np.minimum(rcap, problem.deg_col)


@dataclass(eq=False)
class _Network:
    """The flow-compatible rules applied: free edges, fixed ones, what is left at each node."""

    free: IntArray  # candidate positions of the edges the flow decides
    fixed: BoolArray  # per candidate edge: required by an active rule
    lcap: IntArray
    rcap: IntArray
    lmin: IntArray
    rmin: IntArray


def _network(problem: _Problem, active: BoolArray) -> _Network | str:
    """Drop forbidden edges, fix required ones and reduce the nodes; or say why infeasible."""
    p = problem.p
    removed = np.zeros(p, dtype=bool)
    fixed = np.zeros(p, dtype=bool)
    for rule in problem.rules:
        if rule.kind != "group" or not active[rule.number]:
            continue
        for g in rule.groups:
            if g.flow_kind == "impossible":
                return f"{_BEFORE}: {g.name} needs more edges than it has"
            (removed if g.flow_kind == "forbid" else fixed)[g.edges] = True
    if (removed & fixed).any():
        return f"{_BEFORE}: an edge is both forbidden and required"
    lmin, rmin, lcap, rcap = _side_arrays(problem, active)
    rows, cols = problem.rows, problem.cols
    fixed_rows = np.bincount(rows[fixed], minlength=problem.n)
    fixed_cols = np.bincount(cols[fixed], minlength=problem.m)
    lcap = lcap - fixed_rows
    rcap = rcap - fixed_cols
    if (lcap < 0).any() or (rcap < 0).any():
        return f"{_BEFORE}: required edges exceed a capacity"
    lmin = np.maximum(lmin - fixed_rows, 0)
    rmin = np.maximum(rmin - fixed_cols, 0)
    free = np.flatnonzero(~removed & ~fixed).astype(np.int64)
    lcap = np.minimum(lcap, np.bincount(rows[free], minlength=problem.n))
    rcap = np.minimum(rcap, np.bincount(cols[free], minlength=problem.m))
    if (lmin > lcap).any() or (rmin > rcap).any():
        return f"{_BEFORE}: a minimum exceeds the edges left for it"
    return _Network(free, fixed, lcap, rcap, lmin, rmin)


def _flow_run(
    problem: _Problem, active: BoolArray, costs: IntArray | None = None
) -> tuple[Status, BoolArray | None, str]:
    """Min-cost flow over the active rules, all flow-compatible (forbid / require / min / cap).

    Returns the status, the chosen candidate edges (None without a solution) and the solver's
    words. ``costs`` (to minimise, within ``max_safe_cost(n + m + 5)``) default to zero: a
    feasibility test.
    """
    net = _network(problem, active)
    if isinstance(net, str):
        return INFEASIBLE, None, net
    free = net.free
    if free.size == 0:
        return OPTIMAL, net.fixed.copy(), "SimpleMinCostFlow not called: no free edge"
    unit_costs = np.zeros(free.size, dtype=np.int64) if costs is None else costs[free]
    status, message, flows = solve_network(
        problem.rows[free], problem.cols[free], unit_costs, net.lcap, net.rcap, net.lmin,
        net.rmin,
    )  # fmt: skip
    if flows is None:
        return status, None, message
    chosen = net.fixed.copy()
    chosen[free[flows > 0]] = True
    return status, chosen, message


def _group_counts(groups: Sequence[_Group], chosen: BoolArray) -> IntArray:
    return np.array([int(chosen[g.edges].sum()) for g in groups], dtype=np.int64)


def _satisfies_hard(problem: _Problem, chosen: BoolArray) -> bool:
    counts = _group_counts(problem.hard, chosen)
    return all(g.lo <= k <= g.hi for g, k in zip(problem.hard, counts, strict=True))


# ---------------------------------------------------------------------------------------------
# CP-SAT models, written straight into the model's protobuf
# ---------------------------------------------------------------------------------------------
class _Builder:
    """A CP-SAT model filled through its protobuf: whole arrays per call, no per-term Python.

    ``n_bools`` Boolean variables come first (made by doubling copies of one variable, about
    three times faster than one call each).
    """

    def __init__(self, n_bools: int) -> None:
        from ortools.sat.python import cp_model

        self.model = cp_model.CpModel()
        self.proto = self.model.proto
        unit = cp_model.CpModel()
        unit.proto.variables.add().domain.extend([0, 1])
        left = n_bools
        while left:
            if left & 1:
                self.proto.merge_from(unit.proto)
            left >>= 1
            if left:
                twice = cp_model.CpModel()
                twice.proto.copy_from(unit.proto)
                unit.proto.merge_from(twice.proto)
        self.n_vars = n_bools

    def int_var(self, lo: int, hi: int) -> int:
        self.proto.variables.add().domain.extend([int(lo), int(hi)])
        self.n_vars += 1
        return self.n_vars - 1

    def linear(
        self,
        variables: IntArray,
        lo: int,
        hi: int,
        coeffs: IntArray | None = None,
        lit: int | None = None,
    ) -> None:
        """``lo <= sum(coeffs * variables) <= hi`` (all ones by default), if ``lit``.

        A count whose ``lo`` exceeds its ``hi`` (the number of its variables) gets the domain
        ``[lo, lo]``: as unreachable, and a valid domain for CP-SAT.
        """
        hi = max(hi, lo)
        constraint = self.proto.constraints.add()
        if lit is not None:
            constraint.enforcement_literal.append(int(lit))
        linear = constraint.linear
        linear.vars.extend(variables.tolist())
        linear.coeffs.extend([1] * variables.size if coeffs is None else coeffs.tolist())
        linear.domain.extend([int(lo), int(hi)])

    def maximize(self, variables: IntArray, coeffs: IntArray) -> None:
        # CP-SAT minimises: maximise c.x as minimise -c.x, reported with scaling factor -1.
        objective = self.proto.objective
        objective.vars.extend(variables.tolist())
        objective.coeffs.extend((-coeffs).tolist())
        objective.scaling_factor = -1.0

    def minimize(self, variables: IntArray) -> None:
        objective = self.proto.objective
        objective.vars.extend(variables.tolist())
        objective.coeffs.extend([1] * variables.size)

    def copy(self) -> _Builder:
        from ortools.sat.python import cp_model

        twin = object.__new__(_Builder)
        twin.model = cp_model.CpModel()
        twin.model.proto.copy_from(self.proto)
        twin.proto = twin.model.proto
        twin.n_vars = self.n_vars
        return twin


def _by(keys: IntArray, size: int) -> list[IntArray]:
    """Candidate edge positions grouped by ``keys`` (a row or column per edge)."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=ptr[1:])
    return [order[ptr[k] : ptr[k + 1]] for k in range(size)]


@dataclass(eq=False)
class _TotalScale:
    """Integer scores and penalties of the total (``"sum"``, or the second level of maxmin)."""

    costs: IntArray  # per candidate edge
    penalties: IntArray  # per soft group
    scaling: Scaling
    unit: float  # score units per integer step
    margin: float  # rounding allowance of a bound on the total


@dataclass(eq=False)
class _FairScale:
    """Integer scores of the max-min level: ``t`` counts group means in steps of ``step``."""

    costs: IntArray
    scaling: Scaling
    step: float
    t_unit: int  # the least common multiple of the group sizes (1 in floor mode)
    t_floor: bool  # group sizes too varied for an exact mean
    t_lo: int
    t_hi: int
    margin: float  # rounding allowance of a bound on the smallest mean

    def value(self, t: float) -> float:
        return float(t) * self.step


def _top_sums(keys: IntArray, values: IntArray, limit: IntArray, size: int) -> IntArray:
    """Per key, the sum of its ``limit[key]`` largest values (exact int64)."""
    out = np.zeros(size, dtype=np.int64)
    if values.size == 0:
        return out
    order = np.lexsort((-values, keys))
    k_sorted = keys[order]
    start = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=start[1:])
    rank = np.arange(order.size) - start[k_sorted]
    take = rank < limit[k_sorted]
    np.add.at(out, k_sorted[take], values[order][take])
    return out


def _total_scale(problem: _Problem) -> _TotalScale:
    """Scores and penalties on one integer grid, the total below 2**53 (see the notes)."""
    p = problem.p
    krow = np.minimum(problem.lcap, problem.deg_row)
    kcol = np.minimum(problem.rcap, problem.deg_col)
    most_pairs = min(p, int(krow.sum()), int(kcol.sum()))
    viol = np.array([g.lo + (g.edges.size - g.hi) for g in problem.soft], dtype=np.int64)
    pens = np.array([g.penalty for g in problem.soft], dtype=np.float64)
    factor = most_pairs + int(viol.sum()) + 1
    values: npt.NDArray[Any] = problem.scores
    if pens.size:
        if problem.scores.dtype.kind in "iu" and np.array_equal(pens, np.rint(pens)):
            values = np.concatenate([problem.scores, pens.astype(np.int64)])
        else:
            values = np.concatenate([problem.scores.astype(np.float64), pens])
    max_cost = max(1, min(MAX_OBJECTIVE // (2 * factor + 2), (1 << 60) // max(p, 1)))
    ints, scaling = scale_scores(values, max_cost=max_cost)
    unit = 1.0 if scaling.resolution is None else float(scaling.resolution)
    margin = 0.0 if scaling.resolution is None else unit * factor / 2
    return _TotalScale(ints[:p], ints[p:], scaling, unit, margin)


def _fair_scale(problem: _Problem) -> _FairScale:
    """Scores for the max-min level, on their own grid (the level is solved on its own)."""
    assert problem.fair is not None
    fair = problem.fair
    p = problem.p
    kcol = np.minimum(problem.rcap, problem.deg_col)
    counted = fair >= 0
    codes, pos = np.unique(fair[counted], return_inverse=True)
    sizes = np.bincount(pos).astype(np.int64)
    lcm = 1
    for size in np.unique(sizes).tolist():
        lcm = lcm * size // math.gcd(lcm, size)
        if lcm > _LCM_MAX:
            break
    t_floor = lcm > _LCM_MAX
    t_unit = 1 if t_floor else lcm
    widest = max(int(kcol.max(initial=0)), 1)
    max_cost = max(
        1, min(MAX_OBJECTIVE // (2 * t_unit * widest + 2), (1 << 60) // (t_unit * max(p, 1)))
    )
    costs, scaling = scale_scores(problem.scores, max_cost=max_cost)
    unit = 1.0 if scaling.resolution is None else float(scaling.resolution)
    col_hi = _top_sums(problem.cols, np.maximum(costs, 0), kcol, problem.m)
    col_lo = -_top_sums(problem.cols, np.maximum(-costs, 0), kcol, problem.m)
    g_hi = np.zeros(codes.size, dtype=np.int64)
    g_lo = np.zeros(codes.size, dtype=np.int64)
    np.add.at(g_hi, pos, col_hi[counted])
    np.add.at(g_lo, pos, col_lo[counted])
    if t_floor:
        t_hi, t_lo = int((g_hi // sizes).min()), int((g_lo // sizes).min())
        step = unit
    else:
        mult = t_unit // sizes
        t_hi, t_lo = int((g_hi * mult).min()), int((g_lo * mult).min())
        step = unit / t_unit
    half = 0.0 if scaling.resolution is None else unit / 2
    margin = half * widest + (unit if t_floor else 0.0)
    return _FairScale(costs, scaling, step, t_unit, t_floor, t_lo, t_hi, margin)


@dataclass(eq=False)
class _Model:
    builder: _Builder
    t_var: int  # -1 without
    slack_of: list[tuple[int, int]]  # per soft group: (under var or -1, over var or -1)


def _cp_model(
    problem: _Problem,
    total: _TotalScale | None,
    fair: _FairScale | None,
    t_min: int | None = None,
) -> _Model:
    """A CP-SAT model of every hard rule, maximising the total (soft groups with slacks) when
    ``total`` is given, else the smallest fair mean ``t`` (``t >= t_min`` when given)."""
    p = problem.p
    b = _Builder(p)
    by_row = _by(problem.rows, problem.n)
    by_col = _by(problem.cols, problem.m)
    for lists, mins, caps in (
        (by_row, problem.lmin, problem.lcap),
        (by_col, problem.rmin, problem.rcap),
    ):
        for k, edges in enumerate(lists):
            top = min(int(caps[k]), edges.size)
            if mins[k] > 0 or top < edges.size:
                b.linear(edges, int(mins[k]), top)
    for g in problem.hard:
        if g.flow_kind != "vacuous":
            b.linear(g.edges, g.lo, g.hi)
    slack_of: list[tuple[int, int]] = []
    obj_vars: list[IntArray] = []
    obj_coeffs: list[IntArray] = []
    if total is not None:
        obj_vars.append(np.arange(p, dtype=np.int64))
        obj_coeffs.append(total.costs)
        for g, pen in zip(problem.soft, total.penalties.tolist(), strict=True):
            size = g.edges.size
            under = over = -1
            if g.lo > 0:
                under = b.int_var(0, g.lo)
                b.linear(np.append(g.edges, under), g.lo, size + g.lo)
            if g.hi < size:
                over = b.int_var(0, size - g.hi)
                coeffs = np.append(np.ones(size, dtype=np.int64), -1)
                b.linear(np.append(g.edges, over), -(size - g.hi), g.hi, coeffs)
            slack_of.append((under, over))
            used = [v for v in (under, over) if v >= 0]
            obj_vars.append(np.array(used, dtype=np.int64))
            obj_coeffs.append(np.full(len(used), -pen, dtype=np.int64))
    t_var = -1
    if fair is not None:
        assert problem.fair is not None
        t_lo = fair.t_lo if t_min is None else max(fair.t_lo, min(t_min, fair.t_hi))
        t_var = b.int_var(t_lo, fair.t_hi)
        code = problem.fair[problem.cols]
        sizes = np.bincount(problem.fair[problem.fair >= 0])
        edges_of = _by(np.where(code >= 0, code, sizes.size), sizes.size + 1)
        for c in np.flatnonzero(sizes).tolist():
            edges = edges_of[c]
            size = int(sizes[c])
            if fair.t_floor:
                coeffs = np.append(fair.costs[edges], -size)
            else:
                coeffs = np.append(fair.costs[edges] * (fair.t_unit // size), -1)
            top = int(np.maximum(coeffs[:-1], 0).sum()) - int(coeffs[-1]) * abs(fair.t_lo)
            b.linear(np.append(edges, t_var), 0, max(top, 0) + 1, coeffs)
        if total is None:
            obj_vars.append(np.array([t_var], dtype=np.int64))
            obj_coeffs.append(np.ones(1, dtype=np.int64))
    all_vars = np.concatenate(obj_vars)
    all_coeffs = np.concatenate(obj_coeffs)
    keep = all_coeffs != 0
    b.maximize(all_vars[keep], all_coeffs[keep])
    return _Model(b, t_var, slack_of)


def _add_hint(problem: _Problem, model: _Model, fair: _FairScale | None, chosen: BoolArray) -> None:
    values = np.zeros(model.builder.n_vars, dtype=np.int64)
    values[: problem.p] = chosen
    counts: list[int] = _group_counts(problem.soft, chosen).tolist() if model.slack_of else []
    for g, k, (under, over) in zip(problem.soft, counts, model.slack_of, strict=False):
        if under >= 0:
            values[under] = max(0, g.lo - k)
        if over >= 0:
            values[over] = max(0, k - g.hi)
    if model.t_var >= 0 and fair is not None:
        values[model.t_var] = _t_value(problem, fair, chosen)
    hint = model.builder.proto.solution_hint
    hint.vars.extend(range(values.size))
    hint.values.extend(values.tolist())


def _t_value(problem: _Problem, fair: _FairScale, chosen: BoolArray) -> int:
    """The largest feasible ``t`` of a solution, in the model's integer units."""
    assert problem.fair is not None
    codes = problem.fair
    totals = np.zeros(problem.m, dtype=np.int64)
    np.add.at(totals, problem.cols[chosen], fair.costs[chosen])
    counted = codes >= 0
    _, pos = np.unique(codes[counted], return_inverse=True)
    sums = np.zeros(int(pos.max(initial=-1)) + 1, dtype=np.int64)
    np.add.at(sums, pos, totals[counted])
    sizes = np.bincount(pos).astype(np.int64)
    if fair.t_floor:
        return int((sums // sizes).min())
    return int((sums * (fair.t_unit // sizes)).min())


def _total_value(problem: _Problem, total: _TotalScale, chosen: BoolArray) -> int:
    """The integer total (scores minus penalties) of a solution."""
    counts = _group_counts(problem.soft, chosen)
    viol = np.array(
        [max(0, g.lo - k) + max(0, k - g.hi) for g, k in zip(problem.soft, counts, strict=True)],
        dtype=np.int64,
    )
    return int(total.costs[chosen].sum()) - int((total.penalties * viol).sum())


@dataclass(eq=False)
class _CpOut:
    status: Status
    name: str
    values: IntArray
    objective: int
    bound: int | None
    core: list[int] | None
    wall_time: float


def _run_cpsat(
    model: cp_model.CpModel,
    *,
    deadline: float | None,
    seed: int,
    num_workers: int,
    callback: Callable[[Any, Any], None] | None = None,
    bound_callback: Callable[[float], None] | None = None,
    presolve: bool = True,
) -> _CpOut:
    """Solve ``model`` by ``deadline`` with this module's parameters."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    for key, value in CPSAT_PARAMETERS.items():
        setattr(solver.parameters, key, value)
    if not presolve:
        solver.parameters.cp_model_presolve = False
    if deadline is not None:
        left = (
            deadline - time.perf_counter() - _MARGIN - _MARGIN_PER_VAR * len(model.proto.variables)
        )
        if left <= 0:
            return _CpOut(NOT_SOLVED, "UNKNOWN", np.zeros(0, np.int64), 0, None, None, 0.0)
        solver.parameters.max_time_in_seconds = left
    handler: Any = None
    if callback is not None:
        report = callback

        class _Handler(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                report(self, model)

        handler = _Handler()
    if bound_callback is not None:
        solver.best_bound_callback = bound_callback
    code = solver.solve(model, handler)
    name = str(solver.status_name(code))
    status = cpsat_status(name)
    wall = float(solver.wall_time)
    if status == INFEASIBLE:
        core = [int(v) for v in solver.sufficient_assumptions_for_infeasibility()]
        return _CpOut(status, name, np.zeros(0, np.int64), 0, None, core, wall)
    if status not in (OPTIMAL, FEASIBLE):
        return _CpOut(status, name, np.zeros(0, np.int64), 0, None, None, wall)
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    objective = bound = 0
    if model.has_objective():
        objective = round(solver.objective_value)
        bound = objective if status == OPTIMAL else round(solver.best_objective_bound)
    return _CpOut(status, name, values, objective, bound, None, wall)


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------
class _Reporter:
    """Forward progress to a callback, or print it, once a run has lasted a second."""

    def __init__(self, progress: Any, started: float) -> None:
        self.started = started
        self.callback: Callable[[SolveProgress], None] | None
        self.printed = False
        if progress is None or progress is False:
            self.callback = None
        elif progress is True:
            self.callback = self._print
        else:
            self.callback = progress

    @property
    def enabled(self) -> bool:
        return self.callback is not None

    def __call__(
        self,
        phase: str,
        objective: float | None,
        bound: float | None,
        count: int,
    ) -> None:
        if self.callback is None:
            return
        elapsed = time.perf_counter() - self.started
        if elapsed < PROGRESS_AFTER:
            return
        gap = None if objective is None else relative_gap(objective, bound)
        self.callback(SolveProgress(phase, elapsed, objective, bound, gap, count))

    def _print(self, event: SolveProgress) -> None:
        self.printed = True
        words = [f"{event.phase} {event.elapsed:.1f} s"]
        if event.objective is not None:
            words.append(f"objective {event.objective:.6g}")
        if event.bound is not None:
            words.append(f"bound {event.bound:.6g}")
        if event.gap is not None:
            words.append(f"gap {100 * event.gap:.2f}%")
        sys.stderr.write("\r" + ", ".join(words) + " " * 8)
        sys.stderr.flush()

    def close(self) -> None:
        if self.printed:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.printed = False


# ---------------------------------------------------------------------------------------------
# Diagnosis
# ---------------------------------------------------------------------------------------------
def _rule_edges(problem: _Problem, rule: _Rule) -> IntArray:
    """Candidate edges a min or capacity rule counts."""
    keys = problem.rows if rule.kind in ("left_min", "left_capacity") else problem.cols
    return np.flatnonzero(keys == rule.item).astype(np.int64)


def _rule_bounds(problem: _Problem, rule: _Rule) -> tuple[int, int]:
    """``(lo, hi)`` of a min or capacity rule over its edges."""
    if rule.kind == "left_min":
        return int(problem.lmin[rule.item]), int(problem.deg_row[rule.item])
    if rule.kind == "right_min":
        return int(problem.rmin[rule.item]), int(problem.deg_col[rule.item])
    if rule.kind == "left_capacity":
        return 0, int(problem.lcap[rule.item])
    return 0, int(problem.rcap[rule.item])


class _Oracle:
    """Feasibility of rule subsets: min-cost flow when possible, else CP-SAT assumptions."""

    def __init__(
        self,
        problem: _Problem,
        deadline: float | None,
        seed: int,
        num_workers: int,
        reporter: _Reporter,
    ) -> None:
        self.problem = problem
        self.deadline = deadline
        self.seed = seed
        self.num_workers = num_workers
        self.reporter = reporter
        self.by_number = {r.number: r for r in problem.rules}
        self.lit = {r.number: problem.p + k for k, r in enumerate(problem.rules)}
        self.number_of = {lit: number for number, lit in self.lit.items()}
        self._base: _Builder | None = None
        self.tests = 0
        self.out_of_time = False

    def remaining(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.perf_counter()
        if left <= 0:
            self.out_of_time = True
        return max(left, 1e-3)

    @property
    def base(self) -> _Builder:
        """Every rule a constraint enforced by its own literal; no objective."""
        if self._base is None:
            problem = self.problem
            b = _Builder(problem.p + len(problem.rules))
            for rule in problem.rules:
                lit = self.lit[rule.number]
                if rule.kind == "group":
                    for g in rule.groups:
                        b.linear(g.edges, g.lo, g.hi, lit=lit)
                else:
                    lo, hi = _rule_bounds(problem, rule)
                    b.linear(_rule_edges(problem, rule), lo, hi, lit=lit)
            self._base = b
        return self._base

    def flow_only(self, numbers_: Iterable[int]) -> bool:
        return all(self.by_number[q].flow for q in numbers_)

    def feasible(self, subset: Sequence[int]) -> tuple[bool | None, list[int] | None]:
        """True, False (with CP-SAT's core when it gives one) or None (out of time)."""
        self.tests += 1
        self.reporter("diagnosis", None, None, self.tests)
        if self.flow_only(subset):
            status, _, _ = _flow_run(self.problem, _mask(self.problem, subset))
            if status == INFEASIBLE:
                return False, None
            return (True, None) if status in (OPTIMAL, FEASIBLE) else (None, None)
        self.remaining()
        if self.out_of_time:
            return None, None
        model = self.base.model
        model.proto.assumptions.clear()
        model.proto.assumptions.extend([self.lit[q] for q in subset])
        out = _run_cpsat(
            model,
            deadline=self.deadline,
            seed=self.seed,
            num_workers=self.num_workers,
        )
        if out.status == INFEASIBLE:
            core = None if not out.core else [self.number_of[v] for v in out.core]
            return False, core
        if out.status in (OPTIMAL, FEASIBLE):
            return True, None
        return None, None

    def least(self, rule: _Rule, others: Sequence[int]) -> tuple[int, int] | None:
        """Least slack ``(below lo, above hi)`` of ``rule`` with ``others`` in force.

        None when infeasible even with ``rule`` dropped, or out of time.
        """
        problem = self.problem
        self.tests += 1
        impossible = any(g.flow_kind == "impossible" for g in rule.groups)
        if rule.flow and not impossible and self.flow_only(others):
            costs = np.zeros(problem.p, dtype=np.int64)
            if rule.kind == "group":
                for g in rule.groups:
                    costs[g.edges] += 1 if g.flow_kind == "forbid" else -1
            else:
                sign = -1 if rule.kind.endswith("min") else 1
                costs[_rule_edges(problem, rule)] = sign
            _, chosen, _ = _flow_run(problem, _mask(problem, others), costs)
            if chosen is None:
                return None
            if rule.kind == "group":
                under = sum(
                    int(g.edges.size - chosen[g.edges].sum())
                    for g in rule.groups
                    if g.flow_kind == "require"
                )
                over = sum(
                    int(chosen[g.edges].sum()) for g in rule.groups if g.flow_kind == "forbid"
                )
                return under, over
            count = int(chosen[_rule_edges(problem, rule)].sum())
            lo, hi = _rule_bounds(problem, rule)
            return (max(0, lo - count), 0) if rule.kind.endswith("min") else (0, max(0, count - hi))
        self.remaining()
        if self.out_of_time:
            return None
        b = self.base.copy()
        unders: list[int] = []
        overs: list[int] = []
        if rule.kind == "group":
            spans = [(g.edges, g.lo, g.hi) for g in rule.groups]
        else:
            lo, hi = _rule_bounds(problem, rule)
            spans = [(_rule_edges(problem, rule), lo, hi)]
        for edges, lo, hi in spans:
            size = int(edges.size)
            if lo > 0:
                unders.append(b.int_var(0, lo))
                b.linear(np.append(edges, unders[-1]), lo, size + lo)
            if hi < size:
                overs.append(b.int_var(0, size - hi))
                coeffs = np.append(np.ones(size, dtype=np.int64), -1)
                b.linear(np.append(edges, overs[-1]), -(size - hi), hi, coeffs)
        b.minimize(np.array(unders + overs, dtype=np.int64))
        b.proto.assumptions.clear()
        b.proto.assumptions.extend([self.lit[q] for q in others])
        out = _run_cpsat(
            b.model, deadline=self.deadline, seed=self.seed, num_workers=self.num_workers
        )
        if out.status != OPTIMAL:
            return None
        return int(out.values[unders].sum()), int(out.values[overs].sum())


def _deletion_filter(oracle: _Oracle, conflict: list[int]) -> tuple[list[int], bool]:
    """A minimal infeasible subset of the infeasible ``conflict`` (see the module notes)."""
    necessary: list[int] = []
    unknown = list(conflict)
    chunk = max(1, len(unknown) // 2)
    while unknown:
        if oracle.out_of_time:
            return necessary + unknown, False
        chunk = min(chunk, len(unknown))
        head, tail = unknown[:chunk], unknown[chunk:]
        ok, core = oracle.feasible(necessary + tail)
        if ok is False:
            if core is not None:
                keep = set(core)
                tail = [q for q in tail if q in keep]
            unknown = tail
        elif chunk > 1:
            chunk //= 2
        else:
            if ok is None:
                return necessary + unknown, False
            necessary.append(head[0])
            unknown = tail
            chunk = max(1, len(unknown) // 2)
    return necessary, True


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _set_words(problem: _Problem, side: str, items: Sequence[int]) -> str:
    shown = [_who(problem, side, i) if (problem.row_names if side == "row" else
             problem.col_names) is not None else str(i) for i in items[:8]]  # fmt: skip
    more = ", …" if len(items) > 8 else ""
    plural = "rows" if side == "row" else "columns"
    return f"{plural} {{{', '.join(shown)}{more}}}"


def _hall_message(problem: _Problem, rules: Sequence[_Rule]) -> str | None:
    """Say "these columns need N partners but their possible rows offer M", when it is so."""
    kinds = {r.kind for r in rules}
    for need_kind, cap_kind, need_side, other_side in (
        ("right_min", "left_capacity", "column", "row"),
        ("left_min", "right_capacity", "row", "column"),
    ):
        if not kinds <= {need_kind, cap_kind} or need_kind not in kinds:
            continue
        needy = sorted(r.item for r in rules if r.kind == need_kind)
        capped = {r.item for r in rules if r.kind == cap_kind}
        mins = problem.rmin if need_side == "column" else problem.lmin
        caps = problem.lcap if need_side == "column" else problem.rcap
        mine = problem.cols if need_side == "column" else problem.rows
        theirs = problem.rows if need_side == "column" else problem.cols
        size = problem.n if need_side == "column" else problem.m
        need = int(mins[needy].sum())
        reach = np.bincount(theirs[np.isin(mine, needy)], minlength=size)
        capped_list = sorted(capped)
        offer_each = reach.copy()
        offer_each[capped_list] = np.minimum(caps[capped_list], reach[capped_list])
        if need <= int(offer_each.sum()):
            return None
        # Said with every capacity (a true statement, and usually the one people recognise;
        # the conflict itself needs only the capacities it names).
        offer = int(np.minimum(caps, reach).sum())
        partners = np.flatnonzero(reach).tolist()
        if not partners:
            return (
                f"{_set_words(problem, need_side, needy)} need {need} partners (their "
                f"minimums) but no {other_side} can pair with them."
            )
        return (
            f"{_set_words(problem, need_side, needy)} need {need} partners (their minimums) "
            f"but the {other_side}s they can pair with, "
            f"{_set_words(problem, other_side, partners).split(' ', 1)[1]}, offer at most "
            f"{offer} (their capacities, each pair at most once)."
        )
    return None


def _conflict_message(problem: _Problem, rules: Sequence[_Rule]) -> str:
    if len(rules) == 1:
        rule = rules[0]
        if rule.kind in ("left_min", "right_min"):
            lo, deg = _rule_bounds(problem, rule)
            other = "column" if rule.kind == "left_min" else "row"
            return (
                f"{rule.name} cannot hold: it needs {_plural(lo, 'partner')} but only "
                f"{_plural(deg, other)} can pair with it."
            )
        for g in rule.groups:
            if g.flow_kind == "impossible":
                return (
                    f"{rule.name} cannot hold: it needs at least {g.lo} of its pairs but only "
                    f"{g.edges.size} are allowed."
                )
        return f"{rule.name} cannot hold on its own."
    hall = _hall_message(problem, rules)
    if hall is not None:
        return hall
    return (
        f"These {len(rules)} rules cannot all hold together: "
        + "; ".join(r.name for r in rules)
        + "."
    )


def _relaxation(problem: _Problem, rule: _Rule, under: int, over: int, partial: bool) -> Relaxation:
    amount = under + over
    if rule.kind in ("left_min", "right_min"):
        lo, _ = _rule_bounds(problem, rule)
        new = lo - under
        side = "row" if rule.kind == "left_min" else "column"
        words = (
            f"drop {rule.name}"
            if new <= 0
            else f"lower the minimum of {_who(problem, side, rule.item)} from {lo} to {new}"
        )
        relax = Relaxation(rule.number, rule.name, amount, lo, new, None, None, words)
    elif rule.kind in ("left_capacity", "right_capacity"):
        _, hi = _rule_bounds(problem, rule)
        side = "row" if rule.kind == "left_capacity" else "column"
        who = _who(problem, side, rule.item)
        words = f"raise the capacity of {who} from {hi} to {hi + over}"
        relax = Relaxation(rule.number, rule.name, amount, 0, 0, hi, hi + over, words)
    elif len(rule.groups) == 1:
        g = rule.groups[0]
        size = int(g.edges.size)
        new_lo, new_hi = g.lo - under, g.hi + over
        if new_lo <= 0 and new_hi >= size:
            words = f"drop {rule.name}"
        else:
            steps = []
            if under:
                steps.append(f"lower the minimum of {rule.name} from {g.lo} to {new_lo}")
            if over:
                steps.append(f"raise the maximum of {rule.name} from {g.hi} to {new_hi}")
            words = " and ".join(steps) or f"keep {rule.name}"
        relax = Relaxation(rule.number, rule.name, amount, g.lo, new_lo, g.hi, new_hi, words)
    else:
        words = f"allow {_plural(amount, 'exception')} to {rule.name}"
        relax = Relaxation(rule.number, rule.name, amount, 0, 0, None, None, words)
    if partial:
        relax = Relaxation(
            relax.rule, relax.name, relax.amount, relax.lo, relax.new_lo, relax.hi,
            relax.new_hi, relax.words + " (resolves this conflict; another remains)", True,
        )  # fmt: skip
    return relax


def _diagnose(
    problem: _Problem,
    *,
    deadline: float | None,
    seed: int,
    num_workers: int,
    reporter: _Reporter,
    start: list[int] | None = None,
) -> Diagnosis:
    """A minimal conflict and its cheapest relaxations (see the module notes)."""
    oracle = _Oracle(problem, deadline, seed, num_workers, reporter)
    order = {r.number: k for k, r in enumerate(problem.rules)}
    everything = [r.number for r in problem.rules]
    conflict = everything if start is None else start
    if not oracle.flow_only(conflict):
        ok, core = oracle.feasible(conflict)
        if ok is False and core:
            conflict = sorted(core, key=order.__getitem__)
    minimal_set, minimal = _deletion_filter(oracle, conflict)
    minimal_set.sort(key=order.__getitem__)
    rules = [oracle.by_number[q] for q in minimal_set]
    relaxations: list[Relaxation] = []
    for rule in rules:
        if oracle.out_of_time:
            break
        others = [q for q in everything if q != rule.number]
        found = oracle.least(rule, others)
        partial = False
        if found is None and not oracle.out_of_time:
            found = oracle.least(rule, [q for q in minimal_set if q != rule.number])
            partial = True
        if found is not None:
            relaxations.append(_relaxation(problem, rule, found[0], found[1], partial))
    relaxations.sort(key=lambda r: (r.partial, r.amount))
    message = _conflict_message(problem, rules)
    if not minimal:
        message += " (A time limit stopped the search for a smaller set.)"
    if relaxations:
        message += f" Cheapest fix: {relaxations[0].words}."
    return Diagnosis(
        conflict=tuple(minimal_set),
        names=tuple(r.name for r in rules),
        relaxations=tuple(r.words for r in relaxations),
        message=message,
        kinds=tuple(r.kind for r in rules),
        items=tuple(r.item for r in rules),
        steps=tuple(relaxations),
        minimal=minimal,
        tests=oracle.tests,
    )


# ---------------------------------------------------------------------------------------------
# Solve
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Values:
    score_total: float
    penalty: float
    min_fair: float | None

    @property
    def objective(self) -> float:
        return self.score_total - self.penalty


def _values(problem: _Problem, chosen: BoolArray) -> _Values:
    """Score total, penalties and smallest fair mean of a solution, in floats from the scores."""
    picked = problem.scores[chosen]
    total = math.fsum(picked.astype(np.float64).tolist())
    counts = _group_counts(problem.soft, chosen)
    penalty = math.fsum(
        float(g.penalty or 0.0) * (max(0, g.lo - k) + max(0, k - g.hi))
        for g, k in zip(problem.soft, counts.tolist(), strict=True)
    )
    min_fair = None
    if problem.fair is not None:
        min_fair = float(_fair_means(problem, problem.cols[chosen], picked).min())
    return _Values(total, penalty, min_fair)


def _fair_means(problem: _Problem, cols: IntArray, values: npt.NDArray[Any]) -> FloatArray:
    """Mean total per column of each fair group (groups in code order)."""
    assert problem.fair is not None
    fair = problem.fair
    totals = np.bincount(cols, weights=values.astype(np.float64), minlength=problem.m)
    counted = fair >= 0
    _, pos = np.unique(fair[counted], return_inverse=True)
    sums = np.bincount(pos, weights=totals[counted])
    sizes = np.bincount(pos)
    means: FloatArray = sums / sizes
    return means


def _fair_bound(problem: _Problem) -> float:
    """Each column's best possible total, averaged per group: a bound on the smallest mean."""
    kcol = np.minimum(problem.rcap, problem.deg_col)
    scores = problem.scores.astype(np.float64)
    order = np.lexsort((-scores, problem.cols))
    start = np.zeros(problem.m + 1, dtype=np.int64)
    np.cumsum(problem.deg_col, out=start[1:])
    c_sorted = problem.cols[order]
    rank = np.arange(order.size) - start[c_sorted]
    take = (rank < kcol[c_sorted]) & (scores[order] > 0)
    return float(_fair_means(problem, c_sorted[take], scores[order][take]).min())


def _result(
    problem: _Problem,
    status: Status,
    chosen: BoolArray | None,
    method: str,
    message: str,
    *,
    bound: float | None = None,
    diagnosis: Diagnosis | None = None,
    scaling: Scaling | None = None,
) -> RulesSolution:
    full = np.zeros(problem.n_edges, dtype=bool)
    resolution = None if scaling is None else scaling.resolution
    merged = 0 if scaling is None else scaling.merged
    if chosen is None or status not in (OPTIMAL, FEASIBLE):
        return RulesSolution(
            status, full, math.nan, None, None, method, message, diagnosis, None,
            resolution=resolution, merged=merged,
        )  # fmt: skip
    full[problem.cand[chosen]] = True
    values = _values(problem, chosen)
    primary = values.min_fair if values.min_fair is not None else values.objective
    if status == OPTIMAL or bound is None:
        bound = primary if status == OPTIMAL else None
    else:
        bound = max(bound, primary)
    return RulesSolution(
        status, full, values.objective, bound, relative_gap(primary, bound), method, message,
        None, values.min_fair, values.score_total, values.penalty, resolution, merged,
    )  # fmt: skip


@dataclass(eq=False)
class _Lagrange:
    best: BoolArray | None  # the best solution found that satisfies every hard rule
    bound: float  # proven upper bound on the total
    optimal: bool
    scaling: Scaling
    words: str
    ones: IntArray  # edges every solution at least as good as ``best`` chooses ...
    zeros: IntArray  # ... and leaves out (reduced-cost fixing)


def _lagrange(
    problem: _Problem,
    active: BoolArray,
    group: _Group,
    start: BoolArray,
    deadline: float | None,
    total_resolution: float | None,
) -> _Lagrange | None:
    """One general group by Lagrangian relaxation: max-sum flows with a bonus on its edges.

    For the violated side of ``lo <= count <= hi`` (say ``count >= lo``) and a multiplier
    ``lam >= 0``, every solution has ``total <= D(lam) = max(total + lam * (count - lo))``,
    a max-sum flow over the flow-compatible rules with ``lam`` added to the group's scores.
    The count of that flow grows with ``lam``; integer multipliers are bracketed (doubling,
    then Newton steps on the piecewise-linear ``D``, then halving) until the smallest ``lam``
    whose flow meets the group. A flow that meets it exactly (``count == lo``) is optimal
    (complementary slackness); otherwise the best flow meeting the group is a solution and
    ``min D`` a bound for CP-SAT. Integer arithmetic throughout (scores on the flow's grid,
    shrunk by ``2 (n + m)`` to leave room for the bonus). Returns None when no multiplier
    within that room makes the flow meet the group.

    Reduced-cost fixing then shrinks CP-SAT's model: with exact dual prices ``u, v`` of the
    flow at the final multiplier (:func:`pbmatch.solvers.duals.compute_duals`), every
    solution ``x'`` has ``total(x') <= D - sum |g_e - u_i - v_j|`` over the edges where it
    differs from that flow (LP duality). An edge whose ``|g_e - u_i - v_j|`` exceeds the gap
    ``D - total(best)`` (plus the rounding of both integer grids) is therefore the same in
    every solution at least as good as ``best``, the optimum included, and is fixed.
    """
    count = int(start[group.edges].sum())
    if count < group.lo:
        sign, target = 1, group.lo
    elif count > group.hi:
        sign, target = -1, -group.hi
    else:  # pragma: no cover - the caller only calls for a violated group
        return None
    room = max_safe_cost(problem.n + problem.m + 5)
    scores_int, scaling = scale_scores(
        problem.scores, max_cost=room // (2 * (problem.n + problem.m + 1))
    )
    bonus = np.zeros(problem.p, dtype=np.int64)
    bonus[group.edges] = sign
    top = int(np.abs(scores_int).max(initial=1))
    lam_max = room - top
    flows = 0

    def run(lam: int) -> tuple[int, int, BoolArray] | None:
        nonlocal flows
        flows += 1
        _, x, _ = _flow_run(problem, active, -(scores_int + lam * bonus))
        if x is None:
            return None
        return int(scores_int[x].sum()), int(bonus[x].sum()), x

    def late() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    low = (0, int(scores_int[start].sum()), sign * count, start)  # (lam, value, q, x)
    high = None
    lam = max(top, 1)
    while lam <= lam_max and not late():
        found = run(lam)
        if found is None:
            return None
        if found[1] >= target:
            high = (lam, *found)
            break
        low = (lam, *found)
        lam *= 2
    if high is None:
        return None
    # D at each multiplier solved here (the starting flow used another grid: not a bound).
    points = [point for point in (low, high) if point[0] > 0]
    while high[0] - low[0] > 1 and high[2] != target and not late():
        # Newton: where the two solutions' lines cross; halve when that does not shrink much.
        cross = (low[1] - high[1]) // max(high[2] - low[2], 1) + 1
        middle = (low[0] + high[0]) // 2
        lam = cross if low[0] < cross < high[0] else middle
        found = run(lam)
        if found is None:
            return None
        points.append((lam, *found))
        if found[1] >= target:
            high = (lam, *found)
        else:
            low = (lam, *found)
    _, value, q, x = high
    dual, lam, x_dual = min((v + lam_ * (q_ - target), lam_, x_) for lam_, v, q_, x_ in points)
    unit = 1.0 if scaling.resolution is None else float(scaling.resolution)
    margin = 0.0 if scaling.resolution is None else unit * problem.p
    best = x if _satisfies_hard(problem, x) else None
    optimal = best is not None and q == target
    words = (
        f"Lagrangian relaxation of {group.name}: {flows} flows, multiplier "
        f"{high[0] * unit:.6g} per pair"
    )
    ones = zeros = np.zeros(0, dtype=np.int64)
    net = _network(problem, active)
    if best is not None and not optimal and not isinstance(net, str) and net.free.size:
        from pbmatch.solvers.duals import compute_duals

        # Prices of the flow at the multiplier with the least D, fixing edges to that flow.
        free = net.free
        gains = scores_int[free] + lam * bonus[free]
        rows, cols = problem.rows[free], problem.cols[free]
        on = x_dual[free]
        prices = compute_duals(rows, cols, gains, on, net.lcap, net.rcap, net.lmin, net.rmin)
        if prices is not None:
            reduced = np.abs(gains - prices.u[rows] - prices.v[cols])
            # Each score is off by at most half a step on each grid (0 when exact).
            off = (0.0 if scaling.resolution is None else unit / 2) + (
                0.0 if total_resolution is None else total_resolution / 2
            )
            rounding = math.ceil(problem.p * off / unit) + 1
            lock = reduced > dual - value + rounding  # D(lam) - total(best), and the rounding
            ones = free[lock & on]
            zeros = free[lock & ~on]
            words += f"; {ones.size + zeros.size} of {free.size} edges fixed by reduced costs"
    return _Lagrange(best, dual * unit + margin, optimal, scaling, words, ones, zeros)


@dataclass(eq=False)
class _FairRounds:
    best: BoolArray | None  # the best solution found that satisfies every hard rule
    last: BoolArray  # the last flow solution (a hint when none satisfies every rule)
    bound: float  # proven upper bound on the smallest fair mean
    rounds: int


MW_STEP = 0.2
"""Multiplicative-weights step of :func:`_fair_rounds` (per standard deviation of the means)."""


def _fair_rounds(
    problem: _Problem,
    active: BoolArray,
    start: BoolArray,
    *,
    max_rounds: int,
    until: float | None,
) -> _FairRounds:
    """Max-min by multiplicative weights over max-sum flows: solutions and a proven bound.

    For weights ``mu >= 0`` on the fair groups summing to 1, every solution has
    ``min_g mean_g <= sum_g mu_g mean_g``, a weighted total score that a max-sum flow over the
    flow-compatible rules (a relaxation) maximises; its optimum is a bound (plus the flow's
    rounding allowance). Each round lowers the weights of the groups that did well in the
    last round (``mu_g *= exp(-MW_STEP * z_g)``, ``z`` the standardised means), which drives
    the bound towards the LP bound and yields fair solutions on the way (the best, by
    smallest mean and then total, is kept). Rounds stop after ``max_rounds``, at ``until``
    (a ``perf_counter`` time), or when the best solution meets the bound.
    """
    assert problem.fair is not None
    fair = problem.fair
    scores = problem.scores.astype(np.float64)
    counted = fair >= 0
    codes, pos = np.unique(fair[counted], return_inverse=True)
    group_of = np.full(problem.m, -1, dtype=np.int64)
    group_of[np.flatnonzero(counted)] = pos
    sizes = np.bincount(pos).astype(np.float64)
    edge_group = group_of[problem.cols]
    in_group = edge_group >= 0
    mu = np.full(codes.size, 1.0 / codes.size)
    best: BoolArray | None = None
    best_key = (-math.inf, -math.inf)
    bound = math.inf
    current = start
    rounds = 0
    most_pairs = min(problem.p, int(np.minimum(problem.lcap, problem.deg_row).sum()))
    while rounds < max_rounds and (until is None or time.perf_counter() < until):
        weight = np.where(in_group, mu[np.maximum(edge_group, 0)] / sizes[edge_group], 0.0)
        weighted = scores * weight
        costs, scaling = scale_scores(
            weighted, max_cost=max_safe_cost(problem.n + problem.m + 5), negate=True
        )
        _, found, _ = _flow_run(problem, active, costs)
        rounds += 1
        if found is None:
            break
        current = found
        allowance = 0.0 if scaling.resolution is None else scaling.resolution * most_pairs
        bound = min(bound, math.fsum(weighted[found].tolist()) + allowance)
        means = _fair_means(problem, problem.cols[found], scores[found])
        if _satisfies_hard(problem, found):
            key = (float(means.min()), _values(problem, found).objective)
            if key > best_key:
                best, best_key = found, key
        if best_key[0] >= bound - 1e-12 * max(1.0, abs(bound)):
            break
        spread = float(means.std())
        if spread <= 0:
            break
        mu *= np.exp(-MW_STEP * (means - means.mean()) / spread)
        mu /= mu.sum()
    return _FairRounds(best, current, bound, rounds)


def solve_rules(
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    n_rows: int,
    n_cols: int,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    left_min: int | npt.ArrayLike = 0,
    right_min: int | npt.ArrayLike = 0,
    groups: Sequence[EdgeGroup] = (),
    objective: str = "sum",
    fair_groups: npt.ArrayLike | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    progress: Callable[[SolveProgress], None] | bool | None = None,
    method: str = "auto",
    num_workers: int = 1,
    row_names: Sequence[str] | None = None,
    col_names: Sequence[str] | None = None,
) -> RulesSolution:
    """Choose edges of the most value under capacities, minimums and group rules.

    Parameters
    ----------
    rows, cols : array_like of int, shape (n_edges,)
        The candidate edges, each (row, column) pair at most once.
    scores : array_like of float or int, shape (n_edges,)
        Finite; higher is better.
    n_rows, n_cols : int
    left_capacity, right_capacity, left_min, right_min : int or array_like of int
        Most and fewest chosen edges per row / column, ``0 <= min <= capacity``.
    groups : sequence of EdgeGroup
        Hard or soft "between ``lo`` and ``hi`` of these edges" rules.
    objective : {"sum", "maxmin"}, default "sum"
        ``"sum"``: the total score minus soft penalties. ``"maxmin"``: first the smallest
        fair group's mean total score per column, then the total minus penalties.
    fair_groups : array_like of int, shape (n_cols,), optional
        For ``"maxmin"``: a group code per column, -1 for a column not counted. Default: each
        column its own group (the smallest total any column receives). A column that can
        receive nothing makes the smallest total 0; give it -1 to leave it out.
    time_limit : float, optional
        Seconds for the whole call (see the module notes).
    seed : int, default 0
        CP-SAT's ``random_seed``.
    progress : callable or bool, optional
        Called with a :class:`SolveProgress` at each new solution or bound of a run that has
        lasted over :data:`PROGRESS_AFTER` seconds, and at each feasibility test of a long
        diagnosis; ``True`` prints one updating line on stderr.
    method : {"auto", "flow", "cpsat"}, default "auto"
        ``"flow"`` raises when the rules need CP-SAT; ``"cpsat"`` always uses CP-SAT.
    num_workers : int, default 1
        CP-SAT search workers; 1 gives the same answer on every run.
    row_names, col_names : sequence of str, optional
        Names for the diagnosis (default ``"row 3"``, ``"column 7"``).

    Returns
    -------
    RulesSolution

    Raises
    ------
    InputError
        Arrays of different lengths, an edge out of range or listed twice, non-finite
        scores, a bad capacity, minimum, group, objective, ``fair_groups``, ``time_limit``,
        ``method`` or ``num_workers``.

    Notes
    -----
    See the module notes for the model, the method choice, the diagnosis and its complexity.
    The flow is polynomial (``O(V^2 E log(V C))`` worst case); CP-SAT is exponential in the
    worst case and stops at ``time_limit``.

    Examples
    --------
    >>> import numpy as np
    >>> rows, cols = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    >>> scores = np.array([7.0, 4.0, 3.0, 1.0])
    >>> out = solve_rules(rows, cols, scores, n_rows=2, n_cols=2)
    >>> out.chosen.tolist(), out.objective, out.method
    ([True, False, False, True], 8.0, 'flow')

    Forbid edge 3, pair (1, 1), and the flow picks the other diagonal:

    >>> out = solve_rules(rows, cols, scores, n_rows=2, n_cols=2,
    ...                   groups=[EdgeGroup(np.array([3]), hi=0, name="forbid (1, 1)")])
    >>> out.chosen.tolist(), out.objective
    ([False, True, True, False], 7.0)

    Max-min fairness: the smallest column total first (CP-SAT), then the total:

    >>> out = solve_rules(rows, cols, scores, n_rows=2, n_cols=2, objective="maxmin")
    >>> out.min_fair, out.objective, out.method, out.status
    (3.0, 7.0, 'cpsat', 'optimal')

    Rules that cannot all hold come back with a minimal conflict:

    >>> out = solve_rules(rows, cols, scores, n_rows=2, n_cols=2, right_min=2,
    ...                   right_capacity=2, left_capacity=[1, 2])
    >>> out.status, out.diagnosis.names
    ('infeasible', ('column 0 min 2', 'column 1 min 2', 'row 0 capacity 1'))
    >>> print(out.diagnosis.message)  # doctest: +NORMALIZE_WHITESPACE
    columns {0, 1} need 4 partners (their minimums) but the rows they can pair with, {0, 1},
    offer at most 3 (their capacities, each pair at most once). Cheapest fix: lower the
    minimum of column 0 from 2 to 1.
    """
    started = time.perf_counter()
    if time_limit is not None and not (
        isinstance(time_limit, numbers.Real)
        and not isinstance(time_limit, bool)
        and math.isfinite(float(time_limit))
        and float(time_limit) > 0
    ):
        raise InputError(f"time_limit is {time_limit!r}; it must be a number of seconds > 0")
    seed = _int_iv(seed, "seed")
    num_workers = _int_iv(num_workers, "num_workers", low=1)
    if method not in ("auto", "flow", "cpsat"):
        raise InputError(f"method is {method!r}; use 'auto', 'flow' or 'cpsat'")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise InputError(f"progress is {progress!r}; pass a callable, True, False or None")
    problem = _validate(
        rows, cols, scores, n_rows, n_cols, left_capacity, right_capacity, left_min,
        right_min, groups, objective, fair_groups, row_names, col_names,
    )  # fmt: skip
    deadline = None if time_limit is None else started + float(time_limit)
    reporter = _Reporter(progress, started)
    try:
        out = _solve(problem, method, deadline, time_limit, seed, num_workers, reporter)
    finally:
        reporter.close()
    return RulesSolution(
        out.status, out.chosen, out.objective, out.bound, out.gap, out.method, out.message,
        out.diagnosis, out.min_fair, out.score_total, out.penalty, out.resolution, out.merged,
        time.perf_counter() - started,
    )  # fmt: skip


def _solve(
    problem: _Problem,
    method: str,
    deadline: float | None,
    time_limit: float | None,
    seed: int,
    num_workers: int,
    reporter: _Reporter,
) -> RulesSolution:
    flow_ok = (
        problem.objective == "sum"
        and not problem.soft
        and all(r.flow for r in problem.rules if r.kind == "group")
    )
    if method == "flow" and not flow_ok:
        raise InputError(
            "method='flow' cannot take these rules (objective 'maxmin', soft groups, or groups "
            "that neither forbid nor require all their edges); use 'auto' or 'cpsat'"
        )

    def diagnose(start: list[int] | None) -> Diagnosis:
        budget = None
        if time_limit is not None:
            left = deadline - time.perf_counter() if deadline is not None else 0.0
            budget = time.perf_counter() + max(left, min(float(time_limit), DIAGNOSIS_MIN_TIME))
        return _diagnose(
            problem, deadline=budget, seed=seed, num_workers=num_workers, reporter=reporter,
            start=start,
        )  # fmt: skip

    # 1. The max-sum flow over the flow-compatible rules: the answer, a hint or a proof.
    chosen: BoolArray | None = None
    fallback: BoolArray | None = None
    relaxed_bound: float | None = None
    locked: tuple[IntArray, IntArray] | None = None  # edges fixed by reduced costs: 1, 0
    if method != "cpsat":
        flow_active = _mask(problem, (r.number for r in problem.rules if r.flow))
        flow_costs, flow_scaling = scale_scores(
            problem.scores, max_cost=max_safe_cost(problem.n + problem.m + 5), negate=True
        )
        status, chosen, flow_words = _flow_run(problem, flow_active, flow_costs)
        if status == INFEASIBLE:
            found = diagnose([r.number for r in problem.rules if r.flow])
            out = _result(problem, INFEASIBLE, None, "flow", f"{flow_words}; {found.message}")
            return _with_diagnosis(out, found)
        if status not in (OPTIMAL, FEASIBLE) or chosen is None:
            return _result(problem, status, None, "flow", flow_words)
        fallback = chosen if _satisfies_hard(problem, chosen) else None
        if flow_ok or (fallback is not None and problem.objective == "sum" and not problem.soft):
            if not flow_ok:
                flow_words += "; the flow's answer satisfies every rule"
            return _result(problem, OPTIMAL, chosen, "flow", flow_words, scaling=flow_scaling)
        if problem.objective == "sum":
            relaxed_bound = _values(problem, chosen).score_total
            if flow_scaling.resolution is not None:
                relaxed_bound += flow_scaling.resolution * problem.p
            general = [g for g in problem.hard if g.flow_kind == "general"]
            if len(general) == 1 and not problem.soft:
                resolution = _total_scale(problem).scaling.resolution
                lag = _lagrange(problem, flow_active, general[0], chosen, deadline, resolution)
                if lag is not None:
                    words = f"{lag.words}; {flow_words}"
                    if lag.optimal:
                        return _result(problem, OPTIMAL, lag.best, "flow", words,
                                       scaling=lag.scaling)  # fmt: skip
                    relaxed_bound = min(relaxed_bound, lag.bound)
                    if lag.best is not None:
                        fallback = chosen = lag.best
                        locked = (lag.ones, lag.zeros)
        else:
            until = None
            if deadline is not None:
                until = time.perf_counter() + FAIR_SHARE * (deadline - time.perf_counter())
            most = FAIR_ROUNDS if deadline is not None else FAIR_ROUNDS // 4
            rounds = _fair_rounds(problem, flow_active, chosen, max_rounds=most, until=until)
            relaxed_bound = rounds.bound
            if rounds.best is not None and (
                fallback is None or _fair_key(problem, rounds.best) >= _fair_key(problem, fallback)
            ):
                fallback = rounds.best
            chosen = fallback if fallback is not None else rounds.last
    if problem.objective == "maxmin":
        trivial = _fair_bound(problem)
        relaxed_bound = trivial if relaxed_bound is None else min(relaxed_bound, trivial)

    # 2. CP-SAT, from the flow's answer.
    from ortools.sat.python import cp_model  # noqa: F401  (imported here: it is timed)

    def solve(
        model: _Model, until: float | None, convert: Callable[[float], float], phase: str
    ) -> _CpOut:
        callback, bound_callback = _cp_callbacks(model, convert, phase, reporter)
        return _run_cpsat(
            model.builder.model, deadline=until, seed=seed, num_workers=num_workers,
            callback=callback, bound_callback=bound_callback,
            presolve=until is None or problem.p <= PRESOLVE_MAX_EDGES,
        )  # fmt: skip

    total = _total_scale(problem)
    coarsest = total.scaling
    if problem.fair is None:
        model = _cp_model(problem, total, None)
        if chosen is not None:
            _add_hint(problem, model, None, chosen)
        if locked is not None:
            for edges, value in zip(locked, (1, 0), strict=True):
                if edges.size:
                    model.builder.linear(edges, value * edges.size, value * edges.size)
        cp = solve(model, deadline, lambda v: v * total.unit, "cpsat")
        words = f"CP-SAT status {cp.name} ({cp.wall_time:.3f} s)"
        if cp.status == INFEASIBLE:
            found = diagnose(None)
            out = _result(problem, INFEASIBLE, None, "cpsat", f"{words}; {found.message}")
            return _with_diagnosis(out, found)
        if cp.status in (OPTIMAL, FEASIBLE):
            best = cp.values[: problem.p] > 0
            if fallback is not None and _total_value(problem, total, fallback) > _total_value(
                problem, total, best
            ):
                best = fallback
            bound = cp.bound * total.unit + total.margin if cp.bound is not None else None
            if relaxed_bound is not None:
                bound = relaxed_bound if bound is None else min(bound, relaxed_bound)
            return _result(problem, cp.status, best, "cpsat", words, bound=bound, scaling=coarsest)
        if cp.status == NOT_SOLVED and fallback is not None:
            words += "; the flow's answer is returned"
            return _result(
                problem, FEASIBLE, fallback, "cpsat", words, bound=relaxed_bound, scaling=coarsest
            )
        return _result(problem, cp.status, None, "cpsat", words, scaling=coarsest)

    # Max-min: the smallest fair mean first (phase A), then the total at that fairness (B).
    fair = _fair_scale(problem)
    coarsest = max((total.scaling, fair.scaling), key=lambda sc: sc.resolution or 0.0)
    t_best = None if fallback is None else _t_value(problem, fair, fallback)
    proven = (
        fallback is not None
        and relaxed_bound is not None
        and (_values(problem, fallback).min_fair or 0.0)
        >= relaxed_bound - 1e-12 * max(1.0, abs(relaxed_bound))
    )
    words = "the flow rounds prove the smallest mean" if proven else ""
    bound = relaxed_bound
    level_a = OPTIMAL if proven else FEASIBLE
    start = fallback if fallback is not None else chosen
    if not proven:
        until = deadline  # without a solution to fall back on, phase A may take all the time
        if deadline is not None and fallback is not None:
            until = time.perf_counter() + PHASE_A_SHARE * (deadline - time.perf_counter())
        model = _cp_model(problem, None, fair, t_best)
        if chosen is not None:
            _add_hint(problem, model, fair, chosen)
        cp = solve(model, until, fair.value, "fairness")
        words = f"CP-SAT (smallest mean) status {cp.name} ({cp.wall_time:.3f} s)"
        if cp.status == INFEASIBLE:
            if t_best is None:
                found = diagnose(None)
                out = _result(problem, INFEASIBLE, None, "cpsat", f"{words}; {found.message}")
                return _with_diagnosis(out, found)
            level_a = OPTIMAL  # no solution fairer than the flow's: it is the optimum
        elif cp.status in (OPTIMAL, FEASIBLE):
            start = cp.values[: problem.p] > 0
            t_best = cp.objective
            level_a = cp.status
            if cp.bound is not None:
                cp_bound = fair.value(cp.bound) + fair.margin
                bound = cp_bound if bound is None else min(bound, cp_bound)
        elif t_best is None:
            return _result(problem, cp.status, None, "cpsat", words, scaling=coarsest)
    assert start is not None and t_best is not None
    model = _cp_model(problem, total, fair, t_best)
    _add_hint(problem, model, fair, start)
    cp = solve(model, deadline, lambda v: v * total.unit, "total")
    words += f"; CP-SAT (total at that mean) status {cp.name} ({cp.wall_time:.3f} s)"
    best = start
    level_b = FEASIBLE
    if cp.status in (OPTIMAL, FEASIBLE):
        found_b = cp.values[: problem.p] > 0
        if _total_value(problem, total, found_b) >= _total_value(problem, total, start):
            best = found_b
        level_b = cp.status
    final: Status = OPTIMAL if level_a == OPTIMAL and level_b == OPTIMAL else FEASIBLE
    return _result(problem, final, best, "cpsat", words.lstrip("; "), bound=bound, scaling=coarsest)


def _fair_key(problem: _Problem, chosen: BoolArray) -> tuple[float, float]:
    values = _values(problem, chosen)
    return (values.min_fair if values.min_fair is not None else -math.inf, values.objective)


def _with_diagnosis(out: RulesSolution, diagnosis: Diagnosis) -> RulesSolution:
    return RulesSolution(
        out.status, out.chosen, out.objective, out.bound, out.gap, out.method, out.message,
        diagnosis, out.min_fair, out.score_total, out.penalty, out.resolution, out.merged,
    )  # fmt: skip


def _cp_callbacks(
    model: _Model, convert: Callable[[float], float], phase: str, reporter: _Reporter
) -> tuple[Callable[[Any, Any], None] | None, Callable[[float], None] | None]:
    """CP-SAT callbacks that forward progress in score units, or (None, None)."""
    if not reporter.enabled:
        return None, None
    state: dict[str, float | None] = {"objective": None, "bound": None}
    count = [0]

    def on_solution(handler: Any, cp: Any) -> None:
        count[0] += 1
        state["objective"] = convert(handler.objective_value)
        state["bound"] = convert(handler.best_objective_bound)
        reporter(phase, state["objective"], state["bound"], count[0])

    def on_bound(value: float) -> None:
        state["bound"] = convert(value)
        reporter(phase, state["objective"], state["bound"], count[0])

    return on_solution, on_bound
