"""Torch operations per training step of the published small-world network (batch 20), by engine: on the CPU,
with PyTorch installed, what a GPU would launch as kernels.

    python benchmarks/gpu/op_count.py --data-dir ../shared/data/mnist        # seconds; needs torch (a CPU build)

Replayed from a CUDA graph at batch 20 a step costs about its kernel count times a few microseconds (the products
are small: the Euler step was 16 us on an H100, docs/performance.md), so the counts predict the GPU's ratio of
the fixed point to Euler before a GPU is at hand. Counted with a ``TorchDispatchMode`` over one whole
:meth:`Controller.step` (both phases, the EqProp gradient, the update), views left out (they launch nothing).
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from neurosim.build import new_run
from neurosim.config import load_config
from neurosim.controller import Controller, learning_rates
from neurosim.data import load_dataset
from neurosim.engines import Euler, FixedPoint
from neurosim.rules import EqProp

REFERENCE = Path(__file__).resolve().parents[2] / "experiments" / "paper" / "reference"
VIEWS = {"view", "_unsafe_view", "slice", "select", "t", "transpose", "expand", "alias", "as_strided",
         "unsqueeze", "squeeze", "detach", "permute", "lift_fresh"}
PRODUCTS = {"addmm", "mm", "matmul", "bmm"}


class OpCount(TorchDispatchMode):
    """Counts the aten operations dispatched inside it, by name, views left out."""

    def __init__(self):
        super().__init__()
        self.ops = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name not in VIEWS:
            self.ops[name] += 1
        return func(*args, **(kwargs or {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="directory with the MNIST IDX files")
    parser.add_argument("--sweeps", type=int, default=40)
    args = parser.parse_args()
    config = load_config(REFERENCE / "small-world.toml", n_train=20, n_test=20, data_dir=args.data_dir)
    data = load_dataset("mnist", args.data_dir, 20, 20)
    net = new_run(config, data).network.to_arrays(lambda a: None if a is None else torch.from_numpy(a))
    x = torch.from_numpy(data.x_train[:20].astype(config.dtype))
    target = torch.eye(net.n_outputs, dtype=x.dtype)[torch.from_numpy(data.y_train[:20].astype(np.int64))]
    print("| engine | operations per training step | of which products | most frequent |")
    print("|---|---|---|---|")
    for engine in (FixedPoint(n_free=args.sweeps, n_nudged=8), Euler(n_free=500, n_nudged=8)):
        controller = Controller(engine=engine, beta=config.beta, rates=learning_rates(net, config.lr),
                                random_sign=True, rule=EqProp(nudge="reference"))
        with OpCount() as count:
            controller.step(net, x, target, np.random.default_rng(0), torch.zeros(20, net.n_free, dtype=x.dtype))
        products = sum(n for name, n in count.ops.items() if name in PRODUCTS)
        common = ", ".join(f"{name} {n}" for name, n in count.ops.most_common(5))
        print(f"| {engine.name} ({engine.n_free} + {engine.n_nudged}) | {sum(count.ops.values())} | {products} | "
              f"{common} |")


if __name__ == "__main__":
    main()
