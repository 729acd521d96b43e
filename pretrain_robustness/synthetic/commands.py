"""``pretrain-robustness fractaldb search|render``: build FractalDB on disk."""

from __future__ import annotations

import os
from pathlib import Path

from jsonargparse import ArgumentParser

from .fractaldb import RenderSettings, SearchSettings, load_categories


def fractaldb_command(args: list[str]) -> Path:
    """``fractaldb search --root data/fractaldb --categories 1000`` finds the category systems
    (``root/categories/*.csv``); ``fractaldb render --root data/fractaldb`` renders their images
    into ``root/images/<category>/`` (FractalDB-1k: 1,000 x 1,000 images). Both continue where a
    stopped run left off."""
    from . import fractaldb_jobs

    usage = "usage: pretrain-robustness fractaldb {search|render} [--help]"
    if args and args[0] in ("-h", "--help"):
        print(f"{usage}\n\n{' '.join(fractaldb_command.__doc__.split())}")
        raise SystemExit(0)
    if not args or args[0] not in ("search", "render"):
        raise ValueError(f"fractaldb's first argument must be search or render, got {args[0] if args else 'none'} "
                         f"({usage})")
    parser = ArgumentParser(exit_on_error=False, prog=f"pretrain-robustness fractaldb {args[0]}",
                            description=fractaldb_command.__doc__)
    parser.add_argument("--root", default="data/fractaldb", help="holds categories/ and images/")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    if args[0] == "search":
        parser.add_argument("--categories", type=int, default=1000, help="FractalDB-1k: 1000; -10k: 10000")
        parser.add_class_arguments(SearchSettings, "search", skip={"seed"})
        cfg = parser.parse_args(args[1:])
        settings = SearchSettings(**vars(cfg.search), seed=cfg.seed)
        fractaldb_jobs.search(Path(cfg.root) / "categories", cfg.categories, settings, cfg.workers)
        print(f"categories: {Path(cfg.root, 'categories').resolve()}")
        return Path(cfg.root) / "categories"
    parser.add_argument("--classes", type=int, default=None, help="render only the first N categories")
    parser.add_class_arguments(RenderSettings, "render", skip={"seed"})
    cfg = parser.parse_args(args[1:])
    categories = load_categories(Path(cfg.root) / "categories")[: cfg.classes]
    settings = RenderSettings(**vars(cfg.render), seed=cfg.seed)
    written = fractaldb_jobs.render(categories, Path(cfg.root) / "images", settings, cfg.workers)
    print(f"wrote {written} images under {Path(cfg.root, 'images').resolve()} "
          f"({len(categories)} categories x {settings.images_per_category()} images)")
    return Path(cfg.root) / "images"


def diffusion_command(args: list[str]) -> Path:
    """``diffusion --model_dir models/sd-v1-4 --output data/diffusion --images_per_class 150``:
    generate this shard of a Stable Diffusion ImageNet-like set (``--shard K --num_shards N``;
    on SLURM arrays, K = $SLURM_ARRAY_TASK_ID). Re-running fills in what is missing."""
    from .diffusion import SamplerSettings, generate, generation_plan, load_pipeline

    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness diffusion", description=diffusion_command.__doc__)
    parser.add_argument("--model_dir", required=True, help="local diffusers StableDiffusionPipeline folder")
    parser.add_argument("--output", default="data/diffusion")
    parser.add_argument("--images_per_class", type=int, default=150, help="150 -> 150K images; 1200 -> 1.2M")
    parser.add_argument("--classes", type=list[int] | None, default=None, help="class indices (default all 1,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard", type=int, default=int(os.environ.get("SLURM_ARRAY_TASK_ID", 0)))
    parser.add_argument("--num_shards", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32"])
    parser.add_class_arguments(SamplerSettings, "sampler")
    cfg = parser.parse_args(args)
    plan = generation_plan(cfg.images_per_class, cfg.classes, cfg.seed)
    pipeline = load_pipeline(cfg.model_dir, cfg.device, cfg.dtype)
    written = generate(pipeline, plan, Path(cfg.output), str(Path(cfg.model_dir).resolve()),
                       SamplerSettings(**vars(cfg.sampler)), cfg.batch_size, cfg.shard, cfg.num_shards)
    print(f"shard {cfg.shard}/{cfg.num_shards}: wrote {written} images under {Path(cfg.output, 'train').resolve()}")
    return Path(cfg.output)
