"""Every pre-training config that needs its dataset's real size, on fake sources of that size (a table of
1,281,167 ImageNet paths, iNaturalist 2017's long tail), through the real `manifest` command. Apart from
test_configs.py so that a worker of its own takes these (each builds a full-size manifest)."""

import pytest

from pretrain_robustness.cli import main

from .test_configs import CONFIGS, FULL_SCALE, FULL_SCALE_FRACTAL, FULL_SCALE_INAT

FAKE_SOURCES = {  # base config -> fake full-size train and val sources (tests/helpers.py)
    "imagenet_full.yaml": ("FullScaleImageNetTrain", "FullScaleImageNetVal"),
    "inat2017_full.yaml": ("FullScaleINaturalist2017", "FullScaleINaturalist2017Val"),
    "fractaldb_1k.yaml": ("FullScaleFractalDB", None),  # validation held out of the source
}
FULL_SCALE_CASES = ([("imagenet_full.yaml", c, *FULL_SCALE[c]) for c in sorted(FULL_SCALE)]
                    + [("inat2017_full.yaml", c, *FULL_SCALE_INAT[c]) for c in sorted(FULL_SCALE_INAT)]
                    + [("fractaldb_1k.yaml", c, *FULL_SCALE_FRACTAL[c]) for c in sorted(FULL_SCALE_FRACTAL)])


@pytest.mark.slow
@pytest.mark.parametrize("base,config,images,classes", FULL_SCALE_CASES, ids=[c[1] for c in FULL_SCALE_CASES])
def test_full_scale_config_manifest(base, config, images, classes, tmp_path):
    """The config's manifest on a table the size of the real dataset, through the real CLI path."""
    import pandas as pd

    train_source, val_source = FAKE_SOURCES[base]
    output = tmp_path / "manifest.csv"
    main(["manifest", "--config", str(CONFIGS / "recipes/pretrain_torchvision.yaml"),
          "--config", str(CONFIGS / "pretrain" / base), "--config", str(CONFIGS / "pretrain" / config),
          "--data.init_args.source.class_path", f"tests.helpers.{train_source}",
          *(["--data.init_args.val_source.class_path", f"tests.helpers.{val_source}"] if val_source else []),
          "--model.architecture", "resnet18", "--output", str(output)])
    manifest = pd.read_csv(output)
    train, val = manifest[manifest["split"] == "train"], manifest[manifest["split"] == "val"]
    assert len(train) == images and train["label"].nunique() == classes
    sizes = train.groupby("label").size()
    assert sizes.max() - sizes.min() <= 1  # labels balanced (to one image where the budget does not divide)
    assert set(val["source_class"].unique()) <= set(train["source_class"].unique()) and len(val) > 0
    if config.startswith(("imagenet_A_", "imagenet_NA_")):
        from pretrain_robustness.wordnet.hierarchy import is_animal

        assert {is_animal(w) for w in train["source_class"].unique()} == {config.startswith("imagenet_A_")}
    if base == "imagenet_full.yaml":
        assert len(val) == 50 * train["source_class"].nunique()  # all ImageNet val images of the trained classes
