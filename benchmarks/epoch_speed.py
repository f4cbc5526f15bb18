"""One epoch of the paper's network three ways, side by side in one run: seconds, ratios and errors.

    python benchmarks/epoch_speed.py --data-dir ../shared/data/mnist                     # ~1.5 h on 2 cores
    python benchmarks/epoch_speed.py --data-dir ../shared/data/mnist --n-train 10000 --n-test 2000   # ~15 min
    python benchmarks/epoch_speed.py --data-dir ../shared/data/mnist --device cuda      # on a GPU (PyTorch)

With ``--device cuda`` all three run on the GPU: neurosim's two with the whole training step replayed from CUDA
graphs (the configuration's default), the naive loop as plain eager torch on the same GPU.

Network: a configuration of experiments/paper/reference/ (``--network``; default the published small-world
network, 784-500-500-500-10, reference nudge, random sign of beta, persistent states, batch 20). Methods, each
trained from the same initial weights on the same examples in the same order with the same signs of beta:

- ``fast``: neurosim's fastest setting, the layer-wise fixed point (``--engine fixedpoint``) with
  ``--sweeps`` free-phase sweeps and the reference nudge's 8 Euler steps;
- ``euler``: neurosim's Euler engine at the paper's schedule (500 + 8 steps of eps = .5);
- ``naive``: the reference implementation's algorithm as a user would write it, here, as a plain float32 loop
  (numpy on the CPU; torch, eager, with ``--device cuda``):
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

from array_api_compat import device as array_device

from neurosim.backend import array_namespace, to_device
from neurosim.build import STREAM_ORDER, STREAM_SIGN, new_run, stream
from neurosim.config import load_config
from neurosim.data import load_dataset
from neurosim.topology import layer_of_neurons, pair_rates
from neurosim.training import train

REFERENCE = Path(__file__).resolve().parent.parent / "experiments" / "paper" / "reference"
EPOCH = 60_000


def naive_epoch(config, run, data, device: str = "cpu") -> dict:
    """One epoch of the reference algorithm as a plain loop (module docstring): numpy on the CPU, torch on a CUDA
    GPU (``device``), the same code; the same initial network, data order and signs of beta as neurosim's run of
    ``config``. The running error is summed on the device, so the loop waits for the GPU only at the end."""
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
    eps, n_out = config.engine.eps, net.n_outputs
    order = stream(config.seed, STREAM_ORDER, 0).permutation(len(data.x_train))
    signs = stream(config.seed, STREAM_SIGN, 0)
    move = lambda a: to_device(np.ascontiguousarray(a), device)  # noqa: E731
    w, rate, b, bias_rate = move(w), move(rate), move(b), move(bias_rate)
    x_train, y_train, eye = move(data.x_train.astype(dtype)), move(data.y_train), move(np.eye(n_out, dtype=dtype))
    x_test, y_test, order_on = move(data.x_test.astype(dtype)), move(data.y_test), move(order)
    xp = array_namespace(w)
    zeros = lambda n: xp.zeros((n, n_free), dtype=w.dtype, device=array_device(w))  # noqa: E731

    def relax(u, steps, beta=0.0, target=None):
        for _ in range(steps):
            s = u[:, n_in:]
            rhop = xp.astype((s >= 0) & (s <= 1), w.dtype)
            drive = xp.clip(u, 0, 1) @ w[:, n_in:] + b[n_in:]
            s = s + eps * (-s + rhop * drive)
            if beta:
                y = s[:, -n_out:]
                s[:, -n_out:] = y + 2 * eps * beta * (target - y)
            u[:, n_in:] = xp.clip(s, 0, 1)
        return u

    def wrong(u, labels):
        return xp.sum(xp.astype(xp.argmax(u[:, -n_out:], axis=1) != labels, xp.int64))

    states, test_states = zeros(len(order)), zeros(len(data.x_test))
    train_wrong = 0
    synchronize(device)
    started = time.perf_counter()
    for k in range(0, len(order), config.batch_size):
        idx = order_on[k : k + config.batch_size]
        beta = config.beta
        if config.random_sign and signs.random() < 0.5:
            beta = -beta
        u = xp.concat([x_train[idx], states[idx]], axis=1)
        free = relax(u, config.engine.n_free)
        states[idx] = free[:, n_in:]
        train_wrong = train_wrong + wrong(free, y_train[idx])
        nudged = relax(xp.asarray(free, copy=True), config.engine.n_nudged, beta, eye[y_train[idx]])
        r0, r1 = xp.clip(free, 0, 1), xp.clip(nudged, 0, 1)
        scale = 1.0 / (beta * idx.shape[0])
        w += rate * (scale * (r1.T @ r1 - r0.T @ r0))
        b += bias_rate * (scale * xp.sum(r1 - r0, axis=0))
    synchronize(device)
    train_seconds = time.perf_counter() - started
    test_wrong = 0
    for k in range(0, len(data.x_test), 1000):
        rows = slice(k, k + 1000)
        u = relax(xp.concat([x_test[rows], test_states[rows]], axis=1), config.engine.n_free)
        test_states[rows] = u[:, n_in:]
        test_wrong = test_wrong + wrong(u, y_test[rows])
    test_wrong = int(test_wrong)  # waits for the device
    return dict(train_seconds=train_seconds, test_seconds=time.perf_counter() - started - train_seconds,
                train_error=int(train_wrong) / len(order), test_error=test_wrong / len(data.x_test),
                steps="%d + %d" % (config.engine.n_free, config.engine.n_nudged))


def synchronize(device: str) -> None:
    """Wait for the GPU's queued work (timing); nothing on the CPU."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


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
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cuda: all three methods on the GPU (neurosim's in CUDA graphs, naive as plain torch)")
    args = parser.parse_args()

    base = dict(data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test, epochs=1, seed=args.seed,
                device=args.device)
    toml = REFERENCE / f"{args.network}.toml"
    configs = {"euler": load_config(toml, **base),
               "fast": load_config(toml, **base, engine="fixedpoint", n_free=args.sweeps),
               "naive": load_config(toml, **base)}
    data = load_dataset("mnist", args.data_dir, args.n_train, args.n_test)
    results = {}
    for method in args.methods:
        print(f"{time.strftime('%H:%M:%S')} {method} ...", flush=True)
        config = configs[method]
        try:
            if method == "naive":
                results[method] = naive_epoch(config, new_run(config, data), data, args.device)
            else:
                results[method] = neurosim_epoch(config, data)
        except Exception as error:  # one method's failure (on a GPU: a capture) must not lose the others'
            print(f"  {method} failed: {type(error).__name__}: {error}", flush=True)
            continue
        r = results[method]
        print(f"  {r['train_seconds']:.1f} s training, {r['test_seconds']:.1f} s test; train / test error "
              f"{100 * r['train_error']:.1f} / {100 * r['test_error']:.1f} %", flush=True)
    scale = EPOCH / args.n_train
    naive = results.get("naive")
    print(f"\n{args.network}, {args.n_train} training / {args.n_test} test examples, seed {args.seed}, one epoch, "
          f"{args.device}"
          + ("" if scale == 1 else f" (per-epoch seconds scaled x{scale:g} from the examples given)"))
    print("| method | steps per batch (free + nudged) | training s | s / epoch of 60,000 | test s | "
          "train error | test error | naive / method (training time) |")
    print("|---|---|---|---|---|---|---|---|")
    for method, r in results.items():
        ratio = f"{naive['train_seconds'] / r['train_seconds']:.1f}" if naive else "—"
        print(f"| {method} | {r['steps']} | {r['train_seconds']:.1f} | {r['train_seconds'] * scale:.1f} "
              f"({r['train_seconds'] * scale / 60:.1f} min) | {r['test_seconds']:.1f} | {100 * r['train_error']:.1f} % "
              f"| {100 * r['test_error']:.1f} % | {ratio} |")


if __name__ == "__main__":
    main()
