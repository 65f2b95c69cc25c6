"""Files in and out: workbooks in Chinese and English, CSV, JSON, GeoJSON, pandas, networkx."""

from __future__ import annotations

import csv
import datetime as dt
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pbmatch
from pbmatch import InputError, RegionGraph
from pbmatch import io as pio

openpyxl = pytest.importorskip("openpyxl")

Sheets = dict[str, Sequence[Sequence[Any]]]

DOCS_EXAMPLE = Path(__file__).parents[1] / "docs" / "examples"

ZH: Sheets = {
    "区域": [
        ["区域编号", "区域名称", "层级", "上级区域"],
        ["D1", "青山区", "区", None],
        ["S1", "东湖街道", "街道", "D1"],
        ["C1", "幸福社区", "社区", "S1"],
        ["C2", "和平社区", "社区", "S1"],
    ],
    "单位": [
        # Columns in another order, a remarks column, numeric ids and a blank row.
        [
            "单位名称",
            "单位编号",
            "单位类型",
            "所属区域",
            "经度",
            "纬度",
            "党员数",
            "最多结对数",
            "最少结对数",
            "备注",
        ],
        ["区司法局", 1001, "机关", "S1", 120.15, 30.27, 12, 2, None, "牵头单位"],
        ["华创科技有限公司", 1002, "非公企业", "S1", 120.16, 30.26, 3, None, None, None],
        [None, None, None, None, None, None, None, None, None, None],
        ["幸福社区", "C1", "社区", "C1", 120.155, 30.275, 40, 5, 1, None],
        ["和平社区", "C2", "社区", "C2", 120.158, 30.268, 35, None, 1, None],
    ],
    "资源清单": [
        ["单位编号", "类别", "数量"],
        [1001, "法律咨询", 4],
        [1002, "就业岗位", 3],
        [1002, "就业岗位", 2],  # the same category twice: quantities add up
        ["C1", "活动场地", 1],
    ],
    "需求清单": [
        ["单位编号", "类别", "数量"],
        ["C1", "法律咨询", 2],
        ["C1", "就业岗位", 4],
        ["C2", "法律咨询", 1.5],
    ],
    "共建关系": [["单位A", "单位B", "起始年份"], [1001, "C1", 2021]],
    "说明": [["这张表不是数据，读取时忽略"]],
}


def book(path: Path, sheets: Sheets) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


def replace(sheets: Sheets, sheet: str, row: int, col: int, value: Any) -> Sheets:
    """A copy with one cell changed (row and col count from 0; row 0 is the header)."""
    out = {k: [list(r) for r in v] for k, v in sheets.items()}
    out[sheet][row][col] = value
    return out


@pytest.fixture(scope="module")
def district() -> RegionGraph:
    return pbmatch.synthetic_district(seed=0)


@pytest.fixture(scope="module")
def result(district: RegionGraph) -> pbmatch.PairingResult:
    return pbmatch.pair(district)


def same(a: RegionGraph, b: RegionGraph) -> bool:
    return (
        a.units == b.units
        and a.regions == b.regions
        and a.ties == b.ties
        and a.categories == b.categories
        and np.array_equal(a.offers, b.offers)
        and np.array_equal(a.needs, b.needs)
    )


# ---------------------------------------------------------------------------------------------
# Reading workbooks
# ---------------------------------------------------------------------------------------------
def test_read_chinese_workbook(tmp_path: Path) -> None:
    g = pio.read(book(tmp_path / "街道.xlsx", ZH))
    assert g.ids.tolist() == ["1001", "1002", "C1", "C2"]
    assert g.kind_names.tolist() == ["agency", "private_enterprise", "community", "community"]
    unit = g.unit("1001")
    assert (unit.name, unit.lat, unit.lon, unit.members, unit.max_partners) == (
        "区司法局",
        30.27,
        120.15,
        12,
        2,
    )
    assert g.unit("1002").offers == {"就业岗位": 5.0}
    assert g.unit("C1").needs == {"法律咨询": 2.0, "就业岗位": 4.0}
    assert g.unit("C2").needs == {"法律咨询": 1.5}
    assert [r.level for r in g.regions] == ["district", "street", "community", "community"]
    assert g.ties[0].a == "1001" and g.ties[0].since == 2021
    result = pbmatch.pair(g)
    assert result.success and len(result) == 3


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_round_trip(tmp_path: Path, district: RegionGraph, lang: str) -> None:
    path = pio.write(district, tmp_path / "district.xlsx", lang=lang)  # type: ignore[arg-type]
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    expected = (
        ["units", "needs", "offers", "regions", "ties"]
        if lang == "en"
        else ["单位", "需求清单", "资源清单", "区域", "共建关系"]
    )
    assert names == expected
    assert same(pio.read(path, categories=district.categories), district)


def test_example_workbook_in_docs_reads(district: RegionGraph) -> None:
    path = DOCS_EXAMPLE / "district-zh.xlsx"
    if not path.exists():
        pytest.skip("docs/examples not generated (python docs/make_example.py)")
    g = pio.read(path)
    assert len(g) == len(district) and sorted(g.categories) == sorted(
        pio._category_label(c, True) for c in district.categories
    )


@pytest.mark.parametrize(
    ("sheets", "expected"),
    [
        ({k: v for k, v in ZH.items() if k != "单位"}, "has no sheet 'units' (单位)"),
        (
            {k: v for k, v in ZH.items() if k != "需求清单"},
            "has no sheet 'needs' (需求清单) and the units sheet has no 'needs' column",
        ),
        (
            replace(ZH, "单位", 0, 9, "颜色"),
            "sheet '单位', row 1, column '颜色' (J): unknown column; allowed: id (单位编号)",
        ),
        (
            replace(ZH, "单位", 0, 4, "单位编号"),
            "column '单位编号' (E): repeats column '单位编号'",
        ),
        (
            {**ZH, "单位": [[c for c in r if c != "单位类型"][:2] for r in ZH["单位"]]},
            "sheet '单位' has no column 'kind' (单位类型), 'region' (所属区域); they are required",
        ),
        (
            replace(ZH, "单位", 2, 5, "北纬30度"),
            "sheet '单位', row 3, column '纬度' (F): value '北纬30度' is not a number",
        ),
        (
            replace(ZH, "单位", 1, 6, 2.5),
            "sheet '单位', row 2, column '党员数' (G): value 2.5 is not a whole number",
        ),
        (
            replace(ZH, "单位", 1, 5, 95.0),
            "row 2, column '纬度' (F): value 95 is not allowed: Input should be less than or "
            "equal to 90",
        ),
        (
            replace(ZH, "单位", 4, 2, "居委会"),
            "sheet '单位', row 5, column '单位类型' (C): value '居委会' is not allowed: unknown "
            "kind '居委会'",
        ),
        (
            replace(ZH, "单位", 2, 2, None),
            "sheet '单位', row 3, column '单位类型' (C): the cell is empty; it is required",
        ),
        (
            replace(ZH, "单位", 1, 1, dt.datetime(2024, 3, 1)),
            "row 2, column '单位编号' (B): value datetime.datetime(2024, 3, 1, 0, 0) is a date",
        ),
        (
            replace(ZH, "单位", 1, 7, True),
            "row 2, column '最多结对数' (H): value True is TRUE/FALSE; expected a whole number",
        ),
        (
            replace(ZH, "单位", 2, 1, 1001),
            "sheet '单位', row 3, column '单位编号' (B): value 1001 repeats row 2; ids must be "
            "unique",
        ),
        (
            replace(ZH, "需求清单", 2, 0, "C9"),
            "sheet '需求清单', row 3, column '单位编号' (A): value 'C9' is not an id on sheet "
            "'单位'",
        ),
        (
            replace(ZH, "资源清单", 1, 2, -4),
            "sheet '资源清单', row 2, column '数量' (C): value -4 is negative",
        ),
        (
            replace(ZH, "资源清单", 1, 2, "四"),
            "sheet '资源清单', row 2, column '数量' (C): value '四' is not a number",
        ),
        (
            replace(ZH, "共建关系", 1, 1, "C7"),
            "sheet '共建关系', row 2, column '单位B' (B): value 'C7' is not an id on sheet '单位'",
        ),
        (
            replace(ZH, "共建关系", 1, 1, 1001),
            "sheet '共建关系', row 2: ties unit '1001' with itself",
        ),
        (
            replace(ZH, "区域", 3, 3, "S9"),
            "sheet '区域', row 4, column '上级区域' (D): value 'S9' is not an id on this sheet",
        ),
        (
            replace(ZH, "区域", 1, 3, "C1"),
            "sheet '区域': Region 'D1': field 'parent' closes a cycle",
        ),
        (
            replace(ZH, "区域", 2, 2, "省"),
            "sheet '区域', row 3, column '层级' (C): value '省' is not allowed: unknown level",
        ),
        (
            {**ZH, "需求清单": [*ZH["需求清单"], ["C1", "场地", 1, "多余"]]},
            "sheet '需求清单', row 5, column (D): value '多余' is in a column with no header",
        ),
        ({**ZH, "单位": []}, "sheet '单位', row 1: is empty; row 1 must hold the column headers"),
    ],
)
def test_bad_workbook_names_sheet_row_column_value(
    tmp_path: Path, sheets: Sheets, expected: str
) -> None:
    path = book(tmp_path / "bad.xlsx", sheets)
    with pytest.raises(InputError) as info:
        pio.read(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "\n" not in message


def test_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="the file is empty"):
        pio.read(empty)
    text = tmp_path / "notes.xlsx"
    text.write_text("这不是工作簿", encoding="utf-8")
    with pytest.raises(InputError, match=r"is not an Excel workbook \(.xlsx\)"):
        pio.read(text)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"save it as an \.xlsx workbook"):
        pio.read(old)
    with pytest.raises(InputError, match="no such file"):
        pio.read(tmp_path / "missing.xlsx")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="unknown format 'txt'"):
        pio.read(other)


def test_missing_region_is_created_with_a_warning(tmp_path: Path) -> None:
    sheets = {k: v for k, v in ZH.items() if k != "区域"}
    with pytest.warns(UserWarning, match=r"3 region\(s\) named by units are missing"):
        g = pio.read(book(tmp_path / "no-regions.xlsx", sheets))
    created = {r.id: r for r in g.regions}
    assert created["C1"].level == "community" and created["C1"].parent is None
    rows = [list(r) for r in ZH["区域"] if r[0] != "C2"]
    with pytest.warns(UserWarning, match=r"1 region\(s\).*'C2'"):
        g = pio.read(book(tmp_path / "one-missing.xlsx", {**ZH, "区域": rows}))
    assert g.street_of("C1") == "S1" and g.street_of("C2") is None


def test_english_headers_and_quantity_columns(tmp_path: Path) -> None:
    sheets: Sheets = {
        "units": [
            ["id", "kind", "region", "offers", "needs", "tags"],
            ["a1", "agency", "s1", "venue:2; legal：1", None, "gov, law"],
            ["c1", "community", "c1", None, "venue=1，legal:3", None],
        ],
        "regions": [["id", "level", "parent"], ["s1", "street", None], ["c1", "community", "s1"]],
    }
    g = pio.read(book(tmp_path / "en.xlsx", sheets))
    assert g.unit("a1").offers == {"venue": 2.0, "legal": 1.0}
    assert g.unit("c1").needs == {"venue": 1.0, "legal": 3.0}
    assert g.unit("a1").tags == ("gov", "law")
    bad = replace(sheets, "units", 1, 3, "venue")
    with pytest.raises(InputError, match=r"row 2, column 'offers' \(D\): value 'venue' has the"):
        pio.read(book(tmp_path / "bad.xlsx", bad))


# ---------------------------------------------------------------------------------------------
# CSV, JSON, GeoJSON
# ---------------------------------------------------------------------------------------------
def test_csv_folder_in_gbk(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, rows in ZH.items():
        if name == "说明":
            continue
        with (folder / f"{name}.csv").open("w", newline="", encoding="gbk") as handle:
            csv.writer(handle).writerows(rows)
    g = pio.read(folder)
    assert (
        g.ids.tolist() == ["1001", "1002", "C1", "C2"] and g.unit("1002").name == "华创科技有限公司"
    )
    (folder / "单位.csv").write_text("单位编号,单位类型,所属区域\n1001,机关,S1\n1001,机关,S1\n")
    with pytest.raises(
        InputError, match=r"单位.csv: row 3, column '单位编号': value '1001' repeats"
    ):
        pio.read(folder)


def test_single_csv_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(
        "id\tkind\tregion\toffers\tneeds\nC1\t社区\tC1\t\tvenue:1\na1\t机关\tC1\tvenue:2\t\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="missing from the input"):
        g = pio.read(path)
    assert g.offers.tolist() == [[0.0], [2.0]]


def test_csv_rejects_binary_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(InputError, match="is an Excel workbook or other zip file"):
        pio.read(path)
    path.write_bytes(b"   \n")
    with pytest.raises(InputError, match="the file is empty"):
        pio.read(path)


@pytest.mark.parametrize("suffix", [".json", ".geojson", ".csv", ""])
def test_text_round_trips(tmp_path: Path, district: RegionGraph, suffix: str) -> None:
    path = pio.write(district, tmp_path / f"district{suffix}")
    if suffix == ".csv":  # one units file: no regions, no ties
        with pytest.warns(UserWarning, match="68 region"):
            back = pio.read(path, categories=district.categories)
        assert back.units == district.units and np.array_equal(back.needs, district.needs)
    else:
        assert same(pio.read(path, categories=district.categories), district)


def test_json_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    units = [{"id": "a", "kind": "机关", "region": "S1"}]
    regions = [{"id": "S1", "level": "街道", "parent": "X"}]
    path.write_text(json.dumps({"units": units, "regions": regions}))
    with pytest.raises(InputError, match=r"bad.json: Region 'S1': field 'parent' has value 'X'"):
        pio.read(path)
    path.write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        pio.read(path)
    feature = {"type": "Feature", "geometry": {"type": "Polygon"}, "properties": {}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(InputError, match=r"features\[0\]: geometry must be a Point"):
        pio.read(path)


def test_schema_validates_what_write_writes(tmp_path: Path, district: RegionGraph) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = pio.input_schema()
    data = json.loads(pio.write(district, tmp_path / "d.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"units": [{"id": "a", "kind": "部门", "region": "s"}]}, schema)
    jsonschema.validate({"units": [{"id": "a", "kind": "部队", "region": "s"}]}, schema)


# ---------------------------------------------------------------------------------------------
# Writing results
# ---------------------------------------------------------------------------------------------
def test_result_workbook_english_and_chinese(tmp_path: Path, result: Any) -> None:
    en = openpyxl.load_workbook(pio.write(result, tmp_path / "r.xlsx"))
    assert en.sheetnames == ["summary", "pairs", "units", "coverage", "unmet_needs"]
    header = [c.value for c in en["pairs"][1]]
    assert header[:5] == ["provider", "provider_name", "receiver", "receiver_name", "score"]
    assert header[5:] == [*pbmatch.COMPONENTS, "distance_km"]
    assert en["pairs"].max_row == len(result) + 1
    frame = result.to_pandas()
    assert set(frame.columns) <= set(header)
    zh = openpyxl.load_workbook(pio.write(result, tmp_path / "r-zh.xlsx", lang="zh"))
    assert zh.sheetnames == ["汇总", "结对名单", "单位", "覆盖情况", "未满足需求"]
    assert [c.value for c in zh["结对名单"][1]][:3] == [
        "共建单位编号",
        "共建单位名称",
        "结对对象编号",
    ]
    summary = {r[0].value: r[1].value for r in zh["汇总"].iter_rows(min_row=2)}
    assert summary["求解状态"] == "最优" and summary["结对数"] == len(result)
    units = [[c.value for c in r] for r in zh["单位"].iter_rows(min_row=2)]
    assert {u[3] for u in units} == {"共建单位", "结对对象"}


def test_result_csv_json_geojson(tmp_path: Path, result: Any) -> None:
    with pio.write(result, tmp_path / "p.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result) and rows[0]["provider"] == result.pairs[0][0]
    data = json.loads(pio.write(result, tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["status"] == "optimal" and len(data["pairs"]) == len(result)
    assert data["summary"]["receivers_covered"] == 64 and "unmet_needs" in data
    geo = json.loads(pio.write(result, tmp_path / "p.geojson").read_text(encoding="utf-8"))
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    points = [f for f in geo["features"] if f["geometry"]["type"] == "Point"]
    assert len(lines) == len(result) and len(points) == len(result.graph)
    first = lines[0]
    provider = result.graph.unit(first["properties"]["provider"])
    assert first["geometry"]["coordinates"][0] == [provider.lon, provider.lat]
    with pytest.warns(UserWarning, match="missing from the input"):  # no regions in it
        back = pio.read(tmp_path / "p.geojson")  # the unit points read back as a graph
    assert back.ids.tolist() == [u["properties"]["id"] for u in points]


def test_formulas_are_neutralised(tmp_path: Path) -> None:
    evil = ['=HYPERLINK("http://x","点我")', "+1+1", "-2", "@SUM(A1)", "\tx"]
    g = RegionGraph.from_records(
        units=[
            {"id": "a1", "name": evil[0], "kind": "机关", "region": "C1", "offers": {"v": 1}},
            {"id": "a2", "name": evil[1], "kind": "机关", "region": "C1", "offers": {"v": 1}},
            {"id": "a3", "name": evil[2], "kind": "机关", "region": "C1", "offers": {"v": 1}},
            {"id": "a4", "name": evil[3], "kind": "机关", "region": "C1", "offers": {"v": 1}},
            {"id": "C1", "name": "x", "kind": "社区", "region": "C1", "needs": {"v": 4}},
        ],
        regions=[{"id": "C1", "level": "社区"}],
    )
    result = pbmatch.pair(g)
    wb = openpyxl.load_workbook(pio.write(result, tmp_path / "r.xlsx"))
    cells = [c for row in wb["pairs"].iter_rows() for c in row if c.value in evil]
    assert len(cells) == 4
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    with pio.write(result, tmp_path / "r.csv").open(encoding="utf-8-sig") as handle:
        names = [r["provider_name"] for r in csv.DictReader(handle)]
    assert sorted(names) == sorted("'" + e for e in evil[:4])
    # Written graphs read back unchanged, from xlsx and from CSV.
    assert same(pio.read(pio.write(g, tmp_path / "g.xlsx")), g)
    assert same(pio.read(pio.write(g, tmp_path / "g")), g)
    assert pio.neutralise(evil[4]) == "'\tx" and pio.neutralise("幸福") == "幸福"


def test_match_results_write(tmp_path: Path) -> None:
    m = pbmatch.match(np.array([[3.0, 1.0], [2.0, 4.0]]))
    wb = openpyxl.load_workbook(pio.write(m, tmp_path / "m.xlsx"))
    assert [[c.value for c in r] for r in wb["pairs"].iter_rows()] == [
        ["row", "col", "score"],
        [0, 0, 3.0],
        [1, 1, 4.0],
    ]
    assert json.loads(pio.write(m, tmp_path / "m.json").read_text())["objective"] == 7.0
    with pytest.raises(InputError, match="GeoJSON needs unit locations"):
        pio.write(m, tmp_path / "m.geojson")
    with pytest.raises(InputError, match=r"unknown suffix '\.doc'"):
        pio.write(m, tmp_path / "m.doc")
    with pytest.raises(InputError, match="lang is 'fr'"):
        pio.write(m, tmp_path / "m.csv", lang="fr")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="cannot write a dict"):
        pio.write({}, tmp_path / "m.csv")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# pandas and networkx
# ---------------------------------------------------------------------------------------------
def test_pandas_both_ways(tmp_path: Path, district: RegionGraph, result: Any) -> None:
    pd = pytest.importorskip("pandas")
    for lang in ("en", "zh"):
        frames = pio.graph_to_pandas(district, lang=lang)  # type: ignore[arg-type]
        back = pio.graph_from_pandas(frames, categories=district.categories)
        assert same(back, district)
    path = pio.write(district, tmp_path / "d.xlsx", lang="zh")
    from_excel = pio.graph_from_pandas(pd.read_excel(path, sheet_name=None))
    assert from_excel.units == district.units
    units = pd.DataFrame({"id": ["a", "b"], "kind": ["机关", "火星"], "region": ["s", "s"]})
    units.index = ["x", "y"]
    with pytest.raises(InputError, match=r"frame 'units': index 'y', column 'kind': value '火星'"):
        pio.graph_from_pandas(units)
    tables = pio.result_to_pandas(result)
    assert list(tables) == ["summary", "pairs", "units", "coverage", "unmet_needs"]
    assert tables["pairs"][["provider", "receiver"]].equals(
        result.to_pandas()[["provider", "receiver"]]
    )
    regions = pio.models_to_pandas(district.regions)
    assert pio.models_from_pandas(regions, pbmatch.Region) == list(district.regions)
    with pytest.raises(InputError, match=r"Region at index 0: field 'level' has value '省'"):
        pio.models_from_pandas(pd.DataFrame({"id": ["p"], "level": ["省"]}), pbmatch.Region)


def test_networkx_both_ways(district: RegionGraph) -> None:
    back = pio.graph_from_networkx(district.to_networkx(), categories=district.categories)
    assert same(back, district)
    m = pbmatch.match(np.array([[3.0, 1.0], [2.0, 4.0]]), right_capacity=2)
    G = pio.match_to_networkx(m)
    assert sorted(G.edges(data="score")) == [
        (("row", 0), ("col", 0), 3.0),
        (("row", 1), ("col", 1), 4.0),
    ]


def test_no_warning_on_a_clean_read(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pio.read(book(tmp_path / "ok.xlsx", ZH))


def test_formats_page_lists_every_header() -> None:
    page = Path(__file__).parents[1] / "docs" / "formats.md"
    if not page.exists():
        pytest.skip("docs/ not present")
    text = page.read_text(encoding="utf-8")
    for sheet, columns in pio.COLUMNS.items():
        assert pio.SHEET_NAMES[sheet][1] in text, sheet
        for field_name, zh in columns.items():
            assert f"`{field_name}`" in text and zh in text, (sheet, field_name)


# ---------------------------------------------------------------------------------------------
# Record tables (members, posts, floating members, hosts, projects) and the problems' results
# ---------------------------------------------------------------------------------------------
RECORDS_ZH: Sheets = {
    "在职党员": [
        ["党员编号", "姓名", "报到社区", "技能", "最多岗位数", "备注"],
        ["m1", "张三", "C1", "法律咨询、助老", 2, None],
        [1002, None, "C1", None, None, "无技能"],
        ["m3", "王五", "C2", "legal; first_aid", None, None],
    ],
    "服务岗位": [
        ["岗位编号", "岗位名称", "所属社区", "所需技能", "人数"],
        ["p1", "法律咨询岗", "C1", "法律咨询", 1],
        ["p2", "楼栋长", "C1", None, 2],
        ["p3", "应急救护岗", "C2", "first_aid", 1],
    ],
    "说明": [["本表忽略"]],
}


def test_read_records_from_a_chinese_workbook(tmp_path: Path) -> None:
    path = book(tmp_path / "双报到.xlsx", RECORDS_ZH)
    members = pio.read_records(path, "members")
    posts = pio.read_records(path, "posts")
    assert [(m.id, m.name, m.skills, m.max_posts) for m in members] == [
        ("m1", "张三", ("法律咨询", "助老"), 2),
        ("1002", "", (), None),
        ("m3", "王五", ("legal", "first_aid"), None),
    ]
    assert [(p.id, p.skills, p.headcount) for p in posts] == [
        ("p1", ("法律咨询",), 1),
        ("p2", (), 2),
        ("p3", ("first_aid",), 1),
    ]
    result = pbmatch.assign_posts(members, posts)
    # m1 may take two posts: p2 has two seats, and every seat is filled.
    assert sorted(result.pairs) == [("1002", "p2"), ("m1", "p1"), ("m1", "p2"), ("m3", "p3")]


def test_read_records_other_formats(tmp_path: Path) -> None:
    # A workbook with a single, unnamed sheet is that table.
    single = book(tmp_path / "hosts.xlsx", {"Sheet1": [["id", "lat", "lon", "contacts"],
                                                       ["h1", 30.2, 120.1, 1]]})  # fmt: skip
    assert [h.id for h in pio.read_records(single, "hosts")] == ["h1"]
    # CSV (GBK, as Chinese Excel saves it) and a folder of CSV files.
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "流动党员.csv").write_bytes(
        "党员编号,纬度,经度,行业,流出地党组织\nf1,30.21,120.11,物流,origin-01\n".encode("gbk")
    )
    (folder / "hosts.csv").write_text("组织编号,纬度,经度,最多接收人数\nh1,30.2,120.1,3\n")
    floating = pio.read_records(folder, "floating")
    assert (floating[0].id, floating[0].industry, floating[0].home) == ("f1", "物流", "origin-01")
    assert pio.read_records(folder, "hosts")[0].capacity == 3
    assert pio.read_records(folder / "流动党员.csv", "floating")[0].lat == 30.21
    # JSON: a list, or an object with the table under its name; GeoJSON points.
    (tmp_path / "p.json").write_text(
        json.dumps({"projects": [{"id": "P1", "owner": "C1", "needs": {"venue": 2}}]})
    )
    assert pio.read_records(tmp_path / "p.json", "projects")[0].needs == {"venue": 2.0}
    (tmp_path / "m.json").write_text(json.dumps([{"id": "m1", "community": "C1"}]))
    assert pio.read_records(tmp_path / "m.json", "members")[0].community == "C1"
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [120.1, 30.2]},
                "properties": {"id": "h1", "capacity": 2},
            }
        ],
    }
    (tmp_path / "h.geojson").write_text(json.dumps(geo))
    host = pio.read_records(tmp_path / "h.geojson", "hosts")[0]
    assert (host.lat, host.lon, host.capacity) == (30.2, 120.1, 2)


def test_read_projects_with_booleans_and_quantities(tmp_path: Path) -> None:
    path = tmp_path / "项目清单.csv"
    path.write_text(
        "项目编号,项目名称,牵头单位,需求,最多参与单位数,可拆分,优先级\n"
        "P1,老年食堂,C1,elderly_care:3；volunteers:5,3,否,2\n"
        "P2,四点半课堂,C2,education:2,,是,\n"
        "P3,法律进社区,C1,legal=1,,TRUE,1.5\n",
        encoding="utf-8",
    )
    projects = pio.read_records(path, "projects")
    assert [(p.needs, p.max_units, p.divisible, p.priority) for p in projects] == [
        ({"elderly_care": 3.0, "volunteers": 5.0}, 3, False, 2.0),
        ({"education": 2.0}, None, True, 1.0),
        ({"legal": 1.0}, None, True, 1.5),
    ]


@pytest.mark.parametrize(
    ("sheets", "what", "expected"),
    [
        ({**RECORDS_ZH}, "hosts", r"has no sheet 'hosts' \(流入地党组织\); it is required"),
        (
            {"在职党员": [["党员编号", "报到社区"], ["m1", "C1"], ["m1", "C2"]]},
            "members",
            r"sheet '在职党员', row 3, column '党员编号' \(A\): value 'm1' repeats row 2",
        ),
        (
            {"在职党员": [["党员编号", "报到社区", "颜色"], ["m1", "C1", "红"]]},
            "members",
            r"row 1, column '颜色' \(C\): unknown column; allowed: id \(党员编号\)",
        ),
        (
            {"服务岗位": [["岗位编号", "所属社区", "人数"], ["p1", "C1", -1]]},
            "posts",
            r"row 2, column '人数' \(C\): value -1 is not allowed",
        ),
        (
            {"项目清单": [["项目编号", "牵头单位", "需求", "可拆分"], ["P1", "C1", "x:1", "也许"]]},
            "projects",
            r"column '可拆分' \(D\): value '也许' is not yes/no",
        ),
        (
            {"流入地党组织": [["组织编号", "纬度", "经度"], ["h1", 30.2, 120.1]]},
            "hosts",
            r"sheet '流入地党组织', row 2: .*neither capacity nor contacts",
        ),
        (
            {"在职党员": [["党员编号", "报到社区"]]},
            "members",
            r"has no rows below the headers; expected one row per member",
        ),
        (
            {"流动党员": [["党员编号", "纬度"], ["f1", 30.2]]},
            "floating",
            r"has no column 'lon' \(经度\); it is required",
        ),
    ],
)
def test_bad_record_tables(tmp_path: Path, sheets: Sheets, what: str, expected: str) -> None:
    path = book(tmp_path / "bad.xlsx", {**sheets, "其他": [["x"]]})
    with pytest.raises(InputError, match=expected):
        pio.read_records(path, what)  # type: ignore[arg-type]


def test_bad_record_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        pio.read_records(tmp_path / "none.csv", "members")
    with pytest.raises(InputError, match="what is 'people'"):
        pio.read_records(tmp_path / "none.csv", "people")  # type: ignore[arg-type]
    (tmp_path / "m.json").write_text(json.dumps({"posts": []}))
    with pytest.raises(InputError, match="an object with a list under 'members'"):
        pio.read_records(tmp_path / "m.json", "members")
    (tmp_path / "m.json").write_text(json.dumps([{"id": "m1"}]))
    with pytest.raises(InputError, match=r"m\.json: Member 'm1': field 'community' is missing"):
        pio.read_records(tmp_path / "m.json", "members")
    (tmp_path / "x.xlsx").write_text("not a workbook")
    with pytest.raises(InputError, match="is not an Excel workbook"):
        pio.read_records(tmp_path / "x.xlsx", "posts")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"has no posts\.csv \(or 服务岗位\.csv\)"):
        pio.read_records(tmp_path / "empty", "posts")


def test_graph_json_may_carry_record_lists(tmp_path: Path) -> None:
    data = {"units": [{"id": "C1", "kind": "社区", "region": "C1"}], "regions": [
        {"id": "C1", "level": "社区"}], "projects": [{"id": "P1", "owner": "C1",
                                                     "needs": {"venue": 1}}]}  # fmt: skip
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert len(pio.read(path)) == 1 and pio.read_records(path, "projects")[0].id == "P1"


@pytest.mark.parametrize("suffix", [".xlsx", ".json", ""])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_write_records_round_trip(tmp_path: Path, suffix: str, lang: str) -> None:
    from pbmatch.datasets import synthetic_floating, synthetic_projects

    graph = pbmatch.synthetic_district(seed=2, n_streets=1, n_townships=0)
    floating, hosts = synthetic_floating(graph, seed=2, n=30)
    projects = synthetic_projects(graph, seed=2, n_projects=4)
    path = tmp_path / f"out{suffix}"
    pio.write_records({"floating": floating, "hosts": hosts}, path, lang=lang)  # type: ignore[arg-type]
    assert pio.read_records(path, "floating") == [pbmatch.FloatingMember(**m) for m in floating]
    assert pio.read_records(path, "hosts") == [pbmatch.Host(**h) for h in hosts]
    both = tmp_path / f"district{suffix}"
    pio.write_records({"projects": projects}, both, lang=lang, graph=graph)  # type: ignore[arg-type]
    assert same(pio.read(both, categories=graph.categories), graph)
    assert pio.read_records(both, "projects") == [pbmatch.Project(**p) for p in projects]


def test_write_records_refuses(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a CSV file holds one table"):
        pio.write_records({"members": [], "posts": []}, tmp_path / "x.csv")
    with pytest.raises(InputError, match="tables has the key 'units'"):
        pio.write_records({"units": []}, tmp_path / "x.csv")
    with pytest.raises(InputError, match=r"unknown suffix '\.pdf'"):
        pio.write_records({"members": []}, tmp_path / "x.pdf")


@pytest.fixture(scope="module")
def problem_results() -> dict[str, Any]:
    from pbmatch.datasets import (
        synthetic_floating,
        synthetic_members,
        synthetic_posts,
        synthetic_projects,
    )

    street = pbmatch.synthetic_district(seed=0, n_streets=1, n_townships=0)
    floating, hosts = synthetic_floating(street, seed=0, n=40)
    return {
        "allocate": pbmatch.allocate(street, within="street"),
        "posts": pbmatch.assign_posts(
            synthetic_members(street, seed=0), synthetic_posts(street, seed=0)
        ),
        "floating": pbmatch.host_floating_members(floating, hosts, max_km=3),
        "exchange": pbmatch.exchange_cycles(street, max_length=2),
        "branches": pbmatch.form_joint_branches(street),
        "projects": pbmatch.staff_projects(
            street, synthetic_projects(street, seed=0, n_projects=4), max_km=2
        ),
    }


TABLES = {
    "allocate": (["summary", "flows", "unmet_needs"], "资源流向"),
    "posts": (["summary", "seats", "unfilled", "warnings"], "岗位安排"),
    "floating": (["summary", "placements", "hosts", "unhosted"], "接收安排"),
    "exchange": (["summary", "cycles"], "交换环"),
    "branches": (["summary", "branches"], "联合党支部"),
    "projects": (["summary", "contributions", "projects"], "项目参与"),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_problem_result_tables(problem_results: dict[str, Any], name: str) -> None:
    result = problem_results[name]
    assert result.success
    tables = pio.result_tables(result)
    sheets, main_zh = TABLES[name]
    assert [s for s in tables if s != "warnings"] == [s for s in sheets if s != "warnings"]
    main = list(tables)[1]
    headers, rows = tables[main]
    frame = result.to_pandas()
    assert len(rows) == len(frame)
    for column in frame.columns:  # every to_pandas() column, in the same order of rows
        assert column in headers, column
        got = [row[headers.index(column)] for row in rows]
        want = frame[column].tolist()
        assert [None if g == "" else g for g in got] == [
            None if (w == "" or w is None) else w for w in want
        ], column
    zh = pio.result_tables(result, lang="zh")
    assert list(zh)[:2] == ["汇总", main_zh]
    assert all(not h.isascii() for h in zh[main_zh][0]), zh[main_zh][0]
    summary = dict(pio.result_summary(result))
    assert summary["status"] == "optimal"
    assert dict(tables["summary"][1]) == summary


@pytest.mark.parametrize("name", sorted(TABLES))
def test_problem_results_write_every_format(
    problem_results: dict[str, Any], name: str, tmp_path: Path
) -> None:
    result = problem_results[name]
    for lang in ("en", "zh"):
        book_path = result.write(tmp_path / f"{name}-{lang}.xlsx", lang=lang)
        names = openpyxl.load_workbook(book_path, read_only=True).sheetnames
        assert names == list(pio.result_tables(result, lang=lang))  # type: ignore[arg-type]
        out = result.write(tmp_path / f"{name}-{lang}.csv", lang=lang)
        with out.open(encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == list(pio.result_tables(result, lang=lang).values())[1][0]  # type: ignore[arg-type]
        assert len(rows) == len(result.to_pandas()) + 1
    data = json.loads(result.write(tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    assert data["status"] == "optimal" and list(pio.result_tables(result))[1] in data
    page = result.to_html(lang="zh")
    assert page.startswith("<!DOCTYPE html>") and "<h2>概况</h2>" in page
    from pbmatch.report import repr_html

    assert type(result).__name__ in repr_html(result) and "<table" in repr_html(result)
    if name == "posts":
        with pytest.raises(InputError, match="GeoJSON needs locations"):
            result.write(tmp_path / "posts.geojson")
        return
    geo = json.loads(result.write(tmp_path / f"{name}.geojson").read_text(encoding="utf-8"))
    kinds = {f["properties"]["feature"] for f in geo["features"]}
    lines = [f for f in geo["features"] if f["geometry"] and f["geometry"]["type"] == "LineString"]
    expected = {
        "allocate": {"unit", "flow"},
        "floating": {"host", "member", "placement"},
        "exchange": {"unit", "gives"},
        "branches": {"unit"},
        "projects": {"unit", "contribution"},
    }[name]
    assert kinds == expected
    assert bool(lines) == (name != "branches")


def test_problem_csv_neutralises_formulas(tmp_path: Path) -> None:
    members = [{"id": "m1", "community": "C1", "name": "=HYPERLINK(1)"}]
    posts = [{"id": "p1", "community": "C1", "name": "@SUM(A1)"}]
    result = pbmatch.assign_posts(members, posts)
    out = result.write(tmp_path / "seats.csv")
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "'@SUM(A1)" in text


def test_formats_page_lists_every_record_column() -> None:
    page = Path(__file__).parents[1] / "docs" / "formats.md"
    if not page.exists():
        pytest.skip("docs/ not present")
    text = page.read_text(encoding="utf-8")
    for sheet, columns in pio.RECORD_COLUMNS.items():
        assert pio.RECORD_SHEETS[sheet][1] in text, sheet
        for field_name, zh in columns.items():
            assert f"`{field_name}`" in text and zh in text, (sheet, field_name)
