"""Figure 4's claim, "the error after one epoch decays roughly exponentially with replaced connections", tested
on a sweep's run files: the table of (replaced, first-epoch training error), a straight line through log(error)
and an exponential with an offset, error = c + a exp(-n / n0), by least squares (scipy.optimize.curve_fit).

    python experiments/paper/fig4_fit.py fig4-small/point-*.h5
"""

import sys

import numpy as np
from scipy.optimize import curve_fit

from neurosim.store import load_run


def main(paths: list[str]) -> None:
    runs = [load_run(p) for p in paths]
    points = sorted((int(r.topology["n_rewired"]), r.history["train_error"][0]) for r in runs if r.epochs_done)
    n, err = (np.array(v, dtype=float) for v in zip(*points))
    print("rewired   train error after one epoch")
    for k, e in points:
        print(f"{k:8d}  {100 * e:6.2f} %")
    slope, intercept = np.polyfit(n, np.log(err), 1)
    residual = np.log(err) - (slope * n + intercept)
    r2 = 1 - residual.var() / np.log(err).var()
    print(f"log-linear: error = {np.exp(intercept):.4f} exp(-n / {-1 / slope:.4g}), R^2 = {r2:.3f}")
    (c, a, n0), _ = curve_fit(lambda x, c, a, n0: c + a * np.exp(-x / n0), n, err,
                              p0=(err.min(), err.max() - err.min(), n.max() / 3), maxfev=20000)
    fitted = c + a * np.exp(-n / n0)
    r2 = 1 - np.var(err - fitted) / np.var(err)
    print(f"offset exponential: error = {c:.4f} + {a:.4f} exp(-n / {n0:.4g}), R^2 = {r2:.3f}")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit("usage: fig4_fit.py RUN.h5 RUN.h5 RUN.h5 ... (at least three points)")
    main(sys.argv[1:])
