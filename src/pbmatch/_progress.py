"""A progress bar for long runs: ``tqdm`` when installed, else one updating line on stderr.

Off by default in the library (``progress=False``); the command line turns it on.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Count work done out of ``total`` units and show it, or do nothing when disabled.

    Parameters
    ----------
    total : int
        Units of work expected (the bar may be told of more with :meth:`add_total`).
    description : str
        Shown before the bar.
    enabled : bool, default False
        When False every method is a no-op.
    stream : file, optional
        Where the fallback line goes (default ``sys.stderr``); ``tqdm`` writes to it too.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(4, "scoring", enabled=True, stream=out, use_tqdm=False) as bar:
    ...     bar.update(3)
    ...     bar.update(1)
    >>> out.getvalue().rstrip().endswith("scoring: 4/4 (100%)")
    True
    >>> with Progress(4, "quiet") as bar:  # disabled: prints nothing
    ...     bar.update(4)
    """

    def __init__(
        self,
        total: int,
        description: str,
        *,
        enabled: bool = False,
        stream: TextIO | None = None,
        use_tqdm: bool = True,
    ) -> None:
        self.total = int(total)
        self.done = 0
        self.description = description
        self.enabled = bool(enabled)
        self._stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        self._last = 0.0
        if self.enabled and use_tqdm:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=self.total, desc=description, file=self._stream)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def add_total(self, extra: int) -> None:
        """Tell the bar of ``extra`` more units of work."""
        self.total += int(extra)
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def update(self, count: int = 1) -> None:
        """Record ``count`` more units done."""
        if not self.enabled:
            return
        self.done += int(count)
        if self._bar is not None:
            self._bar.update(int(count))
            return
        now = time.monotonic()
        if now - self._last >= 0.5 or self.done >= self.total:
            self._last = now
            self._write()

    def _write(self) -> None:
        share = 100.0 * self.done / self.total if self.total else 100.0
        self._stream.write(f"\r{self.description}: {self.done}/{self.total} ({share:.0f}%)")
        self._stream.flush()

    def close(self) -> None:
        """Finish the bar (a newline for the fallback line)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            return
        self._write()
        self._stream.write("\n")
        self._stream.flush()
        self.enabled = False
