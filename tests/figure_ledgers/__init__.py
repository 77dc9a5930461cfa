"""One ledger per notebook of the figures its prose quotes (see ``tests/quoted_figures.py``).

Each module ``nbNN`` holds ``LEDGER``, a list of entries, one a line: ``tie(phrase, numbers)``
where ``numbers()`` computes the figures from the repository's code or recorded files, or
``exempt(phrase, REASON)``. ``tests/test_quoted_figures.py`` checks them against the notebooks.

When that test fails after an edit of the prose:

* "the figure ... is not in the ledger, in: ..." names a new or reworded figure: tie it (a phrase
  with ``{name}`` placeholders and, if ``numbers()`` lacks it, a line that computes it), or, if
  it is not a measurement, exempt it for one of the fixed reasons;
* "... is no longer in the prose" names an entry whose sentence changed: copy the new wording
  into the phrase (a tie also shows what the code gives now: if that differs from the prose, the
  prose is what is wrong);
* "... found 2 times" means the phrase now occurs twice: make it longer, or give ``times=2``.
"""
