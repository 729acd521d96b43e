"""Image-text webdataset shards (LAION-style tar files) and subsets of controlled size drawn from them
(Ramanujan et al. Appendix D, Figure 20: CLIP pre-trained on 10M, 50M and 100M samples).

A shard is a tar file; a sample is the members sharing a key (webdataset's rule: the member's path up
to the first dot of its file name), here an image (jpg, jpeg, png, webp) and its caption (txt).

Subsets are nested and reproducible: every sample gets a priority, a hash of (seed, shard file name,
key), and a subset of n samples is the n with the smallest priorities, so the 10M subset lies inside
the 50M one whatever order the shards are listed or read in. A subset's manifest lists (shard, key)
in priority order; its sha256 names the subset exactly, as a pre-training manifest's does.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp"}
_KEY = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")  # webdataset's base_plus_ext


def sample_key(member: str) -> tuple[str, str] | None:
    """(key, extension) of a tar member, or None for a name without an extension."""
    match = _KEY.match(member)
    return (match.group(1), match.group(2).lower()) if match else None


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
    """The subset as new shards ``output/000000.tar`` ... (its samples in source order, every member
    copied byte for byte), with ``manifest.csv`` (shard, key in priority order) and ``subset.json``
    (count, seed, sha256, the shards to give open_clip_train). Written into a temporary folder and
    renamed when complete: a killed write leaves no subset that looks finished."""
    import json

    output = Path(output)
    done = output / "subset.json"
    if done.is_file():
        record = json.loads(done.read_text())
        if record["sha256"] != subset_sha256(subset):
            raise ValueError(f"{output} holds another subset (sha256 {record['sha256'][:12]}); choose another output")
        return record
    partial = output.with_name(output.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    wanted = subset.groupby("shard")["key"].apply(set).to_dict()
    by_name = {Path(s).name: Path(s) for s in shards}
    writer, written, index = None, 0, -1
    for name in sorted(wanted):
        with tarfile.open(by_name[name]) as tar:
            current = None
            for member in tar:
                parsed = sample_key(member.name) if member.isfile() else None
                if not parsed or parsed[0] not in wanted[name]:
                    continue
                if parsed[0] != current:  # a new sample: maybe a new output shard
                    current = parsed[0]
                    if written % samples_per_shard == 0:
                        if writer:
                            writer.close()
                        index += 1
                        writer = tarfile.open(partial / f"{index:06d}.tar", "w")
                    written += 1
                writer.addfile(member, tar.extractfile(member))
    if writer:
        writer.close()
    subset.to_csv(partial / "manifest.csv", index=False, columns=["shard", "key"])
    record = {"samples": len(subset), "seed": seed, "sha256": subset_sha256(subset), "shards": index + 1,
              "train_data": str(output / f"{{000000..{index:06d}}}.tar"), "source_shards": sorted(by_name)}
    (partial / "subset.json").write_text(json.dumps(record, indent=2))
    partial.rename(output)
    return record
