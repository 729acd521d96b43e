"""Several runs at once on one machine (``study --parallel N``), with processes standing in for devices: each
run in its own process on its own device slot (``CUDA_VISIBLE_DEVICES``), never two in one slot, a run after
the run it starts from, a run whose pre-training failed not started, the report after all of them."""

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from pretrain_robustness.study.local_pool import LocalPool


class Stamp:
    """A stand-in run: notes its device slot and when it ran (or fails, ``fail=True``)."""

    def __init__(self, seconds: float = 1.5, fail: bool = False):
        self.seconds, self.fail = seconds, fail

    def start(self, folder: Path, command: list[str]) -> None:
        began = time.time()
        time.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("this stand-in run fails")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "stamp.json").write_text(json.dumps({"device": os.environ["CUDA_VISIBLE_DEVICES"], "start": began,
                                                       "end": time.time(), "data": os.environ.get("DATA")}))


def _step(root: Path, name: str, program: Stamp):
    return SimpleNamespace(folder=root / name, program=program, command=lambda: ["fit"], environment=(("DATA", "d"),),
                           description=name)


@pytest.mark.timeout(60)
def test_a_pool_runs_each_run_on_a_free_device_after_the_run_it_starts_from(tmp_path, capsys):
    pool = LocalPool(2, tmp_path / "logs", devices=["GPU-a", "GPU-b"])
    jobs = {}
    for name, program, needs in (("pretrain-a", Stamp(), None), ("finetune-a", Stamp(), "pretrain-a"),
                                 ("pretrain-b", Stamp(0.5, fail=True), None), ("finetune-b", Stamp(), "pretrain-b"),
                                 ("scratch", Stamp(), None)):
        jobs[name] = pool.submit(_step(tmp_path, name, program), [jobs[needs]] if needs else []).id
    elsewhere = pool.submit(_step(tmp_path, "finetune-c", Stamp()), ["4242"]).id  # after a SLURM job: not ours
    reported = []
    pool.submit_report(lambda: reported.append(time.time()), list(jobs.values()), "report")
    stamps = {p.parent.name: json.loads(p.read_text()) for p in tmp_path.glob("*/stamp.json")}
    assert set(stamps) == {"pretrain-a", "finetune-a", "scratch"}  # finetune-b: its pre-training failed
    assert stamps["finetune-a"]["start"] >= stamps["pretrain-a"]["end"] and stamps["pretrain-a"]["data"] == "d"
    runs = sorted(stamps.values(), key=lambda s: s["start"])
    overlapping = [(a, b) for i, a in enumerate(runs) for b in runs[i + 1:] if b["start"] < a["end"]]
    assert overlapping and all(a["device"] != b["device"] for a, b in overlapping)  # two at once, never on one device
    assert {s["device"] for s in runs} == {"GPU-a", "GPU-b"} and reported[0] >= max(s["end"] for s in runs)
    out = capsys.readouterr().out
    assert f"[{jobs['pretrain-b']}] FAILED (exit 1" in out and f"[{jobs['finetune-b']}] not started" in out
    assert "this stand-in run fails" in (tmp_path / "logs" / f"{jobs['pretrain-b']}-pretrain-b.log").read_text()
    assert f"[{elsewhere}] not started: finetune-c waits for job 4242, outside this machine's pool" in out
    assert "local pool: 3 of 6 runs finished" in out


def test_more_runs_at_once_than_gpus_is_refused():
    with pytest.raises(ValueError, match=r"--parallel 3: this process may use 2 GPU\(s\) \(0, 1\); run at most 2"):
        LocalPool(3, Path("logs"), devices=["0", "1"])


@pytest.mark.slow
def test_the_demo_study_with_two_runs_at_once_gives_the_one_after_another_report(tiny_data, tmp_path, monkeypatch):
    """The demo study (tiny data, 2 epochs) through ``--parallel 2`` (two CPU processes standing in for two GPUs)
    and in this process, one after another: the same trends, and two runs trained at once."""
    import pandas as pd
    import yaml

    from pretrain_robustness.cli import main
    from pretrain_robustness import store

    from .test_end_to_end import CONFIGS, _write

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU: CPU slots
    trainer = {"max_epochs": 2, "enable_progress_bar": False}
    pretrain = _write(tmp_path / "pretrain.yaml", {"trainer": trainer, "data": {"init_args": {
        "source": {"init_args": {"root": str(tiny_data / "imagenet")}}, "val_per_class": 2, "batch_size": 16,
        "num_workers": 0}}})
    finetune = _write(tmp_path / "finetune.yaml", {"trainer": trainer, "data": {"init_args": {
        "root": str(tiny_data), "image_size": 32, "num_workers": 0}}})
    reports = {}
    for parallel in (2, 1):
        spec = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
        spec.update(root=str(tmp_path / f"runs{parallel}"), demo_data=None, architectures=["resnet18", "shufflenet_v2_x0_5"])
        spec["conditions"][1]["pretrain"].append(pretrain)
        spec["finetune"].append(finetune)
        main(["study", "--config", _write(tmp_path / f"study{parallel}.yaml", spec), "--parallel", str(parallel)])
        reports[parallel] = pd.read_csv(tmp_path / f"runs{parallel}" / "demo" / "trends.csv")
    pd.testing.assert_frame_equal(reports[2], reports[1])
    attempts = [store.read_record(p.parent)["attempts"][-1] for p in (tmp_path / "runs2").rglob("run.json")]
    spans = sorted((a["started"], a["ended"]) for a in attempts)
    assert len(spans) == 6 and any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))
    assert len(list((tmp_path / "runs2" / "demo" / "local_logs").glob("local-*.log"))) == 6
