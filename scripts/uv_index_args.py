"""Print, one per line, the ``uv pip install`` options that make uv read the package indexes pip is
configured with here (``pip config list``: PIP_* variables, then the [install] and [global] sections
of the pip.conf files), so that uv installs exactly the releases pip would. uv reads no pip.conf.

    python scripts/uv_index_args.py PYTHON          the options (PYTHON: the interpreter whose pip to ask)
    python scripts/uv_index_args.py PYTHON --cert   pip's certificate bundle, or nothing
"""

import shlex
import subprocess
import sys

# pip's option -> uv's (the same values; several are separated by whitespace in both)
OPTIONS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
           "constraint": "--constraint"}
PRECEDENCE = (":env:", "install", "global")  # pip's order: the environment, then the command's section


def settings_from(listing: str) -> dict[str, str]:
    """``pip config list``'s lines (``section.key='value'``) -> the value pip uses for each key."""
    found: dict[tuple[str, str], str] = {}
    for line in listing.splitlines():
        name, _, value = line.partition("=")
        section, _, key = name.rpartition(".")
        found[section, key] = " ".join(shlex.split(value))
    keys = {key for _, key in found}
    return {key: next(found[s, key] for s in PRECEDENCE if (s, key) in found)
            for key in keys if any((s, key) in found for s in PRECEDENCE)}


def uv_args(settings: dict[str, str]) -> list[str]:
    args = [part for key, flag in OPTIONS.items() for value in settings.get(key, "").split() for part in (flag, value)]
    if settings.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        args.append("--no-index")
    return args


if __name__ == "__main__":
    listing = subprocess.run([sys.argv[1], "-m", "pip", "config", "list"], capture_output=True, text=True, check=True)
    settings = settings_from(listing.stdout)
    print(settings.get("cert", "") if "--cert" in sys.argv[2:] else "\n".join(uv_args(settings)))
