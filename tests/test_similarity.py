"""`python -m autograder similarity`: copies stand out among honest, independently written work.

The honest solutions are generated. Each one combines choices that change a program's structure
(how the argument is checked and where, how the mask is drawn and applied, the dtype, the cache;
for the binomial exercise the checks, their order and the formula), each student's combination
differing from every other student's in at least MIN_DIFFERENT of them, plus choices that do not
(names, comments, ``1 - p`` or ``1.0 - p``), which the similarity report has to see through.
"""

import inspect
import itertools
import json
import math
import random
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import course_lib.dropout
from autograder import cli, exercises, similarity
from autograder.grading import GradingError
from grading_helpers import ROOT, solution_sources, submission, write

NB03, FORWARD = "03_inverted_dropout", "dropout_forward_solution"
NB02, PROB = "02_bernoulli_binomial", "prob_exactly_dropped_solution"
N_HONEST = 20
MIN_DIFFERENT = 3


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return [("    " * depth + line) if line else line for line in lines]


def _pick(options, choice: int):
    return options[choice % len(options)]


CHECKS = [  # of p_drop, as students write it; the last one checks keep_prob instead
    lambda keep: [
        "if not 0 <= p_drop < 1:",
        "    raise ValueError(f'p_drop must be in [0, 1), got {p_drop}')",
    ],
    lambda keep: ["if p_drop < 0 or p_drop >= 1:", "    raise ValueError('p_drop out of range')"],
    lambda keep: [
        "if not (0.0 <= p_drop < 1.0):",
        "    raise ValueError('invalid dropout probability: ' + str(p_drop))",
    ],
    lambda keep: [
        f"{keep} = 1 - p_drop",
        f"if {keep} <= 0 or {keep} > 1:",
        '    raise ValueError("p_drop has to lie in [0, 1)")',
    ],
]
COMMENTS = [
    "# inverted dropout: scale at training time",
    "# units survive with keep_prob",
    "# expectation of the output equals x",
    "",
    "# see the lecture notes",
    "# TODO tidy",
]


# --- honest dropout_forward -------------------------------------------------------------------

FORWARD_NAMES = {
    "keep": ["keep_prob", "keep", "q", "retain", "p_keep"],
    "mask": ["mask", "keep_mask", "m", "kept", "bern"],
    "out": ["out", "y", "result", "dropped", "output"],
}
# how many ways each structural choice can go
FORWARD_STRUCTURE = {
    "check": 4,
    "check_first": 2,
    "inference": 3,
    "draw": 4,
    "apply": 4,
    "dtype": 3,
    "cache": 3,
}


def _forward_mask(style: int, keep: str, mask: str) -> list[str]:
    return [
        [f"{mask} = rng.random(x.shape) < {keep}"],
        [f"{mask} = rng.binomial(1, {keep}, size=x.shape).astype(bool)"],
        [f"{mask} = rng.uniform(size=x.shape) >= p_drop"],
        ["draws = rng.uniform(0.0, 1.0, x.shape)", f"{mask} = draws < {keep}"],
    ][style]


def _forward_apply(style: int, keep: str, mask: str, out: str) -> list[str]:
    return [
        [f"{out} = x * {mask} / {keep}"],
        [f"{out} = np.where({mask}, x / {keep}, 0.0)"],
        [f"{out} = np.zeros_like(x)", f"{out}[{mask}] = x[{mask}] / {keep}"],
        [
            f"{out} = np.empty_like(x)",
            "for i, value in enumerate(x.flat):",
            f"    {out}.flat[i] = value / {keep} if {mask}.flat[i] else 0.0",
        ],
    ][style]


def honest_forward(choice: dict, style: int) -> str:
    """One student's dropout_forward: ``choice`` of every key of FORWARD_STRUCTURE, ``style``
    their names and comments."""
    keep, mask, out = (
        _pick(FORWARD_NAMES[key], style + shift)
        for shift, key in enumerate(("keep", "mask", "out"))
    )
    checking = CHECKS[choice["check"]](keep)
    keeping = (
        []
        if choice["check"] == 3
        else [_pick([f"{keep} = 1 - p_drop", f"{keep} = 1.0 - p_drop"], style)]
    )
    result = [out, f"{out}.astype(x.dtype)", out][choice["dtype"]]
    converting = [[], [], [f"{out} = np.asarray({out}, dtype=x.dtype)"]][choice["dtype"]]
    cached = [mask, f"({mask}, {keep})", f"{mask} / {keep}"][choice["cache"]]
    note = _pick(COMMENTS, style)
    training = (
        keeping
        + ([note] if note else [])
        + _forward_mask(choice["draw"], keep, mask)
        + _forward_apply(choice["apply"], keep, mask, out)
        + converting
        + [f"return {result}, {cached}"]
    )
    if choice["inference"] == 2:
        body = [
            *checking,
            "if training:",
            *_indent(training),
            "else:",
            "    return np.array(x), None",
        ]
    else:
        condition = ["not training", "not training or p_drop == 0"][choice["inference"]]
        inference = [f"if {condition}:", "    return x.copy(), None"]
        first, second = (
            (checking, inference)
            if choice["check_first"] or choice["check"] == 3
            else (inference, checking)
        )
        body = first + second + training
    return (
        "\n".join(["def dropout_forward(x, p_drop, *, rng, training=True):", *_indent(body)]) + "\n"
    )


# --- honest prob_exactly_dropped --------------------------------------------------------------

PROB_STRUCTURE = {"n_check": 3, "p_check": 3, "k_range": 3, "order": 3, "formula": 4, "zero": 3}
PROB_N_CHECKS = [
    ["if n < 0:", "    raise ValueError(f'n must be >= 0, got {n}')"],
    ["if not isinstance(n, int) or n < 0:", "    raise ValueError('n: a count')"],
    ["if n < 0 or int(n) != n:", '    raise ValueError("bad n")'],
]
PROB_K_RANGES = [
    ["if k < 0 or k > n:", "    return 0.0"],
    ["if not 0 <= k <= n:", "    return 0.0"],
    ["if k not in range(n + 1):", "    return 0.0"],
]
PROB_FORMULAS = [
    ["from scipy.stats import binom", "return float(binom.pmf(k, n, p_drop))"],
    [
        "return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)",
        "                + k * math.log(p_drop) + (n - k) * math.log(1 - p_drop))",
    ],
    [
        "from scipy.special import gammaln, xlog1py, xlogy",
        "log_pmf = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)",
        "log_pmf += xlogy(k, p_drop) + xlog1py(n - k, -p_drop)",
        "return float(np.exp(log_pmf))",
    ],
    [
        "total = 0.0",
        "for i in range(k):",
        "    total += math.log(n - i) - math.log(i + 1) + math.log(p_drop)",
        "total += (n - k) * math.log(1 - p_drop)",
        "return math.exp(total)",
    ],
]
PROB_ZERO = [  # p_drop == 0 breaks the logarithms of formulas 1 and 3
    ["if p_drop == 0:", "    return 1.0 if k == 0 else 0.0"],
    ["if p_drop == 0.0:", "    if k == 0:", "        return 1.0", "    return 0.0"],
    ["if p_drop == 0 and k > 0:", "    return 0.0", "if p_drop == 0:", "    return 1.0"],
]


def honest_prob(choice: dict, style: int) -> str:
    """One student's prob_exactly_dropped: ``choice`` of every key of PROB_STRUCTURE."""
    checks = [
        PROB_N_CHECKS[choice["n_check"]],
        CHECKS[choice["p_check"]]("keep"),
        PROB_K_RANGES[choice["k_range"]],
    ]
    order = [(0, 1, 2), (1, 0, 2), (0, 2, 1)][choice["order"]]
    body = [line for i in order for line in checks[i]]
    note = _pick(COMMENTS, style)
    body += [note] if note else []
    body += PROB_ZERO[choice["zero"]] if choice["formula"] in (1, 3) else []
    body += PROB_FORMULAS[choice["formula"]]
    return "\n".join(["def prob_exactly_dropped(n, k, p_drop):", *_indent(body)]) + "\n"


# --- the class --------------------------------------------------------------------------------


def _forward_canonical(choice: dict) -> dict:
    """The same choices, with those that do not change the program set to 0."""
    irrelevant = choice["check"] == 3 or choice["inference"] == 2
    return {**choice, "check_first": 0} if irrelevant else choice


def _prob_canonical(choice: dict) -> dict:
    return choice if choice["formula"] in (1, 3) else {**choice, "zero": 0}


# exercise: (program of a choice and a style, number of ways of each choice, canonical choice)
VARIANTS = {
    "dropout_forward": (honest_forward, FORWARD_STRUCTURE, _forward_canonical),
    "prob_exactly_dropped": (honest_prob, PROB_STRUCTURE, _prob_canonical),
}


def honest_class(exercise: str, seed: int = 2026) -> list[str]:
    """N_HONEST programs whose structural choices differ pairwise in MIN_DIFFERENT or more."""
    make, structure, canonical = VARIANTS[exercise]
    combinations = {
        tuple(canonical(dict(zip(structure, combination))).values())
        for combination in itertools.product(*(range(n) for n in structure.values()))
    }
    combinations = sorted(combinations)
    random.Random(seed).shuffle(combinations)
    chosen = []
    for combination in combinations:
        if all(
            sum(a != b for a, b in zip(combination, other)) >= MIN_DIFFERENT for other in chosen
        ):
            chosen.append(combination)
    assert len(chosen) >= N_HONEST
    return [
        make(dict(zip(structure, combination)), style)
        for style, combination in enumerate(chosen[:N_HONEST])
    ]


def renamed(source: str, names: dict[str, str]) -> str:
    return re.sub(r"\b\w+\b", lambda word: names.get(word.group(), word.group()), source)


def copied_reference() -> str:
    """course_lib's dropout_forward, every name renamed (but the function's and the keyword
    arguments', which the checks call by name), a docstring, comments and a line of one's own."""
    source = inspect.getsource(course_lib.dropout.dropout_forward)
    source = re.sub(r'""".*?"""', '"""My dropout layer (forward)."""', source, flags=re.S)
    source = renamed(
        source,
        {
            "x": "inputs",
            "p_drop": "rate",
            "np": "numpy",
            "ndarray": "Array",
            "float": "Real",
            "random": "rand",
            "Generator": "Gen",
            "bool": "Flag",
            "tuple": "Pair",
            "DropoutCache": "Saved",
            "check_float_array": "as_floats",
            "check_p_drop": "valid_rate",
            "check_rng": "valid_gen",
            "copy": "clone",
            "mask": "keep_mask",
            "scale": "factor",
            "sample_mask": "draw_mask",
            "shape": "dims",
            "_masked": "apply_mask",
        },
    )
    lines = source.splitlines()
    lines[3:3] = [
        "    # validate everything first",
        "    if inputs.size == 0:",
        "        return inputs.clone(), None",
    ]
    lines.insert(-1, "    # scale the survivors so that the mean is unchanged")
    return "\n".join(lines) + "\n"


def copied_classmate(source: str, names: dict[str, str]) -> str:
    """A classmate's cell with names changed, blank lines, comments and a line of one's own."""
    lines = renamed(source, names | {"i": "index", "value": "v", "draws": "u"}).splitlines()
    lines.insert(1, "    print('debug', p_drop)")
    disguised = []
    for number, line in enumerate(lines):
        disguised.append(line)
        if number % 3 == 1:
            disguised += ["", "    # my own work"]
    return "\n".join(disguised) + "\n"


def copied_prob_solution() -> str:
    """The instructor's solution, leaked, with new names, comments and a line of one's own."""
    source = solution_sources(NB02)[PROB]
    source = re.sub(r'""".*?"""', '"""Binomial pmf."""', source, flags=re.S)
    source = re.sub(r" *### .*\n?", "", source)
    source = source.replace("    if not 0 <= k", "    k = int(k)\n    if not 0 <= k")
    return (
        renamed(
            source, {"log_comb": "lc", "log_prob": "lp", "n": "units", "k": "n_off", "math": "m"}
        )
        + "    # log space avoids overflow\n"
    )


def write_class(root, notebook: str, grade_id: str, cells: dict[str, str]) -> None:
    for student, source in cells.items():
        write(submission(notebook, {grade_id: source}), root / student / f"{notebook}.ipynb")


def report(root, out, **options):
    summary = similarity.similarity_report(root, out, **options)
    return summary, json.loads((out / "similarity.json").read_text())


def ranking_class(root, notebook, grade_id, exercise, reference_copy, renames):
    """N_HONEST honest students, one who copied honest07 and one who copied the reference."""
    cells = {f"honest{i:02d}": source for i, source in enumerate(honest_class(exercise))}
    cells["copier"] = copied_classmate(cells["honest07"], renames)
    cells["ref_copier"] = reference_copy
    write_class(root, notebook, grade_id, cells)
    return cells


# the copier gives every variable of the generated programs a name of their own
FORWARD_RENAMES = {
    name: new for names, new in zip(FORWARD_NAMES.values(), ("kp", "bits", "res")) for name in names
}


@pytest.fixture(scope="module")
def forward_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("forward")
    cells = ranking_class(
        root / "submissions", NB03, FORWARD, "dropout_forward", copied_reference(), FORWARD_RENAMES
    )
    return cells, *report(root / "submissions", root / "out")


@pytest.fixture(scope="module")
def prob_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("prob")
    cells = ranking_class(
        root / "submissions",
        NB02,
        PROB,
        "prob_exactly_dropped",
        copied_prob_solution(),
        {"total": "acc", "log_pmf": "lp", "n": "num"},
    )
    return cells, *report(root / "submissions", root / "out")


# --- the generated programs are honest, correct and different ---------------------------------


def _defined(source: str, name: str) -> Callable:
    namespace: dict[str, Any] = {"np": np, "math": math}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("name", VARIANTS)
def test_honest_solutions_are_different_programs_and_some_pass_the_checks(name):
    programs = honest_class(name)
    assert len(set(programs)) == N_HONEST
    # a sample, to stay fast: all 40 pass the self-checks and the hidden checks (6 s)
    for source in programs[::6]:
        exercises.run(name, _defined(source, name), seed=3, hidden=False)


# --- ranking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture,label", [("forward_class", "dropout_forward"), ("prob_class", "prob_exactly_dropped")]
)
def test_copies_rank_first_among_honest_solutions(fixture, label, request):
    _, _, pairs = request.getfixturevalue(fixture)
    ranked = [pair for pair in pairs if pair["exercise"] == label]
    top = [{pair["a"], pair["b"]} for pair in ranked[:2]]
    assert sorted(top, key=sorted) == sorted(
        [{"ref_copier", "reference"}, {"copier", "honest07"}], key=sorted
    ), ranked[:4]
    honest = [
        pair["score"]
        for pair in ranked
        if pair["a"].startswith("honest") and pair["b"].startswith("honest")
    ]
    assert max(honest) < min(pair["score"] for pair in ranked[:2])
    assert ranked[1]["score"] > similarity.THRESHOLD


def test_every_pair_once_sorted_by_score(forward_class):
    cells, _, pairs = forward_class
    n = len(cells)
    solution_cells = len(solution_sources(NB03))
    assert len(pairs) == solution_cells * (n * (n - 1) // 2 + n)
    assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)
    for pair in pairs:
        assert set(pair) == {"exercise", "a", "b", "score"}
        assert 0.0 <= pair["score"] <= 1.0
    student_pairs = {
        frozenset((p["a"], p["b"])) for p in pairs if p["exercise"] == "dropout_forward"
    }
    assert len(student_pairs) == n * (n - 1) // 2 + n
    assert sum(p["b"] == "reference" for p in pairs) == solution_cells * n


def test_given_code_alone_scores_zero(tmp_path):
    for student in ("s1", "s2", "s3"):
        write(submission(NB03), tmp_path / "subs" / student / f"{NB03}.ipynb")
    summary, pairs = report(tmp_path / "subs", tmp_path / "out")
    # per solution cell: the 3 pairs of students, and each student against the reference
    assert len(pairs) == len(solution_sources(NB03)) * (3 + 3)
    assert all(pair["score"] == 0.0 for pair in pairs)
    assert "0 above" in summary


def test_cell_without_code_of_its_own_scores_zero_against_a_full_solution(tmp_path):
    full = solution_sources(NB03)[FORWARD]
    write(submission(NB03, {FORWARD: full}), tmp_path / "subs" / "full" / f"{NB03}.ipynb")
    write(submission(NB03), tmp_path / "subs" / "blank" / f"{NB03}.ipynb")
    _, pairs = report(tmp_path / "subs", tmp_path / "out")
    scores = {(p["exercise"], p["a"], p["b"]): p["score"] for p in pairs}
    assert scores[("dropout_forward", "blank", "full")] == 0.0
    assert scores[("dropout_forward", "blank", "reference")] == 0.0
    assert scores[("dropout_forward", "full", "reference")] == 1.0


def test_html_escapes_code_and_marks_the_shared_regions(tmp_path):
    forward = honest_forward(dict.fromkeys(FORWARD_STRUCTURE, 0), 0)
    hostile = forward + "    # </pre><script>alert(1)</script>\n"
    write_class(tmp_path / "subs", NB03, FORWARD, {"<em>one": hostile, "two": forward})
    summary, pairs = report(tmp_path / "subs", tmp_path / "out")
    assert "1 above" in summary
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page
    assert "<em>" not in page and "&lt;em&gt;one" in page
    assert "never changes a score" in page and f"{len(pairs)} pairs compared" in page
    marked = re.findall(r"<pre>.*?</pre>", page, flags=re.S)
    assert len(marked) == 2 and all("<mark>" in column for column in marked)
    assert all(
        "rng.random(x.shape)" in "".join(re.findall(r"<mark>(.*?)</mark>", column, re.S))
        for column in marked
    )


def test_threshold_decides_what_the_html_shows(tmp_path):
    forward = solution_sources(NB03)[FORWARD]
    write_class(tmp_path / "subs", NB03, FORWARD, {"a": forward, "b": forward})
    summary, _ = report(tmp_path / "subs", tmp_path / "out", threshold=1.0)
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "<pre>" not in page and "No pair is above the threshold" in page
    assert "0 above 1" in summary


def test_two_stubs_replaced_by_pass_do_not_look_copied(tmp_path):
    lazy = solution_sources(NB03)[FORWARD].split("### BEGIN SOLUTION")[0] + "    pass\n"
    write_class(tmp_path / "subs", NB03, FORWARD, {"a": lazy, "b": lazy})
    _, pairs = report(tmp_path / "subs", tmp_path / "out")
    assert all(pair["score"] < 0.5 for pair in pairs)


def test_a_file_that_is_not_a_notebook_is_skipped(tmp_path):
    write(submission(NB03, correct=True), tmp_path / "subs" / "good" / f"{NB03}.ipynb")
    (tmp_path / "subs" / "bad").mkdir()
    (tmp_path / "subs" / "bad" / f"{NB03}.ipynb").write_text("this is not a notebook")
    (tmp_path / "subs" / "good" / "notes.ipynb").write_text("not an assignment")
    summary, pairs = report(tmp_path / "subs", tmp_path / "out")
    assert {p["a"] for p in pairs} == {"good"}
    assert "1 file skipped (not a notebook)" in summary


def test_submissions_must_be_a_folder(tmp_path):
    with pytest.raises(GradingError):
        similarity.similarity_report(tmp_path / "missing", tmp_path / "out")


# --- tokens -----------------------------------------------------------------------------------


def test_renaming_comments_and_docstrings_leave_the_tokens_unchanged():
    original = "def f(a, b):\n    c = a + 2 * b  # sum\n    return c\n"
    disguised = 'def g(x, y):\n    """Doc."""\n\n    # new\n    z = x + 3 * y\n    return z\n'
    symbols = [[token.symbol for token in similarity.tokens(s)] for s in (original, disguised)]
    assert symbols[0] == symbols[1]


@pytest.mark.parametrize(
    "broken",
    [
        "def f(:\n    x = (1,\n",
        "def f():\n        x = 1\n    y = 2\nz = 3\n",
        'x = """never closed\ny = 2\n',
        "%timeit f(x)\n!ls\n",
        "\x00 $ ? `",
        "",
    ],
)
def test_cells_that_do_not_tokenize_fall_back_to_what_does(broken):
    found = similarity.tokens(broken)
    assert all(broken[t.start : t.end] or t.symbol in ("NEWLINE", "DEDENT") for t in found)


@given(st.text(max_size=200))
def test_fingerprinting_never_raises(text):
    cell = similarity.fingerprint(text)
    assert all(0 <= start <= end <= len(text) for start, end in cell.spans)


def test_a_long_enough_shared_run_is_always_found():
    # winnowing's guarantee: a shared run of WINDOW + K - 1 tokens shares a fingerprint
    rng = random.Random(5)
    for _ in range(50):
        shared = " ".join(
            rng.choice(["a", "+", "(", ")", "1", "*", "b", ","])
            for _ in range(similarity.WINDOW + similarity.K - 1)
        )
        a = similarity.fingerprint(f"x = [{rng.random()}, {shared}]\n")
        b = similarity.fingerprint(f"if y:\n    {shared}\n")
        assert a.prints.keys() & b.prints.keys()


# --- command line -----------------------------------------------------------------------------


def test_command_line_writes_both_reports(tmp_path):
    write(submission(NB03, correct=True), tmp_path / "subs" / "s1" / f"{NB03}.ipynb")
    write(submission(NB03, correct=True), tmp_path / "subs" / "s2" / f"{NB03}.ipynb")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "similarity",
            str(tmp_path / "subs"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("similarity: ") and len(result.stdout.splitlines()) == 1
    assert json.loads((tmp_path / "out" / "similarity.json").read_text())[0]["score"] == 1.0
    assert "<mark>" in (tmp_path / "out" / "similarity.html").read_text()


def test_command_line_refuses_a_submissions_path_that_is_no_folder(tmp_path, capsys):
    assert cli.main(["similarity", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("autograder: ") and len(error.splitlines()) == 1


def test_reference_of_notebook_04_holds_both_functions():
    cell = solution_sources("04_backprop")["dropout_backward_solution"]
    source = similarity.reference_source("04_backprop", cell)
    assert "course_lib.dropout.dropout_backward" in source
    assert "course_lib.dropout.dropout_forward" in source
    assert textwrap.dedent(inspect.getsource(course_lib.dropout.dropout_forward)) in source
