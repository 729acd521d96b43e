"""Nested, reproducible subsets of image-text webdataset shards (Fig. 20), on tiny shards in the real
format (tar members <key>.jpg + <key>.txt)."""

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pretrain_robustness.cli import main
from pretrain_robustness.clip import webdataset_subsets as wds


def _shards(folder, shards=4, per_shard=25):
    folder.mkdir(parents=True)
    paths = []
    for s in range(shards):
        paths.append(folder / f"{s:05d}.tar")
        with tarfile.open(paths[-1], "w") as tar:
            for i in range(per_shard):
                key = f"{s:05d}{i:04d}"
                buffer = io.BytesIO()
                Image.new("RGB", (8, 8), (i * 9 % 255, s * 40, 7)).save(buffer, format="JPEG")
                for name, data in ((f"{key}.jpg", buffer.getvalue()), (f"{key}.txt", f"a photo {s} {i}".encode()),
                                   (f"{key}.json", b"{}")):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo("lonely.jpg")  # an image without a caption is no sample
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        # img2dataset writes these beside each shard
        (folder / f"{s:05d}_stats.json").write_text(json.dumps({"count": per_shard + 3, "successes": per_shard,
                                                                "failed_to_download": 3, "failed_to_resize": 0}))
        (folder / f"{s:05d}.parquet").write_bytes(b"PAR1")
    return paths


def test_subsets_are_nested_reproducible_and_named_by_their_content(tmp_path):
    shards = _shards(tmp_path / "shards")
    samples = wds.list_samples(shards)
    assert len(samples) == 100 and wds.sample_key("a/b/00001.tar.gz")[0] == "a/b/00001"
    subsets = wds.nested_subsets(samples, [10, 50, 90], seed=0)
    keys = {n: list(s["key"]) for n, s in subsets.items()}
    assert keys[10] == keys[50][:10] and keys[50] == keys[90][:50]  # nested
    again = wds.nested_subsets(samples.sample(frac=1, random_state=3), [10, 50, 90], seed=0)  # shards listed in another order
    assert list(again[50]["key"]) == keys[50] and wds.subset_sha256(again[50]) == wds.subset_sha256(subsets[50])
    other = wds.nested_subsets(samples, [50], seed=1)[50]
    assert wds.subset_sha256(other) != wds.subset_sha256(subsets[50])
    assert 0.3 < np.mean([k.startswith("00000") for k in keys[90]]) * 4 < 1.7  # drawn from every shard alike
    with pytest.raises(ValueError, match="subset of 101 samples was asked for, but the shards hold 100"):
        wds.nested_subsets(samples, [101])


def test_the_command_writes_each_subset_as_shards_with_its_manifest(tmp_path, capsys):
    shards = _shards(tmp_path / "shards")
    out = tmp_path / "subsets"
    main(["webdataset-subsets", "--shards", str(tmp_path / "shards" / "*.tar"), "--sizes", "[10, 40]",
          "--output", str(out), "--samples_per_shard", "16"])
    record = json.loads((out / "40" / "subset.json").read_text())
    assert record["samples"] == 40 and record["shards"] == 3 and "{000000..000002}.tar" in record["train_data"]
    members = [m for p in sorted((out / "40").glob("*.tar")) for m in tarfile.open(p).getnames()]
    manifest = pd.read_csv(out / "40" / "manifest.csv", dtype=str)
    assert sorted({m.split(".")[0] for m in members}) == sorted(manifest["key"]) and len(members) == 40 * 3
    small = pd.read_csv(out / "10" / "manifest.csv", dtype=str)
    assert list(small["key"]) == list(manifest["key"][:10])
    with tarfile.open(sorted((out / "40").glob("*.tar"))[0]) as tar:  # bytes copied as they were
        name = tar.getnames()[1]
        key = name.split(".")[0]
        source = tarfile.open(shards[int(key[:5])])
        assert tar.extractfile(name).read() == source.extractfile(name).read()
    assert "40 samples: 3 shards" in capsys.readouterr().out
    main(["webdataset-subsets", "--shards", str(tmp_path / "shards" / "*.tar"), "--sizes", "[40]",
          "--output", str(out), "--samples_per_shard", "16"])  # done already: left as it is
    with pytest.raises(ValueError, match="holds another subset"):
        main(["webdataset-subsets", "--shards", str(tmp_path / "shards" / "*.tar"), "--sizes", "[40]",
              "--output", str(out), "--seed", "5"])


def tiny_clip_setup(tmp_path, sizes, batch_size=16, samples_seen=64, checkpoints=2, model_name=None, gpus=1):
    """Nested subsets of generated shards (80 samples), a tiny open_clip model config and a recipe for
    it (``model_name``: the recipe's model instead of the config's path): (subsets, model, recipe)."""
    from .test_clip import TINY

    _shards(tmp_path / "shards", shards=2, per_shard=40)
    main(["webdataset-subsets", "--shards", str(tmp_path / "shards" / "*.tar"), "--sizes", json.dumps(sizes),
          "--output", str(tmp_path / "subsets"), "--samples_per_shard", "32"])
    model = tmp_path / "tiny-clip.json"
    model.write_text(json.dumps(TINY))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"model: {model_name or model}\nbatch_size: {batch_size}\ngpus: {gpus}\nlr: 5.0e-4\nwarmup: 1\n"
                      f"samples_seen: {samples_seen}\ncheckpoints: {checkpoints}\nweight_decay: 0.2\nprecision: fp32\n"
                      "workers: 1\nseed: 0\n")
    return tmp_path / "subsets", model, recipe


@pytest.mark.slow
def test_clip_pretraining_on_a_subset_through_open_clips_trainer(tmp_path, capsys):
    """The subset's shards go through open_clip_train (a tiny model, fp32 on the CPU) as two torchrun
    processes (gloo): checkpoints, and a run.json that names the subset by its sha256."""
    _, model, recipe = tiny_clip_setup(tmp_path, [64], batch_size=8, model_name="ViT-B-32", gpus=2)
    args = ["clip-pretrain", "--subset", str(tmp_path / "subsets" / "64"), "--recipe", str(recipe), "--root",
            str(tmp_path / "runs"), "--study", "fig20", "--condition", "tiny-64", "--model", str(model), "--gpus", "2",
            "--accelerator", "cpu"]  # two processes on CPUs (gloo), on purpose
    main([*args, "--dry_run", "true"])
    printed = capsys.readouterr().out
    assert "--train-num-samples 32 --epochs 2" in printed and "--dataset-resampled" in printed
    # "--" ends torchrun's own options (else it reads the trainer's --logs as an ambiguous --logs-specs)
    assert "torch.distributed.run --nproc_per_node=2 -m pretrain_robustness.clip.train_entry -- --model" in printed
    main(args)
    folder = tmp_path / "runs" / "fig20" / "pretrain" / "tiny-64" / "clip-tiny-clip-seed0"
    assert "world_size: 2" in (folder / "open_clip" / "run" / "out.log").read_text()
    assert sorted(p.name for p in (folder / "open_clip" / "run" / "checkpoints").iterdir()) == ["epoch_1.pt", "epoch_2.pt"]
    record = json.loads((folder / "run.json").read_text())
    subset = json.loads((tmp_path / "subsets" / "64" / "subset.json").read_text())
    assert record["status"] == "finished" and record["subset"]["sha256"] == subset["sha256"]
    from pretrain_robustness.clip.training import read_recipe

    paper = read_recipe(Path(__file__).parents[1] / "configs" / "clip_pretrain" / "laion_vit_b32.yaml")
    assert (paper["model"], paper["batch_size"], paper["lr"], paper["warmup"], paper["samples_seen"]) == (
        "ViT-B-32", 4096, 5e-4, 500, 128_000_000)
    bad = tmp_path / "bad.yaml"
    bad.write_text(recipe.read_text().replace("samples_seen: 64", "samples_seen: 65"))
    with pytest.raises(ValueError, match="must split into 2 equal parts"):
        main([*args, "--recipe", str(bad)])


def test_an_img2dataset_folder_as_written_and_a_shard_copied_short(tmp_path, capsys):
    """The whole output folder of img2dataset (tars, .parquet and _stats.json beside each) is read as it
    is: only the tars are shards; a shard holding fewer samples than its _stats.json says is named."""
    shards = _shards(tmp_path / "laion", shards=2, per_shard=10)
    with tarfile.open(shards[1]) as tar:  # a copy cut short: the last three samples are gone
        kept = [(m, tar.extractfile(m).read()) for m in tar.getmembers()[:-10]]
    with tarfile.open(shards[1], "w") as tar:
        for member, data in kept:
            tar.addfile(member, io.BytesIO(data))
    main(["webdataset-subsets", "--shards", str(tmp_path / "laion" / "*"), "--sizes", "[5]", "--output", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "17 image-text samples in 2 shards" in out
    assert f"warning: {shards[1]} holds 7 samples, 00001_stats.json says 10" in out
    assert str(shards[0]) + " holds" not in out
