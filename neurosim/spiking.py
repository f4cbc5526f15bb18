"""Leaky integrate-and-fire neurons in discrete time, vectorised over a batch: the neuron model of the spiking
rules (:mod:`neurosim.rules.erbp`).

A neuron's membrane (its first compartment) in volts, with a delta synapse for each input spike:

    tau_v dV/dt = -V + drive,        V -> V + v_syn * w at each spike arriving through a weight w,

fires when V reaches ``v_th`` (a spike), is reset to ``v_reset`` and held there for ``t_ref`` seconds (refractory:
its input is lost meanwhile). ``drive`` (volts) is a constant input (a bias current times the leak resistance).
Between spikes the equation is integrated exactly over each step dt (exponential decay towards the drive):

    V(t + dt) = drive + (V(t) - drive) e^{-dt / tau_v}    (then the step's input spikes are added),

so a neuron under a constant drive D > v_th from reset fires after t* = tau_v ln((D - v_reset) / (D - v_th)) (to
within one step: a spike is seen at the first step end where V >= v_th), and then every t_ref + t*.

A second, passive compartment U (volts; no spikes, no reset) integrates the error signal of eRBP the same way:
tau_u dU/dt = -U, with a jump of ``u_syn`` per unit of weight of each error spike. The synaptic input trace q
(volts) is the input low-passed as a synaptic current would be: tau_syn dq/dt = -q, with the same jumps as the
membrane (v_syn * w per spike) plus the drive, and no reset; it is what eRBP's learning window reads (a neuron driven
far past its firing range, or far below it, stops learning, as the paper's boxcar on the synaptic current does).
Input neurons are Poisson spike sources: an input of intensity x in [0, 1] fires with probability x * rate * dt per
step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import NeurosimError
from .settings import setting


class SpikingError(NeurosimError, ValueError):
    """Settings of a spiking neuron model that cannot be simulated; the message names the value."""


@dataclass(frozen=True)
class LIF:
    """Settings of the leaky integrate-and-fire neurons and their simulation (each field's help gives its unit)."""

    tau_v: float = setting(0.02, "Membrane time constant (s).")
    tau_u: float = setting(0.02, "Time constant of the error compartment U (s).")
    v_th: float = setting(1.0, "Firing threshold of the membrane (V).")
    v_reset: float = setting(0.0, "Reset potential after a spike, and the rest state (V).")
    v_syn: float = setting(1.0, "Membrane jump of one input spike through a weight of 1 (V).")
    u_syn: float = setting(1.0, "Jump of U of one error spike through a weight of 1 (V).")
    t_ref: float = setting(0.004, "Refractory time after a spike (s; a whole number of steps).")
    dt: float = setting(0.001, "Time step of the simulation (s).")
    t_present: float = setting(0.1, "Time each example is presented (s).")
    input_rate: float = setting(200.0, "Firing rate of an input of intensity 1, a Poisson source (Hz).")
    label_rate: float = setting(200.0, "Firing rate of the label neuron of the example's class (Hz).")
    tau_syn: float = setting(0.004, "Time constant of the synaptic input trace the learning window reads (s).")
    boxcar_low: float = setting(-2.0, "Lower edge of the learning window on the input trace, eRBP's boxcar (V).")
    boxcar_high: float = setting(2.0, "Upper edge of the learning window on the input trace, eRBP's boxcar (V).")

    def __post_init__(self) -> None:
        for name in ("tau_v", "tau_u", "tau_syn", "v_th", "v_syn", "u_syn", "dt", "t_present"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise SpikingError(f"{name}={value}: give a positive number")
        for name in ("t_ref", "input_rate", "label_rate"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise SpikingError(f"{name}={value}: give a number >= 0")
        if not self.boxcar_low < self.boxcar_high:
            raise SpikingError(f"boxcar_low={self.boxcar_low} must lie below boxcar_high={self.boxcar_high}")
        if not self.v_reset < self.v_th:
            raise SpikingError(f"v_reset={self.v_reset} must lie below v_th={self.v_th}")
        if max(self.input_rate, self.label_rate) * self.dt > 1:
            raise SpikingError(f"input_rate, label_rate = {self.input_rate}, {self.label_rate} Hz: at most one spike "
                               f"per step of dt={self.dt} s (rate * dt <= 1)")
        if abs(self.t_ref / self.dt - round(self.t_ref / self.dt)) > 1e-9:
            raise SpikingError(f"t_ref={self.t_ref} s: a whole number of steps of dt={self.dt} s")

    def window(self, q: np.ndarray) -> np.ndarray:
        """eRBP's boxcar: 1 where boxcar_low < q < boxcar_high, else 0 (the dtype of ``q``); q the input trace."""
        return ((q > self.boxcar_low) & (q < self.boxcar_high)).astype(q.dtype)

    @property
    def n_steps(self) -> int:
        """Steps per presentation: t_present / dt, rounded."""
        return max(1, round(self.t_present / self.dt))

    @property
    def ref_steps(self) -> int:
        return round(self.t_ref / self.dt)

    @property
    def decay_v(self) -> float:
        """e^{-dt / tau_v}: the membrane's decay over one step."""
        return math.exp(-self.dt / self.tau_v)

    @property
    def decay_u(self) -> float:
        return math.exp(-self.dt / self.tau_u)

    @property
    def decay_syn(self) -> float:
        return math.exp(-self.dt / self.tau_syn)


@dataclass
class Membranes:
    """The state of a population over a batch: membrane ``v`` (B, n) in volts and refractory steps left ``ref``
    (B, n)."""

    v: np.ndarray
    ref: np.ndarray

    @classmethod
    def at_rest(cls, shape, lif: LIF, dtype=np.float64) -> "Membranes":
        return cls(v=np.full(shape, lif.v_reset, dtype=dtype), ref=np.zeros(shape, dtype=np.int32))

    def step(self, lif: LIF, jumps: np.ndarray, drive=0.0) -> np.ndarray:
        """Advance one step dt: exact decay towards ``drive`` (V), plus ``jumps`` (V, this step's input spikes
        times their weights times v_syn), except for refractory neurons, which stay at reset and lose their input;
        then fire where V >= v_th (reset, refractory). Returns the spikes (B, n) as 0/1 of the state's dtype."""
        free = self.ref == 0
        decayed = drive + (self.v - drive) * lif.decay_v + jumps
        self.v = np.where(free, decayed, lif.v_reset)
        self.ref = np.where(free, 0, self.ref - 1)
        spikes = self.v >= lif.v_th
        self.v = np.where(spikes, lif.v_reset, self.v)
        self.ref = np.where(spikes, lif.ref_steps, self.ref)
        return spikes.astype(self.v.dtype)


def spiking_inputs(spikes: np.ndarray) -> np.ndarray:
    """The indices of the presynaptic neurons (columns of ``spikes``, (B, n) of 0 and 1) that spiked in some example
    of the batch: the only rows of a weight matrix a step's spikes read, and of its update they write (input spikes
    at 200 Hz x pixel intensity in steps of 1 ms: 213 of MNIST's 784 pixels a step, on average, over a batch of 20)."""
    return np.flatnonzero(spikes.any(axis=0))


def poisson_spikes(rng: np.random.Generator, intensity: np.ndarray, rate: float, dt: float) -> np.ndarray:
    """One step of Poisson spike sources: 1 with probability intensity * rate * dt (intensity in [0, 1], rate in
    Hz, dt in s), else 0; the shape and dtype of ``intensity``."""
    return (rng.random(intensity.shape) < intensity * (rate * dt)).astype(intensity.dtype)


def first_spike_time(lif: LIF, drive: float) -> float:
    """The analytic time (s) a neuron at reset under a constant ``drive`` (V) takes to reach threshold: tau_v ln((D -
    v_reset) / (D - v_th)); inf when D <= v_th (it never fires)."""
    if drive <= lif.v_th:
        return math.inf
    return lif.tau_v * math.log((drive - lif.v_reset) / (drive - lif.v_th))
