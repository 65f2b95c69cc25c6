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
    from pbmatch.datasets import (
        synthetic_city,
        synthetic_district,
        synthetic_floating,
        synthetic_members,
        synthetic_posts,
        synthetic_projects,
    )
    from pbmatch.diagnosis import PairingDiagnosis
    from pbmatch.fairness import FairnessReport
    from pbmatch.general import match_general
    from pbmatch.graph import RegionGraph
    from pbmatch.io import read, write
    from pbmatch.matching import match
    from pbmatch.model import FloatingMember, Host, Member, Project, Region, ServicePost, Tie, Unit
    from pbmatch.problems.allocation import allocate
    from pbmatch.problems.branches import form_joint_branches
    from pbmatch.problems.exchange import exchange_cycles
    from pbmatch.problems.floating import host_floating_members
    from pbmatch.problems.pairing import pair
    from pbmatch.problems.posts import assign_posts
    from pbmatch.problems.projects import staff_projects
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
    from pbmatch.rules import Forbid, KindQuota, Lock, MaxDistance, RegionCap, Rule, SameRegion
    from pbmatch.scoring.complementarity import complementarity
    from pbmatch.scoring.weights import COMPONENTS, Weights
    from pbmatch.stability import StabilityReport, blocking_pairs, stability_report, stable_match

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "AllocationResult": "pbmatch.results",
    "COMPONENTS": "pbmatch.scoring.weights",
    "ExchangeResult": "pbmatch.results",
    "FairnessReport": "pbmatch.fairness",
    "FloatingMember": "pbmatch.model",
    "FloatingResult": "pbmatch.results",
    "Forbid": "pbmatch.rules",
    "GeneralMatchResult": "pbmatch.results",
    "Host": "pbmatch.model",
    "JointBranchesResult": "pbmatch.results",
    "KindQuota": "pbmatch.rules",
    "Lock": "pbmatch.rules",
    "MatchResult": "pbmatch.results",
    "MaxDistance": "pbmatch.rules",
    "Member": "pbmatch.model",
    "PairingDiagnosis": "pbmatch.diagnosis",
    "PairingResult": "pbmatch.results",
    "PostAssignmentResult": "pbmatch.results",
    "Project": "pbmatch.model",
    "ProjectsResult": "pbmatch.results",
    "Region": "pbmatch.model",
    "RegionCap": "pbmatch.rules",
    "RegionGraph": "pbmatch.graph",
    "Rule": "pbmatch.rules",
    "SameRegion": "pbmatch.rules",
    "ServicePost": "pbmatch.model",
    "StabilityReport": "pbmatch.stability",
    "Tie": "pbmatch.model",
    "Unit": "pbmatch.model",
    "Weights": "pbmatch.scoring.weights",
    "allocate": "pbmatch.problems.allocation",
    "assign_posts": "pbmatch.problems.posts",
    "blocking_pairs": "pbmatch.stability",
    "complementarity": "pbmatch.scoring.complementarity",
    "exchange_cycles": "pbmatch.problems.exchange",
    "form_joint_branches": "pbmatch.problems.branches",
    "host_floating_members": "pbmatch.problems.floating",
    "match": "pbmatch.matching",
    "match_general": "pbmatch.general",
    "pair": "pbmatch.problems.pairing",
    "read": "pbmatch.io",
    "stability_report": "pbmatch.stability",
    "stable_match": "pbmatch.stability",
    "staff_projects": "pbmatch.problems.projects",
    "synthetic_city": "pbmatch.datasets",
    "synthetic_district": "pbmatch.datasets",
    "synthetic_floating": "pbmatch.datasets",
    "synthetic_members": "pbmatch.datasets",
    "synthetic_posts": "pbmatch.datasets",
    "synthetic_projects": "pbmatch.datasets",
    "write": "pbmatch.io",
}

__all__ = [
    "COMPONENTS",
    "AllocationResult",
    "ExchangeResult",
    "FairnessReport",
    "FloatingMember",
    "FloatingResult",
    "Forbid",
    "GeneralMatchResult",
    "Host",
    "InfeasibleError",
    "InputError",
    "JointBranchesResult",
    "KindQuota",
    "Lock",
    "MatchResult",
    "MaxDistance",
    "Member",
    "PairingDiagnosis",
    "PairingResult",
    "PbmatchError",
    "PostAssignmentResult",
    "PrecisionWarning",
    "Project",
    "ProjectsResult",
    "Region",
    "RegionCap",
    "RegionGraph",
    "Rule",
    "SameRegion",
    "ServicePost",
    "SolverError",
    "StabilityReport",
    "Tie",
    "Unit",
    "Weights",
    "allocate",
    "assign_posts",
    "blocking_pairs",
    "complementarity",
    "exchange_cycles",
    "form_joint_branches",
    "host_floating_members",
    "match",
    "match_general",
    "pair",
    "read",
    "stability_report",
    "stable_match",
    "staff_projects",
    "synthetic_city",
    "synthetic_district",
    "synthetic_floating",
    "synthetic_members",
    "synthetic_posts",
    "synthetic_projects",
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
