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


def write_inaturalist_2017(root: Path) -> Path:
    """2017/<supercategory>/<species>/ with a long tail, plus a COCO train2017.json (2 of 3 images)."""
    species = {"Plantae": {"Abies concolor": 6, "Acer rubrum": 3}, "Aves": {"Turdus migratorius": 5},
               "Insecta": {"Apis mellifera": 2}}
    listed = {"train": [], "val": []}
    for superc, members in species.items():
        for name, n in members.items():
            for i, path in enumerate(_images(root / "2017" / superc / name, n)):
                split = "val" if i % 3 == 2 else "train"
                listed[split].append({"id": i, "file_name": f"train_val_images/{superc}/{name}/{path.name}"})
    for split, images in listed.items():
        (root / f"{split}2017.json").write_text(json.dumps({"images": images, "annotations": [], "categories": []}))
    return root


def write_inaturalist_2021(root: Path, version: str = "2021_train_mini", per_class: int = 3) -> Path:
    for index, name in enumerate(["Animalia_Chordata_Aves_Passeriformes_Turdidae_Turdus_migratorius",
                                  "Animalia_Arthropoda_Insecta_Hymenoptera_Apidae_Apis_mellifera",
                                  "Plantae_Tracheophyta_Pinopsida_Pinales_Pinaceae_Abies_concolor"]):
        _images(root / version / f"{index:05d}_{name}", per_class)
    return root


def write_domainnet(root: Path, domains=("clipart", "sketch"), per_class: int = 3) -> Path:
    """Every third image of a class is in ``<domain>_test.txt``, the rest in ``_train.txt``."""
    for domain in domains:
        lines = {"train": [], "test": []}
        for label, cls in enumerate(("aircraft_carrier", "zebra")):
            for i, path in enumerate(_images(root / domain / cls, per_class, stem=f"{domain}_{label:03d}")):
                lines["test" if i % 3 == 2 else "train"].append(f"{domain}/{cls}/{path.name} {label}")
        for split, rows in lines.items():
            (root / f"{domain}_{split}.txt").write_text("\n".join(rows) + "\n")
    return root
