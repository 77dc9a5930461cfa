"""Reference implementation for the course "Dropout, from intuition to uncertainty".

The core, one module per idea, holds every algorithm the course teaches:

* :mod:`course_lib.dropout`: inverted and standard dropout layers, forward and backward.
* :mod:`course_lib.variants`: spatial, Gaussian and alpha dropout, DropConnect, and the masks of
  DropBlock, DropPath, concrete and targeted dropout; SELU.
* :mod:`course_lib.masks`: exact, fast Bernoulli keep-masks.
* :mod:`course_lib.analysis`: the Binomial law of dropped units, counting parameters and
  subnetworks, the boosting factor and the equivalent learning rate, dropout as adaptive L2.
* :mod:`course_lib.nn`: dense/ReLU layers, an :class:`~course_lib.nn.MLP` with per-layer dropout
  and :func:`~course_lib.nn.train`.
* :mod:`course_lib.experiments`: seeded runs on the digits, and the statistics read from them.
* :mod:`course_lib.data`: scikit-learn's digits, split reproducibly, and a 1D regression toy.
* :mod:`course_lib.mc`: Monte Carlo dropout, predictive entropy, mutual information, calibration.
* :mod:`course_lib.gradcheck`: numerical gradients and relative errors.
* :mod:`course_lib.stats`: acceptance regions and concentration bounds, each with a stated
  false-failure probability.
* :mod:`course_lib.checks`: statistical assertions built on them.

:mod:`course_lib.lessons` holds what the notebooks' figures and widgets compute and draw.

Conventions: ``p_drop`` is the probability of dropping a unit, ``keep_prob = 1 - p_drop``; a mask
is boolean with ``True`` = kept; every random function takes a keyword-only
``rng: numpy.random.Generator``.
"""

__version__ = "0.1.0"
