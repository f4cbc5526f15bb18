"""Conductance drift after programming, and the read noise that grows with it: for inference on a trained network
(``neurosim evaluate``).

A device programmed to conductance g_P at t = 0 reads, t seconds later (t_0 the first read after programming),

    g(t) = g_P ((t + t_0) / t_0)^(-nu),    nu = |nu_mean + nu_std xi| per device (xi standard Gaussian, fixed),

and a 1/f read noise that accumulates since programming, g(t) + |g(t)| Q sqrt(ln((t + t_0 + t_read) / (2 t_read))) xi'
(a fresh xi' per read of the chip). Two models:

- ``power-law``: nu_mean = ``nu``, nu_std = ``nu_std`` and Q = ``read_q``, the same for every conductance;
- ``pcm``: IBM aihwkit's ``PCMLikeNoiseModel`` (src/aihwkit/inference/noise/pcm.py), a statistical model of measured
  phase-change memory (Joshi et al., Nat. Commun. 2020, doi:10.1038/s41467-020-16108-9), with x = g_P / g_max the
  device's conductance relative to its largest (g_max = 25 uS there; here the store's range): programming noise
  g_P = max(g_T + sigma_P xi, 0) with sigma_P = (0.26348 + 1.9650 x - 1.1731 x^2) g_max / 25 (the polynomial in uS
  at g_max = 25 uS), nu_mean = clip(-0.0155 ln x + 0.0244, 0.049, 0.1), nu_std = clip(-0.0125 ln x - 0.0059, 0.008,
  0.045), Q = min(0.0088 / max(x, 1e-3)^0.65, 0.2); t_0 = 20 s, t_read = 250 ns.

Conductances in the store's units (weights: W = g+ - g-, each device in [0, w_max] under the ``weight`` mapping);
times in seconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field, StrictFloat
from pydantic.dataclasses import dataclass

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)

#: aihwkit's PCM fit, its conductances in microsiemens at g_max = 25 uS.
PCM_G_MAX_US = 25.0
PCM_PROGRAMMING_US = (0.26348, 1.9650, -1.1731)


@dataclass(frozen=True, config=_STRICT)
class Drift:
    """Drift after programming (module docstring): ``model`` none, power-law or pcm; for power-law, ``nu`` (the
    mean drift exponent, dimensionless), ``nu_std`` (its device-to-device spread) and ``read_q`` (the 1/f read
    noise's Q, relative); ``t0`` (seconds: the first read after programming, at which g = g_P) and ``t_read``
    (seconds: the read's duration in the 1/f term) for both."""

    model: Literal["none", "power-law", "pcm"] = "none"
    nu: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.05
    nu_std: Annotated[StrictFloat, Field(ge=0)] = 0.0
    read_q: Annotated[StrictFloat, Field(ge=0)] = 0.0
    t0: Annotated[StrictFloat, Field(gt=0)] = 20.0
    t_read: Annotated[StrictFloat, Field(gt=0)] = 250e-9

    @property
    def active(self) -> bool:
        return self.model != "none"

    def programmed(self, g: np.ndarray, g_max: float, normal: np.ndarray) -> np.ndarray:
        """The conductances a programming of targets ``g`` leaves (``normal``: standard Gaussian draws, one per
        device): with programming noise under ``pcm``, ``g`` itself otherwise."""
        if self.model != "pcm":
            return g
        x = g / g_max
        c0, c1, c2 = PCM_PROGRAMMING_US
        sigma = (c0 + c1 * x + c2 * x**2) * g_max / PCM_G_MAX_US
        return np.maximum(g + sigma * normal, 0.0)

    def exponent(self, g: np.ndarray, g_max: float, normal: np.ndarray) -> np.ndarray:
        """Each device's nu for programmed conductances ``g`` and its fixed draw ``normal``."""
        if self.model == "pcm":
            x = np.maximum(np.abs(g / g_max), 1e-7)
            mean = np.clip(-0.0155 * np.log(x) + 0.0244, 0.049, 0.1)
            std = np.clip(-0.0125 * np.log(x) - 0.0059, 0.008, 0.045)
        else:
            mean, std = self.nu, self.nu_std
        return np.abs(mean + std * normal)

    def at(self, g: np.ndarray, g_max: float, time: float, nu: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """The programmed conductances ``g`` read ``time`` seconds after programming: drifted by their exponents
        ``nu``, with the 1/f read noise of this read (``normal``: fresh standard Gaussian draws)."""
        t = time + self.t0
        drifted = g * (t / self.t0) ** (-nu)
        if self.model == "pcm":
            q = np.minimum(0.0088 / np.maximum(np.abs(g) / g_max, 1e-3) ** 0.65, 0.2)
        else:
            q = self.read_q
        spread = q * np.sqrt(np.log((t + self.t_read) / (2 * self.t_read)))
        return np.maximum(drifted + np.abs(drifted) * spread * normal, 0.0)
