"""Notebook 07's quoted figures: the capstone's record (``key_numbers``), its settings and the
data split; the paper's claims are exempted as cited."""

import inspect
import math
import re
from functools import cache

from sklearn.datasets import load_digits

from autograder import build
from course_lib import data, experiments
from course_lib.lessons import nb07_capstone as capstone
from quoted_figures import CITED_NUMBER, CITED_PLACE, EXAMPLE, TASK, exempt, tie


@cache
def numbers() -> dict[str, str]:
    results = capstone.load_results()
    found = dict(capstone.key_numbers(results))
    settings = capstone.settings_of(results)
    split = inspect.signature(data.load_digits_split).parameters
    images = load_digits().images  # pyright: ignore[reportAttributeAccessIssue]
    rates = list(settings.p_drops)
    sizes = list(settings.data_sizes)
    found.update(
        {
            "n_images": str(len(images)),
            "pixels": "{}×{}".format(*images.shape[1:]),
            "n_train": str(settings.n_train),
            "n_val": str(split["n_val"].default),
            "n_test": str(split["n_test"].default),
            "hidden": str(settings.hidden),
            "kept": str(settings.kept_units),
            "dropout": f"{settings.dropout:g}",
            "epochs": str(settings.epochs),
            "smoothing": str(settings.smoothing),
            "near_zero": f"{settings.near_zero:g}",
            "reg_n_train": str(settings.regularizer_n_train),
            "p_first": f"{rates[0]:g}",
            "p_last": f"{rates[-1]:g}",
            "p_before_last": f"{rates[-2]:g}",
            "width_last": str(round(settings.kept_units / (1 - rates[-1]))),
            "kept_last": str(round(settings.hidden * (1 - rates[-1]))),
            "size_first": str(sizes[0]),
            "size_second": str(sizes[1]),
            "size_before_last": str(sizes[-2]),
            "size_last": str(sizes[-1]),
            "size_200": str(sizes[2]),
            "size_500": str(sizes[4]),
            "size_list": " | ".join(map(str, sizes)),
            "steps": str(settings.steps),
            "epochs_first": str(settings.epochs_for(sizes[0])),
            "epochs_last": str(settings.epochs_for(sizes[-1])),
            "batch": str(experiments.BATCH_SIZE),
            "lr": f"{experiments.LR:g}",
            "seed_range": f"{settings.seeds[0]} to {settings.seeds[-1]}",
            "three": "3",  # the seeds of t_quantile_3_seeds (2 degrees of freedom)
            "confidence": f"{100 * capstone.CONFIDENCE:g}%",
            "quantile": f"{100 * (0.5 + capstone.CONFIDENCE / 2):g}%",
            "image_pp": f"{100 / split['n_test'].default:.1f}",
            "val_image_pp": f"{100 / split['n_val'].default:.2f}",
            "example_error": "2%",
            "example_p": "0.02",
            "example_q": "0.98",
            "example_sd": f"{100 * math.sqrt(0.02 * 0.98 / split['n_test'].default):.2f}",
            "threshold": "3%",  # key_numbers' default threshold, 0.03
        }
    )
    assert inspect.signature(capstone.key_numbers).parameters["threshold"].default == 0.03
    for name in ("fixed_n", "fixed_product"):
        defensible = found[f"{name}_defensible"].split(", ")
        found[f"{name}_span"] = f"{defensible[0]} to {defensible[-1]}"
        found[f"{name}_first"], found[f"{name}_last_rate"] = defensible[0], defensible[-1]
    # section 2's demonstration, as its code cell runs it
    source = (build.SOURCES / "07_capstone.py").read_text()
    (rates,) = re.findall(r"demo_rates = \[(.*)\]", source)
    demo = (
        r"demo = sweep_p_drop\(demo_rates, seed=0, n_train=\d+, hidden=\((\d+), \1\), epochs=(\d+)"
    )
    ((width, epochs),) = re.findall(demo, source)
    last = float(rates.split(",")[-1])
    found["demo_hidden"], found["demo_epochs"], found["demo_last"] = width, epochs, f"{last:g}"
    found["demo_kept"] = str(round(int(width) * (1 - last)))
    found["significance"] = f"{experiments.SIGNIFICANCE:g}"
    found["significance_percent"] = f"{100 * experiments.SIGNIFICANCE:g}%"
    return found


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    exempt("their \"$p = 0.5$ for hidden units, $0.8$ for inputs\" is our `p_drop = 0.5` and `0.2`", CITED_NUMBER),
    exempt("on MNIST (60 000 images) for hours", CITED_NUMBER),
    tie("scikit-learn's {pixels} digits ({n_images} images: {n_train} for training, {n_val} for validation, {n_test} for testing)", numbers),
    exempt("| §7.3: with $n$ fixed", CITED_PLACE),
    exempt("error is flat for $0.4 \\le p \\le 0.8$ and rises", CITED_NUMBER),
    tie("`p_drop` from {p_first} to {p_last} at $n = {hidden}$, and at `n * keep_prob` = {kept} |", numbers),
    exempt("| §7.4: on tiny data sets", CITED_PLACE),
    tie("| {size_first} to {size_last} training images, with and without `p_drop = {dropout}` |", numbers),
    exempt("| §7.2: dropout makes hidden", CITED_PLACE),
    exempt("Table 9: L2 1.62%, max-norm 1.35%, dropout + L2 1.25%, dropout + max-norm 1.05% |", CITED_NUMBER),
    tie("alone, on {reg_n_train} images", numbers),
    exempt("\"typically takes 2–3 times longer to train\"", CITED_NUMBER),
    tie("the same {n_seeds}, {seed_range}, so two", numbers),
    tie("One test image is {image_pp} percentage points (pp) of the {n_test}.", numbers),
    tie("At an error of {example_error} the binomial standard deviation of a test error is $\\sqrt{{{example_p} \\cdot {example_q} / {n_test}}} \\approx {example_sd}$ pp", numbers),
    tie("comes with its {confidence} t-interval", numbers),
    tie("$t$ is the {quantile} quantile", numbers),
    tie("With {n_seeds} ({df}) $t$ is {t_quantile}; with {three} seeds it would be {t_quantile_3_seeds}, not the normal law's {normal_quantile}.", numbers),
    tie("fit in {training_minutes} minutes of training", numbers),
    tie("epochs=epochs, lr={lr}, batch_size={batch}, rng", numbers),
    exempt("`MLP([64, *widths, 10], p_drop, rng=..., dtype=np.float32)`", TASK),
    tie("within 2 of the {n_test} test images per rate", numbers),
    exempt("(300 images, two layers of 64 units, 40 epochs: about a second)", EXAMPLE),
    tie("One seed and {n_test} test images", numbers),
    tie("below average {n_seeds} of bigger", numbers),
    tie("at `p_drop = {p_last}` only about {kept_last} of {hidden} units per layer are kept. With `n * keep_prob` fixed at {kept}, the layer grows as `p_drop` grows (the orange numbers: {kept} units at `p_drop = 0`, {width_last} at {p_last}), so the expected number of units at work stays {kept}.", numbers),
    tie("point `p_drop = {dropout}` ({hidden} units).", numbers),
    tie("{demo_hidden} units at `p_drop = {demo_last}` keep about {demo_kept} per layer and, in {demo_epochs} epochs", numbers),
    tie("Without dropout the {hidden}-unit network makes {fixed_n_p0} test errors.", numbers),
    tie("the rate at fixed $n$ is `p_drop = {fixed_n_val_best_p}`, whose test error, read once, is {fixed_n_val_best}: {fixed_n_gain} below no dropout", numbers),
    tie("At `p_drop = {p_last}` the error is {fixed_n_last}, {fixed_n_last_vs_p0} above no dropout.", numbers),
    tie("(final training error {train_error_0.8}, against {train_error_0.7} at {p_before_last})", numbers),
    tie("Chosen on the validation set, the rate is {fixed_product_val_best_p}, with a test error of {fixed_product_val_best}, {fixed_product_gain} below the {kept}-unit network without dropout, which makes {fixed_product_p0}; at `p_drop = {p_last}` ({width_last} units) the error is {fixed_product_last}, {n_vs_product_last} below", numbers),
    tie("fixed-$n$ rates {fixed_n_defensible} are not significantly worse than the best one (next section), nor are the fixed-$pn$ rates {fixed_product_defensible}.", numbers),
    exempt("The paper's fixed-$pn$ optimum near retain probability 0.6 (our `p_drop = 0.4`)", CITED_NUMBER),
    tie("errors are flat from {fixed_product_span}, with the lowest means at {fixed_product_test_best_p}.", numbers),
    tie("(on the test set, the lowest mean is at `p_drop = {fixed_n_test_best_p}`)", numbers),
    tie("So we choose on the {n_val} validation images", numbers),
    tie("mean over the last {smoothing} epochs (one validation image is {val_image_pp} pp, so one", numbers),
    tie("gives p < {significance}; every rate that is not significantly worse is a defensible choice. In code: `paired_comparison(val_errors[r], val_errors[lowest]).p_greater < {significance}`.", numbers),
    tie("sweep the defensible rates are {fixed_n_defensible}: the lowest", numbers),
    tie("validation error, `p_drop = {fixed_n_val_best_p}`. The", numbers),
    tie("The rates {fixed_n_defensible} are not significantly worse (one-sided paired t-tests at {significance_percent}), so", numbers),
    tie("Its test error, {fixed_n_val_best}, is", numbers),
    tie("(at `p_drop = {fixed_n_test_best_p}`) is the minimum", numbers),
    tie("underfits: at {p_last} the network no longer fits its training set (final training error {train_error_0.8}) and its test error, {fixed_n_last}, is", numbers),
    tie("keeps its error low ({fixed_product_last} at {p_last})", numbers),
    tie("any hidden rate from {fixed_n_span} was", numbers),
    tie("the same {steps} SGD steps of up to {batch} images (so {size_first} images get {epochs_first} epochs and {size_last} images get {epochs_last})", numbers),
    tie("(means of {n_seeds}): | training images | {size_list} |", numbers),
    tie("| no dropout | {size_50_none} | {size_100_none} | {size_200_none} | {size_300_none} | {size_500_none} | {size_1000_none} |", numbers),
    tie("| `p_drop = {dropout}` | {size_50_dropout} | {size_100_dropout} | {size_200_dropout} | {size_300_dropout} | {size_500_dropout} | {size_1000_dropout} |", numbers),
    tie("with {size_first} images (5 per class) {size_50_gain}, nothing measurable; with {size_second} images {size_100_gain}; with {size_200} {size_200_gain}; with {largest_gain_size} {size_300_gain}; with {size_500} {size_500_gain}; with {size_last} {size_1000_gain}.", numbers),
    tie("a gain of about a point from {size_second} to {size_before_last} images,", numbers),
    tie("largest at {largest_gain_size}, and smaller again at {size_last}: the gain at {largest_gain_size} exceeds the gain at {size_last} by {largest_gain_vs_last}.", numbers),
    tie("the whole curve fits within {size_last} because", numbers),
    tie("whether the gain peaks at {largest_gain_size} rather than", numbers),
    exempt("The paper's sizes went up to 50 000 MNIST images", CITED_NUMBER),
    tie("Between {size_second} and {size_before_last} images the gains", numbers),
    tie("why does dropout not help with {size_first} images", numbers),
    tie("With {size_first} images ({size_50_none} without, {size_50_dropout} with dropout)", numbers),
    tie("limits overfitting ({size_1000_none} without dropout at {size_last})", numbers),
    tie("in between (at {largest_gain_size} images) and is smaller at {size_last}.", numbers),
    tie("at inference on the {n_test} test images", numbers),
    tie("In the first hidden layer {zero_0_L1} of activations are exactly zero without dropout and {zero_0.5_L1} with `p_drop = {dropout}` (near zero, below {near_zero}: {near_zero_0_L1} and {near_zero_0.5_L1}), a difference of {zero_gain_L1} paired by seed; the mean activation falls from {mean_act_0_L1} to {mean_act_0.5_L1}. The second layer moves the same way, less: {zero_0_L2} → {zero_0.5_L2} exactly zero, {near_zero_0_L2} → {near_zero_0.5_L2} near zero, mean {mean_act_0_L2} → {mean_act_0.5_L2}.", numbers),
    tie("Six families on {reg_n_train} training images, where overfitting is stronger than at {n_train}:", numbers),
    tie("dropout (`p_drop = {dropout}` on hidden units)", numbers),
    tie("(mean validation error of the last {smoothing} epochs over", numbers),
    tie("means of {n_seeds}). No regularizer: {reg_none}. Dropout alone: {reg_dropout}, {reg_dropout_gain} better", numbers),
    tie("L2 alone: {reg_L2} (λ = {reg_L2_strength}); max-norm alone: {reg_max-norm} (c = {reg_max-norm_strength}). Dropout + L2: {reg_dropout + L2} (λ = {reg_dropout + L2_strength}); dropout + max-norm: {reg_dropout + max-norm} (c = {reg_dropout + max-norm_strength}).", numbers),
    tie("changes the error by {reg_dropout + max-norm_vs_dropout}, adding L2 by {reg_dropout + L2_vs_dropout}:", numbers),
    tie("max-norm with c = {max_norm_never_binds} gives runs", numbers),
    tie("at `lr = {lr}` no weight vector grew that long, and the validation set chose c = {reg_max-norm_strength} for", numbers),
    tie("dropout alone gave {size_300_dropout} against {size_300_none} without regularization, and adding max-norm ({reg_dropout + max-norm_vs_dropout} against", numbers),
    tie("a max-norm of c = {max_norm_never_binds} never even bound at lr = {lr}.", numbers),
    exempt("Claim 5: dropout needs 2–3× more epochs", CITED_NUMBER),
    tie("(one validation image is {val_image_pp} pp, so the raw", numbers),
    tie("more than {epochs} epochs, and a run whose best epoch lies in the last {smoothing} epochs", numbers),
    tie("To reach a {threshold} validation error the network without dropout needs a median of {reach_0} epochs, with `p_drop = {dropout}` {reach_0.5} ({reach_censored_0.5} runs never got there), and at {p_last} {reach_0.8} ({reach_censored_0.8} never got there). {reach_censored_total} of the {n_runs} runs of the sweep never reached {threshold} in {epochs} epochs: {reach_censored_runs}.", numbers),
    tie("The best epoch comes at a median of {best_0} without dropout ({best_censored_0} runs still improving at the end) and {best_0.5} with `p_drop = {dropout}` ({best_censored_0.5} still improving), and at {p_last} at {best_0.8} ({best_censored_0.8}).", numbers),
    tie("By the time to reach {threshold}, dropout at {dropout} is", numbers),
    tie("only {p_last} is much slower.", numbers),
    tie("without dropout {reach_censored_0} runs never get there (their seeds' {n_val} validation images", numbers),
    tie("keeps improving {best_ratio} times longer", numbers),
    exempt("the low end of the paper's \"2–3 times\".", CITED_NUMBER),
    exempt("is \"dropout takes 2–3 times longer to train\" true", CITED_NUMBER),
    tie("median of epoch {best_0}, with p_drop = {dropout} at {best_0.5}, {best_ratio} times later (of the dropout runs, {best_censored_0.5} was", numbers),
    tie("a median of {reach_0} against {reach_0.5} epochs for {threshold},", numbers),
    tie("the narrowest network ({kept} units, no dropout", numbers),
    tie("allows 2 of the {n_test} images.", numbers),
    tie("underfits ({fixed_n_last} at {p_last}), while", numbers),
    tie("avoids it ({fixed_product_last}).", numbers),
    tie("no measurable gain at {size_first} images, about a point from {size_second} to {size_before_last}, and less at {size_last}.", numbers),
    tie("with `p_drop = {dropout}`, about three quarters", numbers),
    tie("big win ({size_300_none} → {size_300_dropout} on {largest_gain_size} images)", numbers),
    tie("best validation error ({best_ratio} times later,", numbers),
    exempt("with `p_drop = 0.5`, sweep `lr` in {0.05, 0.2, 0.5} with and without", TASK),
    exempt("(`input_p_drop=0.2` in `lesson.make_config`, the paper's retain probability 0.8)", TASK),
    tie("curve is flat from `p_drop = {fixed_product_first}` to {fixed_product_last_rate}.", numbers),
    exempt("Extend it to 0.9 (1280 units per layer", TASK),
    tie("as this record: {training_minutes} minutes", numbers),
    exempt("`lesson.compute_results(lesson.Settings(seeds=tuple(range(10, 20))), workers=2)`", TASK),
]
# fmt: on
