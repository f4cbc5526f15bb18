"""Every damage tests/test_run_damage.py derives from a run file's own layout, counted: each is applied to a copy
of a small run, the digest made anew, and the file loaded. Prints the damages that load (the test allows only the
two that the data set alone reveals) and the totals.

    python3 experiments/reliability/layout_damage.py
"""

import shutil
import sys
import tempfile
from pathlib import Path

import h5py

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
import test_run_damage as damage  # noqa: E402
from conftest import restamp  # noqa: E402

from neurosim.config import make_config  # noqa: E402
from neurosim.store import RunFileError, load_run  # noqa: E402
from neurosim.training import train  # noqa: E402


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    good = folder / "good.h5"
    train(make_config(**damage.RUN), out=good, progress=False)
    tried = refused = 0
    for label, change in damage.every_damage(good):
        damaged = folder / "damaged.h5"
        shutil.copyfile(good, damaged)
        with h5py.File(damaged, "r+") as f:
            change(f)
        if damage._same_layout(damage._layout(damaged), damage._layout(good)):
            continue
        restamp(damaged)
        tried += 1
        try:
            load_run(damaged)
        except RunFileError:
            refused += 1
        else:
            print(f"loads: {label}")
    print(f"{tried} damages: {refused} refused on load, {tried - refused} load")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
