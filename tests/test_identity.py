"""Pre-training reused by what it is: the identity covers what changes the weights, a run records
the identity its study planned it with, and a study finds an identical finished run of another
study instead of training again."""

import os
import shutil

import pytest
import yaml

from pretrain_robustness import store
from pretrain_robustness.cli import main
from pretrain_robustness.study.plan import plan
from pretrain_robustness.study.spec import Condition, StudySpec
from pretrain_robustness.study.executors import LocalExecutor
from pretrain_robustness.study.checks import runs_with_other_settings
from pretrain_robustness.study.job_sizes import size_steps
from pretrain_robustness.study.resources import Resources
from pretrain_robustness.study.reuse import reuse_pretraining, step_identities, with_identity
from pretrain_robustness.study.runner import run_study

from .test_configs import CONFIGS


def _spec(tmp_path, tiny_data, study, extra=(), val_per_class=2, imagenet=None, **change):
    pretrain = tmp_path / f"p-{val_per_class}.yaml"
    pretrain.write_text(yaml.safe_dump({"data": {"init_args": {
        "source": {"init_args": {"root": str(imagenet or tiny_data / "imagenet")}}, "val_per_class": val_per_class,
        "num_workers": 0}}}))
    configs = [str(CONFIGS / "recipes/pretrain_torchvision.yaml"), str(CONFIGS / "demo/pretrain.yaml"), str(pretrain)]
    finetune = tmp_path / "f.yaml"
    finetune.write_text(yaml.safe_dump({"data": {"init_args": {"root": str(tiny_data)}}}))
    finetunes = [str(CONFIGS / "recipes/finetune_wilds.yaml"), str(CONFIGS / "demo/finetune.yaml"), str(finetune)]
    return StudySpec(study=study, architectures=["resnet18"], finetune=finetunes, root=str(tmp_path / "runs"),
                     conditions=[Condition("imagenet", pretrain=configs)], extra_args=list(extra), baseline="imagenet",
                     **change)


def _identity(spec):
    steps = plan(spec)
    return steps, step_identities(steps)[steps[0].folder]


def test_identity_follows_the_weights_not_the_paths(tmp_path, tiny_data):
    _, base = _identity(_spec(tmp_path, tiny_data, "a"))
    assert _identity(_spec(tmp_path, tiny_data, "b"))[1] == base  # another study
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--run.wandb_project", "elsewhere"]))[1] == base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--data.init_args.num_workers", "3"]))[1] == base
    relative = os.path.relpath(tiny_data / "imagenet")  # the data root written another way
    assert not os.path.isabs(relative) and _identity(_spec(tmp_path, tiny_data, "a", imagenet=relative))[1] == base
    moved = tmp_path / "moved"
    shutil.copytree(tiny_data / "imagenet", moved)  # the same files elsewhere (a cluster's copy)
    assert _identity(_spec(tmp_path, tiny_data, "a", imagenet=moved))[1] == base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--model.optimizer.init_args.lr", "0.2"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--trainer.max_epochs", "6"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--data.init_args.image_size", "24"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", seeds=[1]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", val_per_class=3))[1] != base  # another manifest


def test_a_second_study_uses_the_first_ones_pretraining(tmp_path, tiny_data):
    first, identity = _identity(_spec(tmp_path, tiny_data, "a"))
    # the run records the identity the study planned with
    main([*with_identity(first[0], {first[0].folder: identity}).command(), "--trainer.fast_dev_run", "1",
          "--trainer.logger", "false"])
    assert store.read_record(first[0].folder)["identity"] == identity
    store.update_record(first[0].folder, status="finished")
    for extra in ([], ["--run.wandb_project", "elsewhere"]):
        second = plan(_spec(tmp_path, tiny_data, "b", extra))
        reused = reuse_pretraining(second, step_identities(second), tmp_path / "runs", lambda f, r: False)
        assert [s.kind for s in reused] == ["finetune"]  # no second pre-training
        assert reused[0].needs == first[0].folder
        assert reused[0].config.model.init_checkpoint == str(store.checkpoint_path(first[0].folder))
    changed = plan(_spec(tmp_path, tiny_data, "b", ["--model.optimizer.init_args.lr", "0.2"]))
    kept = reuse_pretraining(changed, step_identities(changed), tmp_path / "runs", lambda f, r: False)
    assert [s.kind for s in kept] == ["pretrain", "finetune"]
    # a queued identical run is waited for, not duplicated
    store.update_record(first[0].folder, status="queued")
    second = plan(_spec(tmp_path, tiny_data, "b"))
    assert [s.kind for s in reuse_pretraining(second, step_identities(second), tmp_path / "runs",
                                              lambda f, r: r.get("status") == "queued")] == ["finetune"]


def test_a_study_refuses_a_run_trained_with_other_settings(tmp_path, tiny_data, capsys):
    """A condition changed under its old name would be reported with the old runs' results: the
    study names each such folder and what differs, before anything runs. Paths are not settings."""
    first = plan(_spec(tmp_path, tiny_data, "a"))
    with pytest.raises(SystemExit):  # the resolved config, as a run saves it (LightningCLI's own dump)
        main([*first[0].command(), "--print_config"])
    first[0].folder.mkdir(parents=True)
    (first[0].folder / store.CONFIG).write_text(capsys.readouterr().out)
    store.write_record(first[0].folder, {"status": "finished"})
    assert runs_with_other_settings(first) == []
    moved = tmp_path / "moved data"
    moved.symlink_to(tiny_data, target_is_directory=True)
    assert runs_with_other_settings(plan(_spec(tmp_path, moved, "a"))) == []
    changed = _spec(tmp_path, tiny_data, "a", ["--model.optimizer.init_args.lr", "0.2"])
    assert runs_with_other_settings(plan(changed)) == [
        f"{first[0].folder} (model.optimizer.init_args.lr: 0.1 -> 0.2)"]
    with pytest.raises(ValueError, match=r"1 run folder\(s\) of this study hold runs trained with other settings"):
        run_study(changed, LocalExecutor())
    assert store.read_record(first[0].folder)["status"] == "finished" and not (first[0].folder / ".lock").exists()


def test_a_run_planned_for_gpus_records_the_identity_it_was_planned_with(tmp_path, tiny_data):
    """A SLURM plan decides what a run would decide when it starts on a GPU (bf16-mixed), so the
    identity planned is the one the run records; started on the CPU here with the planned settings
    (only the accelerator changed, which is not in the identity)."""
    spec = _spec(tmp_path, tiny_data, "a", resources={"pretrain": Resources(gpus_per_node=1, cpus_per_task=1)})
    step = size_steps(spec, plan(spec, cluster=True))[0]
    assert step.config.trainer.precision == "bf16-mixed"  # decided when planning, not at the run's start
    identity = step_identities([step])[step.folder]
    main([*with_identity(step, {step.folder: identity}).command(), "--trainer.accelerator", "cpu",
          "--trainer.fast_dev_run", "1", "--trainer.logger", "false"])
    record = store.read_record(step.folder)
    assert record["identity"] == identity and record["identity_payload"]["trainer"]["precision"] == "bf16-mixed"
    local = plan(_spec(tmp_path, tiny_data, "a"))[0]  # planned for this CPU machine: another precision
    assert local.config.trainer.precision is None and local.program.identity(local.config, {}) != identity


def test_a_run_refuses_to_start_when_its_configs_changed_after_planning(tmp_path, tiny_data):
    spec = _spec(tmp_path, tiny_data, "a")
    step = plan(spec)[0]
    planned = with_identity(step, step_identities([step]))
    recipe = tmp_path / "p-2.yaml"
    recipe.write_text(recipe.read_text() + "trainer:\n  max_epochs: 7\n")
    with pytest.raises(ValueError, match="not the .* its study planned it with: a config file"):
        main([*planned.command(), "--trainer.fast_dev_run", "1", "--trainer.logger", "false"])
    assert not (step.folder / store.LOCK).exists()


def test_an_included_config_file_and_config_equals_path_are_in_the_identity(tmp_path, tiny_data):
    """A config file that pulls in another (``trainer: nested.yaml``) and one given as ``--config=PATH``:
    an edit to either gives a new identity (each planning resolves every file again)."""
    nested, extra = tmp_path / "nested.yaml", tmp_path / "extra.yaml"
    nested.write_text("max_epochs: 1\n")
    including = tmp_path / "including.yaml"
    including.write_text(f"trainer: {nested}\n")
    extra.write_text("model:\n  optimizer:\n    init_args:\n      lr: 0.1\n")
    spec = _spec(tmp_path, tiny_data, "a", ["--config", str(including), f"--config={extra}"])
    first = _identity(spec)[1]
    assert _identity(spec)[1] == first
    nested.write_text("max_epochs: 2\n")
    second = _identity(spec)[1]
    assert second != first
    extra.write_text("model:\n  optimizer:\n    init_args:\n      lr: 0.3\n")
    assert _identity(spec)[1] not in (first, second)


def test_a_study_refuses_arguments_that_set_what_the_plan_decides(tmp_path, tiny_data):
    from pretrain_robustness.study.spec import check_spec

    for given in (["--seed_everything", "1"], ["--run.condition=other"], ["--model.architecture", "resnet50"]):
        with pytest.raises(ValueError, match="the study decides it"):
            check_spec(_spec(tmp_path, tiny_data, "a", given))
