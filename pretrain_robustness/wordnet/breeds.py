"""The BREEDS-based ImageNet subset of Ramanujan et al., Table 3 (Appendix C.1).

16 superclasses x 12 subclasses; each subclass name is the first name of exactly one
ILSVRC-2012 class (checked against the vendored WordNet data by the tests).
"""

from __future__ import annotations

from functools import lru_cache

from .hierarchy import load
from .synsets import nodes

# superclass -> its 12 subclasses, in the order the paper's table lists them
BREEDS_TABLE_3: dict[str, tuple[str, ...]] = {
    "garment": ("trench coat", "abaya", "gown", "poncho", "military uniform", "jersey", "cloak", "bikini",
                "miniskirt", "swimming trunks", "lab coat", "brassiere"),
    "bird": ("African grey", "bee eater", "coucal", "American coot", "indigo bunting", "king penguin", "spoonbill",
             "limpkin", "quail", "kite", "prairie chicken", "red-breasted merganser"),
    "reptile": ("Gila monster", "agama", "triceratops", "African chameleon", "thunder snake", "Indian cobra",
                "green snake", "mud turtle", "water snake", "loggerhead", "sidewinder", "leatherback turtle"),
    "arthropod": ("rock crab", "black and gold garden spider", "tiger beetle", "black widow", "barn spider",
                  "leafhopper", "ground beetle", "fiddler crab", "bee", "walking stick", "cabbage butterfly",
                  "admiral"),
    "mammal": ("Siamese cat", "ibex", "tiger", "hippopotamus", "Norwegian elkhound", "dugong", "colobus", "Samoyed",
               "Persian cat", "Irish wolfhound", "English setter", "llama"),
    "fish": ("sturgeon", "stingray", "coho", "great white shark", "lionfish", "gar", "goldfish", "hammerhead",
             "rock beauty", "anemone fish", "barracouta", "electric ray"),
    "accessory": ("shower cap", "stole", "wig", "Windsor tie", "bib", "necklace", "bow tie", "gasmask", "umbrella",
                  "cowboy boot", "Christmas stocking", "bathing cap"),
    "appliance": ("espresso maker", "sewing machine", "stove", "waffle iron", "rotisserie", "lawn mower",
                  "electric fan", "dishwasher", "iron", "microwave", "vacuum", "space heater"),
    "craft": ("gondola", "schooner", "liner", "airship", "speedboat", "airliner", "canoe", "trimaran", "balloon",
              "lifeboat", "yawl", "submarine"),
    "equipment": ("photocopier", "mouse", "dumbbell", "iPod", "home theater", "projector", "cassette player",
                  "hand-held computer", "tennis ball", "tape player", "snorkel", "monitor"),
    "furniture": ("bookcase", "throne", "barber chair", "four-poster", "desk", "medicine chest", "crib", "chest",
                  "sliding door", "toilet seat", "rocking chair", "wardrobe"),
    "instrument": ("chime", "wine bottle", "ladle", "reel", "wall clock", "hammer", "wok", "abacus", "assault rifle",
                   "projectile", "safety pin", "corkscrew"),
    "man-made structure": ("lumbermill", "scoreboard", "monastery", "church", "tobacco shop", "drilling platform",
                           "dam", "fountain", "bell cote", "yurt", "bookshop", "prison"),
    "wheeled vehicle": ("convertible", "oxcart", "electric locomotive", "tricycle", "fire engine",
                        "bicycle-built-for-two", "moving van", "golfcart", "steam locomotive", "jinrikisha", "tractor",
                        "ambulance"),
    "cooked food": ("consomme", "burrito", "meat loaf", "bagel", "ice cream", "French loaf", "ice lolly", "hot pot",
                    "cheeseburger", "potpie", "trifle", "mashed potato"),
    "produce": ("broccoli", "cauliflower", "mushroom", "artichoke", "acorn", "head cabbage", "spaghetti squash",
                "jackfruit", "cucumber", "orange", "hip", "banana"),
}


@lru_cache(maxsize=1)
def breeds_wnids() -> dict[str, tuple[str, ...]]:
    """Table 3 with each subclass name replaced by the wnid of the one class whose first name it is."""
    table = nodes()
    classes = set(load().classes)
    by_first_name: dict[str, list[str]] = {}
    for wnid, lemmas in zip(table["wnid"], table["lemmas"]):
        if wnid in classes:
            by_first_name.setdefault(lemmas.split("|")[0], []).append(wnid)
    mapping = {}
    for superclass, names in BREEDS_TABLE_3.items():
        wnids = []
        for name in names:
            matches = by_first_name.get(name, [])
            if len(matches) != 1:
                raise ValueError(f"BREEDS subclass {name!r} matches {len(matches)} ILSVRC-2012 classes, not one")
            wnids.append(matches[0])
        mapping[superclass] = tuple(wnids)
    return mapping
