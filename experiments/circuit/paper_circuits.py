"""The published small-world network (experiments/paper/reference/small-world.toml) trained on each crossbar with
the layer-wise fixed point: which circuits keep the ideal network's error, which lose it, and how long an epoch
takes. One run file per circuit under --out (resumable: the same command continues a stopped study), then a
markdown table and a figure (error against circuit).

    python experiments/circuit/paper_circuits.py --data-dir ../shared/data/mnist               # 1 epoch of 60,000
    python experiments/circuit/paper_circuits.py --data-dir ../shared/data/mnist --n-train 2000 --n-test 1000

Every circuit trains the same network, seed, data and rate as the reference, with two changes that a circuit
needs: the nudge is ``clamped`` (the outputs held at the target: the circuit of the reference step, whose
eps beta = 1/2 sets the outputs to the target in every step) with beta = +1 (a held output has no sign), and the
free phase is 40 fixed-point sweeps (``--fast`` of experiments/paper/reference/run.py), the nudged one 8. The ideal
circuit is trained alike, so that each row differs from the first by its crossbar alone. Line resistance trains
with the wires reduced to first order in r_line (``wire_model = "first-order"``, O(R C) a plane and weight update):
the exact reduction (one sparse LU per array plane, minutes each at this size) is out of reach at every update;
experiments/circuit/wires_check.py measures the first order's error on the trained network. Sinh
devices are (behind op-amps of gain 10^4, V0 = 0.5 V read at 0.5 V): their rows' currents are two dense products
(:mod:`neurosim.crossbars.sinh`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import neurosim.plots  # noqa: F401 (matplotlib without a screen)
from neurosim.config import load_config
import matplotlib.pyplot as plt

from neurosim.atomic import save_figure
from neurosim.store import load_run
from neurosim.sweep import run_point

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "paper" / "reference" / "small-world.toml"

#: (label, circuit table).
CIRCUITS = [
    ("ideal", {}),
    ("passive", {"crossbar": "passive"}),
    ("op-amp A = 100", {"crossbar": "opamp", "opamp_gain": 100.0}),
    ("op-amp A = 1e4", {"crossbar": "opamp", "opamp_gain": 1e4}),
    ("passive, gain-trimmed drivers", {"crossbar": "passive", "gain_trim": True}),
    ("op-amp A = 1e4, sinh V0 = 0.5 V, V_read = 0.5 V",
     {"crossbar": "opamp", "opamp_gain": 1e4, "sinh_v0": 0.5, "v_read": 0.5}),
    ("passive, wires of 1 ohm per cell (first order)", {"crossbar": "passive", "r_line": 1.0,
                                                         "wire_model": "first-order"}),
    ("passive, wires of 5 ohm per cell (first order)", {"crossbar": "passive", "r_line": 5.0,
                                                         "wire_model": "first-order"}),
]

#: What every circuit's run changes from the reference configuration (the module's docstring).
CHANGES = {"engine": {"name": "fixedpoint", "n_free": 40, "n_nudged": 8}, "nudge": "clamped", "random_sign": False,
           "epochs": 1}


def values_of(circuit: dict, args) -> dict:
    config = load_config(REFERENCE, **CHANGES, circuit=circuit, data_dir=args.data_dir, n_train=args.n_train,
                         n_test=args.n_test)
    return config.to_dict()


def ode_seconds(path: Path, batches: int, data_dir: str) -> float:
    """Seconds of one training step (free and clamped phase) with the ODE engine (its defaults) on the run's trained
    network and circuit, the mean of ``batches`` steps on the first training examples, persistent states from
    rest: what the ODE engine would take where the fixed point trained."""
    import numpy as np

    from neurosim.build import network_and_controller
    from neurosim.config import make_config
    from neurosim.data import load_dataset

    run = load_run(path)
    config = make_config(**{**run.config, "engine": {"name": "ode"}})
    net, controller = network_and_controller(config, run)
    data = load_dataset(config.dataset, data_dir, batches * config.batch_size, 10)
    rng, b = np.random.default_rng(0), config.batch_size
    started = time.perf_counter()
    for k in range(batches):
        x = data.x_train[k * b : (k + 1) * b].astype(config.dtype)
        target = np.eye(10, dtype=config.dtype)[data.y_train[k * b : (k + 1) * b]]
        controller.step(net, x, target, rng)
    return (time.perf_counter() - started) / batches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="the MNIST IDX files")
    parser.add_argument("--n-train", type=int, default=None, help="first N training examples [all 60,000]")
    parser.add_argument("--n-test", type=int, default=None, help="first N test examples [all 10,000]")
    parser.add_argument("--out", default="runs/paper-circuits", help="directory of the run files")
    parser.add_argument("--circuits", nargs="+", help="only the circuits whose label contains one of these")
    parser.add_argument("--ode-batches", type=int, default=0,
                        help="time the ODE engine on this many batches of each trained network [0: not]")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, circuit in CIRCUITS:
        if args.circuits and not any(part in label for part in args.circuits):
            continue
        path = out / (label.replace(" ", "").replace(",", "-").replace("=", "") + ".h5")
        started = time.perf_counter()
        print(f"{label}: training to {path}", flush=True)
        result = run_point(values_of(circuit, args), str(path))
        print(f"{label}: {result} ({time.perf_counter() - started:.0f} s)", flush=True)
        run = load_run(path)
        h = run.history
        ode = (ode_seconds(path, args.ode_batches, args.data_dir) * 10_000 / run.config["batch_size"] / 60
               if args.ode_batches else float("nan"))
        rows.append((label, 100 * h["train_error"][-1], 100 * h["test_error"][-1], h["train_seconds"][-1] / 60,
                     h["free_residual_max"][-1], h["silent_outputs"][-1], ode))
    print("\n| circuit | train error % | test error % | minutes per epoch (fixed point) | largest free residual | "
          "silent outputs | ODE engine, minutes per 10,000 examples |")
    print("|---|---|---|---|---|---|---|")
    for label, train, test, minutes, residual, silent, ode in rows:
        print(f"| {label} | {train:.2f} | {test:.2f} | {minutes:.1f} | {residual:.1e} | {silent:.0f} | {ode:.0f} |")
    if rows:
        fig, ax = plt.subplots(figsize=(8, 3.5))
        labels = [r[0] for r in rows]
        ax.barh(labels, [r[2] for r in rows], color="tab:blue", label="test")
        ax.scatter([r[1] for r in rows], labels, color="black", zorder=3, label="train")
        ax.axvline(90, color="gray", linestyle=":", label="chance")
        ax.set_xlabel("error after one epoch, %")
        ax.set_xlim(0, 100)
        ax.invert_yaxis()
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.set_title("784-500-500-500-10 small-world on each crossbar", fontsize=10)
        fig.tight_layout()
        save_figure(fig, out / "paper-circuits.png", dpi=120)
        print(f"wrote {out / 'paper-circuits.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
