"""The report's tables as printed (and as the HTML page and trends.md show them): the fit to 3 decimals,
scores and effective robustness in F1 points, each gap with its 95% interval or why there is none."""

from __future__ import annotations

import pandas as pd

from .schema import expand_params


def format_trends(table: pd.DataFrame) -> pd.DataFrame:
    """The trend table as printed: fit to 3 decimals, scores and effective robustness in points."""
    out = pd.DataFrame({"condition": table["condition"], "points": table["points"], "runs": table["runs"],
                        "slope": table["slope"].map(_fixed3), "intercept": table["intercept"].map(_fixed3),
                        "r2": table["r2"].map(_fixed3),
                        "mean_id": table["mean_id_f1"].map("{:.1f}".format),
                        "mean_ood": table["mean_ood_f1"].map("{:.1f}".format),
                        "er_points": table["effective_robustness"].map("{:+.1f}".format),
                        "er_held_out": table["er_held_out"].map(lambda v: "-" if pd.isna(v) else f"{v:+.1f}"),
                        "extrapolated": [f"{k} of {n}" if k else "-" for k, n in zip(table["extrapolated"], table["points"])]})
    out["er_trend [95% CI]"] = interval_texts(table["trend_er"], table["trend_er_low"], table["trend_er_high"],
                                              table["baseline"])
    if "no_trend" in table:  # a condition with too few points: its points only
        out.loc[table["no_trend"].notna().to_numpy(), "er_trend [95% CI]"] = "points only"
    return out


def _fixed3(value) -> str:
    return "-" if pd.isna(value) else f"{value:.3f}"


def interval_texts(gaps, lows, highs, baselines=None, no_gap: str = "no shared ID range",
                   no_interval: str = "one run: no interval") -> list[str]:
    """A gap with its 95% interval as printed, per row: "+1.4 [-1.6, +6.3]", or why there is none."""
    baselines = [False] * len(gaps) if baselines is None else baselines
    return ["baseline" if base else no_gap if pd.isna(g) else f"{g:+.1f} ({no_interval})" if pd.isna(lo)
            else f"{g:+.1f} [{lo:+.1f}, {hi:+.1f}]" for base, g, lo, hi in zip(baselines, gaps, lows, highs)]


def format_external(table: pd.DataFrame) -> pd.DataFrame:
    """Effective robustness against an external line, as printed."""
    interval = interval_texts(table["er_trend"], table["low"], table["high"],
                              no_interval="no interval: one run, a given line")
    return pd.DataFrame({"condition": table["condition"], "runs": table["runs"],
                         "er_points": table["er_points"].map("{:+.1f}".format), "er_trend [95% CI]": interval})


def checkpoint_sections(finished: pd.DataFrame) -> list[tuple[str, object]]:
    """Where each condition that started from a given checkpoint came from (its ``source`` and sha256, the
    params a study gives such a condition, ``study/plan.py``), one row per condition; none: no section."""
    params = expand_params(finished.drop_duplicates("run"))
    if "param_checkpoint" not in params.columns:
        return []
    rows = params.dropna(subset=["param_checkpoint"])
    table = pd.DataFrame({"condition": rows["condition"], "source": rows["param_checkpoint"],
                          "sha256": rows.get("param_checkpoint_sha256"),
                          "model zoo": rows.get("param_zoo")}).drop_duplicates("condition")
    table["architectures"] = [", ".join(sorted(rows.loc[rows["condition"] == c, "architecture"].unique()))
                              for c in table["condition"]]
    return [("Conditions from given checkpoints (their provenance)", table.dropna(axis=1, how="all").reset_index(drop=True))]
