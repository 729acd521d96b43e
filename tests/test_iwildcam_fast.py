"""The fast iWildCam path: its pixels against WILDS' path, the cache against the fast path, the
cache's resume and its refusal of another metadata.csv, and the datamodule reading it."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from pretrain_robustness.cli import main
from pretrain_robustness.datamodules import IWildCamDataModule
from pretrain_robustness.datamodules import iwildcam_fast as fast
from pretrain_robustness.datamodules.image_transforms import UInt8Normalize, to_rgb


def _photo(path, size, mode="RGB", seed=0):
    """A photo-like JPEG: smooth gradients, edges and sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([200 * x, 150 * y, 100 * (x + y) / 2], -1) + 60 * (((x * 7).astype(int) + (y * 5).astype(int)) % 2)[..., None]
    image = Image.fromarray((base + rng.normal(0, 12, base.shape)).clip(0, 255).astype(np.uint8))
    image.convert(mode).save(path, quality=90)
    return path


@pytest.mark.parametrize("size,mode", [((796, 448), "RGB"), ((1920, 1080), "RGB"), ((796, 448), "L")])
def test_fast_pixels_are_within_one_level_of_wilds(tmp_path, size, mode):
    """WILDS: PIL decode + Resize((448, 448)); ours: torchvision decode + antialiased uint8 resize."""
    path = _photo(tmp_path / "frame.jpg", size, mode)
    wilds = np.asarray(T.Resize((448, 448))(to_rgb(Image.open(path)))).astype(int)
    ours = fast.decode_resized(path, 448).permute(1, 2, 0).numpy().astype(int)
    difference = np.abs(wilds - ours)
    assert ours.shape == (448, 448, 3)
    assert difference.max() <= 1, difference.max()
    assert (difference > 0).mean() < 0.01


def test_cache_equals_the_fast_path_and_resumes(tmp_path, monkeypatch):
    paths = [_photo(tmp_path / f"{i}.jpg", (80, 60), seed=i) for i in range(7)]
    names = [p.name for p in paths]
    monkeypatch.setattr(fast, "CHUNK", 3)
    calls = []

    def stop_after_first_chunk(n):
        calls.append(n)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fast.write_cache(tmp_path, 32, "train", paths, names, progress=stop_after_first_chunk)
    data, description = fast.cache_paths(tmp_path, 32, "train")
    assert not description.is_file() and json.loads(data.with_suffix(".progress.json").read_text()) == {"done": 3}
    fast.write_cache(tmp_path, 32, "train", paths, names, progress=calls.append)
    assert calls == [3, 3, 1]  # the first chunk was not written again
    cache = fast.find_cache(tmp_path, 32, "train", names)
    for i, path in enumerate(paths):
        assert torch.equal(cache(i), fast.decode_resized(path, 32))
    with pytest.raises(ValueError, match="written for other files"):
        fast.find_cache(tmp_path, 32, "train", names[::-1])


def test_datamodule_reads_the_cache_and_says_so(tiny_data, tmp_path):
    main(["cache", "--root", str(tiny_data), "--image_size", "32", "--splits", "[train, id_test]"])
    module = IWildCamDataModule(root=str(tiny_data), image_size=32, pipeline="fast", num_workers=0)
    assert module.pipeline_record["train"].startswith("cache ")
    assert module.pipeline_record["ood_test"] == "torchvision decode + resize"
    wilds = IWildCamDataModule(root=str(tiny_data), image_size=32, num_workers=0)
    for split in ("train", "ood_test"):
        ours, theirs = module.dataset(split), wilds.dataset(split)
        for i in (0, len(ours) - 1):
            assert ours[i][1:] == theirs[i][1:]
            assert ours[i][0].dtype == torch.uint8  # normalised on the device, after the transfer
            on_device = module.on_after_batch_transfer([ours[i][0][None], torch.tensor([ours[i][1]])], 0)[0][0]
            assert (on_device - theirs[i][0]).abs().max() <= 1 / 255 / 0.224 + 1e-6  # one level, normalised
    runs = tmp_path / "runs"
    main(["fit", "--config", "configs/recipes/finetune_wilds.yaml", "--config", "configs/demo/finetune.yaml",
          "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.pipeline",
          "fast", "--data.init_args.num_workers", "0", "--trainer.fast_dev_run", "1", "--trainer.logger", "false",
          "--run.root", str(runs)])
    record = json.loads(next(runs.glob("**/run.json")).read_text())
    assert record["data_pipeline"]["train"].startswith("cache ")
    with pytest.raises(ValueError, match="pipeline must be 'wilds' or 'fast'"):
        IWildCamDataModule(root=str(tiny_data), image_size=32, pipeline="fsat")


def test_uint8_normalize_equals_wilds_to_tensor_and_normalize(tiny_data):
    images = torch.randint(0, 256, (2, 3, 37, 41), dtype=torch.uint8)
    normalize = T.Compose([T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    reference = torch.stack([normalize(image.permute(1, 2, 0).numpy()) for image in images])
    assert (UInt8Normalize()(images[0]) - reference[0]).abs().max() < 1e-5  # one image
    module = IWildCamDataModule(root=str(tiny_data), image_size=32, pipeline="fast", num_workers=0)
    labels = torch.tensor([3, 4])
    normalised, same_labels = module.on_after_batch_transfer([images, labels], 0)
    assert normalised.dtype == torch.float32 and (normalised - reference).abs().max() < 1e-5  # a batch
    assert same_labels is labels
    assert module.on_after_batch_transfer([reference, labels], 0)[0] is reference  # float passes as it is
