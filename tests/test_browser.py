"""A student's session in real JupyterLab and headless Chromium: open notebook 03, run all
cells, move a slider, and see the figure redraw in place."""

import os
import shutil
from pathlib import Path

import pytest

from services import headless_chromium, jupyter_lab, open_and_run_all

ROOT = Path(__file__).resolve().parents[1]
# starts JupyterLab and drives it in Chromium with Playwright
pytestmark = pytest.mark.slow
NOTEBOOK = "03_inverted_dropout.ipynb"


def test_moving_a_slider_redraws_the_figure(tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path)
    with jupyter_lab(tmp_path) as (base, token), headless_chromium() as browser:
        page = browser.new_page()
        try:
            open_and_run_all(page, base, token, NOTEBOOK)
            page.wait_for_selector(".widget-slider", timeout=60_000)
            image = page.locator(".jp-OutputArea-output img").first
            image.wait_for(timeout=60_000)
            before = image.get_attribute("src")
            readout = page.locator(".widget-readout").first
            start = readout.inner_text()
            page.locator(
                ".widget-slider .noUi-handle, .widget-slider .ui-slider-handle"
            ).first.click()
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([selector, old]) => document.querySelector(selector).src !== old",
                arg=[".jp-OutputArea-output img", before],
                timeout=30_000,
            )
            assert readout.inner_text() != start
            assert image.get_attribute("src") != before
        except Exception:
            screenshots = Path(os.environ.get("TMPDIR", "/tmp"))
            page.screenshot(path=str(screenshots / "browser-failure.png"))
            raise
