"""The WordNet procedures checked on the full 1,000-class hierarchy."""

import pytest

from pretrain_robustness.wordnet import hierarchy


@pytest.mark.parametrize("depth,count", [(2, 5), (4, 17), (5, 37), (6, 85), (7, 232)])
def test_paper_superclass_counts(depth, count):
    # Ramanujan et al., section 4.2: depths 2, 4, 5, 6, 7 give 5, 17, 37, 85, 232 classes
    assert len(set(hierarchy.superclasses(depth).values())) == count


def test_huh_first_chain_variant_matches_their_label_sets():
    # sizes of Huh et al.'s released "down_up" label sets (wmigftl label_sets/hierarchy)
    sizes = [len(set(hierarchy.superclasses(d, "first_chain").values())) for d in range(1, 18)]
    assert sizes == [2, 5, 9, 17, 36, 79, 206, 345, 486, 596, 694, 753, 820, 877, 918, 977, 999]


def test_every_class_maps_to_an_ancestor_at_most_that_deep():
    h = hierarchy.load()
    for wnid, superclass in hierarchy.superclasses(4).items():
        assert superclass == wnid or superclass in h.ancestors(wnid)
        assert h.min_depth[superclass] <= 4


def test_animals_are_the_first_398_classes():
    h = hierarchy.load()
    animal = [i for i, wnid in enumerate(h.classes) if hierarchy.is_animal(wnid, h)]
    assert animal == list(range(398))


def test_first_hypernym_is_by_synset_name():
    h = hierarchy.load()
    dog = next(w for w, s in h.synset.items() if s == "dog.n.01")
    assert [h.synset[p] for p in h.parents[dog]] == ["canine.n.02", "domestic_animal.n.01"]


def test_unknown_variant():
    with pytest.raises(ValueError, match="first_path"):
        hierarchy.superclasses(3, "first_path")
