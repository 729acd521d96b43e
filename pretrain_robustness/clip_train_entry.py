"""``python -m pretrain_robustness.clip_train_entry <open_clip_train arguments>``: open_clip's own
trainer, after registering a model config given as ``--model <path>.json`` (open_clip knows only
its bundled configs by name)."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    import open_clip
    from open_clip_train.main import main as train

    argv = list(argv)
    if "--model" in argv and argv[argv.index("--model") + 1].endswith(".json"):
        path = Path(argv[argv.index("--model") + 1])
        open_clip.add_model_config(str(path))
        argv[argv.index("--model") + 1] = path.stem
    train(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
