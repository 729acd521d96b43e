"""Every YAML in configs/ is parsed, and every experiment is smoke-run on miniature data."""

import json
from pathlib import Path

import pytest
import yaml

from pretrain_robustness.cli import main

from .config_expectations import assert_run_follows, said

CONFIGS = Path(__file__).parents[1] / "configs"
PRETRAIN_TINY = ["--data.init_args.source.init_args.root", "{data}/imagenet",
                 "--data.init_args.image_size", "32", "--data.init_args.batch_size", "8",
                 "--data.init_args.num_workers", "0"]
FINETUNE_TINY = ["--data.init_args.root", "{data}", "--data.init_args.image_size", "32",
                 "--data.init_args.batch_size", "8", "--data.init_args.num_workers", "0"]
# experiment -> (configs composed in order, overrides pointing it at the miniature data)
EXPERIMENTS = {
    "pretrain-imagenet-full": (["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml"],
                               [*PRETRAIN_TINY, "--data.init_args.val_source.init_args.root", "{data}/imagenet",
                                "--model.architecture", "resnet18"]),
    "pretrain-alexnet": (["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml",
                          "recipes/pretrain_torchvision_alexnet.yaml"],
                         [*PRETRAIN_TINY, "--data.init_args.val_source.init_args.root", "{data}/imagenet",
                          "--data.init_args.image_size", "64"]),
    "pretrain-mobilenet-v3": (["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml",
                               "recipes/pretrain_torchvision_mobilenet_v3.yaml"],
                              [*PRETRAIN_TINY, "--data.init_args.val_source.init_args.root", "{data}/imagenet",
                               "--data.init_args.image_size", "32"]),
    "finetune-iwildcam": (["recipes/finetune_wilds.yaml", "finetune/iwildcam.yaml"],
                          [*FINETUNE_TINY, "--model.architecture", "resnet18"]),
    "demo-pretrain": (["recipes/pretrain_torchvision.yaml", "demo/pretrain.yaml"], PRETRAIN_TINY),
    "demo-finetune": (["recipes/finetune_wilds.yaml", "demo/finetune.yaml"], FINETUNE_TINY),
}
# configs that need ImageNet-1k's real size: (training images, classes) of their manifest
FULL_SCALE = {"imagenet_5k.yaml": (5000, 1000), "imagenet_25k.yaml": (25000, 1000),
              "imagenet_50k.yaml": (50000, 1000), "imagenet_100k.yaml": (100000, 1000),
              "imagenet_150k.yaml": (150000, 1000), "imagenet_60k_100classes.yaml": (60000, 100),
              "imagenet_60k_400classes.yaml": (60000, 400), "imagenet_300k_250classes.yaml": (300000, 250),
              "imagenet_300k_1000classes.yaml": (300000, 1000), "imagenet_breeds_4of12.yaml": (80000, 16),
              "imagenet_breeds_8of12.yaml": (80000, 16), "imagenet_breeds_12of12.yaml": (80000, 16)}
# ImageNet-X-k of the second paper: k random classes of ImageNet-X, every image of each (1,300 here)
FULL_SCALE.update({f"imagenet_{x}_{k}.yaml": (1300 * k, k) for x in ("A", "NA", "R") for k in (50, 100, 200, 398)
                   if (x, k) != ("A", 398)})
# iNaturalist 2017 configs that need its real size (on a long-tailed 5,089-species table)
FULL_SCALE_FRACTAL = {"fractaldb_1k_150k.yaml": (150000, 1000)}
FULL_SCALE_INAT = {**{f"inat2017_{n}k.yaml": (n * 1000, 1000) for n in (5, 25, 50, 100, 150)},
                   **{f"inat2017_diversity_{p}pct.yaml": (80000, 7) for p in (25, 50, 100)}}
# every other ImageNet intervention config composes on top of imagenet_full.yaml and runs on the miniature
for _path in sorted((CONFIGS / "pretrain").glob("imagenet_*.yaml")):
    if _path.name != "imagenet_full.yaml" and _path.name not in FULL_SCALE:
        EXPERIMENTS[f"pretrain-{_path.stem}"] = (
            ["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml", f"pretrain/{_path.name}"],
            [*PRETRAIN_TINY, "--data.init_args.source.init_args.root", "{data}/imagenet_wide",
             "--data.init_args.val_source.init_args.root", "{data}/imagenet_wide", "--model.architecture", "resnet18"])
INAT_TINY = ["--data.init_args.source.init_args.root", "{data}/inaturalist",
             "--data.init_args.source.init_args.annotations", "{data}/inaturalist/train2017.json",
             "--data.init_args.val_source.init_args.root", "{data}/inaturalist",
             "--data.init_args.val_source.init_args.annotations", "{data}/inaturalist/val2017.json",
             "--data.init_args.image_size", "32", "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
             "--model.architecture", "resnet18"]
EXPERIMENTS["pretrain-inat2017-full"] = (["recipes/pretrain_torchvision.yaml", "pretrain/inat2017_full.yaml"], INAT_TINY)
EXPERIMENTS["pretrain-inat2017-superclasses"] = (
    ["recipes/pretrain_torchvision.yaml", "pretrain/inat2017_full.yaml", "pretrain/inat2017_superclasses.yaml"],
    INAT_TINY)
INAT2021_TINY = ["--data.init_args.source.init_args.root", "{data}/inaturalist",
                 "--data.init_args.val_source.init_args.root", "{data}/inaturalist",
                 "--data.init_args.image_size", "32", "--data.init_args.batch_size", "4",
                 "--data.init_args.num_workers", "0", "--model.architecture", "resnet18"]
EXPERIMENTS["pretrain-inat2021-mini-full"] = (["recipes/pretrain_torchvision.yaml", "pretrain/inat2021_mini_full.yaml"],
                                              INAT2021_TINY)
for _rank in ("kingdom", "phylum", "class", "order", "family", "genus", "animals"):
    EXPERIMENTS[f"pretrain-inat2021-mini-{_rank}"] = (
        ["recipes/pretrain_torchvision.yaml", "pretrain/inat2021_mini_full.yaml", f"pretrain/inat2021_mini_{_rank}.yaml"],
        INAT2021_TINY)
EXPERIMENTS["finetune-domainnet-infograph"] = (
    ["recipes/finetune_wilds.yaml", "finetune/domainnet_infograph.yaml"],
    ["--data.init_args.root", "{data}/domainnet", "--data.init_args.ood_domains", "[sketch, real]",
     "--data.init_args.image_size", "32", "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
     "--model.architecture", "resnet18"])
FRACTAL_TINY = ["--data.init_args.image_size", "32", "--data.init_args.batch_size", "8",
                "--data.init_args.num_workers", "0", "--model.architecture", "resnet18"]
for _name in ("fractaldb_1k", "fractaldb_10k"):
    EXPERIMENTS[f"pretrain-{_name}"] = (
        ["recipes/pretrain_torchvision.yaml", "pretrain/fractaldb_1k.yaml"]
        + ([f"pretrain/{_name}.yaml"] if _name != "fractaldb_1k" else []),
        ["--data.init_args.source.init_args.root", "{data}/fractaldb/images", "--data.init_args.val_per_class", "4",
         *FRACTAL_TINY])
EXPERIMENTS["pretrain-fractaldb-1k-onthefly"] = (
    ["recipes/pretrain_torchvision.yaml", "pretrain/fractaldb_1k_onthefly.yaml"],
    ["--data.init_args.categories", "{data}/fractaldb/categories", "--data.init_args.size", "32",
     "--data.init_args.iterations", "2000", "--data.init_args.instances", "2", *FRACTAL_TINY])
# Stable Diffusion output is in the ILSVRC train layout: the miniature ImageNet stands in for it
for _name in ("diffusion_150k", "diffusion_1200k"):
    EXPERIMENTS[f"pretrain-{_name}"] = (
        ["recipes/pretrain_torchvision.yaml", "pretrain/diffusion_150k.yaml"]
        + ([f"pretrain/{_name}.yaml"] if _name != "diffusion_150k" else []),
        [*PRETRAIN_TINY, "--data.init_args.val_source.init_args.root", "{data}/imagenet", "--model.architecture",
         "resnet18"])
EXPERIMENTS["finetune-inat-mini-animals"] = (
    ["recipes/finetune_kalibhat_inat_mini.yaml", "finetune/inat_mini_animals.yaml"],
    [*INAT2021_TINY, "--data.init_args.val_source.init_args.per_class", "2"])
EXPERIMENTS["finetune-imagenet-animals"] = (
    ["recipes/finetune_kalibhat_imagenet_a.yaml", "finetune/imagenet_animals.yaml"],
    [*PRETRAIN_TINY, "--data.init_args.val_source.init_args.root", "{data}/imagenet", "--model.architecture", "resnet18"])
EXPERIMENTS["finetune-iwildcam-clip"] = (
    ["recipes/finetune_wilds_adamw.yaml", "finetune/iwildcam.yaml", "finetune/iwildcam_clip.yaml"],
    ["--model.architecture", "clip:{data}/clip/tiny-clip.json", "--model.clip_weights", "{data}/clip/tiny-clip.pt",
     "--data.init_args.root", "{data}", "--data.init_args.image_size", "32", "--data.init_args.batch_size", "4",
     "--data.init_args.num_workers", "0"])
EXPERIMENTS["finetune-iwildcam-clip-448"] = (  # the tiny 32 px CLIP at twice its size, as 224 px CLIP at 448
    [*EXPERIMENTS["finetune-iwildcam-clip"][0], "finetune/iwildcam_clip_448.yaml"],
    [*EXPERIMENTS["finetune-iwildcam-clip"][1], "--model.clip_image_size", "64", "--data.init_args.image_size", "64"])
STUDIES = sorted((CONFIGS / "studies").glob("*.yaml"))


def _args(name: str, data: Path, runs: Path) -> list[str]:
    files, overrides = EXPERIMENTS[name]
    return ([a for f in files for a in ("--config", str(CONFIGS / f))]
            + [o.format(data=data) for o in overrides] + ["--run.root", str(runs), "--trainer.logger", "false"])


def test_every_config_is_covered():
    covered = ({f for files, _ in EXPERIMENTS.values() for f in files}
               | {f"pretrain/{f}" for f in [*FULL_SCALE, *FULL_SCALE_INAT, *FULL_SCALE_FRACTAL]})
    # studies/ are study specs; clip_pretrain/ are open_clip_train recipes (tests/test_webdataset_subsets.py)
    on_disk = {str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob("*.yaml") if p.parent.name not in ("studies", "clip_pretrain")}
    assert on_disk == covered, "add new configs to EXPERIMENTS (and so to the smoke runs)"


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_config_parses(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *_args(name, tmp_path, tmp_path), "--print_config"])
    assert exit_info.value.code in (0, None)
    assert "class_path" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_config_smoke_run(name, tiny_data, tmp_path):
    """One step of each experiment; then what its files say (batch, learning rate, classes, images and
    each intervention's numbers) is what the run recorded and what its manifest holds."""
    main(["fit", *_args(name, tiny_data, tmp_path), "--trainer.fast_dev_run", "1"])
    run_json = list(tmp_path.glob("**/run.json"))
    assert len(run_json) == 1 and (run_json[0].parent / "metrics.csv").is_file()
    files, overrides = EXPERIMENTS[name]
    assert_run_follows(said([CONFIGS / f for f in files], [o.format(data=tiny_data) for o in overrides]),
                       run_json[0].parent)


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_study_configs_plan(study, tmp_path, capsys):
    """Every study plans (as SLURM jobs, each training job on GPUs); its configs exist; each kind of
    step parses; reused pre-training exists."""
    import yaml

    from pretrain_robustness.study.plan import plan
    from pretrain_robustness.study.spec import Condition, StudySpec

    from .test_job_sizes import check_job_sizes

    main(["study", "--config", str(study), "--root", str(tmp_path), "--dry_run", "true", "--executor", "slurm",
          "--commands", "true"])
    out = capsys.readouterr().out
    assert "1 report    after every job above" in out and "no GPU" not in out.split("1 report ")[0], out[-2000:]
    check_job_sizes(study)
    raw = yaml.safe_load(study.read_text())
    spec = StudySpec(**{**raw, "conditions": [Condition(**c) for c in raw["conditions"]]})
    steps = plan(spec)
    if any(c.clip_subset for c in spec.conditions):  # Fig. 20: CLIP pre-training and zero-shot steps
        assert "pretrain-robustness clip-pretrain" in out and "pretrain-robustness clip-zeroshot" in out
        _check_clip_steps([s for s in steps if s.program.name == "clip-pretrain"], tmp_path, capsys)
        steps = [s for s in steps if s.program.name == "fit"]
    else:
        assert "  finetune/" in out and "pretrain-robustness fit" in out
    for step in steps:
        for path in step.config.config:  # every config file the run reads (jsonargparse's record of them)
            assert Path(path.absolute).is_file(), path
        assert step.config.model.architecture == step.architecture
        assert step.config.run.condition == step.condition
    capsys.readouterr()


def _check_clip_steps(steps, tmp_path, capsys):
    """Each CLIP pre-training step's command parses and builds open_clip_train's command line (on a
    stand-in subset.json: the subsets are not on this machine)."""
    for step in steps:
        subset = tmp_path / "subset" / step.condition
        subset.mkdir(parents=True)
        pairs = step.config.params["pairs"]
        (subset / "subset.json").write_text(json.dumps({"train_data": "x/{000000..000009}.tar", "samples": pairs,
                                                        "sha256": "0" * 64}))
        moved = step.with_settings({"subset": str(subset), "recipe": str(CONFIGS.parent / step.config.recipe)})
        main([*moved.command(), "--dry_run", "true"])
        assert "--train-num-samples 12800000 --epochs 10 --batch-size 4096" in capsys.readouterr().out


class RecordingExecutor:
    """An executor that records what it is handed (the local one would train)."""

    name = "local"

    def __init__(self):
        self.calls = []

    def job_states(self, job_ids):
        return {}

    def submit(self, step, after):
        from pretrain_robustness.run.fit_program import continue_args
        from pretrain_robustness import store

        self.calls.append([*step.command(), *continue_args(step.folder, store.read_record(step.folder))])
        store.write_record(step.folder, {"status": "finished"})  # as if it ran

    def submit_report(self, report, after, name):
        self.calls.append("report")


def _tiny_study(tmp_path, tiny_data, **change):
    from pretrain_robustness.study.spec import Condition, StudySpec

    pretrain = tmp_path / "p.yaml"
    pretrain.write_text(yaml.safe_dump({"data": {"init_args": {
        "source": {"init_args": {"root": str(tiny_data / "imagenet")}}, "val_per_class": 2, "num_workers": 0}}}))
    configs = [str(CONFIGS / "recipes/pretrain_torchvision.yaml"), str(CONFIGS / "demo/pretrain.yaml"), str(pretrain)]
    finetune = tmp_path / "f.yaml"
    finetune.write_text(yaml.safe_dump({"data": {"init_args": {"root": str(tiny_data)}}}))
    finetunes = [str(CONFIGS / "recipes/finetune_wilds.yaml"), str(CONFIGS / "demo/finetune.yaml"), str(finetune)]
    return StudySpec(**{"study": "s", "architectures": ["resnet18"], "finetune": finetunes, "root": str(tmp_path / "runs"),
                        "conditions": [Condition("scratch"), Condition("imagenet", pretrain=configs, params={"family": "R"})],
                        **change})


def test_a_run_locked_by_another_process_is_skipped_and_the_others_still_run(tmp_path, tiny_data, capsys):
    """A second study on the same study, where one run's folder was taken meanwhile: that run is
    skipped with the holder's name, the others are still handed over, and the report comes last."""
    from pretrain_robustness import store
    from pretrain_robustness.study.plan import plan
    from pretrain_robustness.study.runner import run_study

    spec = _tiny_study(tmp_path, tiny_data)
    steps = plan(spec)

    class TakenFirst(RecordingExecutor):
        def submit(self, step, after):
            if step.folder == steps[0].folder:
                raise store.RunLockedError(f"{step.folder} is in use by pid 4242 on node7")
            return super().submit(step, after)

    executor, planned = TakenFirst(), _planned(steps[1])
    run_study(spec, executor)
    assert executor.calls == [planned, steps[2].command(), "report"]
    assert "skipped: " in capsys.readouterr().out


def _planned(step):
    """A pre-training step's command as the study hands it over: with the identity it was planned with."""
    from pretrain_robustness.study.reuse import step_identities, with_identity

    return with_identity(step, step_identities([step])).command()


def test_study_runner_hands_each_unfinished_run_to_its_executor(tmp_path, tiny_data):
    """The runner hands each run's arguments to the executor, skips finished runs and resumes
    unfinished ones; the report comes last."""
    import os
    import socket

    from pretrain_robustness import store
    from pretrain_robustness.study.runner import run_study
    from pretrain_robustness.study.plan import plan

    spec = _tiny_study(tmp_path, tiny_data)
    steps = plan(spec)
    runs = tmp_path / "runs"
    assert [s.folder.relative_to(runs).as_posix() for s in steps] == [
        "s/finetune/scratch/resnet18-seed0", "s/pretrain/imagenet/resnet18-seed0", "s/finetune/imagenet/resnet18-seed0"]
    assert steps[2].command()[-2:] == ["--model.init_checkpoint", str(store.checkpoint_path(steps[1].folder))]
    assert steps[2].config.model.init_checkpoint == str(store.checkpoint_path(steps[1].folder))
    assert steps[2].needs == steps[1].folder
    assert steps[1].config.run.params == steps[2].config.run.params == {"family": "R"}
    assert '{"family": "R"}' in steps[1].command() and '{"family": "R"}' in steps[2].command()
    planned = _planned(steps[1])
    store.write_record(steps[0].folder, {"status": "finished"})
    store.write_record(steps[1].folder, {"status": "interrupted"})
    store.checkpoint_path(steps[1].folder).parent.mkdir(parents=True)
    store.checkpoint_path(steps[1].folder).write_bytes(b"")
    executor = RecordingExecutor()
    run_study(spec, executor)
    assert executor.calls == [[*planned, "--ckpt_path", "last"], steps[2].command(), "report"]
    # died before its first checkpoint: started again (the old folder set aside); a live run is left alone
    store.write_record(steps[1].folder, {"status": "interrupted"})
    store.checkpoint_path(steps[1].folder).unlink()
    store.write_record(steps[2].folder, {"status": "running", "host": socket.gethostname(), "pid": os.getpid()})
    executor.calls.clear()
    run_study(spec, executor)
    assert executor.calls == [[*planned, "--run.overwrite", "true"], "report"]


def test_seeds_repeat_every_run_with_another_draw(tmp_path, tiny_data):
    from pretrain_robustness.study.plan import plan

    steps = plan(_tiny_study(tmp_path, tiny_data, seeds=[0, 1, 2]))
    assert len(steps) == 9
    pretrain = [s for s in steps if s.kind == "pretrain"]
    assert [s.folder.name for s in pretrain] == ["resnet18-seed0", "resnet18-seed1", "resnet18-seed2"]
    assert "--data.init_args.draw_offset" not in pretrain[0].command()
    assert pretrain[2].command()[-2:] == ["--data.init_args.draw_offset", "2"]
    assert (pretrain[2].config.data.init_args.draw_offset, pretrain[2].config.seed_everything) == (2, 2)


@pytest.mark.parametrize("architecture,extra,recipe", [
    ("resnet50", [], "torchvision-reference"),
    ("alexnet", ["recipes/pretrain_torchvision_alexnet.yaml"], "torchvision-reference-alexnet"),
    ("mobilenet_v3_large", ["recipes/pretrain_torchvision_mobilenet_v3.yaml"], "torchvision-reference-mobilenet-v3"),
])
def test_pretraining_recipe_configs_match_their_recipe(architecture, extra, recipe, tmp_path, capsys):
    """Each architecture's recipe config, composed as documented, changes nothing of its recipe."""
    import yaml

    from pretrain_robustness.run.recipes import overrides, recipe_files, recipe_values

    files = [CONFIGS / f for f in ["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml", *extra]]
    with pytest.raises(SystemExit):
        main(["fit", *[a for f in files for a in ("--config", str(f))], "--model.architecture", architecture,
              "--print_config"])
    config = yaml.safe_load(capsys.readouterr().out)
    found = recipe_files(files)
    assert found == [f for f in files if f.parent.name == "recipes"]
    assert config["run"]["recipe"] == recipe and overrides(recipe_values(found), config) == {}
    # and a change to the recipe is one (the check can fail)
    config["model"]["optimizer"]["init_args"]["lr"] *= 2
    assert list(overrides(recipe_values(found), config)) == ["model.optimizer.init_args.lr"]


def test_tasks_fine_tune_every_pretrained_network_on_each(tmp_path, tiny_data):
    """Fig. 21's shape: one pre-training per architecture, one fine-tuning per (condition, task)."""
    from pretrain_robustness.study.plan import plan
    from pretrain_robustness.study.spec import check_spec

    # a task's own arguments (Fig. 21's are DomainNet's id_domain; these fine-tune the iWildCam miniature)
    tasks = {"sketch": ["--data.init_args.image_size", "24"], "real": ["--data.init_args.image_size", "40"]}
    steps = plan(_tiny_study(tmp_path, tiny_data, tasks=tasks))
    pretrain = [s for s in steps if s.kind == "pretrain"]
    finetune = [s for s in steps if s.kind == "finetune"]
    assert len(pretrain) == 1 and len(finetune) == 4
    names = sorted(s.folder.relative_to(tmp_path / "runs" / "s" / "finetune").as_posix() for s in finetune)
    assert names == ["imagenet/resnet18-real-seed0", "imagenet/resnet18-sketch-seed0",
                     "scratch/resnet18-real-seed0", "scratch/resnet18-sketch-seed0"]
    step = next(s for s in finetune if s.folder.name == "resnet18-real-seed0" and s.needs)
    assert step.config.run.name == "resnet18-real-seed0"
    assert step.config.data.init_args.image_size == 40
    assert step.config.run.params == {"family": "R", "task": "real"}
    assert step.needs == pretrain[0].folder
    with pytest.raises(ValueError, match="task .a/b. is not a usable name"):
        check_spec(_tiny_study(tmp_path, tiny_data, tasks={"a/b": []}))


def test_a_study_choice_needs_what_it_takes_and_the_alternative(tmp_path, tiny_data):
    from pretrain_robustness.study.spec import check_spec

    with pytest.raises(ValueError, match="choices needs exactly choice, taken and alternative"):
        check_spec(_tiny_study(tmp_path, tiny_data, choices=[{"choice": "k grid", "taken": "50, 100"}]))
    with pytest.raises(ValueError, match="per_class.pretrained 'imagenet-full' is not one of its conditions"):
        check_spec(_tiny_study(tmp_path, tiny_data, per_class={"pretrained": "imagenet-full", "scratch": "scratch"}))
