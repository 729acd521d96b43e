"""The generated data is in the real formats: the real loaders (wilds, ImageNet layout) read it."""

import hashlib

import pandas as pd

from pretrain_robustness.datamodules.iwildcam import load_wilds_iwildcam
from pretrain_robustness.demo.camera_traps import plan_metadata, write_iwildcam
from pretrain_robustness.demo.catalog import IMAGENET_DEMO_CLASSES, IWILDCAM_SPECIES
from pretrain_robustness.wordnet.synsets import nodes

from .conftest import TINY_CAMERA_TRAPS

REAL_COLUMNS = ["Unnamed: 0", "split", "location_remapped", "location", "sequence_remapped", "seq_id", "y",
                "category_id", "datetime", "filename", "image_id"]


def test_iwildcam_layout_is_read_by_wilds(tiny_data):
    folder = tiny_data / "iwildcam_v2.0"
    assert (folder / "RELEASE_v2.0.txt").is_file()
    metadata = pd.read_csv(folder / "metadata.csv")
    assert list(metadata.columns) == REAL_COLUMNS
    assert list(pd.read_csv(folder / "categories.csv").columns) == ["y", "category_id", "name"]
    dataset = load_wilds_iwildcam(tiny_data)
    assert dataset.n_classes == len(IWILDCAM_SPECIES)
    assert len(dataset) == len(metadata)
    assert dataset.get_input(0).size == (32, 32)
    for split in ["train", "id_val", "id_test", "val", "test"]:
        assert (dataset.split_array == dataset.split_dict[split]).sum() > 0, split


def test_ood_locations_are_unseen_and_id_splits_differ_by_day():
    df = plan_metadata(TINY_CAMERA_TRAPS)
    id_locations = set(df.loc[df["split"].isin(["train", "id_val", "id_test"]), "location"])
    for split in ["val", "test"]:
        assert not id_locations & set(df.loc[df["split"] == split, "location"])
    day = df["datetime"].str[:10]
    for location, group in df[df["location"].isin(id_locations)].groupby("location"):
        train_days = set(day[group.index][group["split"] == "train"])
        assert not train_days & set(day[group.index][group["split"] == "id_test"])
    # species frequencies are long-tailed and differ by location
    counts = df[df["split"] == "train"]["y"].value_counts()
    assert counts.max() > 5 * counts.min()


def test_generation_is_deterministic(tmp_path):
    a, b = write_iwildcam(tmp_path / "a", TINY_CAMERA_TRAPS), write_iwildcam(tmp_path / "b", TINY_CAMERA_TRAPS)
    assert (a / "metadata.csv").read_bytes() == (b / "metadata.csv").read_bytes()
    name = pd.read_csv(a / "metadata.csv")["filename"].iloc[5]
    digest = [hashlib.sha256((f / "train" / name).read_bytes()).hexdigest() for f in (a, b)]
    assert digest[0] == digest[1]


def test_imagenet_layout_uses_real_disjoint_wnids(tiny_data):
    train = tiny_data / "imagenet" / "train"
    wnids = sorted(p.name for p in train.iterdir() if p.is_dir())
    assert wnids == sorted(w for w, _ in IMAGENET_DEMO_CLASSES)
    classes = nodes()
    assert all(classes.at[w, "is_class"] == 1 for w in wnids)
    assert (train / wnids[0] / f"{wnids[0]}_0.JPEG").is_file()
    species = {name for _, name, _ in IWILDCAM_SPECIES}
    assert not species & {classes.at[w, "lemmas"].split("|")[0] for w in wnids}
