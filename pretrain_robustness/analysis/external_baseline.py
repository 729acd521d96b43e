"""Baseline trends from outside the study. The paper's scratch and ImageNet lines come from a larger
testbed of models (Miller et al., "Accuracy on the line"); a report can measure effective robustness
against such a line instead of (and beside) one fitted on the study's own runs.

An external baseline is either a CSV of other models' (ID, OOD) scores, fitted here by least
squares on the named axis transform, or a line given as slope and intercept on that axis. It always
carries its provenance, which the report prints. Scores are fractions in [0, 1]. A study with several
OOD splits (Fig. 20: ImageNet-V2 and ImageNet-Sketch) gives one line per split (``ood_split``), and
one CSV can hold every split's scores as columns (``ood_column``).

Effective robustness against it: of the points, each point's OOD score minus the line's prediction
(F1 points); of a condition's trend, the mean gap between the condition's line and the external one
over the condition's ID range (and the external points', when there are points), with a 95% interval
from resampling the condition's runs and, for a CSV, the external points too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import axis_transforms as transforms
from .compare import GAP_GRID, resampled_lines, run_sums, summed_lines
from .trends import N_BOOTSTRAP, lstsq_lines, resample_indices


@dataclass(frozen=True)
class ExternalBaseline:
    """``t(ood) = intercept + slope * t(id)`` on axis ``transform``; ``points`` when fitted from a CSV."""

    name: str
    provenance: str
    transform: str
    intercept: float
    slope: float
    points: pd.DataFrame | None = None
    ood_split: str | None = None  # the OOD split this line is for (None: the study's one OOD split)

    def predict(self, id_scores: np.ndarray) -> np.ndarray:
        t = transforms.forward(np.asarray(id_scores, float), self.transform)
        return transforms.inverse(self.intercept + self.slope * t, self.transform)

    def describe(self) -> str:
        fitted = f"fitted to {len(self.points)} models' scores" if self.points is not None else "given as a line"
        split = f" for {self.ood_split}" if self.ood_split else ""
        return (f"external baseline '{self.name}'{split} ({fitted}: {self.transform}(OOD) = {self.intercept:+.3f} + "
                f"{self.slope:.3f} x {self.transform}(ID)); source: {self.provenance}")


def from_line(name: str, provenance: str, slope: float, intercept: float, transform: str = "probit") -> ExternalBaseline:
    transforms.forward(np.array([0.5]), transform)  # an unknown transform is an error here, not later
    return ExternalBaseline(name, provenance, transform, float(intercept), float(slope))


def from_points(name: str, provenance: str, path: str | Path, transform: str = "probit",
                ood_column: str = "ood") -> ExternalBaseline:
    """Fit the line to a CSV with columns ``id`` and ``ood_column`` (fractions in [0, 1]; e.g. ``model`` too)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"external baseline {name!r}: {path} not found (a CSV of other models' scores: "
                                f"columns id and {ood_column}, fractions in [0, 1])")
    table = pd.read_csv(path)
    missing = {"id", ood_column} - set(table.columns)
    if missing:
        raise ValueError(f"external baseline {path}: needs columns 'id' and {ood_column!r} (scores in [0, 1]); "
                         f"missing {sorted(missing)}, found {list(table.columns)}")
    table = table.rename(columns={ood_column: "ood"}) if ood_column != "ood" else table
    table = table.dropna(subset=["id", "ood"])
    outside = table[(table[["id", "ood"]] < 0).any(axis=1) | (table[["id", "ood"]] > 1).any(axis=1)]
    if len(outside):
        raise ValueError(f"external baseline {path}: scores must be fractions in [0, 1]; row {outside.index[0] + 2} "
                         f"has id={outside['id'].iloc[0]}, ood={outside['ood'].iloc[0]} (percentages? divide by 100)")
    if len(table) < 3:
        raise ValueError(f"external baseline {path}: a line needs at least 3 models' scores, got {len(table)}")
    tx, ty = transforms.forward(table["id"], transform), transforms.forward(table["ood"], transform)
    if np.ptp(tx) == 0:
        raise ValueError(f"external baseline {path}: every model has the same ID score; no line can be fitted")
    intercept, slope = (float(v) for v in lstsq_lines(tx, ty))
    return ExternalBaseline(name, provenance, transform, intercept, slope, table.reset_index(drop=True))


def load(spec: dict) -> ExternalBaseline:
    """From a report option / study YAML: ``{name, source, transform, csv[, ood_column]}`` or ``{...,
    slope, intercept}``, either with ``ood_split`` (the OOD split the line is for)."""
    known = {"name", "source", "transform", "csv", "ood_column", "slope", "intercept", "ood_split"}
    if set(spec) - known or not {"name", "source"} <= set(spec):
        raise ValueError(f"external baseline: expected keys name, source, transform, ood_split and either csv "
                         f"(ood_column) or slope and intercept; got {sorted(spec)}")
    transform = spec.get("transform", "probit")
    if "csv" in spec:
        if {"slope", "intercept"} & set(spec):
            raise ValueError("external baseline: give either csv or slope and intercept, not both")
        line = from_points(spec["name"], spec["source"], spec["csv"], transform, spec.get("ood_column", "ood"))
    elif not {"slope", "intercept"} <= set(spec):
        raise ValueError(f"external baseline {spec['name']!r}: give csv, or both slope and intercept")
    else:
        line = from_line(spec["name"], spec["source"], spec["slope"], spec["intercept"], transform)
    return replace(line, ood_split=spec.get("ood_split"))


def load_all(spec: dict | list[dict] | None) -> list[ExternalBaseline]:
    """One spec or a list of them (one per OOD split); every CSV is read and checked now."""
    specs = [] if spec is None else [spec] if isinstance(spec, dict) else list(spec)
    lines = [load(s) for s in specs]
    splits = [line.ood_split for line in lines]
    if len(lines) > 1 and (None in splits or len(set(splits)) != len(splits)):
        raise ValueError(f"external baselines: with several, each needs its own ood_split; got {splits}")
    return lines


def for_split(lines: list[ExternalBaseline], split: str) -> ExternalBaseline | None:
    """The line for OOD split ``split``: the one naming it, or the one naming none."""
    return next((line for line in lines if line.ood_split == split), None) or \
        next((line for line in lines if line.ood_split is None), None)


def _gap_grid(condition: pd.DataFrame, external: ExternalBaseline, transform: str) -> np.ndarray | None:
    """ID scores to average the gap over: the condition's range, within the external points' range."""
    lo, hi = condition["id"].min(), condition["id"].max()
    if external.points is not None:
        lo, hi = max(lo, external.points["id"].min()), min(hi, external.points["id"].max())
    if not lo < hi:
        return None
    return transforms.inverse(np.linspace(*transforms.forward(np.array([lo, hi]), transform), GAP_GRID), transform)


def _external_lines(external: ExternalBaseline, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The external line per resample: refitted on resampled points, or the fixed given line."""
    if external.points is None:
        return np.full(n_boot, external.intercept), np.full(n_boot, external.slope)
    tx = transforms.forward(external.points["id"].to_numpy(), external.transform)
    ty = transforms.forward(external.points["ood"].to_numpy(), external.transform)
    idx = resample_indices(len(tx), n_boot, seed)
    return lstsq_lines(tx[idx], ty[idx])


def effective_robustness_table(points: pd.DataFrame, external: ExternalBaseline, transform: str = "probit",
                               n_boot: int = N_BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Per condition: effective robustness against ``external`` of its points and of its trend."""
    rows = []
    for condition, group in points.groupby("condition", sort=True):
        row = {"condition": condition, "baseline": external.name, "runs": group["run"].nunique(),
               "er_points": float(100 * (group["ood"] - external.predict(group["id"].to_numpy())).mean()),
               "er_trend": np.nan, "low": np.nan, "high": np.nan}
        grid = _gap_grid(group, external, transform)
        if grid is not None:
            grid_t = transforms.forward(grid, transform)
            intercept, slope = summed_lines(run_sums(group, transform).sum(0))
            row["er_trend"] = float(100 * (transforms.inverse(intercept + slope * grid_t, transform)
                                           - external.predict(grid)).mean())
            if row["runs"] >= 2 or external.points is not None:
                rng = np.random.default_rng(seed)
                ints, slopes = (resampled_lines(group, transform, n_boot, rng) if row["runs"] >= 2
                                else (np.full(n_boot, intercept), np.full(n_boot, slope)))
                ext_int, ext_slope = _external_lines(external, n_boot, seed)
                ext_t = transforms.forward(grid, external.transform)
                ours = transforms.inverse(ints[:, None] + slopes[:, None] * grid_t, transform)
                theirs = transforms.inverse(ext_int[:, None] + ext_slope[:, None] * ext_t, external.transform)
                gaps = 100 * (ours - theirs).mean(1)
                row["low"], row["high"] = (float(v) for v in np.nanpercentile(gaps, [2.5, 97.5]))
        rows.append(row)
    return pd.DataFrame(rows, columns=["condition", "baseline", "runs", "er_points", "er_trend", "low", "high"])
