"""What a manifest's hash covers (datamodules/manifest.py): the images' sizes always, their bytes on
request, and the same data under any spelling of its root."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pretrain_robustness.datamodules import PretrainDataModule
from pretrain_robustness.datamodules.interventions import ClassBalancedSubset
from pretrain_robustness.datamodules.manifest import FILE_SHA256, write_manifest
from pretrain_robustness.datamodules.sources import ImageNetTrain

ARGS = dict(val_per_class=2, image_size=32, batch_size=8, num_workers=0)


@pytest.fixture
def imagenet(tiny_data, tmp_path, monkeypatch) -> Path:
    """A copy of the miniature ImageNet this test may change; the listing cache in the test's folder."""
    monkeypatch.setenv("PRETRAIN_ROBUSTNESS_CACHE", str(tmp_path / "cache"))
    return Path(shutil.copytree(tiny_data / "imagenet", tmp_path / "imagenet"))


def _data(root, **extra) -> PretrainDataModule:
    return PretrainDataModule(ImageNetTrain(str(root)), [ClassBalancedSubset(128, seed=0)], **ARGS, **extra)


def _swap_classes(root: Path, first: str, second: str) -> int:
    """The bytes of the two classes' images exchanged, every file name kept (as a mislabelled copy would)."""
    a, b = sorted((root / "train" / first).iterdir()), sorted((root / "train" / second).iterdir())
    pairs = [(x, y) for x, y in zip(a, b) if x.stat().st_size != y.stat().st_size]
    for x, y in pairs:
        x_bytes, y_bytes = x.read_bytes(), y.read_bytes()
        x.write_bytes(y_bytes), y.write_bytes(x_bytes)
    return len(pairs)


def test_images_swapped_between_classes_give_another_hash(imagenet):
    before = _data(imagenet).manifest_sha256
    wnids = sorted(p.name for p in (imagenet / "train").iterdir())
    assert _swap_classes(imagenet, wnids[0], wnids[1]) > 0
    assert _data(imagenet).manifest_sha256 != before


def test_the_content_digest_sees_what_sizes_do_not(imagenet):
    """One image's bytes changed, its size kept: the sizes hash the same, the content digest does not."""
    sized, digested = _data(imagenet), _data(imagenet, content_digest=True)
    image = Path(sized.manifest["path"][0])
    assert digested.manifest[FILE_SHA256][0] == __import__("hashlib").sha256(image.read_bytes()).hexdigest()
    data = bytearray(image.read_bytes())
    data[-3] ^= 0xFF  # inside the entropy-coded data, before the EOI marker
    image.write_bytes(bytes(data))
    assert _data(imagenet).manifest_sha256 == sized.manifest_sha256
    assert _data(imagenet, content_digest=True).manifest_sha256 != digested.manifest_sha256


def test_the_same_data_under_a_relative_or_absolute_root_has_one_hash(imagenet, monkeypatch):
    monkeypatch.chdir(imagenet.parent)
    assert not os.path.isabs("imagenet")
    assert _data("imagenet").manifest_sha256 == _data(imagenet).manifest_sha256 == _data(f"{imagenet}/").manifest_sha256


def test_a_planned_manifest_whose_images_changed_size_is_refused(imagenet, tmp_path):
    """The job reads the manifest its submission wrote; an image replaced since (another size) is named."""
    built = _data(imagenet)
    planned = tmp_path / "planned.csv"
    write_manifest(built.manifest, planned, built.manifest_sha256)
    _data(imagenet, manifest_file=str(planned), manifest_sha256=built.manifest_sha256)  # unchanged: read
    image = Path(built.manifest["path"][5])
    image.write_bytes(image.read_bytes() + b"\0")
    with pytest.raises(ValueError, match=f"1 image.* changed size since it was planned .e.g. {image}"):
        _data(imagenet, manifest_file=str(planned), manifest_sha256=built.manifest_sha256)
