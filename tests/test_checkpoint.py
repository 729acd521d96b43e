"""Checkpoint hand-off: backbone in, head replaced, mismatches stopped with a clear message."""

import pytest
import torch

from pretrain_robustness.lightning_modules import ImageClassifier
from pretrain_robustness.lightning_modules.backbones import build_network


def save_lightning_checkpoint(module: ImageClassifier, path) -> None:
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path)


@pytest.mark.parametrize("architecture,head", [("resnet18", "fc"), ("mobilenet_v3_small", "classifier.3"),
                                               ("alexnet", "classifier.6"), ("densenet121", "classifier")])
def test_backbone_loaded_and_head_replaced(tmp_path, architecture, head):
    pretrained = ImageClassifier(architecture, num_classes=16)
    path = tmp_path / "pre.ckpt"
    save_lightning_checkpoint(pretrained, path)
    finetuned = ImageClassifier(architecture, num_classes=5, init_checkpoint=str(path))
    before, after = pretrained.network.state_dict(), finetuned.network.state_dict()
    for key, value in after.items():
        if key.startswith(head + "."):
            assert value.shape[0] == 5 or value.ndim == 0
        else:
            assert torch.equal(value, before[key]), key
    assert finetuned.init_record["head_replaced"] == head and len(finetuned.init_record["sha256"]) == 64


def test_plain_torchvision_state_dict(tmp_path):
    path = tmp_path / "resnet18.pth"
    network = build_network("resnet18", 1000)
    torch.save(network.state_dict(), path)
    module = ImageClassifier("resnet18", num_classes=7, init_checkpoint=str(path))
    assert torch.equal(module.network.conv1.weight, network.conv1.weight)


def test_architecture_mismatch_is_an_error(tmp_path):
    path = tmp_path / "pre.ckpt"
    save_lightning_checkpoint(ImageClassifier("resnet18", num_classes=4), path)
    with pytest.raises(ValueError, match="holds a resnet18 backbone, but this run builds resnet50"):
        ImageClassifier("resnet50", num_classes=4, init_checkpoint=str(path))


def test_unknown_backbone_tensors_are_an_error(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(build_network("mobilenet_v3_small", 10).state_dict(), path)
    with pytest.raises(ValueError, match="does not match a resnet18 backbone"):
        ImageClassifier("resnet18", num_classes=4, init_checkpoint=str(path))


def test_unknown_architecture_and_missing_checkpoint():
    with pytest.raises(ValueError, match="unknown architecture 'resnet9000'"):
        ImageClassifier("resnet9000", num_classes=4)
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        ImageClassifier("resnet18", num_classes=4, init_checkpoint="nope.ckpt")


def test_training_only_the_head_leaves_the_backbone_untouched():
    """Kalibhat et al.'s ImageNet-A fine-tuning: a linear probe; batch-norm statistics frozen too."""
    import torch
    from torch.optim import SGD

    from pretrain_robustness.lightning_modules import ImageClassifier

    model = ImageClassifier("resnet18", num_classes=3, optimizer=lambda p: SGD(p, lr=0.5), train_only_head=True)
    before = {k: v.clone() for k, v in model.network.state_dict().items()}
    optimizer = model.configure_optimizers()
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == 512 * 3 + 3
    model.train()
    model.on_train_epoch_start()
    assert not model.network.bn1.training and model.network.fc.training
    loss = torch.nn.functional.cross_entropy(model.network(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    optimizer.step()
    changed = {k for k, v in model.network.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"fc.weight", "fc.bias"}
