"""Time Stable Diffusion generation at real size with a randomly initialised pipeline of SD 1.x's
dimensions (860M-parameter UNet, 512 x 512 images): no weights needed, same compute.

    .venv/bin/python scripts/benchmark_diffusion.py [--batch 8] [--steps 5] [--device cuda] [--dtype fp16]

Prints seconds per denoising step of the batch (with classifier-free guidance: 2 UNet passes per
image) and the images/s a 50-step generation would reach, VAE decoding included.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> dict:
    import torch

    from pretrain_robustness.synthetic.random_pipeline import random_pipeline

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="sd1", choices=["sd1", "tiny"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32"])
    args = parser.parse_args(argv)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    if args.device == "cpu" and dtype == torch.float16:
        dtype = torch.float32
    pipeline = random_pipeline(args.size).to(args.device, dtype)
    pipeline.set_progress_bar_config(disable=True)
    unet_params = sum(p.numel() for p in pipeline.unet.parameters())
    prompts = ["a photo of a tench."] * args.batch

    def run(steps: int) -> float:
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        pipeline(prompts, num_inference_steps=steps, height=args.resolution, width=args.resolution,
                 generator=torch.Generator("cpu").manual_seed(0))
        if args.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    run(1)  # warm-up (kernels, allocator)
    # fastest of 3 each (timing noise only adds); at a tiny size noise can exceed a step, so the step
    # time is never taken below 0 and a 50-step batch never below one 1-step run
    one, many = min(run(1) for _ in range(3)), min(run(args.steps + 1) for _ in range(3))
    per_step = max(many - one, 0.0) / args.steps
    fixed = one - per_step  # text encoding + VAE decoding + one step's overhead
    fifty = one + 49 * per_step
    result = {"device": args.device, "dtype": str(dtype), "unet_params": unet_params, "batch": args.batch,
              "seconds_per_step": per_step, "seconds_per_batch_50_steps": fifty, "images_per_second": args.batch / fifty}
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(f"{name}, {args.dtype}, UNet {unet_params / 1e6:.0f}M parameters, batch {args.batch}, {args.resolution} px")
    print(f"  {per_step:.3f} s per denoising step of the batch; {fixed:.2f} s text encoding + decoding")
    print(f"  50 steps: {fifty:.1f} s per batch = {result['images_per_second']:.3f} images/s")
    return result


if __name__ == "__main__":
    main()
