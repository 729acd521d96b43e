"""A study's report: one self-contained HTML page (plotly inlined once, opens offline) and its
tables, built from the tidy run table by pure functions."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go

from ..metrics import ACCURACY, F1_MACRO
from ..store.states import RunStatus
from . import compare, external_baseline, figures, figures_groups, groups, task_pairs, trends
from .report_tables import checkpoint_sections, format_external, format_trends, interval_texts  # noqa: F401 - publish prints format_external
from .external_baseline import ExternalBaseline

STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
         "th{background:#f4f4f4}td:first-child{text-align:left}")
METRIC_NAMES = {F1_MACRO: "macro-F1", ACCURACY: "accuracy"}
SCORED_KINDS = ("finetune", "zeroshot")  # runs with ID/OOD scores: fine-tuned networks, CLIP checkpoints zero-shot


@dataclass
class Report:
    html: str
    trends: pd.DataFrame  # one row per condition (or per run, for a task without a shift)
    comparisons: pd.DataFrame  # one row per pair of conditions
    notes: list[str]
    printed: pd.DataFrame  # ``trends`` as shown in the report and printed by the command
    external: pd.DataFrame | None = None  # effective robustness against an external baseline, per condition
    sections: list = field(default_factory=list)  # (heading, figure / table / lines): what the page shows
    runs: pd.DataFrame | None = None  # effective robustness per run (``compare.per_run``), where a trend is fitted


def _written_at() -> datetime:
    """Now, or the reproducible-builds convention's fixed time (``SOURCE_DATE_EPOCH``) where it is set."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(fixed), timezone.utc) if fixed else datetime.now(timezone.utc)


def render_html(title: str, notes: list[str], sections: list[tuple[str, object]], caption: str = "") -> str:
    """Title, notes, then each section: a heading and a figure (with ``caption``, HTML, under it), a
    table or plain text."""
    parts, plotly_included = [], False
    for index, (heading, body) in enumerate(sections):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(body, go.Figure):  # ids by position, not plotly's random ones: the same report, the same bytes
            for trace in body.data:  # a legend entry is text: plotly would render a name's markup (a live link)
                if trace.name:
                    trace.name = html.escape(trace.name)
            parts.append(body.to_html(full_html=False, include_plotlyjs=not plotly_included, div_id=f"figure-{index}")
                         + caption)
            plotly_included = True
        elif isinstance(body, pd.DataFrame):
            parts.append(body.to_html(index=False, escape=True, border=0))
        else:
            parts.append("<ul>" + "".join(f"<li>{html.escape(str(line))}</li>" for line in body) + "</ul>")
    notes_html = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    stamp = _written_at().strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><ul>{notes_html}</ul>"
            f"{''.join(parts)}<p><small>Generated {stamp} by pretrain-robustness.</small></p></body></html>")


def build_report(tidy: pd.DataFrame, study: str, transform: str = "probit", baseline: str = "scratch",
                 id_split: str = "id_test", ood_split: str | None = "ood_test", metric: str = F1_MACRO,
                 left_out: pd.DataFrame | None = None, external: list[ExternalBaseline] | ExternalBaseline | None = None,
                 choices: list[dict[str, str]] | None = None) -> Report:
    """Fit one trend per condition over the finished fine-tuning runs and assemble the report.
    Without an OOD split (the second paper's tasks), the report is the final scores per run.
    ``left_out``: runs the reader could not use (``run, status, reason``); listed with the others.
    ``external``: baseline lines from outside the study (one per OOD split at most), drawn and
    measured against as well.
    ``choices``: the study's choices where the paper leaves one open, printed under each figure."""
    externals = [external] if isinstance(external, ExternalBaseline) else list(external or [])
    report = _build(tidy, study, transform, baseline, id_split, ood_split, metric, left_out, externals,
                    choices_html(choices))
    report.notes = [*report.notes, *choice_lines(choices)]
    return report


def choice_lines(choices: list[dict[str, str]] | None) -> list[str]:
    """One sentence per choice: what the paper leaves open, what the study takes, the alternative."""
    return [f"choice: {c['choice']}: {c['taken']} (alternative: {c['alternative']})" for c in choices or []]


def choices_html(choices: list[dict[str, str]] | None) -> str:
    """The block printed under each figure ("" without choices)."""
    if not choices:
        return ""
    items = "".join(f"<li><b>{html.escape(c['choice'])}</b>: {html.escape(c['taken'])} "
                    f"<i>(alternative: {html.escape(c['alternative'])})</i></li>" for c in choices)
    return f"<div class='choices'><small>This study's choices where the paper leaves one open:</small><ul>{items}</ul></div>"


def _build(tidy: pd.DataFrame, study: str, transform: str, baseline: str, id_split: str, ood_split: str | None,
           metric: str, left_out: pd.DataFrame | None, externals: list[ExternalBaseline], caption: str) -> Report:
    finished, left_out = _finished_runs(tidy, study, left_out)
    if ood_split is None:
        return _scores_report(finished, left_out, study, id_split, metric, caption)
    if task_pairs.has_tasks(finished):
        return _pairs_report(finished, left_out, study, transform, baseline, id_split, metric, caption, externals)
    return _trend_report(finished, left_out, study, transform, baseline, id_split, ood_split, metric, externals,
                         caption)


def _finished_runs(tidy: pd.DataFrame, study: str, left_out: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the finished scored runs' rows, every run left out with why); none finished is an error."""
    finetune = tidy[tidy["kind"].isin(SCORED_KINDS)]
    unfinished = finetune.loc[finetune["status"] != RunStatus.FINISHED, ["run", "status"]].drop_duplicates()
    left_out = pd.concat([unfinished.assign(reason="not finished"),
                          left_out if left_out is not None else pd.DataFrame(columns=["run", "status", "reason"])],
                         ignore_index=True)
    finished = finetune[finetune["status"] == RunStatus.FINISHED]
    if finished.empty:
        raise ValueError(f"study {study!r} has no finished fine-tuning run to report; "
                         + (_left_out_note(left_out)[0] if len(left_out) else "it has no fine-tuning runs"))
    return finished, left_out


def _trend_report(finished: pd.DataFrame, left_out: pd.DataFrame, study: str, transform: str, baseline: str,
                  id_split: str, ood_split: str, metric: str, externals: list[ExternalBaseline],
                  caption: str) -> Report:
    """One ID/OOD pair: a trend per condition, effective robustness against the baseline's."""
    external = external_baseline.for_split(externals, ood_split)
    points = trends.id_ood_points(finished, id_split, ood_split, metric)
    fitted, unfitted = trends.fit_each_condition(points, transform)
    if baseline not in fitted:
        why = unfitted.get(baseline, f"no finished run; conditions: {sorted(fitted) + sorted(unfitted)}")
        raise ValueError(f"baseline condition {baseline!r} has no trend: {why} (choose another with --baseline)")
    shown = points  # every point, those of conditions without a trend too (their point effective robustness)
    points = points[points["condition"].isin(fitted)]
    table = compare.summary_table(points, fitted, baseline)
    if unfitted:
        table = pd.concat([table, compare.points_only_rows(shown, fitted[baseline], baseline, unfitted)],
                          ignore_index=True)
    pairs = compare.pairwise_gaps(points, transform)
    name = METRIC_NAMES.get(metric, metric)
    notes = _trend_notes(points, table, unfitted, left_out, f"{id_split} {name}", f"{ood_split} {name}", name,
                         transform, baseline)
    external_table = None
    if external is not None:
        external_table = external_baseline.effective_robustness_table(points, external, transform)
        notes.append(external.describe())
    sections: list[tuple[str, object]] = [
        ("ID vs OOD, one trend per condition",
         figures.id_ood_scatter(shown, fitted, transform, f"{id_split} {name}", f"{ood_split} {name}", external,
                                compare.outside_baseline(shown, baseline), points_only=list(unfitted))),
        ("Trends and effective robustness", format_trends(table)),
        *([(f"Effective robustness against the external baseline '{external.name}' ({name} points; source: "
            f"{external.provenance})", format_external(external_table))] if external is not None else []),
        ("Do the trends differ? (gap between lines, run bootstrap)", pairs["verdict"].tolist() or ["one condition only"]),
        (f"Residuals over fine-tuning against the '{baseline}' trend, out of sample (Ramanujan et al. Figure 3)",
         figures.residual_plot(compare.held_out_residuals(points, baseline, transform), baseline)),
    ]
    sections += _classes_sections(groups.final_scores(finished, ood_split, metric), ood_split, name)
    sections += checkpoint_sections(finished)
    page = render_html(f"Study '{study}': effective robustness", notes, sections, caption)
    return Report(page, table, pairs, notes, format_trends(table), external_table, sections,
                  compare.per_run(points, fitted[baseline], baseline))


def _trend_notes(points: pd.DataFrame, table: pd.DataFrame, unfitted: dict, left_out: pd.DataFrame, x: str, y: str,
                 name: str, transform: str, baseline: str) -> list[str]:
    """What the trend report shows and how each number is made."""
    notes = [f"{len(points)} (architecture, epoch) points from {points['run'].nunique()} finished fine-tuning runs; "
             "points per fit in the table",
             f"x: {x}, y: {y}, axes {transform}-scaled; shaded: 95% bootstrap band of "
             "the line (1,000 resamples of the points, Taori et al.'s testbed procedure with its plotter's seed, "
             "720257663), over the points' ID range (the testbed: the plot's x limits); scores are clipped to "
             "[0.0001, 0.9999] before the transform (the testbed does not clip)",
             f"effective robustness vs the '{baseline}' trend in {name} points: er_points = mean over a condition's "
             "points of observed OOD minus the baseline's prediction; er_trend = mean gap between the two lines over "
             "the ID range both cover, 95% CI from resampling each condition's runs; er_held_out = er_points with each "
             f"of the '{baseline}' runs measured against the '{baseline}' line refitted without that run (leave-one-run-"
             "out), so the baseline's own figure is not zero by construction"]
    outside = int(table["extrapolated"].sum())
    if outside:
        base = points.loc[points["condition"] == baseline, "id"]
        notes.append(f"{outside} points lie outside the '{baseline}' points' ID range [{100 * base.min():.1f}, "
                     f"{100 * base.max():.1f}] (open markers; the table's 'extrapolated' column): their effective "
                     "robustness extends the baseline's line beyond its data")
    clipped = int(table["clipped"].sum())
    if clipped:
        notes.append(f"{clipped} scores were 0 or 1 and were clipped to [0.0001, 0.9999] before the {transform} transform")
    notes += [f"condition {c!r} has no trend ({reason}): its points are shown (diamonds) with their effective "
              "robustness, and left out of the comparisons" for c, reason in unfitted.items()]
    return notes + _left_out_note(left_out)


def _classes_sections(scores: pd.DataFrame, split: str, name: str) -> list[tuple[str, object]]:
    """Score vs number of pre-training classes per family, when the runs carry those params."""
    if not {"param_family", "param_classes"} <= set(scores.columns):
        return []
    return [(f"{split} {name} vs pre-training classes (Kalibhat et al. Figures 3, 4, 6)",
             figures_groups.score_vs_classes(scores, f"{split} {name} (%)", scale={"R": 0.398}))]


def _left_out_note(left_out: pd.DataFrame) -> list[str]:
    if not len(left_out):
        return []
    return [f"left out: {len(left_out)} fine-tuning runs not finished or not readable ("
            + "; ".join(f"{r} [{s}] {why}" for r, s, why in left_out[["run", "status", "reason"]].itertuples(index=False))
            + ")"]


def _pairs_report(finished: pd.DataFrame, left_out: pd.DataFrame, study: str, transform: str, baseline: str,
                  id_split: str, metric: str, caption: str = "", externals: list[ExternalBaseline] | None = None) -> Report:
    """A study with several fine-tuning tasks (Fig. 21), or one task with several OOD splits (Fig. 20's
    zero-shot ImageNet -> V2 / Sketch): per task a panel, per (task, OOD split) a row; an external line
    per OOD split (e.g. the scratch trend of Miller et al.) is drawn and measured against."""
    name = METRIC_NAMES.get(metric, metric)
    points = task_pairs.pair_points(finished, id_split, metric)
    fits, unfitted = task_pairs.fit_pairs(points, transform)
    table = task_pairs.pair_table(points, fits, baseline, transform)
    shown = table.assign(**{"er_trend [95% CI]": interval_texts(table["er_trend"], table["low"], table["high"],
                                                                table["baseline"], no_gap="-")})
    shown = shown[["task", "ood_split", "condition", "runs", "points", "er_trend [95% CI]"]]
    kinds = " and ".join(sorted(set(finished["kind"]) & set(SCORED_KINDS)))
    notes = [f"{points['task'].nunique()} ID tasks x {points['ood_split'].nunique()} OOD splits; "
             f"{points['run'].nunique()} finished runs ({kinds})",
             f"per (task, OOD split): x = {id_split} {name}, y = the OOD split's {name}, one {transform} trend per "
             f"condition; er_trend = mean gap to the '{baseline}' trend over the shared ID range (F1/accuracy points), "
             "95% CI from resampling each condition's runs"]
    notes += [f"{task} -> {split}, condition {condition!r} has no trend and is left out: {reason}"
              for (task, split, condition), reason in unfitted.items()]
    notes += _left_out_note(left_out)
    comparisons = table.loc[~table["baseline"].astype(bool),
                            ["task", "ood_split", "condition", "er_trend", "low", "high", "verdict"]]
    lines = {split: external_baseline.for_split(externals or [], split) for split in points["ood_split"].unique()}
    lines = {split: line for split, line in lines.items() if line is not None}
    sections = [("Every (ID, OOD) pair, one panel per ID task (Ramanujan et al. Figures 20, 21)",
                 figures.task_panels(points, fits, transform, baseline, f"{id_split} {name}", lines)),
                (f"Effective robustness against '{baseline}' per (ID, OOD) pair", shown)]
    external_table = _pairs_against_external(points, lines, transform)
    if external_table is not None:
        notes += [line.describe() for line in lines.values()]
        sections.append(("Effective robustness against the external baseline per (ID, OOD) pair (points; 95% CI "
                         "from resampling the runs and the external models)",
                         pd.concat([external_table[["task", "ood_split"]], format_external(external_table)], axis=1)))
    page = render_html(f"Study '{study}': every (ID, OOD) pair", notes, sections, caption)
    return Report(page, table, comparisons.reset_index(drop=True), notes, shown, external_table, sections)


def _pairs_against_external(points: pd.DataFrame, lines: dict, transform: str) -> pd.DataFrame | None:
    """Per (task, OOD split, condition): effective robustness against that split's external line."""
    tables = [external_baseline.effective_robustness_table(group, lines[split], transform)
              .assign(task=task, ood_split=split)
              for (task, split), group in points.groupby(["task", "ood_split"], sort=True) if split in lines]
    return pd.concat(tables, ignore_index=True) if tables else None


def _scores_report(finished: pd.DataFrame, left_out: pd.DataFrame, study: str, split: str, metric: str,
                   caption: str = "") -> Report:
    """Each finished run's final score on ``split``; the classes curve when runs carry the params."""
    name = METRIC_NAMES.get(metric, metric)
    scores = groups.final_scores(finished, split, metric)
    params = [c for c in scores.columns if c.startswith("param_")]
    table = scores[["condition", "architecture", "seed", "epoch", *params, "value"]].rename(columns={"value": metric})
    shown = table.assign(**{metric: (100 * table[metric]).map("{:.1f}".format)}).sort_values(["condition", "architecture"])
    notes = [f"{len(table)} finished fine-tuning runs, {split} {name} at each run's last scored epoch (in %)",
             *_left_out_note(left_out)]
    sections = [*_classes_sections(scores, split, name), (f"Final {split} {name} per run", shown)]
    page = render_html(f"Study '{study}': fine-tuned scores", notes, sections, caption)
    return Report(page, table, pd.DataFrame(columns=["condition_a", "condition_b", "verdict"]), notes, shown,
                  sections=sections)
