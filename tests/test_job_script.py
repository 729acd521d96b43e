"""What a study's SLURM job script says (submitit renders it from the executor's parameters)."""

import submitit

from pretrain_robustness.study.executors import SlurmExecutor
from pretrain_robustness.study.resources import Resources


def test_srun_is_given_the_tasks_cpus_and_ends_every_task_on_a_failure(tmp_path):
    """Slurm 22.05-23.02's srun does not inherit sbatch's --cpus-per-task: the job's srun names it."""
    resources = Resources(gpus_per_node=4, tasks_per_node=4, cpus_per_task=8, time="01:00:00")
    executor = SlurmExecutor(tmp_path)._executor(resources, [], "afterok", "job")
    script = executor._make_submission_file_text("python -m job", "uid")
    srun = next(line for line in script.splitlines() if line.lstrip().startswith("srun"))
    assert "--cpus-per-task=8" in srun and "--kill-on-bad-exit=1" in srun, srun
    assert "#SBATCH --cpus-per-task=8" in script and "#SBATCH --ntasks-per-node=4" in script
    assert isinstance(executor, submitit.SlurmExecutor)


def test_the_example_finetune_script_keeps_the_recipes_global_batch(monkeypatch):
    """scripts/slurm/finetune.sbatch: its fit arguments parse to WILDS' global batch of 16 on 4 devices
    (4 per GPU, not 1), and its srun ends every rank on a failure and gives each its CPUs."""
    import re
    import shlex
    from pathlib import Path

    from pretrain_robustness.run.fit_program import parse_run

    repo = Path(__file__).parents[1]
    script = (repo / "scripts/slurm/finetune.sbatch").read_text()
    command = re.search(r"^srun (.*?)(?<!\\)$", script.replace("\\\n", " "), re.M | re.S).group(1)
    words = shlex.split(command.replace("${SLURM_CPUS_PER_TASK}", "8"))
    assert "--kill-on-bad-exit=1" in words and "--cpus-per-task=8" in words
    fit = words[words.index("fit") + 1:]
    monkeypatch.chdir(repo)
    config = parse_run([w.replace("${DATA:-data}", "data").replace("${STUDY:-main}", "main").replace("$CONDITION", "x")
                        for w in fit])
    assert config.run.batch_is_global and config.data.init_args.batch_size == 16 and str(config.trainer.devices) == "4"


def test_a_partitions_gpus_are_read_from_sinfo():
    from pretrain_robustness.study.executors import partition_gres

    sinfo = "cpu* (null)\ngpu gpu:a100:8\ngpu gpu:a100:4,tmpfs:100G\nmixed (null)\n"
    assert partition_gres(sinfo, "") == set()  # the default partition (cpu*) has none
    assert partition_gres(sinfo, "gpu") == {"gpu:a100:8", "gpu:a100:4", "tmpfs:100G"}
    assert partition_gres("a100* gpu:8\n", "") == {"gpu:8"} and partition_gres(sinfo, "absent") == set()
