"""Open an HTML page in headless Chromium: console errors, rendered DOM and a screenshot.

Used by the tests (the report must render without JavaScript errors) and by ``report
--screenshot``. Needs Debian's ``chromium`` (``apt-get install chromium``; scripts/test.sh
installs it). Flags keep Chromium off the network and away from the user's profile.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000"]
CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] \"(.*)\", source: (\S+)")


@dataclass
class PageCheck:
    console: list[str]  # every console message of the page
    errors: list[str]  # uncaught exceptions and console.error messages
    dom: str  # the DOM after scripts ran
    screenshot: Path | None


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise FileNotFoundError("headless Chromium not found: install Debian's chromium (apt-get install chromium)")


def _run(args: list[str], profile: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([find_chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout)


def check_page(page: Path, screenshot: Path | None = None, size: tuple[int, int] = (1200, 3000),
               timeout: float = 120) -> PageCheck:
    """Load ``page`` once: its DOM after its scripts ran, what they reported, and the screenshot
    (Chromium's headless commands ``--dump-dom`` and ``--screenshot`` share one page load)."""
    url = Path(page).resolve().as_uri()
    shot = [] if screenshot is None else [f"--screenshot={Path(screenshot).resolve()}", f"--window-size={size[0]},{size[1]}"]
    with tempfile.TemporaryDirectory() as profile:
        loaded = _run(["--dump-dom", *shot, url], profile, timeout)
    if loaded.returncode != 0:
        raise RuntimeError(f"chromium failed on {page}: {loaded.stderr[-2000:]}")
    if screenshot is not None and not Path(screenshot).is_file():
        raise RuntimeError(f"chromium could not screenshot {page}: {loaded.stderr[-2000:]}")
    console = [m.group(1) for m in CONSOLE.finditer(loaded.stderr)]
    errors = [line for line in loaded.stderr.splitlines()
              if ":CONSOLE" in line and ("Uncaught" in line or ":ERROR:CONSOLE" in line)]
    return PageCheck(console, errors, loaded.stdout, screenshot)
