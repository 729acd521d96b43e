"""Shared fixtures: miniature datasets in the real on-disk formats, generated once per session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ["WANDB_MODE"] = "offline"  # tests never reach the network
os.environ.setdefault("WANDB_SILENT", "true")
# listings cached by the tests (sources/listing_cache.py) stay out of the user's ~/.cache
os.environ["PRETRAIN_ROBUSTNESS_CACHE"] = tempfile.mkdtemp(prefix="pretrain-robustness-test-cache-")
atexit.register(shutil.rmtree, os.environ["PRETRAIN_ROBUSTNESS_CACHE"], True)
# and so do W&B's own files (its service's logs, artifacts staged for upload, its settings) and headless
# Chromium's profile (the report's screenshot): tests write under temporary folders only
_HOMES = tempfile.mkdtemp(prefix="pretrain-robustness-test-homes-")
atexit.register(shutil.rmtree, _HOMES, True)
for _name, _folder in (("WANDB_CACHE_DIR", "cache"), ("WANDB_DATA_DIR", "data"), ("WANDB_CONFIG_DIR", "config"),
                       ("WANDB_ARTIFACT_DIR", "artifacts"), ("XDG_CACHE_HOME", "xdg-cache"),
                       ("XDG_CONFIG_HOME", "xdg-config")):
    os.environ[_name] = os.path.join(_HOMES, _folder)
if os.environ.get("PYTEST_XDIST_WORKER"):  # one worker per core: torch threads share the cores, not oversubscribe
    _THREADS = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    os.environ["OMP_NUM_THREADS"] = str(_THREADS)  # the runs tests start as subprocesses too
    import torch

    torch.set_num_threads(_THREADS)

from pretrain_robustness.demo.camera_traps import CameraTrapConfig, write_iwildcam  # noqa: E402
from pretrain_robustness.demo.imagenet_folders import ImageNetDemoConfig, write_imagenet_train, write_imagenet_val  # noqa: E402

# test files in the order the workers take them up (pytest-xdist, --dist loadfile, hands out files in
# collection order): the two-node SLURM tests first. Their jobs run one after another (~5 minutes here),
# so the other worker runs the rest of the suite beside them instead of one core idling at the end.
FIRST = ("test_slurm.py",)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in FIRST)  # stable: each file's tests keep their order


def pytest_runtest_logreport(report):
    """The GPU tier's outcome of each test, written as the test ends (benchmarks/gpu_first_contact.sh reads the
    file; a tier stopped by its time limit keeps every result before it): $GPU_TIER_RESULTS, one JSON line each."""
    results = os.environ.get("GPU_TIER_RESULTS")
    if not results or "gpu" not in report.keywords or not (report.when == "call" or report.outcome != "passed"):
        return
    import json

    message = str(report.longrepr).splitlines()[-1][:500] if report.longrepr else ""
    with open(results, "a") as out:
        out.write(json.dumps({"test": report.nodeid, "phase": report.when, "outcome": report.outcome,
                              "seconds": round(report.duration, 1), "message": message}) + "\n")


TINY_CAMERA_TRAPS = CameraTrapConfig(image_size=32, id_locations=4, ood_val_locations=2, ood_test_locations=2,
                                     images_per_id_location=70, images_per_ood_location=30, seed=3)
TINY_IMAGENET = ImageNetDemoConfig(image_size=32, images_per_class=16, seed=3)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """``root/iwildcam_v2.0`` (WILDS layout) and ``root/imagenet/train/<wnid>`` (ILSVRC layout)."""
    root = tmp_path_factory.mktemp("data")
    write_iwildcam(root, TINY_CAMERA_TRAPS)
    write_imagenet_train(root / "imagenet", TINY_IMAGENET)
    write_imagenet_val(root / "imagenet", TINY_IMAGENET, per_class=3)
    _write_wide_copy(root / "imagenet", root / "imagenet_wide")
    from .fake_sources import write_domainnet, write_inaturalist_2017, write_inaturalist_2021

    write_inaturalist_2017(root / "inaturalist")
    write_inaturalist_2021(root / "inaturalist", "2021_train_mini", per_class=6)
    write_inaturalist_2021(root / "inaturalist", "2021_valid", per_class=2)
    write_inaturalist_2021(root / "inaturalist", "2021_train", per_class=10)  # 2021_train_mini's 6 + 4 more
    write_domainnet(root / "domainnet", ("infograph", "sketch", "real"), per_class=9)
    _write_fractaldb(root / "fractaldb")
    _write_tiny_clip(root / "clip")
    return root


def _write_tiny_clip(folder: Path) -> None:
    """A tiny random open_clip model (32 px ViT, 1-layer text tower): its config and its checkpoint."""
    import json

    import open_clip
    import torch

    from .test_clip import TINY

    folder.mkdir(parents=True)
    (folder / "tiny-clip.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(str(folder / "tiny-clip.json"))
    torch.manual_seed(0)
    torch.save({"state_dict": open_clip.create_model("tiny-clip").state_dict()}, folder / "tiny-clip.pt")


def _write_fractaldb(root: Path) -> None:
    """FractalDB's layout: 3 category systems and their images (25 variations x 1 instance x 4 flips)."""
    from pretrain_robustness.synthetic import fractaldb, fractaldb_jobs

    from .test_fractaldb import SIERPINSKI, SQUARE

    systems = [SIERPINSKI, SQUARE, fractaldb.candidate(2, 0)]
    fractaldb.save_categories(systems, root / "categories")
    fractaldb_jobs.render(systems, root / "images", fractaldb.RenderSettings(size=32, iterations=2000, instances=1))


def _write_wide_copy(source: Path, target: Path) -> None:
    """``imagenet_wide``: the miniature plus two classes outside WordNet ``object`` (guacamole:
    matter; street sign: communication), so that depth-2 superclasses number more than one."""
    from pretrain_robustness.wordnet import hierarchy

    shutil.copytree(source, target)
    synset_to_wnid = {s: w for w, s in hierarchy.load().synset.items()}
    donor = sorted((target / "train").iterdir())[0]
    for synset in ("guacamole.n.01", "street_sign.n.01"):
        wnid = synset_to_wnid[synset]
        (target / "train" / wnid).mkdir()
        for i, image in enumerate(sorted(donor.iterdir())):
            shutil.copy(image, target / "train" / wnid / f"{wnid}_{i}.JPEG")
