"""Pre-training reused by what it is: the identity covers what changes the weights, and a study
finds an identical finished run of another study instead of training again."""

import time

import pytest
import yaml

from pretrain_robustness import store
from pretrain_robustness.cli import main
from pretrain_robustness.study.plan import plan
from pretrain_robustness.study.spec import Condition, StudySpec
from pretrain_robustness.study.executors import LocalExecutor
from pretrain_robustness.study.checks import runs_with_other_settings
from pretrain_robustness.study.job_sizes import parsed
from pretrain_robustness.study.reuse import reuse_pretraining, step_identities
from pretrain_robustness.study.runner import run_study

from .test_configs import CONFIGS


def _spec(tmp_path, tiny_data, study, extra=(), val_per_class=2):
    pretrain = tmp_path / f"p-{val_per_class}.yaml"
    pretrain.write_text(yaml.safe_dump({"data": {"init_args": {
        "source": {"init_args": {"root": str(tiny_data / "imagenet")}}, "val_per_class": val_per_class,
        "num_workers": 0}}}))
    configs = [str(CONFIGS / "recipes/pretrain_torchvision.yaml"), str(CONFIGS / "demo/pretrain.yaml"), str(pretrain)]
    finetune = tmp_path / "f.yaml"
    finetune.write_text("{}")
    return StudySpec(study=study, architectures=["resnet18"], finetune=[str(finetune)], root=str(tmp_path / "runs"),
                     conditions=[Condition("imagenet", pretrain=configs)], extra_args=list(extra), baseline="imagenet")


def _identity(spec):
    steps = plan(spec)
    return steps, step_identities(steps)[steps[0].folder]


def test_identity_follows_the_weights_not_the_paths(tmp_path, tiny_data):
    _, base = _identity(_spec(tmp_path, tiny_data, "a"))
    assert _identity(_spec(tmp_path, tiny_data, "b"))[1] == base  # another study
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--run.wandb_project", "elsewhere"]))[1] == base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--data.init_args.num_workers", "3"]))[1] == base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--model.optimizer.init_args.lr", "0.2"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--trainer.max_epochs", "6"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--data.init_args.image_size", "24"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", ["--seed_everything", "1"]))[1] != base
    assert _identity(_spec(tmp_path, tiny_data, "a", val_per_class=3))[1] != base  # another manifest


def test_a_second_study_uses_the_first_ones_pretraining(tmp_path, tiny_data):
    first, identity = _identity(_spec(tmp_path, tiny_data, "a"))
    # the run records the identity the study planned with
    main([*first[0].args, "--trainer.fast_dev_run", "1", "--trainer.logger", "false"])
    assert store.read_record(first[0].folder)["identity"] == identity
    store.update_record(first[0].folder, status="finished")
    for extra in ([], ["--run.wandb_project", "elsewhere"]):
        second = plan(_spec(tmp_path, tiny_data, "b", extra))
        reused = reuse_pretraining(second, step_identities(second), tmp_path / "runs", lambda f, r: False)
        assert [s.kind for s in reused] == ["finetune"]  # no second pre-training
        assert reused[0].needs == first[0].folder
        assert reused[0].args[reused[0].args.index("--model.init_checkpoint") + 1] == str(
            store.checkpoint_path(first[0].folder))
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
        main([*first[0].args, "--print_config"])
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


def test_a_remembered_identity_follows_its_config_files(tmp_path, tiny_data, monkeypatch):
    """Planning again takes each step's identity from the last planning (no config parse) while its
    arguments, config files, data and code are unchanged: an edited config file gives a new identity."""
    from pretrain_robustness.datamodules.sources import listing_cache

    monkeypatch.setattr(listing_cache, "RACY_SECONDS", 0.2)
    monkeypatch.setenv("PRETRAIN_ROBUSTNESS_CACHE", str(tmp_path / "cache"))
    spec = _spec(tmp_path, tiny_data, "a")
    recipe = tmp_path / "p-2.yaml"
    time.sleep(0.3)
    first = _identity(spec)[1]
    assert list((tmp_path / "cache" / "identity").glob("*.json")) and _identity(spec)[1] == first
    recipe.write_text(recipe.read_text() + "trainer:\n  max_epochs: 7\n")
    time.sleep(0.3)
    parsed.cache_clear()  # the next planning is a new process
    assert _identity(spec)[1] != first
