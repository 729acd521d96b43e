"""A source's table is listed once and reused while what it was read from is unchanged (listing_cache.py)."""

from __future__ import annotations

import json
import shutil
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from pretrain_robustness.datamodules.sources import (DomainNet, ImageNetTrain, ImageNetV2, INaturalist2017,
                                                     INaturalist2021)
from pretrain_robustness.datamodules.sources import listing_cache
from pretrain_robustness.datamodules.sources.listing_cache import cached_table

from .fake_sources import _images, write_domainnet, write_inaturalist_2017, write_inaturalist_2021


SETTLED = 0.2  # a file system's timestamp granule, for these tests (RACY_SECONDS)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder, and the folders listed and files read (os.scandir, Path.read_text)."""
    monkeypatch.setenv("PRETRAIN_ROBUSTNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(listing_cache, "RACY_SECONDS", SETTLED)
    monkeypatch.setattr(listing_cache, "_in_memory", {})
    listed = []
    scandir, read_text = os.scandir, Path.read_text
    monkeypatch.setattr(os, "scandir", lambda path: listed.append(path) or scandir(path))
    monkeypatch.setattr(Path, "read_text", lambda path, *a, **k: listed.append(path) or read_text(path, *a, **k))
    return listed


def _aged(root: Path) -> Path:
    """``root`` as data copied in earlier: its last change older than a timestamp granule."""
    time.sleep(SETTLED * 1.5)
    return root


def _new_process(monkeypatch) -> None:
    monkeypatch.setattr(listing_cache, "_in_memory", {})


def _imagenet(root: Path) -> Path:
    for wnid in ("n01440764", "n01443537"):
        _images(root / "train" / wnid, 3)
    return root


SOURCES = {  # what each layout's table reads: a miniature of it, and the source
    "imagenet": lambda root: ImageNetTrain(str(_imagenet(root))),
    "imagenet_v2": lambda root: ImageNetV2(str(_images(root / "imagenetv2-top-images-format-val" / "7", 2)[0].parents[1]),
                                           "top-images"),
    "inat2017": lambda root: INaturalist2017(str(write_inaturalist_2017(root, shipped=True)),
                                             annotations=str(root / "train2017.json")),
    "inat2021": lambda root: INaturalist2021(str(write_inaturalist_2021(root, "2021_train_mini", shipped=True)),
                                             "2021_train_mini"),
    "domainnet": lambda root: DomainNet(str(write_domainnet(root)), ["clipart", "sketch"], "train"),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_listing_is_read_back_equal_without_listing_again(name, tmp_path, cache, monkeypatch):
    source = SOURCES[name](tmp_path / "data")
    _aged(tmp_path / "data")
    fresh = cached_table(source)
    assert cache, "the first reading lists"
    stored = json.loads(next((tmp_path / "cache" / "listings").glob("*.json")).read_text())
    assert stored["rows"] == len(fresh) and stored["depends_on"]
    _new_process(monkeypatch)
    cache.clear()
    again = cached_table(source)
    assert [p for p in cache if "cache" not in Path(p).parts] == []  # nothing listed or read: from the cache
    pd.testing.assert_frame_equal(again, fresh)  # dtypes included (ImageNet-V2's integer labels)
    pd.testing.assert_frame_equal(again, source.table())


def test_what_changes_a_listing_is_seen(tmp_path, cache, monkeypatch):
    """An image added, a class folder removed, an annotation file rewritten, a layout beside the
    detected one: each gives the table as read afresh."""
    root = write_inaturalist_2021(tmp_path / "inat", "2021_train_mini", per_class=3, shipped=True)
    source = INaturalist2021(str(root), "2021_train_mini", annotations=None)
    _aged(root)
    assert len(cached_table(source)) == 9
    first = sorted((root / "train_mini").iterdir())[0]
    _images(first, 4, stem="new")  # four more images in one species folder
    assert len(cached_table(source)) == 13
    _new_process(monkeypatch)
    assert len(cached_table(source)) == 13  # the disk entry was not reused either
    for image in sorted((root / "train_mini").iterdir())[-1].iterdir():
        image.unlink()
    sorted((root / "train_mini").iterdir())[-1].rmdir()
    assert sorted(cached_table(source)["class_name"].unique()) == ["Apis mellifera", "Turdus migratorius"]

    annotated = INaturalist2021(str(root), "2021_train_mini")  # train_mini.json still lists the removed species
    with pytest.raises(FileNotFoundError, match="listed in .*train_mini.json are not on disk"):
        cached_table(annotated)
    (root / "train_mini.json").unlink()  # the root folder changes: the auto annotation file is gone
    assert len(cached_table(annotated)) == 10

    write_inaturalist_2021(tmp_path / "other", "2021_train_mini", per_class=1)  # torchvision's 2021_train_mini/
    _aged(tmp_path / "other")
    os.rename(root / "train_mini", tmp_path / "moved")
    os.rename(tmp_path / "other" / "2021_train_mini", root / "2021_train_mini")
    assert len(cached_table(annotated)) == 3  # the other layout, detected again


def test_data_written_moments_ago_is_not_cached(tmp_path, cache, monkeypatch):
    """Racily clean (as git says): a folder changed within the file system's timestamp granule of the
    listing could change again unseen, so that listing is not stored."""
    source = ImageNetTrain(str(_imagenet(tmp_path / "data")))
    cached_table(source)
    assert not (tmp_path / "cache" / "listings").exists()
    _aged(tmp_path / "data")
    cached_table(source)
    assert len(list((tmp_path / "cache" / "listings").glob("*.json"))) == 1


def test_an_image_added_and_the_old_times_set_back_still_shows(tmp_path, cache, monkeypatch):
    """rsync -t / cp -p / touch -d set a folder's modification time back; its status-change time moves."""
    source = ImageNetTrain(str(_aged(_imagenet(tmp_path / "data"))))
    assert len(cached_table(source)) == 6
    folder = tmp_path / "data" / "train" / "n01440764"
    before = folder.stat()
    _images(folder, 4, stem="more")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert folder.stat().st_mtime_ns == before.st_mtime_ns
    _new_process(monkeypatch)
    assert len(cached_table(source)) == 10


def test_a_damaged_or_unwritable_cache_only_costs_a_listing(tmp_path, cache, monkeypatch, capsys):
    source = ImageNetTrain(str(_aged(_imagenet(tmp_path / "data"))))
    fresh = cached_table(source)
    table_file = next((tmp_path / "cache" / "listings").glob("*.csv"))
    table_file.write_text(table_file.read_text()[:40])  # cut short (a full disk, another version's file)
    _new_process(monkeypatch)
    pd.testing.assert_frame_equal(cached_table(source), fresh)
    monkeypatch.setenv("PRETRAIN_ROBUSTNESS_CACHE", "/proc/no-cache-here")
    _new_process(monkeypatch)
    pd.testing.assert_frame_equal(cached_table(source), fresh)
    assert "not cached" in capsys.readouterr().out


def test_the_same_relative_root_from_another_folder_is_another_listing(tmp_path, cache, monkeypatch):
    for name, wnids in (("a", ["n01440764"]), ("b", ["n01443537", "n01484850"])):
        for wnid in wnids:
            _images(tmp_path / name / "data" / "train" / wnid, 2)
        _aged(tmp_path / name)
    counts = []
    for name in ("a", "b"):
        monkeypatch.chdir(tmp_path / name)
        counts.append(len(cached_table(ImageNetTrain("data"))))
    assert counts == [2, 4]


def test_planning_again_builds_no_manifest_until_a_folder_changes(tiny_data, tmp_path, cache, monkeypatch, capsys):
    """A study's dry run keeps each pre-training set's manifest hash and size (reuse.data_facts): the
    next planning prints them as read before; an image added gives a new manifest, read afresh, and so
    do images rewritten in place (no folder's time changes: the kept manifest's file sizes show it)."""
    from pretrain_robustness.cli import main

    work = tmp_path / "work"
    (work / "data" / "demo").mkdir(parents=True)
    (work / "configs").symlink_to(Path(__file__).parents[1] / "configs")
    (work / "data" / "demo" / "iwildcam_v2.0").symlink_to(tiny_data / "iwildcam_v2.0")
    shutil.copytree(tiny_data / "imagenet", work / "data" / "demo" / "imagenet")
    _aged(work / "data" / "demo" / "imagenet")
    monkeypatch.chdir(work)
    plans, tables_read = [], []
    read_entry = listing_cache._read_entry
    monkeypatch.setattr(listing_cache, "_read_entry", lambda key: tables_read.append(key) or read_entry(key))
    for _ in range(4):
        _new_process(monkeypatch)
        cache.clear(), tables_read.clear()
        main(["study", "--config", "configs/studies/demo.yaml", "--dry_run", "true", "--root", str(work / "runs")])
        plans.append([line for line in capsys.readouterr().out.splitlines() if line.startswith("pre-training distribution")])
        if len(plans) == 2:  # planned again: check-data's count and sample, and the manifest's hash, are remembered
            assert tables_read == [] and not [p for p in cache if "n01440764" in str(p)]
        _images(work / "data" / "demo" / "imagenet" / "train" / "n01440764", 1, stem="added") if len(plans) == 2 else None
        if len(plans) == 3:  # every image of a class re-encoded under its name: its folder's times stay
            for image in (work / "data" / "demo" / "imagenet" / "train" / "n01440764").iterdir():
                image.write_bytes(image.read_bytes() + b"\0")
        _aged(work / "data" / "demo" / "imagenet")
    assert [len(p) for p in plans] == [1, 1, 1, 1]
    sha = [plan[0].split("sha256 ")[1][:12] for plan in plans]
    assert "as read before" not in plans[0][0] and plans[1][0] == plans[0][0].replace(")", "; as read before, its folders unchanged)")
    assert "as read before" not in plans[2][0] and sha[2] != sha[0]
    assert "as read before" not in plans[3][0] and sha[3] not in sha[:3]
