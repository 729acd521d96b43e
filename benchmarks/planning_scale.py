"""Planning a figure at full size: a full-size ImageNet tree (1,281,167 train files in 1,000 wnid
folders and 50,000 val files, all hard links to one small JPEG: they cost directory entries, not
disk; one source file per class), then the wall time and peak memory of the SLURM dry runs of Figs.
3, 4 and 8 (cold: the first run, with an empty listing cache; again: the second, which reads it) and
of ``manifest`` of full ImageNet, each as its own process. The tree's folders stay in the page cache
between runs: "cold" is the project's first planning, not a cold disk.

    .venv/bin/python benchmarks/planning_scale.py [--tree /tmp/imagenet-full-size] [--studies fig03 fig04 fig08]

Writes benchmarks/results/planning_scale.json (or $BENCHMARK_OUTPUT). The tree is kept for later runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import photo_like_jpegs, write_results

from pretrain_robustness.demo.camera_traps import METADATA_COLUMNS, RELEASE_NOTE, CameraTrapConfig, plan_metadata
from pretrain_robustness.demo.catalog import IWILDCAM_SPECIES
from pretrain_robustness.wordnet.synsets import imagenet1k_wnids

REPO = Path(__file__).parents[1]
TRAIN_IMAGES, VAL_PER_CLASS = 1_281_167, 50
STUDIES = {"fig03": "configs/studies/fig03_imagenet_full.yaml", "fig04": "configs/studies/fig04_quantity_imagenet.yaml",
           "fig08": "configs/studies/fig08_per_class_diversity.yaml"}


def write_tree(root: Path) -> Path:
    """ILSVRC-2012's train and val layouts at full size (once; a finished tree has its marker)."""
    marker = root / ".complete"
    if marker.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    sources = root / "sources"  # one per class: a file system allows some tens of thousands of links per file
    sources.mkdir(exist_ok=True)
    wnids = imagenet1k_wnids()
    originals = photo_like_jpegs(sources, (64, 48), len(wnids))
    base, extra = divmod(TRAIN_IMAGES, len(wnids))
    for index, wnid in enumerate(wnids):
        source = originals[index]
        for split, count in (("train", base + (index < extra)), ("val", VAL_PER_CLASS)):
            folder = root / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                target = folder / f"{wnid}_{i}.JPEG"
                if not target.exists():
                    os.link(source, target)
    marker.touch()
    return root


# iWildCam-WILDS v2.0 at full size: 323 cameras; WILDS' split sizes are matched to within a few percent
FULL_IWILDCAM = CameraTrapConfig(id_locations=243, ood_val_locations=32, ood_test_locations=48,
                                 images_per_id_location=598, images_per_ood_location=722, days=400)


def write_iwildcam_tree(root: Path) -> Path:
    """WILDS' download layout with full-size metadata (~203,000 rows), every image a hard link."""
    folder = root / "iwildcam_v2.0"
    if (folder / ".complete").exists():
        return root
    (folder / "train").mkdir(parents=True, exist_ok=True)
    table = plan_metadata(FULL_IWILDCAM)
    (root / "sources").mkdir(exist_ok=True)
    originals = photo_like_jpegs(root / "sources", (96, 54), 200)
    for i, name in enumerate(table["filename"]):
        target = folder / "train" / name
        if not target.exists():
            os.link(originals[i % len(originals)], target)
    table[METADATA_COLUMNS].to_csv(folder / "metadata.csv")
    pd.DataFrame([(y, cid, name) for y, (cid, name, _) in enumerate(IWILDCAM_SPECIES)],
                 columns=["y", "category_id", "name"]).to_csv(folder / "categories.csv", index=False)
    (folder / "RELEASE_v2.0.txt").write_text(RELEASE_NOTE)
    (folder / ".complete").touch()
    return root


def iwildcam_construction(root: Path) -> dict:
    """WILDS' own IWildCamDataset, then the project's datamodule over it (which reads it), each in a
    process of its own after the imports: the datamodule's cost beyond WILDS' is the figure to read."""
    script = ("import sys, time; from pathlib import Path; {imports}; start = time.perf_counter(); {build}; "
              "print('SECONDS', time.perf_counter() - start)")
    cases = {"wilds_dataset": ("from pretrain_robustness.datamodules.iwildcam import load_wilds_iwildcam",
                               f"load_wilds_iwildcam(Path({str(root)!r}))"),
             "datamodule": ("from pretrain_robustness.datamodules import IWildCamDataModule",
                            f"IWildCamDataModule(root={str(root)!r}, num_workers=0)")}
    seconds = {}
    for name, (imports, build) in cases.items():
        done = subprocess.run([sys.executable, "-c", script.format(imports=imports, build=build)], capture_output=True,
                              text=True, check=True)
        seconds[name] = round(float(done.stdout.split("SECONDS")[-1]), 1)
    rows = len(pd.read_csv(root / "iwildcam_v2.0" / "metadata.csv", usecols=["split"]))
    return {"rows": rows, **seconds, "datamodule_beyond_wilds": round(seconds["datamodule"] - seconds["wilds_dataset"], 1)}


def timed(command: list[str], cwd: Path) -> dict:
    """Wall seconds and the peak resident memory of one command run as its own process."""
    start = time.perf_counter()
    wrapped = [sys.executable, "-c", "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
               "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)", *command]
    done = subprocess.run(wrapped, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = [line for line in done.stdout.splitlines() if line.startswith("PEAK_KB")]
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "peak_memory_gb": round(int(peak[-1].split()[1]) / 1024 ** 2, 2)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="/tmp/imagenet-full-size")
    parser.add_argument("--studies", nargs="*", default=list(STUDIES))
    parser.add_argument("--iwildcam", default="/tmp/iwildcam-full-size")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tree = write_tree(Path(args.tree))
    results: dict = {"train_files": TRAIN_IMAGES, "val_files": VAL_PER_CLASS * 1000,
                     "tree_seconds": round(time.perf_counter() - start, 1)}
    cli = [str(Path(sys.executable).with_name("pretrain-robustness"))]
    with tempfile.TemporaryDirectory() as work:  # configs as committed, data/imagenet the full-size tree
        work = Path(work)
        (work / "configs").symlink_to(REPO / "configs")
        (work / "data").mkdir()
        (work / "data" / "imagenet").symlink_to(tree)
        for name in args.studies:
            os.environ["PRETRAIN_ROBUSTNESS_CACHE"] = str(work / f"cache-{name}")  # cold: nothing cached before
            dry_run = [*cli, "study", "--config", STUDIES[name], "--executor", "slurm", "--dry_run", "true",
                       "--root", str(work / "runs")]
            results[f"{name}_dry_run"] = {"cold": timed(dry_run, work), "again": timed(dry_run, work)}
            print(name, results[f"{name}_dry_run"], flush=True)
        manifest = [*cli, "manifest", "--config", "configs/recipes/pretrain_torchvision.yaml", "--config",
                    "configs/pretrain/imagenet_full.yaml", "--output", str(work / "manifest.csv")]
        os.environ["PRETRAIN_ROBUSTNESS_CACHE"] = str(work / "cache-manifest")
        results["manifest_full_imagenet"] = timed(manifest, work)
        print("manifest", results["manifest_full_imagenet"], flush=True)
    results["iwildcam_full_size"] = iwildcam_construction(write_iwildcam_tree(Path(args.iwildcam)))
    print("iwildcam", results["iwildcam_full_size"], flush=True)
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
