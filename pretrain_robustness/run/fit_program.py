"""LightningCLI's ``fit`` as a study's program (``study/step.py``): how its configuration is
resolved, decided for the place it runs, sized, checked and started. What it knows of its data it
asks the datamodule class (``planned_datasets``, ``nominal_train_images``, ``loader_images_per_core``)."""

from __future__ import annotations

import json
import shutil
import warnings
from argparse import ArgumentError
from pathlib import Path
from typing import Any

from .. import store
from ..datamodules import ClassificationDataModule
from ..datamodules.dataset_checks import class_of
from ..datamodules.manifest import files_unchanged, summary, write_manifest
from ..datamodules.sources.listing_cache import cache_dir, remembered
from ..files import atomic_write
from ..study.step import LoaderRate
from .config_errors import explained
from .identity import pretraining_identity, settings_changed_in
from .lightning_cli import ARGS_WARNING, ProjectCLI, run_cli, start_precision, unwrapped
from .quiet import several_processes

DEFAULT_WORKERS = 8  # loader workers of a config that sets none (the job's CPUs - 1 when it runs)


class _ParsedOnly(ProjectCLI):
    """Parses and checks a run's arguments (LightningCLI without subcommands: ``run=False``); builds,
    writes and seeds nothing."""

    def _set_seed(self) -> None:
        pass  # LightningCLI has no public switch: it would seed the planning process and set PL_GLOBAL_SEED

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass


_PARSERS: list[_ParsedOnly] = []  # one parser, built once: a study parses dozens of runs (4x faster than a new CLI each)


def parse_run(args: list[str]):
    """The resolved config (a jsonargparse Namespace) of ``fit``'s arguments (``["--config", ...]``): what
    ``fit`` resolves them to, parsed by the same arguments and links."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=ARGS_WARNING)
        if not _PARSERS:
            _PARSERS.append(_ParsedOnly(args=list(args), run=False))
        else:
            _PARSERS[0].parse_arguments(_PARSERS[0].parser, list(args))
        return _PARSERS[0].config


def build_data(config) -> ClassificationDataModule:
    """The datamodule of a parsed run config (a pre-training one builds its manifest)."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_subclass_arguments(ClassificationDataModule, "data")
    try:
        return parser.instantiate_classes(parser.parse_object({"data": config.data.as_dict()})).data
    except ValueError as error:
        raise unwrapped(error) from error


def data_key(config) -> str:
    """A run's data settings as one string: runs whose data is the same share it."""
    return json.dumps(config.data.as_dict(), sort_keys=True, default=str)


def data_facts(config, facts: dict[str, tuple[str | None, int, str | None]]) -> tuple[str | None, int]:
    """(manifest sha256 or None, training images) of a run's data, built once per distinct data config
    and planning (``facts``): the identities and the GPU-hour estimates read the same build. Kept
    from the last planning while the folders and files its sources read and the code are unchanged
    (``listing_cache.remembered``): planning a study again builds no manifest."""
    key = data_key(config)
    if key not in facts:
        built = []
        sha, images, line = remembered("data-facts", {"data": key}, lambda: built.append(1) or _built_facts(config),
                                       holds=lambda value: value[0] is None or files_unchanged(_kept_manifest(value[0])))
        if line and not built:
            print(f"pre-training distribution: {line} (manifest sha256 {sha[:12]}; as read before, its folders "
                  "unchanged)", flush=True)
        facts[key] = sha, images, line
    return facts[key][:2]


def _kept_manifest(sha256: str) -> Path:
    return cache_dir() / "data-facts" / f"{sha256}.csv"


def _built_facts(config) -> list:
    """The manifest's hash, images and summary; the manifest kept beside them, so that the next planning
    checks its files' sizes (a file rewritten in place changes no folder's time)."""
    data = build_data(config)
    manifest = getattr(data, "manifest", None)
    if manifest is not None and not _kept_manifest(data.manifest_sha256).is_file():
        try:
            _kept_manifest(data.manifest_sha256).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(_kept_manifest(data.manifest_sha256),
                         lambda p: write_manifest(manifest, p, data.manifest_sha256))
        except OSError as error:
            print(f"note: manifest {data.manifest_sha256[:12]} not cached ({error})", flush=True)
    return [getattr(data, "manifest_sha256", None), data.train_size(), summary(manifest) if manifest is not None else None]


def in_this_process(devices: Any, num_nodes: int | None, gpus: int) -> dict[str, Any]:
    """What a run trained by the local executor, in the study's own process, is given: one device.
    Lightning's DDP launcher re-executes the process' command for its other ranks, and that command is
    the whole study: on a host with several GPUs ``devices: auto`` would start the study again per GPU.
    A run that asks for more devices or nodes needs a process of its own (``fit``) or a SLURM job."""
    if several_processes(devices, num_nodes):
        raise ValueError(f"the local executor trains each run in this process, one device: a run on devices={devices}, "
                         f"num_nodes={num_nodes} needs --executor slurm, or `pretrain-robustness fit` with its arguments")
    return {"trainer.devices": 1} if devices in (None, "auto") and gpus > 1 else {}


def workers(config) -> int:
    given = config.data.init_args.get("num_workers")
    return DEFAULT_WORKERS if given is None else int(given)


class LightningFit:
    """``pretrain-robustness fit ...``: one pre-training or fine-tuning run (``run/lightning_cli.py``)."""

    name = "fit"
    has_identity = True

    def resolve(self, given: tuple[str, ...], settings: dict[str, Any], parses: dict) -> Any:
        """``given`` parsed (once per planning for steps that share it: the runs of a recipe differ in
        their settings only), with ``settings`` set: what ``fit`` resolves from the rendered command,
        where the settings come last."""
        if given not in parses:
            try:
                parses[given] = parse_run(list(given))
            except (ArgumentError, ValueError, TypeError) as error:
                raise ValueError(explained(error, given)) from error
        config = parses[given].clone()
        for key, value in settings.items():
            if key not in config:
                raise ValueError(f"the plan sets {key}, which this run's configuration does not have")
            config[key] = value
        return config

    def recipe_size(self, config) -> tuple[int, int]:
        """(GPUs, CPUs per task) the recipe asks for: as many GPUs as its reference global batch over its
        batch per GPU (torchvision's: 256 / 32 = 8); one where the batch is global (WILDS')."""
        cpus = workers(config) + 1
        reference = config.model.get("lr_reference_batch")
        if not reference or config.run.get("batch_is_global"):
            return 1, cpus
        per_step = int(config.data.init_args.batch_size) * int(config.trainer.get("accumulate_grad_batches") or 1)
        if reference % per_step:
            raise ValueError(f"the recipe's reference global batch {reference} is not a multiple of its batch per GPU "
                             f"{per_step}; set resources in the study")
        return reference // per_step, cpus

    def placed(self, config, resources) -> dict[str, Any]:
        """The decisions a run would otherwise make when it starts, made for where it will run: a SLURM
        job's ``resources`` (accelerator, devices and nodes equal the job's: Lightning's ``auto`` would
        fall back to the CPU without a word), or this machine (``None``); and the precision."""
        if resources is None:
            import torch

            from .gpu_check import native_bf16_here

            accelerator, gpu_here, bf16_here = config.trainer.accelerator, torch.cuda.is_available(), native_bf16_here()
            decided = in_this_process(config.trainer.devices, config.trainer.num_nodes, torch.cuda.device_count())
        else:  # a job's GPUs are not seen from here: bf16, and the job refuses it on a GPU without (gpu_check.py)
            decided = resources.trainer_settings()
            accelerator, gpu_here, bf16_here = decided["trainer.accelerator"], resources.uses_gpus, True
        precision = start_precision(accelerator, config.trainer.precision, gpu_here, bf16_here)
        if precision != config.trainer.precision:
            decided["trainer.precision"] = precision
        return decided

    def datasets(self, config) -> dict[str, Any]:
        return class_of(config.data.class_path).planned_datasets(config.data.init_args)

    def workload(self, config, facts: dict) -> tuple[float, str, int]:
        """(images trained, how they were counted, image size): training images x epochs; counted from
        the data when it is here (built once per data config), else the published size."""
        data, missing = config.data.init_args, ("not here", data_key(config))  # tried once per data config
        images = None
        if missing not in facts:
            try:
                images, how = data_facts(config, facts)[1], "images counted"
            except Exception as error:  # noqa: BLE001 - the data is not on this machine: the published size or budget
                facts[missing] = str(error)
        if images is None:
            images, how = class_of(config.data.class_path).nominal_train_images(data), "images nominal"
        epochs = config.trainer.max_epochs or 1
        return images * epochs, f"{images:,} {how} x {epochs} epochs", int(data.get("image_size") or 224)

    def loader_rate(self, config) -> LoaderRate | None:
        """How fast each GPU's loader workers decode (every DDP process has its own), from the rate
        its data class measured per core for its pipeline and image size (docs/performance.md); None
        where none was (the demo's 32 px images decode far faster than ImageNet's at 224 px)."""
        data_class, data = class_of(config.data.class_path), config.data.init_args
        pipeline = data.get("pipeline") or getattr(data_class, "default_pipeline", "tensor")
        per_core = data_class.loader_images_per_core.get(pipeline)
        if per_core is None or int(data.get("image_size") or 224) != data_class.loader_rate_image_size:
            return None
        count = workers(config)
        how = (f"{count} loader worker{'s' * (count != 1)} x {per_core:g} img/s per core ({data_class.__name__} {pipeline} pipeline, "
               f"measured on {data_class.loader_rate_measured_on}; docs/performance.md)")
        advice = "more CPUs (resources.cpus_per_task, data.init_args.num_workers)"
        return LoaderRate(max(1, count) * per_core, how,
                          advice + (f" or {data_class.faster_loading}" if data_class.faster_loading else ""))

    def identity(self, config, facts: dict) -> str:
        """The pre-training run's identity (``run/identity.py``) from its resolved configuration."""
        return pretraining_identity(config.as_dict(), data_facts(config, facts)[0])[0]

    def planned_data(self, config, facts: dict, root: Path) -> dict[str, Any]:
        """Settings that make a pre-training job read the manifest this planning built (written once per
        manifest to ``store.planned_manifest``, checked by its hash when read) instead of listing the
        dataset again on a compute node; none where the data has no manifest."""
        sha = data_facts(config, facts)[0]
        if not sha:
            return {}
        path, kept = store.planned_manifest(root, sha), _kept_manifest(sha)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            if kept.is_file():  # built (or its sizes checked) by this planning's data_facts: the same file
                atomic_write(path, lambda p: shutil.copyfile(kept, p))
            else:
                data = build_data(config)  # its listing is cached: planning read it moments ago
                atomic_write(path, lambda p: write_manifest(data.manifest, p, data.manifest_sha256))
        return {"data.init_args.manifest_file": str(path), "data.init_args.manifest_sha256": sha}

    def changed_settings(self, folder: Path, config) -> list[str]:
        """What differs between the run in ``folder`` and this configuration (``run/identity.py``)."""
        return settings_changed_in(folder, config.as_dict()) if (folder / store.CONFIG).is_file() else []

    def eval_splits(self, config) -> list[str]:
        return list(build_data(config).eval_split_names)

    def start(self, folder: Path, command: list[str]) -> None:
        """Start or continue the run in ``folder``: an unfinished run continues from its newest checkpoint
        (mid-epoch where one was written); one that died before its first checkpoint starts again (its
        folder kept aside); a finished one stays as it is."""
        record = store.read_record(folder)
        if (record or {}).get("status") == store.RunStatus.FINISHED:
            # e.g. a job requeued just after its run finished, or submitted twice
            print(f"{folder} holds a finished run ({record.get('finished')}); nothing to do", flush=True)
            return
        run_cli([*command, *continue_args(folder, record)])


def continue_args(folder: Path, record: dict[str, Any] | None) -> list[str]:
    """``--ckpt_path last`` where the run has a checkpoint; a fresh start (the old folder kept aside)
    where it died before its first; nothing for a run not started."""
    if not record or record.get("status") == store.RunStatus.QUEUED and not store.has_checkpoint(folder):
        return []
    return ["--ckpt_path", "last"] if store.has_checkpoint(folder) else ["--run.overwrite", "true"]


FIT = LightningFit()
