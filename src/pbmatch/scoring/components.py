"""Score components as vectorised numpy functions over broadcastable index arrays.

Every component takes provider indices ``p`` and receiver indices ``r`` that broadcast
against each other: ``p[:, None]`` with ``r[None, :]`` gives a dense block, two equal-length
1-D arrays give one value per chosen pair. The same code therefore scores a block of
candidates and recomputes the breakdown of the pairs finally chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_KM",
    "arc_km",
    "distance_decay",
    "haversine_km",
    "kind_affinity",
    "same_region",
    "tied",
    "unit_vectors",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the haversine's sphere."""


def haversine_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in km between points given in degrees (broadcasting).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(haversine_km(np.array(39.9), np.array(116.4),
    ...                          np.array(31.2), np.array(121.5))))
    1071
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points given in degrees as 3-D unit vectors, shape ``(n, 3)`` (NaN rows where unknown).

    The straight-line (chord) distance between two unit vectors determines their great-circle
    distance (:func:`arc_km`); computing it takes no trigonometry per pair.

    Examples
    --------
    >>> import numpy as np
    >>> unit_vectors(np.array([0.0, 90.0]), np.array([0.0, 0.0])).round(12).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    phi, lam = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    cos_phi = np.cos(phi)
    return np.ascontiguousarray(
        np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=-1)
    )


# arcsin(x) = x (1 + x² (1/6 + x² (3/40 + ...))): the Maclaurin coefficients, highest first.
_ASIN_SERIES = (231 / 13312, 63 / 2816, 35 / 1152, 5 / 112, 3 / 40, 1 / 6)
_ASIN_SERIES_MAX = 1.0 / 64  # the series is exact to float64 rounding below this half-chord


def arc_km(chord: FloatArray) -> FloatArray:
    """Great-circle distance in km from the chord between unit vectors (any shape).

    ``2 R arcsin(chord / 2)``; half-chords below 1/64 (about 200 km) use the Maclaurin
    series of ``arcsin`` (truncation error below 1e-24 relative), which costs a few
    multiplications instead of a call to ``arcsin``. Element by element and deterministic:
    the same chord gives the same bits in any array. NaN stays NaN.

    Examples
    --------
    >>> import numpy as np
    >>> u = unit_vectors(np.array([39.9, 31.2]), np.array([116.4, 121.5]))
    >>> round(float(arc_km(np.linalg.norm(u[0] - u[1]))))
    1071
    """
    x = np.multiply(chord, 0.5)
    x2 = x * x
    acc = np.full(x.shape, _ASIN_SERIES[0])
    for coefficient in _ASIN_SERIES[1:]:
        acc *= x2
        acc += coefficient
    acc *= x2
    acc += 1.0
    acc *= x
    large = x > _ASIN_SERIES_MAX
    if large.any():
        acc[large] = np.arcsin(np.minimum(x[large], 1.0))
    acc *= 2.0 * EARTH_RADIUS_KM
    return acc


def distance_decay(km: FloatArray, half_km: float) -> FloatArray:
    """``0.5 ** (km / half_km)``: 1 at distance 0, 0.5 at ``half_km``; 0 where km is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> distance_decay(np.array([0.0, 2.0, np.nan]), 2.0).tolist()
    [1.0, 0.5, 0.0]
    """
    return np.nan_to_num(np.exp2(-km / half_km), nan=0.0)


def kind_affinity(
    table: FloatArray, kinds_p: npt.NDArray[np.integer[Any]], kinds_r: npt.NDArray[np.integer[Any]]
) -> FloatArray:
    """Look up ``table[kind of p, kind of r]`` (broadcasting)."""
    return np.asarray(table[kinds_p, kinds_r], dtype=np.float64)


def same_region(codes_p: IntArray, codes_r: IntArray) -> BoolArray:
    """True where both lie in the same region of one tier (codes of -1 never match)."""
    return np.asarray((codes_p == codes_r) & (codes_p >= 0), dtype=bool)


def tied(p: IntArray, r: IntArray, tie_keys: IntArray, n_units: int) -> BoolArray:
    """True where ``(p, r)`` is a standing tie; ``tie_keys`` sorted ``a * n_units + b`` keys.

    Include both orientations of each tie in ``tie_keys`` for an undirected test.
    """
    keys = p * n_units + r
    if tie_keys.size == 0:
        return np.zeros(np.shape(keys), dtype=bool)
    pos = np.clip(np.searchsorted(tie_keys, keys), 0, tie_keys.size - 1)
    return np.asarray(tie_keys[pos] == keys)
