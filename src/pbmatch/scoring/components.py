"""Score components as vectorised numpy functions over broadcastable index arrays.

Every component takes provider indices ``p`` and receiver indices ``r`` that broadcast
against each other: ``p[:, None]`` with ``r[None, :]`` gives a dense block, two equal-length
1-D arrays give one value per chosen pair. The same code therefore scores a block of
candidates and recomputes the breakdown of the pairs finally chosen.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_KM",
    "distance_decay",
    "haversine_km",
    "kind_affinity",
    "same_region",
    "tied",
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
    table: FloatArray, kinds_p: npt.NDArray[np.int8], kinds_r: npt.NDArray[np.int8]
) -> FloatArray:
    """Look up ``table[kind of p, kind of r]`` (broadcasting)."""
    return table[kinds_p, kinds_r]


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
