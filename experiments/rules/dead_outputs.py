"""Dead output units of the rules on the feedforward net (issue 41): bp and fa on MNIST 784-500-10 over five seeds,
under the squared output error (EqProp's cost) and the matching one, for docs/rules.md.

    python experiments/rules/dead_outputs.py --data-dir ../shared/data/mnist             # about 8 min on 2 cores

Under the squared error C = ½ ||ρ(a_L) − t||² an output unit whose pre-activation a_k falls below 0 for every example
gets δ_k = (ρ(a_k) − t_k) ρ'(a_k) = 0 and never learns again: its class is never predicted. A class counts as dead
here when its unit's pre-activation is below 0 on more than 99 % of the test examples of that class. Settings: the
full 60,000 / 10,000 split, 3 epochs, batch 20, one rate 0.1 (experiments/rules/mnist.py's), seeds 0-4 (each seed
its own initial weights, feedback draw and data order). Each run is one file under --out (a resumable sweep).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neurosim.atomic import write_text_atomically
from neurosim.config import make_config
from neurosim.data import load_dataset
from neurosim.rules import forward
from neurosim.store import load_run
from neurosim.sweep import Grid, collect, trained_points

BASE = dict(dataset="mnist", sizes=[784, 500, 10], topology="layered", batch_size=20, persistent=False,
            rate_every=50, epochs=3, lr=[0.1])


def dead_classes(output_pre: np.ndarray, y: np.ndarray, share: float = 0.99) -> list[int]:
    """The classes whose output unit's pre-activation (``output_pre``, examples x classes) is below 0 on more than
    ``share`` of their test examples."""
    return [k for k in range(output_pre.shape[1]) if np.mean(output_pre[y == k, k] < 0) > share]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rules", default="bp,fa")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--out", default="runs/dead-outputs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [(("rule", rule), ("output_error", error), ("seed", int(seed)))
            for error in ("squared", "matching") for rule in args.rules.split(",") for seed in args.seeds.split(",")]
    grid = Grid.of_rows(make_config(**BASE, data_dir=args.data_dir).to_dict(), rows, out)
    data = load_dataset("mnist", args.data_dir)
    x, y = data.x_test.astype(np.float32), data.y_test
    lines = ["| rule | output error | seed | test error % | dead classes | error % on the other classes |",
             "|---|---|---|---|---|---|"]
    labels = [" ".join(str(v) for _, v in row) for row in rows]
    for row, (_, _, path) in zip(rows, trained_points(grid, labels), strict=True):
        (_, rule), (_, error), (_, seed) = row
        run = load_run(path)
        pre, states = forward(run.network, x)  # one forward pass serves both
        dead = dead_classes(pre[-1], y)
        predicted = states[:, -run.network.sizes[-1]:].argmax(axis=1)
        alive = ~np.isin(y, dead)
        lines.append(f"| {rule} | {error} | {seed} | {100 * np.mean(predicted != y):.2f} | "
                     f"{', '.join(map(str, dead)) or '—'} | {100 * np.mean(predicted[alive] != y[alive]):.2f} |")
    collect(grid)
    text = "\n".join(lines) + "\n"
    print(text)
    write_text_atomically(out / "dead-outputs.md", text, "table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
