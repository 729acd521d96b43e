"""The README and docs/ as a reader meets them: every link resolves (files and #anchors), the README fits
on a few screens, and every `pretrain-robustness` command they show parses (``--dry_run true`` for a
study, ``--print_config`` for a run, ``--help`` for the others)."""

import re
import shlex
from pathlib import Path

import pytest

from pretrain_robustness.cli import LIGHTNING_COMMANDS, main

REPO = Path(__file__).parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_resolves():
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, fragment = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif fragment and file.suffix == ".md":
                headings = {anchor(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), re.M)}
                if fragment not in headings:
                    broken.append(f"{page.name}: {target} (no heading #{fragment})")
    assert not broken, broken


def test_the_readme_is_a_front_door():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    assert "bash scripts/demo.sh" in text and "bash scripts/test.sh" in text
    for study in sorted((REPO / "configs" / "studies").glob("*.yaml")):
        assert study.name in text, f"{study.name} is not in the README's table of figures"


def shown_commands() -> list[tuple[str, list[str]]]:
    """(page, argv) of every `pretrain-robustness ...` line of the pages' bash blocks (continuations joined);
    a study shown as a dry run, a submission and a status check is checked once (all three are its dry run)."""
    found, seen = [], set()
    for page in PAGES:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                key = tuple(w for w in words[1:] if w not in ("--dry_run", "--status", "true"))
                if words and words[0].endswith("pretrain-robustness") and key not in seen:
                    seen.add(key)
                    found.append((page.name, words[1:]))
    return found


def test_the_docs_show_commands():
    commands = {argv[0] for _, argv in shown_commands() if argv}
    assert {"study", "fit", "report", "manifest", "fractaldb", "clip-pretrain"} <= commands, commands


@pytest.mark.slow
@pytest.mark.parametrize("page,argv", shown_commands(), ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else v)
def test_a_command_shown_in_the_docs_parses(page, argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # the docs' paths are relative to the checkout
    if not argv or argv[0] in ("--help", "-h"):
        main(argv)
        return
    if argv[0] == "study":
        check = [*argv, "--root", str(tmp_path / "runs")] + ([] if "--dry_run" in argv else ["--dry_run", "true"])
    elif argv[0] in LIGHTNING_COMMANDS:
        check = [*argv, "--run.root", str(tmp_path / "runs"), "--print_config"]
    else:  # the command's own parse of exactly these arguments, then its work replaced by a stop
        check = argv
        _stop_after_parsing(monkeypatch)
    try:
        main(check)
        assert argv[0] == "study" or argv[0] in LIGHTNING_COMMANDS, f"{argv[0]} ended before parsing its arguments"
    except ArgumentsParsed:
        pass
    except SystemExit as done:
        assert done.code in (0, None), f"{page}: pretrain-robustness {' '.join(argv)} -> exit {done.code}"
    assert "error:" not in capsys.readouterr().err


class ArgumentsParsed(Exception):
    """Raised where a command would start its work: every argument it was given has been parsed."""


# parsers whose command parses again before its work (manifest: its own options, then LightningCLI's)
_PARSED_AGAIN = {"pretrain-robustness manifest"}


def _stop_after_parsing(monkeypatch) -> None:
    from jsonargparse import ArgumentParser

    parse_args = ArgumentParser.parse_args

    def parse_then_stop(parser, *args, **kwargs):
        parsed = parse_args(parser, *args, **kwargs)  # a parse error propagates (exit_on_error=False: raised)
        if parser.prog in _PARSED_AGAIN:
            return parsed
        raise ArgumentsParsed(parser.prog)

    monkeypatch.setattr(ArgumentParser, "parse_args", parse_then_stop)


def test_a_misspelt_option_fails_the_docs_check(tmp_path, monkeypatch, capsys):
    """What the check above would have passed with ``--help`` appended: a misspelt option parses as an error."""
    with pytest.raises(Exception, match="studdy"):
        test_a_command_shown_in_the_docs_parses("README.md", ["report", "--studdy", "main"], tmp_path, monkeypatch, capsys)


def test_the_own_classes_example_in_data_md_builds_a_manifest_of_those_classes(tiny_data, tmp_path, monkeypatch):
    """docs/data.md's SelectClasses YAML, as written (its wnids swapped for two of the miniature's), composed
    as the page says, with the miniature as the data root ($PRETRAIN_ROBUSTNESS_DATA: no path overrides)."""
    import pandas as pd
    import yaml

    text = (REPO / "docs" / "data.md").read_text()
    example = next(block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "SelectClasses" in block)
    config = yaml.safe_load(example)
    wnids = sorted(p.name for p in (tiny_data / "imagenet" / "train").iterdir())[:2]
    config["data"]["init_args"]["interventions"][0]["init_args"]["classes"] = wnids
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("PRETRAIN_ROBUSTNESS_DATA", str(tiny_data))
    monkeypatch.chdir(REPO)
    main(["manifest", "--config", "configs/recipes/pretrain_torchvision.yaml", "--config",
          "configs/pretrain/imagenet_full.yaml", "--config", str(tmp_path / "mine.yaml"), "--output",
          str(tmp_path / "m.csv"), "--model.architecture", "resnet18"])
    manifest = pd.read_csv(tmp_path / "m.csv")
    assert sorted(manifest["source_class"].unique()) == wnids and (manifest["split"] == "train").sum() == 2 * 16
    assert all(path.startswith(str(tiny_data)) for path in manifest["path"])


# what the README's "data it needs" says for each dataset check-data names (its name -> a pattern in the cell)
README_DATA = [("ImageNet-1k train", r"ImageNet train"), ("ImageNet-1k val", r"ImageNet (train \+ )?val"),
               ("iWildCam-WILDS", r"iWildCam"), ("iNaturalist 2017", r"iNat 2017"),
               ("iNaturalist 2021_train_mini", r"iNat 2021 \(train_mini"), ("held out of 2021_train_mini", r"train_mini, train\)"),
               ("DomainNet", r"DomainNet"), ("ImageNet-V2", r"ImageNet-V2"), ("ImageNet-Sketch", r"ImageNet-Sketch"),
               ("web image-text", r"LAION"), ("(ImageNet's train layout)", r"Stable Diffusion"),
               ("(a folder per class)", r"FractalDB")]


@pytest.mark.slow
def test_the_readme_names_every_dataset_each_study_reads(monkeypatch):
    """Each study's row in the README's table names every dataset (and split) check-data checks for it."""
    from pretrain_robustness.study.data_check import study_datasets
    from pretrain_robustness.study.plan import plan
    from pretrain_robustness.study.spec import read_study

    rows = re.findall(r"^\|[^|]*\| (`[^|]*) \| ([^|]*) \|$", (REPO / "README.md").read_text(), re.M)
    cells = {name: cell for files, cell in rows for name in re.findall(r"`(\w+\.yaml)`", files)}
    unsaid = []
    monkeypatch.chdir(REPO)  # the studies' config paths are relative to the checkout
    for path in sorted((REPO / "configs" / "studies").glob("*.yaml")):
        spec = read_study(path)
        names = [check(False).name for check in study_datasets(spec, plan(spec)).values()]
        for name in names:
            pattern = next((p for key, p in README_DATA if key in name), None)
            if spec.demo_data is None and (pattern is None or not re.search(pattern, cells.get(path.name, ""))):
                unsaid.append(f"{path.name}: {name}")
    assert not unsaid, unsaid


def test_the_readmes_demo_figures_and_screenshot_come_from_one_run():
    """scripts/docs_images.sh writes the README's trend table and verdict, the screenshot and a record of
    both from one demo run: the README shows the record's printed lines, the screenshot is the one the
    record hashed, and the verdict's numbers are the record's comparison."""
    import hashlib
    import json

    record = json.loads((REPO / "docs" / "images" / "demo_report.json").read_text())
    png = (REPO / "docs" / "images" / "demo_report.png").read_bytes()
    assert hashlib.sha256(png).hexdigest() == record["screenshot_sha256"]
    readme = (REPO / "README.md").read_text()
    assert "\n".join(record["printed"]) in readme
    gap = record["comparisons"][0]
    verdict = f"gap {gap['gap']:+.1f} F1 points, 95% CI [{gap['low']:+.1f}, {gap['high']:+.1f}]"
    assert verdict in record["printed"][-1] and gap["verdict"] == record["printed"][-1]
