"""``check-data``: every dataset a study reads, found or not, counted against its publishers' count,
its listed images on disk and a sample decoded, before any run (study/data_check.py)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pretrain_robustness.cli import entry, main
from pretrain_robustness.clip.webdataset_subsets import check_webdataset_subset
from pretrain_robustness.datamodules.iwildcam import check_iwildcam
from pretrain_robustness.datamodules.dataset_checks import (check_source,
                                                            decode_sample)
from pretrain_robustness.datamodules.sources import DomainNet, INaturalist2021
from pretrain_robustness.study.data_check import DataNotReady

from .fake_sources import write_domainnet, write_inaturalist_2021

CONFIGS = Path(__file__).parents[1] / "configs"


def _workdir(tmp_path: Path, data: Path, monkeypatch) -> Path:
    """The demo study as committed, its data/demo the miniature ``data`` (iWildCam + ImageNet layouts)."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "configs").symlink_to(CONFIGS)
    (work / "data" / "demo").symlink_to(data)
    monkeypatch.chdir(work)
    return work


def test_the_demo_study_is_ready_and_says_how_far_from_the_published_counts(tiny_data, tmp_path, monkeypatch, capsys):
    _workdir(tmp_path, tiny_data, monkeypatch)
    main(["check-data", "--config", "configs/studies/demo.yaml"])
    out = " ".join(capsys.readouterr().out.split())  # the table's columns, one space apart
    train_images = sum(1 for _ in (tiny_data / "imagenet" / "train").rglob("*.JPEG"))
    assert f"ImageNet-1k train {train_images:,} 1,281,167 ready ({train_images:,} images, " \
           f"{train_images - 1_281_167:+,} against the published 1,281,167)" in out
    metadata = pd.read_csv(tiny_data / "iwildcam_v2.0" / "metadata.csv")
    train = (metadata["split"] == "train").sum()
    assert f"iWildCam-WILDS v2.0 {len(metadata):,} 203,029 ready (split sizes differ from WILDS': " \
           f"train {train:,} ({train - 129_809:+,})" in out
    assert "at data/demo/imagenet/train (ILSVRC-2012: <wnid>/<image>.JPEG); " in out
    assert f"{min(1000, train_images):,} images decoded" in out and "study 'demo': ready" in out


def _damaged_copy(tiny_data: Path, tmp_path: Path) -> tuple[Path, str, Path]:
    """A copy with one iWildCam image gone (metadata.csv still lists it) and one ImageNet JPEG cut short."""
    data = tmp_path / "damaged"
    shutil.copytree(tiny_data / "iwildcam_v2.0", data / "iwildcam_v2.0")
    shutil.copytree(tiny_data / "imagenet", data / "imagenet")
    gone = pd.read_csv(data / "iwildcam_v2.0" / "metadata.csv")["filename"].iloc[5]
    (data / "iwildcam_v2.0" / "train" / gone).unlink()
    broken = sorted((data / "imagenet" / "train").rglob("*.JPEG"))[7]
    broken.write_bytes(broken.read_bytes()[:200])
    return data, gone, broken


def test_missing_and_unreadable_images_make_the_study_not_ready(tiny_data, tmp_path, monkeypatch, capsys):
    data, gone, broken = _damaged_copy(tiny_data, tmp_path)
    _workdir(tmp_path, data, monkeypatch)
    assert entry(["check-data", "--config", "configs/studies/demo.yaml"]) == 1
    captured = capsys.readouterr()
    assert f"not ready: 1 images listed in metadata.csv are not on disk, e.g. {gone}" in captured.out
    named = f"data/demo/imagenet/train/{broken.parent.name}/{broken.name}"  # as the study's config names the root
    assert f"not ready: 1 of 256 images decoded cannot be read, e.g. cannot read image {named}: " in captured.out
    assert "study 'demo': not ready: iWildCam-WILDS v2.0, ImageNet-1k train" in captured.out
    assert "\nerror: study 'demo' is not ready to run, 2 of 2 datasets are not" in captured.err


def test_a_study_whose_data_is_not_ready_starts_no_run(tiny_data, tmp_path, monkeypatch, capsys):
    data, _, _ = _damaged_copy(tiny_data, tmp_path)
    work = _workdir(tmp_path, data, monkeypatch)
    args = ["study", "--config", "configs/studies/demo.yaml", "--demo_data", "null", "--root", str(work / "runs")]
    main([*args, "--dry_run", "true"])  # the dry run's table says so (once), and it goes on
    out = capsys.readouterr().out
    assert "study 'demo': not ready: iWildCam-WILDS v2.0, ImageNet-1k train" in out and "runs of study 'demo'" in out
    assert "not ready to run" not in out
    with pytest.raises(DataNotReady, match="2 of 2 datasets are not"):
        main(args)
    assert not (work / "runs").exists()


def test_missing_folders_split_files_and_the_inaturalist_counts(tmp_path):
    missing = check_source(INaturalist2021(str(tmp_path / "nowhere"), "2021_train_mini"))
    assert not missing.ready and "train_mini/ (as shipped" in missing.verdict() and missing.where == ""
    inat = check_source(INaturalist2021(str(write_inaturalist_2021(tmp_path / "inat", "2021_train_mini", shipped=True)),
                                        "2021_train_mini"))
    assert (inat.name, inat.found, inat.published, inat.ready) == ("iNaturalist 2021_train_mini", 9, 500_000, True)
    assert inat.where.endswith("train_mini (as shipped: <NNNNN>_<Kingdom>_..._<Genus>_<species>/<image>.jpg); "
                               f"checked against {tmp_path / 'inat' / 'train_mini.json'}")
    root = write_domainnet(tmp_path / "domainnet", ("sketch",), per_class=3)
    listed = (root / "sketch_train.txt").read_text().splitlines()[0].split()[0]
    (root / listed).unlink()
    domainnet = check_source(DomainNet(str(root), ["sketch"], "train"))
    assert (domainnet.found, domainnet.published) == (4, 4)
    assert domainnet.problems == [f"1 images listed in the train split file(s) are not on disk, e.g. {root / listed}"]
    decode_sample(domainnet)
    assert domainnet.decoded == 3 and domainnet.ready is False


def test_iwildcam_without_its_release_file(tmp_path):
    (tmp_path / "iwildcam_v2.0").mkdir()
    check = check_iwildcam(tmp_path)
    assert check.problems == [f"{tmp_path / 'iwildcam_v2.0' / 'RELEASE_v2.0.txt'} not found"]


def test_a_clip_subset_without_all_its_shards(tmp_path):
    folder = tmp_path / "laion-subsets" / "40"
    folder.mkdir(parents=True)
    (folder / "subset.json").write_text('{"samples": 40, "shards": 3, "sha256": "x", "train_data": "y"}')
    for i in range(2):
        (folder / f"{i:06d}.tar").write_bytes(b"")
    check = check_webdataset_subset(folder)
    assert (check.name, check.found) == ("web image-text subset 40", 40)
    assert check.problems == [f"1 shards listed in {folder / 'subset.json'} are not on disk, e.g. "
                              f"{folder / '000002.tar'}"]
    assert "write the subset with `pretrain-robustness webdataset-subsets`" in check_webdataset_subset(tmp_path).verdict()


def test_the_data_table_says_where_only_what_it_found_and_times_only_slow_checks(tmp_path, capsys, monkeypatch):
    """A dry run on a machine without the data: no "checked ... in 0.0 s" lines and no "at (no layout
    found)" rows (the verdict already says where the dataset was looked for)."""
    from pretrain_robustness.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(__import__("pathlib").Path(__file__).parents[1] / "configs")
    main(["study", "--config", "configs/studies/fig03_imagenet_full.yaml", "--root", str(tmp_path / "runs"),
          "--dry_run", "true"])
    out = capsys.readouterr().out
    assert "(no layout found)" not in out and " in 0.0 s" not in out
    lines = out.splitlines()
    train = next(i for i, line in enumerate(lines) if line.startswith("  ImageNet-1k train"))
    assert lines[train + 1].startswith("  ImageNet-1k val"), lines[train:train + 2]  # no location row between
    assert "ImageNet train folder not found: expected data/imagenet/train" in out


def test_a_study_level_data_root_finds_every_dataset_elsewhere(tiny_data, tmp_path, monkeypatch, capsys):
    """The committed demo study, its datasets not under the working directory's data/: found under
    the study's ``data_root`` (or $PRETRAIN_ROBUSTNESS_DATA), said in the table, carried by each
    printed command and handed to each run's process; the pre-training data hashes the same as at data/."""
    from pretrain_robustness.datamodules.data_root import DATA_ROOT_VARIABLE
    from pretrain_robustness.study.executors import start_run

    at_data = _workdir(tmp_path / "at_data", tiny_data, monkeypatch)
    main(["study", "--config", "configs/studies/demo.yaml", "--dry_run", "true", "--commands", "true",
          "--root", str(at_data / "runs")])
    identities = re.findall(r"--run.planned_identity (\w+)", capsys.readouterr().out)
    work, shared = tmp_path / "work", tmp_path / "shared"
    work.mkdir()
    (work / "configs").symlink_to(CONFIGS)
    shared.mkdir()
    (shared / "demo").symlink_to(tiny_data)
    monkeypatch.chdir(work)
    monkeypatch.setenv(DATA_ROOT_VARIABLE, "")  # restored after the test: the study sets it for this process
    main(["check-data", "--config", "configs/studies/demo.yaml", "--data_root", "../shared"])  # made absolute
    out = capsys.readouterr().out
    assert f"data of study 'demo' (data/ is {shared} (${DATA_ROOT_VARIABLE}))" in out and "study 'demo': ready" in out
    assert f"at {shared}/demo/imagenet/train" in " ".join(out.split())
    main(["study", "--config", "configs/studies/demo.yaml", "--dry_run", "true", "--commands", "true"])  # the variable
    fits = [line for line in capsys.readouterr().out.splitlines() if "pretrain-robustness fit" in line]
    assert len(fits) == 6 and all(line.startswith(f"{DATA_ROOT_VARIABLE}={shared} pretrain-robustness fit") for line in fits)
    assert re.findall(r"--run.planned_identity (\w+)", "\n".join(fits)) == identities and len(identities) == 2
    monkeypatch.setenv(DATA_ROOT_VARIABLE, "")
    with pytest.raises(DataNotReady):  # without it, data/ is the working directory's, which has none
        main(["check-data", "--config", "configs/studies/demo.yaml"])
    seen = {}

    class Program:
        def start(self, folder, command):
            seen["root"] = os.environ.get(DATA_ROOT_VARIABLE)

    start_run(tmp_path / "run", Program(), ["fit"], {DATA_ROOT_VARIABLE: str(shared)})  # what a SLURM job calls
    assert seen["root"] == str(shared)
