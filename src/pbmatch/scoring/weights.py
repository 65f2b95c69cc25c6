"""``Weights``: how much each score component counts, in one validated model."""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from pbmatch.model import KINDS, Record

__all__ = ["COMPONENTS", "DEFAULT_KIND_AFFINITY", "Weights"]

COMPONENTS: tuple[str, ...] = (
    "need_met",
    "offer_used",
    "distance",
    "kind",
    "same_street",
    "same_district",
    "continuity",
)
"""Score components in breakdown order; the score of a pair is their sum."""

# How naturally a provider kind serves a receiver kind (0..1). Rows not listed default to 0.5.
DEFAULT_KIND_AFFINITY: dict[str, dict[str, float]] = {
    "agency": {"community": 1.0, "village": 1.0},
    "public_institution": {"community": 0.9, "village": 0.8},
    "soe": {"community": 0.8, "village": 0.9},
    "private_enterprise": {"community": 0.7, "village": 0.8},
    "social_org": {"community": 0.9, "village": 0.7},
    "school": {"community": 0.9, "village": 0.7},
    "hospital": {"community": 0.9, "village": 0.9},
    "military": {"community": 0.7, "village": 0.8},
}


class Weights(Record):
    """Weights of the pairing score components (all ``>= 0``).

    The score of provider ``p`` and receiver ``r`` is the sum of the weighted components:

    - ``need_met``: share of r's needs that p's offers can meet, Σ_c min(offer_pc, need_rc) /
      Σ_c need_rc (0 when r needs nothing);
    - ``offer_used``: the same the other way, share of p's needs that r can meet (两方互动);
    - ``distance``: ``0.5 ** (km / half_distance_km)``, 1 next door, 0.5 at the half distance;
    - ``kind``: affinity of p's kind for r's kind (``kind_affinity``, default
      :data:`DEFAULT_KIND_AFFINITY`);
    - ``same_street``: 1 when both lie in the same street or township;
    - ``same_district``: 1 when in the same district but not the same street;
    - ``continuity``: 1 when p and r have a standing tie (已有共建关系).

    Examples
    --------
    >>> w = Weights(distance=1.0)
    >>> w.need_met, w.distance, w.half_distance_km
    (1.0, 1.0, 2.0)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    need_met: float = Field(1.0, ge=0, allow_inf_nan=False)
    offer_used: float = Field(0.3, ge=0, allow_inf_nan=False)
    distance: float = Field(0.5, ge=0, allow_inf_nan=False)
    kind: float = Field(0.2, ge=0, allow_inf_nan=False)
    same_street: float = Field(0.3, ge=0, allow_inf_nan=False)
    same_district: float = Field(0.1, ge=0, allow_inf_nan=False)
    continuity: float = Field(0.4, ge=0, allow_inf_nan=False)
    half_distance_km: float = Field(2.0, gt=0, allow_inf_nan=False)
    category_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight of each category in the complementarity terms (default 1).",
    )
    kind_affinity: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_KIND_AFFINITY.items()},
        description="provider kind -> receiver kind -> affinity; missing entries are 0.5.",
    )

    @field_validator("category_weights")
    @classmethod
    def _category_weights(cls, value: dict[str, float]) -> dict[str, float]:
        for category, weight in value.items():
            if not (weight >= 0 and weight < float("inf")):
                raise ValueError(
                    f"category {category!r} has weight {weight!r}; weights must be finite and >= 0"
                )
        return value

    @field_validator("kind_affinity")
    @classmethod
    def _kind_affinity(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for provider, row in value.items():
            for kind in (provider, *row):
                if kind not in KINDS:
                    raise ValueError(f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
            for receiver, affinity in row.items():
                if not (affinity >= 0 and affinity < float("inf")):
                    raise ValueError(
                        f"affinity {provider!r} -> {receiver!r} is {affinity!r}; "
                        "it must be finite and >= 0"
                    )
        return value

    def component_weights(self) -> dict[str, float]:
        """The weight of each component in :data:`COMPONENTS` order."""
        return {name: float(getattr(self, name)) for name in COMPONENTS}

    def kind_table(self) -> list[list[float]]:
        """The affinity table as a ``len(KINDS) × len(KINDS)`` nested list (default 0.5)."""
        return [[float(self.kind_affinity.get(p, {}).get(r, 0.5)) for r in KINDS] for p in KINDS]
