"""Notebook 01's quoted figures: the guided experiment's record (``key_numbers``), section 8's
ensemble record, the capstone's record for the larger networks it previews, and the defaults
of the lesson's figures and playground."""

import inspect
import json
import math
from functools import cache

from course_lib import experiments, nn
from course_lib.lessons import nb01_intuition as lesson
from course_lib.lessons import nb07_capstone as capstone
from course_lib.lessons import playground
from quoted_figures import CITED_NUMBER, EXAMPLE, MATH, TASK, exempt, power_of_ten, tie


@cache
def numbers() -> dict[str, str]:
    found = dict(lesson.key_numbers(lesson.load_record()))
    found.update(json.loads(lesson.ENSEMBLE_PATH.read_text()))
    capstone_numbers = capstone.key_numbers(capstone.load_results())
    found.update({f"cap_{key}": value for key, value in capstone_numbers.items()})
    settings = lesson.ExperimentSettings()
    rates = [f"{p:g}" for p in settings.p_drops]
    found.update({f"rate_{i}": rate for i, rate in enumerate(rates)})
    found["hidden"] = str(settings.hidden[0])
    found["confidence"] = f"{100 * lesson.CONFIDENCE:g}%"
    found["momentum"] = f"{inspect.signature(nn.train).parameters['momentum'].default:g}"
    found["pixels"], found["classes"] = "8×8", "10"  # scikit-learn's digits
    found["whole_layer"] = power_of_ten(10.0 ** round(settings.hidden[0] * math.log10(0.5)))
    found["half"] = "0.5"  # the rate of that whole-layer probability
    found["fitted"] = "0"  # fit_epoch_*: the first epoch at which every seed's training error is 0
    found["ensemble_middle"] = str(lesson.ENSEMBLE_SIZES[1])
    found["ensemble_largest"] = str(lesson.ENSEMBLE_SIZES[-1])
    bias_variance = inspect.signature(lesson.bias_variance).parameters
    found["bv_points"] = str(bias_variance["n_points"].default)
    found["bv_sets"] = str(bias_variance["n_datasets"].default)
    found["builder_layers"] = "-".join(map(str, lesson.DEFAULT_SIZES))
    found["builder_rates"] = " and ".join(f"{p:g}" for p in lesson.DEFAULT_RATES[1:3])
    found["builder_first"], found["builder_second"] = (f"{p:g}" for p in lesson.DEFAULT_RATES[1:3])
    # "Set the mask seed to 0: all 7 units of the first hidden layer are dropped"
    masks = lesson.sample_network_masks(lesson.DEFAULT_SIZES, lesson.DEFAULT_RATES, 0)
    assert not masks[1].any()
    found["first_hidden"] = str(len(masks[1]))
    found["builder_matrix"] = "{}×{}".format(*lesson.DEFAULT_SIZES[1:3])
    assert "signal + 0.02 * rng.standard_normal(n)" in inspect.getsource(lesson.coadaptation_data)
    found["twin_noise"] = "0.02"
    curves = inspect.signature(lesson.digits_curves).parameters
    found["curves_layers"] = "-".join(map(str, lesson.DIGITS_LAYERS))
    found["curves_epochs"] = str(curves["epochs"].default)
    play = playground.Settings()
    found["play_layers"] = "-".join(map(str, [2, *play.hidden, 2]))
    found["play_batch"] = str(play.batch_size)
    found["play_test"] = str(playground.N_TEST)
    found["play_noise"] = f"{play.noise:g}"
    found["play_train"] = str(play.n_train)
    rates = play.p_drop if isinstance(play.p_drop, tuple) else (0.0, play.p_drop)
    found["play_input"], found["play_hidden"] = (f"{p:g}" for p in rates[:2])
    found["play_lr_tenfold"] = f"{10 * play.lr:g}"
    found["significance"] = f"{experiments.SIGNIFICANCE:g}"
    return found


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    tie("`p_drop` = 0, {rate_1}, {rate_2}, {rate_3}, and see the gap narrow", numbers),
    exempt("(\"$p = 0.8$ for the inputs\" there means `p_drop = 0.2`)", CITED_NUMBER),
    tie("polynomials to {bv_sets} independent training sets of {bv_points} noisy points each", numbers),
    exempt("raise the L2 penalty $\\lambda$ at degree 12 and", EXAMPLE),
    tie("(up to the Monte Carlo error of {bv_sets} training sets)", numbers),
    tie("The network of section 7 has about {n_params_k} parameters and is trained on {n_train} images", numbers),
    tie("The default is the {builder_layers} network of the deeplearning.ai notes, with `p_drop` {builder_first} on the first hidden layer (it feeds the largest weight matrix, {builder_matrix}) and {builder_second} on the second.", numbers),
    exempt("the notes attach `keep_prob` = [1.0, 0.5, 0.7, 0.7, 1.0] to the *outputs* of the five weight matrices, so 0.5 on the second hidden layer (the output of the 7×7 matrix)", CITED_NUMBER),
    tie("all {first_hidden} units of the first hidden layer are dropped", numbers),
    exempt("(it happens to one example in $2^7 = 128$)", MATH),
    exempt("Add a hidden layer of 32 units with `p_drop` 0.5 and watch the number of thinned networks jump by a factor of $2^{32}$", TASK),
    exempt("**Points** (2): 1.5 for the two counts, 0.5 for refusing", TASK),
    exempt("right counts without the `ValueError` keep 1.5 points", TASK),
    tie("about ${whole_layer}$ for {hidden} units at {half})", numbers),
    tie("one run of section 7 ({n_train} images, {epochs} epochs) draws {masks} masks.", numbers),
    tie("(differing by noise of standard deviation {twin_noise})", numbers),
    tie("## 7. The guided experiment: `p_drop` = 0, {rate_1}, {rate_2}, {rate_3} on the digits", numbers),
    tie("handwritten digits ({pixels} pixels, {classes} classes), split into {n_train} training, {n_val} validation and {n_test} test images. The network is {layers} with ReLU, trained with SGD (momentum {momentum}, learning rate {lr}, batches of {batch_size}) for {epochs} epochs", numbers),
    tie("So every rate is trained with {n_seeds} seeds, each fixing", numbers),
    tie("every rate sees the same {n_seeds}.", numbers),
    tie("The {n_runs} runs take several minutes", numbers),
    tie("the mean over the {n_seeds} seeds of the final networks (after epoch {epochs})", numbers),
    tie("compares each rate with `p_drop` = {rate_0} seed by seed: the mean difference of validation error in points, its {confidence} t-interval", numbers),
    tie("With {n_seeds} seeds the interval has {df} degrees of freedom: it is the mean ± {t_quantile} standard errors", numbers),
    tie("Every seed's training error is {fitted} at epoch {fit_epoch_0}.", numbers),
    tie("the validation loss is lowest at epoch {val_loss_epoch_0} and then rises", numbers),
    tie("The validation error ends at {val_0}, with a standard deviation of {sd_0} points", numbers),
    tie("2. **{rate_1}.** The same shape, later: the training error reaches {fitted} at epoch {fit_epoch_0.2} and the validation loss is lowest at epoch {val_loss_epoch_0.2}.", numbers),
    tie("The validation error ends at {val_0.2}, {diff_0.2} points against no dropout; the interval [{low_0.2}, {high_0.2}] lies below 0 (p = {p_0.2}).", numbers),
    tie("3. **{rate_2}.** The training error reaches 0 only at epoch {fit_epoch_0.5}:", numbers),
    tie("The validation error ends at {val_0.5} ({diff_0.5} points, interval [{low_0.5}, {high_0.5}], p = {p_0.5}), and the loss gap is {gap_0.5} against {gap_0} without dropout.", numbers),
    tie("4. **{rate_3}.** Each thinned network keeps about {kept_0.8} of {hidden} units per layer, and the network no longer fits its training set in {epochs} epochs: a training loss of {train_loss_0.8} where the other rates reach {train_loss_0}, and a training error of {train_0.8}. Its validation error is back at {val_0.8}, {diff_0.8} points against no dropout (interval [{low_0.8}, {high_0.8}], p = {p_0.8})", numbers),
    tie("The lowest mean is at `p_drop` = {chosen} ({val_0.5}), with {rate_1} close behind ({val_0.2}): paired over the seeds, {rate_1} is not significantly worse (one-sided p = {p_best_0.2}), while 0 and {rate_3} are (p = {p_best_0} and {p_best_0.8}). So {not_worse} are both defensible choices, and the lowest mean picks {chosen}.", numbers),
    tie("{test_none} test error without dropout, {test_chosen} with `p_drop` = {chosen}, {test_diff} points (paired over the {n_seeds} seeds: {confidence} t-interval [{test_low}, {test_high}], {df} degrees of freedom, p = {test_p}).", numbers),
    tie("notebook 07 trains two layers of {hidden} units for {epochs} epochs on {n_train} images", numbers),
    tie("goes from {cap_size_300_none} test error without dropout to {cap_size_300_dropout} with `p_drop = {half}` (means of {cap_n_seeds}). Paired by seed, dropout is better by {cap_size_300_gain}.", numbers),
    tie("whether its validation error is higher, gives p < {significance}; every rate", numbers),
    tie("which `p_drop` would you use for this network and these {n_train} images", numbers),
    tie("I would use p_drop = {chosen}, the lowest mean validation error ({rate_1} would be as defensible: the paired test cannot tell the two apart, p = {p_best_0.2}).", numbers),
    tie("a difference of {test_diff} points against no dropout, {confidence} interval [{test_low}, {test_high}].", numbers),
    tie("more dropout helped up to `p_drop` = {chosen}, yet at {rate_3} the validation error", numbers),
    tie("and up to {chosen} that is what the lower validation error shows. At {rate_3} each thinned", numbers),
    tie("The network just trained again with `p_drop` = {half} holds {power} thinned networks.", numbers),
    tie("A single thinned network makes more errors than the full one ({ens_single} against {ens_full}); the average of {ensemble_middle} or of {ensemble_largest} thinned networks does as well as the full network, or a little better ({ens_10} and {ens_50}).", numbers),
    exempt("(Hinton et al. 2012 showed it for one hidden layer feeding a softmax, at `p_drop = 0.5`)", CITED_NUMBER),
    tie("training drew {masks} masks out of {power}, so almost", numbers),
    tie("two copies of one network, {play_layers} with ReLU, learn a 2-D data set one mini-batch of {play_batch} points at a time.", numbers),
    tie("on a fixed test set of {play_test} points", numbers),
    tie("(moons, noise {play_noise}, {play_train} training points, `p_drop` {play_input} on the inputs and {play_hidden} on both hidden layers)", numbers),
    exempt("Raise both hidden `p_drop` to 0.8, then to 0.9.", TASK),
    exempt("Set the training-set size to 300.", TASK),
    tie("the playground's version of section 7's {rate_3}.", numbers),
    exempt("shrink both hidden layers to 4 units", TASK),
    exempt("Then use one hidden layer of 32 units", TASK),
    tie("raise the learning rate tenfold, to {play_lr_tenfold}:", numbers),
    tie("On the digits ({layers}, {n_train} training images, {n_seeds} seeds), `p_drop` {rate_1} and {rate_2} lowered the validation error from {val_0} to {val_0.2} and {val_0.5}, gains whose paired {confidence} intervals exclude 0; chosen on validation, {chosen} has a test error of {test_chosen} against {test_none} without dropout. At {rate_3} the network underfit", numbers),
    exempt("find a network with fewer than 400 parameters and more than $10^{30}$ thinned networks", TASK),
    exempt("Rerun the experiment with 790 training images", TASK),
    exempt("`lesson.compute_record(lesson.ExperimentSettings(n_train=790, seeds=(0, 1, 2)), workers=2)`", TASK),
    tie("`lesson.digits_curves` trains smaller, faster runs ({curves_layers}, {curves_epochs} epochs)", numbers),
    exempt("tuples such as `(0.2, 0.5, 0.5)`, one rate per dropout site", TASK),
    tie("better or worse than the final error at {chosen}?", numbers),
]
# fmt: on
