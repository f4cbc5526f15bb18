"""Checkpoint write and load time of the paper's 784-500-500-500-10 small-world run (897,000 connections, the
warm-start states of 60,000 + 10,000 examples), side by side with another neurosim checkout in the same run.

    python3 benchmarks/run_file_io.py [OTHER_CHECKOUT]

prints seconds for save_run and load_run here (and with the checkout at OTHER_CHECKOUT, e.g. a ``git worktree``
of an earlier commit) and their ratio. Run by hand; not a test."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURE = r'''
import sys, time
import numpy as np
from neurosim.config import make_config
from neurosim.data import Dataset
from neurosim.build import new_run
from neurosim.store import load_run, save_run
config = make_config(dataset="mnist", sizes=(784, 500, 500, 500, 10), topology="small-world", intralayer=False,
                     rewire_n=89700, intra_init=0.0829, lr=(0.02,), engine="fixedpoint")
rng = np.random.default_rng(0)
data = Dataset("mnist", np.zeros((60000, 784), np.float32), np.zeros(60000, np.int64),
               np.zeros((10000, 784), np.float32), np.zeros(10000, np.int64), 10)
run = new_run(config, data)
run.free_states = rng.uniform(size=(60000, 1510)).astype(np.float32)
run.test_states = rng.uniform(size=(10000, 1510)).astype(np.float32)
path = sys.argv[1]
t = time.perf_counter(); save_run(path, run); saved = time.perf_counter() - t
t = time.perf_counter(); load_run(path); loaded = time.perf_counter() - t
print(f"{saved:.2f} {loaded:.2f}")
'''


def measure(checkout: Path, folder: Path) -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(folder / f"{checkout.name}.h5")], cwd=checkout,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(checkout)})
    if done.returncode:
        raise SystemExit(f"{checkout}: {done.stderr.strip().splitlines()[-1]}")
    saved, loaded = map(float, done.stdout.split())
    return saved, loaded


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    checkouts = [here] + [Path(p).resolve() for p in sys.argv[1:]]
    with tempfile.TemporaryDirectory() as folder:
        results = {c: measure(c, Path(folder)) for c in checkouts}
    for c, (saved, loaded) in results.items():
        print(f"{str(c):40s} save {saved:6.2f} s  load {loaded:6.2f} s")
    if len(checkouts) > 1:
        (s0, l0), (s1, l1) = results[checkouts[0]], results[checkouts[1]]
        print(f"ratio this / other: save {s0 / s1:.2f}x  load {l0 / l1:.2f}x")


if __name__ == "__main__":
    main()
