"""LightningCLI for one run (fit, validate, test, predict): it lands in the results store and logs
to W&B (offline unless logged in). :func:`run_cli` runs one run from its arguments; the study
runner and its executors call it, never ``sys.argv``."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.plugins.io import CheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from . import recipes
from .. import store
from ..callbacks.best_checkpoint import BestEpochCheckpoint
from ..callbacks.global_batch import sync_batchnorm_wanted
from ..callbacks.wandb_run import WandbLineage, WandbRunSummary
from ..callbacks import (EpochLogLines, FiniteTraining, FixedGlobalBatch, MidEpochCheckpoint, RunRecorder, SaveRunConfig, SeedEachBatch,
                         SignalsBetweenSteps, SigtermWithoutCollective, StepIntervalUnderDDP)
from ..datamodules import ClassificationDataModule
from ..lightning_modules import ImageClassifier
from ..lightning_modules.checkpoint import mapping_note
from ..metrics import F1_MACRO, metric_key
from .quiet import ARGS_WARNING, keep_srun_hint
from .gpu_check import native_bf16_here, require_usable_gpu
from .identity import pretraining_identity, settings_changed_in
from .wandb_logger import make_logger, new_run_id, run_tags

PROGRAM = "pretrain-robustness"
# LightningCLI warns when given args while sys.argv holds others: a study's runs and the console command
# both pass a run's own arguments on purpose


class ProjectCLI(LightningCLI):
    """LightningCLI whose runs land in the results store and log to W&B (offline by default)."""

    def __init__(self, args: list[str] | None = None, run: bool = True):
        self.command = [PROGRAM, *(sys.argv[1:] if args is None else args)]
        super().__init__(ImageClassifier, ClassificationDataModule, subclass_mode_data=True,
                         save_config_callback=SaveRunConfig, save_config_kwargs={"overwrite": True},
                         seed_everything_default=0, args=args, run=run,
                         # a parse error is raised, so the console prints it first (cli.entry)
                         parser_kwargs={"exit_on_error": False})

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_class_arguments(store.RunSpec, "run")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.eval_split_names", "model.eval_split_names", apply_on="instantiate")
        parser.link_arguments("data.class_names", "model.class_names", apply_on="instantiate")

    def _parse_ckpt_path(self) -> None:
        """Lightning reads a given checkpoint's hyperparameters while parsing: a damaged file is named
        here, with what is wrong with it, instead of torch's zip-reader error."""
        if self.config.get("subcommand"):
            ckpt_path = self.config[self.config.subcommand].get("ckpt_path")
            if ckpt_path and Path(ckpt_path).is_file():
                store.check_checkpoint(ckpt_path)
        super()._parse_ckpt_path()

    def _config(self):
        return self.config[self.subcommand] if self.subcommand else self.config

    def _trainer_init(self, key: str):
        """The trainer's instantiated argument ``key`` (a logger, callbacks, plugins built), of the subcommand."""
        return ((self.config_init[self.subcommand] if self.subcommand else self.config_init).get("trainer") or {}).get(key)

    def _trainer_list(self, key: str) -> list:
        value = self._trainer_init(key) or []
        return list(value) if isinstance(value, list) else [value]

    def before_instantiate_classes(self) -> None:
        config = self._config()
        require_usable_gpu(config.trainer.accelerator, config.trainer.precision)  # never days of silent CPU training
        keep_srun_hint(config.trainer.devices, config.trainer.num_nodes)
        self.run_spec = store.RunSpec(**config.run)
        self.run_dir = store.run_dir(self.run_spec, config.model.architecture, config.seed_everything)
        self.evaluation_dir = None
        if self.subcommand == "fit":
            self._checked_resume(config)
        if self.subcommand == "fit" and rank_zero_only.rank == 0:
            # before anything is written: a finished run stays as it is, a live one is not joined
            spec = self.run_spec
            for note in store.prepare_fit(self.run_dir, config.get("ckpt_path"), spec.overwrite, spec.extend):
                print(note, flush=True)
        elif self.subcommand in ("validate", "test"):
            self.evaluation_dir = store.evaluation_dir(self.run_dir, self._evaluation_name(config))
        precision = start_precision(config.trainer.accelerator, config.trainer.precision, torch.cuda.is_available(),
                                    native_bf16_here())
        if precision != config.trainer.precision:  # a study decides it when planning: its runs never come here
            config.trainer.precision = precision
            print(f"precision: {precision} (the default on this GPU; --trainer.precision 32-true for full precision)")
        if config.trainer.benchmark is None and not config.trainer.deterministic:
            config.trainer.benchmark = True  # cuDNN autotuning: every batch has the recipe's fixed image size
        if "weights_only" in config and config.weights_only is None:
            config.weights_only = True  # Lightning's resume and evaluation load tensors and plain data only
        config.trainer.default_root_dir = str(self.evaluation_dir or self.run_dir)
        self.save_config_kwargs["run_dir"] = str(self.run_dir)

    def _checked_resume(self, config) -> None:
        """The checkpoint a fit continues from is checked before anything in the folder changes:
        ``last`` becomes the newest intact ``last*.ckpt`` (saying which newer ones were skipped)."""
        ckpt_path = config.get("ckpt_path")
        changes = settings_changed_in(self.run_dir, config.as_dict(), self.run_spec.extend) if ckpt_path else []
        if changes and not self.run_spec.overwrite:  # two runs' epochs in one folder would be reported as one run
            raise ValueError(f"{self.run_dir} holds a run trained with other settings ({'; '.join(changes)}); nothing "
                             "was changed. Continue it with its own (fit --config <run>/config.yaml --ckpt_path last), "
                             "train it again with --run.overwrite true, or beside it with --run.name NAME")
        if ckpt_path == "last":
            chosen, skipped = store.resumable_checkpoint(self.run_dir)
            for note in skipped:
                print(note, flush=True)
            if chosen is None and skipped:
                raise ValueError(f"--ckpt_path last: no intact checkpoint in {store.checkpoint_path(self.run_dir).parent} "
                                 f"({'; '.join(skipped)}); nothing was changed")
            if chosen is not None:
                config.ckpt_path = str(chosen)
        elif ckpt_path:
            store.check_checkpoint(ckpt_path)

    def _evaluation_name(self, config) -> str:
        """``<stage>-<checkpoint>-<settings hash>``: the same evaluation again replaces itself, one with
        other data settings (e.g. image size) gets its own folder."""
        checkpoint = Path(str(config.get("ckpt_path"))).stem if config.get("ckpt_path") else "init"
        settings = json.dumps({"ckpt": str(config.get("ckpt_path")), "data": config.data.as_dict()}, sort_keys=True,
                              default=str)
        return f"{self.subcommand}-{checkpoint}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ValueError as error:
            self._release_unstarted()
            raise unwrapped(error) from error
        except BaseException:
            self._release_unstarted()
            raise

    def _release_unstarted(self) -> None:
        """A run that failed before training (its data, its network) leaves no lock, and no folder
        where nothing else was written."""
        if self.subcommand != "fit" or not self.run_dir.is_dir():
            return
        store.release_lock(self.run_dir)
        if not any(self.run_dir.iterdir()):
            self.run_dir.rmdir()

    def _record(self) -> dict[str, Any]:
        config, spec = self._config(), self.run_spec
        record = store.base_record(spec, config.model.architecture, config.seed_everything, self.command)
        if self.evaluation_dir:
            record.update(stage=self.subcommand, checkpoint=str(config.get("ckpt_path")), data=config.data.as_dict(),
                          run_dir=str(self.run_dir))
            return record
        ckpt_path = config.get("ckpt_path")
        resumed = store.latest_checkpoint(self.run_dir) if ckpt_path == "last" else ckpt_path
        record.update(run_dir=str(self.run_dir), init_checkpoint=self.model.init_record,
                      resumed_from=str(resumed) if resumed else None,
                      pretrain_run=store.run_of_checkpoint(config.model.init_checkpoint),
                      data=config.data.class_path, num_classes=self.datamodule.num_classes,
                      data_pipeline=getattr(self.datamodule, "pipeline_record", None),
                      params=self._params(record["params"]))
        if spec.kind == "pretrain":
            record["identity"], record["identity_payload"] = pretraining_identity(
                config.as_dict(), getattr(self.datamodule, "manifest_sha256", None))
            if spec.planned_identity and record["identity"] != spec.planned_identity:
                raise ValueError(f"{self.run_dir}: this run resolves to identity {record['identity']}, not the "
                                 f"{spec.planned_identity} its study planned it with: a config file or the data it "
                                 "reads changed after planning; nothing was trained. Plan it again (run or submit the "
                                 "study again)")
        files = recipes.recipe_files(config.get("config"))
        if files:  # a run re-started from its saved config.yaml keeps the recipe check of its first start
            record.update(recipe=spec.recipe, recipe_files=[str(f) for f in files],
                          overrides=recipes.overrides(recipes.recipe_values(files), config.clone().as_dict()))
        return record

    def _params(self, given: dict[str, Any]) -> dict[str, Any]:
        """A pre-training run: the given parameters and those its data determines (they must agree).
        A fine-tuning run: those of the pre-training run it starts from, then its own."""
        if self.run_spec.kind == "finetune":
            pretrain_run = store.run_of_checkpoint(self._config().model.init_checkpoint)
            return {**store.inherited_params(pretrain_run), **given}
        derived = self.datamodule.condition_params()
        clash = {k: (v, derived[k]) for k, v in given.items() if k in derived and derived[k] != v}
        if clash:
            raise ValueError("run.params contradict what the data determines (given, derived): "
                             + ", ".join(f"{k}: {a!r} vs {b!r}" for k, (a, b) in clash.items()))
        return {**given, **derived}

    def _logger(self):
        config, spec = self._config(), self.run_spec
        if config.trainer.logger not in (None, True):
            return self._trainer_init("logger")
        architecture, seed = config.model.architecture, f"seed{config.seed_everything}"
        name = f"{spec.condition}/{store.run_name(spec, architecture, config.seed_everything)}"
        if self.evaluation_dir:
            return make_logger(spec.wandb_project, spec.study, "evaluate", f"{name}/{self.evaluation_dir.name}",
                               self.evaluation_dir, run_tags(spec.kind, "evaluate", spec.condition, architecture, seed))
        # one W&B run per run folder: a resumed attempt continues it under its recorded id (predict never joins it)
        run_id = None
        if self.subcommand == "fit":
            run_id = (store.read_record(self.run_dir) or {}).get("wandb_id") or new_run_id()
        self.wandb_id = run_id
        return make_logger(spec.wandb_project, spec.study, spec.kind, name, self.run_dir,
                           run_tags(spec.kind, spec.condition, architecture, seed), run_id=run_id)

    def instantiate_trainer(self, **kwargs):
        if self.subcommand == "fit" and rank_zero_only.rank == 0:  # where the run goes, and what it starts from
            init = self.model.init_record
            print(f"run folder: {self.run_dir}", flush=True)
            if init:
                print(f"starts from {init['path']} (sha256 {init['sha256'][:12]}): {init['tensors_loaded']} tensors "
                      f"loaded, its head ({init['head_replaced']}) new", flush=True)
                if note := mapping_note(init):
                    print(f"  ({note})", flush=True)
        checkpoints = store.checkpoint_path(self.run_dir).parent
        monitor = metric_key("val", self.datamodule.eval_split_names[0], F1_MACRO)
        callbacks = self._trainer_list("callbacks")  # the config's own callbacks come first
        self.wandb_id = None
        logger = self._logger()
        record = {**self._record(), "wandb_id": self.wandb_id}
        callbacks += [
            RunRecorder(self.run_dir, record, evaluation_dir=self.evaluation_dir),
            WandbRunSummary(self.run_dir, self.datamodule.eval_split_names[0]),  # after RunRecorder's metrics.csv
            WandbLineage(self.run_dir, self.run_spec.wandb_uploads),  # after RunRecorder's status
            # Lightning's save_last=True refreshes last.ckpt only when a monitored checkpoint improves;
            # the hand-off needs the final epoch, so last.ckpt is its own unmonitored checkpoint.
            ModelCheckpoint(dirpath=checkpoints, filename=store.LAST_CHECKPOINT.removesuffix(".ckpt"), monitor=None,
                            save_top_k=1, enable_version_counter=False),
            BestEpochCheckpoint(dirpath=checkpoints, filename=store.BEST_CHECKPOINT, monitor=monitor, mode="max",
                            auto_insert_metric_name=False),
            SeedEachBatch(self._config().seed_everything or 0),
            SigtermWithoutCollective(),
            FiniteTraining(),  # a diverged run stops, and never writes non-finite weights
        ]
        if self.run_spec.batch_is_global:
            callbacks.append(FixedGlobalBatch(self._config().data.init_args.batch_size))
            if sync_batchnorm_wanted(self._config().trainer.accelerator, torch.cuda.is_available()):
                kwargs["sync_batchnorm"] = True  # the recipe's batch statistics, over every rank's share
        minutes = self.run_spec.checkpoint_minutes
        if minutes:  # mid-epoch: what a kill -9 or a preemption costs at most
            step_checkpoint = MidEpochCheckpoint(
                dirpath=checkpoints, filename=store.STEP_CHECKPOINT.removesuffix(".ckpt"), monitor=None, save_top_k=1,
                enable_version_counter=False, train_time_interval=timedelta(minutes=minutes))
            callbacks += [StepIntervalUnderDDP(step_checkpoint, minutes), step_checkpoint]
        plugins = self._trainer_list("plugins")
        if not any(isinstance(p, CheckpointIO) for p in plugins):  # whole files in the run folder, never $TMPDIR
            plugins.append(store.run_folder_checkpoint_io())
        if not sys.stderr.isatty():  # a log file: one line per epoch instead of progress-bar frames
            kwargs["enable_progress_bar"] = False
            callbacks.append(EpochLogLines())
        callbacks.append(SignalsBetweenSteps())  # last: the others have counted a step when a held stop arrives
        # LightningCLI's own instantiate_trainer adds the config-saving callback to these
        return super().instantiate_trainer(logger=logger, callbacks=callbacks, plugins=plugins, **kwargs)


def start_precision(accelerator: str | None, precision: str | None, gpu_here: bool, bf16_here: bool = True) -> str | None:
    """The precision a run trains in: the given one, else bf16 autocast (weights stay fp32) where it
    runs on a GPU, the recipes' GPU default, or fp16 autocast on a GPU without native bfloat16 (sm_75:
    T4, RTX 20xx). A study decides it for the place each run will run."""
    if precision is None and accelerator in ("auto", "gpu", "cuda") and gpu_here:
        return "bf16-mixed" if bf16_here else "16-mixed"
    return precision


def unwrapped(error: ValueError) -> ValueError:
    """jsonargparse reports a datamodule that refused its arguments as "does not validate against
    any of the Union subtypes" with the real reason buried in a list; bring that reason to the top."""
    text = str(error)
    if "Does not validate against any of the Union subtypes" not in text:
        return error
    reasons = [r for r in re.findall(r"^\s+- (.+)$", text, re.M) if not r.startswith("Expected a <class 'NoneType'>")]
    return ValueError("; ".join(reasons)) if reasons else error


def run_cli(args: list[str]) -> None:
    """Run one LightningCLI command (``["fit", "--config", ...]``) in this process, as if typed:
    its run.json records exactly these arguments. A W&B run it opened is closed afterwards, so
    the next run in the same process starts its own."""
    import wandb

    try:
        with warnings.catch_warnings():  # the study's own sys.argv is not this run's: args are meant
            warnings.filterwarnings("ignore", message=ARGS_WARNING)
            ProjectCLI(args=list(args))
    finally:
        if wandb.run is not None:
            wandb.finish()
