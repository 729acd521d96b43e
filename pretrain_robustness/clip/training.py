"""CLIP pre-training on a webdataset subset, run by open_clip's own trainer (``open_clip_train``):
the project prepares the data (``webdataset-subsets``) and the command line, and launches it on one
node (``torchrun``, or plain Python without GPUs) or as SLURM tasks (``srun``, one per GPU, which
open_clip_train reads its ranks from). Ramanujan et al. Appendix D, Figure 20.

    pretrain-robustness clip-pretrain --subset data/laion-subsets/10000000 --study fig20-laion \\
        --condition laion-10m [--recipe configs/clip_pretrain/laion_vit_b32.yaml] [--gpus 8] [--dry_run true]

The run lands in ``root/study/pretrain/condition/<model>-seed<seed>/`` (open_clip's logs and
checkpoints under ``open_clip/``; a killed run continues from its latest checkpoint when started
again, ``--resume latest``) with a run.json that names the subset by its sha256.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from jsonargparse import ArgumentParser

from .. import store
from ..run.gpu_check import require_usable_gpu
from ..run.wandb_logger import choose_mode, new_run_id, run_tags, stage_inside, wandb_record
from .train_entry import STUDY_WANDB
from ..store import RunStatus
from .webdataset_subsets import read_subset

RECIPE_KEYS = {"model", "batch_size", "gpus", "lr", "warmup", "samples_seen", "checkpoints", "weight_decay", "precision",
               "workers", "seed"}
OPTIONAL_KEYS = {"grad_checkpointing_above"}  # batch per GPU above which activations are recomputed


def read_recipe(path: Path, **overrides) -> dict:
    recipe = {**(yaml.safe_load(Path(path).read_text()) or {}), **{k: v for k, v in overrides.items() if v is not None}}
    unknown, missing = set(recipe) - RECIPE_KEYS - OPTIONAL_KEYS, RECIPE_KEYS - set(recipe)
    if unknown or missing:
        raise ValueError(f"CLIP recipe {path}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    if recipe["samples_seen"] % recipe["checkpoints"]:
        raise ValueError(f"CLIP recipe {path}: samples_seen {recipe['samples_seen']} must split into "
                         f"{recipe['checkpoints']} equal parts")
    return recipe


def global_batch(recipe: dict) -> int:
    """The recipe's global batch: its batch per GPU x the GPUs it names (a fact of the recipe)."""
    return recipe["batch_size"] * recipe["gpus"]


def per_gpu_batch(recipe: dict, world_size: int) -> int:
    """The batch per process that keeps the recipe's global batch on ``world_size`` processes (so
    the steps, and the warm-up's share of them, are the same on every executor); refused where it
    does not divide."""
    if global_batch(recipe) % world_size:
        raise ValueError(f"the CLIP recipe's global batch {global_batch(recipe)} ({recipe['batch_size']} x "
                         f"{recipe['gpus']} GPUs) does not split over {world_size} processes; launch on a divisor "
                         f"of it (e.g. {recipe['gpus']} GPUs)")
    return global_batch(recipe) // world_size


def optimizer_steps(recipe: dict) -> int:
    """open_clip_train's steps over the run: per epoch, ceil(samples / global batch) rounded up to a
    multiple of the loader workers (open_clip_train's ``get_wds_dataset`` for resampled shards)."""
    workers = max(1, recipe["workers"])
    batches = math.ceil(recipe["samples_seen"] // recipe["checkpoints"] / global_batch(recipe))
    return math.ceil(batches / workers) * workers * recipe["checkpoints"]


def trainer_args(recipe: dict, subset: dict, logs: Path, name: str, world_size: int = 1,
                 wandb_project: str | None = None) -> list[str]:
    """open_clip_train's arguments for ``recipe`` on a subset (its subset.json), launched on
    ``world_size`` processes. The loss of each process is over its own rows against every
    process's features (``--local-loss --gather-with-grad``: a (batch per GPU) x (global batch)
    logit matrix per GPU instead of the global batch squared, open_clip's advice for many GPUs)."""
    batch = per_gpu_batch(recipe, world_size)
    recompute = batch > recipe.get("grad_checkpointing_above", batch)
    memory = ["--local-loss", "--gather-with-grad", *(["--grad-checkpointing"] if recompute else [])]
    return ["--model", str(recipe["model"]), "--train-data", subset["train_data"], "--dataset-type", "webdataset",
            "--dataset-resampled", "--train-num-samples", str(recipe["samples_seen"] // recipe["checkpoints"]),
            "--epochs", str(recipe["checkpoints"]), "--batch-size", str(batch),
            "--lr", str(recipe["lr"]), "--warmup", str(recipe["warmup"]), "--wd", str(recipe["weight_decay"]),
            "--precision", recipe["precision"], "--workers", str(recipe["workers"]), "--seed", str(recipe["seed"]),
            *memory, "--logs", str(logs), "--name", name, "--save-frequency", "1", "--resume", "latest",
            *(["--report-to", "wandb", "--wandb-project-name", wandb_project] if wandb_project else ["--report-to", ""])]


def launcher(gpus: int, slurm: bool) -> list[str]:
    """How the trainer starts: srun tasks on a cluster, torchrun with several GPUs, else Python (also
    as one task of a SLURM job step, where open_clip_train reads its rank from SLURM's variables)."""
    entry = ["-m", "pretrain_robustness.clip.train_entry"]
    if slurm:
        return ["srun", "--cpu-bind=v", "--accel-bind=gn", sys.executable, "-u", *entry]
    if gpus > 1:  # "--": torchrun's parser would read the trainer's --logs as an ambiguous --logs-specs/--logs_specs
        return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}", *entry, "--"]
    return [sys.executable, "-u", *entry]


def task_environment() -> dict[str, str]:
    """This SLURM task's rendezvous for open_clip_train (``--dist-url env://``): the job's first
    node (submitit's reading of SLURM_JOB_NODELIST) and a port from the job id, unless they are set
    already. submitit's ``TorchDistributedEnvironment`` does the same inside submitit's own jobs; a
    task started by ``srun`` by hand is not one, so its SLURM environment is read directly."""
    from submitit.slurm.slurm import SlurmJobEnvironment

    env = dict(os.environ)
    env.setdefault("MASTER_ADDR", SlurmJobEnvironment().hostnames[0])
    env.setdefault("MASTER_PORT", str(20000 + int(env.get("SLURM_JOB_ID", "0")) % 20000))
    return env


def params_of(given: dict, subset: dict) -> dict:
    """The run's condition params: what the subset says (pairs) and what the study adds; they must agree."""
    derived = {"source": "webdataset", "pairs": subset["samples"]}
    if "pairs" in given and given["pairs"] != subset["samples"]:
        raise ValueError(f"params pairs {given['pairs']} contradicts the subset, which holds {subset['samples']} samples")
    return {**derived, **given}


def pretrain_parser() -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness clip-pretrain", description=clip_pretrain_command.__doc__)
    parser.add_argument("--subset", required=True, help="a folder written by webdataset-subsets (holds subset.json)")
    parser.add_argument("--recipe", default="configs/clip_pretrain/laion_vit_b32.yaml")
    parser.add_argument("--root", default="runs")
    parser.add_argument("--study", required=True)
    parser.add_argument("--condition", required=True, help="e.g. laion-10m")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs on this node (torchrun); 0 or 1: one process")
    parser.add_argument("--slurm", type=bool, default=False, help="launch as srun tasks (inside a SLURM allocation)")
    parser.add_argument("--in_task", type=bool, default=False,
                        help="this process is one task (GPU) of a SLURM job step, as a study's job runs it: it runs "
                             "the trainer for its own rank; rank 0 keeps the run's record")
    parser.add_argument("--accelerator", type=str | None, default=None,
                        help="gpu: stop unless CUDA is usable; cpu: the processes run on CPUs (gloo) on purpose; "
                             "default: gpu with --gpus > 0, else as the SLURM job's GPUs say")
    parser.add_argument("--seed", type=int | None, default=None, help="override the recipe's seed")
    parser.add_argument("--params", type=dict, default={}, help="condition params, e.g. '{source: laion}'")
    parser.add_argument("--model", type=str | None, default=None, help="override the recipe's model (a name or a .json)")
    parser.add_argument("--samples_seen", type=int | None, default=None)
    parser.add_argument("--batch_size", type=int | None, default=None)
    parser.add_argument("--dry_run", type=bool, default=False, help="print the command and stop")
    parser.add_argument("--wandb_project", type=str | None, default="pretrain-robustness",
                        help="open_clip_train's own W&B reporting, as a run of this study (null: none)")
    return parser


def clip_pretrain_command(args: list[str]) -> Path:
    """``clip-pretrain --subset DIR --study S --condition C``: pre-train CLIP on a subset."""
    cfg = pretrain_parser().parse_args(args)
    if cfg.accelerator is None:
        cfg.accelerator = "gpu" if cfg.gpus > 0 else "auto"
    subset = read_subset(Path(cfg.subset))
    recipe = read_recipe(Path(cfg.recipe), model=cfg.model, samples_seen=cfg.samples_seen, batch_size=cfg.batch_size,
                         seed=cfg.seed)
    params = params_of(cfg.params, subset)
    spec = store.RunSpec(study=cfg.study, condition=cfg.condition, kind="pretrain", root=cfg.root)
    folder = store.run_dir(spec, f"clip:{recipe['model']}", recipe["seed"])
    world_size = int(os.environ.get("SLURM_NTASKS", 1)) if cfg.in_task or cfg.slurm else max(1, cfg.gpus)
    command = [*launcher(0 if cfg.in_task else cfg.gpus, cfg.slurm and not cfg.in_task),
               *trainer_args(recipe, subset, store.open_clip_folder(folder), store.OPEN_CLIP_NAME, world_size,
                             cfg.wandb_project)]
    print(shlex.join(command), flush=True)
    if cfg.dry_run:
        return folder
    require_usable_gpu(cfg.accelerator)  # open_clip_train would fall back to the CPU unasked
    record = store.new_record(
        study=cfg.study, kind="pretrain", condition=cfg.condition, architecture=f"clip:{recipe['model']}",
        seed=recipe["seed"], name=folder.name, params=params, command=command, recipe=recipe, world_size=world_size,
        global_batch=global_batch(recipe), optimizer_steps=optimizer_steps(recipe),
        subset={"path": str(Path(cfg.subset).resolve()), "sha256": subset["sha256"], "samples": subset["samples"]})
    previous = store.read_record(folder) or {}
    if previous.get("status") == RunStatus.FINISHED:
        raise FileExistsError(f"{folder} already holds a finished CLIP pre-training run ({previous.get('ended')}); "
                              "nothing was changed")
    env = {**(task_environment() if cfg.in_task else os.environ), "PYTHONUNBUFFERED": "1"}
    if cfg.wandb_project:
        record.update(wandb_id=previous.get("wandb_id") or new_run_id(), wandb_project=cfg.wandb_project)
        env.update(wandb_environment(folder, record))
    if cfg.in_task and os.environ.get("SLURM_PROCID", "0") != "0":  # rank 0 keeps the record
        _train(command, env, folder)
        return folder
    # a killed run reads "failed"; started again, open_clip_train continues from its latest checkpoint
    with store.run_attempt(folder, record):
        _train(command, env, folder)
        store.end_attempt(folder, RunStatus.FINISHED, release=False)
    return folder


def wandb_environment(folder: Path, record: dict) -> dict[str, str]:
    """What makes open_clip_train's own W&B run (``--report-to wandb``) a run of the study: its id, name,
    group, job type, tags and record, read by ``train_entry`` where the trainer calls ``wandb.init``;
    offline unless logged in; its files in the run's folder."""
    mode = choose_mode(folder)
    stage_inside(folder)
    settings = {"id": record["wandb_id"], "name": f"{record['condition']}/{record['name']}", "group": record["study"],
                "job_type": "pretrain", "dir": str(folder),
                "tags": run_tags("pretrain", record["condition"], record["architecture"], f"seed{record['seed']}"),
                "config": {"record": wandb_record(record)}}
    return {STUDY_WANDB: json.dumps(settings), "WANDB_MODE": mode, "WANDB_DATA_DIR": os.environ["WANDB_DATA_DIR"]}


def _train(command: list[str], env: dict[str, str], folder: Path) -> None:
    if subprocess.run(command, env=env).returncode != 0:
        raise RuntimeError(f"open_clip_train failed for {folder}; its log: {store.open_clip_log(folder)}")
