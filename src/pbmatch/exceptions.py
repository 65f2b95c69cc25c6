"""Exceptions and warnings raised by pbmatch.

The tree::

    Exception
    └── PbmatchError
        ├── InputError (also ValueError)     bad input, named by unit/row, field, value
        ├── InfeasibleError                  ``raise_for_status()`` on an infeasible result
        └── SolverError (also RuntimeError)  a backend failed in a way input cannot explain
    UserWarning
    └── PrecisionWarning                     float scores lost information when scaled to ints

Every message names what is wrong and what is allowed, for example
``Unit 'u17': field 'offers' has quantity -3 for category 'venue'; quantities must be >= 0``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "InfeasibleError",
    "InputError",
    "PbmatchError",
    "PrecisionWarning",
    "SolverError",
]


class PbmatchError(Exception):
    """Base class of every error pbmatch raises on purpose."""


class InputError(PbmatchError, ValueError):
    """The input is invalid; the message names the item, the field, the value and the rule.

    Examples
    --------
    >>> from pbmatch import InputError
    >>> issubclass(InputError, ValueError)
    True
    """


class InfeasibleError(PbmatchError):
    """No solution satisfies every rule; raised by ``raise_for_status()``.

    Parameters
    ----------
    message : str
        What was infeasible.
    result : object, optional
        The result that carried the ``infeasible`` status (with its ``diagnosis`` if any).
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result

    @property
    def diagnosis(self) -> Any:
        """The result's diagnosis (a conflicting set of rules), or ``None``."""
        return getattr(self.result, "diagnosis", None)


class SolverError(PbmatchError, RuntimeError):
    """A solver backend failed (crashed, overflowed, or returned an unknown status)."""


class PrecisionWarning(UserWarning):
    """Scaling float scores to the integers a solver needs lost information.

    Distinct scores became equal after rounding, so the solver could not tell them apart; the
    result's ``resolution`` says how coarse the scale was.
    """
