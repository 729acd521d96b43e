"""Source -> interventions -> manifest -> dataset, on the ILSVRC-layout miniature."""

import hashlib
import subprocess
import sys
from argparse import ArgumentError

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pretrain_robustness.datamodules import PretrainDataModule
from pretrain_robustness.datamodules.classification import ImageReadError, read_image
from pretrain_robustness.datamodules.interventions import ClassBalancedSubset, SelectClasses
from pretrain_robustness.datamodules.manifest import MANIFEST_COLUMNS, manifest_hash
from pretrain_robustness.datamodules.sources import ImageNetTrain


def test_source_table(tiny_data):
    table = ImageNetTrain(tiny_data / "imagenet").table()
    assert set(table.columns) >= {"path", "source_class", "class_name"}
    assert table.groupby("source_class").size().eq(16).all()
    assert "tench" in set(table["class_name"])


def test_class_balanced_subset_is_seeded_and_balanced(tiny_data):
    table = ImageNetTrain(tiny_data / "imagenet").table()
    a, b = ClassBalancedSubset(64, seed=1)(table), ClassBalancedSubset(64, seed=1)(table)
    assert a.equals(b) and len(a) == 64 and a.groupby("source_class").size().eq(4).all()
    assert not a.equals(ClassBalancedSubset(64, seed=2)(table))


def test_asking_for_more_than_there_is_says_how_much(tiny_data):
    table = ImageNetTrain(tiny_data / "imagenet").table()
    with pytest.raises(ValueError, match="has 16"):
        ClassBalancedSubset(16 * 17, seed=0)(table)
    with pytest.raises(ValueError, match="n99999999"):
        SelectClasses(["n99999999"])(table)


def test_manifest_and_hash(tiny_data):
    data = PretrainDataModule(ImageNetTrain(str(tiny_data / "imagenet")), [ClassBalancedSubset(128, seed=0)],
                              val_per_class=2, image_size=32, batch_size=8, num_workers=0)
    manifest = data.manifest
    assert len(manifest) == 128 and (manifest["split"] == "val").sum() == 2 * 16
    assert data.num_classes == 16 and manifest["label"].max() == 15
    image, label, index = data.dataset("train")[0]
    assert image.shape == (3, 32, 32) and index == 0
    assert manifest_hash(manifest) == manifest_hash(manifest.sample(frac=1, random_state=0))


@pytest.mark.parametrize("change", [{}, {"class_name": ["a,b", "x"]}, {"class_name": ['say "hi"', "x"]},
                                    {"class_name": ["a\nb", "x"]}, {"class_name": ["a\rb", "x"]},
                                    {"class_name": [float("nan"), "x"]}, {"class_name": ["", " é "]},
                                    {"label_name": [3, 4]}, {"label": [1.0, 2.0]}])
def test_the_manifest_hash_is_pandas_csv_byte_for_byte(change):
    """The hash is the identity of runs: its fast path gives pandas' CSV bytes, or steps aside."""
    manifest = pd.DataFrame({"path": ["b/2.jpg", "a/1.jpg"], "source_class": ["n1", "n2"], "class_name": ["x", "y"],
                             "label": [0, 1], "label_name": ["n1", "n2"], "split": ["train", "val"],
                             "file_bytes": ["1234", ""]}).assign(**change)
    for frame in (manifest, manifest.head(0)):
        canonical = frame[MANIFEST_COLUMNS].sort_values("path", kind="stable")
        assert manifest_hash(frame) == hashlib.sha256(canonical.to_csv(index=False).encode()).hexdigest()


@pytest.mark.slow
def test_same_manifest_in_another_process(tiny_data):
    code = ("from pretrain_robustness.datamodules import PretrainDataModule as P;"
            "from pretrain_robustness.datamodules.sources import ImageNetTrain as S;"
            "from pretrain_robustness.datamodules.interventions import ClassBalancedSubset as C;"
            f"print(P(S({str(tiny_data / 'imagenet')!r}), [C(64, seed=5)], val_per_class=1, num_workers=0).manifest_sha256)")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()[-1]
    # here: this process (another hash seed, and caches other tests filled) computes the same manifest
    here = PretrainDataModule(ImageNetTrain(tiny_data / "imagenet"), [ClassBalancedSubset(64, seed=5)], val_per_class=1,
                              num_workers=0).manifest_sha256
    assert there == here


def test_cmyk_and_png_named_jpeg_load_as_rgb(tmp_path):
    cmyk = tmp_path / "n00000001_1.JPEG"
    Image.new("CMYK", (8, 8), (10, 20, 30, 40)).save(cmyk, format="JPEG")
    png = tmp_path / "n00000001_2.JPEG"
    Image.fromarray(np.zeros((8, 8, 4), np.uint8), "RGBA").save(png, format="PNG")
    from pretrain_robustness.datamodules.image_transforms import imagenet_eval_transform
    for path in (cmyk, png):
        assert imagenet_eval_transform(8)(read_image(path)).shape == (3, 8, 8)


def test_unreadable_image_is_named(tmp_path):
    bad = tmp_path / "broken.JPEG"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="broken.JPEG"):
        read_image(bad)


def test_missing_imagenet_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="train"):
        ImageNetTrain(tmp_path).table()


def test_label_interventions_on_the_miniature(tiny_data):
    from pretrain_robustness.datamodules.interventions import CoarsenLabels, RandomClasses, SemanticSubset

    table = ImageNetTrain(tiny_data / "imagenet").table()
    coarse = CoarsenLabels(depth=2)(ImageNetTrain(tiny_data / "imagenet_wide").table())
    assert set(coarse["label_name"]) == {"object.n.01", "matter.n.03", "communication.n.02"}
    animals, objects = SemanticSubset("animal")(table), SemanticSubset("object")(table)
    assert animals["source_class"].nunique() == objects["source_class"].nunique() == 8
    assert not set(animals["source_class"]) & set(objects["source_class"])
    assert RandomClasses(4, seed=1)(table).equals(RandomClasses(4, seed=1)(table))
    with pytest.raises(ValueError, match="has 16"):
        RandomClasses(17, seed=0)(table)
    small = table[~((table["source_class"] == table["source_class"].iloc[0]) & (table.index % 2 == 0))]
    large = set(RandomClasses(15, seed=0, min_images=16)(small)["source_class"])  # the halved class is never drawn
    assert table["source_class"].iloc[0] not in large and len(large) == 15
    with pytest.raises(ValueError, match="has 15 with at least 16 images"):
        RandomClasses(16, seed=0, min_images=16)(small)


def test_classes_with_the_same_name_stay_apart(tmp_path):
    # ILSVRC-2012 has two "crane"s: the bird (n02012849) and the machine (n03126707)
    for wnid in ("n02012849", "n03126707"):
        (tmp_path / "train" / wnid).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8)).save(tmp_path / "train" / wnid / f"{wnid}_{i}.JPEG")
    data = PretrainDataModule(ImageNetTrain(str(tmp_path)), val_per_class=1, image_size=8, num_workers=0)
    assert data.num_classes == 2
    assert set(data.manifest["class_name"]) == {"crane"}


def test_manifest_command(tiny_data, tmp_path, capsys):
    from pathlib import Path

    import pandas as pd

    from pretrain_robustness.cli import main

    configs = Path(__file__).parents[1] / "configs"
    output = tmp_path / "m.csv"
    main(["manifest", "--config", str(configs / "recipes/pretrain_torchvision.yaml"),
          "--config", str(configs / "pretrain/imagenet_full.yaml"),
          "--config", str(configs / "pretrain/imagenet_depth2.yaml"),
          "--data.init_args.source.init_args.root", str(tiny_data / "imagenet_wide"), "--output", str(output),
          "--data.init_args.val_source.init_args.root", str(tiny_data / "imagenet_wide"),
          "--model.architecture", "resnet18"])
    manifest = pd.read_csv(output)
    assert list(manifest.columns) == ["path", "source_class", "class_name", "label", "label_name", "split", "file_bytes"]
    assert manifest["file_bytes"].tolist() == [Path(p).stat().st_size for p in manifest["path"]]
    assert (manifest["split"] == "train").sum() == 18 * 16 and manifest["label_name"].nunique() == 3
    assert (manifest["split"] == "val").sum() == 16 * 3  # ImageNet val of the 16 classes that have one
    assert "images" in capsys.readouterr().out


def _manifest_args(tiny_data, tmp_path, *configs):
    from pathlib import Path

    root = Path(__file__).parents[1] / "configs"
    files = ["recipes/pretrain_torchvision.yaml", "pretrain/imagenet_full.yaml", *configs]
    return ["manifest", *[a for f in files for a in ("--config", str(root / f))],
            "--data.init_args.source.init_args.root", str(tiny_data / "imagenet_wide"),
            "--data.init_args.val_source.init_args.root", str(tiny_data / "imagenet_wide"),
            "--model.architecture", "resnet18", "--output", str(tmp_path / "m.csv")]


def test_condition_params_come_from_the_interventions_and_the_manifest(tiny_data, tmp_path):
    from pretrain_robustness.cli import main
    from pretrain_robustness.datamodules.interventions import (
        BreedsDiversity,
        RandomClasses,
        SemanticSubset,
        condition_params,
    )

    assert condition_params([SemanticSubset("animal"), RandomClasses(50, seed=3)]) == {"group": "animal", "family": "A"}
    assert condition_params([BreedsDiversity(4)]) == {"subclasses": 4, "images": 80000}
    data = PretrainDataModule(ImageNetTrain(str(tiny_data / "imagenet_wide")), [SemanticSubset("object")],
                              val_per_class=2, image_size=8, num_workers=0)
    train = data.manifest[data.manifest["split"] == "train"]
    assert data.condition_params() == {"group": "object", "family": "NA", "classes": train["label"].nunique(),
                                       "images": len(train)}
    # a config that states a parameter the data contradicts stops before any training
    with pytest.raises(ValueError, match="contradict.*classes: 99 vs 3"):
        main([*_manifest_args(tiny_data, tmp_path, "pretrain/imagenet_depth2.yaml"), "--run.params", "{classes: 99}"])


def test_interventions_are_typed_in_the_config(tiny_data, tmp_path, capsys):
    """An intervention's fields are checked when the config is parsed (before any data is read)
    and shown by --help."""
    from pretrain_robustness.cli import main

    intervention = "pretrain_robustness.datamodules.interventions.ClassBalancedSubset"
    with pytest.raises(ArgumentError, match="Expected a <class 'int'>"):
        main([*_manifest_args(tiny_data, tmp_path), "--data.init_args.interventions",
              f'[{{class_path: {intervention}, init_args: {{images: many}}}}]'])
    with pytest.raises(SystemExit):
        main(["fit", "--data.help", "pretrain_robustness.datamodules.PretrainDataModule",
              "--data.interventions.help", "ClassBalancedSubset"])
    assert "--data.interventions.images" in capsys.readouterr().out
    with pytest.raises(AttributeError):
        ClassBalancedSubset(5).images = 6  # frozen: an intervention is a value


@pytest.mark.parametrize("layout", ["flat", "folders"])
def test_validation_from_imagenet_val_layouts(tiny_data, tmp_path, layout):
    from pretrain_robustness.datamodules.interventions import CoarsenLabels
    from pretrain_robustness.datamodules.sources import ImageNetVal
    from pretrain_robustness.demo.imagenet_folders import write_imagenet_val

    from .conftest import TINY_IMAGENET

    write_imagenet_val(tmp_path, TINY_IMAGENET, per_class=2, layout=layout)
    val = ImageNetVal(str(tmp_path)).table()
    assert len(val) == 32 and val["source_class"].nunique() == 16
    data = PretrainDataModule(ImageNetTrain(str(tiny_data / "imagenet")),
                              [ClassBalancedSubset(64, seed=0), CoarsenLabels(4)], val_source=ImageNetVal(str(tmp_path)),
                              val_per_class=0, image_size=16, num_workers=0)
    train, held = data.examples("train"), data.examples("val")
    assert len(train) == 64  # the training subset is untouched by validation
    assert len(held) == 32 and set(held["label_name"]) <= set(train["label_name"])
    label_of = dict(zip(train["source_class"], train["label"]))
    assert all(label_of[c] == y for c, y in zip(held["source_class"], held["label"]))


def test_missing_val_layout_is_named(tmp_path):
    from pretrain_robustness.datamodules.sources import ImageNetVal

    with pytest.raises(FileNotFoundError, match="LOC_val_solution.csv"):
        ImageNetVal(str(tmp_path)).table()


def test_a_planned_manifest_is_read_instead_of_the_dataset_and_checked_by_its_hash(tiny_data, tmp_path, monkeypatch):
    """A study's job reads the manifest its submission wrote (no listing on the compute node): the same
    manifest, labels and hash; an edited file, or one without its hash, is refused."""
    from pretrain_robustness.datamodules.manifest import write_manifest
    from pretrain_robustness.datamodules.sources import listing_cache

    args = dict(val_per_class=2, image_size=32, batch_size=8, num_workers=0)
    built = PretrainDataModule(ImageNetTrain(str(tiny_data / "imagenet")), [ClassBalancedSubset(64, seed=1)], **args)
    planned = tmp_path / "planned.csv"
    write_manifest(built.manifest, planned)
    monkeypatch.setattr(listing_cache, "_in_memory", {})
    monkeypatch.setattr(ImageNetTrain, "table", lambda self: pytest.fail("the dataset was listed again"))
    read = PretrainDataModule(ImageNetTrain(str(tiny_data / "imagenet")), [ClassBalancedSubset(64, seed=1)], **args,
                              manifest_file=str(planned), manifest_sha256=built.manifest_sha256)
    pd.testing.assert_frame_equal(read.manifest, built.manifest[MANIFEST_COLUMNS])
    assert (read.manifest_sha256, read.class_names, read.condition_params()) == (
        built.manifest_sha256, built.class_names, built.condition_params())
    with pytest.raises(ValueError, match="needs manifest_sha256"):
        PretrainDataModule(ImageNetTrain("nowhere"), manifest_file=str(planned), **args)
    planned.write_text(planned.read_text().replace(",train\n", ",val\n", 1))
    with pytest.raises(ValueError, match=f"hashes to .*, not to the {built.manifest_sha256[:12]} its run was planned with"):
        PretrainDataModule(ImageNetTrain("nowhere"), manifest_file=str(planned), manifest_sha256=built.manifest_sha256, **args)
