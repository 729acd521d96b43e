"""Pre-training images decoded on the training device (``pipeline: device``): loader workers only
read each file's bytes and draw its augmentation; the main process decodes the whole batch where
the model runs (nvJPEG through ``torchvision.io.decode_jpeg(device="cuda")`` on a GPU) and crops,
resizes and flips it there (on a GPU with the rounding, flips and cast done once per batch:
``crop_in_float``).

The draws are those of the ``tensor`` pipeline, in the same order from the same RNG (the crop box
of ``v2.RandomResizedCrop``, then the flip of ``v2.RandomHorizontalFlip``), and on the CPU the
decode and the kernels are the same too, so a seed gives the same pixels as ``tensor``
(tests/test_device_decode.py). nvJPEG's decoder may round some pixels differently from libjpeg.
Files nvJPEG does not read (PNG named .JPEG, CMYK or other non-RGB/grayscale JPEGs) are decoded by
the worker instead, as the ``tensor`` pipeline does. AutoAugment and random erasing work on
decoded images in the workers: they need the ``tensor`` pipeline.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image
from torch.utils.data import default_collate
from torchvision.io import ImageReadMode, decode_image, decode_jpeg
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from .classification import read_file_bytes, read_image_tensor
from .image_transforms import pil_to_uint8

# PIL modes of JPEG files that nvJPEG decodes to RGB (the others go through the worker's decoder)
DEVICE_DECODABLE = {"RGB", "L"}


@dataclass
class EncodedImage:
    """One image as a worker hands it over: the file's bytes (``uint8`` 1-D) or, for a file only the
    CPU decodes, the decoded ``uint8 [3, H, W]``; with the crop box (top, left, height, width) drawn
    for it (``None``: evaluation, resize and centre crop) and whether to flip it."""

    data: torch.Tensor
    box: tuple[int, int, int, int] | None
    flip: bool


class EncodedImages:
    """Picklable ``index -> (data, (height, width))`` over file paths; PIL reads only the header."""

    def __init__(self, paths: Sequence[str]):
        self.paths = list(paths)

    def __call__(self, index: int) -> tuple[torch.Tensor, tuple[int, int]]:
        path = Path(self.paths[index])
        with Image.open(path) as header:
            size, readable = (header.height, header.width), header.format == "JPEG" and header.mode in DEVICE_DECODABLE
        return (read_file_bytes(path) if readable else read_image_tensor(path)), size


class DrawCrop:
    """Training: the crop box and flip the ``tensor`` recipe would draw for an image of this size."""

    def __init__(self, min_crop_area: float = 0.08):
        self.crop = v2.RandomResizedCrop(1, scale=(min_crop_area, 1.0))

    def __call__(self, encoded: tuple[torch.Tensor, tuple[int, int]]) -> EncodedImage:
        data, (height, width) = encoded
        box = self.crop.make_params([torch.empty((0, height, width), dtype=torch.uint8)])
        flip = not torch.rand(1) >= 0.5  # v2.RandomHorizontalFlip(p=0.5) skips when rand >= p
        return EncodedImage(data, (box["top"], box["left"], box["height"], box["width"]), flip)


def no_crop(encoded: tuple[torch.Tensor, tuple[int, int]]) -> EncodedImage:
    """Evaluation: nothing to draw."""
    return EncodedImage(encoded[0], None, False)


@dataclass
class EncodedBatch:
    """A batch's files packed into one tensor (one shared-memory block per batch, not one per
    image): ``packed[offsets[i]:offsets[i + 1]]`` are image i's bytes; images the worker decoded
    are in ``decoded`` by position instead."""

    packed: torch.Tensor
    offsets: list[int]
    decoded: dict[int, torch.Tensor]
    boxes: list[tuple[int, int, int, int] | None]
    flips: list[bool]

    def __len__(self) -> int:
        return len(self.boxes)


def collate(batch: list) -> list:
    """``[EncodedBatch, labels, indices]`` (the images' sizes differ: they cannot be stacked)."""
    images, *rest = zip(*batch)
    files = [image.data if image.data.dim() == 1 else torch.zeros(0, dtype=torch.uint8) for image in images]
    offsets = [0, *torch.tensor([len(f) for f in files]).cumsum(0).tolist()]
    encoded = EncodedBatch(torch.cat(files), offsets, {i: im.data for i, im in enumerate(images) if im.data.dim() == 3},
                           [image.box for image in images], [image.flip for image in images])
    return [encoded, *default_collate(list(zip(*rest)))]


def decode_files(files: list[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """JPEG files as ``uint8 [3, H, W]`` on ``device``, decoded together; a file the device's decoder
    refuses is decoded on the CPU alone (the rest of the batch stays on the device).

    On a GPU the caller's stream is drained first: nvJPEG's hardware decoder writes its outputs
    before work already queued on the stream has run, so memory the caching allocator just handed
    back (still read by queued kernels) could be overwritten (pytorch/vision#9606,
    meta-pytorch/torchcodec#1634: 134 of 200 iterations corrupted without this wait, 0 with it)."""
    if not files:
        return []
    if device.type == "cuda":
        torch.cuda.current_stream(device).synchronize()
    try:
        return list(decode_jpeg(files, mode=ImageReadMode.RGB, device=device))
    except RuntimeError:
        return [_decode_one(file, device) for file in files]


def _decode_one(file: torch.Tensor, device: torch.device) -> torch.Tensor:
    try:
        return decode_jpeg(file, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:  # libjpeg-turbo on the CPU, then PIL (as the workers' decoder does)
        try:
            return decode_image(file, mode=ImageReadMode.RGB).to(device)
        except (RuntimeError, ValueError):
            return pil_to_uint8(Image.open(io.BytesIO(file.numpy().tobytes())).convert("RGB")).to(device)


def decode_on(device: torch.device, batch: EncodedBatch, image_size: int) -> torch.Tensor:
    """The batch as ``uint8 [N, 3, S, S]`` on ``device``: decoded together, then each cropped and
    resized as the ``tensor`` recipe does (train: box -> S x S, flip; eval: short side to S*256/224,
    centre crop S)."""
    encoded = [i for i in range(len(batch)) if i not in batch.decoded]
    files = [batch.packed[batch.offsets[i]:batch.offsets[i + 1]] for i in encoded]
    pixels = dict(zip(encoded, decode_files(files, device)))
    pictures = [pixels[i] if i in pixels else batch.decoded[i].to(device) for i in range(len(batch))]
    if device.type == "cpu":
        return torch.stack([_crop_uint8(*args, image_size) for args in zip(pictures, batch.boxes, batch.flips)])
    return crop_in_float(pictures, batch.boxes, batch.flips, image_size)


def _crop_uint8(picture: torch.Tensor, box: tuple[int, int, int, int] | None, flip: bool, size: int) -> torch.Tensor:
    """The CPU: torchvision's own functions on ``uint8`` (its fixed-point resize, as the ``tensor``
    pipeline's workers run it, so both pipelines give the same pixels)."""
    if box is None:
        return F.center_crop(F.resize(picture, round(size * 256 / 224), antialias=True), size)
    picture = F.resized_crop(picture, *box, [size, size], antialias=True)
    return F.horizontal_flip(picture) if flip else picture


def crop_in_float(pictures: list[torch.Tensor], boxes: list, flips: list[bool], size: int) -> torch.Tensor:
    """A GPU: the pixels torchvision's ``uint8`` resize gives there (it casts to float32, resizes,
    rounds and casts back, per image), with the rounding, the flips and the cast done once for the
    whole batch. Per image only the float copy of its crop and the resize are left: CUDA's
    antialiased resize takes no ``uint8`` and the images' sizes differ, so no single call resizes
    them all (256 images padded to one 4,000 x 3,000 photo would take ~37 GB in float32)."""
    resized = []
    for picture, box in zip(pictures, boxes):
        if box is None:
            resized.append(F.center_crop(F.resize(picture.to(torch.float32), round(size * 256 / 224),
                                                  antialias=True), size))
        else:
            resized.append(F.resize(F.crop(picture, *box).to(torch.float32), [size, size], antialias=True))
    batch = torch.stack(resized)
    flipped = torch.tensor(flips, dtype=torch.bool).view(-1, 1, 1, 1)
    if batch.is_cuda:  # pinned, so the copy does not wait for the stream (no host sync per batch)
        flipped = flipped.pin_memory()
    flipped = flipped.to(batch.device, non_blocking=True)
    return torch.where(flipped, batch.flip(-1), batch).round_().to(torch.uint8)
