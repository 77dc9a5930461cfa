"""Real services for the end-to-end tests: a throwaway PostgreSQL server, a local Dask cluster,
JupyterLab on a free port and headless Chromium."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest


def _postgres_bin() -> str | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2])
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_server():
    """Start PostgreSQL on a Unix socket in a temporary folder; yield a SQLAlchemy URL."""
    bindir = _postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = tempfile.mkdtemp(prefix="pg-")
    os.chmod(root, 0o755)
    data, sockets = os.path.join(root, "data"), os.path.join(root, "sockets")
    os.mkdir(sockets)
    # the server refuses to run as root: run it as the postgres user when we are root
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()

    def pg(command, *args):
        subprocess.run(
            [*as_user, os.path.join(bindir, command), *args],
            check=True,
            capture_output=True,
            text=True,
        )

    pg("initdb", "-A", "trust", "-U", "grader", "-D", data)
    pg(
        "pg_ctl",
        "-D",
        data,
        "-l",
        os.path.join(root, "log"),
        "-w",
        "-o",
        f"-k {sockets} -p {port} -c listen_addresses=''",
        "start",
    )
    try:
        pg("createdb", "-h", sockets, "-p", str(port), "-U", "grader", "gradebook")
        yield f"postgresql+psycopg2://grader@/gradebook?host={sockets}&port={port}"
    finally:
        pg("pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def dask_cluster(n_workers: int = 2):
    """A local Dask cluster of worker processes; yields the scheduler's address."""
    from distributed import LocalCluster

    # distributed's annotations: dashboard_address=None (no dashboard) is typed str, and the
    # synchronous `with` is typed as returning the coroutine of `async with`
    with LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,  # pyright: ignore[reportArgumentType]
    ) as cluster:
        yield cluster.scheduler_address  # pyright: ignore[reportAttributeAccessIssue]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def require_chromium() -> str:
    """The path of Debian's chromium; skip (fail on CI) when it is missing."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@contextlib.contextmanager
def jupyter_lab(root: Path):
    """JupyterLab serving ``root`` on a free port, with its own config; yields ``(base, token)``:
    open ``f"{base}/lab/tree/NAME?token={token}"``."""
    port, token = _free_port(), os.urandom(16).hex()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(root / ".config"),
        JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
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
            f"--ServerApp.root_dir={root}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def headless_chromium():
    """A Playwright browser on Debian's chromium (Playwright cannot download its own here)."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
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
            yield browser
        finally:
            browser.close()


def open_and_run_all(page, base: str, token: str, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab once its kernel is idle, and run all its cells."""
    page.goto(f"{base}/lab/tree/{notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.locator("#jp-main-statusbar", has_text="Idle").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
