"""The project's promises to a new user: the README's commands, the pins, CI and `make lab`.

The test marked slow starts JupyterLab through `make lab`.
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _code_blocks(text, language):
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_readme_starts_with_exactly_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = _code_blocks(text, "bash")[0]
    assert text.index("```bash") < text.index("\n## ")  # before any section
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make lab", "make test"]


def _requirement_map(requirements):
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", requirement.strip())
        assert match is not None, f"not a requirement: {requirement!r}"
        pins[match.group(1).lower()] = match.group(2).replace(" ", "")
    return pins


# the same packages under their conda-forge names
CONDA_NAMES = {
    "dask[distributed]": "dask",
    "psycopg2-binary": "psycopg2",
    "pyright[nodejs]": "pyright",
}


def test_environment_yml_has_the_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip_pins = _requirement_map(project["dependencies"] + extras["dev"] + extras["classroom"])
    pip_pins = {CONDA_NAMES.get(name, name): pin for name, pin in pip_pins.items()}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [dep for dep in env["dependencies"] if isinstance(dep, str)]
    conda_pins = _requirement_map(conda)
    assert conda_pins.pop("python") == ">=" + project["requires-python"].lstrip(">=")
    conda_pins.pop("pip")
    assert conda_pins == pip_pins
    pip_section = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert "-e ." in pip_section


def _locked_versions() -> dict[str, str]:
    from packaging.utils import canonicalize_name

    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            locked[canonicalize_name(match[1])] = match[2]
    return locked


def test_the_lock_pins_one_version_inside_every_range_of_pyproject():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    locked = _locked_versions()
    assert len(locked) > 100
    for text in project["dependencies"] + extras["dev"] + extras["grading"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} (pyproject.toml) is missing from requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside {requirement}"
        )
        for extra in requirement.extras:  # dask[distributed] -> distributed, and so on
            assert any(canonicalize_name(extra) in key for key in locked), (name, extra)


def test_make_installs_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements.lock" in makefile
    assert "--no-deps -e ." in makefile


def test_ci_script_runs_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "set -euo pipefail" in text
    assert text.strip().splitlines()[-1] == "make test"
    assert text.strip().splitlines()[-2] == "make lint"  # ruff and pyright before the tests


def test_every_path_the_readmes_name_exists():
    """A path in backticks (`course_lib/lessons/nb05_variants.py`) that no longer exists misleads
    a contributor; placeholders (NN_name, <notebook>) are not paths."""
    readmes = [
        ROOT / "README.md",
        ROOT / "notebooks" / "README.md",
        ROOT / "autograder" / "course" / "README.md",
    ]
    named = set()
    for readme in readmes:
        for path in re.findall(
            r"`((?:autograder|course_lib|tests|notebooks|benchmarks)/[^`\s]*)`", readme.read_text()
        ):
            if not re.search(r"NN|<|\*", path):
                named.add(path.rstrip("/"))
    assert len(named) > 10
    assert sorted(path for path in named if not (ROOT / path).exists()) == []


def test_readme_exercise_table_is_the_registry():
    from autograder.exercises.__main__ import markdown_table

    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- exercises -->\n(.*?)<!-- /exercises -->", text, flags=re.S)
    assert block, "the README has no <!-- exercises --> block"
    assert block.group(1) == markdown_table(), (
        "the README's exercise table is stale: paste `python -m autograder.exercises` into it"
    )


def test_pytest_fails_when_it_selects_no_test():
    """CI and `make check` rely on it: a marker expression or path that selects nothing must
    not pass unnoticed."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "slow and not slow",
            "tests/test_wire.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, run.stdout


def test_ci_installs_bubblewrap_so_the_sandboxed_tests_run():
    assert "bubblewrap" in (ROOT / ".ci" / "run").read_text()


def test_readme_library_example_runs():
    code = _code_blocks((ROOT / "README.md").read_text(), "python")[0]
    code = code.replace("epochs=300", "epochs=1").replace("progress=True", "progress=False")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["history"].epochs == 1
    assert set(namespace["out"].ravel()) <= {0.0, 2.0}


def test_experiment_command_line_runs(capsys):
    from course_lib import experiments

    experiments.main(
        [
            "--p-drop",
            "0",
            "--p-drop",
            "0.1,0.3",
            "--seeds",
            "0",
            "1",
            "--epochs",
            "2",
            "--hidden",
            "32",
            "--n-train",
            "200",
        ]
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("test error over 2 seeds [0, 1]") and "df = 1" in lines[0]
    assert lines[2].split()[0] == "0.0" and lines[3].startswith("        [0.1, 0.3]")
    assert " pp " in lines[3] and lines[4].startswith("per seed: 0.0: ")


def test_benchmark_runs_and_reports_ratios(capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_dropout
    finally:
        sys.path.pop(0)
    ratios = bench_dropout.main(["--elements", "4096", "--repeats", "2"])
    assert ratios[0] == ("course_lib dropout_forward + dropout_backward", 1.0)
    assert all(ratio > 0 for _, ratio in ratios)
    assert "ratio" in capsys.readouterr().out


def test_make_bench_ends_with_one_table_of_every_target(tmp_path, monkeypatch, capsys):
    """Each benchmark with a target records it when make bench names the file; the last command
    of make bench prints them all; a benchmark run alone records nothing."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_dropout
        import targets
    finally:
        sys.path.pop(0)
    bench_dropout.main(["--elements", "4096", "--repeats", "2"])
    assert not list(tmp_path.iterdir())
    path = tmp_path / "targets.jsonl"
    monkeypatch.setenv(targets.SUMMARY_ENV, str(path))
    bench_dropout.main(["--elements", "4096", "--repeats", "2"])
    targets.record("a measure that could not be taken", "tool missing", ">= 1x", None)
    capsys.readouterr()
    assert targets.main([str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    floor = [line for line in out if "4,096 float32: time / memory floor" in line]
    assert len(floor) == 1 and "<= 8.0x" in floor[0]
    assert re.search(r"  (met|NOT met) \(load [\d.?]+\)$", floor[0])
    assert "  not measured (load" in out[-2]
    assert re.fullmatch(r"\d of 2 measured targets met \(1 not measured\)", out[-1])
    recipe = _make_recipe("bench")
    for bench in ("bench_dropout", "bench_mlp", "bench_widgets", "bench_grading"):
        line = next(line for line in recipe if f"benchmarks/{bench}.py" in line)
        assert f"{targets.SUMMARY_ENV}=" in line, line
    assert recipe[-1].endswith(f"benchmarks/targets.py $({targets.SUMMARY_ENV})")


def _make_recipe(target: str) -> list[str]:
    """The command lines of a target of the Makefile."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / ".venv" / ".installed").exists(), reason="needs the environment that `make` creates"
)
def test_make_lab_serves_the_notebooks_with_nbgrader(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    server = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert server.stdout is not None  # stdout=PIPE
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
                time.sleep(0.5)
        with urllib.request.urlopen(f"{base}/api/contents?token={token}") as response:
            listing = response.read().decode()
        assert '"README.md"' in listing  # the server's root is notebooks/
        with urllib.request.urlopen(f"{base}/lab?token={token}") as response:
            assert response.status == 200
        # nbgrader's formgrader answers: its server extension is loaded
        with urllib.request.urlopen(f"{base}/formgrader?token={token}") as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/lab/api/extensions?token={token}") as response:
            extensions = {ext["name"]: ext["enabled"] for ext in json.load(response)}
        assert extensions.get("jupyter-nbgrader") is True
        assert extensions.get("jupyter-widgets-jupyterlab-manager") is True
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
