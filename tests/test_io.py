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
