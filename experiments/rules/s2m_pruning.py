"""The synaptic sampling machine's robustness claim, measured (issue 41): the test error of a trained S2M before
pruning, after pruning the weakest 75 % of its connections, and after a short re-learning with the pruned
connections held at zero.

    python experiments/rules/s2m_pruning.py RUN.h5 --data-dir ../shared/data/mnist [--fraction 0.75]
                                            [--relearn 10000] [-o runs/rules-mnist/s2m-pruning.md]

RUN.h5: a finished s2m run (experiments/rules/mnist.py makes one). Pruning is by |W| over both blocks together
(neurosim.rules.s2m.prune); re-learning continues the run's own configuration (rate, sampling, seed streams of a
next epoch) on the first --relearn training examples, in memory: the pruned network is not a run file's network
(its masks are not its topology's), so the result is this script's table, not a run file. Each evaluation is one
pass of the test split with the run's own sampler (from rest, predict_steps steps).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from neurosim.atomic import write_text_atomically
from neurosim.build import STREAM_NOISE, controller_of, stream
from neurosim.config import make_config
from neurosim.data import load_dataset
from neurosim.rules.s2m import prune
from neurosim.store import load_run
from neurosim.training import evaluate, train


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--fraction", type=float, default=0.75)
    parser.add_argument("--relearn", type=int, default=10_000, help="training examples of the re-learning")
    parser.add_argument("-o", "--out", default="runs/rules-mnist/s2m-pruning.md")
    args = parser.parse_args(argv)
    run = load_run(args.run)
    config = make_config(**{**run.config, "data_dir": args.data_dir})
    if config.rule != "s2m":
        raise SystemExit(f"{args.run}: rule={config.rule!r}, not an s2m run")
    data = load_dataset(config.dataset, args.data_dir, config.n_train, config.n_test)
    x_test = data.x_test.astype(config.dtype)

    def test_error(net, learned, label) -> float:
        controller = controller_of(config, net, learned=learned)
        started = time.perf_counter()
        error = evaluate(controller, net, x_test, data.y_test, noise_rng=stream(config.seed, STREAM_NOISE, 10_000))
        print(f"{label}: test error {100 * error.error:.2f} % ({time.perf_counter() - started:.0f} s)", flush=True)
        return 100 * error.error

    rows = [("trained", test_error(run.network, run.rule_parameters, "trained"), run.network)]
    pruned = prune(run.network, args.fraction)
    rows.append((f"pruned {100 * args.fraction:.0f} %", test_error(pruned, run.rule_parameters, "pruned"), pruned))
    relearn = dataclasses.replace(config, epochs=run.epochs_done + 1, n_train=args.relearn, persistent=False)
    subset = dataclasses.replace(data, x_train=data.x_train[:args.relearn], y_train=data.y_train[:args.relearn])
    trained_epochs = run.epochs_done
    again = dataclasses.replace(run, network=pruned, free_states=None, test_states=None,
                                history={k: list(v) for k, v in run.history.items()},
                                batches={k: list(v) for k, v in run.batches.items()},
                                rule_parameters={k: v.copy() for k, v in run.rule_parameters.items()})
    again = train(relearn, run=again, data=subset, progress=False)
    kept = sum(int(b.mask.sum()) for b in again.network.blocks)
    assert all(not b.weight[~b.mask].any() for b in again.network.blocks), "a pruned connection came back"
    rows.append((f"pruned, then re-learned on {args.relearn:,} examples",
                 test_error(again.network, again.rule_parameters, "re-learned"), again.network))
    total = sum(b.weight.size for b in run.network.blocks)
    lines = [f"S2M pruning ({Path(args.run).name}: {'-'.join(map(str, run.network.sizes))}, {trained_epochs} "
             f"epoch(s) of {config.n_train or len(data.x_train)}; {kept:,} of {total:,} connections kept)", "",
             "| network | test error % |", "|---|---|"]
    lines += [f"| {label} | {error:.2f} |" for label, error, _ in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    write_text_atomically(Path(args.out), text, "table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
