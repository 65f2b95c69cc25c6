"""The HTML report: self-contained, with its figures, tables, escaping and failures."""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

import numpy as np
import pytest

import pbmatch
from pbmatch import report


@pytest.fixture(scope="module")
def result() -> pbmatch.PairingResult:
    return pbmatch.pair(pbmatch.synthetic_district(seed=0))


def images(page: str) -> list[bytes]:
    found = re.findall(r'<img src="data:image/(?:svg\+xml|png);base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(data) for data in found]


def test_report_contains_its_figures_and_tables(result: Any) -> None:
    pytest.importorskip("matplotlib")
    page = report.to_html(result)
    svgs = images(page)
    assert len(svgs) == 4 and all(b"<svg" in svg[:2000] for svg in svgs)
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing to fetch
    for heading in ("Summary", "Coverage by street", "Unmet needs", "Pairs"):
        assert f"<h2>{heading}</h2>" in page
    name = result.graph.unit(result.pairs[0][0]).name
    assert name in page and "@media print" in page
    assert page.count("<tr>") > len(result)  # every pair is listed


def test_chinese_report_and_png(result: Any) -> None:
    pytest.importorskip("matplotlib")
    page = report.to_html(result, lang="zh", image_format="png", max_rows=5)
    assert '<html lang="zh-CN">' in page and "<h2>结对名单</h2>" in page
    assert "求解状态" in page and "最优" in page
    pngs = images(page)
    assert len(pngs) == 4 and all(p.startswith(b"\x89PNG") for p in pngs)
    assert "……另有" in page


def test_report_without_figures_needs_no_matplotlib(result: Any) -> None:
    page = report.to_html(result, figures=False, title="东湖街道 2026 年结对方案")
    assert "<img" not in page and "<h1>东湖街道 2026 年结对方案</h1>" in page


def test_names_are_escaped() -> None:
    g = pbmatch.RegionGraph.from_records(
        units=[
            {"id": "a", "name": "<script>alert(1)</script>", "kind": "机关", "region": "C1",
             "offers": {"v": 1}},
            {"id": "C1", "kind": "社区", "region": "C1", "needs": {"v": 1}},
        ],
        regions=[{"id": "C1", "level": "社区"}],
    )  # fmt: skip
    page = report.to_html(pbmatch.pair(g), figures=False)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_failed_result_shows_status_message_and_diagnosis() -> None:
    g = pbmatch.RegionGraph.from_records(
        units=[
            {"id": "a", "kind": "机关", "region": "C1", "max_partners": 1},
            {"id": "C1", "kind": "社区", "region": "C1", "min_partners": 2, "max_partners": 3},
        ],
        regions=[{"id": "C1", "level": "社区"}],
    )
    failed = pbmatch.pair(g)
    assert not failed.success
    failed = dataclasses.replace(failed, diagnosis="C1 needs 2 partners; only 1 can reach it")
    page = report.to_html(failed)
    assert "No pairing was found: infeasible" in page and "<h2>Diagnosis</h2>" in page
    assert "C1 needs 2 partners" in page and "<img" not in page
    zh = report.to_html(failed, lang="zh")
    assert "未找到结对方案：无可行方案" in zh


def test_match_result_report_and_repr() -> None:
    m = pbmatch.match(np.array([[3.0, 1.0], [2.0, 4.0]]))
    page = report.to_html(m)
    assert "<h1>Matching report</h1>" in page and "<img" not in page
    snippet = report.repr_html(m)
    assert "MatchResult" in snippet and '<td class="num">4</td>' in snippet


def test_repr_html_is_compact(result: Any) -> None:
    snippet = report.repr_html(result, top=3)
    assert "<img" not in snippet and snippet.count("<tr>") == 8 + 1 + 3
    assert len(snippet) < 5000
    assert report.repr_html(object()).startswith("<pre>")  # type: ignore[arg-type]


def test_bad_image_format(result: Any) -> None:
    with pytest.raises(pbmatch.InputError, match="image_format is 'gif'"):
        report.to_html(result, image_format="gif")
