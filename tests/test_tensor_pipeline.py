"""The pre-training recipe on uint8 tensors (transforms.v2) draws the same augmentation as the
PIL recipe: from the same seed the same crop box and flip (so the same distribution), with
pixels within one level of PIL's resize."""

import numpy as np
import pytest
import torch
from PIL import Image

from pretrain_robustness.datamodules.classification import read_image_tensor
from pretrain_robustness.datamodules.device_decode import EncodedImages, decode_files
from pretrain_robustness.datamodules.image_transforms import (imagenet_eval_tensor_transform, imagenet_eval_transform,
                                                              imagenet_train_tensor_transform, imagenet_train_transform,
                                                              UInt8Normalize, pil_to_uint8)

LEVEL = 1 / 255 / 0.224  # one level of 0-255 after normalisation (smallest std)
ONE_LEVEL = LEVEL + 1e-5


def _normalised(image: torch.Tensor) -> torch.Tensor:
    """What the datamodule makes of a uint8 image on the device."""
    return UInt8Normalize()(image) if image.dtype == torch.uint8 else image


def _image(seed=0, size=(120, 90)):
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(0, 1, size[0]), np.linspace(0, 1, size[1]))
    base = np.stack([220 * x, 200 * y, 120 * x * y], -1) + rng.normal(0, 10, (size[1], size[0], 3))
    return Image.fromarray(base.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("extra", [{}, {"auto_augment": "imagenet", "random_erase": 0.2}])
def test_same_seed_same_augmentation(extra):
    image = _image()
    pil = imagenet_train_transform(64, 0.08, **extra)
    tensor = imagenet_train_tensor_transform(64, 0.08, **extra)
    worst, differing = 0.0, []
    for seed in range(200):
        torch.manual_seed(seed)
        a = pil(image)
        torch.manual_seed(seed)
        b = tensor(pil_to_uint8(image))
        # uint8 out (normalised on the device) unless random erasing, which erases normalised images
        assert b.dtype == (torch.float32 if extra else torch.uint8)
        b = _normalised(b)
        assert a.shape == b.shape == (3, 64, 64)
        if not extra:  # AutoAugment's photometric ops round differently on PIL and tensors: see below
            worst = max(worst, float((a - b).abs().max()))
            differing.append(float(((a - b).abs() > ONE_LEVEL).float().mean()))
    # PIL resamples with 8-bit fixed-point filter weights: up to 2 levels apart, rarely more than 1
    assert worst <= 2 * LEVEL + 1e-5, worst / LEVEL
    if not extra:
        assert np.mean(differing) < 0.01, np.mean(differing)


def _torchvision_preset(transforms, extra: dict, tensor: bool):
    """torchvision's references/classification/presets.py ``ClassificationPresetTrain`` (bilinear, flip
    0.5; ``auto_augment_policy``, ``random_erase_prob``; backend ``tensor`` with v2, ``pil`` with v1),
    composed here from torchvision's own transforms: the recipe the MobileNetV3 run follows."""
    bilinear = transforms.InterpolationMode.BILINEAR
    steps = [transforms.PILToTensor()] if tensor else []
    steps += [transforms.RandomResizedCrop(64, interpolation=bilinear, antialias=True), transforms.RandomHorizontalFlip(0.5)]
    if extra.get("auto_augment"):
        steps.append(transforms.AutoAugment(transforms.AutoAugmentPolicy(extra["auto_augment"]), interpolation=bilinear))
    steps += [] if tensor else [transforms.PILToTensor()]
    steps += [transforms.ConvertImageDtype(torch.float), transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
    if extra.get("random_erase"):
        steps.append(transforms.RandomErasing(p=extra["random_erase"]))
    return transforms.Compose(steps)


@pytest.mark.parametrize("extra", [{}, {"auto_augment": "imagenet", "random_erase": 0.2}])
def test_both_recipes_draw_what_torchvisions_preset_draws(extra):
    """Seed for seed, the PIL recipe equals torchvision's preset on PIL images, and the tensor recipe the
    same preset on tensors (transforms.v2): the same crops, flips, AutoAugment operations (with the
    preset's bilinear interpolation) and erased boxes at the same rate."""
    from torchvision import transforms as v1
    from torchvision.transforms import v2

    image = _image(3)
    ours = {"pil": imagenet_train_transform(64, 0.08, **extra), "tensor": imagenet_train_tensor_transform(64, 0.08, **extra)}
    theirs = {"pil": _torchvision_preset(v1, extra, tensor=False), "tensor": _torchvision_preset(v2, extra, tensor=True)}
    for backend in ("pil", "tensor"):
        for seed in range(100):
            torch.manual_seed(seed)
            a = _normalised(ours[backend](image if backend == "pil" else pil_to_uint8(image)))
            torch.manual_seed(seed)
            b = theirs[backend](image)
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=lambda m: f"{backend}, seed {seed}: {m}")


def test_eval_transform_matches():
    image = _image(1, (150, 110))
    a, b = imagenet_eval_transform(64)(image), _normalised(imagenet_eval_tensor_transform(64)(pil_to_uint8(image)))
    assert (a - b).abs().max() <= ONE_LEVEL


def test_tensor_reader_falls_back_to_pil(tmp_path):
    rgb = _image(2)
    rgb.convert("CMYK").save(tmp_path / "cmyk.JPEG")
    rgb.save(tmp_path / "png_named.JPEG", format="PNG")
    rgb.convert("L").save(tmp_path / "gray.JPEG")
    for name in ("cmyk.JPEG", "png_named.JPEG", "gray.JPEG"):
        decoded = read_image_tensor(tmp_path / name)
        reference = pil_to_uint8(Image.open(tmp_path / name))
        assert decoded.shape == (3, 90, 120) and decoded.dtype == torch.uint8
        assert (decoded.int() - reference.int()).abs().max() <= 2, name


def test_a_photo_with_an_exif_orientation_is_read_as_stored(tmp_path):
    """The reference recipes' loader (PIL's ``Image.open(...).convert("RGB")``) does not turn a photo
    by its EXIF orientation, and neither does either tensor decoder: the device pipeline draws its crop
    box from PIL's header size, so a decoder that turned it (torchcodec 0.17 always does) would crop
    outside the image."""
    photo = _image(3)  # 120 x 90
    exif = photo.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "turned.JPEG"
    photo.save(path, exif=exif, quality=95)
    reference = pil_to_uint8(Image.open(path).convert("RGB"))
    decoded = read_image_tensor(path)
    assert decoded.shape == reference.shape == (3, 90, 120)
    assert (decoded.int() - reference.int()).abs().max() <= 2
    data, size = EncodedImages([str(path)])(0)
    assert data.dim() == 1 and size == (90, 120)
    assert torch.equal(decode_files([data], torch.device("cpu"))[0], decoded)
