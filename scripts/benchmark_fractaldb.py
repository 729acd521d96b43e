"""FractalDB rendering speed on one core: the per-point reference loop (as the official renderer
works) against ours, at identical settings, in memory and including the PNG files.

    .venv/bin/python scripts/benchmark_fractaldb.py [--size 362] [--iterations 200000] [--instances 10]

An "instance" is one rendered fractal written as its 4 flips (what the official generator does
per instance). Ours renders a variation's trajectory once for its N instances, as rendering to
disk does; the figure without that sharing is printed too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pretrain_robustness.synthetic import fractaldb, fractals
from pretrain_robustness.synthetic.fractal_reference import reference_render
from pretrain_robustness.synthetic.fractaldb_jobs import render_task


def _accepted_system(seed: int) -> np.ndarray:
    index = 0
    while fractals.fill_rate(fractaldb.candidate(index, seed), 20_000, 128) < 0.2:
        index += 1
    return fractaldb.candidate(index, seed)


def _timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=362)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = fractaldb.RenderSettings(size=args.size, iterations=args.iterations, instances=args.instances,
                                        seed=args.seed)
    params = _accepted_system(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        masks = fractaldb.instance_masks(0, 0, 0, args.iterations, args.seed)
        ref_memory_s, ref_image = _timed(lambda: reference_render(fractaldb.variation(params, 0), masks, args.size, 6,
                                                                  args.iterations))

        def reference_files():
            picture = Image.fromarray(ref_image)  # RGB, as the official saves it
            for k in range(fractaldb.FLIPS):
                picture.transpose(Image.FLIP_TOP_BOTTOM).save(Path(folder, f"ref_flip{k}.png"))
        save_s, _ = _timed(reference_files)
        ref_files_s = ref_memory_s + save_s

        def ours_in_memory():
            coords = fractaldb.pixels(params, 0, settings)
            return [fractaldb.render_instance(coords, 0, 0, n, settings) for n in range(args.instances)]
        ours_memory_s, images = _timed(ours_in_memory)
        single_s, _ = _timed(lambda: fractaldb.render_instance(fractaldb.pixels(params, 0, settings), 0, 0, 0, settings))
        ours_files_s, written = _timed(lambda: render_task((0, 0, params, settings, folder)))
    same = float((np.asarray(fractaldb.picture(images[0], 0)) == ref_image).mean())
    per = {"reference_memory_s": ref_memory_s, "reference_files_s": ref_files_s,
           "ours_memory_s": ours_memory_s / args.instances, "ours_files_s": ours_files_s / args.instances,
           "ours_unshared_memory_s": single_s}
    result = {**per, "speedup_memory": ref_memory_s / per["ours_memory_s"],
              "speedup_files": ref_files_s / per["ours_files_s"],
              "speedup_unshared_memory": ref_memory_s / single_s, "identical_pixels": same, "files": written}
    print(f"{args.size} px, {args.iterations} iterations, {args.instances} instances of one variation, one core")
    print(f"  reference (per-point loop): {ref_memory_s:8.3f} s/instance in memory, {ref_files_s:8.3f} s with its 4 PNGs")
    print(f"  ours:                       {per['ours_memory_s'] * 1e3:8.1f} ms/instance in memory, "
          f"{per['ours_files_s'] * 1e3:8.1f} ms with its 4 PNGs ({1 / per['ours_files_s']:.1f} instances/s)")
    print(f"  ours without sharing the trajectory: {single_s * 1e3:.1f} ms/instance in memory")
    print(f"  speed-up: {result['speedup_memory']:.0f}x in memory, {result['speedup_files']:.0f}x with files, "
          f"{result['speedup_unshared_memory']:.0f}x unshared; pixels identical to the reference: {100 * same:.4f}%")
    return result


if __name__ == "__main__":
    main()
