"""One dataloader factory for every datamodule: shuffled train, exact (unpadded) evaluation."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from lightning.pytorch import LightningDataModule
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision.io import ImageReadMode, decode_image
from tqdm import tqdm

from .distributed import UnpaddedDistributedSampler, world
from .image_transforms import IMAGENET_MEAN, IMAGENET_STD, UInt8Normalize, pil_to_uint8
from .resumable import ResumableLoader, ResumableSampler, SampleKey


class ImageReadError(RuntimeError):
    """An image file is missing or cannot be decoded; the message names the file."""


def read_image(path: Path) -> Image.Image:
    """Open and fully decode one image (PIL sniffs the real format, whatever the extension says)."""
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (OSError, UnidentifiedImageError) as error:
        raise ImageReadError(f"cannot read image {path}: {error}") from error


def _decode_error(path: Path) -> str | None:
    try:
        read_image(path)
        return None
    except ImageReadError as error:
        return str(error)


def task_cpus() -> int:
    """The CPUs this process may run on (a SLURM task's share of the node, not the whole node)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers() -> int:
    """Loader workers when a config sets none: the SLURM task's CPUs less the training process."""
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    return max(0, (int(cpus) if cpus else min(task_cpus(), 9)) - 1)


def decode_errors(paths: Sequence[Path], workers: int | None = None) -> list[str]:
    """Decode each image once on this task's cores (progress bar): the errors of those that cannot be read."""
    workers = min(workers or task_cpus(), max(1, len(paths) // 64))
    with ProcessPoolExecutor(workers) as pool:
        return [e for e in tqdm(pool.map(_decode_error, paths, chunksize=64), total=len(paths),
                                desc=f"decoding {len(paths):,} images", unit="image", mininterval=10) if e]


def decode_all(paths: Sequence[Path], workers: int | None = None) -> None:
    """Decode every image once on this task's cores; an :class:`ImageReadError` names the unreadable
    files, before any training is spent on them."""
    errors = decode_errors(paths, workers)
    if errors:
        raise ImageReadError(f"{len(errors)} of {len(paths)} images cannot be read; first: {errors[0]}")


def decode_check_once(paths: Sequence[Path]) -> None:
    """:func:`decode_all` on rank 0 only (on every rank it would start all of the node's cores N
    times over); the other ranks wait for its verdict (one broadcast) and all raise the same error."""
    rank, world_size = world()
    verdict = None
    if rank == 0:
        try:
            decode_all(paths)
        except ImageReadError as error:
            verdict = str(error)
    if world_size > 1:
        shared = [verdict]
        torch.distributed.broadcast_object_list(shared, src=0)
        verdict = shared[0]
    if verdict:
        raise ImageReadError(verdict)


def read_file_bytes(path: Path) -> torch.Tensor:
    """A file's bytes as ``uint8 [n]`` (for the decoders that take encoded bytes)."""
    return torch.frombuffer(bytearray(Path(path).read_bytes()), dtype=torch.uint8)


def read_image_tensor(path: Path) -> torch.Tensor:
    """One image as RGB ``uint8 [3, H, W]``: decoded by torchvision (libjpeg-turbo, PNG), and by PIL
    where torchvision cannot (e.g. formats under a wrong extension; a missing file: PIL's error names it).

    Not torchcodec, which torchvision 0.29 names as the successor of its decoders: torchcodec 0.17
    turns every JPEG by its EXIF orientation, with no option not to, while PIL (the loader of
    torchvision's reference recipes, WILDS and open_clip) and torchvision leave the pixels as stored;
    moving would change rotated photos (tests/test_tensor_pipeline.py pins this)."""
    try:
        return decode_image(read_file_bytes(path), mode=ImageReadMode.RGB)
    except (OSError, RuntimeError, ValueError):
        return pil_to_uint8(read_image(path))


class TensorImages:
    """Picklable ``index -> uint8 tensor`` over a list of file paths."""

    def __init__(self, paths: Sequence[str]):
        self.paths = list(paths)

    def __call__(self, index: int) -> torch.Tensor:
        return read_image_tensor(Path(self.paths[index]))


class PathImages:
    """Picklable ``index -> image`` over a list of file paths (works with spawned workers)."""

    def __init__(self, paths: Sequence[str]):
        self.paths = list(paths)

    def __call__(self, index: int) -> Image.Image:
        return read_image(Path(self.paths[index]))


class IndexedImageDataset(Dataset):
    """Examples ``(image, label, index)``; the index lets predictions be gathered exactly."""

    def __init__(self, load: Callable[[int], Image.Image], labels: Sequence[int], transform: Callable | None):
        self.load, self.labels, self.transform = load, list(labels), transform or _unchanged

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, key: int | SampleKey) -> tuple[torch.Tensor, int, int]:
        """``key``: an index, or ``(index, seed)`` from the training sampler: the random augmentation
        is then drawn from ``seed`` alone (the caller's RNG is left as it was)."""
        if isinstance(key, (tuple, list)):
            index, seed = key
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return self.transform(self.load(index)), int(self.labels[index]), index
        return self.transform(self.load(key)), int(self.labels[key]), key


def _unchanged(image):
    return image


class ClassificationDataModule(LightningDataModule):
    """Serves ``train`` and the named evaluation splits from one loader factory.

    Subclasses implement :meth:`dataset` and :meth:`examples` and set ``num_classes``,
    ``class_names`` and ``eval_split_names``. A dataset may hand over uint8 images: they are
    normalised with ``input_mean`` / ``input_std`` once the batch is on the device.
    """

    num_classes: int
    class_names: list[str]
    eval_split_names: list[str]
    input_mean: tuple[float, float, float] = IMAGENET_MEAN
    input_std: tuple[float, float, float] = IMAGENET_STD
    # images its loader workers decode per second per core, by pipeline (docs/performance.md, measured on
    # the 2-core development machine): a study warns when a job's workers cannot keep its GPU busy
    loader_images_per_core: dict[str, float] = {}
    loader_rate_measured_on = ""  # the images those rates were measured on
    loader_rate_image_size = 0  # the size they were resized to: a run at another size has no measured rate
    faster_loading = ""  # what else makes its loading faster, said with that warning

    @classmethod
    def planned_datasets(cls, args: Any) -> dict[str, Callable[[bool], Any]]:
        """Each dataset on disk that this data reads with ``__init__`` arguments ``args`` (a parsed
        config's ``init_args``), as key -> check(decode every image) -> ``DatasetCheck``; read by
        ``check-data`` before any run. None for data rendered or generated on the fly."""
        return {}

    @classmethod
    def nominal_train_images(cls, args: Any) -> int:
        """Training images these arguments name at the published size (GPU-hour estimates where the
        data is not on the planning machine); 0 where unknown."""
        return 0

    def __init__(self, batch_size: int, eval_batch_size: int | None, num_workers: int | None):
        super().__init__()
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = default_workers() if num_workers is None else num_workers
        self.predict_split_names: list[str] = []
        self.decode_check_paths: list[Path] = []  # decode_check: every image decoded once, when fitting starts

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.decode_check_paths:
            paths, self.decode_check_paths = self.decode_check_paths, []
            decode_check_once(paths)

    def dataset(self, split: str) -> IndexedImageDataset:
        raise NotImplementedError

    def condition_params(self) -> dict[str, Any]:
        """The pre-training condition's parameters this data determines (e.g. ``classes``, ``images``),
        recorded with a pre-training run; none for a fine-tuning task."""
        return {}

    def examples(self, split: str) -> pd.DataFrame:
        """One row per example of ``split`` in dataset order: at least ``filename`` and ``y``."""
        raise NotImplementedError

    def train_size(self) -> int:
        """Training examples (a study's GPU-hour estimates)."""
        return len(self.examples("train"))

    def collate_fn(self) -> Callable | None:
        """How examples become a batch (``None``: PyTorch's default)."""
        return None

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        common = dict(num_workers=self.num_workers, pin_memory=torch.cuda.is_available(),
                      persistent_workers=self.num_workers > 0, collate_fn=self.collate_fn())
        rank, world_size = world()
        if train:  # seeded by the run's seed (LightningCLI's seed_everything sets PL_GLOBAL_SEED)
            sampler = ResumableSampler(dataset, world_size, rank, seed=int(os.environ.get("PL_GLOBAL_SEED", 0)))
            return ResumableLoader(dataset, sampler, self._train_progress, self._train_epoch, batch_size=self.batch_size,
                                   **common)
        sampler = UnpaddedDistributedSampler(dataset, world_size, rank) if world_size > 1 else None
        return DataLoader(dataset, batch_size=self.eval_batch_size, sampler=sampler, **common)

    def _train_progress(self) -> tuple[int, int]:
        """``(epoch, batches trained in it)`` for the train loader's checkpointed state; a checkpoint
        taken after the last batch of epoch e says "epoch e + 1 from its start"."""
        trainer = self.trainer
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed

        if done >= trainer.num_training_batches:
            return trainer.current_epoch + 1, 0
        return trainer.current_epoch, done

    def _train_epoch(self) -> int:
        """The epoch a new pass over the training data is for (what Lightning gives ``set_epoch``)."""
        return self.trainer.fit_loop.epoch_progress.current.processed

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """uint8 images -> normalised float32, on the device (a GPU does it in microseconds; the
        loader workers only decode, crop and resize). Float images pass as they are."""
        images, *rest = batch
        if images.dtype == torch.uint8:
            if getattr(self, "_normalize", None) is None:  # built once: not two small tensors per batch
                self._normalize = UInt8Normalize(self.input_mean, self.input_std)
            images = self._normalize(images)
        return [images, *rest]

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("train"), train=True)

    def val_dataloader(self) -> list[DataLoader]:
        return [self._loader(self.dataset(s), train=False) for s in self.eval_split_names]

    def test_dataloader(self) -> list[DataLoader]:
        return self.val_dataloader()

    def predict_dataloader(self) -> list[DataLoader]:
        return [self._loader(self.dataset(s), train=False) for s in self.predict_split_names]
