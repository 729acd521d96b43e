"""Screenshots of the report's sections, on synthetic studies whose lines are known (for the
README and the issue notes): out-of-sample residuals, an external baseline, every (ID, OOD) pair,
Kalibhat et al.'s Figures 1-2, the study's choices under a figure, Fig. 20's zero-shot panel.

    .venv/bin/python scripts/report_sections.py [--output docs/images] [--wordnet /usr/share/wordnet/data.noun]

Needs headless Chromium (``apt-get install chromium``). Writes report_<section>.png and the pages.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain_robustness.analysis import external_baseline, report
from pretrain_robustness.analysis.publish import write_per_class
from pretrain_robustness.analysis.schema import TIDY_COLUMNS, validate
from pretrain_robustness.analysis.browser import check_page


def _tidy(offsets: dict, tasks: dict | None = None, seed: int = 0, id_split: str = "id_test") -> pd.DataFrame:
    """Per condition (ID -> OOD offset), 3 architectures x 2 seeds x 6 epochs on a known line; with
    ``tasks`` ({task: {ood split: slope}}) one such set per task and OOD split."""
    rng = np.random.default_rng(seed)
    rows = []
    for condition, offset in offsets.items():
        for task, splits in (tasks or {None: {"ood_test": 0.7}}).items():
            for architecture in ("resnet18", "resnet50", "densenet121"):
                for repeat in (0, 1):
                    run = f"runs/s/finetune/{condition}/{architecture}{'-' + task if task else ''}-seed{repeat}"
                    for epoch in range(1, 7):
                        id_score = float(np.clip(0.15 + 0.08 * epoch + rng.normal(0, 0.03), 0.05, 0.95))
                        scores = {id_split: id_score}
                        scores.update({s: float(np.clip(k * id_score + offset + rng.normal(0, 0.015), 0.01, 0.99))
                                       for s, k in splits.items()})
                        for split, value in scores.items():
                            rows.append({"run": run, "study": "s", "kind": "finetune", "condition": condition,
                                         "params": json.dumps({"task": task} if task else {}),
                                         "architecture": architecture, "seed": repeat, "status": "finished",
                                         "stage": "val", "epoch": epoch, "split": split, "metric": "f1_macro",
                                         "value": value, "n": 100})
    return validate(pd.DataFrame(rows, columns=TIDY_COLUMNS))


def _section(built: report.Report, keep: list[str], folder: Path, name: str, choices=None) -> Path:
    """A page of the report's sections whose headings start with one of ``keep``, with its notes."""
    page = folder / f"report_{name}.html"
    sections = [(h, body) for h, body in built.sections if any(h.startswith(k) for k in keep)]
    page.write_text(report.render_html(f"{name.replace('_', ' ')} (synthetic study)", built.notes, sections,
                                       report.choices_html(choices)))
    return page


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="docs/images")
    parser.add_argument("--wordnet", default="/usr/share/wordnet/data.noun")
    args = parser.parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    shots = []
    choices = [{"choice": "iNaturalist superclasses", "taken": "section 4.4.2's list (Fungi)",
                "alternative": "Table 2's 7 largest (Mollusca for Fungi)"}]
    line = external_baseline.from_line("testbed (synthetic)", "Miller et al. 2021-style testbed line, synthetic here",
                                       slope=0.9, intercept=-0.35)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        main_report = report.build_report(_tidy({"scratch": 0.0, "imagenet": 0.06}), "synthetic", external=line,
                                          choices=choices)
        pages = {
            "residuals_held_out": _section(main_report, ["Residuals"], folder, "residuals_held_out"),
            "external_baseline": _section(main_report, ["ID vs OOD", "Effective robustness against"], folder,
                                          "external_baseline"),
            "choices": _section(main_report, ["ID vs OOD"], folder, "choices", choices),
        }
        tasks = {"clipart": {"ood_sketch": 0.7, "ood_real": 0.8}, "sketch": {"ood_clipart": 0.6, "ood_real": 0.75},
                 "real": {"ood_clipart": 0.65, "ood_sketch": 0.6}}
        pairs = report.build_report(_tidy({"scratch": 0.0, "imagenet": 0.04}, tasks), "synthetic-pairs")
        pages["domain_pairs"] = folder / "pairs.html"
        pages["domain_pairs"].write_text(pairs.html)
        # Fig. 20: one ID task (ImageNet, zero-shot) with two OOD splits, and a scratch line per split
        scratch = [replace(external_baseline.from_line(
            "scratch (synthetic)", "Miller et al.-style testbed line, synthetic here", slope, intercept), ood_split=split)
            for split, slope, intercept in (("ood_imagenet_v2", 0.95, -0.3), ("ood_imagenet_sketch", 0.8, -1.2))]
        zero_shot = report.build_report(_tidy({"laion-10m": 0.0, "laion-50m": 0.01, "laion-100m": 0.0},
                                              {"imagenet": {"ood_imagenet_v2": 0.85, "ood_imagenet_sketch": 0.5}},
                                              id_split="imagenet_val"),
                                        "synthetic-fig20", baseline="laion-10m", id_split="imagenet_val",
                                        external=scratch)
        pages["zero_shot"] = folder / "zero_shot.html"
        pages["zero_shot"].write_text(zero_shot.html)
        if Path(args.wordnet).is_file():
            pages["per_class"] = _per_class(folder, args.wordnet)
        for name, page in pages.items():
            check = check_page(page, output / f"report_{name}.png", size=(1200, 2200 if name == "domain_pairs" else 1500))
            if check.errors:
                raise RuntimeError(f"{name}: JavaScript errors {check.errors}")
            shots.append(check.screenshot)
            print(f"{name}: {check.screenshot}")
    return shots


def _per_class(folder: Path, wordnet: str) -> Path:
    """Figures 1-2 from two synthetic runs' predictions over real iNat bird and insect species."""
    species = [("Turdus migratorius", "American Robin", "Turdidae", "Aves", "Birds"),
               ("Catharus ustulatus", "Swainson's Thrush", "Turdidae", "Aves", "Birds"),
               ("Elanus leucurus", "White-tailed Kite", "Accipitridae", "Aves", "Birds"),
               ("Buteo jamaicensis", "Red-tailed Hawk", "Accipitridae", "Aves", "Birds"),
               ("Haliaeetus leucocephalus", "Bald Eagle", "Accipitridae", "Aves", "Birds"),
               ("Cardinalis cardinalis", "Northern Cardinal", "Cardinalidae", "Aves", "Birds"),
               ("Apis mellifera", "Western Honey Bee", "Apidae", "Insecta", "Insects"),
               ("Danaus plexippus", "Monarch", "Nymphalidae", "Insecta", "Insects")]
    rng = np.random.default_rng(0)
    for name, base in (("pretrained", 0.7), ("scratch", 0.5)):
        rows = [{"split": "val", "filename": f"{y}_{i}.jpg", "y_true": y,
                 "y_pred": y if rng.random() < base + rng.normal(0, 0.1) else -1, "species": s, "common_name": c,
                 "family": f, "class": k, "supercategory": g}
                for y, (s, c, f, k, g) in enumerate(species) for i in range(50)]
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    return write_per_class(str(folder / "pretrained.csv"), str(folder / "scratch.csv"), None, "val",
                           group="supercategory", output=folder / "per_class.html", wordnet=wordnet)


if __name__ == "__main__":
    main()
