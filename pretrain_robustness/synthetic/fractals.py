"""FractalDB's iterated function systems (Kataoka et al., "Pre-training without natural images"),
rendered as the official generator does, without its per-point Python loop.

The official renderer (``fractal_renderer/ifs_function.py``) draws the chaos game with a fixed
``np.random.seed(100)`` per render, picks map j for the first cumulative probability >= the draw,
keeps the start point (0, 0), drops NaN points and the 100 before them, shifts negative
coordinates to 0, scales by the range into ``[pad, size - pad]`` (uint16), and pastes one 3x3 patch
per point at (x + 1, y + 1) with a random 9-bit mask (grey 127; a later patch overwrites every
pixel of earlier ones, zeros included), then flips the image top-bottom. Here:

* the trajectory ``p[k+1] = A_j p[k] + t_j`` is computed in blocks: every block's prefix
  compositions at once (one vectorised step per block position), the block starts by chaining the
  block maps, then every point from its block start -- the same affine maps, so the same points up
  to float rounding (checked against the per-point loop in the tests);
* stamping is one scatter over all (point, offset) pairs in point order, so the last writer wins
  exactly as the sequential pastes do;
* masks come from a seeded generator per (category, variation, instance), so every image is
  reproducible (the official masks come from Python's unseeded ``random``).
"""

from __future__ import annotations

import numpy as np

SELECTION_SEED = 100  # np.random.seed(100) in the official calculate(): the same draws for every render
GREY = 127
# bit i*3 + j of a mask (most significant first, as '{:09b}'.format) -> patch row i, column j
MASK_BITS = ((np.arange(512)[:, None] >> (8 - np.arange(9))[None, :]) & 1).astype(np.uint8)
PATCH_ROWS, PATCH_COLS = np.divmod(np.arange(9), 3)


def sample_system(rng: np.random.Generator) -> np.ndarray:
    """A candidate system as in the official search: 2-7 maps, a..f ~ U(-1, 1), probability
    proportional to |ad - bc|. Rows ``a, b, c, d, e, f, p`` (the official CSV layout)."""
    n_maps = int(rng.integers(2, 8))
    params = np.zeros((n_maps, 7))
    params[:, :6] = rng.uniform(-1.0, 1.0, (n_maps, 6))
    det = np.abs(params[:, 0] * params[:, 3] - params[:, 1] * params[:, 2])
    params[:, 6] = det / det.sum()
    return params


def map_choices(probabilities: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The first map whose cumulative probability is >= each draw (a draw above the last
    cumulative sum, possible only by rounding, takes the last map)."""
    cumulative = np.cumsum(probabilities)
    return np.minimum(np.searchsorted(cumulative, draws, side="left"), len(probabilities) - 1)


def trajectory(params: np.ndarray, iterations: int, block: int = 256, draws: np.ndarray | None = None) -> np.ndarray:
    """``iterations`` chaos-game points (x, y), starting at (0, 0), as an (iterations, 2) array."""
    if draws is None:
        draws = np.random.RandomState(SELECTION_SEED).random_sample(iterations)
    steps = iterations - 1
    choice = map_choices(params[:, 6], draws[:steps])
    blocks = -(-steps // block)
    coef = np.zeros((blocks * block, 6))
    coef[:, 0] = coef[:, 3] = 1.0  # padding steps are the identity map
    coef[:steps] = params[choice, :6]
    # (6, block, blocks): position-major, so each step below works on contiguous rows
    a, b, c, d, e, f = np.ascontiguousarray(coef.reshape(blocks, block, 6).transpose(2, 1, 0))
    # prefix maps within each block: point s of block k = M[s, k] @ start_k + v[s, k]
    m00, m01, m10, m11, v0, v1 = (np.empty((block + 1, blocks)) for _ in range(6))
    m00[0], m01[0], m10[0], m11[0], v0[0], v1[0] = 1.0, 0.0, 0.0, 1.0, 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(block):
            np.add(a[s] * m00[s], b[s] * m10[s], out=m00[s + 1])
            np.add(a[s] * m01[s], b[s] * m11[s], out=m01[s + 1])
            np.add(c[s] * m00[s], d[s] * m10[s], out=m10[s + 1])
            np.add(c[s] * m01[s], d[s] * m11[s], out=m11[s + 1])
            np.add(a[s] * v0[s] + b[s] * v1[s], e[s], out=v0[s + 1])
            np.add(c[s] * v0[s] + d[s] * v1[s], f[s], out=v1[s + 1])
        starts = np.empty((2, blocks))
        x = y = 0.0
        ends = np.stack([m00[block], m01[block], m10[block], m11[block], v0[block], v1[block]], axis=1).tolist()
        for k, (e00, e01, e10, e11, ev0, ev1) in enumerate(ends):
            starts[0, k], starts[1, k] = x, y
            x, y = e00 * x + e01 * y + ev0, e10 * x + e11 * y + ev1
        xs = m00[:block] * starts[0] + m01[:block] * starts[1] + v0[:block]
        ys = m10[:block] * starts[0] + m11[:block] * starts[1] + v1[:block]
    points = np.empty((iterations, 2))
    points[0] = 0.0
    points[1:, 0] = _after_each_step(xs.T, x, steps)
    points[1:, 1] = _after_each_step(ys.T, y, steps)
    return points


def _after_each_step(values: np.ndarray, last: float, steps: int) -> np.ndarray:
    """Points after steps 1..steps: positions 1.. of each block, then the block ends."""
    blocks, block = values.shape
    shifted = np.empty(blocks * block)
    shifted[:-1] = values.ravel()[1:]  # position s + 1 of a block, or the next block's start
    shifted[-1] = last
    return shifted[:steps]


def to_pixels(points: np.ndarray, size: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The official rescale: drop NaN points and the 100 before each first NaN, shift negative
    coordinates to 0, scale by the range into [pad, size - pad], truncate to uint16."""
    xs, ys = points[:, 0].copy(), points[:, 1].copy()
    for coord in (0, 1):
        column = xs if coord == 0 else ys
        bad = np.flatnonzero(np.isnan(column))
        if bad.size:
            drop = np.union1d(np.arange(max(bad[0] - 100, 0), bad[0]), bad)
            xs, ys = np.delete(xs, drop), np.delete(ys, drop)
    if xs.min() < 0:
        xs -= xs.min()
    if ys.min() < 0:
        ys -= ys.min()
    with np.errstate(divide="ignore", invalid="ignore"):
        px = (xs / (xs.max() - xs.min()) * float(size - 2 * pad) + float(pad)).astype(np.uint16)
        py = (ys / (ys.max() - ys.min()) * float(size - 2 * pad) + float(pad)).astype(np.uint16)
    return px, py


def stamp(px: np.ndarray, py: np.ndarray, masks: np.ndarray, size: int) -> np.ndarray:
    """Paste each point's 3x3 masked patch at (x + 1, y + 1) in point order; returns the image
    flipped top-bottom, as the official renderer saves it (uint8, grey 127 on black)."""
    canvas = np.zeros((size + 4) * (size + 4), dtype=np.uint8)  # margin: patches past the edge are clipped
    stride = size + 4
    base = (py.astype(np.int64) + 1) * stride + (px.astype(np.int64) + 1)
    offsets = PATCH_ROWS * stride + PATCH_COLS
    # point-major order: a later point's writes come later, so it wins (numpy assigns in order)
    canvas[(base[:, None] + offsets[None, :]).ravel()] = (MASK_BITS[masks] * GREY).ravel()
    return canvas.reshape(stride, stride)[:size, :size][::-1]


def point_image(px: np.ndarray, py: np.ndarray, size: int) -> np.ndarray:
    """The search's point rendering: grey at every point (no patch)."""
    image = np.zeros((size, size), dtype=np.uint8)
    image[py, px] = GREY
    return image


def fill_rate(params: np.ndarray, points: int = 100_000, size: int = 512, pad: int = 6,
              draws: np.ndarray | None = None) -> float:
    """Fraction of non-zero pixels of the system's point rendering (the search's criterion)."""
    px, py = to_pixels(trajectory(params, points, draws=draws), size, pad)
    return float(np.count_nonzero(point_image(px, py, size))) / (size * size)


def flip(image: np.ndarray, kind: int) -> np.ndarray:
    """0: none, 1: vertical (top-bottom), 2: horizontal (left-right), 3: both (official order)."""
    return [image, image[::-1], image[:, ::-1], image[::-1, ::-1]][kind]
