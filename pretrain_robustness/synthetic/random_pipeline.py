"""Randomly initialised Stable Diffusion pipelines built from configs, never downloaded: a tiny
one for the tests, and one of Stable Diffusion 1.x's real dimensions for timing generation."""

from __future__ import annotations

# UNet, VAE and text encoder sizes: (tiny, Stable Diffusion v1.x as published in its model configs)
SIZES = {
    "tiny": dict(unet=(32, 64), layers=1, heads=4, cross=32, vae=(32, 64), text_hidden=32, text_layers=2,
                 text_mlp=37, sample=16),
    "sd1": dict(unet=(320, 640, 1280, 1280), layers=2, heads=8, cross=768, vae=(128, 256, 512, 512), text_hidden=768,
                text_layers=12, text_mlp=3072, sample=64),
}


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    kept = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = [b for b in range(256) if b not in kept]
    return [chr(b) for b in kept] + [chr(256 + i) for i in range(len(extra))]


def byte_level_tokenizer():
    """A CLIP BPE tokenizer without merges (every byte a token): CLIP's interface, no vocabulary file."""
    from transformers import CLIPTokenizer

    symbols = _byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def random_pipeline(size: str = "tiny", seed: int = 0):
    """A ``StableDiffusionPipeline`` with random weights of the given ``size`` (see ``SIZES``)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    s = SIZES[size]
    torch.manual_seed(seed)
    n = len(s["unet"])
    unet = UNet2DConditionModel(
        block_out_channels=s["unet"], layers_per_block=s["layers"], sample_size=s["sample"], in_channels=4,
        out_channels=4, attention_head_dim=s["heads"], cross_attention_dim=s["cross"],
        down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",) if n > 2 else
        ("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1) if n > 2 else
        ("CrossAttnUpBlock2D", "UpBlock2D"))
    vae = AutoencoderKL(block_out_channels=list(s["vae"]), in_channels=3, out_channels=3, latent_channels=4,
                        layers_per_block=2 if size == "sd1" else 1,
                        down_block_types=["DownEncoderBlock2D"] * len(s["vae"]),
                        up_block_types=["UpDecoderBlock2D"] * len(s["vae"]))
    text = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=2, pad_token_id=1, vocab_size=49408,
                                        hidden_size=s["text_hidden"], intermediate_size=s["text_mlp"],
                                        num_attention_heads=max(4, s["text_hidden"] // 64),
                                        num_hidden_layers=s["text_layers"], max_position_embeddings=77))
    return StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=byte_level_tokenizer(), unet=unet,
                                   scheduler=DDIMScheduler(clip_sample=False), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
