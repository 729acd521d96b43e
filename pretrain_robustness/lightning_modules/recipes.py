"""The two training recipes this project follows, and what a run changed about them.

Pre-training: torchvision's reference ImageNet recipe (references/classification, README):
SGD, lr 0.1 for a global batch of 256 (scaled linearly with the batch), momentum 0.9, weight
decay 1e-4, lr x0.1 every 30 epochs, 90 epochs; AlexNet and VGG use lr 0.01; MobileNetV3 its own.
Fine-tuning: WILDS' iWildCam ERM recipe (wilds/examples/configs/datasets.py): Adam, lr 3e-5,
no weight decay, batch 16, 12 epochs, no scheduler, no augmentation, 448x448 inputs.
"""

from __future__ import annotations

from typing import Any

PRETRAIN_TORCHVISION: dict[str, Any] = {
    "optimizer": "torch.optim.SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
    "lr_reference_batch": 256, "lr_scheduler": "torch.optim.lr_scheduler.StepLR", "step_size": 30,
    "gamma": 0.1, "max_epochs": 90, "image_size": 224,
}
# torchvision's MobileNetV3 recipe (references/classification/README.md): RMSprop lr 0.064 for a
# global batch of 1024 (8 x 128), weight decay 1e-5, lr x0.973 every 2 epochs, AutoAugment
# (ImageNet policy) and random erasing 0.2; 600 epochs there, 90 here as for every architecture
# in Ramanujan et al. (Appendix A).
PRETRAIN_MOBILENET_V3: dict[str, Any] = {
    "optimizer": "torch.optim.RMSprop", "lr": 0.064, "momentum": 0.9, "weight_decay": 1e-5,
    "lr_reference_batch": 1024, "lr_scheduler": "torch.optim.lr_scheduler.StepLR", "step_size": 2,
    "gamma": 0.973, "max_epochs": 90, "image_size": 224,
}
FINETUNE_WILDS: dict[str, Any] = {
    "optimizer": "torch.optim.Adam", "lr": 3e-5, "weight_decay": 0.0, "lr_reference_batch": None,
    "lr_scheduler": None, "max_epochs": 12, "batch_size": 16, "image_size": 448,
}


# Kalibhat et al. (Appendix): fine-tuning "largely the same" as their He et al. pre-training (SGD
# lr 0.1, momentum 0.9, wd 1e-4) with: iNat-Mini-A 60 epochs, lr x0.1 every 20, batch 1024, all
# weights trained; ImageNet-A 15 epochs, lr x0.1 every 5, only the final layer trained.
FINETUNE_KALIBHAT = {
    "kalibhat-inat-mini-a": {"optimizer": "torch.optim.SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                             "lr_reference_batch": 1024, "lr_scheduler": "torch.optim.lr_scheduler.StepLR",
                             "step_size": 20, "gamma": 0.1, "max_epochs": 60, "image_size": 224},
    "kalibhat-imagenet-a": {"optimizer": "torch.optim.SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
                            "lr_reference_batch": 256, "lr_scheduler": "torch.optim.lr_scheduler.StepLR",
                            "step_size": 5, "gamma": 0.1, "max_epochs": 15, "image_size": 224},
}


def recipe_for(kind: str, architecture: str, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """The recipe name and values a run of ``kind`` (pretrain/finetune) is compared against."""
    if name is not None:
        if name not in FINETUNE_KALIBHAT:
            raise ValueError(f"unknown recipe {name!r}; named recipes: {sorted(FINETUNE_KALIBHAT)}")
        return name, FINETUNE_KALIBHAT[name]
    if kind == "finetune":
        return "wilds-iwildcam-erm", FINETUNE_WILDS
    if architecture.startswith(("alexnet", "vgg")):
        return "torchvision-reference-alexnet", {**PRETRAIN_TORCHVISION, "lr": 0.01}
    if architecture.startswith("mobilenet_v3"):
        return "torchvision-reference-mobilenet-v3", PRETRAIN_MOBILENET_V3
    return "torchvision-reference", PRETRAIN_TORCHVISION


def _callable_settings(prefix: str, value: Any) -> dict[str, Any]:
    if not value:
        return {prefix: None}
    settings = {prefix: value.get("class_path")}
    settings.update({k: v for k, v in (value.get("init_args") or {}).items()})
    return settings


def used_hyperparameters(config: dict[str, Any]) -> dict[str, Any]:
    """The recipe-relevant values of a resolved LightningCLI config (as a plain dict)."""
    model, data, trainer = config.get("model", {}), config.get("data", {}), config.get("trainer", {})
    model_args = model.get("init_args", model)
    data_args = data.get("init_args", data)
    used = {**_callable_settings("optimizer", model_args.get("optimizer")),
            **_callable_settings("lr_scheduler", model_args.get("lr_scheduler"))}
    used.update(lr_reference_batch=model_args.get("lr_reference_batch"), max_epochs=trainer.get("max_epochs"),
                batch_size=data_args.get("batch_size"), image_size=data_args.get("image_size"))
    return used


def overrides(recipe: dict[str, Any], used: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every recipe value the run did not use: ``{name: {"recipe": r, "used": u}}``."""
    return {key: {"recipe": value, "used": used.get(key)}
            for key, value in recipe.items() if used.get(key) != value}
