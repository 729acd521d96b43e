"""``pretrain-robustness sync --study NAME``: upload every offline W&B run of a study once a node can
reach W&B, then draw the lineage edges an offline run could not. A study's W&B files all lie inside its folder: each run's ``wandb/offline-run-*`` (one per
attempt: a resumed attempt and the report's write-back are segments of the same run, synced in the order
they were written, so they merge into one run; their steps continue, ``run/wandb_logger.py``), the
report's own run, and every artifact's staged files (``<folder>/wandb/data``, not ``~/.local/share``:
``stage_inside``), so a study folder on a shared file system syncs from the login node. Synced segments
are marked by W&B (``run-<id>.wandb.synced``) and passed over the next time.

Lineage (manifest -> pre-training -> checkpoint -> fine-tuning -> scores -> report): each run logs what it
makes as artifacts, which works offline; using another run's artifact does not (W&B's ``use_artifact``
raises in offline mode: it asks the server for the artifact). An offline run therefore writes the
artifacts it uses to ``<folder>/wandb/uses-<run id>.json`` (:func:`use_artifacts`), and the sync, once
every segment is uploaded, resumes each such run and declares them (:func:`replay_uses`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from jsonargparse import ArgumentParser

from .. import store
from .wandb_logger import logged_in


@dataclass(frozen=True)
class Segment:
    """One offline run directory: a W&B run's attempt (its id names its ``run-<id>.wandb``; the directory's
    name may carry a suffix when two attempts start in the same second)."""

    path: Path

    @property
    def run_id(self) -> str:
        return next(self.path.glob("run-*.wandb")).name.removeprefix("run-").removesuffix(".wandb")

    @property
    def synced(self) -> bool:
        return any(self.path.glob("run-*.wandb.synced"))


def segments(study_folder: Path) -> dict[str, list[Segment]]:
    """Every offline W&B segment under a study's folder, by W&B run id, oldest first (the directory
    name starts with its start time)."""
    found: dict[str, list[Segment]] = defaultdict(list)
    for path in sorted(Path(study_folder).rglob("offline-run-*"), key=lambda p: p.name):
        if path.is_dir() and any(path.glob("run-*.wandb")):
            found[Segment(path).run_id].append(Segment(path))
    return dict(found)


def staged(study_folder: Path) -> list[Path]:
    """The artifacts' staged files under the study's folder (what the runs' artifact records point to)."""
    return sorted(p for p in Path(study_folder).rglob("wandb/data/artifacts/staging/*") if p.is_file())


def describe(study_folder: Path, segment: Segment) -> str:
    """Which run a segment belongs to: its folder in the store (kind/condition/name) or the report."""
    folder = segment.path.parent.parent  # <run folder>/wandb/offline-run-*
    record = store.read_record(folder)
    if record:
        return "/".join(folder.relative_to(study_folder).parts)
    return "report" if folder == study_folder else str(folder.relative_to(study_folder))


def sync_plan(study_folder: Path) -> list[str]:
    """What a sync would upload, one line per W&B run, then the staged files."""
    lines = []
    for run_id, parts in segments(study_folder).items():
        todo = [s for s in parts if not s.synced]
        lines.append(f"  {run_id}  {describe(study_folder, parts[0]):60} {len(parts)} segment(s), "
                     f"{len(todo)} to upload")
    edges = sum(len(u["uses"]) for u in deferred_uses(study_folder))
    lines.append(f"  lineage: {edges} artifact use(s) to declare once uploaded (offline runs cannot: wandb/uses-*.json)")
    files = staged(study_folder)
    lines.append(f"  artifacts: {len(files)} staged file(s) under {study_folder}/**/wandb/data "
                 f"({sum(p.stat().st_size for p in files) / 1e6:,.1f} MB)")
    return lines


USES = "uses-{run_id}.json"


def use_artifacts(run, folder: Path, names: list[str]) -> None:
    """Declare ``names`` (``model-<identity>:latest``) as inputs of ``run``: now when it is online, else
    written to ``folder/wandb/uses-<id>.json`` for the sync to declare."""
    if not names:
        return
    if not run.settings._offline:
        for name in names:
            run.use_artifact(name)
        return
    path = Path(folder) / "wandb" / USES.format(run_id=run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text())["uses"] if path.is_file() else []
    path.write_text(json.dumps({"run_id": run.id, "project": run.project, "group": run.group,
                                "uses": list(dict.fromkeys([*known, *names]))}, indent=2))


def deferred_uses(study_folder: Path) -> list[dict]:
    """Every run's artifact uses still to declare (their ``uses-*.json``), oldest first."""
    return [json.loads(p.read_text()) for p in sorted(Path(study_folder).rglob("wandb/uses-*.json"))]


def replay_uses(study_folder: Path, wandb_module=None) -> int:
    """Declare the deferred uses (W&B online, after the runs are uploaded); each file is renamed
    ``*.done`` once its uses are declared. Returns the number of edges drawn."""
    if wandb_module is None:
        import wandb as wandb_module
    drawn = 0
    for path in sorted(Path(study_folder).rglob("wandb/uses-*.json")):
        uses = json.loads(path.read_text())
        run = wandb_module.init(project=uses["project"], group=uses["group"], id=uses["run_id"], resume="must",
                                reinit="create_new")
        for name in uses["uses"]:
            run.use_artifact(name)
            drawn += 1
        run.finish()
        path.rename(path.with_suffix(".json.done"))
    return drawn


def sync_command(args: list[str]) -> list[Path]:
    """``sync --study demo [--root runs] [--dry_run true]``: upload the study's offline W&B runs (each
    resumed run's segments in order), its report run and their artifacts; ``--dry_run`` lists them."""
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness sync", description=sync_command.__doc__)
    parser.add_argument("--study", type=str, required=True)
    parser.add_argument("--root", type=str, default="runs", help="the results store")
    parser.add_argument("--dry_run", type=bool, default=False, help="list what would be uploaded; upload nothing")
    cfg = parser.parse_args(args)
    folder = Path(cfg.root) / cfg.study
    if not folder.is_dir():
        raise FileNotFoundError(f"no study {cfg.study!r} under {cfg.root} ({folder} is not a folder)")
    todo = [s.path for parts in segments(folder).values() for s in parts if not s.synced]
    print(f"W&B runs of study {cfg.study!r} ({folder}):")
    print("\n".join(sync_plan(folder)))
    if cfg.dry_run or not todo and not deferred_uses(folder):
        print("nothing uploaded" + (" (--dry_run)" if cfg.dry_run else ": every segment is synced already"))
        return todo
    if not logged_in():
        raise RuntimeError("not logged in to W&B: run `.venv/bin/wandb login` (or set WANDB_API_KEY) on a node "
                           "that reaches W&B, then sync again")
    wandb = Path(sys.executable).with_name("wandb")
    done = subprocess.run([str(wandb), "sync", *map(str, todo)], check=False) if todo else None
    if done is not None and done.returncode:
        raise RuntimeError(f"wandb sync failed ({done.returncode}); the segments it did upload are marked and "
                           "are not uploaded again")
    print(f"lineage: {replay_uses(folder)} artifact use(s) declared")
    return todo
