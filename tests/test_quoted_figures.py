"""Every figure quoted in the notebooks' prose is tied to the code or recorded file that produces
it, or exempted for one of a few reasons that are not measurements (tests/quoted_figures.py says
what a figure is; tests/figure_ledgers/ holds one ledger per notebook). Fast: the ties read the
recorded results files and compute cheap things; nothing trains."""

import importlib

import pytest

import quoted_figures as qf
from autograder import build

NAMES = build.names()


def _ledger(name: str):
    return importlib.import_module(f"figure_ledgers.nb{name[:2]}").LEDGER


@pytest.mark.parametrize("name", NAMES)
def test_every_quoted_figure_is_in_the_ledger(name):
    cells = qf.notebook_cells(build.SOURCES / f"{name}.py")
    problems = qf.audit(name, cells, _ledger(name))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_changing_any_quoted_figure_of_a_notebook_fails(name):
    """Every figure of the notebook, one at a time, with one digit changed: the audit must
    object, whether the figure was tied (the code gives another number) or exempted (the
    phrase no longer matches)."""
    cells = qf.notebook_cells(build.SOURCES / f"{name}.py")
    ledger = _ledger(name)
    for figure in qf.figures(cells):
        where = figure.digits()[-1]
        text = cells[figure.cell].text
        changed = text[:where] + str((int(text[where]) + 1) % 10) + text[where + 1 :]
        edited = list(cells)
        edited[figure.cell] = qf.Cell("markdown", changed)
        assert qf.audit(name, edited, ledger), f"{name}: {figure.text!r} changed unnoticed"


def test_there_is_a_ledger_for_every_notebook():
    assert len(NAMES) == 7
    for name in NAMES:
        assert _ledger(name), name


# --- the audit itself ------------------------------------------------------------------------


def _cells(*markdown: str, code: str = "") -> list[qf.Cell]:
    cells = [qf.Cell("markdown", " ".join(text.split())) for text in markdown]
    return [*cells, qf.Cell("code", code)]


def _numbers():
    return {"error": "2.05%", "gain": "0.67 pp", "seeds": "10"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("errs on 2.05% of the digits", ["2.05%"]),
        ("a p-value p = 0.003 and p < 0.001", ["0.003", "0.001"]),
        ("takes 2–3× longer, and 1.5x more", ["2–3×", "1.5x"]),
        ("between 481 to 543 units", ["481 to 543"]),
        ("in $[0, 1)$ and $(0.4, 0.8]$", ["[0, 1)", "(0.4, 0.8]"]),
        ("trained with 10 seeds for 150 epochs on 300 training digits", ["10", "150", "300"]),
        (
            "a 64-256-256-10 network, 1,797 images and 100 000 flips",
            ["64-256-256-10", "1,797", "100 000"],
        ),
        ("below $10^{-9}$ or 1e-7, $n = 1024$", ["10^{-9}", "1e-7", "1024"]),
        ("§6.1.2 of the paper, 95\\% of steps", ["6.1.2", "95\\%"]),
        ("section 3 of notebook 02 has two phases, float64 and W^{[1]}", []),
        ("lowest at epoch 27, the exact answer is 1071", ["27", "1071"]),
        ("Srivastava et al. (2014), §11, Table 9, section 12, notebook 07, 3 of 9", []),
    ],
)
def test_what_counts_as_a_figure(text, expected):
    assert [figure.text for figure in qf.figures(_cells(text))] == expected


def test_a_tied_and_an_exempted_figure_pass():
    cells = _cells(
        "Without dropout 2.05% with 10 seeds; Srivastava et al. (2014) report 1.25% there."
    )
    ledger = [
        qf.tie("Without dropout {error} with {seeds} seeds", _numbers),
        qf.exempt("Srivastava et al. (2014) report 1.25%", qf.CITED_NUMBER),
    ]
    assert qf.audit("00", cells, ledger) == []


def test_a_new_untied_figure_fails_and_names_notebook_figure_and_sentence():
    cells = _cells("Without dropout 2.05% with 10 seeds. It took 3.5× longer to train.")
    problems = qf.audit(
        "00_test", cells, [qf.tie("Without dropout {error} with {seeds}", _numbers)]
    )
    assert problems == [
        "00_test: the figure '3.5×' is not in the ledger, in: 'It took 3.5× longer to train.'"
    ]


def test_a_tie_fails_when_the_code_gives_another_number():
    cells = _cells("Without dropout 2.10% with 10 seeds.")
    stale, *untied = qf.audit(
        "00", cells, [qf.tie("Without dropout {error} with {seeds}", _numbers)]
    )
    assert "no longer in the prose" in stale and "'Without dropout 2.05% with 10'" in stale
    assert [problem.split(", in:")[0] for problem in untied] == [
        "00: the figure '2.10%' is not in the ledger",
        "00: the figure '10' is not in the ledger",
    ]


def test_a_stale_exemption_fails():
    cells = _cells("Nothing quoted here.")
    (problem,) = qf.audit("00", cells, [qf.exempt("a rate of 0.5 in the paper", qf.CITED_NUMBER)])
    assert "no longer in the prose" in problem


def test_a_repeated_sentence_needs_its_count():
    cells = _cells(
        "Keep 0.5 of the units, as the paper does.", "Keep 0.5 of the units, as the paper does."
    )
    entry = qf.exempt("Keep 0.5 of the units, as the paper", qf.CITED_NUMBER)
    problem, *untied = qf.audit("00", cells, [entry])
    assert "found 2 times, expected 1" in problem and len(untied) == 2
    twice = qf.exempt("Keep 0.5 of the units, as the paper", qf.CITED_NUMBER, times=2)
    assert qf.audit("00", cells, [twice]) == []


def test_two_entries_may_not_claim_one_figure():
    cells = _cells("Srivastava et al. report 1.25% there.")
    ledger = [
        qf.exempt("Srivastava et al. report 1.25%", qf.CITED_NUMBER),
        qf.exempt("report 1.25% there", qf.CITED_NUMBER),
    ]
    assert any("both claim" in problem for problem in qf.audit("00", cells, ledger))


def test_a_tie_covers_only_its_placeholders():
    cells = _cells("Without dropout 2.05% after 150 epochs.")
    problems = qf.audit("00", cells, [qf.tie("Without dropout {error} after 150 epochs", _numbers)])
    assert len(problems) == 1 and "'150'" in problems[0]


def test_an_example_must_be_in_a_code_cell_of_its_section():
    entry = qf.exempt("a layer of 1024 units at `p_drop = 0.5`", qf.EXAMPLE)
    shown = _cells("Take a layer of 1024 units at `p_drop = 0.5`.", code="f(1024, 0.5)")
    assert qf.audit("00", shown, [entry]) == []
    hidden = _cells("Take a layer of 1024 units at `p_drop = 0.5`.", code="f(1000, 0.5)")
    (problem,) = qf.audit("00", hidden, [entry])
    assert "'1024' is not in the code cells of its section" in problem
    first, other = _cells("Take a layer of 1024 units at `p_drop = 0.5`.", code="print(0.5)")
    later = [first, other, qf.Cell("markdown", "## 2. Next"), shown[-1]]
    assert len(qf.audit("00", later, [entry])) == 1


def test_an_exemption_must_hold_a_figure():
    cells = _cells("As Srivastava et al. (2014) say, dropout helps.")
    entry = qf.exempt("Srivastava et al. (2014) say", qf.CITED_YEAR)
    (problem,) = qf.audit("00", cells, [entry])
    assert problem.endswith("'Srivastava et al. (2014) say' holds no figure to exempt")


def test_an_exemption_is_a_phrase_not_a_bare_number():
    for phrase in ("0.5", "at 0.5", "1.96 σ"):
        with pytest.raises(ValueError, match="words around its number"):
            qf.exempt(phrase, qf.MATH)
    with pytest.raises(ValueError, match="reason must be one of"):
        qf.exempt("a rate of 0.5 because we like it", "taste")
    with pytest.raises(ValueError, match="placeholder"):
        qf.tie("a rate of 0.5", _numbers)
