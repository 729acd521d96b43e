"""The committed studies run what the papers ran, or say where they do not: each held in place here
(Ramanujan et al. Appendix A's pre-training recipe, the cyan ImageNet line, the choices' texts)."""

import re
from pathlib import Path

import pytest
import yaml

from pretrain_robustness.analysis import external_baseline

REPO = Path(__file__).parents[1]
STUDIES = {p.name: yaml.safe_load(p.read_text()) for p in sorted((REPO / "configs" / "studies").glob("*.yaml"))}
# Ramanujan et al. draw the ImageNet pre-training line (cyan) in Figs. 4-8, 10, 11, 18, 19, 21 and 22
WITH_IMAGENET_LINE = ["fig04_quantity_imagenet.yaml", "fig04_quantity_inat.yaml", "fig05_granularity.yaml",
                      "fig06_semantics.yaml", "fig07_18_classes_vs_images.yaml", "fig08_per_class_diversity.yaml",
                      "fig10_11_19_sources.yaml", "fig21_22_domainnet.yaml", "fig21_domainnet_pairs.yaml"]


def _choice(study: dict, words: str) -> dict:
    found = [c for c in study.get("choices", []) if words in c["choice"]]
    assert len(found) == 1, f"no choice about {words!r}: {[c['choice'] for c in study.get('choices', [])]}"
    return found[0]


@pytest.mark.parametrize("name", [n for n, s in STUDIES.items() if "mobilenet_v3_large" in s["architectures"]])
def test_mobilenet_v3_is_pre_trained_with_the_papers_recipe(name):
    """Appendix A: PyTorch's ImageNet example for every architecture (AlexNet: lr 0.01); torchvision's
    own MobileNetV3 recipe is the stated alternative, one line away."""
    study = STUDIES[name]
    assert "mobilenet_v3_large" not in study.get("architecture_configs", {})
    assert study["architecture_configs"]["alexnet"] == ["configs/recipes/pretrain_torchvision_alexnet.yaml"]
    alternative = _choice(study, "MobileNetV3")["alternative"]
    named = re.search(r"configs/recipes/\S+\.yaml", alternative).group(0)
    assert named == "configs/recipes/pretrain_torchvision_mobilenet_v3.yaml" and (REPO / named).is_file()
    recipe = yaml.safe_load((REPO / "configs/recipes/pretrain_torchvision.yaml").read_text())
    assert recipe["model"]["optimizer"]["init_args"] == {"lr": 0.1, "momentum": 0.9, "weight_decay": 1.0e-4}
    assert recipe["model"]["lr_scheduler"]["init_args"] == {"step_size": 30, "gamma": 0.1}


@pytest.mark.parametrize("name", WITH_IMAGENET_LINE)
def test_the_imagenet_line_is_in_every_figure_the_paper_draws_it(name):
    study = STUDIES[name]
    own = any(c["name"] == "imagenet-full" for c in study["conditions"])
    included = any(i in ("fig03-imagenet-full", "fig03-imagenet-full:imagenet-full")
                   for i in study.get("report_includes", []))
    assert own or included
    fig03 = STUDIES["fig03_imagenet_full.yaml"]
    assert fig03["study"] == "fig03-imagenet-full" and "imagenet-full" in [c["name"] for c in fig03["conditions"]]


def test_fig3_says_whose_baseline_it_draws_and_the_readme_shows_the_alternative(tmp_path):
    """§3 adopts Miller et al.'s ImageNet trend; the study fits its own and says so; the README's YAML
    for Miller et al.'s points is one the report accepts."""
    choice = _choice(STUDIES["fig03_imagenet_full.yaml"], "baseline")
    assert "own ImageNet trend" in choice["taken"] and "Miller" in choice["alternative"]
    snippet = re.search(r"```yaml\n(external_baseline: .*?)\n```", (REPO / "README.md").read_text(), re.S).group(1)
    given = yaml.safe_load(snippet)["external_baseline"]
    points = tmp_path / "miller.csv"
    points.write_text("id,ood\n0.30,0.20\n0.40,0.28\n0.50,0.33\n")
    (line,) = external_baseline.load_all({**given, "csv": str(points)})
    assert line.name == "miller2021" and line.transform == "probit" and "Miller et al. 2021" in line.provenance


@pytest.mark.parametrize("name", ["fig21_22_domainnet.yaml", "fig21_domainnet_pairs.yaml"])
def test_domainnets_choice_says_what_its_configs_do(name):
    study = STUDIES[name]
    taken = _choice(study, "DomainNet fine-tuning recipe")["taken"]
    recipe, data = (yaml.safe_load((REPO / f).read_text()) for f in study["finetune"])
    assert recipe["run"]["recipe"] == "wilds-iwildcam-erm" and "WILDS' iWildCam optimiser" in taken
    assert f"{data['data']['init_args']['image_size']} px, random-resized-crop" in taken


def test_a_study_without_an_ood_split_names_no_missing_baseline():
    for name, study in STUDIES.items():
        names = [c["name"] for c in study["conditions"]]
        assert study.get("baseline") in names or study.get("report_includes") or (
            study.get("baseline") is None and study.get("ood_split") is None), name


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_config_a_choice_names_exists(name):
    """A choice's alternative is one config away: the config it names is there."""
    for choice in STUDIES[name].get("choices", []):
        for path in re.findall(r"configs/[\w/.-]+\.yaml", f"{choice['taken']} {choice['alternative']}"):
            assert (REPO / path).is_file(), f"{name}: {choice['choice']!r} names {path}, which does not exist"
