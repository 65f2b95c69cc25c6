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
