"""Vectorised drawing of part-based creatures and objects on camera-trap-like scenes.

A class is a :class:`Shape`: primitive parts in a canonical frame (x forward, y down,
unit = body size) plus a surface pattern. Images are float RGB arrays in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Part = tuple  # ("ellipse", cx, cy, rx, ry) | ("seg", x0, y0, x1, y1, width) | ("ring", cx, cy, r_out, r_in)


@dataclass(frozen=True)
class Shape:
    parts: tuple[Part, ...]
    colour: tuple[float, float, float]
    pattern: str = "solid"  # solid | stripes | spots | belly | checker


@dataclass(frozen=True)
class Pose:
    cx: float  # centre, fraction of the image width
    cy: float
    scale: float  # body unit, fraction of the image width
    facing: int  # +1 right, -1 left
    angle: float  # radians


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return (xx + 0.5) / size, (yy + 0.5) / size


def _segment_distance(x, y, x0, y0, x1, y1):
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    return np.hypot(x - (x0 + t * dx), y - (y0 + t * dy))


def _part_mask(part: Part, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    kind, *p = part
    if kind == "ellipse":
        cx, cy, rx, ry = p
        return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1.0
    if kind == "seg":
        x0, y0, x1, y1, width = p
        return _segment_distance(x, y, x0, y0, x1, y1) < width
    if kind == "ring":
        cx, cy, r_out, r_in = p
        r = np.hypot(x - cx, y - cy)
        return (r < r_out) & (r > r_in)
    raise ValueError(f"unknown part kind {kind!r}")


def _canonical_coords(size: int, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = _grid(size)
    dx, dy = (gx - pose.cx) / pose.scale, (gy - pose.cy) / pose.scale
    c, s = np.cos(pose.angle), np.sin(pose.angle)
    return (c * dx + s * dy) * pose.facing, -s * dx + c * dy


def _pattern_shade(pattern: str, x: np.ndarray, y: np.ndarray, phase: float) -> np.ndarray:
    if pattern == "stripes":
        return np.where(np.sin(x * 14.0 + phase) > 0.0, 1.0, 0.15)
    if pattern == "spots":
        return np.where(np.sin(x * 11.0 + phase) * np.sin(y * 11.0 + phase) > 0.45, 0.3, 1.0)
    if pattern == "belly":
        return np.where(y > 0.15, 1.6, 1.0)
    if pattern == "checker":
        return np.where(np.sin(x * 9.0) * np.sin(y * 9.0) > 0.0, 1.0, 0.35)
    return np.ones_like(x)


def draw_shape(image: np.ndarray, shape: Shape, pose: Pose, rng: np.random.Generator) -> np.ndarray:
    """Draw ``shape`` onto ``image`` (H, W, 3) in place; returns the drawn mask."""
    x, y = _canonical_coords(image.shape[0], pose)
    mask = np.zeros(x.shape, dtype=bool)
    for part in shape.parts:
        mask |= _part_mask(part, x, y)
    colour = np.clip(np.asarray(shape.colour) * rng.uniform(0.8, 1.2, 3), 0.0, 1.0)
    shade = _pattern_shade(shape.pattern, x, y, rng.uniform(0, 2 * np.pi))
    image[mask] = np.clip(colour[None, :] * shade[mask][:, None], 0.0, 1.0)
    return mask


@dataclass(frozen=True)
class Scene:
    """A static camera view: what the background of every image at one camera looks like."""

    sky: tuple[float, float, float]
    ground: tuple[float, float, float]
    horizon: float
    cast: tuple[float, float, float]  # per-channel colour cast of this camera's sensor
    seed: int
    clutter: int  # number of trees, rocks and bushes
    animal_scale: float  # body unit at this camera's distance, fraction of image width


def random_scene(rng: np.random.Generator, wide: bool = False) -> Scene:
    """A camera scene; ``wide`` draws from broader ranges (unseen, more varied cameras)."""
    spread = 0.35 if wide else 0.2
    ground = np.clip(np.array([0.35, 0.4, 0.2]) + rng.uniform(-spread, spread, 3), 0.05, 0.95)
    sky = np.clip(np.array([0.6, 0.7, 0.8]) + rng.uniform(-spread, spread, 3), 0.05, 0.95)
    cast = 1.0 + rng.uniform(-spread, spread, 3) * 0.8
    return Scene(
        sky=tuple(sky), ground=tuple(ground), horizon=float(rng.uniform(0.15, 0.5)),
        cast=tuple(cast), seed=int(rng.integers(2**31)),
        clutter=int(rng.integers(2, 12 if wide else 8)),
        animal_scale=float(rng.uniform(0.15, 0.21)),
    )


def render_background(scene: Scene, size: int) -> np.ndarray:
    """The scene's fixed background: sky/ground gradient, trees, rocks, grass texture."""
    rng = np.random.default_rng(scene.seed)
    gx, gy = _grid(size)
    t = np.clip((gy - scene.horizon) * 8.0, 0.0, 1.0)[..., None]
    image = (1 - t) * np.asarray(scene.sky) + t * np.asarray(scene.ground)
    image = image * (1.0 + 0.15 * rng.standard_normal((size, size, 1)))  # grass/leaf texture
    for _ in range(scene.clutter):
        kind = rng.choice(["tree", "rock", "bush"])
        x0 = rng.uniform(0, 1)
        colour = np.clip(np.asarray(scene.ground) * rng.uniform(0.3, 0.9), 0, 1)
        if kind == "tree":
            mask = (np.abs(gx - x0) < rng.uniform(0.01, 0.04)) & (gy < rng.uniform(0.6, 1.0))
        elif kind == "rock":
            mask = ((gx - x0) / rng.uniform(0.05, 0.15)) ** 2 + ((gy - rng.uniform(0.7, 1.0)) / 0.06) ** 2 < 1
        else:
            mask = np.hypot(gx - x0, gy - rng.uniform(0.5, 0.9)) < rng.uniform(0.04, 0.1)
        image[mask] = colour
    return np.clip(image * np.asarray(scene.cast), 0.0, 1.0).astype(np.float32)


def apply_lighting(image: np.ndarray, subject: np.ndarray, hour: int, rng: np.random.Generator) -> np.ndarray:
    """Time-of-day exposure; night shots are grayscale infrared with the subject lit by the flash."""
    if hour < 6 or hour >= 19:
        gray = image.mean(axis=2, keepdims=True) * 0.45
        gray[subject] = np.clip(gray[subject] * 2.6 + 0.15, 0, 1)
        image = np.repeat(gray, 3, axis=2)
    else:
        image = image * rng.uniform(0.75, 1.2)
    noise = rng.normal(0.0, 0.03, image.shape)
    return np.clip(image + noise, 0.0, 1.0)


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
