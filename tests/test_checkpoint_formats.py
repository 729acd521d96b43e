"""Weight files as other projects save them, mapped onto the backbone being built (``load_backbone``): every
backbone tensor equal to the file's, the head new, what the file holds beyond the backbone counted; damaged
files, files of another network and files that would run code refused with the reason."""

import argparse
import json

import open_clip
import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file

from pretrain_robustness.lightning_modules.backbones import build_network
from pretrain_robustness.lightning_modules.checkpoint import load_backbone, mapping_note

from .test_clip import TINY


def _loads(path, architecture, source: dict[str, torch.Tensor], source_prefix: str = ""):
    """load_backbone's record; each backbone tensor of the built network equals the source's."""
    network = build_network(architecture, num_classes=3)
    fresh_head = {k: v.clone() for k, v in network.state_dict().items() if k.split(".")[0] in ("fc", "head", "classifier")}
    record = load_backbone(network, architecture, path)
    state = network.state_dict()
    head = record["head_replaced"] + "."
    compared = [k for k in state if not k.startswith(head)]
    assert compared and all(torch.equal(state[k], source[source_prefix + k]) for k in compared)
    assert all(torch.equal(state[k], v) for k, v in fresh_head.items() if k.startswith(head))  # the head untouched
    assert record["tensors_loaded"] == len(compared)
    return record


def test_torchvision_weights_and_its_reference_recipes_training_checkpoint(tmp_path):
    source = torchvision.models.shufflenet_v2_x0_5().state_dict()
    plain = tmp_path / "shufflenet.pth"
    torch.save(source, plain)
    record = _loads(plain, "shufflenet_v2_x0_5", source)
    assert (record["read_from"], record["prefix"], record["tensors_ignored"]) == ("the file", "", 0)  # its own fc: the old head
    # references/classification/train.py: {"model", "optimizer", "lr_scheduler", "epoch", "args"} (args a Namespace)
    recipe = tmp_path / "checkpoint.pth"
    torch.save({"model": source, "optimizer": {"state": {}, "param_groups": [{"lr": 0.5}]}, "lr_scheduler": {},
                "epoch": 599, "args": argparse.Namespace(model="shufflenet_v2_x0_5", lr=0.5)}, recipe)
    recorded = _loads(recipe, "shufflenet_v2_x0_5", source)
    assert recorded["read_from"] == "['model']" and mapping_note(record) is None  # the console's second line: none
    assert mapping_note(recorded) == "its tensors read from ['model'], names under ''; 0 more not loaded (e.g. [])"


def test_timm_weights_their_train_py_checkpoint_and_a_hub_safetensors_file(tmp_path):
    timm_resnet = timm.create_model("resnet18", pretrained=False).state_dict()  # timm's ResNet names = torchvision's
    hub = tmp_path / "model.safetensors"  # the Hugging Face hub's file of a timm model
    save_file(timm_resnet, hub)
    assert _loads(hub, "resnet18", timm_resnet)["prefix"] == ""
    as_timm = tmp_path / "pytorch_model.bin"
    torch.save(timm_resnet, as_timm)
    _loads(as_timm, "timm:resnet18", timm_resnet)
    # timm's train.py saves {"epoch", "arch", "state_dict", "optimizer", "version", "args", "state_dict_ema"}
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, num_classes=10).state_dict()
    trained = tmp_path / "model_best.pth.tar"
    torch.save({"epoch": 3, "arch": "vit_tiny_patch16_224", "state_dict": vit, "optimizer": {}, "version": 2,
                "args": argparse.Namespace(model="vit_tiny_patch16_224"), "state_dict_ema": vit}, trained)
    network = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, num_classes=3)
    record = load_backbone(network, "timm:vit_tiny_patch16_224", trained)
    assert record["read_from"] == "['state_dict']" and record["head_replaced"] == "head"
    assert torch.equal(network.state_dict()["blocks.0.attn.qkv.weight"], vit["blocks.0.attn.qkv.weight"])


def test_an_open_clip_model_and_open_clip_trains_checkpoint_start_a_clip_encoder(tmp_path):
    config = tmp_path / "tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    source = open_clip.create_model("tiny-clip").state_dict()
    released = tmp_path / "open_clip_pytorch_model.bin"  # a released model: both towers
    torch.save(source, released)
    record = _loads(released, f"clip:{config}", source)
    assert record["prefix"] == "" and record["tensors_ignored"] > 0  # the text tower, not loaded
    # open_clip_train's checkpoint under DDP: {"epoch", "name", "state_dict": {"module.visual....": ...}, "optimizer"}
    trained = tmp_path / "epoch_32.pt"
    wrapped = {f"module.{k}": v for k, v in source.items()}
    torch.save({"epoch": 32, "name": "run", "state_dict": wrapped, "optimizer": {}}, trained)
    assert _loads(trained, f"clip:{config}", wrapped, "module.")["prefix"] == "module."


def test_another_projects_lightning_checkpoint_with_its_backbone_under_its_own_names(tmp_path):
    source = torchvision.models.resnet18().state_dict()
    theirs = {**{f"model.backbone.{k}": v for k, v in source.items()}, "model.head.weight": torch.zeros(7, 512),
              "criterion.weight": torch.ones(7)}
    path = tmp_path / "epoch=9-step=100.ckpt"
    torch.save({"state_dict": theirs, "pytorch-lightning_version": "2.5.0", "epoch": 9,
                "hyper_parameters": {"lr": 0.1}}, path)
    record = _loads(path, "resnet18", theirs, "model.backbone.")
    assert record["prefix"] == "model.backbone." and record["tensors_ignored"] == 2  # model.head, criterion


def test_files_that_are_damaged_of_another_network_or_would_run_code_are_refused(tmp_path):
    source = torchvision.models.resnet18().state_dict()
    network = build_network("resnet18", num_classes=3)
    before = {k: v.clone() for k, v in network.state_dict().items()}
    cut = tmp_path / "cut.safetensors"
    save_file(source, cut)
    cut.write_bytes(cut.read_bytes()[:100_000])
    with pytest.raises(ValueError, match=f"checkpoint {cut} is not a whole safetensors file"):
        load_backbone(network, "resnet18", cut)
    # Hugging Face transformers' ResNet names its tensors its own way (resnet.embedder....): not mapped, said so
    transformers_like = tmp_path / "pytorch_model.bin"
    torch.save({f"resnet.encoder.{i}.weight": v for i, v in enumerate(source.values())}, transformers_like)
    with pytest.raises(ValueError, match=r"does not match a resnet18 backbone .* 120 of the backbone's 120 missing"):
        load_backbone(network, "resnet18", transformers_like)
    deeper = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), deeper)
    with pytest.raises(ValueError, match=r"does not match a resnet18 backbone .* 0 of .* missing .* 0 of another shape .* 96 more in its modules .*layer1.2"):
        load_backbone(network, "resnet18", deeper)
    code = tmp_path / "pickled_module.pth"
    torch.save(torchvision.models.resnet18(), code)  # the whole module pickled: loading it would run its classes
    with pytest.raises(ValueError, match="cannot be read with weights_only=True"):
        load_backbone(network, "resnet18", code)
    assert all(torch.equal(network.state_dict()[k], v) for k, v in before.items())  # a refused file loaded nothing
