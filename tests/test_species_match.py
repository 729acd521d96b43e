"""iNaturalist species to ImageNet classes through WordNet 3.0's data.noun (Kalibhat et al. Fig. 1),
on a miniature data.noun in the real format with the real wnids of the classes involved."""

import pandas as pd
import pytest

from pretrain_robustness.analysis import groups
from pretrain_robustness.cli import main
from pretrain_robustness.wordnet.species_match import match_species, read_data_noun

from .fake_sources import write_wordnet_data_noun

SYNSETS = [  # a thin slice of WordNet 3.0: offsets and lemmas as there
    ("00001740", ["entity"], [], "that which is perceived or known or inferred to have its own distinct existence"),
    ("00004475", ["organism", "being"], ["00001740"], "a living thing that has (or can develop) the ability to act"),
    ("00015388", ["animal", "animate_being", "beast"], ["00004475"], "a living organism characterized by voluntary movement"),
    ("01503061", ["bird"], ["00015388"], "warm-blooded egg-laying vertebrates"),
    ("01557185", ["thrush"], ["01503061"], "songbirds characteristically having brownish upper plumage"),
    ("01558993", ["robin", "American_robin", "Turdus_migratorius"], ["01557185", "#m 01557697"],
     "large American thrush having a rust-red breast and abdomen"),
    ("01608432", ["kite"], ["01503061"], "any of several small graceful hawks of the family Accipitridae"),
    ("01609391", ["white-tailed_kite", "Elanus_leucurus"], ["01608432"], "grey-and-white American kite"),
    ("01541386", ["cardinal", "cardinal_grosbeak", "Richmondena_Cardinalis", "Cardinalis_cardinalis"], ["01503061"],
     "crested thick-billed North American finch having bright red plumage in the male"),
    ("03621049", ["kite"], ["00001740"], "plaything consisting of a light frame covered with tissue paper"),
    ("13740168", ["nothing", "nil"], ["00001740"], "a quantity of no importance"),
]


@pytest.fixture
def nouns(tmp_path):
    return read_data_noun(write_wordnet_data_noun(tmp_path / "data.noun", SYNSETS))


def test_species_are_matched_by_name_and_climb_to_the_nearest_imagenet_class(nouns):
    species = pd.DataFrame({"species": ["Turdus migratorius", "Elanus leucurus", "Cardinalis cardinalis",
                                        "Milvus unknownus", "Foo bar"],
                            "common_name": ["American Robin", "White-tailed Kite", "Northern Cardinal", "Kite", "Nothing"]})
    table = match_species(species, nouns).set_index("species")
    assert table.loc["Turdus migratorius", ["how", "imagenet_wnid", "imagenet_class", "steps"]].tolist() == [
        "scientific name", "n01558993", "robin", 0]
    assert table.loc["Elanus leucurus", ["imagenet_wnid", "imagenet_class", "steps"]].tolist() == ["n01608432", "kite", 1]
    assert table.loc["Cardinalis cardinalis", "synset"] == "n01541386"  # in WordNet, but no ImageNet class above it
    assert pd.isna(table.loc["Cardinalis cardinalis", "imagenet_wnid"]) and table.loc["Cardinalis cardinalis", "steps"] == -1
    # "kite" is also a toy: only the organism sense counts
    assert table.loc["Milvus unknownus", ["how", "imagenet_wnid"]].tolist() == ["common name", "n01608432"]
    assert table.loc["Foo bar", "how"] == "none"  # "nothing" is no organism
    assert nouns.hypernyms["n01558993"] == ["n01557185"]  # the member-holonym pointer is not a hypernym


def test_a_file_that_is_not_data_noun_is_named(tmp_path):
    path = tmp_path / "data.noun"
    path.write_text("  header\n01558993 05 n zz robin\n")
    with pytest.raises(ValueError, match="data.noun:2 is not a WordNet data.noun line"):
        read_data_noun(path)
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        read_data_noun(tmp_path / "missing")


def _predictions(path, correct):
    """Predictions of an iNat 2021 run: its examples' own columns (species, family, ...) included."""
    species = [("Turdus migratorius", "American Robin", "Turdidae", "Aves", "Birds"),
               ("Catharus ustulatus", "Swainson's Thrush", "Turdidae", "Aves", "Birds"),
               ("Cardinalis cardinalis", "Northern Cardinal", "Cardinalidae", "Aves", "Birds"),
               ("Apis mellifera", "Western Honey Bee", "Apidae", "Insecta", "Insects")]
    rows = []
    for y, (name, common, family, klass, superc) in enumerate(species):
        for i in range(10):
            rows.append({"split": "val", "filename": f"{y}_{i}.jpg", "y_true": y, "y_pred": y if i < correct[y] else -1,
                         "species": name, "common_name": common, "family": family, "class": klass,
                         "supercategory": superc})
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_per_class_figures_from_an_inat_run_and_wordnet(tmp_path):
    noun = write_wordnet_data_noun(tmp_path / "data.noun", SYNSETS)
    output = tmp_path / "fig" / "per_class.html"
    main(["per-class", "--pretrained", _predictions(tmp_path / "p.csv", [9, 7, 8, 6]),
          "--scratch", _predictions(tmp_path / "s.csv", [5, 6, 8, 6]), "--split", "val", "--group", "supercategory",
          "--wordnet", str(noun), "--output", str(output)])
    matches = pd.read_csv(output.with_suffix(".matches.csv")).set_index("species")
    assert matches.loc["Turdus migratorius", "represented"] == "in ImageNet"
    assert matches.loc["Catharus ustulatus", "represented"] == "not in ImageNet"
    page = output.read_text()
    assert "Figure 1" in page and "Figure 2" in page and "1 of 4 have an ImageNet class" in page
    gains = pd.read_csv(output.with_suffix(".csv")).set_index("species")
    assert gains.loc["Turdus migratorius", "gain"] == pytest.approx(40.0)
    # Figure 1 keeps the birds of families where ImageNet shows a species: both thrushes, not the cardinal
    shown = groups.figure1_species(gains.reset_index())
    assert sorted(shown["species"]) == ["Catharus ustulatus", "Turdus migratorius"]


def test_corrected_labels_group_species_as_the_paper_does(tmp_path):
    classes = pd.DataFrame({"species": ["Turdus migratorius", "Catharus ustulatus", "Cardinalis cardinalis"],
                            "family": ["Turdidae", "Turdidae", "Cardinalidae"], "class": ["Aves"] * 3})
    matches = pd.DataFrame({"species": classes["species"], "common_name": None, "imagenet_wnid": ["n01558993", None, None]})
    corrected = pd.DataFrame({"species": ["Turdus migratorius", "Catharus ustulatus", "Cardinalis cardinalis"],
                              "val_images": [48, 0, 12]})
    table = groups.representation(classes, matches, pd.Series({"n01558993": 1300}), corrected)
    assert table["represented"].tolist() == ["40+", "0", "1-39"]
    assert table["imagenet_images"].tolist() == [1300, 0, 0]
    assert groups.figure1_species(table)["species"].tolist() == ["Turdus migratorius", "Catharus ustulatus"]
    with pytest.raises(ValueError, match="needs columns \\['species', 'val_images'\\]"):
        groups.representation(classes, matches, None, corrected.rename(columns={"val_images": "n"}))


def test_a_study_writes_figures_1_and_2_end_to_end(tiny_data, tmp_path):
    """Two fine-tuning runs on the generated iNat 2021 layout (with its JSON files), the report, both
    runs' predictions and the per-class page, from one study config."""
    import yaml

    from .test_configs import CONFIGS

    noun = write_wordnet_data_noun(tmp_path / "data.noun", SYNSETS)
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump({
        "trainer": {"max_epochs": 1, "enable_progress_bar": False},
        "model": {"architecture": "resnet18"},
        "data": {"init_args": {"source": {"init_args": {"root": str(tiny_data / "inaturalist")}},
                               "val_source": {"init_args": {"root": str(tiny_data / "inaturalist"), "per_class": 4}},
                               "image_size": 16, "batch_size": 4, "num_workers": 0}}}))
    spec = yaml.safe_load((CONFIGS / "studies" / "kalibhat_fig1_2_inat_mini.yaml").read_text())
    spec.update(root=str(tmp_path / "runs"), architectures=["resnet18"],
                finetune=[*(str(CONFIGS.parent / p) for p in spec["finetune"]), str(tiny)],
                conditions=[{"name": "scratch"}, {"name": "other-init"}])  # (a pre-training run is not the point here)
    spec["per_class"].update(pretrained="other-init", wordnet=str(noun))
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec))
    main(["study", "--config", str(path)])
    folder = tmp_path / "runs" / "kalibhat-fig1-2-inat-mini"
    page = (folder / "per_class.html").read_text()
    assert "Figure 1" in page and "Accuracy per supercategory" in page
    matches = pd.read_csv(folder / "per_class.matches.csv").set_index("species")
    assert matches.loc["Turdus migratorius", ["how", "imagenet_wnid"]].tolist() == ["scientific name", "n01558993"]
    assert set(matches["supercategory"]) == {"Birds", "Insects"}  # from train.json: the animal species only
    assert (folder / "finetune" / "scratch" / "resnet18-seed0" / "predictions-last.csv").is_file()
