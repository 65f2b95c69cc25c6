"""pbmatch: optimal, explainable matching and allocation for regional co-building (区域化党建).

Models the units of a region with what they need and offer, scores every candidate pair with
vectorised numpy, and solves exactly with OR-Tools.

The public names below load on first use (PEP 562), so ``import pbmatch`` stays fast and
imports neither OR-Tools nor networkx until a solver or graph view is needed.

Examples
--------
>>> import pbmatch
>>> graph = pbmatch.synthetic_district(seed=0)
>>> result = pbmatch.pair(graph)
>>> result.success
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pbmatch.exceptions import (
    InfeasibleError,
    InputError,
    PbmatchError,
    PrecisionWarning,
    SolverError,
)

if TYPE_CHECKING:
    from pbmatch.datasets import synthetic_city, synthetic_district
    from pbmatch.graph import RegionGraph
    from pbmatch.io import read, write
    from pbmatch.matching import match
    from pbmatch.model import Region, Tie, Unit
    from pbmatch.problems.pairing import pair
    from pbmatch.results import MatchResult, PairingResult
    from pbmatch.scoring.complementarity import complementarity
    from pbmatch.scoring.weights import COMPONENTS, Weights

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "COMPONENTS": "pbmatch.scoring.weights",
    "MatchResult": "pbmatch.results",
    "PairingResult": "pbmatch.results",
    "Region": "pbmatch.model",
    "RegionGraph": "pbmatch.graph",
    "Tie": "pbmatch.model",
    "Unit": "pbmatch.model",
    "Weights": "pbmatch.scoring.weights",
    "complementarity": "pbmatch.scoring.complementarity",
    "match": "pbmatch.matching",
    "pair": "pbmatch.problems.pairing",
    "read": "pbmatch.io",
    "write": "pbmatch.io",
    "synthetic_city": "pbmatch.datasets",
    "synthetic_district": "pbmatch.datasets",
}

__all__ = [
    "COMPONENTS",
    "InfeasibleError",
    "InputError",
    "MatchResult",
    "PairingResult",
    "PbmatchError",
    "PrecisionWarning",
    "Region",
    "RegionGraph",
    "SolverError",
    "Tie",
    "Unit",
    "Weights",
    "complementarity",
    "match",
    "pair",
    "read",
    "synthetic_city",
    "synthetic_district",
    "write",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pbmatch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
