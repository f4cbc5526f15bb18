"""One epoch of the paper's network three ways, side by side in one run: seconds, ratios and errors.

    python benchmarks/epoch_speed.py --data-dir ../shared/data/mnist                     # ~1.5 h on 2 cores
    python benchmarks/epoch_speed.py --data-dir ../shared/data/mnist --n-train 10000 --n-test 2000   # ~15 min

Network: a configuration of experiments/paper/reference/ (``--network``; default the published small-world
network, 784-500-500-500-10, reference nudge, random sign of beta, persistent states, batch 20). Methods, each
trained from the same initial weights on the same examples in the same order with the same signs of beta:

- ``fast``: neurosim's fastest CPU setting, the layer-wise fixed point (``--engine fixedpoint``) with
  ``--sweeps`` free-phase sweeps and the reference nudge's 8 Euler steps;
- ``euler``: neurosim's Euler engine at the paper's schedule (500 + 8 steps of eps = .5);
- ``naive``: the reference implementation's algorithm as a user would write it, here, in plain numpy float32:
  one dense masked (N x N) weight matrix over all 2,294 neurons, each step one (B x N) @ (N x N_free) product,
  s <- clip(s + eps (-s + rho'(s) (rho(u) W + b))), the nudged steps then y <- clip(y + 2 eps beta (t - y)),
  the update dW = alpha / beta <rho rho^T|nudged - rho rho^T|free> on the mask, persistent train and test
  states.

Printed per method: training seconds for the examples given and per epoch of 60,000 (scaled when --n-train is
smaller; marked so), the test evaluation's seconds, the running training error and the test error after the
epoch, and the naive method's time over each method's (the speed-up). Methods run one after another in one
process: two BLAS jobs on 2 cores slow each other several-fold.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from neurosim.build import STREAM_ORDER, STREAM_SIGN, new_run, stream
from neurosim.config import load_config
from neurosim.data import load_dataset
from neurosim.topology import layer_of_neurons, pair_rates
from neurosim.training import train

REFERENCE = Path(__file__).resolve().parent.parent / "experiments" / "paper" / "reference"
EPOCH = 60_000


def naive_epoch(config, run, data) -> dict:
    """One epoch of the reference algorithm in plain numpy (module docstring); the same initial network, data
    order and signs of beta as neurosim's run of ``config``."""
    net = run.network
    dtype = np.dtype(config.dtype)
    n_in, n_free = net.n_inputs, net.n_free
    w = net.dense_weights().astype(dtype)
    edges, _ = net.edges_and_weights()
    mask = np.zeros_like(w)
    mask[edges[:, 0], edges[:, 1]] = mask[edges[:, 1], edges[:, 0]] = 1
    layer = layer_of_neurons(net.sizes)
    per_layer = np.array([np.nan] + pair_rates(config.lr, net.sizes))
    rate = (per_layer[np.maximum(layer[:, None], layer[None, :])] * mask).astype(dtype)
    rate[np.isnan(rate)] = 0
    b = np.concatenate([np.zeros(n_in, dtype), net.bias.astype(dtype)])
    bias_rate = (per_layer[layer] if config.bias_lr is None else np.full(len(b), config.bias_lr)).astype(dtype)
    bias_rate[:n_in] = 0
    eps, out = config.engine.eps, slice(len(b) - net.n_outputs, len(b))
    eye = np.eye(net.n_outputs, dtype=dtype)

    def relax(u, steps, beta=0.0, target=None):
        for _ in range(steps):
            s = u[:, n_in:]
            rhop = ((s >= 0) & (s <= 1)).astype(dtype)
            drive = np.clip(u, 0, 1) @ w[:, n_in:] + b[n_in:]
            s = s + eps * (-s + rhop * drive)
            if beta:
                y = s[:, -net.n_outputs:]
                s[:, -net.n_outputs:] = y + 2 * eps * beta * (target - y)
            u[:, n_in:] = np.clip(s, 0, 1)
        return u

    states = np.zeros((len(data.x_train), n_free), dtype)
    test_states = np.zeros((len(data.x_test), n_free), dtype)
    order = stream(config.seed, STREAM_ORDER, 0).permutation(len(data.x_train))
    signs = stream(config.seed, STREAM_SIGN, 0)
    wrong = 0
    started = time.perf_counter()
    for k in range(0, len(order), config.batch_size):
        idx = order[k : k + config.batch_size]
        beta = config.beta
        if config.random_sign and signs.random() < 0.5:
            beta = -beta
        u = np.concatenate([data.x_train[idx].astype(dtype), states[idx]], axis=1)
        free = relax(u, config.engine.n_free).copy()
        states[idx] = free[:, n_in:]
        wrong += int(np.count_nonzero(free[:, out].argmax(1) != data.y_train[idx]))
        nudged = relax(free.copy(), config.engine.n_nudged, beta, eye[data.y_train[idx]])
        r0, r1 = np.clip(free, 0, 1), np.clip(nudged, 0, 1)
        scale = 1.0 / (beta * len(idx))
        w += rate * (scale * (r1.T @ r1 - r0.T @ r0))
        b += bias_rate * (scale * (r1 - r0).sum(0))
    train_seconds = time.perf_counter() - started
    test_wrong = 0
    for k in range(0, len(data.x_test), 1000):
        rows = slice(k, k + 1000)
        u = relax(np.concatenate([data.x_test[rows].astype(dtype), test_states[rows]], axis=1), config.engine.n_free)
        test_states[rows] = u[:, n_in:]
        test_wrong += int(np.count_nonzero(u[:, out].argmax(1) != data.y_test[rows]))
    return dict(train_seconds=train_seconds, test_seconds=time.perf_counter() - started - train_seconds,
                train_error=wrong / len(order), test_error=test_wrong / len(data.x_test), steps="%d + %d" % (
                    config.engine.n_free, config.engine.n_nudged))


def neurosim_epoch(config, data) -> dict:
    run = train(config, data=data, progress=False)
    h = run.history
    n_batches = len(run.batches["free_steps"])
    return dict(train_seconds=h["train_seconds"][0], test_seconds=h["test_seconds"][0],
                train_error=h["train_error"][0], test_error=h["test_error"][0],
                steps=f"{np.mean(run.batches['free_steps']):.0f} + {np.mean(run.batches['nudged_steps']):.0f}",
                residual=f"{max(run.batches['free_residual']):.1e}", batches=n_batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="directory with the MNIST IDX files")
    parser.add_argument("--network", default="small-world", choices=["small-world", "layered-per-layer",
                                                                     "layered-one-rate"])
    parser.add_argument("--n-train", type=int, default=EPOCH)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--sweeps", type=int, default=40, help="free-phase sweeps of the fast setting")
    parser.add_argument("--methods", nargs="+", default=["fast", "euler", "naive"],
                        choices=["fast", "euler", "naive"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    base = dict(data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test, epochs=1, seed=args.seed)
    toml = REFERENCE / f"{args.network}.toml"
    configs = {"euler": load_config(toml, **base),
               "fast": load_config(toml, **base, engine="fixedpoint", n_free=args.sweeps),
               "naive": load_config(toml, **base)}
    data = load_dataset("mnist", args.data_dir, args.n_train, args.n_test)
    results = {}
    for method in args.methods:
        print(f"{time.strftime('%H:%M:%S')} {method} ...", flush=True)
        config = configs[method]
        if method == "naive":
            results[method] = naive_epoch(config, new_run(config, data), data)
        else:
            results[method] = neurosim_epoch(config, data)
        r = results[method]
        print(f"  {r['train_seconds']:.0f} s training, {r['test_seconds']:.0f} s test; train / test error "
              f"{100 * r['train_error']:.1f} / {100 * r['test_error']:.1f} %", flush=True)
    scale = EPOCH / args.n_train
    naive = results.get("naive")
    print(f"\n{args.network}, {args.n_train} training / {args.n_test} test examples, seed {args.seed}, one epoch"
          + ("" if scale == 1 else f" (per-epoch seconds scaled x{scale:g} from the examples given)"))
    print("| method | steps per batch (free + nudged) | training s | s / epoch of 60,000 | test s | "
          "train error | test error | naive / method (training time) |")
    print("|---|---|---|---|---|---|---|---|")
    for method, r in results.items():
        ratio = f"{naive['train_seconds'] / r['train_seconds']:.1f}" if naive else "—"
        print(f"| {method} | {r['steps']} | {r['train_seconds']:.0f} | {r['train_seconds'] * scale:.0f} "
              f"({r['train_seconds'] * scale / 60:.1f} min) | {r['test_seconds']:.0f} | {100 * r['train_error']:.1f} % "
              f"| {100 * r['test_error']:.1f} % | {ratio} |")


if __name__ == "__main__":
    main()
