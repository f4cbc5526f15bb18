"""The ``neurosim`` command line: ``train``, ``bitdepth``, ``sweep``, ``report``, ``export``, ``waveform``, ``evaluate``
and ``info``; every error a user causes is answered in one line (:class:`OneLineErrors`).

Option defaults live in :class:`neurosim.config.TrainConfig`; the command passes on only the options given.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import sys
import typing
from pathlib import Path

import click
import numpy as np

from .circuit import Circuit
from .crossbars import CROSSBARS
from .config import ConfigError, TrainConfig, foreign_settings, load_config, make_config
from .data import DATASETS
from .errors import NeurosimError
from .engines.base import NUDGES
from .engines import ENGINES, takes_circuit
from .export import export_netlist
from .hardware import PRESETS, HardwareError, load_hardware
from .quantize import ROUNDING
from .rules import RULES
from .rules.feedforward import OUTPUT_ERRORS
from .metrics import applied_share, lost_update_pairs, spread, total_correction
from .settings import option_name, settings_fields, values_of
from .store import load_run
from .training import SILENT_BELOW, train

#: Errors answered in one line: neurosim's own, and the system's about files (a missing directory, a path
#: through a file, no permission, a full disk), which name the file.
USER_ERRORS = (NeurosimError, OSError)


def _numbers(kind, dashes: bool = False):
    """A click callback parsing '0.1,0.2' (or, with ``dashes``, sizes written '784-500-10') into a tuple; a minus
    sign stays a sign otherwise ('--bits=-2' is the number -2, for the configuration to refuse)."""

    def parse(ctx, param, value):
        if value is None:
            return None
        parts = re.split(r"[-,]" if dashes else ",", value.strip()) if value.strip() else []
        parts = [p for q in parts for p in (q.split() or [q])]  # '0.1 0.2' as '0.1,0.2'
        if not parts or any(not p for p in parts):
            raise click.BadParameter(f"{value!r}: an empty entry; give {kind.__name__} values separated by ','"
                                     + (" or '-'" if dashes else ""))
        try:
            return tuple(kind(p) for p in parts)
        except ValueError:
            raise click.BadParameter(f"{value!r}: expected {kind.__name__} values separated by ','"
                                     + (" or '-'" if dashes else "")) from None

    return parse


class UserPath(click.Path):
    """A path option or argument; an empty one is refused (it would mean the current directory, or a file
    named after nothing)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail(f"{value!r}: an empty path", param, ctx)
        return super().convert(value, param, ctx)


def _option(*decls, help: str, **kwargs):
    """A click option for a :class:`TrainConfig` field, its help ending in the field's default as the
    configuration defines it (one place), e.g. ``[0.5]``."""
    field = decls[0].split("/")[0].removeprefix("--").replace("-", "_")
    return click.option(*decls, help=f"{help.removesuffix('.')} [{_shown(CONFIG_DEFAULTS[field])}].", **kwargs)


#: The default of every configuration field that has one of its own (resolved ones, like nudge, are None).
CONFIG_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _shown(default) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float):
        return f"{default:g}".replace("e+0", "e").replace("e-0", "e-")
    return str(default)


def setting_options(owners: dict, help_suffix: str | None = None, prefix: bool = True) -> list:
    """One click option per setting of the classes ``owners`` (label -> settings class: the engines, or the
    circuit), named, typed and documented by the classes' :func:`~neurosim.settings.setting` fields; a setting
    several classes share (``--n-free``) is one option, its help naming them and their defaults.
    ``help_suffix``: the bracket ending the help (default: the defaults); ``prefix``: begin the help with the
    labels of the classes that take the setting."""
    shared: dict[str, list] = {}
    for label, cls in owners.items():
        hints = typing.get_type_hints(cls)
        for f in settings_fields(cls):
            shared.setdefault(option_name(f), []).append((label, f, hints[f.name]))
    options = []
    for name, owned in shared.items():
        _, _, kind = owned[0]
        by_help: dict[str, list] = {}  # owners that describe it alike share one phrase
        for label, f, _ in owned:
            by_help.setdefault(f.metadata["help"], []).append((label, f))
        phrases = []
        for text, sharing in by_help.items():
            defaults = [_shown(f.default) for _, f in sharing]
            shown = help_suffix or (defaults[0] if len(set(defaults)) == 1 else
                                    ", ".join(f"{label} {d}" for (label, _), d in zip(sharing, defaults)))
            where = f"{', '.join(label for label, _ in sharing)}: " if prefix else ""
            phrases.append(f"{where}{text} [{shown}]")
        text = "; ".join(phrases) + "."
        if kind is bool:
            options.append(click.option(f"{name}/--no-{name.removeprefix('--')}", default=None, help=text))
        elif typing.get_origin(kind) is typing.Literal:
            options.append(click.option(name, type=click.Choice(typing.get_args(kind)), help=text))
        else:
            options.append(click.option(name, type=kind, help=text))
    return options


#: The engines' settings as options (neurosim.engines.ENGINES), passed on by their top-level names for
#: :func:`neurosim.config.nest_flat` to nest in the engine table; the circuit's likewise.
ENGINE_OPTIONS = setting_options(ENGINES)


def circuit_options(help_suffix: str | None = None, prefix: bool = True) -> list:
    """The circuit's settings as options, its crossbar's kind (``--crossbar``) and every kind's settings
    (:data:`neurosim.crossbars.CROSSBARS`, each labelled with the kinds that take it)."""
    kinds = click.option("--crossbar", type=click.Choice(tuple(CROSSBARS)),
                         help=f"How the devices meet the neurons: {', '.join(CROSSBARS)} [{help_suffix or 'ideal'}].")
    return [*setting_options({"ode, spice": Circuit}, help_suffix, prefix), kinds,
            *setting_options({f"crossbar {name}": kind for name, kind in CROSSBARS.items()}, help_suffix, True)]


CIRCUIT_OPTIONS = circuit_options()


TRAIN_OPTIONS = [
    _option("--dataset", type=click.Choice(DATASETS), help="Data set."),
    click.option("--data-dir", type=UserPath(file_okay=False), help="Directory with the IDX files (MNIST)."),
    click.option("--n-train", type=int, help="Use the first N training examples."),
    click.option("--n-test", type=int, help="Use the first N test examples."),
    _option("--topology", type=click.Choice(["layered", "small-world"]), help="Topology."),
    click.option("--sizes", callback=_numbers(int, dashes=True), help="Neurons per layer, e.g. 784-500-500-500-10."),
    click.option("--rewire-n", type=int, help="Connections to rewire (small-world)."),
    click.option("--rewire-p", type=float, help="Fraction to rewire, paper footnote 2 [0.08]."),
    _option("--rewire-mode", type=click.Choice(["replace", "add"]), help="Replace or add."),
    click.option("--intralayer/--no-intralayer", default=None, help="Connect each hidden layer all-to-all."),
    click.option("--intra-init", type=float,
                 help="Intralayer and skip weights start U[-a, a]: a [0.05]; the paper's code used 0.0829."),
    _option("--epochs", type=int, help="Epochs."),
    _option("--batch-size", type=int, help="Examples per batch."),
    click.option("--lr", callback=_numbers(float), help="Learning rate, or one per layer pair: .128,.032,.008,.002"),
    click.option("--bias-lr", type=float, help="One learning rate for every bias [each layer's rate]."),
    _option("--beta", type=float, help="Clamping factor beta."),
    click.option("--nudge", type=click.Choice(NUDGES),
                 help="Second phase: weak (F = E + beta C), clamped, or reference (the paper's code; euler, "
                      "fixedpoint) [reference with euler and fixedpoint, else weak]."),
    click.option("--random-sign/--no-random-sign", default=None,
                 help="Random sign of beta per batch [on with --nudge reference, else off]."),
    click.option("--engine", type=click.Choice(tuple(ENGINES)),
                 help="Relaxation engine [euler]; spice needs ngspice. With --config, the file's engine settings "
                      "that this engine also takes carry over."),
    *ENGINE_OPTIONS,
    _option("--persistent/--no-persistent", default=None, help="Warm-start free phases per example."),
    *CIRCUIT_OPTIONS,
    _option("--dtype", type=click.Choice(["float32", "float64"]), help="Floating-point type."),
    _option("--device", type=click.Choice(["cpu", "cuda"]), help="cpu (numpy) or cuda (PyTorch)."),
    _option("--cuda-graphs/--no-cuda-graphs", default=None, help="Replay phases from CUDA graphs."),
    _option("--seed", type=int, help="Seed of topology, initial weights and data order."),
    _option("--rate-every", type=int, help="Record per-layer rates (eq 20) every k batches."),
    click.option("--remove-skip-after", type=int,
                 help="Remove the layer-skipping connections after N epochs and train on [keep them]."),
    click.option("--max-residual", type=float, help="Stop if a phase ends with a residual above this [off]."),
    _option("--rule", type=click.Choice(tuple(RULES)), help="Learning rule; all but eqprop: layered topology."),
    _option("--rule-lr", type=float, help="Rate of the rule's own learned parameters (bfa, bdfa, sg, csg)."),
    _option("--output-error", type=click.Choice(OUTPUT_ERRORS),
            help="Output error of bp .. csg: matching (no dead output units) or squared (EqProp's cost)."),
    _option("--rule-devices/--no-rule-devices", default=None,
            help="Keep the rule's own learned parameters on the hardware's devices too."),
    click.option("--hardware", help=f"Device models: a preset ({', '.join(PRESETS)}) or a TOML file [ideal]."),
    click.option("--weight-bits", type=int, help="Bits of the weight store; 0 = ideal [0]."),
    click.option("--rounding", type=click.Choice(ROUNDING), help="Rounding of updates and weights [nearest]."),
    click.option("--w-max", type=float, help="Weight range +-w_max of the store [1.0]."),
    click.option("--adc-bits", type=int, help="Bits of the readout of the states the rule multiplies; 0 = ideal."),
]

#: Command-line options that set one hardware field, and where it lives.
HARDWARE_OPTIONS = {"weight_bits": ("storage", "bits"), "rounding": ("storage", "rounding"),
                    "w_max": ("storage", "w_max"), "adc_bits": ("readout", "bits")}


def _settings(given: dict, base: dict | None = None) -> dict:
    """Configuration values from command-line options: the hardware options folded into ``hardware`` (on top
    of ``--hardware``, else of ``base``'s hardware); the engine and circuit options stay at the top level, for
    :func:`~neurosim.config.nest_flat` to put on top of the tables (and a new ``--engine`` keeps a file's engine
    settings that it takes, :func:`~neurosim.config.load_config`)."""
    values = {k: v for k, v in given.items() if k not in HARDWARE_OPTIONS}
    changes = {k: v for k, v in given.items() if k in HARDWARE_OPTIONS}
    if changes:
        start = values.get("hardware", (base or {}).get("hardware", "ideal"))
        try:
            hardware = load_hardware(start).to_dict()
        except HardwareError as err:
            raise ConfigError(f"hardware: {err}") from None
        for option, value in changes.items():
            group, name = HARDWARE_OPTIONS[option]
            hardware[group][name] = value
        values["hardware"] = hardware
    return values


def _config(config_file: str | None, given: dict) -> TrainConfig:
    """The configuration of a command: the TOML file ``config_file`` (if any) with the options ``given`` on top."""
    base = load_config(config_file) if config_file else None
    values = _settings(given, None if base is None else base.to_dict())
    config = load_config(config_file, **values) if config_file else make_config(**values)
    ignored = foreign_settings({**values, "engine": config.engine})
    if ignored:
        click.echo(f"warning: the {config.engine.name} engine has no setting "
                   f"{', '.join('--' + k.replace('_', '-') for k in ignored)}; ignored", err=True)
    return config


def _with_options(options):
    def decorate(f):
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def one_line(message: str) -> str:
    """An error message as one line: its lines joined by '; ' (after a colon, by a space)."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return "".join(line if k == 0 else (" " if lines[k - 1].endswith(":") else "; ") + line
                   for k, line in enumerate(lines))


class OneLineErrors(click.Group):
    """The command group: every error a user causes is printed as one line, ``Error: ...`` on standard error, a
    usage error too (without click's usage and hint lines); exit 1, or 2 for a usage error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            value = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except click.ClickException as err:
            click.echo(f"Error: {one_line(err.format_message())}", err=True)
            sys.exit(err.exit_code)
        sys.exit(value if isinstance(value, int) else 0)


@click.group(cls=OneLineErrors)
@click.version_option(package_name="neurosim")
def main() -> None:
    """neurosim: analog neuromorphic hardware that learns by equilibrium propagation."""


def _default_out(config: TrainConfig) -> Path:
    return Path("runs") / f"{config.topology}-{config.dataset}-seed{config.seed}.h5"


def _interrupted(out) -> None:
    """Ctrl-C during training: say what the run file holds and the command that resumes it; exit 130."""
    try:
        done = load_run(out).epochs_done
        click.echo(f"\ninterrupted: {out} holds the last checkpoint ({_epochs(done)} done); continue with\n"
                   f"  neurosim train --resume {out}", err=True)
    except (*USER_ERRORS, TypeError):
        click.echo(f"\ninterrupted before the first checkpoint: nothing saved to {out}", err=True)
    raise SystemExit(130)


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


@main.command("train")
@_with_options(TRAIN_OPTIONS)
@click.option("-o", "--out", type=UserPath(dir_okay=False), help="Run file to write, its folder created if missing [runs/TOPOLOGY-DATASET-seedS.h5].")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing run file (kept as it was until the new run's first epoch is complete).")
@click.option("--resume", type=UserPath(dir_okay=False), help="Continue the run in this file (--epochs to extend).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--config", "config_file", type=UserPath(dir_okay=False),
              help="TOML file of settings (field = value); options given on the command line override it.")
def train_command(out, overwrite, resume, quiet, config_file, **options) -> None:
    """Train a network with EqProp; write the run to an HDF5 file; print the test error."""
    given = {k: v for k, v in options.items() if v is not None}
    try:
        if resume:
            changed = sorted(set(given) - {"epochs", "remove_skip_after", "data_dir"}) + (["config"] if config_file else [])
            if changed:
                raise click.UsageError(f"--resume continues a run as configured; only --epochs, --remove-skip-after "
                                       f"and --data-dir (the same data, moved) may change, not {changed}")
            run = load_run(resume)
            if given.get("epochs", run.epochs_done) < run.epochs_done:
                raise click.UsageError(f"--epochs {given['epochs']}: {resume} has {run.epochs_done} epochs done; "
                                       "give more to train on")
            _check_later_removal(run, given.get("remove_skip_after"), resume)
            config = make_config(**{**run.config, **given})
            if out is not None and Path(out).exists() and not Path(out).samefile(resume) and not overwrite:
                raise FileExistsError(f"{out} exists and is not {resume}: give --overwrite to write the continued "
                                      "run over it, or another -o")
            out = Path(out or resume)
            if run.epochs_done >= config.epochs:
                click.echo(f"{resume} is complete ({_epochs(run.epochs_done)}): nothing to train; give --epochs N "
                           f"(more than {run.epochs_done}) to train on")
        else:
            run = None
            config = _config(config_file, given)
            if "data_dir" in given and config.dataset == "digits":
                raise click.UsageError(f"--data-dir {given['data_dir']}: the digits data set is bundled with "
                                       "scikit-learn and read from no directory; give --dataset mnist or "
                                       "fashion-mnist")
            out = Path(out) if out else _default_out(config)
            _warn_large_rate(config)
            if config.n_train is not None and config.batch_size > config.n_train:
                click.echo(f"warning: --batch-size {config.batch_size} is more than the {config.n_train} training "
                           f"examples: each epoch is one batch of {config.n_train}", err=True)
        run = train(config, out=out, run=run, progress=not quiet, keep_existing=not overwrite)
    except KeyboardInterrupt:
        _interrupted(out)
    except USER_ERRORS as err:
        raise click.ClickException(str(err)) from None
    h = run.history
    click.echo(
        f"test error {100 * h['test_error'][-1]:.2f} % (train {100 * h['train_error'][-1]:.2f} %) after "
        f"{_epochs(run.epochs_done)}; run file {out}"
    )
    _warn_lost_updates(run)
    silent = h["silent_outputs"][-1] if run.epochs_done else 0
    if silent > 0:
        reference = run.config.get("nudge") == "reference"
        cure = ("a lower rate (--lr, one value per layer pair) may keep them alive" if reference
                else "the reference nudge (--nudge reference --random-sign) can wake them, and a lower rate on the "
                     "output pair (--lr, one value per layer pair) kept most of them alive")
        click.echo(f"warning: {silent:.0f} of {run.network.sizes[-1]} output units were silent (below "
                   f"{1e3 * SILENT_BELOW:g} mV) on every test example, so their classes are never predicted; "
                   f"{cure} (docs/reproduction.md)", err=True)


#: A layer pair whose store applied less than this share of the proposed updates is named in a warning.
MOSTLY_LOST = 0.5


def _warn_lost_updates(run) -> None:
    """Name the layer pairs whose weight store applied under half of what the rule proposed (eq 20, summed over
    the recorded batches), with the numbers and the remedies; "never changed" where it applied nothing."""
    if not run.applied_rms:
        return
    share = applied_share(run.rate_rms, run.applied_rms)
    low = [k for k, v in enumerate(share) if v < MOSTLY_LOST]
    if not low:
        return
    never = set(lost_update_pairs(run.rate_rms, run.applied_rms))
    pairs = ", ".join(f"{k}-{k + 1}: " + ("never changed" if k in never else f"{100 * share[k]:.0f} % applied")
                      for k in low)
    response = load_hardware(run.config.get("hardware") or "ideal").response
    smaller = ("a device of smaller steps (response.dw_min) or a smaller --w-max make the step smaller" if response.active
               else "more --weight-bits or a smaller --w-max make the step smaller")
    click.echo(f"warning: the weight store kept little of the rule's updates between layers ({pairs}; RMS over "
               f"{len(run.applied_rms)} recorded batches): nearest rounding drops an update below half a weight "
               f"step; --rounding stochastic keeps them in expectation, {smaller}, a larger --lr makes the updates "
               f"larger (docs/hardware.md)", err=True)


def _warn_large_rate(config) -> None:
    """EqProp's update is lr / beta times a batch mean of differences of products of states in [0, 1], so one
    batch moves a weight (or bias) by up to lr / |beta|. Above 1 a single batch can move a weight past every value
    trained networks hold (|W| < 0.4 in docs/hardware.md's study): say so before training."""
    if config.rule != "eqprop":
        return
    largest = max([*config.lr, config.bias_lr or 0.0]) / abs(config.beta)
    if largest > 1.0:
        click.echo(f"warning: lr / beta = {largest:g}: one batch can move a weight by up to {largest:g}, while "
                   "trained weights stay below 1; the paper's rates are .002-.128 at beta = 1 (Table 1)", err=True)


def _check_later_removal(run, removal: int | None, path) -> None:
    """A resumed run may be given a removal of its skip connections, or have it moved, only where neither the
    new nor the configured removal lies in the epochs already done."""
    configured = run.config.get("remove_skip_after")
    if removal is None or removal == configured:
        return
    for value, what in ((removal, "--remove-skip-after"), (configured, "its configured remove_skip_after")):
        if value is not None and value < run.epochs_done:
            raise click.UsageError(f"{what} {value}: {path} has {run.epochs_done} epochs done; a removal of "
                                   "the skip connections can only be set or moved after them")


def _words(ctx, param, value):
    return None if value is None else tuple(w for w in value.replace(",", " ").split())


@main.command("bitdepth")
@_with_options(TRAIN_OPTIONS)
@click.option("--topologies", callback=_words, default="layered,layered-per-layer,small-world", show_default=True,
              help="Topologies: layered (one rate), layered-per-layer, small-world.")
@click.option("--bits", "bit_depths", callback=_numbers(int), default="2,3,4,6,8,10,12,0", show_default=True,
              help="Weight bits; 0 = ideal.")
@click.option("--roundings", callback=_words, default="nearest,stochastic", show_default=True)
@click.option("--rules", callback=_words, default="eqprop", show_default=True,
              help=f"Learning rules: {', '.join(RULES)} (all but eqprop on the layered topologies).")
@click.option("--seeds", callback=_numbers(int), default="0", show_default=True)
@click.option("--per-layer-lr", callback=_numbers(float),
              help="Rates of layered-per-layer [lr times 4^((pairs-1)/2 - k)].")
@click.option("-o", "--out", type=UserPath(file_okay=False), default="bitdepth", show_default=True,
              help="Study directory: one run file per point, the tables and the PNG figures. An existing study "
                   "resumes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--config", "config_file", type=UserPath(dir_okay=False), help="TOML file of base settings.")
def bitdepth_command(topologies, bit_depths, roundings, rules, seeds, per_layer_lr, out, quiet, config_file,
                     **options):
    """Train topologies x weight bits x rounding x seeds as a sweep; write the results (HDF5, CSV) and figures
    (PNG) into the study directory."""
    from .bitdepth import run_study, study_points, write_table

    given = {k: v for k, v in options.items() if v is not None}
    try:
        base = _config(config_file, given)
        points = study_points(topologies, bit_depths, roundings, seeds, rules)
        results = run_study(base, points, out, per_layer_lr=per_layer_lr, progress=not quiet)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {out} keeps every finished point, and the point in progress up to its last "
                   "epoch; run the same command again to go on", err=True)
        raise SystemExit(130) from None
    except USER_ERRORS as err:
        raise click.ClickException(str(err)) from None
    out = Path(out)
    write_table(out / "study.csv", results)
    written = [out / name for name in ("study.csv", "sweep.csv", "sweep.h5", "sweep-error.png", "sweep-updates.png")]
    click.echo("rule    topology            bits  rounding    test error  applied  (mean over seeds; applied: the "
               "least share of the proposed updates the store wrote, over layer pairs)")
    axes = lambda r: (r.point.rule, r.point.topology, r.point.bits, r.point.rounding)  # noqa: E731
    lost = False
    for key in dict.fromkeys(axes(r) for r in results):
        group = [r for r in results if axes(r) == key]
        errors = [r.row["test_error"] for r in group]
        shares = [r.applied_share for r in group if np.isfinite(r.applied_share)]
        never = any(r.lost_pairs for r in group)
        lost |= never
        click.echo(f"{key[0]:<6}  {key[1]:<18}  {key[2] or 'ideal':>5}  {key[3]:<10}  {100 * np.mean(errors):8.2f} %  "
                   + (f"{100 * np.mean(shares):5.0f} %" if shares else "    -  ")
                   + ("  never learned: every update of a layer pair was lost" if never else ""))
    if lost:
        click.echo("warning: points marked 'never learned' stored none of the rule's updates of at least one layer "
                   "pair (study.csv: lost_pairs): nearest rounding drops an update below half a weight step; "
                   "stochastic rounding keeps them in expectation, more bits or a larger --lr make them count "
                   "(docs/hardware.md)", err=True)
    click.echo("wrote " + ", ".join(str(path) for path in written if path.exists()))


@main.command("sweep")
@click.argument("grid_file", type=UserPath(dir_okay=False))
@click.option("--scheduler", help="Address of a running Dask scheduler (tcp://HOST:PORT) [a local cluster].")
@click.option("--workers", type=int, help="Worker processes of the local cluster [one per core].")
@click.option("-o", "--out", type=UserPath(file_okay=False), help="Directory of the point files [the grid's out].")
@click.option("--collect", "collect_only", is_flag=True, help="Only gather the finished points into the table.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep_command(grid_file, scheduler, workers, out, collect_only, quiet) -> None:
    """Train every point of a grid (TOML: [base] settings, [grid] axes) on Dask, one resumable run file each;
    then write the table (sweep.csv, sweep.h5) and, over weight bits, the bit-depth figures."""
    from .sweep import collect, load_grid, open_client, run_sweep

    try:
        grid = load_grid(grid_file, out)
        if collect_only:
            grid.out.mkdir(parents=True, exist_ok=True)
            rows = collect(grid)
        else:
            opened = []

            def connect():
                opened.extend(open_client(scheduler, workers))
                return opened[0]

            try:
                rows = run_sweep(grid, connect, progress=not quiet)
            finally:
                for thing in opened:
                    if thing is not None:
                        thing.close()
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {grid.out} keeps every finished point, and each point in progress up to its last "
                   "epoch; run the same command again to go on", err=True)
        raise SystemExit(130) from None
    except USER_ERRORS as err:
        raise click.ClickException(str(err)) from None
    counts = {status: sum(r["status"] == status for r in rows) for status in ("done", "failed", "pending")}
    click.echo(f"{counts['done']} done, {counts['failed']} failed, {counts['pending']} pending of {len(rows)} points; "
               f"table {grid.out / 'sweep.csv'}")
    for point, row in zip(grid.points(), rows):
        if row["status"] == "done":
            click.echo(f"  {point.label}: test error {100 * row['test_error']:.2f} %, best {100 * row['best_test_error']:.2f} "
                       f"% after {row['epochs_done']} epoch{'' if row['epochs_done'] == 1 else 's'}")
    for row in rows:
        if row["status"] == "failed":
            click.echo(f"  failed {row['point']}: {one_line(row['error'])}")
    if counts["failed"]:
        which = "every point" if counts["failed"] == len(rows) else f"{counts['failed']} of {len(rows)} points"
        raise click.ClickException(f"{which} of {grid_file} failed (listed above; {grid.out} keeps the finished ones, "
                                   "and running the same command again retries the failed)")


@main.command("report")
@click.argument("run_files", nargs=-1, required=True, type=UserPath(dir_okay=False))
@click.option("-o", "--out", type=UserPath(file_okay=False), default="report", show_default=True,
              help="Directory for the figures (PNG) and summary.md.")
@click.option("--smoothing", type=click.IntRange(min=0), default=25, show_default=True,
              help="Half-width of eq 21's moving average, in recorded batches.")
def report_command(run_files, out, smoothing) -> None:
    """Figures (error curves, per-layer training rates, error vs replaced connections) and a summary of runs."""
    from .report import write_report

    try:
        runs = {}
        for path in run_files:
            name = Path(path).stem
            runs[name if name not in runs else str(path)] = load_run(path)
        written = write_report(runs, out, smoothing)
    except USER_ERRORS as err:
        raise click.ClickException(str(err)) from None
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _circuit_options(command):
    """The options of a command that writes or reads a run's circuit, each replacing the run's own setting."""
    for option in reversed(circuit_options(help_suffix="the run's", prefix=False)):
        command = option(command)
    return command


def _given(options: dict) -> dict:
    return {k: v for k, v in options.items() if v is not None}


@main.command("export")
@click.argument("run_file", type=UserPath(dir_okay=False))
@click.option("--example", type=int, required=True, help="Index of the example in the split.")
@click.option("--phase", type=click.Choice(["free", "nudged"]), default="free", show_default=True)
@click.option("--split", type=click.Choice(["train", "test"]), default="test", show_default=True)
@click.option("-o", "--out", type=UserPath(dir_okay=False), required=True, help="Netlist to write (.cir).")
@click.option("--data-dir", type=UserPath(file_okay=False), help="IDX directory, if not the run's.")
@click.option("--inline", is_flag=True, help="Copy the subcircuit library into the netlist instead of .include.")
@click.option("--clip", is_flag=True, help="Clip weights beyond the conductance range instead of failing.")
@click.option("--t-stop", type=float, help="Transient length, time constants [the run's t_max].")
@_circuit_options
@click.option("--overwrite", is_flag=True, help="Replace an existing netlist.")
@click.option("--no-control", is_flag=True,
              help="Leave out the .control block: a plain circuit for PySpice (neurosim.pyspice.simulate).")
@click.option("--analysis", type=click.Choice(["tran", "op"]), default="tran", show_default=True,
              help="tran: a transient of --t-stop time constants; op: ngspice's operating point (one Newton solve).")
@click.option("--start", type=click.Choice(["rest", "equilibrium"]),
              help="Where ngspice starts: rest (0 V; the nudged phase at the free equilibrium), or neurosim's own "
                   "equilibrium, to check it with a short transient (--t-stop 5) or an operating point, for "
                   "networks too large for a transient from rest [equilibrium with op, else rest].")
def export_command(run_file, example, phase, split, out, data_dir, inline, clip, t_stop, overwrite, no_control,
                   analysis, start, **circuit) -> None:
    """Write one example's circuit as a SPICE netlist that `ngspice -b OUT` runs as it is; say first how large it
    is and what ngspice will cost."""
    try:
        run = load_run(run_file)
        data = export_netlist(run, example, out, run_path=str(run_file), phase=phase, split=split, data_dir=data_dir,
                              inline=inline,
                              clip=clip, t_stop=t_stop, name=Path(run_file).name, overwrite=overwrite,
                              circuit=_given(circuit), control=not no_control, analysis=analysis, start=start,
                              before_writing=lambda t_max, begin: click.echo(_cost_note(run, t_max, analysis, begin),
                                                                             err=True))
    except (*USER_ERRORS, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if no_control:
        click.echo(f"wrote {out}; neurosim.pyspice.simulate('{out}') runs it in PySpice")
    else:
        what = "the operating point (one row)" if analysis == "op" else "the node voltages"
        click.echo(f"wrote {out}; `{ngspice_command(out)}` writes {what} to {data}")


def ngspice_command(netlist) -> str:
    """The shell command that runs ``netlist`` from the current directory: ngspice writes the data file relative
    to where it runs, so it runs in the netlist's folder (``cd DIR && ngspice -b NAME``)."""
    netlist = Path(netlist)
    run = f"ngspice -b {shlex.quote(netlist.name)}"
    folder = netlist.parent
    return run if str(folder) in ("", ".") else f"cd {shlex.quote(str(folder))} && {run}"


def _cost_note(run, t_stop: float, analysis: str, start: str) -> str:
    """What the netlist of ``run`` will hold and ngspice cost (:mod:`neurosim.spicecost`), before it is written:
    ``t_stop`` (time constants) and ``start`` as the export resolved them."""
    from .spicecost import estimate_seconds, netlist_size

    size = netlist_size(run.network)
    seconds = estimate_seconds(size, analysis, t_stop, start)
    origin = "neurosim's equilibrium" if start == "equilibrium" else "rest"
    route = "the operating point" if analysis == "op" else f"the transient of {t_stop:g} tau from {origin}"
    note = (f"netlist: {size.devices:,} devices, {size.nodes:,} nodes ({size.free_nodes:,} free), about "
            f"{size.bytes / 1e6:.1f} MB; ngspice: about {_duration(seconds)} for {route} (the model of "
            "docs/spice.md, within a factor of 3)")
    if analysis == "op" and seconds > 300:  # measured: Newton failed from the nodeset on the paper's network
        note += ("; at this size ngspice's Newton may not converge at all (the paper's network: unfinished after "
                 "15 min, docs/spice.md)")
    if seconds > 600 and not (analysis == "tran" and start == "equilibrium" and t_stop <= 5):
        note += ("; --start equilibrium --t-stop 5 checks neurosim's own equilibrium with a short transient "
                 f"instead (about {_duration(estimate_seconds(size, 'tran', 5.0, 'equilibrium'))})")
    return note


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 0.1):.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


@main.command("waveform")
@click.argument("data_file", type=UserPath(dir_okay=False))
@click.option("-o", "--out", type=UserPath(dir_okay=False), help="PNG to write [DATA_FILE with .png].")
@click.option("--run", "run_file", type=UserPath(dir_okay=False),
              help="The run the netlist was exported from: compare the last row with neurosim's equilibrium "
                   "[the run the netlist names, if that file exists].")
@click.option("--example", type=int, help="The exported example's index [the netlist's].")
@click.option("--phase", type=click.Choice(["free", "nudged"]), help="[the netlist's, else free]")
@click.option("--split", type=click.Choice(["train", "test"]), help="[the netlist's, else test]")
@click.option("--data-dir", type=UserPath(file_okay=False), help="IDX directory, if not the run's.")
@_circuit_options
def waveform_command(data_file, out, run_file, example, phase, split, data_dir, **circuit) -> None:
    """Plot the node voltages ngspice wrote for an exported netlist and set its last row beside neurosim's own
    equilibrium (the ODE engine, settled to 1 uV) and predicted class. The netlist beside DATA_FILE records the
    run, example, split, phase and circuit it was exported with; an option that contradicts it is refused."""
    from .export import exported_from
    from .waveform import compare_with_run, plot_waveforms, read_data

    try:
        data = read_data(data_file)
        netlist = Path(data_file).with_suffix(".cir")
        record = exported_from(netlist) or {}
        exported_circuit = record.get("circuit", {})
        given = {"example": (example, record.get("example")), "phase": (phase, record.get("phase")),
                 "split": (split, record.get("split")),
                 **{k: (v, exported_circuit.get(k)) for k, v in _given(circuit).items() if k in exported_circuit}}
        for key, (value, recorded) in given.items():
            if value is not None and recorded is not None and value != recorded:
                raise click.UsageError(f"--{key.replace('_', '-')} {value}: {netlist} was exported with {key} "
                                       f"{recorded}; drop the option, or export that one")
        run_file = run_file or (record["run"] if record.get("run") and Path(record["run"]).exists() else None)
        lines, label, reference = [], None, None
        if run_file is None and (example is not None or phase or split or _given(circuit)):
            raise click.UsageError("--example, --phase, --split and circuit options compare with a run: give "
                                   "--run RUN (the netlist names none that exists here)")
        if run_file is not None:
            example = example if example is not None else record.get("example")
            if example is None:
                raise click.UsageError("--run needs --example, the index the netlist was exported with (the "
                                       "netlist does not record it)")
            phase, split = phase or record.get("phase", "free"), split or record.get("split", "test")
            comparison = compare_with_run(data, load_run(run_file), example, phase=phase, split=split,
                                          data_dir=data_dir or record.get("data_dir"),
                                          circuit={**exported_circuit, **_given(circuit)})
            lines = [f"compared with {run_file}, {split} example {example}, {phase} phase", *comparison.lines()]
            label, reference = comparison.label, comparison.neurosim_state
        title = f"{Path(data_file).name}: {len(data.names)} nodes, {len(data.t)} time points to {1e6 * data.t[-1]:g} µs"
        png = plot_waveforms(data, out or Path(data_file).with_suffix(".png"), title, label, reference)
    except (*USER_ERRORS, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for line in lines:
        click.echo(line)
    click.echo(f"wrote {png}")


def _drift_times(ctx, param, value):
    from .chips import parse_times

    try:
        return parse_times(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


@main.command("evaluate")
@click.argument("run_file", type=UserPath(dir_okay=False))
@click.option("--hardware", required=True,
              help=f"The chips: a preset ({', '.join(PRESETS)}) or a TOML file of hardware settings.")
@click.option("--drift-time", "times", default="0", show_default=True, callback=_drift_times,
              help="Times after programming to read the chips at: seconds, or with a unit s, m, h, d, w, y "
                   "(0,1h,1d,1y).")
@click.option("--repeats", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Chips drawn, each its own devices; the table gives their mean and spread.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Seed of the chips.")
@click.option("--weight-bits", "bits", callback=_numbers(int),
              help="Evaluate on stores of these bits each (4,6,8), the rest of --hardware kept [--hardware's].")
@click.option("--compensate", is_flag=True,
              help="Global drift compensation: each array scaled by its summed conductance just after programming "
                   "over the one read at each time.")
@click.option("--n-test", type=click.IntRange(1, None), help="Evaluate the first N test examples [the run's].")
@click.option("--data-dir", type=UserPath(file_okay=False), help="Where the run's data set is, if moved.")
@click.option("-o", "--out", type=UserPath(dir_okay=False),
              help="HDF5 file of the errors [RUN-evaluate.h5]; the figure beside it (.png).")
def evaluate_command(run_file, hardware, times, repeats, seed, bits, compensate, n_test, data_dir, out) -> None:
    """Test a trained network on modelled chips without retraining: its stored weights programmed onto the
    devices of --hardware (quantisation, programming noise, variation, stuck devices), read at each --drift-time
    with drift and read noise; the test error per time, mean and spread over --repeats chips."""
    from .chips import evaluate_on_chips, save_evaluation, time_text
    from .plots import error_vs_time

    out = Path(out) if out else Path(run_file).with_name(Path(run_file).stem + "-evaluate.h5")
    try:
        run = load_run(run_file)
        chips = load_hardware(hardware)
        variants = {f"{b} bits" if b else "continuous": chips.with_storage(bits=b) for b in bits} if bits else \
            {hardware: chips}
        if out.resolve() == Path(run_file).resolve():
            raise click.UsageError(f"-o {out}: that is the run file")
        results = {}
        for label, variant in variants.items():
            def said(chip, time, error):
                click.echo(f"{label}, chip {chip}, {time_text(time)}: test error {100 * error:.2f} %", err=True)

            results[label] = evaluate_on_chips(run, variant, times, repeats, seed, data_dir, n_test, progress=said,
                                               compensate=compensate)
        save_evaluation(out, list(results.values()), run_file)
        figure = error_vs_time(times, {k: r.errors for k, r in results.items()}, out.with_suffix(".png"),
                               f"{Path(run_file).name} on {hardware}, {repeats} chip{'s' if repeats > 1 else ''}")
    except (*USER_ERRORS, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{'chips':>14} | time after programming | test error %, mean | spread over {repeats} chips | "
               "silent outputs, mean")
    for label, result in results.items():
        for j, time in enumerate(result.times):
            click.echo(f"{label:>14} | {time_text(time):>22} | {100 * result.mean[j]:18.2f} | "
                       f"{100 * result.spread[j]:21.2f} | {result.silent[:, j].mean():.1f}")
    click.echo(f"wrote {out}, {figure}")


@main.command("info")
@click.argument("run_file", type=UserPath(dir_okay=False))
def info_command(run_file) -> None:
    """Summarise a run file: configuration, topology, errors per epoch, residuals, per-layer rates."""
    try:
        run = load_run(run_file)
    except USER_ERRORS as err:
        raise click.ClickException(str(err)) from None
    c, t = run.config, run.topology
    click.echo(f"run {run_file}  (created {run.created}, {run.epochs_done}/{c['epochs']} epochs)")
    click.echo(
        f"data      {c['dataset']}  n_train={c['n_train'] or 'all'}  n_test={c['n_test'] or 'all'}  seed={c['seed']}"
    )
    click.echo(
        f"topology  {t['kind']} {'-'.join(map(str, t['sizes']))}  edges={t['n_edges']}  rewired={t['n_rewired']} "
        f"(p={t['p']:.4f}, {t['mode']})  L={t['path_length']:.4f}  C={t['clustering']:.4f}"
        + (f"  ({t['n_skip_removed']} skips removed after epoch {t['skip_removed_after']})"
           if t.get("skip_removed_after") else "")
    )
    config = make_config(**c)  # engine and circuit with every default filled in, an older file's too
    reads = RULES[config.rule].settings  # what the rule uses of the configuration
    click.echo(
        f"learning  rule={config.rule}  lr={list(c['lr'])}"
        + (f"  bias_lr={c['bias_lr']}" if c.get("bias_lr") is not None else "")
        + (f"  beta={'±' if config.random_sign else ''}{config.beta}  nudge={config.nudge}" if "beta" in reads else "")
        + (f"  rule_lr={config.rule_lr}" if "rule_lr" in reads else "")
        + (f"  output_error={config.output_error}" if "output_error" in reads else "")
        + ("  rule_devices" if "rule_devices" in reads and config.rule_devices else "")
        + f"  batch={c['batch_size']}  dtype={c['dtype']}" + ("  persistent" if c.get("persistent") else "")
    )
    show = lambda values: "  ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"  # noqa: E731
                                    for k, v in values.items())
    engine = config.engine
    if "engine" in reads:
        click.echo(f"engine    {engine.name}  " + show(values_of(engine)))
    for name in ("neurons", "sampling"):
        if name in reads:
            click.echo(f"{name:<9} " + show(values_of(getattr(config, name))))
    if takes_circuit(type(engine)):
        k = config.circuit
        click.echo(
            f"circuit   R={k.r_leak:g} ohm  C={k.c_node:g} F  tau={k.tau:g} s  devices [{k.g_min:g}, {k.g_max:g}] S  "
            + k.crossbar.summary())
    if c.get("hardware") and not load_hardware(c["hardware"]).ideal:
        click.echo("hardware  " + "  ".join(
            f"{group}: " + ", ".join(f"{k}={v}" for k, v in fields.items()) for group, fields in c["hardware"].items()))
    h = run.history
    if run.epochs_done:
        click.echo("epoch  train_err  test_err  silent_out  train_s  test_s  iterations  free_residual_max  "
                   "nudged_residual_max")
        columns = ("epoch", "train_error", "test_error", "silent_outputs", "train_seconds", "test_seconds",
                   "iterations", "free_residual_max", "nudged_residual_max")
        for e, tr, te, so, ts, vs, it, fr, nr in zip(*(h[k] for k in columns)):
            click.echo(f"{e:5d}  {100 * tr:8.2f}%  {100 * te:7.2f}%  {so:10.0f}  {ts:7.1f}  {vs:6.1f}  {it:10.0f}  "
                       f"{fr:17.2e}  {nr:19.2e}")
    settling = {p: np.asarray(run.batches[f"{p}_settling_time"], dtype=float) for p in ("free", "nudged")}
    if all(np.isfinite(v).any() for v in settling.values()):
        click.echo("settling time per batch (s), mean / max: " + ", ".join(
            f"{p} {np.nanmean(v):.3g} / {np.nanmax(v):.3g}" for p, v in settling.items()))
    if run.rate_rms:
        rms = np.asarray(run.rate_rms)
        total = total_correction(rms)
        click.echo("per-layer-pair RMS correction (eq 20), mean over the run: " + ", ".join(
            f"L{k}-L{k + 1} {v:.2e}" for k, v in enumerate(np.nanmean(rms, axis=0))))
        value = spread(total)
        if np.isnan(value):
            why = ("fewer than two pairs of layers before the output pair" if len(total) < 3 else
                   "no pair of layers before the output pair moved")
            click.echo(f"spread (eq 23): not defined ({why})")
        else:
            click.echo(f"spread (eq 23): {value:.2f}")
    simulator = np.asarray(h["simulator_seconds"], dtype=float)
    if np.isfinite(simulator).any():
        click.echo("ngspice analysis time per epoch (s): " + ", ".join(f"{v:.1f}" for v in simulator))
