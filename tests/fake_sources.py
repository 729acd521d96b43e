"""Miniature copies of the pre-training sources, written in their real on-disk layouts."""

import json
from pathlib import Path

from PIL import Image


def _images(folder: Path, n: int, stem: str = "img") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}_{i}.jpg" for i in range(n)]
    for i, path in enumerate(paths):
        Image.new("RGB", (8, 8), (20 * i % 255, 40, 60)).save(path)
    return paths


def write_inaturalist_2017(root: Path, shipped: bool = False) -> Path:
    """2017/<supercategory>/<species>/ (``shipped``: train_val_images/, as the archive extracts) with a
    long tail, plus a COCO train2017.json (2 of 3 images)."""
    species = {"Plantae": {"Abies concolor": 6, "Acer rubrum": 3}, "Aves": {"Turdus migratorius": 5},
               "Insecta": {"Apis mellifera": 2}}
    listed = {"train": [], "val": []}
    for superc, members in species.items():
        for name, n in members.items():
            for i, path in enumerate(_images(root / ("train_val_images" if shipped else "2017") / superc / name, n)):
                split = "val" if i % 3 == 2 else "train"
                listed[split].append({"id": i, "file_name": f"train_val_images/{superc}/{name}/{path.name}"})
    for split, images in listed.items():
        (root / f"{split}2017.json").write_text(json.dumps({"images": images, "annotations": [], "categories": []}))
    return root


INAT_2021_SPECIES = [  # folder name (without its index), supercategory, common name: as in iNat 2021's files
    ("Animalia_Chordata_Aves_Passeriformes_Turdidae_Turdus_migratorius", "Birds", "American Robin"),
    ("Animalia_Arthropoda_Insecta_Hymenoptera_Apidae_Apis_mellifera", "Insects", "Western Honey Bee"),
    ("Plantae_Tracheophyta_Pinopsida_Pinales_Pinaceae_Abies_concolor", "Plants", "White Fir"),
]
INAT_2021_FILES = {"2021_train": ("train", "train.json"), "2021_train_mini": ("train_mini", "train_mini.json"),
                   "2021_valid": ("val", "val.json")}


def write_inaturalist_2021(root: Path, version: str = "2021_train_mini", per_class: int = 3,
                           annotations: bool = True, shipped: bool = False) -> Path:
    """torchvision's folders (``shipped``: the tarball's, train/ train_mini/ val/), and the
    competition's annotation file (COCO + iNat category fields, ``file_name`` under the tarball's
    folder name) beside them."""
    categories, images, links = [], [], []
    for index, (name, supercategory, common) in enumerate(INAT_2021_SPECIES):
        folder = f"{index:05d}_{name}"
        kingdom, phylum, klass, order, family, genus, epithet = name.split("_")
        categories.append({"id": index, "name": f"{genus} {epithet}", "common_name": common,
                           "supercategory": supercategory, "kingdom": kingdom, "phylum": phylum, "class": klass,
                           "order": order, "family": family, "genus": genus, "specific_epithet": epithet,
                           "image_dir_name": folder})
        for path in _images(root / (INAT_2021_FILES[version][0] if shipped else version) / folder, per_class):
            images.append({"id": len(images), "width": 8, "height": 8,
                           "file_name": f"{INAT_2021_FILES[version][0]}/{folder}/{path.name}"})
            links.append({"id": len(links), "image_id": images[-1]["id"], "category_id": index})
    if annotations:
        (root / INAT_2021_FILES[version][1]).write_text(json.dumps(
            {"info": {"year": 2021, "version": "2021"}, "images": images, "categories": categories,
             "annotations": links, "licenses": []}))
    return root


def write_domainnet(root: Path, domains=("clipart", "sketch"), per_class: int = 3,
                    classes=("aircraft_carrier", "zebra")) -> Path:
    """Every third image of a class is in ``<domain>_test.txt``, the rest in ``_train.txt``; labels
    numbered as DomainNet's files number them (names in order, without regard to case)."""
    for domain in domains:
        lines = {"train": [], "test": []}
        for label, cls in enumerate(sorted(classes, key=str.lower)):
            for i, path in enumerate(_images(root / domain / cls, per_class, stem=f"{domain}_{label:03d}")):
                lines["test" if i % 3 == 2 else "train"].append(f"{domain}/{cls}/{path.name} {label}")
        for split, rows in lines.items():
            (root / f"{domain}_{split}.txt").write_text("\n".join(rows) + "\n")
    return root


def write_wordnet_data_noun(path: Path, synsets: list[tuple[str, list[str], list[str], str]]) -> Path:
    """A miniature of WordNet 3.0's data.noun (wndb(5WN) format): a licence header of lines that start
    with two spaces, then ``offset lex_filenum n w_cnt(hex) word lex_id ... p_cnt(3 digits) [symbol offset
    n 0000]... | gloss``. ``synsets``: (8-digit offset, lemmas, pointers, gloss); a pointer is a hypernym
    offset, or "<symbol> <offset>" for another kind (e.g. "#m 01557697"). Offsets are the
    real wnids', so they are not byte positions here (the reader never seeks)."""
    lines = ["  1 This software and database is being provided to you, the LICENSEE, by  ",
             "  2 Princeton University under the following license.  "]
    for offset, lemmas, parents, gloss in synsets:
        words = " ".join(f"{lemma} 0" for lemma in lemmas)
        fields = [offset, "05", "n", f"{len(lemmas):02x}", words, f"{len(parents):03d}",
                  *(f"{parent if ' ' in parent else '@ ' + parent} n 0000" for parent in parents)]
        lines.append(" ".join(fields) + f" | {gloss}  ")
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path
