"""How much one batch moves the test error: train a run file's network on for a few batches of its next epoch and
measure the test error after each (the run file is not changed).

    python experiments/paper/reference/volatility.py runs/reference/small-world.h5 --data-dir /path/to/mnist

The test error a run records after an epoch is one sample of a quantity that, at the paper's rate of .02, moves
by several points from one batch to the next (docs/reproduction.md); this prints the samples after 0 .. N more
batches and their median, spread and range.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from neurosim.config import make_config
from neurosim.data import load_dataset
from neurosim.store import load_run
from neurosim.build import STREAM_ORDER, STREAM_SIGN, controller_of, stream
from neurosim.training import evaluate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a neurosim run file")
    parser.add_argument("--data-dir", help="directory with the MNIST IDX files [the run's]")
    parser.add_argument("--batches", type=int, default=25, help="further training batches [25]")
    parser.add_argument("--n-test", type=int, default=1000, help="test examples per measurement [1000]")
    args = parser.parse_args(argv)
    run = load_run(args.run)
    config = make_config(**run.config)
    data = load_dataset(config.dataset, args.data_dir or config.data_dir, config.n_train, args.n_test)
    net = run.network
    controller = controller_of(config, net, run.edges)
    order = stream(config.seed, STREAM_ORDER, run.epochs_done).permutation(len(data.x_train))
    signs = stream(config.seed, STREAM_SIGN, run.epochs_done)
    eye = np.eye(data.n_classes, dtype=np.dtype(config.dtype))
    x_test = data.x_test.astype(config.dtype)
    errors = [evaluate(controller, net, x_test, data.y_test).error]
    for k in range(args.batches):
        idx = order[k * config.batch_size : (k + 1) * config.batch_size]
        start = None if run.free_states is None else run.free_states[idx]
        controller.step(net, data.x_train[idx].astype(config.dtype), eye[data.y_train[idx]], signs, start)
        errors.append(evaluate(controller, net, x_test, data.y_test).error)
        print(f"after {k + 1:3d} more batches: test error {100 * errors[-1]:.1f} %", flush=True)
    e = 100 * np.array(errors)
    print(f"{args.run}: test error on {len(x_test)} examples after 0 .. {args.batches} more batches: "
          f"{', '.join(f'{v:.1f}' for v in e)}\nmedian {np.median(e):.1f} %, standard deviation {e.std():.1f}, "
          f"range {e.min():.1f} - {e.max():.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
