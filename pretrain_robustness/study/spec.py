"""What a study is: :class:`StudySpec`, read from its YAML, and the checks that refuse a bad one
before any run (a misspelt config, an unknown architecture, a CLIP condition without its data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentParser

from ..lightning_modules.architecture_names import check_architecture
from ..metrics import F1_MACRO
from ..store.names import check_name
from .model_zoo import expand_model_zoos
from .optional_checks import check_clip, check_per_class
from .resources import Resources


@dataclass
class Condition:
    """A pre-training condition: the pre-training runs of one line of a figure.

    A pre-training run identical to one of another study (same data, architecture, recipe, seed:
    ``run/identity.py``) is not trained again: that run is used, or waited for.

    Args:
        name: the condition's name (its runs' folders, the report's legend).
        pretrain: configs composing its pre-training runs; none: fine-tuned from scratch.
        params: added to its runs' condition parameters (e.g. the family a figure puts it in).
        architectures: its own networks instead of the study's (Fig. 12's CLIP encoders: ``clip:ViT-B-32``).
        finetune_args: added to its fine-tuning runs (``--config`` files too): each encoder's weights
            and recipe.
        clip_subset: a folder written by ``webdataset-subsets``: CLIP pre-training by open_clip's
            trainer on that subset, then the zero-shot evaluation of each of its checkpoints (the
            study's ``clip``), instead of fine-tuning (Fig. 20).
        checkpoint: your own pre-trained network instead of a pre-training run: ``{path, sha256,
            source}`` (``source``: where it came from, recorded as the condition's param ``checkpoint``),
            any format ``--model.init_checkpoint`` reads (``lightning_modules/weight_files.py``); its sha256
            and its fit to each architecture's backbone are checked before any run. With ``zero_shot:
            clip:<open_clip model>`` it is an open_clip model scored zero-shot (the study's ``clip``), not trained.
        checkpoints: several networks at once (a model zoo), each its own condition ``<name>-<model>``:
            a list of ``{name, path, sha256, source}``, or ``{folder, source}`` with the folder's
            ``SHA256SUMS`` listing its files (``study/model_zoo.py``).
    """

    name: str
    pretrain: list[str] = field(default_factory=list)
    # str first: a value is kept as given (with Any, jsonargparse reads "a: b" as a mapping and "3" as 3)
    params: dict[str, str | int | float | bool | None | list | dict] = field(default_factory=dict)
    architectures: list[str] | None = None
    finetune_args: list[str] = field(default_factory=list)
    clip_subset: str | None = None
    checkpoint: dict[str, str] | None = None
    checkpoints: list[dict[str, str]] | dict[str, str] | None = None


@dataclass
class StudySpec:
    """A study: the runs of one figure (pre-training conditions x architectures x seeds, each
    fine-tuned) and how its report compares them.

    Args:
        study: name (results under ``root/study``; W&B group).
        architectures: torchvision names, each pre-trained and fine-tuned per condition.
        conditions: pre-training conditions; one without ``pretrain`` configs trains from scratch.
        finetune: configs composing every fine-tuning run.
        seeds: every run is repeated per seed (training seed; a condition drawn at random, e.g.
            random classes or a budget subset, is drawn again with its seed + this seed).
        baseline: condition whose trend effective robustness is measured against (one of
            ``conditions``, or of a ``report_includes`` study; ``null`` where ``ood_split`` is null).
        demo_data: if set, generate the embedded demo data under this folder first.
        data_root: the folder the configs' ``data/`` stands for (``datamodules/data_root.py``): every
            dataset of the study is read under it, e.g. ``/shared/datasets`` for ``data/imagenet``
            -> ``/shared/datasets/imagenet``. None: ``$PRETRAIN_ROBUSTNESS_DATA`` where set, else
            ``data/`` in the working directory.
        extra_args: appended to every run's command line (e.g. ``--trainer.precision=bf16-mixed``).
        architecture_configs: configs added to the pre-training runs of one architecture, after
            the condition's (torchvision's AlexNet and MobileNetV3 recipes).
        resources: per run kind (``pretrain``, ``finetune``, ``report``): what a SLURM job asks for.
        throughput: images/s per GPU per run kind, for the dry run's GPU-hour estimates (default: the
            published rate of each network on ``gpu``, ``study/gpu_rates.py``).
        gpu: the GPU the estimates assume: ``H100``, ``A100`` or ``V100``.
        measured_throughput: a ``benchmarks/gpu_throughput.py`` JSON whose rates replace the published
            ones for the GPU it names (default: ``benchmarks/recorded/gpu_throughput.json`` if present).
        tasks: named fine-tuning tasks, each the arguments that make it (e.g. ``{clipart:
            [--data.init_args.id_domain, clipart]}``): every pre-trained network is fine-tuned on
            each; the run is ``<architecture>-<task>-seed<seed>`` with param ``task``, and the
            report fits trends per task (Fig. 21: one panel per ID domain). Empty: one task.
        per_class: Kalibhat et al.'s Figures 1-2 after the report, from the predictions of two
            fine-tuning runs (the first architecture and seed): ``{pretrained: <condition>,
            scratch: <condition>, split, group, wordnet, imagenet, corrected}`` (the last four as the
            ``per-class`` command's options); written to ``root/study/per_class.html``.
        choices: where the paper leaves a choice open, what this study takes and the alternative,
            each ``{choice, taken, alternative}``; the report prints them under each figure.
        report_includes: other studies whose finished runs join this study's report (Fig. 12 plots
            CLIP against the scratch and ImageNet runs of the Fig. 3 study, not trained again);
            ``study:condition[,condition]`` takes those conditions only (Fig. 8: Fig. 3's ImageNet line).
        root: the results store (``<root>/<study>/...``), relative to the working directory.
        transform: the axes' scale for the trends: ``probit`` (the papers'), ``logit`` or ``linear``.
        id_split: the report's x axis: the in-distribution split scored.
        ood_split: the report's y axis: the out-of-distribution split; ``null`` for a task without
            a shift (scores only, no trends).
        metric: the score on both axes (``f1_macro``: WILDS' macro-F1 for iWildCam; ``accuracy``).
        clip: the CLIP conditions' settings (Fig. 20): ``{recipe, gpus, zero_shot: {imagenet,
            imagenet_v2, imagenet_sketch[, batch_size, workers]}}``; ``gpus``: per node when run here
            (torchrun); in a SLURM job each task is one GPU (``resources.pretrain``).
        external_baseline: a baseline line from outside the study for the report
            (``analysis/external_baseline.py``: ``{name, source, transform, csv}`` or ``{..., slope,
            intercept}``), e.g. Miller et al.'s testbed trend; a list of them with ``ood_split`` for a
            study with several OOD splits (Fig. 20: the scratch trend on ImageNet-V2 and -Sketch).
    """

    study: str
    architectures: list[str]
    conditions: list[Condition]
    finetune: list[str]
    root: str = "runs"
    seeds: list[int] = field(default_factory=lambda: [0])
    baseline: str | None = "scratch"  # None: a study without an OOD split (no trends to compare)
    transform: str = "probit"
    id_split: str = "id_test"
    ood_split: str | None = "ood_test"  # None: a task without a shift (Kalibhat et al.); scores only
    metric: str = F1_MACRO
    demo_data: str | None = None
    data_root: str | None = None
    extra_args: list[str] = field(default_factory=list)
    architecture_configs: dict[str, list[str]] = field(default_factory=dict)
    resources: dict[str, Resources] = field(default_factory=dict)
    throughput: dict[str, float] = field(default_factory=dict)
    gpu: Literal["H100", "A100", "V100"] = "H100"
    measured_throughput: str | None = None
    tasks: dict[str, list[str]] = field(default_factory=dict)
    per_class: dict | None = None
    choices: list[dict[str, str]] = field(default_factory=list)
    report_includes: list[str] = field(default_factory=list)
    external_baseline: dict | list[dict] | None = None
    clip: dict | None = None


# what the plan sets for each run (study/plan.py): a study's own arguments may not set it too
PLANNED_KEYS = ("run.study", "run.root", "run.condition", "run.params", "run.name", "run.planned_identity",
                "model.architecture", "model.init_checkpoint", "seed_everything", "data.init_args.draw_offset")


def _check_given_arguments(spec: StudySpec) -> None:
    """extra_args, tasks and finetune_args do not set what the plan decides (a run's name, seed, place
    in the store, start): the plan's value would win over theirs without a word."""
    given = [("extra_args", spec.extra_args), *((f"tasks.{t}", a) for t, a in spec.tasks.items()),
             *((f"condition {c.name!r} finetune_args", c.finetune_args) for c in spec.conditions)]
    for where, arguments in given:
        for argument in arguments:
            key = str(argument).removeprefix("--").split("=", 1)[0]
            if str(argument).startswith("--") and key in PLANNED_KEYS:
                hint = "seeds" if key == "seed_everything" else "the condition or architectures" \
                    if key in ("run.condition", "model.architecture") else "the study's own fields"
                raise ValueError(f"study {spec.study!r}: {where} sets {key} ({argument}); the study decides it for "
                                 f"every run (use {hint})")


def study_parser(prog: str, description: str | None) -> ArgumentParser:
    """A command's parser that reads a study YAML (``--config``) into :class:`StudySpec`'s fields."""
    parser = ArgumentParser(exit_on_error=False, prog=f"pretrain-robustness {prog}", description=description)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_class_arguments(StudySpec, None)
    return parser


def spec_of(parser: ArgumentParser, cfg) -> StudySpec:
    """The study a :func:`study_parser` parsed (its conditions and resources built)."""
    given = vars(parser.instantiate_classes(cfg))
    spec = StudySpec(**{k: v for k, v in given.items() if k in StudySpec.__dataclass_fields__})
    spec.conditions = expand_model_zoos(spec.study, spec.conditions, spec.data_root)
    return spec


def read_study(path: str | Path) -> StudySpec:
    """The study of a study YAML, read as ``study --config PATH`` reads it."""
    parser = study_parser("study", None)
    return spec_of(parser, parser.parse_args(["--config", str(path)]))


def check_spec(spec: StudySpec) -> None:
    """Every config file a run of the study names exists and every architecture is known: a misspelt
    path fails here, naming it, not hours later when its run comes."""
    _check_names(spec)
    for architecture in [*spec.architectures, *(a for c in spec.conditions for a in c.architectures or [])]:
        check_architecture(architecture)
    for what, values in (("conditions", spec.conditions), ("architectures", spec.architectures)):
        if not values:
            raise ValueError(f"study {spec.study!r}: {what} is empty; a study needs at least one (see "
                             "configs/studies/demo.yaml)")
    _refuse_duplicates(spec.study, "conditions", [c.name for c in spec.conditions])
    _refuse_duplicates(spec.study, "architectures", spec.architectures)
    for condition in spec.conditions:
        _refuse_duplicates(spec.study, f"condition {condition.name!r}'s architectures", condition.architectures or [])
    if not spec.seeds or len(set(spec.seeds)) != len(spec.seeds):
        raise ValueError(f"study {spec.study!r}: seeds must be distinct and at least one, got {spec.seeds}")
    _check_baseline(spec)
    _check_given_arguments(spec)
    if spec.per_class is not None:
        check_per_class(spec)
    if any(c.clip_subset or (c.checkpoint or {}).get("zero_shot") for c in spec.conditions):
        check_clip(spec)
    for choice in spec.choices:
        if set(choice) != {"choice", "taken", "alternative"}:
            raise ValueError(f"study {spec.study!r}: each of choices needs exactly choice, taken and alternative; "
                             f"got {sorted(choice)}")
    unknown = set(spec.resources) - {"pretrain", "finetune", "zeroshot", "report"}
    if unknown:
        raise ValueError(f"study {spec.study!r}: resources for unknown run kinds {sorted(unknown)} "
                         "(known: pretrain, finetune, zeroshot, report)")
    named = [("finetune", path) for path in spec.finetune]
    named += [(f"condition {c.name!r}", path) for c in spec.conditions for path in c.pretrain]
    named += [("clip.recipe", spec.clip["recipe"])] if spec.clip and spec.clip.get("recipe") else []
    named += [(f"architecture_configs[{a}]", path) for a, paths in spec.architecture_configs.items() for path in paths]
    named += [(f"condition {c.name!r} finetune_args", c.finetune_args[i + 1]) for c in spec.conditions
              for i, arg in enumerate(c.finetune_args[:-1]) if arg == "--config"]
    for where, path in named:
        if not Path(path).is_file():
            raise FileNotFoundError(f"study {spec.study!r}: config {path} ({where}) does not exist "
                                    f"(paths are relative to {Path.cwd()})")


def _check_names(spec: StudySpec) -> None:
    """The study's, its conditions' and tasks' names (``store/names.py``), and its seeds, when it is read."""
    check_name("study", spec.study)
    for condition in spec.conditions:
        check_name(f"study {spec.study!r}: condition", condition.name)
    for task in spec.tasks:
        check_name(f"study {spec.study!r}: task", task)
    bad = [s for s in spec.seeds if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2 ** 32]
    if bad:
        raise ValueError(f"study {spec.study!r}: seeds must be integers from 0 to 2**32 - 1 (a training seed), got {bad}")


def _check_baseline(spec: StudySpec) -> None:
    """The baseline is one of the study's conditions (or of a study in ``report_includes``, whose
    conditions the report checks); a study without an OOD split has no trends and so needs none."""
    names = [c.name for c in spec.conditions]
    if spec.baseline is None and spec.ood_split is None or spec.baseline in names:
        return
    if spec.baseline is not None and spec.report_includes:
        return
    needs = "a baseline condition" if spec.ood_split is not None else "no baseline (baseline: null), or one of them"
    raise ValueError(f"study {spec.study!r}: baseline {spec.baseline!r} is not one of its conditions {names}; "
                     f"it needs {needs}")


def _refuse_duplicates(study: str, what: str, names: list[str]) -> None:
    """Two runs of one name would share one folder: the second would be reported with the first's results."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"study {study!r}: {what} must be distinct (each names its runs' folders); repeated: {repeated}")
