"""Never train silently on the CPU: a run asked to use GPUs (``--trainer.accelerator gpu``, or a
SLURM job that was given GPUs) stops before anything is built when CUDA cannot be used, and says
why: no GPU visible, a driver too old for the installed torch's CUDA, or a GPU generation the
build has no kernels for (the torch 2.14.1 wheel here: CUDA 13.0, sm_75-sm_120, so not V100s).
The facts are gathered once (:func:`cuda_facts`); :func:`cuda_problem` reads them and is pure."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class CudaFacts:
    """What decides whether this process can use CUDA."""

    build_cuda: str | None  # torch.version.cuda; None: a CPU-only build
    driver_cuda: int | None  # the CUDA version the driver supports (cuDriverGetVersion: 12040 = 12.4); None: no driver
    available: bool  # torch.cuda.is_available()
    devices: list[tuple[str, tuple[int, int]]] = field(default_factory=list)  # (name, compute capability)
    arch_list: list[str] = field(default_factory=list)  # torch.cuda.get_arch_list(): sm_XY / compute_XY
    visible: str | None = None  # CUDA_VISIBLE_DEVICES


def _driver_cuda() -> int | None:
    try:
        version = ctypes.c_int()
        return version.value if ctypes.CDLL("libcuda.so.1").cuDriverGetVersion(ctypes.byref(version)) == 0 else None
    except OSError:
        return None


def cuda_facts() -> CudaFacts:
    available = torch.cuda.is_available()
    devices = [(torch.cuda.get_device_name(i), torch.cuda.get_device_capability(i))
               for i in range(torch.cuda.device_count())] if available else []
    return CudaFacts(torch.version.cuda, _driver_cuda(), available, devices,
                     torch.cuda.get_arch_list() if torch.version.cuda else [], os.environ.get("CUDA_VISIBLE_DEVICES"))


def _version(cuda: int) -> str:
    return f"{cuda // 1000}.{cuda % 1000 // 10}"


def runs_on(capability: tuple[int, int], arch_list: list[str]) -> bool:
    """Whether a build has kernels for a GPU: a binary for the same major and an older or equal
    minor (sm_86 code runs on sm_89), or PTX (compute_XY) of an older or equal capability."""
    major, minor = capability
    for arch in arch_list:
        kind, _, number = arch.partition("_")
        arch_major, arch_minor = int(number[:-1]), int(number[-1])
        if kind == "sm" and arch_major == major and arch_minor <= minor:
            return True
        if kind == "compute" and (arch_major, arch_minor) <= capability:
            return True
    return False


def cuda_problem(facts: CudaFacts) -> str | None:
    """Why this process cannot use its GPUs, or None."""
    if facts.build_cuda is None:
        return f"the installed torch {torch.__version__} is a CPU-only build (scripts/setup_venv.sh --cuda cuXYZ installs a CUDA one)"
    build = tuple(int(x) for x in facts.build_cuda.split(".")[:2])
    if facts.driver_cuda is None:
        return (f"no GPU visible: no NVIDIA driver found (libcuda.so.1), CUDA_VISIBLE_DEVICES={facts.visible!r}; "
                "was the job given GPUs (--gpus-per-node)?")
    if (facts.driver_cuda // 1000, facts.driver_cuda % 1000 // 10) < build:
        return (f"the NVIDIA driver supports CUDA {_version(facts.driver_cuda)} but the installed torch "
                f"{torch.__version__} is built for CUDA {facts.build_cuda}: update the driver, or install a torch "
                f"build for CUDA {_version(facts.driver_cuda)} or older (scripts/setup_venv.sh --cuda cuXYZ)")
    if not facts.available or not facts.devices:
        return f"no GPU visible (CUDA_VISIBLE_DEVICES={facts.visible!r}, driver CUDA {_version(facts.driver_cuda)})"
    unsupported = [(name, cap) for name, cap in facts.devices if not runs_on(cap, facts.arch_list)]
    if unsupported:
        name, (major, minor) = unsupported[0]
        return (f"the GPU {name} (sm_{major}{minor}) is not in the installed torch {torch.__version__}'s "
                f"architectures {' '.join(facts.arch_list)}: install a build that has it (scripts/setup_venv.sh --cuda cuXYZ)")
    return None


NATIVE_BF16 = (8, 0)  # Ampere and later compute in bfloat16; sm_75 (T4, RTX 20xx) and older do not


def native_bf16_here() -> bool:
    """Every visible GPU computes in bfloat16 natively (torch's own test, emulation not counted)."""
    return torch.cuda.is_available() and all(torch.cuda.get_device_capability(i) >= NATIVE_BF16
                                             for i in range(torch.cuda.device_count()))


def precision_problem(precision: str | None, devices: list[tuple[str, tuple[int, int]]]) -> str | None:
    """Why ``precision`` does not suit these GPUs, or None: bf16 on a GPU without native bfloat16 runs
    emulated (several times slower) or not at all."""
    slow = [(name, cap) for name, cap in devices if cap < NATIVE_BF16]
    if not str(precision or "").startswith("bf16") or not slow:
        return None
    name, (major, minor) = slow[0]
    return (f"precision {precision} needs a GPU with native bfloat16 (compute capability 8.0 or newer: A100, H100, "
            f"L4, RTX 30xx and later); the {name} is sm_{major}{minor}: give --trainer.precision 16-mixed "
            "(or 32-true), in a study its resources or the recipe")


def wants_gpus(accelerator: str | None) -> bool:
    """Asked for GPUs: by name, or ``auto`` inside a SLURM job that was given GPUs."""
    given = os.environ.get("SLURM_GPUS_ON_NODE") or os.environ.get("SLURM_JOB_GPUS")
    return accelerator in ("gpu", "cuda") or (accelerator in (None, "auto") and bool(given) and given != "0")


def require_usable_gpu(accelerator: str | None, precision: str | None = None) -> None:
    """Raise before any work when GPUs were asked for and cannot be used, or not in ``precision``."""
    if not wants_gpus(accelerator):
        return
    facts = cuda_facts()
    problem = cuda_problem(facts) or precision_problem(precision, facts.devices)
    if problem:
        raise RuntimeError(f"this run was asked to use GPUs (accelerator {accelerator!r}) but cannot: {problem}; "
                           "nothing was trained (--trainer.accelerator cpu runs it on the CPU on purpose)")
