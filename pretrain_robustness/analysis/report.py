"""The study report: one self-contained HTML file (plotly inlined, opens offline)."""

from __future__ import annotations

import html
from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go

TABLE_FORMATS = {"slope": "{:.3f}", "intercept": "{:.3f}", "r2": "{:.3f}", "mean_id_f1": "{:.1f}",
                 "mean_ood_f1": "{:.1f}", "effective_robustness": "{:+.1f}"}
STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
         "th{background:#f4f4f4}td:first-child{text-align:left}")


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column, fmt in TABLE_FORMATS.items():
        if column in out:
            out[column] = out[column].map(fmt.format)
    return out


def render_html(title: str, figure: go.Figure, table: pd.DataFrame, notes: list[str]) -> str:
    """Title, notes, the figure (plotly.js inlined) and the table, as one HTML document."""
    figure_html = figure.to_html(full_html=False, include_plotlyjs=True)
    table_html = format_table(table).to_html(index=False, escape=True, border=0)
    notes_html = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><ul>{notes_html}</ul>"
            f"{figure_html}<h2>Trends and effective robustness</h2>{table_html}"
            f"<p><small>Generated {stamp} by pretrain-robustness.</small></p></body></html>")
