"""Double reporting (双报到): in-service members on their home community's service posts.

Encode → solve → decode. A member may fill a post only in their own community and only with
every skill the post requires; each post has a headcount, each member a most number of posts.
Communities share nothing, so each is an independent block of one min-cost flow
(:mod:`pbmatch.problems._flow`), solved in batches.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import ERROR, OPTIMAL, WITH_SOLUTION, Status
from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.model import Member, ServicePost, validate_items
from pbmatch.problems._flow import batches, cost_limit, solve_blocks
from pbmatch.results import PostAssignmentResult

__all__ = ["assign_posts"]

IntArray = npt.NDArray[np.int64]
MaskArray = npt.NDArray[np.uint64]
_COMMUNITY_LEVELS = frozenset({"community", "village"})


def _offsets(counts: IntArray) -> IntArray:
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _check_communities(
    communities: RegionGraph | Iterable[str],
    members: list[Member],
    posts: list[ServicePost],
) -> None:
    if isinstance(communities, RegionGraph):
        known = {r.id for r in communities.regions if r.level in _COMMUNITY_LEVELS}
    elif isinstance(communities, str) or not isinstance(communities, Iterable):
        raise InputError(
            f"communities is {communities!r}; pass a RegionGraph or a list of community ids"
        )
    else:
        known = {str(c) for c in communities}
    for kind, records in (("Member", members), ("ServicePost", posts)):
        for record in records:
            if record.community not in known:
                raise InputError(
                    f"{kind} {record.id!r}: field 'community' has value {record.community!r}, "
                    "which is not a known community or village id"
                )


def _skill_masks(
    members: list[Member], posts: list[ServicePost]
) -> tuple[MaskArray, MaskArray, IntArray, IntArray, list[str]]:
    """Skill sets as bit masks over a shared vocabulary: (n, words) uint64 per side."""
    owner: list[int] = []
    names: list[str] = []
    records: list[Member | ServicePost] = [*members, *posts]
    for i, record in enumerate(records):
        owner.extend([i] * len(record.skills))
        names.extend(record.skills)
    index: dict[str, int] = {}
    code = np.fromiter((index.setdefault(n, len(index)) for n in names), np.int64, len(names))
    vocabulary = list(index)
    words = max(1, -(-len(vocabulary) // 64))
    masks = np.zeros((len(members) + len(posts), words), dtype=np.uint64)
    np.bitwise_or.at(
        masks,
        (np.asarray(owner, dtype=np.int64), code // 64),
        np.left_shift(np.uint64(1), (code % 64).astype(np.uint64)),
    )
    counts = np.bincount(np.asarray(owner, dtype=np.int64), minlength=masks.shape[0])
    n = len(members)
    return (
        masks[:n],
        masks[n:],
        counts[:n].astype(np.int64),
        counts[n:].astype(np.int64),
        vocabulary,
    )


def _missing_skills(
    member_masks: MaskArray,
    member_comm: IntArray,
    post_masks: MaskArray,
    post_comm: IntArray,
    n_communities: int,
) -> MaskArray:
    """Per post, the required skills no member of its community has (a mask)."""
    have = np.zeros((n_communities, member_masks.shape[1]), dtype=np.uint64)
    np.bitwise_or.at(have, member_comm, member_masks)
    missing: MaskArray = post_masks & ~have[post_comm]
    return missing


def _warnings(
    posts: list[ServicePost],
    missing: MaskArray,
    vocabulary: list[str],
    members_in: IntArray,
    post_comm: IntArray,
) -> list[str]:
    """A note for each post with seats that no member of its community can take."""
    code = {name: k for k, name in enumerate(vocabulary)}
    open_post = np.array([p.headcount > 0 for p in posts], dtype=bool)
    nobody = members_in[post_comm] == 0
    lacking_any = missing.any(axis=1) if missing.size else np.zeros(len(posts), dtype=bool)
    notes: list[str] = []
    for j in np.flatnonzero(open_post & (nobody | lacking_any)).tolist():
        post = posts[j]
        if nobody[j]:
            notes.append(
                f"post {post.id!r} (community {post.community!r}): no member reports to "
                f"{post.community!r}, so it cannot be filled"
            )
            continue
        lacking = [
            skill
            for skill in post.skills
            if int(missing[j, code[skill] // 64]) >> (code[skill] % 64) & 1
        ]
        notes.append(
            f"post {post.id!r} (community {post.community!r}) requires "
            f"{', '.join(map(repr, lacking))}, which no member of {post.community!r} has"
        )
    return notes


def _same_community_pairs(member_comm: IntArray, post_comm: IntArray) -> tuple[IntArray, IntArray]:
    """All (post, member) index pairs of one community, grouped by post."""
    order = np.argsort(member_comm, kind="stable")
    sorted_comm = member_comm[order]
    lo = np.searchsorted(sorted_comm, post_comm, side="left")
    hi = np.searchsorted(sorted_comm, post_comm, side="right")
    count = (hi - lo).astype(np.int64)
    post = np.repeat(np.arange(post_comm.size, dtype=np.int64), count)
    first = np.cumsum(count) - count
    member = order[np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first - lo, count)]
    return post, member.astype(np.int64)


def assign_posts(
    members: Any,
    posts: Any,
    *,
    max_posts_per_member: int = 1,
    communities: RegionGraph | Iterable[str] | None = None,
) -> PostAssignmentResult:
    """Place in-service members on their home community's service posts (双报到), optimally.

    A member fills posts only in their own ``community`` and only with every skill the post
    requires; a post takes at most ``headcount`` members, a member at most ``max_posts``
    posts. The assignment fills the most seats; among those, it spreads the load most evenly;
    among those, it fits best.

    Parameters
    ----------
    members : list of Member or dict, or a pandas DataFrame
        Fields ``id``, ``community`` (home community or village id), ``skills`` (a list, or a
        string split at ``,``/``、``/``;``), optional ``max_posts``.
    posts : list of ServicePost or dict, or a pandas DataFrame
        Fields ``id``, ``community``, ``skills`` (required, all of them), ``headcount``
        (default 1), optional ``name``.
    max_posts_per_member : int, default 1
        Most posts of a member whose ``max_posts`` is unset.
    communities : RegionGraph or iterable of str, optional
        The known communities: a graph (its community and village regions) or a list of ids.
        When given, a member or post in any other community is an ``InputError``.

    Returns
    -------
    PostAssignmentResult
        ``to_pandas()`` has the columns ``member``, ``post``; ``objective`` is the seats
        filled; ``report()`` lists empty seats and warnings.

    Raises
    ------
    InputError
        A record with a bad field (a negative headcount ...), a duplicated id, an unknown
        community (with ``communities``), a bad ``max_posts_per_member``.

    Notes
    -----
    *Objective*, lexicographic and exact:

    1. the most seats filled;
    2. the most even load: the least ``sum(k * (k - 1) / 2)`` over members holding ``k``
       posts (convex, so nobody takes a second post while a qualified member has none, where
       the seats allow);
    3. the best fit: the fewest unneeded skills, ``sum(|member skills| - |post skills|)``
       over filled seats, which keeps versatile members free for the posts only they can do
       and gives each post the closest match.

    *Method.* One network per community: ``source -> member -> post -> sink``, member arcs only
    for compatible pairs (skills as 64-bit masks, ``(member & post) == post``, vectorised over
    the pairs of each community), ``max_posts`` parallel source arcs of cost ``W * (k - 1)``
    for a member's ``k``-th post, and post arcs of capacity ``headcount``. OR-Tools'
    ``solve_max_flow_with_min_cost`` gives (1) exactly: the maximum flow first, then the least
    cost among maximum flows. (2) over (3) is exact with the weight ``W = F * (f_max - f_min)
    + 1`` per community, where ``F`` bounds the seats that can be filled there and ``f_min``,
    ``f_max`` are its least and greatest pair fit: the fits of two assignments with the same
    number of seats differ by less than ``W``, while one unit of load costs ``W``. Costs stay
    below ``W * max_posts + f_max``, checked against the solver's overflow bound
    (:func:`pbmatch.solvers.scaling.max_safe_cost`). Communities are independent, so the
    lexicographic optimum of the whole is that of each community.

    *Cost.* ``O(pairs)`` numpy to build (pairs: members × posts of the same community) and
    near-linear flow solves in batches of communities (about 4,000 arcs a call: many small
    solves are much faster than one large one). On a shared 2-core machine, 100,000 members ×
    20,000 posts in 1,000 communities take about 7–9 s from dicts (``benchmarks/
    bench_posts.py``), of which pydantic validation is 2–4 s; the target is 30 s.
    Deterministic.

    Examples
    --------
    >>> import pbmatch
    >>> from pbmatch.datasets import synthetic_members, synthetic_posts
    >>> from pbmatch.problems.posts import assign_posts
    >>> graph = pbmatch.synthetic_district(seed=0)
    >>> members = synthetic_members(graph, seed=0)
    >>> posts = synthetic_posts(graph, seed=0)
    >>> result = assign_posts(members, posts, max_posts_per_member=2)
    >>> result.status, result.seats == len(result.to_pandas())
    ('optimal', True)
    >>> list(result.to_pandas().columns)
    ['member', 'post']
    """
    started = time.perf_counter()
    if (
        isinstance(max_posts_per_member, bool)
        or not isinstance(max_posts_per_member, numbers.Integral)
        or max_posts_per_member < 0
    ):
        raise InputError(
            f"max_posts_per_member is {max_posts_per_member!r}; it must be an int >= 0"
        )
    member_list = validate_items(members, Member, "members")
    post_list = validate_items(posts, ServicePost, "posts")
    if communities is not None:
        _check_communities(communities, member_list, post_list)

    n_m = len(member_list)
    codes: dict[str, int] = {}
    names = [m.community for m in member_list] + [p.community for p in post_list]
    comm = np.fromiter((codes.setdefault(c, len(codes)) for c in names), np.int64, len(names))
    n_comm = len(codes)
    member_comm, post_comm = comm[:n_m], comm[n_m:]
    m_mask, p_mask, m_count, p_count, vocabulary = _skill_masks(member_list, post_list)
    cap = np.array(
        [max_posts_per_member if m.max_posts is None else m.max_posts for m in member_list],
        dtype=np.int64,
    )
    headcount = np.array([p.headcount for p in post_list], dtype=np.int64)
    members_in = np.bincount(member_comm, minlength=n_comm)
    notes = _warnings(
        post_list,
        _missing_skills(m_mask, member_comm, p_mask, post_comm, n_comm),
        vocabulary,
        members_in,
        post_comm,
    )

    # Candidate pairs: same community, every required skill, room on both sides.
    post_of, member_of = _same_community_pairs(member_comm, post_comm)
    useful = (headcount[post_of] > 0) & (cap[member_of] > 0)
    post_of, member_of = post_of[useful], member_of[useful]
    ok = np.all((m_mask[member_of] & p_mask[post_of]) == p_mask[post_of], axis=1)
    post_of, member_of = post_of[ok], member_of[ok]
    fit = m_count[member_of] - p_count[post_of]

    result_status: Status = OPTIMAL
    message = "no member can fill any post"
    chosen = np.zeros(0, dtype=np.int64)
    if post_of.size:
        chosen, result_status, message = _solve(
            member_comm, post_comm, cap, headcount, post_of, member_of, fit
        )
    order = np.lexsort((post_of[chosen], member_of[chosen]))
    mi, pj = member_of[chosen][order], post_of[chosen][order]
    success = result_status in WITH_SOLUTION
    held = np.bincount(mi, minlength=n_m)
    ids_m = np.asarray([m.id for m in member_list] or [""], dtype=str)
    ids_p = np.asarray([p.id for p in post_list] or [""], dtype=str)
    seats = float(mi.size) if success else float("nan")
    return PostAssignmentResult(
        member_ids=ids_m[mi],
        post_ids=ids_p[pj],
        objective=seats,
        load_cost=int((held * (held - 1) // 2).sum()),
        fit_cost=int((m_count[mi] - p_count[pj]).sum()),
        status=result_status,
        members=tuple(member_list),
        posts=tuple(post_list),
        max_posts=cap,
        members_index=mi,
        posts_index=pj,
        message=message,
        bound=seats if result_status == OPTIMAL else None,
        wall_time=time.perf_counter() - started,
        warnings=tuple(notes),
    )


def _solve(
    member_comm: IntArray,
    post_comm: IntArray,
    cap: IntArray,
    headcount: IntArray,
    post_of: IntArray,
    member_of: IntArray,
    fit: IntArray,
) -> tuple[IntArray, Status, str]:
    """Encode one block per community, solve, return the chosen pair indices."""
    # Blocks: the communities with a candidate pair, in code order.
    pair_comm = post_comm[post_of]
    n_comm = int(max(member_comm.max(initial=0), post_comm.max(initial=0))) + 1
    live = np.flatnonzero(np.bincount(pair_comm, minlength=n_comm))
    block_of_comm = np.full(n_comm, -1, dtype=np.int64)
    block_of_comm[live] = np.arange(live.size)
    n_blocks = live.size
    pair_block = block_of_comm[pair_comm]

    # Nodes of a block: [source, sink, members..., posts...] (only those with a pair).
    m_deg = np.bincount(member_of, minlength=cap.size)
    p_deg = np.bincount(post_of, minlength=headcount.size)
    m_nodes = np.flatnonzero(m_deg)
    p_nodes = np.flatnonzero(p_deg)
    m_block = block_of_comm[member_comm[m_nodes]]
    p_block = block_of_comm[post_comm[p_nodes]]
    order_m = np.argsort(m_block, kind="stable")
    order_p = np.argsort(p_block, kind="stable")
    m_nodes, m_block = m_nodes[order_m], m_block[order_m]
    p_nodes, p_block = p_nodes[order_p], p_block[order_p]
    n_mb = np.bincount(m_block, minlength=n_blocks).astype(np.int64)
    n_pb = np.bincount(p_block, minlength=n_blocks).astype(np.int64)
    node_start = _offsets(2 + n_mb + n_pb)
    m_id = np.empty(cap.size, dtype=np.int64)
    m_id[m_nodes] = node_start[m_block] + 2 + np.arange(m_nodes.size) - _offsets(n_mb)[m_block]
    p_id = np.empty(headcount.size, dtype=np.int64)
    p_id[p_nodes] = (
        node_start[p_block] + 2 + n_mb[p_block] + np.arange(p_nodes.size) - _offsets(n_pb)[p_block]
    )
    source, sink = node_start[:-1], node_start[:-1] + 1

    # Capacities clipped to the pairs at each node (exact, and keeps the sums small).
    m_cap = np.minimum(cap, m_deg)[m_nodes]
    p_cap = np.minimum(headcount, p_deg)[p_nodes]
    seats_bound = np.minimum(
        np.bincount(m_block, weights=m_cap, minlength=n_blocks),
        np.bincount(p_block, weights=p_cap, minlength=n_blocks),
    ).astype(np.int64)
    fit_hi = np.full(n_blocks, np.iinfo(np.int64).min)
    fit_lo = np.full(n_blocks, np.iinfo(np.int64).max)
    np.maximum.at(fit_hi, pair_block, fit)
    np.minimum.at(fit_lo, pair_block, fit)
    weight = seats_bound * (fit_hi - fit_lo) + 1  # one unit of load outweighs any fit change

    # Source arcs: the k-th post of a member (k = 1..cap) costs W * (k - 1): convex load.
    slot_member = np.repeat(np.arange(m_nodes.size), m_cap)
    slot_k = np.arange(slot_member.size) - np.repeat(_offsets(m_cap)[:-1], m_cap)
    slot_block = m_block[slot_member]
    slot_cost = weight[slot_block] * slot_k
    largest = int(slot_cost.max(initial=0)) + int(fit.max(initial=0))

    block = np.concatenate([slot_block, pair_block, p_block])
    tails = np.concatenate([source[slot_block], m_id[member_of], p_id[p_nodes]])
    heads = np.concatenate([m_id[m_nodes][slot_member], p_id[post_of], sink[p_block]])
    caps = np.concatenate([np.ones(slot_block.size + pair_block.size, dtype=np.int64), p_cap])
    costs = np.concatenate([slot_cost, fit, np.zeros(p_block.size, dtype=np.int64)])
    order = np.argsort(block, kind="stable")
    arc_start = _offsets(np.bincount(block, minlength=n_blocks))
    supplies = np.zeros(int(node_start[-1]), dtype=np.int64)
    supplies[source] = np.bincount(m_block, weights=m_cap, minlength=n_blocks).astype(np.int64)
    supplies[sink] = -np.bincount(p_block, weights=p_cap, minlength=n_blocks).astype(np.int64)

    cuts = batches(arc_start)
    limit = cost_limit(int(np.diff(node_start[cuts]).max()), int(supplies[source].sum()))
    if largest > limit:
        return (
            np.zeros(0, dtype=np.int64),
            ERROR,
            f"the load weights need integer costs up to {largest}, above the safe limit "
            f"{limit} of SimpleMinCostFlow; split the largest community",
        )
    answer = solve_blocks(
        node_start,
        arc_start,
        tails[order],
        heads[order],
        caps[order],
        costs[order],
        supplies,
        maximise_flow=True,
    )
    if not answer.success:
        return np.zeros(0, dtype=np.int64), answer.status, answer.message
    flows = np.empty(order.size, dtype=np.int64)
    flows[order] = answer.flows
    pair_flow = flows[slot_block.size : slot_block.size + pair_block.size]
    return np.flatnonzero(pair_flow > 0).astype(np.int64), answer.status, answer.message
