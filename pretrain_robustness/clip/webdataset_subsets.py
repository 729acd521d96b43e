"""Image-text webdataset shards (LAION-style tar files) and subsets of controlled size drawn from them
(Ramanujan et al. Appendix D, Figure 20: CLIP pre-trained on 10M, 50M and 100M samples).

A shard is a tar file; a sample is the members sharing a key (webdataset's rule: the member's path up
to the first dot of its file name), here an image (jpg, jpeg, png, webp) and its caption (txt). Shards
as img2dataset writes them are read as they are: ``<key>.jpg``/``.txt``/``.json`` members, and beside each
``NNNNN.tar`` its ``NNNNN.parquet`` and ``NNNNN_stats.json`` (whose ``successes`` count the samples the
shard should hold: a shard that holds fewer was copied short, and is named).

Subsets are nested and reproducible: every sample gets a priority, a hash of (seed, shard file name,
key), and a subset of n samples is the n with the smallest priorities, so the 10M subset lies inside
the 50M one whatever order the shards are listed or read in. A subset's manifest lists (shard, key)
in priority order; its sha256 names the subset exactly, as a pre-training manifest's does.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
from jsonargparse import ArgumentParser

from ..datamodules.dataset_checks import DatasetCheck, report_missing
from ..datamodules.data_root import dataset_path

IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp"}
SUBSET_RECORD = "subset.json"  # what a subset is (count, seed, sha256, --train-data); written last


def sample_key(member: str) -> tuple[str, str] | None:
    """(key, extension) of a tar member by webdataset's own rule (``base_plus_ext``: the path up
    to the first dot of the file name), or None for a name without an extension."""
    from webdataset.tariterators import base_plus_ext

    key, extension = base_plus_ext(member)
    return (key, extension.lower()) if key is not None else None


def subset_record_path(folder: str | Path) -> Path:
    return dataset_path(folder) / SUBSET_RECORD


def read_subset(folder: Path) -> dict:
    """A subset's ``subset.json``; a folder without one is named with the command that writes it."""
    path = subset_record_path(folder)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: write the subset with `pretrain-robustness webdataset-subsets`")
    return json.loads(path.read_text())


def list_samples(shards: list[Path]) -> pd.DataFrame:
    """One row per complete sample (an image and a caption) of the shards: ``shard`` (file name),
    ``key`` and ``position`` (its order in the shard)."""
    rows = []
    for shard in shards:
        extensions: dict[str, set[str]] = {}
        with tarfile.open(shard) as tar:
            for member in tar:
                parsed = sample_key(member.name) if member.isfile() else None
                if parsed:
                    extensions.setdefault(parsed[0], set()).add(parsed[1])
        rows += [(Path(shard).name, key, i) for i, (key, exts) in enumerate(extensions.items())
                 if exts & IMAGE_EXTENSIONS and "txt" in exts]
    if not rows:
        raise FileNotFoundError(f"no image-text samples (<key>.jpg + <key>.txt) in {len(shards)} shard(s)")
    return pd.DataFrame(rows, columns=["shard", "key", "position"])


def short_shards(shards: list[Path], samples: pd.DataFrame) -> list[str]:
    """Shards holding fewer samples than img2dataset's ``<shard>_stats.json`` says it wrote into them."""
    found = samples.groupby("shard").size()
    short = []
    for shard in shards:
        stats = Path(shard).with_name(f"{Path(shard).stem}_stats.json")
        wrote = json.loads(stats.read_text()).get("successes") if stats.is_file() else None
        if wrote is not None and found.get(Path(shard).name, 0) < wrote:
            short.append(f"{shard} holds {found.get(Path(shard).name, 0):,} samples, {stats.name} says {wrote:,}")
    return short


def priorities(samples: pd.DataFrame, seed: int) -> np.ndarray:
    """Each sample's draw priority: the first 8 bytes of blake2b(seed, shard, key), as uint64."""
    return np.array([int.from_bytes(hashlib.blake2b(f"{seed}\t{s}\t{k}".encode(), digest_size=8).digest(), "big")
                     for s, k in zip(samples["shard"], samples["key"])], dtype=np.uint64)


def nested_subsets(samples: pd.DataFrame, sizes: list[int], seed: int = 0) -> dict[int, pd.DataFrame]:
    """Per size, the ``size`` samples of smallest priority, in priority order (so each subset is the
    start of every larger one)."""
    if max(sizes) > len(samples):
        raise ValueError(f"a subset of {max(sizes):,} samples was asked for, but the shards hold {len(samples):,}")
    if min(sizes) < 1:
        raise ValueError(f"subset sizes must be positive, got {sizes}")
    order = np.argsort(priorities(samples, seed), kind="stable")
    ranked = samples.iloc[order[:max(sizes)]].reset_index(drop=True)
    return {size: ranked.iloc[:size] for size in sorted(sizes)}


def subset_sha256(subset: pd.DataFrame) -> str:
    """The subset's identity: sha256 of its "shard<TAB>key" lines in priority order."""
    lines = "".join(f"{s}\t{k}\n" for s, k in zip(subset["shard"], subset["key"]))
    return hashlib.sha256(lines.encode()).hexdigest()


def write_subset(subset: pd.DataFrame, shards: list[Path], output: Path, samples_per_shard: int = 10_000,
                 seed: int = 0) -> dict:
    """The subset as new shards ``output/000000.tar`` ... (its samples in source order, each member's
    bytes as they were, written by webdataset's ``ShardWriter``), with ``manifest.csv`` (shard, key in
    priority order) and ``subset.json`` (count, seed, sha256, the shards to give open_clip_train).
    Written into a temporary folder and renamed when complete: a killed write leaves no subset that
    looks finished."""
    from webdataset import ShardWriter

    output = Path(output)
    if subset_record_path(output).is_file():
        record = read_subset(output)
        if record["sha256"] != subset_sha256(subset):
            raise ValueError(f"{output} holds another subset (sha256 {record['sha256'][:12]}); choose another output")
        return record
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # what a killed write left
    partial.mkdir(parents=True)
    wanted = subset.groupby("shard")["key"].apply(set).to_dict()
    by_name = {Path(s).name: Path(s) for s in shards}
    with ShardWriter(str(partial / "%06d.tar"), maxcount=samples_per_shard, verbose=0) as sink:
        for name in sorted(wanted):
            for key, members in _samples_in(by_name[name], wanted[name]):
                sink.write({"__key__": key, **members})
        index = sink.shard - 1  # ShardWriter counts the shards it opened
    subset.to_csv(partial / "manifest.csv", index=False, columns=["shard", "key"])
    record = {"samples": len(subset), "seed": seed, "sha256": subset_sha256(subset), "shards": index + 1,
              "train_data": str(output / f"{{000000..{index:06d}}}.tar"), "source_shards": sorted(by_name)}
    subset_record_path(partial).write_text(json.dumps(record, indent=2))
    partial.rename(output)
    return record


def _samples_in(shard: Path, keys: set[str]):
    """(key, {extension as written: bytes}) of the wanted samples of a shard, in its order; the
    members of a sample lie together in a webdataset shard."""
    current, members = None, {}
    with tarfile.open(shard) as tar:
        for member in tar:
            parsed = sample_key(member.name) if member.isfile() else None
            if not parsed or parsed[0] not in keys:
                continue
            if parsed[0] != current and members:
                yield current, members
                members = {}
            current = parsed[0]
            members[member.name[len(current) + 1:]] = tar.extractfile(member).read()
    if members:
        yield current, members


def webdataset_subsets_command(args: list[str]) -> list[Path]:
    """``webdataset-subsets --shards 'data/laion/*.tar' --sizes [10000000, 50000000, 100000000]
    --output data/laion-subsets``: nested subsets of image-text shards (Fig. 20), each written as
    shards with its manifest, ready for open_clip_train (``subset.json`` names its --train-data)."""
    from glob import glob

    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness webdataset-subsets", description=webdataset_subsets_command.__doc__)
    parser.add_argument("--shards", required=True, help="glob of the source tar shards")
    parser.add_argument("--sizes", type=list[int], required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    parser.add_argument("--samples_per_shard", type=int, default=10_000)
    cfg = parser.parse_args(args)
    shards = [Path(p) for p in sorted(glob(cfg.shards)) if p.endswith(".tar")]  # not img2dataset's .parquet, _stats.json
    if not shards:
        raise FileNotFoundError(f"no .tar shards match {cfg.shards}")
    samples = list_samples(shards)
    print(f"{len(samples):,} image-text samples in {len(shards)} shards", flush=True)
    for line in short_shards(shards, samples):
        print(f"warning: {line} (copied short? its missing samples are not drawn)", flush=True)
    written = []
    for size, subset in nested_subsets(samples, cfg.sizes, cfg.seed).items():
        record = write_subset(subset, shards, Path(cfg.output) / f"{size}", cfg.samples_per_shard, cfg.seed)
        print(f"{size:,} samples: {record['shards']} shards, sha256 {record['sha256'][:12]}, "
              f"--train-data '{record['train_data']}'", flush=True)
        written.append(Path(cfg.output) / f"{size}")
    return written


def check_webdataset_subset(folder: str | Path) -> DatasetCheck:
    """A CLIP condition's image-text subset (``webdataset-subsets``): its subset.json, and the shards it
    names all there. Its images lie inside the shards; open_clip's loader reads them."""
    folder = dataset_path(folder)
    check = DatasetCheck(f"web image-text subset {folder.name}", f"{folder} (webdataset shards, {subset_record_path(folder).name})")
    try:
        record = read_subset(folder)
    except (OSError, ValueError) as error:
        check.problems.append(str(error))
        return check
    check.found = record["samples"]
    shards = [folder / f"{i:06d}.tar" for i in range(record["shards"])]
    report_missing(check, [str(s) for s in shards if not s.is_file()], str(subset_record_path(folder)), "shards")
    return check
