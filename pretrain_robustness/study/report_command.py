"""``report``: a study's report written again, from its YAML (``--config``: the very settings the
study's own report takes, its choices, included studies and external baselines with them) or from
the settings named one by one (``--study``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from jsonargparse import ArgumentParser

from ..analysis.publish import ReportSettings, write_report
from ..metrics import METRICS
from .spec import StudySpec, read_study


def report_settings(spec: StudySpec) -> ReportSettings:
    """The report of a study, as the study writes it at its end."""
    return ReportSettings(root=Path(spec.root), study=spec.study, transform=spec.transform, baseline=spec.baseline,
                          id_split=spec.id_split, ood_split=spec.ood_split, metric=spec.metric,
                          external=spec.external_baseline, choices=list(spec.choices),
                          includes=list(spec.report_includes))


def _parser() -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness report", description=report_command.__doc__)
    parser.add_argument("--config", type=str | None, default=None,
                        help="a study YAML: its report's settings (the options below, given too, override them)")
    parser.add_argument("--root", type=str | None, default=None, help="the results store (default: runs)")
    parser.add_argument("--study", type=str | None, default=None)
    parser.add_argument("--transform", default=None, choices=["probit", "logit", "linear"], help="default: probit")
    parser.add_argument("--baseline", type=str | None, default=None, help="default: scratch")
    parser.add_argument("--id_split", type=str | None, default=None, help="default: id_test")
    parser.add_argument("--ood_split", type=str, default="",
                        help="default: ood_test; null for a task without a shift: the report is then the final "
                             "scores per run")
    parser.add_argument("--metric", default=None, choices=list(METRICS), help="default: f1_macro")
    parser.add_argument("--output", type=str | None, default=None,
                        help="the folder for report.html, trends.csv, trends.md and comparisons.csv (default: "
                             "ROOT/STUDY/, so that studies reported side by side never overwrite each other)")
    parser.add_argument("--wandb_project", type=str | None, default=None,
                        help="read the runs of group STUDY from this W&B project (entity/project) instead of ROOT")
    parser.add_argument("--log_artifact", type=bool | None, default=None,
                        help="log the report to W&B (tables, figure panels, effective robustness, its files); default: "
                             "when the study's runs were logged there")
    parser.add_argument("--screenshot", type=bool, default=False,
                        help="open the report in headless Chromium, fail on JavaScript errors, save report.png")
    parser.add_argument("--external_baseline", type=dict | list[dict] | None, default=None,
                        help="a baseline line from outside the study, e.g. '{name: testbed, source: \"Miller et al. "
                             "2021\", csv: points.csv}' or '{name: ..., source: ..., slope: 0.8, intercept: -0.2, "
                             "transform: probit}'; CSV columns id, ood in [0, 1] (or ood_column: NAME); a list "
                             "of them, each with ood_split: SPLIT, for a study with several OOD splits")
    return parser


def report_command(args: list[str]) -> Path:
    """``report --config configs/studies/demo.yaml`` (the study's own report again) or ``report --study
    demo``: fit trends over a study's finished runs and write the HTML report."""
    parser = _parser()
    cfg = parser.parse_args(args)
    given = {"output": Path(cfg.output) if cfg.output else None, "wandb_project": cfg.wandb_project,
             "log_artifact": cfg.log_artifact, "screenshot": cfg.screenshot}
    named = {"root": Path(cfg.root) if cfg.root else None, "study": cfg.study, "transform": cfg.transform,
             "baseline": cfg.baseline, "id_split": cfg.id_split, "metric": cfg.metric, "external": cfg.external_baseline}
    overrides = {k: v for k, v in named.items() if v is not None}
    if cfg.ood_split:  # "" when not given; null (no shift) is a value given
        overrides["ood_split"] = None if cfg.ood_split.lower() in ("null", "none") else cfg.ood_split
    if cfg.config:
        settings = replace(report_settings(read_study(cfg.config)), **overrides, **given)
    elif cfg.study:
        settings = replace(ReportSettings(root=Path("runs"), study=cfg.study), **overrides, **given)
    else:
        raise ValueError("report needs --config <study.yaml> (the study's own report) or --study NAME")
    return write_report(settings)
