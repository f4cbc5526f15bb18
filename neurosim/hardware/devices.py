"""Hardware non-idealities acting on a network: the weight store and the devices.

The settings are plain validated dataclasses (:class:`Hardware` groups :class:`Storage`, :class:`Readout`,
:class:`Variation`, :class:`Noise`), loadable from a TOML file or a named preset (:data:`PRESETS`); 0 bits and
0 noise mean ideal. :class:`Devices` applies them to a network, each at one point of the training step:

1. programming (:meth:`WeightStore.program`, once, on the initial weights): every parameter to the nearest level;
2. settling (:meth:`Devices.effective`, before each phase): the engines relax on the *effective* network,
   the stored one seen through the devices: variation, stuck-at faults, mismatch of the two directions, and read
   noise drawn afresh for every settle;
3. readout (:meth:`Devices.read`): the states the local rule multiplies pass an ADC of ``readout.bits``;
4. writing (:meth:`Devices.write`): an update is applied as a whole number of pulses (rounded to nearest or
   stochastically), each pulse adding write noise, and the result is stored on the weight grid.

Units: weights and biases are dimensionless (W = R G, b = R I; :mod:`neurosim.circuit`). A weight is a
differential pair of devices whose conductances, in the same units, are g+ = g0 + max(W, 0) and
g- = g0 + max(-W, 0), with g0 = R G_min under the ``conductance`` mapping and 0 under ``weight``. Biases are
stored and perturbed like weights (a programmed current source per neuron). A connection is one pair of devices
serving both directions (a resistive crossbar element is symmetric); mismatch is the extra, per-direction
deviation of a circuit that drives each direction separately.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from ..circuit import Circuit
from ..network import DenseBlock, Network, SparseCouplings
from ..quantize import Levels, quantize_unit, round_integer, weight_levels
from .response import ResponseDraws, pulse
from .settings import Hardware, HardwareError, Storage, load_hardware

_LOW, _HIGH = 1, 2  # stuck-at codes


@dataclasses.dataclass(frozen=True)
class WeightStore:
    """What storage settings imply on a circuit, without any device draws: the weight range ``w_max``, the
    programmed conductance offset ``g0`` (weight units: R G_min under the ``conductance`` mapping, else 0), the
    weight ``levels`` (None: continuous) and the weight change of one ``pulse`` (0: updates applied exactly)."""

    w_max: float
    g0: float
    levels: Levels | None
    pulse: float

    @classmethod
    def of(cls, storage: Storage, circuit: Circuit | None = None, k: int = 0) -> "WeightStore":
        """The store of parameter array ``k`` (the same for every array unless ``storage.w_max`` is a list)."""
        circuit = circuit or Circuit()
        if storage.mapping == "conductance":
            w_max, g0 = circuit.w_max, circuit.r_leak * circuit.g_min
        else:
            w_max, g0 = storage.w_max[k] if isinstance(storage.w_max, tuple) else storage.w_max, 0.0
        try:
            levels = weight_levels(storage.bits, w_max, storage.mapping) if storage.bits else None
        except ValueError as err:
            raise HardwareError(f"storage.{err}") from None
        return cls(w_max, g0, levels, storage.pulse or (levels.step if levels else 0.0))

    @property
    def step(self) -> float:
        """The weight step of the store: the levels', or the pulse's for continuous storage (0: ideal)."""
        return self.levels.step if self.levels else self.pulse

    def program(self, net: Network) -> None:
        """Store every parameter of ``net`` on this store's levels (:func:`program` with one range)."""
        program([self] * len(net.parameters()), net.parameters())

    @classmethod
    def per_array(cls, storage: Storage, circuit: Circuit | None, net: Network) -> list["WeightStore"]:
        """One store per parameter array of ``net`` (:meth:`Network.parameters` order); a list ``w_max`` must
        have one range per array (:class:`HardwareError` naming both counts otherwise)."""
        names = parameter_names(net)
        if isinstance(storage.w_max, tuple) and len(storage.w_max) != len(names):
            raise HardwareError(f"storage.w_max has {len(storage.w_max)} ranges; this network has {len(names)} "
                                f"parameter arrays: {', '.join(names)}")
        return [cls.of(storage, circuit, k) for k in range(len(names))]


def parameter_names(net: Network) -> list[str]:
    """The parameter arrays of ``net`` in :meth:`Network.parameters` order, as a per-array ``w_max`` lists them."""
    return [f"weights {b.lo}-{b.hi}" for b in net.blocks] + ["skip weights", "biases"]


def pair_names(net: Network) -> list[str]:
    """The names of ``net``'s parameter arrays in a run file's ``pairs`` group, in :meth:`Network.parameters`
    order: each dense block's (``L0-L1``), ``sparse``, ``bias``."""
    return [b.name for b in net.blocks] + ["sparse", "bias"]


def program(stores: list[WeightStore], params: list[np.ndarray]) -> None:
    """Store the parameter arrays ``params`` on their stores' levels, in place: nearest level, saturating at
    +-w_max (a write-and-verify programming of the initial weights). Nothing to do for continuous storage."""
    for store, param in zip(stores, params, strict=True):
        if store.levels is not None:
            param[...] = store.levels.snap(param)


def _empty(draw):
    """A per-connection draw (an array, a pair of arrays for the two devices, or None) for no connections."""
    if draw is None:
        return None
    return [a[:0] for a in draw] if isinstance(draw, list) else draw[:0]


class _Layout:
    """Which parameter is which (dense blocks between or within layers, skip connections, biases, or a rule's
    ``one-way`` arrays), for the effects' draws: ``kinds``, ``masks`` and ``shapes``, one per parameter array."""

    def __init__(self, kinds: list[str], masks: list, shapes: list[tuple]):
        self.kinds, self.masks, self.shapes = kinds, masks, shapes

    @classmethod
    def of_network(cls, net: Network) -> "_Layout":
        """The parameter arrays of ``net`` in the order of :meth:`Network.parameters`."""
        return cls([("intra" if b.lo == b.hi else "inter") for b in net.blocks] + ["sparse", "bias"],
                   [b.mask for b in net.blocks] + [None, None], [p.shape for p in net.parameters()])

    @classmethod
    def one_way(cls, shapes: list[tuple]) -> "_Layout":
        """Arrays of ``shapes`` each read in one direction only (a rule's own parameters): no masks, and a
        mismatch of the forward direction alone."""
        return cls(["one-way"] * len(shapes), [None] * len(shapes), list(shapes))

    def symmetric(self, k: int, a: np.ndarray) -> np.ndarray:
        """``a`` made symmetric for an intralayer block (one device per connection, both entries), else ``a``."""
        if self.kinds[k] != "intra":
            return a
        upper = np.triu(a, k=1)
        return upper + upper.T


class _PerDevice:
    """An effect fixed per device at manufacture: one draw per parameter entry (``draws[k]``; a pair, one per
    device of the differential pair, or one array), taken from the chip's stream when the chip is made."""

    draws: list

    def without_sparse(self, sparse: int) -> "_PerDevice":
        """The same effect for the network without its skip connections (the others keep their draws)."""
        out = copy.copy(self)
        out.draws = list(self.draws)
        out.draws[sparse] = _empty(out.draws[sparse])
        return out


class Gain(_PerDevice):
    """Device-to-device variation: each device's conductance times max(0, 1 + sigma N(0, 1))."""

    def __init__(self, sigma: float, layout: _Layout, rng: np.random.Generator):
        self.draws = [[layout.symmetric(k, np.maximum(0.0, 1 + sigma * rng.standard_normal(s))) for _ in range(2)]
                      for k, s in enumerate(layout.shapes)]

    def conductance(self, k: int, side: int, g: np.ndarray, store: "WeightStore") -> np.ndarray:
        return g * self.draws[k][side]


class StuckAt(_PerDevice):
    """Stuck-at faults: a fraction ``stuck`` of devices stuck, ``stuck_high`` of those at g0 + w_max, the rest
    at g0, whatever is written."""

    def __init__(self, stuck: float, stuck_high: float, layout: _Layout, rng: np.random.Generator):
        def codes(shape):
            u = rng.random(shape)
            return np.where(u < stuck * stuck_high, _HIGH, np.where(u < stuck, _LOW, 0))

        self.draws = [[layout.symmetric(k, codes(s)) for _ in range(2)] for k, s in enumerate(layout.shapes)]

    def conductance(self, k: int, side: int, g: np.ndarray, store: "WeightStore") -> np.ndarray:
        code = self.draws[k][side]
        return np.where(code == _HIGH, store.g0 + store.w_max, np.where(code == _LOW, store.g0, g))


class Mismatch:
    """The two directions of a connection driven by separate circuits: each direction's weight times
    1 + sigma N(0, 1) of its own (an intralayer entry is one direction already; a bias has none)."""

    def __init__(self, sigma: float, layout: _Layout, rng: np.random.Generator):
        self.forward = [None if kind == "bias" else 1 + sigma * rng.standard_normal(s)
                        for kind, s in zip(layout.kinds, layout.shapes)]
        self.backward = [None if kind in ("intra", "bias", "one-way") else 1 + sigma * rng.standard_normal(s)
                         for kind, s in zip(layout.kinds, layout.shapes)]

    def without_sparse(self, sparse: int) -> "Mismatch":
        out = copy.copy(self)
        out.forward, out.backward = list(self.forward), list(self.backward)
        out.forward[sparse], out.backward[sparse] = _empty(self.forward[sparse]), _empty(self.backward[sparse])
        return out

    def directions(self, k: int, w: np.ndarray) -> tuple:
        """The forward weight and the backward one (None: the same as forward) of parameter ``k``."""
        forward = w if self.forward[k] is None else w * self.forward[k]
        return forward, None if self.backward[k] is None else w * self.backward[k]


class Devices:
    """The devices of one network under ``hardware``: its :class:`WeightStore`, and the effects fixed per
    device (:class:`Gain`, :class:`StuckAt`, :class:`Mismatch`), each drawn from ``rng`` in that order when
    enabled, so the same seed gives the same chip; read noise, readout and writing act per settle and per update.

    ``circuit`` supplies R, G_min and G_max for the ``conductance`` mapping (default :class:`Circuit`); ``rng``
    the fixed draws (training passes the run's device stream; without one, seed 0). Works on numpy arrays (CPU).
    """

    def __init__(self, hardware: Hardware, net: Network, circuit: Circuit | None = None,
                 rng: np.random.Generator | None = None):
        hardware = load_hardware(hardware)
        self._draw_chip(hardware, WeightStore.per_array(hardware.storage, circuit, net), _Layout.of_network(net), rng)

    @classmethod
    def of_arrays(cls, hardware: Hardware, shapes: list[tuple], circuit: Circuit | None = None,
                  rng: np.random.Generator | None = None) -> "Devices":
        """The devices of plain parameter arrays of ``shapes``, each read one way (a rule's own learned
        parameters), on the store of ``hardware`` with its one weight range (:class:`HardwareError` for a range
        per network array), each effect drawn from ``rng`` as for a network; used through :meth:`program_arrays`,
        :meth:`presented` and :meth:`write_arrays`."""
        hardware = load_hardware(hardware)
        if isinstance(hardware.storage.w_max, tuple):
            raise HardwareError(f"storage.w_max={list(hardware.storage.w_max)} gives one range per network array; a "
                                "rule's own parameters on the devices need one range")
        out = cls.__new__(cls)
        out._draw_chip(hardware, [WeightStore.of(hardware.storage, circuit)] * len(shapes), _Layout.one_way(shapes),
                       rng)
        return out

    def _draw_chip(self, hardware: Hardware, stores: list[WeightStore], layout: _Layout, rng) -> None:
        self.hardware = hardware
        self.stores = stores
        self.store = self.stores[0]  # g0 and, with one range, everything: the same for every array
        self.layout = layout
        variation = hardware.variation
        rng = rng if rng is not None else np.random.default_rng(0)
        self.per_device = [effect for effect in (
            Gain(variation.device_to_device, layout, rng) if variation.device_to_device else None,
            StuckAt(variation.stuck, variation.stuck_high, layout, rng) if variation.stuck else None,
        ) if effect is not None]
        self.mismatch = Mismatch(variation.mismatch, layout, rng) if variation.mismatch else None
        response = hardware.response  # drawn after the others: a chip without it draws what it always did
        self.response = ResponseDraws.draw(response, layout.shapes, layout.symmetric, rng) if response.active else None
        # each device's fixed draw of its drift exponent (neurosim.hardware.drift), one per side of the pair
        self.drift = [[layout.symmetric(k, rng.standard_normal(s)) for _ in range(2)]
                      for k, s in enumerate(layout.shapes)] if hardware.drift.active else None
        self.minus = None  # single-sided pairs: each minus device's conductance, the run's arrays (hold)
        self.refreshed = np.zeros(len(layout.shapes), dtype=np.int64)  # pairs refreshed so far, per array

    @property
    def gain(self) -> list | None:
        """The variation gains (per parameter, a pair: one per device), or None."""
        return next((e.draws for e in self.per_device if isinstance(e, Gain)), None)

    @property
    def stuck(self) -> list | None:
        """The stuck-at codes (0 healthy, 1 at g0, 2 at g0 + w_max; per parameter, a pair), or None."""
        return next((e.draws for e in self.per_device if isinstance(e, StuckAt)), None)

    def without_skips(self) -> "Devices":
        """These devices for the network without its layer-skipping connections
        (:func:`neurosim.network.without_skips`): the devices of the connections kept keep their draws."""
        out = copy.copy(self)
        sparse = self.layout.kinds.index("sparse")
        shapes = list(self.layout.shapes)
        shapes[sparse] = (0,)
        out.layout = _Layout(list(self.layout.kinds), list(self.layout.masks), shapes)
        out.per_device = [effect.without_sparse(sparse) for effect in self.per_device]
        out.mismatch = None if self.mismatch is None else self.mismatch.without_sparse(sparse)
        if self.drift is not None:
            out.drift = [_empty(d) if k == sparse else d for k, d in enumerate(self.drift)]
        if self.response is not None:
            out.response = copy.copy(self.response)
            for name in ("dw_min", "beta", "b_min", "b_max", "gamma_up", "gamma_down"):
                draws = list(getattr(self.response, name))
                draws[sparse] = _empty(draws[sparse])
                setattr(out.response, name, draws)
        return out

    # -- single-sided pairs: the devices' conductances as state -----------------------------------------------------
    @staticmethod
    def initial_minus(params: list[np.ndarray]) -> list[np.ndarray]:
        """The minus devices of freshly programmed single-sided pairs (weight units above g0): each weight W on the
        device of its sign, the other at g0, so g− = max(−W, 0) and g+ = W + g−."""
        return [np.maximum(-np.asarray(p), 0).astype(np.asarray(p).dtype) for p in params]

    def hold(self, minus: list[np.ndarray]) -> None:
        """Keep the single-sided pairs' minus conductances ``minus`` (one array per parameter array, shaped like
        it: the run's own arrays, :attr:`neurosim.store.Run.pairs`), which :meth:`write` updates in place; the
        plus device of each pair is W + g−. :class:`HardwareError` unless the scheme is single-sided."""
        if not self.hardware.pair.single_sided:
            raise HardwareError(f"pair.scheme={self.hardware.pair.scheme!r} keeps no device state: W alone says "
                                "each device's conductance")
        shapes = [np.shape(m) for m in minus]
        if shapes != list(self.layout.shapes):
            raise HardwareError(f"pair state of shapes {shapes} for parameter arrays of shapes {self.layout.shapes}")
        self.minus = minus

    # -- what the settings imply -----------------------------------------------------------------------------------
    @property
    def perturbs(self) -> bool:
        """Whether the engines see anything but the stored weights."""
        return bool(self.per_device) or self.mismatch is not None or self.hardware.noise.read > 0

    def _draw(self, k: int, rng: np.random.Generator, shape, kind: str) -> np.ndarray:
        a = rng.random(shape) if kind == "uniform" else rng.standard_normal(shape)
        return self.layout.symmetric(k, a)

    def _masked(self, k: int, a: np.ndarray) -> np.ndarray:
        mask = self.layout.masks[k]
        return a if mask is None else np.where(mask, a, 0.0).astype(a.dtype, copy=False)

    # -- 2. settling ---------------------------------------------------------------------------------------------
    def effective(self, net: Network, rng: np.random.Generator | None = None) -> Network:
        """The network the circuit realises from stored ``net``: each device pair's conductances g+-, times its
        variation gain, stuck devices at g0 or g0 + w_max, W = g+ - g-; then read noise (a fresh draw from
        ``rng`` for every call: one settle) and each direction's mismatch. ``net`` itself when nothing
        perturbs it."""
        if not self.perturbs:
            return net
        return self.settled(net, [self._pair_weight(k, p) if self.per_device else p
                                  for k, p in enumerate(net.parameters())], rng)

    def settled(self, net: Network, weights: list, rng: np.random.Generator | None = None) -> Network:
        """The network of ``net``'s layout whose parameters are the devices' ``weights`` (in
        :meth:`Network.parameters` order) as one settle sees them: read noise (a fresh draw from ``rng``) and each
        direction's mismatch."""
        *blocks, (sparse, sparse_back), (bias, _) = self._directions(net.parameters(), weights, rng)
        return Network(
            sizes=net.sizes,
            blocks=[DenseBlock(b.lo, b.hi, fw, b.mask, bw) for b, (fw, bw) in zip(net.blocks, blocks)],
            sparse=SparseCouplings(net.sparse.i, net.sparse.j, sparse, sparse_back),
            bias=bias,
        )

    def _directions(self, params: list, weights: list, rng: np.random.Generator | None) -> list[tuple]:
        """For each array: (forward, backward) of the devices' ``weights`` as one settle reads them (read noise, a
        fresh draw from ``rng``; each direction's mismatch; backward None where it is the forward one), masked and
        in the dtype of the stored ``params``."""
        read = self.hardware.noise.read
        if read and rng is None:
            raise ValueError("read noise needs a random generator for each settle")
        out = []
        for k, (param, w) in enumerate(zip(params, weights, strict=True)):
            if read:
                w = w * (1 + read * self._draw(k, rng, w.shape, "normal"))
            forward, backward = (w, None) if self.mismatch is None else self.mismatch.directions(k, w)
            out.append(tuple(None if a is None else self._masked(k, a).astype(param.dtype, copy=False)
                             for a in (forward, backward)))
        return out

    def presented(self, params: list[np.ndarray], rng: np.random.Generator | None = None) -> list[np.ndarray]:
        """Stored arrays ``params`` (:meth:`of_arrays`' order) as a read of the devices gives them: each device
        pair through its fixed effects (:meth:`_pair_weight`), then read noise (a fresh draw from ``rng``) and the
        forward mismatch; the arrays themselves when nothing perturbs them."""
        if not self.perturbs:
            return list(params)
        weights = [self._pair_weight(k, p) if self.per_device else p for k, p in enumerate(params)]
        return [forward for forward, _ in self._directions(params, weights, rng)]

    def weights_at(self, net: Network, time: float | None, program_rng: np.random.Generator,
                   read_rng: np.random.Generator) -> list[np.ndarray]:
        """The parameters of ``net`` (stored weights) as this chip holds them ``time`` seconds after they were
        programmed (None: at once, without drift): each device's target conductance with its programming noise
        (``program_rng``: give the same draws for every time of one programming), through the fixed effects
        (gain, stuck-at), drifted with its exponent and read with the 1/f noise of this read (``read_rng``)
        (:mod:`neurosim.hardware.drift`); in :meth:`Network.parameters` order."""
        return [self._pair_weight(k, p, program_rng, time, read_rng) for k, p in enumerate(net.parameters())]

    def _pair_weight(self, k: int, w: np.ndarray, program_rng: np.random.Generator | None = None,
                     time: float | None = None, read_rng: np.random.Generator | None = None) -> np.ndarray:
        """W = g+ - g- of the device pairs of parameter ``k``, each device's conductance through the per-device
        effects in turn (gain, then stuck-at: a stuck device ignores its gain); with ``program_rng``, programmed
        with the drift model's programming noise first, and with a ``time``, drifted and read (:meth:`weights_at`)."""
        store, drift = self.stores[k], self.hardware.drift
        g_max = store.g0 + store.w_max
        conductances = []
        held = None if self.minus is None else self.minus[k]
        sides = (np.maximum(w, 0.0), np.maximum(-w, 0.0)) if held is None else (w + held, held)
        for side, programmed in enumerate(sides):
            g = store.g0 + programmed
            if program_rng is not None:
                g = drift.programmed(g, g_max, self._draw(k, program_rng, w.shape, "normal"))
            for effect in self.per_device:
                g = effect.conductance(k, side, g, store)
            if time is not None and drift.active:
                g = drift.at(g, g_max, time, drift.exponent(g, g_max, self.drift[k][side]),
                             self._draw(k, read_rng, w.shape, "normal"))
            conductances.append(g)
        return conductances[0] - conductances[1]

    # -- 3. readout ----------------------------------------------------------------------------------------------
    def read(self, v):
        """States (volts) as the ADC reports them: :func:`neurosim.quantize.quantize_unit`."""
        return quantize_unit(v, self.hardware.readout.bits)

    # -- 1. programming ------------------------------------------------------------------------------------------
    def program(self, net: Network) -> None:
        """Program ``net``'s initial parameters, in place (:meth:`program_arrays`)."""
        self.program_arrays(net.parameters())

    def program_arrays(self, params: list[np.ndarray]) -> None:
        """Program initial parameter arrays, in place: onto the store's levels (:func:`program`) and, under a
        pulse-response model, into each device's own bounds (write-and-verify programming)."""
        program(self.stores, params)
        if self.response is None:
            return
        for k, param in enumerate(params):
            scale = self.stores[k].w_max
            param[...] = np.clip(param, self.response.b_min[k] * scale, self.response.b_max[k] * scale)

    # -- 4. writing ----------------------------------------------------------------------------------------------
    def write(self, net: Network, updates, rng: np.random.Generator | None = None) -> list[np.ndarray]:
        """Apply ``updates`` (in the order of :meth:`Network.parameters`) to ``net`` in place, as the devices
        do; returns the change each parameter actually underwent (:meth:`write_arrays`)."""
        return self.write_arrays(net.parameters(), updates, rng)

    def write_arrays(self, params: list[np.ndarray], updates, rng: np.random.Generator | None = None) -> list:
        """Apply ``updates`` to the parameter arrays ``params`` in place, as the devices do; returns the change
        each array actually underwent.

        Each update becomes n = round(update / pulse) pulses (nearest or stochastic) and a change n * pulse;
        with a pulse of its own (not a grid step) the result is rounded onto the grid; write noise adds
        N(0, (write * pulse)^2 |n|); the store saturates at +-w_max. Without pulses (ideal storage) the update
        is applied exactly (write noise then scales with it).
        """
        storage, write_noise = self.hardware.storage, self.hardware.noise.write
        stochastic = storage.rounding == "stochastic"
        if (stochastic or write_noise or self._cycle_spread) and rng is None:
            raise ValueError("stochastic rounding, write noise and cycle-to-cycle spreads need a random generator")
        changes = []
        for k, (param, update) in enumerate(zip(params, updates, strict=True)):
            store = self.stores[k]
            levels, pulse = store.levels, store.pulse
            update = np.asarray(update)
            if self.minus is not None:
                new = self._single_sided(k, param, update, rng)
                changes.append(new - param)
                param[...] = new
                continue
            if self.response is not None:
                new = self._pulse_train(k, param, update, rng)
                changes.append(new - param)
                param[...] = new
                continue
            if pulse:
                uniform = self._draw(k, rng, update.shape, "uniform") if stochastic else None
                pulses = round_integer(update / pulse, storage.rounding, uniform)
                new, size = param + pulses * pulse, pulse * np.sqrt(np.abs(pulses))
            else:
                new, size = param + update, np.abs(update)
            if levels is not None and pulse != levels.step:
                new = levels.snap(new, storage.rounding, self._draw(k, rng, new.shape, "uniform") if stochastic else None)
            if write_noise:
                new = new + self._masked(k, write_noise * size * self._draw(k, rng, new.shape, "normal"))
            if levels is not None:
                new = np.clip(new, -store.w_max, store.w_max)
            new = new.astype(param.dtype, copy=False)
            changes.append(new - param)
            param[...] = new
        return changes

    @property
    def _cycle_spread(self) -> bool:
        return self.response is not None and self.hardware.response.dw_min_std > 0

    def _pulse_train(self, k: int, param: np.ndarray, update: np.ndarray, rng) -> np.ndarray:
        """Parameter ``k`` after ``update`` written as a pulse train under the response model
        (:mod:`neurosim.hardware.response`): n = round(update / (dw_min w_max)) pulses (nearest or stochastic),
        at most ``max_pulses`` either way, applied one at a time, each step from the device's weight then;
        write noise N(0, (write dw_min w_max)^2 |n|) after the train; clipped at each device's bounds."""
        response, storage = self.hardware.response, self.hardware.storage
        scale = self.stores[k].w_max
        nominal = response.dw_min * scale
        uniform = self._draw(k, rng, update.shape, "uniform") if storage.rounding == "stochastic" else None
        n = np.clip(round_integer(update / nominal, storage.rounding, uniform), -response.max_pulses,
                    response.max_pulses)
        count = np.abs(n)
        new = self._pulses(k, np.asarray(param, dtype=np.float64) / scale, count, np.sign(n), rng) * scale
        if self.hardware.noise.write:
            noise = self.hardware.noise.write * nominal * np.sqrt(count) * self._draw(k, rng, new.shape, "normal")
            new = np.clip(new + self._masked(k, noise), self.response.b_min[k] * scale, self.response.b_max[k] * scale)
        return self._masked(k, new).astype(param.dtype, copy=False)


    def _pulses(self, k: int, w: np.ndarray, count: np.ndarray, direction: np.ndarray, rng) -> np.ndarray:
        """``w`` (units of the range) of array ``k`` after ``count`` pulses in ``direction`` (per device), one at
        a time under the response model (:func:`~neurosim.hardware.response.pulse`), each with its own
        cycle-to-cycle draw."""
        for p in range(int(count.max(initial=0))):
            noise = self._draw(k, rng, w.shape, "normal") if self.hardware.response.dw_min_std else None
            w = pulse(self.hardware.response, w, np.where(count > p, direction, 0.0), self.response, k, noise)
        return w

    def _single_sided(self, k: int, param: np.ndarray, update: np.ndarray, rng) -> np.ndarray:
        """Parameter ``k`` after ``update`` written onto single-sided pairs (:class:`~neurosim.hardware.Pair`),
        its minus devices (:meth:`hold`) updated in place.

        n = round(update / pulse) pulses (nearest or stochastic; under a response model its nominal step
        dw_min w_max, at most ``max_pulses``), all *up*: n > 0 on g+ = W + g−, n < 0 on g−; each step as the
        device takes it (a pulse of the grid, snapped to it, or the response model's step from the device's own
        conductance; continuous storage: the update itself); write noise N(0, (write · pulse)² |n|) on the pulsed
        device (continuous storage: N(0, (write · update)²)); each device within [0, top] (top = w_max, or its
        own bound b_max w_max). Then the refresh: where max(g+, g−) > refresh_upper · top and min(g+, g−) >
        refresh_lower · top, both reset and W rewritten on the device of its sign (g+ = max(W, 0),
        g− = max(−W, 0)); counted in :attr:`refreshed`."""
        store, storage, pair = self.stores[k], self.hardware.storage, self.hardware.pair
        minus = np.asarray(self.minus[k], dtype=np.float64)
        plus = np.asarray(param, dtype=np.float64) + minus
        uniform = self._draw(k, rng, update.shape, "uniform") if storage.rounding == "stochastic" else None
        if self.response is not None:
            response = self.hardware.response
            step = response.dw_min * store.w_max
            n = np.clip(round_integer(update / step, storage.rounding, uniform), -response.max_pulses,
                        response.max_pulses)
            top = self.response.b_max[k] * store.w_max
            up = np.ones_like(n)
            plus = self._pulses(k, plus / store.w_max, np.maximum(n, 0), up, rng) * store.w_max
            minus = self._pulses(k, minus / store.w_max, np.maximum(-n, 0), up, rng) * store.w_max
            size = step * np.sqrt(np.abs(n))
        elif store.pulse:
            step, top = store.pulse, store.w_max
            n = round_integer(update / step, storage.rounding, uniform)
            plus, minus = plus + np.maximum(n, 0) * step, minus + np.maximum(-n, 0) * step
            if store.levels is not None and store.pulse != store.levels.step:
                plus, minus = store.levels.snap(plus), store.levels.snap(minus)
            size = step * np.sqrt(np.abs(n))
        else:  # continuous storage: the update itself, write noise in proportion to it (as the differential pair)
            top, n = store.w_max, update
            plus, minus = plus + np.maximum(n, 0), minus + np.maximum(-n, 0)
            size = np.abs(update)
        if self.hardware.noise.write:
            noise = self._masked(k, self.hardware.noise.write * size * self._draw(k, rng, update.shape, "normal"))
            plus, minus = plus + np.where(n > 0, noise, 0.0), minus + np.where(n < 0, noise, 0.0)
        plus, minus = np.clip(plus, 0.0, top), np.clip(minus, 0.0, top)
        refresh = ((np.maximum(plus, minus) > pair.refresh_upper * top)
                   & (np.minimum(plus, minus) > pair.refresh_lower * top))
        weight = plus - minus
        minus = np.where(refresh, np.maximum(-weight, 0.0), minus)
        self.refreshed[k] += int(np.count_nonzero(refresh))
        self.minus[k][...] = self._masked(k, minus).astype(param.dtype, copy=False)
        return self._masked(k, weight).astype(param.dtype, copy=False)


class ChipAt:
    """One chip ``time`` seconds after the stored network ``net`` was programmed onto it, as a controller's
    hardware for evaluation: every settle sees :meth:`Devices.weights_at` (drawn once, here) through
    :meth:`Devices.settled`, and the states pass the chip's ADC.

    ``compensate``: global drift compensation, as a chip does it with a reference read of each array: every
    parameter array times sum |W(0)| / sum |W(time)|, its summed conductance read just after programming (the same
    programming, its own read noise) over the one read now."""

    def __init__(self, devices: Devices, net: Network, time: float | None, program_seed, read_rng,
                 compensate: bool = False):
        self.devices = devices
        self.weights = devices.weights_at(net, time, np.random.default_rng(program_seed), read_rng)
        if compensate and time:
            start = devices.weights_at(net, 0.0, np.random.default_rng(program_seed), read_rng)
            self.weights = [w * (np.abs(w0).sum() / np.abs(w).sum() if np.abs(w).sum() > 0 else 1.0)
                            for w, w0 in zip(self.weights, start)]

    def effective(self, net: Network, rng: np.random.Generator | None = None) -> Network:
        return self.devices.settled(net, self.weights, rng)

    def read(self, v):
        return self.devices.read(v)


class RuleDevices:
    """The devices that hold a rule's own learned parameters (``parameters``: name -> array; the feedback of bfa
    and bdfa, the synthetic-gradient modules of sg and csg, the pixel biases of s2m) on the network's hardware:
    one :meth:`Devices.of_arrays` chip of the same settings, its arrays in the names' sorted order, its fixed draws
    from ``rng`` (a stream of their own, so the network's chip is the one it is without them).

    The rule reads its parameters through :meth:`present` (variation, stuck devices, read noise) and writes its
    steps through :meth:`learn` (pulses, rounding, write noise, the pulse-response model, the range)."""

    def __init__(self, hardware: Hardware, parameters: dict, circuit: Circuit | None = None,
                 rng: np.random.Generator | None = None):
        self.names = tuple(sorted(parameters))
        self.devices = Devices.of_arrays(hardware, [np.shape(parameters[n]) for n in self.names], circuit, rng)

    def _arrays(self, values: dict) -> list:
        return [values[name] for name in self.names]

    def program(self, parameters: dict) -> None:
        """Program a new run's initial parameters onto the devices, in place (:meth:`Devices.program_arrays`)."""
        self.devices.program_arrays(self._arrays(parameters))

    def present(self, parameters: dict, rng: np.random.Generator | None = None) -> dict:
        """The stored ``parameters`` as one read of the devices gives them (:meth:`Devices.presented`)."""
        return dict(zip(self.names, self.devices.presented(self._arrays(parameters), rng)))

    def learn(self, parameters: dict, grads: dict, rate: float, rng: np.random.Generator | None = None) -> None:
        """The rule's step θ += rate · (−∂S/∂θ) (``grads``: −∂S/∂θ by name, every name) written into
        ``parameters`` in place as the devices write it (:meth:`Devices.write_arrays`)."""
        self.devices.write_arrays(self._arrays(parameters), [rate * grad for grad in self._arrays(grads)], rng)
