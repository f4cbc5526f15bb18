"""How a device answers a programming pulse: the pulse-response models of the weight store, as settings, and one
pulse applied to an array of devices.

A weight is written by pulses. One pulse in direction d (+1 up, -1 down) moves a device at weight w (in units of
the store's range, ``storage.w_max``) by

    dw = d * dw_min_ij * (1 + d * beta_ij) * f_d(w) * (1 + dw_min_std * xi),    then w = clip(w, b_min_ij, b_max_ij)

with xi a fresh standard Gaussian per pulse (cycle-to-cycle spread), and per device, drawn once per chip
(device-to-device spread, :class:`ResponseDraws`):

    dw_min_ij = dw_min * |1 + dw_min_dtod * xi|,     beta_ij = up_down + up_down_dtod * xi,
    b_max_ij = w_max * (1 + w_max_dtod * xi),        b_min_ij = w_min * (1 + w_min_dtod * xi),

so ``up_down`` > 0 makes up steps larger than down steps by (1 + beta) / (1 - beta). The models differ by the
step's dependence on the weight, f_d(w) (the forms IBM's aihwkit documents for its pulsed devices,
``aihwkit.simulator.configs.devices``: ``ConstantStepDevice``, ``LinearStepDevice``, ``SoftBoundsDevice``,
``ExpStepDevice``, ``PowStepDevice``):

- ``constant``: f = 1 (a step of dw_min wherever the device sits, up to the bounds);
- ``linear``: f_+ = 1 - gamma_up w / b_max, f_- = 1 - gamma_down w / b_min (the step shrinks towards the bound it
  moves to, by gamma at the bound; separate slopes up and down, each with a device-to-device spread);
- ``soft-bounds``: the linear step with gamma = 1: f_+ = 1 - w / b_max, f_- = 1 - w / b_min, zero at the bound;
- ``exponential``: z = 2 a w / (b_max - b_min) + b, f_d = max(1 - A_d exp(d gamma_d z), 0) (a CMOS-like step);
- ``power``: omega = (b_max - w) / (b_max - b_min), f_+ = omega^gamma_up, f_- = (1 - omega)^gamma_down with
  gamma_up/down = pow_gamma (1 +- pow_up_down) (Fusi & Abbott 2007, shifted, as in aihwkit).

The number of pulses of an update is its size in steps, round(update / (dw_min w_max)) (nearest or stochastic,
as ``storage.rounding``), at most ``max_pulses``: the controller knows the nominal step, not each device's.
Units: weights dimensionless (W = R G), in units of ``storage.w_max`` inside this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass as plain_dataclass
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import ConfigDict, Field, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass

Spread = Annotated[StrictFloat, Field(ge=0)]
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)

#: The most pulses of one update (aihwkit's default pulse train is 31 long).
MAX_PULSES = 31


@dataclass(frozen=True, config=_STRICT)
class NoResponse:
    """Today's weight store: no pulse-response model; updates are written as ``storage`` says (an even grid of
    2^bits - 1 levels, one step per pulse, up and down alike)."""

    model: Literal["none"] = "none"

    @property
    def active(self) -> bool:
        return False


@dataclass(frozen=True, config=_STRICT)
class ConstantStep:
    """A step of ``dw_min`` (units of the store's range) per pulse wherever the device sits, clipped at its bounds
    ``w_min`` < 0 < ``w_max`` (same units). ``up_down``: the up-versus-down asymmetry beta, up steps times
    1 + beta and down steps times 1 - beta (|beta| < 1); ``*_dtod``: device-to-device spreads (``dw_min_dtod``,
    ``w_min_dtod``, ``w_max_dtod`` relative to their value, ``up_down_dtod`` absolute); ``dw_min_std``:
    cycle-to-cycle spread of each pulse's step, relative; ``max_pulses``: the longest pulse train of one update.
    The form is aihwkit's ``ConstantStepDevice`` (module docstring)."""

    model: Literal["constant"] = "constant"
    dw_min: Annotated[StrictFloat, Field(gt=0, le=1)] = 0.001
    w_min: Annotated[StrictFloat, Field(lt=0)] = -1.0
    w_max: Annotated[StrictFloat, Field(gt=0)] = 1.0
    up_down: Annotated[StrictFloat, Field(gt=-1, lt=1)] = 0.0
    dw_min_dtod: Spread = 0.0
    up_down_dtod: Spread = 0.0
    w_min_dtod: Spread = 0.0
    w_max_dtod: Spread = 0.0
    dw_min_std: Spread = 0.0
    max_pulses: Annotated[StrictInt, Field(ge=1, le=10_000)] = MAX_PULSES

    @property
    def active(self) -> bool:
        return True

    @property
    def states(self) -> float:
        """The device's distinguishable states, (w_max - w_min) / dw_min: the mean device's range in mean steps
        (aihwkit's count: its ``GokmenVlasovPresetDevice`` has dw_min = 0.0016 "to keep 1200 states")."""
        return (self.w_max - self.w_min) / self.dw_min

    @property
    def bits(self) -> float:
        """log2 of :attr:`states`: what a designer calls the device's bits."""
        return math.log2(self.states)

    def factor(self, w, up: bool, draws: "ResponseDraws", k: int):
        """f_d(w): the step's dependence on the weight (1 here)."""
        return np.ones_like(w)


@dataclass(frozen=True, config=_STRICT)
class LinearStep(ConstantStep):
    """The step shrinks linearly towards the bound it moves to: f_+ = 1 - gamma_up w / b_max, f_- = 1 - gamma_down
    w / b_min, clipped at 0 (aihwkit's ``LinearStepDevice`` with ``mean_bound_reference``: gamma over the
    device's own bound). ``gamma_up``, ``gamma_down``: the relative shrink at the bound (0: constant step, 1: soft
    bounds); ``gamma_up_dtod``, ``gamma_down_dtod``: their device-to-device spreads, absolute."""

    model: Literal["linear"] = "linear"
    gamma_up: Annotated[StrictFloat, Field(ge=0)] = 0.0
    gamma_down: Annotated[StrictFloat, Field(ge=0)] = 0.0
    gamma_up_dtod: Spread = 0.0
    gamma_down_dtod: Spread = 0.0

    def factor(self, w, up: bool, draws: "ResponseDraws", k: int):
        gamma, bound = (draws.gamma_up[k], draws.b_max[k]) if up else (draws.gamma_down[k], draws.b_min[k])
        return np.maximum(1.0 - gamma * w / bound, 0.0)


@dataclass(frozen=True, config=_STRICT)
class SoftBounds(ConstantStep):
    """The step shrinks to zero at the bound it moves to: f_+ = 1 - w / b_max, f_- = 1 - w / b_min (aihwkit's
    ``SoftBoundsDevice``). After n up pulses from w_0, without spreads, w_n = b_max + (w_0 - b_max) (1 - s /
    b_max)^n with s = dw_min (1 + up_down)."""

    model: Literal["soft-bounds"] = "soft-bounds"

    def factor(self, w, up: bool, draws: "ResponseDraws", k: int):
        return np.maximum(1.0 - w / (draws.b_max[k] if up else draws.b_min[k]), 0.0)


@dataclass(frozen=True, config=_STRICT)
class ExpStep(ConstantStep):
    """A CMOS-like step (aihwkit's ``ExpStepDevice``): z = 2 a w / (b_max - b_min) + b, f_d = max(1 - A_d
    exp(d gamma_d z), 0), the fit parameters ``a``, ``b``, ``A_up``, ``A_down``, ``gamma_up``, ``gamma_down``
    (dimensionless, the same for every device)."""

    model: Literal["exponential"] = "exponential"
    a: StrictFloat = 0.244
    b: StrictFloat = 0.2425
    A_up: StrictFloat = 0.00081
    A_down: StrictFloat = 0.36833
    gamma_up: StrictFloat = 12.44625
    gamma_down: StrictFloat = 12.78785

    def factor(self, w, up: bool, draws: "ResponseDraws", k: int):
        z = 2.0 * self.a * w / (draws.b_max[k] - draws.b_min[k]) + self.b
        amplitude, gamma, d = (self.A_up, self.gamma_up, 1.0) if up else (self.A_down, self.gamma_down, -1.0)
        return np.maximum(1.0 - amplitude * np.exp(d * gamma * z), 0.0)


@dataclass(frozen=True, config=_STRICT)
class PowStep(ConstantStep):
    """A power-law step (aihwkit's ``PowStepDevice``, after Fusi & Abbott 2007): omega = (b_max - w) / (b_max -
    b_min) the distance to the upper bound, f_+ = omega^gamma_+, f_- = (1 - omega)^gamma_- with gamma_+- =
    ``pow_gamma`` (1 +- ``pow_up_down``) (1 + ``pow_gamma_dtod`` xi) per device. Note that dw_min is the step at
    the far bound, not at w = 0."""

    model: Literal["power"] = "power"
    pow_gamma: Annotated[StrictFloat, Field(gt=0)] = 1.0
    pow_up_down: Annotated[StrictFloat, Field(gt=-1, lt=1)] = 0.0
    pow_gamma_dtod: Spread = 0.0

    def factor(self, w, up: bool, draws: "ResponseDraws", k: int):
        omega = np.clip((draws.b_max[k] - w) / (draws.b_max[k] - draws.b_min[k]), 0.0, 1.0)
        return omega ** draws.gamma_up[k] if up else (1.0 - omega) ** draws.gamma_down[k]


#: The models by name (``model`` in a ``[response]`` table).
MODELS = {cls.__dataclass_fields__["model"].default: cls
          for cls in (NoResponse, ConstantStep, LinearStep, SoftBounds, ExpStep, PowStep)}

#: A response setting: one of the models, told apart by ``model``.
Response = Annotated[Union[NoResponse, ConstantStep, LinearStep, SoftBounds, ExpStep, PowStep],
                     Field(discriminator="model")]


@plain_dataclass
class ResponseDraws:
    """Each device's own response parameters, drawn once per chip (per parameter array k, arrays of its shape,
    one device per weight): ``dw_min`` (units of the range), ``beta`` (up-down asymmetry), ``b_min``, ``b_max``
    (bounds), and the models' slopes ``gamma_up``, ``gamma_down`` (linear: the shrink at the bound; power: the
    exponents)."""

    dw_min: list
    beta: list
    b_min: list
    b_max: list
    gamma_up: list
    gamma_down: list

    @classmethod
    def draw(cls, response: ConstantStep, shapes, symmetric, rng: np.random.Generator) -> "ResponseDraws":
        """The draws for parameter arrays of ``shapes``, from ``rng`` in a fixed order; ``symmetric(k, a)`` makes
        an intralayer block's draw symmetric (one device per connection)."""
        def normal(k, shape):
            return symmetric(k, rng.standard_normal(shape))

        out = cls([], [], [], [], [], [])
        for k, shape in enumerate(shapes):
            out.dw_min.append(response.dw_min * np.abs(1 + response.dw_min_dtod * normal(k, shape)))
            out.beta.append(np.clip(response.up_down + response.up_down_dtod * normal(k, shape), -0.999, 0.999))
            out.b_max.append(response.w_max * np.maximum(1 + response.w_max_dtod * normal(k, shape), 1e-3))
            out.b_min.append(response.w_min * np.maximum(1 + response.w_min_dtod * normal(k, shape), 1e-3))
            if isinstance(response, LinearStep):
                out.gamma_up.append(np.abs(response.gamma_up + response.gamma_up_dtod * normal(k, shape)))
                out.gamma_down.append(np.abs(response.gamma_down + response.gamma_down_dtod * normal(k, shape)))
            elif isinstance(response, PowStep):
                spread = 1 + response.pow_gamma_dtod * normal(k, shape)
                out.gamma_up.append(np.abs(response.pow_gamma * (1 + response.pow_up_down) * spread))
                out.gamma_down.append(np.abs(response.pow_gamma * (1 - response.pow_up_down) * spread))
            else:
                out.gamma_up.append(None)
                out.gamma_down.append(None)
        return out


def pulse(response: ConstantStep, w: np.ndarray, direction: np.ndarray, draws: ResponseDraws, k: int,
          noise: np.ndarray | None = None) -> np.ndarray:
    """The weights ``w`` (units of the range) of parameter array ``k`` after one pulse in ``direction`` (+1 up,
    -1 down, 0 none; per device), with the cycle-to-cycle draws ``noise`` (standard normal, per device; None:
    no spread): the module docstring's step, clipped at each device's bounds."""
    up = direction > 0
    factor = np.where(up, response.factor(w, True, draws, k), response.factor(w, False, draws, k))
    step = direction * draws.dw_min[k] * (1 + direction * draws.beta[k]) * factor
    if noise is not None and response.dw_min_std:
        step = step * (1 + response.dw_min_std * noise)
    return np.clip(w + np.where(direction != 0, step, 0.0), draws.b_min[k], draws.b_max[k])
