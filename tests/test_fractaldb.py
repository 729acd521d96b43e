"""FractalDB: acceptance rule, faithfulness to the per-point renderer, determinism, layout,
resumable jobs, the on-the-fly dataset, and the benchmark at reduced size."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from pretrain_robustness.datamodules.fractaldb_onthefly import FractalDBDataModule, FractalDBImages
from pretrain_robustness.synthetic import fractaldb, fractaldb_jobs, fractals
from pretrain_robustness.synthetic.fractal_reference import reference_points, reference_render
from pretrain_robustness.synthetic.fractaldb import RenderSettings, SearchSettings

SMALL = RenderSettings(size=48, pad=6, iterations=3000, instances=2, seed=0)
SMALL_SEARCH = SearchSettings(threshold=0.2, points=4000, size=64, pad=6, seed=0)


def _system(maps):
    """Rows a..f with probabilities proportional to |det|, as the search makes them."""
    params = np.zeros((len(maps), 7))
    params[:, :6] = maps
    det = np.abs(params[:, 0] * params[:, 3] - params[:, 1] * params[:, 2])
    params[:, 6] = det / det.sum()
    return params


SIERPINSKI = _system([[0.5, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0.5, 0], [0.5, 0, 0, 0.5, 0.25, 0.5]])
SQUARE = _system([[0.5, 0, 0, 0.5, x, y] for x in (0, 0.5) for y in (0, 0.5)])  # fills its square
LINE = _system([[0.3, 0, 0, 0.01, 0, 0], [0.3, 0, 0, 0.01, 0.7, 0]])  # a thin segment


def test_acceptance_rule_is_the_fill_rate():
    assert fractals.fill_rate(SQUARE, 4000, 64) > 0.5
    assert fractals.fill_rate(LINE, 4000, 64) < 0.05
    image = fractals.point_image(*fractals.to_pixels(fractals.trajectory(SQUARE, 4000), 64, 6), 64)
    assert fractals.fill_rate(SQUARE, 4000, 64) == np.count_nonzero(image) / 64 ** 2


def test_search_accepts_exactly_the_candidates_above_threshold(tmp_path):
    systems = fractaldb_jobs.search(tmp_path / "cats", 4, SMALL_SEARCH, workers=1, batch=8)
    state = fractaldb.search_state(tmp_path / "cats")
    tried = range(state["next_candidate"])
    rates = [fractals.fill_rate(fractaldb.candidate(i, 0), 4000, 64) for i in tried]
    accepted = [i for i, r in zip(tried, rates) if r >= 0.2]
    assert [a["candidate"] for a in state["accepted"]] == accepted and len(accepted) == 4
    assert all(np.allclose(s, fractaldb.candidate(i, 0)) for s, i in zip(systems, accepted))
    for system in systems:
        assert 2 <= len(system) <= 7 and np.isclose(system[:, 6].sum(), 1) and np.abs(system[:, :6]).max() <= 1


def test_search_resumes_to_the_same_categories(tmp_path):
    fractaldb_jobs.search(tmp_path / "a", 2, SMALL_SEARCH, workers=1, batch=4)
    resumed = fractaldb_jobs.search(tmp_path / "a", 5, SMALL_SEARCH, workers=2, batch=4)
    fresh = fractaldb_jobs.search(tmp_path / "b", 5, SMALL_SEARCH, workers=1, batch=16)
    assert all(np.array_equal(x, y) for x, y in zip(resumed, fresh)) and len(resumed) == 5
    with pytest.raises(ValueError, match="seed 0"):
        fractaldb_jobs.search(tmp_path / "a", 6, SearchSettings(seed=1, points=4000, size=64))


@pytest.mark.parametrize("system", [SIERPINSKI, "searched"])
def test_blocked_trajectory_and_stamping_match_the_per_point_renderer(system):
    params = fractaldb.candidate(2, 0) if isinstance(system, str) else system
    for block in (7, 256):
        points = fractals.trajectory(params, 5000, block=block)
        assert np.allclose(points, reference_points(params, 5000), rtol=1e-9, atol=1e-12)
    masks = fractaldb.instance_masks(0, 0, 0, 5000, 0)
    fast = fractals.stamp(*fractals.to_pixels(fractals.trajectory(params, 5000), 64, 6), masks, 64)
    reference = reference_render(params, masks, 64, 6, 5000)
    assert np.array_equal(np.asarray(fractaldb.picture(fast, 0)), reference)  # RGB, grey in every channel


# a x 1.8 makes the first map expanding (|1.62| > 1): the chaos game overflows to inf, then NaN
DIVERGING = fractaldb.variation(_system([[0.9, 0.05, 0.0, 0.4, 0.1, 0.0], [0.3, 0.0, 0.1, 0.3, 0.5, 0.2]]), 4)
UNDER_ONE = SIERPINSKI.copy()
UNDER_ONE[:, 6] = [0.2, 0.2, 0.25]  # sums to 0.65: draws above it keep the previous point


def _same(a, b):
    """Equal as the official arrays are: finite values to rounding, inf and NaN exactly where they are."""
    finite = np.isfinite(a) & np.isfinite(b)
    return (np.array_equal(np.isfinite(a), np.isfinite(b)) and np.array_equal(np.isnan(a), np.isnan(b))
            and np.array_equal(a[np.isinf(a)], b[np.isinf(b)]) and np.allclose(a[finite], b[finite], rtol=1e-9))


@pytest.mark.parametrize("params", [DIVERGING, UNDER_ONE], ids=["diverging", "probabilities-under-1"])
def test_the_official_loops_edge_cases_are_kept(params):
    reference = reference_points(params, 5000)
    for block in (7, 256):
        assert _same(fractals.trajectory(params, 5000, block=block), reference)
    if params is DIVERGING:
        assert np.isinf(reference).any() and np.isnan(reference).any()
    else:  # kept points: some steps repeat the point before them
        assert (np.diff(reference, axis=0) == 0).all(axis=1).sum() > 1000
    px, py = fractals.to_pixels(fractals.trajectory(params, 5000), 64, 6)
    masks = fractaldb.instance_masks(0, 4, 0, len(px), 0)
    fast = fractals.stamp(px, py, masks, 64)
    assert np.array_equal(np.asarray(fractaldb.picture(fast, 0)), reference_render(params, masks, 64, 6, 5000))


def test_a_first_draw_above_the_probabilities_is_an_error():
    params = SIERPINSKI.copy()
    params[:, 6] = 0.1  # sums to 0.3 < the first draw of RandomState(100) (0.543)
    with pytest.raises(ValueError, match="first chaos-game draw"):
        fractals.trajectory(params, 100)
    with pytest.raises(ValueError, match="first draw"):
        reference_points(params, 100)


@pytest.mark.parametrize("first_nan", [300, 40])
def test_nan_points_and_the_hundred_before_are_dropped(first_nan):
    """As the official ``__rescale``: range(first - 100, first) and the NaN rows, deleted with
    np.delete (a NaN in the first 100 points makes negative indices, which drop the last points)."""
    points = np.stack([np.arange(400.0), np.arange(400.0) * 2], axis=1)
    points[first_nan, 1] = np.nan
    px, py = fractals.to_pixels(points, 64, 6)
    ys = points[:, 1]
    rows = np.append(np.array(range(first_nan - 100, first_nan)), np.where(np.isnan(ys)))
    xs, ys = np.delete(points[:, 0], rows), np.delete(ys, rows)
    assert len(px) == len(xs) == (299 if first_nan == 300 else 400 - 1 - 100)
    assert np.array_equal(px, np.uint16(xs / (xs.max() - xs.min()) * 52.0 + 6.0))


def test_variations_and_flips_layout(tmp_path):
    # the official weights_0.4.csv order: a x 0.2, a x 0.6, identity, a x 1.4, a x 1.8, b x 0.2, ...
    assert fractaldb.WEIGHTS.shape == (25, 6) and (fractaldb.WEIGHTS[2] == 1).all()
    assert fractaldb.WEIGHTS[:5, 0].tolist() == [0.2, 0.6, 1.0, 1.4, 1.8] and fractaldb.WEIGHTS[5].tolist() == [1, 0.2, 1, 1, 1, 1]
    assert fractaldb.WEIGHTS[-1].tolist() == [1, 1, 1, 1, 1, 1.8]
    changed = np.delete(fractaldb.WEIGHTS, 2, axis=0) != 1
    assert (changed.sum(1) == 1).all()
    written = fractaldb_jobs.render([SIERPINSKI, SQUARE], tmp_path, SMALL, workers=1)
    assert written == 2 * 25 * 2 * 4 == SMALL.images_per_category() * 2
    files = sorted(p.name for p in (tmp_path / "00001").iterdir())
    assert files[0] == "00001_00_count_0_flip0.png" and len(files) == 200
    base = np.asarray(Image.open(tmp_path / "00001" / "00001_03_count_1_flip0.png"))
    for k, flipped in enumerate([base, base[::-1], base[:, ::-1], base[::-1, ::-1]]):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "00001" / f"00001_03_count_1_flip{k}.png")), flipped)
    one, two = (Image.open(tmp_path / "00000" / f"00000_00_count_{n}_flip0.png") for n in (0, 1))
    assert one.mode == "RGB"  # as the official files
    one, two = np.asarray(one), np.asarray(two)
    assert not np.array_equal(one, two) and set(np.unique(one)) == {0, 127}  # instances differ by masks only
    assert (one[:, :, 0] == one[:, :, 2]).all()


def test_rendering_resumes_without_rewriting_finished_images(tmp_path):
    fractaldb_jobs.render([SIERPINSKI], tmp_path, SMALL, workers=1)
    folder = tmp_path / "00000"
    kept = folder / "00000_10_count_0_flip2.png"
    before = (kept.stat().st_mtime_ns, kept.read_bytes())
    removed = sorted(folder.iterdir())[::7]
    for path in removed:
        path.unlink()
    (folder / ".00000_00_count_0_flip0.png.tmp123").write_bytes(b"half")  # a killed run's partial write
    assert fractaldb_jobs.render([SIERPINSKI], tmp_path, SMALL, workers=2) == len(removed)
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == before
    assert len([p for p in folder.iterdir() if p.suffix == ".png"]) == 200


def test_rendering_is_reproducible_across_processes(tmp_path):
    fractaldb_jobs.render([SQUARE], tmp_path, SMALL, workers=1)
    code = ("import numpy as np, sys; from pretrain_robustness.synthetic import fractaldb;"
            "from tests.test_fractaldb import SQUARE, SMALL;"
            "c = fractaldb.pixels(SQUARE, 5, SMALL); im = fractaldb.render_instance(c, 0, 5, 1, SMALL);"
            "sys.stdout.write(im.tobytes().hex())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    from_disk = np.asarray(Image.open(tmp_path / "00000" / "00000_05_count_1_flip0.png"))
    assert bytes.fromhex(out) == np.ascontiguousarray(from_disk[:, :, 0]).tobytes()


def test_on_the_fly_dataset_matches_the_files(tmp_path):
    fractaldb_jobs.render([SIERPINSKI, SQUARE], tmp_path / "images", SMALL, workers=1)
    images = FractalDBImages([SIERPINSKI, SQUARE], SMALL, instances=[0, 1])
    assert len(images) == 2 * 25 * 2 * 4 and images.labels()[199:201] == [0, 1]
    assert images.locate(200 + 4 * 2 * 7 + 4 * 1 + 3) == (1, 7, 1, 3)
    for index in (0, 57, 399):
        c, w, n, k = images.locate(index)
        on_disk = Image.open(tmp_path / "images" / f"{c:05d}" / fractaldb.file_name(c, w, n, k))
        assert np.array_equal(np.asarray(images(index)), np.asarray(on_disk))
    with pytest.raises(IndexError, match="400"):
        images.locate(400)


def test_fractaldb_datamodule_splits_and_workers(tmp_path):
    fractaldb.save_categories([SIERPINSKI, SQUARE, LINE], tmp_path / "cats")
    data = FractalDBDataModule(str(tmp_path / "cats"), classes=2, instances=3, val_instances=1, size=48,
                               iterations=2000, image_size=32, batch_size=50, num_workers=0)
    train, val = data.dataset("train"), data.dataset("val")
    assert data.num_classes == 2 and len(train) == 2 * 25 * 2 * 4 and len(val) == 2 * 25 * 1 * 4
    assert set(data.examples("val")["instance"]) == {2} and data.examples("train")["y"].tolist() == train.labels
    data.num_workers = 2
    batch = next(iter(data.val_dataloader()[0]))
    single = torch.stack([val[i][0] for i in range(50)])
    assert torch.equal(batch[0], single) and batch[0].shape == (50, 3, 32, 32)
    with pytest.raises(ValueError, match="asked for 4 FractalDB categories, but .* holds 3"):
        FractalDBDataModule(str(tmp_path / "cats"), classes=4)
    with pytest.raises(FileNotFoundError, match="fractaldb search"):
        FractalDBDataModule(str(tmp_path / "none"))


def test_benchmark_at_reduced_size(capsys):
    from .helpers import load_script

    module = load_script("benchmark_fractaldb")
    result = module.main(["--size", "64", "--iterations", "5000", "--instances", "2"])
    assert result["identical_pixels"] == 1.0 and result["files"] == 8
    assert "speed-up" in capsys.readouterr().out  # its speed is the benchmark's figure (docs/performance.md)
