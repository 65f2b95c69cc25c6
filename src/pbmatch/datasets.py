"""Seeded synthetic regions: the embedded example data of pbmatch.

:func:`synthetic_district` builds one district (区) of a few hundred units, the size a street or
district office works with; :func:`synthetic_city` builds a whole city of districts for scale
benchmarks. Both return a :class:`~pbmatch.graph.RegionGraph` and share one generator, so a city
is many districts of the same make.

The region tree is district → street (街道) or township (乡镇) → community (社区) or village (村),
plus parks (园区) and commercial buildings (商务楼宇) under some streets. Every community and
village is also a unit of kind ``community`` / ``village`` whose id equals its region id
(unit ``"S1-C03"`` sits in region ``"S1-C03"``). Every other unit is a co-building unit
(驻区单位, a *provider*) sitting in a community, park or building of its street.

Ids are short and readable::

    D1             district               (the city numbers them D01, D02, ...)
    S1, T1         street, township       (the city prefixes the district: D01-S003)
    S1-C03, T1-V07 community, village     (region and unit)
    S1-P1, S1-B2   park, commercial building
    S1-U17         co-building unit (provider)

Names are Chinese (``东湖街道``, ``幸福社区``, ``华创科技有限公司``), drawn from small word lists.

Resource categories are the 16 of :data:`CATEGORY_NAMES_ZH`, in four groups
(:data:`CATEGORY_GROUPS`: 党建/设施/信息/社会资源).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS

__all__ = [
    "CATEGORIES",
    "CATEGORY_GROUPS",
    "CATEGORY_NAMES_ZH",
    "GROUP_NAMES_ZH",
    "INDUSTRIES",
    "PROVIDER_KIND_SHARES",
    "synthetic_city",
    "synthetic_district",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Rng = np.random.Generator

# ---------------------------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------------------------
CATEGORY_NAMES_ZH: dict[str, str] = {
    # 党建资源 (party-building)
    "party_lecture": "党课宣讲",
    "volunteers": "志愿服务",
    "training": "技能培训",
    # 设施资源 (facilities)
    "venue": "活动场地",
    "parking": "停车资源",
    "culture": "文体活动",
    # 信息资源 (information)
    "it_support": "信息技术",
    "employment": "就业岗位",
    "legal": "法律咨询",
    "safety": "安全宣传",
    # 社会资源 (social)
    "medical": "义诊健康",
    "education": "课后托管",
    "elderly_care": "养老助老",
    "funding": "资金支持",
    "mediation": "矛盾调解",
    "environment": "环境整治",
}
"""Resource category identifiers and their Chinese labels, grouped as in :data:`CATEGORY_GROUPS`."""

CATEGORIES: tuple[str, ...] = tuple(CATEGORY_NAMES_ZH)
"""The category identifiers in column order of the generated graphs."""

GROUP_NAMES_ZH: dict[str, str] = {
    "party": "党建资源",
    "facility": "设施资源",
    "information": "信息资源",
    "social": "社会资源",
}
"""The four resource groups and their Chinese names."""

CATEGORY_GROUPS: dict[str, str] = {
    **dict.fromkeys(("party_lecture", "volunteers", "training"), "party"),
    **dict.fromkeys(("venue", "parking", "culture"), "facility"),
    **dict.fromkeys(("it_support", "employment", "legal", "safety"), "information"),
    **dict.fromkeys(
        ("medical", "education", "elderly_care", "funding", "mediation", "environment"), "social"
    ),
}
"""The group (a key of :data:`GROUP_NAMES_ZH`) of each category."""

# ---------------------------------------------------------------------------------------------
# Provider kinds and their traits
# ---------------------------------------------------------------------------------------------
PROVIDER_KIND_SHARES: dict[str, float] = {
    # Non-public firms are the bulk of the co-building units (驻区单位) of an urban street;
    # social organisations and public institutions come next; agencies (street-level offices,
    # stations of district bureaus), state firms, schools and hospitals are fewer; a military
    # unit is rare (one in a few streets).
    "private_enterprise": 0.45,
    "social_org": 0.12,
    "public_institution": 0.12,
    "agency": 0.10,
    "soe": 0.07,
    "school": 0.07,
    "hospital": 0.04,
    "military": 0.03,
}
"""Share of each provider kind among the co-building units (sums to 1)."""

INDUSTRIES: tuple[str, ...] = (
    "manufacturing",
    "it",
    "finance",
    "retail",
    "logistics",
    "construction",
    "catering",
    "energy",
    "telecom",
    "transport",
    "utilities",
)
"""Industry tags of firms (``soe`` and ``private_enterprise`` units carry one in ``tags``)."""


class _Traits(NamedTuple):
    members_median: float  # full Party members: lognormal median ...
    members_sigma: float  # ... and log-sd, clipped to [members_lo, members_hi]
    members_lo: int
    members_hi: int
    partners_lo: int  # max_partners drawn uniformly from [partners_lo, partners_hi]
    partners_hi: int
    container_share: float  # chance of sitting in a park/building when the street has one


_TRAITS: dict[str, _Traits] = {
    "agency": _Traits(35, 0.6, 1, 200, 2, 3, 0.0),
    "public_institution": _Traits(20, 0.7, 1, 200, 1, 3, 0.05),
    "soe": _Traits(50, 0.7, 1, 200, 2, 3, 0.4),
    "private_enterprise": _Traits(5, 1.0, 1, 200, 1, 2, 0.6),
    "social_org": _Traits(4, 0.8, 1, 200, 1, 2, 0.15),
    "school": _Traits(25, 0.6, 1, 200, 2, 3, 0.0),
    "hospital": _Traits(70, 0.6, 1, 200, 2, 3, 0.0),
    "military": _Traits(40, 0.5, 1, 200, 1, 2, 0.0),
    "community": _Traits(80, 0.6, 20, 300, 0, 0, 0.0),
    "village": _Traits(40, 0.5, 20, 300, 0, 0, 0.0),
}
_SMALL_FIRM_MEMBERS = 10
"""A private firm with fewer full members than this takes one partner at most."""

_RECEIVER_SLACK = 1.25
"""Receivers' total ``max_partners`` in a street ≈ this × the street's provider capacity."""
_RECEIVER_MAX_CAP = 26
"""A community signs with at most 26 units (published practice)."""

_PROVIDER_NEED_SHARE = 0.2
_RECEIVER_OFFER_SHARE = 0.3
_TIE_YEARS = (2015, 2025)

# Offer and need profiles: relative weights of each category; a category a profile does not
# list gets _BASE_WEIGHT (16 named categories) or _EXTRA_WEIGHT (the extra ones of a city).
_BASE_WEIGHT = 0.15
_EXTRA_WEIGHT = 1.0
_OFFER_PROFILES: dict[str, dict[str, float]] = {
    "agency": {"party_lecture": 5, "funding": 3, "legal": 3, "training": 2, "safety": 2,
               "venue": 2, "mediation": 1},
    "public_institution": {"culture": 3, "venue": 3, "training": 2, "party_lecture": 2,
                           "it_support": 1, "environment": 1, "safety": 1},
    "soe": {"funding": 3, "employment": 3, "party_lecture": 2, "volunteers": 2, "training": 2,
            "venue": 2, "safety": 2, "parking": 1},
    "private_enterprise": {"employment": 4, "funding": 3, "training": 3, "it_support": 3,
                           "volunteers": 1, "parking": 1},
    "social_org": {"volunteers": 5, "elderly_care": 4, "mediation": 3, "culture": 2, "legal": 1},
    "school": {"education": 5, "venue": 4, "culture": 3, "volunteers": 1, "safety": 1,
               "parking": 1},
    "hospital": {"medical": 6, "elderly_care": 2, "volunteers": 1, "safety": 1, "training": 1},
    "military": {"safety": 4, "volunteers": 3, "party_lecture": 2, "culture": 2,
                 "environment": 2},
    "community": {"venue": 3, "volunteers": 2, "culture": 1},
    "village": {"venue": 2, "volunteers": 2, "environment": 1},
}  # fmt: skip
_INDUSTRY_BOOST: dict[str, dict[str, float]] = {
    "manufacturing": {"employment": 2, "training": 2},
    "it": {"it_support": 5},
    "finance": {"funding": 4, "legal": 1},
    "retail": {"employment": 1, "venue": 1},
    "logistics": {"parking": 2, "employment": 2},
    "construction": {"environment": 2, "employment": 1},
    "catering": {"elderly_care": 2, "venue": 1},
    "energy": {"safety": 2, "funding": 1},
    "telecom": {"it_support": 3},
    "transport": {"parking": 2, "safety": 1},
    "utilities": {"environment": 2, "safety": 1},
}
_NEED_PROFILES: dict[str, dict[str, float]] = {
    "community": {"elderly_care": 4, "medical": 3, "education": 3, "culture": 3, "volunteers": 3,
                  "parking": 3, "environment": 3, "venue": 2, "legal": 2, "employment": 2,
                  "mediation": 2, "safety": 2, "funding": 2, "party_lecture": 2, "training": 1,
                  "it_support": 1},
    "village": {"funding": 4, "employment": 3, "training": 3, "environment": 3, "medical": 3,
                "elderly_care": 3, "it_support": 2, "legal": 2, "culture": 2, "education": 2,
                "party_lecture": 2, "safety": 1, "mediation": 1, "volunteers": 1, "venue": 1},
    "private_enterprise": {"party_lecture": 3, "venue": 2, "training": 2, "legal": 2,
                           "parking": 2},
    "soe": {"volunteers": 2, "venue": 1, "party_lecture": 1},
    "agency": {"volunteers": 2, "it_support": 1},
    "public_institution": {"volunteers": 2, "venue": 1, "it_support": 1},
    "social_org": {"venue": 3, "funding": 3, "party_lecture": 2},
    "school": {"safety": 3, "volunteers": 2, "medical": 1},
    "hospital": {"volunteers": 3, "parking": 2},
    "military": {"culture": 2, "medical": 1},
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------
def _two_char(text: str) -> tuple[str, ...]:
    """Split a run of two-character words."""
    return tuple(text[i : i + 2] for i in range(0, len(text), 2))


_DISTRICT_STEMS = _two_char(
    "东城西城南湖北湖新城高新江北江南城东城西河西湖滨开元长安永安和平滨江临江望海青山"
)
_STREET_FIRST = "东西南北新文江湖河山龙凤金银和平安康清明长永兴华"
_STREET_SECOND = "湖山河桥门塘园港浦溪林城岭湾桂宁泽源丰兴"
_STREET_STEMS = tuple(a + b for a in _STREET_FIRST for b in _STREET_SECOND if a != b)
_COMMUNITY_STEMS = _two_char(
    "幸福和谐阳光春晖翠苑文苑朝晖东园南苑景华红星光明建设向阳友谊平安康乐金桥银河绿城"
    "新华长庆湖滨清波紫荆枫林桂花丽水华康兴隆永安明珠锦绣星光花园秀水双桥万松竹园古荡"
    "青年"
)
_VILLAGE_STEMS = _two_char(
    "王家李家张家刘家陈家杨家赵家黄家周家吴家徐家孙家胡家朱家高家上塘下塘前山后山东坞"
    "西坞石桥柳溪桃源梅林竹溪新塘龙井白沙青山马家"
)
_BRAND_FIRST = "华创瑞达恒信鑫泰博远联众智科汇隆通宏正德源晟嘉润"
_BRAND_STEMS = tuple(a + b for a in _BRAND_FIRST for b in _BRAND_FIRST if a != b)
_STEM_SOURCE: dict[str, str] = {
    "private_enterprise": "brand",
    "agency": "street",
    "soe": "street",
    "military": "street",
}
"""Where a provider's name stem comes from (default ``"place"``: its community)."""
_PARK_SUFFIXES = ("科技园", "产业园", "创意园", "软件园", "工业园")
_BUILDING_SUFFIXES = ("国际大厦", "金融中心", "商务中心", "广场", "大厦")

# Name templates of providers: (prefix, suffix, industry or "", weight); the stem in between is
# a brand for private firms and the place (community or street) for every other kind.
_TEMPLATES: dict[str, tuple[tuple[str, str, str, float], ...]] = {
    "agency": (
        ("", "派出所", "", 1), ("", "税务所", "", 1), ("", "市场监管所", "", 1),
        ("", "司法所", "", 1), ("", "城管中队", "", 1), ("", "财政所", "", 1),
        ("", "自然资源所", "", 1),
    ),
    "public_institution": (
        ("", "文化站", "", 2), ("", "图书馆", "", 1), ("", "规划设计院", "", 1),
        ("", "疾控中心", "", 1), ("", "科技馆", "", 1), ("", "广播电视站", "", 1),
        ("", "农业技术推广站", "", 1),
    ),
    "soe": (
        ("国网", "供电所", "energy", 2), ("", "燃气公司", "energy", 1),
        ("", "水务公司", "utilities", 1), ("建设银行", "支行", "finance", 1),
        ("工商银行", "支行", "finance", 1), ("中国移动", "营业厅", "telecom", 1),
        ("邮政", "支局", "transport", 1), ("", "公交公司", "transport", 1),
        ("中建", "项目部", "construction", 1),
    ),
    "private_enterprise": (
        ("", "科技有限公司", "it", 12), ("", "网络科技有限公司", "it", 8),
        ("", "机械制造有限公司", "manufacturing", 13), ("", "电子有限公司", "manufacturing", 12),
        ("", "投资管理有限公司", "finance", 8), ("", "商贸有限公司", "retail", 20),
        ("", "物流有限公司", "logistics", 10), ("", "建设工程有限公司", "construction", 10),
        ("", "餐饮管理有限公司", "catering", 7),
    ),
    "social_org": (
        ("", "社工服务中心", "", 2), ("", "志愿者协会", "", 2), ("", "养老服务中心", "", 2),
        ("", "青少年发展中心", "", 1), ("", "慈善基金会", "", 1), ("", "商会", "", 1),
        ("", "邻里互助会", "", 1),
    ),
    "school": (
        ("", "小学", "", 3), ("", "中学", "", 2), ("", "幼儿园", "", 3),
        ("", "实验学校", "", 1), ("", "职业技术学校", "", 1),
    ),
    "hospital": (
        ("", "社区卫生服务中心", "", 4), ("", "人民医院", "", 1), ("", "中医医院", "", 1),
        ("", "口腔医院", "", 1), ("", "妇幼保健院", "", 1),
    ),
    "military": (("武警", "中队", "", 2), ("驻", "某部", "", 1)),
}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON_EQUATOR = 111.320
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
_TOWNSHIP_SCALE = 2.5
"""Townships are this many times wider than streets (and spaced as far apart)."""
_JITTER = {"community": 0.3, "park": 0.25, "building": 0.02}
"""Radius of a provider around its community/park/building centre, as a share of the street's."""


def _lattice(
    rng: Rng, n: int, spacing: float, r_inner: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """``n`` centres ``spacing`` km apart: the points of a randomly shifted and turned hexagonal
    lattice nearest the origin, at least ``r_inner`` from it, jittered by 10 %; x, y in km."""
    if n == 0:
        return np.zeros(0), np.zeros(0)
    cell = spacing**2 * math.sqrt(3.0) / 2.0  # area per lattice point
    reach = math.sqrt(r_inner**2 + 1.3 * n * cell / math.pi) + 2.0 * spacing
    m = math.ceil(reach / (0.86 * spacing)) + 1
    i, j = np.meshgrid(np.arange(-m, m + 1), np.arange(-m, m + 1), indexing="ij")
    shift = rng.uniform(-0.5, 0.5, 2) * spacing
    x = (i + 0.5 * j).ravel() * spacing + shift[0]
    y = j.ravel() * (math.sqrt(3.0) / 2.0) * spacing + shift[1]
    r = np.hypot(x, y)
    candidates = np.flatnonzero(r >= r_inner)
    pick = candidates[np.argsort(r[candidates], kind="stable")[:n]]
    turn = rng.uniform(0.0, 2.0 * math.pi)
    cos, sin = math.cos(turn), math.sin(turn)
    px = cos * x[pick] - sin * y[pick] + rng.uniform(-0.1, 0.1, n) * spacing
    py = sin * x[pick] + cos * y[pick] + rng.uniform(-0.1, 0.1, n) * spacing
    return px, py


def _disc(rng: Rng, radius: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One uniform point in a disc of the given radius (km) per entry."""
    r = radius * np.sqrt(rng.random(radius.shape[0]))
    theta = rng.uniform(0.0, 2.0 * math.pi, radius.shape[0])
    return r * np.cos(theta), r * np.sin(theta)


# ---------------------------------------------------------------------------------------------
# Small array helpers
# ---------------------------------------------------------------------------------------------
def _starts(counts: IntArray) -> IntArray:
    """Offset of each group in a concatenation of groups of ``counts`` sizes."""
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def _local_index(group: IntArray, counts: IntArray) -> IntArray:
    """Position of each item within its group, for items sorted by group."""
    return np.arange(group.shape[0], dtype=np.int64) - _starts(counts)[group]


def _apportion(rng: Rng, total: int, weights: FloatArray, floor: int) -> IntArray:
    """Split ``total`` into integer parts ∝ ``weights`` (largest remainder), each ``>= floor``."""
    n = weights.shape[0]
    rest = total - floor * n
    quota = rest * weights / weights.sum() if weights.sum() > 0 else np.full(n, rest / n)
    parts = np.floor(quota).astype(np.int64)
    short = rest - int(parts.sum())
    if short > 0:
        # Largest remainders first; random tie-breaks keep it unbiased yet seeded.
        order = np.lexsort((rng.random(n), -(quota - parts)))
        parts[order[:short]] += 1
    out: IntArray = parts + floor
    return out


def _choose(rng: Rng, weights: FloatArray, k: IntArray) -> BoolArray:
    """Per row, ``k[i]`` distinct columns drawn ∝ ``weights[i]`` without replacement.

    Gumbel top-k: the ``k`` largest ``log w + Gumbel`` keys are a weighted sample without
    replacement, all rows at once.
    """
    n, n_cols = weights.shape
    keys = np.log(weights) + rng.gumbel(size=weights.shape)
    k = np.minimum(k, n_cols)
    ordered = np.sort(keys, axis=1)  # ascending: the k-th largest sits at n_cols - k
    threshold = ordered[np.arange(n), np.minimum(n_cols - k, n_cols - 1)]
    chosen: BoolArray = (keys >= threshold[:, None]) & (k > 0)[:, None]
    return chosen


def _ints(rng: Rng, low: int, high: int, n: int) -> IntArray:
    """``n`` integers uniform in ``low..high - 1``."""
    return np.asarray(rng.integers(low, high, size=n), dtype=np.int64)


def _quantities(rng: Rng, chosen: BoolArray, top: int, p: FloatArray) -> IntArray:
    """Integer quantities in ``1..top`` (``1 + Binomial(top - 1, p)``) where ``chosen``."""
    rows, cols = np.nonzero(chosen)
    out = np.zeros(chosen.shape, dtype=np.int64)
    out[rows, cols] = 1 + rng.binomial(top - 1, p[rows])
    return out


def _profile_matrix(
    profiles: Mapping[str, Mapping[str, float]],
    rows: Sequence[str],
    categories: Sequence[str],
    *,
    boost: bool = False,
) -> FloatArray:
    """Weights (len(rows), len(categories)) of the profiles.

    A category a profile does not list gets ``_BASE_WEIGHT`` (a named one) or
    ``_EXTRA_WEIGHT`` (an extra city category); a boost table defaults to 0 instead.
    """
    defaults = [
        0.0 if boost else _BASE_WEIGHT if c in CATEGORY_NAMES_ZH else _EXTRA_WEIGHT
        for c in categories
    ]
    return np.array(
        [
            [profiles.get(row, {}).get(c, d) for c, d in zip(categories, defaults, strict=True)]
            for row in rows
        ],
        dtype=float,
    ).reshape(len(rows), len(categories))


def _lognormal_members(rng: Rng, kinds: IntArray) -> IntArray:
    traits = [_TRAITS[k] for k in KINDS]
    median = np.array([t.members_median for t in traits])[kinds]
    sigma = np.array([t.members_sigma for t in traits])[kinds]
    lo = np.array([t.members_lo for t in traits])[kinds]
    hi = np.array([t.members_hi for t in traits])[kinds]
    raw = np.rint(median * np.exp(sigma * rng.standard_normal(kinds.shape[0])))
    clipped: IntArray = np.clip(raw.astype(np.int64), lo, hi)
    return clipped


# ---------------------------------------------------------------------------------------------
# Parameter checks (every failure names the function, the parameter and its value)
# ---------------------------------------------------------------------------------------------
def _fail(func: str, name: str, value: Any, rule: str) -> InputError:
    return InputError(f"{func}: parameter {name!r} has value {value!r}; it must be {rule}")


def _int(func: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise _fail(func, name, value, f"an integer >= {minimum}")
    return int(value)


def _int_range(func: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    )
    if not ok or not (minimum <= value[0] <= value[1]):
        raise _fail(
            func, name, value, f"a pair (low, high) of integers with {minimum} <= low <= high"
        )
    return int(value[0]), int(value[1])


def _real(
    func: str, name: str, value: Any, lo: float, hi: float, *, open_lo: bool = False
) -> float:
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real)
    if not bad:
        number = float(value)
        bad = not math.isfinite(number) or number > hi or (number <= lo if open_lo else number < lo)
    if bad:
        low = f"> {lo}" if open_lo else f">= {lo}"
        high = "" if math.isinf(hi) else f" and <= {hi}"
        raise _fail(func, name, value, f"a finite number {low}{high}")
    return float(value)


def _center(func: str, value: Any) -> tuple[float, float]:
    rule = "a (lat, lon) pair of finite degrees with -85 <= lat <= 85 and -180 <= lon <= 180"
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(float(v)) for v in value)
    )
    if not ok or abs(float(value[0])) > 85.0 or abs(float(value[1])) > 180.0:
        raise _fail(func, "center", value, rule)
    return float(value[0]), float(value[1])


def _seed(func: str, seed: Any) -> Rng:
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise _fail(func, "seed", seed, "an integer >= 0 or None")
    return np.random.default_rng(None if seed is None else int(seed))


# ---------------------------------------------------------------------------------------------
# The shared generator
# ---------------------------------------------------------------------------------------------
@dataclass
class _Layout:
    """The district and street level of a generated region, before any unit exists."""

    district_ids: list[str]
    district_names: list[str]
    street_ids: list[str]
    street_names: list[str]
    street_stems: list[str]
    street_district: IntArray
    township: BoolArray
    x: FloatArray  # street centres, km east of the region centre
    y: FloatArray  # km north
    spread: FloatArray  # radius (km) the street's communities spread over
    n_receivers: IntArray
    n_providers: IntArray
    n_parks: IntArray
    n_buildings: IntArray


@dataclass
class _Options:
    func: str
    center: tuple[float, float]
    categories: tuple[str, ...]
    tie_share: float
    receiver_min_partners: int
    ensure_coverage: bool


def _street_naming(
    rng: Rng, street_district: IntArray, township: BoolArray, n_districts: int, prefixes: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """Ids (``S1``/``T1`` or ``D01-S001``), names and stems of the streets, district by district."""
    n = street_district.shape[0]
    code = street_district * 2 + township.astype(np.int64)  # streets and townships numbered apart
    order = np.lexsort((np.arange(n), code))
    counts = np.bincount(code, minlength=2 * n_districts).astype(np.int64)
    local = np.empty(n, dtype=np.int64)
    local[order] = _local_index(code[order], counts)
    width = len(str(int(counts.max()))) if n else 1
    letter = np.where(township, "T", "S")
    ids = [
        f"{prefixes[d]}{t}{k + 1:0{width}d}"
        for d, t, k in zip(street_district.tolist(), letter.tolist(), local.tolist(), strict=True)
    ]
    # Stems unique within a district while it has fewer streets than stems.
    perm = rng.permutation(len(_STREET_STEMS))
    offset = rng.integers(0, len(_STREET_STEMS), n_districts)
    within = np.empty(n, dtype=np.int64)
    by_district = np.argsort(street_district, kind="stable")
    within[by_district] = _local_index(
        street_district[by_district], np.bincount(street_district, minlength=n_districts)
    )
    stems = [
        _STREET_STEMS[i]
        for i in perm[(offset[street_district] + within) % len(_STREET_STEMS)].tolist()
    ]
    names = [s + ("镇" if t else "街道") for s, t in zip(stems, township.tolist(), strict=True)]
    return ids, names, stems


def _place_containers(
    rng: Rng, street_district: IntArray, township: BoolArray, n_districts: int, per_district: int
) -> IntArray:
    """Spread ``per_district`` parks (or buildings) over each district's streets, urban first."""
    count = np.zeros(street_district.shape[0], dtype=np.int64)
    if per_district == 0:
        return count
    for d in range(n_districts):
        urban = np.flatnonzero((street_district == d) & ~township)
        pool = urban if urban.size else np.flatnonzero(street_district == d)
        if pool.size == 0:
            continue
        chosen = rng.permutation(pool)[np.arange(per_district) % pool.size]
        np.add.at(count, chosen, 1)
    return count


@dataclass
class _Side:
    """Per-unit arrays of one side (receivers or providers), filled step by step."""

    street: IntArray
    kind: IntArray
    x: FloatArray
    y: FloatArray
    ids: list[str]
    names: list[str]
    regions: list[str]
    home: IntArray  # receiver index of the community a unit sits in or next to
    tags: list[tuple[str, ...]]
    industry: IntArray  # 0: none, else 1 + index into INDUSTRIES
    members: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    max_partners: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    min_partners: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    offers: IntArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    needs: IntArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))


@dataclass
class _Containers:
    """Parks and buildings."""

    street: IntArray
    park: BoolArray
    x: FloatArray
    y: FloatArray
    ids: list[str]
    names: list[str]
    home: IntArray  # the community each sits next to


def _receivers(rng: Rng, lay: _Layout) -> tuple[_Side, list[str]]:
    """One community or village per region, spread over its street (Vogel spiral); and stems."""
    n_streets = len(lay.street_ids)
    street = np.repeat(np.arange(n_streets, dtype=np.int64), lay.n_receivers)
    local = _local_index(street, lay.n_receivers)
    n = street.shape[0]
    village = lay.township[street]
    kind = np.where(village, KINDS.index("village"), KINDS.index("community")).astype(np.int64)
    k = local + 0.5
    count = lay.n_receivers[street]
    radius = lay.spread[street] * np.sqrt(k / count)
    theta = k * _GOLDEN_ANGLE + rng.uniform(0.0, 2.0 * math.pi, n_streets)[street]
    jitter = 0.15 * lay.spread[street] / np.sqrt(count)
    x = lay.x[street] + radius * np.cos(theta) + rng.uniform(-1.0, 1.0, n) * jitter
    y = lay.y[street] + radius * np.sin(theta) + rng.uniform(-1.0, 1.0, n) * jitter
    width = max(2, len(str(int(lay.n_receivers.max()))))
    ids = [
        f"{lay.street_ids[s]}-{'V' if v else 'C'}{i + 1:0{width}d}"
        for s, v, i in zip(street.tolist(), village.tolist(), local.tolist(), strict=True)
    ]
    # Names unique within a street: consecutive stems from a random offset.
    offset = rng.integers(0, 10_000, n_streets)[street] + local
    stems = [
        _VILLAGE_STEMS[o % len(_VILLAGE_STEMS)]
        if v
        else _COMMUNITY_STEMS[o % len(_COMMUNITY_STEMS)]
        for o, v in zip(offset.tolist(), village.tolist(), strict=True)
    ]
    names = [s + ("村" if v else "社区") for s, v in zip(stems, village.tolist(), strict=True)]
    side = _Side(
        street=street,
        kind=kind,
        x=x,
        y=y,
        ids=ids,
        names=names,
        regions=ids,  # a community is a unit located in its own region
        home=np.arange(n, dtype=np.int64),
        tags=[()] * n,
        industry=np.zeros(n, dtype=np.int64),
    )
    return side, stems


def _containers(rng: Rng, lay: _Layout) -> _Containers:
    """Parks and commercial buildings, near the street centre, each next to a community."""
    n_streets = len(lay.street_ids)
    count = lay.n_parks + lay.n_buildings
    street = np.repeat(np.arange(n_streets, dtype=np.int64), count)
    local = _local_index(street, count)
    park = local < lay.n_parks[street]
    dx, dy = _disc(rng, 0.6 * lay.spread[street])
    number = np.where(park, local, local - lay.n_parks[street]) + 1
    ids = [
        f"{lay.street_ids[s]}-{'P' if p else 'B'}{i}"
        for s, p, i in zip(street.tolist(), park.tolist(), number.tolist(), strict=True)
    ]
    suffix = rng.integers(0, len(_PARK_SUFFIXES), street.shape[0])
    brand = rng.integers(0, len(_BRAND_STEMS), street.shape[0])
    names = [
        lay.street_stems[s] + ("工业园" if lay.township[s] else _PARK_SUFFIXES[i])
        if p
        else _BRAND_STEMS[b] + _BUILDING_SUFFIXES[i]
        for s, p, i, b in zip(
            street.tolist(), park.tolist(), suffix.tolist(), brand.tolist(), strict=True
        )
    ]
    home = _starts(lay.n_receivers)[street] + rng.integers(0, lay.n_receivers[street])
    return _Containers(street, park, lay.x[street] + dx, lay.y[street] + dy, ids, names, home)


def _providers(rng: Rng, lay: _Layout, rec: _Side, stems: list[str], cont: _Containers) -> _Side:
    """Co-building units: kinds by share, placed in a community or (firms) a park/building."""
    n_streets = len(lay.street_ids)
    street = np.repeat(np.arange(n_streets, dtype=np.int64), lay.n_providers)
    n = street.shape[0]
    kinds = list(PROVIDER_KIND_SHARES)
    shares = np.array([PROVIDER_KIND_SHARES[k] for k in kinds])
    kind = np.array([KINDS.index(k) for k in kinds], dtype=np.int64)[
        rng.choice(len(kinds), size=n, p=shares / shares.sum())
    ]
    # Where: a park or building of the street (by kind) or one of its communities.
    n_cont = np.bincount(cont.street, minlength=n_streets)
    container_share = np.array([_TRAITS[k].container_share for k in KINDS])[kind]
    inside = (rng.random(n) < container_share) & (n_cont[street] > 0)
    container = np.where(
        inside, _starts(n_cont)[street] + np.floor(rng.random(n) * n_cont[street]), -1
    ).astype(np.int64)
    at = np.maximum(container, 0)  # safe index; only read where inside
    community = _starts(lay.n_receivers)[street] + np.floor(
        rng.random(n) * lay.n_receivers[street]
    ).astype(np.int64)
    has_cont = cont.home.shape[0] > 0
    home = np.where(inside, cont.home[at] if has_cont else 0, community)
    share = np.full(n, _JITTER["community"])
    if has_cont:
        share[inside & cont.park[at]] = _JITTER["park"]
        share[inside & ~cont.park[at]] = _JITTER["building"]
    dx, dy = _disc(rng, share * lay.spread[street])
    x = np.where(inside, cont.x[at] if has_cont else 0.0, rec.x[home]) + dx
    y = np.where(inside, cont.y[at] if has_cont else 0.0, rec.y[home]) + dy
    regions = [
        cont.ids[c] if c >= 0 else rec.ids[h]
        for c, h in zip(container.tolist(), home.tolist(), strict=True)
    ]
    # Name template per kind (a firm's template fixes its industry) around a stem: a brand for
    # private firms, the street for street-level agencies, SOE branches and military units,
    # else the community the unit sits in (the street when in a park or building).
    template = np.zeros(n, dtype=np.int64)
    flat: list[tuple[str, str, str, float]] = []
    for name in kinds:
        rows = _TEMPLATES[name]
        which = np.flatnonzero(kind == KINDS.index(name))
        weights = np.array([row[3] for row in rows])
        template[which] = len(flat) + rng.choice(len(rows), which.size, p=weights / weights.sum())
        flat.extend(rows)
    industry = np.array(
        [INDUSTRIES.index(row[2]) + 1 if row[2] else 0 for row in flat], dtype=np.int64
    )[template]
    brand = rng.integers(0, len(_BRAND_STEMS), n)
    source = np.array([_STEM_SOURCE.get(k, "place") for k in KINDS])[kind]
    source = np.where((source == "place") & inside, "street", source)
    names = [
        flat[t][0]
        + (
            _BRAND_STEMS[b]
            if src == "brand"
            else lay.street_stems[s]
            if src == "street"
            else stems[h]
        )
        + flat[t][1]
        for t, src, b, s, h in zip(
            template.tolist(),
            source.tolist(),
            brand.tolist(),
            street.tolist(),
            home.tolist(),
            strict=True,
        )
    ]
    width = max(2, len(str(int(lay.n_providers.max()))))
    local = _local_index(street, lay.n_providers)
    ids = [
        f"{lay.street_ids[s]}-U{i + 1:0{width}d}"
        for s, i in zip(street.tolist(), local.tolist(), strict=True)
    ]
    tags: list[tuple[str, ...]] = [(INDUSTRIES[i - 1],) if i else () for i in industry.tolist()]
    return _Side(street, kind, x, y, ids, names, regions, home, tags, industry)


def _partner_limits(rng: Rng, lay: _Layout, opt: _Options, rec: _Side, prov: _Side) -> None:
    """Members, then ``max_partners``/``min_partners`` of both sides (see the Notes)."""
    n_streets = len(lay.street_ids)
    prov.members = _lognormal_members(rng, prov.kind)
    rec.members = _lognormal_members(rng, rec.kind)
    lo = np.array([_TRAITS[k].partners_lo for k in KINDS])[prov.kind]
    hi = np.array([_TRAITS[k].partners_hi for k in KINDS])[prov.kind]
    small_firm = (prov.kind == KINDS.index("private_enterprise")) & (
        prov.members < _SMALL_FIRM_MEMBERS
    )
    p_max = np.where(small_firm, 1, rng.integers(lo, hi + 1)).astype(np.int64)
    r_min = np.full(rec.street.shape[0], opt.receiver_min_partners, dtype=np.int64)
    if opt.ensure_coverage:
        need = np.bincount(rec.street, weights=r_min, minlength=n_streets).astype(np.int64)
        capacity = np.bincount(prov.street, weights=p_max, minlength=n_streets).astype(np.int64)
        deficit = np.maximum(need - capacity, 0)
        stranded = np.flatnonzero((deficit > 0) & (lay.n_providers == 0))
        if stranded.size:
            raise InputError(
                f"{opt.func}: street {lay.street_ids[stranded[0]]!r} has "
                f"{int(lay.n_receivers[stranded[0]])} receivers but no co-building units, so "
                "they cannot all be covered; give every street providers or pass "
                "ensure_coverage=False"
            )
        # A short street raises the limits of its largest providers, round robin.
        order = np.lexsort((np.arange(prov.street.shape[0]), -prov.members, prov.street))
        rank = np.empty(order.shape[0], dtype=np.int64)
        rank[order] = _local_index(prov.street[order], lay.n_providers)
        size = np.maximum(lay.n_providers[prov.street], 1)
        gap = deficit[prov.street]
        p_max = p_max + gap // size + (rank < gap % size)
    # Receivers share 1.25 x their street's provider capacity by size (sqrt of members).
    capacity_f = np.bincount(prov.street, weights=p_max, minlength=n_streets)
    weight = np.sqrt(rec.members) * rng.uniform(0.8, 1.2, rec.street.shape[0])
    total = np.bincount(rec.street, weights=weight, minlength=n_streets)
    r_max = np.rint(_RECEIVER_SLACK * capacity_f[rec.street] * weight / total[rec.street])
    r_max = np.minimum(r_max.astype(np.int64), _RECEIVER_MAX_CAP)
    prov.max_partners = p_max
    prov.min_partners = np.zeros(prov.street.shape[0], dtype=np.int64)
    rec.max_partners = np.maximum(r_max, np.maximum(r_min, 1))
    rec.min_partners = r_min


def _resources(rng: Rng, categories: tuple[str, ...], rec: _Side, prov: _Side) -> None:
    """Offers and needs (integer matrices) of both sides from the kind/industry profiles."""
    n_p, n_r = prov.street.shape[0], rec.street.shape[0]
    offer_w = _profile_matrix(_OFFER_PROFILES, KINDS, categories)
    need_w = _profile_matrix(_NEED_PROFILES, KINDS, categories)
    boost = np.vstack(
        [
            np.zeros(len(categories)),
            _profile_matrix(_INDUSTRY_BOOST, INDUSTRIES, categories, boost=True),
        ]
    )
    # Providers: 2-5 offers, larger units offering more; a fifth of them need 1-2 things.
    size_p = np.clip(0.15 + 0.08 * np.log1p(prov.members), 0.15, 0.6)
    pick = _choose(rng, offer_w[prov.kind] + boost[prov.industry], _ints(rng, 2, 6, n_p))
    prov.offers = _quantities(rng, pick, 10, size_p)
    k = np.where(rng.random(n_p) < _PROVIDER_NEED_SHARE, _ints(rng, 1, 3, n_p), 0)
    prov.needs = _quantities(rng, _choose(rng, need_w[prov.kind], k), 5, np.full(n_p, 0.3))
    # Receivers: 4-8 needs, larger communities needing more; some offer 1-2 things.
    size_r = np.clip(0.2 + 0.04 * np.log(rec.members), 0.2, 0.5)
    rec.needs = _quantities(rng, _choose(rng, need_w[rec.kind], _ints(rng, 4, 9, n_r)), 10, size_r)
    k = np.where(rng.random(n_r) < _RECEIVER_OFFER_SHARE, _ints(rng, 1, 3, n_r), 0)
    rec.offers = _quantities(rng, _choose(rng, offer_w[rec.kind], k), 5, np.full(n_r, 0.3))


def _ties(rng: Rng, opt: _Options, rec: _Side, prov: _Side) -> list[dict[str, Any]]:
    """Standing agreements: a share of providers with their home community, 2015-2025."""
    n_p = prov.street.shape[0]
    tied = np.sort(rng.permutation(n_p)[: round(opt.tie_share * n_p)])
    partner = prov.home[tied]
    since = _ints(rng, _TIE_YEARS[0], _TIE_YEARS[1] + 1, tied.shape[0])
    # A community keeps at most max_partners standing ties (lowest provider numbers first).
    order = np.lexsort((tied, partner))
    rank = np.empty(tied.shape[0], dtype=np.int64)
    counts = np.bincount(partner, minlength=rec.street.shape[0])
    rank[order] = np.arange(tied.shape[0]) - _starts(counts)[partner[order]]
    keep = rank < rec.max_partners[partner]
    return [
        {"a": prov.ids[a], "b": rec.ids[b], "since": y}
        for a, b, y in zip(
            tied[keep].tolist(), partner[keep].tolist(), since[keep].tolist(), strict=True
        )
    ]


def _unit_records(side: _Side, opt: _Options) -> list[dict[str, Any]]:
    """The unit dicts of one side (coordinates converted from km to degrees)."""
    lat0, lon0 = opt.center
    km_lon = _KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    lat = np.round(lat0 + side.y / _KM_PER_DEG_LAT, 6).tolist()
    lon = np.round((lon0 + side.x / km_lon + 180.0) % 360.0 - 180.0, 6).tolist()

    def quantity_dicts(matrix: IntArray) -> list[dict[str, int]]:
        out: list[dict[str, int]] = [{} for _ in range(matrix.shape[0])]
        rows, cols = np.nonzero(matrix)
        for i, j, q in zip(rows.tolist(), cols.tolist(), matrix[rows, cols].tolist(), strict=True):
            out[i][opt.categories[j]] = q
        return out

    kinds = [KINDS[k] for k in side.kind.tolist()]
    return [
        {
            "id": i,
            "name": n,
            "kind": k,
            "region": r,
            "lat": la,
            "lon": lo,
            "members": m,
            "max_partners": mx,
            "min_partners": mn,
            "offers": of,
            "needs": ne,
            "tags": tg,
        }
        for i, n, k, r, la, lo, m, mx, mn, of, ne, tg in zip(
            side.ids,
            side.names,
            kinds,
            side.regions,
            lat,
            lon,
            side.members.tolist(),
            side.max_partners.tolist(),
            side.min_partners.tolist(),
            quantity_dicts(side.offers),
            quantity_dicts(side.needs),
            side.tags,
            strict=True,
        )
    ]


def _region_records(lay: _Layout, rec: _Side, cont: _Containers) -> list[dict[str, Any]]:
    """Districts, streets/townships, communities/villages, parks/buildings."""
    village = lay.township[rec.street].tolist()
    return [
        *(
            {"id": i, "name": n, "level": "district"}
            for i, n in zip(lay.district_ids, lay.district_names, strict=True)
        ),
        *(
            {"id": i, "name": n, "level": "township" if t else "street", "parent": p}
            for i, n, t, p in zip(
                lay.street_ids,
                lay.street_names,
                lay.township.tolist(),
                [lay.district_ids[d] for d in lay.street_district.tolist()],
                strict=True,
            )
        ),
        *(
            {"id": i, "name": n, "level": "village" if v else "community", "parent": p}
            for i, n, v, p in zip(
                rec.ids,
                rec.names,
                village,
                [lay.street_ids[s] for s in rec.street.tolist()],
                strict=True,
            )
        ),
        *(
            {"id": i, "name": n, "level": "park" if k else "building", "parent": p}
            for i, n, k, p in zip(
                cont.ids,
                cont.names,
                cont.park.tolist(),
                [lay.street_ids[s] for s in cont.street.tolist()],
                strict=True,
            )
        ),
    ]


def _generate(rng: Rng, lay: _Layout, opt: _Options) -> RegionGraph:
    """Units, regions and ties of a layout, vectorised; returns the validated graph."""
    rec, stems = _receivers(rng, lay)
    cont = _containers(rng, lay)
    prov = _providers(rng, lay, rec, stems, cont)
    _partner_limits(rng, lay, opt, rec, prov)
    _resources(rng, opt.categories, rec, prov)
    ties = _ties(rng, opt, rec, prov)
    # Street by street: its communities first, then its co-building units.
    both = _unit_records(rec, opt) + _unit_records(prov, opt)
    order = np.argsort(np.concatenate((rec.street, prov.street)), kind="stable")
    units = [both[i] for i in order.tolist()]
    return RegionGraph(units, _region_records(lay, rec, cont), ties, categories=opt.categories)


# ---------------------------------------------------------------------------------------------
# Public generators
# ---------------------------------------------------------------------------------------------
def synthetic_district(
    seed: int | None = 0,
    *,
    n_streets: int = 5,
    n_townships: int = 1,
    units_per_street: tuple[int, int] = (45, 87),
    communities_per_street: tuple[int, int] = (9, 13),
    units_per_township: tuple[int, int] = (20, 40),
    villages_per_township: tuple[int, int] = (14, 19),
    parks: int = 1,
    buildings: int = 3,
    tie_share: float = 0.3,
    receiver_min_partners: int = 1,
    ensure_coverage: bool = True,
    center: tuple[float, float] = (30.27, 120.15),
    street_spacing_km: float = 2.5,
    street_radius_km: float = 1.0,
) -> RegionGraph:
    """A realistic, seeded synthetic district (区): the embedded example data.

    Parameters
    ----------
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same graph, run after
        run. ``None`` draws fresh entropy (not reproducible).
    n_streets : int, default 5
        Urban streets (街道); each has communities (社区).
    n_townships : int, default 1
        Rural townships (乡镇); each has villages (村). With the default one township every
        unit kind, ``village`` included, is present.
    units_per_street : (int, int), default (45, 87)
        Range (inclusive) of co-building units (providers: every kind but community and
        village) drawn for each street; published practice is 45–87.
    communities_per_street : (int, int), default (9, 13)
        Range (inclusive) of communities of each street (~13 nationally).
    units_per_township : (int, int), default (20, 40)
        Range of co-building units of each township (rural townships host fewer).
    villages_per_township : (int, int), default (14, 19)
        Range of villages of each township (~16.5 nationally).
    parks, buildings : int, default 1 and 3
        Parks (园区) and commercial buildings (商务楼宇) in the district, each under a street
        (townships only when there is no street). Firms cluster in them.
    tie_share : float, default 0.3
        Share of providers with a standing agreement (:class:`~pbmatch.model.Tie`) with the
        community they sit in (or next to), begun in a year from 2015 to 2025. A community
        keeps at most its ``max_partners`` ties, so a few may be dropped.
    receiver_min_partners : int, default 1
        ``min_partners`` of every community and village (1: every community covered, 全覆盖).
    ensure_coverage : bool, default True
        Raise the ``max_partners`` of a street's largest providers, if needed, so that the
        street's provider capacity covers its receivers' minimums; a street with receivers
        but no providers is then an :class:`~pbmatch.InputError`.
    center : (float, float), default (30.27, 120.15)
        WGS-84 latitude and longitude of the district centre (|lat| <= 85).
    street_spacing_km : float, default 2.5
        Distance between neighbouring street centres; townships lie outside, 2.5 times as
        far apart.
    street_radius_km : float, default 1.0
        Radius over which a street's communities spread; providers sit within about a third
        of it of their community, so units are within ~1.3 km of their street centre
        (townships: 2.5 times as wide).

    Returns
    -------
    RegionGraph
        Regions: the district ``D1``, streets ``S1``…, townships ``T1``…, communities
        ``S1-C01``…, villages ``T1-V01``…, parks ``S1-P1``, buildings ``S1-B1``. Units: one per
        community/village (same id as its region) and the providers ``S1-U01``…; categories
        :data:`CATEGORIES`, in that column order.

    Raises
    ------
    InputError
        A parameter out of range (the message names it and its value).

    See Also
    --------
    synthetic_city : the same generator at city scale.

    Notes
    -----
    What is generated, and why:

    - provider kinds by :data:`PROVIDER_KIND_SHARES`; firms (and some SOEs and social
      organisations) sit in the street's parks or buildings, every other provider in a
      community;
    - full members: lognormal by kind, clipped to 1–200 for providers (about a quarter of the
      private firms have fewer than 3, the candidates for joint branches) and 20–300 for
      communities and villages;
    - ``max_partners``: agencies, SOEs, schools and hospitals 2–3, public institutions 1–3,
      social organisations, military units and firms 1–2, firms with fewer than 10 members 1;
      each community's ``max_partners`` is its share (by size) of 1.25 × its street's provider
      capacity, at most 26, so providers compete a little for the communities they prefer
      while every receiver can be covered within its street;
    - offers: 2–5 categories per provider, weighted by a kind profile (hospital → medical,
      school → education/venue/culture, agency → party_lecture/funding/legal, firms →
      employment/funding/training/it_support and their industry, social organisation →
      volunteers/elderly_care/mediation), quantities 1–10, larger units offering more; 30 %
      of the receivers offer 1–2 categories (venues, volunteers), quantities 1–5;
    - needs: 4–8 categories per community or village (villages lean to funding, jobs and
      training), quantities 1–10; 20 % of the providers need 1–2 categories, quantities 1–5.

    All quantities are integers. Deterministic: the graph depends only on the seed and the
    parameters (numpy's ``default_rng`` stream). Generation is vectorised, O(units ×
    categories) in time and memory; validating the records (pydantic, in
    :class:`~pbmatch.graph.RegionGraph`) dominates. The default district has about 450 units
    (5 streets and a township) and builds in a few tens of milliseconds.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district
    >>> g = synthetic_district(n_streets=1, n_townships=0, units_per_street=(50, 50),
    ...                        communities_per_street=(10, 10))
    >>> g
    RegionGraph(units=60, regions=16, ties=15, categories=16)
    >>> g.unit("S1-C01").kind, g.unit("S1-C01").region, g.street_of("S1-C01")
    ('community', 'S1-C01', 'S1')
    >>> bool((g.offers == g.offers.round()).all() and (g.needs == g.needs.round()).all())
    True

    The same seed gives the same graph:

    >>> a, b = synthetic_district(seed=7), synthetic_district(seed=7)
    >>> bool((a.lat == b.lat).all() and (a.needs == b.needs).all() and a.units == b.units)
    True
    """
    func = "synthetic_district"
    rng = _seed(func, seed)
    n_streets = _int(func, "n_streets", n_streets, 0)
    n_townships = _int(func, "n_townships", n_townships, 0)
    if n_streets + n_townships == 0:
        raise _fail(func, "n_streets", n_streets, ">= 1 when n_townships is 0")
    units_s = _int_range(func, "units_per_street", units_per_street, 0)
    comm_s = _int_range(func, "communities_per_street", communities_per_street, 1)
    units_t = _int_range(func, "units_per_township", units_per_township, 0)
    vill_t = _int_range(func, "villages_per_township", villages_per_township, 1)
    parks = _int(func, "parks", parks, 0)
    buildings = _int(func, "buildings", buildings, 0)
    tie_share = _real(func, "tie_share", tie_share, 0.0, 1.0)
    min_p = _int(func, "receiver_min_partners", receiver_min_partners, 0)
    if min_p > _RECEIVER_MAX_CAP:
        raise _fail(func, "receiver_min_partners", receiver_min_partners, f"<= {_RECEIVER_MAX_CAP}")
    if not isinstance(ensure_coverage, bool):
        raise _fail(func, "ensure_coverage", ensure_coverage, "True or False")
    lat_lon = _center(func, center)
    spacing = _real(func, "street_spacing_km", street_spacing_km, 0.0, 1000.0, open_lo=True)
    radius = _real(func, "street_radius_km", street_radius_km, 0.0, 1000.0, open_lo=True)

    township = np.repeat([False, True], [n_streets, n_townships])
    n = n_streets + n_townships
    street_district = np.zeros(n, dtype=np.int64)
    # Streets on a lattice around the centre, townships on a wider one in a ring outside them.
    sx, sy = _lattice(rng, n_streets, spacing)
    t_spacing = spacing * _TOWNSHIP_SCALE
    r_inner = float(np.hypot(sx, sy).max()) + (spacing + t_spacing) / 2 if n_streets else 0.0
    tx, ty = _lattice(rng, n_townships, t_spacing, r_inner)
    n_rec = np.where(
        township,
        rng.integers(vill_t[0], vill_t[1] + 1, n),
        rng.integers(comm_s[0], comm_s[1] + 1, n),
    ).astype(np.int64)
    n_prov = np.where(
        township,
        rng.integers(units_t[0], units_t[1] + 1, n),
        rng.integers(units_s[0], units_s[1] + 1, n),
    ).astype(np.int64)
    ids, names, stems = _street_naming(rng, street_district, township, 1, [""])
    layout = _Layout(
        district_ids=["D1"],
        district_names=[_DISTRICT_STEMS[int(rng.integers(len(_DISTRICT_STEMS)))] + "区"],
        street_ids=ids,
        street_names=names,
        street_stems=stems,
        street_district=street_district,
        township=township,
        x=np.concatenate((sx, tx)),
        y=np.concatenate((sy, ty)),
        spread=np.where(township, radius * _TOWNSHIP_SCALE, radius),
        n_receivers=n_rec,
        n_providers=n_prov,
        n_parks=_place_containers(rng, street_district, township, 1, parks),
        n_buildings=_place_containers(rng, street_district, township, 1, buildings),
    )
    options = _Options(func, lat_lon, CATEGORIES, tie_share, min_p, ensure_coverage)
    return _generate(rng, layout, options)


def synthetic_city(
    seed: int | None = 0,
    *,
    n_providers: int = 5000,
    n_receivers: int = 1000,
    n_districts: int | None = None,
    n_categories: int = 16,
    communities_per_street: tuple[int, int] = (9, 13),
    villages_per_township: tuple[int, int] = (14, 19),
    township_share: float = 0.1,
    parks: int = 1,
    buildings: int = 3,
    tie_share: float = 0.3,
    receiver_min_partners: int = 1,
    ensure_coverage: bool = True,
    center: tuple[float, float] = (30.27, 120.15),
    extent_km: float = 40.0,
) -> RegionGraph:
    """A seeded synthetic city of districts, for scale benchmarks.

    The same make as :func:`synthetic_district` (same kinds, profiles, categories, id scheme
    with a district prefix: ``D01-S003-C07``), but sized by totals: exactly ``n_providers``
    co-building units and ``n_receivers`` communities and villages.

    Parameters
    ----------
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same graph.
    n_providers : int, default 5000
        Co-building units (every kind but community and village), spread over the streets in
        proportion to their communities.
    n_receivers : int, default 1000
        Communities and villages. A real city has ~10³ communities; 50,000 is a stress size
        for benchmarks, not a city.
    n_districts : int or None, default None
        Districts; ``None`` gives ``min(10, number of streets)``. At most the number of
        streets (about ``n_receivers / 11.5``).
    n_categories : int, default 16
        Resource categories: the first ``n_categories`` of :data:`CATEGORIES`, then extra ones
        named ``resource_17``, ``resource_18``… with a flat profile.
    communities_per_street, villages_per_township : (int, int), default (9, 13), (14, 19)
        Typical ranges; streets get about the middle of the range (the totals are exact, so
        the ranges are not hard limits).
    township_share : float, default 0.1
        Share of the streets that are rural townships with villages (the outermost ones).
    parks, buildings : int, default 1 and 3
        Parks and commercial buildings per district.
    tie_share, receiver_min_partners, ensure_coverage
        As in :func:`synthetic_district`. With ``ensure_coverage`` a street whose providers
        are few gets larger ``max_partners`` (possibly above 3); ``n_providers`` must then be
        at least the number of streets when ``receiver_min_partners > 0``.
    center : (float, float), default (30.27, 120.15)
        WGS-84 latitude and longitude of the city centre.
    extent_km : float, default 40.0
        Side of the square the city covers; districts tile it, streets cluster in their
        district and communities in their street.

    Returns
    -------
    RegionGraph

    Raises
    ------
    InputError
        A parameter out of range (the message names it and its value).

    See Also
    --------
    synthetic_district : one district, the embedded example.

    Notes
    -----
    Generation is vectorised with numpy, O(units × categories); Python runs only to format
    ids and names and build the record dicts. Building the :class:`~pbmatch.graph.RegionGraph`
    validates every record with pydantic, which dominates at scale: on a 2-core machine
    ``synthetic_city(n_providers=50_000, n_receivers=50_000)`` spends about 1.5 s generating
    and 5 s building the graph (of which 3.5–5 s is pydantic validation). Deterministic for
    a given seed and parameters.

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_city
    >>> g = synthetic_city(n_providers=300, n_receivers=60, n_districts=2)
    >>> sum(k in ("community", "village") for k in g.kind_names), len(g)
    (60, 360)
    >>> sorted({r.id for r in g.regions if r.level == "district"})
    ['D1', 'D2']
    """
    func = "synthetic_city"
    rng = _seed(func, seed)
    n_providers = _int(func, "n_providers", n_providers, 0)
    n_receivers = _int(func, "n_receivers", n_receivers, 1)
    n_categories = _int(func, "n_categories", n_categories, 1)
    comm_s = _int_range(func, "communities_per_street", communities_per_street, 1)
    vill_t = _int_range(func, "villages_per_township", villages_per_township, 1)
    t_share = _real(func, "township_share", township_share, 0.0, 1.0)
    parks = _int(func, "parks", parks, 0)
    buildings = _int(func, "buildings", buildings, 0)
    tie_share = _real(func, "tie_share", tie_share, 0.0, 1.0)
    min_p = _int(func, "receiver_min_partners", receiver_min_partners, 0)
    if min_p > _RECEIVER_MAX_CAP:
        raise _fail(func, "receiver_min_partners", receiver_min_partners, f"<= {_RECEIVER_MAX_CAP}")
    if not isinstance(ensure_coverage, bool):
        raise _fail(func, "ensure_coverage", ensure_coverage, "True or False")
    lat_lon = _center(func, center)
    extent = _real(func, "extent_km", extent_km, 0.0, 2000.0, open_lo=True)

    mid_c, mid_v = sum(comm_s) / 2, sum(vill_t) / 2
    n_streets = max(
        1, min(n_receivers, round(n_receivers / ((1 - t_share) * mid_c + t_share * mid_v)))
    )
    if n_districts is None:
        n_dist = min(10, n_streets)
    else:
        n_dist = _int(func, "n_districts", n_districts, 1)
        if n_dist > n_streets:
            raise _fail(
                func, "n_districts", n_districts,
                f"<= the number of streets, {n_streets} for n_receivers={n_receivers}",
            )  # fmt: skip
    if ensure_coverage and min_p > 0 and n_providers < n_streets:
        raise _fail(
            func, "n_providers", n_providers,
            f">= the number of streets ({n_streets}) so that every street can be covered "
            "(or pass ensure_coverage=False)",
        )  # fmt: skip
    categories = CATEGORIES[:n_categories] + tuple(
        f"resource_{j + 1:02d}" for j in range(len(CATEGORIES), n_categories)
    )

    # Districts tile the city square; streets spread evenly over a disc in their tile.
    rows = math.ceil(math.sqrt(n_dist))
    cols = math.ceil(n_dist / rows)
    cell_w, cell_h = extent / cols, extent / rows
    cell = np.arange(n_dist)
    d_x = (cell % cols + 0.5) * cell_w - extent / 2 + rng.uniform(-0.05, 0.05, n_dist) * cell_w
    d_y = (cell // cols + 0.5) * cell_h - extent / 2 + rng.uniform(-0.05, 0.05, n_dist) * cell_h
    per_district = _apportion(rng, n_streets, rng.uniform(0.7, 1.3, n_dist), floor=1)
    street_district = np.repeat(np.arange(n_dist, dtype=np.int64), per_district)
    # Each district's streets fill a disc in its tile: lattice spacing from the disc's area.
    d_radius = 0.4 * min(cell_w, cell_h)
    d_spacing = d_radius * np.sqrt(2.0 * math.pi / (math.sqrt(3.0) * per_district))
    x = np.empty(n_streets)
    y = np.empty(n_streets)
    start = _starts(per_district)
    for d in range(n_dist):
        sx, sy = _lattice(rng, int(per_district[d]), float(d_spacing[d]))
        x[start[d] : start[d] + per_district[d]] = d_x[d] + sx
        y[start[d] : start[d] + per_district[d]] = d_y[d] + sy
    spacing = d_spacing[street_district]
    # Townships: the streets farthest from the city centre.
    township = np.zeros(n_streets, dtype=bool)
    township[np.argsort(-np.hypot(x, y), kind="stable")[: round(t_share * n_streets)]] = True
    spread = np.minimum(np.where(township, _TOWNSHIP_SCALE, 1.0), 0.45 * spacing)
    low = np.where(township, vill_t[0], comm_s[0])
    high = np.where(township, vill_t[1], comm_s[1])
    n_rec = _apportion(rng, n_receivers, rng.uniform(low, high + 1), floor=1)
    if n_providers >= n_streets:
        weights = n_rec * rng.uniform(0.8, 1.2, n_streets) * np.where(township, 0.5, 1.0)
        n_prov = _apportion(rng, n_providers, weights, floor=1)
    else:
        n_prov = np.zeros(n_streets, dtype=np.int64)
        n_prov[rng.choice(n_streets, n_providers, replace=False)] = 1

    d_ids = [f"D{d + 1:0{len(str(n_dist))}d}" for d in range(n_dist)]
    perm = rng.permutation(len(_DISTRICT_STEMS))
    d_names = [
        _DISTRICT_STEMS[perm[d % len(perm)]] + ("" if d < len(perm) else str(d // len(perm) + 1))
        + "区"
        for d in range(n_dist)
    ]  # fmt: skip
    ids, names, stems = _street_naming(
        rng, street_district, township, n_dist, [i + "-" for i in d_ids]
    )
    layout = _Layout(
        district_ids=d_ids,
        district_names=d_names,
        street_ids=ids,
        street_names=names,
        street_stems=stems,
        street_district=street_district,
        township=township,
        x=x,
        y=y,
        spread=spread,
        n_receivers=n_rec,
        n_providers=n_prov,
        n_parks=_place_containers(rng, street_district, township, n_dist, parks),
        n_buildings=_place_containers(rng, street_district, township, n_dist, buildings),
    )
    options = _Options(func, lat_lon, categories, tie_share, min_p, ensure_coverage)
    return _generate(rng, layout, options)


# ---------------------------------------------------------------------------------------------
# Double reporting (双报到) and floating members (流动党员)
# ---------------------------------------------------------------------------------------------
SKILL_NAMES_ZH: dict[str, str] = {
    "elderly_care": "助老服务",
    "tutoring": "课业辅导",
    "publicity": "宣传写作",
    "culture_arts": "文艺特长",
    "sports": "体育健身",
    "it": "信息技术",
    "legal": "法律咨询",
    "medical": "医疗护理",
    "mediation": "矛盾调解",
    "security": "安全巡防",
    "psychology": "心理咨询",
    "finance": "财务会计",
    "driving": "驾驶",
    "first_aid": "应急救护",
    "sign_language": "手语",
}
"""Skills of in-service members and service posts, and their Chinese labels."""

SKILLS: tuple[str, ...] = tuple(SKILL_NAMES_ZH)
"""The skill identifiers of :func:`synthetic_members` and :func:`synthetic_posts`."""

_SKILL_WEIGHTS = np.array(
    [1.6, 1.2, 1.0, 1.0, 0.9, 1.1, 0.5, 0.5, 0.7, 0.9, 0.3, 0.6, 0.9, 0.4, 0.03]
)
"""How common each skill of :data:`SKILLS` is among members (sign language is rare)."""
_SKILLS_PER_MEMBER = np.array([0.25, 0.4, 0.25, 0.1])
"""Chance of a member listing 0, 1, 2 or 3 skills."""

# Post templates: (name, required skills, headcount low, high, weight).
_POST_TEMPLATES: tuple[tuple[str, tuple[str, ...], int, int, float], ...] = (
    ("楼栋长", (), 1, 2, 3.0),
    ("网格协管员", (), 1, 3, 2.0),
    ("志愿服务岗", (), 2, 6, 3.0),
    ("微心愿认领", (), 1, 1, 2.0),
    ("助老服务岗", ("elderly_care",), 1, 3, 2.0),
    ("课后辅导岗", ("tutoring",), 1, 3, 1.5),
    ("文明宣传岗", ("publicity",), 1, 2, 1.0),
    ("文艺活动岗", ("culture_arts",), 1, 3, 1.0),
    ("健身指导岗", ("sports",), 1, 2, 0.6),
    ("智慧助老岗", ("it", "elderly_care"), 1, 2, 0.8),
    ("法律咨询岗", ("legal",), 1, 1, 0.8),
    ("义诊服务岗", ("medical",), 1, 2, 0.6),
    ("矛盾调解岗", ("mediation",), 1, 2, 0.8),
    ("安全巡防岗", ("security",), 2, 4, 1.0),
    ("心理疏导岗", ("psychology",), 1, 1, 0.4),
    ("账务公开监督岗", ("finance",), 1, 1, 0.4),
    ("爱心接送岗", ("driving",), 1, 2, 0.5),
    ("应急救护培训岗", ("medical", "first_aid"), 1, 1, 0.3),
    ("手语服务岗", ("sign_language",), 1, 1, 0.1),
)


def _communities(graph: RegionGraph) -> tuple[list[str], FloatArray]:
    """Community and village region ids of a graph and a size weight for each."""
    ids = [r.id for r in graph.regions if r.level in ("community", "village")]
    size = {u.id: float(u.members) for u in graph.units if u.kind in ("community", "village")}
    return ids, np.array([size.get(c, 80.0) for c in ids], dtype=float)


def _per_community(rng: Rng, func: str, n: Any, per: Any, weights: FloatArray) -> IntArray:
    if n is None:
        lo, hi = _int_range(func, "per_community", per, 0)
        return _ints(rng, lo, hi + 1, weights.shape[0])
    total = _int(func, "n", n, 0)
    return _apportion(rng, total, weights, floor=0) if weights.size else np.zeros(0, np.int64)


def _sub_rng(func: str, seed: Any, stream: int) -> Rng:
    """A generator for one dataset kind, independent of the others drawn with the same seed."""
    _seed(func, seed)  # validates
    return np.random.default_rng(None if seed is None else [int(seed), stream])


def synthetic_members(
    graph: RegionGraph,
    seed: int | None = 0,
    *,
    n: int | None = None,
    per_community: tuple[int, int] = (80, 160),
) -> list[dict[str, Any]]:
    """Seeded in-service Party members (在职党员) reporting to the graph's communities.

    Parameters
    ----------
    graph : RegionGraph
        Its community and village regions receive the members.
    seed : int or None, default 0
        The same seed gives the same members.
    n : int, optional
        Total members, apportioned to communities by the size (``members``) of each community
        unit. Foshan's 95,800 in 780 communities is about 123 a community.
    per_community : (int, int), default (80, 160)
        Range of members per community when ``n`` is not given.

    Returns
    -------
    list of dict
        Records for :class:`~pbmatch.model.Member`: ``id`` (``"S1-C03-M0007"``),
        ``community``, ``skills`` (0–3 of :data:`SKILLS`, common ones more often; sign
        language is rare).

    Examples
    --------
    >>> import pbmatch
    >>> members = synthetic_members(pbmatch.synthetic_district(seed=0), seed=0, n=1000)
    >>> len(members), sorted(members[0])
    (1000, ['community', 'id', 'skills'])
    """
    func = "synthetic_members"
    rng = _sub_rng(func, seed, 1)
    communities, weights = _communities(graph)
    counts = _per_community(rng, func, n, per_community, weights)
    total = int(counts.sum())
    home = np.repeat(np.arange(len(communities), dtype=np.int64), counts)
    local = _local_index(home, counts)
    k = rng.choice(_SKILLS_PER_MEMBER.size, size=total, p=_SKILLS_PER_MEMBER)
    chosen = _choose(rng, np.broadcast_to(_SKILL_WEIGHTS, (total, len(SKILLS))), k)
    rows, cols = np.nonzero(chosen)
    skills: list[list[str]] = [[] for _ in range(total)]
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        skills[i].append(SKILLS[j])
    width = max(4, len(str(int(counts.max(initial=0)))))
    return [
        {"id": f"{communities[h]}-M{i + 1:0{width}d}", "community": communities[h], "skills": s}
        for h, i, s in zip(home.tolist(), local.tolist(), skills, strict=True)
    ]


def synthetic_posts(
    graph: RegionGraph,
    seed: int | None = 0,
    *,
    n: int | None = None,
    per_community: tuple[int, int] = (15, 30),
) -> list[dict[str, Any]]:
    """Seeded service posts (服务岗位) and micro-wishes (微心愿) of the graph's communities.

    Parameters
    ----------
    graph : RegionGraph
        Its community and village regions offer the posts.
    seed : int or None, default 0
    n : int, optional
        Total posts, apportioned to communities by size.
    per_community : (int, int), default (15, 30)
        Range of posts per community when ``n`` is not given.

    Returns
    -------
    list of dict
        Records for :class:`~pbmatch.model.ServicePost`: ``id`` (``"S1-C03-P012"``),
        ``community``, ``name`` (``楼栋长``, ``助老服务岗`` ...), ``skills`` (0–2 required),
        ``headcount`` (1–6).

    Examples
    --------
    >>> import pbmatch
    >>> posts = synthetic_posts(pbmatch.synthetic_district(seed=0), seed=0)
    >>> sorted(posts[0])
    ['community', 'headcount', 'id', 'name', 'skills']
    """
    func = "synthetic_posts"
    rng = _sub_rng(func, seed, 2)
    communities, weights = _communities(graph)
    counts = _per_community(rng, func, n, per_community, weights)
    total = int(counts.sum())
    home = np.repeat(np.arange(len(communities), dtype=np.int64), counts)
    local = _local_index(home, counts)
    w = np.array([t[4] for t in _POST_TEMPLATES])
    template = rng.choice(len(_POST_TEMPLATES), size=total, p=w / w.sum())
    low = np.array([t[2] for t in _POST_TEMPLATES])[template]
    high = np.array([t[3] for t in _POST_TEMPLATES])[template]
    headcount = rng.integers(low, high + 1)
    width = max(3, len(str(int(counts.max(initial=0)))))
    return [
        {
            "id": f"{communities[h]}-P{i + 1:0{width}d}",
            "community": communities[h],
            "name": _POST_TEMPLATES[t][0],
            "skills": list(_POST_TEMPLATES[t][1]),
            "headcount": c,
        }
        for h, i, t, c in zip(
            home.tolist(), local.tolist(), template.tolist(), headcount.tolist(), strict=True
        )
    ]


_HOST_KINDS = ("community", "village", "soe", "private_enterprise", "public_institution")
"""Units that host floating members (their party organisation takes them in)."""


def synthetic_floating(
    graph: RegionGraph,
    seed: int | None = 0,
    *,
    n: int = 200,
    jitter_km: float = 0.8,
    industry_share: float = 0.7,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seeded floating Party members (流动党员) and the host organisations of a graph.

    Parameters
    ----------
    graph : RegionGraph
        Hosts are its communities, villages, state and private firms with 10 or more members
        and public institutions; members live or work near its units.
    seed : int or None, default 0
    n : int, default 200
        Floating members.
    jitter_km : float, default 0.8
        How far a member is from the unit they work at or live near.
    industry_share : float, default 0.7
        Share of the members who work in the industry of the firm they are near (others
        have a random industry, or none).

    Returns
    -------
    members : list of dict
        Records for :class:`~pbmatch.model.FloatingMember`: ``id`` (``"F0001"``), ``lat``,
        ``lon``, ``industry``, ``home`` (an opaque home-organisation id).
    hosts : list of dict
        Records for :class:`~pbmatch.model.Host`: ``id`` (the unit id), ``name``, ``lat``,
        ``lon``, ``industry``, ``contacts`` (1–4, more for larger units) and, for firms and
        institutions, ``capacity`` (3–10).

    Examples
    --------
    >>> import pbmatch
    >>> members, hosts = synthetic_floating(pbmatch.synthetic_district(seed=0), seed=0, n=50)
    >>> len(members), sorted(hosts[0])
    (50, ['contacts', 'id', 'industry', 'lat', 'lon', 'name'])
    """
    func = "synthetic_floating"
    rng = _sub_rng(func, seed, 3)
    n = _int(func, "n", n, 0)
    jitter = _real(func, "jitter_km", jitter_km, 0.0, 100.0)
    share = _real(func, "industry_share", industry_share, 0.0, 1.0)
    kinds = graph.kind_names
    located = ~(np.isnan(graph.lat) | np.isnan(graph.lon))
    big_firm = np.isin(kinds, ["soe", "private_enterprise"]) & (graph.members >= 10)
    host = located & (np.isin(kinds, ["community", "village", "public_institution"]) | big_firm)
    hosts_at = np.flatnonzero(host)
    units = graph.units
    industry_of = [u.tags[0] if u.tags and u.tags[0] in INDUSTRIES else None for u in units]
    contacts = np.clip(1 + graph.members[hosts_at] // 60, 1, 4)
    community = np.isin(kinds[hosts_at], ["community", "village"])
    capacity = _ints(rng, 3, 11, hosts_at.size)
    hosts = [
        {
            "id": units[i].id,
            "name": units[i].name,
            "lat": float(graph.lat[i]),
            "lon": float(graph.lon[i]),
            "industry": industry_of[i],
            "contacts": int(c),
            **({} if comm else {"capacity": int(cap)}),
        }
        for i, c, comm, cap in zip(
            hosts_at.tolist(), contacts.tolist(), community.tolist(), capacity.tolist(),
            strict=True,
        )
    ]  # fmt: skip
    # Members: near a located unit (firms twice as likely: they came for work).
    anchors = np.flatnonzero(located)
    if anchors.size == 0 or n == 0:
        return [], hosts
    pull = np.where(np.isin(kinds[anchors], ["soe", "private_enterprise"]), 2.0, 1.0)
    near = anchors[rng.choice(anchors.size, size=n, p=pull / pull.sum())]
    dx, dy = _disc(rng, np.full(n, jitter))
    lat = graph.lat[near] + dy / _KM_PER_DEG_LAT
    lon = graph.lon[near] + dx / (_KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(graph.lat[near])))
    own = rng.random(n) < share
    other = rng.integers(0, len(INDUSTRIES) + 1, n)  # the last: no industry
    industries = [
        industry_of[a] if o and industry_of[a] else (INDUSTRIES[x] if x < len(INDUSTRIES) else None)
        for a, o, x in zip(near.tolist(), own.tolist(), other.tolist(), strict=True)
    ]
    origin = rng.integers(1, 41, n)
    width = max(4, len(str(n)))
    members = [
        {
            "id": f"F{k + 1:0{width}d}",
            "lat": round(float(la), 6),
            "lon": round(float(lo), 6),
            "industry": ind,
            "home": f"origin-{o:02d}",
        }
        for k, (la, lo, ind, o) in enumerate(
            zip(lat.tolist(), lon.tolist(), industries, origin.tolist(), strict=True)
        )
    ]
    return members, hosts


__all__ += [
    "SKILLS",
    "SKILL_NAMES_ZH",
    "synthetic_floating",
    "synthetic_members",
    "synthetic_posts",
]


# ---------------------------------------------------------------------------------------------
# Projects list (项目清单)
# ---------------------------------------------------------------------------------------------
_PROJECT_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("老年食堂", ("elderly_care", "volunteers", "funding")),
    ("四点半课堂", ("education", "venue", "volunteers")),
    ("社区义诊周", ("medical", "venue", "volunteers")),
    ("法律进社区", ("legal", "mediation")),
    ("技能培训班", ("training", "employment", "venue")),
    ("智慧社区改造", ("it_support", "funding")),
    ("环境整治行动", ("environment", "volunteers")),
    ("党课宣讲月", ("party_lecture", "venue")),
    ("邻里文化节", ("culture", "venue", "funding")),
    ("安全宣传周", ("safety", "volunteers")),
    ("停车难治理", ("parking", "mediation")),
    ("就业帮扶", ("employment", "training")),
)
_PROJECT_STREAM = 0x9A0


def synthetic_projects(
    graph: RegionGraph,
    seed: int | None = 0,
    *,
    n_projects: int | None = None,
    per_community: tuple[int, int] = (0, 2),
    divisible_share: float = 0.3,
    max_units: tuple[int, int] = (2, 5),
) -> list[dict[str, Any]]:
    """A seeded projects list (项目清单) for the communities and villages of ``graph``.

    Parameters
    ----------
    graph : RegionGraph
    seed : int or None, default 0
        The same seed (and graph) gives the same projects.
    n_projects : int, optional
        Total projects, spread over the communities by size; by default each community or
        village gets ``per_community`` projects.
    per_community : (int, int), default (0, 2)
        Range (inclusive) of projects per community when ``n_projects`` is not given.
    divisible_share : float, default 0.3
        Share of the projects that may be met in part.
    max_units : (int, int), default (2, 5)
        Range (inclusive) of each project's ``max_units``.

    Returns
    -------
    list of dict
        Fields of :class:`~pbmatch.model.Project`: ``id`` (``P001`` …), ``name`` (a Chinese
        project name and the community's), ``owner`` (the community or village unit), ``needs``
        (2–3 categories of a template, quantities 1–8, only categories of the graph),
        ``max_units``, ``divisible``, ``priority`` (1, 2 or 3).

    Examples
    --------
    >>> from pbmatch.datasets import synthetic_district, synthetic_projects
    >>> g = synthetic_district(seed=0, n_streets=1, n_townships=0)
    >>> projects = synthetic_projects(g, seed=0, n_projects=4)
    >>> len(projects), sorted(projects[0])
    (4, ['divisible', 'id', 'max_units', 'name', 'needs', 'owner', 'priority'])
    """
    func = "synthetic_projects"
    rng = _sub_rng(func, seed, _PROJECT_STREAM)
    share = _real(func, "divisible_share", divisible_share, 0.0, 1.0)
    lo, hi = _int_range(func, "max_units", max_units, 1)
    ids, weights = _communities(graph)
    owners = [c for c in ids if c in set(graph.ids.tolist())]
    weights = weights[[i for i, c in enumerate(ids) if c in set(owners)]]
    counts = _per_community(rng, func, n_projects, per_community, weights)
    known = set(graph.categories)
    templates = [(name, tuple(c for c in cats if c in known)) for name, cats in _PROJECT_TEMPLATES]
    templates = [t for t in templates if t[1]]
    if not templates and int(counts.sum()):
        raise _fail(func, "graph", graph, "a graph with some of the usual categories")
    owner_of = np.repeat(np.arange(len(owners), dtype=np.int64), counts)
    total = owner_of.size
    pick = rng.integers(0, max(len(templates), 1), total)
    divisible = rng.random(total) < share
    limit = _ints(rng, lo, hi + 1, total)
    priority = rng.choice(np.array([1, 2, 3]), size=total, p=[0.5, 0.3, 0.2])
    width = max(3, len(str(total)))
    projects: list[dict[str, Any]] = []
    for k in range(total):
        name, cats = templates[int(pick[k])]
        quantities = _ints(rng, 1, 9, len(cats))
        owner = owners[int(owner_of[k])]
        projects.append(
            {
                "id": f"P{k + 1:0{width}d}",
                "name": f"{graph.unit(owner).name}{name}",
                "owner": owner,
                "needs": dict(zip(cats, quantities.tolist(), strict=True)),
                "max_units": int(limit[k]),
                "divisible": bool(divisible[k]),
                "priority": int(priority[k]),
            }
        )
    return projects


__all__ += ["synthetic_projects"]
