"""Figures of a pairing: what they draw, their labels in both languages, and the font fallback."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pbmatch

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from pbmatch import plot  # noqa: E402


@pytest.fixture(scope="module")
def result() -> pbmatch.PairingResult:
    return pbmatch.pair(pbmatch.synthetic_district(seed=0))


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    plt.close("all")


def texts(ax: Any) -> list[str]:
    from matplotlib.text import Text

    figure = ax.figure
    return [t.get_text() for t in figure.findobj(Text) if t.get_text()]


def test_map_draws_every_pair_and_unit(result: Any, tmp_path: Path) -> None:
    ax = plot.pairing_map(result)
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 1 and len(lines[0].get_segments()) == len(result)
    assert np.allclose(sorted(lines[0].get_array()), sorted(result.scores))
    points = sum(len(c.get_offsets()) for c in ax.collections if c not in lines)
    assert points == len(result.providers) + len(result.receivers)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"agency", "private enterprise", "community", "village"} <= set(labels)
    assert {"S1", "T1"} <= set(texts(ax))
    ax.figure.savefig(tmp_path / "map.png")


def test_other_figures(result: Any) -> None:
    ax = plot.coverage_by_region(result)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["S1", "S2", "S3", "S4", "S5", "T1"]
    assert "9/9" in texts(ax)
    ax = plot.score_breakdown(result)
    assert ax.get_title() == f"Score breakdown of the {len(result)} chosen pairs"
    top = max(p.get_paths()[0].vertices[:, 1].max() for p in ax.collections)
    assert top == pytest.approx(result.scores.max(), rel=0.1)
    ax = plot.unmet_needs(result)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert set(labels) == set(result.graph.categories)


def test_chinese_labels_use_a_cjk_font(result: Any, tmp_path: Path) -> None:
    font = plot.cjk_font()
    if font is None:
        pytest.skip("no font with Chinese glyphs here (pip install 'pbmatch[cjk]')")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        figs = plot.figures(result, lang="zh")
        for name, fig in figs.items():
            fig.savefig(tmp_path / f"{name}.png")
    ax = figs["map"].axes[0]
    assert ax.get_title().startswith("结对共建：710 对") and "金浦街道" in texts(ax)
    assert ax.title.get_fontfamily()[0] == font
    labels = [t.get_text() for t in figs["unmet"].axes[0].get_yticklabels()]
    assert "养老助老" in labels


def test_chinese_without_a_font_falls_back_to_english(
    result: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot, "cjk_font", lambda: None)
    with pytest.warns(UserWarning, match="no font with Chinese glyphs"):
        ax = plot.coverage_by_region(result, lang="zh")
    assert ax.get_title() == "Coverage by street"
    assert next(t.get_text() for t in ax.get_yticklabels()) == "S1"


def test_font_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plot.cjk_font.cache_clear()
    bogus = tmp_path / "nofont.ttf"
    bogus.write_text("not a font")
    monkeypatch.setenv("PBMATCH_CJK_FONT", str(bogus))
    try:
        with pytest.warns(UserWarning, match="not a font file"):
            plot.cjk_font()
    finally:
        plot.cjk_font.cache_clear()


def test_figures_without_coordinates_and_bad_input() -> None:
    g = pbmatch.RegionGraph.from_records(
        units=[
            {"id": "a", "kind": "机关", "region": "C1", "offers": {"v": 1}},
            {"id": "C1", "kind": "社区", "region": "C1", "needs": {"v": 2, "w": 1}},
        ],
        regions=[{"id": "C1", "level": "社区"}],
    )
    result = pbmatch.pair(g)
    with pytest.raises(pbmatch.InputError, match="no unit of this result has coordinates"):
        plot.pairing_map(result)
    assert sorted(plot.figures(result)) == ["breakdown", "coverage", "unmet"]
    with pytest.raises(pbmatch.InputError, match="need a PairingResult"):
        plot.score_breakdown(pbmatch.match(np.ones((2, 2))))  # type: ignore[arg-type]
    with pytest.raises(pbmatch.InputError, match="lang is 'de'"):
        plot.unmet_needs(result, lang="de")  # type: ignore[arg-type]


def test_draws_on_a_given_axes(result: Any) -> None:
    _fig, axes = plt.subplots(1, 2)
    assert plot.unmet_needs(result, ax=axes[1]) is axes[1]
    assert plot.coverage_by_region(result, ax=axes[0], tier="district").get_yticklabels()
