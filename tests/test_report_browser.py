"""The report in a real browser: headless Chromium renders every figure without JavaScript errors."""

import numpy as np
import pytest
from PIL import Image

from pretrain_robustness.analysis.browser import check_page
from pretrain_robustness.analysis.report import build_report

from .test_report import synthetic_study

pytestmark = pytest.mark.slow  # headless Chromium


def colours(rgb: np.ndarray) -> int:
    """Distinct colours of an RGB screenshot: each pixel one 24-bit number, counted in one pass (unique
    rows, ``np.unique(axis=0)``, sort 3.6 million rows: seconds per screenshot)."""
    packed = rgb.astype(np.int64)
    return int(np.count_nonzero(np.bincount((packed[..., 0] << 16 | packed[..., 1] << 8 | packed[..., 2]).ravel(),
                                            minlength=1 << 24)))


def test_report_renders_in_headless_chromium(tmp_path):
    tidy = synthetic_study({"scratch": (0.0, {}), "imagenet-A-50": (0.08, {"family": "A", "classes": 50}),
                            "imagenet-R-50": (0.04, {"family": "R", "classes": 50})})
    page = tmp_path / "report.html"
    page.write_text(build_report(tidy, "s").html)
    check = check_page(page, tmp_path / "report.png")
    assert check.errors == []
    assert check.dom.count('class="plot-container plotly"') == 3  # scatter, residuals, classes
    for text in ("y = x", "id_test macro-F1 (probit scale)", "imagenet-A-50 trend", "fine-tuning epoch",
                 "0.398 x ImageNet-R classes"):
        assert text in check.dom, text
    shot = np.asarray(Image.open(check.screenshot).convert("RGB"))
    assert shot.shape[:2] == (3000, 1200) and colours(shot) > 100  # not blank


def test_a_javascript_error_is_caught(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>Plotly.newPlot('x', [])</script></body></html>")  # plotly.js missing
    check = check_page(page)
    assert any("Plotly is not defined" in e for e in check.errors)


def test_hover_names_run_architecture_and_epoch():
    tidy = synthetic_study({"scratch": (0.0, {}), "pretrained": (0.05, {})})
    report = build_report(tidy, "s")
    assert "%{customdata[0]}, epoch %{customdata[1]}" in report.html and "%{customdata[2]}" in report.html


def test_the_new_report_sections_render(tmp_path):
    """scripts/report_sections.py: residuals out of sample, external baseline, choices, every (ID, OOD)
    pair, Fig. 20's zero-shot panel, and Figures 1-2 (WordNet: the miniature data.noun), each a page without JavaScript errors."""
    from .fake_sources import write_wordnet_data_noun
    from .helpers import load_script
    from .test_species_match import SYNSETS

    noun = write_wordnet_data_noun(tmp_path / "data.noun", SYNSETS)
    shots = load_script("report_sections").main(["--output", str(tmp_path), "--wordnet", str(noun)])
    assert sorted(p.name for p in shots) == sorted(f"report_{n}.png" for n in (
        "residuals_held_out", "external_baseline", "choices", "domain_pairs", "zero_shot", "per_class"))
    for shot in shots:
        assert colours(np.asarray(Image.open(shot).convert("RGB"))) > 50  # not blank
