"""Independent checks of solver output: feasibility and objective, recomputed from the input.

Each ``verify_*`` function takes a result and the input it was solved from, recomputes every
rule with plain numpy (sharing no code with the solvers), and returns the list of violations
(empty when the result is consistent). Each ``check_*`` function raises ``AssertionError`` with
that list instead. Optimality is not checked here: the tests compare with independent solvers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import WITH_SOLUTION
from pbmatch.results import MatchResult, PairingResult

__all__ = ["check_match", "verify_match", "verify_pairing"]

_STATUSES = frozenset({"optimal", "feasible", "infeasible", "not_solved", "error"})


def _per_unit(value: Any, size: int) -> npt.NDArray[np.int64]:
    array = np.asarray(value).astype(np.int64)
    return np.full(size, array, dtype=np.int64) if array.ndim == 0 else array


def _given_scores(
    scores: Any, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]
) -> tuple[tuple[int, int], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Shape, the given score of each (row, col) and whether the pair is allowed."""
    if hasattr(scores, "tocsr") and hasattr(scores, "nnz"):  # scipy.sparse, without importing it
        csr = scores.tocsr(copy=True)
        csr.sum_duplicates()  # sorted indices, duplicates summed as scipy does; zeros stay
        shape = (int(csr.shape[0]), int(csr.shape[1]))
        counts = np.diff(np.asarray(csr.indptr))
        keys = np.repeat(np.arange(shape[0], dtype=np.int64), counts) * shape[1]
        keys += np.asarray(csr.indices, dtype=np.int64)
        data = np.asarray(csr.data, dtype=np.float64)
        wanted = rows.astype(np.int64) * shape[1] + cols.astype(np.int64)
        if keys.size == 0:
            return shape, np.full(rows.shape, -np.inf), np.zeros(rows.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        found = keys[pos] == wanted
        values = np.where(found, data[pos], -np.inf)
        return shape, values, found & np.isfinite(values)
    dense = np.asarray(scores, dtype=np.float64)
    shape = (int(dense.shape[0]), int(dense.shape[1]))
    values = dense[rows, cols]
    return shape, values, np.isfinite(values)


def verify_match(
    result: MatchResult,
    scores: Any,
    *,
    left_capacity: Any = 1,
    right_capacity: Any = 1,
    left_min: Any = 0,
    right_min: Any = 0,
    forbid: Any = None,
    require: Any = None,
    previous: Any = None,
    max_changes: int | None = None,
    objective: str = "sum",
) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.match` result from its input.

    Checks: the arrays are 1-D and of one length; pairs are in range, sorted by row then column
    and unique; every pair is allowed (a finite dense score or a stored sparse entry); the
    reported scores are the given ones; no row or column exceeds its capacity; with a solution,
    every minimum is met, no ``forbid`` pair is chosen, every ``require`` pair is, at most
    ``max_changes`` of the ``previous`` pairs are dropped, and a pair of score <= 0 sits only
    at a row or column with a minimum or is required or previous; ``objective`` is the sum of
    the chosen scores; with ``objective="maxmin"``, ``min_fair`` is the smallest total of a
    column that can receive a pair (capacity > 0 and an allowed pair); without a solution, no
    pairs are reported. ``bound``, when given, is not below the objective's value.

    Parameters
    ----------
    result : MatchResult
        What :func:`pbmatch.match` returned.
    scores, left_capacity, right_capacity, left_min, right_min, forbid, require, previous, \
max_changes, objective
        What it was called with.

    Returns
    -------
    list of str
        The violations, empty when the result is consistent.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.array([[1.0, 2.0], [3.0, -np.inf]])
    >>> verify_match(match(scores), scores)
    []
    >>> verify_match(match(scores), scores, right_capacity=0)
    ['column 0 has 1 pairs, above its capacity 0', 'column 1 has 1 pairs, above its capacity 0']
    """
    problems: list[str] = []
    rows = np.asarray(result.rows)
    cols = np.asarray(result.cols)
    chosen = np.asarray(result.scores, dtype=np.float64)
    if result.status not in _STATUSES:
        problems.append(f"unknown status {result.status!r}")
    if rows.ndim != 1 or cols.ndim != 1 or chosen.ndim != 1:
        return [*problems, "rows, cols and scores must be 1-D arrays"]
    if not (rows.size == cols.size == chosen.size):
        sizes = f"{rows.size}, {cols.size}, {chosen.size}"
        return [*problems, f"rows, cols and scores have different lengths {sizes}"]
    if rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu"):
        return [*problems, f"rows and cols must be integer arrays, got {rows.dtype}, {cols.dtype}"]
    rows, cols = rows.astype(np.intp), cols.astype(np.intp)

    if result.status not in WITH_SOLUTION:
        if rows.size:
            problems.append(f"status {result.status!r} but {rows.size} pairs reported")
        return problems

    shape = tuple(np.shape(scores)) if not hasattr(scores, "nnz") else tuple(scores.shape)
    n, m = int(shape[0]), int(shape[1])
    out = (rows < 0) | (rows >= n) | (cols < 0) | (cols >= m)
    if out.any():
        k = int(np.argmax(out))
        return [*problems, f"pair ({rows[k]}, {cols[k]}) is outside the {n} x {m} score matrix"]

    keys = rows.astype(np.int64) * m + cols.astype(np.int64)
    step = np.diff(keys)
    if (step < 0).any():
        k = int(np.argmax(step < 0))
        problems.append(f"pairs not sorted by row then column at position {k + 1}")
    sorted_keys = np.sort(keys)
    dup = sorted_keys[1:] == sorted_keys[:-1]
    if dup.any():
        key = int(sorted_keys[1:][dup][0])
        problems.append(f"pair ({key // m}, {key % m}) is chosen more than once")

    _, given, allowed = _given_scores(scores, rows, cols)
    for k in np.flatnonzero(~allowed)[:5]:
        problems.append(f"pair ({rows[k]}, {cols[k]}) is not allowed (score {given[k]})")
    wrong = allowed & (chosen != given)
    for k in np.flatnonzero(wrong)[:5]:
        problems.append(f"pair ({rows[k]}, {cols[k]}) reports score {chosen[k]}, given {given[k]}")

    lcap, rcap = _per_unit(left_capacity, n), _per_unit(right_capacity, m)
    lmin, rmin = _per_unit(left_min, n), _per_unit(right_min, m)
    row_count = np.bincount(rows, minlength=n)
    col_count = np.bincount(cols, minlength=m)
    for unit, count, cap, low in (
        ("row", row_count, lcap, lmin),
        ("column", col_count, rcap, rmin),
    ):
        for i in np.flatnonzero(count > cap)[:5]:
            problems.append(f"{unit} {i} has {count[i]} pairs, above its capacity {cap[i]}")
        for i in np.flatnonzero(count < low)[:5]:
            problems.append(f"{unit} {i} has {count[i]} pairs, below its minimum {low[i]}")

    chosen_keys = set((rows.astype(np.int64) * m + cols).tolist())

    def key_set(pairs: Any) -> set[int]:
        return {int(i) * m + int(j) for i, j in (pairs if pairs is not None else [])}

    for key in sorted(key_set(forbid) & chosen_keys)[:5]:
        problems.append(f"pair ({key // m}, {key % m}) is forbidden but chosen")
    for key in sorted(key_set(require) - chosen_keys)[:5]:
        problems.append(f"pair ({key // m}, {key % m}) is required but not chosen")
    before = key_set(previous)
    if previous is not None and max_changes is not None:
        dropped = len(before - chosen_keys)
        if dropped > max_changes:
            problems.append(
                f"{dropped} of the {len(before)} previous pairs are dropped, above "
                f"max_changes {max_changes}"
            )
    kept_on_purpose = np.isin(keys, np.array(sorted(key_set(require) | before), dtype=np.int64))
    needless = allowed & (given <= 0) & (lmin[rows] == 0) & (rmin[cols] == 0) & ~kept_on_purpose
    for k in np.flatnonzero(needless)[:5]:
        problems.append(
            f"pair ({rows[k]}, {cols[k]}) has score {given[k]} <= 0 and no minimum needs it"
        )

    expected = math.fsum(np.where(allowed, given, 0.0).tolist())
    scale = math.fsum(np.abs(np.where(allowed, given, 0.0)).tolist())
    if not math.isclose(result.objective, expected, rel_tol=1e-12, abs_tol=1e-12 * scale):
        problems.append(f"objective {result.objective!r} but the chosen scores sum to {expected!r}")
    if objective == "maxmin":
        totals = np.bincount(cols, weights=np.where(allowed, given, 0.0), minlength=m)
        can: npt.NDArray[np.bool_]
        if hasattr(scores, "nnz"):
            csc = scores.tocsc()
            can = np.diff(np.asarray(csc.indptr)) > 0
            if csc.nnz:
                data = np.asarray(csc.data, dtype=np.float64)
                owner = np.repeat(np.arange(m), np.diff(np.asarray(csc.indptr)))
                can = np.bincount(owner[np.isfinite(data)], minlength=m) > 0
        else:
            can = np.asarray(np.isfinite(np.asarray(scores, dtype=np.float64)).any(axis=0))
        counted = can & (rcap > 0)
        if counted.any():
            smallest = float(totals[counted].min())
            if result.min_fair is None or not math.isclose(
                result.min_fair, smallest, rel_tol=1e-12, abs_tol=1e-12 * max(scale, 1.0)
            ):
                problems.append(
                    f"min_fair {result.min_fair!r} but the smallest column total is {smallest!r}"
                )
    value = result.min_fair if objective == "maxmin" else result.objective
    if (
        result.bound is not None
        and value is not None
        and value > result.bound + 1e-9 * max(1.0, abs(result.bound))
    ):
        problems.append(f"bound {result.bound!r} is below the value reached {value!r}")
    return problems


def check_match(result: MatchResult, scores: Any, **rules: Any) -> None:
    """Like :func:`verify_match`, but raise ``AssertionError`` listing the violations.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.eye(3)
    >>> check_match(match(scores), scores)
    """
    problems = verify_match(result, scores, **rules)
    if problems:
        raise AssertionError("match result violates its rules:\n  " + "\n  ".join(problems))


def verify_pairing(result: PairingResult) -> list[str]:
    """Recompute a pairing's feasibility, scores and objective from its graph.

    Checks that every pair joins a provider and a receiver of the solved sides, no unit with
    itself, no pair twice, each unit within its partner limits, every pair within ``max_km``,
    each breakdown equal to a fresh recomputation and summing to the score, and the objective
    equal to the sum of scores. With rules (``pair(rules=...)``): no hard rule broken, each
    soft rule's reported violation and the total ``penalty`` as recounted from the pairs
    (:func:`pbmatch.rules.count_violations`, which counts on the chosen pairs, not on the
    solver's groups); at most ``max_changes`` previous pairs dropped; with
    ``objective="maxmin"``, ``min_fair`` equal to the worst-off group's recomputed mean.

    Returns
    -------
    list of str
        The violations found; empty when the result is sound.

    Examples
    --------
    >>> import pbmatch
    >>> verify_pairing(pbmatch.pair(pbmatch.synthetic_district(seed=0)))
    []
    """
    from pbmatch.scoring.pairscore import PairScorer
    from pbmatch.scoring.weights import COMPONENTS

    problems: list[str] = []
    g = result.graph
    if not result.success:
        return problems if len(result) == 0 else [f"status {result.status} but {len(result)} pairs"]
    side_p = {int(u): k for k, u in enumerate(result.providers)}
    side_r = {int(u): k for k, u in enumerate(result.receivers)}
    p_units = np.array([g.index(u) for u in result.provider_ids.tolist()], dtype=np.int64)
    r_units = np.array([g.index(u) for u in result.receiver_ids.tolist()], dtype=np.int64)
    outside = [u for u in p_units.tolist() if u not in side_p] + [
        u for u in r_units.tolist() if u not in side_r
    ]
    if outside:
        return [f"units {g.ids[outside].tolist()} are not on the side they were paired from"]
    rows = np.array([side_p[u] for u in p_units.tolist()], dtype=np.int64)
    cols = np.array([side_r[u] for u in r_units.tolist()], dtype=np.int64)
    if (p_units == r_units).any():
        problems.append(f"self pairs: {g.ids[p_units[p_units == r_units]].tolist()}")
    keys = rows * max(1, result.receivers.size) + cols
    if np.unique(keys).size != keys.size:
        problems.append("a pair is chosen twice")
    for label, side_units, counts, cap in (
        (
            "provider",
            result.providers,
            np.bincount(rows, minlength=result.providers.size),
            result.provider_max,
        ),
        (
            "receiver",
            result.receivers,
            np.bincount(cols, minlength=result.receivers.size),
            result.receiver_max,
        ),
    ):
        over = np.flatnonzero(counts > cap)
        under = np.flatnonzero(counts < g.min_partners[side_units])
        problems += [
            f"{label} {g.ids[side_units[i]]!r} has {counts[i]} partners > max {cap[i]}"
            for i in over
        ]
        mins = g.min_partners[side_units]
        problems += [
            f"{label} {g.ids[side_units[i]]!r} has {counts[i]} partners < min {mins[i]}"
            for i in under
        ]
    fresh = PairScorer(g, result.providers, result.receivers, result.weights, max_km=result.max_km)
    redo = fresh.breakdown(rows, cols)
    if result.max_km is not None:
        far = np.flatnonzero(redo["distance_km"] > result.max_km)
        problems += [
            f"pair {g.ids[p_units[i]]!r}-{g.ids[r_units[i]]!r} is "
            f"{redo['distance_km'][i]:.2f} km apart > max_km {result.max_km}"
            for i in far
        ]
    for name in (*COMPONENTS, "score"):
        if not np.allclose(result.breakdown[name], redo[name], rtol=1e-9, atol=1e-12):
            problems.append(f"breakdown {name!r} differs from a fresh recomputation")
    total = sum((result.breakdown[c] for c in COMPONENTS), np.zeros(len(result)))
    if not np.allclose(total, result.breakdown["score"], rtol=1e-12, atol=1e-12):
        problems.append("breakdown components do not sum to the score")
    if not np.isclose(
        result.objective, float(result.breakdown["score"].sum()), rtol=1e-9, atol=1e-9
    ):
        problems.append(
            f"objective {result.objective} != sum of scores {result.breakdown['score'].sum()}"
        )
    return problems + _pairing_rule_problems(result, rows, cols)


def _pairing_rule_problems(result: PairingResult, rows: Any, cols: Any) -> list[str]:
    """Rules, previous pairs and max-min fairness of a pairing, recounted from its pairs."""
    from pbmatch.fairness import fair_codes
    from pbmatch.rules import count_violations

    g = result.graph
    problems: list[str] = []
    reported = {v.rule: v for v in result.violations}
    counted = count_violations(g, result.providers, result.receivers, rows, cols, result.rules)
    penalty = 0.0
    for rule, (amount, _) in zip(result.rules, counted, strict=True):
        if rule.hard and amount:
            problems.append(f"hard rule {rule.label} is broken by {amount} {rule.violation_unit}s")
        elif not rule.hard:
            penalty += float(rule.penalty) * amount
            got = reported.get(rule.label)
            if (got.amount if got is not None else 0) != amount:
                problems.append(
                    f"soft rule {rule.label}: reported violation "
                    f"{got.amount if got is not None else 0} != recounted {amount}"
                )
    if not np.isclose(result.penalty, penalty, rtol=1e-9, atol=1e-9):
        problems.append(f"penalty {result.penalty} != recounted {penalty}")
    if result.previous is not None and result.max_changes is not None:
        m = max(1, result.receivers.size)
        before = result.previous[:, 0] * m + result.previous[:, 1]
        dropped = int((~np.isin(before, np.asarray(rows) * m + np.asarray(cols))).sum())
        if dropped > result.max_changes:
            problems.append(f"{dropped} previous pairs dropped > max_changes {result.max_changes}")
    if result.objective_kind == "maxmin" and result.min_fair is not None:
        codes, names = fair_codes(g, result.receivers, result.fair_by or "receiver")
        totals = np.bincount(cols, weights=result.breakdown["score"], minlength=codes.size)
        inside = codes >= 0
        sums = np.bincount(codes[inside], weights=totals[inside], minlength=len(names))
        sizes = np.bincount(codes[inside], minlength=len(names))
        worst = float((sums[sizes > 0] / sizes[sizes > 0]).min())
        if not np.isclose(worst, result.min_fair, rtol=1e-6, atol=1e-6):
            problems.append(f"min_fair {result.min_fair} != recomputed {worst}")
    return problems


# ---------------------------------------------------------------------------------------------
# Three lists (allocate), double reporting (assign_posts), floating members
# ---------------------------------------------------------------------------------------------
from pbmatch.results import AllocationResult, FloatingResult, PostAssignmentResult  # noqa: E402


def _no_solution(result: Any, size: int) -> list[str] | None:
    """Violations of a result without a solution (None when it has one)."""
    if result.status not in _STATUSES:
        return [f"unknown status {result.status!r}"]
    if result.status in WITH_SOLUTION:
        return None
    return [] if size == 0 else [f"status {result.status!r} but {size} rows reported"]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def verify_allocation(result: AllocationResult) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.allocate` result from its graph.

    Checks: one length for every column; each flow a whole quantity > 0 of a solved category
    from a unit that offers it to another unit that needs it with a weight > 0, at most once
    per (provider, receiver, category); both ends in one region of the ``within`` tier; the
    distance as recomputed and within ``max_km``; no provider sends more than it offers and no
    receiver gets more than it needs, category by category; ``need_met``, ``objective`` and
    ``quantity_km`` equal to their sums over the flows.

    Returns
    -------
    list of str
        The violations found; empty when the result is sound.

    Examples
    --------
    >>> import pbmatch
    >>> from pbmatch.problems.allocation import allocate
    >>> verify_allocation(allocate(pbmatch.synthetic_district(seed=0), within="street"))
    []
    """
    from pbmatch.scoring.components import haversine_km

    g = result.graph
    q = np.asarray(result.quantities)
    columns = (result.provider_ids, result.receiver_ids, result.category_names, result.distance_km)
    if any(np.shape(c) != q.shape for c in columns):
        return ["flow columns (ids, categories, quantities, distance_km) differ in length"]
    early = _no_solution(result, q.size)
    if early is not None:
        return early
    problems: list[str] = []
    known_units = set(g.ids.tolist())
    unknown = [
        u
        for u in (*result.provider_ids.tolist(), *result.receiver_ids.tolist())
        if u not in known_units
    ]
    if unknown:
        return [f"units {unknown[:5]} are not in the graph"]
    unknown_cats = sorted(set(result.category_names.tolist()) - set(result.categories))
    if unknown_cats:
        return [f"categories {unknown_cats} were not solved"]
    index = {u: i for i, u in enumerate(g.ids.tolist())}
    p = np.array([index[u] for u in result.provider_ids.tolist()], dtype=np.int64)
    r = np.array([index[u] for u in result.receiver_ids.tolist()], dtype=np.int64)
    col = {c: k for k, c in enumerate(result.categories)}
    k = np.array([col[c] for c in result.category_names.tolist()], dtype=np.int64)
    gcol = np.array([g.categories.index(c) for c in result.categories], dtype=np.int64)
    label = [
        f"{a}->{b} {c}"
        for a, b, c in zip(
            result.provider_ids.tolist(),
            result.receiver_ids.tolist(),
            result.category_names.tolist(),
            strict=True,
        )
    ]
    if q.size and (q.dtype.kind not in "iu" or (q <= 0).any()):
        problems.append("quantities must be whole numbers > 0")
    for i in np.flatnonzero(p == r)[:5]:
        problems.append(f"flow {label[i]} sends to itself")
    keys = (p * len(g) + r) * max(len(result.categories), 1) + k
    if np.unique(keys).size != keys.size:
        problems.append("a (provider, receiver, category) flow is listed twice")
    weights = np.asarray(result.need_weights)
    offered = g.offers[:, gcol] if gcol.size else np.zeros((len(g), 0))
    needed = g.needs[:, gcol] if gcol.size else np.zeros((len(g), 0))
    for i in np.flatnonzero(offered[p, k] <= 0)[:5]:
        problems.append(f"flow {label[i]}: the provider offers none of it")
    for i in np.flatnonzero((needed[r, k] <= 0) | (weights[r, k] <= 0))[:5]:
        problems.append(f"flow {label[i]}: the receiver has no need of it with weight > 0")
    if result.within is not None:
        codes = g.region_codes(result.within)
        for i in np.flatnonzero((codes[p] != codes[r]) | (codes[p] < 0))[:5]:
            problems.append(f"flow {label[i]} leaves its {result.within}")
    km = haversine_km(g.lat[p], g.lon[p], g.lat[r], g.lon[r])
    d = np.asarray(result.distance_km, dtype=float)
    if not np.allclose(km, d, rtol=1e-9, atol=1e-9, equal_nan=True):
        problems.append("distance_km differs from a fresh great-circle distance")
    if result.max_km is not None:
        for i in np.flatnonzero(km > result.max_km)[:5]:
            problems.append(f"flow {label[i]} is {km[i]:.3f} km long > max_km {result.max_km}")
    sent = np.zeros_like(offered)
    got = np.zeros_like(needed)
    np.add.at(sent, (p, k), q)
    np.add.at(got, (r, k), q)
    for side, total, limit, word in (
        ("sends", sent, offered, "offers"),
        ("gets", got, needed, "needs"),
    ):
        for u, c in np.argwhere(total > limit)[:5]:
            problems.append(
                f"unit {str(g.ids[u])!r} {side} {total[u, c]:g} of {result.categories[c]!r} "
                f"but {word} {limit[u, c]:g}"
            )
    if result.need_met != int(q.sum()):
        problems.append(f"need_met {result.need_met} != sum of quantities {int(q.sum())}")
    weighted = math.fsum((q * weights[r, k]).tolist())
    if not _close(result.objective, weighted):
        problems.append(f"objective {result.objective!r} != weighted need met {weighted!r}")
    total_km = math.fsum((q * np.nan_to_num(km)).tolist())
    if not _close(result.quantity_km, total_km):
        problems.append(f"quantity_km {result.quantity_km!r} != sum of quantity x km {total_km!r}")
    return problems


def verify_posts(result: PostAssignmentResult) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.assign_posts` result from its records.

    Checks, with plain Python sets: each seat joins a known member and post of the same
    community, the member having every skill the post requires; no seat twice; no post above
    its headcount; no member above ``max_posts`` (their own, or the default solved with);
    ``objective``, ``load_cost`` and ``fit_cost`` equal to their recomputation.

    Returns
    -------
    list of str
        The violations found; empty when the result is sound.

    Examples
    --------
    >>> import pbmatch
    >>> from pbmatch.datasets import synthetic_members, synthetic_posts
    >>> from pbmatch.problems.posts import assign_posts
    >>> g = pbmatch.synthetic_district(seed=1)
    >>> verify_posts(assign_posts(synthetic_members(g), synthetic_posts(g)))
    []
    """
    mids, pids = np.asarray(result.member_ids), np.asarray(result.post_ids)
    if mids.shape != pids.shape:
        return ["member_ids and post_ids differ in length"]
    early = _no_solution(result, mids.size)
    if early is not None:
        return early
    problems: list[str] = []
    members = {m.id: (i, m) for i, m in enumerate(result.members)}
    posts = {p.id: (j, p) for j, p in enumerate(result.posts)}
    held: dict[str, int] = {}
    filled: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    load = fit = 0
    for m_id, p_id in zip(mids.tolist(), pids.tolist(), strict=True):
        if m_id not in members or p_id not in posts:
            problems.append(f"seat {m_id!r} on {p_id!r}: unknown member or post")
            continue
        (i, m), (_, p) = members[m_id], posts[p_id]
        if (m_id, p_id) in seen:
            problems.append(f"seat {m_id!r} on {p_id!r} is listed twice")
        seen.add((m_id, p_id))
        if m.community != p.community:
            problems.append(
                f"member {m_id!r} of {m.community!r} holds post {p_id!r} of {p.community!r}"
            )
        lacking = set(p.skills) - set(m.skills)
        if lacking:
            problems.append(f"member {m_id!r} lacks {sorted(lacking)} for post {p_id!r}")
        fit += len(set(m.skills) - set(p.skills))
        held[m_id] = held.get(m_id, 0) + 1
        filled[p_id] = filled.get(p_id, 0) + 1
    for p_id, count in filled.items():
        if count > posts[p_id][1].headcount:
            problems.append(
                f"post {p_id!r} has {count} members > headcount {posts[p_id][1].headcount}"
            )
    for m_id, count in held.items():
        i, m = members[m_id]
        limit = int(result.max_posts[i])
        if m.max_posts is not None and m.max_posts != limit:
            problems.append(
                f"member {m_id!r} has max_posts {m.max_posts} but was solved with {limit}"
            )
        if count > limit:
            problems.append(f"member {m_id!r} holds {count} posts > max_posts {limit}")
        load += count * (count - 1) // 2
    if not _close(result.objective, float(mids.size)):
        problems.append(f"objective {result.objective!r} != seats filled {mids.size}")
    if result.load_cost != load:
        problems.append(f"load_cost {result.load_cost} != recomputed {load}")
    if result.fit_cost != fit:
        problems.append(f"fit_cost {result.fit_cost} != recomputed {fit}")
    return problems


def verify_floating(result: FloatingResult) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.host_floating_members` result.

    Checks: each placement joins a known member and host; no member placed twice; no host
    above ``min(capacity, per_contact * contacts)``; the distance as recomputed and within
    ``max_km``; ``same_industry`` as recomputed; the host's members dealt evenly to
    ``ceil(n / per_contact)`` contacts numbered from 1, none following more than
    ``per_contact``; ``objective`` and ``cost_km`` equal to their recomputation.

    Returns
    -------
    list of str
        The violations found; empty when the result is sound.

    Examples
    --------
    >>> import pbmatch
    >>> from pbmatch.datasets import synthetic_floating
    >>> from pbmatch.problems.floating import host_floating_members
    >>> members, hosts = synthetic_floating(pbmatch.synthetic_district(seed=0), seed=1)
    >>> verify_floating(host_floating_members(members, hosts, max_km=3))
    []
    """
    from pbmatch.scoring.components import haversine_km

    mids, hids = np.asarray(result.member_ids), np.asarray(result.host_ids)
    columns = (result.distance_km, result.same_industry, result.contact)
    if mids.shape != hids.shape or any(np.shape(c) != mids.shape for c in columns):
        return ["member_ids, host_ids, distance_km, same_industry and contact differ in length"]
    early = _no_solution(result, mids.size)
    if early is not None:
        return early
    problems: list[str] = []
    members = {m.id: m for m in result.members}
    hosts = {h.id: h for h in result.hosts}
    unknown = [m for m in mids.tolist() if m not in members]
    unknown += [h for h in hids.tolist() if h not in hosts]
    if unknown:
        return [f"unknown members or hosts {unknown[:5]}"]
    if len(set(mids.tolist())) != mids.size:
        problems.append("a member is placed more than once")
    m_rec = [members[m] for m in mids.tolist()]
    h_rec = [hosts[h] for h in hids.tolist()]
    km = haversine_km(
        np.array([m.lat for m in m_rec]), np.array([m.lon for m in m_rec]),
        np.array([h.lat for h in h_rec]), np.array([h.lon for h in h_rec]),
    )  # fmt: skip
    if not np.allclose(km, np.asarray(result.distance_km, dtype=float), rtol=1e-9, atol=1e-9):
        problems.append("distance_km differs from a fresh great-circle distance")
    if result.max_km is not None:
        for k in np.flatnonzero(km > result.max_km)[:5]:
            problems.append(f"member {mids[k]!r} is {km[k]:.3f} km from host {hids[k]!r} > max_km")
    same = np.array(
        [
            m.industry is not None and m.industry == h.industry
            for m, h in zip(m_rec, h_rec, strict=True)
        ],
        dtype=bool,
    )
    if not np.array_equal(same, np.asarray(result.same_industry, dtype=bool)):
        problems.append("same_industry differs from the records")
    per = result.per_contact
    by_host: dict[str, list[int]] = {}
    for h_id, c in zip(hids.tolist(), np.asarray(result.contact).tolist(), strict=True):
        by_host.setdefault(h_id, []).append(int(c))
    for h_id, contacts in by_host.items():
        h = hosts[h_id]
        limits = [
            x
            for x in (h.capacity, None if h.contacts is None else per * h.contacts)
            if x is not None
        ]
        n = len(contacts)
        if n > min(limits):
            problems.append(f"host {h_id!r} has {n} members > its room {min(limits)}")
        used = -(-n // per)
        counts = [contacts.count(k) for k in range(1, used + 1)]
        if sorted(set(contacts)) != list(range(1, used + 1)) or max(counts) - min(counts) > 1:
            problems.append(f"host {h_id!r}: members are not dealt evenly to contacts 1..{used}")
        if max(counts) > per:
            problems.append(f"host {h_id!r}: a contact follows {max(counts)} > {per} members")
    if not _close(result.objective, float(mids.size)):
        problems.append(f"objective {result.objective!r} != members hosted {mids.size}")
    cost = math.fsum((km + np.where(same, 0.0, result.industry_km)).tolist())
    if not _close(result.cost_km, cost):
        problems.append(f"cost_km {result.cost_km!r} != recomputed {cost!r}")
    return problems


__all__ += ["verify_allocation", "verify_floating", "verify_posts"]


# --- optimality certificates (pbmatch.solvers.certified) ---------------------------------------


def verify_certificate(
    result: MatchResult,
    scores: Any,
    *,
    left_capacity: Any = 1,
    right_capacity: Any = 1,
    left_min: Any = 0,
    right_min: Any = 0,
) -> list[str]:
    """Re-check a result's optimality certificate against every pair of its input.

    Independently of the solver and of the pricing loop: with the certificate's prices ``u``,
    ``v`` and scale, every allowed pair that could count (score > 0, or a minimum at either
    end) must have ``round(score * scale) <= u_i + v_j`` when not chosen and ``>=`` when
    chosen; a positive price only at a full row or column, a negative one only at one at its
    minimum; and the pairs must respect every capacity and minimum. Together these make the
    prices an optimal LP dual (see :mod:`pbmatch.solvers.certified`), so an empty list proves
    the result optimal for the rounded scores. ``O(n m)`` memory for a dense input.

    Returns
    -------
    list of str
        The broken conditions (at most a few of each kind); empty when the proof holds.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.random.default_rng(0).random((500, 400))
    >>> result = match(scores, right_capacity=2)
    >>> result.certified, verify_certificate(result, scores, right_capacity=2)
    (True, [])
    """
    cert = result.certificate
    if cert is None or not cert.certified or cert.duals is None:
        return ["the result carries no optimality certificate"]
    if hasattr(scores, "tocsr") and hasattr(scores, "nnz"):
        csr = scores.tocsr(copy=True)
        csr.sum_duplicates()
        dense = np.full(csr.shape, -np.inf)
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(np.asarray(csr.indptr)))
        dense[rows, np.asarray(csr.indices)] = np.asarray(csr.data, dtype=np.float64)
    else:
        dense = np.asarray(scores, dtype=np.float64)
    n, m = dense.shape
    lcap = np.minimum(_per_unit(left_capacity, n), m)
    rcap = np.minimum(_per_unit(right_capacity, m), n)
    lmin, rmin = _per_unit(left_min, n), _per_unit(right_min, m)
    u, v = cert.duals.u.astype(np.int64), cert.duals.v.astype(np.int64)
    if u.shape != (n,) or v.shape != (m,):
        return [f"prices of shapes {u.shape}, {v.shape} for a {n} x {m} input"]
    problems: list[str] = []
    chosen = np.zeros((n, m), dtype=bool)
    chosen[np.asarray(result.rows), np.asarray(result.cols)] = True
    for unit, deg, low, top, price in (
        ("row", chosen.sum(axis=1), lmin, lcap, u),
        ("column", chosen.sum(axis=0), rmin, rcap, v),
    ):
        for i in np.flatnonzero((deg < low) | (deg > top))[:5]:
            problems.append(f"{unit} {i} has {deg[i]} pairs outside [{low[i]}, {top[i]}]")
        live = top > 0
        bad = live & (((price > 0) & (deg < top)) | ((price < 0) & (deg > low)))
        for i in np.flatnonzero(bad)[:5]:
            problems.append(f"{unit} {i} has price {price[i]} with {deg[i]} pairs")
    allowed = np.isfinite(dense) & (lcap > 0)[:, None] & (rcap > 0)[None, :]
    counts = allowed & ((dense > 0) | (lmin > 0)[:, None] | (rmin > 0)[None, :])
    with np.errstate(invalid="ignore", over="ignore"):
        gains = np.clip(np.rint(np.where(allowed, dense, 0.0) * cert.scale), -(2.0**61), 2.0**61)
    total = np.clip(u, -(2**61), 2**61)[:, None] + np.clip(v, -(2**61), 2**61)[None, :]
    excess = gains.astype(np.int64) - total
    for label, bad in (
        ("unchosen pair {} would gain {} over its prices", counts & ~chosen & (excess > 0)),
        ("chosen pair {} gains {} under its prices", chosen & (excess < 0)),
    ):
        for i, j in zip(*np.nonzero(bad), strict=True):
            problems.append(label.format((int(i), int(j)), int(excess[i, j])))
            if len(problems) > 20:
                return problems
    return problems


__all__ += ["verify_certificate"]


# ---------------------------------------------------------------------------------------------
# Exchange cycles, joint branches, projects
# ---------------------------------------------------------------------------------------------
def _km(graph: Any, a: int, b: int) -> float:
    """Haversine distance written out again (independent of the scoring module)."""
    lat1, lon1 = math.radians(float(graph.lat[a])), math.radians(float(graph.lon[a]))
    lat2, lon2 = math.radians(float(graph.lat[b])), math.radians(float(graph.lon[b]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


def verify_exchange(result: Any) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.exchange_cycles` result from its graph.

    Checks: every cycle has 2 .. ``max_length`` known, distinct units and starts at its unit
    that comes first in the graph; no unit is in two cycles; each arc gives, in every category
    the giver offers and the receiver needs, exactly ``min(offer, need)`` (and nothing else,
    and something); arcs are within ``max_km``; ``objective`` is the number of units in cycles
    and ``quantity`` the total given; ``bound >= objective``.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district
    >>> from pbmatch.problems.exchange import exchange_cycles
    >>> verify_exchange(exchange_cycles(synthetic_district(seed=1, n_streets=1, n_townships=0)))
    []
    """
    early = _no_solution(result, len(result.cycles))
    if early is not None:
        return early
    problems: list[str] = []
    g = result.graph
    index = {u: i for i, u in enumerate(g.ids.tolist())}
    seen: set[str] = set()
    total = 0.0
    if len(result.gives) != len(result.cycles):
        return [f"{len(result.cycles)} cycles but {len(result.gives)} lists of gifts"]
    for k, (cycle, arcs) in enumerate(zip(result.cycles, result.gives, strict=True)):
        if not 2 <= len(cycle) <= result.max_length:
            problems.append(f"cycle {k} has {len(cycle)} units; allowed 2..{result.max_length}")
        unknown = [u for u in cycle if u not in index]
        if unknown:
            problems.append(f"cycle {k} has unknown units {unknown}")
            continue
        if len(set(cycle)) != len(cycle):
            problems.append(f"cycle {k} visits a unit twice: {cycle}")
        if min(index[u] for u in cycle) != index[cycle[0]]:
            problems.append(f"cycle {k} does not start at its first unit in graph order")
        for u in cycle:
            if u in seen:
                problems.append(f"unit {u!r} is in two cycles")
            seen.add(u)
        if len(arcs) != len(cycle):
            problems.append(f"cycle {k} has {len(cycle)} arcs but {len(arcs)} gifts")
            continue
        for step, gift in enumerate(arcs):
            a, b = index[cycle[step]], index[cycle[(step + 1) % len(cycle)]]
            expected = {
                c: min(float(g.offers[a, j]), float(g.needs[b, j]))
                for j, c in enumerate(g.categories)
                if g.offers[a, j] > 0 and g.needs[b, j] > 0
            }
            if not expected:
                problems.append(f"{cycle[step]!r} cannot give to {g.ids[b]!r}: nothing it needs")
            if gift != expected:
                problems.append(
                    f"{cycle[step]!r} -> {g.ids[b]!r} gives {gift}, expected {expected}"
                )
            if result.max_km is not None and not _km(g, a, b) <= result.max_km:
                problems.append(f"{cycle[step]!r} -> {g.ids[b]!r} is farther than max_km")
            total += math.fsum(gift.values())
    units = sum(len(c) for c in result.cycles)
    if not _close(result.objective, float(units)):
        problems.append(f"objective {result.objective} but {units} units are in cycles")
    if not _close(result.quantity, total):
        problems.append(f"quantity {result.quantity} but the gifts total {total}")
    if result.bound is not None and result.bound < result.objective - 1e-9:
        problems.append(f"bound {result.bound} is below the objective {result.objective}")
    return problems


def verify_branches(result: Any) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.form_joint_branches` result from its graph.

    Checks: every grouped unit is a small unit (not a community or village, fewer than
    ``min_members`` full members) and in one group only; each group has 2 .. ``max_units``
    units of one street, members totalling ``min_members`` .. ``max_members``, pairwise within
    ``max_km``; every small unit is either grouped or listed in ``uncovered`` with a reason;
    ``objective``, ``total_km`` and ``same_industry_pairs`` match the groups.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district
    >>> from pbmatch.problems.branches import form_joint_branches
    >>> verify_branches(form_joint_branches(synthetic_district(seed=2), max_km=1.5))
    []
    """
    early = _no_solution(result, len(result.groups))
    if early is not None:
        return early
    problems: list[str] = []
    g = result.graph
    index = {u: i for i, u in enumerate(g.ids.tolist())}
    small = {
        u.id
        for u in g.units
        if u.kind not in ("community", "village") and u.members < result.min_members
    }
    grouped: set[str] = set()
    total_km = 0.0
    pairs = 0
    for name, street, group in zip(
        result.group_ids, result.group_streets, result.groups, strict=True
    ):
        if not 2 <= len(group) <= result.max_units:
            problems.append(f"group {name} has {len(group)} units; allowed 2..{result.max_units}")
        for u in group:
            if u not in small:
                problems.append(f"group {name}: {u!r} is not a small unit")
            if u in grouped:
                problems.append(f"unit {u!r} is in two groups")
            grouped.add(u)
            if g.street_of(u) != street:
                problems.append(f"group {name}: {u!r} is not in street {street!r}")
        members = sum(g.unit(u).members for u in group if u in index)
        if not result.min_members <= members <= result.max_members:
            problems.append(
                f"group {name} has {members} members; allowed "
                f"{result.min_members}..{result.max_members}"
            )
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                km = _km(g, index[a], index[b])
                total_km += km
                pairs += bool(set(g.unit(a).tags) & set(g.unit(b).tags))
                if result.max_km is not None and not km <= result.max_km:
                    problems.append(f"group {name}: {a!r} and {b!r} are {km:.3f} km apart")
    missing = sorted(small - grouped - set(result.uncovered))
    if missing:
        problems.append(f"small units neither grouped nor listed as uncovered: {missing[:5]}")
    both = sorted(grouped & set(result.uncovered))
    if both:
        problems.append(f"units both grouped and uncovered: {both[:5]}")
    if any(not why for why in result.uncovered.values()):
        problems.append("an uncovered unit has no reason")
    if not _close(result.objective, float(len(grouped))):
        problems.append(f"objective {result.objective} but {len(grouped)} units are grouped")
    if not math.isclose(result.total_km, total_km, rel_tol=1e-9, abs_tol=1e-9):
        problems.append(f"total_km {result.total_km} but the groups' distances sum to {total_km}")
    if result.same_industry_pairs != pairs:
        problems.append(f"same_industry_pairs {result.same_industry_pairs}, recomputed {pairs}")
    if result.bound is not None and result.bound < result.objective - 1e-9:
        problems.append(f"bound {result.bound} is below the objective {result.objective}")
    return problems


def verify_projects(result: Any) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.staff_projects` result from its graph.

    Checks: contributions are positive, by known units other than the owner, in categories the
    project needs; no unit gives more of a category than it offers (over all projects); no
    project receives more than it needs; at most ``max_units`` units a project; every
    contribution within ``max_km``; an indivisible project is staffed fully or not at all;
    ``staffed``, ``share``, ``objective`` and ``total_km`` match the contributions.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district, synthetic_projects
    >>> from pbmatch.problems.projects import staff_projects
    >>> g = synthetic_district(seed=0, n_streets=1, n_townships=0)
    >>> verify_projects(staff_projects(g, synthetic_projects(g, seed=1, n_projects=4)))
    []
    """
    early = _no_solution(result, len(result))
    if early is not None:
        return early
    problems: list[str] = []
    g = result.graph
    index = {u: i for i, u in enumerate(g.ids.tolist())}
    by_id = {p.id: k for k, p in enumerate(result.projects)}
    given: dict[tuple[str, str], float] = {}
    received: dict[tuple[str, str], float] = {}
    units: dict[str, set[str]] = {}
    for p, u, c, q, d in zip(
        result.project_ids.tolist(),
        result.unit_ids.tolist(),
        result.category_names.tolist(),
        result.quantities.tolist(),
        result.distance_km.tolist(),
        strict=True,
    ):
        if p not in by_id or u not in index:
            problems.append(f"contribution {p!r}/{u!r}: unknown project or unit")
            continue
        project = result.projects[by_id[p]]
        if q <= 0:
            problems.append(f"{u!r} gives {q} of {c!r} to {p!r}; contributions are > 0")
        if u == project.owner:
            problems.append(f"{u!r} contributes to its own project {p!r}")
        if c not in project.needs:
            problems.append(f"{u!r} gives {c!r} to {p!r}, which does not need it")
        given[u, c] = given.get((u, c), 0.0) + q
        received[p, c] = received.get((p, c), 0.0) + q
        units.setdefault(p, set()).add(u)
        km = _km(g, index[u], index[project.owner])
        if result.max_km is not None and not km <= result.max_km + 1e-9:
            problems.append(f"{u!r} is {km:.3f} km from the owner of {p!r} > max_km")
        if not (math.isnan(km) and math.isnan(d)) and not math.isclose(km, d, abs_tol=1e-6):
            problems.append(f"{u!r} -> {p!r}: distance_km {d}, recomputed {km}")
    for (u, c), q in given.items():
        offer = float(g.offers[index[u], g.categories.index(c)]) if c in g.categories else 0.0
        if q > offer + 1e-9:
            problems.append(f"{u!r} gives {q} of {c!r} in all but offers {offer}")
    value = 0.0
    for k, project in enumerate(result.projects):
        need = sum(project.needs.values())
        got = {c: received.get((project.id, c), 0.0) for c in project.needs}
        for c, q in got.items():
            if q > project.needs[c] + 1e-9:
                problems.append(
                    f"{project.id!r} receives {q} of {c!r} but needs {project.needs[c]}"
                )
        if len(units.get(project.id, ())) > result.max_units[k]:
            problems.append(
                f"{project.id!r} has {len(units[project.id])} units > max {result.max_units[k]}"
            )
        full = all(got[c] >= project.needs[c] - 1e-9 for c in project.needs)
        share = sum(got.values()) / need
        if not project.divisible and units.get(project.id) and not full:
            problems.append(f"indivisible {project.id!r} is staffed in part")
        if bool(result.staffed[k]) != (full and not project.divisible):
            problems.append(f"{project.id!r}: staffed flag {bool(result.staffed[k])} is wrong")
        if not math.isclose(float(result.share[k]), share, abs_tol=1e-9):
            problems.append(f"{project.id!r}: share {result.share[k]}, recomputed {share}")
        value += project.priority * (share if project.divisible else float(full))
    if not math.isclose(result.objective, value, rel_tol=1e-9, abs_tol=1e-9):
        problems.append(f"objective {result.objective}, recomputed {value}")
    pair_km = {
        (p, u): _km(g, index[u], index[result.projects[by_id[p]].owner])
        for p, us in units.items()
        for u in us
    }
    total = math.fsum(0.0 if math.isnan(v) else v for v in pair_km.values())
    if not math.isclose(result.total_km, total, rel_tol=1e-9, abs_tol=1e-6):
        problems.append(f"total_km {result.total_km}, recomputed {total}")
    if result.bound is not None and result.bound < result.objective - 1e-9:
        problems.append(f"bound {result.bound} is below the objective {result.objective}")
    return problems


__all__ += ["verify_branches", "verify_exchange", "verify_projects"]
