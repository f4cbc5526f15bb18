"""Line resistance at the paper's scale: the published small-world network, trained one epoch on the passive
crossbar (experiments/circuit/paper_circuits.py), tested on the same crossbar with wires of ``--r-line`` ohms per
cell, beside the same test without wires.

    python experiments/circuit/paper_wires.py --data-dir ../shared/data/mnist --r-line 5 [--n-test 10000]
    python experiments/circuit/paper_wires.py --data-dir ../shared/data/mnist --r-line 1 5 --wire-model first-order

A network trained without wires, deployed on wired arrays. The wires' exact reduction
(:func:`neurosim.crossbars.wires.reduced_coupling`, one sparse LU of every array's 2 x R x C cell nodes) costs
minutes per plane (at this size it had not finished after 54 minutes); testing needs it once, since the weights do
not move: it is computed once (its planes in ``--workers`` processes) and every test batch's fixed point uses it.
``--wire-model first-order`` reduces to first order in r_line instead (seconds; docs/spice.md, its error there;
experiments/circuit/paper_circuits.py trains through it).
Both tests run the run's own engine (the layer-wise fixed point, 40 sweeps) from zero; printed: test error, silent
outputs, the largest free-phase residual, how far the wires move the free equilibria (on the first 100 test
examples, against the test without wires) and the reduction's seconds. Results in ``--out``/wires-<r>-<model>.h5.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from multiprocessing import Pool
from pathlib import Path
from unittest import mock

import h5py
import numpy as np

from neurosim.build import network_and_controller
from neurosim.config import make_config
from neurosim.crossbars.passive import WIRE_MODELS
from neurosim.crossbars.wires import reduced_coupling
from neurosim.data import load_dataset
from neurosim.store import load_run
from neurosim.training import evaluate


def with_wires(config: dict, r_line: float, wire_model: str = "exact") -> dict:
    """The run's configuration with its passive crossbar's ``r_line`` and ``wire_model`` set."""
    circuit = dict(config["circuit"])
    circuit["crossbar"] = {**circuit["crossbar"], "r_line": r_line, "wire_model": wire_model}
    return {**config, "circuit": circuit}


def test_on(config: dict, run, x, y, a=None) -> dict:
    """Test error, silent outputs, largest residual and the first 100 free equilibria of the run's network on the
    circuit of ``config``; with the wires' reduced coupling ``a`` used for every batch."""
    net, controller = network_and_controller(make_config(**config), run)
    patch = nullcontext() if a is None else mock.patch("neurosim.crossbars.passive.reduced_coupling",
                                                        lambda *args, **kwargs: a)
    with patch:
        started = time.perf_counter()
        result = evaluate(controller, net, x, y)
        seconds = time.perf_counter() - started
        free = controller.predict(net, x[:100])[1]
    return dict(error=result.error, silent=result.silent_outputs, seconds=seconds, states=np.asarray(free.state),
                residual=float(np.max(free.residual)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="the MNIST IDX files")
    parser.add_argument("--run", default="runs/paper-circuits/passive.h5",
                        help="the run trained on the passive crossbar")
    parser.add_argument("--r-line", type=float, nargs="+", default=[5.0], help="ohms per cell")
    parser.add_argument("--n-test", type=int, default=None, help="first N test examples [all 10,000]")
    parser.add_argument("--workers", type=int, default=2, help="processes reducing the planes")
    parser.add_argument("--wire-model", choices=["exact", "first-order"], default="exact",
                        help="reduce the planes exactly (minutes a plane here) or to first order in r_line")
    parser.add_argument("--out", default="runs/paper-wires")
    args = parser.parse_args(argv)
    run = load_run(args.run)
    if run.config["circuit"]["crossbar"]["name"] != "passive":
        raise SystemExit(f"--run {args.run}: trained on crossbar={run.config['circuit']['crossbar']['name']!r}; "
                         "wires belong to the passive crossbar")
    data = load_dataset(run.config["dataset"], args.data_dir, 1, args.n_test)
    x, y = data.x_test.astype(run.config["dtype"]), data.y_test
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bare = test_on(run.config, run, x, y)
    print(f"no wires: test error {100 * bare['error']:.2f} %, {bare['silent']} silent, residual "
          f"{bare['residual']:.1e}, {bare['seconds']:.0f} s", flush=True)
    for r_line in args.r_line:
        config = with_wires(run.config, r_line, args.wire_model)
        made = make_config(**config)
        net, _ = network_and_controller(made, run)
        circuit = made.engine.circuit
        started = time.perf_counter()
        with Pool(args.workers) as pool:
            a = reduced_coupling(circuit, net, r_line, map_=pool.map, admittance=WIRE_MODELS[args.wire_model])
        reduction = time.perf_counter() - started
        wired = test_on(config, run, x, y, a)
        moved = np.abs(wired["states"] - bare["states"])
        print(f"r_line {r_line:g} ohm: reduction {reduction:.0f} s; test error {100 * wired['error']:.2f} %, "
              f"{wired['silent']} silent, residual {wired['residual']:.1e}, {wired['seconds']:.0f} s; free states "
              f"moved by {1e3 * moved.mean():.3f} mV on average, at most {1e3 * moved.max():.1f} mV", flush=True)
        with h5py.File(out / f"wires-{r_line:g}-{args.wire_model}.h5", "w") as f:
            f.attrs.update(run=str(args.run), r_line_ohm=r_line, wire_model=args.wire_model, n_test=len(y), reduction_seconds=reduction,
                           error=wired["error"], error_without_wires=bare["error"], silent_outputs=wired["silent"],
                           free_residual_max=wired["residual"], test_seconds=wired["seconds"])
            f["moved_volts"] = moved
            f["reduced_coupling"] = a
    return 0


if __name__ == "__main__":
    sys.exit(main())
