"""Hardware settings: the device models' parameters as validated frozen dataclasses, presets and TOML loading.

:class:`Hardware` groups :class:`Storage`, :class:`Readout`, :class:`Variation` and :class:`Noise`; 0 bits and 0
noise mean ideal. What they do to a network is :mod:`neurosim.hardware.devices`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictFloat, StrictInt, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from ..tomlfile import read_toml
from ..quantize import MAPPINGS, ROUNDING, weight_levels
from ..errors import NeurosimError, validation_problems
from .drift import Drift
from .response import ConstantStep, ExpStep, LinearStep, NoResponse, Response, SoftBounds

Bits = Annotated[StrictInt, Field(ge=0, le=32)]
Fraction = Annotated[StrictFloat, Field(ge=0, le=1)]
Sigma = Annotated[StrictFloat, Field(ge=0)]
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class HardwareError(NeurosimError, ValueError):
    """Hardware settings that cannot be used; the message names the value."""


@dataclass(frozen=True, config=_STRICT)
class Storage:
    """How weights and biases are stored and written.

    ``bits``: 0 (ideal, continuous) or the bits of the weight grid over [-``w_max``, ``w_max``]; ``mapping``
    says what they count (:func:`neurosim.quantize.weight_levels`): ``weight`` (sign-magnitude, 2^bits - 1 levels)
    or ``conductance`` (2^bits levels per device over [G_min, G_max]; w_max is then R (G_max - G_min) from the
    circuit and ``w_max`` is not used). ``rounding``: ``nearest`` or ``stochastic``, for updates and the grid.
    ``pulse``: the weight change of one programming pulse; 0 means one grid step (or, with ``bits`` = 0, no
    pulses: updates are applied exactly). Updates are whole numbers of pulses: under nearest rounding an update
    below half a pulse is lost; under stochastic rounding it is kept in expectation.

    ``w_max`` may also be one range per crossbar, a designer sizing each array on its own: a list with one value
    per parameter array in :meth:`Network.parameters` order (each dense block of weights input side first, then
    the layer-skipping weights, then the biases; ``neurosim.hardware.parameter_names`` lists them for a network).
    Each array then has its own grid of 2^bits - 1 levels and its own step (``weight`` mapping only).
    """

    bits: Bits = 0
    w_max: Annotated[StrictFloat, Field(gt=0)] | tuple[Annotated[StrictFloat, Field(gt=0)], ...] = 1.0
    rounding: Literal[ROUNDING] = "nearest"
    mapping: Literal[MAPPINGS] = "weight"
    pulse: Sigma = 0.0

    @model_validator(mode="after")
    def _grid_exists(self) -> "Storage":
        if self.bits:
            weight_levels(self.bits, 1.0, self.mapping)  # a ValueError naming the bits if there is no such grid
        if isinstance(self.w_max, tuple):
            if not self.w_max:
                raise ValueError("w_max=[]: give one range, or one per parameter array")
            if self.mapping == "conductance":
                raise ValueError("w_max per array with mapping='conductance': the range is the circuit's "
                                 "R (G_max - G_min) there; use mapping='weight'")
        return self


@dataclass(frozen=True, config=_STRICT)
class Readout:
    """``bits``: the ADC that reads the neuron states (0 to 1 V) for the local rule; 0 = ideal."""

    bits: Bits = 0


@dataclass(frozen=True, config=_STRICT)
class Variation:
    """Fixed per-device deviations, drawn once per run from its seed.

    ``device_to_device``: each device's conductance times (1 + device_to_device * N(0, 1)) (floored at 0);
    named ``device`` in files written before 2026-12 (still read: :data:`RENAMED`). ``mismatch``: each direction of a connection times its own (1 + mismatch * N(0, 1)). ``stuck``: the
    fraction of devices stuck, a fraction ``stuck_high`` of them at G_max, the rest at G_min; a stuck device
    ignores programming.
    """

    device_to_device: Sigma = 0.0
    mismatch: Sigma = 0.0
    stuck: Fraction = 0.0
    stuck_high: Fraction = 0.5


@dataclass(frozen=True, config=_STRICT)
class Noise:
    """Random deviations drawn anew each time.

    ``write``: cycle-to-cycle write noise, Gaussian with standard deviation ``write`` pulses per sqrt(pulses
    applied) (with continuous updates: ``write`` times the update). ``read``: each settle (phase) sees every
    weight times (1 + read * N(0, 1)).
    """

    write: Sigma = 0.0
    read: Sigma = 0.0


#: How the two devices of a weight's differential pair take its updates (:class:`Pair`).
PAIR_SCHEMES = ("differential", "single-sided")


@dataclass(frozen=True, config=_STRICT)
class Pair:
    """How the differential pair W = g+ − g− (weight units; each device's conductance above g0) takes an update.

    ``scheme``: ``differential`` (the default): the weight itself moves, up or down, and each device holds its
    sign's part, g+ = max(W, 0), g− = max(−W, 0). ``single-sided``: every device is only ever potentiated, as on a
    device whose depression is abrupt (phase-change memory's RESET): a positive update's pulses go up on g+, a
    negative one's up on g−, so both conductances climb and the pair is refreshed when it nears saturation (IBM
    aihwkit's ``OneSidedUnitCell``, src/aihwkit/simulator/configs/compounds.py, whose criterion and default
    thresholds these are): after each batch's writes, a pair whose larger device exceeds ``refresh_upper`` · w_max
    while its smaller one exceeds ``refresh_lower`` · w_max is read, both devices reset to g0, and W rewritten onto
    the device of its sign (write-and-verify: exactly onto the store's grid). The devices' conductances are state of
    the run (:attr:`neurosim.store.Run.pairs`). ``refresh_upper`` = 1 never refreshes (the pair saturates).
    """

    scheme: Literal[PAIR_SCHEMES] = "differential"
    refresh_upper: Fraction = 0.75
    refresh_lower: Fraction = 0.25

    @property
    def single_sided(self) -> bool:
        return self.scheme == "single-sided"


@dataclass(frozen=True, config=_STRICT)
class Hardware:
    """All hardware models of a run; the default is the ideal machine. ``response``: how a device answers a
    programming pulse (:mod:`neurosim.hardware.response`; ``none``: the even grid of ``storage``); ``drift``: how
    its conductance drifts after programming (:mod:`neurosim.hardware.drift`; for ``neurosim evaluate``);
    ``pair``: how the two devices of a weight take its updates (:class:`Pair`)."""

    storage: Storage = Storage()
    readout: Readout = Readout()
    variation: Variation = Variation()
    noise: Noise = Noise()
    response: Response = NoResponse()
    drift: Drift = Drift()
    pair: Pair = Pair()

    @model_validator(mode="after")
    def _one_way_to_write(self) -> "Hardware":
        if self.response.active:
            s = self.storage
            if s.bits or s.pulse or s.mapping != "weight":
                raise ValueError(f"response.model={self.response.model!r} with storage.bits={s.bits}, "
                                 f"storage.pulse={s.pulse}, storage.mapping={s.mapping!r}: the response model "
                                 "defines the device's steps and states; give bits = 0, pulse = 0, mapping = 'weight'")
        if self.pair.single_sided and self.storage.mapping != "weight":
            raise ValueError(f"pair.scheme='single-sided' with storage.mapping={self.storage.mapping!r}: each device "
                             "of the pair climbs over [0, w_max] on the weight grid; use mapping = 'weight'")
        if self.drift.active and self.storage.mapping != "weight":
            raise ValueError(f"drift.model={self.drift.model!r} with storage.mapping={self.storage.mapping!r}: drift "
                             "acts on each device's conductance in [0, w_max]; use mapping = 'weight'")
        return self

    @property
    def ideal(self) -> bool:
        return self == Hardware()

    def to_dict(self) -> dict:
        return asdict(self)

    def with_storage(self, **changes) -> "Hardware":
        return replace(self, storage=replace(self.storage, **changes))


#: Named settings. They illustrate typical regimes; they are not measurements of particular devices.
PRESETS: dict[str, Hardware] = {
    "ideal": Hardware(),
    "digital-8bit": Hardware(storage=Storage(bits=8), readout=Readout(bits=8)),
    "analog-6bit": Hardware(
        storage=Storage(bits=6, rounding="stochastic"),
        readout=Readout(bits=8),
        variation=Variation(device_to_device=0.05, mismatch=0.02),
        noise=Noise(write=0.2, read=0.01),
    ),
    "rram-4bit": Hardware(
        storage=Storage(bits=4, rounding="stochastic"),
        readout=Readout(bits=6),
        variation=Variation(device_to_device=0.1, mismatch=0.05, stuck=0.01),
        noise=Noise(write=0.3, read=0.02),
    ),
}


# Devices fitted to published measurements: pulse-response models (neurosim.hardware.response) whose numbers are
# IBM aihwkit's presets (src/aihwkit/simulator/presets/devices.py, the class named in each PROVENANCE entry), which
# aihwkit's authors fitted to the paper named there. aihwkit names the paper, not the figure; neither do we.
PRESETS.update({
    "reram-exp-gong2018": Hardware(response=ExpStep(
        dw_min=0.00135, up_down=0.259359, w_min=-1.0, w_max=1.0, a=-0.5, b=-0.5, gamma_up=5.0, gamma_down=5.0,
        A_up=-1.18445, A_down=-0.081404, dw_min_dtod=0.2, up_down_dtod=0.05, w_max_dtod=0.3, w_min_dtod=0.3,
        dw_min_std=5.0)),
    "reram-softbounds-gong2018": Hardware(response=SoftBounds(
        dw_min=0.002, up_down=0.0, w_min=-0.75, w_max=1.25, dw_min_dtod=0.3, up_down_dtod=0.01,
        w_max_dtod=0.3 / 1.25, w_min_dtod=0.3 / 0.75, dw_min_std=3.75)),
    "capacitor-li2018": Hardware(response=LinearStep(
        dw_min=0.005, up_down=0.0, w_min=-1.0, w_max=1.0, gamma_up=0.05, gamma_down=0.05, dw_min_dtod=0.1,
        up_down_dtod=0.06, w_max_dtod=0.07, w_min_dtod=0.07, gamma_up_dtod=0.01, gamma_down_dtod=0.01,
        dw_min_std=0.3)),
    "ecram-tang2018": Hardware(response=LinearStep(
        dw_min=0.002, up_down=0.0, w_min=-0.8276, w_max=1.1724, gamma_up=0.1153, gamma_down=0.5085,
        dw_min_dtod=0.1, up_down_dtod=0.01, w_max_dtod=0.05, w_min_dtod=0.05, gamma_up_dtod=0.05,
        gamma_down_dtod=0.05, dw_min_std=0.3)),
    "ecram-mo-kim2019": Hardware(response=LinearStep(
        dw_min=2.8214e-4, up_down=0.0, w_min=-0.8286, w_max=1.1714, gamma_up=0.4152, gamma_down=0.7342,
        dw_min_dtod=0.1, up_down_dtod=0.01, w_max_dtod=0.05, w_min_dtod=0.05, gamma_up_dtod=0.05,
        gamma_down_dtod=0.05, dw_min_std=2.0)),
    "idealized-gokmen2016": Hardware(response=ConstantStep(
        dw_min=0.0002, dw_min_dtod=0.3, dw_min_std=0.3, up_down=0.0, up_down_dtod=0.0, w_min=-1.0, w_max=1.0,
        w_min_dtod=0.3, w_max_dtod=0.3)),
    "pcm-joshi2020": Hardware(drift=Drift(model="pcm")),
    "constant-gokmen2016": Hardware(response=ConstantStep(
        dw_min=0.0016, dw_min_dtod=0.3, dw_min_std=0.3, up_down=0.0, up_down_dtod=0.01, w_min=-1.0, w_max=1.0,
        w_min_dtod=0.3, w_max_dtod=0.3)),
})

#: Where each preset's numbers come from (``neurosim info`` and docs/hardware.md print it).
PROVENANCE = {
    "ideal": "no device model",
    "digital-8bit": "illustrative, not a measurement",
    "analog-6bit": "illustrative, not a measurement",
    "rram-4bit": "illustrative, not a measurement",
    "reram-exp-gong2018": ("aihwkit ReRamESPresetDevice, fit of the exponential step to Gong et al., Nat. Commun. "
                           "2018, nature.com/articles/s41467-018-04485-1 (aihwkit's write_noise_std = 75 not "
                           "modelled)"),
    "reram-softbounds-gong2018": ("aihwkit ReRamSBPresetDevice, a loose soft-bounds fit to Gong et al., Nat. "
                                  "Commun. 2018, nature.com/articles/s41467-018-04485-1, symmetry point assumed "
                                  "corrected (aihwkit's additive cycle-to-cycle noise taken as multiplicative; "
                                  "write_noise_std = 56 not modelled)"),
    "capacitor-li2018": ("aihwkit CapacitorPresetDevice, fit of the linear step to Li et al., VLSI 2018, "
                         "ieeexplore.ieee.org/document/8510648 (the capacitor's leakage, lifetime 1e6 batches, not"
                         " modelled)"),
    "ecram-tang2018": ("aihwkit EcRamPresetDevice, fit of the linear step to Tang et al., IEDM 2018, "
                       "ieeexplore.ieee.org/document/8614551 (Li-ion ECRAM; range shifted so the symmetry point is"
                       " 0)"),
    "ecram-mo-kim2019": ("aihwkit EcRamMOPresetDevice, linear step from the data of Kim et al., IEDM 2019, "
                         "ieeexplore.ieee.org/document/8993463 (metal-oxide ECRAM)"),
    "idealized-gokmen2016": ("aihwkit IdealizedPresetDevice: the device specification of Gokmen & Vlasov, Front. "
                             "Neurosci. 2016 (doi:10.3389/fnins.2016.00333), with 8x the states (10,000) and no "
                             "up-down asymmetry"),
    "pcm-joshi2020": ("aihwkit PCMLikeNoiseModel: programming noise, drift and 1/f read noise of measured phase-change "
                      "memory (Joshi et al., Nat. Commun. 2020, doi:10.1038/s41467-020-16108-9); no pulse response "
                      "(for neurosim evaluate)"),
    "constant-gokmen2016": ("aihwkit GokmenVlasovPresetDevice: the device specification of Gokmen & Vlasov, Front."
                            " Neurosci. 2016 (doi:10.3389/fnins.2016.00333), 1,250 states, weights scaled to -1..1"),
}


def load_hardware(spec: str | Path | dict | Hardware) -> Hardware:
    """Hardware settings from a preset name, a TOML file (tables ``[storage]``, ``[readout]``, ``[variation]``,
    ``[noise]``; an optional ``preset = "name"`` line gives the values the tables change), a dict of the same
    shape, or a :class:`Hardware`. Raises :class:`HardwareError` naming the bad value or file."""
    if isinstance(spec, Hardware):
        return spec
    if isinstance(spec, dict):
        return _from_dict(spec, None)
    text = str(spec)
    if text in PRESETS:
        return PRESETS[text]
    path = Path(text)
    if path.suffix != ".toml" and not path.exists():
        raise HardwareError(f"{text!r} is neither a preset ({', '.join(PRESETS)}) nor a .toml file")
    return _from_dict(read_toml(path, HardwareError, "hardware"), str(path))


#: Fields renamed since run files and TOML files were first written: (table, old name) -> new name. ``device``
#: meant one thing across neurosim (cpu or cuda) and another here.
RENAMED = {("variation", "device"): "device_to_device"}


def _renamed(values: dict, prefix: str) -> dict:
    """``values`` with the old names of :data:`RENAMED` under their new ones; both at once is an error."""
    values = dict(values)
    for (group, old), new in RENAMED.items():
        fields = values.get(group)
        if isinstance(fields, dict) and old in fields:
            if new in fields:
                raise HardwareError(f"{prefix}{group}.{old} is the old name of {group}.{new}: give one of them")
            values[group] = {(new if k == old else k): v for k, v in fields.items()}
    return values


def _from_dict(values: dict, where: str | None) -> Hardware:
    prefix = f"{where}: " if where else ""
    values = _renamed(values, prefix)
    base = values.pop("preset", None)
    if base is not None and base not in PRESETS:
        raise HardwareError(f"{prefix}preset={base!r}: choose one of {', '.join(PRESETS)}")
    merged = PRESETS[base].to_dict() if base else {}
    for group, fields in values.items():
        if isinstance(fields, dict) and isinstance(merged.get(group), dict):
            merged[group] = {**merged[group], **fields}
        else:
            merged[group] = fields
    try:
        return Hardware(**merged)
    except (ValidationError, TypeError) as err:
        raise HardwareError(f"{prefix}{_first_error(err)}") from None


def _first_error(err: Exception) -> str:
    """The first problem pydantic found (:func:`~neurosim.errors.validation_problems`), or the error's text."""
    return validation_problems(err)[0] if isinstance(err, ValidationError) else str(err)


