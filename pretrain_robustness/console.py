"""The console command's first moment: importing the CLI takes seconds (torch, Lightning), and a
Ctrl-C then ends it with the same one line as at any later moment, not a traceback."""

from __future__ import annotations

import sys


def entry() -> int:
    try:
        from .cli import entry as run
    except KeyboardInterrupt:
        print("error: interrupted (SIGINT) while starting; nothing was run", file=sys.stderr)
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(entry())
