"""Every study's SLURM jobs are sized from their recipes: training on GPUs, the report on CPUs."""

import re
from pathlib import Path

import pytest
import yaml

from pretrain_robustness.cli import main
from pretrain_robustness.run.fit_program import parse_run
from pretrain_robustness.study.job_sizes import size_steps
from pretrain_robustness.study.plan import plan
from pretrain_robustness.study.resources import Resources
from pretrain_robustness.study.spec import Condition, StudySpec

CONFIGS = Path(__file__).parents[1] / "configs"
STUDIES = sorted((CONFIGS / "studies").glob("*.yaml"))


def _spec(path: Path, **change) -> StudySpec:
    raw = {**yaml.safe_load(path.read_text()), **change}
    raw["conditions"] = [Condition(**c) for c in raw["conditions"]]
    raw["resources"] = {k: Resources(**v) for k, v in (raw.get("resources") or {}).items()}
    return StudySpec(**raw)


def check_job_sizes(study: Path) -> None:
    """Each training job of a study has GPUs and runs with --trainer.accelerator gpu on exactly its
    tasks; a job whose recipe scales its lr has GPUs x batch per GPU = the recipe's reference batch.
    Each distinct run's rendered command resolves to exactly the configuration its step holds (what
    the run records is what was planned). (Called by test_configs.test_study_configs_plan for every
    committed study, after its SLURM dry run.)"""
    steps = size_steps(_spec(study), plan(_spec(study), cluster=True))
    rendered = set()
    for step in steps:
        assert step.resources.uses_gpus and step.resources.gpus_per_node >= 1, (step.name, step.resources)
        assert step.resources.cpus_per_task >= 2, step.name  # loader workers + the training process
        if step.program.name != "fit":
            assert step.program.parser().parse_args(step.command()[1:]) == step.config, step.printed()
            continue
        config = step.config
        assert config.trainer.accelerator == "gpu" and config.trainer.precision == "bf16-mixed", step.printed()
        tasks = step.resources.nodes * step.resources.tasks
        assert int(config.trainer.devices) * (config.trainer.num_nodes if tasks > 1 else 1) == tasks, step.printed()
        if (step.kind, step.given) not in rendered:  # the runs of one recipe differ in their settings only
            rendered.add((step.kind, step.given))
            assert parse_run(step.command()[1:]).as_dict() == config.as_dict(), step.printed()
        if config.model.get("lr_reference_batch") and not config.run.get("batch_is_global"):
            assert tasks * config.data.init_args.batch_size == config.model.lr_reference_batch, step.name


def test_a_training_job_without_gpus_is_refused_unless_the_study_says_cpu(tmp_path, monkeypatch):
    monkeypatch.chdir(CONFIGS.parent)
    study = CONFIGS / "studies" / "fig03_imagenet_full.yaml"
    cpu_less = _spec(study, resources={"finetune": {"gpus_per_node": 0, "partition": "cpu"}})
    with pytest.raises(ValueError, match=r"finetune job .*no GPU asked for.*accelerator: cpu"):
        size_steps(cpu_less, plan(cpu_less, cluster=True))
    on_cpus = _spec(study, resources={"finetune": {"accelerator": "cpu", "cpus_per_task": 4}})
    finetune = [s for s in size_steps(on_cpus, plan(on_cpus, cluster=True)) if s.kind == "finetune"]
    assert all(s.config.trainer.accelerator == "cpu" and s.resources.cpus_per_task == 4 for s in finetune)
    assert not finetune[0].resources.uses_gpus
    given = _spec(study, resources={"pretrain": {"partition": "a100", "time": "3-00:00:00"}})
    pretrain = next(s for s in size_steps(given, plan(given, cluster=True)) if s.kind == "pretrain")
    assert (pretrain.resources.partition, pretrain.resources.gpus_per_node, pretrain.resources.time) == (
        "a100", 8, "3-00:00:00")  # what the study gives, the rest from the recipe


def test_the_dry_run_shows_gpus_and_cpus_per_job(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(CONFIGS.parent)
    main(["study", "--config", "configs/studies/fig03_imagenet_full.yaml", "--executor", "slurm", "--dry_run", "true",
          "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert re.search(r"\n +9  pretrain/imagenet-full/resnet50-seed0 +pending +- +8 GPU ", out)
    assert "6 pretrain  ~" in out and "each asks for 1 node x 8 tasks (8 GPUs per node, 9 CPU per task)" in out
    assert "each asks for 1 node x 1 task (1 GPU per node, 5 CPU per task)" in out
    assert "1 report    after every job above: 1 node x 1 task (no GPU, 2 CPU per task), mem default, time 02:00:00" in out
    assert "--extra_args" not in (CONFIGS / "studies" / "fig03_imagenet_full.yaml").read_text()
    # iWildCam's 4 workers through WILDS' loader cannot feed a GPU at 448 px; ImageNet's 8 (~3,880 img/s) feed an
    # H100 training DenseNet-121 (3,707 img/s, study/gpu_rates.py) but none of the faster networks
    assert "warning (12 finetune jobs): 4 loader workers x 32 img/s per core (IWildCamDataModule wilds" in out
    assert "warning (5 pretrain jobs): 8 loader workers x 485 img/s per core" in out
    bound = [line.split()[1] for line in out.splitlines() if re.match(r" +\d+  pretrain/.*\*$", line)]
    assert "pretrain/imagenet-full/densenet121-seed0" not in bound and len(bound) == 5


def test_loader_workers_default_to_the_tasks_cpus(monkeypatch):
    from pretrain_robustness.datamodules.classification import default_workers

    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "13")
    assert default_workers() == 12
    monkeypatch.delenv("SLURM_CPUS_PER_TASK")
    assert 0 <= default_workers() <= 8


def test_fig20_keeps_its_global_batch_and_steps_on_every_launch():
    """The CLIP recipe's global batch (4,096 x 8) and steps are the same on 8 GPUs here, 32 as SLURM
    tasks or 1; a count that does not divide it is refused; the loss is local with gathered
    gradients, and activations are recomputed where the batch per GPU is above 1,024."""
    from pretrain_robustness.clip.training import optimizer_steps, per_gpu_batch, read_recipe, trainer_args

    recipe = read_recipe(CONFIGS / "clip_pretrain" / "laion_vit_b32.yaml")
    subset = {"train_data": "shards/{00000..00009}.tar"}
    assert {w: per_gpu_batch(recipe, w) for w in (1, 8, 32)} == {1: 32768, 8: 4096, 32: 1024}
    assert optimizer_steps(recipe) == 3920  # 10 x ceil(ceil(12.8M / 32,768) / 8 workers) x 8
    on_8 = " ".join(trainer_args(recipe, subset, Path("logs"), "run", 8))
    assert "--batch-size 4096" in on_8 and "--local-loss --gather-with-grad --grad-checkpointing" in on_8
    on_32 = " ".join(trainer_args(recipe, subset, Path("logs"), "run", 32))
    assert "--batch-size 1024" in on_32 and "--local-loss --gather-with-grad" in on_32 and "checkpointing" not in on_32
    with pytest.raises(ValueError, match="global batch 32768 .* does not split over 6 processes"):
        per_gpu_batch(recipe, 6)


def test_a_global_batch_is_split_over_the_devices_or_refused():
    """WILDS' batch of 16 per step: 16 on one process, 8 on two, 2 on eight; 3 processes refused."""
    from types import SimpleNamespace

    from pretrain_robustness.callbacks import FixedGlobalBatch

    def setup(world: int, accumulate: int = 1) -> int:
        data = SimpleNamespace(batch_size=16)
        trainer = SimpleNamespace(datamodule=data, world_size=world, accumulate_grad_batches=accumulate)
        FixedGlobalBatch(16).setup(trainer, None, "fit")
        return data.batch_size

    assert [setup(w) for w in (1, 2, 8)] == [16, 8, 2] and setup(2, accumulate=2) == 4
    with pytest.raises(ValueError, match="global batch 16 does not split over 3 processes"):
        setup(3)
    recipe = yaml.safe_load((CONFIGS / "recipes" / "finetune_wilds.yaml").read_text())
    assert recipe["run"]["batch_is_global"] is True
