"""Floating Party members (流动党员): members away from home placed with host organisations.

Encode → solve → decode. Each member goes to one host near where they now live or work,
within the host's capacity and its contact persons' reach (each follows at most
``per_contact`` members); the placement hosts the most members, then the least distance with
a preference for the same industry, exactly, by min-cost flow (:mod:`pbmatch.problems._flow`).
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import OPTIMAL, WITH_SOLUTION, Status
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.model import FloatingMember, Host, validate_items
from pbmatch.problems._flow import cost_limit, max_flow_min_cost
from pbmatch.results import FloatingResult
from pbmatch.scoring.components import haversine_km
from pbmatch.solvers.scaling import scale_scores

__all__ = ["host_floating_members"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_CHUNK = 1 << 22
"""Member × host distances computed this many at a time (bounds the memory of the scan)."""


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name} is {value!r}; it must be an int >= 1")
    return int(value)


def _number(value: Any, name: str, *, positive: bool) -> float:
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real)
    if not bad:
        bad = not math.isfinite(float(value)) or (value <= 0 if positive else value < 0)
    if bad:
        rule = "> 0" if positive else ">= 0"
        raise InputError(f"{name} is {value!r}; it must be a finite number {rule}")
    return float(value)


def _candidates(
    m_lat: FloatArray,
    m_lon: FloatArray,
    h_lat: FloatArray,
    h_lon: FloatArray,
    room: npt.NDArray[np.bool_],
    max_km: float | None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """(member, host, km) for every host with room within ``max_km``, member by member."""
    hosts = np.flatnonzero(room)
    members_out: list[IntArray] = []
    hosts_out: list[IntArray] = []
    km_out: list[FloatArray] = []
    step = max(1, _CHUNK // max(hosts.size, 1))
    for start in range(0, m_lat.size, step):
        rows = np.arange(start, min(start + step, m_lat.size), dtype=np.int64)
        km = haversine_km(
            m_lat[rows, None], m_lon[rows, None], h_lat[None, hosts], h_lon[None, hosts]
        )
        if max_km is None:
            i, j = np.nonzero(np.ones(km.shape, dtype=bool))
        else:
            i, j = np.nonzero(km <= max_km)
        members_out.append(rows[i])
        hosts_out.append(hosts[j])
        km_out.append(km[i, j])
    if not members_out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return np.concatenate(members_out), np.concatenate(hosts_out), np.concatenate(km_out)


def host_floating_members(
    members: Any,
    hosts: Any,
    *,
    max_km: float | None = None,
    industry_km: float = 5.0,
    per_contact: int = 5,
    branch_min: int = 3,
) -> FloatingResult:
    """Place floating Party members (流动党员) with host organisations near them, optimally.

    Each member goes to at most one host within ``max_km``; a host takes at most its
    ``capacity`` and at most ``per_contact`` members for each of its contact persons. The
    placement hosts the most members; among those, it has the least total distance, counting
    a host of another industry as ``industry_km`` farther. Hosts with ``branch_min`` or more
    members are flagged: enough for a temporary branch (临时党支部).

    Parameters
    ----------
    members : list of FloatingMember or dict, or a pandas DataFrame
        Fields ``id``, ``lat``, ``lon`` (where the member now is), optional ``industry``,
        ``home``.
    hosts : list of Host or dict, or a pandas DataFrame
        Fields ``id``, ``lat``, ``lon``, optional ``industry``, ``capacity``, ``contacts`` (at
        least one of the two).
    max_km : float, optional
        Most distance from a member to their host; ``None``: any distance (every member ×
        host pair is a candidate: pass a limit for large inputs).
    industry_km : float, default 5.0
        How much farther a host of the member's own industry may be and still be preferred
        (a member or host without an industry never matches).
    per_contact : int, default 5
        Most members one contact person follows (一名联系人联系 3–5 名党员).
    branch_min : int, default 3
        Members at one host that are enough for a temporary branch.

    Returns
    -------
    FloatingResult
        ``to_pandas()`` has ``member``, ``host``, ``distance_km``, ``same_industry``,
        ``contact``; ``host_summary()`` and ``branches`` give the hosts; ``unhosted`` the
        members no host could take.

    Raises
    ------
    InputError
        A bad record (missing location, negative capacity ...), a duplicated id, a bad option.

    Warns
    -----
    PrecisionWarning
        When rounding costs to the solver's integer grid made distinct costs equal.

    Notes
    -----
    A host's room is ``min(capacity, per_contact * contacts)`` (either limit alone when only
    one is given). The network is ``member (supply 1) -> host (cost = km + industry_km if the
    industries differ) -> (demand = room)``; OR-Tools' ``solve_max_flow_with_min_cost`` finds
    the maximum flow (most members hosted) and, among flows of that value, the least cost:
    the lexicographic optimum, exactly, with no dominating weight. Costs are rounded to an
    integer grid by :func:`pbmatch.solvers.scaling.scale_scores` (``resolution`` on the
    result, about 1e-9 km at these sizes).

    The members of a host are dealt in turn (nearest first) to ``ceil(n / per_contact)``
    contact persons, so with 3 or more members every contact follows 3–5 (``per_contact =
    5``); ``contact`` numbers them 1, 2, ...

    Cost: ``members × hosts`` distances in chunks, one min-cost flow on the pairs within
    ``max_km``. Deterministic.

    Examples
    --------
    >>> import pbmatch
    >>> from pbmatch.datasets import synthetic_floating
    >>> from pbmatch.problems.floating import host_floating_members
    >>> members, hosts = synthetic_floating(pbmatch.synthetic_district(seed=0), seed=0)
    >>> result = host_floating_members(members, hosts, max_km=5)
    >>> result.status, len(result) + len(result.unhosted) == len(members)
    ('optimal', True)
    >>> list(result.to_pandas().columns)
    ['member', 'host', 'distance_km', 'same_industry', 'contact']
    """
    started = time.perf_counter()
    if max_km is not None:
        max_km = _number(max_km, "max_km", positive=True)
    industry_km = _number(industry_km, "industry_km", positive=False)
    per_contact = _positive_int(per_contact, "per_contact")
    branch_min = _positive_int(branch_min, "branch_min")
    member_list = validate_items(members, FloatingMember, "members")
    host_list = validate_items(hosts, Host, "hosts")

    n_m, n_h = len(member_list), len(host_list)
    m_lat = np.array([m.lat for m in member_list], dtype=float)
    m_lon = np.array([m.lon for m in member_list], dtype=float)
    h_lat = np.array([h.lat for h in host_list], dtype=float)
    h_lon = np.array([h.lon for h in host_list], dtype=float)
    unlimited = max(n_m, 1)
    capacity = np.array(
        [
            min(
                unlimited if h.capacity is None else h.capacity,
                unlimited if h.contacts is None else per_contact * h.contacts,
            )
            for h in host_list
        ],
        dtype=np.int64,
    )
    pair_m, pair_h, km = _candidates(m_lat, m_lon, h_lat, h_lon, capacity > 0, max_km)
    m_industry = np.array([m.industry or "" for m in member_list] or [""], dtype=str)
    h_industry = np.array([h.industry or "" for h in host_list] or [""], dtype=str)
    same = (m_industry[pair_m] == h_industry[pair_h]) & (m_industry[pair_m] != "")
    cost = km + np.where(same, 0.0, industry_km)

    notes: list[str] = []
    reachable = np.bincount(pair_m, minlength=n_m) > 0
    if n_m and not reachable.all():
        lonely = np.flatnonzero(~reachable)
        notes.append(
            f"{lonely.size} members have no host with room within "
            f"{'any distance' if max_km is None else f'{max_km:g} km'} "
            f"(e.g. {member_list[int(lonely[0])].id!r})"
        )
    closed = [h.id for h, c in zip(host_list, capacity.tolist(), strict=True) if c == 0]
    if closed:
        notes.append(
            f"{len(closed)} hosts have no room (capacity or contacts 0), e.g. {closed[0]!r}"
        )

    status: Status = OPTIMAL
    message = "no member has a host with room in reach"
    resolution: float | None = None
    chosen = np.zeros(0, dtype=np.int64)
    if pair_m.size:
        room = np.minimum(capacity, np.bincount(pair_h, minlength=n_h))
        supplies = np.concatenate([reachable.astype(np.int64), -room])
        costs, scaling = scale_scores(cost, max_cost=cost_limit(n_m + n_h, n_m))
        resolution = scaling.resolution
        if scaling.merged:
            warnings.warn(
                f"host_floating_members: rounding costs to a grid of {scaling.resolution:.3g} "
                f"km made {scaling.merged} distinct costs equal",
                PrecisionWarning,
                stacklevel=2,
            )
        answer = max_flow_min_cost(
            n_m + n_h,
            pair_m,
            n_m + pair_h,
            np.ones(pair_m.size, dtype=np.int64),
            costs,
            supplies,
        )
        status, message = answer.status, answer.message
        if answer.success:
            chosen = np.flatnonzero(answer.flows > 0).astype(np.int64)

    # Order by host, then distance (nearest first), then member; deal contacts in turn.
    chosen = chosen[np.lexsort((pair_m[chosen], km[chosen], pair_h[chosen]))]
    hi, mi = pair_h[chosen], pair_m[chosen]
    per_host = np.bincount(hi, minlength=n_h)
    rank = np.arange(hi.size) - np.repeat(np.cumsum(per_host) - per_host, per_host)[: hi.size]
    contacts_used = -(-per_host // per_contact)
    contact = rank % np.maximum(contacts_used[hi], 1) + 1
    order = np.lexsort((mi, hi))  # host, then member: the documented row order
    chosen, hi, mi, contact = chosen[order], hi[order], mi[order], contact[order]
    success = status in WITH_SOLUTION
    ids_m = np.asarray([m.id for m in member_list] or [""], dtype=str)
    ids_h = np.asarray([h.id for h in host_list] or [""], dtype=str)
    hosted = float(chosen.size) if success else math.nan
    return FloatingResult(
        member_ids=ids_m[mi],
        host_ids=ids_h[hi],
        distance_km=km[chosen],
        same_industry=same[chosen],
        contact=contact.astype(np.int64),
        objective=hosted,
        cost_km=float(cost[chosen].sum()),
        status=status,
        members=tuple(member_list),
        hosts=tuple(host_list),
        capacity=capacity,
        members_index=mi,
        hosts_index=hi,
        max_km=max_km,
        industry_km=industry_km,
        per_contact=per_contact,
        branch_min=branch_min,
        resolution=resolution,
        message=message,
        bound=hosted if status == OPTIMAL else None,
        wall_time=time.perf_counter() - started,
        warnings=tuple(notes),
    )
