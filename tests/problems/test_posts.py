"""Double reporting (assign_posts): optimal against networkx, scipy MILP and brute force."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import pbmatch
from pbmatch import InputError
from pbmatch.datasets import synthetic_members, synthetic_posts
from pbmatch.model import Member, ServicePost
from pbmatch.problems.posts import assign_posts
from pbmatch.verify import verify_posts

Record = dict[str, Any]


def compatible(members: list[Record], posts: list[Record]) -> list[tuple[int, int]]:
    """(member, post) positions: same community, every required skill (plain loops)."""
    return [
        (i, j)
        for i, m in enumerate(members)
        for j, p in enumerate(posts)
        if m["community"] == p["community"]
        and set(p.get("skills", ())) <= set(m.get("skills", ()))
        and p.get("headcount", 1) > 0
    ]


def networkx_seats(members: list[Record], posts: list[Record], cap: int) -> int:
    G = nx.DiGraph()
    for i, j in compatible(members, posts):
        G.add_edge("S", ("m", i), capacity=members[i].get("max_posts", cap))
        G.add_edge(("m", i), ("p", j), capacity=1)
        G.add_edge(("p", j), "T", capacity=posts[j].get("headcount", 1))
    return int(nx.maximum_flow_value(G, "S", "T")) if G.number_of_nodes() else 0


def small_instance(seed: int) -> tuple[list[Record], list[Record]]:
    graph = pbmatch.synthetic_district(seed=seed, n_streets=2, n_townships=0)
    members = synthetic_members(graph, seed=seed, per_community=(3, 12))
    posts = synthetic_posts(graph, seed=seed, per_community=(2, 8))
    return members, posts


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("cap", [1, 2])
def test_seats_match_networkx_max_flow(seed: int, cap: int) -> None:
    members, posts = small_instance(seed)
    result = assign_posts(members, posts, max_posts_per_member=cap)
    assert result.status == "optimal"
    assert verify_posts(result) == []
    assert result.seats == result.objective == networkx_seats(members, posts, cap)


def milp_lexicographic(
    members: list[Record], posts: list[Record], cap: int
) -> tuple[int, int, int]:
    """Seats, then load (sum k(k-1)/2), then unneeded skills, by three integer programs."""
    pairs = compatible(members, posts)
    n_x = len(pairs)
    if n_x == 0:
        return 0, 0, 0
    caps = [members[i].get("max_posts", cap) for i in range(len(members))]
    # Slot variables y[i, k] (member i's k-th post, k = 0..cap_i - 1) carry the load cost k.
    slots = [(i, k) for i in range(len(members)) for k in range(caps[i])]
    n = n_x + len(slots)
    rows, lo, hi = [], [], []
    for j in range(len(posts)):
        row = np.zeros(n)
        row[[a for a, (_, pj) in enumerate(pairs) if pj == j]] = 1
        rows.append(row), lo.append(-np.inf), hi.append(posts[j].get("headcount", 1))
    for i in range(len(members)):
        row = np.zeros(n)
        row[[a for a, (mi, _) in enumerate(pairs) if mi == i]] = 1
        row[[n_x + s for s, (si, _) in enumerate(slots) if si == i]] = -1
        rows.append(row), lo.append(0), hi.append(0)
    A = LinearConstraint(np.array(rows), lo, hi)
    seats = np.r_[np.ones(n_x), np.zeros(len(slots))]
    load = np.r_[np.zeros(n_x), [k for _, k in slots]]
    extra = [set(members[i].get("skills", ())) - set(posts[j].get("skills", ())) for i, j in pairs]
    fit = np.r_[[len(e) for e in extra], np.zeros(len(slots))]
    box, whole = Bounds(0, 1), np.ones(n)
    first = milp(-seats, constraints=[A], integrality=whole, bounds=box)
    best_seats = round(-first.fun)
    keep1 = LinearConstraint(seats[None, :], best_seats, np.inf)
    second = milp(load, constraints=[A, keep1], integrality=whole, bounds=box)
    best_load = round(second.fun)
    keep2 = LinearConstraint(load[None, :], -np.inf, best_load)
    third = milp(fit, constraints=[A, keep1, keep2], integrality=whole, bounds=box)
    return best_seats, best_load, round(third.fun)


@pytest.mark.parametrize("seed", range(4))
def test_lexicographic_optimum_matches_milp(seed: int) -> None:
    graph = pbmatch.synthetic_district(seed=seed, n_streets=1, n_townships=0)
    rng = np.random.default_rng(seed)
    members = synthetic_members(graph, seed=seed, per_community=(2, 6))[:40]
    posts = synthetic_posts(graph, seed=seed, per_community=(2, 4))[:20]
    for m in members:  # some members take more posts, some none
        m["max_posts"] = int(rng.choice([0, 1, 2, 3]))
    result = assign_posts(members, posts, max_posts_per_member=2)
    assert verify_posts(result) == []
    assert (result.seats, result.load_cost, result.fit_cost) == milp_lexicographic(
        members, posts, 2
    )


@st.composite
def tiny(draw: Any) -> tuple[list[Record], list[Record], int]:
    skills = st.lists(st.sampled_from("abc"), max_size=2, unique=True)
    members = [
        {"id": f"m{i}", "community": draw(st.sampled_from("XY")), "skills": draw(skills)}
        for i in range(draw(st.integers(1, 4)))
    ]
    posts = [
        {
            "id": f"p{j}",
            "community": draw(st.sampled_from("XY")),
            "skills": draw(st.lists(st.sampled_from("abc"), max_size=1, unique=True)),
            "headcount": draw(st.integers(0, 2)),
        }
        for j in range(draw(st.integers(1, 3)))
    ]
    return members, posts, draw(st.integers(1, 2))


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(tiny())
def test_brute_force(case: tuple[list[Record], list[Record], int]) -> None:
    members, posts, cap = case
    result = assign_posts(members, posts, max_posts_per_member=cap)
    assert verify_posts(result) == []
    pairs = compatible(members, posts)
    best = (-1, 0, 0)
    for chosen in itertools.product((0, 1), repeat=len(pairs)):
        seats = [pairs[a] for a, on in enumerate(chosen) if on]
        held = [sum(1 for i, _ in seats if i == k) for k in range(len(members))]
        filled = [sum(1 for _, j in seats if j == k) for k in range(len(posts))]
        if max(held) > cap or any(f > p["headcount"] for f, p in zip(filled, posts, strict=True)):
            continue
        load = sum(h * (h - 1) // 2 for h in held)
        fit = sum(len(set(members[i]["skills"]) - set(posts[j]["skills"])) for i, j in seats)
        key = (len(seats), -load, -fit)
        if key > (best[0], -best[1], -best[2]):
            best = (len(seats), load, fit)
    assert (result.seats, result.load_cost, result.fit_cost) == best


def test_even_load_and_best_fit_by_hand() -> None:
    members = [
        {"id": "all", "community": "c", "skills": ["legal", "medical", "it"]},
        {"id": "law", "community": "c", "skills": ["legal"]},
        {"id": "idle", "community": "c", "skills": []},
    ]
    posts = [
        {"id": "lawyer", "community": "c", "skills": ["legal"]},
        {"id": "doctor", "community": "c", "skills": ["medical"]},
        {"id": "helper", "community": "c"},
    ]
    result = assign_posts(members, posts, max_posts_per_member=3)
    # Three seats, one each (no member doubles up), the specialist on the legal post.
    assert sorted(result.pairs) == [("all", "doctor"), ("idle", "helper"), ("law", "lawyer")]
    assert (result.seats, result.load_cost, result.fit_cost) == (3, 0, 2)
    assert verify_posts(result) == []


def test_inputs_as_models_dicts_and_dataframes_agree() -> None:
    pd = pytest.importorskip("pandas")
    members, posts = small_instance(3)
    by_dicts = assign_posts(members, posts)
    by_models = assign_posts([Member(**m) for m in members], [ServicePost(**p) for p in posts])
    frame_m = pd.DataFrame(members)
    frame_m["skills"] = ["、".join(s) for s in frame_m["skills"]]  # as typed in Excel
    frame_m["max_posts"] = np.nan  # an empty optional column
    by_frames = assign_posts(frame_m, pd.DataFrame(posts))
    assert by_dicts.pairs == by_models.pairs == by_frames.pairs
    frame = by_dicts.to_pandas()
    assert list(frame.columns) == ["member", "post"] and len(frame) == by_dicts.seats
    assert by_dicts.to_records()[0] == frame.iloc[0].to_dict()


def test_max_posts_of_a_member_overrides_the_default() -> None:
    members = [{"id": "a", "community": "c", "max_posts": 2}, {"id": "b", "community": "c",
               "max_posts": 0}]  # fmt: skip
    posts = [{"id": f"p{k}", "community": "c"} for k in range(3)]
    result = assign_posts(members, posts, max_posts_per_member=1)
    assert result.seats == 2 and set(result.member_ids.tolist()) == {"a"}
    assert result.posts_per_member() == {0: 1, 2: 1}
    assert verify_posts(result) == []


def test_unfillable_posts_are_warnings_not_errors() -> None:
    members = [{"id": "a", "community": "c", "skills": ["legal"]}]
    posts = [
        {"id": "sign", "community": "c", "skills": ["sign_language"]},
        {"id": "far", "community": "empty", "headcount": 2},
        {"id": "ok", "community": "c", "skills": "legal"},
        {"id": "closed", "community": "c", "skills": ["nobody"], "headcount": 0},
    ]
    result = assign_posts(members, posts)
    assert result.status == "optimal" and result.pairs == [("a", "ok")]
    assert len(result.warnings) == 2
    assert "'sign'" in result.warnings[0] and "'sign_language'" in result.warnings[0]
    assert "no member reports to 'empty'" in result.warnings[1]
    text = result.report()
    assert "Warning: post 'sign'" in text and "1 of 4 seats filled" in text
    assert [u["post"] for u in result.unfilled()] == ["sign", "far"]


@pytest.mark.parametrize(
    ("members", "posts", "kwargs", "text"),
    [
        ([{"id": "a", "community": "c"}] * 2, [], {}, r"Member 'a'.*'id' is duplicated"),
        ([], [{"id": "p", "community": "c"}] * 2, {}, r"ServicePost 'p'.*duplicated"),
        ([], [{"id": "p", "community": "c", "headcount": -1}], {},
         r"ServicePost 'p': field 'headcount' has value -1"),
        ([{"id": "a", "community": "zz"}], [], {"communities": ["c"]},
         r"Member 'a': field 'community' has value 'zz'"),
        ([], [{"id": "p", "community": "zz"}], {"communities": ["c"]}, r"ServicePost 'p'"),
        ([{"id": "a"}], [], {}, r"Member 'a': field 'community' is missing"),
        ([{"id": "a", "community": "c", "skills": [""]}], [], {}, "skill name is empty"),
        ([{"id": "a", "community": "c", "skills": 3}], [], {}, "skills"),
        ([{"id": "a", "community": "c", "max_posts": -1}], [], {}, "max_posts"),
        ([], [], {"max_posts_per_member": -1}, "max_posts_per_member"),
        ([], [], {"max_posts_per_member": True}, "max_posts_per_member"),
        ([], [], {"communities": "c"}, "communities"),
        ("members", [], {}, "members is a str"),
        ([3], [], {}, "Member #0 is a int"),
    ],
)  # fmt: skip
def test_bad_input(members: Any, posts: Any, kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InputError, match=text):
        assign_posts(members, posts, **kwargs)


def test_communities_from_a_graph() -> None:
    graph = pbmatch.synthetic_district(seed=0, n_streets=1, n_townships=1)
    members = synthetic_members(graph, per_community=(2, 3))
    posts = synthetic_posts(graph, per_community=(1, 2))
    assert assign_posts(members, posts, communities=graph).success
    with pytest.raises(InputError, match="'S1'"):
        assign_posts([{"id": "x", "community": "S1"}], [], communities=graph)


def test_empty_and_verify_catches_broken_results() -> None:
    empty = assign_posts([], [])
    assert empty.status == "optimal" and empty.seats == 0 and verify_posts(empty) == []
    members, posts = small_instance(1)
    result = assign_posts(members, posts, max_posts_per_member=2)
    twice = dataclasses.replace(
        result,
        member_ids=np.r_[result.member_ids, result.member_ids[:1]],
        post_ids=np.r_[result.post_ids, result.post_ids[:1]],
    )
    assert any("twice" in p for p in verify_posts(twice))
    other = next(p["id"] for p in posts if p["community"] != members[0]["community"])
    moved = dataclasses.replace(
        result, member_ids=result.member_ids[:1].copy(), post_ids=np.array([other])
    )
    assert any("holds post" in p for p in verify_posts(moved))
    assert any("load_cost" in p or "objective" in p for p in verify_posts(moved))


def test_deterministic() -> None:
    members, posts = small_instance(6)
    a = assign_posts(members, posts, max_posts_per_member=3)
    b = assign_posts(members, posts, max_posts_per_member=3)
    assert a.pairs == b.pairs
