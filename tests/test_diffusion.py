"""The Stable Diffusion generator, on a tiny randomly initialised pipeline built here (no download)."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pretrain_robustness.cli import main
from pretrain_robustness.datamodules.sources import ImageNetTrain
from pretrain_robustness.synthetic.diffusion import (
    SamplerSettings, clip_prompts, generate, generation_plan, load_pipeline, shard_batches)

pytestmark = pytest.mark.xdist_group("diffusion")  # its module fixture is built once

TINY = SamplerSettings(steps=2, guidance=7.5, size=32)


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    """UNet, VAE, text encoder and scheduler from small configs, saved as a local pipeline folder."""
    from pretrain_robustness.synthetic.random_pipeline import random_pipeline

    folder = tmp_path_factory.mktemp("tiny-sd") / "model"
    random_pipeline("tiny").save_pretrained(folder)
    return folder


def test_plan_uses_clips_templates_and_fixed_seeds():
    templates, names = clip_prompts()
    assert len(templates) == 80 and len(names) == 1000
    plan = generation_plan(images_per_class=82, classes=[0, 999], seed=3)
    assert len(plan) == 164 and plan["wnid"].iloc[0] == "n01440764" and plan["class_name"].iloc[-1] == "toilet paper"
    first = plan[plan["class_index"] == 0]
    assert first["template_index"].tolist() == list(range(80)) + [0, 1]  # all 80 prompts, evenly
    assert first["prompt"].iloc[0] == templates[0]("tench")
    assert plan["seed"].nunique() == 164 and generation_plan(82, [0, 999], 3).equals(plan)
    assert not generation_plan(82, [0, 999], 4)["seed"].equals(plan["seed"])
    with pytest.raises(ValueError, match="1000"):
        generation_plan(1, [1000])


def test_shards_are_disjoint_and_cover_the_plan():
    plan = generation_plan(7, [1, 2, 3])
    parts = [pd.concat(shard_batches(plan, 4, k, 3)) for k in range(3)]
    paths = [p for part in parts for p in part["path"]]
    assert sorted(paths) == sorted(plan["path"]) and len(set(paths)) == len(paths)
    with pytest.raises(ValueError, match="0..2"):
        shard_batches(plan, 4, 3, 3)


def test_generation_layout_metadata_determinism_and_resume(tiny_pipeline, tmp_path):
    pipeline = load_pipeline(str(tiny_pipeline), device="cpu", dtype="fp32")
    plan = generation_plan(3, [0, 1], seed=0)
    assert generate(pipeline, plan, tmp_path / "a", "tiny", TINY, batch_size=2, progress=False) == 6
    table = ImageNetTrain(str(tmp_path / "a")).table()  # an ordinary source for the interventions
    assert sorted(table["source_class"].unique()) == ["n01440764", "n01443537"] and len(table) == 6
    image = Image.open(tmp_path / "a" / "train" / "n01440764" / "n01440764_2.JPEG")
    assert image.format == "JPEG" and image.size == (32, 32)
    metadata = pd.read_csv(tmp_path / "a" / "metadata" / "shard-00000-of-00001.csv")
    assert {"class_name", "template_index", "prompt", "seed", "model", "steps", "guidance"} <= set(metadata.columns)
    assert metadata["model"].eq("tiny").all() and len(metadata) == 6
    # the same plan again, in two shards, elsewhere: the same files
    for shard in (0, 1):
        generate(pipeline, plan, tmp_path / "b", "tiny", TINY, batch_size=2, shard=shard, num_shards=2, progress=False)
    for path in plan["path"]:
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()
    # resume: a lost file is regenerated identically, the others are not rewritten
    lost, kept = tmp_path / "b" / plan["path"][3], tmp_path / "b" / plan["path"][0]
    before, stamp = lost.read_bytes(), kept.stat().st_mtime_ns
    lost.unlink()
    assert generate(pipeline, plan, tmp_path / "b", "tiny", TINY, batch_size=2, shard=1, num_shards=2,
                    progress=False) == 1
    assert lost.read_bytes() == before and kept.stat().st_mtime_ns == stamp
    pixels = [np.asarray(Image.open(tmp_path / "a" / p)) for p in plan["path"][:2]]
    assert not np.array_equal(*pixels)  # different seeds and prompts give different images


def test_clear_errors_for_the_model_folder(tmp_path, tiny_pipeline):
    with pytest.raises(FileNotFoundError, match="model folder not found"):
        load_pipeline(str(tmp_path / "missing"), device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no model_index.json"):
        load_pipeline(str(tmp_path / "empty"), device="cpu")
    other = tmp_path / "other"
    other.mkdir()
    (other / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(ValueError, match="FluxPipeline pipeline, not a StableDiffusionPipeline"):
        load_pipeline(str(other), device="cpu")


def test_diffusion_command(tiny_pipeline, tmp_path, capsys):
    main(["diffusion", "--model_dir", str(tiny_pipeline), "--output", str(tmp_path), "--images_per_class", "1",
          "--classes", "[5]", "--device", "cpu", "--dtype", "fp32", "--sampler.steps", "1", "--sampler.size", "32"])
    assert (tmp_path / "train" / "n01496331" / "n01496331_0.JPEG").is_file()
    assert "wrote 1 images" in capsys.readouterr().out


def test_generation_benchmark_at_tiny_size(capsys):
    from .helpers import load_script

    module = load_script("benchmark_diffusion")
    result = module.main(["--size", "tiny", "--batch", "2", "--steps", "1", "--device", "cpu", "--resolution", "32"])
    # the figures' arithmetic, not their speed (speeds are the benchmark's to report, not a test's to assert)
    assert result["batch"] == 2 and result["device"] == "cpu" and "images/s" in capsys.readouterr().out
    assert result["images_per_second"] == pytest.approx(2 / result["seconds_per_batch_50_steps"])
    assert result["seconds_per_batch_50_steps"] >= 49 * result["seconds_per_step"]
    from pretrain_robustness.synthetic.random_pipeline import random_pipeline

    unet = random_pipeline("tiny").unet
    assert result["unet_params"] == sum(p.numel() for p in unet.parameters())
