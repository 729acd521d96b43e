"""``pretrain-robustness <command> ...``: dispatch only. LightningCLI's commands run one run
(``run/lightning_cli.py``); the project's own commands live with what they serve."""

from __future__ import annotations

import importlib
import os
import sys
from argparse import ArgumentError

from .run.quiet import quiet_dependencies

LIGHTNING_COMMANDS = {
    "fit": "train one run (pre-training or fine-tuning) into the results store",
    "validate": "score a checkpoint on the evaluation splits",
    "test": "score a checkpoint on the evaluation splits (stage 'test')",
    "predict": "run a checkpoint on the prediction splits",
}
# name -> ("module:function" taking the remaining arguments, one line of help). Each command's module is
# imported when the command runs: `--help`, `report` and `check-data` start without Lightning or
# torchmetrics, which a training command imports where it needs them (tests/test_startup.py)
PROJECT_COMMANDS = {
    "study": ("study.entry_points:study_command", "run every run of a study (one figure), then write its report"),
    "check-data": ("study.entry_points:check_data_command", "is every dataset a study reads there, complete and readable?"),
    "report": ("study.report_command:report_command", "fit trends over a study's runs and write the HTML report"),
    "per-class": ("analysis.publish:per_class_command", "per-class pre-training gain figures from two runs' predictions"),
    "predictions": ("run.tools:predictions_command", "one CSV row per example for a run's checkpoint"),
    "manifest": ("run.tools:manifest_command", "write a pre-training distribution's manifest without training"),
    "cache": ("datamodules.iwildcam:cache_command",
              "decode and resize iWildCam's images once (read by --data.init_args.pipeline fast)"),
    "webdataset-subsets": ("clip.webdataset_subsets:webdataset_subsets_command",
                           "nested image-text subsets of webdataset shards (Fig. 20)"),
    "clip-pretrain": ("clip.training:clip_pretrain_command", "pre-train CLIP on a webdataset subset with open_clip's own trainer"),
    "clip-zeroshot": ("clip.zeroshot:clip_zeroshot_command",
                      "score CLIP checkpoints zero-shot on ImageNet, ImageNet-V2 and -Sketch"),
    "sync": ("run.wandb_sync:sync_command", "upload a study's offline W&B runs, resumed attempts merged, and their artifacts"),
    "demo-data": ("demo.generate:demo_data_command", "generate the embedded demo data in the real on-disk formats"),
    "fractaldb": ("synthetic.commands:fractaldb_command", "FractalDB: search category systems, render images"),
    "diffusion": ("synthetic.commands:diffusion_command", "generate Stable Diffusion images for the ImageNet classes"),
}


def project_command(name: str):
    """The function behind a project command (its module imported now)."""
    module, function = PROJECT_COMMANDS[name][0].split(":")
    return getattr(importlib.import_module(f".{module}", __package__), function)


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
        project_command(argv[0])(argv[1:])
        return  # console scripts exit with main()'s return value: return nothing
    from .run.lightning_cli import ProjectCLI

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
        if isinstance(stop, SystemExit) and not _lightnings_sigterm(stop):
            raise  # --help and argparse's exits keep their status; Lightning's SIGTERM would exit 0
        signal_name, code = ("SIGTERM", 143) if _lightnings_sigterm(stop) else ("SIGINT", 130)
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


def _lightnings_sigterm(stop: BaseException) -> bool:
    """Lightning's SystemExit on SIGTERM (only raised where Lightning was imported: a `--help` never loads it)."""
    exceptions = sys.modules.get("lightning.pytorch.utilities.exceptions")
    return exceptions is not None and isinstance(stop, exceptions.SIGTERMException)


def one_line(error: BaseException) -> str:
    """The message of the error that started it all (Lightning wraps some), on one line."""
    while error.__cause__ is not None and not str(error).strip():
        error = error.__cause__
    text = " ".join(str(error).split()) or type(error).__name__
    plain = isinstance(error, (ValueError, FileNotFoundError, FileExistsError, ArgumentError))
    return text if plain else f"{type(error).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(entry())
