"""The iWildCam datamodule on the WILDS-layout miniature, and its errors on bad input."""

import shutil

import pandas as pd
import pytest

from pretrain_robustness.datamodules import IWildCamDataModule
from pretrain_robustness.datamodules.classification import ImageReadError


def test_splits_and_transforms(tiny_data):
    data = IWildCamDataModule(str(tiny_data), image_size=24, num_workers=0)
    assert data.eval_split_names == ["id_val", "id_test", "ood_val", "ood_test"]
    assert data.class_names[0] == "empty" and data.num_classes == len(data.class_names)
    metadata = pd.read_csv(tiny_data / "iwildcam_v2.0" / "metadata.csv")
    assert len(data.dataset("ood_test")) == (metadata["split"] == "test").sum()  # WILDS "test" is OOD
    image, label, index = data.dataset("train")[3]
    assert image.shape == (3, 24, 24) and index == 3  # grayscale night shots come out RGB
    examples = data.examples("id_test")
    assert list(examples.columns[:2]) == ["filename", "y"] and len(examples) == (metadata["split"] == "id_test").sum()


def test_missing_dataset_names_expected_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"iwildcam_v2\.0/ with RELEASE_v2\.0\.txt"):
        IWildCamDataModule(str(tmp_path))


def _copy(tiny_data, tmp_path):
    shutil.copytree(tiny_data / "iwildcam_v2.0", tmp_path / "iwildcam_v2.0")
    return tmp_path / "iwildcam_v2.0"


def test_split_without_images_is_named(tiny_data, tmp_path):
    folder = _copy(tiny_data, tmp_path)
    metadata = pd.read_csv(folder / "metadata.csv", index_col=0)
    metadata.loc[metadata["split"] == "val", "split"] = "test"
    metadata.to_csv(folder / "metadata.csv")
    with pytest.raises(ValueError, match="split 'ood_val'.*has no images"):
        IWildCamDataModule(str(tmp_path))


def test_missing_and_corrupt_images_are_named(tiny_data, tmp_path):
    folder = _copy(tiny_data, tmp_path)
    first_train = pd.read_csv(folder / "metadata.csv").query("split == 'train'")["filename"].iloc[0]
    (folder / "train" / first_train).unlink()
    with pytest.raises(ImageReadError, match=first_train):  # found before any training starts
        IWildCamDataModule(str(tmp_path))
    (folder / "train" / first_train).write_bytes(b"\xff\xd8 truncated")
    data = IWildCamDataModule(str(tmp_path), num_workers=0)
    with pytest.raises(ImageReadError, match=first_train):
        data.dataset("train")[0]
