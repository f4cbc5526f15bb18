"""Training: the epoch loop over a data set, and the recorder of what a run file holds per batch and per epoch
(errors, residuals, per-layer rates, checkpoints). The objects it runs come from :mod:`neurosim.build`; each
epoch draws its data order, signs of beta and hardware noise from the builder's streams, so a resumed run
continues exactly as an uninterrupted one."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from .backend import array_namespace, is_torch_array, to_device, to_numpy, torch_cuda
from .build import STREAM_NOISE, STREAM_ORDER, STREAM_SIGN, network_and_controller, new_run, stream
from .config import TrainConfig, resolved_sizes
from .controller import Controller
from .data import Dataset, check_same_data, load_dataset
from .errors import NeurosimError
from .metrics import error_rate, layer_pair_rms
from .network import Network, without_skips
from .store import Run, RunFileError, save_run, writer_lock


class TrainingDiverged(NeurosimError, RuntimeError):
    """The network's state or parameters stopped being finite; the message names epoch, batch and quantity."""


#: Examples per free-phase batch when measuring the test error (each example relaxes independently).
EVAL_BATCH = 1000


def remove_skips(run: Run) -> None:
    """Remove the layer-skipping connections of ``run``'s network (:func:`~neurosim.network.without_skips`) and
    record when (``skip_removed_after``, epochs) and how many (``n_skip_removed``) in its topology."""
    run.topology.update(skip_removed_after=run.epochs_done, n_skip_removed=len(run.network.sparse))
    run.network = without_skips(run.network)
    if "sparse" in run.pairs:  # single-sided pairs: the removed connections' devices go with them
        run.pairs["sparse"] = run.pairs["sparse"][:0]


#: An output unit is silent on an example when its free equilibrium is below this (volts, or state units).
SILENT_BELOW = 1e-3


@dataclass(frozen=True)
class Evaluation:
    """The free-phase predictions on a test set: ``error`` (fraction wrong) and ``silent_outputs``, the number
    of output units below :data:`SILENT_BELOW` on every example. A silent unit's class is never predicted, and
    the nudge cannot wake it while its drive stays below -beta (its nudged state stays at 0, so its weights get no
    update). docs/reproduction.md has the paper's small-world network losing 6 of its 10 outputs this way at a
    rate of .02 on the output pair, and keeping all or all but one at .002."""

    error: float
    silent_outputs: int


def evaluate(controller: Controller, net: Network, x: np.ndarray, y: np.ndarray, device: str = "cpu",
             noise_rng: np.random.Generator | None = None, states: np.ndarray | None = None) -> Evaluation:
    """Error rate and silent output units of the free-phase prediction on (x, y); ``noise_rng`` draws the
    hardware's read noise. ``states`` (len(x), n_free): persistent test states, each example's free phase starts
    from its row, and the row is replaced by the new free equilibrium (as the paper's code evaluates); None: every
    free phase starts from zero."""
    predictions, loudest = [], []
    for i in range(0, len(x), EVAL_BATCH):
        rows = slice(i, i + EVAL_BATCH)
        start = None if states is None else to_device(states[rows], device)
        prediction, free = controller.predict(net, to_device(x[rows], device), noise_rng, start)
        if states is not None:
            states[rows] = to_numpy(free.state)
        xp = array_namespace(free.state)
        predictions.append(to_numpy(prediction))
        loudest.append(to_numpy(xp.max(free.state[:, net.output_slice], axis=0)))
    silent = int(np.count_nonzero(np.max(loudest, axis=0) < SILENT_BELOW))
    return Evaluation(error=error_rate(np.concatenate(predictions), y), silent_outputs=silent)


def _check_finite(net: Network, epoch: int) -> None:
    """Raise :class:`TrainingDiverged` naming the first parameter array of ``net`` that is not finite."""
    names = [f"weights {b.lo}-{b.hi}" for b in net.blocks] + ["skip weights", "biases"]
    for name, param in zip(names, net.parameters()):
        if not np.all(np.isfinite(to_numpy(param))):
            raise TrainingDiverged(f"epoch {epoch + 1}: the {name} are not finite (NaN or Inf); the run file keeps "
                                   "the last finite epoch")


def _batch_summary(
    epoch: int, batch: int, result, net: Network, labels: np.ndarray, max_residual: float | None = None
) -> tuple[float, float, int]:
    """Largest free and nudged residual and the number of wrong free-phase predictions of a batch, fetched from
    the device in one transfer; raises :class:`TrainingDiverged` if a state or a bias is not finite (a NaN in
    any state makes its residual NaN), or if a phase's residual exceeds ``max_residual``."""
    xp = array_namespace(result.free.state)
    prediction = xp.argmax(result.free.state[:, net.output_slice], axis=1)
    summary = xp.stack([xp.max(result.free.residual), xp.max(result.nudged.residual), xp.sum(net.bias)])
    summary, prediction = to_numpy(summary), to_numpy(prediction)
    for name, value in zip(("free_state", "nudged_state", "bias"), summary):
        if not np.isfinite(value):
            raise TrainingDiverged(f"epoch {epoch + 1}, batch {batch + 1}: {name} is not finite (NaN or Inf)")
    for phase, value in zip(("free", "nudged"), summary[:2]):
        if max_residual is not None and value > max_residual:
            raise TrainingDiverged(
                f"epoch {epoch + 1}, batch {batch + 1}: the {phase} phase did not settle (residual {value:.3g} > "
                f"max_residual={max_residual:g})"
            )
    return float(summary[0]), float(summary[1]), int(np.count_nonzero(prediction != labels))


@dataclass
class EpochTally:
    """What an epoch adds up over its batches for the run file's history: wrong free-phase predictions, engine
    steps (in the engine's :attr:`~neurosim.engines.base.Relaxation.step_unit`), simulator seconds (NaN without
    an external simulator) and the largest residual of each phase."""

    wrong: int = 0
    iterations: int = 0
    simulator_seconds: float = math.nan
    free_max: float = 0.0
    nudged_max: float = 0.0


def _train_epoch(config: TrainConfig, run: Run, net: Network, controller: Controller, data: Dataset, epoch: int,
                 noise_rng: np.random.Generator, progress: bool) -> EpochTally:
    """One epoch of training steps in the epoch's seeded order and signs of beta; records every batch in
    ``run`` (:func:`_record_batch`) and the warm-start states (persistent runs)."""
    device, n_examples = config.device, len(data.x_train)
    n_batches = math.ceil(n_examples / config.batch_size)
    eye = np.eye(data.n_classes, dtype=np.dtype(config.dtype))
    order = stream(config.seed, STREAM_ORDER, epoch).permutation(n_examples)
    sign_rng = stream(config.seed, STREAM_SIGN, epoch)
    tally = EpochTally()
    bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False)
    for k in bar:
        idx = order[k * config.batch_size : (k + 1) * config.batch_size]
        y = data.y_train[idx]
        x = to_device(data.x_train[idx].astype(config.dtype), device)
        start = None if run.free_states is None else to_device(run.free_states[idx], device)
        result = controller.step(net, x, to_device(eye[y], device), sign_rng, start, noise_rng)
        if run.free_states is not None:
            run.free_states[idx] = to_numpy(result.free.state)
        summary = _batch_summary(epoch, k, result, net, y, config.max_residual)
        _record_batch(run, tally, net, result, summary, epoch * n_batches + k, config.rate_every)
        bar.set_postfix(train_err=f"{tally.wrong / min((k + 1) * config.batch_size, n_examples):.3f}", refresh=False)
    bar.close()
    return tally


def _record_batch(run: Run, tally: EpochTally, net: Network, result, summary, global_batch: int,
                  rate_every: int) -> None:
    """A batch's entries in the run file (residuals, beta, steps, settling times; eq 20 every ``rate_every``
    batches) and its share of the epoch's tally. ``summary``: :func:`_batch_summary`'s."""
    free_res, nudged_res, wrong = summary
    tally.wrong += wrong
    tally.free_max, tally.nudged_max = max(tally.free_max, free_res), max(tally.nudged_max, nudged_res)
    tally.iterations += result.free.steps + result.nudged.steps
    for key, value in (("free_residual", free_res), ("nudged_residual", nudged_res), ("beta", result.beta),
                       ("free_steps", result.free.steps), ("nudged_steps", result.nudged.steps)):
        run.batches[key].append(value)
    for phase in ("free", "nudged"):
        relaxation = getattr(result, phase)
        run.batches[f"{phase}_settling_time"].append(relaxation.settling_time)
        if not math.isnan(relaxation.simulator_seconds):
            tally.simulator_seconds = np.nansum([tally.simulator_seconds, relaxation.simulator_seconds])
    if global_batch % rate_every == 0:
        run.rate_batches.append(global_batch)
        run.rate_rms.append(layer_pair_rms(net, result.updates).tolist())
        run.applied_rms.append(layer_pair_rms(net, result.applied).tolist())


def train(
    config: TrainConfig,
    *,
    out: str | Path | None = None,
    run: Run | None = None,
    data: Dataset | None = None,
    progress: bool = True,
    on_epoch: Callable[[Run], None] | None = None,
    keep_existing: bool = False,
) -> Run:
    """Train for ``config.epochs`` epochs, starting from ``run`` (resume) or a new run.

    Each epoch: shuffle (seeded), one :meth:`Controller.step` per batch, the training error of the free-phase
    predictions made during the epoch, the test error after it, and a checkpoint of the whole run to ``out``
    (also one before the first epoch). A :class:`TrainingDiverged` raised during an epoch leaves ``out`` at the
    last completed epoch.
    ``data`` replaces loading the configured data set (tests).

    While it trains, the process holds ``out``'s writer lock (:func:`~neurosim.store.writer_lock`): a second
    training or sweep point writing the same file is refused at its start. ``keep_existing``: refuse to start a
    new run (``run`` None) over an existing ``out``, checked under the lock (the command line's answer to two
    trainings started together on one new file). A new run that replaces an existing ``out`` writes no epoch-0
    checkpoint: the old file stays until the new run has its first complete epoch (a new run that fails or is
    killed in its first epoch leaves the old one as it was).
    """
    if out is None:
        with _overflow_is_divergence():
            return _train(config, None, run, data, progress, on_epoch)
    with writer_lock(out), _overflow_is_divergence():
        replacing = run is None and Path(out).exists()
        if keep_existing and replacing:
            raise FileExistsError(f"{out} exists: --resume {out} to continue it, --overwrite to replace it")
        return _train(config, out, run, data, progress, on_epoch, first_checkpoint=not replacing)


def _overflow_is_divergence():
    """numpy's overflow and invalid-value warnings silenced during training: a state or parameter they make
    infinite or NaN is caught by the checks after every batch and epoch, which name where
    (:class:`TrainingDiverged`), instead of a screen of RuntimeWarnings first (a huge beta or rate)."""
    return np.errstate(over="ignore", invalid="ignore")


def _train(config: TrainConfig, out, run: Run | None, data: Dataset | None, progress: bool,
           on_epoch: Callable[[Run], None] | None, first_checkpoint: bool = True) -> Run:
    """:func:`train`'s epochs, ``out``'s lock held."""
    if config.device == "cuda":
        torch_cuda()  # fail before any work if the GPU cannot be used
    data = data or load_dataset(config.dataset, config.data_dir, config.n_train, config.n_test)
    if run is None:
        run = new_run(config, data)
    else:
        check_same_data(run.data_digest, data, config.data_dir or config.dataset)
        resolved_sizes(config, data.n_inputs, data.n_classes)
        run.config = config.to_dict()
        run.data_digest = run.data_digest or data.digest  # an older file: the data it goes on with
    net, controller = network_and_controller(config, run)
    controller.check_ready()  # e.g. ngspice missing: say so before the first file is written
    if config.persistent:
        if run.free_states is None:
            run.free_states = np.zeros((len(data.x_train), net.n_free), dtype=np.dtype(config.dtype))
        if run.test_states is None:
            run.test_states = np.zeros((len(data.x_test), net.n_free), dtype=np.dtype(config.dtype))
    else:  # also a run continued with cold starts: its stored states are not starts any more
        run.free_states = run.test_states = None
    for name, states, n in (("state/free", run.free_states, len(data.x_train)),
                            ("state/test", run.test_states, len(data.x_test))):
        if states is not None and len(states) != n:
            raise RunFileError(f"{out or 'the run'}: {name} holds the states of {len(states)} examples, the data set "
                               f"has {n}: it was trained on other data")
    if out is not None and run.epochs_done == 0 and first_checkpoint:
        save_run(out, run)  # a checkpoint at epoch 0: a run killed during its first epoch can be resumed

    with _blas_threads_for(net):
        _epochs(config, out, run, data, progress, on_epoch, net, controller)
    return run


#: Weight entries (all blocks and skips) below which one BLAS thread is faster than two: on a shared 2-core
#: machine the threads of small products wait on each other (the default digits run: 25 s on one thread against
#: 32 s on two beside a busy process, the same result).
SMALL_NETWORK = 100_000


def _blas_threads_for(net: Network):
    """One BLAS thread for a small network (threadpoolctl), the library's default otherwise."""
    if is_torch_array(net.bias):  # not numpy: BLAS threads are not ours to set (and ``size`` is a method)
        return contextlib.nullcontext()
    entries = sum(b.weight.size for b in net.blocks) + len(net.sparse)
    if entries < SMALL_NETWORK:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    return contextlib.nullcontext()


def _epochs(config: TrainConfig, out, run: Run, data: Dataset, progress: bool, on_epoch, net: Network,
            controller: Controller) -> None:
    """The epochs of :func:`_train`, from ``run.epochs_done`` to ``config.epochs``."""
    device = config.device
    for epoch in range(run.epochs_done, config.epochs):
        if epoch == config.remove_skip_after and len(run.network.sparse):
            remove_skips(run)
            net, controller = network_and_controller(config, run)
        started = time.perf_counter()
        noise_rng = stream(config.seed, STREAM_NOISE, epoch)
        tally = _train_epoch(config, run, net, controller, data, epoch, noise_rng, progress)
        train_seconds = time.perf_counter() - started
        test = evaluate(controller, net, data.x_test.astype(config.dtype), data.y_test, device, noise_rng,
                        run.test_states)
        for key, value in (
            ("epoch", epoch + 1),
            ("train_error", tally.wrong / len(data.x_train)),
            ("test_error", test.error),
            ("silent_outputs", test.silent_outputs),
            ("train_seconds", train_seconds),
            ("test_seconds", time.perf_counter() - started - train_seconds),
            ("free_residual_max", tally.free_max),
            ("nudged_residual_max", tally.nudged_max),
            ("iterations", tally.iterations),
            ("simulator_seconds", tally.simulator_seconds),
        ):
            run.history[key].append(value)
        if device != "cpu":
            run.network = net.to("cpu")
        _check_finite(run.network, epoch)  # never checkpoint a network the last batch made NaN
        if out is not None:
            save_run(out, run)
        if on_epoch is not None:
            on_epoch(run)

