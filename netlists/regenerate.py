"""Regenerate the example netlists in this folder from the small trained runs in runs/.

    python netlists/regenerate.py            # re-export the netlists from the stored run files
    python netlists/regenerate.py --train    # retrain the run files first (then review and commit both)

Each netlist includes ../circuits/neurosim.lib, so it runs from this folder: ``cd netlists && ngspice -b
layered-digits-free-0.cir`` writes layered-digits-free-0.data (time, then the free node voltages; the last row is
the equilibrium). tests/test_netlists.py regenerates them and fails if the generator's output changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurosim.config import make_config
from neurosim.export import export_netlist
from neurosim.store import load_run
from neurosim.training import train

HERE = Path(__file__).resolve().parent

#: Run name -> training configuration (digits, float64, a few epochs: small enough to read, trained enough to mean
#: something).
RUNS = {
    "layered-digits": dict(topology="layered", sizes=(64, 16, 10), epochs=3, n_free=100, lr=(0.3,)),
    "small-world-digits": dict(topology="small-world", sizes=(64, 16, 16, 10), rewire_n=40, epochs=5, n_free=100,
                               lr=(0.2,)),
}
COMMON = dict(dataset="digits", n_train=500, n_test=200, dtype="float64", seed=0)

#: Transient length of the example netlists, time constants (the runs settle well within it).
T_STOP = 60.0

#: (run, test example, phase, crossbar) of every example netlist: the ideal circuit, and the layered network's
#: free phase on the physical crossbars (docs/spice.md, "The crossbar").
EXAMPLES = [
    ("layered-digits", 0, "free", "ideal"),
    ("layered-digits", 0, "nudged", "ideal"),
    ("small-world-digits", 1, "free", "ideal"),
    ("small-world-digits", 1, "nudged", "ideal"),
    ("layered-digits", 0, "free", "passive"),
    ("layered-digits", 0, "free", "opamp"),
]


def netlist_name(run: str, example: int, phase: str, crossbar: str = "ideal") -> str:
    return f"{run}-{phase}-{example}{'' if crossbar == 'ideal' else '-' + crossbar}.cir"


def regenerate(folder: Path, runs: Path = HERE / "runs") -> list[Path]:
    """Write every example netlist into ``folder`` from the run files in ``runs``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for run_name, example, phase, crossbar in EXAMPLES:
        out = folder / netlist_name(run_name, example, phase, crossbar)
        export_netlist(load_run(runs / f"{run_name}.h5"), example, out, phase=phase, name=f"runs/{run_name}.h5",
                       run_path=f"runs/{run_name}.h5",
                       library="../circuits/neurosim.lib", overwrite=True, circuit={"crossbar": crossbar},
                       t_stop=T_STOP)
        written.append(out)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", action="store_true", help="retrain the run files first")
    args = parser.parse_args()
    if args.train:
        for name, settings in RUNS.items():
            run = train(make_config(**COMMON, **settings), out=HERE / "runs" / f"{name}.h5", progress=False)
            print(f"{name}: test error {100 * run.history['test_error'][-1]:.1f} %")
    for path in regenerate(HERE):
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
