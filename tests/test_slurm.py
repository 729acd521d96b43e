"""Studies on a real SLURM scheduler: a two-node cluster on localhost (``scripts/slurm_local.sh start
--nodes 2``: Debian's slurmctld, one slurmd per node in its own UTS namespace, munged), one CPU per
node; jobs submitted through submitit by ``study --executor slurm``. A multi-task job spans both
nodes: its rank 1 runs on the second node, under that node's host name."""

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from pretrain_robustness import store
from pretrain_robustness.analysis.publish import ReportSettings, write_report
from pretrain_robustness.cli import main
from pretrain_robustness.clip.steps import ClipPretrain
from pretrain_robustness.run.fit_program import FIT
from pretrain_robustness.run.tools import predictions_command
from pretrain_robustness.study.executors import SlurmExecutor
from pretrain_robustness.study.resources import ACTIVE_STATES, Resources

from .training_state import assert_same_training_state

REPO = Path(__file__).parents[1]
CONFIGS = REPO / "configs"
SLURM_DIR = Path(os.environ.get("SLURM_LOCAL_DIR", "/tmp/pretrain-robustness-slurm"))

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]  # one worker owns the local cluster


NODES = [socket.gethostname().split(".")[0], f"{socket.gethostname().split('.')[0]}-n2"]  # slurm_local.sh's names


@pytest.fixture(scope="module")
def slurm():
    """The local two-node cluster, started if it is not up (a one-node one is restarted with two; it is
    stopped again afterwards if it was not up)."""
    script = REPO / "scripts" / "slurm_local.sh"
    status = subprocess.run(["bash", str(script), "status"], capture_output=True, text=True)
    was_up = status.returncode == 0
    if was_up and f"slurmd-{NODES[1]}:" not in status.stdout:
        subprocess.run(["bash", str(script), "stop"], capture_output=True, check=True)
    started = subprocess.run(["bash", str(script), "start", "--nodes", "2"], capture_output=True, text=True, timeout=600)
    assert started.returncode == 0, started.stdout + started.stderr
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "PATH")}
    os.environ["SLURM_CONF"] = str(SLURM_DIR / "slurm.conf")
    os.environ["PATH"] = f"{SLURM_DIR / 'bin'}:{os.environ['PATH']}"
    yield SLURM_DIR
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    if not was_up:
        subprocess.run(["bash", str(script), "stop"], capture_output=True)


def _states(job_ids) -> dict[str, str]:
    return SlurmExecutor(Path("/tmp")).job_states(list(job_ids))


def _wait(job_ids, timeout=600) -> dict[str, str]:
    """Until none of the jobs may still run; their final states."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = _states(job_ids)
        if states and all(s not in ACTIVE_STATES for s in states.values()) and len(states) >= len(set(job_ids)):
            return states
        time.sleep(0.5)
    raise TimeoutError(f"jobs {job_ids} still active after {timeout} s: {_states(job_ids)}")


def _study(tmp: Path, data: Path, pretrain_epochs: int = 2, finetune_nodes: int = 1) -> Path:
    """The demo study on the miniature data: resnet18, scratch + pre-trained, one CPU per task;
    fine-tuning jobs over ``finetune_nodes`` nodes (one task each)."""
    pretrain = tmp / "tiny_pretrain.yaml"
    pretrain.write_text(yaml.safe_dump({
        "trainer": {"max_epochs": pretrain_epochs, "enable_progress_bar": False, "logger": False},
        "data": {"init_args": {"source": {"init_args": {"root": str(data / "imagenet")}},
                               "val_per_class": 2, "batch_size": 16, "num_workers": 0}}}))
    finetune = tmp / "tiny_finetune.yaml"
    finetune.write_text(yaml.safe_dump({
        "trainer": {"max_epochs": 3, "enable_progress_bar": False, "logger": False},  # 3 points per trend
        "data": {"init_args": {"root": str(data), "image_size": 16, "num_workers": 0}}}))
    spec = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    spec.update(root=str(tmp / "runs"), demo_data=None, architectures=["resnet18"],
                resources={kind: {"accelerator": "cpu", "cpus_per_task": 1, "mem": "2G", "time": "00:20:00"}
                           for kind in ("pretrain", "finetune", "report")})
    spec["resources"]["finetune"].update(nodes=finetune_nodes, tasks_per_node=1)
    spec["conditions"][1]["pretrain"] = [str(REPO / p) for p in spec["conditions"][1]["pretrain"]] + [str(pretrain)]
    spec["finetune"] = [str(REPO / p) for p in spec["finetune"]] + [str(finetune)]
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _jobs(root: Path) -> dict[str, str]:
    """run folder (study/kind/condition/name) -> job id, from the store."""
    return {"/".join(r.parts[-3:]): str(store.read_record(r)["job"]["id"])
            for r in store.find_runs(root) if (store.read_record(r) or {}).get("job")}


def test_a_study_as_a_job_graph_whose_killed_job_resumes_when_submitted_again(slurm, tiny_data, tmp_path, capsys):
    """Every run is a job, fine-tuning after its pre-training (afterok) and over both nodes
    (``resources: {finetune: {nodes: 2}}``), the report after all of them. The pre-training job,
    cancelled mid-way, leaves its fine-tuning never run; the study submitted again keeps the finished
    run's job and submits the cancelled one again, which resumes from its checkpoint. The report job's
    files equal a local report of the same runs; nothing is submitted a third time. (One study serves
    the graph and the resubmission: each study costs the suite a minute of SLURM jobs.)"""
    config = _study(tmp_path, tiny_data, pretrain_epochs=5, finetune_nodes=2)
    root = tmp_path / "runs" / "demo"
    main(["study", "--config", str(config), "--executor", "slurm"])
    capsys.readouterr()
    first = _jobs(root)
    assert len(first) == 3, first
    pretrain_dir = root / "pretrain/imagenet-demo/resnet18-seed0"
    deadline = time.time() + 300
    while not (store.has_checkpoint(pretrain_dir) and (store.read_record(pretrain_dir) or {}).get("progress", {}).get("epoch", 0) >= 2):
        assert time.time() < deadline, store.read_record(pretrain_dir)
        time.sleep(1)
    subprocess.run(["scancel", first["pretrain/imagenet-demo/resnet18-seed0"]], check=True)
    _wait(first.values())
    main(["study", "--config", str(config), "--executor", "slurm", "--status", "true"])
    status = capsys.readouterr().out
    assert "failed" in status and "cancelled" in status, status
    main(["study", "--config", str(config), "--executor", "slurm"])
    out = capsys.readouterr().out
    jobs = _jobs(root)
    assert jobs["finetune/scratch/resnet18-seed0"] == first["finetune/scratch/resnet18-seed0"]  # finished: kept
    assert jobs["pretrain/imagenet-demo/resnet18-seed0"] != first["pretrain/imagenet-demo/resnet18-seed0"], out
    report_job = out.split("report: job ")[1].split()[0]
    states = _wait([*jobs.values(), report_job])
    assert set(states.values()) == {"COMPLETED"}, (states, out)
    records = {name: store.read_record(root / name) for name in jobs}
    pretrain, finetune = records["pretrain/imagenet-demo/resnet18-seed0"], records["finetune/imagenet-demo/resnet18-seed0"]
    assert all(r["status"] == "finished" for r in records.values())
    assert finetune["job"]["after"] == [pretrain["job"]["id"]]
    assert finetune["attempts"][0]["started"] >= pretrain["finished"]  # the dependency held
    assert finetune["pretrain_run"] == str(pretrain_dir.resolve())
    for name in ("finetune/imagenet-demo/resnet18-seed0", "finetune/scratch/resnet18-seed0"):  # one task per node
        assert records[name]["world_size"] == 2 and records[name]["host"] == NODES[0]
        assert records[name]["training"]["cpu_threads"] == 1  # the task's CPU, not the node's (Lightning's launcher)
        _assert_ran_on_both_nodes(SimpleNamespace(log=records[name]["job"]["log"]))
    assert pretrain["world_size"] == 1
    assert pretrain["identity"]  # the run computed the identity the study planned with
    # resumed: five epochs over two attempts, each epoch once in metrics.csv
    assert pretrain["epochs"] == 5 and len(pretrain["attempts"]) == 2 and pretrain["attempts"][1]["resumed_from"]
    assert sorted(pd.read_csv(pretrain_dir / "metrics.csv")["epoch"].unique()) == list(range(1, 6))
    # the job read the manifest its submission built, not the dataset: the same images, by hash
    planned = store.planned_manifest(tmp_path / "runs", pretrain["manifest"]["sha256"])
    assert planned.is_file() and f"--data.init_args.manifest_file {planned}" in out
    log = Path(pretrain["job"]["log"]).read_text()
    assert f"(manifest sha256 {pretrain['manifest']['sha256'][:12]}, as planned in {planned})" in log
    assert planned.read_bytes() == (pretrain_dir / store.MANIFEST).read_bytes()
    local = write_report(ReportSettings(tmp_path / "runs", "demo", output=tmp_path / "local"))
    for name in ("trends.csv", "comparisons.csv", "trends.md"):
        assert (root / name).read_bytes() == local.with_name(name).read_bytes(), name
    main(["study", "--config", str(config), "--executor", "slurm", "--status", "true"])
    status = capsys.readouterr().out
    assert "3 finished" in status, status
    main(["study", "--config", str(config), "--executor", "slurm"])  # again: nothing left to do
    again = capsys.readouterr().out
    assert "submitted:" not in again and again.count("not submitted again") == 3, again


def config_batch(folder: Path) -> int:
    return yaml.safe_load((folder / "config.yaml").read_text())["data"]["init_args"]["batch_size"]


def test_a_two_node_ddp_job_scores_as_one_process(slurm, tiny_data, tmp_path):
    """A fine-tuning run as a job over two nodes, one task each (DDP over gloo, MASTER_ADDR the first
    node): its metrics.csv equals the same run's as a 2-task job on one node (the same world size), and
    the F1 it records on every split equals a 1-process evaluation of the same weights; one record and
    one W&B run, written by global rank 0 on the first node."""
    resources = TWO_NODES
    root = tmp_path / "runs"
    folder = root / "ddp" / "finetune" / "scratch" / "resnet18-seed0"

    def fit(run_root: Path, job_resources: Resources) -> list[str]:
        return ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config",
                str(CONFIGS / "demo/finetune.yaml"), "--data.init_args.root", str(tiny_data), "--data.init_args.image_size",
                "32", "--data.init_args.num_workers", "0", "--trainer.max_epochs", "1",  # W&B: offline (tests)
                "--run.root", str(run_root), "--run.study", "ddp", *job_resources.trainer_args()]

    one_node_folder = tmp_path / "one-node" / folder.relative_to(root)
    executor = SlurmExecutor(tmp_path / "jobs")
    job = executor.submit_run(folder, FIT, fit(root, resources), resources, [], "ddp")
    assert _wait([job.id]) == {job.id: "COMPLETED"}, Path(job.log).read_text()[-3000:]
    _assert_ran_on_both_nodes(job)
    try:  # two one-CPU tasks on one node: the cluster as one node holding the machine's cores
        _restart_cluster(nodes=1)
        one_node = executor.submit_run(one_node_folder, FIT, fit(tmp_path / "one-node", ONE_NODE_TWO_TASKS),
                                       ONE_NODE_TWO_TASKS, [], "ddp-one-node")
        assert _wait([one_node.id]) == {one_node.id: "COMPLETED"}, Path(one_node.log).read_text()[-3000:]
    finally:
        _restart_cluster(nodes=len(NODES))
    assert store.read_record(one_node_folder)["world_size"] == 2
    one_node_logs = " ".join(p.read_text() for p in Path(one_node.log).parent.glob("*_log.out"))
    for rank in range(2):  # both tasks on the first node
        assert f"hostname={NODES[0]}, local_rank={rank}(2), node=0(1), global_rank={rank}(2)" in one_node_logs
    assert (folder / "metrics.csv").read_bytes() == (one_node_folder / "metrics.csv").read_bytes()
    for run in (folder, one_node_folder):  # one W&B run, rank 0's
        assert len(list((run / "wandb").glob("offline-run-*"))) == 1 and store.read_record(run)["wandb_id"]
    record = store.read_record(folder)
    assert record["status"] == "finished" and record["world_size"] == 2
    assert record["global_batch"] == config_batch(folder) == 2 * record["batch_per_device"]  # the batch is global
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert (str(config["trainer"]["devices"]), config["trainer"]["num_nodes"], config["trainer"]["strategy"]) == (
        "1", 2, "ddp")
    assert record["host"] == NODES[0] and json.loads((folder / store.RUN_RECORD).read_text())["attempts"][0]["host"] == NODES[0]
    main(["test", "--config", str(folder / "config.yaml"), "--trainer.logger", "false", "--trainer.devices", "1",
          "--trainer.num_nodes", "1", "--trainer.strategy", "auto", "--ckpt_path", str(store.checkpoint_path(folder))])
    ddp = pd.read_csv(folder / "metrics.csv")
    ddp = ddp[ddp["epoch"] == ddp["epoch"].max()].set_index("split")
    evaluation = next((folder / "evaluations").glob("test-last-*"))
    single = pd.read_csv(evaluation / "metrics.csv").set_index("split")
    assert sorted(single.index) == sorted(ddp.index) and len(single) == 4
    for split in single.index:
        assert single.loc[split, "n"] == ddp.loc[split, "n"]
        assert single.loc[split, "f1_macro"] == ddp.loc[split, "f1_macro"], split
        assert single.loc[split, "accuracy"] == ddp.loc[split, "accuracy"], split
    assert json.loads((evaluation / "evaluation.json").read_text())["status"] == "finished"
    # per-example predictions of the two-node run's checkpoint, here in one process (its config says 2 nodes)
    predictions = pd.read_csv(predictions_command(["--run", str(folder), "--splits", "[id_test]"]))
    assert len(predictions) == single.loc["id_test", "n"]


def _ddp_fit(tiny_data, root: Path, *extra: str) -> list[str]:
    return ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0",
            "--trainer.max_epochs", "2", "--trainer.logger", "false", "--run.root", str(root), "--run.study", "faults",
            *TWO_NODES.trainer_args(), *extra]


TWO_NODES = Resources(accelerator="cpu", nodes=2, tasks_per_node=1, cpus_per_task=1, mem="2G", time="00:20:00")
# the same world size on one node (the cluster restarted as one node of the machine's cores)
ONE_NODE_TWO_TASKS = Resources(accelerator="cpu", nodes=1, tasks_per_node=2, cpus_per_task=1, mem="2G", time="00:20:00")


def _restart_cluster(nodes: int) -> None:
    """The local cluster stopped (its jobs with it) and started again as ``nodes`` nodes: each holds
    its share of the machine's cores, never more (scripts/slurm_local.sh)."""
    script = REPO / "scripts" / "slurm_local.sh"
    stopped = subprocess.run(["bash", str(script), "stop"], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    started = subprocess.run(["bash", str(script), "start", "--nodes", str(nodes)], capture_output=True, text=True,
                             timeout=600)
    assert started.returncode == 0, started.stdout + started.stderr


def _assert_ran_on_both_nodes(job) -> None:
    """Each task's log: submitit's line naming its host, node and global rank."""
    logs = " ".join(p.read_text() for p in Path(job.log).parent.glob("*_log.out"))
    for rank, node in enumerate(NODES):
        assert f"hostname={node}, local_rank=0(1), node={rank}(2), global_rank={rank}(2)" in logs, logs[-3000:]


def _ended_within(job, seconds: float, started: float) -> str:
    """The job's final state, asserting it ended within ``seconds`` of its submission: a generous bound,
    not a speed (the local cluster starts a job at once, and the job's own work takes well under a
    minute here; a rank left hanging would wait for the collective timeout, 30 minutes)."""
    state = _wait([job.id], timeout=seconds + 60)[job.id]
    took = time.time() - started
    assert took < seconds, (took, Path(job.log).read_text()[-3000:])
    return state


def test_one_ranks_failure_ends_the_job_within_a_minute(slurm, tiny_data, tmp_path, monkeypatch):
    """An exception on rank 1 (the second node) mid-epoch (an unreadable image) ends both tasks at once
    (srun --kill-on-bad-exit), its error in the job's log; rank 0 keeps a checkpoint without a barrier
    that rank 1 would never reach. Then rank 0 refusing (before DDP starts) to train in
    a folder in use: that job ends at once too, ranks 1.. included."""
    monkeypatch.chdir(REPO)  # the job imports tests.ddp_faults from here
    root = tmp_path / "runs"
    folder = root / "faults" / "finetune" / "scratch" / "resnet18-seed0"
    fault = ["--trainer.callbacks+=tests.ddp_faults.FailOnRank", "--trainer.callbacks.rank=1",
             "--trainer.callbacks.step=3"]
    start = time.time()
    job = SlurmExecutor(tmp_path / "jobs").submit_run(folder, FIT, _ddp_fit(tiny_data, root, *fault), TWO_NODES, [], "fault")
    assert _ended_within(job, 240, start) == "FAILED"
    logs = {p.name: p.read_text() for p in Path(job.log).parent.glob("*_log.out")}  # one per task
    assert any("rank 1: cannot read image at step 3 (injected)" in text for text in logs.values()), logs
    assert store.read_record(folder)["status"] == "failed"
    assert (folder / "checkpoints" / store.INTERRUPT_CHECKPOINT).is_file()  # rank 0's, written without a barrier

    in_use = root / "faults" / "finetune" / "busy" / "resnet18-seed0"  # a live process (this one) holds it
    store.write_record(in_use, {"status": "running", "pid": os.getpid(), "host": socket.gethostname(),
                                "heartbeat": store.now()})
    store.acquire_lock(in_use)
    job = SlurmExecutor(tmp_path / "jobs").submit_run(in_use, FIT, _ddp_fit(tiny_data, root, "--run.condition", "busy"),
                                                  TWO_NODES, [], "refused")
    assert _ended_within(job, 240, time.time()) == "FAILED"  # rank 0 refused; rank 1 did not wait for it
    logs = " ".join(p.read_text() for p in Path(job.log).parent.glob("*_log.out"))
    assert f"is in use by pid {os.getpid()}" in logs, logs[-3000:]
    store.release_lock(in_use)


def test_a_two_node_job_at_its_time_limit_requeues_itself_and_resumes_exactly(slurm, tiny_data, tmp_path):
    """SLURM signals a two-node pre-training job (USR2, submitit's) before its time limit or a
    preemption: global rank 0 asks for the requeue and keeps its mid-epoch checkpoint (rank 1 does
    not exit by itself), and the requeued job (same id, both nodes) continues the run from it: its
    metrics equal those of the same job never interrupted."""
    config = yaml.safe_load(_study(tmp_path, tiny_data, pretrain_epochs=4).read_text())
    root = tmp_path / "runs"
    folder, reference = (root / "requeue" / "pretrain" / "imagenet-demo" / name for name in ("resnet18-seed0", "reference"))
    args = ["fit", *[a for c in config["conditions"][1]["pretrain"] for a in ("--config", c)], "--run.root", str(root),
            "--run.study", "requeue", "--model.architecture", "resnet18", *TWO_NODES.trainer_args()]
    executor = SlurmExecutor(tmp_path / "jobs")
    uninterrupted = executor.submit_run(reference, FIT, [*args, "--run.name", "reference"], TWO_NODES, [], "reference")
    job = executor.submit_run(folder, FIT, args, TWO_NODES, [uninterrupted.id], "requeue")  # after it: one CPU per node
    store.record_submission(folder, {"id": job.id, "log": job.log}, {"kind": "pretrain"})
    deadline = time.time() + 300
    while not (store.has_checkpoint(folder) and (store.read_record(folder) or {}).get("progress", {}).get("epoch", 0) >= 2):
        assert time.time() < deadline, store.read_record(folder)
        time.sleep(0.5)
    subprocess.run(["scancel", "--signal", "USR2", job.id], check=True)  # what SLURM sends at --signal=USR2@90
    # SLURM holds a requeued job for about 2 minutes before it may start again; the test does not wait that long
    deadline = time.time() + 120
    while _states([job.id]).get(job.id) != "PENDING" and time.time() < deadline:
        time.sleep(0.5)
    subprocess.run(["scontrol", "update", f"JobId={job.id}", "StartTime=now"], check=True)
    assert _wait([job.id, uninterrupted.id], timeout=600) == {job.id: "COMPLETED", uninterrupted.id: "COMPLETED"}, \
        Path(job.log).read_text()[-3000:]
    log = Path(job.log).read_text()
    assert "requeued" in log.lower(), log[-3000:]
    record = store.read_record(folder)
    assert (record["status"], record["epochs"], record["world_size"]) == ("finished", 4, 2), (record, log[-3000:])
    assert len(record["attempts"]) == 2 and record["attempts"][1]["resumed_from"], (record["attempts"], log[-3000:])
    assert record["attempts"][0]["status"] == "interrupted", (record["attempts"], log[-3000:])  # also mid-write
    assert "task 0: Killed" not in log, log[-3000:]  # rank 0 left by itself (not SIGKILLed after a hung broadcast)
    pd.testing.assert_frame_equal(pd.read_csv(folder / "metrics.csv"), pd.read_csv(reference / "metrics.csv"),
                                  check_exact=True)
    assert_same_training_state(folder, reference)  # weights, momentum, scheduler, loops: rank 0's checkpoint
    _assert_ran_on_both_nodes(job)


def test_clip_pretraining_as_a_two_node_job(slurm, tmp_path):
    """Fig. 20's CLIP pre-training step as a study submits it: a job over two nodes whose tasks each
    run open_clip's trainer for their own SLURM rank (gloo on the CPU, rendezvous on the first node),
    one run record kept by rank 0."""
    from .test_webdataset_subsets import tiny_clip_setup

    _, _, recipe = tiny_clip_setup(tmp_path, [64], batch_size=8, gpus=2)
    folder = tmp_path / "runs" / "fig20" / "pretrain" / "laion-64" / "clip-tiny-clip-seed0"
    args = ["clip-pretrain", "--subset", str(tmp_path / "subsets" / "64"), "--recipe", str(recipe), "--root",
            str(tmp_path / "runs"), "--study", "fig20", "--condition", "laion-64", "--seed", "0", "--in_task", "true"]
    resources = Resources(accelerator="cpu", nodes=2, tasks_per_node=1, cpus_per_task=1, mem="3G", time="00:20:00")
    job = SlurmExecutor(tmp_path / "jobs").submit_run(folder, ClipPretrain(), args, resources, [], "clip")
    assert _wait([job.id]) == {job.id: "COMPLETED"}, Path(job.log).read_text()[-3000:]
    _assert_ran_on_both_nodes(job)
    record = store.read_record(folder)
    assert record["status"] == "finished" and record["params"] == {"source": "webdataset", "pairs": 64}
    log = (folder / "open_clip" / "run" / "out.log").read_text()
    assert "world_size: 2" in log and "rank: 0" in log
    assert sorted(p.name for p in (folder / "open_clip" / "run" / "checkpoints").iterdir()) == ["epoch_1.pt", "epoch_2.pt"]
    assert not (folder / store.LOCK).exists()


def _processes_of_the_cluster() -> list[str]:
    """Command lines of the processes this cluster started: its job steps (slurmstepd) and their tasks
    (both carry its slurm.conf in their environment; a task also its job id)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        ours = f"SLURM_CONF={SLURM_DIR / 'slurm.conf'}".encode() in environ
        if ours and cmdline and (cmdline.startswith("slurmstepd") or any(e.startswith(b"SLURM_JOB_ID=") for e in environ)):
            found.append(f"{proc.name}: {cmdline}")
    return found


def test_stop_ends_every_job_and_the_next_start_has_an_empty_queue(slurm, tmp_path):
    """``slurm_local.sh stop`` with a job running and one waiting: no job step or task is left behind
    (before: slurmstepd and the job's processes outlived the daemons and held the node after the next
    start), and the next start's queue is empty."""
    jobs = []
    for _ in range(len(NODES) + 1):  # one per node runs (a node is one core here); the last waits
        out = subprocess.run(["sbatch", "--parsable", "-c", "1", "-o", str(tmp_path / "%j.out"),
                              "--wrap", "sleep 600"], capture_output=True, text=True, check=True)
        jobs.append(out.stdout.strip().split(";")[0])
    deadline = time.time() + 60
    while _states(jobs).get(jobs[0]) != "RUNNING":
        assert time.time() < deadline, _states(jobs)
        time.sleep(0.5)
    assert _processes_of_the_cluster()  # the check sees the running job
    try:
        stopped = subprocess.run(["bash", str(REPO / "scripts" / "slurm_local.sh"), "stop"], capture_output=True,
                                 text=True, timeout=120)
        cancelled = next(line for line in stopped.stdout.splitlines() if line.startswith("slurm_local: cancelling job(s)"))
        assert stopped.returncode == 0 and set(cancelled.split()[3:]) == set(jobs), stopped.stdout
        assert _processes_of_the_cluster() == []
    finally:
        _restart_cluster(nodes=len(NODES))
    queue = subprocess.run(["squeue", "--noheader", "--states=PENDING,RUNNING"], capture_output=True, text=True, check=True)
    assert queue.stdout.strip() == ""


def test_a_cluster_that_died_leaves_no_job_to_the_next_start(slurm, tmp_path):
    """The daemons killed with a job running (a crash, a reboot): `stop` ends the job's step and task by
    their PIDs, and the next `start` cancels the job its saved state still holds as running (before: it
    held a node and queued every new job behind it) and says so."""
    out = subprocess.run(["sbatch", "--parsable", "-c", "1", "-o", str(tmp_path / "%j.out"), "--wrap", "sleep 600"],
                         capture_output=True, text=True, check=True)
    job = out.stdout.strip().split(";")[0]
    deadline = time.time() + 60
    while _states([job]).get(job) != "RUNNING":
        assert time.time() < deadline, _states([job])
        time.sleep(0.5)
    script = REPO / "scripts" / "slurm_local.sh"
    try:
        for pid_file in SLURM_DIR.glob("slurm*.pid"):  # slurmctld and every slurmd, as a crash ends them
            subprocess.run(["kill", "-9", pid_file.read_text().strip()], check=False)
        time.sleep(1)
        stopped = subprocess.run(["bash", str(script), "stop"], capture_output=True, text=True, timeout=120)
        assert "ending job step processes" in stopped.stdout and _processes_of_the_cluster() == [], stopped.stdout
        started = subprocess.run(["bash", str(script), "start", "--nodes", str(len(NODES))], capture_output=True,
                                 text=True, timeout=600)
        assert f"cancelled job(s) {job} left from before the last stop" in started.stdout, started.stdout
    finally:
        _restart_cluster(nodes=len(NODES))
    queue = subprocess.run(["squeue", "--noheader", "--states=PENDING,RUNNING"], capture_output=True, text=True, check=True)
    assert queue.stdout.strip() == ""


def test_a_study_asking_for_gpus_of_a_cluster_without_any_is_refused_before_any_job(slurm, tiny_data, tmp_path):
    """The local cluster has no GPUs: a study without `accelerator: cpu` is refused before its first job
    with one line saying what to set (before: sbatch's "Invalid generic resource (gres) specification",
    after earlier jobs had been submitted)."""
    config = _study(tmp_path, tiny_data)
    spec = yaml.safe_load(config.read_text())
    spec.pop("resources")
    config.write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match=r"partition \(the default one\) offers no GPUs .*accelerator: cpu"):
        main(["study", "--config", str(config), "--executor", "slurm"])
    assert subprocess.run(["squeue", "--noheader"], capture_output=True, text=True, check=True).stdout.strip() == ""
    assert not [r for r in store.find_runs(tmp_path / "runs") if (store.read_record(r) or {}).get("job")]
