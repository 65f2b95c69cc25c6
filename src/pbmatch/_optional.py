"""Import optional dependencies where they are used, with a message naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise an ``ImportError`` that says which pbmatch extra brings it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"openpyxl"``.
    extra : str
        The pbmatch extra that installs it, e.g. ``"excel"``.
    purpose : str
        What needs it, for the message (``"reading .xlsx workbooks"``).

    Examples
    --------
    >>> require("json", "none", "tests").__name__
    'json'
    >>> require("no_such_module_xyz", "excel", "reading .xlsx workbooks")
    Traceback (most recent call last):
    ...
    ImportError: reading .xlsx workbooks needs no_such_module_xyz, which is not installed; ...
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError(
            f"{purpose} needs {top}, which is not installed; "
            f"install it with: pip install 'pbmatch[{extra}]'"
        ) from exc
