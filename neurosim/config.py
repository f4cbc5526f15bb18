"""Training configuration: one validated dataclass.

Validation uses pydantic, so that every bad value is rejected before any work starts with a message that names
the field, the value and what is allowed; :func:`make_config` turns pydantic's report into a :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass

from .circuit import Circuit, circuit_of, circuit_table
from .crossbars import flat_settings as crossbar_settings
from .data import DATASETS
from .engines import ENGINES, Euler, takes_circuit
from .engines.base import NUDGES, refuse_nudge
from .hardware import Hardware, HardwareError, load_hardware
from .rules import RULES
from .rules.feedforward import OUTPUT_ERRORS
from . import topology
from .streams import STREAM_TOPOLOGY, stream_seed
from .tomlfile import read_toml
from .topology import pair_rates
from .errors import NeurosimError, validation_problems
from .settings import MAX_COUNT, build, flat_name, settings_fields, values_of
from .sampling import Sampling
from .spiking import LIF

#: The engine of a configuration that names none, and of a table of engine settings without a ``name``.
DEFAULT_ENGINE = "euler"

#: Hidden layers used when ``sizes`` is not given (the default small-world digits network).
DEFAULT_HIDDEN = (64, 64)

#: Strict types: a string is not a number, 1.0 is not an integer, "no" is not a boolean; no inf or NaN.
Positive = Annotated[StrictFloat, Field(gt=0)]

#: The largest layer a configuration accepts (neurons); the weights' memory is checked in :func:`resolved_sizes`.
MAX_LAYER = 100_000

#: The most memory the dense weight blocks of a network may need, bytes.
MAX_WEIGHT_BYTES = 16 * 2**30
PositiveInt = Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)]

#: The largest half-width of the intralayer and skip weights' initialisation (the paper's: 0.05 and 0.0829).
MAX_INTRA_INIT = 100.0


class ConfigError(NeurosimError, ValueError):
    """A configuration value outside its allowed range; the message names the field."""


@dataclass(frozen=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))
class TrainConfig:
    """Everything that defines a training run.

    Data: ``dataset`` (digits | mnist | fashion-mnist), ``data_dir``, ``n_train`` / ``n_test`` (first n examples).
    Topology: ``topology`` (layered | small-world), ``sizes`` (neurons per layer, input first; default
    [inputs, *DEFAULT_HIDDEN, classes]), ``rewire_n`` or ``rewire_p`` (connections to rewire, or the fraction of
    footnote 2; small-world defaults to p = 0.08), ``rewire_mode`` (replace | add), ``intralayer`` (connect each
    hidden layer all-to-all), ``intra_init`` (half-width of the uniform initialisation of intralayer and skip
    weights). Learning: ``epochs``, ``batch_size``, ``lr`` (one rate, or one per adjacent layer pair, input side
    first), ``bias_lr`` (one rate for every bias; None: each bias takes its layer's rate), ``beta`` (clamping
    factor), ``random_sign`` (random sign of beta per batch; default: on with the reference nudge, off
    otherwise), ``nudge`` (how the second phase moves the outputs: ``weak``, F = E + beta C as in the paper's
    text; ``clamped``, held at the target; ``reference``, the step of the code behind the paper's figures, an Euler
    step (the fixed point makes its nudged phase of such steps); :class:`~neurosim.engines.base.Phase`; default: the engine's ``default_nudge``). Engine: ``engine``, the
    engine that relaxes each phase (:data:`~neurosim.engines.ENGINES`) with its settings: a name (its defaults), a
    table ``{name = "fixedpoint", n_free = 40}`` or an engine object; the settings are each engine class's own
    (:func:`~neurosim.settings.setting` fields: Euler's ``eps``, ``n_free``, ``n_nudged``, ``tol``; the fixed
    point's the same; the ODE's ``method``, ``rtol``, ``atol``, ``settle_tol``, ``t_max``; ngspice's ``t_max``,
    ``settle_tol``, ``clip``, ``analysis``), with one default and one check each, there. ``persistent``
    (warm-start each training and each test example's free phase from its previous free equilibrium, as the
    paper's code does), ``dtype``, ``device`` (cpu, or cuda through PyTorch), ``cuda_graphs`` (replay each
    phase from a CUDA graph on the GPU). ``circuit``: the neuron circuit the ode and spice engines simulate and
    the conductance range of the weight store (:class:`~neurosim.circuit.Circuit`: R, C, devices, crossbar
    model), a table of its settings. ``seed`` fixes the
    topology, the initial weights and the data order. ``rate_every``: record eq 20 every k batches.
    ``remove_skip_after``: after this many epochs, remove every layer-skipping connection and train on without
    them (the paper's future-work experiment; small-world only); None keeps them.
    ``max_residual``: stop training (:class:`~neurosim.training.TrainingDiverged`) when a phase ends with a residual
    above it, a network whose states do not settle (off by default: the paper's schedule does not settle either);
    in the engine's residual (:class:`~neurosim.engines.base.Relaxation`): the last step's largest change for
    the iterating engines, the largest |ds/dt| tau in volts for the ODE and ngspice.
    ``hardware``: the device models (:mod:`neurosim.hardware`): a :class:`~neurosim.hardware.Hardware`, a dict of
    its groups, a preset name or a TOML file; ideal by default. Stored resolved, as a dict of every setting.
    ``rule``: the learning rule, ``eqprop`` or a rule on the feedforward net of the same layered network, data,
    rates and hardware (:mod:`neurosim.rules`): ``bp``, ``fa``, ``dfa``, their learned-feedback forms ``bfa`` and
    ``bdfa``, or synthetic gradients ``sg`` and ``csg``. ``rule_lr``: the learning rate (per example, batch
    averaged) of the rule's own learned parameters: the feedback weights of bfa and bdfa, the synthetic-gradient
    modules of sg and csg; unused by the other rules. ``output_error``: the output layer's error of the rules on
    the feedforward net (bp .. csg), ``matching`` (the hard sigmoid's matching loss, whose output units cannot die;
    the default) or ``squared`` (EqProp's cost, under which they lose whole classes on most seeds; what every run
    written before the setting existed learned from; :data:`~neurosim.rules.feedforward.OUTPUT_ERRORS`).
    ``rule_devices``: store the rule's own learned parameters (bfa/bdfa feedback, sg/csg modules, s2m's pixel
    biases) on devices of the run's ``hardware`` too, read and written as the network's weights are
    (:class:`~neurosim.hardware.RuleDevices`; off: floating point; nothing to do on ideal hardware).
    ``neurons``: the leaky integrate-and-fire neurons of the spiking rules (``erbp``; :class:`~neurosim.spiking.
    LIF`, a table of its settings), unused by the others. ``sampling``:
    the stochastic synapses and sampler of the synaptic sampling machine (``s2m``; :class:`~neurosim.sampling.
    Sampling`), unused by the others.
    """

    dataset: Literal[DATASETS] = "digits"
    data_dir: str | None = None
    n_train: PositiveInt | None = None
    n_test: PositiveInt | None = None
    topology: Literal["layered", "small-world"] = "small-world"
    sizes: tuple[Annotated[StrictInt, Field(ge=1, le=MAX_LAYER)], ...] | None = None
    rewire_n: Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)] | None = None
    rewire_p: Annotated[StrictFloat, Field(ge=0, lt=1)] | None = None
    rewire_mode: Literal["replace", "add"] = "replace"
    intralayer: StrictBool = True
    intra_init: Annotated[StrictFloat, Field(ge=0, le=MAX_INTRA_INIT)] = 0.05
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 20
    lr: tuple[Positive, ...] = (0.05,)
    bias_lr: Positive | None = None
    beta: Positive = 1.0
    random_sign: StrictBool | None = None
    nudge: Literal[NUDGES] | None = None
    engine: Any = Euler()
    persistent: StrictBool = True
    dtype: Literal["float32", "float64"] = "float32"
    device: Literal["cpu", "cuda"] = "cpu"
    cuda_graphs: StrictBool = True
    circuit: Any = Circuit()
    max_residual: Positive | None = None
    seed: Annotated[StrictInt, Field(ge=0, lt=2**63)] = 0
    rate_every: PositiveInt = 1
    remove_skip_after: PositiveInt | None = None
    hardware: Hardware = Hardware()
    rule: Literal[tuple(RULES)] = "eqprop"
    rule_lr: Positive = 0.01
    output_error: Literal[OUTPUT_ERRORS] = "matching"
    rule_devices: StrictBool = False
    neurons: Any = LIF()
    sampling: Any = Sampling()

    @field_validator("lr", mode="before")
    @classmethod
    def _one_rate(cls, value):
        # a TOML file's `lr = 0.1` is the one rate of every layer pair, as --lr 0.1 is
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (value,)
        return value

    @field_validator("intra_init")
    @classmethod
    def _unsigned_zero(cls, value):
        return value + 0.0  # -0.0 (allowed by >= 0) as 0.0: a uniform draw over [-a, a] needs a >= +0

    @field_validator("data_dir")
    @classmethod
    def _a_path(cls, value):
        if value is not None and ("\x00" in value or not value.strip()):
            raise ValueError(f"{value!r}: not a directory name (empty, or a NUL character)")
        return value

    @field_validator("hardware", mode="before")
    @classmethod
    def _resolve_hardware(cls, value):
        if isinstance(value, (str, dict)):
            try:
                return load_hardware(value)
            except HardwareError as err:
                raise ValueError(str(err)) from None
        return value

    @field_validator("engine", mode="before")
    @classmethod
    def _build_engine(cls, value):
        # a name (its defaults), a table {name = ..., settings}, or an engine; the engine's own checks
        if isinstance(value, str):
            if value not in ENGINES:
                raise ValueError(f"choose one of {', '.join(ENGINES)}")
            return ENGINES[value]()
        if isinstance(value, dict):
            table = dict(value)
            name = table.pop("name", DEFAULT_ENGINE)
            if name not in ENGINES:
                raise ValueError(f"name={name!r}: choose one of {', '.join(ENGINES)}")
            return build(ENGINES[name], table)
        if not any(type(value) is engine for engine in ENGINES.values()):
            raise ValueError(f"engine={value!r}: a name ({', '.join(ENGINES)}), a table of its settings or an engine")
        return value

    @field_validator("neurons", "sampling", mode="before")
    @classmethod
    def _build_settings(cls, value, info):
        kind = {"neurons": LIF, "sampling": Sampling}[info.field_name]
        if isinstance(value, dict):
            return build(kind, value)
        if not isinstance(value, kind):
            names = ", ".join(f.name for f in dataclasses.fields(kind))
            raise ValueError(f"{info.field_name}={value!r}: a table of its settings ({names})")
        return value

    @field_validator("circuit", mode="before")
    @classmethod
    def _build_circuit(cls, value):
        if isinstance(value, dict):
            return circuit_of(value)
        if not isinstance(value, Circuit):
            raise ValueError(f"circuit={value!r}: a table of the circuit's settings")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "TrainConfig":
        # the defaults that depend on the engine, resolved here once (docs/design.md, "Defaults")
        if self.nudge is None:  # a physical crossbar nudges weakly (the reference step is the ideal network's)
            object.__setattr__(self, "nudge", self.engine.default_nudge if self.circuit.ideal else "weak")
        if self.random_sign is None:
            object.__setattr__(self, "random_sign", self.nudge == "reference")
        if self.sizes is not None and len(self.sizes) < 2:
            raise ValueError(f"sizes={list(self.sizes)}: needs at least an input and an output layer")
        if self.rewire_n is not None and self.rewire_p is not None:
            raise ValueError("give rewire_n or rewire_p, not both")
        if self.topology == "small-world" and self.sizes is not None and len(self.sizes) < 3:
            raise ValueError(f"sizes={list(self.sizes)}: a small-world network rewires into layer-skipping pairs and "
                             "needs at least one hidden layer")
        if self.topology == "layered" and (self.rewire_n or self.rewire_p):
            raise ValueError("rewire_n / rewire_p apply to topology='small-world' only")
        if self.remove_skip_after is not None and self.topology != "small-world":
            raise ValueError(f"remove_skip_after={self.remove_skip_after}: only a small-world topology has "
                             f"layer-skipping connections to remove, not topology={self.topology!r}")
        refuse_nudge(self.nudge, self.engine.name, self.engine.nudges)
        if self.engine.name == "fixedpoint" and self.topology == "small-world" and self.intralayer:
            raise ValueError("engine='fixedpoint' relaxes networks without intralayer connections: give "
                             "intralayer = false (--no-intralayer) or topology = 'layered'")
        if (self.engine.name == "fixedpoint" and self.nudge == "weak" and self.random_sign and self.beta >= 1
                and self.circuit.ideal):
            raise ValueError(f"beta={self.beta} with random_sign: the fixed point's weak nudge needs 1 + beta > 0 "
                             "for either sign (the output's leak, 1 + beta, must stay positive); give beta < 1")
        if self.nudge == "clamped" and self.random_sign:
            raise ValueError("random_sign with nudge='clamped': the outputs are held at the target whatever the sign "
                             "of beta, so a negative beta would reverse the update; use nudge='reference'")
        if self.device not in self.engine.devices:
            raise ValueError(f"engine={self.engine.name!r} runs on {' or '.join(self.engine.devices)}, not "
                             f"device={self.device!r}")
        if takes_circuit(type(self.engine)):  # the engine simulates the configuration's circuit
            object.__setattr__(self, "engine", dataclasses.replace(self.engine, circuit=self.circuit))
            if not self.circuit.ideal and self.nudge == "reference":
                raise ValueError(f"nudge='reference' is the ideal network's Euler step; crossbar="
                                 f"{self.circuit.crossbar.name!r} nudges weak or clamped")
            if not self.circuit.ideal and self.device != "cpu":
                raise ValueError(f"crossbar={self.circuit.crossbar.name!r} is simulated on the CPU, not "
                                 f"device={self.device!r}")
        elif not self.circuit.ideal:
            raise ValueError(f"crossbar={self.circuit.crossbar.name!r} is a circuit model: the "
                             f"{' and '.join(n for n, e in ENGINES.items() if takes_circuit(e))} engines simulate "
                             f"it, not engine={self.engine.name!r}")
        if RULES[self.rule].layered_only and (self.topology != "layered" or self.device != "cpu"):
            raise ValueError(f"rule={self.rule!r} trains the feedforward net of a layered topology on the CPU, not "
                             f"topology={self.topology!r} on device={self.device!r}")
        if (self.rule_devices and isinstance(self.hardware.storage.w_max, tuple)
                and "rule_devices" in RULES[self.rule].settings):
            raise ValueError(f"rule_devices=true keeps rule={self.rule!r}'s own parameters on one weight range; "
                             f"storage.w_max={list(self.hardware.storage.w_max)} gives one per network array")
        if not self.hardware.ideal and self.device != "cpu":
            raise ValueError(f"the hardware models run on the CPU, not device={self.device!r}")
        if getattr(self.engine, "tol", 0) > 0 and self.device == "cuda" and self.cuda_graphs:
            raise ValueError("tol > 0 reads residuals back during a phase: not possible with cuda_graphs on")
        if self.sizes is not None:
            pair_rates(self.lr, self.sizes)
        tiny, top = float(np.finfo(self.dtype).tiny), float(np.finfo(self.dtype).max)
        for name, values in (("lr", self.lr), ("bias_lr", (self.bias_lr,)), ("beta", (self.beta,)),
                             ("rule_lr", (self.rule_lr,))):
            for value in values:
                if value is not None and not tiny <= value <= top:
                    raise ValueError(f"{name}={value}: not a normal {self.dtype} number (between {tiny:.3g} and "
                                     f"{top:.3g}); in {self.dtype} it would be {'0' if value < tiny else 'inf'}")
        return self

    def to_dict(self) -> dict:
        """Every setting as plain data (what a run file stores): the engine as a table with its ``name``, the
        circuit and the hardware as tables of their groups' settings."""
        values = dataclasses.asdict(self)
        values["engine"] = {"name": self.engine.name, **values_of(self.engine)}
        values["circuit"] = circuit_table(self.circuit)
        return values


def make_config(**values) -> TrainConfig:
    """A validated :class:`TrainConfig`; raises :class:`ConfigError` listing every bad field. An engine or circuit
    setting may also be given at the top level by its command-line name (``n_free=40``, ``ode_method="BDF"``), as
    configurations were written before settings were nested (:func:`nest_flat`)."""
    values = nest_flat(values)
    unknown = sorted(k for k in values if k not in FIELDS)  # a top-level setting is nested by now
    if unknown:
        raise ConfigError(f"invalid configuration: unknown field(s) {', '.join(map(repr, unknown))[:300]}"
                          + did_you_mean(unknown, (*FIELDS, *FLAT_SETTINGS)) + f"; known: {', '.join(FIELDS)}")
    try:
        return TrainConfig(**values)
    except ValidationError as err:
        raise ConfigError("invalid configuration: " + "; ".join(validation_problems(err))) from None


def did_you_mean(unknown, known) -> str:
    """' (did you mean ...?)' naming the known names closest to the first of ``unknown`` (difflib), or ''."""
    close = difflib.get_close_matches(str(unknown[0]), list(known), n=2, cutoff=0.7)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def nest_flat(values: dict) -> dict:
    """``values`` with the engine and circuit settings given at the top level (by their command-line names,
    :func:`~neurosim.settings.flat_name`) moved into the ``engine`` and ``circuit`` tables, on top of what the tables
    give (a command-line option over a file's table). A top-level setting the configured engine does not take is
    dropped, as the flat configuration of earlier versions stored it and no engine read it (a run file of then
    holds every engine's settings); :func:`foreign_settings` names them."""
    engine_names = {flat_name(f) for e in ENGINES.values() for f in settings_fields(e)}
    circuit_names = {**{flat_name(f): f.name for f in settings_fields(Circuit)}, "crossbar": "crossbar",
                     **{k: k for k in crossbar_settings()}}  # a crossbar setting by its flat name: circuit_of
    if not any(k in engine_names or k in circuit_names for k in values):
        return dict(values)
    values = dict(values)
    engine = values.get("engine", DEFAULT_ENGINE)
    table = {"name": engine} if isinstance(engine, str) else dict(engine) if isinstance(engine, dict) else None
    own = _own_settings(engine)
    circuit = dict(values["circuit"]) if isinstance(values.get("circuit"), dict) else {}
    for key in [k for k in values if k in engine_names or k in circuit_names]:
        value = values.pop(key)
        if key in circuit_names:
            circuit[circuit_names[key]] = value
        elif key in own and table is not None:
            table[own[key]] = value
    if table is not None:
        values["engine"] = table
    if circuit and (isinstance(values.get("circuit"), dict) or "circuit" not in values):
        values["circuit"] = circuit
    return values


def foreign_settings(values: dict) -> list[str]:
    """The top-level engine settings in ``values`` that its engine does not take (:func:`nest_flat` drops them)."""
    own = _own_settings(values.get("engine", DEFAULT_ENGINE))
    every = {flat_name(f) for e in ENGINES.values() for f in settings_fields(e)}
    return [k for k in values if k in every and k not in own]


def _own_settings(engine) -> dict:
    """Top-level name -> field name of the settings of ``engine`` (a name, a table with a name, or an engine)."""
    name = engine if isinstance(engine, str) else engine.get("name", DEFAULT_ENGINE) if isinstance(engine, dict) \
        else getattr(engine, "name", None)
    return {flat_name(f): f.name for f in settings_fields(ENGINES[name])} if name in ENGINES else {}


def load_config(path: str | Path, **overrides) -> TrainConfig:
    """A :class:`TrainConfig` from a TOML file of field = value lines (``sizes = [784, 500, 10]``), with
    ``overrides`` on top; raises :class:`ConfigError` naming the file for a missing or malformed file, and naming
    the field for a bad value. An engine named in ``overrides`` keeps the file's engine settings that it also takes
    (the file's ``[engine]`` n_free = 500 stays with ``engine="fixedpoint"``), as a file's top-level ones do."""
    path = Path(path)
    values = read_toml(path, ConfigError, "configuration")
    engine, before = overrides.get("engine"), values.get("engine")
    if isinstance(engine, str) and isinstance(before, dict):
        overrides = {**overrides, "engine": {**{k: v for k, v in before.items() if k in _own_settings(engine).values()},
                                             "name": engine}}
    try:
        return make_config(**{**values, **overrides})
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


#: The names of :class:`TrainConfig`'s fields.
FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))

#: The top-level names of the engines', the circuit's and the crossbars' settings (:func:`nest_flat`), as the command
#: line has them.
FLAT_SETTINGS = tuple(dict.fromkeys([*(flat_name(f) for c in (*ENGINES.values(), Circuit) for f in settings_fields(c)),
                                     "crossbar", *crossbar_settings()]))


def resolved_sizes(config: TrainConfig, n_inputs: int, n_classes: int) -> tuple[int, ...]:
    """The layer sizes for a data set with ``n_inputs`` inputs and ``n_classes`` classes; raises
    :class:`ConfigError` if explicit ``sizes`` do not fit the data set."""
    sizes = (n_inputs, *DEFAULT_HIDDEN, n_classes) if config.sizes is None else tuple(config.sizes)
    if sizes[0] != n_inputs:
        other = {64: "digits", 784: "mnist or fashion-mnist"}.get(sizes[0])
        raise ConfigError(f"sizes[0]={sizes[0]}: data set {config.dataset!r} has {n_inputs} inputs"
                          + (f" (--dataset {other} has {sizes[0]})" if other else ""))
    if sizes[-1] != n_classes:
        raise ConfigError(f"sizes[-1]={sizes[-1]}: data set {config.dataset!r} has {n_classes} classes")
    try:
        pair_rates(config.lr, sizes)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    entries = sum(a * b for a, b in zip(sizes, sizes[1:]))
    if config.topology == "small-world" and config.intralayer:
        entries += sum(n * n for n in sizes[1:-1])
    needed = entries * (4 if config.dtype == "float32" else 8)
    if needed > MAX_WEIGHT_BYTES:
        raise ConfigError(f"sizes={list(sizes)}: the weight blocks would need {needed / 2**30:.0f} GiB "
                          f"(at most {MAX_WEIGHT_BYTES / 2**30:.0f} GiB)")
    return sizes


#: Rewiring fraction of the paper's small-world network when neither ``rewire_n`` nor ``rewire_p`` is given.
DEFAULT_REWIRE_P = 0.08


def topology_of(config: TrainConfig, sizes: tuple[int, ...]):
    """The topology graph (networkx) a configuration describes for layer ``sizes``, drawn from the run's topology
    stream; :class:`ConfigError` naming the rewiring setting where there are too few connections to rewire. The
    builder's (:mod:`neurosim.build`), and the check of a run file's arrays against its configuration."""
    if config.topology == "layered":
        return topology.layered(sizes)
    n, p = config.rewire_n, config.rewire_p
    if n is None and p is None:
        p = DEFAULT_REWIRE_P
    try:
        return topology.small_world(sizes, n=n, p=p, mode=config.rewire_mode, intralayer=config.intralayer,
                                    seed=stream_seed(config.seed, STREAM_TOPOLOGY))
    except ValueError as err:  # too many connections to rewire for these sizes
        field = "rewire_n" if n is not None else "rewire_p"
        raise ConfigError(f"{field}={n if n is not None else p}: {err}") from None
