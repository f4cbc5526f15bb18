"""How far the first-order wires are from the exact ones on a trained network: the free equilibria of the first
test examples with the wires reduced to first order in r_line (what training used, ``wire_model = "first-order"``),
against the circuit's exact equilibria, found without reducing the planes.

    python experiments/circuit/wires_check.py RUN.h5 --data-dir ../shared/data/mnist [--examples 10]

The exact equilibrium of each example: the wires' cell voltages solved per example at the current states
(:func:`neurosim.crossbars.wires.row_currents`, iterated to 1e-12 V), their currents' difference from the first-order
coupling's added to the neurons' biases, the network relaxed again with the fixed point (to ``--tol``), until the
states move by less than 1e-7 V. Printed per run: the largest and mean |exact - first order| over every free node,
the exact equilibrium's own residual (max |clip(u) - s|, u the drive through the exact wires), how many predicted
classes differ, and, for scale, how far the wires move the states from the passive crossbar without wires.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from neurosim.build import network_and_controller
from neurosim.config import make_config
from neurosim.crossbars.wires import LineCoupling, first_order_admittance, planes, reduced_coupling, row_currents
from neurosim.data import load_dataset
from neurosim.engines import FixedPoint, Phase
from neurosim.store import load_run


def exact_drive(circuit, net, x: np.ndarray, s: np.ndarray, r_line: float, with_devices) -> np.ndarray:
    """u = b + R I (volts): each free node's drive through the exact wires of the planes ``with_devices``
    (:func:`neurosim.crossbars.wires.planes`) at states ``s`` (B, n_free), inputs ``x`` (B, n_inputs); the node
    equation is tau ds/dt = u - s (the loads inside I)."""
    full = np.concatenate([x, s], axis=1)
    u = np.broadcast_to(net.bias, s.shape).astype(np.float64)
    for array, g, sign in with_devices:
        rows = array["rows"]
        current, _ = row_currents(g, r_line, s[:, rows], sign * full[:, array["cols"]])
        u[:, rows] += circuit.r_leak * current
    return u


def exact_equilibrium(engine: FixedPoint, circuit, net, x, s, r_line, with_devices, first, most=50):
    """Per example: relax with the biases corrected by (exact - first-order) drive at the last states, until the
    states move by < 1e-7 V (each correction shrinks the move ~100x on a small net, down to the relaxations' own
    floor of ~2e-9 V at tol 1e-11); returns the states and the corrections taken."""
    s = s.copy()
    for outer in range(1, most + 1):
        correction = exact_drive(circuit, net, x, s, r_line, with_devices) - first(x, s)
        new = np.empty_like(s)
        for k in range(len(x)):
            shifted = dataclasses.replace(net, bias=net.bias + correction[k])
            new[k] = engine.relax(shifted, x[k : k + 1], s[k : k + 1], Phase()).state[0]
        moved = np.abs(new - s).max()
        print(f"    correction {outer}: states moved by {moved:.2e} V", flush=True)
        s = new
        if moved < 1e-7:
            return s, outer
    raise RuntimeError(f"the exact equilibrium did not settle in {most} corrections (last move {moved:.2g} V)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a run trained on the passive crossbar with first-order wires")
    parser.add_argument("--data-dir", required=True, help="the MNIST IDX files")
    parser.add_argument("--examples", type=int, default=10, help="first N test examples")
    parser.add_argument("--sweeps", type=int, default=2000, help="fixed-point sweeps at most per relaxation")
    parser.add_argument("--tol", type=float, default=1e-11, help="a relaxation's stopping change, volts")
    args = parser.parse_args(argv)
    run = load_run(args.run)
    crossbar = run.config["circuit"]["crossbar"]
    if crossbar["name"] != "passive" or not crossbar.get("r_line"):
        raise SystemExit(f"{args.run}: not a passive crossbar with wires (crossbar {crossbar})")
    config = make_config(**{**run.config, "dtype": "float64"})
    net, _ = network_and_controller(config, run)
    circuit, r_line = config.engine.circuit, crossbar["r_line"]
    data = load_dataset(config.dataset, args.data_dir, 1, args.examples)
    x = data.x_test.astype(np.float64)
    engine = FixedPoint(circuit=circuit, n_free=args.sweeps, tol=args.tol, check_every=5)
    started = time.perf_counter()
    a = reduced_coupling(circuit, net, r_line, admittance=first_order_admittance)
    with_devices = planes(circuit, net)

    def first(x_, s_):
        coupling = LineCoupling(net, x_, a)
        return coupling(s_)

    zero = np.zeros((len(x), net.n_free))
    relaxed = engine.relax(net, x, zero, Phase())
    s_first = relaxed.state
    s_exact, outer = exact_equilibrium(engine, circuit, net, x, s_first, r_line, with_devices, first)
    bare_circuit = dataclasses.replace(circuit, crossbar=dataclasses.replace(circuit.crossbar, r_line=0.0))
    s_bare = FixedPoint(circuit=bare_circuit, n_free=args.sweeps, tol=args.tol).relax(net, x, zero, Phase()).state
    residual = np.abs(np.clip(exact_drive(circuit, net, x, s_exact, r_line, with_devices), 0, 1) - s_exact).max()
    off = np.abs(s_exact - s_first)
    out = net.output_slice
    changed = int(np.sum(s_exact[:, out].argmax(1) != s_first[:, out].argmax(1)))
    wires = np.abs(s_first - s_bare)
    print(f"{args.run}: r_line {r_line:g} ohm, {len(x)} test examples, {time.perf_counter() - started:.0f} s")
    print(f"  first-order free phase: largest residual {np.max(relaxed.residual):.1e}")
    print(f"  exact - first order: max {1e3 * off.max():.4f} mV, mean {1e3 * off.mean():.5f} mV; exact equilibrium's "
          f"residual {residual:.1e} V after {outer} corrections; predicted classes changed: {changed}")
    print(f"  the wires' own effect (first order - no wires): max {1e3 * wires.max():.2f} mV, mean "
          f"{1e3 * wires.mean():.3f} mV")
    return 0


if __name__ == "__main__":
    sys.exit(main())
