"""Pre-training reused by what it is: each pre-training step's identity (``run/identity.py``) is
computed from its arguments and data before anything runs; a finished, queued or running run with
the same identity anywhere in the store (any study, any figure) is used instead of a new one."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .. import store
from ..store import RunStatus
from ..datamodules.manifest import summary, write_manifest
from ..files import atomic_write
from ..datamodules.sources.listing_cache import record_file, remembered
from ..run.lightning_cli import build_data
from .job_sizes import parsed
from ..run.identity import pretraining_identity
from .plan import Step, with_init


def data_key(config) -> str:
    """A run's data settings as one string: runs whose data is the same share it."""
    return json.dumps(config.data.as_dict(), sort_keys=True, default=str)


def data_facts(config, facts: dict[str, tuple[str | None, int]]) -> tuple[str | None, int]:
    """(manifest sha256 or None, training images) of a run's data, built once per distinct data config
    and planning (``facts``): the identities and the GPU-hour estimates read the same build. Kept
    from the last planning while the folders and files its sources read and the code are unchanged
    (``listing_cache.remembered``): planning a study again builds no manifest."""
    key = data_key(config)
    if key not in facts:
        built = []
        sha, images, line = remembered("data-facts", {"data": key}, lambda: built.append(1) or _built_facts(config))
        _known(facts, key, sha, images, line, said=bool(built))
    return facts[key][:2]


def _known(facts: dict, key: str, sha: str | None, images: int, line: str | None, said: bool) -> None:
    """Facts of a data config known in this planning; its summary ``line``, unless the build printed it, once."""
    if key in facts:
        return
    if line and not said:
        print(f"pre-training distribution: {line} (manifest sha256 {sha[:12]}; as read before, its folders "
              "unchanged)", flush=True)
    facts[key] = sha, images, line


def _built_facts(config) -> list:
    data = build_data(config)
    manifest = getattr(data, "manifest", None)
    return [getattr(data, "manifest_sha256", None), data.train_size(), summary(manifest) if manifest is not None else None]


def with_planned_manifest(step: Step, facts: dict, root: Path) -> list[str]:
    """A pre-training step's arguments for its job, which then reads the manifest this planning built
    (written once per manifest to ``store.planned_manifest``, checked by its hash when read) instead
    of listing the dataset again on a compute node."""
    if step.kind != "pretrain" or step.args[0] != "fit":
        return step.args
    config = parsed(tuple(step.args))
    sha = data_facts(config, facts)[0]
    if not sha:
        return step.args
    path = store.planned_manifest(root, sha)
    if not path.is_file():
        data = build_data(config)  # its listing is cached: planning read it moments ago
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda p: write_manifest(data.manifest, p, data.manifest_sha256))
    return [*step.args, "--data.init_args.manifest_file", str(path), "--data.init_args.manifest_sha256", sha]


def step_identities(steps: list[Step], facts: dict | None = None) -> dict[Path, str]:
    """The identity of every (LightningCLI) pre-training step not finished yet. Builds each distinct pre-training
    set's manifest once (the data must be there: a missing folder is named here, before any job)."""
    facts = {} if facts is None else facts
    identities = {}
    for step in steps:
        if step.kind != "pretrain" or step.args[0] != "fit" or (store.read_record(step.folder) or {}).get("status") == RunStatus.FINISHED:
            continue
        identities[step.folder] = _remembered_identity(step, facts)
    return identities


def _remembered_identity(step: Step, facts: dict) -> str:
    """A step's identity, kept (``listing_cache.remembered``) while its arguments, its config files, its
    data's listings, the package's code and the libraries that resolve a config are unchanged: planning
    a study again parses no config (one LightningCLI parse per run was most of its time)."""
    def computed() -> list:
        for path in (value for flag, value in zip(step.args, step.args[1:]) if flag == "--config"):
            record_file(path)
        config = parsed(tuple(step.args))
        key = data_key(config)
        if key not in facts:
            print(f"reading the pre-training data of {step.description} ...", flush=True)
        return [pretraining_identity(config.as_dict(), data_facts(config, facts)[0])[0], key, *facts[key]]
    identity, key, sha, images, line = remembered("identity", {"args": list(step.args),
                                                               "libraries": _library_versions()}, computed)
    _known(facts, key, sha, images, line, said=False)  # after computed(): known already, nothing said
    return identity


@functools.cache  # once per process: read from the installed packages' metadata
def _library_versions() -> dict[str, str]:
    """What resolves a run's config besides the package: LightningCLI's defaults and class signatures."""
    from importlib.metadata import version

    return {name: version(name) for name in ("lightning", "jsonargparse", "torch", "torchvision")}


def reuse_pretraining(steps: list[Step], identities: dict[Path, str], root: Path,
                      is_active: callable) -> list[Step]:
    """The plan with each pre-training step replaced by an identical run elsewhere in the store
    that is finished or still to finish (``is_active(folder, record)``): its fine-tuning steps
    start from that run instead."""
    moved: dict[Path, Path] = {}
    for step in steps:
        identity = identities.get(step.folder)
        if identity is None:
            continue
        for other in store.find_pretraining(root, identity):
            record = store.read_record(other) or {}
            if other != step.folder and (record.get("status") == RunStatus.FINISHED or is_active(other, record)):
                state = "finished" if record.get("status") == RunStatus.FINISHED else "to finish"
                print(f"{step.description}: identical to {other} ({state}, identity {identity}); using it", flush=True)
                moved[step.folder] = other
                break
    return [with_init(s, moved[s.needs]) if s.needs in moved else s for s in steps if s.folder not in moved]
