"""Publishing a study: the report command (trends, comparisons, HTML page, W&B artifact) and the
per-class figures of the second paper from two runs' predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jsonargparse import ArgumentParser

from ..files import replace_together
from .browser import check_page
from ..metrics import F1_MACRO
from ..datamodules.dataset_checks import source_checks
from ..datamodules.sources.imagenet import ImageNetTrain
from ..datamodules.sources.listing_cache import cached_table
from ..wordnet.species_match import DEFAULT_DATA_NOUN, data_noun_path, match_species, read_data_noun
from . import external_baseline, figures_groups, groups, report, run_table, wandb_report


@dataclass
class ReportSettings:
    """What a study's report reads and how it fits its trends: the study's own report and ``report``
    build one (``study/report_command.py``), so the two write the same files.

    Args:
        root, study: the runs under ``root/study`` (or W&B group ``study`` of ``wandb_project``).
        transform, baseline, id_split, ood_split, metric: as the study YAML's.
        output: the folder for report.html, trends.csv, trends.md and comparisons.csv (default
            ``root/study/``: one study's files never overwrite another's).
        log_artifact: log the report to W&B (its tables, figures, effective robustness and files:
            ``analysis/wandb_report.py``); None: when the study's runs were logged there.
        screenshot: open the page in headless Chromium.
        external: baselines from outside the study (``external_baseline.load_all``).
        choices: where the paper leaves a choice open, printed under each figure.
        includes: other studies' runs that join this report (``study[:condition,...]``).
    """

    root: Path
    study: str
    transform: str = "probit"
    baseline: str | None = "scratch"
    id_split: str = "id_test"
    ood_split: str | None = "ood_test"
    metric: str = F1_MACRO
    output: Path | None = None
    wandb_project: str | None = None
    log_artifact: bool | None = None
    screenshot: bool = False
    external: dict | list[dict] | None = None
    choices: list[dict[str, str]] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)


def write_report(settings: ReportSettings) -> Path:
    """Fit one trend per condition; write report.html with trends.csv/.md and comparisons.csv beside
    it into ``settings.output``. Runs come from the local store, or from W&B with ``wandb_project``;
    the external baselines' table is written to external_baseline.csv."""
    s = settings
    if s.output is not None and (Path(s.output).suffix == ".html" or Path(s.output).is_file()):
        raise ValueError(f"--output {s.output}: name a folder (report.html, trends.csv, trends.md and comparisons.csv "
                         "are written into it)")
    external_lines = external_baseline.load_all(s.external)  # a bad spec stops before reading runs
    tidy, left_out = _read_runs(Path(s.root), s.study, s.wandb_project, s.includes)
    built = report.build_report(tidy, s.study, s.transform, s.baseline, s.id_split, s.ood_split, s.metric, left_out,
                                external_lines, s.choices)
    output = Path(s.output or Path(s.root) / s.study) / "report.html"
    printed = built.printed
    said = [*built.comparisons.get("verdict", []), *(n for n in built.notes if n.startswith(("left out", "condition")))]
    markdown = markdown_table(printed) + "\n\n" + "\n".join(f"- {line}" for line in said) + "\n"
    writers = {"report.html": lambda p: p.write_text(built.html), "trends.md": lambda p: p.write_text(markdown),
               "trends.csv": lambda p: built.trends.to_csv(p, index=False),
               "comparisons.csv": lambda p: built.comparisons.to_csv(p, index=False)}
    if built.external is not None:
        writers[EXTERNAL_FILE] = lambda p: built.external.to_csv(p, index=False)
    files = replace_together(writers, output.parent, stale=(EXTERNAL_FILE,))  # a Ctrl-C leaves the last report whole
    print(printed.to_string(index=False))
    for sentence in [*said, *report.choice_lines(s.choices)]:
        print(sentence)
    _print_external(built, external_lines)
    files += [_screenshot(output)] if s.screenshot else []
    if s.log_artifact or s.log_artifact is None and wandb_report.logged_to_wandb(tidy["run"].unique()):
        settings = {"transform": s.transform, "baseline": s.baseline, "id_split": s.id_split, "ood_split": s.ood_split,
                    "metric": s.metric, "includes": list(s.includes)}
        project = wandb_report.project_of(tidy["run"].unique(), s.wandb_project)
        study_folder = Path(s.root) / s.study  # its W&B files with the study's (what `sync --study` uploads)
        wandb_report.log_report(built, files, project, s.study, settings, s.choices,
                                study_folder if study_folder.is_dir() else output.parent)
    print(f"report: {output.resolve()}")
    return output


def _read_runs(root: Path, study: str, wandb_project: str | None,
               includes: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The study's runs (and those of the studies it includes) from the local store, or from W&B."""
    if wandb_project:
        return run_table.load_wandb_runs(wandb_project, filters={"group": study}), None
    tidy, left_out = run_table.scan_local_runs(root, study)
    if tidy.empty and not len(left_out):
        raise FileNotFoundError(f"no runs (run.json) under {Path(root) / study}")
    for included in includes or []:  # another study's runs join this report (e.g. Fig. 12 on Fig. 3's)
        more, more_left_out = _included_runs(root, included)
        tidy, left_out = pd.concat([tidy, more], ignore_index=True), pd.concat([left_out, more_left_out], ignore_index=True)
    return tidy, left_out


def _included_runs(root: Path, included: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``study`` (all its runs) or ``study:condition[,condition...]`` (those conditions' runs only,
    e.g. Fig. 3's ImageNet line beside a study that has its own scratch runs)."""
    other, _, named = included.partition(":")
    conditions = [c for c in named.split(",") if c]
    more, left_out = run_table.scan_local_runs(root, other)
    if conditions:
        more = more[more["condition"].isin(conditions)]
        left_out = left_out[left_out["run"].astype(str).apply(lambda run: Path(run).parent.name in conditions)]
    if more.empty:
        raise FileNotFoundError(f"report_includes: {included!r} has no readable runs under {Path(root) / other} "
                                f"(run that study first{'; conditions ' + str(conditions) if conditions else ''})")
    return more, left_out


EXTERNAL_FILE = "external_baseline.csv"  # the effective robustness against the external baselines


def _print_external(built, external_lines: list) -> None:
    if built.external is None:
        return
    for line in external_lines:
        print(line.describe())
    print(report.format_external(built.external).to_string(index=False))


def _screenshot(output: Path) -> Path:
    """The report rendered in headless Chromium; a JavaScript error in it is an error here."""
    check = check_page(output, output.with_suffix(".png"))
    if check.errors:
        raise RuntimeError(f"the report raised JavaScript errors in Chromium: {check.errors}")
    print(f"screenshot: {check.screenshot.resolve()}")
    return check.screenshot


def markdown_table(table) -> str:
    """A DataFrame as a GitHub-flavoured markdown table (no optional dependency needed)."""
    rows = [list(map(str, table.columns))] + [list(map(str, row)) for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join([lines[0], "|" + "---|" * len(table.columns), *lines[1:]])


def per_class_command(args: list[str]) -> Path:
    """``per-class --pretrained P.csv --scratch S.csv``: Kalibhat et al.'s Figures 1 and 2 from two
    runs' predictions (``predictions`` command). The class table is C.csv (``--classes``: ``y_true``
    plus e.g. class_name, family, group, superclass) or else the predictions' own columns (an
    iNaturalist 2021 run carries species, family, class, supercategory, common_name). With
    ``--wordnet`` each species is matched to ImageNet through WordNet and Figure 1 shows birds in
    families ImageNet shows at least one species of, coloured by that."""
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness per-class", description=per_class_command.__doc__)
    parser.add_argument("--pretrained", required=True, help="predictions CSV of the pre-trained, fine-tuned run")
    parser.add_argument("--scratch", required=True, help="predictions CSV of the run trained from scratch")
    parser.add_argument("--classes", type=str | None, default=None, help="CSV: y_true and the columns named below")
    parser.add_argument("--split", default="ood_test")
    parser.add_argument("--x", default="family", help="column of the classes CSV along the x axis (Figure 1)")
    parser.add_argument("--colour", default="group", help="column that colours the classes (Figure 1; "
                                                          "'represented' with --wordnet)")
    parser.add_argument("--group", default="superclass", help="column to pool accuracy over (Figure 2)")
    parser.add_argument("--wordnet", type=str | None, default=None,
                        help="WordNet 3.0 data.noun to match species to ImageNet classes; 'default': $WORDNET_DATA_NOUN, "
                             f"else {DEFAULT_DATA_NOUN}")
    parser.add_argument("--imagenet", type=str | None, default=None,
                        help="ImageNet train folder (train/<wnid>/): counts each matched class's training images")
    parser.add_argument("--corrected", type=str | None, default=None,
                        help="CSV species,val_images: Luccioni & Rolnick's corrected ImageNet val counts per bird species")
    parser.add_argument("--output", default="per_class.html")
    cfg = parser.parse_args(args)
    return write_per_class(cfg.pretrained, cfg.scratch, cfg.classes, cfg.split, cfg.x, cfg.colour, cfg.group,
                           Path(cfg.output), cfg.wordnet, cfg.imagenet, cfg.corrected)


def per_class_datasets(imagenet: str | None) -> dict:
    """The dataset the per-class figures read (ImageNet train's class sizes), for ``check-data``."""
    return source_checks([ImageNetTrain(imagenet)]) if imagenet else {}


def write_per_class(pretrained: str, scratch: str, classes: str | None, split: str, x: str = "family",
                    colour: str = "group", group: str = "superclass", output: Path = Path("per_class.html"),
                    wordnet: str | None = None, imagenet: str | None = None, corrected: str | None = None) -> Path:
    """Figures 1 and 2 (see :func:`per_class_command`); writes OUTPUT, its CSV of gains and, with
    ``wordnet``, the species match table ``<output>.matches.csv``."""
    tables = {}
    for name, path in (("pretrained", pretrained), ("scratch", scratch)):
        table = pd.read_csv(path)
        tables[name] = table[table["split"] == split]
        if tables[name].empty:
            raise ValueError(f"{path} has no predictions on split {split!r}")
    class_table = pd.read_csv(classes) if classes else _classes_of(tables["pretrained"])
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    notes = [f"pre-trained: {pretrained}", f"scratch: {scratch}", f"{len(class_table)} classes"]
    if wordnet:
        matches = match_species(class_table, read_data_noun(wordnet))
        counts = cached_table(ImageNetTrain(imagenet))["source_class"].value_counts() if imagenet else None
        class_table = groups.representation(class_table, matches, counts,
                                            pd.read_csv(corrected) if corrected else None)
        class_table.to_csv(output.with_suffix(".matches.csv"), index=False)
        notes.append(f"species matched to ImageNet through WordNet ({data_noun_path(wordnet)}): "
                     f"{int(matches['imagenet_wnid'].notna().sum())} of {len(matches)} have an ImageNet class; "
                     f"match table {output.with_suffix('.matches.csv')}")
        colour = "represented"
    gains = groups.pretraining_gain(tables["pretrained"], tables["scratch"], class_table)
    shown = groups.figure1_species(gains) if wordnet else gains
    sections = [(f"Pre-training gain per class on {split} (Kalibhat et al. Figure 1)",
                 figures_groups.gain_scatter(shown, x, colour, "species" if "species" in shown else "class_name"))]
    if group in class_table:
        bars = pd.concat([groups.group_accuracy(t, class_table, group).assign(condition=n) for n, t in tables.items()])
        sections.append((f"Accuracy per {group} on {split}, 95% bootstrap intervals over images "
                         "(Kalibhat et al. Figure 2)", figures_groups.group_bars(bars, group)))
    output.write_text(report.render_html("Per-class pre-training gain", notes, sections))
    gains.to_csv(output.with_suffix(".csv"), index=False)
    print(f"per-class figures: {output.resolve()}")
    return output


def _classes_of(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per label from the predictions' own example columns (what the dataset knows of it)."""
    drop = {"split", "filename", "y_pred", "path"}
    return predictions.drop(columns=[c for c in predictions.columns if c in drop]).drop_duplicates("y_true")
