"""Validation of units, regions and ties: every bad input names the id, field and value."""

from __future__ import annotations

from typing import Any

import pytest

from pbmatch import InputError
from pbmatch.model import KIND_NAMES_ZH, KINDS, Region, Unit, validate_records

REGIONS = [
    {"id": "D1", "level": "district"},
    {"id": "S1", "level": "街道", "parent": "D1"},
    {"id": "C1", "level": "社区", "parent": "S1"},
]


def unit(**fields: Any) -> dict[str, Any]:
    return {"id": "u1", "kind": "agency", "region": "C1", **fields}


def test_chinese_kind_names_map_to_identifiers() -> None:
    for zh, kind in KIND_NAMES_ZH.items():
        assert Unit(id="x", kind=zh, region="C1").kind == kind
    assert set(KIND_NAMES_ZH.values()) == set(KINDS)


def test_chinese_level_names() -> None:
    assert Region(id="t", level="乡镇").level == "township"
    assert Region(id="p", level="园区", parent="t").level == "park"


def test_valid_records_round_trip() -> None:
    units, regions, ties = validate_records(
        [unit(offers={"venue": 3}), unit(id="c1", kind="社区", needs={"venue": 2})],
        REGIONS,
        [{"a": "u1", "b": "c1", "since": 2020}],
    )
    assert [u.id for u in units] == ["u1", "c1"]
    assert units[1].kind == "community" and units[0].offers == {"venue": 3.0}
    assert regions[1].level == "street" and ties[0].since == 2020


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"lat": 91.0}, ["'u1'", "lat", "91"]),
        ({"lon": -181}, ["'u1'", "lon", "-181"]),
        ({"lat": float("nan")}, ["'u1'", "lat", "nan"]),
        ({"offers": {"venue": -3}}, ["'u1'", "offers", "-3", "venue", ">= 0"]),
        ({"needs": {"venue": float("inf")}}, ["'u1'", "needs", "inf", "venue"]),
        ({"min_partners": 3, "max_partners": 1}, ["'u1'", "min_partners 3", "max_partners 1"]),
        ({"max_partners": -1}, ["'u1'", "max_partners", "-1"]),
        ({"members": -2}, ["'u1'", "members", "-2"]),
        ({"kind": "bank"}, ["'u1'", "kind", "'bank'", "agency", "机关"]),
        ({"colour": "red"}, ["'u1'", "colour", "red"]),
        ({"region": "nowhere"}, ["'u1'", "region", "'nowhere'"]),
    ],
)
def test_bad_unit_names_id_field_and_value(fields: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(InputError) as info:
        validate_records([unit(**fields)], REGIONS)
    assert isinstance(info.value, ValueError)
    for text in expected:
        assert text in str(info.value)


def test_missing_field_is_named() -> None:
    with pytest.raises(InputError, match=r"Unit #0: field 'id' is missing"):
        validate_records([{"kind": "agency", "region": "C1"}], REGIONS)


def test_not_a_dict() -> None:
    with pytest.raises(InputError, match=r"Unit #0 is a list"):
        validate_records([["u1"]], REGIONS)  # type: ignore[list-item]


def test_duplicate_unit_id() -> None:
    with pytest.raises(InputError, match=r"Unit 'u1': field 'id' is duplicated"):
        validate_records([unit(), unit()], REGIONS)


def test_duplicate_region_id() -> None:
    with pytest.raises(InputError, match=r"Region 'S1': field 'id' is duplicated"):
        validate_records([], [*REGIONS, {"id": "S1", "level": "street"}])


def test_unknown_parent() -> None:
    with pytest.raises(InputError, match=r"Region 'S2': field 'parent' has value 'D9'"):
        validate_records([], [*REGIONS, {"id": "S2", "level": "street", "parent": "D9"}])


def test_region_cycle_is_named() -> None:
    regions = [
        {"id": "A", "level": "street", "parent": "B"},
        {"id": "B", "level": "district", "parent": "C"},
        {"id": "C", "level": "district", "parent": "A"},
    ]
    with pytest.raises(InputError, match=r"cycle .*A.*B.*C"):
        validate_records([], regions)


def test_region_is_own_parent() -> None:
    with pytest.raises(InputError, match=r"Region 'A'.*itself"):
        validate_records([], [{"id": "A", "level": "street", "parent": "A"}])


def test_unknown_level() -> None:
    with pytest.raises(InputError, match=r"Region 'X': field 'level' has value 'metropolis'"):
        validate_records([], [{"id": "X", "level": "metropolis"}])


def test_tie_checks() -> None:
    units = [unit(), unit(id="c1", kind="community")]
    with pytest.raises(InputError, match=r"Tie 'u1'-'zz': field 'b' has value 'zz'"):
        validate_records(units, REGIONS, [{"a": "u1", "b": "zz"}])
    with pytest.raises(InputError, match=r"'u1'.*itself"):
        validate_records(units, REGIONS, [{"a": "u1", "b": "u1"}])
    with pytest.raises(InputError, match=r"duplicated"):
        validate_records(units, REGIONS, [{"a": "u1", "b": "c1"}, {"a": "c1", "b": "u1"}])
    with pytest.raises(InputError, match=r"since.*1800"):
        validate_records(units, REGIONS, [{"a": "u1", "b": "c1", "since": 1800}])


@pytest.mark.parametrize("name", ["members", "posts", "floating", "hosts", "projects", "units"])
def test_records_round_trip_through_pandas(name: str) -> None:
    pytest.importorskip("pandas")
    import pbmatch
    from pbmatch import datasets
    from pbmatch.model import FloatingMember, Host, Member, Project, ServicePost

    graph = pbmatch.synthetic_district(seed=3)
    floating, hosts = datasets.synthetic_floating(graph, seed=3, n=40)
    rows: dict[str, tuple[type[Any], list[dict[str, Any]]]] = {
        "members": (Member, datasets.synthetic_members(graph, seed=3)[:50]),
        "posts": (ServicePost, datasets.synthetic_posts(graph, seed=3)[:50]),
        "floating": (FloatingMember, floating),
        "hosts": (Host, hosts),
        "projects": (Project, datasets.synthetic_projects(graph, seed=3)),
        "units": (Unit, [u.model_dump() for u in graph.units][:50]),
    }
    model, records = rows[name]
    items = [model(**r) for r in records]
    assert items, name
    frame = model.to_pandas(items)
    assert len(frame) == len(items)
    assert model.from_pandas(frame) == items


def test_records_from_pandas_name_the_bad_row() -> None:
    pd = pytest.importorskip("pandas")
    from pbmatch.model import ServicePost

    frame = pd.DataFrame(
        {"id": ["p1", "p2"], "community": ["c1", "c2"], "headcount": [2, -1]},
        index=[10, 11],
    )
    with pytest.raises(InputError, match=r"11.*headcount.*-1"):
        ServicePost.from_pandas(frame)
