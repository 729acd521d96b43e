"""An ImageNet-like dataset generated with Stable Diffusion (Ramanujan et al. section 4.5.2):
80 prompts per class from CLIP's ImageNet templates, class-balanced (150K, 1.2M images).

The plan fixes, for image i of class c, its template (i mod 80, so the 80 prompts are used evenly)
and its seed (from the study seed, c and i), before anything is generated; a shard is every
``num_shards``-th batch of the plan, so shards never write the same file and together cover it.
Output: the ILSVRC-2012 train layout ``<output>/train/<wnid>/<wnid>_<i>.JPEG`` (so
``ImageNetTrain`` and every intervention read it as they read ImageNet), plus one metadata CSV per
shard (class, template, prompt, seed, model, sampler settings). Files are written through a
temporary name, so a killed shard leaves no half image and a re-run fills in what is missing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_write

PLAN_COLUMNS = ["class_index", "wnid", "class_name", "image_index", "template_index", "prompt", "seed", "path"]


def clip_prompts():
    """CLIP's 80 ImageNet prompt templates and its cleaned 1,000 class names (from open_clip)."""
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES, OPENAI_IMAGENET_TEMPLATES

    return list(OPENAI_IMAGENET_TEMPLATES), list(IMAGENET_CLASSNAMES)


def image_seed(seed: int, class_index: int, image_index: int) -> int:
    """A 31-bit seed for one image, independent of every other image's."""
    return int(np.random.SeedSequence([seed, class_index, image_index]).generate_state(1)[0] & 0x7FFFFFFF)


def generation_plan(images_per_class: int, classes: list[int] | None = None, seed: int = 0) -> pd.DataFrame:
    """One row per image to generate, in class then image order."""
    from ..wordnet.hierarchy import load

    templates, names = clip_prompts()
    wnids = load().classes  # ILSVRC-2012 class order = sorted wnids = CLIP's class-name order
    chosen = range(len(names)) if classes is None else classes
    rows = []
    for c in chosen:
        if not 0 <= c < len(names):
            raise ValueError(f"class index {c} is not an ImageNet-1k class (0..{len(names) - 1})")
        for i in range(images_per_class):
            t = i % len(templates)
            rows.append((c, wnids[c], names[c], i, t, templates[t](names[c]), image_seed(seed, c, i),
                         f"train/{wnids[c]}/{wnids[c]}_{i}.JPEG"))
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def shard_batches(plan: pd.DataFrame, batch_size: int, shard: int = 0, num_shards: int = 1) -> list[pd.DataFrame]:
    """The batches of ``plan`` that belong to ``shard``: batch b goes to shard b mod num_shards.
    Batches are fixed by the plan, so an image is always generated in the same batch."""
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard must be in 0..{num_shards - 1}, got {shard}")
    starts = range(0, len(plan), batch_size)
    return [plan.iloc[s:s + batch_size] for b, s in enumerate(starts) if b % num_shards == shard]


@dataclass(frozen=True)
class SamplerSettings:
    """Stable Diffusion sampling (diffusers' defaults for SD 1.x; the paper gives none)."""

    steps: int = 50
    guidance: float = 7.5
    size: int = 512


def load_pipeline(model_dir: str, device: str = "cuda", dtype: str = "fp16"):
    """A Stable Diffusion pipeline from a local folder (``save_pretrained`` layout); never downloads."""
    import torch
    from diffusers import StableDiffusionPipeline

    folder = Path(model_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"Stable Diffusion model folder not found: {folder}")
    index = folder / "model_index.json"
    if not index.is_file():
        raise ValueError(f"{folder} is not a diffusers pipeline folder (no model_index.json)")
    kind = json.loads(index.read_text()).get("_class_name", "")
    if kind != "StableDiffusionPipeline":
        raise ValueError(f"{folder} holds a {kind or 'unknown'} pipeline, not a StableDiffusionPipeline")
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if dtype not in dtypes:
        raise ValueError(f"dtype must be one of {sorted(dtypes)}, got {dtype!r}")
    if device == "cpu" and dtype == "fp16":
        dtype = "fp32"  # half precision convolutions are not implemented on CPU
    pipeline = StableDiffusionPipeline.from_pretrained(
        str(folder), dtype=dtypes[dtype], local_files_only=True, safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(device)


def _save_jpeg(image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda target: image.convert("RGB").save(target, format="JPEG", quality=95))


def generate(pipeline, plan: pd.DataFrame, output: Path, model: str, settings: SamplerSettings = SamplerSettings(),
             batch_size: int = 16, shard: int = 0, num_shards: int = 1, progress: bool = True) -> int:
    """Generate this shard's missing images and write its metadata; returns images written."""
    import torch
    from tqdm import tqdm

    output = Path(output)
    batches = shard_batches(plan, batch_size, shard, num_shards)
    written = 0
    for batch in tqdm(batches, desc=f"shard {shard}/{num_shards}", unit="batch", disable=not progress):
        missing = [not (output / p).is_file() for p in batch["path"]]
        if not any(missing):
            continue
        generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in batch["seed"]]
        result = pipeline(list(batch["prompt"]), num_inference_steps=settings.steps, guidance_scale=settings.guidance,
                          height=settings.size, width=settings.size, generator=generators)
        for image, path, needed in zip(result.images, batch["path"], missing):
            if needed:
                _save_jpeg(image, output / path)
                written += 1
    rows = pd.concat(batches, ignore_index=True) if batches else plan.iloc[:0]
    metadata = rows.assign(model=model, **asdict(settings))
    folder = output / "metadata"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / f"shard-{shard:05d}-of-{num_shards:05d}.csv", lambda path: metadata.to_csv(path, index=False))
    return written
