"""Each source reads its miniature in the real layout; iNaturalist interventions on top."""

import json
from pathlib import Path

import pandas as pd
import pytest

from pretrain_robustness.datamodules import PretrainDataModule
from pretrain_robustness.datamodules.interventions import MostFrequentClasses, Relabel
from pretrain_robustness.datamodules.sources import DomainNet, ImageFolderSource, INaturalist2017, INaturalist2021

from .fake_sources import write_domainnet, write_inaturalist_2017, write_inaturalist_2021


def test_inaturalist_2017_and_its_train_split(tmp_path):
    write_inaturalist_2017(tmp_path)
    everything = INaturalist2017(str(tmp_path)).table()
    assert len(everything) == 16 and everything["supercategory"].nunique() == 3
    train = INaturalist2017(str(tmp_path), annotations=str(tmp_path / "train2017.json")).table()
    assert len(train) == 12  # what train2017.json lists: 4 + 2 + 4 + 2
    top = MostFrequentClasses(2)(train)
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


def test_inaturalist_2021_annotation_files_and_folder_names_agree(tmp_path):
    write_inaturalist_2021(tmp_path)
    table = INaturalist2021(str(tmp_path), "2021_train_mini").table()
    assert dict(zip(table["species"], table["supercategory"])) == {
        "Turdus migratorius": "Birds", "Apis mellifera": "Insects", "Abies concolor": "Plants"}
    assert table.loc[table["species"] == "Turdus migratorius", "common_name"].iloc[0] == "American Robin"
    assert "supercategory" not in INaturalist2021(str(tmp_path), "2021_train_mini", annotations=None).table()
    path = tmp_path / "train_mini.json"
    document = json.loads(path.read_text())
    document["categories"][0]["family"] = "Muscicapidae"  # the file disagrees with the folder name
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="folder '00000_Animalia.*says family 'Turdidae'.*'Muscicapidae'"):
        INaturalist2021(str(tmp_path), "2021_train_mini").table()
    write_inaturalist_2021(tmp_path)
    next((tmp_path / "2021_train_mini").glob("00001_*/*.jpg")).unlink()
    with pytest.raises(FileNotFoundError, match="1 images listed in .*train_mini.json are not on disk"):
        INaturalist2021(str(tmp_path), "2021_train_mini").table()
    with pytest.raises(FileNotFoundError, match="annotation file not found"):
        INaturalist2021(str(tmp_path), "2021_train_mini", annotations=str(tmp_path / "nope.json")).table()


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
    from pretrain_robustness.datamodules.interventions import SuperclassDiversity

    write_inaturalist_2017(tmp_path)
    table = INaturalist2017(str(tmp_path)).table()
    half = SuperclassDiversity("supercategory", ["Plantae", "Aves"], 0.5, 11, seed=0)(table)
    full = SuperclassDiversity("supercategory", ["Plantae", "Aves"], 1.0, 11, seed=0)(table)
    assert half.groupby("label_name").size().to_dict() == {"Plantae": 6, "Aves": 5}  # 11 split evenly
    plantae_half = set(half.loc[half["label_name"] == "Plantae", "source_class"])
    assert len(plantae_half) == 1 and plantae_half <= set(table.loc[table["supercategory"] == "Plantae", "source_class"])
    assert len(half) == len(full) == 11
    with pytest.raises(ValueError, match="Fungi"):
        SuperclassDiversity("supercategory", ["Fungi"], 0.5, 10, seed=0)(table)


def test_inaturalist_2021_rank_labels_and_animal_subset(tmp_path):
    from pretrain_robustness.datamodules.interventions import KeepValues

    write_inaturalist_2021(tmp_path, "2021_train_mini", per_class=4)
    write_inaturalist_2021(tmp_path, "2021_valid", per_class=2)
    source, val = (INaturalist2021(str(tmp_path), v) for v in ("2021_train_mini", "2021_valid"))
    kingdoms = PretrainDataModule(source, [Relabel("kingdom")], val_source=val, val_per_class=0, num_workers=0)
    assert kingdoms.class_names == ["Animalia", "Plantae"]
    val_rows = kingdoms.manifest[kingdoms.manifest["split"] == "val"]
    assert len(val_rows) == 6 and (val_rows["label_name"] == val_rows["kingdom"]).all()  # val labelled by rank too
    animals = PretrainDataModule(source, [KeepValues("kingdom", ["Animalia"])], val_source=val, val_per_class=0,
                                 num_workers=0)
    assert animals.num_classes == 2 and set(animals.manifest["kingdom"]) == {"Animalia"}
    with pytest.raises(ValueError, match="Fungi"):
        KeepValues("kingdom", ["Fungi"])(source.table())
    with pytest.raises(ValueError, match="no column 'realm'"):
        KeepValues("realm", ["Animalia"])(source.table())


def test_domainnet_finetuning_splits(tmp_path):
    from pretrain_robustness.datamodules import DomainNetDataModule

    write_domainnet(tmp_path, ("infograph", "sketch", "real"), per_class=6)
    data = DomainNetDataModule(str(tmp_path), "infograph", ["sketch", "real"], image_size=16, num_workers=0)
    assert data.eval_split_names == ["id_test", "ood_sketch", "ood_real"]
    assert data.class_names == ["aircraft_carrier", "zebra"]
    assert len(data.examples("train")) == 8 and len(data.examples("id_test")) == 4
    sketch = data.examples("ood_sketch")
    assert (sketch["y"] == sketch["source_class"].map({"aircraft_carrier": 0, "zebra": 1})).all()
    assert set(sketch["domain"]) == {"sketch"} and data.dataset("ood_sketch")[0][0].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="include the training domain"):
        DomainNetDataModule(str(tmp_path), "sketch", ood_domains=["sketch"])
    with pytest.raises(FileNotFoundError, match="clipart"):  # by default every other domain is OOD
        DomainNetDataModule(str(tmp_path), "infograph")
    next((tmp_path / "real" / "zebra").iterdir()).unlink()
    with pytest.raises(FileNotFoundError, match="split 'ood_real'"):
        DomainNetDataModule(str(tmp_path), "infograph", ood_domains=["real"])


def test_domainnet_labels_are_its_split_files(tmp_path):
    """DomainNet numbers its classes without regard to case (The_Eiffel_Tower between tennis_racquet and
    tiger); Python's sort would put it first and mislabel every class before it."""
    from pretrain_robustness.datamodules import DomainNetDataModule

    write_domainnet(tmp_path, ("infograph", "sketch"), per_class=3, classes=("zebra", "The_Eiffel_Tower", "aircraft_carrier"))
    data = DomainNetDataModule(str(tmp_path), "infograph", ["sketch"], image_size=16, num_workers=0)
    assert data.class_names == ["aircraft_carrier", "The_Eiffel_Tower", "zebra"]
    sketch = data.examples("ood_sketch")
    listed = dict(line.split() for line in (tmp_path / "sketch_test.txt").read_text().splitlines())
    assert (sketch["y"] == [int(listed[str(Path(p).relative_to(tmp_path))]) for p in sketch["path"]]).all()
    (tmp_path / "infograph_train.txt").write_text(  # a class a train split lacks (painting's t-shirt) keeps its label
        "".join(line + "\n" for line in (tmp_path / "infograph_train.txt").read_text().splitlines() if "zebra" not in line))
    assert DomainNetDataModule(str(tmp_path), "infograph", ["sketch"], num_workers=0).class_names[2] == "zebra"
    (tmp_path / "sketch_test.txt").write_text((tmp_path / "sketch_test.txt").read_text().replace(" 2\n", " 1\n"))
    with pytest.raises(ValueError, match=r"split files disagree: source_class 'zebra' goes with more than one label: \[1, 2\]"):
        DomainNetDataModule(str(tmp_path), "infograph", ["sketch"], num_workers=0)


def test_inaturalist_2021_heldout_evaluation_set(tmp_path):
    from pretrain_robustness.datamodules.sources import INaturalist2021Heldout

    write_inaturalist_2021(tmp_path, "2021_train_mini", per_class=3)
    write_inaturalist_2021(tmp_path, "2021_train", per_class=8)
    heldout = INaturalist2021Heldout(str(tmp_path), per_class=4, seed=0).table()
    mini = INaturalist2021(str(tmp_path), "2021_train_mini").table()
    names = lambda t: set(t["source_class"] + "/" + t["path"].str.rsplit("/", n=1).str[-1])  # noqa: E731
    assert len(heldout) == 12 and heldout.groupby("source_class").size().eq(4).all()
    assert not names(heldout) & names(mini)  # never an image the model was fine-tuned on
    assert heldout.equals(INaturalist2021Heldout(str(tmp_path), per_class=4, seed=0).table())
    with pytest.raises(ValueError, match="asked for 6 images of class .* but it has 5"):
        INaturalist2021Heldout(str(tmp_path), per_class=6).table()


@pytest.mark.parametrize("version", ["2021_train", "2021_train_mini", "2021_valid"])
def test_inaturalist_2021_as_shipped_reads_as_torchvisions_folders(tmp_path, version):
    """train/ train_mini/ val/ beside train.json ... (the competition's tarballs, extracted) give the
    table torchvision's renamed folders give, annotation checks included."""
    shipped = write_inaturalist_2021(tmp_path / "shipped", version, shipped=True)
    renamed = write_inaturalist_2021(tmp_path / "renamed", version)
    tables = [INaturalist2021(str(root), version).table() for root in (shipped, renamed)]
    assert "supercategory" in tables[0] and len(tables[0]) == 9
    relative = [t.assign(path=t["path"].map(lambda p: "/".join(Path(p).parts[-2:]))) for t in tables]
    pd.testing.assert_frame_equal(*relative)


def test_inaturalist_2017_as_shipped_and_an_unknown_layout(tmp_path):
    shipped = write_inaturalist_2017(tmp_path / "shipped", shipped=True)
    train = INaturalist2017(str(shipped), annotations=str(shipped / "train2017.json")).table()
    assert len(train) == 12 and (shipped / "train_val_images").is_dir()
    (tmp_path / "other" / "images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"iNaturalist 2017 not found under .*other: expected one of "
                                                r".*train_val_images/ \(as shipped.*2017/ \(torchvision's.*it holds \['images'\]"):
        INaturalist2017(str(tmp_path / "other")).table()
    with pytest.raises(FileNotFoundError, match=r"train_mini/ \(as shipped.*2021_train_mini/ \(torchvision's"):
        INaturalist2021(str(tmp_path / "other"), "2021_train_mini").table()


def _torchvision_rows(dataset, ranks: list[str]) -> set[tuple]:
    """(path, full category's folder, each rank's name) of every image torchvision's reader lists."""
    names = {rank: {i: n for n, i in dataset.categories_index[rank].items()} for rank in ranks}
    rows = set()
    for category, filename in dataset.index:
        folder = dataset.all_categories[category]
        ranked = tuple(names[r][dataset.categories_map[category][r]] for r in ranks)
        rows.add((str(Path(dataset.root) / folder / filename), folder, *ranked))
    return rows


@pytest.mark.parametrize("version", ["2021_train", "2021_train_mini", "2021_valid"])
def test_inaturalist_2021_reads_what_torchvisions_reader_reads(tmp_path, version):
    """An outside reader of the same folders (torchvision.datasets.INaturalist): the same files, each in
    the same species folder, with the same kingdom ... genus."""
    from torchvision.datasets import INaturalist

    ranks = ["kingdom", "phylum", "class", "order", "family", "genus"]
    write_inaturalist_2021(tmp_path, version, annotations=False)
    theirs = _torchvision_rows(INaturalist(str(tmp_path), version), ranks)
    table = INaturalist2021(str(tmp_path), version, annotations=None).table()
    ours = set(table[["path", "source_class", *ranks]].itertuples(index=False, name=None))
    assert len(ours) == len(table) == 9 and ours == theirs


def test_inaturalist_2017_reads_what_torchvisions_reader_reads(tmp_path):
    """torchvision's 2017 reader (its ``2017/<supercategory>/<species>/`` folders): the same files, each
    with the same species and supercategory."""
    from torchvision.datasets import INaturalist

    write_inaturalist_2017(tmp_path)
    dataset = INaturalist(str(tmp_path), "2017")
    supers = {i: n for n, i in dataset.categories_index["super"].items()}
    theirs = {(str(Path(dataset.root) / dataset.all_categories[c] / f), Path(dataset.all_categories[c]).name,
               supers[dataset.categories_map[c]["super"]]) for c, f in dataset.index}
    table = INaturalist2017(str(tmp_path)).table()
    ours = set(table[["path", "source_class", "supercategory"]].itertuples(index=False, name=None))
    assert len(ours) == len(table) == 16 and ours == theirs
