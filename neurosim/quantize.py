"""Quantisers: rounding onto a grid of levels, to nearest or stochastically. Pure functions over arrays.

A weight grid is the set of levels k * step for integers |k| <= k_max: symmetric about 0, with 0 a level (a
device pair with both devices at G_min). How ``bits`` sets step and k_max depends on what the bits count
(:func:`weight_levels`); the readout grid of an ADC on [0, 1] V is :func:`quantize_unit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rounding modes: ``nearest`` (ties to even, :func:`numpy.rint`) and ``stochastic`` (up with probability equal
#: to the fraction, so the mean is exact).
ROUNDING = ("nearest", "stochastic")

#: What weight bits count: ``weight``, a signed number in sign-magnitude form (one sign bit, bits - 1 magnitude
#: bits); ``conductance``, the level of each device of a differential pair (bits per device).
MAPPINGS = ("weight", "conductance")


def round_integer(x: np.ndarray, rounding: str, uniform: np.ndarray | None = None) -> np.ndarray:
    """``x`` rounded to integer values (same dtype).

    ``nearest``: the closest integer, ties to even (so +-0.5 go to 0). ``stochastic``: floor(x + u) with ``u``
    uniform on [0, 1) (give ``uniform``, an array of x's shape): x rounds up with probability x - floor(x), so
    E[result] = x.
    """
    if rounding == "nearest":
        return np.rint(x)
    if rounding != "stochastic":
        raise ValueError(f"rounding={rounding!r}: choose one of {', '.join(ROUNDING)}")
    if uniform is None:
        raise ValueError("stochastic rounding needs uniform draws")
    return np.floor(x + uniform)


@dataclass(frozen=True)
class Levels:
    """The weight levels k * ``step`` for integers |k| <= ``k_max`` (dimensionless weights, W = R G)."""

    step: float
    k_max: int

    def snap(self, w: np.ndarray, rounding: str = "nearest", uniform: np.ndarray | None = None) -> np.ndarray:
        """``w`` on the grid: rounded to a level (:func:`round_integer`), saturating at +-w_max."""
        k = np.clip(round_integer(w / self.step, rounding, uniform), -self.k_max, self.k_max)
        return (k * self.step).astype(np.result_type(w), copy=False)


def weight_levels(bits: int, w_max: float, mapping: str = "weight") -> Levels:
    """The grid of a ``bits``-bit weight store over [-w_max, w_max].

    ``weight``: sign-magnitude, 2^bits - 1 levels, step = w_max / (2^(bits-1) - 1); needs bits >= 2 (2 bits:
    -w_max, 0, +w_max). ``conductance``: each device of the pair W = R (G+ - G-) has 2^bits levels over
    [G_min, G_max] and the device on the other side of W's sign sits at G_min, so step = w_max / (2^bits - 1)
    with w_max = R (G_max - G_min), and 2^(bits+1) - 1 weight levels.
    """
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping={mapping!r}: choose one of {', '.join(MAPPINGS)}")
    if not w_max > 0:
        raise ValueError(f"w_max={w_max}: must be > 0")
    k_max = 2 ** (bits - 1) - 1 if mapping == "weight" else 2**bits - 1
    if bits < 1 or k_max < 1:
        least = 2 if mapping == "weight" else 1
        raise ValueError(f"bits={bits}: a {mapping} grid needs at least {least} bits (0 means ideal storage)")
    return Levels(step=w_max / k_max, k_max=k_max)


def quantize_unit(v, bits: int):
    """An ADC of ``bits`` bits on [0, 1] V: ``v`` clipped to [0, 1] and rounded to the nearest of the 2^bits
    levels j / (2^bits - 1). ``bits`` = 0: ``v`` unchanged (an ideal readout)."""
    if bits == 0:
        return v
    if bits < 0:
        raise ValueError(f"bits={bits}: must be >= 0")
    top = 2**bits - 1
    return np.rint(np.clip(v, 0.0, 1.0) * top) / top
