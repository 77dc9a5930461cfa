"""What the notebooks tell students: no words that only the course's authors can read, and the
facts about papers and frameworks that can be checked as strings (citations, attributions,
conventions). Every number the prose quotes is accounted for in test_quoted_figures.py (a ledger
per notebook: tied to the code or recorded file that produces it, or exempted for a fixed reason);
some are also checked in context by each notebook's lesson tests."""

import json
import re
from pathlib import Path

import pytest

from autograder import build
from course_lib.lessons import nb07_capstone

ROOT = Path(__file__).resolve().parents[1]

# Names of documents a student never sees: the texts the course was written from, and the
# authors' own notes.
INTERNAL_WORDS = re.compile(
    r"\b(seed|source) texts?\b|\bfield[- ]notes?\b|\bcourse notes\b|\bcourse spec", re.IGNORECASE
)


def _flat(text: str) -> str:
    """Text with the ``# `` of a percent-format source removed and all whitespace one space, so
    that a phrase broken over two lines is still found."""
    return re.sub(r"\s+", " ", re.sub(r"(?m)^\s*# ?", "", text))


def _notebook_text(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return " ".join(re.sub(r"\s+", " ", "".join(cell["source"])) for cell in cells)


def source(name: str) -> str:
    """The flattened text of notebook ``name``'s source, e.g. ``source("05")``."""
    (path,) = build.SOURCES.glob(f"{name}_*.py")
    return _flat(path.read_text())


def _student_texts() -> dict[str, str]:
    texts = {}
    for name in build.names():
        texts[f"src/{name}.py"] = _flat((build.SOURCES / f"{name}.py").read_text())
        for built in (build.INSTRUCTOR / name / f"{name}.ipynb", build.STUDENT / f"{name}.ipynb"):
            texts[str(built.relative_to(ROOT))] = _notebook_text(built)
    for readme in (ROOT / "README.md", ROOT / "notebooks" / "README.md"):
        texts[str(readme.relative_to(ROOT))] = _flat(readme.read_text())
    for module in sorted((ROOT / "course_lib").rglob("*.py")):
        texts[str(module.relative_to(ROOT))] = _flat(module.read_text())
    return texts


@pytest.mark.parametrize("where, text", sorted(_student_texts().items()))
def test_no_words_that_only_the_authors_understand(where, text):
    found = sorted({match.group(0) for match in INTERNAL_WORDS.finditer(text)})
    assert not found, f"{where} names documents students do not have: {found}"


def test_the_internal_words_pattern_catches_a_phrase_broken_over_lines():
    assert INTERNAL_WORDS.search(_flat("# The seed\n# texts say rows"))
    assert INTERNAL_WORDS.search(_flat("# of the course's field\n# notes"))
    assert not INTERNAL_WORDS.search(_flat("# a seed splits into three streams"))


# --- notebook 01 and 03: where the per-layer rates come from -------------------------------------


@pytest.mark.parametrize("name", ["01", "03"])
def test_the_3_7_7_3_2_1_rates_are_given_as_the_notes_give_them(name):
    text = source(name)
    assert "keep_prob` = [1.0, 0.5, 0.7, 0.7, 1.0]" in text
    assert "*outputs*" in text or "**outputs**" in text
    if name == "03":
        assert "p_drop=[0.0, 0.0, 0.5, 0.3, 0.3]" in text  # the notes' rates, MLP's layout
        assert "p_drop=[0.0, 0.5, 0.3, 0.0, 0.0]" in text  # the course's


def test_notebook_01_quotes_the_recorded_capstone_numbers_for_larger_networks():
    numbers = nb07_capstone.key_numbers(nb07_capstone.load_results())
    text = source("01")
    pair = f"{numbers['size_300_none']} test error without dropout to {numbers['size_300_dropout']}"
    assert pair in text
    assert f"(means of {numbers['n_seeds']}). Paired by seed, dropout is better by" in text
    assert f"better by {numbers['size_300_gain']}." in text


def test_dropout_is_traced_to_hinton_et_al_2012():
    text = source("01")
    assert "Hinton et al. (2012)" in text
    assert "Improving neural networks by preventing co-adaptation of feature detectors" in text
    for name in ("01", "06"):  # the geometric-mean result
        assert re.search(r"geometric mean.{0,300}Hinton et al\.? \(?2012", source(name))


def test_l1_zeros_come_from_proximal_steps_not_subgradients():
    text = source("01")
    assert "soft-thresholding" in text and "(sub)gradient" in text


# --- notebook 02: conventions --------------------------------------------------------------------


def test_notebook_02_warns_about_tensorflows_second_positional_argument():
    text = source("02")
    assert "tf.nn.dropout(x, 0.8)" in text
    assert re.search(r"`keep_prob` in TensorFlow 1 and `rate` in TensorFlow 2", text)
    assert "1.13 to 1.15" in text
    assert "tf.nn.dropout(input_tensor, 1.0 - dropout_prob)" in text


# --- notebook 03: frameworks ---------------------------------------------------------------------


def test_jax_dropout_is_flax_and_haiku():
    text = source("03")
    assert "flax.linen.Dropout" in text and "hk.dropout" in text
    assert "JAX's core library has no dropout layer" in text


# --- notebook 05: the variants -------------------------------------------------------------------


def test_notebook_05_attributes_the_keep_probability_letters():
    convention = source("05").split("## 1.")[0]
    assert "Klambauer et al. (2017) write it $q$" in convention


def test_per_weight_noise_variances_are_molchanov_not_kingma():
    text = source("05")
    assert "Molchanov et al. (2017" in text
    checked = 0
    for match in re.finditer(r"per weight", text):
        before = text[max(0, match.start() - 300) : match.start()]
        authors = re.findall(r"Kingma|Molchanov", before)
        if authors:
            checked += 1
            assert authors[-1] == "Molchanov", f"per weight attributed to Kingma: {before[-120:]}"
    assert checked, "no learned per-weight variance mentioned"


def test_stochastic_depth_is_per_mini_batch_and_droppath_per_sample():
    text = source("05")
    huang = text.index("**Stochastic depth** (Huang et al. 2016)")
    assert "**mini-batch**" in text[huang : huang + 120]
    droppath = text.index("**DropPath** drops a block for one **sample**")
    assert "(N, 1, 1, 1)" in text[droppath : droppath + 120]
    assert 'mode="row"' in text and 'mode="batch"' in text
    assert "saves no compute" in text
    assert "$p_\\ell$ for the **survival** probability" in text


def test_dropconnect_compares_with_dropout_on_outputs_as_wan_et_al_do():
    text = source("05")
    assert "$r = m \\odot a(Wv)$" in text
    outputs = text.index("dropout on a layer's **outputs**")
    assert "**row** $i$ of their $W$" in text[outputs : outputs + 400]
    assert "a **column** of that layer's matrix in the $Wv$ layout" in text


def test_svhn_rates_are_section_6_1_2s():
    text = source("05")
    assert "0.9, 0.75, 0.75, 0.5, 0.5, 0.5" in text
    assert "0.5 in the third and in both fully connected layers" in text


def test_bert_was_pretrained_for_about_40_epochs():
    text = source("05")
    assert "about 40 passes over its 3.3 billion words" in text
    assert "about once" not in text


def test_targeted_dropouts_inference_prunes_the_candidates():
    (path,) = build.SOURCES.glob("05_*.py")
    (row,) = re.findall(r"^# \| targeted dropout \|.*$", path.read_text(), re.MULTILINE)
    header = "variant | what is dropped | noise law | scale in training | inference"
    assert header in source("05")
    inference = row.split("|")[5]
    assert "pruned" in inference and "identity" not in inference


# --- notebook 06: MC dropout in a framework ------------------------------------------------------


def test_mc_dropout_in_pytorch_switches_on_only_the_dropout_modules():
    text = source("06")
    assert "do not turn dropout back on with `model.train()`" in text
    assert "BatchNorm" in text[text.index("`model.train()`") :][:300]
    assert "model.eval()" in text and "module.train()" in text


# --- notebook 07: the paper's claims -------------------------------------------------------------


def test_the_training_time_sentence_is_cited_from_section_11():
    text = source("07")
    (section,) = re.findall(r"§(\d+)[^|]*\"typically takes 2–3 times longer to train\"", text)
    assert section == "11"


def test_table_9_is_described_as_it_is():
    text = source("07")
    assert "the same six families" not in text
    assert "L2 + L1" in text and "KL-sparsity" in text
    assert "Table 9 (MNIST only)" in text


def test_notebooks_01_and_07_state_the_one_rule_for_significantly_worse_in_the_same_words():
    """Both exercises that choose a rate are judged by course_lib.experiments.rates_not_worse;
    both notebooks state that rule word for word as NOT_WORSE_RULE says it."""
    from course_lib.experiments import NOT_WORSE_RULE

    for name in ("01", "07"):
        assert NOT_WORSE_RULE in source(name), name
        assert "paired t-test at the 5% level" not in source(name)  # the old, two-sided wording
