"""The project's own commands (beside LightningCLI's fit/validate/test/predict)."""

from __future__ import annotations

import time
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentParser


def demo_data(args: list[str]) -> Path:
    """``demo-data --root data/demo``: generate the embedded default data (skips what exists)."""
    parser = ArgumentParser(prog="pretrain-robustness demo-data", description=demo_data.__doc__)
    parser.add_argument("--root", default="data/demo", help="output folder")
    parser.add_argument("--force", type=bool, default=False, help="regenerate even if present")
    cfg = parser.parse_args(args)
    return ensure_demo_data(Path(cfg.root), cfg.force)


def ensure_demo_data(root: Path, force: bool = False) -> Path:
    from .demo.imagenet import write_imagenet_train
    from .demo.iwildcam import write_iwildcam

    if force or not (root / "iwildcam_v2.0" / "RELEASE_v2.0.txt").is_file():
        start = time.time()
        print(f"generating camera-trap shift (iWildCam-WILDS v2.0 layout) in {root}/iwildcam_v2.0 ...", flush=True)
        write_iwildcam(root)
        print(f"    {time.time() - start:.1f} s", flush=True)
    if force or not (root / "imagenet" / "train" / ".complete").is_file():
        start = time.time()
        print(f"generating pre-training set (ILSVRC-2012 train layout) in {root}/imagenet/train ...", flush=True)
        write_imagenet_train(root / "imagenet")
        (root / "imagenet" / "train" / ".complete").touch()
        print(f"    {time.time() - start:.1f} s", flush=True)
    return root


def write_report(root: Path, study: str, transform: str = "probit", baseline: str = "scratch",
                 id_split: str = "id_test", ood_split: str | None = "ood_test", output: Path | None = None,
                 metric: str = "f1_macro", wandb_project: str | None = None, log_artifact: bool = False,
                 screenshot: bool = False) -> Path:
    """Fit one trend per condition; write ``root/study/report.html`` with trends.csv/.md and
    comparisons.csv beside it. Runs come from the local store, or from W&B with ``wandb_project``."""
    from .analysis import report, runs

    if wandb_project:
        tidy = runs.load_wandb_runs(wandb_project, filters={"group": study})
    else:
        tidy = runs.load_local_runs(root, study)
    built = report.build_report(tidy, study, transform, baseline, id_split, ood_split, metric)
    output = output or Path(root) / study / "report.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(built.html)
    built.trends.to_csv(output.with_name("trends.csv"), index=False)
    built.comparisons.to_csv(output.with_name("comparisons.csv"), index=False)
    printed = built.printed
    output.with_name("trends.md").write_text(markdown_table(printed) + "\n\n" + "\n".join(
        f"- {line}" for line in built.comparisons.get("verdict", [])) + "\n")
    print(printed.to_string(index=False))
    for line in built.comparisons.get("verdict", []):
        print(line)
    files = [output, *(output.with_name(n) for n in ("trends.csv", "trends.md", "comparisons.csv"))]
    if screenshot:
        from .browser import check_page

        check = check_page(output, output.with_suffix(".png"))
        if check.errors:
            raise RuntimeError(f"the report raised JavaScript errors in Chromium: {check.errors}")
        print(f"screenshot: {check.screenshot.resolve()}")
        files.append(check.screenshot)
    if log_artifact:
        runs.log_report_artifact(files, wandb_project or "pretrain-robustness", study)
    print(f"report: {output.resolve()}")
    return output


def markdown_table(table) -> str:
    """A DataFrame as a GitHub-flavoured markdown table (no optional dependency needed)."""
    rows = [list(map(str, table.columns))] + [list(map(str, row)) for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join([lines[0], "|" + "---|" * len(table.columns), *lines[1:]])


def report_command(args: list[str]) -> Path:
    """``report --study demo``: fit trends over a study's finished runs and write the HTML report."""
    parser = ArgumentParser(prog="pretrain-robustness report", description=report_command.__doc__)
    parser.add_argument("--root", default="runs")
    parser.add_argument("--study", required=True)
    parser.add_argument("--transform", default="probit", choices=["probit", "logit", "linear"])
    parser.add_argument("--baseline", default="scratch")
    parser.add_argument("--id_split", default="id_test")
    parser.add_argument("--ood_split", type=str | None, default="ood_test",
                        help="null for a task without a shift: the report is then the final scores per run")
    parser.add_argument("--metric", default="f1_macro", choices=["f1_macro", "accuracy"])
    parser.add_argument("--output", type=str | None, default=None)
    parser.add_argument("--wandb_project", type=str | None, default=None,
                        help="read the runs of group STUDY from this W&B project (entity/project) instead of ROOT")
    parser.add_argument("--log_artifact", type=bool, default=False, help="also log the report to W&B as an artifact")
    parser.add_argument("--screenshot", type=bool, default=False,
                        help="open the report in headless Chromium, fail on JavaScript errors, save report.png")
    cfg = parser.parse_args(args)
    return write_report(Path(cfg.root), cfg.study, cfg.transform, cfg.baseline, cfg.id_split, cfg.ood_split,
                        Path(cfg.output) if cfg.output else None, cfg.metric, cfg.wandb_project, cfg.log_artifact,
                        cfg.screenshot)


def study_command(args: list[str]) -> Path | None:
    """``study --config configs/studies/demo.yaml``: run a whole study, then write its report."""
    from .study import StudySpec, run_study

    parser = ArgumentParser(prog="pretrain-robustness study", description=study_command.__doc__)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_class_arguments(StudySpec, None)
    parser.add_argument("--dry_run", type=bool, default=False, help="print the runs, run nothing")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    fields = {k: v for k, v in vars(cfg).items() if k in StudySpec.__dataclass_fields__}
    spec = StudySpec(**fields)
    if spec.demo_data and not cfg.dry_run:
        ensure_demo_data(Path(spec.demo_data))
    return run_study(spec, dry_run=cfg.dry_run)


def predictions_command(args: list[str]) -> Path:
    """``predictions --run RUN_DIR --splits [ood_test] [--ckpt last]``: one CSV row per example."""
    parser = ArgumentParser(prog="pretrain-robustness predictions", description=predictions_command.__doc__)
    parser.add_argument("--run", required=True, help="run folder (holds config.yaml and checkpoints/)")
    parser.add_argument("--splits", type=list[str], default=["id_test", "ood_test"])
    parser.add_argument("--ckpt", default="last.ckpt", help="file name under checkpoints/, or a path")
    parser.add_argument("--output", type=str | None, default=None, help="default: RUN/predictions-<ckpt>.csv")
    cfg = parser.parse_args(args)
    run = Path(cfg.run)
    ckpt = Path(cfg.ckpt) if Path(cfg.ckpt).is_file() else run / "checkpoints" / cfg.ckpt
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint not found: {ckpt}")
    output = Path(cfg.output) if cfg.output else run / f"predictions-{ckpt.stem}.csv"
    from .cli import main

    main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(ckpt), "--trainer.logger", "false",
          "--model.init_checkpoint", "null",  # the weights come from ckpt, not from the pre-training run
          "--trainer.callbacks+=pretrain_robustness.callbacks.PredictionsWriter",
          f"--trainer.callbacks.output={output}", f"--trainer.callbacks.splits=[{', '.join(cfg.splits)}]",
          "--return_predictions", "false"])
    return output


def manifest_command(args: list[str]) -> Path:
    """``manifest --config RECIPE --config DISTRIBUTION [--output F]``: write a pre-training
    distribution's manifest and print its summary, without training."""
    from .cli import ProjectCLI
    from .datamodules.manifest import summary, write_manifest

    parser = ArgumentParser(prog="pretrain-robustness manifest", description=manifest_command.__doc__)
    parser.add_argument("--output", type=str | None, default=None, help="default: manifest-<condition>.csv")
    own, rest = _split_own_args(args, ["--output"])
    cfg = parser.parse_args(own)
    cli = ProjectCLI(args=[*rest, "--trainer.logger", "false"], run=False)
    manifest = getattr(cli.datamodule, "manifest", None)
    if manifest is None:
        raise ValueError(f"{type(cli.datamodule).__name__} is not a pre-training datamodule (no manifest)")
    output = Path(cfg.output or f"manifest-{cli.run_spec.condition}.csv")
    sha = write_manifest(manifest, output)
    print(f"{summary(manifest)}; sha256 {sha}; written to {output}")
    return output


def _split_own_args(args: list[str], own: list[str]) -> tuple[list[str], list[str]]:
    """Separate this command's options (``--opt value``) from the LightningCLI ones."""
    mine, rest, i = [], [], 0
    while i < len(args):
        if args[i] in own:
            mine += args[i:i + 2]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    return mine, rest


def per_class_command(args: list[str]) -> Path:
    """``per-class --pretrained P.csv --scratch S.csv --classes C.csv``: Kalibhat et al.'s Figures 1
    and 2 from two runs' predictions (``predictions`` command): per-class pre-training gain and
    accuracy per group. C.csv: ``y_true`` plus e.g. class_name, family, group, superclass."""
    import pandas as pd

    from .analysis import figures_groups, groups, report

    parser = ArgumentParser(prog="pretrain-robustness per-class", description=per_class_command.__doc__)
    parser.add_argument("--pretrained", required=True, help="predictions CSV of the pre-trained, fine-tuned run")
    parser.add_argument("--scratch", required=True, help="predictions CSV of the run trained from scratch")
    parser.add_argument("--classes", required=True, help="CSV: y_true and the columns named below")
    parser.add_argument("--split", default="ood_test")
    parser.add_argument("--x", default="family", help="column of the classes CSV along the x axis (Figure 1)")
    parser.add_argument("--colour", default="group", help="column that colours the classes (Figure 1)")
    parser.add_argument("--group", default="superclass", help="column to pool accuracy over (Figure 2)")
    parser.add_argument("--output", default="per_class.html")
    cfg = parser.parse_args(args)
    tables = {}
    for name in ("pretrained", "scratch"):
        table = pd.read_csv(getattr(cfg, name))
        tables[name] = table[table["split"] == cfg.split]
        if tables[name].empty:
            raise ValueError(f"{getattr(cfg, name)} has no predictions on split {cfg.split!r}")
    classes = pd.read_csv(cfg.classes)
    gains = groups.pretraining_gain(tables["pretrained"], tables["scratch"], classes)
    sections = [(f"Pre-training gain per class on {cfg.split} (Kalibhat et al. Figure 1)",
                 figures_groups.gain_scatter(gains, cfg.x, cfg.colour))]
    if cfg.group in classes:
        bars = pd.concat([groups.group_accuracy(t, classes, cfg.group).assign(condition=n) for n, t in tables.items()])
        sections.append((f"Accuracy per {cfg.group} on {cfg.split} (Kalibhat et al. Figure 2)",
                         figures_groups.group_bars(bars, cfg.group)))
    output = Path(cfg.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    notes = [f"pre-trained: {cfg.pretrained}", f"scratch: {cfg.scratch}", f"{len(gains)} classes of {cfg.classes}"]
    output.write_text(report.render_html("Per-class pre-training gain", notes, sections))
    gains.to_csv(output.with_suffix(".csv"), index=False)
    print(f"per-class figures: {output.resolve()}")
    return output


def _synthetic(name: str):
    """A command of ``synthetic/commands.py``, imported only when it runs."""
    def run(args: list[str]) -> Path:
        from .synthetic import commands

        return getattr(commands, name)(args)
    return run


PROJECT_COMMANDS = {
    "manifest": manifest_command,
    "demo-data": demo_data,
    "study": study_command,
    "report": report_command,
    "per-class": per_class_command,
    "fractaldb": _synthetic("fractaldb_command"),
    "diffusion": _synthetic("diffusion_command"),
    "predictions": predictions_command,
}
