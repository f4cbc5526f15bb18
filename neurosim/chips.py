"""A trained network tested on chips without retraining: ``neurosim evaluate RUN --hardware H``.

The run's stored network is programmed onto chips of the hardware ``H`` (:mod:`neurosim.hardware`): onto the
store's levels and each device's bounds (:meth:`~neurosim.hardware.Devices.program`), then each device's target
conductance with its programming noise, its fixed variation and stuck-at fault; read at each time after
programming with its drift and 1/f noise (:mod:`neurosim.hardware.drift`), with the read noise, mismatch and ADC of
every settle; and the test split is classified by the run's own engine and rule, from rest. Each chip is one
repeat, its draws from the seed sequence (seed, repeat); a programming's draws are the same at every time.

Results: :class:`ChipEvaluation` (test error per chip and time), written as HDF5 (``neurosim evaluate -o``,
:func:`save_evaluation`) and a figure of the error against time.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .build import controller_of
from .config import make_config
from .data import check_same_data, load_dataset
from .hardware import Devices, Hardware, load_hardware
from .hardware.devices import ChipAt
from .store import Run, write_atomically
from .training import evaluate

#: Seconds per unit of a time given as text (``--drift-time 1h,1d,1y``).
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 365.25 * 86400.0}


def parse_times(text: str) -> tuple[float, ...]:
    """Times after programming, in seconds, from ``0,1h,1d,1y`` (a number with one of the units s, m, h, d, w, y,
    or none: seconds); :class:`ValueError` naming a bad entry."""
    times = []
    for entry in str(text).split(","):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([smhdwy]?)\s*", entry)
        if not match:
            raise ValueError(f"drift time {entry.strip()!r}: a number of seconds, or with one of the units "
                             f"{', '.join(UNITS)} (e.g. 0,1h,1d,1y)")
        times.append(float(match.group(1)) * UNITS.get(match.group(2) or "s"))
    if len(set(times)) != len(times):
        raise ValueError(f"drift times {text!r}: a time listed twice")
    return tuple(sorted(times))


@dataclass
class ChipEvaluation:
    """Test error of one stored network on ``chips`` chips (rows) at ``times`` seconds after programming
    (columns); ``silent``: output units silent on every test example; ``hardware``: the chips' settings."""

    times: tuple[float, ...]
    errors: np.ndarray
    silent: np.ndarray
    hardware: Hardware
    seed: int
    n_test: int

    @property
    def mean(self) -> np.ndarray:
        return self.errors.mean(axis=0)

    @property
    def spread(self) -> np.ndarray:
        """The standard deviation over chips (0 for one chip)."""
        return self.errors.std(axis=0, ddof=1) if len(self.errors) > 1 else np.zeros(len(self.times))


def evaluate_on_chips(run: Run, hardware, times=(0.0,), chips: int = 1, seed: int = 0, data_dir: str | None = None,
                      n_test: int | None = None, progress=None, compensate: bool = False) -> ChipEvaluation:
    """The test error of ``run``'s stored network programmed onto ``chips`` chips of ``hardware`` (a preset name, a
    TOML file, a dict or a :class:`~neurosim.hardware.Hardware`), read at each of ``times`` (seconds after
    programming; the module docstring). ``n_test``: the first examples of the test split (default: the run's);
    ``progress(chip, time, error)`` is called after each evaluation; ``compensate``: global drift compensation
    (:class:`~neurosim.hardware.devices.ChipAt`)."""
    hardware = load_hardware(hardware)
    if chips < 1:
        raise ValueError(f"repeats={chips}: at least one chip")
    config = make_config(**{**run.config, "hardware": hardware.to_dict(), "device": "cpu"})
    data = load_dataset(config.dataset, data_dir or config.data_dir, config.n_train, n_test or config.n_test)
    check_same_data(run.data_digest, data, data_dir or config.data_dir)
    x, y = data.x_test.astype(config.dtype), data.y_test
    # the engine, rates and rule of the run; its hardware is each chip's (ChipAt), so none is drawn here
    controller = controller_of(dataclasses.replace(config, hardware=Hardware()), run.network, run.edges,
                               run.rule_parameters)
    errors = np.zeros((chips, len(times)))
    silent = np.zeros((chips, len(times)), dtype=np.int64)
    for chip in range(chips):
        devices = Devices(hardware, run.network, config.circuit, np.random.default_rng([seed, chip]))
        stored = run.network.copy()
        devices.program(stored)  # onto the store's levels and each device's bounds
        for j, time in enumerate(times):
            read_rng = np.random.default_rng([seed, chip, j, 1])
            at = ChipAt(devices, stored, time, [seed, chip, 0], read_rng, compensate)
            result = evaluate(dataclasses.replace(controller, hardware=at), stored, x, y, noise_rng=read_rng)
            errors[chip, j], silent[chip, j] = result.error, result.silent_outputs
            if progress is not None:
                progress(chip, time, result.error)
    return ChipEvaluation(tuple(times), errors, silent, hardware, seed, len(x))


def save_evaluation(path: str | Path, results: list[ChipEvaluation], run_path: str) -> None:
    """Write ``results`` (one per hardware variant, the same times) as an HDF5 file, atomically: ``times``
    (seconds), ``bits`` (the weight store's, per variant), ``errors`` and ``silent_outputs`` (variants, chips,
    times); attributes ``run``, ``hardware`` (JSON list, per variant), ``seed``, ``n_test``."""
    def write(f: h5py.File) -> None:
        f.create_dataset("times", data=np.asarray(results[0].times, dtype=np.float64))
        f.create_dataset("bits", data=np.asarray([r.hardware.storage.bits for r in results], dtype=np.int64))
        f.create_dataset("errors", data=np.stack([r.errors for r in results]))
        f.create_dataset("silent_outputs", data=np.stack([r.silent for r in results]))
        f.attrs.update(run=str(run_path), hardware=json.dumps([r.hardware.to_dict() for r in results]),
                       seed=results[0].seed, n_test=results[0].n_test)

    write_atomically(path, write)


def time_text(seconds: float) -> str:
    """``seconds`` in the largest unit of :data:`UNITS` it fills (``1 d``, ``3.2 h``, ``0 s``)."""
    for unit in ("y", "w", "d", "h", "m"):
        if seconds >= UNITS[unit]:
            return f"{seconds / UNITS[unit]:.3g} {unit}"
    return f"{seconds:.3g} s"
