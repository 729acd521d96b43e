"""Image transforms of the two recipes this project follows."""

from __future__ import annotations

from PIL import Image
from torchvision import transforms as T

# ImageNet channel statistics, used by torchvision's reference recipe and by WILDS.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_rgb(image: Image.Image) -> Image.Image:
    """Grayscale night shots, palette PNGs and CMYK JPEGs all become 3-channel RGB."""
    return image if image.mode == "RGB" else image.convert("RGB")


def _finish(mean=IMAGENET_MEAN, std=IMAGENET_STD) -> list:
    return [T.ToTensor(), T.Normalize(mean, std)]


def wilds_transform(image_size: int = 448) -> T.Compose:
    """WILDS iWildCam ``image_base``: resize to a square (448 px), no augmentation, ImageNet
    normalisation. WILDS does not convert to RGB; we do, because night images are grayscale."""
    return T.Compose([T.Lambda(to_rgb), T.Resize((image_size, image_size)), *_finish()])


def imagenet_train_transform(image_size: int = 224, min_crop_area: float = 0.08,
                             mean=IMAGENET_MEAN, std=IMAGENET_STD, auto_augment: str | None = None,
                             random_erase: float = 0.0) -> T.Compose:
    """torchvision reference recipe (references/classification/presets.py): random resized
    crop (8%-100% of the area) and horizontal flip; the MobileNetV3 recipe adds AutoAugment's
    ImageNet policy (``auto_augment="imagenet"``) and random erasing (``random_erase=0.2``)."""
    steps = [T.Lambda(to_rgb), T.RandomResizedCrop(image_size, scale=(min_crop_area, 1.0)), T.RandomHorizontalFlip()]
    if auto_augment:
        steps.append(T.AutoAugment(T.AutoAugmentPolicy(auto_augment)))
    steps += _finish(mean, std)
    if random_erase:
        steps.append(T.RandomErasing(p=random_erase))
    return T.Compose(steps)


def imagenet_eval_transform(image_size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> T.Compose:
    """torchvision reference evaluation: resize to 256/224 of the crop, centre crop."""
    resize = round(image_size * 256 / 224)
    return T.Compose([T.Lambda(to_rgb), T.Resize(resize), T.CenterCrop(image_size), *_finish(mean, std)])
