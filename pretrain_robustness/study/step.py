"""One run of a study as data (:class:`Step`): its role, its folder, the program that runs it and
its resolved configuration. As in submitit's and Hydra's launchers, the run is a resolved config
from the plan to the store; its command line is rendered from it only to print or submit it.

A step's configuration has two parts, kept apart so that the printed command reads as the study
wrote it: ``given``, the study's own arguments for the run (its config files and overrides, as in
the study YAML), and ``settings``, what the plan decides (the run's name and seed, where it starts
from, and where it runs: accelerator, devices, nodes, precision). ``config`` is ``given`` parsed
once with ``settings`` set in it: what the run itself resolves from the rendered command (a test
holds the two equal for every committed study)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from .resources import Resources


@dataclass(frozen=True)
class LoaderRate:
    """How fast one GPU's data loading goes (images/s), how that was reckoned, and what makes it faster."""

    images_per_second: float
    how: str
    advice: str


class Program(Protocol):
    """What starts a step and what it needs: each program owns its facts (``run/fit_program.py``
    for LightningCLI's ``fit``, ``clip/steps.py`` for CLIP pre-training and zero-shot scoring)."""

    name: str  # the command's first word
    has_identity: bool  # a pre-training run found again by what it is (``run/identity.py``)

    def resolve(self, given: tuple[str, ...], settings: dict[str, Any], parses: dict) -> Any: ...

    def recipe_size(self, config: Any) -> tuple[int, int]: ...  # (GPUs, CPUs per task) its recipe asks for

    def placed(self, config: Any, resources: Resources | None) -> dict[str, Any]: ...  # settings for that place

    def datasets(self, config: Any) -> dict[str, Any]: ...  # key -> check(every: bool) -> DatasetCheck

    def workload(self, config: Any, facts: dict) -> tuple[float, str, float]: ...  # (images, how counted, size px)

    def loader_rate(self, config: Any) -> LoaderRate | None: ...  # how fast each GPU's loader workers decode

    def start(self, folder: Path, command: list[str]) -> None: ...


def rendered(key: str, value: Any) -> list[str]:
    """One setting as command-line arguments that parse back to ``value`` (jsonargparse's syntax)."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    return [f"--{key}", text]


@dataclass(frozen=True, eq=False)  # a step is itself: its config (a Namespace) is not hashable
class Step:
    """One run of a study: what it is (``kind``: pretrain, finetune, zeroshot), where it lands, the
    program that runs it with its configuration, the pre-training run it starts from (``needs``) and,
    as a SLURM job, what the job asks for (``study/job_sizes.py``)."""

    description: str
    kind: str
    folder: Path
    program: Program
    given: tuple[str, ...]
    settings: tuple[tuple[str, Any], ...]
    config: Any
    needs: Path | None = None
    condition: str = ""
    architecture: str = ""
    seed: int = 0
    resources: Resources | None = None
    environment: tuple[tuple[str, str], ...] = ()  # set for the run (the study's data root)

    @property
    def name(self) -> str:
        return "/".join(self.folder.parts[-4:])

    def setting(self, key: str, default: Any = None) -> Any:
        return dict(self.settings).get(key, default)

    def with_settings(self, values: dict[str, Any]) -> Step:
        """This step with ``values`` decided (replacing the same keys), in its settings and its config."""
        settings = {**dict(self.settings), **values}
        config = self.config.clone()
        for key, value in values.items():
            config[key] = value
        return replace(self, settings=tuple(settings.items()), config=config)

    def command(self) -> list[str]:
        """The arguments that run it: the program, the study's arguments, then the plan's settings."""
        return [self.program.name, *self.given, *(a for key, value in self.settings for a in rendered(key, value))]

    def printed(self) -> str:
        """The command as a shell line that can be pasted (every argument quoted where needed), after
        the environment it needs."""
        variables = [f"{key}={shlex.quote(value)} " for key, value in self.environment]
        return "".join(variables) + shlex.join(["pretrain-robustness", *self.command()])
