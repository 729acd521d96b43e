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
  reproducible (the official masks come from Python's unseeded ``random``);
* the official loop's edge cases are kept: a draw above the summed probabilities keeps the
  previous point, and a diverging trajectory is recomputed point by point from the block where it
  turns non-finite, so it overflows at the same step as there.
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


IDENTITY = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
# a blocked point this large is recomputed point by point: the per-point loop may overflow near here
TOO_LARGE = 1e300


def map_choices(probabilities: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The first map whose cumulative probability (summed in order, as the official loop adds
    them) is >= each draw; ``len(probabilities)`` where none is, i.e. where the probabilities sum
    to less than the draw: the official loop then keeps the previous point."""
    return np.searchsorted(np.cumsum(probabilities), draws, side="left")


def trajectory(params: np.ndarray, iterations: int, block: int = 256, draws: np.ndarray | None = None) -> np.ndarray:
    """``iterations`` chaos-game points (x, y), starting at (0, 0), as an (iterations, 2) array.

    Blocked (see the module docstring), except where the official per-point loop behaves
    differently: a step whose draw exceeds every cumulative probability keeps the previous point
    (an identity step), and from the first block that turns non-finite (or huge) onwards the
    points are recomputed one by one as the loop does, so a diverging system overflows at the same
    step, to the same inf/NaN, as there."""
    if draws is None:
        draws = np.random.RandomState(SELECTION_SEED).random_sample(iterations)
    steps = iterations - 1
    choice = map_choices(params[:, 6], draws[:steps])
    if steps and choice[0] == len(params):
        raise ValueError(f"the first chaos-game draw ({draws[0]!r}) exceeds the system's summed probabilities "
                         f"({np.cumsum(params[:, 6])[-1]!r}): the official renderer fails there (no point yet to keep)")
    maps = np.vstack([params[:, :6], IDENTITY])  # index len(params): keep the previous point
    blocks = -(-steps // block)
    coef = np.zeros((blocks * block, 6))
    coef[:, 0] = coef[:, 3] = 1.0  # padding steps are the identity map
    coef[:steps] = maps[choice]
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
    return _recompute_diverging(points, params, choice, block)


def _recompute_diverging(points: np.ndarray, params: np.ndarray, choice: np.ndarray, block: int) -> np.ndarray:
    """From the first block with an inf, NaN or near-overflow point on, the points one by one as the
    official loop computes them (so a diverging system overflows at the same step, to the same value)."""
    bad = np.flatnonzero(~(np.abs(points) < TOO_LARGE).all(axis=1))
    if bad.size:
        start = (int(bad[0]) - 1) // block * block  # the first step of the block that produced it
        rows = params[:, :6].tolist() + [None]  # None: keep the previous point
        points[start + 1:] = point_by_point([rows[j] for j in choice[start:]], points[start])
    return points


def point_by_point(steps: list, start: np.ndarray) -> np.ndarray:
    """The official loop from ``start``: per step a map (a..f) applied in Python floats with the
    same expressions in the same order, or ``None``: the previous point kept as it is (no
    arithmetic, which would turn inf into NaN); once both coordinates are NaN they stay NaN."""
    x, y = float(start[0]), float(start[1])
    out = np.full((len(steps), 2), np.nan)
    for i, step in enumerate(steps):
        if step is not None:
            a, b, c, d, e, f = step
            x, y = x * a + y * b + e, x * c + y * d + f
            if x != x and y != y:
                break
        out[i] = x, y
    return out


def _after_each_step(values: np.ndarray, last: float, steps: int) -> np.ndarray:
    """Points after steps 1..steps: positions 1.. of each block, then the block ends."""
    blocks, block = values.shape
    shifted = np.empty(blocks * block)
    shifted[:-1] = values.ravel()[1:]  # position s + 1 of a block, or the next block's start
    shifted[-1] = last
    return shifted[:steps]


def to_pixels(points: np.ndarray, size: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The official rescale: drop NaN points and the 100 before each first NaN, shift negative
    coordinates to 0, scale by the range into [pad, size - pad], truncate to uint16 (infinite
    points stay, as there: the range is then NaN and numpy casts NaN to 0)."""
    xs, ys = points[:, 0].copy(), points[:, 1].copy()
    for coord in (0, 1):
        column = xs if coord == 0 else ys
        bad = np.flatnonzero(np.isnan(column))
        if bad.size:
            # as the official: range(first - 100, first), negative indices (a NaN in the first 100
            # points) included, which np.delete counts from the end
            drop = np.append(np.arange(bad[0] - 100, bad[0]), bad)
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
