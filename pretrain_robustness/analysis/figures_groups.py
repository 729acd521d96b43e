"""Plotly figures of the second paper (Kalibhat et al.): per-class gains, per-group bars, and
score against the number of pre-training classes. Pure: DataFrame in, Figure out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from ..metrics import ACCURACY


def gain_scatter(gains: pd.DataFrame, x: str = "family", colour: str = "group", label: str = "class_name") -> go.Figure:
    """Figure 1: per-class pre-training gain (points), one column per ``x`` value, coloured by ``colour``."""
    fig = go.Figure()
    categories = sorted(gains[x].astype(str).unique())
    position = {c: i for i, c in enumerate(categories)}
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(gains))  # fixed: same picture every time
    names = gains[label] if label in gains else gains["y_true"]
    for i, (group, rows) in enumerate(gains.assign(_name=names.to_numpy(), _jitter=jitter).groupby(colour, sort=True)):
        fig.add_trace(go.Scatter(
            x=rows[x].astype(str).map(position) + rows["_jitter"], y=rows["gain"], mode="markers", name=str(group),
            marker=dict(color=qualitative.Set1[i % len(qualitative.Set1)], size=9),
            customdata=np.stack([rows["_name"], rows[x].astype(str)], axis=1),
            hovertemplate="%{customdata[0]} (%{customdata[1]})<br>gain %{y:+.1f} points<extra>" + str(group) + "</extra>"))
    fig.add_hline(y=0, line=dict(color="grey", dash="dash"))
    fig.update_layout(xaxis=dict(title=x, tickvals=list(range(len(categories))), ticktext=categories),
                      yaxis=dict(title="pre-training gain (accuracy points, pre-trained - scratch)"),
                      template="plotly_white", width=900, height=500, legend=dict(title=colour))
    return fig


def group_bars(scores: pd.DataFrame, group: str = "superclass") -> go.Figure:
    """Figure 2: accuracy per group, one bar per condition (e.g. pre-trained vs scratch), with the
    95% bootstrap interval over images when the table has ``low``/``high``."""
    fig = go.Figure()
    for i, (condition, rows) in enumerate(scores.groupby("condition", sort=False)):
        interval = (dict(type="data", symmetric=False, array=100 * (rows["high"] - rows[ACCURACY]),
                         arrayminus=100 * (rows[ACCURACY] - rows["low"])) if {"low", "high"} <= set(rows) else None)
        fig.add_trace(go.Bar(x=rows[group], y=100 * rows[ACCURACY], name=str(condition), error_y=interval,
                             marker_color=qualitative.Plotly[i % len(qualitative.Plotly)],
                             customdata=rows["n"], hovertemplate="%{x}: %{y:.1f}% of %{customdata} images"))
    fig.update_layout(barmode="group", xaxis=dict(title=group), yaxis=dict(title="accuracy (%)"),
                      template="plotly_white", width=900, height=450, legend=dict(title="condition"))
    return fig


def score_vs_classes(scores: pd.DataFrame, score_label: str, scale: dict[str, float] | None = None) -> go.Figure:
    """Figures 3, 4, 6: final score against the number of pre-training classes, one line per subset
    family (``param_family``: A, NA, R). ``scale`` adds a dashed copy of a family with its class
    counts multiplied (Figure 6: R x 0.398, the expected number of animal classes in ImageNet-R-k).
    A point is the mean over the runs of its classes (seeds and draws: ``seeds`` in a study); its
    bar spans their minimum to maximum."""
    missing = {"param_family", "param_classes"} - set(scores.columns)
    if missing:
        raise ValueError(f"runs need condition params 'family' and 'classes' (run.params); missing {sorted(missing)}")
    fig = go.Figure()
    families = scores.dropna(subset=["param_family", "param_classes"])
    for i, (family, rows) in enumerate(families.groupby("param_family", sort=True)):
        mean = rows.groupby("param_classes")["value"].agg(["mean", "size", "min", "max"]).reset_index()
        spread = dict(type="data", symmetric=False, array=100 * (mean["max"] - mean["mean"]),
                      arrayminus=100 * (mean["mean"] - mean["min"]), visible=bool((mean["size"] > 1).any()))
        colour = qualitative.Plotly[i % len(qualitative.Plotly)]
        copies = [(f"ImageNet-{family}", 1.0, "solid")]
        if scale and family in scale:
            copies.append((f"{scale[family]:g} x ImageNet-{family} classes", scale[family], "dash"))
        for name, factor, dash in copies:
            fig.add_trace(go.Scatter(x=mean["param_classes"] * factor, y=100 * mean["mean"], mode="lines+markers",
                                     name=name, line=dict(color=colour, dash=dash), customdata=mean["size"],
                                     error_y=spread,
                                     hovertemplate="%{x:.0f} classes: %{y:.1f} (%{customdata} runs)"))
    fig.update_layout(xaxis=dict(title="pre-training classes", type="log"), yaxis=dict(title=score_label),
                      template="plotly_white", width=900, height=450, legend=dict(title="pre-training subset"),
                      title=dict(text="mean over seeds and draws; bars: min to max", font=dict(size=12)))
    return fig
