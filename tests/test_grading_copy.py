"""autograder.grading_copy: the course library as a grading kernel sees it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from autograder import build, exercises, grading_copy, wire
from course_lib.checks import CheckFailure
from grading_helpers import ROOT

NOTEBOOKS = build.names()

# Run inside a grading copy: which course_lib functions are stubs, and what calling each says.
INSPECT = textwrap.dedent("""
    import importlib, inspect, json, pkgutil, sys
    import course_lib
    from course_lib._grading import ReferenceUnavailable
    assert course_lib.__file__.startswith(sys.argv[1]), course_lib.__file__
    stubs = {}
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == info.name \
                    and "ReferenceUnavailable" in inspect.getsource(value):
                try:
                    value()
                except ReferenceUnavailable as error:
                    stubs[f"{info.name}.{name}"] = str(error)
    print(json.dumps(stubs))
""")


def _definition_site(dotted: str) -> str:
    relative, name = grading_copy._definition(dotted)
    return "course_lib." + relative.removesuffix(".py").replace("/", ".") + "." + name


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    root = tmp_path_factory.mktemp("copies")
    return {name: grading_copy.grading_copy(name, root=root) for name in NOTEBOOKS}


def test_every_reference_named_by_the_registry_is_a_course_lib_function():
    for exercise in exercises.all_exercises():
        assert exercise.reference.startswith("course_lib.")
        for dotted in exercise.references:
            grading_copy._definition(dotted)


def test_no_reference_lives_in_a_lesson_module():
    # lessons hold figures and widgets; an answer defined there would be an algorithm outside
    # the core, and a lesson module that merely imports one is stubbed through the core's copy
    for exercise in exercises.all_exercises():
        for dotted in exercise.references:
            assert not dotted.startswith("course_lib.lessons."), dotted
            relative, _ = grading_copy._definition(dotted)
            assert not relative.startswith("lessons/"), (dotted, relative)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_references_of_this_notebook_and_later_ones_are_stubs_naming_their_exercise(
    name, copies
):
    copy = copies[name]
    run = subprocess.run(
        [sys.executable, "-c", INSPECT, str(copy)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(copy)),
        cwd=copy,
    )
    assert run.returncode == 0, run.stderr
    stubs = json.loads(run.stdout)
    expected = {}
    for exercise in exercises.all_exercises():
        if exercise.notebook >= name:
            for dotted in exercise.references:
                expected.setdefault(_definition_site(dotted), exercise)
    assert set(stubs) == set(expected)
    for site, exercise in expected.items():
        assert f"exercise {exercise.name} of notebook {exercise.notebook}" in stubs[site]
        assert f"while notebook {name} is graded" in stubs[site]


def test_the_kernel_side_of_the_grader_has_probes_and_no_verdicts(copies):
    for copy in copies.values():
        modules = sorted((copy / "autograder" / "exercises").glob("nb*.py"))
        assert modules
        for module in modules:
            text = module.read_text()
            assert "def verdict" not in text and "def probe" in text, module
            assert "def arguments" not in text, module
        assert sorted(
            path.name for path in (copy / "autograder").iterdir() if path.suffix == ".py"
        ) == ["__init__.py", "harness.py", "wire.py"]
    copy = copies["01_intuition"] / "autograder" / "exercises"
    # helpers that compute expected values exist only in the grader's copy
    for module, helper in (
        ("nb06_mc_dropout", "_entropy"),
        ("nb06_mc_dropout", "_mutual_information"),
        ("nb02_bernoulli_binomial", "_reference_range"),
        ("nb07_capstone", "_judge_case"),
        ("nb04_backprop", "_check_gradient"),
        ("nb01_intuition", "_expected_parameters"),
    ):
        assert f"def {helper}(" in (ROOT / "autograder" / "exercises" / f"{module}.py").read_text()
        assert f"def {helper}(" not in (copy / f"{module}.py").read_text()


def test_the_kit_in_the_kernel_has_its_probe_half_only(copies):
    kit = (ROOT / "autograder" / "exercises" / "kit.py").read_text()
    for copy in copies.values():
        kept = (copy / "autograder" / "exercises" / "kit.py").read_text()
        for name in (
            "def inputs(",
            "def output(",
            "def attempt(",
            "def bad_p_drop_outcomes(",
            "BAD_P_DROPS =",
        ):
            assert name in kept, name
        # checks, tolerances and the hints for mistakes stay in the grader
        for name in (
            "def close(",
            "def require_value_errors(",
            "def check_inverted_dropout_",
            "class Mistake",
            "NOT_RESCALED =",
            "from course_lib import stats",
        ):
            assert name in kit and name not in kept, name


def test_only_what_is_used_follows_uses_and_drops_unused_imports():
    source = textwrap.dedent('''
        """A kit."""
        from __future__ import annotations
        import math
        import numpy as np
        from course_lib import stats
        LIMIT = 3
        CHECK_ONLY = 4

        def probe_helper(x):
            return np.asarray(x)[:LIMIT] + _private(x)

        def _private(x):
            return math.floor(x)

        def check(x):
            return stats.thing(x) < CHECK_ONLY
    ''')
    kept = grading_copy.only_what_is_used(source, {"probe_helper"})
    for name in (
        '"""A kit."""',
        "__future__",
        "import math",
        "import numpy as np",
        "LIMIT = 3",
        "def probe_helper",
        "def _private",
    ):
        assert name in kept, name
    for name in ("CHECK_ONLY", "def check", "stats"):
        assert name not in kept, name
    compile(kept, "kept", "exec")
    assert grading_copy._kit_names(
        "from . import kit\nkit.inputs(1)\nfrom .kit import output\n"
    ) == {"inputs", "output"}


def test_probes_only_keeps_what_probes_and_notebooks_use():
    source = textwrap.dedent("""
        from . import exercise
        PUBLIC = 1
        _SHARED = 2
        _ONLY_VERDICT = 3
        _ONLY_ARGUMENTS = 4

        def _inputs(seed):
            return seed + _SHARED

        def _expected(seed):
            return _inputs(seed) * _ONLY_VERDICT

        class LayerPair:
            pass

        @exercise("x", "nb", reference="course_lib.x")
        class X:
            @staticmethod
            def probe(fn, seed, hidden):
                return fn(_inputs(seed))

            @staticmethod
            def verdict(observed, seed, hidden):
                assert observed == _expected(seed)

            @staticmethod
            def arguments(observed, seed, hidden):
                assert observed != _ONLY_ARGUMENTS
    """)
    kept = grading_copy.probes_only(source)
    for name in ("PUBLIC", "_SHARED", "_inputs", "LayerPair", "def probe"):
        assert name in kept
    for name in ("_ONLY_VERDICT", "_ONLY_ARGUMENTS", "_expected", "def verdict", "def arguments"):
        assert name not in kept
    compile(kept, "kept", "exec")


def test_probes_only_drops_the_hints_and_what_only_they_use():
    source = textwrap.dedent("""
        from . import exercise, kit
        _ONLY_HINTS = "the idea"

        @exercise("x", "nb", reference="course_lib.x", hints=(_ONLY_HINTS, kit.FIXED_COUNT.say()))
        class X:
            @staticmethod
            def probe(fn, seed, hidden):
                return fn(kit.inputs(seed, 3))
    """)
    kept = grading_copy.probes_only(source)
    assert "hints" not in kept and "_ONLY_HINTS" not in kept and "FIXED_COUNT" not in kept
    assert '@exercise("x", "nb", reference="course_lib.x")' in kept.replace("'", '"')
    assert grading_copy._kit_names(kept) == {"inputs"}


def test_the_grading_kernel_has_no_hints(copies):
    for copy in copies.values():
        for module in (copy / "autograder" / "exercises").glob("nb*.py"):
            assert "hints=" not in module.read_text(), module
    copy = copies["01_intuition"]
    listing = (
        "from autograder import exercises; everything = exercises.all_exercises(); "
        "print(sum(len(e.hints) for e in everything), len(everything))"
    )
    run = subprocess.run(
        [sys.executable, "-c", listing],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(copy)),
        cwd=copy,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", str(len(exercises.all_exercises()))]
    for exercise in exercises.all_exercises():  # while the grader's own registry has them all
        assert exercise.hints


def test_without_functions_replaces_whole_definitions_with_decorators():
    source = (
        "import f\n\n@f.wrap\n@f.other(1)\ndef a(x):\n    return x\n\n\ndef b():\n    return 2\n"
    )
    replaced = grading_copy.without_functions(
        source, {"a": "def a(*args, **kwargs):\n    raise RuntimeError\n"}
    )
    assert "@f.wrap" not in replaced and "return x" not in replaced
    assert "def b():\n    return 2" in replaced and replaced.startswith("import f\n")
    with pytest.raises(LookupError, match="c"):
        grading_copy.without_functions(source, {"c": ""})


def test_a_copy_is_built_once_per_course_version(tmp_path, monkeypatch):
    first = grading_copy.grading_copy("03_inverted_dropout", root=tmp_path)
    stamp = (first / "course_lib" / "dropout.py").stat().st_mtime_ns
    assert grading_copy.grading_copy("03_inverted_dropout", root=tmp_path) == first
    assert (first / "course_lib" / "dropout.py").stat().st_mtime_ns == stamp
    edited = tmp_path / "edited.py"
    edited.write_text("x = 1\n")
    sources = grading_copy._sources()
    monkeypatch.setattr(grading_copy, "_sources", lambda: [*sources, ("extra.py", edited)])
    version = grading_copy.course_version()
    edited.write_text("x = 2\n")
    assert grading_copy.course_version() != version
    assert [path.name for path in tmp_path.iterdir()].count(first.parent.name) == 1


def test_copies_are_readable_by_other_users_and_hold_compiled_modules(copies):
    copy = copies["05_variants"]
    assert list((copy / "course_lib" / "__pycache__").glob("*.pyc"))
    for path in copy.rglob("*"):
        assert path.stat().st_mode & 0o004, path


# Run inside a grading copy: every function left in course_lib and in the kernel side of the
# grader, offered to each exercise's probe as if a student had handed it in.
EVERY_FUNCTION = textwrap.dedent("""
    import importlib, inspect, json, pkgutil, signal, sys, warnings
    import autograder, course_lib
    from autograder import exercises, wire
    warnings.simplefilter("ignore")
    def out_of_time(*args):
        raise TimeoutError
    signal.signal(signal.SIGALRM, out_of_time)
    candidates = []
    for package in (course_lib, autograder):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if inspect.isfunction(value) and value.__module__ == info.name \\
                        and not name.startswith(("draw_", "main")):
                    candidates.append((f"{info.name}.{name}", value))
    observed = []
    for exercise in json.loads(sys.argv[1]):
        probe = exercises.get(exercise).probe
        for label, function in candidates:
            signal.alarm(5)
            try:
                observed.append([exercise, label, wire.encode(probe(function, 7, False))])
            except BaseException:
                pass
            finally:
                signal.alarm(0)
    print(json.dumps({"candidates": len(candidates), "observed": observed}))
""")


@pytest.mark.parametrize("name", [name for name in NOTEBOOKS if exercises.of_notebook(name)])
def test_no_function_left_in_the_grading_copy_passes_an_exercise(name, copies):
    copy = copies[name]
    names = [exercise.name for exercise in exercises.of_notebook(name)]
    run = subprocess.run(
        [sys.executable, "-c", EVERY_FUNCTION, json.dumps(names)],
        capture_output=True,
        text=True,
        cwd=copy,
        env=dict(os.environ, PYTHONPATH=str(copy), MPLBACKEND="Agg"),
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["candidates"] > 200
    passing, failures = [], set()
    for exercise, label, encoded in report["observed"]:
        verdict = exercises.get(exercise).verdict
        assert verdict is not None  # only the grading kernel's copy lacks verdicts
        try:
            verdict(wire.decode(encoded), 7, False)
        except Exception as error:
            failures.add(type(error))
            continue
        passing.append((exercise, label))
    assert passing == []
    # the verdicts really judged: a failure of the test's own code would fail every candidate
    assert any(issubclass(error, CheckFailure) for error in failures) or not report["observed"]
