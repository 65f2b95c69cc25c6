"""Float -> int64 cost scaling: exactness, rounding, the overflow bound against OR-Tools itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pbmatch.solvers.scaling import (
    INT64_MAX,
    choose_scale,
    count_merged,
    max_safe_cost,
    scale_scores,
)
from pbmatch.solvers.status import STATUS_TABLE, map_status


def test_max_safe_cost_formula_and_float_cap() -> None:
    for factor in (2, 10, 1001, 80_005):
        assert max_safe_cost(factor) == min(INT64_MAX // (4 * factor * factor), 2**53)
    assert max_safe_cost(1) == 2**53
    assert max_safe_cost(10**10) == 1  # never below one step


def test_integer_scores_that_fit_are_exact_with_no_resolution() -> None:
    values = np.array([5, -3, 0, 7], dtype=np.int64)
    costs, scaling = scale_scores(values, max_cost=100)
    assert costs.tolist() == [5, -3, 0, 7]
    assert (scaling.scale, scaling.resolution, scaling.merged) == (1.0, None, 0)
    costs, scaling = scale_scores(values.astype(np.float64), max_cost=100)
    assert costs.tolist() == [5, -3, 0, 7] and scaling.resolution is None


def test_float_scores_use_largest_power_of_two_and_round_to_nearest() -> None:
    values = np.array([0.7, -0.7, 0.299, 1.0])
    costs, scaling = scale_scores(values, max_cost=1000)
    assert scaling.scale == 512.0  # 1.0 * 1024 > 1000
    assert scaling.resolution == 1 / 512
    assert costs.tolist() == [358, -358, 153, 512]  # 0.7*512 = 358.4, 0.299*512 = 153.09
    assert np.all(np.abs(costs / scaling.scale - values) <= scaling.resolution / 2)
    # Never truncated: 0.999 * 2 = 1.998 rounds up to 2.
    costs, _ = scale_scores(np.array([0.999, 0.5]), max_cost=2)
    assert costs.tolist() == [2, 1]


def test_huge_integers_are_scaled_down_and_merges_counted() -> None:
    values = np.array([2**62, -(2**62), 1, 2, 3], dtype=np.int64)
    costs, scaling = scale_scores(values, max_cost=2**20)
    assert scaling.scale == 2.0**-42
    assert np.abs(costs).max() <= 2**20
    assert costs[:2].tolist() == [2**20, -(2**20)]
    assert scaling.merged == 2  # 1, 2, 3 all become 0
    # On a grid finer than 1e-9 of the largest score, merges are float noise: not counted.
    assert scale_scores(values, max_cost=2**40)[1].merged == 0


def test_dyadic_floats_stay_exact() -> None:
    values = np.array([0.5, 0.25, 0.125, 3.75], dtype=np.float32).astype(np.float64)
    costs, scaling = scale_scores(values, max_cost=2**20)
    assert scaling.merged == 0
    assert np.array_equal(costs / scaling.scale, values)


def test_empty_and_all_zero() -> None:
    costs, scaling = scale_scores(np.zeros(0), max_cost=10)
    assert costs.size == 0 and scaling.resolution is None
    costs, scaling = scale_scores(np.zeros(4), max_cost=10)
    assert costs.tolist() == [0, 0, 0, 0] and scaling.scale == 1.0


@settings(max_examples=200, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    st.integers(1, 2**53),
)
def test_scale_scores_properties(values: np.ndarray, max_cost: int) -> None:
    costs, scaling = scale_scores(values, max_cost=max_cost)
    assert costs.dtype == np.int64
    assert np.abs(costs).max() <= max_cost
    assert scaling.scale == 1.0 or math.frexp(scaling.scale)[0] == 0.5  # a power of two
    assert np.array_equal(costs, np.rint(values * scaling.scale))
    expected_merged = np.unique(values).size - np.unique(costs).size
    negligible = (
        scaling.resolution is not None and scaling.resolution <= 1e-9 * np.abs(values).max()
    )
    assert scaling.merged == (0 if negligible else expected_merged)
    if scaling.scale not in (1.0, 2.0**1023) and max_cost >= 2:
        # The largest power of two: doubling it would overflow the bound.
        assert np.abs(values).max() * scaling.scale * 2 > max_cost


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(0, 30), elements=st.sampled_from([0.0, -0.0, 1.5, 2.5])))
def test_count_merged_treats_signed_zeros_as_equal(values: np.ndarray) -> None:
    assert count_merged(values, 1.0) == np.unique(values).size - np.unique(np.rint(values)).size


@pytest.mark.parametrize(
    ("max_abs", "expected"), [(1.0, 64.0), (0.9, 64.0), (1e-9, 2.0**36), (1e-320, 2.0**1023)]
)
def test_choose_scale_is_the_largest_power_of_two_within_the_bound(
    max_abs: float, expected: float
) -> None:
    assert choose_scale(max_abs, integral=False, max_cost=100) == expected


def test_choose_scale_integers() -> None:
    assert choose_scale(100.0, integral=True, max_cost=100) == 1.0
    assert choose_scale(101.0, integral=True, max_cost=100) == 0.5
    assert choose_scale(0.0, integral=False, max_cost=100) == 1.0


# --- the bound against OR-Tools' own overflow checks ------------------------------------------


def _lsa_status(k: int, biggest: int) -> str:
    from ortools.graph.python import linear_sum_assignment

    rng = np.random.default_rng(k)
    costs = -rng.integers(0, biggest, size=k * k, endpoint=True)
    costs[0] = -biggest
    nodes = np.arange(k, dtype=np.int32)
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(np.repeat(nodes, k), np.tile(nodes, k), costs)
    return map_status("SimpleLinearSumAssignment", solver.solve())[1]


@pytest.mark.parametrize("k", [5, 60])
def test_assignment_bound_is_accepted_and_near_tight(k: int) -> None:
    f = k + 1
    assert _lsa_status(k, max_safe_cost(f)).endswith("OPTIMAL")
    # Twice the allowed magnitude is already past OR-Tools' own price bound.
    assert _lsa_status(k, INT64_MAX // (2 * f * f)).endswith("POSSIBLE_OVERFLOW")


def _flow_status(n: int, biggest: int) -> str:
    from ortools.graph.python import min_cost_flow

    rng = np.random.default_rng(n)
    rows, cols = np.divmod(np.arange(n * n), n)
    costs = -rng.integers(0, biggest, size=n * n, endpoint=True)
    costs[0] = -biggest
    s, t = 2 * n, 2 * n + 1
    tails = np.concatenate([rows, np.full(n, s), n + np.arange(n), [s]]).astype(np.int32)
    heads = np.concatenate([n + cols, np.arange(n), np.full(n, t), [t]]).astype(np.int32)
    caps = np.concatenate([np.ones(n * n), np.full(2 * n, 2), [2 * n]]).astype(np.int64)
    unit = np.concatenate([costs, np.zeros(2 * n + 1, np.int64)])
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
    solver.set_nodes_supplies(np.array([s, t], np.int32), np.array([2 * n, -2 * n], np.int64))
    return map_status("SimpleMinCostFlow", solver.solve())[1]


@pytest.mark.parametrize("n", [4, 40])
def test_flow_bound_is_accepted(n: int) -> None:
    f = 2 * n + 2 + 2 + 1  # nodes + SimpleMinCostFlow's own source and sink, + 1
    assert _flow_status(n, max_safe_cost(f)).endswith("OPTIMAL")
    assert _flow_status(n, INT64_MAX // (2 * f) + 1).endswith("BAD_COST_RANGE")


def test_status_table_maps_every_ortools_status() -> None:
    from ortools.graph.python import linear_sum_assignment, min_cost_flow

    for solver, cls in (
        ("SimpleMinCostFlow", min_cost_flow.SimpleMinCostFlow),
        ("SimpleLinearSumAssignment", linear_sum_assignment.SimpleLinearSumAssignment),
    ):
        for name in cls.Status.__members__:
            assert (solver, name) in STATUS_TABLE
            _, message = map_status(solver, getattr(cls, name))
            assert message == f"{solver} status {name}"
    assert map_status("SimpleMinCostFlow", "SOMETHING_NEW")[0] == "error"
