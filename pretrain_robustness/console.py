"""The console command's first moment: importing the CLI takes seconds (torch, Lightning), and a
Ctrl-C then ends it with the same one line as at any later moment, not a traceback. While it imports,
Ctrl-C exits at once: nothing has been started that needs stopping, and a dependency's bare
``except:`` around an optional import must not swallow the KeyboardInterrupt and go on."""

from __future__ import annotations

import os
import signal
import sys

STARTING = "error: interrupted (SIGINT) while starting; nothing was run\n"


def _exit_while_starting(signum, frame) -> None:
    os.write(2, STARTING.encode())
    os._exit(130)


def entry() -> int:
    previous = signal.signal(signal.SIGINT, _exit_while_starting)
    try:
        from .cli import entry as run
    finally:
        signal.signal(signal.SIGINT, previous)
    return run()


if __name__ == "__main__":
    sys.exit(entry())
