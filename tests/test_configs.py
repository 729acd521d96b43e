"""Every YAML in configs/ is parsed, and every experiment is smoke-run on miniature data."""

from pathlib import Path

import pytest

from pretrain_robustness.cli import main

CONFIGS = Path(__file__).parents[1] / "configs"
PRETRAIN_TINY = ["--data.init_args.source.init_args.root", "{data}/imagenet", "--data.init_args.val_per_class", "2",
                 "--data.init_args.image_size", "32", "--data.init_args.batch_size", "8",
                 "--data.init_args.num_workers", "0"]
FINETUNE_TINY = ["--data.init_args.root", "{data}", "--data.init_args.image_size", "32",
                 "--data.init_args.batch_size", "8", "--data.init_args.num_workers", "0"]
# experiment -> (configs composed in order, overrides pointing it at the miniature data)
EXPERIMENTS = {
    "pretrain-imagenet-full": (["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml"],
                               [*PRETRAIN_TINY, "--model.architecture", "resnet18"]),
    "pretrain-alexnet": (["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml",
                          "recipes/pretrain_torchvision_alexnet.yaml"],
                         [*PRETRAIN_TINY, "--data.init_args.image_size", "64"]),
    "finetune-iwildcam": (["recipes/finetune_wilds.yaml", "finetune/iwildcam.yaml"],
                          [*FINETUNE_TINY, "--model.architecture", "resnet18"]),
    "demo-pretrain": (["recipes/pretrain_torchvision.yaml", "demo/pretrain.yaml"], PRETRAIN_TINY),
    "demo-finetune": (["recipes/finetune_wilds.yaml", "demo/finetune.yaml"], FINETUNE_TINY),
}
# every ImageNet intervention config composes on top of imagenet_full.yaml
for _path in sorted((CONFIGS / "pretrain").glob("imagenet_*.yaml")):
    if _path.name != "imagenet_full.yaml":
        EXPERIMENTS[f"pretrain-{_path.stem}"] = (
            ["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml", f"pretrain/{_path.name}"],
            [*PRETRAIN_TINY, "--data.init_args.source.init_args.root", "{data}/imagenet_wide",
             "--model.architecture", "resnet18"])
STUDIES = sorted((CONFIGS / "studies").glob("*.yaml"))


def _args(name: str, data: Path, runs: Path) -> list[str]:
    files, overrides = EXPERIMENTS[name]
    return ([a for f in files for a in ("--config", str(CONFIGS / f))]
            + [o.format(data=data) for o in overrides] + ["--run.root", str(runs), "--trainer.logger", "false"])


def test_every_config_is_covered():
    covered = {f for files, _ in EXPERIMENTS.values() for f in files}
    on_disk = {str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob("*.yaml") if p.parent.name != "studies"}
    assert on_disk == covered, "add new configs to EXPERIMENTS (and so to the smoke runs)"


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_config_parses(name, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *_args(name, tmp_path, tmp_path), "--print_config"])
    assert exit_info.value.code in (0, None)
    assert "class_path" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_config_smoke_run(name, tiny_data, tmp_path):
    main(["fit", *_args(name, tiny_data, tmp_path), "--trainer.fast_dev_run", "1"])
    run_json = list(tmp_path.glob("**/run.json"))
    assert len(run_json) == 1 and (run_json[0].parent / "metrics.csv").is_file()


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_study_configs_plan(study, tmp_path, capsys):
    main(["study", "--config", str(study), "--root", str(tmp_path), "--dry_run", "true"])
    out = capsys.readouterr().out
    assert "fine-tune" in out and "pretrain-robustness fit" in out
