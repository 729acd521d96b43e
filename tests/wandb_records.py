"""The records of an offline W&B run (``run-<id>.wandb``), decoded with W&B's own protobuf schema
(``wandb.proto.wandb_internal_pb2.Record``): what ``wandb sync`` would upload, read without a server.

The file is W&B's header (``:W&B``, magic 0xBEE1, version 0) and then LevelDB's log format, as W&B's
writer (wandb-core's ``leveldb`` store) frames it: 32 KiB blocks of chunks, each a 7-byte header
(masked CRC-32C, little-endian length, type: 1 full, 2 first, 3 middle, 4 last), a block's last
bytes zero-padded when fewer than 7 remain. The CRC is not checked here.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

BLOCK, CHUNK_HEADER, FILE_HEADER = 32768, 7, b":W&B\xe1\xbe\x00"


def payloads(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    assert data.startswith(FILE_HEADER), f"{path} is not a W&B run file"
    records, partial, offset = [], b"", len(FILE_HEADER)
    while offset + CHUNK_HEADER <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < CHUNK_HEADER:
            offset += left_in_block
            continue
        _, length, kind = struct.unpack_from("<IHB", data, offset)
        chunk = data[offset + CHUNK_HEADER:offset + CHUNK_HEADER + length]
        offset += CHUNK_HEADER + length
        if kind == 0 and length == 0:  # zeroed tail of the file
            break
        partial = chunk if kind in (1, 2) else partial + chunk
        if kind in (1, 4):
            records.append(partial)
    return records


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2

    decoded = []
    for payload in payloads(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        decoded.append(record)
    return decoded


def _item_key(item) -> str:
    return item.key or "/".join(item.nested_key)


def _assign(values: dict, item) -> None:
    """An item's value at its key, or under its nested key (a logged dict, e.g. a Table's
    ``{"_type": "table-file", "path": ...}``, arrives as one item per leaf)."""
    if item.key:
        values[item.key] = json.loads(item.value_json)
        return
    *parents, leaf = item.nested_key
    for parent in parents:
        values = values.setdefault(parent, {})
    values[leaf] = json.loads(item.value_json)


def history(path: Path) -> list[dict]:
    """One dict per ``wandb.log`` row (``_step`` included), values as logged."""
    rows = []
    for r in records(path):
        if r.WhichOneof("record_type") == "history":
            row: dict = {}
            for item in r.history.item:
                _assign(row, item)
            rows.append(row)
    return rows


def config(path: Path) -> dict:
    """The run's config as its config records left it (each update applied in order)."""
    values: dict = {}
    for r in records(path):
        kind = r.WhichOneof("record_type")
        if kind == "run":  # the config given to wandb.init arrives with the run record
            for item in r.run.config.update:
                values[_item_key(item)] = json.loads(item.value_json)
        if kind == "config":
            for item in r.config.update:
                values[_item_key(item)] = json.loads(item.value_json)
            for item in r.config.remove:
                values.pop(_item_key(item), None)
    return values


def run_file(run_dir: Path, first: bool = False) -> Path:
    """The newest offline run file under a run folder's ``wandb/`` (``first``: the oldest, the training's
    own; later ones are resumed attempts and the report's write-back)."""
    files = sorted(Path(run_dir).glob("wandb/offline-run-*/run-*.wandb"))
    assert files, f"no offline W&B run under {run_dir}"
    return files[0] if first else files[-1]


def finished_run_file(run_dir: Path, timeout: float = 60, first: bool = False) -> Path:
    """The run file once W&B's service has written its exit record: ``wandb.finish()`` can return
    before the service (wandb-core, another process) has flushed the offline file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            path = run_file(run_dir, first)
            if any(r.WhichOneof("record_type") == "exit" for r in records(path)):
                return path
        except AssertionError:  # no run file yet
            pass
        assert time.monotonic() < deadline, f"no finished W&B run file under {run_dir} after {timeout} s"
        time.sleep(0.2)


def summary(path: Path) -> dict:
    """The run's summary as its summary records left it (each update applied in order: what the run's
    page shows beside its charts)."""
    values: dict = {}
    for r in records(path):
        if r.WhichOneof("record_type") == "summary":
            for item in r.summary.update:
                _assign(values, item)
            for item in r.summary.remove:
                values.pop(_item_key(item), None)
    return values


def run_settings(path: Path):
    """The run record (id, group, job type, name, tags) as the run's first ``run`` record states it."""
    return next(r.run for r in records(path) if r.WhichOneof("record_type") == "run")


def media(path: Path, logged: dict) -> dict:
    """A logged Table's or Plotly panel's JSON file (``{"_type": "table-file", "path": ...}``), as W&B
    keeps it beside the run file (``files/media/...``) until it uploads it."""
    return json.loads((Path(path).parent / "files" / logged["path"]).read_text())


def artifacts(path: Path) -> list:
    """The artifacts the run logged (name, type, manifest of files or references)."""
    return [r.artifact for r in records(path) if r.WhichOneof("record_type") == "artifact"]
