"""Training metrics of the paper: error rate, per-layer training rates (eqs 20-21) and their spread (eqs 22-23).

All functions are pure and work on plain arrays.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .backend import array_namespace, to_numpy
from .network import Network


def error_rate(prediction: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of examples whose predicted class differs from the label."""
    return float(np.mean(np.asarray(prediction) != np.asarray(labels))) if len(labels) else float("nan")


def final_results(history: dict) -> dict:
    """What a run ended with, from its per-epoch ``history`` (lists keyed by the run file's /history fields):
    ``train_error`` and ``test_error`` of the last epoch, ``best_test_error`` over the epochs, and the last
    epoch's ``silent_outputs`` (NaN in files older than the count); all NaN before the first epoch."""
    done = len(history["test_error"]) > 0
    last = {name: float(history[name][-1]) if done else float("nan")
            for name in ("train_error", "test_error", "silent_outputs")}
    return {**last, "best_test_error": float(np.min(history["test_error"])) if done else float("nan")}


def layer_pair_rms(net: Network, updates: Sequence[np.ndarray]) -> np.ndarray:
    """Eq 20: for each pair of adjacent layers (l, l+1), the root-mean-square correction of the weights between
    them in one batch, sqrt(sum_ij dw_ij^2 / (N^l N^(l+1))); ``updates`` in the order of
    :meth:`Network.parameters`. Intralayer and layer-skipping weights are ignored, as in the paper. Shape
    (n_layers - 1,), input-side pair first; NaN for a pair with no dense block."""
    rms = np.full(net.n_layers - 1, np.nan)
    pairs = [(block.lo, update) for block, update in zip(net.blocks, updates) if block.hi == block.lo + 1]
    if pairs:
        xp = array_namespace(pairs[0][1])
        values = to_numpy(xp.stack([xp.sqrt(xp.mean(update * update)) for _, update in pairs]))
        rms[[lo for lo, _ in pairs]] = values
    return rms


def moving_average(values: np.ndarray, n: int) -> np.ndarray:
    """Eq 21: the mean of ``values[b-n .. b+n]`` along axis 0 for every b. Near the ends the window is cut to the
    entries that exist (the paper leaves the ends undefined)."""
    values = np.asarray(values, dtype=np.float64)
    if n < 0:
        raise ValueError(f"n={n}: the half-width of the window cannot be negative")
    count = len(values)
    csum = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    lo = np.clip(np.arange(count) - n, 0, count)
    hi = np.clip(np.arange(count) + n + 1, 0, count)
    width = (hi - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return (csum[hi] - csum[lo]) / width


def total_correction(rms_samples: np.ndarray) -> np.ndarray:
    """Eq 22: the sum over the measured batches of each pair's RMS correction; ``rms_samples`` shape
    (n_measurements, n_pairs)."""
    return np.nansum(np.asarray(rms_samples, dtype=np.float64), axis=0)


def spread(total: np.ndarray) -> float:
    """Eq 23: how unevenly the pairs of layers train, from each pair's total correction (eq 22), input side first.

    The pair that ends in the output layer is left out (the paper assumes it trains fastest whatever the
    topology). Of the remaining m pairs sorted by total correction, with L = floor(m / 2):
    spread = (sum of the L largest) / (sum of the L smallest); for odd m the median pair is in neither sum. For
    784-500-500-500-10 (m = 3) this is the fastest deep pair over the slowest. NaN with fewer than 2 deep pairs
    or no correction at all; infinite when the slowest pairs did not move but others did.
    """
    deep = np.sort(np.asarray(total, dtype=np.float64)[:-1])
    half = len(deep) // 2
    if half == 0:
        return float("nan")
    fast, slow = float(deep[-half:].sum()), float(deep[:half].sum())
    if slow == 0.0:
        return float("inf") if fast > 0 else float("nan")
    return fast / slow


def applied_share(proposed_rms, applied_rms) -> np.ndarray:
    """Per layer pair, how much of the rule's proposed change the weight store applied: the summed applied RMS
    (eq 20 of the changes the devices made) over the summed proposed RMS, over the recorded batches; NaN for a
    pair with nothing proposed. 1 without hardware models; under nearest rounding an update below half a weight
    step is lost, so a share well below 1 says most updates were; under stochastic rounding each update becomes
    a whole step with probability |dW| / step, right in expectation, and the share above 1 is that noise. Inputs
    (batches, pairs) as in a run file."""
    proposed = np.nansum(np.asarray(proposed_rms, dtype=float).reshape(len(proposed_rms), -1), axis=0)
    applied = np.nansum(np.asarray(applied_rms, dtype=float).reshape(len(applied_rms), -1), axis=0)
    usable = (proposed > 0) & np.isfinite(proposed)  # inf where a huge update's squares overflowed
    return np.divide(applied, proposed, out=np.full_like(proposed, np.nan), where=usable)


def lost_update_pairs(proposed_rms, applied_rms) -> list[int]:
    """The layer pairs (index k: layers k and k+1, input side first) whose weights never changed although the
    rule proposed changes: the applied RMS (eq 20 of the changes the devices made) is 0 in every recorded batch
    while the proposed RMS is not. Under nearest rounding an update below half a weight step is lost; this finds
    a run where every one was. ``proposed_rms`` / ``applied_rms``: (batches, pairs), as in a run file."""
    proposed, applied = np.asarray(proposed_rms, dtype=float), np.asarray(applied_rms, dtype=float)
    if proposed.size == 0:
        return []
    lost = np.all(applied == 0, axis=0) & np.any(proposed > 0, axis=0)
    return [int(k) for k in np.flatnonzero(lost)]
