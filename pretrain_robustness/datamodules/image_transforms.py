"""Image transforms of the two recipes this project follows."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import v2

# ImageNet channel statistics, used by torchvision's reference recipe and by WILDS.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_rgb(image: Image.Image) -> Image.Image:
    """Grayscale night shots, palette PNGs and CMYK JPEGs all become 3-channel RGB."""
    return image if image.mode == "RGB" else image.convert("RGB")


def _finish(mean=IMAGENET_MEAN, std=IMAGENET_STD) -> list:
    return [T.ToTensor(), T.Normalize(mean, std)]


def wilds_transform(image_size: int = 448, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> T.Compose:
    """WILDS iWildCam ``image_base``: resize to a square (448 px), no augmentation, ImageNet
    normalisation (another for a network that has its own, e.g. CLIP's). WILDS does not convert
    to RGB; we do, because night images are grayscale."""
    return T.Compose([T.Lambda(to_rgb), T.Resize((image_size, image_size)), *_finish(mean, std)])


def imagenet_train_transform(image_size: int = 224, min_crop_area: float = 0.08,
                             mean=IMAGENET_MEAN, std=IMAGENET_STD, auto_augment: str | None = None,
                             random_erase: float = 0.0) -> T.Compose:
    """torchvision reference recipe (references/classification/presets.py): random resized
    crop (8%-100% of the area) and horizontal flip; the MobileNetV3 recipe adds AutoAugment's
    ImageNet policy (``auto_augment="imagenet"``) and random erasing (``random_erase=0.2``)."""
    steps = [T.Lambda(to_rgb), T.RandomResizedCrop(image_size, scale=(min_crop_area, 1.0)), T.RandomHorizontalFlip()]
    if auto_augment:  # the preset passes its interpolation (bilinear) on: the default is nearest
        steps.append(T.AutoAugment(T.AutoAugmentPolicy(auto_augment), interpolation=T.InterpolationMode.BILINEAR))
    steps += _finish(mean, std)
    if random_erase:
        steps.append(T.RandomErasing(p=random_erase))
    return T.Compose(steps)


def imagenet_eval_transform(image_size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> T.Compose:
    """torchvision reference evaluation: resize to 256/224 of the crop, centre crop."""
    resize = round(image_size * 256 / 224)
    return T.Compose([T.Lambda(to_rgb), T.Resize(resize), T.CenterCrop(image_size), *_finish(mean, std)])


# -- the same recipes on uint8 tensors (torchvision.transforms.v2) ------------------------------
class UInt8Normalize:
    """uint8 tensor -> (x / 255 - mean) / std in float32, as ToTensor + Normalize compute it (to
    within float rounding, ~1e-6), in two in-place passes: 6x faster than the two v2 steps. Works on
    one image ``[3, H, W]`` or a batch ``[N, 3, H, W]`` on any device."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        std_ = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.scale = 1 / (255 * std_)
        self.shift = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1) / std_

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.scale.device != image.device:  # moved once, on the first batch on a device
            self.scale, self.shift = self.scale.to(image.device), self.shift.to(image.device)
        return image.to(torch.float32).mul_(self.scale).sub_(self.shift)


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """A PIL image (any mode) as an RGB ``uint8 [3, H, W]`` tensor."""
    return torch.from_numpy(np.array(to_rgb(image), dtype=np.uint8)).permute(2, 0, 1).contiguous()


def imagenet_train_tensor_transform(image_size: int = 224, min_crop_area: float = 0.08, mean=IMAGENET_MEAN,
                                    std=IMAGENET_STD, auto_augment: str | None = None,
                                    random_erase: float = 0.0) -> v2.Compose:
    """:func:`imagenet_train_transform` on uint8 tensors. The crop box and the flip are drawn by the
    same code from the same RNG calls as the PIL version (the same seed gives the same boxes); the
    antialiased resize of the crop differs from PIL's by at most 2 levels in 0-255 (PIL's filter
    weights are 8-bit fixed point).

    The result stays uint8: the datamodule normalises whole batches on the device
    (:meth:`ClassificationDataModule.on_after_batch_transfer`), which takes that work off the loader
    workers and moves a quarter of the bytes. Random erasing is the exception: the recipe erases
    the *normalised* image with zeros (the mean colour), so with it the image is normalised here."""
    steps = [v2.RandomResizedCrop(image_size, scale=(min_crop_area, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    if auto_augment:
        steps.append(v2.AutoAugment(v2.AutoAugmentPolicy(auto_augment), interpolation=v2.InterpolationMode.BILINEAR))
    if random_erase:
        steps += [UInt8Normalize(mean, std), v2.RandomErasing(p=random_erase)]
    return v2.Compose(steps)


def imagenet_eval_tensor_transform(image_size: int = 224) -> v2.Compose:
    """:func:`imagenet_eval_transform` on uint8 tensors (normalised on the device, as above)."""
    resize = round(image_size * 256 / 224)
    return v2.Compose([v2.Resize(resize, antialias=True), v2.CenterCrop(image_size)])
