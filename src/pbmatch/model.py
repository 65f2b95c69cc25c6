"""Validated input records: regions, units and standing ties (pydantic v2).

Each model checks its own fields; :func:`validate_records` turns raw dicts into models and
checks the cross references (duplicate ids, unknown regions and parents, cycles in the region
tree, ties between unknown units). Every failure is an :class:`~pbmatch.InputError` naming the
item, the field, the value and what is allowed.

Chinese names are accepted for unit kinds (``机关`` → ``agency`` ...) and region levels
(``街道`` → ``street`` ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pbmatch.exceptions import InputError

__all__ = [
    "KINDS",
    "KIND_NAMES_ZH",
    "LEVELS",
    "LEVEL_NAMES_ZH",
    "RECEIVER_KINDS",
    "Kind",
    "Level",
    "Record",
    "Region",
    "Tie",
    "Unit",
    "validate_records",
]

Kind = Literal[
    "agency",
    "public_institution",
    "soe",
    "private_enterprise",
    "social_org",
    "school",
    "hospital",
    "community",
    "village",
    "military",
]
KINDS: tuple[str, ...] = get_args(Kind)
"""Unit kinds in code order (the ``kind_codes`` of a graph index into this)."""

KIND_NAMES_ZH: dict[str, str] = {
    "机关": "agency",
    "党政机关": "agency",
    "事业单位": "public_institution",
    "国有企业": "soe",
    "国企": "soe",
    "非公企业": "private_enterprise",
    "民营企业": "private_enterprise",
    "社会组织": "social_org",
    "学校": "school",
    "医院": "hospital",
    "社区": "community",
    "村": "village",
    "行政村": "village",
    "部队": "military",
}
"""Chinese unit-kind names and the identifiers they map to."""

RECEIVER_KINDS: frozenset[str] = frozenset({"community", "village"})
"""Kinds that receive co-building partners by default (社区, 村)."""

Level = Literal[
    "city", "district", "street", "township", "community", "village", "park", "building", "grid"
]
LEVELS: tuple[str, ...] = get_args(Level)
"""Region levels in code order."""

LEVEL_NAMES_ZH: dict[str, str] = {
    "市": "city",
    "区": "district",
    "县": "district",
    "区县": "district",
    "街道": "street",
    "乡镇": "township",
    "乡": "township",
    "镇": "township",
    "社区": "community",
    "村": "village",
    "园区": "park",
    "商务楼宇": "building",
    "楼宇": "building",
    "网格": "grid",
}
"""Chinese region-level names and the identifiers they map to."""


def _describe(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if not loc:
        return message
    field = loc[0]
    if error.get("type") == "missing":
        return f"field {field!r} is missing; it is required"
    where = f"field {field!r}" + (f" [{']['.join(loc[1:])}]" if len(loc) > 1 else "")
    return f"{where} has value {error.get('input')!r}: {message}"


_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Record(BaseModel):
    """Base of pbmatch's models: constructing one with bad fields raises ``InputError``.

    Pydantic's ``ValidationError`` becomes an :class:`~pbmatch.InputError` that names the
    record (by its ``id`` when it has one), the field, the value and the rule.
    """

    model_config = _STRICT

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            label = self._label(data)
            details = "; ".join(_describe(e) for e in exc.errors(include_url=False))
            raise InputError(f"{label}: {details}") from None

    @classmethod
    def from_pandas(cls, frame: Any) -> list[Any]:
        """Validate each row of a DataFrame as this model (needs pandas).

        Missing values (NaN, None) are left out, so fields take their defaults; a bad row
        raises :class:`~pbmatch.InputError` naming its index label, the field and the value.

        Examples
        --------
        >>> import pandas as pd
        >>> from pbmatch.model import Member
        >>> frame = pd.DataFrame({"id": ["m1"], "community": ["c1"], "skills": [["care"]]})
        >>> Member.from_pandas(frame)[0].community
        'c1'
        """
        from pbmatch.io import models_from_pandas

        return models_from_pandas(frame, cls)

    @classmethod
    def to_pandas(cls, items: Iterable[Record]) -> Any:
        """One DataFrame row per record, one column per field (needs pandas).

        Examples
        --------
        >>> from pbmatch.model import Tie
        >>> Tie.to_pandas([Tie(a="a1", b="c1", since=2021)]).to_dict("records")
        [{'a': 'a1', 'b': 'c1', 'since': 2021}]
        """
        from pbmatch.io import models_to_pandas

        return models_to_pandas(items)

    @classmethod
    def _label(cls, data: Mapping[str, Any]) -> str:
        ident = data.get("id")
        return f"{cls.__name__} {ident!r}" if ident else cls.__name__


def _translate(value: Any, names: Mapping[str, str], allowed: Sequence[str], what: str) -> Any:
    if isinstance(value, str):
        value = names.get(value.strip(), value.strip())
        if value not in allowed:
            raise ValueError(
                f"unknown {what} {value!r}; allowed: {', '.join(allowed)} "
                f"(or their Chinese names: {', '.join(names)})"
            )
    return value


class Region(Record):
    """A node of the region tree: district → street/township → community/village → grid.

    Parameters
    ----------
    id : str
        Unique region id.
    name : str
        Display name; defaults to the id.
    level : str
        One of :data:`LEVELS` (or its Chinese name, e.g. ``街道``).
    parent : str or None
        Id of the enclosing region; ``None`` for a root.

    Examples
    --------
    >>> Region(id="s1", name="东街街道", level="街道", parent="d1").level
    'street'
    """

    id: str = Field(min_length=1)
    name: str = ""
    level: Level
    parent: str | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _level_zh(cls, value: Any) -> Any:
        return _translate(value, LEVEL_NAMES_ZH, LEVELS, "level")

    @field_validator("parent", mode="before")
    @classmethod
    def _empty_parent(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _defaults(self) -> Region:
        if not self.name:
            object.__setattr__(self, "name", self.id)
        if self.parent == self.id:
            raise ValueError(
                f"parent {self.parent!r} is the region itself; a region cannot contain itself"
            )
        return self


def _check_quantities(value: Mapping[str, float], field: str) -> Mapping[str, float]:
    for category, quantity in value.items():
        if not category:
            raise ValueError(f"{field} has an empty category name; categories must be non-empty")
        if not math.isfinite(quantity) or quantity < 0:
            raise ValueError(
                f"{field} has quantity {quantity!r} for category {category!r}; "
                "quantities must be finite and >= 0"
            )
    return value


class Unit(Record):
    """A unit of the region (驻区单位, 社区, 村) with what it needs and offers.

    Parameters
    ----------
    id : str
        Unique unit id.
    name : str
        Display name; defaults to the id.
    kind : str
        One of :data:`KINDS` or its Chinese name (``机关``, ``社区`` ...).
    region : str
        Id of the region the unit sits in (usually a community, village, park or street).
    lat, lon : float or None
        WGS-84 coordinates in degrees; ``None`` when unknown.
    members : int
        Number of full Party members.
    max_partners : int or None
        Most co-building partners; ``None`` uses the default of the problem being solved.
    min_partners : int
        Fewest co-building partners (0: pairing is optional for this unit).
    offers, needs : dict of str to float
        Quantity offered / needed per category (hours, seats, people, yuan ...), all ``>= 0``.
    tags : list of str
        Free labels such as the industry.

    Examples
    --------
    >>> u = Unit(id="a1", kind="机关", region="s1", offers={"venue": 2}, max_partners=2)
    >>> u.kind, u.name, u.offers
    ('agency', 'a1', {'venue': 2.0})
    """

    id: str = Field(min_length=1)
    name: str = ""
    kind: Kind
    region: str = Field(min_length=1)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    members: int = Field(default=0, ge=0)
    max_partners: int | None = Field(default=None, ge=0)
    min_partners: int = Field(default=0, ge=0)
    offers: dict[str, float] = Field(default_factory=dict)
    needs: dict[str, float] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_zh(cls, value: Any) -> Any:
        return _translate(value, KIND_NAMES_ZH, KINDS, "kind")

    @field_validator("offers", "needs", mode="after")
    @classmethod
    def _quantities(cls, value: dict[str, float], info: Any) -> dict[str, float]:
        return dict(_check_quantities(value, info.field_name))

    @model_validator(mode="after")
    def _partners(self) -> Unit:
        if not self.name:
            object.__setattr__(self, "name", self.id)
        if self.max_partners is not None and self.min_partners > self.max_partners:
            raise ValueError(
                f"min_partners {self.min_partners} is greater than max_partners "
                f"{self.max_partners}; min_partners must be <= max_partners"
            )
        return self


class Tie(Record):
    """A standing co-building agreement (已有共建关系) between two units.

    Parameters
    ----------
    a, b : str
        The two unit ids (usually provider first, receiver second; the tie is undirected).
    since : int or None
        The year the agreement began.

    Examples
    --------
    >>> Tie(a="a1", b="c1", since=2021)
    Tie(a='a1', b='c1', since=2021)
    """

    a: str = Field(min_length=1)
    b: str = Field(min_length=1)
    since: int | None = Field(default=None, ge=1900, le=2200)

    @classmethod
    def _label(cls, data: Mapping[str, Any]) -> str:
        if data.get("a") and data.get("b"):
            return f"Tie {data['a']!r}-{data['b']!r}"
        return "Tie"

    @model_validator(mode="after")
    def _not_self(self) -> Tie:
        if self.a == self.b:
            raise ValueError(f"ties unit {self.a!r} with itself; a tie joins two different units")
        return self


M = TypeVar("M", bound=BaseModel)


def _coerce(model: type[M], items: Iterable[M | Mapping[str, Any]], what: str) -> list[M]:
    """Validate each item as ``model``; raise one InputError naming the first bad item."""
    out: list[M] = []
    for position, item in enumerate(items):
        if isinstance(item, model):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise InputError(
                f"{what} #{position} is a {type(item).__name__}; "
                f"expected a dict or {model.__name__}"
            )
        try:
            out.append(model(**{str(key): value for key, value in item.items()}))
        except InputError as exc:
            # Items without an id are named by their position in the input.
            message = str(exc).replace(f"{model.__name__}: ", f"{what} #{position}: ", 1)
            raise InputError(message) from None
    return out


def _check_region_tree(regions: Sequence[Region]) -> None:
    by_id: dict[str, Region] = {}
    for region in regions:
        if region.id in by_id:
            raise InputError(
                f"Region {region.id!r}: field 'id' is duplicated; region ids must be unique"
            )
        by_id[region.id] = region
    for region in regions:
        if region.parent is not None and region.parent not in by_id:
            raise InputError(
                f"Region {region.id!r}: field 'parent' has value {region.parent!r}, "
                "which is not a known region id"
            )
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in by_id:
        path: list[str] = []
        node: str | None = start
        while node is not None and state.get(node) != 2:
            if state.get(node) == 1:
                cycle = [*path[path.index(node) :], node]
                raise InputError(
                    f"Region {node!r}: field 'parent' closes a cycle {' -> '.join(cycle)}; "
                    "the region tree must not contain cycles"
                )
            state[node] = 1
            path.append(node)
            node = by_id[node].parent
        for visited in path:
            state[visited] = 2


def validate_records(
    units: Iterable[Unit | Mapping[str, Any]],
    regions: Iterable[Region | Mapping[str, Any]] = (),
    ties: Iterable[Tie | Mapping[str, Any]] = (),
) -> tuple[list[Unit], list[Region], list[Tie]]:
    """Validate units, regions and ties, including every cross reference.

    Parameters
    ----------
    units, regions, ties : iterables of models or dicts
        Dict keys are the models' field names.

    Returns
    -------
    units, regions, ties : lists of models

    Raises
    ------
    InputError
        On the first invalid item, naming its id, the field, the value and the rule.

    Examples
    --------
    >>> validate_records([{"id": "a1", "kind": "agency", "region": "nowhere"}],
    ...                  [{"id": "d1", "level": "district"}])
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: Unit 'a1': field 'region' has value 'nowhere', which is not ...
    """
    unit_list = _coerce(Unit, units, "Unit")
    region_list = _coerce(Region, regions, "Region")
    tie_list = _coerce(Tie, ties, "Tie")
    _check_region_tree(region_list)
    region_ids = {r.id for r in region_list}
    seen: set[str] = set()
    for unit in unit_list:
        if unit.id in seen:
            raise InputError(f"Unit {unit.id!r}: field 'id' is duplicated; unit ids must be unique")
        seen.add(unit.id)
        if unit.region not in region_ids:
            raise InputError(
                f"Unit {unit.id!r}: field 'region' has value {unit.region!r}, "
                "which is not a known region id"
            )
    pairs: set[frozenset[str]] = set()
    for tie in tie_list:
        for end in ("a", "b"):
            if getattr(tie, end) not in seen:
                raise InputError(
                    f"Tie {tie.a!r}-{tie.b!r}: field {end!r} has value {getattr(tie, end)!r}, "
                    "which is not a known unit id"
                )
        key = frozenset((tie.a, tie.b))
        if key in pairs:
            raise InputError(f"Tie {tie.a!r}-{tie.b!r}: duplicated; each pair of units has one tie")
        pairs.add(key)
    return unit_list, region_list, tie_list


# ---------------------------------------------------------------------------------------------
# Double reporting (双报到) and floating members (流动党员)
# ---------------------------------------------------------------------------------------------
_SKILL_SEPARATORS = ",，;；、|"


def _opaque(value: Any) -> Any:
    """Ids and community codes may arrive as numbers (Excel, pandas): keep them as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _skill_names(value: Any) -> Any:
    """``None``/NaN → no skills; ``"a, b、c"`` → ``("a", "b", "c")``; duplicates dropped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        for sep in _SKILL_SEPARATORS[1:]:
            value = value.replace(sep, _SKILL_SEPARATORS[0])
        value = [part for part in value.split(_SKILL_SEPARATORS[0]) if part.strip()]
    elif isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        out = tuple(dict.fromkeys(v.strip() if isinstance(v, str) else v for v in value))
        if "" in out:
            raise ValueError("a skill name is empty; skills must be non-empty names")
        return out
    return value


def _no_industry(value: Any) -> Any:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


class Member(Record):
    """An in-service Party member (在职党员) reporting to their home community (双报到).

    Parameters
    ----------
    id : str
        Unique, opaque member id (never a national ID or phone number).
    community : str
        Id of the community (社区) or village (村) the member lives in.
    skills : sequence of str or str
        What the member can do; a string is split at ``,``, ``，``, ``;``, ``；``, ``、``, ``|``.
    max_posts : int or None
        Most service posts for this member; ``None`` uses the problem's default.
    name : str
        Display name (optional).

    Examples
    --------
    >>> Member(id="m1", community="S1-C01", skills="法律咨询、助老").skills
    ('法律咨询', '助老')
    >>> Member(id=7, community=101).id
    '7'
    """

    id: str = Field(min_length=1)
    community: str = Field(min_length=1)
    skills: tuple[str, ...] = ()
    max_posts: int | None = Field(default=None, ge=0)
    name: str = ""

    _ids = field_validator("id", "community", mode="before")(_opaque)
    _skills = field_validator("skills", mode="before")(_skill_names)


class ServicePost(Record):
    """A service post (服务岗位) or micro-wish (微心愿) of a community.

    Parameters
    ----------
    id : str
        Unique post id.
    community : str
        Id of the community or village that offers the post.
    skills : sequence of str or str
        Skills the post requires, all of them (split like :class:`Member` skills).
    headcount : int
        Seats of the post, ``>= 0`` (default 1).
    name : str
        Display name, e.g. ``"楼栋长"``.

    Examples
    --------
    >>> ServicePost(id="p1", community="S1-C01", skills=["legal"], headcount=2).headcount
    2
    """

    id: str = Field(min_length=1)
    community: str = Field(min_length=1)
    skills: tuple[str, ...] = ()
    headcount: int = Field(default=1, ge=0)
    name: str = ""

    _ids = field_validator("id", "community", mode="before")(_opaque)
    _skills = field_validator("skills", mode="before")(_skill_names)


class FloatingMember(Record):
    """A floating Party member (流动党员): away from home, located where they now live or work.

    Parameters
    ----------
    id : str
        Unique, opaque member id.
    lat, lon : float
        WGS-84 degrees of where the member now is.
    industry : str or None
        The member's industry (e.g. one of :data:`pbmatch.datasets.INDUSTRIES`).
    home : str or None
        Id of the home organisation (流出地党组织), kept for reports.

    Examples
    --------
    >>> FloatingMember(id="f1", lat=30.2, lon=120.1, industry="").industry is None
    True
    """

    id: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    industry: str | None = None
    home: str | None = None

    _ids = field_validator("id", mode="before")(_opaque)
    _industry = field_validator("industry", "home", mode="before")(_no_industry)


class Host(Record):
    """A host organisation (流入地党组织) that can take floating members in.

    Parameters
    ----------
    id : str
        Unique host id (often a unit id of a :class:`~pbmatch.graph.RegionGraph`).
    lat, lon : float
        WGS-84 degrees.
    industry : str or None
        The host's industry; members of the same industry are preferred.
    capacity : int or None
        Most members the host takes; ``None``: only the contacts limit it.
    contacts : int or None
        Contact persons (联系人); each follows at most 5 members (the problem's
        ``per_contact``); ``None``: only ``capacity`` limits it. At least one of the two.
    name : str
        Display name.

    Examples
    --------
    >>> Host(id="h1", lat=30.2, lon=120.1, contacts=2).capacity is None
    True
    >>> Host(id="h2", lat=30.2, lon=120.1)
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: Host 'h2': neither capacity nor contacts is given; ...
    """

    id: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    industry: str | None = None
    capacity: int | None = Field(default=None, ge=0)
    contacts: int | None = Field(default=None, ge=0)
    name: str = ""

    _ids = field_validator("id", mode="before")(_opaque)
    _industry = field_validator("industry", mode="before")(_no_industry)

    @model_validator(mode="after")
    def _limited(self) -> Host:
        if self.capacity is None and self.contacts is None:
            raise ValueError(
                "neither capacity nor contacts is given; give the most members it takes, "
                "its number of contact persons, or both"
            )
        return self


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def validate_items(items: Any, model: type[M], what: str) -> list[M]:
    """Validate records given as model objects, dicts or a pandas DataFrame; ids unique.

    Parameters
    ----------
    items : iterable of model or dict, or a DataFrame
        A DataFrame's columns are the model's field names; NaN cells count as missing.
    model : type
        :class:`Member`, :class:`ServicePost`, :class:`FloatingMember`, :class:`Host` ...
    what : str
        The name of the argument, for messages (``"members"``).

    Returns
    -------
    list of model

    Raises
    ------
    InputError
        On the first bad record (naming its id or position, the field and the value), or a
        duplicated id.

    Examples
    --------
    >>> validate_items([{"id": "m1", "community": "c1"}, {"id": "m1", "community": "c2"}],
    ...                Member, "members")
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: Member 'm1': field 'id' is duplicated in members; ...
    """
    if isinstance(items, (str, bytes, Mapping)):
        raise InputError(
            f"{what} is a {type(items).__name__}; pass a list of records (dicts or "
            f"{model.__name__} objects) or a pandas DataFrame"
        )
    if hasattr(items, "to_dict") and hasattr(items, "columns"):
        rows = items.to_dict("records")
        items = [{k: v for k, v in row.items() if not _is_missing(v)} for row in rows]
    try:
        records = _coerce(model, items, model.__name__)
    except TypeError:
        raise InputError(
            f"{what} is a {type(items).__name__}; pass a list of records or a DataFrame"
        ) from None
    seen: set[str] = set()
    for record in records:
        ident = getattr(record, "id", None)
        if ident is None:
            continue
        if ident in seen:
            raise InputError(
                f"{model.__name__} {ident!r}: field 'id' is duplicated in {what}; "
                "ids must be unique"
            )
        seen.add(ident)
    return records


__all__ += ["FloatingMember", "Host", "Member", "ServicePost", "validate_items"]


# ---------------------------------------------------------------------------------------------
# Projects list (项目清单)
# ---------------------------------------------------------------------------------------------
class Project(Record):
    """A project of the projects list (项目清单), staffed by contributions of several units.

    Parameters
    ----------
    id : str
        Unique project id.
    owner : str
        Id of the unit (often a community or village) that runs the project.
    needs : dict of str to float
        Quantity needed per category (categories of the graph), each ``> 0``; at least one.
    max_units : int or None
        Most contributing units; ``None`` uses the problem's default.
    divisible : bool
        ``True``: a part of the needs may be met (the value is the share met); ``False``:
        staffed fully or not at all.
    priority : float
        Weight of the project (``> 0``), default 1.
    name : str
        Display name.

    Examples
    --------
    >>> Project(id="p1", owner="S1-C01", needs={"venue": 2, "volunteers": 5}).max_units is None
    True
    >>> Project(id="p2", owner="S1-C01", needs={})
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: Project 'p2': field 'needs' has value {}: needs is empty; ...
    """

    id: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    needs: dict[str, float]
    max_units: int | None = Field(default=None, ge=1)
    divisible: bool = False
    priority: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    name: str = ""

    _ids = field_validator("id", "owner", mode="before")(_opaque)

    @field_validator("needs", mode="after")
    @classmethod
    def _positive_needs(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("needs is empty; a project needs at least one category")
        _check_quantities(value, "needs")
        zero = [c for c, q in value.items() if q <= 0]
        if zero:
            raise ValueError(
                f"needs has quantity 0 for category {zero[0]!r}; list only what is needed (> 0)"
            )
        return dict(value)


__all__ += ["Project"]
