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
