"""What the demo's classes look like, in the part language of :mod:`.render`.

Downstream species carry real iWildCam-WILDS names (y = 0 is "empty", as in the real
``categories.csv``); pre-training classes carry real ILSVRC-2012 wnids, none of them a
downstream species, half of them animals (class index < 398) and half objects, so the
label-semantics interventions run on the demo set unchanged.
"""

from __future__ import annotations

from .render import Shape


def _legs(xs, top, length, width=0.05, splay=0.0):
    return tuple(("seg", x, top, x + splay, top + length, width) for x in xs)


# (category_id, name, shape or None for an empty frame). Real iWildCam ids are not contiguous.
IWILDCAM_SPECIES = (
    (0, "empty", None),
    (2, "tayassu pecari", Shape(
        (("ellipse", 0, 0, 1.0, 0.5), ("ellipse", 1.0, 0.1, 0.35, 0.25)) + _legs((-0.6, -0.3, 0.3, 0.6), 0.3, 0.45),
        (0.3, 0.25, 0.22))),
    (3, "meleagris ocellata", Shape(
        (("ellipse", 0, 0, 0.7, 0.55), ("seg", 0.5, -0.3, 0.8, -0.9, 0.08), ("ellipse", 0.85, -1.0, 0.16, 0.14),
         ("ellipse", -0.8, -0.35, 0.35, 0.65)) + _legs((-0.1, 0.2), 0.4, 0.7, 0.04),
        (0.3, 0.45, 0.55), "spots")),
    (4, "equus quagga", Shape(
        (("ellipse", 0, 0, 1.0, 0.45), ("seg", 0.8, -0.2, 1.15, -0.8, 0.14), ("ellipse", 1.25, -0.8, 0.3, 0.16))
        + _legs((-0.7, -0.45, 0.45, 0.7), 0.3, 0.9),
        (0.95, 0.95, 0.92), "stripes")),
    (5, "madoqua guentheri", Shape(
        (("ellipse", 0, 0, 0.7, 0.35), ("seg", 0.55, -0.15, 0.8, -0.6, 0.07), ("ellipse", 0.9, -0.62, 0.2, 0.12))
        + _legs((-0.45, -0.3, 0.3, 0.45), 0.2, 0.95, 0.035),
        (0.7, 0.55, 0.35))),
    (6, "leopardus pardalis", Shape(
        (("ellipse", 0, 0, 1.1, 0.3), ("ellipse", 1.15, -0.1, 0.28, 0.22), ("seg", -1.0, 0, -1.9, 0.3, 0.06))
        + _legs((-0.7, -0.5, 0.5, 0.75), 0.2, 0.4),
        (0.85, 0.7, 0.3), "spots")),
    (7, "giraffa camelopardalis", Shape(
        (("ellipse", 0, 0, 0.8, 0.4), ("seg", 0.6, -0.2, 1.0, -1.6, 0.1), ("ellipse", 1.1, -1.65, 0.22, 0.12))
        + _legs((-0.5, -0.3, 0.3, 0.5), 0.25, 1.2, 0.05),
        (0.85, 0.65, 0.35), "spots")),
    (8, "sus scrofa", Shape(
        (("ellipse", 0, 0, 1.0, 0.62), ("ellipse", 1.0, 0.15, 0.4, 0.3), ("ellipse", 1.4, 0.2, 0.12, 0.12))
        + _legs((-0.6, -0.35, 0.35, 0.6), 0.45, 0.3, 0.09),
        (0.22, 0.17, 0.12))),
    (9, "dasyprocta punctata", Shape(
        (("ellipse", 0, 0, 0.6, 0.42), ("ellipse", 0.6, -0.1, 0.25, 0.2)) + _legs((-0.35, 0.35), 0.3, 0.25, 0.04),
        (0.7, 0.4, 0.15), "belly")),
    (10, "crax rubra", Shape(
        (("ellipse", 0, 0, 0.6, 0.4), ("ellipse", 0.6, -0.45, 0.18, 0.16), ("seg", 0.6, -0.6, 0.55, -0.85, 0.05),
         ("seg", -0.5, -0.1, -1.1, 0.1, 0.15)) + _legs((0.0, 0.15), 0.3, 0.6, 0.03),
        (0.1, 0.1, 0.1), "belly")),
)

_STAR = tuple(("seg", 0, 0, 0.9 * c, 0.9 * s, 0.12) for c, s in
              ((1, 0), (0.31, 0.95), (-0.81, 0.59), (-0.81, -0.59), (0.31, -0.95)))
_WHEELS = (("ellipse", -0.6, 0.5, 0.25, 0.25), ("ellipse", 0.6, 0.5, 0.25, 0.25))

# (wnid, shape): real ILSVRC-2012 classes; first eight are WordNet animals, last eight objects.
IMAGENET_DEMO_CLASSES = (
    ("n01440764", Shape((("ellipse", 0, 0, 0.9, 0.35), ("seg", -0.9, 0, -1.3, -0.35, 0.1),
                         ("seg", -0.9, 0, -1.3, 0.35, 0.1)), (0.45, 0.5, 0.3))),  # tench
    ("n01644373", Shape((("ellipse", 0, 0, 0.55, 0.4),) + _legs((-0.4, 0.4), 0.2, 0.5, 0.08, 0.3),
                        (0.3, 0.8, 0.3), "spots")),  # tree frog
    ("n01664065", Shape((("ellipse", 0, 0, 0.8, 0.5), ("ellipse", 0.9, 0.1, 0.2, 0.15),
                         ("seg", 0.4, 0.3, 0.8, 0.7, 0.1), ("seg", -0.4, 0.3, -0.8, 0.7, 0.1)),
                        (0.5, 0.4, 0.25), "checker")),  # loggerhead turtle
    ("n01742172", Shape(tuple(("seg", -1.2 + 0.4 * i, 0.25 * (-1) ** i, -0.8 + 0.4 * i, -0.25 * (-1) ** i, 0.1)
                              for i in range(6)), (0.55, 0.45, 0.3), "spots")),  # boa constrictor
    ("n01774750", Shape((("ellipse", 0, 0, 0.35, 0.3),) + tuple(
        ("seg", 0, 0, 0.9 * c, 0.6 * s, 0.04) for c, s in
        ((1, 0.3), (1, 0.9), (0.7, 1.2), (0.4, -1), (-1, 0.3), (-1, 0.9), (-0.7, 1.2), (-0.4, -1))),
        (0.15, 0.12, 0.1))),  # tarantula
    ("n01910747", Shape((("ellipse", 0, -0.2, 0.7, 0.45),) + tuple(
        ("seg", x, 0.1, x + 0.1, 1.0, 0.04) for x in (-0.5, -0.2, 0.1, 0.4)),
        (0.8, 0.6, 0.85))),  # jellyfish
    ("n02317335", Shape(_STAR, (0.9, 0.5, 0.3), "spots")),  # starfish
    ("n02051845", Shape((("ellipse", 0, 0, 0.7, 0.45), ("ellipse", 0.6, -0.6, 0.2, 0.18),
                         ("seg", 0.7, -0.55, 1.5, -0.35, 0.07)) + _legs((0.0,), 0.4, 0.5, 0.04),
                        (0.95, 0.95, 0.9))),  # pelican
    ("n02690373", Shape((("seg", -1.2, 0, 1.2, 0, 0.15), ("seg", 0.1, 0, -0.4, -0.9, 0.1),
                         ("seg", 0.1, 0, -0.4, 0.9, 0.1), ("seg", -1.1, 0, -1.3, -0.4, 0.07)),
                        (0.85, 0.85, 0.9))),  # airliner
    ("n02814533", Shape((("seg", -1.0, 0, 1.0, 0, 0.35),) + _WHEELS, (0.6, 0.15, 0.15))),  # beach wagon
    ("n03000134", Shape((("ellipse", 0, 0, 1.6, 1.2),), (0.6, 0.6, 0.6), "checker")),  # chainlink fence
    ("n03063599", Shape((("seg", 0, -0.5, 0, 0.5, 0.45), ("ring", 0.55, 0, 0.35, 0.2)), (0.9, 0.9, 0.85))),  # mug
    ("n03417042", Shape((("seg", -1.2, -0.1, 0.5, -0.1, 0.5), ("seg", 0.7, 0.0, 1.1, 0.0, 0.35),
                         ("ellipse", -0.9, 0.5, 0.22, 0.22), ("ellipse", 0.0, 0.5, 0.22, 0.22),
                         ("ellipse", 0.9, 0.5, 0.22, 0.22)), (0.2, 0.5, 0.25), "stripes")),  # garbage truck
    ("n03788195", Shape((("ellipse", 0, -0.3, 0.6, 0.6), ("seg", -0.7, 0.3, 0.7, 0.3, 0.35),
                         ("seg", -0.9, -1.0, -0.9, 0.6, 0.08), ("seg", 0.9, -1.0, 0.9, 0.6, 0.08)),
                        (0.85, 0.8, 0.6))),  # mosque
    ("n04254680", Shape((("ellipse", 0, 0, 0.7, 0.7),), (0.95, 0.95, 0.95), "spots")),  # soccer ball
    ("n04507155", Shape((("ellipse", 0, -0.3, 1.0, 0.35), ("seg", 0, -0.3, 0, 0.9, 0.05),
                         ("seg", 0, 0.9, 0.25, 0.9, 0.05)), (0.2, 0.25, 0.7), "stripes")),  # umbrella
)
