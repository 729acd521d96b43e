"""``pipeline: device`` (decode and crop where the model runs) gives, on the CPU, the same pixels as
the ``tensor`` pipeline from the same seeds, files nvJPEG cannot read included; a full fit runs."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils._python_dispatch import TorchDispatchMode
from torchvision import transforms as T
from torchvision.transforms.v2 import functional as F

from pretrain_robustness.cli import main
from pretrain_robustness.datamodules import device_decode
from pretrain_robustness.datamodules.pretrain import PretrainDataModule
from pretrain_robustness.datamodules.sources.imagenet import ImageNetTrain

WNIDS = ["n01440764", "n01443537"]


def _photo(size, seed):
    rng = np.random.default_rng(seed)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([220 * x, 200 * y, 120 * x * y], -1) + rng.normal(0, 10, (h, w, 3))
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))


@pytest.fixture
def odd_imagenet(tmp_path):
    """Odd sizes, and the files the worker must decode: grayscale, CMYK, a PNG named .JPEG."""
    sizes = [(97, 61), (64, 80), (120, 45), (50, 50)]
    for c, wnid in enumerate(WNIDS):
        folder = tmp_path / "train" / wnid
        folder.mkdir(parents=True)
        for i, size in enumerate(sizes):
            _photo(size, 10 * c + i).save(folder / f"{wnid}_{i}.JPEG", quality=90)
    folder = tmp_path / "train" / WNIDS[0]
    _photo((70, 52), 90).convert("L").save(folder / f"{WNIDS[0]}_gray.JPEG")
    _photo((66, 58), 91).convert("CMYK").save(folder / f"{WNIDS[0]}_cmyk.JPEG")
    _photo((59, 73), 92).save(folder / f"{WNIDS[0]}_png.JPEG", format="PNG")
    return tmp_path


def _batch(data: PretrainDataModule, split: str, seeds: list[int]) -> torch.Tensor:
    """The split's examples as the loader + hooks make them (each augmented from its own seed)."""
    dataset = data.dataset(split)
    keys = [(i, seed) for i, seed in zip(range(len(dataset)), seeds)] if split == "train" else range(len(dataset))
    examples = [dataset[k] for k in keys]
    collate = data.collate_fn() or torch.utils.data.default_collate
    batch = data.on_before_batch_transfer(collate(examples), 0)
    return data.on_after_batch_transfer(batch, 0)[0]


@pytest.mark.parametrize("split", ["train", "val"])
def test_device_pipeline_equals_the_tensor_pipeline_on_the_cpu(odd_imagenet, split):
    made = {p: PretrainDataModule(ImageNetTrain(str(odd_imagenet)), val_per_class=3, image_size=24, num_workers=0,
                                  pipeline=p) for p in ("tensor", "device")}
    assert made["tensor"].manifest_sha256 == made["device"].manifest_sha256
    seeds = list(range(100, 200))
    tensor, device = (_batch(made[p], split, seeds) for p in ("tensor", "device"))
    assert device.shape == tensor.shape and device.dtype == torch.float32
    assert torch.equal(device, tensor)
    paths = made["device"].manifest["path"].tolist()
    kinds = {Path(p).stem.split("_")[-1]: device_decode.EncodedImages(paths)(i)[0].dim() for i, p in enumerate(paths)}
    # file bytes for the JPEGs nvJPEG reads (grayscale too); the CMYK and PNG files decoded by the worker
    assert kinds["gray"] == kinds["0"] == 1 and kinds["cmyk"] == kinds["png"] == 3


def test_device_pipeline_draws_what_torchvision_draws():
    """Each box is torchvision's own ``RandomResizedCrop.get_params`` from the same RNG state, then
    the flip's draw: the reference recipe's distribution, not a copy of it."""
    draw = device_decode.DrawCrop(0.08)
    flips = []
    for seed in range(300):
        torch.manual_seed(seed)
        drawn = draw((torch.zeros(1, dtype=torch.uint8), (300, 400)))
        torch.manual_seed(seed)
        reference = T.RandomResizedCrop.get_params(torch.empty(3, 300, 400), (0.08, 1.0), (3 / 4, 4 / 3))
        assert drawn.box == reference and drawn.flip == bool(torch.rand(1) < 0.5)
        flips.append(drawn.flip)
    assert 0.4 < np.mean(flips) < 0.6


def test_device_pipeline_refuses_worker_augmentations(odd_imagenet):
    with pytest.raises(ValueError, match="use pipeline 'tensor'"):
        PretrainDataModule(ImageNetTrain(str(odd_imagenet)), val_per_class=1, num_workers=0, pipeline="device",
                           auto_augment="imagenet")


def test_a_pretraining_fit_through_the_device_pipeline(odd_imagenet, tmp_path):
    runs = tmp_path / "runs"
    main(["fit", "--config", "configs/recipes/pretrain_torchvision.yaml", "--config", "configs/demo/pretrain.yaml",
          "--data.init_args.source.init_args.root", str(odd_imagenet), "--data.init_args.interventions", "[]",
          "--data.init_args.val_per_class", "1", "--data.init_args.image_size", "24",
          "--data.init_args.pipeline", "device", "--data.init_args.num_workers", "1", "--data.init_args.batch_size", "3",
          "--trainer.max_epochs", "1", "--trainer.logger", "false", "--run.root", str(runs)])
    assert list(runs.glob("**/checkpoints/last.ckpt"))


def test_a_file_the_device_decoder_refuses_is_decoded_alone_on_the_cpu(odd_imagenet, monkeypatch):
    """A batch with one file the device's decoder refuses (as nvJPEG refuses some valid JPEGs) is not
    lost: that file is decoded by the CPU's decoder and the batch equals the all-CPU batch."""
    data = PretrainDataModule(ImageNetTrain(str(odd_imagenet)), val_per_class=3, image_size=24, num_workers=0,
                              pipeline="device")
    seeds = list(range(100, 200))
    expected = _batch(data, "train", seeds)
    refused = device_decode.EncodedImages(data.manifest["path"].tolist())(0)[0]  # a training image's bytes
    real, refusals = device_decode.decode_jpeg, []

    def picky(files, **kwargs):
        files_list = files if isinstance(files, list) else [files]
        if any(f.numel() == refused.numel() and torch.equal(f, refused) for f in files_list):
            refusals.append(len(files_list))
            raise RuntimeError("nvjpegDecodeBatched failed (as nvJPEG says of a file it cannot read)")
        return real(files, **kwargs)

    monkeypatch.setattr(device_decode, "decode_jpeg", picky)
    assert torch.equal(_batch(data, "train", seeds), expected)
    assert refusals[0] > 1 and refusals[1:] == [1]  # the batch, then that file alone


def _pictures(device: str) -> tuple[list[torch.Tensor], list, list[bool]]:
    """Odd-sized images with the boxes and flips the training draw gives them, and two evaluations."""
    sizes = [(61, 97), (80, 64), (45, 120), (50, 50), (333, 500), (97, 61)]
    gen = torch.Generator().manual_seed(0)
    pictures = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen).to(device) for h, w in sizes]
    torch.manual_seed(0)
    drawn = [device_decode.DrawCrop()((p, tuple(p.shape[1:]))) for p in pictures[:4]]
    return pictures, [d.box for d in drawn] + [None, None], [d.flip for d in drawn] + [False, False]


def test_the_gpu_crop_gives_torchvisions_gpu_pixels():
    """``crop_in_float`` (the path off the CPU) equals torchvision's per-image ``uint8`` resize where it
    casts to float32 (as on a GPU: cast, resize, round, cast back), here run on the CPU; and lies
    within one level of the CPU's fixed-point resize."""
    pictures, boxes, flips = _pictures("cpu")
    assert any(flips) and not all(flips)
    batch = device_decode.crop_in_float(pictures, boxes, flips, 24)
    for picture, box, flip, got in zip(pictures, boxes, flips, batch):
        if box is None:
            expected = F.center_crop(F.resize(picture.float(), 27, antialias=True).round().to(torch.uint8), 24)
        else:
            expected = F.resized_crop(picture.float(), *box, [24, 24], antialias=True).round().to(torch.uint8)
            expected = F.horizontal_flip(expected) if flip else expected
        assert torch.equal(got, expected)
        assert (got.int() - device_decode._crop_uint8(picture, box, flip, 24).int()).abs().max() <= 1


class _Operators(TorchDispatchMode):
    """Counts the operators that are not views (each is at least one kernel launch on a GPU)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += not func.is_view
        return func(*args, **(kwargs or {}))


def test_the_gpu_crop_launches_two_kernels_per_image():
    """On PyTorch's meta device, which takes the GPU's branch of torchvision's resize and computes
    nothing: 2 operators per image (its crop's float copy, the resize) and 6 for the batch, against
    4-5 per image for torchvision's functions one image at a time."""
    pictures, boxes, flips = _pictures("meta")
    with _Operators() as batched:
        device_decode.crop_in_float(pictures, boxes, flips, 24)
    with _Operators() as one_by_one:
        torch.stack([device_decode._crop_uint8(*args, 24) for args in zip(pictures, boxes, flips)])
    assert batched.count == 2 * len(pictures) + 6  # stack, the flips' copy, flip, where, round, cast
    assert one_by_one.count == 4 * len(pictures) + sum(flips) + 1
