"""Time one trend fit with its 95% band: ours (all resamples at once) against a straightforward
per-resample loop written as Taori et al.'s testbed does it, at identical settings.

    .venv/bin/python scripts/benchmark_trend_fit.py [--points 5000] [--resamples 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pretrain_robustness.analysis import axis_transforms as transforms
from pretrain_robustness.analysis.trends import GRID_POINTS, bootstrap_band, fit_trend


def loop_band(tx: np.ndarray, ty: np.ndarray, grid_t: np.ndarray, n_boot: int, seed: int):
    """One resample at a time: draw, np.linalg.lstsq on [1, x], evaluate on the grid; percentiles."""
    rng = np.random.RandomState(seed)
    lines = []
    for _ in range(n_boot):
        rows = rng.choice(tx.size, tx.size)
        coeffs = np.linalg.lstsq(np.stack([np.ones(tx.size), tx[rows]], axis=1), ty[rows], rcond=None)[0]
        lines.append(coeffs[0] + coeffs[1] * grid_t)
    lines = np.vstack(lines)
    return (np.percentile(lines, 2.5, axis=0, method="lower"), np.percentile(lines, 97.5, axis=0, method="higher"))


def _best_of(repeats: int, function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    id_scores = rng.uniform(0.05, 0.8, args.points)
    ood_scores = transforms.inverse(-0.3 + 0.9 * transforms.forward(id_scores, "probit")
                                    + rng.normal(scale=0.15, size=args.points), "probit")
    tx, ty = transforms.forward(id_scores, "probit"), transforms.forward(ood_scores, "probit")
    grid_t = np.linspace(tx.min(), tx.max(), GRID_POINTS)
    fit_s, _ = _best_of(args.repeats, lambda: fit_trend(id_scores, ood_scores, "probit", n_boot=args.resamples))
    band_s, ours = _best_of(args.repeats, lambda: bootstrap_band(tx, ty, grid_t, args.resamples, seed=0))
    loop_s, reference = _best_of(1, lambda: loop_band(tx, ty, grid_t, args.resamples, seed=0))
    difference = float(max(np.abs(ours[0] - reference[0]).max(), np.abs(ours[1] - reference[1]).max()))
    result = {"points": args.points, "resamples": args.resamples, "fit_trend_s": fit_s, "band_s": band_s,
              "loop_band_s": loop_s, "speedup": loop_s / band_s, "max_band_difference": difference}
    print(f"{args.points} points, {args.resamples} resamples, {GRID_POINTS}-point grid (best of {args.repeats})")
    print(f"  fit_trend (line, bootstrap band, t-interval): {fit_s * 1e3:8.1f} ms")
    print(f"  bootstrap band, vectorised:                   {band_s * 1e3:8.1f} ms")
    print(f"  bootstrap band, per-resample loop (testbed):  {loop_s * 1e3:8.1f} ms")
    print(f"  speed-up {loop_s / band_s:.1f}x; largest difference between the two bands {difference:.2e}")
    return result


if __name__ == "__main__":
    main()
