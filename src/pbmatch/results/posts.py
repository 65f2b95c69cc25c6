"""Results of :func:`pbmatch.assign_posts` (双报到) and :func:`pbmatch.host_floating_members`
(流动党员): :class:`PostAssignmentResult`, :class:`FloatingResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status
from pbmatch.results._base import FloatArray, Result, histogram, more

__all__ = ["FloatingResult", "PostAssignmentResult"]


@dataclass(frozen=True, repr=False)
class PostAssignmentResult(Result):
    """The answer of :func:`pbmatch.assign_posts`: members on service posts (双报到).

    :meth:`to_pandas` and :meth:`to_records` have one row per filled seat: ``member``,
    ``post``; :meth:`to_networkx` one edge per seat, ``member`` -> ``post``.

    Attributes
    ----------
    member_ids, post_ids : ndarray of str
        One entry per filled seat, sorted by member then post (input order).
    objective : float
        Seats filled (NaN without a solution).
    load_cost : int
        ``sum(k * (k - 1) / 2)`` over members with ``k`` posts: 0 when nobody has two posts;
        least among assignments that fill the most seats.
    fit_cost : int
        Total unneeded skills: for each seat, the member's skills the post does not require;
        least among assignments that fill the most seats with the least ``load_cost``.
    status, message, wall_time, bound
        As on :class:`MatchResult`.
    members, posts : tuple of Member, tuple of ServicePost
        The validated input.
    max_posts : ndarray of int
        Most posts of each member as solved (its own ``max_posts`` or the default).
    members_index, posts_index : ndarray of int
        Positions of each seat's member and post in ``members`` and ``posts``.
    warnings : tuple of str
        Posts no member of their community can fill (a skill nobody there has, or nobody
        there at all).
    """

    member_ids: npt.NDArray[np.str_]
    post_ids: npt.NDArray[np.str_]
    objective: float
    load_cost: int
    fit_cost: int
    status: Status
    members: tuple[Any, ...]
    posts: tuple[Any, ...]
    max_posts: npt.NDArray[np.int64]
    members_index: npt.NDArray[np.int64]
    posts_index: npt.NDArray[np.int64]
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    warnings: tuple[str, ...] = ()

    _ITEMS = "member_ids"
    _EDGE = ("member", "post")

    @property
    def seats(self) -> int:
        """Seats filled."""
        return len(self)

    @property
    def seats_offered(self) -> int:
        """Total headcount of the posts."""
        return int(sum(p.headcount for p in self.posts))

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The filled seats as ``(member, post)`` tuples."""
        return list(zip(self.member_ids.tolist(), self.post_ids.tolist(), strict=True))

    def posts_per_member(self) -> dict[int, int]:
        """Histogram: number of posts → number of members."""
        counts = np.bincount(self.members_index, minlength=len(self.members)).astype(np.int64)
        return histogram(counts)

    def unfilled(self) -> list[dict[str, Any]]:
        """Posts with empty seats: ``post``, ``community``, ``headcount``, ``filled``."""
        filled = np.bincount(self.posts_index, minlength=len(self.posts))
        return [
            {"post": p.id, "community": p.community, "headcount": p.headcount, "filled": int(f)}
            for p, f in zip(self.posts, filled.tolist(), strict=True)
            if f < p.headcount
        ]

    def report(self) -> str:
        """A readable summary: seats filled, load, fit, unfilled posts and warnings."""
        offered = self.seats_offered
        share = 100 * self.seats / offered if offered else 100.0
        hist = self.posts_per_member()
        unfilled = self.unfilled()
        lines = [
            f"Post assignment (双报到): {self.status}, {self.seats} of {offered} seats filled "
            f"({share:.1f}%), {len(self.members)} members, {len(self.posts)} posts, "
            f"{self.wall_time:.3f} s",
            "Posts per member: "
            + (
                ", ".join(f"{k} post{'s' if k != 1 else ''}: {v}" for k, v in hist.items())
                or "no members"
            ),
            f"Load cost {self.load_cost} (pairs of posts held by one member); unneeded skills "
            f"{self.fit_cost}",
            f"Posts with empty seats: {len(unfilled)}"
            + (f" ({more([u['post'] for u in unfilled])})" if unfilled else ""),
        ]
        return self._end_report(lines, self.warnings)

    def _table_columns(self) -> dict[str, Any]:
        return {"member": self.member_ids, "post": self.post_ids}

    def _repr_parts(self) -> list[str]:
        return [
            f"seats={self.seats}",
            f"load_cost={self.load_cost}",
            f"fit_cost={self.fit_cost}",
        ]


@dataclass(frozen=True, repr=False)
class FloatingResult(Result):
    """The answer of :func:`pbmatch.host_floating_members`: members placed with hosts.

    :meth:`to_pandas` and :meth:`to_records` have one row per hosted member: ``member``,
    ``host``, ``distance_km``, ``same_industry``, ``contact``; :meth:`to_networkx` one edge
    per placement, ``member`` -> ``host``.

    Attributes
    ----------
    member_ids, host_ids : ndarray of str
        One entry per hosted member, sorted by host then member (input order).
    distance_km : ndarray of float
        Great-circle distance from the member to the host.
    same_industry : ndarray of bool
        Whether member and host share an industry.
    contact : ndarray of int
        Which of the host's contact persons (1, 2, ...) follows the member: members of a host
        are dealt to ``ceil(n / per_contact)`` contacts in turn, so each follows 3–5 when the
        host has 3 or more.
    objective : float
        Members hosted (NaN without a solution).
    cost_km : float
        ``sum(distance_km + industry_km * (not same_industry))``: least among placements that
        host the most members.
    status, message, wall_time, resolution, bound
        As on :class:`MatchResult`.
    members, hosts : tuple of FloatingMember, tuple of Host
        The validated input.
    capacity : ndarray of int
        Most members of each host as solved: ``min(capacity, per_contact * contacts)``.
    members_index, hosts_index : ndarray of int
        Positions of each placement's member and host in ``members`` and ``hosts``.
    max_km, industry_km, per_contact, branch_min
        The rules solved with.
    warnings : tuple of str
    """

    member_ids: npt.NDArray[np.str_]
    host_ids: npt.NDArray[np.str_]
    distance_km: FloatArray
    same_industry: npt.NDArray[np.bool_]
    contact: npt.NDArray[np.int64]
    objective: float
    cost_km: float
    status: Status
    members: tuple[Any, ...]
    hosts: tuple[Any, ...]
    capacity: npt.NDArray[np.int64]
    members_index: npt.NDArray[np.int64]
    hosts_index: npt.NDArray[np.int64]
    max_km: float | None = None
    industry_km: float = 0.0
    per_contact: int = 5
    branch_min: int = 3
    resolution: float | None = None
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    warnings: tuple[str, ...] = ()

    _ITEMS = "member_ids"
    _EDGE = ("member", "host")

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The placements as ``(member, host)`` tuples."""
        return list(zip(self.member_ids.tolist(), self.host_ids.tolist(), strict=True))

    @property
    def unhosted(self) -> list[str]:
        """Ids of the members no host took (none within ``max_km`` had room)."""
        hosted = np.zeros(len(self.members), dtype=bool)
        hosted[self.members_index] = True
        return [m.id for m, h in zip(self.members, hosted.tolist(), strict=True) if not h]

    def host_summary(self) -> list[dict[str, Any]]:
        """One dict per host that took members: ``host``, ``members``, ``capacity``,
        ``contacts_needed``, ``branch`` (enough members, ``branch_min`` or more, for a
        temporary branch 临时党支部)."""
        counts = np.bincount(self.hosts_index, minlength=len(self.hosts))
        return [
            {
                "host": h.id,
                "members": int(n),
                "capacity": int(cap),
                "contacts_needed": -(-int(n) // self.per_contact),
                "branch": bool(n >= self.branch_min),
            }
            for h, n, cap in zip(self.hosts, counts.tolist(), self.capacity.tolist(), strict=True)
            if n > 0
        ]

    @property
    def branches(self) -> list[str]:
        """Ids of the hosts with enough members for a temporary branch."""
        return [row["host"] for row in self.host_summary() if row["branch"]]

    def report(self) -> str:
        """A readable summary: members hosted, distance, industry, branches, unhosted."""
        n = len(self.members)
        unhosted = self.unhosted
        share = 100 * len(self) / n if n else 100.0
        same = int(self.same_industry.sum())
        mean_km = float(self.distance_km.mean()) if len(self) else 0.0
        summary = self.host_summary()
        lines = [
            f"Floating members (流动党员): {self.status}, {len(self)} of {n} hosted "
            f"({share:.1f}%) by {len(summary)} hosts, {self.wall_time:.3f} s",
            f"Distance: mean {mean_km:.2f} km, total {float(self.distance_km.sum()):.2f} km; "
            f"same industry: {same} of {len(self)}",
            f"Hosts with {self.branch_min}+ members (temporary branch possible): "
            f"{len(self.branches)} ({more(self.branches)})",
            f"Contact persons needed: {sum(r['contacts_needed'] for r in summary)} "
            f"(each follows at most {self.per_contact})",
            f"Unhosted: {len(unhosted)} ({more(unhosted)})",
        ]
        return self._end_report(lines, self.warnings)

    def _table_columns(self) -> dict[str, Any]:
        return {
            "member": self.member_ids,
            "host": self.host_ids,
            "distance_km": self.distance_km,
            "same_industry": self.same_industry,
            "contact": self.contact,
        }

    def _repr_parts(self) -> list[str]:
        return [f"hosted={len(self)} of {len(self.members)}", f"cost_km={self.cost_km:.6g}"]
