"""``check-data --config <study.yaml>``: every dataset a study reads, checked before any run
(``datamodules/dataset_checks.py``): a table of where each is, its layout, its images against the
published count and a verdict; the study is ready when every dataset is. ``study`` runs the same
check first (its dry run prints it and goes on)."""

from __future__ import annotations

import importlib
from argparse import ArgumentError
import json
import time

from jsonargparse import ActionConfigFile, ArgumentParser

from ..datamodules.dataset_checks import (SAMPLE, DatasetCheck, check_iwildcam, check_source, check_webdataset_subset,
                                         decode_sample)
from ..datamodules.sources import DomainNet, ImageNetSketch, ImageNetTrain, ImageNetV2, ImageNetVal
from ..datamodules.sources.domainnet import DOMAINS
from ..datamodules.sources.listing_cache import source_description
from .job_sizes import parsed, sizing_args
from .plan import Step, plan
from .spec import StudySpec, check_spec


class DataNotReady(ValueError):
    """A dataset a study reads is missing, incomplete or unreadable."""


def _instance(given) -> object:
    """A ``{class_path, init_args}`` of a parsed config, built (sources take plain arguments)."""
    module, _, name = given.class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)(**given.init_args.as_dict())


def _run_datasets(data) -> list[tuple[str, callable]]:
    """(key, check) of each dataset a run's ``data`` section reads; none for generated data."""
    if data is None:
        return []
    kind, args = data.class_path.rpartition(".")[2], data.init_args
    if kind == "PretrainDataModule":
        sources = [_instance(s) for s in (args.source, args.get("val_source")) if s]
        return [(_key(s), lambda every, s=s: check_source(s, every)) for s in sources]
    if kind == "IWildCamDataModule":
        return [(f"iwildcam {args.root}", lambda every: check_iwildcam(args.root))]
    if kind == "DomainNetDataModule":
        ood = args.ood_domains or [d for d in DOMAINS if d != args.id_domain]
        sources = [DomainNet(args.root, [args.id_domain], "train"), DomainNet(args.root, [args.id_domain], "test"),
                   *(DomainNet(args.root, [d], "test") for d in ood)]
        return [(_key(s), lambda every, s=s: check_source(s, every)) for s in sources]
    return []  # rendered or generated on the fly (FractalDB): nothing on disk to check


def _key(source) -> str:
    return json.dumps(source_description(source), sort_keys=True)


def study_datasets(spec: StudySpec, steps: list[Step]) -> dict[str, callable]:
    """Every dataset the study reads, once: its runs' data (one parse per distinct data config), the
    CLIP zero-shot test sets and the per-class figures' ImageNet."""
    found: dict[str, callable] = {}
    # each data config once, parsed as the job sizes parse it (cached: one parse serves both; the
    # per-run arguments that sizing leaves out name no dataset)
    for args in dict.fromkeys(sizing_args(step.args) for step in steps if step.args[0] == "fit"):
        try:
            config = parsed(args)
        except (ArgumentError, ValueError) as error:  # the run's own error, where the study parses it for itself
            print(f"(the data of `{' '.join(args[:6])} ...` is not checked: its arguments do not parse: "
                  f"{' '.join(str(error).split())[:300]})", flush=True)
            continue
        found.update(_run_datasets(config.data))
    for condition in (c for c in spec.conditions if c.clip_subset):
        found[f"clip {condition.clip_subset}"] = lambda every, folder=condition.clip_subset: check_webdataset_subset(folder)
    zero_shot = (spec.clip or {}).get("zero_shot", {}) if any(c.clip_subset for c in spec.conditions) else {}
    for key, source in (("imagenet", ImageNetVal), ("imagenet_v2", ImageNetV2), ("imagenet_sketch", ImageNetSketch)):
        if key in zero_shot:
            made = source(zero_shot[key])
            found[_key(made)] = lambda every, s=made: check_source(s, every)
    if (spec.per_class or {}).get("imagenet"):
        made = ImageNetTrain(spec.per_class["imagenet"])
        found[_key(made)] = lambda every, s=made: check_source(s, every)
    return found


def check_study_data(spec: StudySpec, steps: list[Step], decode_every: bool = False) -> list[DatasetCheck]:
    """Each dataset checked (a decoded sample, or every image), its table printed; the checks."""
    checks = []
    for check in study_datasets(spec, steps).values():
        start = time.perf_counter()
        result = check(decode_every)
        if result.paths:
            decode_sample(result, every=decode_every)
        result.paths = []
        checks.append(result)
        print(f"checked {result.name} in {time.perf_counter() - start:.1f} s", flush=True)
    print(data_table(spec.study, checks), flush=True)
    return checks


def data_table(study: str, checks: list[DatasetCheck]) -> str:
    """One row per dataset (its location and layout on the line below), then the study's verdict."""
    width = max([len(c.name) for c in checks] + [7])
    lines = [f"data of study {study!r}:", f"  {'dataset':<{width}}  {'images':>11}  {'published':>11}  verdict"]
    for c in checks:
        found = f"{c.found:,}" if c.found is not None else "-"
        published = f"{c.published:,}" if c.published is not None else "-"
        lines += [f"  {c.name:<{width}}  {found:>11}  {published:>11}  {c.verdict()}",
                  f"  {'':<{width}}  at {c.where or '(no layout found)'}{c.decoded_note()}"]
    missing = [c.name for c in checks if not c.ready]
    verdict = f"not ready: {', '.join(missing)}" if missing else "ready"
    lines.append(f"study {study!r}: {verdict}" if checks else f"study {study!r}: reads no dataset from disk")
    return "\n".join(lines)


def require_ready(spec: StudySpec, checks: list[DatasetCheck]) -> None:
    missing = [c for c in checks if not c.ready]
    if missing:
        demo = (f"; this study's data is generated: `pretrain-robustness demo-data --root {spec.demo_data}` "
                "(or running the study) writes it") if spec.demo_data else ""
        named = "; ".join(f"{c.name}: {'; '.join(c.problems)}" for c in missing)
        raise DataNotReady(f"study {spec.study!r} is not ready to run, {len(missing)} of {len(checks)} datasets are not "
                           f"(check-data's table says more): {named}{demo}")


def check_data_command(args: list[str]) -> None:
    """``check-data --config configs/studies/fig04_quantity_imagenet.yaml [--decode true]``: whether every
    dataset of the study is there, complete and readable; exit status 1 when one is not."""
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness check-data", description=check_data_command.__doc__)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_class_arguments(StudySpec, None)
    parser.add_argument("--decode", type=bool, default=False,
                        help=f"decode every image (all cores, progress bar); default: a seeded sample of {SAMPLE} per dataset")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    spec = StudySpec(**{k: v for k, v in vars(cfg).items() if k in StudySpec.__dataclass_fields__})
    check_spec(spec)
    require_ready(spec, check_study_data(spec, plan(spec), decode_every=cfg.decode))
