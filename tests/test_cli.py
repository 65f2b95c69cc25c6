"""The pbmatch command end to end: demo, pair, errors as one line without a traceback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pbmatch.cli import main

GOOD = {
    "regions": [
        {"id": "D1", "level": "区"},
        {"id": "S1", "level": "街道", "parent": "D1"},
        {"id": "C1", "level": "社区", "parent": "S1"},
    ],
    "units": [
        {
            "id": "a1",
            "kind": "机关",
            "region": "S1",
            "lat": 30.27,
            "lon": 120.15,
            "max_partners": 1,
            "offers": {"venue": 2},
        },
        {
            "id": "f1",
            "kind": "非公企业",
            "region": "S1",
            "lat": 30.26,
            "lon": 120.16,
            "offers": {"jobs": 3},
        },
        {
            "id": "C1",
            "kind": "社区",
            "region": "C1",
            "lat": 30.28,
            "lon": 120.16,
            "min_partners": 1,
            "needs": {"venue": 1, "jobs": 2},
        },
    ],
    "ties": [{"a": "a1", "b": "C1", "since": 2021}],
}


def write(tmp_path: Path, data: object, name: str = "units.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Pairing: optimal" in out and "全覆盖" in out and "provider → receiver" in out


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_pair_writes_output(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"pairs{suffix}"
    assert main(["pair", str(write(tmp_path, GOOD)), "-o", str(out)]) == 0
    assert "Wrote 2 pairs" in capsys.readouterr().out
    if suffix == ".json":
        pairs = json.loads(out.read_text(encoding="utf-8"))["pairs"]
    else:
        with out.open(encoding="utf-8-sig") as handle:
            pairs = list(csv.DictReader(handle))
    assert sorted((p["provider"], p["receiver"]) for p in pairs) == [("a1", "C1"), ("f1", "C1")]


BAD_UNIT = {**GOOD, "units": [{**GOOD["units"][0], "offers": {"venue": -2}}]}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (BAD_UNIT, "Unit 'a1': field 'offers'"),
        ({"units": "nope"}, "expected a JSON object with a list under 'units'"),
        ({**GOOD, "extra": 1}, "unknown top-level keys ['extra']"),
        ("{not json", "line 1, column 2"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, content: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    assert main(["pair", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pbmatch: error: ") and expected in err
    assert "Traceback" not in err


def test_missing_file_and_bad_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pair", str(tmp_path / "none.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["pair", str(write(tmp_path, GOOD)), "-o", str(tmp_path / "x.doc")]) == 2
    assert "unknown suffix '.doc'" in capsys.readouterr().err


def test_infeasible_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(json.dumps(GOOD))
    data["units"][2]["min_partners"] = 3
    data["units"][2]["max_partners"] = 5
    assert main(["pair", str(write(tmp_path, data))]) == 1
    assert "infeasible" in capsys.readouterr().out


def test_console_script_help_and_no_traceback(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "pbmatch"]
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, check=True)
    assert "demo" in helped.stdout and "pair" in helped.stdout
    bad = subprocess.run(
        [*run, "pair", str(tmp_path / "nope.json")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# Workbooks, reports, schema, example, progress
# ---------------------------------------------------------------------------------------------
def chinese_workbook(tmp_path: Path) -> Path:
    """The synthetic district as a workbook with Chinese sheet names and headers."""
    path = tmp_path / "街道.xlsx"
    assert main(["example", str(path), "--lang", "zh"]) == 0
    return path


def test_chinese_workbook_to_result_workbook_and_report_in_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    pytest.importorskip("matplotlib")
    source = chinese_workbook(tmp_path)
    out, page = tmp_path / "结果.xlsx", tmp_path / "报告.html"
    code = main(["pair", str(source), "-o", str(out), "-o", str(page), "--lang", "zh"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "求解状态：最优" in printed and "Wrote 710 pairs to" in printed
    assert "Wrote the report to" in printed
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["汇总", "结对名单", "单位", "覆盖情况", "未满足需求"]
    html = page.read_text(encoding="utf-8")
    assert html.count("<img src=") == 4 and "结对共建方案报告" in html


def test_report_command_default_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, GOOD)
    assert main(["report", str(path), "--quiet", "--max-km", "50"]) == 0
    assert (tmp_path / "units-report.html").exists()
    assert capsys.readouterr().out.startswith("Wrote the report to units-report.html")
    assert main(["report", str(path), "-o", "r.pdf"]) == 2
    assert "a report is an .html file" in capsys.readouterr().err


def test_bad_workbook_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "bad.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "单位"
    book.active.append(["单位编号", "单位类型", "所属区域", "资源", "需求"])
    book.active.append(["a1", "机关", "S1", "venue:2", None])
    book.active.append(["C1", "社区委员会", "C1", None, "venue:1"])
    book.save(path)
    assert main(["pair", str(path), "-o", str(tmp_path / "r.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "sheet '单位', row 3, column '单位类型' (B): value '社区委员会'" in err
    assert not (tmp_path / "r.xlsx").exists()


def test_unknown_output_suffix_is_refused_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pair", str(write(tmp_path, GOOD)), "-o", str(tmp_path / "x.pdf")]) == 2
    captured = capsys.readouterr()
    assert "unknown suffix '.pdf'" in captured.err and captured.out == ""


def test_warning_for_a_missing_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {**GOOD, "regions": GOOD["regions"][:2]}  # C1 missing
    assert main(["pair", str(write(tmp_path, data)), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("pbmatch: warning: ") and "'C1'" in err


def test_progress_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.geojson"
    assert main(["pair", str(write(tmp_path, GOOD)), "-o", str(out), "--progress", "-q"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split("] ")[1].split(" …")[0] for line in err] == [
        "1/3 reading units.json",
        "2/3 solving",
        "3/3 writing p.geojson",
    ]
    assert json.loads(out.read_text(encoding="utf-8"))["type"] == "FeatureCollection"


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["required"] == ["units"] and "Unit" in schema["$defs"]
    assert main(["schema", "--workbook"]) == 0
    listing = capsys.readouterr().out
    assert "sheet units / 单位" in listing and "max_partners  最多结对数" in listing


def test_demo_writes_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.json"
    assert main(["demo", "--top", "1", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["pairs"] == 710


def test_missing_extra_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    real = importlib.import_module

    def fake(name: str, *args: object) -> object:
        if name == "openpyxl":
            raise ImportError("No module named 'openpyxl'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK")
    assert main(["pair", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        "pbmatch: error: reading .xlsx workbooks needs openpyxl, which is not installed; "
        "install it with: pip install 'pbmatch[excel]'\n"
    )


def test_help_lists_every_command() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "pbmatch", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("demo", "pair", "report", "schema", "example"):
        assert command in helped.stdout
    sub = subprocess.run(
        [sys.executable, "-m", "pbmatch", "pair", "--help"], capture_output=True, text=True
    )
    assert "--lang" in sub.stdout and ".xlsx" in sub.stdout and "--max-km" in sub.stdout


# ---------------------------------------------------------------------------------------------
# The co-building problems: allocate, projects, posts, floating, branches, exchange
# ---------------------------------------------------------------------------------------------
SMALL = {
    "regions": [
        {"id": "D1", "level": "区"},
        {"id": "S1", "level": "街道", "parent": "D1"},
        {"id": "C1", "level": "社区", "parent": "S1"},
    ],
    "units": [
        {"id": "a1", "kind": "机关", "region": "S1", "lat": 30.270, "lon": 120.150,
         "members": 12, "offers": {"venue": 2}, "needs": {"it_support": 1}},
        {"id": "f1", "kind": "非公企业", "region": "S1", "lat": 30.262, "lon": 120.160,
         "members": 1, "tags": ["logistics"], "offers": {"it_support": 2, "jobs": 3},
         "needs": {"venue": 1}},
        {"id": "f2", "kind": "非公企业", "region": "S1", "lat": 30.263, "lon": 120.161,
         "members": 2, "tags": ["logistics"], "offers": {"legal": 1}, "needs": {"jobs": 1}},
        {"id": "C1", "kind": "社区", "region": "C1", "lat": 30.280, "lon": 120.160,
         "members": 40, "needs": {"venue": 1, "jobs": 2, "legal": 1}},
    ],
    "projects": [
        {"id": "P1", "name": "就业帮扶", "owner": "C1", "needs": {"jobs": 2}, "priority": 2},
        {"id": "P2", "owner": "C1", "needs": {"legal": 1, "venue": 1}, "divisible": True},
    ],
}  # fmt: skip


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write(tmp_path, SMALL, "district.json")


def test_allocate_end_to_end(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out, flows = tmp_path / "三张清单.xlsx", tmp_path / "flows.csv"
    args = ["allocate", str(small), "-o", str(out), "-o", str(flows), "--within", "street"]
    assert main([*args, "--category-weight", "venue=2"]) == 0
    printed = capsys.readouterr().out
    assert "Allocation (三张清单): optimal" in printed and "Wrote 6 flows to" in printed
    assert openpyxl.load_workbook(out, read_only=True).sheetnames == [
        "summary",
        "flows",
        "unmet_needs",
    ]
    with flows.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    moved = {(r["provider"], r["receiver"], r["category"]): int(r["quantity"]) for r in rows}
    assert moved == {
        ("a1", "f1", "venue"): 1,
        ("a1", "C1", "venue"): 1,
        ("f1", "a1", "it_support"): 1,
        ("f1", "f2", "jobs"): 1,
        ("f1", "C1", "jobs"): 2,
        ("f2", "C1", "legal"): 1,
    }
    # Chinese headers and summary; a GeoJSON layer of the flows.
    geo = tmp_path / "flows.geojson"
    assert main(["allocate", str(small), "-o", str(geo), "--lang", "zh", "--max-km", "5"]) == 0
    printed = capsys.readouterr().out
    assert "求解状态：最优" in printed and "需求满足比例：" in printed
    features = json.loads(geo.read_text(encoding="utf-8"))["features"]
    assert sum(f["properties"]["feature"] == "flow" for f in features) == 6


def test_branches_and_exchange_end_to_end(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "branches.json"
    assert main(["branches", str(small), "-o", str(out), "--max-units", "3", "-q"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["groups"] == {"S1-J01": ["f1", "f2"]} and data["status"] == "optimal"
    assert capsys.readouterr().out == f"Wrote 1 joint branches to {out}\n"
    cycles = tmp_path / "交换.csv"
    assert (
        main(["exchange", str(small), "-o", str(cycles), "--max-length", "2", "--lang", "zh"]) == 0
    )
    assert "交换环数：1" in capsys.readouterr().out
    with cycles.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["给出单位编号"], r["接受单位编号"], r["类别"]) for r in rows} == {
        ("a1", "f1", "venue"),
        ("f1", "a1", "it_support"),
    }


def test_projects_from_the_district_file_or_a_second_file(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "projects.json"
    assert main(["projects", str(small), "-o", str(out), "-q"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    staffed = {p["project"]: (p["staffed"], p["share"]) for p in data["projects"]}
    assert staffed == {"P1": (True, 1.0), "P2": (False, 1.0)}
    listing = tmp_path / "项目清单.csv"
    listing.write_text("项目编号,牵头单位,需求,可拆分\nQ1,C1,legal:1,否\n", encoding="utf-8")
    assert main(["projects", str(small), str(listing), "--max-units", "1"]) == 0
    assert "Q1 (C1, priority 1): staffed by f2" in capsys.readouterr().out
    listing.write_text("项目编号,牵头单位,需求\nQ1,C9,legal:1\n", encoding="utf-8")
    assert main(["projects", str(small), str(listing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbmatch: error: ") and err.count("\n") == 1 and "C9" in err


def test_posts_from_two_csv_files_and_one_workbook(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, posts = tmp_path / "党员.csv", tmp_path / "岗位.csv"
    members.write_text(
        "党员编号,姓名,报到社区,技能\nm1,张三,C1,legal\nm2,李四,C1,\nm3,王五,C1,legal、first_aid\n",
        encoding="utf-8",
    )
    posts.write_text(
        "岗位编号,岗位名称,所属社区,所需技能,人数\np1,法律咨询岗,C1,legal,2\np2,楼栋长,C1,,1\n",
        encoding="utf-8",
    )
    out = tmp_path / "seats.csv"
    code = main(["posts", str(members), str(posts), "-o", str(out), "--communities", str(small)])
    assert code == 0
    assert "3 of 3 seats filled" in capsys.readouterr().out
    with out.open(encoding="utf-8-sig") as handle:
        seats = {(r["member"], r["post"]) for r in csv.DictReader(handle)}
    assert seats == {("m1", "p1"), ("m3", "p1"), ("m2", "p2")}
    # A folder with both tables, as `pbmatch example --problem posts` writes it.
    source = tmp_path / "双报到"
    assert main(["example", str(source), "--problem", "posts", "--lang", "zh"]) == 0
    assert sorted(p.name for p in source.iterdir()) == ["在职党员.csv", "服务岗位.csv"]
    capsys.readouterr()
    assert main(["posts", str(source), "--max-posts", "2", "-o", str(tmp_path / "r.html")]) == 0
    assert "Post assignment (双报到): optimal" in capsys.readouterr().out
    # One workbook with both sheets.
    pytest.importorskip("openpyxl")
    from pbmatch.io import read_records, write_records

    tables = {"members": read_records(members, "members"), "posts": read_records(posts, "posts")}
    workbook = write_records(tables, tmp_path / "双报到.xlsx", lang="zh")
    assert main(["posts", str(workbook), "-q", "-o", str(tmp_path / "r.xlsx")]) == 0
    # A community the district does not know is one error line.
    members.write_text("党员编号,报到社区\nm1,C7\n", encoding="utf-8")
    assert main(["posts", str(members), str(posts), "--communities", str(small)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "C7" in err and "Traceback" not in err


def test_floating_from_json_with_both_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {
        "floating": [
            {"id": f"f{i}", "lat": 30.27 + 0.001 * i, "lon": 120.15, "industry": "物流"}
            for i in range(4)
        ],
        "hosts": [
            {"id": "h1", "lat": 30.27, "lon": 120.15, "industry": "物流", "contacts": 1},
            {"id": "h2", "lat": 30.30, "lon": 120.15, "capacity": 1},
        ],
    }
    source = write(tmp_path, data, "流动党员.json")
    out = tmp_path / "placements.geojson"
    assert main(["floating", str(source), "-o", str(out), "--per-contact", "3", "-q"]) == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    placed = {
        f["properties"]["member"]: f["properties"]["host"]
        for f in features
        if f["properties"]["feature"] == "placement"
    }
    assert placed == {"f0": "h1", "f1": "h1", "f2": "h1", "f3": "h2"}
    assert main(["floating", str(source), "--max-km", "1", "--per-contact", "3"]) == 0
    assert "Unhosted: 1 (f3)" in capsys.readouterr().out


def test_demo_data_for_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "floating.xlsx"
    assert main(["floating", "--demo", "--seed", "1", "-o", str(out), "--max-km", "5"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Solving the synthetic district (seed 1): 200 floating members")
    assert "Wrote 200 placements to" in printed or "placements to" in printed


def test_report_for_another_problem(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    assert main(["report", str(small), "--problem", "exchange", "-o", str(page), "-q"]) == 0
    html = page.read_text(encoding="utf-8")
    assert "Exchange cycles report" in html and "<h2>Exchange cycles</h2>" in html
    assert main(["report", str(small), "x.csv", "--problem", "exchange"]) == 2
    assert "exchange reads one file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["allocate"], "give the input FILE"),
        (["posts", "--demo", "m.csv"], "give MEMBERS or --demo"),
        (["posts", "--demo", "-o", "x.geojson"], "has no locations to map"),
        (["exchange", "--demo", "--max-length", "1"], "max_length is 1"),
        (["allocate", "--demo", "--within", "planet"], "within is 'planet'"),
        (["floating", "nothere.xlsx"], "nothere.xlsx: no such file"),
    ],
)
def test_problem_errors_are_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "-q"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and expected in captured.err
    assert captured.err.startswith("pbmatch: error: ") and "Traceback" not in captured.err


def test_bad_member_row_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    members = tmp_path / "members.csv"
    members.write_text("党员编号,报到社区,最多岗位数\nm1,C1,两个\n", encoding="utf-8")
    assert main(["posts", str(members), str(members)]) == 2
    err = capsys.readouterr().err
    assert "members.csv: row 2, column '最多岗位数': value '两个' is not a whole number" in err


def test_help_and_schema_list_the_problems(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    helped = capsys.readouterr().out
    for command in ("allocate", "projects", "posts", "floating", "branches", "exchange"):
        assert command in helped
    assert main(["schema", "--workbook"]) == 0
    listing = capsys.readouterr().out
    assert "sheet members / 在职党员 (pbmatch posts)" in listing
    assert "headcount     人数" in listing
