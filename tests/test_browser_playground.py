"""The dropout playground of notebook 01 in real JupyterLab and headless Chromium: run the notebook,
press Play, count how often the canvas changes, press Pause and see it stop."""

import os
import shutil
import time
from pathlib import Path

import pytest

from services import headless_chromium, jupyter_lab, open_and_run_all

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_intuition.ipynb"
# starts JupyterLab and drives it in Chromium with Playwright
pytestmark = pytest.mark.slow
MIN_FPS = 10.0
MEASURE_SECONDS = 4.0

# Hash a sample of the canvas pixels at every repaint of the page and count how often the hash
# changes: the frames the page actually showed, whatever the kernel sent.
WATCH_CANVAS = """
(canvas) => {
  const context = canvas.getContext("2d", {willReadFrequently: true});
  const watch = {changes: 0, last: null};
  const look = () => {
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let hash = 0;
    for (let i = 0; i < pixels.length; i += 61) hash = (hash * 31 + pixels[i]) | 0;
    if (hash !== watch.last) { watch.changes += 1; watch.last = hash; }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
  window.playgroundWatch = watch;
}
"""
CHANGES = "() => window.playgroundWatch.changes"


def _frame(status) -> int:
    return int(status.get_attribute("data-frame") or 0)


def test_play_redraws_ten_times_a_second_and_pause_stops(tmp_path):
    # the instructor version: its exercise cells are solved, so "Run All Cells" reaches the end
    source = ROOT / "autograder" / "course" / "source" / "01_intuition" / NOTEBOOK
    shutil.copy(source, tmp_path / NOTEBOOK)
    with jupyter_lab(tmp_path) as (base, token), headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            open_and_run_all(page, base, token, NOTEBOOK)
            playground = page.locator(".dropout-playground")
            canvas = playground.locator("canvas").first
            canvas.wait_for(timeout=180_000)
            canvas.scroll_into_view_if_needed()
            status = playground.locator(".playground-frame")
            status.wait_for(timeout=30_000)
            canvas.evaluate(WATCH_CANVAS)

            playground.locator("button", has_text="Play").click()
            page.wait_for_function("window.playgroundWatch.changes > 5", timeout=30_000)
            time.sleep(1.0)  # past the first frames
            changes, frame, started = page.evaluate(CHANGES), _frame(status), time.monotonic()
            time.sleep(MEASURE_SECONDS)
            seconds = time.monotonic() - started
            drawn = (page.evaluate(CHANGES) - changes) / seconds
            sent = (_frame(status) - frame) / seconds
            print(f"playground: {drawn:.1f} canvas changes/s, {sent:.1f} frames/s from the kernel")
            assert drawn >= MIN_FPS, f"the canvas changed {drawn:.1f} times a second"
            # every change is a whole frame: batches are drawn in one go, never half a frame
            assert drawn <= 1.2 * sent + 1.0, (drawn, sent)

            playground.locator("button", has_text="Pause").click()
            time.sleep(0.5)  # a frame already sent may still arrive
            paused_changes, paused_frame = page.evaluate(CHANGES), _frame(status)
            time.sleep(2.0)
            assert page.evaluate(CHANGES) == paused_changes
            assert _frame(status) == paused_frame
            assert "paused" in status.inner_text()
        except Exception:
            screenshots = Path(os.environ.get("TMPDIR", "/tmp"))
            page.screenshot(path=str(screenshots / "browser-playground-failure.png"))
            raise
