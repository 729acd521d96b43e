"""Data tools: the embedded demo data, a distribution's manifest without training, and the
per-example predictions of a run's checkpoint."""

from __future__ import annotations

import time
from pathlib import Path

from jsonargparse import ArgumentParser

from . import results_store as store
from .datamodules.manifest import summary, write_manifest
from .demo.camera_traps import write_iwildcam
from .demo.imagenet_folders import write_imagenet_train
from .project_cli import ProjectCLI, run_cli


def demo_data_command(args: list[str]) -> Path:
    """``demo-data --root data/demo``: generate the embedded default data (skips what exists)."""
    parser = ArgumentParser(prog="pretrain-robustness demo-data", description=demo_data_command.__doc__)
    parser.add_argument("--root", default="data/demo", help="output folder")
    parser.add_argument("--force", type=bool, default=False, help="regenerate even if present")
    cfg = parser.parse_args(args)
    return ensure_demo_data(Path(cfg.root), cfg.force)


def ensure_demo_data(root: Path, force: bool = False) -> Path:
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


def manifest_command(args: list[str]) -> Path:
    """``manifest --config RECIPE --config DISTRIBUTION [--output F]``: write a pre-training
    distribution's manifest and print its summary, without training."""
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


def cache_command(args: list[str]) -> Path:
    """``cache --root data --image_size 448``: every iWildCam image of the used splits, decoded and
    resized once (``--data.init_args.pipeline fast`` then reads it); resumes an interrupted write."""
    from tqdm import tqdm

    from .datamodules.iwildcam import EVAL_SPLITS, WILDS_SPLIT_OF, load_wilds_iwildcam
    from .datamodules.iwildcam_fast import write_cache

    parser = ArgumentParser(prog="pretrain-robustness cache", description=cache_command.__doc__)
    parser.add_argument("--root", default="data", help="the folder that holds iwildcam_v2.0/")
    parser.add_argument("--image_size", type=int, default=448, help="the recipe's input size (WILDS: 448)")
    parser.add_argument("--splits", type=list[str], default=["train", *EVAL_SPLITS])
    cfg = parser.parse_args(args)
    unknown = sorted(set(cfg.splits) - set(WILDS_SPLIT_OF))
    if unknown:
        raise ValueError(f"unknown iWildCam split(s) {unknown}; expected some of {sorted(WILDS_SPLIT_OF)}")
    wilds = load_wilds_iwildcam(Path(cfg.root))
    folder = Path(wilds.data_dir)
    for split in cfg.splits:
        indices = (wilds.split_array == wilds.split_dict[WILDS_SPLIT_OF[split]]).nonzero()[0]
        filenames = [str(f) for f in wilds._input_array[indices]]
        with tqdm(total=len(filenames), desc=f"cache {split} at {cfg.image_size} px", unit="img") as bar:
            written = write_cache(folder, cfg.image_size, split, [folder / "train" / f for f in filenames], filenames,
                                  progress=bar.update)
        print(f"{split}: {len(filenames)} images in {written}", flush=True)
    return folder / "cache" / str(cfg.image_size)


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
    CSV row per example. Overrides change how the run's config is evaluated, e.g.
    ``--data.init_args.pipeline fast`` scores the same checkpoint through another input pipeline."""
    own, overrides = _split_own_args(args, ["--run", "--splits", "--ckpt", "--output"])
    overrides = [a for a in overrides if a not in ("-h", "--help")]
    own += [a for a in args if a in ("-h", "--help")]
    parser = ArgumentParser(prog="pretrain-robustness predictions", description=predictions_command.__doc__)
    parser.add_argument("--run", required=True, help="run folder (holds config.yaml and checkpoints/)")
    parser.add_argument("--splits", type=list[str], default=["id_test", "ood_test"])
    parser.add_argument("--ckpt", default=store.LAST_CHECKPOINT, help="file name under checkpoints/, or a path")
    parser.add_argument("--output", type=str | None, default=None, help="default: RUN/predictions-<ckpt>.csv")
    parser.epilog = "Any other --key value is passed to the run's LightningCLI, e.g. --data.init_args.pipeline fast."
    cfg = parser.parse_args(own)
    run = Path(cfg.run)
    ckpt = Path(cfg.ckpt) if Path(cfg.ckpt).is_file() else store.checkpoint_path(run, cfg.ckpt)
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint not found: {ckpt}")
    output = Path(cfg.output) if cfg.output else run / f"predictions-{ckpt.stem}.csv"
    run_cli(["predict", "--config", str(run / store.CONFIG), "--ckpt_path", str(ckpt), "--trainer.logger", "false",
             "--model.init_checkpoint", "null",  # the weights come from ckpt, not from the pre-training run
             "--trainer.callbacks+=pretrain_robustness.callbacks.PredictionsWriter",
             f"--trainer.callbacks.output={output}", f"--trainer.callbacks.splits=[{', '.join(cfg.splits)}]",
             "--return_predictions", "false", *overrides])
    return output


def webdataset_subsets_command(args: list[str]) -> list[Path]:
    """``webdataset-subsets --shards 'data/laion/*.tar' --sizes [10000000, 50000000, 100000000]
    --output data/laion-subsets``: nested subsets of image-text shards (Fig. 20), each written as
    shards with its manifest, ready for open_clip_train (``subset.json`` names its --train-data)."""
    from glob import glob

    from .datamodules.sources import webdataset_shards as wds

    parser = ArgumentParser(prog="pretrain-robustness webdataset-subsets", description=webdataset_subsets_command.__doc__)
    parser.add_argument("--shards", required=True, help="glob of the source tar shards")
    parser.add_argument("--sizes", type=list[int], required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    parser.add_argument("--samples_per_shard", type=int, default=10_000)
    cfg = parser.parse_args(args)
    shards = [Path(p) for p in sorted(glob(cfg.shards))]
    if not shards:
        raise FileNotFoundError(f"no shards match {cfg.shards}")
    samples = wds.list_samples(shards)
    print(f"{len(samples):,} image-text samples in {len(shards)} shards", flush=True)
    written = []
    for size, subset in wds.nested_subsets(samples, cfg.sizes, cfg.seed).items():
        record = wds.write_subset(subset, shards, Path(cfg.output) / f"{size}", cfg.samples_per_shard, cfg.seed)
        print(f"{size:,} samples: {record['shards']} shards, sha256 {record['sha256'][:12]}, "
              f"--train-data '{record['train_data']}'", flush=True)
        written.append(Path(cfg.output) / f"{size}")
    return written
