"""Figures and widgets of the notebooks, one module per notebook, and the widget helper.

The rule that divides ``course_lib`` in two:

* **Lessons hold only what figures and widgets compute and draw**: the scenario of a figure (its
  data, its seeds, the experiment that fills a table) and the drawing itself, as plain functions
  that tests call directly. :mod:`course_lib.lessons.widgets` (``live_figure``) ties a drawing
  function to its controls.
* **Every algorithm the course teaches lives in the core library** (dropout layers and their
  variants, masks, activations, training and its recipes, the statistics reported as results),
  with argument checks that name the argument, the bad value and the valid range, a docstring,
  ``rng: numpy.random.Generator`` for every random function, and property tests in the test file
  of its module.

Lessons import the core; the core never imports lessons. Notebooks stay thin: prose, a widget,
and calls into both.
"""
