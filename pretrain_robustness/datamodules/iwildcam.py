"""iWildCam-WILDS v2.0 through the ``wilds`` package's own ``IWildCamDataset``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jsonargparse import ArgumentParser

from .classification import ClassificationDataModule, ImageReadError, IndexedImageDataset
from .data_root import dataset_path
from .dataset_checks import IWILDCAM_SPLITS, DatasetCheck, report_missing
from .image_transforms import IMAGENET_MEAN, IMAGENET_STD, wilds_transform
from .iwildcam_fast import DecodedImages, find_cache, write_cache

# Our split names -> the WILDS iWildCam split names. WILDS calls the OOD splits plain
# "val" and "test"; we say which side of the shift they are on.
WILDS_SPLIT_OF = {
    "train": "train",
    "id_val": "id_val",
    "id_test": "id_test",
    "ood_val": "val",
    "ood_test": "test",
}
EVAL_SPLITS = ("id_val", "id_test", "ood_val", "ood_test")
# what wilds' IWildCamDataset reads from metadata.csv (wilds/datasets/iwildcam_dataset.py)
METADATA_COLUMNS = ("split", "filename", "y", "location_remapped", "sequence_remapped", "datetime")


def check_metadata(folder: Path) -> None:
    """metadata.csv has the columns wilds reads, the split names it knows and parseable datetimes;
    else an error naming the file and what is wrong (wilds would fail deep inside with a KeyError)."""
    path = folder / "metadata.csv"
    table = pd.read_csv(path)
    missing = [c for c in METADATA_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks column(s) {missing} (iWildCam-WILDS v2.0 has {list(METADATA_COLUMNS)})")
    unknown = sorted(set(table["split"].astype(str)) - set(WILDS_SPLIT_OF.values()))
    if unknown:
        raise ValueError(f"{path}: unknown split name(s) {unknown}; WILDS' are {sorted(WILDS_SPLIT_OF.values())}")
    dates = pd.to_datetime(table["datetime"], format="%Y-%m-%d %H:%M:%S.%f", errors="coerce")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().nonzero()[0][0])
        raise ValueError(f"{path}: column 'datetime' row {row} is {table['datetime'].iloc[row]!r}, "
                         "not 'YYYY-MM-DD HH:MM:SS.ffffff'")


def load_wilds_iwildcam(root: Path):
    """``IWildCamDataset`` at ``root/iwildcam_v2.0``, never downloading.

    ``wilds`` starts a non-daemon thread at import that asks PyPI for a newer release; on an
    air-gapped node it can hold the process open. Hiding ``outdated`` makes wilds take its
    own ``ImportError`` branch and skip the check.
    """
    folder = dataset_path(root) / "iwildcam_v2.0"
    if not (folder / "RELEASE_v2.0.txt").is_file() or not (folder / "metadata.csv").is_file():
        raise FileNotFoundError(
            f"iWildCam-WILDS not found: expected the folder {folder}/ with RELEASE_v2.0.txt, metadata.csv "
            "and train/ (download iWildCam v2.0 from WILDS and put it there, or pass --data.init_args.root; "
            "`pretrain-robustness demo-data` writes a small generated copy)")
    check_metadata(folder)
    saved = sys.modules.get("outdated")
    sys.modules["outdated"] = None  # type: ignore[assignment]
    try:
        from wilds.datasets.iwildcam_dataset import IWildCamDataset
    finally:
        if saved is None:
            del sys.modules["outdated"]
        else:
            sys.modules["outdated"] = saved
    return IWildCamDataset(root_dir=str(root), download=False)


def check_iwildcam(root: str | Path) -> DatasetCheck:
    """WILDS' download layout: ``iwildcam_v2.0/`` with RELEASE_v2.0.txt, metadata.csv and train/;
    the rows per split against WILDS' split sizes, and metadata rows whose image is not in train/."""
    folder = dataset_path(root) / "iwildcam_v2.0"
    check = DatasetCheck("iWildCam-WILDS v2.0", f"{folder} (WILDS' download: metadata.csv, train/<image>.jpg)")
    try:
        for needed in (folder / "RELEASE_v2.0.txt", folder / "metadata.csv", folder / "train"):
            if not needed.exists():
                raise FileNotFoundError(f"{needed} not found")
        check_metadata(folder)
    except (OSError, ValueError) as error:
        check.problems.append(str(error))
        return check
    metadata = pd.read_csv(folder / "metadata.csv", usecols=["split", "filename"])
    check.found, check.published = len(metadata), sum(IWILDCAM_SPLITS.values())
    ours = {wilds: name for name, wilds in WILDS_SPLIT_OF.items()}
    counts = metadata["split"].value_counts()
    differ = [f"{ours.get(s, s)} {counts.get(s, 0):,} ({counts.get(s, 0) - n:+,})" for s, n in IWILDCAM_SPLITS.items()
              if counts.get(s, 0) != n]
    if differ:
        check.warnings.append(f"split sizes differ from WILDS': {', '.join(differ)}")
    on_disk = set(os.listdir(folder / "train"))
    check.paths = [str(folder / "train" / f) for f in metadata["filename"] if f in on_disk]
    report_missing(check, sorted(set(metadata["filename"]) - on_disk), "metadata.csv")
    return check


class IWildCamDataModule(ClassificationDataModule):
    """Fine-tuning on iWildCam-WILDS; evaluates ``id_val``, ``id_test``, ``ood_val``, ``ood_test``.

    Defaults follow WILDS' iWildCam ERM recipe: 448x448 inputs, batch 16, no augmentation.

    Args:
        root: folder that holds ``iwildcam_v2.0/``.
        image_size: square input side in pixels (WILDS: 448).
        check_files: stat every image of the used splits before training, so a missing file
            stops the run at once instead of hours in.
        decode_check: also decode every image of the used splits before training (all cores, with a
            progress bar), so a truncated or unreadable file is named before the first epoch.
        pipeline: ``wilds``: WILDS' own ``get_input`` + PIL resize (exact parity); ``fast``:
            torchvision decoding and uint8 resize (pixels within 1/255 of WILDS', see
            ``iwildcam_fast.py``), reading a split's cache (``pretrain-robustness cache``) when present;
            the uint8 batches are normalised on the device.
        mean, std: input normalisation per channel (WILDS: ImageNet's; CLIP's for a CLIP encoder).
    """

    loader_images_per_core = {"wilds": 32.0, "fast": 51.0}
    loader_rate_measured_on = "iWildCam's 1920x1080 frames to 448 px"
    loader_rate_image_size = 448
    default_pipeline = "wilds"
    faster_loading = "read a cache (pretrain-robustness cache)"

    @classmethod
    def planned_datasets(cls, args: Any) -> dict[str, Callable[[bool], Any]]:
        return {f"iwildcam {args.root}": lambda every: check_iwildcam(args.root)}

    @classmethod
    def nominal_train_images(cls, args: Any) -> int:
        return 129_809  # iWildCam-WILDS v2.0's train split

    def __init__(
        self,
        root: str = "data",
        image_size: int = 448,
        batch_size: int = 16,
        eval_batch_size: int | None = 64,
        num_workers: int | None = None,
        eval_splits: list[str] | None = None,
        check_files: bool = True,
        decode_check: bool = False,
        pipeline: str = "wilds",
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
    ):
        super().__init__(batch_size, eval_batch_size, num_workers)
        self.image_size = image_size
        self.input_mean, self.input_std = tuple(mean), tuple(std)
        self.wilds = load_wilds_iwildcam(Path(root))
        self.eval_split_names = list(eval_splits or EVAL_SPLITS)
        self.num_classes = int(self.wilds.n_classes)
        self.class_names = self._class_names()
        self._indices = {split: self._split_indices(split) for split in ["train", *self.eval_split_names]}
        if pipeline not in ("wilds", "fast"):
            raise ValueError(f"pipeline must be 'wilds' or 'fast', got {pipeline!r}")
        self.pipeline = pipeline
        self._sources = {split: self._source(split) for split in self._indices}
        self.pipeline_record = {split: how for split, (_, how) in self._sources.items()}
        if pipeline == "fast":
            print("iWildCam images: " + ", ".join(f"{k} from {v}" for k, v in self.pipeline_record.items()), flush=True)
        if check_files or decode_check:
            self._check_files()
        if decode_check:
            folder = Path(self.wilds.data_dir) / "train"
            self.decode_check_paths = [folder / self.wilds._input_array[i] for ids in self._indices.values() for i in ids]

    def _class_names(self) -> list[str]:
        path = Path(self.wilds.data_dir) / "categories.csv"
        names = [str(y) for y in range(self.num_classes)]
        if path.is_file():
            categories = pd.read_csv(path)
            if {"y", "name"} <= set(categories.columns):
                for y, name in zip(categories["y"], categories["name"]):
                    if 0 <= y < self.num_classes:
                        names[y] = str(name)
        return names

    def _split_indices(self, split: str) -> np.ndarray:
        if split not in WILDS_SPLIT_OF:
            raise ValueError(f"unknown iWildCam split {split!r}; expected one of {sorted(WILDS_SPLIT_OF)}")
        wilds_id = self.wilds.split_dict[WILDS_SPLIT_OF[split]]
        indices = np.flatnonzero(self.wilds.split_array == wilds_id)
        if indices.size == 0:
            raise ValueError(f"split {split!r} (WILDS split {WILDS_SPLIT_OF[split]!r}) has no images "
                             f"in {self.wilds.data_dir}/metadata.csv")
        return indices

    def _check_files(self) -> None:
        folder = Path(self.wilds.data_dir) / "train"
        for split, indices in self._indices.items():
            for i in indices:
                if not (folder / self.wilds._input_array[i]).is_file():
                    raise ImageReadError(f"image {folder / self.wilds._input_array[i]} of split {split!r} "
                                         f"is listed in metadata.csv but missing")

    def examples(self, split: str) -> pd.DataFrame:
        indices = self._indices.get(split)
        if indices is None:
            indices = self._indices[split] = self._split_indices(split)
        metadata = self.wilds.metadata_array[indices].numpy()
        return pd.DataFrame({
            "filename": self.wilds._input_array[indices],
            "y": self.wilds.y_array[indices].numpy(),
            "location": metadata[:, self.wilds.metadata_fields.index("location")],
        })

    def _source(self, split: str):
        """(index -> image, how): WILDS' loader, or a split's cache, or torchvision decoding."""
        indices = self._indices[split] if split in self._indices else self._split_indices(split)
        if self.pipeline == "wilds":
            return WildsImages(self.wilds, indices), "wilds get_input + PIL resize"
        folder = Path(self.wilds.data_dir)
        filenames = [str(f) for f in self.wilds._input_array[indices]]
        cache = find_cache(folder, self.image_size, split, filenames)
        if cache is not None:
            return cache, f"cache {cache.path}"
        return DecodedImages([folder / "train" / f for f in filenames], self.image_size), "torchvision decode + resize"

    def dataset(self, split: str) -> IndexedImageDataset:
        indices = self._indices[split] if split in self._indices else self._split_indices(split)
        labels = self.wilds.y_array[indices].tolist()
        images, _ = self._sources[split] if split in self._sources else self._source(split)
        # fast: uint8 images, normalised on the device (ClassificationDataModule.on_after_batch_transfer)
        transform = wilds_transform(self.image_size, self.input_mean, self.input_std) if self.pipeline == "wilds" else None
        return IndexedImageDataset(images, labels, transform)


class WildsImages:
    """Picklable ``index -> image`` through ``IWildCamDataset.get_input`` for one split."""

    def __init__(self, wilds_dataset, indices: np.ndarray):
        self.wilds, self.indices = wilds_dataset, indices

    def __call__(self, index: int):
        wilds_index = int(self.indices[index])
        try:
            image = self.wilds.get_input(wilds_index)
            image.load()  # wilds opens lazily; decode here so a bad file is reported by name
            return image
        except OSError as error:
            path = Path(self.wilds.data_dir) / "train" / self.wilds._input_array[wilds_index]
            raise ImageReadError(f"cannot read image {path}: {error}") from error


def cache_command(args: list[str]) -> Path:
    """``cache --root data --image_size 448``: every iWildCam image of the used splits, decoded and
    resized once (``--data.init_args.pipeline fast`` then reads it); resumes an interrupted write."""
    from tqdm import tqdm

    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness cache", description=cache_command.__doc__)
    parser.add_argument("--root", default="data", help="the folder that holds iwildcam_v2.0/")
    parser.add_argument("--image_size", type=int, default=448, help="the recipe's input size (WILDS: 448)")
    parser.add_argument("--splits", type=list[str], default=["train", *EVAL_SPLITS])
    cfg = parser.parse_args(args)
    unknown = sorted(set(cfg.splits) - set(WILDS_SPLIT_OF))
    if unknown:
        raise ValueError(f"unknown iWildCam split(s) {unknown}; expected some of {sorted(WILDS_SPLIT_OF)}")
    wilds = load_wilds_iwildcam(Path(cfg.root))
    folder = Path(wilds.data_dir)
    for split in cfg.splits:
        indices = (wilds.split_array == wilds.split_dict[WILDS_SPLIT_OF[split]]).nonzero()[0]
        filenames = [str(f) for f in wilds._input_array[indices]]
        with tqdm(total=len(filenames), desc=f"cache {split} at {cfg.image_size} px", unit="img") as bar:
            written = write_cache(folder, cfg.image_size, split, [folder / "train" / f for f in filenames], filenames,
                                  progress=bar.update)
        print(f"{split}: {len(filenames)} images in {written}", flush=True)
    return folder / "cache" / str(cfg.image_size)
