"""Command line: LightningCLI (fit, validate, test, predict) plus the project's own commands."""

from __future__ import annotations

import re
import sys

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from .callbacks import ResultsStore, SaveRunConfig
from .datamodules import ClassificationDataModule
from .lightning_modules import ImageClassifier
from .lightning_modules.recipes import overrides, recipe_for, used_hyperparameters
from .runs import RunSpec, base_record, inherited_params, pretrain_run_of, run_dir, run_name
from .wandb_setup import make_logger


class ProjectCLI(LightningCLI):
    """LightningCLI whose runs land in the results store and log to W&B (offline by default)."""

    def __init__(self, args: list[str] | None = None, run: bool = True):
        super().__init__(ImageClassifier, ClassificationDataModule, subclass_mode_data=True,
                         save_config_callback=SaveRunConfig, save_config_kwargs={"overwrite": True},
                         seed_everything_default=0, args=args, run=run)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_class_arguments(RunSpec, "run")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.eval_split_names", "model.eval_split_names", apply_on="instantiate")

    def _config(self):
        return self.config[self.subcommand] if self.subcommand else self.config

    def before_instantiate_classes(self) -> None:
        config = self._config()
        self.run_spec = RunSpec(**config.run)
        self.run_dir = run_dir(self.run_spec, config.model.architecture, config.seed_everything)
        config.trainer.default_root_dir = str(self.run_dir)
        self.save_config_kwargs["run_dir"] = str(self.run_dir)

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ValueError as error:
            raise _unwrapped(error) from error

    def _record(self) -> dict:
        config = self._config()
        spec, model = self.run_spec, self.model
        record = base_record(spec, config.model.architecture, config.seed_everything)
        recipe_name, recipe = recipe_for(spec.kind, config.model.architecture, spec.recipe)
        used = used_hyperparameters(config.clone().as_dict())
        record.update(run_dir=str(self.run_dir), recipe=recipe_name, hyperparameters=used,
                      overrides=overrides(recipe, used), init_checkpoint=model.init_record,
                      pretrain_run=pretrain_run_of(config.model.init_checkpoint),
                      data=config.data.class_path, num_classes=self.datamodule.num_classes)
        # a fine-tuning run inherits its pre-training condition's parameters (its own win)
        record["params"] = {**inherited_params(record["pretrain_run"]), **record["params"]}
        return record

    def _logger(self):
        config, spec = self._config(), self.run_spec
        if config.trainer.logger not in (None, True):
            return self._get(self.config_init, "trainer", default={}).get("logger")
        architecture = config.model.architecture
        return make_logger(spec.wandb_project, spec.study, spec.kind,
                           f"{spec.condition}/{run_name(spec, architecture, config.seed_everything)}",
                           self.run_dir, [spec.condition, architecture])

    def instantiate_trainer(self, **kwargs):
        checkpoints = self.run_dir / "checkpoints"
        monitor = f"val/{self.datamodule.eval_split_names[0]}/f1_macro"
        callbacks = [self._get(self.config_init, c) for c in self._parser(self.subcommand).callback_keys]
        callbacks += [
            ResultsStore(self.run_dir, self._record(), overwrite=self.run_spec.overwrite),
            # Lightning's save_last=True refreshes last.ckpt only when a monitored checkpoint improves;
            # the hand-off needs the final epoch, so last.ckpt is its own unmonitored checkpoint.
            ModelCheckpoint(dirpath=checkpoints, filename="last", monitor=None, save_top_k=1,
                            enable_version_counter=False),
            ModelCheckpoint(dirpath=checkpoints, filename="best-epoch{epoch}", monitor=monitor, mode="max",
                            auto_insert_metric_name=False),
        ]
        trainer_config = {**self._get(self.config_init, "trainer", default={}), "logger": self._logger(), **kwargs}
        return self._instantiate_trainer(trainer_config, callbacks)


def _unwrapped(error: ValueError) -> ValueError:
    """jsonargparse reports a datamodule that refused its arguments as "does not validate against
    any of the Union subtypes" with the real reason buried in a list; bring that reason to the top."""
    text = str(error)
    if "Does not validate against any of the Union subtypes" not in text:
        return error
    reasons = [r for r in re.findall(r"^\s+- (.+)$", text, re.M) if not r.startswith("Expected a <class 'NoneType'>")]
    return ValueError("; ".join(reasons)) if reasons else error


def main(args: list[str] | None = None) -> None:
    """``pretrain-robustness <fit|validate|test|predict|study|report|demo-data|predictions> ...``"""
    from .commands import PROJECT_COMMANDS

    argv = sys.argv[1:] if args is None else list(args)
    if argv and argv[0] in PROJECT_COMMANDS:
        PROJECT_COMMANDS[argv[0]](argv[1:])
        return  # console scripts exit with main()'s return value: return nothing
    ProjectCLI(args=args)  # None: LightningCLI reads sys.argv itself


if __name__ == "__main__":
    main()
