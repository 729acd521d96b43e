"""Zero-shot evaluation of CLIP checkpoints (Fig. 20) on generated ImageNet val / ImageNet-V2 /
ImageNet-Sketch layouts. The plumbing (class order, open_clip's class names and 80 templates, the
splits, the metrics) is checked with a model built so that the right answer is known: its text
tower knows exactly open_clip's 80,000 prompts, its image tower reads the class off the pixels."""

import numpy as np
import open_clip
import pandas as pd
import pytest
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image

from pretrain_robustness.clip import zeroshot as clip_zeroshot
from pretrain_robustness import store
from pretrain_robustness.cli import main
from pretrain_robustness.metrics import wilds_macro_f1
from pretrain_robustness.wordnet.synsets import imagenet1k_wnids

pytestmark = pytest.mark.xdist_group("clip_zeroshot")  # its module fixture is built once

MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
CLASSES = [0, 1, 2, 10, 100, 999]  # read as an ImageFolder, V2's folders "10" and "100" would be classes 2 and 3


def colour(k: int) -> tuple[int, int, int]:
    """The colour that says class ``k`` (steps wide enough to survive JPEG)."""
    return 5 * (k % 50), 12 * (k // 50), 100


def _image(path, k, mode="RGB", fmt="JPEG", blue=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (40, 30), (*colour(k)[:2], blue))
    converted = image.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else image.convert(mode)
    converted.save(path, format=fmt)


def layouts(root, wrong_val=(), blue=(100, 100, 100)):
    """ImageNet val, V2 and Sketch in their released layouts, 3 images per class; the val images in
    ``wrong_val`` show another class's colour (so the exact accuracy is known); ``blue``: the blue of
    the val, V2 and Sketch images (a model can tell the sets apart by it)."""
    wnids = imagenet1k_wnids()
    n = 0
    for k in CLASSES:
        for i in range(3):
            n += 1
            shown = (k + 1) % 1000 if (k, i) in wrong_val else k
            _image(root / "imagenet" / "val" / wnids[k] / f"ILSVRC2012_val_{n:08d}.JPEG", shown, blue=blue[0])
            _image(root / "v2" / "imagenetv2-matched-frequency-format-val" / str(k) / f"{k:04d}{i}a9f.jpeg", k,
                   blue=blue[1])
            _image(root / "sketch" / "sketch" / wnids[k] / f"sketch_{i}.JPEG", k,  # a palette PNG named .JPEG, a CMYK JPEG
                   mode={0: "P", 1: "CMYK"}.get(i, "RGB"), fmt="PNG" if i == 0 else "JPEG", blue=blue[2])
    return {"imagenet_val": str(root / "imagenet"), "ood_imagenet_v2": str(root / "v2"),
            "ood_imagenet_sketch": str(root / "sketch")}


class KnownAnswerCLIP(torch.nn.Module):
    """Text: one-hot of the class whose (open_clip class name, OpenAI template) prompt it is; an
    unknown prompt is an error. Image: one-hot of the class its colour says, moved by ``shift``, or
    of ``answer(class, blue)``."""

    def __init__(self, prompt_class: dict[tuple, int], shift: int = 0, answer=None):
        super().__init__()
        self.prompt_class, self.seen = prompt_class, set()
        self.answer = answer or (lambda k, blue: (k + shift) % 1000)

    def encode_text(self, tokens, normalize=False):
        rows = [tuple(r) for r in tokens.tolist()]
        unknown = [r for r in rows if r not in self.prompt_class]
        assert not unknown, "a prompt that is not open_clip's class name in an OpenAI template"
        self.seen.update(rows)
        return torch.nn.functional.one_hot(torch.tensor([self.prompt_class[r] for r in rows]), 1000).float()

    def encode_image(self, images, normalize=False):
        centre = images[:, :, images.shape[2] // 2, images.shape[3] // 2]
        rgb = (centre * torch.tensor(STD) + torch.tensor(MEAN)) * 255
        k = (torch.round(rgb[:, 0] / 5) + 50 * torch.round(rgb[:, 1] / 12)).long()
        answers = [self.answer(int(c), float(b)) for c, b in zip(k, rgb[:, 2])]
        return torch.nn.functional.one_hot(torch.tensor(answers), 1000).float()


@pytest.fixture(scope="module")
def prompt_class():
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES, OPENAI_IMAGENET_TEMPLATES

    prompts = [(t(c), k) for k, c in enumerate(IMAGENET_CLASSNAMES) for t in OPENAI_IMAGENET_TEMPLATES]
    tokens = open_clip.get_tokenizer("ViT-B-32")([p for p, _ in prompts])
    return {tuple(row): k for row, (_, k) in zip(tokens.tolist(), prompts)}


def _pretrain_run(root, epochs=2, status="finished"):
    folder = root / "fig20" / "pretrain" / "laion-10m" / "clip-ViT-B-32-seed0"
    (folder / "open_clip" / "run" / "checkpoints").mkdir(parents=True)
    for epoch in range(1, epochs + 1):
        (folder / "open_clip" / "run" / "checkpoints" / f"epoch_{epoch}.pt").write_bytes(b"")
    store.write_record(folder, {"study": "fig20", "kind": "pretrain", "condition": "laion-10m", "status": status,
                                "architecture": "clip:ViT-B-32", "seed": 0,
                                "params": {"source": "webdataset", "pairs": 10_000_000}})
    return folder


def _known_answer_loader(prompt_class, models):
    transform = image_transform_v2(PreprocessCfg(size=32, mean=MEAN, std=STD), is_train=False)

    def load(architecture, checkpoint, device):
        model = KnownAnswerCLIP(prompt_class, shift=0 if checkpoint.name == "epoch_2.pt" else 1)
        models.append(model)
        return model, transform, open_clip.get_tokenizer("ViT-B-32")
    return load


def test_zero_shot_scores_match_the_known_answer_on_every_layout(tmp_path, prompt_class, monkeypatch, capsys):
    wrong = {(10, 1), (999, 2)}
    roots = layouts(tmp_path / "data", wrong_val=wrong)
    run = _pretrain_run(tmp_path / "runs")
    models = []
    monkeypatch.setattr(clip_zeroshot, "load_checkpoint_model", _known_answer_loader(prompt_class, models))
    main(["clip-zeroshot", "--run", str(run), "--imagenet", roots["imagenet_val"], "--imagenet_v2",
          roots["ood_imagenet_v2"], "--imagenet_sketch", roots["ood_imagenet_sketch"], "--workers", "0",
          "--batch_size", "5"])
    # open_clip's 1,000 class names x 80 templates, every one of them, for each checkpoint
    # (open_clip names classes 657 and 744 both "missile", 836 and 837 both "sunglasses": 160 prompts repeat)
    assert len(prompt_class) == 80_000 - 2 * 80 and len(models) == 2
    assert all(m.seen == set(prompt_class) for m in models)
    folder = tmp_path / "runs" / "fig20" / "zeroshot" / "laion-10m" / "clip-ViT-B-32-seed0"
    metrics = store.read_metrics(folder).set_index(["epoch", "split"])
    assert sorted(metrics.index.get_level_values("split").unique()) == sorted(roots)
    assert (metrics["n"] == 18).all()
    # epoch 1's model answers the next class: nothing right; epoch 2's answers the colour's class
    assert (metrics.loc[1, "accuracy"] == 0).all()
    assert metrics.loc[(2, "ood_imagenet_v2"), "accuracy"] == 1.0  # folder "10" is class 10, not 2
    labels = np.repeat(CLASSES, 3)
    predicted = np.array([(k + 1) % 1000 if (k, i) in wrong else k for k in CLASSES for i in range(3)])
    assert metrics.loc[(2, "imagenet_val"), "accuracy"] == pytest.approx(16 / 18)
    assert metrics.loc[(2, "imagenet_val"), "f1_macro"] == pytest.approx(wilds_macro_f1(labels, predicted))
    assert metrics.loc[(2, "ood_imagenet_sketch"), "accuracy"] == 1.0  # palette and CMYK files made RGB
    record = store.read_record(folder)
    assert record["kind"] == "zeroshot" and record["status"] == "finished" and record["epochs"] == 2
    assert record["params"] == {"source": "webdataset", "pairs": 10_000_000, "task": "imagenet"}
    assert record["top5"]["2"]["ood_imagenet_v2"] == 1.0
    assert "epoch 2 ood_imagenet_v2: top-1 100.00%" in capsys.readouterr().out
    # again: both checkpoints are scored already, nothing is loaded; a third checkpoint is scored alone
    (run / "open_clip" / "run" / "checkpoints" / "epoch_3.pt").write_bytes(b"")
    models.clear()
    main(["clip-zeroshot", "--run", str(run), "--imagenet", roots["imagenet_val"], "--workers", "0"])
    assert len(models) == 1 and "epoch 1: scored already" in capsys.readouterr().out
    assert sorted(store.read_metrics(folder)["epoch"].unique()) == [1, 2, 3]


def test_bad_layouts_and_runs_are_named_before_any_model_loads(tmp_path, monkeypatch):
    roots = layouts(tmp_path / "data")
    run = _pretrain_run(tmp_path / "runs")
    monkeypatch.setattr(clip_zeroshot, "load_checkpoint_model", lambda *a: pytest.fail("loaded a model"))
    base = ["clip-zeroshot", "--run", str(run), "--imagenet", roots["imagenet_val"]]
    with pytest.raises(FileNotFoundError, match="ImageNet-V2 \\(matched-frequency\\) not found under .*format-val/<class"):
        main([*base, "--imagenet_v2", str(tmp_path / "data" / "sketch")])
    (tmp_path / "data" / "v2" / "imagenetv2-matched-frequency-format-val" / "1000").mkdir()
    _image(tmp_path / "data" / "v2" / "imagenetv2-matched-frequency-format-val" / "1000" / "x.jpeg", 3)
    with pytest.raises(ValueError, match="class index 1000 is outside 0-999"):
        main([*base, "--imagenet_v2", roots["ood_imagenet_v2"]])
    _image(tmp_path / "data" / "sketch" / "sketch" / "n00001740" / "sketch_0.JPEG", 3)
    with pytest.raises(ValueError, match="not ImageNet-1k classes, e.g. \\['n00001740'\\]"):
        main([*base, "--imagenet_sketch", roots["ood_imagenet_sketch"]])
    with pytest.raises(ValueError, match="needs ImageNet val"):
        main(["clip-zeroshot", "--run", str(run)])
    empty = _pretrain_run(tmp_path / "other", epochs=0)
    with pytest.raises(FileNotFoundError, match="holds no epoch_<k>.pt"):
        main(["clip-zeroshot", "--run", str(empty), "--imagenet", roots["imagenet_val"]])


def test_the_v2_and_sketch_tables_follow_imagenets_index_order(tmp_path):
    from pretrain_robustness.datamodules.sources import ImageNetSketch, ImageNetV2

    roots = layouts(tmp_path)
    v2 = ImageNetV2(roots["ood_imagenet_v2"]).table()
    assert sorted(set(v2["label"])) == CLASSES and v2.loc[v2["label"] == 10, "source_class"].iloc[0] == imagenet1k_wnids()[10]
    assert v2.loc[v2["label"] == 0, "class_name"].iloc[0] == "tench"
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (tmp_path / "v2" / "imagenetv2-matched-frequency-format-val").rename(renamed / "ImageNetV2-matched-frequency")
    assert len(ImageNetV2(str(renamed)).table()) == 18  # the folder as imagenetv2_pytorch renames it
    sketch = ImageNetSketch(roots["ood_imagenet_sketch"]).table()
    assert sorted(set(sketch["label"])) == CLASSES and len(sketch) == 18


@pytest.mark.slow
def test_fig20_study_end_to_end(tmp_path, prompt_class, monkeypatch, capsys):
    """One command for Figure 20 on generated data: nested subsets of generated webdataset shards,
    open_clip's trainer on each (a tiny model, 3 checkpoints), every checkpoint scored zero-shot,
    and the report's ImageNet panel with both OOD splits and the external scratch line. The scoring
    model is the known-answer one (a random tiny CLIP scores 0 everywhere, which has no trend): it
    answers more classes right with each checkpoint and with the larger subset, fewer on V2 and
    fewest on Sketch, so every score is known. One real checkpoint is then scored both by the
    project and by open_clip_train's own zero_shot_eval: the same top-1 and top-5."""
    import yaml

    from .test_webdataset_subsets import tiny_clip_setup

    _, model, recipe = tiny_clip_setup(tmp_path, [32, 64], samples_seen=48, checkpoints=3)
    roots = layouts(tmp_path / "data", blue=(100, 150, 200))
    testbed = tmp_path / "testbed.csv"
    ids = np.linspace(0.2, 0.8, 7)
    pd.DataFrame({"model": [f"m{i}" for i in range(7)], "id": ids, "imagenet_v2": ids - 0.1,
                  "imagenet_sketch": ids / 2}).to_csv(testbed, index=False)
    line = {"name": "scratch", "source": "synthetic testbed", "csv": str(testbed), "transform": "probit"}
    study = {"study": "fig20", "root": str(tmp_path / "runs"), "architectures": ["clip:ViT-B-32"], "finetune": [],
             "clip": {"recipe": str(recipe), "gpus": 0,
                      "zero_shot": {"imagenet": roots["imagenet_val"], "imagenet_v2": roots["ood_imagenet_v2"],
                                    "imagenet_sketch": roots["ood_imagenet_sketch"], "batch_size": 8, "workers": 0}},
             "conditions": [{"name": f"laion-{n}", "clip_subset": str(tmp_path / "subsets" / str(n)),
                             "params": {"source": "laion", "pairs": n}} for n in (32, 64)],
             "baseline": "laion-32", "id_split": "imagenet_val", "ood_split": "ood_imagenet_v2", "metric": "accuracy",
             "external_baseline": [{**line, "ood_split": "ood_imagenet_v2", "ood_column": "imagenet_v2"},
                                   {**line, "ood_split": "ood_imagenet_sketch", "ood_column": "imagenet_sketch"}]}
    config = tmp_path / "fig20.yaml"
    config.write_text(yaml.safe_dump(study))

    real_loader = clip_zeroshot.load_checkpoint_model
    transform = image_transform_v2(PreprocessCfg(size=32, mean=MEAN, std=STD), is_train=False)
    offset = {100: 1, 150: 0, 200: -1}  # classes answered right: val > V2 > Sketch

    def known_answers(architecture, checkpoint, device):
        real_loader(architecture, checkpoint, device)  # the trainer's checkpoint loads
        epoch, larger = int(checkpoint.stem.split("_")[1]), "laion-64" in str(checkpoint)
        right = lambda blue: offset[min(offset, key=lambda b: abs(b - blue))] + epoch + larger  # noqa: E731
        answer = lambda k, blue: k if CLASSES.index(k) < right(blue) else (k + 1) % 1000  # noqa: E731
        return KnownAnswerCLIP(prompt_class, answer=answer), transform, open_clip.get_tokenizer("ViT-B-32")

    monkeypatch.setattr(clip_zeroshot, "load_checkpoint_model", known_answers)
    main(["study", "--config", str(config)])
    runs = tmp_path / "runs" / "fig20"
    for n in (32, 64):
        pretrain = store.read_record(runs / "pretrain" / f"laion-{n}" / "clip-tiny-clip-seed0")
        assert pretrain["status"] == "finished" and pretrain["params"] == {"source": "laion", "pairs": n}
        scores = store.read_metrics(runs / "zeroshot" / f"laion-{n}" / "clip-tiny-clip-seed0").set_index(["epoch", "split"])
        for epoch in (1, 2, 3):
            for split, shift in (("imagenet_val", 1), ("ood_imagenet_v2", 0), ("ood_imagenet_sketch", -1)):
                assert scores.loc[(epoch, split), "accuracy"] == pytest.approx((shift + epoch + (n == 64)) / 6)
    _check_wandb_runs(runs, tmp_path / "runs")
    trends = pd.read_csv(runs / "trends.csv")
    assert sorted(zip(trends["ood_split"], trends["condition"])) == [
        ("ood_imagenet_sketch", "laion-32"), ("ood_imagenet_sketch", "laion-64"),
        ("ood_imagenet_v2", "laion-32"), ("ood_imagenet_v2", "laion-64")]
    assert set(trends["task"]) == {"imagenet"}
    external = pd.read_csv(runs / "external_baseline.csv").set_index(["ood_split", "condition"])
    from pretrain_robustness.analysis import external_baseline

    v2_line = external_baseline.load({**line, "ood_column": "imagenet_v2"})
    mine = np.array([(2 + e) / 6 for e in (1, 2, 3)]), np.array([(1 + e) / 6 for e in (1, 2, 3)])
    assert external.loc[("ood_imagenet_v2", "laion-64"), "er_points"] == pytest.approx(
        100 * np.mean(mine[1] - v2_line.predict(mine[0])))
    page = (runs / "report.html").read_text()
    assert "ood_imagenet_sketch \\u00b7 scratch (external)" in page and "Figures 20, 21" in page
    out = capsys.readouterr().out
    assert "imagenet -> ood_imagenet_v2: laion-64" in out  # the verdict against the 10M-like baseline
    main(["study", "--config", str(config)])  # again: every run is finished, nothing runs twice
    assert "finished" in capsys.readouterr().out and "open_clip_train" not in out.split("report")[-1]

    # one real checkpoint: the project's scores equal open_clip_train's own zero-shot evaluation
    from argparse import Namespace

    from open_clip import build_zero_shot_classifier as zero_shot_classifier_of_open_clip
    from open_clip_train import zero_shot
    from open_clip_train.data import DataInfo

    def accuracy(output, target, topk=(1,)):  # theirs, with .item(): float() of a 1-element array fails on NumPy 2.4
        pred = output.topk(max(topk), 1, True, True)[1].t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        return [correct[:k].reshape(-1).float().sum().item() for k in topk]

    monkeypatch.setattr(zero_shot, "accuracy", accuracy)
    built = []  # the classifier open_clip_train's zero-shot evaluation builds, with its own class names and templates
    monkeypatch.setattr(zero_shot, "build_zero_shot_classifier",
                        lambda *a, **k: built.append(zero_shot_classifier_of_open_clip(*a, **k)) or built[-1])

    checkpoint = runs / "pretrain" / "laion-64" / "clip-tiny-clip-seed0" / "open_clip" / "run" / "checkpoints" / "epoch_3.pt"
    tiny, transform, tokenizer = real_loader(f"clip:{model}", checkpoint, torch.device("cpu"))
    tokenizer = clip_zeroshot.CachedTokenizer(tokenizer)  # as scoring uses it; both classifiers tokenize 80,000 prompts once
    table = clip_zeroshot.split_tables({"imagenet_val": roots["imagenet_val"]})["imagenet_val"]
    loader = torch.utils.data.DataLoader(clip_zeroshot.ImageTable(table, transform), batch_size=8)
    theirs = zero_shot.zero_shot_eval(tiny, {"imagenet-val": DataInfo(loader)}, 1, Namespace(
        zeroshot_frequency=1, epochs=1, distributed=False, horovod=False, device="cpu", precision="fp32",
        batch_size=8, model="tiny-clip"), tokenizer)
    classifier = clip_zeroshot.zero_shot_classifier(tiny, tokenizer, torch.device("cpu"))
    assert len(built) == 1 and built[0].shape == classifier.shape and classifier.shape[1] == 1000
    torch.testing.assert_close(classifier, built[0], rtol=0, atol=0)  # the same text towers, names and templates
    labels, predicted, top5 = clip_zeroshot.predict(tiny, classifier, loader, torch.device("cpu"))
    assert np.mean(labels == predicted) == theirs["imagenet-zeroshot-val-top1"]
    assert top5 == theirs["imagenet-zeroshot-val-top5"]
    # a random tiny model is right about nothing, so also: labelled with our predictions, theirs are all right
    ours = torch.utils.data.DataLoader(clip_zeroshot.ImageTable(table.assign(label=predicted), transform), batch_size=8)
    assert zero_shot.run(tiny, classifier, ours, Namespace(device="cpu", precision="fp32", batch_size=8))[0] == 1.0
    assert len(set(predicted)) > 1  # not one class for every image


def test_a_fig20_study_names_missing_data_before_any_run(tmp_path):
    import yaml

    study = yaml.safe_load(open("configs/studies/fig20_laion.yaml"))
    study.update(root=str(tmp_path / "runs"), external_baseline=None)
    config = tmp_path / "fig20.yaml"
    config.write_text(yaml.safe_dump(study))
    with pytest.raises(FileNotFoundError, match="condition 'laion-10m': data/laion-subsets/10000000/subset.json not found"):
        main(["study", "--config", str(config)])
    study["external_baseline"] = [{"name": "scratch", "source": "s", "csv": str(tmp_path / "none.csv"),
                                   "ood_split": "ood_imagenet_v2"}]
    config.write_text(yaml.safe_dump(study))
    with pytest.raises(FileNotFoundError, match="external baseline 'scratch': .*none.csv not found"):
        main(["study", "--config", str(config)])
    assert not (tmp_path / "runs").exists()


def _check_wandb_runs(runs, root):
    """W&B: open_clip_train's own reporting is the study's CLIP run (group, job type, record, the trainer's
    arguments under ``open_clip_train``, its training curves); each zero-shot run logs its scores with the same
    record; the W&B reader over the whole group (every kind, the report's run too) gives the local table."""
    from pretrain_robustness.analysis.run_table import load_local_runs, load_wandb_runs

    from . import wandb_records
    from .test_run_tables import FakeApi, FakeWandbRun

    served = []
    for folder in [*sorted(runs.glob("*/*/clip-tiny-clip-seed0")), runs]:
        logged = wandb_records.finished_run_file(folder, first=True)
        settings, config = wandb_records.run_settings(logged), wandb_records.config(logged)
        assert settings.run_group == "fig20", folder
        if folder != runs:
            record = store.read_record(folder)
            assert settings.run_id == record["wandb_id"] and settings.job_type == record["kind"]
            assert config["record"]["condition"] == record["condition"] == folder.parent.name
        if settings.job_type == "pretrain":
            assert "open_clip_train" in config and any("train/loss" in row for row in wandb_records.history(logged))
        served.append(FakeWandbRun(settings.run_id, config, "finished", wandb_records.history(logged), "fig20"))
        served[-1].job_type = settings.job_type
    assert sorted(r.job_type for r in served) == ["pretrain", "pretrain", "report", "zeroshot", "zeroshot"]
    remote = load_wandb_runs("me/proj", api=FakeApi(served))
    local = load_local_runs(root, "fig20")
    keys = ["condition", "epoch", "split", "metric"]
    left, right = (t[t["kind"] == "zeroshot"].sort_values(keys).reset_index(drop=True)[[*keys, "value", "params"]]
                   for t in (local, remote))
    assert len(left) == 2 * 3 * 3 * 2  # conditions x checkpoints x splits x (F1, accuracy)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_your_own_clip_checkpoint_is_scored_zero_shot_as_a_condition(tmp_path, prompt_class, monkeypatch, capsys):
    """``checkpoint: {path, sha256, source, zero_shot: clip:<model>}``: the file must load as that open_clip model
    (before any run), and its step scores it zero-shot into the study's zeroshot runs with its provenance."""
    import hashlib
    import json
    import shlex

    import yaml

    from .test_clip import TINY

    roots = layouts(tmp_path / "data")
    config = tmp_path / "tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    checkpoint = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(open_clip.create_model("tiny-clip").state_dict(), checkpoint)
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    given = {"path": str(checkpoint), "sha256": sha, "source": "OpenAI: CLIP tiny", "zero_shot": f"clip:{config}"}

    def study(**checkpoint_changes) -> str:
        spec = {"study": "fig20", "root": str(tmp_path / "runs"), "architectures": ["clip:ViT-B-32"], "finetune": [],
                "clip": {"zero_shot": {"imagenet": roots["imagenet_val"], "imagenet_v2": roots["ood_imagenet_v2"],
                                       "imagenet_sketch": roots["ood_imagenet_sketch"], "batch_size": 8, "workers": 0}},
                "conditions": [{"name": "mine", "checkpoint": {**given, **checkpoint_changes}}],
                "baseline": "mine", "id_split": "imagenet_val", "ood_split": "ood_imagenet_v2", "metric": "accuracy"}
        (tmp_path / "study.yaml").write_text(yaml.safe_dump(spec))
        return str(tmp_path / "study.yaml")

    main(["study", "--config", study(), "--dry_run", "true", "--commands", "true"])
    (line,) = [l for l in capsys.readouterr().out.splitlines() if l.startswith("pretrain-robustness clip-zeroshot")]
    assert f"--checkpoint {checkpoint}" in line and "--run " not in line
    with pytest.raises(ValueError, match="condition 'mine': zero_shot names a clip:<open_clip model> architecture"):
        main(["study", "--config", study(zero_shot="resnet18"), "--dry_run", "true"])
    other = tmp_path / "resnet.pth"
    torch.save(__import__("torchvision").models.resnet18().state_dict(), other)
    with pytest.raises(ValueError, match="condition 'mine': its checkpoint is not an open_clip clip:"):
        main(["study", "--config", study(path=str(other), sha256=hashlib.sha256(other.read_bytes()).hexdigest()),
              "--dry_run", "true"])
    monkeypatch.setattr(clip_zeroshot, "load_checkpoint_model", _known_answer_loader(prompt_class, []))
    main(shlex.split(line)[1:])
    folder = tmp_path / "runs" / "fig20" / "zeroshot" / "mine" / f"clip-{config.with_suffix('').name}-seed0"
    metrics = store.read_metrics(folder).set_index("split")
    # one point; the known-answer model answers the next class for any file but epoch_2.pt: none right, all scored
    assert (metrics["epoch"] == 1).all() and (metrics["n"] == 18).all() and (metrics["accuracy"] == 0).all()
    record = store.read_record(folder)
    assert record["status"] == "finished" and record["init_checkpoint"]["sha256"] == sha
    assert record["params"] == {"checkpoint": "OpenAI: CLIP tiny", "checkpoint_sha256": sha, "task": "imagenet"}
