"""Frozen result objects returned by every solve.

A result always carries a ``status`` (see :mod:`pbmatch._status`), a ``success`` flag (a
solution is present), the ``objective`` recomputed in floats from the chosen items, and the
backend's own words in ``message``. Callers who prefer exceptions call ``raise_for_status()``.
Every result has a table (``to_records()``, ``to_pandas()``), a graph (``to_networkx()``), a
file (``write()``) and an HTML view (``to_html()``, ``_repr_html_``), from their shared base
``pbmatch.results._base.Result``.

One module per problem family: :mod:`~pbmatch.results.matching` (``match``,
``match_general``), :mod:`~pbmatch.results.pairing` (``pair``),
:mod:`~pbmatch.results.allocation` (``allocate``), :mod:`~pbmatch.results.posts`
(``assign_posts``, ``host_floating_members``), :mod:`~pbmatch.results.exchange`,
:mod:`~pbmatch.results.branches`, :mod:`~pbmatch.results.projects`; every class is
imported from here.
"""

from __future__ import annotations

from pbmatch.results.allocation import AllocationResult
from pbmatch.results.branches import JointBranchesResult
from pbmatch.results.exchange import ExchangeResult
from pbmatch.results.matching import GeneralMatchResult, MatchResult
from pbmatch.results.pairing import PairingResult
from pbmatch.results.posts import FloatingResult, PostAssignmentResult
from pbmatch.results.projects import ProjectsResult

__all__ = [
    "AllocationResult",
    "ExchangeResult",
    "FloatingResult",
    "GeneralMatchResult",
    "JointBranchesResult",
    "MatchResult",
    "PairingResult",
    "PostAssignmentResult",
    "ProjectsResult",
]
