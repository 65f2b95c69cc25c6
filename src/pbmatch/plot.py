"""Figures of a pairing (matplotlib): a map, coverage by street, score breakdown, unmet needs.

Each function draws on ``ax`` (a new figure when ``None``) and returns the axes, in the manner
of pandas' and seaborn's plotting functions::

    import pbmatch, pbmatch.plot
    result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    pbmatch.plot.pairing_map(result)

Labels are English with unit and street ids (``lang="en"``), or Chinese with their names
(``lang="zh"``). Chinese needs a font with Chinese glyphs: :func:`cjk_font` looks for one (the
file named by the environment variable ``PBMATCH_CJK_FONT``, a system font such as Noto Sans
CJK SC, WenQuanYi, Microsoft YaHei, SimHei or PingFang SC, or the Noto Sans SC that
``pip install 'pbmatch[cjk]'`` brings); without one, ``lang="zh"`` falls back to English labels
and ids with a warning, so no figure ever shows empty boxes.

Requires matplotlib (``pip install 'pbmatch[plot]'``).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pbmatch._optional import require
from pbmatch.exceptions import InputError
from pbmatch.io import _KIND_ZH, HEADERS_ZH, Lang, _category_label, _lang, pairing_arrays
from pbmatch.model import KINDS
from pbmatch.results import PairingResult
from pbmatch.scoring.weights import COMPONENTS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "KIND_COLORS",
    "cjk_font",
    "coverage_by_region",
    "figures",
    "pairing_map",
    "score_breakdown",
    "unmet_needs",
]

KIND_COLORS: dict[str, str] = {
    "agency": "#d62728",
    "public_institution": "#ff7f0e",
    "soe": "#8c564b",
    "private_enterprise": "#1f77b4",
    "social_org": "#9467bd",
    "school": "#17becf",
    "hospital": "#e377c2",
    "military": "#7f7f7f",
    "community": "#2ca02c",
    "village": "#bcbd22",
}
"""The colour of each unit kind on maps."""

_COMPONENT_COLORS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd", "#dd8452")

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Hiragino Sans GB",
    "Sarasa Gothic SC",
    "AR PL UMing CN",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)
# Python packages that ship a font with Chinese glyphs: (package, file inside it).
_FONT_PACKAGES = (
    ("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"),
    ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf"),
)

_TEXT: dict[str, tuple[str, str]] = {
    "map_title": (
        "Co-building pairs: {pairs} pairs, {covered} of {receivers} communities/villages covered",
        "结对共建：{pairs} 对，社区/村覆盖 {covered}/{receivers}",
    ),
    "score": ("pair score", "结对得分"),
    "not_paired": ("not paired", "未结对"),
    "uncovered": ("no partner", "未覆盖"),
    "lon": ("longitude", "经度"),
    "lat": ("latitude", "纬度"),
    "no_location": ("{n} units without coordinates not shown", "{n} 个单位无坐标，未显示"),
    "coverage_title": ("Coverage by street", "各街道覆盖情况"),
    "receivers_covered": ("communities/villages with a partner", "有结对单位的社区/村"),
    "need_coverable": ("need coverable by partners' offers", "结对资源可满足的需求"),
    "share": ("share (%)", "比例（%）"),
    "breakdown_title": ("Score breakdown of the {n} chosen pairs", "{n} 对结对的得分构成"),
    "pairs_by_score": ("pairs, best first", "结对（按得分从高到低）"),
    "pairs_binned": (
        "pairs, best first (each step: the mean of about {k} pairs)",
        "结对（按得分从高到低，每段为约 {k} 对的平均）",
    ),
    "score_axis": ("score", "得分"),
    "unmet_title": ("Needs of communities/villages by category", "社区/村各类需求的满足情况"),
    "coverable": ("coverable by partners", "结对单位可满足"),
    "unmet": ("unmet", "缺口"),
    "quantity": ("quantity", "数量"),
    "no_pairs": ("no pairs to show", "没有结对"),
    "no_street": ("(no street)", "（无街道）"),
}


def _mpl() -> Any:
    return require("matplotlib", "plot", "pbmatch.plot")


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of a font with Chinese glyphs, registered with matplotlib, or ``None``.

    Looks, in order, at the font file named by the environment variable
    ``PBMATCH_CJK_FONT``, the fonts matplotlib already knows (Noto Sans CJK SC, WenQuanYi,
    Microsoft YaHei, SimHei, PingFang SC …) and the fonts that Python packages ship
    (``pbmatch[cjk]`` installs one). A font file found this way is added to matplotlib's font
    manager (nothing else changes). The answer is cached for the session.

    Examples
    --------
    >>> family = cjk_font()
    >>> family is None or isinstance(family, str)
    True
    """
    _mpl()
    from matplotlib import font_manager

    manager = font_manager.fontManager
    env = os.environ.get("PBMATCH_CJK_FONT")
    if env:
        found = _add_font(manager, Path(env))
        if found is None:
            warnings.warn(
                f"PBMATCH_CJK_FONT={env!r} is not a font file matplotlib can read; ignored",
                UserWarning,
                stacklevel=2,
            )
        else:
            return found
    known = {entry.name for entry in manager.ttflist}
    for family in _CJK_FAMILIES:
        if family in known:
            return family
    for package, relative in _FONT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            found = _add_font(manager, Path(location) / relative)
            if found is not None:
                return found
    return None


def _add_font(manager: Any, path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        manager.addfont(str(path))
        from matplotlib.font_manager import FontProperties

        name: str = FontProperties(fname=str(path)).get_name()
    except (OSError, RuntimeError, ValueError):
        return None
    return name


@dataclass(frozen=True)
class _Style:
    """How to label a figure: the language actually used and the font."""

    zh: bool
    font: str | None

    def text(self, key: str, **values: Any) -> str:
        return _TEXT[key][1 if self.zh else 0].format(**values)

    def kind(self, kind: str) -> str:
        return _KIND_ZH.get(kind, kind) if self.zh else kind.replace("_", " ")

    def component(self, name: str) -> str:
        return HEADERS_ZH.get(name, name) if self.zh else name.replace("_", " ")

    def category(self, category: str) -> str:
        return _category_label(category, self.zh)

    def name(self, ident: str, name: str) -> str:
        return name if self.zh else ident

    @contextmanager
    def context(self, ax: Axes) -> Iterator[None]:
        """Draw on ``ax`` with the style's font: every text of ``ax`` (and of any axes added
        meanwhile, such as a colorbar) gets the font family by name, so it keeps it whatever
        the rcParams are when the figure is drawn."""
        import matplotlib as mpl
        from matplotlib.text import Text

        figure = ax.figure
        before = set(figure.axes) if figure is not None else set()
        rc: Any = {"axes.unicode_minus": False}
        if self.font is not None:
            rc["font.family"] = [self.font, "sans-serif"]
        with mpl.rc_context(rc):
            yield
            if self.font is None:
                return
            touched = [ax, *(set(figure.axes) - before if figure is not None else ())]
            for axes in touched:
                for text in axes.findobj(Text):
                    text.set_fontfamily([self.font, "sans-serif"])


def _style(lang: Lang) -> _Style:
    zh = _lang(lang) == "zh"
    font = cjk_font()
    if zh and font is None:
        warnings.warn(
            "no font with Chinese glyphs was found, so the figure is labelled in English with "
            "ids; install one with: pip install 'pbmatch[cjk]' (or set PBMATCH_CJK_FONT to a "
            ".ttf/.otf file)",
            UserWarning,
            stacklevel=3,
        )
        zh = False
    return _Style(zh=zh, font=font if zh else None)


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _mpl()
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _check(result: Any) -> PairingResult:
    if not isinstance(result, PairingResult):
        raise InputError(
            f"result is a {type(result).__name__}; these figures need a PairingResult "
            "(from pbmatch.pair)"
        )
    return result


def _below(columns: int) -> dict[str, Any]:
    """Legend options: under the axes, centred, without a frame."""
    return {
        "loc": "upper center",
        "bbox_to_anchor": (0.5, -0.13),
        "ncols": columns,
        "fontsize": 8,
        "frameon": False,
    }


def pairing_map(
    result: PairingResult,
    *,
    ax: Axes | None = None,
    lang: Lang = "en",
    street_labels: bool = True,
) -> Axes:
    """A map of the units, coloured by kind, and the chosen pairs as lines coloured by score.

    Communities and villages are squares, co-building units dots; a unit left unpaired is a
    hollow dot, a community or village with no partner is ringed in red. Longitude is scaled
    by the cosine of the latitude so that distances look right.

    Parameters
    ----------
    result : PairingResult
    ax : matplotlib Axes, optional
        Draw here; by default on a new figure.
    lang : {"en", "zh"}
        English labels with ids, or Chinese with names (see :func:`cjk_font`).
    street_labels : bool
        Write each street's id (or name) at the centre of its communities.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    InputError
        When no unit has coordinates.

    Examples
    --------
    >>> import pbmatch
    >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    >>> ax = pairing_map(result)
    >>> ax.get_title()
    'Co-building pairs: 710 pairs, 64 of 64 communities/villages covered'
    """
    result = _check(result)
    style = _style(lang)
    g = result.graph
    involved = np.concatenate([result.providers, result.receivers])
    located = np.isfinite(g.lat[involved]) & np.isfinite(g.lon[involved])
    if not located.any():
        raise InputError("no unit of this result has coordinates (lat, lon); a map needs them")
    ax = _axes(ax, (9.0, 8.0))
    with style.context(ax):
        _draw_map(ax, result, style, int((~located).sum()), street_labels)
    return ax


def _draw_map(
    ax: Axes, result: PairingResult, style: _Style, unlocated: int, street_labels: bool
) -> None:
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    g = result.graph
    lat0 = float(np.nanmean(g.lat[np.concatenate([result.providers, result.receivers])]))
    per_provider, per_receiver = result.partner_counts()

    # Pairs: best drawn last, on top.
    p = result.providers[result.match.rows]
    r = result.receivers[result.match.cols]
    scores = result.scores
    ok = np.isfinite(g.lat[p] + g.lon[p] + g.lat[r] + g.lon[r])
    order = np.argsort(scores[ok], kind="stable")
    segments = np.stack(
        [np.column_stack([g.lon[p], g.lat[p]]), np.column_stack([g.lon[r], g.lat[r]])], axis=1
    )[ok][order]
    if segments.size:
        s = scores[ok][order]
        span = float(s.max() - s.min()) or 1.0
        lines = LineCollection(
            list(segments),
            cmap="viridis",
            linewidths=0.4 + 1.4 * (s - s.min()) / span,
            alpha=0.75,
            zorder=1,
        )
        lines.set_array(s)
        ax.add_collection(lines)
        bar = ax.figure.colorbar(lines, ax=ax, shrink=0.6, pad=0.01)
        bar.set_label(style.text("score"))

    handles: list[Any] = []
    for side, units, counts in (
        ("provider", result.providers, per_provider),
        ("receiver", result.receivers, per_receiver),
    ):
        receiver = side == "receiver"
        for code in np.unique(g.kinds[units]).tolist():
            kind = KINDS[code]
            mask = g.kinds[units] == code
            idx = units[mask]
            paired = counts[mask] > 0
            color = KIND_COLORS.get(kind, "#333333")
            ax.scatter(
                g.lon[idx[paired]],
                g.lat[idx[paired]],
                s=46 if receiver else 14,
                marker="s" if receiver else "o",
                c=color,
                edgecolors="black" if receiver else "none",
                linewidths=0.6,
                zorder=3 if receiver else 2,
            )
            if (~paired).any():
                ax.scatter(
                    g.lon[idx[~paired]],
                    g.lat[idx[~paired]],
                    s=70 if receiver else 16,
                    marker="s" if receiver else "o",
                    facecolors="none" if not receiver else color,
                    edgecolors="#d62728" if receiver else color,
                    linewidths=1.8 if receiver else 0.9,
                    zorder=4 if receiver else 2,
                )
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="s" if receiver else "o",
                    ms=7 if receiver else 5,
                    mfc=color,
                    mec="black" if receiver else color,
                    label=style.kind(kind),
                )
            )
    if (per_provider == 0).any():
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                ms=5,
                mfc="none",
                mec="#555555",
                label=style.text("not_paired"),
            )
        )
    if (per_receiver == 0).any():
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="s",
                ms=7,
                mfc="#2ca02c",
                mec="#d62728",
                mew=1.8,
                label=style.text("uncovered"),
            )
        )

    if street_labels:
        codes = g.region_codes("street")[result.receivers]
        names = {reg.id: reg.name for reg in g.regions}
        for code in np.unique(codes[codes >= 0]).tolist():
            members = result.receivers[codes == code]
            x, y = np.nanmean(g.lon[members]), np.nanmean(g.lat[members])
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            sid = g.region_ids[code]
            ax.text(
                x,
                y,
                style.name(sid, names[sid]),
                ha="center",
                va="center",
                fontsize=11,
                fontweight="normal" if style.zh else "bold",
                color="#222222",
                zorder=5,
                path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
            )

    ax.legend(handles=handles, **_below(5))
    ax.set_aspect(1.0 / max(math.cos(math.radians(lat0)), 1e-6), adjustable="datalim")
    ax.autoscale_view()
    ax.ticklabel_format(useOffset=False)
    ax.set_xlabel(style.text("lon"))
    ax.set_ylabel(style.text("lat"))
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#eeeeee", linewidth=0.6, zorder=0)
    c = result.coverage()
    ax.set_title(
        style.text(
            "map_title",
            pairs=len(result),
            covered=c["receivers_covered"],
            receivers=c["receivers"],
        )
    )
    if unlocated:
        ax.annotate(
            style.text("no_location", n=unlocated),
            xy=(0.01, 0.01),
            xycoords="axes fraction",
            fontsize=8,
            color="#555555",
        )


def coverage_by_region(
    result: PairingResult,
    *,
    ax: Axes | None = None,
    lang: Lang = "en",
    tier: str = "street",
) -> Axes:
    """Per street (or another tier): the share of communities/villages with a partner and the
    share of their need that their partners' pooled offers can meet.

    Parameters
    ----------
    result : PairingResult
    ax : matplotlib Axes, optional
    lang : {"en", "zh"}
    tier : {"street", "district", "community", "park", "city", "grid"}
        The regions to group the receivers by.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pbmatch
    >>> ax = coverage_by_region(pbmatch.pair(pbmatch.synthetic_district(seed=0)))
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['S1', 'S2', 'S3']
    """
    result = _check(result)
    style = _style(lang)
    arrays = pairing_arrays(result, tier)
    n = len(arrays.street_ids)
    ax = _axes(ax, (8.0, 1.0 + 0.55 * max(n, 1)))
    with style.context(ax):
        y = np.arange(n)
        covered = 100.0 * arrays.covered / np.maximum(arrays.receivers, 1)
        need = np.where(
            arrays.need > 0, 100.0 * arrays.coverable / np.maximum(arrays.need, 1e-12), 100.0
        )
        h = 0.38
        ax.barh(
            y - h / 2, covered, height=h, color="#4c72b0", label=style.text("receivers_covered")
        )
        ax.barh(y + h / 2, need, height=h, color="#55a868", label=style.text("need_coverable"))
        for i in range(n):
            ax.text(
                covered[i] + 1,
                y[i] - h / 2,
                f"{arrays.covered[i]}/{arrays.receivers[i]}",
                va="center",
                fontsize=8,
            )
            ax.text(need[i] + 1, y[i] + h / 2, f"{need[i]:.0f}%", va="center", fontsize=8)
        labels = [
            style.name(sid, name) if sid else style.text("no_street")
            for sid, name in zip(arrays.street_ids, arrays.street_names, strict=True)
        ]
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 115)
        ax.set_xlabel(style.text("share"))
        ax.set_title(style.text("coverage_title"))
        ax.legend(**_below(2))
        ax.grid(True, axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    return ax


def score_breakdown(
    result: PairingResult,
    *,
    ax: Axes | None = None,
    lang: Lang = "en",
) -> Axes:
    """The score of every chosen pair, best first, stacked by component.

    The height at a pair is its score; each band is one weighted component
    (``need_met``, ``offer_used``, ``distance`` …), so the figure shows what the pairing rests
    on.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pbmatch
    >>> ax = score_breakdown(pbmatch.pair(pbmatch.synthetic_district(seed=0)))
    >>> [t.get_text() for t in ax.get_legend().get_texts()][:2]
    ['need met', 'offer used']
    """
    result = _check(result)
    style = _style(lang)
    ax = _axes(ax, (9.0, 4.5))
    with style.context(ax):
        n = len(result)
        if n == 0:
            ax.text(
                0.5, 0.5, style.text("no_pairs"), ha="center", va="center", transform=ax.transAxes
            )
            return ax
        order = np.argsort(-result.scores, kind="stable")
        parts = np.stack([result.breakdown[c][order] for c in COMPONENTS])
        if n > 120:  # average runs of consecutive pairs, so the bands stay readable
            edges = np.linspace(0, n, 61).round().astype(np.int64)
            sums = np.add.reduceat(parts, edges[:-1], axis=1)
            parts = sums / np.diff(edges)
            x = edges
            xlabel = style.text("pairs_binned", k=round(n / 60))
        else:
            xlabel = style.text("pairs_by_score")
            x = np.arange(n + 1)
        stacked = [np.append(part, part[-1]) for part in parts]
        ax.stackplot(
            x,
            *stacked,
            step="post",
            labels=[style.component(c) for c in COMPONENTS],
            colors=_COMPONENT_COLORS,
            linewidth=0,
        )
        ax.set_xlim(0, n)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(style.text("score_axis"))
        ax.set_title(style.text("breakdown_title", n=n))
        ax.legend(**_below(4))
        ax.grid(True, axis="y", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    return ax


def unmet_needs(
    result: PairingResult,
    *,
    ax: Axes | None = None,
    lang: Lang = "en",
) -> Axes:
    """Per category: the receivers' total need, split into what their partners' pooled offers
    can meet and what stays unmet.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import pbmatch
    >>> ax = unmet_needs(pbmatch.pair(pbmatch.synthetic_district(seed=0)), lang="en")
    >>> ax.get_title()
    'Needs of communities/villages by category'
    """
    result = _check(result)
    style = _style(lang)
    arrays = pairing_arrays(result)
    need = arrays.needs.sum(axis=0)
    met = arrays.pooled.sum(axis=0)
    keep = np.flatnonzero(need > 0)
    keep = keep[np.argsort(-need[keep], kind="stable")]
    ax = _axes(ax, (8.0, 1.0 + 0.4 * max(keep.size, 1)))
    with style.context(ax):
        y = np.arange(keep.size)
        ax.barh(y, met[keep], color="#55a868", label=style.text("coverable"))
        ax.barh(
            y, need[keep] - met[keep], left=met[keep], color="#c44e52", label=style.text("unmet")
        )
        top = float(need.max()) if need.size else 1.0
        for i, j in enumerate(keep.tolist()):
            gap = need[j] - met[j]
            if gap > 1e-9:
                ax.text(
                    need[j] + 0.01 * top,
                    y[i],
                    f"{100 * gap / need[j]:.0f}%",
                    va="center",
                    fontsize=8,
                    color="#c44e52",
                )
        labels = [style.category(result.graph.categories[j]) for j in keep.tolist()]
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.1 * top if top > 0 else 1)
        ax.set_xlabel(style.text("quantity"))
        ax.set_title(style.text("unmet_title"))
        ax.legend(**_below(2))
        ax.grid(True, axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    return ax


def figures(result: PairingResult, *, lang: Lang = "en") -> dict[str, Figure]:
    """All figures of a pairing, each on its own ``Figure`` (made without pyplot).

    Keys: ``"map"`` (left out when no unit has coordinates), ``"coverage"``, ``"breakdown"``,
    ``"unmet"``. Used by :func:`pbmatch.report.to_html`.

    Examples
    --------
    >>> import pbmatch
    >>> sorted(figures(pbmatch.pair(pbmatch.synthetic_district(seed=0))))
    ['breakdown', 'coverage', 'map', 'unmet']
    """
    result = _check(result)
    _mpl()
    from matplotlib.figure import Figure

    lang = "zh" if _style(lang).zh else "en"  # warn once, not once per figure
    out: dict[str, Figure] = {}
    g = result.graph
    involved = np.concatenate([result.providers, result.receivers])
    if (np.isfinite(g.lat[involved]) & np.isfinite(g.lon[involved])).any():
        fig = Figure(figsize=(9.0, 8.0), layout="constrained")
        pairing_map(result, ax=fig.add_subplot(), lang=lang)
        out["map"] = fig
    n = len(pairing_arrays(result).street_ids)
    for key, draw, size in (
        ("coverage", coverage_by_region, (8.0, 1.2 + 0.55 * max(n, 1))),
        ("breakdown", score_breakdown, (9.0, 4.5)),
        ("unmet", unmet_needs, (8.0, 1.2 + 0.4 * len(g.categories))),
    ):
        fig = Figure(figsize=size, layout="constrained")
        draw(result, ax=fig.add_subplot(), lang=lang)
        out[key] = fig
    return out
