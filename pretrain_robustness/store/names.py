"""The one rule for the names a run is filed under (study, condition, task, run name): each becomes a
folder of the results store, a W&B group or tag and part of a SLURM job's name, so it may hold only
what is safe in all of them. Checked when a study is read and when a run starts."""

from __future__ import annotations

import re

# letters, digits, '.', '_', '+', '-', starting with a letter or digit: no path separator and never '.' or
# '..' (a folder outside the store), no space, quote or control character (a job script's line), no '<'
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
MAX_LENGTH = 64  # W&B's longest tag (conditions are tags); folder names allow 255
RULE = (f"1 to {MAX_LENGTH} letters, digits, '.', '_', '+' or '-', starting with a letter or digit (no '/', '..', "
        "spaces, quotes or control characters): it names a folder, a W&B tag and a SLURM job")


def check_name(what: str, name: object) -> str:
    """``name`` if it follows the rule; else a ValueError naming ``what``, the name and the rule."""
    if not isinstance(name, str) or len(name) > MAX_LENGTH or not NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not a usable name: use {RULE}")
    return name
