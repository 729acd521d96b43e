"""Each source reads its miniature in the real layout; iNaturalist interventions on top."""

import pytest

from pretrain_robustness.datamodules import PretrainDataModule
from pretrain_robustness.datamodules.interventions import MostFrequentClasses, Relabel, most_frequent_classes
from pretrain_robustness.datamodules.sources import (
    DomainNet, ImageFolderSource, INaturalist2017, INaturalist2021)

from .fake_sources import write_domainnet, write_inaturalist_2017, write_inaturalist_2021


def test_inaturalist_2017_and_its_train_split(tmp_path):
    write_inaturalist_2017(tmp_path)
    everything = INaturalist2017(str(tmp_path)).table()
    assert len(everything) == 16 and everything["supercategory"].nunique() == 3
    train = INaturalist2017(str(tmp_path), annotations=str(tmp_path / "train2017.json")).table()
    assert len(train) == 12  # what train2017.json lists: 4 + 2 + 4 + 2
    top = most_frequent_classes(train, 2)
    assert sorted(top["source_class"].unique()) == ["Abies concolor", "Turdus migratorius"]


def test_inaturalist_2017_annotations_must_match_the_images(tmp_path):
    write_inaturalist_2017(tmp_path)
    next((tmp_path / "2017" / "Aves" / "Turdus migratorius").iterdir()).unlink()
    with pytest.raises(FileNotFoundError, match="1 images listed"):
        INaturalist2017(str(tmp_path), annotations=str(tmp_path / "train2017.json")).table()


def test_inaturalist_2021_ranks(tmp_path):
    write_inaturalist_2021(tmp_path)
    table = INaturalist2021(str(tmp_path), "2021_train_mini").table()
    assert len(table) == 9 and table["kingdom"].nunique() == 2 and table["class"].nunique() == 3
    assert "Turdus migratorius" in set(table["species"])
    (tmp_path / "2021_train_mini" / "00003_Bad_Name").mkdir()
    with pytest.raises(ValueError, match="00003_Bad_Name"):
        INaturalist2021(str(tmp_path), "2021_train_mini").table()


def test_domainnet_split_files_and_folders(tmp_path):
    write_domainnet(tmp_path)
    train = DomainNet(str(tmp_path), ["clipart", "sketch"], "train").table()
    assert len(train) == 8 and set(train["domain"]) == {"clipart", "sketch"}
    assert len(DomainNet(str(tmp_path), ["sketch"], None).table()) == 6
    with pytest.raises(ValueError, match="photo"):
        DomainNet(str(tmp_path), ["photo"])
    with pytest.raises(FileNotFoundError, match="real"):
        DomainNet(str(tmp_path), ["real"]).table()


def test_image_folder(tmp_path):
    write_domainnet(tmp_path)
    table = ImageFolderSource(str(tmp_path / "clipart")).table()
    assert len(table) == 6 and set(table["source_class"]) == {"aircraft_carrier", "zebra"}


def test_pretraining_on_inaturalist_supercategories(tmp_path):
    write_inaturalist_2017(tmp_path)
    data = PretrainDataModule(INaturalist2017(str(tmp_path)), [MostFrequentClasses(3), Relabel("supercategory")],
                              val_per_class=1, image_size=8, num_workers=0)
    assert data.class_names == ["Aves", "Plantae"] and data.num_classes == 2
    assert data.dataset("train")[0][0].shape == (3, 8, 8)
    with pytest.raises(ValueError, match="kingdom"):
        Relabel("kingdom")(INaturalist2017(str(tmp_path)).table())


def test_superclass_diversity_nests_and_keeps_shares(tmp_path):
    from pretrain_robustness.datamodules.interventions import superclass_diversity

    write_inaturalist_2017(tmp_path)
    table = INaturalist2017(str(tmp_path)).table()
    half = superclass_diversity(table, "supercategory", ["Plantae", "Aves"], 0.5, 11, seed=0)
    full = superclass_diversity(table, "supercategory", ["Plantae", "Aves"], 1.0, 11, seed=0)
    assert half.groupby("label_name").size().to_dict() == {"Plantae": 6, "Aves": 5}  # 11 split evenly
    plantae_half = set(half.loc[half["label_name"] == "Plantae", "source_class"])
    assert len(plantae_half) == 1 and plantae_half <= set(table.loc[table["supercategory"] == "Plantae", "source_class"])
    assert len(half) == len(full) == 11
    with pytest.raises(ValueError, match="Fungi"):
        superclass_diversity(table, "supercategory", ["Fungi"], 0.5, 10, seed=0)
