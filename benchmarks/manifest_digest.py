"""What the manifest's file facts cost (datamodules/manifest.py): each image's size (one ``stat``)
and, on request, its sha256 (every byte read), over files of ImageNet's mean size (ILSVRC-2012's
train tar: 138 GB / 1,281,167 images = ~108 KB), read from the page cache and, where the benchmark may
drop it (root on Linux), from disk. Full ImageNet does not fit this machine's disk: the rate per file
and per byte is measured on ``--files`` files and projected to 1,281,167.

    .venv/bin/python benchmarks/manifest_digest.py [--files 20000] [--folder /tmp/manifest-digest]

Writes benchmarks/results/manifest_digest.json (or in $BENCHMARK_OUTPUT).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
from common import write_results

from pretrain_robustness.datamodules.manifest import with_file_facts

IMAGENET_FILES, MEAN_BYTES = 1_281_167, 108_000


def write_files(folder: Path, count: int) -> list[str]:
    """``count`` files of the mean size with distinct bytes (a digest cannot shortcut equal files)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [str(folder / f"{i}.JPEG") for i in range(count)]
    for path in paths:
        if not os.path.exists(path):
            Path(path).write_bytes(os.urandom(MEAN_BYTES))
    return paths


def _dropped_page_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def timed(table: pd.DataFrame, content_digest: bool, cold: bool) -> float | None:
    if cold and not _dropped_page_cache():
        return None
    start = time.perf_counter()
    with_file_facts(table, content_digest)
    return time.perf_counter() - start


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--folder", default="/tmp/manifest-digest")
    args = parser.parse_args()
    table = pd.DataFrame({"path": write_files(Path(args.folder), args.files)})
    results = {"files": args.files, "bytes_per_file": MEAN_BYTES, "cpu_cores": os.cpu_count()}
    for name, digest in (("sizes", False), ("content_digest", True)):
        timed(table, digest, cold=False)  # warm the page cache
        for state in ("warm", "cold"):
            seconds = timed(table, digest, cold=state == "cold")
            results[f"{name}_{state}"] = None if seconds is None else {
                "seconds": round(seconds, 2), "files_per_second": round(args.files / seconds),
                "projected_full_imagenet_seconds": round(seconds * IMAGENET_FILES / args.files, 1)}
    print(results)
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
