"""The local executor trains each run in the study's own process: one device (Lightning's DDP launcher
would re-execute the whole study command for its other ranks on a host with several GPUs)."""

import pytest

from pretrain_robustness.run.fit_program import in_this_process


def test_a_host_with_several_gpus_gives_a_local_run_one_device():
    assert in_this_process("auto", 1, gpus=2) == {"trainer.devices": 1}
    assert in_this_process(None, None, gpus=8) == {"trainer.devices": 1}
    # one GPU or none: `auto` means one device already; nothing set, so no run's identity changes
    assert in_this_process("auto", 1, gpus=1) == in_this_process("auto", 1, gpus=0) == in_this_process(1, 1, gpus=8) == {}


@pytest.mark.parametrize("devices,nodes", [(2, 1), ("2", 1), (-1, 1), ("-1", 1), ([0, 1], 1), (1, 2)])
def test_a_local_run_on_several_devices_or_nodes_is_refused_before_it_starts(devices, nodes):
    with pytest.raises(ValueError, match="the local executor trains each run in this process, one device.*--executor slurm"):
        in_this_process(devices, nodes, gpus=2)


def test_the_study_dry_run_places_its_runs_on_one_device_of_several(tmp_path, monkeypatch, capsys):
    """The demo study's dry run on a host that shows two GPUs: every fit's command names one device."""
    import torch

    from pretrain_robustness.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: (9, 0))
    monkeypatch.chdir(__import__("pathlib").Path(__file__).parents[1])
    main(["study", "--config", "configs/studies/demo.yaml", "--root", str(tmp_path / "runs"), "--dry_run", "true",
          "--commands", "true"])
    fits = [line for line in capsys.readouterr().out.splitlines() if "pretrain-robustness fit" in line]
    assert fits and all("--trainer.devices 1" in line for line in fits), fits


def test_a_global_batch_split_over_gpus_keeps_its_batchnorm_statistics_whole():
    """WILDS' 16 images split over 8 GPUs: BatchNorm synchronised across the ranks on GPUs (2 images
    each otherwise); not on the CPU, where torch's SyncBatchNorm does not run."""
    from pretrain_robustness.callbacks.global_batch import sync_batchnorm_wanted

    assert sync_batchnorm_wanted("gpu", cuda_available=True) and sync_batchnorm_wanted("auto", cuda_available=True)
    assert not sync_batchnorm_wanted("cpu", cuda_available=True) and not sync_batchnorm_wanted("auto", cuda_available=False)


def test_the_srun_hint_is_shown_to_a_run_on_several_devices_started_without_srun(monkeypatch):
    """Lightning's "srun is available but not used" is noise for a one-device run (hidden) and the one
    hint a multi-GPU or multi-node fit started without srun gets (shown); inside a job step, hidden."""
    import warnings

    from pretrain_robustness.run.quiet import keep_srun_hint, quiet_dependencies

    hint = "The `srun` command is available on your system but is not used. HINT: ..."
    monkeypatch.delenv("SLURM_STEP_ID", raising=False)
    for devices, nodes, shown in ((1, 1, False), ("auto", 1, False), (4, 1, True), (1, 2, True)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.resetwarnings()
            quiet_dependencies()
            keep_srun_hint(devices, nodes)
            warnings.warn(hint, UserWarning)
        assert bool(caught) == shown, (devices, nodes)
    monkeypatch.setenv("SLURM_STEP_ID", "0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        quiet_dependencies()
        keep_srun_hint(4, 1)
        warnings.warn(hint, UserWarning)
    assert not caught


def test_a_task_bound_to_fewer_cpus_than_it_asked_for_is_warned():
    """An srun without --cpus-per-task (Slurm 22.05-23.02) binds one core of the 8 the job asked for: said."""
    from pretrain_robustness.study.executors import cpu_shortfall

    said = cpu_shortfall(8, 1)
    assert "asked for 8 CPUs per task" in said and "may run on 1 (sched_getaffinity)" in said
    assert "--cpus-per-task=8" in said and cpu_shortfall(8, 8) is None and cpu_shortfall(4, 16) is None
