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
from pbmatch.scoring.components import EARTH_RADIUS_KM, haversine_km
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


_ADAPTERS: dict[type[Any], Any] = {}


def _list_adapter(model: type[Any]) -> Any:
    """A cached pydantic ``TypeAdapter(list[model])``."""
    if model not in _ADAPTERS:
        from pydantic import TypeAdapter

        _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return _ADAPTERS[model]


def _records(items: Any, model: type[Any], what: str) -> list[Any]:
    """``validate_items(items, model, what)``, faster for a list of plain records.

    A list or tuple is validated in one pydantic call (no Python wrapper per record); when
    that fails, or an id repeats, :func:`~pbmatch.model.validate_items` validates again to
    raise its own error, naming the record, the field and the value.
    """
    if isinstance(items, (list, tuple)):
        from pydantic import ValidationError

        try:
            records: list[Any] = _list_adapter(model).validate_python(list(items))
        except (ValidationError, InputError, TypeError, ValueError):
            pass
        else:
            if len({r.id for r in records}) == len(records):
                return records
    return validate_items(items, model, what)


def _candidates(
    m_lat: FloatArray,
    m_lon: FloatArray,
    h_lat: FloatArray,
    h_lon: FloatArray,
    room: npt.NDArray[np.bool_],
    max_km: float | None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """(member, host, km) for every host with room within ``max_km``, by member then host.

    With ``max_km``, only the hosts in the member's band of latitude are measured, and of
    those only the ones near enough in longitude: a point ``d`` km away differs in latitude by
    at most ``d / R`` radians (the meridian is the shortest way north or south), and in
    longitude by at most what the haversine allows at the highest latitude, so neither test
    loses a pair. Without, every pair.
    """
    hosts = np.flatnonzero(room)
    wide = 360.0  # longitude difference that can still be within max_km (degrees)
    if max_km is None:
        lo = np.zeros(m_lat.size, dtype=np.int64)
        hi = np.full(m_lat.size, hosts.size, dtype=np.int64)
        by_lat = hosts
    else:
        by_lat = hosts[np.argsort(h_lat[hosts], kind="stable")]
        band = math.degrees(max_km / EARTH_RADIUS_KM) * (1 + 1e-9) + 1e-12
        sorted_lat = h_lat[by_lat]
        lo = np.searchsorted(sorted_lat, m_lat - band, side="left").astype(np.int64)
        hi = np.searchsorted(sorted_lat, m_lat + band, side="right").astype(np.int64)
        # The haversine's h >= cos(lat1) cos(lat2) sin^2(dlon / 2): with every |lat| below
        # `top`, a pair within max_km differs in longitude by at most `wide`.
        top = max(float(np.abs(m_lat).max(initial=0.0)), float(np.abs(h_lat).max(initial=0.0)))
        reach = math.sin(max_km / (2 * EARTH_RADIUS_KM)) / max(math.cos(math.radians(top)), 1e-12)
        if reach < 1.0:
            wide = math.degrees(2 * math.asin(reach)) * (1 + 1e-9) + 1e-12
    counts = hi - lo
    ends = np.cumsum(counts)
    members_out: list[IntArray] = []
    hosts_out: list[IntArray] = []
    km_out: list[FloatArray] = []
    start = 0
    while start < m_lat.size:  # members in chunks of about _CHUNK pairs
        base = int(ends[start] - counts[start])  # pairs before the chunk
        stop = max(int(np.searchsorted(ends, base + _CHUNK, side="right")), start + 1)
        rows = np.arange(start, stop, dtype=np.int64)
        member = np.repeat(rows, counts[rows])
        first = np.repeat(ends[rows] - counts[rows] - base, counts[rows])
        host = by_lat[lo[member] + np.arange(member.size) - first]
        if wide < 180.0:
            dlon = np.abs(m_lon[member] - h_lon[host])
            near = np.flatnonzero(np.minimum(dlon, 360.0 - dlon) <= wide)
            member, host = member[near], host[near]
        km = haversine_km(m_lat[member], m_lon[member], h_lat[host], h_lon[host])
        keep = np.arange(km.size) if max_km is None else np.flatnonzero(km <= max_km)
        keep = keep[np.argsort(member[keep] * h_lat.size + host[keep], kind="stable")]
        members_out.append(member[keep])  # by member, then host
        hosts_out.append(host[keep])
        km_out.append(km[keep])
        start = stop
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

    Cost: with ``max_km``, distances only to the hosts in each member's band of latitude and
    longitude that can be that near (exact: the band follows from the haversine), else all
    ``members × hosts``, in chunks; one min-cost flow on the pairs within ``max_km``. A list
    of records is validated in one pydantic call. Deterministic.

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
    member_list = _records(members, FloatingMember, "members")
    host_list = _records(hosts, Host, "hosts")

    n_m, n_h = len(member_list), len(host_list)
    m_lat = np.fromiter((m.lat for m in member_list), dtype=float, count=n_m)
    m_lon = np.fromiter((m.lon for m in member_list), dtype=float, count=n_m)
    h_lat = np.fromiter((h.lat for h in host_list), dtype=float, count=n_h)
    h_lon = np.fromiter((h.lon for h in host_list), dtype=float, count=n_h)
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
    # Industries as integer codes (-1: none), compared per pair.
    names: dict[str, int] = {}
    m_code = np.fromiter(
        (names.setdefault(m.industry, len(names)) if m.industry else -1 for m in member_list),
        dtype=np.int64,
        count=n_m,
    )
    h_code = np.fromiter(
        (names.get(h.industry, -2) if h.industry else -2 for h in host_list),
        dtype=np.int64,
        count=n_h,
    )  # -2: none, or an industry no member has
    same = m_code[pair_m] == h_code[pair_h]
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
