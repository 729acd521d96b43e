"""``pretrain-robustness <command> ...``: dispatch only. LightningCLI's commands run one run
(``run/lightning_cli.py``); the project's own commands live with what they serve."""

from __future__ import annotations

import os
import sys
from argparse import ArgumentError

from .analysis.publish import per_class_command
from .clip.training import clip_pretrain_command
from .clip.webdataset_subsets import webdataset_subsets_command
from .clip.zeroshot import clip_zeroshot_command
from .datamodules.iwildcam import cache_command
from .demo.generate import demo_data_command
from .run.lightning_cli import ProjectCLI
from .run.quiet import quiet_dependencies
from .run.tools import manifest_command, predictions_command
from .study.data_check import check_data_command
from .study.report_command import report_command
from .study.runner import study_command
from .synthetic.commands import diffusion_command, fractaldb_command

LIGHTNING_COMMANDS = {
    "fit": "train one run (pre-training or fine-tuning) into the results store",
    "validate": "score a checkpoint on the evaluation splits",
    "test": "score a checkpoint on the evaluation splits (stage 'test')",
    "predict": "run a checkpoint on the prediction splits",
}
PROJECT_COMMANDS = {  # name -> (function taking the remaining arguments, one line of help)
    "study": (study_command, "run every run of a study (one figure), then write its report"),
    "check-data": (check_data_command, "is every dataset a study reads there, complete and readable?"),
    "report": (report_command, "fit trends over a study's runs and write the HTML report"),
    "per-class": (per_class_command, "per-class pre-training gain figures from two runs' predictions"),
    "predictions": (predictions_command, "one CSV row per example for a run's checkpoint"),
    "manifest": (manifest_command, "write a pre-training distribution's manifest without training"),
    "cache": (cache_command, "decode and resize iWildCam's images once (read by --data.init_args.pipeline fast)"),
    "webdataset-subsets": (webdataset_subsets_command, "nested image-text subsets of webdataset shards (Fig. 20)"),
    "clip-pretrain": (clip_pretrain_command, "pre-train CLIP on a webdataset subset with open_clip's own trainer"),
    "clip-zeroshot": (clip_zeroshot_command, "score CLIP checkpoints zero-shot on ImageNet, ImageNet-V2 and -Sketch"),
    "demo-data": (demo_data_command, "generate the embedded demo data in the real on-disk formats"),
    "fractaldb": (fractaldb_command, "FractalDB: search category systems, render images"),
    "diffusion": (diffusion_command, "generate Stable Diffusion images for the ImageNet classes"),
}


def usage() -> str:
    rows = [*LIGHTNING_COMMANDS.items(), *((name, help) for name, (_, help) in PROJECT_COMMANDS.items())]
    width = max(len(name) for name, _ in rows)
    lines = [f"  {name:<{width}}  {help}" for name, help in rows]
    return "\n".join(["usage: pretrain-robustness <command> [options]   (<command> --help for its options)", "",
                      "commands:", *lines])


def main(args: list[str] | None = None) -> None:
    """``pretrain-robustness <fit|validate|test|predict|study|report|...> ...``; errors propagate
    (the console command is :func:`entry`)."""
    argv = sys.argv[1:] if args is None else list(args)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return
    if argv[0] in PROJECT_COMMANDS:
        PROJECT_COMMANDS[argv[0]][0](argv[1:])
        return  # console scripts exit with main()'s return value: return nothing
    ProjectCLI(args=args)  # None: LightningCLI reads sys.argv itself


def entry(args: list[str] | None = None) -> int:
    """The console command: an error ends the run with one line that names the problem, first and
    alone (the traceback with ``--debug`` or ``PRETRAIN_ROBUSTNESS_DEBUG=1``); exit status 1."""
    argv = sys.argv[1:] if args is None else list(args)
    debug = "--debug" in argv or os.environ.get("PRETRAIN_ROBUSTNESS_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    try:
        if not debug:
            quiet_dependencies()
        main(argv)
    except (KeyboardInterrupt, SystemExit) as stop:
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        if isinstance(stop, SystemExit) and not isinstance(stop, SIGTERMException):
            raise  # --help and argparse's exits keep their status; Lightning's SIGTERM would exit 0
        signal_name, code = ("SIGTERM", 143) if isinstance(stop, SIGTERMException) else ("SIGINT", 130)
        print(f"error: interrupted ({signal_name}); a run keeps its checkpoints: continue it with the same command and "
              "--ckpt_path last (a study: run the same study command again)", file=sys.stderr)
        return code
    except Exception as error:  # noqa: BLE001 - the console's last word on any failure
        if debug:
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        if isinstance(error, ArgumentError):  # the parsers raise (exit_on_error=False) so that this line comes first
            print(f"(pretrain-robustness {argv[0]} --help lists its options)", file=sys.stderr)
        else:
            print("(add --debug for the traceback)", file=sys.stderr)
        return 1
    return 0


def one_line(error: BaseException) -> str:
    """The message of the error that started it all (Lightning wraps some), on one line."""
    while error.__cause__ is not None and not str(error).strip():
        error = error.__cause__
    text = " ".join(str(error).split()) or type(error).__name__
    plain = isinstance(error, (ValueError, FileNotFoundError, FileExistsError, ArgumentError))
    return text if plain else f"{type(error).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(entry())
