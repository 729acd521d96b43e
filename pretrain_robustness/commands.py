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
                 id_split: str = "id_test", ood_split: str = "ood_test", output: Path | None = None) -> Path:
    """Fit one trend per condition and write ``root/study/report.html`` (+ trends.csv)."""
    from .analysis import figures, report, runs, trends

    tidy = runs.load_local_runs(root, study)
    tidy = tidy[tidy["kind"] == "finetune"]
    unfinished = tidy.loc[tidy["status"] != "finished", "run"].unique()
    points = trends.id_ood_points(tidy[tidy["status"] == "finished"], id_split, ood_split)
    fitted = trends.fit_by_condition(points, transform)
    table = trends.summary_table(points, fitted, baseline)
    output = output or Path(root) / study / "report.html"
    notes = [f"{len(points)} (architecture, epoch) points from {points['run'].nunique()} finished fine-tuning runs",
             f"x: {id_split} macro-F1, y: {ood_split} macro-F1 (WILDS F1-macro_all), axes {transform}-scaled; "
             "shaded: 95% bootstrap band (1,000 resamples of the points)",
             f"effective robustness: observed OOD minus the '{baseline}' trend's prediction, in F1 points"]
    if len(unfinished):
        notes.append(f"left out: {len(unfinished)} unfinished runs ({', '.join(map(str, unfinished))})")
    figure = figures.id_ood_scatter(points, fitted, transform, f"{id_split} macro-F1", f"{ood_split} macro-F1")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report.render_html(f"Study '{study}': effective robustness", figure, table, notes))
    table.to_csv(output.with_name("trends.csv"), index=False)
    print(report.format_table(table).to_string(index=False))
    print(f"report: {output.resolve()}")
    return output


def report_command(args: list[str]) -> Path:
    """``report --study demo``: fit trends over a study's finished runs and write the HTML report."""
    parser = ArgumentParser(prog="pretrain-robustness report", description=report_command.__doc__)
    parser.add_argument("--root", default="runs")
    parser.add_argument("--study", required=True)
    parser.add_argument("--transform", default="probit", choices=["probit", "logit", "linear"])
    parser.add_argument("--baseline", default="scratch")
    parser.add_argument("--id_split", default="id_test")
    parser.add_argument("--ood_split", default="ood_test")
    parser.add_argument("--output", type=str | None, default=None)
    cfg = parser.parse_args(args)
    return write_report(Path(cfg.root), cfg.study, cfg.transform, cfg.baseline, cfg.id_split, cfg.ood_split,
                        Path(cfg.output) if cfg.output else None)


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


PROJECT_COMMANDS = {
    "manifest": manifest_command,
    "demo-data": demo_data,
    "study": study_command,
    "report": report_command,
    "predictions": predictions_command,
}
