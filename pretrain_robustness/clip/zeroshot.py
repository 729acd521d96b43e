"""Zero-shot evaluation of CLIP pre-training checkpoints on ImageNet (ID) and ImageNet-V2 and
ImageNet-Sketch (OOD), as open_clip evaluates them (Ramanujan et al. Appendix D, Figure 20).

The classifier is open_clip's own: ``build_zero_shot_classifier`` over ``IMAGENET_CLASSNAMES`` (in
ImageNet's index order) with the 80 ``OPENAI_IMAGENET_TEMPLATES``; logits are 100 x the cosine of
the normalised image features and the class embeddings, and the prediction is the first of
``logits.topk`` (``open_clip_train.zero_shot``). Ties are broken as its ``topk`` breaks them: the list names classes 657
and 744 both "missile", 836 and 837 both "sunglasses", so their classifier columns are identical. Images go through the model's own validation
transform (``image_transform_v2`` of its preprocessing config).

    pretrain-robustness clip-zeroshot --run runs/fig20-laion/pretrain/laion-10m/clip-ViT-B-32-seed0 \\
        --imagenet data/imagenet --imagenet_v2 data/imagenetv2 --imagenet_sketch data/imagenet-sketch

Every checkpoint of the run (open_clip's ``epoch_<k>.pt``) is one point: its scores land in the
results store as a run of kind ``zeroshot`` beside the pre-training run (``.../zeroshot/<condition>/
<name>/``), epoch k, splits ``imagenet_val`` (ID), ``ood_imagenet_v2`` and ``ood_imagenet_sketch``,
with the pre-training run's params and ``task: imagenet``, so the report fits one trend per
condition for each (ImageNet, OOD split) pair. Checkpoints scored already are not scored again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from jsonargparse import ArgumentParser

from .. import store
from ..store import RunStatus
from ..datamodules.classification import read_image
from ..files import file_sha256
from ..datamodules.sources.imagenet import ImageNetVal
from ..datamodules.sources.imagenet_sketch import ImageNetSketch
from ..datamodules.sources.imagenet_v2 import ImageNetV2
from ..metrics import ACCURACY, F1_MACRO, accuracy, metric_key, wilds_macro_f1
from ..run.wandb_logger import new_run_id, open_run, run_tags, wandb_record
from ..wordnet.synsets import imagenet1k_wnids

ID_SPLIT, TASK = "imagenet_val", "imagenet"
SPLITS = {ID_SPLIT: ImageNetVal, "ood_imagenet_v2": ImageNetV2, "ood_imagenet_sketch": ImageNetSketch}


def split_tables(roots: dict[str, str | None]) -> dict[str, pd.DataFrame]:
    """``path, label`` (ImageNet index) per split whose root is given; ImageNet val is required."""
    if not roots.get(ID_SPLIT):
        raise ValueError("zero-shot evaluation needs ImageNet val (--imagenet), the ID split")
    index = {wnid: i for i, wnid in enumerate(imagenet1k_wnids())}
    tables = {}
    for split, root in roots.items():
        if not root:
            continue
        table = SPLITS[split](root).table()
        if "label" not in table:
            unknown = sorted(set(table["source_class"].unique()) - set(index))
            if unknown:
                raise ValueError(f"{split} under {root}: {len(unknown)} class(es) are not ImageNet-1k classes, "
                                 f"e.g. {unknown[:3]}")
            table = table.assign(label=table["source_class"].map(index))
        tables[split] = table[["path", "label"]].reset_index(drop=True)
    return tables


class ImageTable(torch.utils.data.Dataset):
    """``(image, label)`` of a split table, the image through ``transform`` (which makes it RGB, as
    open_clip's does); an unreadable file is an ``ImageReadError`` naming it."""

    def __init__(self, table: pd.DataFrame, transform):
        self.paths, self.labels, self.transform = list(table["path"]), list(table["label"]), transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return self.transform(read_image(Path(self.paths[i]))), self.labels[i]


class CachedTokenizer:
    """The tokenizer, remembering each batch of prompts: every checkpoint's classifier is built from
    the same 80,000 prompts, tokenized once per process and architecture (~10 s on a CPU core, mostly
    ftfy's text fixing), also across the runs a local study scores one after another."""

    def __init__(self, tokenizer):
        self.tokenizer, self.cache = tokenizer, {}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        key = tuple(texts)
        if key not in self.cache:
            self.cache[key] = self.tokenizer(texts)
        return self.cache[key]


_TOKENIZERS: dict[str, CachedTokenizer] = {}  # architecture -> its tokenizer (open_clip's get_tokenizer(name))


def cached_tokenizer(architecture: str, tokenizer) -> CachedTokenizer:
    return _TOKENIZERS.setdefault(architecture, CachedTokenizer(tokenizer))


def zero_shot_classifier(model, tokenizer, device: torch.device) -> torch.Tensor:
    """``[embed_dim, 1000]``: open_clip's ImageNet zero-shot classifier for ``model``."""
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    from ..lightning_modules.clip_backbone import text_classifier

    return text_classifier(model, tokenizer, IMAGENET_CLASSNAMES, device)


def predict(model, classifier: torch.Tensor, loader, device: torch.device) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, top-1 predictions, top-5 accuracy) of the zero-shot classifier over ``loader``."""
    labels, top1, top5_hits = [], [], 0
    with torch.inference_mode():
        for images, target in loader:
            features = model.encode_image(images.to(device), normalize=True)
            logits = 100.0 * features.float() @ classifier.float()
            top = logits.topk(min(5, logits.shape[1]), 1, True, True)[1].cpu()
            top5_hits += int((top == target.view(-1, 1)).any(1).sum())
            labels.append(target.numpy())
            top1.append(top[:, 0].numpy())
    labels_all = np.concatenate(labels)
    return labels_all, np.concatenate(top1), top5_hits / len(labels_all)


def load_checkpoint_model(architecture: str, checkpoint: Path, device: torch.device):
    """(model, its validation transform, its tokenizer) from an open_clip_train checkpoint."""
    import open_clip
    from open_clip.transform import PreprocessCfg, image_transform_v2

    from ..lightning_modules.clip_backbone import load_clip, model_name

    name = model_name(architecture)
    model = load_clip(name, str(checkpoint)).to(device).eval()
    transform = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    return model, transform, open_clip.get_tokenizer(name)


def zeroshot_folder(pretrain_run: Path) -> Path:
    return store.sibling_run(pretrain_run, "zeroshot")


def evaluate_run(pretrain_run: Path, tables: dict[str, pd.DataFrame], batch_size: int = 256, workers: int = 4,
                 device: str = "auto", command: list[str] | None = None) -> Path:
    """Score every checkpoint of ``pretrain_run`` not scored yet; returns the zero-shot run folder."""
    pretrain_run = Path(pretrain_run)
    source = store.read_record(pretrain_run)
    if not source or source.get("kind") != "pretrain":
        raise FileNotFoundError(f"{pretrain_run} is not a pre-training run of the results store (no run.json of kind pretrain)")
    found = store.open_clip_checkpoints(pretrain_run)
    if not found:
        raise FileNotFoundError(f"{store.open_clip_checkpoint_dir(pretrain_run)} holds no epoch_<k>.pt: "
                                "nothing to evaluate (has the CLIP pre-training started?)")
    folder = zeroshot_folder(pretrain_run)
    previous = store.read_record(folder) or {}
    record = store.new_record(
        study=source["study"], kind="zeroshot", condition=source["condition"], architecture=source["architecture"],
        seed=source.get("seed"), name=pretrain_run.name, params={**(source.get("params") or {}), "task": TASK},
        command=command or previous.get("command") or [], pretrain_run=str(pretrain_run), evaluation=_evaluation(tables))
    _scored(folder, record, found, tables, (batch_size, workers, device),
            f"{source['condition']}/{pretrain_run.name}/zeroshot", source.get("wandb_project"))
    finished = (store.read_record(pretrain_run) or {}).get("status") == RunStatus.FINISHED
    store.end_attempt(folder, RunStatus.FINISHED if finished else RunStatus.WAITING, release=False, epochs=len(found))
    if not finished:
        print(f"{pretrain_run} has not finished: {len(found)} checkpoints scored; run this again for the rest", flush=True)
    return folder


def _evaluation(tables: dict[str, pd.DataFrame]) -> dict:
    return {"classifier": "open_clip build_zero_shot_classifier, IMAGENET_CLASSNAMES x OPENAI_IMAGENET_TEMPLATES (80)",
            "logits": "100 x cosine", "splits": {s: len(t) for s, t in tables.items()}}


def evaluate_checkpoint(checkpoint: Path, architecture: str, folder: Path, given: dict, tables: dict[str, pd.DataFrame],
                        batch_size: int = 256, workers: int = 4, device: str = "auto",
                        command: list[str] | None = None) -> Path:
    """Score one open_clip checkpoint file (your own CLIP: one point, epoch 1) into the zero-shot run ``folder``;
    ``given``: its study, condition, seed and params (the checkpoint's provenance among them); other keys unread."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"CLIP checkpoint not found: {checkpoint}")
    record = store.new_record(
        study=given["study"], kind="zeroshot", condition=given["condition"], architecture=architecture,
        seed=given.get("seed"), name=Path(folder).name, params={**given.get("params", {}), "task": TASK},
        command=command or [], init_checkpoint={"path": str(checkpoint.resolve()), "sha256": file_sha256(checkpoint)},
        evaluation=_evaluation(tables))
    _scored(Path(folder), record, [(1, checkpoint)], tables, (batch_size, workers, device),
            f"{given['condition']}/{Path(folder).name}/zeroshot")
    store.end_attempt(folder, RunStatus.FINISHED, release=False, epochs=1)
    return Path(folder)


def _device(device: str) -> torch.device:
    if device != "auto":
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _score_all(folder: Path, found: list[tuple[int, Path]], tables: dict[str, pd.DataFrame], batch_size: int,
               workers: int, device: torch.device, run) -> None:
    """Score each (epoch, checkpoint) of ``found`` not scored yet into the zero-shot run ``folder``."""
    scored = store.read_metrics(folder)
    done = {int(e) for e, rows in scored.groupby("epoch") if set(tables) <= set(rows["split"])} if len(scored) else set()
    record = store.read_record(folder) or {}
    architecture = record["architecture"]
    for epoch, checkpoint in found:
        if epoch in done:
            print(f"epoch {epoch}: scored already ({checkpoint.name})", flush=True)
            continue
        model, transform, raw_tokenizer = load_checkpoint_model(architecture, checkpoint, device)
        classifier = zero_shot_classifier(model, cached_tokenizer(architecture, raw_tokenizer), device)
        rows, top5 = [], {}
        for split, table in tables.items():
            loader = torch.utils.data.DataLoader(ImageTable(table, transform), batch_size=batch_size,
                                                 num_workers=workers, pin_memory=device.type == "cuda")
            labels, predicted, top5[split] = predict(model, classifier, loader, device)
            rows.append({"stage": "val", "epoch": epoch, "global_step": None, "split": split, "n": len(labels),
                         F1_MACRO: wilds_macro_f1(labels, predicted), ACCURACY: accuracy(labels, predicted)})
            print(f"epoch {epoch} {split}: top-1 {100 * rows[-1][ACCURACY]:.2f}%, top-5 {100 * top5[split]:.2f}% "
                  f"({len(labels)} images)", flush=True)
        store.append_metrics(folder, rows)
        # the W&B reader's convention (Lightning's): a val row at 0-based epoch e is e + 1 epochs completed
        run.log({"epoch": epoch - 1, **{metric_key(r["stage"], r["split"], m): r[m] for r in rows for m in (F1_MACRO, ACCURACY)},
                 **{f"top5/{split}": value for split, value in top5.items()}}, step=epoch)
        record = store.update_record(folder, top5={**(record.get("top5") or {}), str(epoch): top5})
        store.beat(folder)


def _scored(folder: Path, record: dict, found: list[tuple[int, Path]], tables: dict[str, pd.DataFrame],
            settings: tuple[int, int, str], wandb_name: str, project: str | None = None) -> None:
    """Score ``found`` into ``folder`` under one attempt and one W&B run (``settings``: batch size, workers, device)."""
    previous = store.read_record(folder) or {}
    record["wandb_id"] = previous.get("wandb_id") or new_run_id()  # one W&B run per zero-shot run, resumed
    with store.run_attempt(folder, record):
        run = open_run(project or store.RunSpec.wandb_project, record["study"], "zeroshot",
                       wandb_name, folder, run_tags("zeroshot", record["condition"], record["architecture"],
                                                    f"seed{record.get('seed')}"),
                       record["wandb_id"], {"record": wandb_record(record), "evaluation": record["evaluation"]})
        try:
            _score_all(folder, found, tables, *settings[:2], _device(settings[2]), run)
        finally:
            run.finish()


def zeroshot_parser() -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness clip-zeroshot", description=clip_zeroshot_command.__doc__)
    parser.add_argument("--run", type=str | None, default=None,
                        help="a CLIP pre-training run folder (written by clip-pretrain): each of its checkpoints")
    parser.add_argument("--checkpoint", type=str | None, default=None,
                        help="or one open_clip checkpoint file (your own CLIP), with --architecture and --into")
    parser.add_argument("--architecture", type=str | None, default=None, help="clip:<open_clip model> of --checkpoint")
    parser.add_argument("--into", type=str | None, default=None,  # JSON read here: its strings stay strings
                        help="--checkpoint's run, as JSON: {root, study, condition, seed, params}")
    parser.add_argument("--imagenet", type=str | None, default=None,
                        help="ImageNet root: val/<wnid>/*.JPEG, or val/*.JPEG with LOC_val_solution.csv")
    parser.add_argument("--imagenet_v2", type=str | None, default=None,
                        help="holds imagenetv2-matched-frequency-format-val/<class index>/*.jpeg")
    parser.add_argument("--imagenet_sketch", type=str | None, default=None, help="holds sketch/<wnid>/*.JPEG")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--device", type=str, default="auto", help="auto: cuda when there is one, else cpu")
    return parser


def clip_zeroshot_command(args: list[str]) -> Path:
    """``clip-zeroshot --run PRETRAIN_RUN --imagenet DIR [--imagenet_v2 DIR] [--imagenet_sketch DIR]``, or
    ``--checkpoint FILE --architecture clip:<model> --into '{root, study, condition, seed, params}'``."""
    cfg = zeroshot_parser().parse_args(args)
    if bool(cfg.run) == bool(cfg.checkpoint) or (cfg.checkpoint and not (cfg.architecture and cfg.into)):
        raise ValueError("clip-zeroshot needs --run PRETRAIN_RUN, or --checkpoint FILE with --architecture and --into")
    # every split is read (and a bad layout named) before any model is loaded
    tables = split_tables({ID_SPLIT: cfg.imagenet, "ood_imagenet_v2": cfg.imagenet_v2,
                           "ood_imagenet_sketch": cfg.imagenet_sketch})
    print("zero-shot splits: " + ", ".join(f"{s} {len(t)} images" for s, t in tables.items()), flush=True)
    command = ["pretrain-robustness", "clip-zeroshot", *args]
    if cfg.checkpoint:
        into = json.loads(cfg.into)
        spec = store.RunSpec(study=into["study"], condition=into["condition"], kind="zeroshot", root=into["root"])
        folder = evaluate_checkpoint(Path(cfg.checkpoint), cfg.architecture, store.run_dir(spec, cfg.architecture,
                                     into.get("seed")), into, tables, cfg.batch_size, cfg.workers, cfg.device, command)
    else:
        folder = evaluate_run(Path(cfg.run), tables, cfg.batch_size, cfg.workers, cfg.device, command)
    print(f"zero-shot scores: {folder / store.METRICS_FILE}", flush=True)
    return folder
