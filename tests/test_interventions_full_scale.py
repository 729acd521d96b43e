"""Interventions at the paper's scale, on a synthetic table shaped like ImageNet-1k's train set."""

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.datamodules.interventions import (
    BreedsDiversity, ClassBalancedSubset, CoarsenLabels, RandomClasses, SemanticSubset)
from pretrain_robustness.datamodules.sampling import balanced_counts, sample_per_class
from pretrain_robustness.wordnet.breeds import breeds_wnids
from pretrain_robustness.wordnet.hierarchy import load

pytestmark = pytest.mark.xdist_group("full_scale")  # its module fixture is built once


@pytest.fixture(scope="module")
def imagenet_table() -> pd.DataFrame:
    """1,000 real wnids x 1,300 image rows (paths are never opened)."""
    classes = np.repeat(np.array(load().classes), 1300)
    return pd.DataFrame({"path": [f"train/{c}/{c}_{i % 1300}.JPEG" for i, c in enumerate(classes)],
                         "source_class": classes})


@pytest.mark.parametrize("images", [5000, 25000, 150000])
def test_quantity_subsets_are_class_balanced(imagenet_table, images):
    subset = ClassBalancedSubset(images, seed=0)(imagenet_table)
    assert len(subset) == images and subset.groupby("source_class").size().eq(images // 1000).all()
    assert subset["path"].is_unique


def test_same_class_same_images_whatever_else_is_asked(imagenet_table):
    a = sample_per_class(imagenet_table, {"n01440764": 7, "n01443537": 7}, seed=3)
    b = sample_per_class(imagenet_table, {"n01440764": 7}, seed=3)
    assert a[a["source_class"] == "n01440764"]["path"].tolist() == b["path"].tolist()


def test_fixed_budget_more_classes_or_more_images(imagenet_table):
    # Figure 7: 60K images from 100 classes (600 each) or 400 classes (150 each)
    for classes, per_class in [(100, 600), (400, 150)]:
        subset = ClassBalancedSubset(60000, seed=0)(RandomClasses(classes, seed=0)(imagenet_table))
        assert subset["source_class"].nunique() == classes
        assert subset.groupby("source_class").size().eq(per_class).all()


def test_breeds_table_maps_to_192_distinct_classes():
    table_3 = breeds_wnids()
    assert len(table_3) == 16 and all(len(v) == 12 for v in table_3.values())
    assert len({w for v in table_3.values() for w in v}) == 192


def test_breeds_diversity_keeps_labels_and_total_and_nests(imagenet_table):
    subsets = {k: BreedsDiversity(k, 80000, seed=0)(imagenet_table) for k in (4, 8, 12)}  # p = 1/3, 2/3, 1
    for k, subset in subsets.items():
        assert len(subset) == 80000 and subset["label_name"].nunique() == 16
        assert subset.groupby("label_name").size().eq(5000).all()
        assert subset.groupby("label_name")["source_class"].nunique().eq(k).all()
    chosen = {k: set(s["source_class"]) for k, s in subsets.items()}
    assert chosen[4] < chosen[8] < chosen[12]  # nested across ratios (Appendix C.1)
    with pytest.raises(ValueError, match="1..12"):
        BreedsDiversity(13, 80000, seed=0)(imagenet_table)


def test_granularity_and_semantics_at_full_scale(imagenet_table):
    few = imagenet_table.groupby("source_class").head(2)
    assert CoarsenLabels(7)(few)["label_name"].nunique() == 232
    assert SemanticSubset("animal")(few)["source_class"].nunique() == 398
    assert SemanticSubset("object")(few)["source_class"].nunique() == 602


def test_too_few_images_says_how_many(imagenet_table):
    with pytest.raises(ValueError, match="asked for 1301 images of class n01440764, but it has 1300"):
        sample_per_class(imagenet_table, {"n01440764": 1301}, seed=0)


def test_balanced_counts_fill_small_classes_and_split_the_rest_evenly():
    assert balanced_counts({"a": 3, "b": 10, "c": 10}, 15) == {"a": 3, "b": 6, "c": 6}
    assert balanced_counts({"a": 3, "b": 10, "c": 11}, 16) == {"a": 3, "b": 6, "c": 7}  # the larger share: c
    assert balanced_counts({"a": 5, "b": 5}, 10) == {"a": 5, "b": 5}
    with pytest.raises(ValueError, match="cannot draw 11 images from classes holding 10"):
        balanced_counts({"a": 5, "b": 5}, 11)


def test_animal_and_object_sets_of_equal_size(capsys):
    """Fig. 6 (section 4.3: 'similar in total sample size'), on a table with ImageNet's uneven class
    sizes (732 to 1,300): the object set is drawn down to the animal set's count, every class
    as evenly as its size allows; the animal set is whole."""
    sizes = np.random.default_rng(0).integers(732, 1301, len(load().classes))
    classes = np.repeat(np.array(load().classes), sizes)
    table = pd.DataFrame({"path": [f"train/{c}/{i}.JPEG" for i, c in enumerate(classes)], "source_class": classes})
    animal = SemanticSubset("animal", images_of="object")(table)
    object_ = SemanticSubset("object", images_of="animal", seed=1)(table)
    assert len(animal) == len(SemanticSubset("animal")(table)) and len(object_) == len(animal)
    full = SemanticSubset("object")(table).groupby("source_class").size()
    kept = object_.groupby("source_class").size()
    assert object_["path"].is_unique and kept.index.nunique() == 602 and (kept <= full[kept.index]).all()
    unsaturated = kept[kept < full[kept.index]]
    assert unsaturated.max() - unsaturated.min() <= 1 and (kept[kept == full[kept.index]] <= unsaturated.max()).all()
    printed = capsys.readouterr().out
    assert f"object {len(SemanticSubset('object')(table)):,} images in 602 classes, animal {len(animal):,}" in printed
