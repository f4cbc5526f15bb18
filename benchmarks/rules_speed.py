"""Speed of the spiking and the sampling rules' steps, each side by side with the way before, in one run:

- eRBP (neurosim.rules.erbp): a presentation (100 steps of 1 ms) reading and writing only the weight rows of the
  inputs that spiked in the batch (``neurosim.spiking.spiking_inputs``, today) against every row (before);
- S2M (neurosim.rules.s2m): a training step's contrastive divergence (CD-1) and a prediction (10 block-Gibbs
  steps, what the rule runs before every update and at test time) with the synapse masks drawn from random bytes
  (``neurosim.sampling.transmitting``, today) against float32 uniforms (before).

    python benchmarks/rules_speed.py --data-dir ../shared/data/mnist [--blank-out 0.5] [--rounds 5]

The network is 784-500-10 (the rules' MNIST size) with weights drawn as every neurosim run's; the batch is 20 MNIST
training images (or, without --data-dir, 20 random images with MNIST's mean intensity, 0.13). Each round times
every step both ways, interleaved; the ratio printed is the median over rounds of the ratio within a round (this
machine's timings drift from one minute to the next). Both ways compute the same thing: eRBP's rows left out hold
no spike; both mask draws are exact Bernoulli(1 - p) where 256 (1 - p) is a whole number (the uniforms resolve
2^-24).
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np
from threadpoolctl import threadpool_limits

from neurosim import sampling, topology
from neurosim.rules import erbp
from neurosim.data import load_dataset
from neurosim.network import from_graph
from neurosim.rules.feedforward import feedback_matrices
from neurosim.rules.s2m import classify, contrastive_divergence
from neurosim.spiking import LIF


def uniform_masks(shape, keep, rng):
    """The masks as drawn before: float32 uniforms compared with keep."""
    return rng.random(shape, dtype=np.float32) < keep


def every_input(spikes):
    """eRBP's rows as read before: all of them, as views (a whole slice: the dense products of before)."""
    return slice(None)


def batch_of(data_dir: str | None, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``size`` MNIST training images and one-hot labels, or random images of MNIST's mean intensity."""
    if data_dir:
        data = load_dataset("mnist", data_dir=data_dir, n_train=size, n_test=1)
        return data.x_train.astype(np.float32), np.eye(10, dtype=np.float32)[data.y_train]
    x = (rng.random((size, 784)) < 0.13).astype(np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, size)]


def seconds(work, repeats: int) -> float:
    """Seconds per call of ``work`` over ``repeats`` calls, after one untimed call."""
    work()
    start = time.perf_counter()
    for _ in range(repeats):
        work()
    return (time.perf_counter() - start) / repeats


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--blank-out", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    net = from_graph(topology.layered((784, 500, 10)), seed=0, dtype=np.float32)
    x, target = batch_of(args.data_dir, 20, rng)
    settings = sampling.Sampling(blank_out=args.blank_out)
    pixel_bias = np.zeros(784, dtype=np.float32)
    lif, feedback = LIF(), feedback_matrices(net, "dfa", rng)
    #: step -> (its call, what the way before replaces, the replacement)
    work = {"eRBP presentation, learning": (lambda: erbp.present(net, lif, x, rng, target, feedback),
                                            (erbp, "spiking_inputs", every_input)),
            "eRBP presentation, predicting": (lambda: erbp.present(net, lif, x, rng),
                                              (erbp, "spiking_inputs", every_input)),
            "S2M cd-1 step": (lambda: contrastive_divergence(net, x, target, pixel_bias, settings, rng),
                              (sampling, "transmitting", uniform_masks)),
            "S2M prediction": (lambda: classify(net, x, settings, rng), (sampling, "transmitting", uniform_masks))}
    ratios = {name: [] for name in work}
    times = {(name, way): [] for name in work for way in ("today", "before")}
    with threadpool_limits(args.threads):
        for _ in range(args.rounds):
            for name, (call, (module, attribute, before)) in work.items():
                fast = seconds(call, args.repeats)
                with mock.patch.object(module, attribute, before):
                    slow = seconds(call, args.repeats)
                times[name, "today"].append(fast)
                times[name, "before"].append(slow)
                ratios[name].append(slow / fast)
    print(f"784-500-10, batch 20, S2M blank-out p = {args.blank_out}, {args.threads} thread(s), "
          f"{args.rounds} rounds of {args.repeats} calls; median ms per call")
    print(f"{'':30s} {'today':>8s} {'before':>8s} {'before / today':>15s}")
    for name in work:
        print(f"{name:30s} {1e3 * np.median(times[name, 'today']):8.1f} {1e3 * np.median(times[name, 'before']):8.1f}"
              f" {np.median(ratios[name]):15.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
