"""One trained network on three crossbars: ideal current sources, passive devices, op-amp neurons. ngspice and the
ODE engine side by side: how far each moves the equilibrium from the ideal one, how many predicted classes change,
the energy of a free phase and how long it takes to settle. The passive array also with gain-trimmed column
drivers, and with line resistance (neurosim.crossbars.wires; its energy leaves out the clamp's share, a few percent where nodes
sit at 1 V). The op-amp neurons also with devices of a sinh I-V, and with a finite gain-bandwidth product (one
pole; their energy is not computed: neurosim.dissipation takes each row at its virtual ground, which a slow op-amp
leaves during the transient).

    python experiments/circuit/crossbars.py [--run netlists/runs/layered-digits.h5] [--examples 20] [-o out.h5]
    python experiments/circuit/crossbars.py --circuits op-amp       # the ideal row and those whose label has it
    python experiments/circuit/crossbars.py --circuits GBW --t-max 150   # the bandwidth table of docs/spice.md

For each circuit and each of the first ``--examples`` test examples: the free phase from 0 V, simulated by ngspice
(the exported netlist, ``t_max`` time constants) and integrated by the ODE engine (to a residual of 1 uV, then
along a grid of 0.05 tau for the energy). Prints a markdown table and writes every number to an HDF5 file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from neurosim.circuit import Circuit, circuit_with
from neurosim.config import make_config
from neurosim.coupling import Coupling
from neurosim.data import load_dataset
from neurosim.dissipation import phase_energy, power, settling_within
from neurosim.energy import rho
from neurosim.engines import ODE, Phase
from neurosim.engines.base import EngineError
from neurosim.engines.spice import Waveform, run_netlist, settling_time
from neurosim.netlist import Analysis, write_netlist
from neurosim.store import load_run

#: (label, crossbar settings) of every circuit compared.
CIRCUITS = [
    ("ideal", dict(crossbar="ideal")),
    ("passive", dict(crossbar="passive")),
    ("passive, 1 kOhm per cell", dict(crossbar="passive", r_line=1e3)),
    ("passive, 10 kOhm per cell", dict(crossbar="passive", r_line=1e4)),
    ("passive, gain-trimmed drivers", dict(crossbar="passive", gain_trim=True)),
    ("op-amp A=1e2", dict(crossbar="opamp", opamp_gain=1e2)),
    ("op-amp A=1e4", dict(crossbar="opamp", opamp_gain=1e4)),
    ("op-amp A=1e4, 5 mV offset", dict(crossbar="opamp", opamp_gain=1e4, opamp_offset=5e-3)),
    ("op-amp A=1e4, sinh devices V0=0.5 V, V_read=0.5 V", dict(crossbar="opamp", opamp_gain=1e4, sinh_v0=0.5, v_read=0.5)),
    ("op-amp A=1e4, sinh devices V0=0.25 V, V_read=0.5 V", dict(crossbar="opamp", opamp_gain=1e4, sinh_v0=0.25,
                                                                v_read=0.5)),
    ("op-amp A=1e4, sinh devices V0=0.25 V, V_read=1 V", dict(crossbar="opamp", opamp_gain=1e4, sinh_v0=0.25,
                                                              v_read=1.0)),
    ("op-amp A=1e4, GBW 10 MHz", dict(crossbar="opamp", opamp_gain=1e4, opamp_gbw=1e7)),
    ("op-amp A=1e4, GBW 1 MHz", dict(crossbar="opamp", opamp_gain=1e4, opamp_gbw=1e6)),
    ("op-amp A=1e4, GBW 300 kHz", dict(crossbar="opamp", opamp_gain=1e4, opamp_gbw=3e5)),
    ("op-amp A=1e4, GBW 100 kHz", dict(crossbar="opamp", opamp_gain=1e4, opamp_gbw=1e5)),
]

SETTLE_MV = 1e-3


def ode_waveform(circuit: Circuit, net, x, t_max: float):
    """The ODE engine's free phase of one example: its equilibrium, rate-criterion settling time, and a trajectory
    on a 0.05 tau grid up to t_max (times, volts, unprojected drift for the clamp's power)."""
    # RK45 also for one-pole op-amps: Radau and BDF stall at the swing's kink (neurosim.engines.ode.ODE's docstring)
    engine = ODE(circuit=circuit, rtol=1e-8, atol=1e-10, settle_tol=1e-6, t_max=t_max)
    start = np.zeros((1, net.n_free))
    settled = engine.relax(net, x[None], start, Phase())
    rate_time = ODE(circuit=circuit, rtol=1e-6, settle_tol=SETTLE_MV, t_max=t_max).relax(
        net, x[None], start, Phase()).settling_time
    times = np.arange(1, int(t_max / 0.05) + 1) * 0.05 * circuit.tau
    v = engine.trajectory(net, x[None], start, Phase(), times)[:, 0]
    t = np.concatenate([[0.0], times])
    v = np.concatenate([start, v])
    return settled.state[0], rate_time, t, v


def drift_of(circuit: Circuit, net, x, v):
    """The unprojected tau dV/dt of each row of ``v`` (the clamp's current times R where positive at 1 V)."""
    coupling = Coupling(net, np.broadcast_to(x, (len(v), len(x))))
    load = circuit.row_load(net)
    u = coupling(rho(v))
    return circuit.crossbar.node_drift(u, v, load) if not circuit.ideal else u - v


def picojoules(energies: np.ndarray) -> str:
    """The median energy in pJ, or a dash where it was not computed."""
    return "—" if np.isnan(energies).all() else f"{1e12 * np.nanmedian(energies):.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="netlists/runs/layered-digits.h5", help="a trained run file")
    parser.add_argument("--examples", type=int, default=20, help="test examples [20]")
    parser.add_argument("--t-max", type=float, default=60.0, help="phase length, time constants [60]")
    parser.add_argument("-o", "--out", default="runs/crossbars.h5", help="HDF5 file of every number")
    parser.add_argument("--circuits", nargs="+", help="only the circuits whose label contains one of these (and ideal)")
    args = parser.parse_args(argv)
    circuits = [(label, settings) for label, settings in CIRCUITS
                if label == "ideal" or not args.circuits or any(part in label for part in args.circuits)]
    run = load_run(args.run)
    config = make_config(**run.config)
    net = run.network.astype(np.float64)
    data = load_dataset(config.dataset, config.data_dir, config.n_train, config.n_test)
    xs, labels = data.x_test[: args.examples].astype(np.float64), data.y_test[: args.examples]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, settings in circuits:
            circuit = circuit_with(config.circuit, settings)
            rows = []
            for k, x in enumerate(xs):
                state, rate_time, t, v = ode_waveform(circuit, net, x, args.t_max)
                p = power(circuit, net, x, v, None if getattr(circuit.crossbar, "r_line", 0) else drift_of(circuit, net, x, v))
                netlist = Path(tmp) / f"e{k}.cir"
                write_netlist(netlist, net, x, circuit=circuit, data_file=f"e{k}.data",
                              analysis=Analysis(t_stop=args.t_max, t_step=0.05, max_step=0.05))
                started = time.perf_counter()
                try:
                    wave = run_netlist(netlist, net.sizes, args.t_max * circuit.tau)
                except EngineError as err:  # recorded as NaN and counted; the ODE's numbers stand
                    print(f"{label}, example {k}: {str(err)[:160]}", flush=True)
                    wave = Waveform(t, np.full_like(v, np.nan), np.nan, 0)
                wall = time.perf_counter() - started
                vs = np.clip(wave.v, 0.0, 1.0)
                ps = power(circuit, net, x, vs, None if getattr(circuit.crossbar, "r_line", 0) else drift_of(circuit, net, x, vs))
                within, within_s = settling_within(t, v, SETTLE_MV), settling_within(wave.t, wave.v, SETTLE_MV)
                rows.append([
                    *state, *vs[-1],
                    rate_time, within, settling_time(wave.t, wave.v, circuit.tau, SETTLE_MV, 0.05 * circuit.tau),
                    within_s,
                    *((np.nan, np.nan) if getattr(circuit.crossbar, "gbw", 0) else  # the rows leave their virtual ground
                      (phase_energy(circuit, t, p, v, within, net), phase_energy(circuit, wave.t, ps, vs, within_s, net))),
                    wall, p[-1],
                ])
                if np.isnan(wave.v).any():  # ngspice failed: none of its numbers
                    rows[-1] = np.array(rows[-1], dtype=float)
                    rows[-1][[*range(net.n_free, 2 * net.n_free), 2 * net.n_free + 2, 2 * net.n_free + 3,
                              2 * net.n_free + 5]] = np.nan
            results[label] = np.array(rows)
            print(f"{label}: done", flush=True)
    n = net.n_free
    ideal_ode, ideal_spice = results["ideal"][:, :n], results["ideal"][:, n : 2 * n]
    out = net.output_slice
    print(f"\n{args.run}: {'-'.join(map(str, net.sizes))}, first {len(xs)} test examples, free phase from 0 V, "
          f"{args.t_max:g} tau\n")
    print("| circuit | shift from ideal, mV: mean / max (ODE) | (ngspice) | ngspice - ODE, mV max | classes changed "
          "| test error (ODE) | settling, tau: rate / within 1 mV (ODE) | (ngspice) | energy to settle, pJ (ODE) | "
          "(ngspice) | static power, uW |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with h5py.File(args.out, "w") as f:
        f.attrs.update(run=str(args.run), examples=len(xs), t_max=args.t_max, columns=(
            "ode state (n_free), ngspice state (n_free), ode rate settling s, ode within-1mV settling s, ngspice rate "
            "settling s, ngspice within-1mV settling s, ode energy to settle within 1 mV J, the same from ngspice J, ngspice "
            "wall s, static power at equilibrium W (ode)"))
        for label, r in results.items():
            f[label] = r
            ode, spice = r[:, :n], r[:, n : 2 * n]
            failed = int(np.isnan(spice).any(axis=1).sum())
            ran = ~np.isnan(spice).any(axis=1)
            spice = np.where(ran[:, None], spice, ode)  # the table's ngspice columns over the examples it ran
            if failed:
                label = f"{label} (ngspice failed on {failed} of {len(xs)}: its columns over the others)"
            shift, shift_s = 1e3 * np.abs(ode - ideal_ode), 1e3 * np.abs(spice - ideal_spice)
            changed = int(np.sum(np.argmax(ode[:, out], 1) != np.argmax(ideal_ode[:, out], 1)))
            error = float(np.mean(np.argmax(ode[:, out], 1) != labels))
            tau = config.circuit.tau
            rate, within, rate_s, within_s, e_ode, e_spice, _, static = (r[:, 2 * n + k] for k in range(8))
            print(f"| {label} | {shift.mean():.1f} / {shift.max():.1f} | {shift_s.mean():.1f} / "
                  f"{shift_s.max():.1f} | {1e3 * np.abs(spice - ode).max():.3f} | {changed} of {len(xs)} | "
                  f"{100 * error:.0f} % | {np.median(rate) / tau:.1f} / {np.median(within) / tau:.1f} | "
                  f"{np.nanmedian(rate_s) / tau:.1f} / {np.nanmedian(within_s) / tau:.1f} | {picojoules(e_ode)} | "
                  f"{picojoules(e_spice)} | {1e6 * np.median(static):.2f} |")
    print(f"\nwrote {args.out}; medians over the examples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
