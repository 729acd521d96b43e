"""CLIP image encoders as fine-tuning backbones (Fig. 12), on a tiny random open_clip model saved as
a local checkpoint: the zero-shot head against CLIP's zero-shot logits recomputed here, the input
check, the no-download rule, a fit through the CLI, and the ViT architectures by name."""

import json

import open_clip
import pytest
import torch
from torch.nn import functional as F

from pretrain_robustness.cli import main
from pretrain_robustness.lightning_modules.architecture_names import is_clip
from pretrain_robustness.lightning_modules.backbones import build_network, head_prefix
from pretrain_robustness.lightning_modules.clip_backbone import cached_weights

TINY = {"embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
TEMPLATES = (lambda c: f"a photo of a {c}.", lambda c: f"a camera trap image of a {c}.")


@pytest.fixture
def tiny_clip(tmp_path):
    """(architecture, checkpoint): a random tiny CLIP whose weights are saved as a local file."""
    config = tmp_path / "tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(str(config))
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip")
    checkpoint = tmp_path / "tiny-clip.pt"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    return f"clip:{config}", str(checkpoint), model


def test_a_zero_shot_head_gives_clips_zero_shot_logits(tiny_clip, monkeypatch):
    architecture, checkpoint, model = tiny_clip
    monkeypatch.setattr("open_clip.zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES", TEMPLATES)
    names = ["deer", "empty", "fox"]
    network = build_network(architecture, 3, checkpoint, "zero_shot", names)
    # CLIP's zero-shot classifier, recomputed from the text tower: per class the mean of its
    # normalised template embeddings, normalised; logits = logit_scale x cosine
    tokenizer = open_clip.get_tokenizer("tiny-clip")
    with torch.no_grad():
        classes = []
        for name in names:
            embedded = F.normalize(model.encode_text(tokenizer([t(name) for t in TEMPLATES])), dim=-1)
            classes.append(F.normalize(embedded.mean(0), dim=0))
        images = torch.randn(4, 3, 32, 32)
        expected = model.logit_scale.exp() * F.normalize(model.encode_image(images), dim=-1) @ torch.stack(classes).T
        assert torch.allclose(network(images), expected, atol=1e-5)
    assert network.preprocess == (32, (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
    assert head_prefix(architecture) == "head."
    with pytest.raises(ValueError, match="needs the 3 class names"):
        build_network(architecture, 3, checkpoint, "zero_shot", ["deer"])
    assert is_clip(architecture) and not is_clip("resnet50")


def test_weights_are_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="ViT-B-32 'openai' are not on this machine.*vit_base_patch32_clip_224"):
        cached_weights("ViT-B-32", "openai")
    with pytest.raises(ValueError, match="no pretrained tag 'laion15m' for RN50"):
        cached_weights("RN50", "laion15m")
    with pytest.raises(FileNotFoundError, match="CLIP checkpoint not found: /no/such.pt"):
        build_network("clip:RN50", 3, "/no/such.pt")
    with pytest.raises(ValueError, match="unknown open_clip model 'ViT-Q-99'"):
        build_network("clip:ViT-Q-99", 3)


def test_vits_by_name():
    assert isinstance(build_network("vit_b_32", 5).heads.head, torch.nn.Linear) and head_prefix("vit_b_32") == "heads.head."
    assert build_network("timm:vit_tiny_patch16_224", 5).head.out_features == 5
    assert head_prefix("timm:vit_tiny_patch16_224") == "head."
    with pytest.raises(ValueError, match="clip_weights, head_init and clip_image_size are for clip"):
        build_network("resnet18", 5, clip_weights="openai")


def test_fine_tuning_a_clip_encoder_on_iwildcam(tiny_clip, tiny_data, tmp_path):
    architecture, checkpoint, _ = tiny_clip
    runs = tmp_path / "runs"
    common = ["fit", "--config", "configs/recipes/finetune_wilds_adamw.yaml", "--config", "configs/finetune/iwildcam.yaml",
              "--config", "configs/finetune/iwildcam_clip.yaml", "--model.architecture", architecture,
              "--model.clip_weights", checkpoint, "--data.init_args.root", str(tiny_data),
              "--data.init_args.num_workers", "0", "--trainer.max_epochs", "1", "--trainer.logger", "false",
              "--run.root", str(runs), "--run.condition", "clip-tiny", "--run.params", '{"source": "random", "pairs": 0}']
    with pytest.raises(ValueError, match="expects 32 px inputs normalised with mean .* the data gives 224 px"):
        main(common)
    main([*common, "--data.init_args.image_size", "32", "--run.overwrite", "true"])
    run = runs / "default" / "finetune" / "clip-tiny" / "clip-tiny-clip-seed0"  # the folder name says the encoder
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["params"]["source"] == "random"


def test_a_vit_fine_tunes_at_another_input_size_with_open_clips_resized_position_embeddings(tiny_clip):
    """WILDS' 448 px for a 224 px CLIP (Fig. 12's alternative), here 64 px for the 32 px tiny ViT: the
    position embeddings are open_clip's own bicubic resize of the saved ones, every other weight is
    the saved one, and the network takes (and trains on) the larger input."""
    from open_clip.model import resize_pos_embed

    architecture, checkpoint, model = tiny_clip
    network = build_network(architecture, 3, checkpoint, "random", clip_image_size=64)
    assert network.preprocess[0] == 64
    reference = open_clip.create_model("tiny-clip", force_image_size=64)
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    resize_pos_embed(saved, reference)
    loaded = network.visual.state_dict()
    assert torch.equal(loaded["positional_embedding"], saved["visual.positional_embedding"])
    assert loaded["positional_embedding"].shape[0] == (64 // 8) ** 2 + 1
    assert all(torch.equal(v, saved[f"visual.{k}"]) for k, v in loaded.items() if k != "positional_embedding")
    loss = F.cross_entropy(network(torch.randn(2, 3, 64, 64)), torch.tensor([0, 2]))
    loss.backward()
    assert network.visual.positional_embedding.grad is not None
