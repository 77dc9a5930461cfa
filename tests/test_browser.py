"""A student's session in real JupyterLab and headless Chromium: open notebook 03, run all
cells, move a slider, and see the figure redraw in place."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# starts JupyterLab and drives it in Chromium with Playwright
pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    shutil.copy(ROOT / "notebooks" / "03_inverted_dropout.ipynb", tmp_path)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
            time.sleep(0.5)
    yield f"{base}/lab/tree/03_inverted_dropout.ipynb?token={token}"
    server.terminate()
    server.wait(timeout=30)


def test_moving_a_slider_redraws_the_figure(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(lab)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.locator("#jp-main-statusbar", has_text="Idle").wait_for(timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
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
        finally:
            browser.close()
