"""Bytes overwritten on disk: 4 KiB of random bytes written over a run file at N random offsets, and over its last
4 KiB; counts how often the file is refused (RunFileError), loads equal to the original, or loads different (the
case that must never happen).

    python3 experiments/reliability/overwrite_bytes.py [N]    # N = 68 by default
"""

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from neurosim.config import make_config
from neurosim.store import RunFileError, load_run
from neurosim.training import train


def same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.network.parameters(), b.network.parameters(), strict=True)) \
        and a.history == b.history and a.config == b.config


def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp())
    good = folder / "good.h5"
    train(make_config(sizes=(64, 12, 12, 10), rewire_n=20, n_train=200, n_test=50, n_free=20, epochs=2), out=good,
          progress=False)
    original, size = load_run(good), good.stat().st_size
    rng = np.random.default_rng(0)
    offsets = [*rng.integers(0, size - 4096, size=n), size - 4096]
    counts = {"refused": 0, "loads equal": 0, "loads different": 0}
    for offset in offsets:
        damaged = folder / "damaged.h5"
        shutil.copyfile(good, damaged)
        with open(damaged, "r+b") as f:
            f.seek(int(offset))
            f.write(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
        try:
            run = load_run(damaged)
        except RunFileError:
            counts["refused"] += 1
        else:
            counts["loads equal" if same(run, original) else "loads different"] += 1
    print(f"{len(offsets)} overwrites of 4 KiB ({n} random offsets and the last 4 KiB) of a {size / 1024:.0f} KiB run "
          f"file: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    shutil.rmtree(folder)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 68)
