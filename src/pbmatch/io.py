"""Files in and out: Excel workbooks with Chinese or English headers, CSV, JSON, GeoJSON.

Reading (:func:`read`) turns what a street office keeps into a validated
:class:`~pbmatch.graph.RegionGraph`; writing (:func:`write`) turns a graph or a result into the
same formats (and ``.html`` through :mod:`pbmatch.report`). pandas and networkx conversions go
both ways (:func:`graph_to_pandas`, :func:`graph_from_pandas`, :func:`result_to_pandas`,
:func:`graph_from_networkx`, :func:`match_to_networkx`, :func:`models_to_pandas`,
:func:`models_from_pandas`).

The workbook
------------
Sheets (English or Chinese names): ``units`` / 单位, ``needs`` / 需求清单, ``offers`` / 资源清单,
and optionally ``regions`` / 区域 and ``ties`` / 共建关系. Row 1 holds the headers, in English
(the models' field names) or Chinese (:data:`COLUMNS`); other sheets are ignored, and so are
columns headed ``备注`` / ``note``. The needs and offers sheets list one
(``unit``, ``category``, ``quantity``) per row; a unit's quantities of the same category are
added up. Instead of those sheets the units sheet may carry ``needs`` / ``offers`` columns of
the form ``venue:2; legal:1``. Unit kinds and region levels may be given in Chinese (``机关``,
``街道`` ...).

Validation happens once, here: every problem is an :class:`~pbmatch.InputError` naming the
file, the sheet, the row number as Excel shows it (the header is row 1), the column and the
value. The one exception: a region that a unit names but the regions sheet lacks is created
as a leaf region with no known parent, with a ``UserWarning``.

Writing a result
----------------
Excel gets one sheet per table (:func:`result_tables`), CSV the pairs table, JSON everything,
GeoJSON the units as points and the pairs as lines (for map layers). Headers are English (the
``to_pandas()`` column names) or, with ``lang="zh"``, Chinese. Every text cell written to a
spreadsheet (xlsx or CSV) that a spreadsheet could run as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is neutralised: in CSV by a leading ``'``, in xlsx by
storing it as a quote-prefixed text cell.

Optional dependencies: openpyxl for ``.xlsx`` (``pip install 'pbmatch[excel]'``), pandas for
the pandas conversions (``pbmatch[pandas]``), matplotlib for the figures of the HTML report
(``pbmatch[plot]``); each is imported only when used.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import io as _stdio
import json
import math
import numbers
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from pbmatch._optional import require
from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.model import (
    KIND_NAMES_ZH,
    KINDS,
    LEVEL_NAMES_ZH,
    FloatingMember,
    Host,
    Member,
    Project,
    Region,
    ServicePost,
    Tie,
    Unit,
    validate_items,
)
from pbmatch.results import (
    AllocationResult,
    ExchangeResult,
    FloatingResult,
    GeneralMatchResult,
    JointBranchesResult,
    MatchResult,
    PairingResult,
    PostAssignmentResult,
    ProjectsResult,
)
from pbmatch.scoring.weights import COMPONENTS

__all__ = [
    "COLUMNS",
    "HEADERS_ZH",
    "RECORD_COLUMNS",
    "RECORD_SHEETS",
    "SHEET_NAMES",
    "Lang",
    "RecordKind",
    "graph_from_networkx",
    "graph_from_pandas",
    "graph_to_pandas",
    "input_schema",
    "match_to_networkx",
    "models_from_pandas",
    "models_to_pandas",
    "neutralise",
    "read",
    "read_records",
    "result_summary",
    "result_tables",
    "result_to_pandas",
    "write",
    "write_records",
]

Lang = Literal["en", "zh"]
PathLike = str | os.PathLike[str]
Table = tuple[list[str], list[list[Any]]]
"""A table to write: its column headers and its rows."""
AnyResult = (
    PairingResult
    | MatchResult
    | GeneralMatchResult
    | AllocationResult
    | PostAssignmentResult
    | FloatingResult
    | ExchangeResult
    | JointBranchesResult
    | ProjectsResult
)

# ---------------------------------------------------------------------------------------------
# Sheets and columns
# ---------------------------------------------------------------------------------------------
SHEET_NAMES: dict[str, tuple[str, ...]] = {
    "units": ("units", "单位", "单位清单", "驻区单位"),
    "needs": ("needs", "需求清单", "需求"),
    "offers": ("offers", "资源清单", "资源"),
    "regions": ("regions", "区域", "区域清单"),
    "ties": ("ties", "共建关系", "已有共建关系"),
}
"""Each input sheet and the names it may have (English first, then the Chinese ones; the
first Chinese name is the one pbmatch writes)."""

_ColumnType = Literal["text", "int", "float", "tags", "quantities", "bool"]


@dataclass(frozen=True)
class _Column:
    field: str
    zh: str
    type: _ColumnType
    required: bool = False
    aliases: tuple[str, ...] = ()


def _list_columns(what: str) -> tuple[_Column, ...]:
    return (
        _Column("unit", "单位编号", "text", True, ("单位", "unit_id")),
        _Column("category", "类别", "text", True, (f"{what}类别",)),
        _Column("quantity", "数量", "float", True, (f"{what}数量",)),
    )


_COLUMNS: dict[str, tuple[_Column, ...]] = {
    "units": (
        _Column("id", "单位编号", "text", True),
        _Column("name", "单位名称", "text"),
        _Column("kind", "单位类型", "text", True, ("类型",)),
        _Column("region", "所属区域", "text", True, ("区域", "所在区域")),
        _Column("lat", "纬度", "float", aliases=("latitude",)),
        _Column("lon", "经度", "float", aliases=("lng", "longitude")),
        _Column("members", "党员数", "int", aliases=("党员人数",)),
        _Column("max_partners", "最多结对数", "int"),
        _Column("min_partners", "最少结对数", "int"),
        _Column("tags", "标签", "tags"),
        _Column("offers", "资源", "quantities"),
        _Column("needs", "需求", "quantities"),
    ),
    "needs": _list_columns("需求"),
    "offers": _list_columns("资源"),
    "regions": (
        _Column("id", "区域编号", "text", True),
        _Column("name", "区域名称", "text"),
        _Column("level", "层级", "text", True, ("区域层级",)),
        _Column("parent", "上级区域", "text", aliases=("上级区域编号",)),
    ),
    "ties": (
        _Column("a", "单位A", "text", True, ("共建单位", "单位编号a")),
        _Column("b", "单位B", "text", True, ("结对单位", "结对社区", "单位编号b")),
        _Column("since", "起始年份", "int", aliases=("开始年份", "年份")),
    ),
}

COLUMNS: dict[str, dict[str, str]] = {
    sheet: {c.field: c.zh for c in cols} for sheet, cols in _COLUMNS.items()
}
"""Each input sheet's columns: field name (the English header) → Chinese header."""

RecordKind = Literal["members", "posts", "floating", "hosts", "projects"]
"""The record tables :func:`read_records` reads (inputs of the problems that are not a graph)."""

RECORD_SHEETS: dict[str, tuple[str, ...]] = {
    "members": ("members", "在职党员", "党员", "报到党员"),
    "posts": ("posts", "服务岗位", "岗位", "岗位清单", "微心愿"),
    "floating": ("floating", "流动党员", "流动党员清单"),
    "hosts": ("hosts", "流入地党组织", "接收组织", "党组织"),
    "projects": ("projects", "项目清单", "项目"),
}
"""Each record table (:func:`read_records`) and the names its sheet or file may have (English
first, then the Chinese ones; the first Chinese name is the one pbmatch writes)."""

_RECORD_COLUMNS: dict[str, tuple[_Column, ...]] = {
    "members": (
        _Column("id", "党员编号", "text", True, ("编号",)),
        _Column("name", "姓名", "text", aliases=("党员姓名",)),
        _Column(
            "community", "报到社区", "text", True, ("所属社区", "居住社区", "社区", "社区编号")
        ),
        _Column("skills", "技能", "tags", aliases=("特长", "专长", "技能特长")),
        _Column("max_posts", "最多岗位数", "int"),
    ),
    "posts": (
        _Column("id", "岗位编号", "text", True, ("编号",)),
        _Column("name", "岗位名称", "text"),
        _Column("community", "所属社区", "text", True, ("社区", "社区编号")),
        _Column("skills", "所需技能", "tags", aliases=("技能要求", "技能")),
        _Column("headcount", "人数", "int", aliases=("岗位人数", "需求人数", "名额")),
    ),
    "floating": (
        _Column("id", "党员编号", "text", True, ("编号",)),
        _Column("lat", "纬度", "float", True, ("latitude",)),
        _Column("lon", "经度", "float", True, ("lng", "longitude")),
        _Column("industry", "行业", "text", aliases=("所在行业",)),
        _Column("home", "流出地党组织", "text", aliases=("流出地", "原党组织")),
    ),
    "hosts": (
        _Column("id", "组织编号", "text", True, ("单位编号", "党组织编号")),
        _Column("name", "组织名称", "text", aliases=("单位名称", "党组织名称")),
        _Column("lat", "纬度", "float", True, ("latitude",)),
        _Column("lon", "经度", "float", True, ("lng", "longitude")),
        _Column("industry", "行业", "text", aliases=("所在行业",)),
        _Column("capacity", "最多接收人数", "int", aliases=("接收人数", "容量")),
        _Column("contacts", "联系人数", "int", aliases=("联系人数量",)),
    ),
    "projects": (
        _Column("id", "项目编号", "text", True, ("编号",)),
        _Column("name", "项目名称", "text"),
        _Column("owner", "牵头单位", "text", True, ("发起单位", "所属单位", "单位编号")),
        _Column("needs", "需求", "quantities", True, ("项目需求", "所需资源")),
        _Column("max_units", "最多参与单位数", "int", aliases=("最多单位数",)),
        _Column("divisible", "可拆分", "bool", aliases=("可分割",)),
        _Column("priority", "优先级", "float"),
    ),
}

RECORD_COLUMNS: dict[str, dict[str, str]] = {
    sheet: {c.field: c.zh for c in cols} for sheet, cols in _RECORD_COLUMNS.items()
}
"""Each record table's columns: field name (the English header) → Chinese header."""

_ALL_COLUMNS: dict[str, tuple[_Column, ...]] = {**_COLUMNS, **_RECORD_COLUMNS}
_ALL_SHEETS: dict[str, tuple[str, ...]] = {**SHEET_NAMES, **RECORD_SHEETS}

_IGNORED = frozenset({"note", "notes", "remark", "remarks", "备注"})

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = "".join(_FORMULA_START)

_KIND_ZH = {v: k for k, v in reversed(KIND_NAMES_ZH.items())}
_LEVEL_ZH = {v: k for k, v in reversed(LEVEL_NAMES_ZH.items())}


def _norm(header: Any) -> str:
    return re.sub(r"[\s\u3000\-]+", "_", str(header).strip()).lower()


_LOOKUP: dict[str, dict[str, _Column]] = {
    sheet: {_norm(name): col for col in cols for name in (col.field, col.zh, *col.aliases)}
    for sheet, cols in _ALL_COLUMNS.items()
}
_SHEET_LOOKUP: dict[str, str] = {
    _norm(name): sheet for sheet, names in SHEET_NAMES.items() for name in names
}
_RECORD_LOOKUP: dict[str, str] = {
    _norm(name): sheet for sheet, names in RECORD_SHEETS.items() for name in names
}


def _allowed(sheet: str) -> str:
    return ", ".join(f"{c.field} ({c.zh})" for c in _ALL_COLUMNS[sheet])


def _sheet_label(sheet: str) -> str:
    return f"'{sheet}' ({_ALL_SHEETS[sheet][1]})"


# ---------------------------------------------------------------------------------------------
# Tables: rows of raw cells with where they came from
# ---------------------------------------------------------------------------------------------
@dataclass
class _Table:
    """One input sheet: raw cell values by field, with how to name each place in messages."""

    sheet: str  # canonical sheet key
    source: str  # the file (or frame) it came from
    label: str  # "sheet '单位'" for a workbook, "" for a file of its own
    headers: dict[str, str] = field(default_factory=dict)  # field -> header as written
    letters: dict[str, str] = field(default_factory=dict)  # field -> column letter (Excel)
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    column_word: str = "column"

    def where(self, row: str) -> str:
        return f"{self.source}: " + ", ".join(part for part in (self.label, row) if part)

    def column(self, name: str) -> str:
        header = self.headers.get(name, name)
        letter = self.letters.get(name)
        return f"{self.column_word} '{header}'" + (f" ({letter})" if letter else "")

    def fail(self, row: str, name: str, value: Any, rule: str) -> InputError:
        return InputError(f"{self.where(row)}, {self.column(name)}: value {value!r} {rule}")

    @property
    def name(self) -> str:
        return f"{self.source}" + (f" {self.label}" if self.label else "")


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _table_from_rows(
    sheet: str,
    source: str,
    label: str,
    rows: Iterable[Sequence[Any]],
    *,
    letters: bool,
    row_label: Callable[[int], str] = lambda i: f"row {i + 2}",
) -> _Table:
    """Build a table from a header row followed by data rows (Excel, CSV or a DataFrame)."""
    table = _Table(sheet, source, label)
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None or all(_is_empty(h) for h in header):
        raise InputError(
            f"{table.where('row 1')}: is empty; row 1 must hold the column headers, "
            f"e.g. {_allowed(sheet)}"
        )
    positions: dict[int, str] = {}
    blank: set[int] = set()
    for i, raw in enumerate(header):
        if _is_empty(raw):
            blank.add(i)
            continue
        key = _norm(raw)
        if key in _IGNORED:
            continue
        column = _LOOKUP[sheet].get(key)
        where = f"{table.where('row 1')}, column '{str(raw).strip()}'" + (
            f" ({_column_letter(i)})" if letters else ""
        )
        if column is None:
            raise InputError(f"{where}: unknown column; allowed: {_allowed(sheet)}")
        if column.field in table.headers:
            raise InputError(
                f"{where}: repeats column '{table.headers[column.field]}' "
                f"(both are {column.field!r}); give each column once"
            )
        positions[i] = column.field
        table.headers[column.field] = str(raw).strip()
        if letters:
            table.letters[column.field] = _column_letter(i)
    missing = [c for c in _ALL_COLUMNS[sheet] if c.required and c.field not in table.headers]
    if missing:
        found = ", ".join(repr(h) for h in table.headers.values()) or "none"
        names = ", ".join(f"'{c.field}' ({c.zh})" for c in missing)
        verb = "it is" if len(missing) == 1 else "they are"
        raise InputError(
            f"{table.where('')}".rstrip(", ")
            + f" has no column {names}; {verb} required (columns found: {found})"
        )
    for n, cells in enumerate(iterator):
        if all(_is_empty(c) for c in cells):
            continue
        label_n = row_label(n)
        values: dict[str, Any] = {}
        for i, cell in enumerate(cells):
            if _is_empty(cell):
                continue
            if i in positions:
                values[positions[i]] = cell
            elif i in blank or i >= len(header):
                col = f" ({_column_letter(i)})" if letters else f" {i + 1}"
                raise InputError(
                    f"{table.where(label_n)}, column{col}: value {cell!r} is in a column "
                    "with no header; add a header in row 1 or delete the value"
                )
        table.rows.append((label_n, values))
    return table


# ---------------------------------------------------------------------------------------------
# Cell conversion
# ---------------------------------------------------------------------------------------------
class _CellError(Exception):
    """A cell's value does not fit its column; the message is the rule."""


_SPLIT = re.compile(r"[;；,，、\n]+")
_PAIR = re.compile(r"^(.+?)\s*[:：=]\s*(.+)$")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise _CellError("is TRUE/FALSE; expected text")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    if isinstance(value, (_dt.date, _dt.time)):
        raise _CellError(
            "is a date or time; expected text (Excel may have turned the text into a date: "
            "format the column as text and type it again)"
        )
    if isinstance(value, str):
        return value.strip()
    raise _CellError(f"is a {type(value).__name__}; expected text")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _CellError("is TRUE/FALSE; expected a number")
    if isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace("，", "").replace(",", ""))
        except ValueError:
            raise _CellError("is not a number") from None
    else:
        raise _CellError(f"is a {type(value).__name__}; expected a number")
    if not math.isfinite(number):
        raise _CellError("is not a finite number")
    return number


def _whole(value: Any) -> int:
    try:
        number = _number(value)
    except _CellError as exc:
        raise _CellError(str(exc).replace("a number", "a whole number")) from None
    if not number.is_integer():
        raise _CellError("is not a whole number")
    return int(number)


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(_text(v) for v in value)
    return tuple(part.strip() for part in _SPLIT.split(_text(value)) if part.strip())


def _quantities(value: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    else:
        pairs = []
        for part in _SPLIT.split(_text(value)):
            if not part.strip():
                continue
            found = _PAIR.match(part.strip())
            if found is None:
                raise _CellError(
                    f"has the entry {part.strip()!r} with no quantity; write "
                    "category:quantity entries separated by ';', e.g. 'venue:2; legal:1'"
                )
            pairs.append((found.group(1), found.group(2)))
        items = pairs
    for key, raw in items:
        category = _text(key)
        try:
            quantity = _number(raw)
        except _CellError as exc:
            raise _CellError(f"has quantity {raw!r} for {category!r}, which {exc}") from None
        out[category] = out.get(category, 0.0) + quantity
    return out


_TRUE = frozenset({"true", "yes", "y", "1", "是", "对", "可", "可以", "√", "✓"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "不", "不可", "不可以", "×", "✗"})


def _boolean(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real) and float(value) in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _CellError("is not yes/no; write TRUE or FALSE, 是 or 否, 1 or 0")


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "int": _whole,
    "float": _number,
    "tags": _tags,
    "quantities": _quantities,
    "bool": _boolean,
}


def _convert_row(table: _Table, row: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a row's cells by column type; an empty required cell is an error."""
    out: dict[str, Any] = {}
    for column in _ALL_COLUMNS[table.sheet]:
        if column.field not in values:
            if column.required:
                raise InputError(
                    f"{table.where(row)}, {table.column(column.field)}: the cell is empty; "
                    "it is required"
                )
            continue
        raw = values[column.field]
        try:
            out[column.field] = _CONVERT[column.type](raw)
        except _CellError as exc:
            raise table.fail(row, column.field, raw, str(exc)) from None
        if column.type == "text" and not out[column.field] and column.required:
            raise InputError(
                f"{table.where(row)}, {table.column(column.field)}: the cell is empty; "
                "it is required"
            )
    return out


M = TypeVar("M", bound=BaseModel)


@functools.cache
def _twin(model: type[M]) -> type[M]:
    """``model`` without pbmatch's ``__init__``, so that pydantic reports errors by field."""
    twin: type[M] = type(
        f"_{model.__name__}Fields",
        (model,),
        {"__init__": BaseModel.__init__, "__module__": __name__},
    )
    return twin


def _model(
    model: type[M], table: _Table, row: str, data: dict[str, Any], raw: Mapping[str, Any]
) -> M:
    try:
        return model(**data)
    except InputError:
        pass
    try:  # say which cell is wrong
        _twin(model).model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        loc = error.get("loc", ())
        if not loc:
            raise InputError(f"{table.where(row)}: {message}") from None
        name = str(loc[0])
        value = raw.get(name, data.get(name))
        raise table.fail(row, name, value, f"is not allowed: {message}") from None
    raise AssertionError("unreachable: the model refused data its twin accepts")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# From tables to a graph
# ---------------------------------------------------------------------------------------------
def _graph_from_tables(
    tables: Mapping[str, _Table], categories: Sequence[str] | None = None
) -> RegionGraph:
    units_t = tables["units"]
    regions_t = tables.get("regions")
    ties_t = tables.get("ties")

    regions: list[Region] = []
    region_row: dict[str, str] = {}
    if regions_t is not None:
        for row, values in regions_t.rows:
            data = _convert_row(regions_t, row, values)
            region = _model(Region, regions_t, row, data, values)
            if region.id in region_row:
                raise regions_t.fail(
                    row, "id", region.id, f"repeats {region_row[region.id]}; ids must be unique"
                )
            region_row[region.id] = row
            regions.append(region)
        for region, (row, values) in zip(regions, regions_t.rows, strict=True):
            if region.parent is not None and region.parent not in region_row:
                raise regions_t.fail(
                    row, "parent", values.get("parent"), "is not an id on this sheet"
                )

    unit_data: list[tuple[str, dict[str, Any]]] = []
    unit_row: dict[str, str] = {}
    for row, values in units_t.rows:
        data = _convert_row(units_t, row, values)
        if data["id"] in unit_row:
            raise units_t.fail(
                row, "id", values["id"], f"repeats {unit_row[data['id']]}; ids must be unique"
            )
        unit_row[data["id"]] = row
        unit_data.append((row, data))
    by_id = {data["id"]: data for _, data in unit_data}

    for sheet in ("offers", "needs"):
        list_t = tables.get(sheet)
        if list_t is None:
            continue
        for row, values in list_t.rows:
            data = _convert_row(list_t, row, values)
            if data["unit"] not in by_id:
                raise list_t.fail(
                    row, "unit", values["unit"], f"is not an id on {units_t.label or 'units'}"
                )
            if data["quantity"] < 0:
                raise list_t.fail(
                    row, "quantity", values["quantity"], "is negative; quantities must be >= 0"
                )
            target = by_id[data["unit"]].setdefault(sheet, {})
            target[data["category"]] = target.get(data["category"], 0.0) + data["quantity"]

    units = [
        _model(Unit, units_t, row, data, values)
        for (row, data), (_, values) in zip(unit_data, units_t.rows, strict=True)
    ]
    regions += _missing_regions(units, region_row, units_t, regions_t)

    ties: list[Tie] = []
    if ties_t is not None:
        seen: dict[frozenset[str], str] = {}
        for row, values in ties_t.rows:
            data = _convert_row(ties_t, row, values)
            tie = _model(Tie, ties_t, row, data, values)
            for end in ("a", "b"):
                if getattr(tie, end) not in unit_row:
                    raise ties_t.fail(
                        row, end, values[end], f"is not an id on {units_t.label or 'units'}"
                    )
            key = frozenset((tie.a, tie.b))
            if key in seen:
                raise ties_t.fail(
                    row, "b", values["b"], f"repeats the tie of {seen[key]}; give each tie once"
                )
            seen[key] = row
            ties.append(tie)
    try:
        return RegionGraph(units, regions, ties, categories=categories)
    except InputError as exc:
        where = regions_t.name if regions_t is not None else units_t.source
        raise InputError(f"{where}: {exc}") from None


def _missing_regions(
    units: Sequence[Unit],
    known: Mapping[str, Any],
    units_t: _Table | None,
    regions_t: _Table | None,
    source: str = "",
) -> list[Region]:
    """Leaf regions for the region ids units name but no region lists, with one warning."""
    missing: dict[str, str] = {}
    for unit in units:
        if unit.region not in known:
            level = "village" if unit.kind == "village" else "community"
            if missing.get(unit.region) != "village":
                missing[unit.region] = level
    if not missing:
        return []
    names = ", ".join(repr(r) for r in list(missing)[:8]) + (
        f", … ({len(missing)} in all)" if len(missing) > 8 else ""
    )
    where = units_t.name if units_t is not None else source
    lacking = regions_t.name if regions_t is not None else "the input (it has no regions)"
    warnings.warn(
        f"{where}: {len(missing)} region(s) named by units are missing from {lacking}: "
        f"{names}; each was created as a leaf region (community or village) with no known "
        "parent, so no street or district is shared with it",
        UserWarning,
        stacklevel=4,
    )
    return [Region(id=rid, level=level) for rid, level in missing.items()]


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------
def read(
    path: PathLike,
    *,
    format: str | None = None,
    categories: Sequence[str] | None = None,
) -> RegionGraph:
    """Read units, regions, needs, offers and ties from a file into a :class:`RegionGraph`.

    Parameters
    ----------
    path : str or path-like
        An Excel workbook (``.xlsx``, ``.xlsm``), a CSV file of units (``.csv``, with
        ``needs`` / ``offers`` columns like ``venue:2; legal:1``), a folder of CSV files named
        after the sheets (``units.csv``, ``needs.csv``, ``offers.csv``, ``regions.csv``,
        ``ties.csv`` or their Chinese names), JSON in pbmatch's schema (``.json``, see
        :func:`input_schema`) or GeoJSON points (``.geojson``).
    format : {"xlsx", "csv", "json", "geojson"}, optional
        Override the format the suffix implies.
    categories : sequence of str, optional
        Column order of the graph's offers/needs matrices (see :class:`RegionGraph`).

    Returns
    -------
    RegionGraph

    Raises
    ------
    InputError
        For a missing or unreadable file, a missing sheet or required column, an unknown
        column, a cell of the wrong type, a bad value or a broken cross reference; the message
        names the file, sheet, row (as Excel numbers it: the header is row 1), column and value.
    ImportError
        Reading ``.xlsx`` needs openpyxl (``pip install 'pbmatch[excel]'``).

    Warns
    -----
    UserWarning
        When units name regions that the regions sheet lacks (they are created as leaves).

    Notes
    -----
    CSV files may be UTF-8 (with or without BOM), GBK/GB18030 (what Chinese Excel saves by
    default) or UTF-16; a tab-separated file is recognised by its header row.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "units.csv").write_text(
    ...     "单位编号,单位名称,单位类型,所属区域,资源,需求\\n"
    ...     "a1,区司法局,机关,S1,legal:2,\\n"
    ...     "C1,幸福社区,社区,C1,,legal:1; venue:3\\n", encoding="utf-8")
    >>> _ = (folder / "regions.csv").write_text(
    ...     "区域编号,区域名称,层级,上级区域\\nS1,东湖街道,街道,\\nC1,幸福社区,社区,S1\\n",
    ...     encoding="utf-8")
    >>> graph = read(folder)
    >>> graph.ids.tolist(), graph.categories, graph.needs.tolist()
    (['a1', 'C1'], ('legal', 'venue'), [[0.0, 0.0], [1.0, 3.0]])
    """
    p = Path(path)
    fmt = (format or _format_of(p)).lower().lstrip(".")
    if fmt not in ("dir", "csv") and not p.exists():
        raise InputError(f"{p}: no such file")
    if fmt == "dir":
        tables = _csv_folder_tables(p)
        return _graph_from_tables(tables, categories)
    if fmt == "csv":
        if not p.exists():
            raise InputError(f"{p}: no such file")
        units = _csv_table(p, "units", label="")
        return _graph_from_tables({"units": units}, categories)
    if fmt in ("xlsx", "xlsm"):
        return _graph_from_tables(_excel_tables(p), categories)
    if fmt == "xls":
        raise InputError(
            f"{p}: the old Excel format .xls cannot be read; open it in Excel or WPS and save "
            "it as an .xlsx workbook"
        )
    if fmt in ("json", "geojson"):
        data = _load_json(p)
        if fmt == "geojson" or (isinstance(data, dict) and data.get("type") == "FeatureCollection"):
            return _graph_from_geojson(p, data, categories)
        return _graph_from_json(p, data, categories)
    raise InputError(
        f"{p}: unknown format {fmt!r}; allowed: .xlsx, .csv (or a folder of .csv files), "
        ".json, .geojson"
    )


def _format_of(path: Path) -> str:
    if path.is_dir():
        return "dir"
    return path.suffix.lower().lstrip(".") or "dir"


def _open_workbook(path: Path) -> Any:
    openpyxl = require("openpyxl", "excel", "reading .xlsx workbooks")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected an Excel workbook")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: is not an Excel workbook (.xlsx) that can be read ({reason})"
        ) from None


def _excel_tables(path: Path) -> dict[str, _Table]:
    book = _open_workbook(path)
    try:
        found: dict[str, str] = {}
        for name in book.sheetnames:
            sheet = _SHEET_LOOKUP.get(_norm(name))
            if sheet is None:
                continue
            if sheet in found:
                raise InputError(
                    f"{path}: sheets '{found[sheet]}' and '{name}' are both the {sheet} sheet; "
                    "keep one"
                )
            found[sheet] = name
        sheets = ", ".join(repr(s) for s in book.sheetnames)
        if "units" not in found:
            raise InputError(
                f"{path}: has no sheet {_sheet_label('units')}; it is required "
                f"(sheets found: {sheets})"
            )
        tables: dict[str, _Table] = {}
        for sheet, name in found.items():
            worksheet = book[name]
            tables[sheet] = _table_from_rows(
                sheet,
                str(path),
                f"sheet '{name}'",
                worksheet.iter_rows(values_only=True),
                letters=True,
            )
        for sheet in ("needs", "offers"):
            if sheet not in tables and sheet not in tables["units"].headers:
                raise InputError(
                    f"{path}: has no sheet {_sheet_label(sheet)} and the units sheet has no "
                    f"'{sheet}' column; give one of them (sheets found: {sheets})"
                )
        return tables
    finally:
        book.close()


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path}: the file is empty; expected CSV text with a header row")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"PK\x03\x04"):
        raise InputError(f"{path}: is an Excel workbook or other zip file, not CSV text")
    if b"\x00" in data:
        raise InputError(f"{path}: is a binary file, not CSV text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: is neither UTF-8 nor GBK text; save it as 'CSV UTF-8' from Excel"
        ) from None


def _csv_table(path: Path, sheet: str, *, label: str) -> _Table:
    text = _decode(path)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(_stdio.StringIO(text, newline=""), delimiter=delimiter)
    # Undo the "'" that :func:`neutralise` put before text that looked like a formula.
    rows = (
        [c[1:] if c[:1] == "'" and c[1:2] and c[1] in _FORMULA_CHARS else c for c in row]
        for row in reader
    )
    return _table_from_rows(sheet, str(path), label, rows, letters=False)


def _csv_folder_tables(folder: Path) -> dict[str, _Table]:
    if not folder.exists():
        raise InputError(f"{folder}: no such file or folder")
    tables: dict[str, _Table] = {}
    for file in sorted(folder.iterdir()):
        if file.suffix.lower() not in (".csv", ".tsv", ".txt"):
            continue
        sheet = _SHEET_LOOKUP.get(_norm(file.stem))
        if sheet is None:
            continue
        if sheet in tables:
            raise InputError(
                f"{folder}: files '{Path(tables[sheet].source).name}' and '{file.name}' are "
                f"both the {sheet} sheet; keep one"
            )
        tables[sheet] = _csv_table(file, sheet, label="")
    if "units" not in tables:
        raise InputError(
            f"{folder}: has no units.csv (or 单位.csv); a folder of CSV files needs one file "
            "per sheet: units, needs, offers, and optionally regions, ties"
        )
    return tables


# ---------------------------------------------------------------------------------------------
# Record tables: members, posts, floating members, hosts, projects
# ---------------------------------------------------------------------------------------------
def _record_models() -> dict[str, type[BaseModel]]:
    return {
        "members": Member,
        "posts": ServicePost,
        "floating": FloatingMember,
        "hosts": Host,
        "projects": Project,
    }


def read_records(path: PathLike, what: RecordKind, *, format: str | None = None) -> list[Any]:
    """Read one record table — members, posts, floating members, hosts or projects — from a file.

    These are the inputs of the problems that are not a :class:`RegionGraph`:
    :func:`pbmatch.assign_posts` (``members``, ``posts``), :func:`pbmatch.host_floating_members`
    (``floating``, ``hosts``) and :func:`pbmatch.staff_projects` (``projects``).

    Parameters
    ----------
    path : str or path-like
        An Excel workbook (the sheet named after ``what``, in English or Chinese, see
        :data:`RECORD_SHEETS`; a workbook with a single sheet is that sheet), a CSV file, a
        folder of CSV files (the file named after ``what``), JSON (a list of records, or an
        object with a list under ``what``) or GeoJSON points (``lat``/``lon`` from the
        geometry).
    what : {"members", "posts", "floating", "hosts", "projects"}
        Which table. The columns (:data:`RECORD_COLUMNS`) are the fields of
        :class:`~pbmatch.model.Member`, :class:`~pbmatch.model.ServicePost`,
        :class:`~pbmatch.model.FloatingMember`, :class:`~pbmatch.model.Host` and
        :class:`~pbmatch.model.Project`, with English or Chinese headers; skills are separated
        by ``,`` ``、`` or ``;``, a project's needs written ``venue:2; volunteers:5``, its
        ``divisible`` as TRUE/FALSE, 是/否 or 1/0.
    format : {"xlsx", "csv", "json", "geojson", "dir"}, optional
        Override the format the suffix implies.

    Returns
    -------
    list of Member, ServicePost, FloatingMember, Host or Project
        Validated, in file order, ids unique.

    Raises
    ------
    InputError
        A missing file or sheet, an unknown or missing column, a bad cell, a repeated id; the
        message names the file, sheet, row (as Excel numbers it), column and value.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "posts.csv"
    >>> _ = path.write_text("岗位编号,岗位名称,所属社区,所需技能,人数\\n"
    ...                     "p1,楼栋长,C1,,2\\np2,法律咨询岗,C1,legal、mediation,1\\n",
    ...                     encoding="utf-8")
    >>> [(p.id, p.skills, p.headcount) for p in read_records(path, "posts")]
    [('p1', (), 2), ('p2', ('legal', 'mediation'), 1)]
    >>> _ = path.write_text("岗位编号,所属社区,人数\\np1,C1,-2\\n", encoding="utf-8")
    >>> read_records(path, "posts")
    Traceback (most recent call last):
    ...
    pbmatch.exceptions.InputError: ...posts.csv: row 2, column '人数': value '-2' is not ...
    """
    if what not in RECORD_SHEETS:
        raise InputError(f"what is {what!r}; allowed: {', '.join(map(repr, RECORD_SHEETS))}")
    p = Path(path)
    fmt = (format or _format_of(p)).lower().lstrip(".")
    if fmt != "dir" and not p.exists():
        raise InputError(f"{p}: no such file")
    if fmt == "dir":
        table = _csv_folder_record(p, what)
    elif fmt in ("csv", "tsv", "txt"):
        table = _csv_table(p, what, label="")
    elif fmt in ("xlsx", "xlsm"):
        table = _excel_record_table(p, what)
    elif fmt == "xls":
        raise InputError(
            f"{p}: the old Excel format .xls cannot be read; open it in Excel or WPS and save "
            "it as an .xlsx workbook"
        )
    elif fmt in ("json", "geojson"):
        return _records_from_json(p, _load_json(p), what)
    else:
        raise InputError(
            f"{p}: unknown format {fmt!r}; allowed: .xlsx, .csv (or a folder of .csv files), "
            ".json, .geojson"
        )
    return _records_from_table(table, what)


def _excel_record_table(path: Path, what: str) -> _Table:
    book = _open_workbook(path)
    try:
        names = list(book.sheetnames)
        found = [n for n in names if _RECORD_LOOKUP.get(_norm(n)) == what]
        if len(found) > 1:
            raise InputError(
                f"{path}: sheets '{found[0]}' and '{found[1]}' are both the {what} sheet; keep one"
            )
        if not found and len(names) == 1:
            found = names
        if not found:
            sheets = ", ".join(repr(s) for s in names)
            raise InputError(
                f"{path}: has no sheet {_sheet_label(what)}; it is required "
                f"(sheets found: {sheets})"
            )
        return _table_from_rows(
            what,
            str(path),
            f"sheet '{found[0]}'",
            book[found[0]].iter_rows(values_only=True),
            letters=True,
        )
    finally:
        book.close()


def _csv_folder_record(folder: Path, what: str) -> _Table:
    if not folder.exists():
        raise InputError(f"{folder}: no such file or folder")
    files = [
        f
        for f in sorted(folder.iterdir())
        if f.suffix.lower() in (".csv", ".tsv", ".txt")
        and _RECORD_LOOKUP.get(_norm(f.stem)) == what
    ]
    if not files:
        raise InputError(
            f"{folder}: has no {what}.csv (or {RECORD_SHEETS[what][1]}.csv); it is required"
        )
    if len(files) > 1:
        raise InputError(
            f"{folder}: files '{files[0].name}' and '{files[1].name}' are both the {what} "
            "table; keep one"
        )
    return _csv_table(files[0], what, label="")


def _records_from_table(table: _Table, what: str) -> list[Any]:
    model = _record_models()[what]
    out: list[Any] = []
    seen: dict[str, str] = {}
    for row, values in table.rows:
        data = _convert_row(table, row, values)
        item = _model(model, table, row, data, values)
        ident = str(getattr(item, "id", ""))
        if ident in seen:
            raise table.fail(row, "id", values["id"], f"repeats {seen[ident]}; ids must be unique")
        seen[ident] = row
        out.append(item)
    if not out:
        raise InputError(
            f"{table.name}: has no rows below the headers; expected one row per "
            f"{_RECORD_NOUN[what]}"
        )
    return out


_RECORD_NOUN = {
    "members": "member",
    "posts": "post",
    "floating": "floating member",
    "hosts": "host organisation",
    "projects": "project",
}


def _records_from_json(path: Path, data: Any, what: str) -> list[Any]:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise InputError(f"{path}: expected a GeoJSON FeatureCollection with a 'features' list")
        records: Any = []
        for i, feature in enumerate(features):
            props = feature.get("properties") if isinstance(feature, dict) else None
            geometry = feature.get("geometry") if isinstance(feature, dict) else None
            if not isinstance(props, dict):
                raise InputError(f"{path}: features[{i}]: 'properties' must be an object")
            record = dict(props)
            if geometry is not None:
                coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
                if (
                    not isinstance(geometry, dict)
                    or geometry.get("type") != "Point"
                    or not isinstance(coords, list)
                    or len(coords) < 2
                ):
                    raise InputError(f"{path}: features[{i}]: geometry must be a Point [lon, lat]")
                record["lon"], record["lat"] = coords[0], coords[1]
            records.append(record)
    elif isinstance(data, list):
        records = data
    elif isinstance(data, dict) and any(k in data for k in RECORD_SHEETS[what]):
        records = next(data[k] for k in RECORD_SHEETS[what] if k in data)
    else:
        raise InputError(
            f"{path}: expected a JSON list of {_RECORD_NOUN[what]} records, or an object with "
            f"a list under '{what}'"
        )
    if not isinstance(records, list):
        raise InputError(f"{path}: '{what}' must be a list of records")
    if not records:
        raise InputError(f"{path}: the list of {what} is empty")
    try:
        return validate_items(records, _record_models()[what], what)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def _graph_from_records(
    path: Path,
    units: list[Any],
    regions: list[Any],
    ties: list[Any],
    categories: Sequence[str] | None,
) -> RegionGraph:
    """Records keyed by field name (JSON, GeoJSON): the models name the bad item and field."""
    region_ids = {r.get("id") for r in regions if isinstance(r, Mapping)}
    missing = [
        u
        for u in units
        if isinstance(u, Mapping) and u.get("region") and u.get("region") not in region_ids
    ]
    if missing:
        try:
            created = _missing_regions(
                [Unit(**{str(k): v for k, v in u.items()}) for u in missing],
                {str(r): None for r in region_ids},
                None,
                None,
                source=str(path),
            )
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        regions = [*regions, *(r.model_dump() for r in created)]
    try:
        return RegionGraph(units, regions, ties, categories=categories)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _graph_from_json(path: Path, data: Any, categories: Sequence[str] | None) -> RegionGraph:
    if not isinstance(data, dict) or not isinstance(data.get("units"), list):
        raise InputError(
            f"{path}: expected a JSON object with a list under 'units' "
            "(and 'regions', optionally 'ties'); see `pbmatch schema`"
        )
    unknown = sorted(
        set(data) - {"units", "regions", "ties", "categories", "$schema", *RECORD_SHEETS}
    )
    if unknown:
        raise InputError(
            f"{path}: unknown top-level keys {unknown}; allowed: units, regions, ties, "
            f"categories (and the record lists {', '.join(RECORD_SHEETS)})"
        )
    for key in ("regions", "ties", "categories"):
        if not isinstance(data.get(key, []), list):
            raise InputError(f"{path}: '{key}' must be a list")
    return _graph_from_records(
        path,
        data["units"],
        data.get("regions", []),
        data.get("ties", []),
        categories if categories is not None else data.get("categories"),
    )


def _graph_from_geojson(path: Path, data: Any, categories: Sequence[str] | None) -> RegionGraph:
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise InputError(f"{path}: expected a GeoJSON FeatureCollection with a 'features' list")
    units: list[Any] = []
    for i, feature in enumerate(data["features"]):
        where = f"{path}: features[{i}]"
        if not isinstance(feature, dict):
            raise InputError(f"{where}: is not a GeoJSON Feature object")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise InputError(f"{where}: 'properties' must be an object")
        if props.get("feature") == "pair" or (props.get("provider") and props.get("receiver")):
            continue  # a pair line written by pbmatch next to the unit points
        geometry = feature.get("geometry")
        unit = {k: v for k, v in props.items() if k not in ("side", "partners", "feature")}
        if geometry is not None:
            coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (
                not isinstance(geometry, dict)
                or geometry.get("type") != "Point"
                or not isinstance(coords, list)
                or len(coords) < 2
            ):
                raise InputError(
                    f"{where}: geometry must be a Point [lon, lat] (or null for a unit with no "
                    "location)"
                )
            unit["lon"], unit["lat"] = coords[0], coords[1]
        units.append(unit)
    for key in ("regions", "ties"):
        if not isinstance(data.get(key, []), list):
            raise InputError(f"{path}: '{key}' must be a list")
    return _graph_from_records(
        path, units, data.get("regions", []), data.get("ties", []), categories
    )


def input_schema() -> dict[str, Any]:
    """The JSON Schema of pbmatch's JSON input (what ``pbmatch schema`` prints).

    An object with ``units`` (required), ``regions``, ``ties`` and ``categories``; unit kinds
    and region levels accept the English identifiers and the Chinese names.

    Examples
    --------
    >>> schema = input_schema()
    >>> schema["required"], "机关" in schema["$defs"]["Unit"]["properties"]["kind"]["enum"]
    (['units'], True)
    """
    from pydantic import Field, create_model

    wrapper = create_model(
        "PbmatchInput",
        units=(list[Unit], Field(description="Units: agencies, firms, communities, villages …")),
        regions=(
            list[Region],
            Field(default_factory=list, description="The region tree, root first or in any order"),
        ),
        ties=(list[Tie], Field(default_factory=list, description="Standing agreements")),
        categories=(
            list[str] | None,
            Field(default=None, description="Column order of the categories (optional)"),
        ),
    )
    schema: dict[str, Any] = wrapper.model_json_schema()
    defs = schema["$defs"]
    defs["Unit"]["properties"]["kind"]["enum"] = [*KINDS, *KIND_NAMES_ZH]
    defs["Region"]["properties"]["level"]["enum"] = [
        *defs["Region"]["properties"]["level"]["enum"],
        *LEVEL_NAMES_ZH,
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pbmatch input",
        "description": "Units, regions and standing ties of a region, as read by pbmatch.read",
        **{k: v for k, v in schema.items() if k != "title"},
    }


# ---------------------------------------------------------------------------------------------
# pandas and networkx
# ---------------------------------------------------------------------------------------------
def _pandas() -> Any:
    return require("pandas", "pandas", "pandas conversion")


def graph_to_pandas(graph: RegionGraph, *, lang: Lang = "en") -> dict[str, Any]:
    """The graph as DataFrames, one per input sheet: units, needs, offers, regions, ties.

    Keys and columns are English, or Chinese with ``lang="zh"`` (as :func:`write` writes
    them); :func:`graph_from_pandas` reads either back.

    Examples
    --------
    >>> import pbmatch
    >>> frames = graph_to_pandas(pbmatch.synthetic_district(seed=0))
    >>> list(frames), len(frames["units"])
    (['units', 'needs', 'offers', 'regions', 'ties'], 490)
    """
    pd = _pandas()
    return {
        name: pd.DataFrame(rows, columns=headers)
        for name, (headers, rows) in _graph_tables(graph, _lang(lang)).items()
    }


def graph_from_pandas(
    frames: Mapping[str, Any] | Any,
    *,
    categories: Sequence[str] | None = None,
) -> RegionGraph:
    """Build a graph from DataFrames shaped like the workbook's sheets.

    Parameters
    ----------
    frames : mapping of str to DataFrame, or one DataFrame of units
        Keys are sheet names (English or Chinese, as in :data:`SHEET_NAMES`), e.g. the result
        of ``pandas.read_excel(path, sheet_name=None)``; columns as on the sheets. Unknown
        keys are ignored.
    categories : sequence of str, optional
        Column order of the offers/needs matrices.

    Raises
    ------
    InputError
        As :func:`read`, naming the frame, the row (by its index label) and the column.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"id": ["a1", "c1"], "kind": ["机关", "社区"],
    ...                       "region": ["s1", "c1"], "needs": [None, "venue:1"]})
    >>> regions = pd.DataFrame({"id": ["s1", "c1"], "level": ["街道", "社区"],
    ...                         "parent": [None, "s1"]})
    >>> graph_from_pandas({"units": units, "regions": regions}).needs.tolist()
    [[0.0], [1.0]]
    """
    if not isinstance(frames, Mapping):
        frames = {"units": frames}
    tables: dict[str, _Table] = {}
    for key, frame in frames.items():
        sheet = _SHEET_LOOKUP.get(_norm(key))
        if sheet is None:
            continue
        if sheet in tables:
            raise InputError(f"frames {tables[sheet].source!r} and {key!r} are both {sheet}")
        if not hasattr(frame, "itertuples") or not hasattr(frame, "columns"):
            raise InputError(f"frame {key!r} is a {type(frame).__name__}; pass a DataFrame")
        index = list(frame.index)
        rows: list[Sequence[Any]] = [list(frame.columns)]
        rows += [list(r) for r in frame.itertuples(index=False, name=None)]
        tables[sheet] = _table_from_rows(
            sheet,
            f"frame {key!r}",
            "",
            rows,
            letters=False,
            row_label=lambda i, index=index: f"index {index[i]!r}",  # type: ignore[misc]
        )
    if "units" not in tables:
        raise InputError(f"frames {sorted(map(str, frames))}: no units frame; it is required")
    return _graph_from_tables(tables, categories)


def result_to_pandas(result: AnyResult, *, lang: Lang = "en") -> dict[str, Any]:
    """Every table of a result as a DataFrame, keyed by sheet name (see :func:`result_tables`).

    Examples
    --------
    >>> import pbmatch
    >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    >>> frames = result_to_pandas(result)
    >>> list(frames)
    ['summary', 'pairs', 'units', 'coverage', 'unmet_needs']
    """
    pd = _pandas()
    return {
        name: pd.DataFrame(rows, columns=headers)
        for name, (headers, rows) in result_tables(result, lang=lang).items()
    }


def models_to_pandas(items: Iterable[BaseModel]) -> Any:
    """One row per model (``Unit``, ``Region``, ``Tie`` ...), one column per field.

    Examples
    --------
    >>> from pbmatch.model import Tie
    >>> models_to_pandas([Tie(a="a1", b="c1", since=2021)]).to_dict("records")
    [{'a': 'a1', 'b': 'c1', 'since': 2021}]
    """
    pd = _pandas()
    return pd.DataFrame([item.model_dump() for item in items])


def models_from_pandas(frame: Any, model: type[M]) -> list[M]:
    """Validate each row of ``frame`` as ``model``; missing values (NaN, None) are left out.

    Raises
    ------
    InputError
        Naming the row's index label, the field and the value.

    Examples
    --------
    >>> import pandas as pd
    >>> from pbmatch.model import Region
    >>> frame = pd.DataFrame({"id": ["s1"], "level": ["街道"]})
    >>> models_from_pandas(frame, Region)
    [Region(id='s1', name='s1', level='street', parent=None)]
    """
    out: list[M] = []
    for label, row in zip(frame.index, frame.to_dict("records"), strict=True):
        data = {str(k): _plain(v) for k, v in row.items() if not _is_empty_value(v)}
        try:
            out.append(model(**data))
            continue
        except InputError as exc:
            failure = exc
        try:  # say which field is wrong
            _twin(model).model_validate(data)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            where = f"{model.__name__} at index {label!r}"
            if not error.get("loc"):
                raise InputError(f"{where}: {message}") from None
            loc = ".".join(str(p) for p in error["loc"])
            raise InputError(
                f"{where}: field {loc!r} has value {error.get('input')!r}: {message}"
            ) from None
        raise failure
    return out


def _is_empty_value(value: Any) -> bool:
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        return False
    return _is_empty(value)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def graph_from_networkx(graph: Any, *, categories: Sequence[str] | None = None) -> RegionGraph:
    """Rebuild a :class:`RegionGraph` from the view ``RegionGraph.to_networkx()`` returns.

    Nodes ``("region", id)`` and ``("unit", id)`` carry the models' fields; ``offers`` edges
    (unit → category) and ``needs`` edges (category → unit) carry ``quantity``; ``tie`` edges
    (unit → unit) carry ``since``.

    Examples
    --------
    >>> import pbmatch
    >>> g = pbmatch.synthetic_district(seed=1)
    >>> back = graph_from_networkx(g.to_networkx(), categories=g.categories)
    >>> bool((back.ids == g.ids).all() and (back.offers == g.offers).all())
    True
    """
    region_fields = set(Region.model_fields)
    unit_fields = set(Unit.model_fields) - {"offers", "needs"}
    regions: list[dict[str, Any]] = []
    units: dict[str, dict[str, Any]] = {}
    for node, attrs in graph.nodes(data=True):
        if not (isinstance(node, tuple) and len(node) == 2):
            raise InputError(f"node {node!r}: expected ('region'|'unit'|'category', id)")
        if node[0] == "region":
            regions.append({k: v for k, v in attrs.items() if k in region_fields})
        elif node[0] == "unit":
            data = {k: v for k, v in attrs.items() if k in unit_fields}
            units[str(node[1])] = {**data, "id": str(node[1]), "offers": {}, "needs": {}}
    ties: list[dict[str, Any]] = []
    for u, v, attrs in graph.edges(data=True):
        relation = attrs.get("relation")
        if relation == "offers":
            units[str(u[1])]["offers"][str(v[1])] = attrs.get("quantity", 0.0)
        elif relation == "needs":
            units[str(v[1])]["needs"][str(u[1])] = attrs.get("quantity", 0.0)
        elif relation == "tie":
            ties.append({"a": str(u[1]), "b": str(v[1]), "since": attrs.get("since")})
    return RegionGraph(list(units.values()), regions, ties, categories=categories)


def match_to_networkx(result: MatchResult) -> Any:
    """A :class:`~pbmatch.results.MatchResult` as a bipartite networkx ``Graph``.

    Nodes ``("row", i)`` (``bipartite=0``) and ``("col", j)`` (``bipartite=1``); one edge per
    chosen pair with its ``score``.

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> G = match_to_networkx(pbmatch.match(np.array([[1.0, 2.0], [3.0, 1.0]])))
    >>> sorted(G.edges(data="score"))
    [(('row', 0), ('col', 1), 2.0), (('row', 1), ('col', 0), 3.0)]
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from((("row", int(i)) for i in np.unique(result.rows)), bipartite=0)
    graph.add_nodes_from((("col", int(j)) for j in np.unique(result.cols)), bipartite=1)
    graph.add_edges_from(
        (("row", r), ("col", c), {"score": s})
        for r, c, s in zip(
            result.rows.tolist(), result.cols.tolist(), result.scores.tolist(), strict=True
        )
    )
    return graph


# ---------------------------------------------------------------------------------------------
# Tables to write
# ---------------------------------------------------------------------------------------------
HEADERS_ZH: dict[str, str] = {
    # results
    "item": "项目",
    "value": "值",
    "provider": "共建单位编号",
    "provider_name": "共建单位名称",
    "receiver": "结对对象编号",
    "receiver_name": "结对对象名称",
    "score": "综合得分",
    "need_met": "需求满足",
    "offer_used": "双向互补",
    "distance": "就近得分",
    "kind": "类型匹配",
    "same_street": "同街道",
    "same_district": "同区县",
    "continuity": "已有共建",
    "distance_km": "距离(公里)",
    "side": "角色",
    "street": "所属街道",
    "street_name": "街道名称",
    "partners": "结对数",
    "partner_ids": "结对单位",
    "receivers": "社区/村数",
    "receivers_covered": "已覆盖数",
    "need": "需求总量",
    "need_coverable": "可满足量",
    "need_coverable_share": "可满足比例",
    "category": "类别",
    "category_name": "类别名称",
    "coverable": "可满足量",
    "unmet": "缺口",
    "row": "行",
    "col": "列",
    "u": "节点u",
    "v": "节点v",
    "weight": "权重",
    # input sheets (the units' kind column is "单位类型" there)
    **{c.field: c.zh for c in _COLUMNS["units"] if c.field != "kind"},
    "unit": "单位编号",
    "quantity": "数量",
    "level": "层级",
    "parent": "上级区域",
    "a": "单位A",
    "b": "单位B",
    "since": "起始年份",
    # the co-building problems
    "region_name": "区域名称",
    "met": "已满足",
    "member": "党员编号",
    "member_name": "党员姓名",
    "post": "岗位编号",
    "post_name": "岗位名称",
    "community": "所属社区",
    "headcount": "人数",
    "filled": "已安排",
    "host": "接收组织编号",
    "host_name": "接收组织名称",
    "same_industry": "同行业",
    "contact": "联系人序号",
    "capacity": "可接收人数",
    "contacts_needed": "所需联系人",
    "branch": "可建临时党支部",
    "cycle": "交换环",
    "length": "环长",
    "step": "步骤",
    "giver": "给出单位编号",
    "giver_name": "给出单位名称",
    "group": "联合党支部",
    "unit_name": "单位名称",
    "industry": "行业",
    "reason": "未覆盖原因",
    "project": "项目编号",
    "project_name": "项目名称",
    "owner": "牵头单位编号",
    "owner_name": "牵头单位名称",
    "priority": "优先级",
    "divisible": "可拆分",
    "staffed": "已完成",
    "share": "满足比例",
    "units": "参与单位",
}
"""Chinese header of every column pbmatch writes (``lang="zh"``)."""

_SHEET_HEADERS_ZH: dict[str, dict[str, str]] = {
    "flows": {
        "provider": "提供单位编号",
        "provider_name": "提供单位名称",
        "receiver": "需求单位编号",
        "receiver_name": "需求单位名称",
    },
    "unmet_needs": {"region": "区域编号", "need": "需求量"},
    "cycles": {"receiver": "接受单位编号", "receiver_name": "接受单位名称"},
    "hosts": {"members": "接收党员数"},
    "branches": {"street": "所属街道", "members": "党员数"},
}
"""Chinese headers that differ by sheet (a ``receiver`` of a flow is not a pairing's)."""

_SHEETS_ZH = {
    "summary": "汇总",
    "pairs": "结对名单",
    "units": "单位",
    "coverage": "覆盖情况",
    "unmet_needs": "未满足需求",
    "diagnosis": "诊断",
    "needs": "需求清单",
    "offers": "资源清单",
    "regions": "区域",
    "ties": "共建关系",
    "flows": "资源流向",
    "warnings": "提示",
    "seats": "岗位安排",
    "unfilled": "空缺岗位",
    "placements": "接收安排",
    "hosts": "接收组织",
    "unhosted": "未接收党员",
    "cycles": "交换环",
    "branches": "联合党支部",
    "contributions": "项目参与",
    "projects": "项目清单",
}

_SUMMARY_ZH = {
    "status": "求解状态",
    "objective": "目标值(总得分)",
    "pairs": "结对数",
    "method": "求解方法",
    "wall_time_s": "用时(秒)",
    "resolution": "整数化精度",
    "bound": "上界",
    "receivers": "社区/村数",
    "receivers_covered": "已覆盖社区/村",
    "uncovered": "未覆盖社区/村",
    "providers": "共建单位数",
    "providers_paired": "已结对共建单位",
    "need_coverable": "需求可满足比例",
    "max_km": "最远距离(公里)",
    "message": "求解信息",
    # the co-building problems
    "flows": "资源流向数",
    "need_met": "已满足需求量",
    "need_total": "需求总量",
    "need_met_share": "需求满足比例",
    "weighted_need_met": "加权满足量(目标值)",
    "quantity_km": "数量×距离(公里)",
    "within": "限定区域层级",
    "seats_filled": "已安排人次",
    "seats_offered": "岗位名额",
    "seats_share": "名额满足比例",
    "members": "党员数",
    "posts": "岗位数",
    "load_cost": "一人多岗代价",
    "fit_cost": "多余技能数",
    "posts_with_empty_seats": "有空缺的岗位数",
    "hosted": "已接收党员数",
    "floating_members": "流动党员数",
    "hosted_share": "接收比例",
    "hosts_used": "接收组织数",
    "total_km": "总距离(公里)",
    "mean_km": "平均距离(公里)",
    "same_industry": "同行业人数",
    "branches": "可建临时党支部数",
    "contacts_needed": "所需联系人数",
    "unhosted": "未接收党员",
    "cost_km": "目标值(公里)",
    "cycles": "交换环数",
    "units_in_cycles": "参与交换单位数(目标值)",
    "candidates": "可参与单位数",
    "quantity": "交换总量",
    "cycles_enumerated": "枚举的环数",
    "max_length": "最长环长",
    "units_covered": "已覆盖小单位数(目标值)",
    "small_units": "小单位数",
    "uncovered_units": "未覆盖单位数",
    "same_industry_pairs": "同行业单位对数",
    "max_units": "每个支部最多单位数",
    "min_members": "最少党员数",
    "max_members": "最多党员数",
    "priority_value": "优先级加权完成值(目标值)",
    "gap": "相对差距",
    "projects": "项目数",
    "indivisible_staffed": "整体项目完成数",
    "divisible_full": "可拆分项目完全满足数",
    "contributions": "参与记录数",
}

_STATUS_ZH = {
    "optimal": "最优",
    "feasible": "可行(未证明最优)",
    "infeasible": "无可行方案",
    "not_solved": "未求解",
    "error": "出错",
}


def _lang(lang: Any) -> Lang:
    if lang not in ("en", "zh"):
        raise InputError(f"lang is {lang!r}; allowed: 'en', 'zh'")
    return "zh" if lang == "zh" else "en"


def _translate(tables: dict[str, Table], lang: Lang) -> dict[str, Table]:
    if lang == "en":
        return tables
    out: dict[str, Table] = {}
    for name, (headers, rows) in tables.items():
        own = _SHEET_HEADERS_ZH.get(name, {})
        out[_SHEETS_ZH.get(name, name)] = (
            [own.get(h, HEADERS_ZH.get(h, h)) for h in headers],
            rows,
        )
    return out


def _graph_tables(graph: RegionGraph, lang: Lang) -> dict[str, Table]:
    zh = lang == "zh"
    unit_cols = [c.field for c in _COLUMNS["units"] if c.type != "quantities"]
    units = [
        [
            u.id,
            u.name,
            _KIND_ZH.get(u.kind, u.kind) if zh else u.kind,
            u.region,
            u.lat,
            u.lon,
            u.members,
            u.max_partners,
            u.min_partners,
            ("、" if zh else ", ").join(u.tags) or None,
        ]
        for u in graph.units
    ]
    lists = {
        sheet: [[u.id, c, q] for u in graph.units for c, q in getattr(u, sheet).items()]
        for sheet in ("needs", "offers")
    }
    regions = [
        [r.id, r.name, _LEVEL_ZH.get(r.level, r.level) if zh else r.level, r.parent]
        for r in graph.regions
    ]
    ties = [[t.a, t.b, t.since] for t in graph.ties]
    if not zh:
        headers = {s: [c.field for c in _COLUMNS[s]] for s in _COLUMNS}
    else:
        headers = {s: [c.zh for c in _COLUMNS[s]] for s in _COLUMNS}
    tables: dict[str, Table] = {
        "units": (headers["units"][: len(unit_cols)], units),
        "needs": (headers["needs"], lists["needs"]),
        "offers": (headers["offers"], lists["offers"]),
        "regions": (headers["regions"], regions),
        "ties": (headers["ties"], ties),
    }
    if zh:
        tables = {_SHEETS_ZH[k]: v for k, v in tables.items()}
    return tables


def _category_label(category: str, zh: bool) -> str:
    if not zh:
        return category
    from pbmatch.datasets import CATEGORY_NAMES_ZH

    return CATEGORY_NAMES_ZH.get(category, category)


def result_tables(result: AnyResult, *, lang: Lang = "en") -> dict[str, Table]:
    """The tables a result is written as, keyed by sheet name: ``(headers, rows)`` each.

    For a :class:`~pbmatch.results.PairingResult`:

    - ``summary``: ``item``, ``value`` (status, objective, pairs, coverage …);
    - ``pairs``: ``provider``, ``provider_name``, ``receiver``, ``receiver_name``, ``score``,
      one column per score component, ``distance_km`` (as ``to_pandas()``, with names);
    - ``units``: every unit offered to the solver with its ``side``, ``street``, number of
      ``partners`` and their ids;
    - ``coverage``: per street (or township): receivers, receivers covered, total need and
      the share the partners' pooled offers can meet;
    - ``unmet_needs``: per receiver and category, the need its partners cannot meet (> 0);
    - ``diagnosis``: why it is infeasible, when the result says.

    A :class:`~pbmatch.results.MatchResult` gives ``summary`` and ``pairs`` (``row``, ``col``,
    ``score``); a ``GeneralMatchResult`` ``summary`` and ``pairs`` (``u``, ``v``, ``weight``).

    The co-building problems give ``summary`` (:func:`result_summary`) and, each with the
    columns of its ``to_pandas()`` plus the names of units, posts, hosts and projects:

    - :func:`~pbmatch.allocate`: ``flows``, ``unmet_needs`` (by region and category);
    - :func:`~pbmatch.assign_posts`: ``seats``, ``unfilled`` (posts with empty seats);
    - :func:`~pbmatch.host_floating_members`: ``placements``, ``hosts`` (members, contacts
      needed, enough for a temporary branch), ``unhosted``;
    - :func:`~pbmatch.exchange_cycles`: ``cycles`` (one row per arc and category);
    - :func:`~pbmatch.form_joint_branches`: ``branches`` (one row per small unit, with the
      reason when it is not covered);
    - :func:`~pbmatch.staff_projects`: ``contributions``, ``projects`` (staffed, share met);

    and ``warnings`` when the result has some. The first table after ``summary`` is the one
    written to CSV. With ``lang="zh"`` sheet names, headers, kinds, statuses and known
    category names are Chinese.

    Examples
    --------
    >>> import pbmatch
    >>> tables = result_tables(pbmatch.pair(pbmatch.synthetic_district(seed=0)))
    >>> list(tables)
    ['summary', 'pairs', 'units', 'coverage', 'unmet_needs']
    >>> tables["pairs"][0][:5]
    ['provider', 'provider_name', 'receiver', 'receiver_name', 'score']
    """
    zh = _lang(lang) == "zh"
    if isinstance(result, PairingResult):
        tables = _pairing_tables(result, zh)
    elif isinstance(result, _PROBLEM_RESULTS):
        tables = _problem_tables(result, zh)
    elif isinstance(result, MatchResult):
        tables = {
            "summary": _summary_table(_match_summary(result), zh),
            "pairs": (
                ["row", "col", "score"],
                [
                    list(t)
                    for t in zip(
                        result.rows.tolist(),
                        result.cols.tolist(),
                        result.scores.tolist(),
                        strict=True,
                    )
                ],
            ),
        }
    elif isinstance(result, GeneralMatchResult):
        tables = {
            "summary": _summary_table(_match_summary(result), zh),
            "pairs": (
                ["u", "v", "weight"],
                [
                    [u, v, w]
                    for (u, v), w in zip(result.pairs, result.weights.tolist(), strict=True)
                ],
            ),
        }
    else:
        raise InputError(
            f"cannot write a {type(result).__name__}; pass a RegionGraph or a pbmatch result"
        )
    diagnosis = getattr(result, "diagnosis", None)
    if diagnosis is not None:
        tables["diagnosis"] = (["item"], [[line] for line in str(diagnosis).splitlines()])
    return _translate(tables, "zh" if zh else "en")


def _match_summary(result: MatchResult | GeneralMatchResult) -> list[tuple[str, Any]]:
    return [
        ("status", result.status),
        ("objective", _finite(result.objective)),
        ("pairs", len(result)),
        ("method", result.method),
        ("wall_time_s", round(result.wall_time, 4)),
        ("resolution", result.resolution),
        ("bound", result.bound),
        ("message", result.message),
    ]


def _summary_table(
    items: list[tuple[str, Any]], zh: bool, words: Mapping[str, str] | None = None
) -> Table:
    rows = []
    for key, value in items:
        if zh and key == "status":
            value = _STATUS_ZH.get(str(value), value)
        label = (words or {}).get(key) or _SUMMARY_ZH.get(key, key)
        rows.append([label if zh else key, value])
    return ["item", "value"], rows


def pairing_summary(result: PairingResult) -> list[tuple[str, Any]]:
    """The summary items of a pairing result: ``(key, value)`` pairs (used by reports)."""
    c = result.coverage()
    return [
        ("status", result.status),
        ("objective", _finite(result.objective)),
        ("pairs", len(result)),
        ("receivers", c["receivers"]),
        ("receivers_covered", c["receivers_covered"]),
        ("uncovered", ", ".join(c["uncovered"])),
        ("providers", c["providers"]),
        ("providers_paired", c["providers_paired"]),
        ("need_coverable", round(c["need_coverable"], 4)),
        ("max_km", result.max_km),
        ("method", result.method),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class PairingTables:
    """Per-street coverage and per-receiver unmet needs of a pairing, as arrays."""

    street_ids: list[str]
    street_names: list[str]
    receivers: np.ndarray
    covered: np.ndarray
    need: np.ndarray
    coverable: np.ndarray
    unmet: np.ndarray  # (receivers, categories)
    needs: np.ndarray  # (receivers, categories)
    pooled: np.ndarray  # (receivers, categories): partners' offers, capped by needs


def pairing_arrays(result: PairingResult, tier: str = "street") -> PairingTables:
    """Coverage by region at ``tier`` and unmet need per receiver and category.

    Used by :func:`result_tables`, :mod:`pbmatch.plot` and :mod:`pbmatch.report`.
    """
    g = result.graph
    _, per_receiver = result.partner_counts()
    pooled = np.zeros((result.receivers.size, len(g.categories)))
    np.add.at(pooled, result.match.cols, g.offers[result.providers[result.match.rows]])
    needs = g.needs[result.receivers]
    met = np.minimum(pooled, needs)
    codes = g.region_codes(tier)[result.receivers]
    keys, inverse = np.unique(codes, return_inverse=True)
    by_id = {r.id: r for r in g.regions}
    ids = [g.region_ids[k] if k >= 0 else "" for k in keys.tolist()]
    names = [by_id[i].name if i else "(none)" for i in ids]
    count = len(keys)
    return PairingTables(
        street_ids=ids,
        street_names=names,
        receivers=np.bincount(inverse, minlength=count),
        covered=np.bincount(inverse, weights=per_receiver > 0, minlength=count).astype(np.int64),
        need=np.bincount(inverse, weights=needs.sum(axis=1), minlength=count),
        coverable=np.bincount(inverse, weights=met.sum(axis=1), minlength=count),
        unmet=needs - met,
        needs=needs,
        pooled=met,
    )


def _pairing_tables(result: PairingResult, zh: bool) -> dict[str, Table]:
    g = result.graph
    names = {u.id: u.name for u in g.units}
    kind = (lambda k: _KIND_ZH.get(k, k)) if zh else (lambda k: k)
    records = result.to_records()
    comp = ["score", *COMPONENTS, "distance_km"]
    pairs = [
        [
            r["provider"],
            names[r["provider"]],
            r["receiver"],
            names[r["receiver"]],
            *(r[c] for c in comp),
        ]
        for r in records
    ]
    per_provider, per_receiver = result.partner_counts()
    partners: dict[str, list[str]] = {}
    for p, r in result.pairs:
        partners.setdefault(p, []).append(r)
        partners.setdefault(r, []).append(p)
    street = g.region_codes("street")
    side_words = ("共建单位", "结对对象") if zh else ("provider", "receiver")
    units: list[list[Any]] = []
    for side, idx, counts, maxima in (
        (side_words[0], result.providers, per_provider, result.provider_max),
        (side_words[1], result.receivers, per_receiver, result.receiver_max),
    ):
        for i, n, cap in zip(idx.tolist(), counts.tolist(), maxima.tolist(), strict=True):
            u = g.units[i]
            s = int(street[i])
            units.append(
                [
                    u.id,
                    u.name,
                    kind(u.kind),
                    side,
                    u.region,
                    g.region_ids[s] if s >= 0 else None,
                    n,
                    u.min_partners,
                    cap,
                    ("、" if zh else ", ").join(partners.get(u.id, [])) or None,
                ]
            )
    arrays = pairing_arrays(result)
    coverage = [
        [sid or None, sname, int(nr), int(nc), float(need), float(cov), _share(cov, need)]
        for sid, sname, nr, nc, need, cov in zip(
            arrays.street_ids,
            arrays.street_names,
            arrays.receivers.tolist(),
            arrays.covered.tolist(),
            arrays.need.tolist(),
            arrays.coverable.tolist(),
            strict=True,
        )
    ]
    unmet_rows: list[list[Any]] = []
    rr, cc = np.nonzero(arrays.unmet > 1e-12)
    for r, c in zip(rr.tolist(), cc.tolist(), strict=True):
        uid = str(g.ids[result.receivers[r]])
        category = g.categories[c]
        unmet_rows.append(
            [
                uid,
                names[uid],
                category,
                _category_label(category, True),
                float(arrays.needs[r, c]),
                float(arrays.pooled[r, c]),
                float(arrays.unmet[r, c]),
            ]
        )
    summary = pairing_summary(result)
    return {
        "summary": _summary_table(summary, zh),
        "pairs": (["provider", "provider_name", "receiver", "receiver_name", *comp], pairs),
        "units": (
            [
                "id",
                "name",
                "kind",
                "side",
                "region",
                "street",
                "partners",
                "min_partners",
                "max_partners",
                "partner_ids",
            ],
            units,
        ),
        "coverage": (
            [
                "street",
                "street_name",
                "receivers",
                "receivers_covered",
                "need",
                "need_coverable",
                "need_coverable_share",
            ],
            coverage,
        ),
        "unmet_needs": (
            [
                "receiver",
                "receiver_name",
                "category",
                "category_name",
                "need",
                "coverable",
                "unmet",
            ],
            unmet_rows,
        ),
    }


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 1.0


# ---------------------------------------------------------------------------------------------
# Tables of the co-building problems: allocate, posts, floating, exchange, branches, projects
# ---------------------------------------------------------------------------------------------
ProblemResult = (
    AllocationResult
    | PostAssignmentResult
    | FloatingResult
    | ExchangeResult
    | JointBranchesResult
    | ProjectsResult
)
_PROBLEM_RESULTS = (
    AllocationResult,
    PostAssignmentResult,
    FloatingResult,
    ExchangeResult,
    JointBranchesResult,
    ProjectsResult,
)


def result_summary(result: AnyResult) -> list[tuple[str, Any]]:
    """The summary items of any result: ``(key, value)`` pairs, the ``summary`` sheet.

    Keys are English identifiers (``status``, ``need_met``, ``seats_filled`` …); the Chinese
    words for them are in the written summary sheet with ``lang="zh"``.

    Examples
    --------
    >>> import pbmatch
    >>> items = dict(result_summary(pbmatch.allocate(pbmatch.synthetic_district(seed=0))))
    >>> items["status"], items["need_met"] <= items["need_total"]
    ('optimal', True)
    """
    if isinstance(result, PairingResult):
        return pairing_summary(result)
    if isinstance(result, (MatchResult, GeneralMatchResult)):
        return _match_summary(result)
    if isinstance(result, AllocationResult):
        return _allocation_summary(result)
    if isinstance(result, PostAssignmentResult):
        return _posts_summary(result)
    if isinstance(result, FloatingResult):
        return _floating_summary(result)
    if isinstance(result, ExchangeResult):
        return _exchange_summary(result)
    if isinstance(result, JointBranchesResult):
        return _branches_summary(result)
    if isinstance(result, ProjectsResult):
        return _projects_summary(result)
    raise InputError(f"cannot summarise a {type(result).__name__}; pass a pbmatch result")


def _names(graph: RegionGraph) -> dict[str, str]:
    return {u.id: u.name for u in graph.units}


def _warnings_table(notes: Sequence[str]) -> Table:
    return ["item"], [[note] for note in notes]


def _allocation_summary(result: AllocationResult) -> list[tuple[str, Any]]:
    g = result.graph
    cols = [g.categories.index(c) for c in result.categories]
    total = float(g.needs[:, cols].sum())
    return [
        ("status", result.status),
        ("flows", len(result)),
        ("need_met", result.need_met),
        ("need_total", _num(total)),
        ("need_met_share", round(_share(result.need_met, total), 4)),
        ("weighted_need_met", _finite(result.objective)),
        ("quantity_km", round(result.quantity_km, 4)),
        ("within", result.within),
        ("max_km", result.max_km),
        ("resolution", result.resolution),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _allocation_tables(result: AllocationResult, zh: bool) -> dict[str, Table]:
    names = _names(result.graph)
    regions = {r.id: r.name for r in result.graph.regions}
    flows = [
        [
            r["provider"],
            names[r["provider"]],
            r["receiver"],
            names[r["receiver"]],
            r["category"],
            _category_label(r["category"], True),
            r["quantity"],
            r["distance_km"],
        ]
        for r in result.to_records()
    ]
    unmet = [
        [
            row["region"],
            regions.get(row["region"] or "", "(none)"),
            row["category"],
            _category_label(row["category"], True),
            _num(row["need"]),
            _num(row["met"]),
            _num(row["unmet"]),
        ]
        for row in result.unmet()
    ]
    tables: dict[str, Table] = {
        "summary": _summary_table(_allocation_summary(result), zh),
        "flows": (
            [
                "provider",
                "provider_name",
                "receiver",
                "receiver_name",
                "category",
                "category_name",
                "quantity",
                "distance_km",
            ],
            flows,
        ),
        "unmet_needs": (
            ["region", "region_name", "category", "category_name", "need", "met", "unmet"],
            unmet,
        ),
    }
    if result.warnings:
        tables["warnings"] = _warnings_table(result.warnings)
    return tables


def _posts_summary(result: PostAssignmentResult) -> list[tuple[str, Any]]:
    return [
        ("status", result.status),
        ("seats_filled", result.seats),
        ("seats_offered", result.seats_offered),
        ("seats_share", round(_share(result.seats, result.seats_offered), 4)),
        ("members", len(result.members)),
        ("posts", len(result.posts)),
        ("load_cost", result.load_cost),
        ("fit_cost", result.fit_cost),
        ("posts_with_empty_seats", len(result.unfilled())),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _posts_tables(result: PostAssignmentResult, zh: bool) -> dict[str, Table]:
    seats = [
        [m.id, m.name or None, p.id, p.name or None, p.community]
        for m, p in zip(
            (result.members[i] for i in result.members_index.tolist()),
            (result.posts[j] for j in result.posts_index.tolist()),
            strict=True,
        )
    ]
    post_names = {p.id: p.name for p in result.posts}
    unfilled = [
        [u["post"], post_names[u["post"]] or None, u["community"], u["headcount"], u["filled"]]
        for u in result.unfilled()
    ]
    tables: dict[str, Table] = {
        "summary": _summary_table(_posts_summary(result), zh),
        "seats": (["member", "member_name", "post", "post_name", "community"], seats),
        "unfilled": (["post", "post_name", "community", "headcount", "filled"], unfilled),
    }
    if result.warnings:
        tables["warnings"] = _warnings_table(result.warnings)
    return tables


def _floating_summary(result: FloatingResult) -> list[tuple[str, Any]]:
    hosts = result.host_summary()
    n = len(result.members)
    return [
        ("status", result.status),
        ("hosted", len(result)),
        ("floating_members", n),
        ("hosted_share", round(_share(len(result), n), 4)),
        ("hosts_used", len(hosts)),
        ("total_km", round(float(result.distance_km.sum()), 4)),
        ("mean_km", round(float(result.distance_km.mean()), 4) if len(result) else None),
        ("same_industry", int(result.same_industry.sum())),
        ("branches", len(result.branches)),
        ("contacts_needed", sum(h["contacts_needed"] for h in hosts)),
        ("unhosted", ", ".join(result.unhosted)),
        ("cost_km", _finite(round(result.cost_km, 4))),
        ("max_km", result.max_km),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _floating_tables(result: FloatingResult, zh: bool) -> dict[str, Table]:
    host_names = {h.id: h.name or None for h in result.hosts}
    placements = [
        [
            r["member"],
            r["host"],
            host_names[r["host"]],
            r["distance_km"],
            r["same_industry"],
            r["contact"],
        ]
        for r in result.to_records()
    ]
    hosts = [
        [
            h["host"],
            host_names[h["host"]],
            h["members"],
            h["capacity"],
            h["contacts_needed"],
            h["branch"],
        ]
        for h in result.host_summary()
    ]
    tables: dict[str, Table] = {
        "summary": _summary_table(_floating_summary(result), zh),
        "placements": (
            ["member", "host", "host_name", "distance_km", "same_industry", "contact"],
            placements,
        ),
        "hosts": (
            ["host", "host_name", "members", "capacity", "contacts_needed", "branch"],
            hosts,
        ),
        "unhosted": (["member"], [[m] for m in result.unhosted]),
    }
    if result.warnings:
        tables["warnings"] = _warnings_table(result.warnings)
    return tables


def _exchange_summary(result: ExchangeResult) -> list[tuple[str, Any]]:
    return [
        ("status", result.status),
        ("cycles", len(result)),
        ("units_in_cycles", _finite(result.objective)),
        ("candidates", int(result.candidates.size)),
        ("bound", result.bound),
        ("quantity", _finite(result.quantity)),
        ("cycles_enumerated", result.n_cycles),
        ("max_length", result.max_length),
        ("max_km", result.max_km),
        ("resolution", result.resolution),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _exchange_tables(result: ExchangeResult, zh: bool) -> dict[str, Table]:
    names = _names(result.graph)
    rows = [
        [
            r["cycle"],
            r["length"],
            r["step"],
            r["giver"],
            names[r["giver"]],
            r["receiver"],
            names[r["receiver"]],
            r["category"],
            _category_label(r["category"], True),
            _num(r["quantity"]),
        ]
        for r in result.to_records()
    ]
    headers = [
        "cycle",
        "length",
        "step",
        "giver",
        "giver_name",
        "receiver",
        "receiver_name",
        "category",
        "category_name",
        "quantity",
    ]
    return {
        "summary": _summary_table(_exchange_summary(result), zh),
        "cycles": (headers, rows),
    }


def _branches_summary(result: JointBranchesResult) -> list[tuple[str, Any]]:
    covered = _finite(result.objective)
    return [
        ("status", result.status),
        ("branches", len(result)),
        ("units_covered", covered),
        ("small_units", None if covered is None else int(covered) + len(result.uncovered)),
        ("uncovered_units", len(result.uncovered)),
        ("bound", result.bound),
        ("total_km", round(result.total_km, 4)),
        ("same_industry_pairs", result.same_industry_pairs),
        ("max_units", result.max_units),
        ("min_members", result.min_members),
        ("max_members", result.max_members),
        ("max_km", result.max_km),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _branches_tables(result: JointBranchesResult, zh: bool) -> dict[str, Table]:
    names = _names(result.graph)
    rows = [
        [
            r["group"],
            r["unit"],
            names[r["unit"]],
            r["street"],
            r["members"],
            r["industry"] or None,
            r["reason"] or None,
        ]
        for r in result.to_records()
    ]
    return {
        "summary": _summary_table(_branches_summary(result), zh, {"branches": "联合党支部数"}),
        "branches": (
            ["group", "unit", "unit_name", "street", "members", "industry", "reason"],
            rows,
        ),
    }


def _projects_summary(result: ProjectsResult) -> list[tuple[str, Any]]:
    rows = result.summary()
    whole = [r for r in rows if not r["divisible"]]
    parts = [r for r in rows if r["divisible"]]
    return [
        ("status", result.status),
        ("priority_value", _finite(result.objective)),
        ("bound", result.bound),
        ("gap", result.gap),
        ("projects", len(rows)),
        ("indivisible_staffed", f"{sum(r['staffed'] for r in whole)} / {len(whole)}"),
        ("divisible_full", f"{sum(r['share'] >= 1 - 1e-9 for r in parts)} / {len(parts)}"),
        ("contributions", len(result)),
        ("total_km", round(result.total_km, 4)),
        ("max_km", result.max_km),
        ("resolution", result.resolution),
        ("wall_time_s", round(result.wall_time, 4)),
        ("message", result.message),
    ]


def _projects_tables(result: ProjectsResult, zh: bool) -> dict[str, Table]:
    names = _names(result.graph)
    project_names = {p.id: p.name or None for p in result.projects}
    contributions = [
        [
            r["project"],
            project_names[r["project"]],
            r["unit"],
            names[r["unit"]],
            r["category"],
            _category_label(r["category"], True),
            _num(r["quantity"]),
            r["distance_km"],
        ]
        for r in result.to_records()
    ]
    projects = [
        [
            r["project"],
            project_names[r["project"]],
            r["owner"],
            names.get(r["owner"]),
            r["priority"],
            r["divisible"],
            r["staffed"],
            r["share"],
            ("、" if zh else ", ").join(r["units"]) or None,
        ]
        for r in result.summary()
    ]
    return {
        "summary": _summary_table(_projects_summary(result), zh),
        "contributions": (
            [
                "project",
                "project_name",
                "unit",
                "unit_name",
                "category",
                "category_name",
                "quantity",
                "distance_km",
            ],
            contributions,
        ),
        "projects": (
            [
                "project",
                "project_name",
                "owner",
                "owner_name",
                "priority",
                "divisible",
                "staffed",
                "share",
                "units",
            ],
            projects,
        ),
    }


def _problem_tables(result: ProblemResult, zh: bool) -> dict[str, Table]:
    if isinstance(result, AllocationResult):
        return _allocation_tables(result, zh)
    if isinstance(result, PostAssignmentResult):
        return _posts_tables(result, zh)
    if isinstance(result, FloatingResult):
        return _floating_tables(result, zh)
    if isinstance(result, ExchangeResult):
        return _exchange_tables(result, zh)
    if isinstance(result, JointBranchesResult):
        return _branches_tables(result, zh)
    return _projects_tables(result, zh)


# GeoJSON layers of the problems that have locations ------------------------------------------
def _point(lat: float | None, lon: float | None) -> dict[str, Any] | None:
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def _line(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return None
    return {"type": "LineString", "coordinates": [a["coordinates"], b["coordinates"]]}


def _feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _unit_features(
    graph: RegionGraph, ids: Iterable[str], extra: Mapping[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    out = []
    for uid in dict.fromkeys(ids):
        u = graph.unit(uid)
        props = {"feature": "unit", "id": u.id, "name": u.name, "kind": u.kind, "region": u.region}
        out.append(_feature(_point(u.lat, u.lon), **props, **(extra or {}).get(uid, {})))
    return out


def _unit_point(graph: RegionGraph, uid: str) -> dict[str, Any] | None:
    u = graph.unit(uid)
    return _point(u.lat, u.lon)


def _problem_geojson(result: ProblemResult, path: Path) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    if isinstance(result, AllocationResult):
        g = result.graph
        records = result.to_records()
        ids = [r[k] for r in records for k in ("provider", "receiver")]
        features += _unit_features(g, ids)
        features += [
            _feature(
                _line(_unit_point(g, r["provider"]), _unit_point(g, r["receiver"])),
                feature="flow",
                **r,
            )
            for r in records
        ]
    elif isinstance(result, FloatingResult):
        members = {m.id: m for m in result.members}
        hosts = {h.id: h for h in result.hosts}
        summary = {h["host"]: h for h in result.host_summary()}
        features += [
            _feature(_point(h.lat, h.lon), feature="host", id=h.id, name=h.name,
                     industry=h.industry, members=summary[h.id]["members"],
                     branch=summary[h.id]["branch"])
            for h in result.hosts
            if h.id in summary
        ]  # fmt: skip
        hosted = dict(result.pairs)
        features += [
            _feature(_point(m.lat, m.lon), feature="member", id=m.id, industry=m.industry,
                     host=hosted.get(m.id))
            for m in result.members
        ]  # fmt: skip
        for r in result.to_records():
            m, h = members[r["member"]], hosts[r["host"]]
            features.append(
                _feature(
                    _line(_point(m.lat, m.lon), _point(h.lat, h.lon)), feature="placement", **r
                )
            )
    elif isinstance(result, ExchangeResult):
        g = result.graph
        where = {u: k for k, cycle in enumerate(result.cycles) for u in cycle}
        features += _unit_features(g, where, {u: {"cycle": k} for u, k in where.items()})
        for k, (cycle, arcs) in enumerate(zip(result.cycles, result.gives, strict=True)):
            for step, gift in enumerate(arcs):
                a, b = cycle[step], cycle[(step + 1) % len(cycle)]
                features.append(
                    _feature(
                        _line(_unit_point(g, a), _unit_point(g, b)),
                        feature="gives",
                        cycle=k,
                        step=step,
                        giver=a,
                        receiver=b,
                        gives=dict(gift),
                    )
                )
    elif isinstance(result, JointBranchesResult):
        g = result.graph
        extra = {
            r["unit"]: {"group": r["group"], "street": r["street"], "members": r["members"],
                        "reason": r["reason"] or None}
            for r in result.to_records()
        }  # fmt: skip
        features += _unit_features(g, extra, extra)
    elif isinstance(result, ProjectsResult):
        g = result.graph
        owners = {p.id: p.owner for p in result.projects}
        records = result.to_records()
        features += _unit_features(g, [*owners.values(), *(r["unit"] for r in records)])
        gives: dict[tuple[str, str], dict[str, float]] = {}
        for r in records:
            gives.setdefault((r["project"], r["unit"]), {})[r["category"]] = r["quantity"]
        for (project, unit), gift in gives.items():
            features.append(
                _feature(
                    _line(_unit_point(g, unit), _unit_point(g, owners[project])),
                    feature="contribution",
                    project=project,
                    unit=unit,
                    owner=owners[project],
                    gives=gift,
                )
            )
    else:
        raise InputError(
            f"{path}: GeoJSON needs locations; a {type(result).__name__} has none: "
            "write .xlsx, .csv or .json"
        )
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------
def neutralise(text: str) -> str:
    """Make text that a spreadsheet would run as a formula inert, for CSV: prefix ``'``.

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-3+4"), neutralise("幸福社区")
    ('\\'=HYPERLINK("http://x")', "'-3+4", '幸福社区')
    """
    return "'" + text if text.startswith(_FORMULA_START) else text


def write(
    obj: RegionGraph | AnyResult,
    path: PathLike,
    *,
    lang: Lang = "en",
    format: str | None = None,
) -> Path:
    """Write a graph or a result to a file whose suffix picks the format.

    Parameters
    ----------
    obj : RegionGraph or result
        A graph is written as the input sheets (so :func:`read` reads it back); a result as
        its tables (:func:`result_tables`).
    path : str or path-like
        ``.xlsx`` (one sheet per table), ``.csv`` (a result's main table — its pairs, flows,
        seats … —; a graph's units with ``needs`` / ``offers`` columns), a folder (a graph:
        one CSV per sheet), ``.json``, ``.geojson`` (units as points, pairs, flows, placements
        or gifts as lines; not for results without locations: ``match``, ``assign_posts``) or
        ``.html`` (a result's report, see :func:`pbmatch.report.to_html`).
    lang : {"en", "zh"}
        Headers, sheet names, kinds and levels in English (the field names) or Chinese.
        JSON and GeoJSON keys stay English.
    format : str, optional
        Override the format the suffix implies (``"xlsx"``, ``"csv"``, ``"json"``,
        ``"geojson"``, ``"html"``, ``"dir"``).

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import pathlib, tempfile, pbmatch
    >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    >>> out = write(result, pathlib.Path(tempfile.mkdtemp()) / "pairs.csv", lang="zh")
    >>> out.read_text(encoding="utf-8-sig").splitlines()[0].split(",")[:5]
    ['共建单位编号', '共建单位名称', '结对对象编号', '结对对象名称', '综合得分']
    """
    lang = _lang(lang)
    p = Path(path)
    fmt = (format or (p.suffix.lower().lstrip(".") if p.suffix else "dir")).lower()
    if isinstance(obj, RegionGraph):
        return _write_graph(obj, p, fmt, lang)
    if not isinstance(obj, (PairingResult, MatchResult, GeneralMatchResult, *_PROBLEM_RESULTS)):
        raise InputError(
            f"cannot write a {type(obj).__name__}; pass a RegionGraph or a pbmatch result"
        )
    if fmt == "xlsx":
        _write_xlsx(result_tables(obj, lang=lang), p)
    elif fmt == "csv":
        tables = result_tables(obj, lang=lang)
        _write_csv(tables[list(tables)[1]], p)  # the first table after the summary
    elif fmt == "json":
        _write_json(_result_json(obj), p)
    elif fmt == "geojson":
        if isinstance(obj, PairingResult):
            _write_json(_pairing_geojson(obj), p)
        elif isinstance(obj, _PROBLEM_RESULTS):
            _write_json(_problem_geojson(obj, p), p)
        else:
            raise InputError(
                f"{p}: GeoJSON needs unit locations; a {type(obj).__name__} has none: "
                "write .xlsx, .csv or .json"
            )
    elif fmt == "html":
        from pbmatch.report import to_html

        p.write_text(to_html(obj, lang=lang), encoding="utf-8")
    else:
        raise InputError(
            f"{p}: unknown suffix {p.suffix!r}; allowed: .xlsx, .csv, .json, .geojson, .html"
        )
    return p


def write_records(
    tables: Mapping[str, Iterable[Any]],
    path: PathLike,
    *,
    lang: Lang = "en",
    graph: RegionGraph | None = None,
) -> Path:
    """Write record tables (members, posts, floating members, hosts, projects) to a file.

    What :func:`read_records` reads back: a template for the inputs of
    :func:`pbmatch.assign_posts`, :func:`pbmatch.host_floating_members` and
    :func:`pbmatch.staff_projects`.

    Parameters
    ----------
    tables : mapping of str to records
        Keys from :data:`RECORD_SHEETS` (``"members"``, ``"posts"``, ``"floating"``,
        ``"hosts"``, ``"projects"``); values are model objects or dicts of their fields.
    path : str or path-like
        ``.xlsx`` (one sheet per table), ``.csv`` (one table only), a folder (one CSV per
        table) or ``.json`` (an object with a list per table).
    lang : {"en", "zh"}
        Sheet names and headers in English (the field names) or Chinese.
    graph : RegionGraph, optional
        Write the district's sheets too (units, needs, offers, regions, ties), so that one
        workbook, folder or JSON file holds a district and its projects list.

    Returns
    -------
    Path

    Examples
    --------
    >>> import pathlib, tempfile, pbmatch
    >>> from pbmatch.datasets import synthetic_members, synthetic_posts
    >>> g = pbmatch.synthetic_district(seed=0)
    >>> tables = {"members": synthetic_members(g, seed=0, n=300),
    ...           "posts": synthetic_posts(g, seed=0, n=60)}
    >>> path = write_records(tables, pathlib.Path(tempfile.mkdtemp()) / "双报到.xlsx", lang="zh")
    >>> len(read_records(path, "members")) == len(tables["members"])
    True
    """
    zh = _lang(lang) == "zh"
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".") if p.suffix else "dir"
    unknown = [k for k in tables if k not in RECORD_SHEETS]
    if unknown:
        raise InputError(
            f"tables has the key {unknown[0]!r}; allowed: {', '.join(map(repr, RECORD_SHEETS))}"
        )
    validated = {
        what: validate_items(list(items), _record_models()[what], what)
        for what, items in tables.items()
    }
    if fmt == "json":
        payload: dict[str, Any] = _graph_json(graph) if graph is not None else {}
        for what, items in validated.items():
            payload[what] = [item.model_dump(exclude_defaults=True) for item in items]
        _write_json(payload, p)
        return p
    sheets: dict[str, Table] = {
        (RECORD_SHEETS[what][1] if zh else what): _records_table(what, items, zh)
        for what, items in validated.items()
    }
    if graph is not None:
        sheets = {**_graph_tables(graph, "zh" if zh else "en"), **sheets}
    if fmt == "xlsx":
        _write_xlsx(sheets, p)
    elif fmt == "dir":
        p.mkdir(parents=True, exist_ok=True)
        for name, table in sheets.items():
            _write_csv(table, p / f"{name}.csv")
    elif fmt == "csv" and len(sheets) == 1:
        _write_csv(next(iter(sheets.values())), p)
    elif fmt == "csv":
        raise InputError(
            f"{p}: a CSV file holds one table; write a folder, .xlsx or .json for "
            f"{', '.join(sheets)}"
        )
    else:
        raise InputError(
            f"{p}: unknown suffix {p.suffix!r} for record tables; allowed: .xlsx, .csv, a "
            "folder, .json"
        )
    return p


def _records_table(what: str, items: Sequence[BaseModel], zh: bool) -> Table:
    columns = _RECORD_COLUMNS[what]
    rows: list[list[Any]] = []
    for item in items:
        row: list[Any] = []
        for column in columns:
            value = getattr(item, column.field)
            if column.type == "tags":
                value = ("、" if zh else ", ").join(value) or None
            elif column.type == "quantities":
                value = _join_quantities(value)
            elif value == "":
                value = None
            row.append(value)
        rows.append(row)
    return [c.zh if zh else c.field for c in columns], rows


def _write_graph(graph: RegionGraph, p: Path, fmt: str, lang: Lang) -> Path:
    if fmt == "xlsx":
        _write_xlsx(_graph_tables(graph, lang), p)
    elif fmt == "dir":
        p.mkdir(parents=True, exist_ok=True)
        for name, table in _graph_tables(graph, lang).items():
            _write_csv(table, p / f"{name}.csv")
    elif fmt == "csv":
        tables = _graph_tables(graph, lang)
        headers, rows = next(iter(tables.values()))
        zh = lang == "zh"
        extra = (
            [COLUMNS["units"]["offers"], COLUMNS["units"]["needs"]] if zh else ["offers", "needs"]
        )
        joined = [
            [*row, _join_quantities(u.offers), _join_quantities(u.needs)]
            for row, u in zip(rows, graph.units, strict=True)
        ]
        _write_csv(([*headers, *extra], joined), p)
    elif fmt == "json":
        _write_json(_graph_json(graph), p)
    elif fmt == "geojson":
        _write_json(_graph_geojson(graph), p)
    else:
        raise InputError(
            f"{p}: unknown suffix {p.suffix!r} for a graph; allowed: .xlsx, .csv, a folder, "
            ".json, .geojson"
        )
    return p


def _join_quantities(values: Mapping[str, float]) -> str | None:
    return "; ".join(f"{c}:{_num(q)}" for c, q in values.items()) or None


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _graph_json(graph: RegionGraph) -> dict[str, Any]:
    return {
        "regions": [r.model_dump() for r in graph.regions],
        "units": [u.model_dump(exclude_defaults=True) | {"kind": u.kind} for u in graph.units],
        "ties": [t.model_dump() for t in graph.ties],
        "categories": list(graph.categories),
    }


def _graph_geojson(graph: RegionGraph) -> dict[str, Any]:
    features = []
    for u in graph.units:
        props = u.model_dump(exclude={"lat", "lon"}, exclude_defaults=True) | {"kind": u.kind}
        geometry = (
            None
            if u.lat is None or u.lon is None
            else {"type": "Point", "coordinates": [u.lon, u.lat]}
        )
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    return {
        "type": "FeatureCollection",
        "features": features,
        "regions": [r.model_dump() for r in graph.regions],
        "ties": [t.model_dump() for t in graph.ties],
    }


def _result_json(result: AnyResult) -> dict[str, Any]:
    tables = result_tables(result)
    out: dict[str, Any] = {
        "status": result.status,
        "objective": _finite(result.objective),
        "summary": {str(k): v for k, v in tables.pop("summary")[1]},
    }
    if isinstance(result, PairingResult):
        out["pairs"] = result.to_records()
        out["coverage"] = result.coverage()
        out["coverage"]["provider_partners"] = {
            str(k): v for k, v in out["coverage"]["provider_partners"].items()
        }
        out["coverage"]["receiver_partners"] = {
            str(k): v for k, v in out["coverage"]["receiver_partners"].items()
        }
        tables.pop("pairs")
    elif isinstance(result, ExchangeResult):
        out["cycle_units"] = [list(cycle) for cycle in result.cycles]
    elif isinstance(result, JointBranchesResult):
        out["groups"] = {
            name: list(units) for name, units in zip(result.group_ids, result.groups, strict=True)
        }
        out["uncovered"] = dict(result.uncovered)
    for name, (headers, rows) in tables.items():
        out[name] = [dict(zip(headers, row, strict=True)) for row in rows]
    return out


def _pairing_geojson(result: PairingResult) -> dict[str, Any]:
    g = result.graph
    per_provider, per_receiver = result.partner_counts()
    features: list[dict[str, Any]] = []
    for side, idx, counts in (
        ("provider", result.providers, per_provider),
        ("receiver", result.receivers, per_receiver),
    ):
        for i, n in zip(idx.tolist(), counts.tolist(), strict=True):
            u = g.units[i]
            features.append(
                {
                    "type": "Feature",
                    "geometry": None
                    if u.lat is None or u.lon is None
                    else {"type": "Point", "coordinates": [u.lon, u.lat]},
                    "properties": {
                        "feature": "unit",
                        "id": u.id,
                        "name": u.name,
                        "kind": u.kind,
                        "region": u.region,
                        "side": side,
                        "partners": n,
                    },
                }
            )
    for row in result.to_records():
        a, b = g.unit(row["provider"]), g.unit(row["receiver"])
        located = None not in (a.lat, a.lon, b.lat, b.lon)
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[a.lon, a.lat], [b.lon, b.lat]],
                }
                if located
                else None,
                "properties": {"feature": "pair", **row},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _write_json(payload: Any, path: Path) -> None:
    text = json.dumps(_jsonable(payload), ensure_ascii=False, indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_csv(table: Table, path: Path) -> None:
    headers, rows = table
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([neutralise(str(h)) for h in headers])
        for row in rows:
            writer.writerow(
                [
                    neutralise(v) if isinstance(v, str) else ("" if v is None else v)
                    for v in map(_cell, row)
                ]
            )


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _write_xlsx(tables: Mapping[str, Table], path: Path) -> None:
    openpyxl = require("openpyxl", "excel", "writing .xlsx workbooks")
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Font  # type: ignore[import-untyped, unused-ignore]

    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for name, (headers, rows) in tables.items():
        sheet = book.create_sheet(title=_sheet_title(name))
        widths = [_display_width(str(h)) for h in headers]
        for r, values in enumerate([headers, *rows], start=1):
            for c, value in enumerate(values, start=1):
                value = _cell(value)
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    if value.startswith(_FORMULA_START):
                        cell.data_type = "s"  # text, never a formula
                        cell.quotePrefix = True
                    widths[c - 1] = max(widths[c - 1], _display_width(value))
                elif isinstance(value, float):
                    cell.number_format = "0.000"
                    widths[c - 1] = max(widths[c - 1], 6)
                if r == 1:
                    cell.font = bold
        sheet.freeze_panes = "A2"
        for c, width in enumerate(widths, start=1):
            sheet.column_dimensions[_column_letter(c - 1)].width = min(max(width + 2, 6), 60)
    path_obj = Path(path)
    book.save(path_obj)


def _sheet_title(name: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
    return cleaned or "sheet"
