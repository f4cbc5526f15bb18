"""Sampling by stochastic synapses: the units and the Gibbs sampler of a synaptic sampling machine
(:mod:`neurosim.rules.s2m`; Neftci, Pedroni, Joshi, Al-Shedivat & Cauwenberghs 2016, "Stochastic synapses enable
efficient brain-inspired learning machines", Frontiers in Neuroscience 10:241).

Units are binary (z in {0, 1}; a spike in a time bin) and deterministic threshold units: all the randomness is in
the synapses, each of which transmits with probability 1 - p and blanks out with probability p (``blank_out``),
drawn afresh for every synapse, every example and every update of the unit:

    u_i = Σ_j m_ij W_ij z_j + b_i,    m_ij ~ Bernoulli(1 - p),    z_i = 1 if u_i > 0 else 0.

Given the other layer, the units of a layer are independent (their masks are), so a bipartite network samples by
blocks: all hidden units given the visible ones, then all visible ones given the hidden (block Gibbs sampling). The
probability that a unit fires is that of a weighted sum of Bernoulli variables exceeding -b_i (for many inputs close
to the erf of the paper's eq 5, with mean (1 - p) Σ W z + b and variance p (1 - p) Σ W² z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import NeurosimError
from .settings import setting


class SamplingError(NeurosimError, ValueError):
    """Sampling settings that cannot be used; the message names the value."""


@dataclass(frozen=True)
class Sampling:
    """Settings of a synaptic sampling machine's sampler and training (counts of block-Gibbs steps; p a
    probability)."""

    blank_out: float = setting(0.5, "Probability p that a synapse fails to transmit, per synapse and update.")
    steps: int = setting(1, "Block-Gibbs steps of each training phase (data, then model: CD-k's k).")
    predict_steps: int = setting(10, "Block-Gibbs steps of a prediction (labels counted over them).")

    def __post_init__(self) -> None:
        if not (math.isfinite(self.blank_out) and 0 <= self.blank_out < 1):
            raise SamplingError(f"blank_out={self.blank_out}: a probability in [0, 1) (1 blanks every synapse)")
        for name in ("steps", "predict_steps"):
            if getattr(self, name) < 1:
                raise SamplingError(f"{name}={getattr(self, name)}: at least one step")

    @property
    def keep(self) -> float:
        """The probability a synapse transmits, 1 - p."""
        return 1.0 - self.blank_out


def transmitting(shape: tuple, keep: float, rng: np.random.Generator) -> np.ndarray:
    """A fresh mask m ~ Bernoulli(keep) of ``shape`` (uint8 or bool, 1 where the synapse transmits), drawn from
    random bytes where keep is a multiple of 1/256: each bit of a byte for keep = 1/2 (eight synapses a byte), a
    byte below 256 keep otherwise, both exact; any other keep compares float32 uniforms with it (a resolution of
    2^-24). The bytes are 3-15x cheaper to draw than the uniforms, and drawing is most of a sampling step."""
    size = int(np.prod(shape))
    if keep == 0.5 and size % 8 == 0:
        return np.unpackbits(np.frombuffer(rng.bytes(size // 8), dtype=np.uint8)).reshape(shape)
    level = keep * 256
    if level == int(level):
        return np.frombuffer(rng.bytes(size), dtype=np.uint8).reshape(shape) < int(level)
    return rng.random(shape, dtype=np.float32) < keep


def drive(z: np.ndarray, weight: np.ndarray, keep: float, rng: np.random.Generator) -> np.ndarray:
    """Σ_j m_ij W_ij z_j for each example (B, n_out), with a fresh mask m ~ Bernoulli(keep) per synapse and
    example (:func:`transmitting`): ``z`` (B, n_in) of 0 and 1, ``weight`` (n_in, n_out). Only the synapses of
    active inputs (z_j = 1) carry anything, so masks are drawn for those alone: each example's active inputs
    gathered into a row padded to the batch's largest count (MNIST pixels: about 150 of 784)."""
    if keep == 1.0:
        return z @ weight
    active = z != 0
    count = active.sum(axis=1)
    width = int(count.max()) if len(count) else 0
    if width == 0:
        return np.zeros((z.shape[0], weight.shape[1]), dtype=weight.dtype)
    order = np.argsort(~active, axis=1, kind="stable")[:, :width]  # each row's active inputs first
    present = np.arange(width) < count[:, None]  # (B, width): a real input, not padding
    rows = weight[order]  # (B, width, n_out), a copy: masked in place
    np.multiply(rows, transmitting(rows.shape, keep, rng), out=rows)
    return np.einsum("bk,bki->bi", present.astype(weight.dtype), rows, optimize=True)


def fire(u: np.ndarray) -> np.ndarray:
    """The threshold units: 1 where u > 0, else 0 (the dtype of ``u``)."""
    return (u > 0).astype(u.dtype)
