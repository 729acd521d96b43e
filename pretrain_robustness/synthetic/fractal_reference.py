"""The per-point renderer, written the way the official FractalDB renderer works (one Python
iteration per chaos-game step, one 3x3 PIL paste per point). Only for the tests and the
benchmark: it defines what the fast renderer must reproduce, and how fast the original is."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .fractals import SELECTION_SEED, to_pixels


def reference_points(params: np.ndarray, iterations: int) -> np.ndarray:
    """The official ``calculate``: cumulative probabilities added one by one, the first map whose
    sum is >= the draw; where none is (probabilities summing below the draw) the loop's
    ``next_x, next_y`` keep the previous step's values, i.e. the previous point (on the very first
    step there is none: the official code fails there, this raises). Python floats overflow to
    inf and NaN as they do there."""
    draws = np.random.RandomState(SELECTION_SEED).random_sample(iterations)
    cumulative, total = [], 0.0
    for probability in params[:, 6].tolist():
        total += probability
        cumulative.append(total)
    maps = params[:, :6].tolist()
    xs, ys = [0.0], [0.0]
    x = y = 0.0
    for i in range(iterations - 1):
        for j, bound in enumerate(cumulative):
            if draws[i] <= bound:
                a, b, c, d, e, f = maps[j]
                x, y = x * a + y * b + e, x * c + y * d + f
                break
        else:
            if i == 0:
                raise ValueError("the first draw exceeds the summed probabilities: no previous point to keep")
        xs.append(x)
        ys.append(y)
    return np.stack([xs, ys], axis=1)


def reference_render(params: np.ndarray, masks: np.ndarray, size: int = 362, pad: int = 6,
                     iterations: int = 200_000) -> np.ndarray:
    """One RGB image (as the official files are), point by point: the chaos game, the rescale, a
    paste per point, the flip."""
    px, py = to_pixels(reference_points(params, iterations), size, pad)
    image = Image.new("RGB", (size, size))
    for i in range(len(px)):
        pattern = "{:09b}".format(int(masks[i]))
        patch = np.zeros((3, 3, 3), np.uint8)
        for r in range(3):
            for c in range(3):
                patch[r, c, :] = np.array([127, 127, 127]) * int(pattern[r * 3 + c])
        image.paste(Image.fromarray(patch), (int(px[i]) + 1, int(py[i]) + 1))
    return np.asarray(image.transpose(Image.FLIP_TOP_BOTTOM))
