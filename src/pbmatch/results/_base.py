"""What every result does the same way, written once: :class:`Result` and report helpers.

A result class is a frozen dataclass that derives from :class:`Result` and says only what
differs, in class attributes and small hooks:

- ``_ITEMS``: the field whose length is ``len(result)`` (pairs, flows, seats, cycles ...);
- its table, either as columns (``_table_columns()``: one array or list per column, the cheap way
  when the result already holds arrays) or as rows (``to_records()`` and ``_COLUMNS``, when
  the rows are built one by one);
- ``_EDGE``: the table's source and target columns, the edges of :meth:`Result.to_networkx`;
- ``_repr_parts()``: what ``repr`` shows after the status;
- ``_infeasible_words()``: the message of the :class:`~pbmatch.InfeasibleError`, when it says
  more than the solver's ``message`` (a diagnosis).

The dataflow rule holds here as in every result module: nothing from ``pbmatch.io``,
``pbmatch.report`` or ``pbmatch.problems`` is imported at module level (those import the
results); they are imported where they are used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

from pbmatch._optional import require
from pbmatch._status import INFEASIBLE, WITH_SOLUTION
from pbmatch.exceptions import InfeasibleError, SolverError

if TYPE_CHECKING:
    from pbmatch._status import Status

__all__ = ["FloatArray", "IntArray", "Result"]

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

R = TypeVar("R", bound="Result")


class Result:
    """Base of every pbmatch result: status, exceptions, table, graph, files and HTML.

    Not constructed itself; :class:`~pbmatch.results.MatchResult`,
    :class:`~pbmatch.results.PairingResult` and the other results derive from it.
    """

    _ITEMS: ClassVar[str]
    """Name of the field whose length is ``len(result)``."""
    _COLUMNS: ClassVar[tuple[str, ...]] = ()
    """Columns of :meth:`to_pandas` for a table built from :meth:`to_records`."""
    _EDGE: ClassVar[tuple[str, str]]
    """Source and target columns of the table: the edges of :meth:`to_networkx`."""

    if TYPE_CHECKING:  # fields of every result dataclass
        status: Status
        message: str

    # -- status ----------------------------------------------------------------------------
    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def raise_for_status(self: R) -> R:
        """Return ``self`` if a solution is present, else raise.

        Raises
        ------
        InfeasibleError
            The problem has no solution (``status == "infeasible"``). The error carries the
            result, so ``error.diagnosis`` is the result's diagnosis (``None`` without one),
            and its message says the diagnosis' words where there is one.
        SolverError
            The solver stopped without a solution or failed.

        Examples
        --------
        >>> import numpy as np
        >>> from pbmatch.matching import match
        >>> result = match(np.ones((2, 2)), forbid=[(0, 0)], require=[(0, 0)])
        >>> try:
        ...     result.raise_for_status()
        ... except Exception as error:
        ...     print(type(error).__name__, error.diagnosis.names)
        InfeasibleError ('forbid (0, 0)', 'require (0, 0)')
        >>> match(np.ones((2, 2))).raise_for_status().pairs
        [(0, 0), (1, 1)]
        """
        if self.success:
            return self
        if self.status == INFEASIBLE:
            raise InfeasibleError(f"infeasible: {self._infeasible_words()}", self)
        raise SolverError(f"{self.status}: {self.message}")

    def _infeasible_words(self) -> str:
        """What an infeasible result's error says after ``infeasible:``."""
        return self.message

    # -- size and repr ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(getattr(self, self._ITEMS))

    def _repr_parts(self) -> list[str]:
        """``name=value`` items ``repr`` shows after the status."""
        return [f"len={len(self)}"]

    def __repr__(self) -> str:
        parts = ", ".join([f"status={self.status!r}", *self._repr_parts()])
        return f"{type(self).__name__}({parts})"

    def _end_report(self, lines: list[str], warnings: tuple[str, ...] = ()) -> str:
        """The lines of ``report()``, then the warnings and, without a solution, the solver's
        words, joined."""
        lines = [*lines, *warning_lines(warnings)]
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    # -- table -----------------------------------------------------------------------------
    def _table_columns(self) -> dict[str, Any] | None:
        """The table as ``{column: array or list}``; ``None`` when built by ``to_records``."""
        return None

    def to_records(self) -> list[dict[str, Any]]:
        """The rows of :meth:`to_pandas` as plain dicts (no pandas needed)."""
        columns = self._table_columns()
        if columns is None:  # pragma: no cover - every result defines one or the other
            raise NotImplementedError(f"{type(self).__name__} defines no table")
        values = [c.tolist() if isinstance(c, np.ndarray) else list(c) for c in columns.values()]
        names = list(columns)
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def to_pandas(self) -> Any:
        """The result's table as a DataFrame, one row per record of :meth:`to_records`.

        Requires pandas (``pip install 'pbmatch[pandas]'``), imported only when called.
        """
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")
        columns = self._table_columns()
        if columns is None:
            return pd.DataFrame(self.to_records(), columns=list(self._COLUMNS))
        return pd.DataFrame(columns)

    # -- graph, files, HTML ----------------------------------------------------------------
    def to_networkx(self) -> Any:
        """A networkx ``MultiDiGraph`` with one edge per row of :meth:`to_pandas`.

        Each edge goes from the row's source column to its target column (an allocation's
        ``provider`` to its ``receiver``, a floating member to its host ...); the other
        columns are the edge's attributes. Rows without both ends are left out. Needs pandas.
        """
        import networkx as nx

        source, target = self._EDGE
        rows = self.to_pandas().dropna(subset=[source, target])
        attributes = [column for column in rows.columns if column not in (source, target)]
        return nx.from_pandas_edgelist(
            rows, source, target, edge_attr=attributes or None, create_using=nx.MultiDiGraph
        )

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Helpers of the readable reports
# ---------------------------------------------------------------------------------------------
def histogram(counts: npt.NDArray[np.int64]) -> dict[int, int]:
    """``{count: how many}`` over ``counts``, by count."""
    values, freq = np.unique(counts, return_counts=True)
    return dict(zip(values.tolist(), freq.tolist(), strict=True))


def warning_lines(notes: tuple[str, ...], limit: int = 10) -> list[str]:
    """``Warning: ...`` lines, at most ``limit`` and a line saying how many more."""
    lines = [f"Warning: {w}" for w in notes[:limit]]
    if len(notes) > limit:
        lines.append(f"… and {len(notes) - limit} more warnings (see .warnings)")
    return lines


def more(items: list[str], limit: int = 10) -> str:
    """The first ``limit`` items joined by commas, and how many in all when more."""
    text = ", ".join(items[:limit]) or "none"
    return text + (f", … ({len(items)} in all)" if len(items) > limit else "")


def optional_float(value: float | None) -> str:
    """``value`` to 6 significant digits, or ``none``."""
    return "none" if value is None else f"{value:.6g}"
