"""The per-run commands beside LightningCLI's: a pre-training distribution's manifest without
training, and the per-example predictions of a run's checkpoint."""

from __future__ import annotations

from pathlib import Path

from jsonargparse import ArgumentParser

from .. import store
from ..datamodules.manifest import summary, write_manifest
from .lightning_cli import ProjectCLI, run_cli






def manifest_command(args: list[str]) -> Path:
    """``manifest --config RECIPE --config DISTRIBUTION [--output F]``: write a pre-training
    distribution's manifest and print its summary, without training."""
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness manifest", description=manifest_command.__doc__)
    parser.add_argument("--output", type=str | None, default=None, help="default: manifest-<condition>.csv")
    own, rest = _split_own_args(args, ["--output"])
    cfg = parser.parse_args(own)
    cli = ProjectCLI(args=[*rest, "--trainer.logger", "false"], run=False)
    manifest = getattr(cli.datamodule, "manifest", None)
    if manifest is None:
        raise ValueError(f"{type(cli.datamodule).__name__} is not a pre-training datamodule (no manifest)")
    output = Path(cfg.output or f"manifest-{cli.run_spec.condition}.csv")
    sha = write_manifest(manifest, output, cli.datamodule.manifest_sha256)
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


def predictions_command(args: list[str]) -> Path:
    """``predictions --run RUN_DIR --splits [ood_test] [--ckpt last] [LightningCLI overrides]``: one
    CSV row per example, and each split's float16 logits in RUN/logits/<ckpt>.npz (``store/logits.py``). Overrides change how the run's config is evaluated, e.g.
    ``--data.init_args.pipeline fast`` scores the same checkpoint through another input pipeline."""
    own, overrides = _split_own_args(args, ["--run", "--splits", "--ckpt", "--output", "--wilds_submission"])
    overrides = [a for a in overrides if a not in ("-h", "--help")]
    own += [a for a in args if a in ("-h", "--help")]
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness predictions", description=predictions_command.__doc__)
    parser.add_argument("--run", required=True, help="run folder (holds config.yaml and checkpoints/)")
    parser.add_argument("--splits", type=list[str], default=["id_test", "ood_test"])
    parser.add_argument("--ckpt", default=store.LAST_CHECKPOINT, help="file name under checkpoints/, or a path")
    parser.add_argument("--output", type=str | None, default=None, help="default: RUN/predictions-<ckpt>.csv")
    parser.add_argument("--wilds_submission", type=bool, default=False,
                        help="iWildCam: also WILDS' submission files, RUN/wilds_submission/iwildcam_split:<split>_seed:"
                             "<seed>_epoch:<best|last>_pred.csv (run/wilds_submission.py)")
    parser.epilog = "Any other --key value is passed to the run's LightningCLI, e.g. --data.init_args.pipeline fast."
    cfg = parser.parse_args(own)
    run = Path(cfg.run)
    ckpt = Path(cfg.ckpt) if Path(cfg.ckpt).is_file() else store.checkpoint_path(run, cfg.ckpt)
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint not found: {ckpt}")
    output = Path(cfg.output) if cfg.output else store.predictions_path(run, ckpt)
    if cfg.wilds_submission and "IWildCam" not in (run / store.CONFIG).read_text():
        raise ValueError(f"--wilds_submission: {run} is not an iWildCam run (its config.yaml names no IWildCamDataModule); "
                         "WILDS' submission format here is iWildCam's")
    run_cli(["predict", "--config", str(run / store.CONFIG), "--ckpt_path", str(ckpt), "--trainer.logger", "false",
             "--model.init_checkpoint", "null",  # the weights come from ckpt, not from the pre-training run
             # one process, whatever the run trained on (a multi-node config would wait for its other nodes)
             "--trainer.devices", "1", "--trainer.num_nodes", "1", "--trainer.strategy", "auto",
             "--trainer.callbacks+=pretrain_robustness.callbacks.PredictionsWriter",
             f"--trainer.callbacks.output={output}", f"--trainer.callbacks.splits=[{', '.join(cfg.splits)}]",
             f"--trainer.callbacks.logits={store.logits_path(run, ckpt.stem)}",
             "--return_predictions", "false", *overrides])
    if cfg.wilds_submission:
        import pandas as pd

        from .wilds_submission import epoch_label, write_submission

        seed = (store.read_record(run) or {}).get("seed", 0)
        for path in write_submission(pd.read_csv(output), run / "wilds_submission", seed, epoch_label(ckpt)):
            print(f"wrote WILDS' submission file {path}")
    return output
