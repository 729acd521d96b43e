"""Plotly figures over the analysis tables (pure: DataFrame/Trend in, Figure out)."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from . import axis_transforms as transforms
from .trends import Trend

TICKS = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])


def _axis(transform: str, title: str, lo: float, hi: float) -> dict:
    ticks = TICKS[(TICKS >= lo * 0.5) & (TICKS <= min(0.999, hi * 1.25))]
    return dict(title=title, tickvals=transforms.forward(ticks, transform).tolist(),
                ticktext=[f"{100 * t:g}" for t in ticks], zeroline=False)


def _band_trace(trend: Trend, colour: str, name: str) -> go.Scatter:
    x = transforms.forward(np.concatenate([trend.grid, trend.grid[::-1]]), trend.transform)
    y = transforms.forward(np.concatenate([trend.band_high, trend.band_low[::-1]]), trend.transform)
    return go.Scatter(x=x, y=y, fill="toself", fillcolor=colour, opacity=0.2, line=dict(width=0),
                      hoverinfo="skip", legendgroup=name, showlegend=False)


def id_ood_scatter(points: pd.DataFrame, trends: dict[str, Trend], transform: str,
                   id_label: str = "ID test macro-F1", ood_label: str = "OOD test macro-F1",
                   external=None, outside: pd.Series | None = None, points_only: list[str] | None = None) -> go.Figure:
    """ID vs OOD scatter, one colour per condition, fitted lines with 95% bands, and y = x; with
    ``external`` (an ``external_baseline.ExternalBaseline``) its line and its models' points in black;
    points ``outside`` the baseline's ID range (extrapolated) drawn open."""
    outside = pd.Series(False, index=points.index) if outside is None else outside
    fig = go.Figure()
    if external is not None:
        _external_traces(fig, external, points, transform)
    for i, (condition, trend) in enumerate(trends.items()):
        colour = qualitative.Plotly[i % len(qualitative.Plotly)]
        group = points[points["condition"] == condition]
        fig.add_trace(_band_trace(trend, colour, condition))
        line_x = transforms.forward(trend.grid, transform)
        fig.add_trace(go.Scatter(x=line_x, y=trend.intercept + trend.slope * line_x, mode="lines",
                                 line=dict(color=colour, width=2), name=f"{condition} trend",
                                 legendgroup=condition, hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=transforms.forward(group["id"], transform), y=transforms.forward(group["ood"], transform),
            mode="markers", marker=dict(color=colour, size=8, line=dict(width=1, color=colour),
                                        symbol=np.where(outside[group.index], "circle-open", "circle")),
            name=condition, legendgroup=condition,
            customdata=np.stack([group["architecture"], group["epoch"], group["run"], 100 * group["id"],
                                 100 * group["ood"], np.where(outside[group.index], "<br>extrapolated: outside the "
                                                              "baseline's ID range", "")], axis=1),
            hovertemplate="%{customdata[0]}, epoch %{customdata[1]}<br>ID %{customdata[3]:.1f}, "
                          "OOD %{customdata[4]:.1f}%{customdata[5]}<br>%{customdata[2]}<extra>"
                          + html.escape(condition) + "</extra>"))
    for j, condition in enumerate(points_only or [], len(trends)):  # too few points for a trend: markers only
        group = points[points["condition"] == condition]
        fig.add_trace(go.Scatter(
            x=transforms.forward(group["id"], transform), y=transforms.forward(group["ood"], transform), mode="markers",
            marker=dict(color=qualitative.Plotly[j % len(qualitative.Plotly)], size=10, symbol="diamond"),
            name=f"{condition} (points only: no trend)", customdata=np.stack([group["architecture"], group["epoch"]], axis=1),
            hovertemplate="%{customdata[0]}, epoch %{customdata[1]}<extra>" + html.escape(condition) + "</extra>"))
    lo = float(min(points["id"].min(), points["ood"].min()))
    hi = float(max(points["id"].max(), points["ood"].max()))
    diagonal = transforms.forward(np.array([max(lo * 0.8, 1e-3), min(hi * 1.2, 0.999)]), transform)
    fig.add_trace(go.Scatter(x=diagonal, y=diagonal, mode="lines", name="y = x",
                             line=dict(color="grey", dash="dash")))
    fig.update_layout(xaxis=_axis(transform, f"{id_label} ({transform} scale)", lo, hi),
                      yaxis=_axis(transform, f"{ood_label} ({transform} scale)", lo, hi),
                      template="plotly_white", width=900, height=650, legend=dict(x=1.02, y=1))
    return fig


def residual_plot(residuals: pd.DataFrame, baseline_name: str) -> go.Figure:
    """Figure 3: each run's residual against the baseline trend over fine-tuning epochs; colour
    = architecture, dash = pre-training condition. With a ``held_out`` column (see
    ``compare.held_out_residuals``) the title says which runs were left out of their own line."""
    fig = go.Figure()
    dashes = {c: d for c, d in zip(sorted(residuals["condition"].unique()), ["solid", "dash", "dot", "dashdot"] * 8)}
    colours = {a: qualitative.Plotly[i % len(qualitative.Plotly)]
               for i, a in enumerate(sorted(residuals["architecture"].unique()))}
    for (architecture, condition, run), trace in residuals.groupby(["architecture", "condition", "run"], sort=True):
        fig.add_trace(go.Scatter(
            x=trace["epoch"], y=trace["residual"], mode="lines+markers", name=f"{architecture} · {condition}",
            line=dict(color=colours[architecture], dash=dashes[condition]), customdata=trace[["run"]],
            hovertemplate="epoch %{x}: residual %{y:+.1f} F1 points<br>%{customdata[0]}<extra>"
                          f"{architecture} · {condition}</extra>"))
    fig.add_hline(y=0, line=dict(color="grey", dash="dash"))
    title = None
    if "held_out" in residuals and residuals["held_out"].any():
        title = (f"the {baseline_name} runs against the {baseline_name} line refitted without each of them "
                 "(leave-one-run-out); the others against the line of all the " + baseline_name + " runs")
    fig.update_layout(title=dict(text=title, font=dict(size=12)) if title else None,
                      xaxis=dict(title="fine-tuning epoch", dtick=1),
                      yaxis=dict(title=f"OOD residual vs the {baseline_name} trend (F1 points)"),
                      template="plotly_white", width=900, height=450,
                      legend=dict(title="architecture · condition"))
    return fig


def _external_traces(fig: go.Figure, external, points: pd.DataFrame, transform: str) -> None:
    name = f"{external.name} (external)"
    ids = points["id"] if external.points is None else pd.concat([points["id"], external.points["id"]])
    grid = transforms.inverse(np.linspace(*transforms.forward(np.array([ids.min(), ids.max()]), transform), 100),
                              transform)
    fig.add_trace(go.Scatter(x=transforms.forward(grid, transform), y=transforms.forward(external.predict(grid), transform),
                             mode="lines", line=dict(color="black", width=2, dash="dot"), name=name,
                             legendgroup=name, hoverinfo="skip"))
    if external.points is not None:
        fig.add_trace(go.Scatter(x=transforms.forward(external.points["id"], transform),
                                 y=transforms.forward(external.points["ood"], transform), mode="markers",
                                 marker=dict(color="black", size=5, symbol="x"), name=f"{external.name} models",
                                 legendgroup=name, hovertemplate="ID %{x}<br>OOD %{y}<extra>" + name + "</extra>"))


def _external_line(fig: go.Figure, mine: pd.DataFrame, line, label: str, colour: str, transform: str, shown: set,
                   row: int, col: int) -> None:
    """An external baseline's line (dotted) over the ID range of one panel's points of its OOD split."""
    if not len(mine):
        return
    ids = np.linspace(*transforms.forward(np.array([mine["id"].min(), mine["id"].max()]), transform), 50)
    grid = transforms.inverse(ids, transform)
    fig.add_trace(go.Scatter(x=ids, y=transforms.forward(line.predict(grid), transform), mode="lines",
                             line=dict(color=colour, dash="dot", width=3), name=label, legendgroup=label,
                             showlegend=label not in shown, hoverinfo="skip"), row=row, col=col)
    shown.add(label)


def task_panels(points: pd.DataFrame, fits: dict, transform: str, baseline: str, id_label: str,
                external: dict | None = None) -> go.Figure:
    """Figures 20-21: one panel per task (ID domain); in each, every OOD split's points and one line per
    condition (colour = OOD split, solid = the baseline's trend, dashed = the others'); ``external``:
    per OOD split a line from outside the study (dotted)."""
    from plotly.subplots import make_subplots

    tasks = sorted(points["task"].unique())
    columns = min(3, len(tasks))
    rows = -(-len(tasks) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[f"ID: {t}" for t in tasks],
                        horizontal_spacing=0.06, vertical_spacing=0.12)
    splits = sorted(points["ood_split"].unique())
    colours = {s: qualitative.Plotly[i % len(qualitative.Plotly)] for i, s in enumerate(splits)}
    symbols = {c: s for c, s in zip(sorted(points["condition"].unique()), ["circle", "diamond", "square", "x"] * 8)}
    shown = set()
    for n, task in enumerate(tasks):
        row, col = n // columns + 1, n % columns + 1
        for (split, condition), group in points[points["task"] == task].groupby(["ood_split", "condition"]):
            legend = f"{split} · {condition}"
            fig.add_trace(go.Scatter(
                x=transforms.forward(group["id"], transform), y=transforms.forward(group["ood"], transform),
                mode="markers", marker=dict(color=colours[split], symbol=symbols[condition], size=6),
                name=legend, legendgroup=legend, showlegend=legend not in shown,
                hovertemplate=f"{task} -> {split}<br>{condition}<extra></extra>"), row=row, col=col)
            shown.add(legend)
            trend = fits.get((task, split), {}).get(condition)
            if trend is not None:
                x = transforms.forward(trend.grid, transform)
                fig.add_trace(go.Scatter(x=x, y=trend.intercept + trend.slope * x, mode="lines", hoverinfo="skip",
                                         line=dict(color=colours[split], dash="solid" if condition == baseline else "dash"),
                                         legendgroup=legend, showlegend=False), row=row, col=col)
        for split, line in (external or {}).items():
            _external_line(fig, points[(points["task"] == task) & (points["ood_split"] == split)], line,
                           f"{split} · {line.name} (external)", colours[split], transform, shown, row, col)
    lo, hi = float(min(points["id"].min(), points["ood"].min())), float(max(points["id"].max(), points["ood"].max()))
    fig.update_xaxes(**{k: v for k, v in _axis(transform, id_label, lo, hi).items() if k != "title"})
    fig.update_yaxes(**{k: v for k, v in _axis(transform, "OOD", lo, hi).items() if k != "title"})
    fig.update_layout(template="plotly_white", width=1100, height=380 * rows,
                      title=dict(text=f"x: {id_label}, y: the OOD domain's score ({transform} scale); solid: {baseline}",
                                 font=dict(size=12)))
    return fig
