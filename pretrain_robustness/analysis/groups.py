"""Per-class and per-group views of the second paper (Kalibhat et al., Figures 1-4 and 6).

Pure functions over per-example prediction tables (``predictions`` command: split, filename,
y_true, y_pred, ...) and over the tidy run table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import ACCURACY, F1_MACRO
from ..store.states import RunStatus
from .schema import expand_params


def per_class_accuracy(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per true class: examples and the fraction predicted correctly (per-class recall)."""
    correct = predictions["y_true"] == predictions["y_pred"]
    table = correct.groupby(predictions["y_true"]).agg(["size", "mean"])
    return table.rename(columns={"size": "n", "mean": ACCURACY}).reset_index()


def pretraining_gain(pretrained: pd.DataFrame, scratch: pd.DataFrame, classes: pd.DataFrame) -> pd.DataFrame:
    """Figure 1's data: per class, accuracy pre-trained minus from scratch, in points, joined with
    ``classes`` (``y_true`` plus descriptive columns such as class_name, family, group). Only the
    classes listed in ``classes`` are kept (the paper's filtered bird species)."""
    if "y_true" not in classes:
        raise ValueError(f"the class table needs a 'y_true' column (label index); it has {list(classes.columns)}")
    a, b = per_class_accuracy(pretrained), per_class_accuracy(scratch)
    both = a.merge(b, on="y_true", suffixes=("_pretrained", "_scratch"))
    both["gain"] = 100.0 * (both["accuracy_pretrained"] - both["accuracy_scratch"])
    return classes.merge(both, on="y_true", how="inner")


def group_accuracy(predictions: pd.DataFrame, classes: pd.DataFrame, column: str = "superclass",
                   n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Figure 2's data: accuracy over all examples of each group (e.g. iNat supercategory), with a
    95% percentile-bootstrap interval over the group's images (``low``, ``high``). Resampling n
    images with replacement and counting the correct ones is a Binomial(n, accuracy) draw, so the
    resamples are drawn as that, seeded, in one call per group."""
    if column not in classes:
        raise ValueError(f"the class table has no column {column!r}; it has {list(classes.columns)}")
    # (the predictions may carry the column themselves: the class table's is the one used)
    joined = predictions.drop(columns=[column], errors="ignore").merge(classes[["y_true", column]], on="y_true", how="left")
    unmapped = joined[column].isna()
    if unmapped.any():
        raise ValueError(f"{int(unmapped.sum())} examples have a label missing from the class table, "
                         f"e.g. y_true={joined.loc[unmapped, 'y_true'].iloc[0]}")
    correct = joined["y_true"] == joined["y_pred"]
    table = correct.groupby(joined[column]).agg(["size", "mean"]).rename(columns={"size": "n", "mean": ACCURACY})
    rng = np.random.default_rng(seed)
    draws = [rng.binomial(n, p, size=n_boot) / n for n, p in zip(table["n"], table[ACCURACY])]
    table["low"], table["high"] = zip(*(np.percentile(d, [2.5, 97.5]) for d in draws))
    return table.reset_index()


def final_scores(tidy: pd.DataFrame, split: str, metric: str = F1_MACRO, stage: str = "val") -> pd.DataFrame:
    """Each finished fine-tuning run's score on ``split`` at its last scored epoch, with its
    condition parameters as ``param_*`` columns (Figures 3, 4, 6: score vs pre-training classes)."""
    rows = tidy[(tidy["split"] == split) & (tidy["metric"] == metric) & (tidy["stage"] == stage)
                & (tidy["status"] == RunStatus.FINISHED) & (tidy["kind"] == "finetune")]
    if rows.empty:
        raise ValueError(f"no finished fine-tuning run has {metric} on split {split!r} at stage {stage!r}")
    last = rows.sort_values("epoch").groupby("run").tail(1)
    return expand_params(last).reset_index(drop=True)


CORRECTED_COLUMNS = ["species", "val_images"]  # Luccioni & Rolnick's corrected ImageNet val, per bird species


def representation(classes: pd.DataFrame, matches: pd.DataFrame, image_counts: pd.Series | None = None,
                   corrected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Figure 1's colouring: how well ImageNet shows each species. ``matches`` from
    ``wordnet.species_match.match_species`` (one row per species, same order as ``classes``);
    ``image_counts``: ImageNet training images per wnid, counted from the user's ImageNet folder;
    ``corrected`` (schema ``CORRECTED_COLUMNS``): the paper's proxy, images of the species in the
    corrected ImageNet validation set; the paper keeps species with 0 ("0") and with 40+ ("40+").
    Without it: "in ImageNet" (the species or a hypernym is a class) vs "not in ImageNet"."""
    table = pd.concat([classes.reset_index(drop=True), matches.drop(columns=["species", "common_name"])], axis=1)
    if image_counts is not None:
        table["imagenet_images"] = table["imagenet_wnid"].map(image_counts).fillna(0).astype(int)
    if corrected is not None:
        missing = set(CORRECTED_COLUMNS) - set(corrected.columns)
        if missing:
            raise ValueError(f"the corrected-labels table needs columns {CORRECTED_COLUMNS}; missing {sorted(missing)}")
        counts = table["species"].map(corrected.set_index("species")["val_images"])
        table["represented"] = np.select([counts == 0, counts >= 40, counts.notna()], ["0", "40+", "1-39"],
                                         default="not in the corrected table")
    else:
        table["represented"] = np.where(table["imagenet_wnid"].notna(), "in ImageNet", "not in ImageNet")
    return table


def figure1_species(table: pd.DataFrame, taxon_class: str = "Aves") -> pd.DataFrame:
    """The species Figure 1 plots: of ``taxon_class`` (birds), those the paper's grouping keeps
    ("0"/"40+" with corrected labels, else both groups), in families with at least one species
    that ImageNet shows."""
    birds = table[table["class"] == taxon_class]
    if {"0", "40+"} & set(birds["represented"]):
        birds = birds[birds["represented"].isin(["0", "40+"])]
        shown = birds["represented"] == "40+"
    else:
        shown = birds["represented"] == "in ImageNet"
    families = set(birds.loc[shown, "family"])
    return birds[birds["family"].isin(families)].reset_index(drop=True)
