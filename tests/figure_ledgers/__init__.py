"""One ledger per notebook of the figures its prose quotes (see ``tests/quoted_figures.py``).

Each module ``nbNN`` holds ``LEDGER``, a list of entries, one a line: ``tie(phrase, numbers)``
where ``numbers()`` computes the figures from the repository's code or recorded files, or
``exempt(phrase, REASON)``. ``tests/test_quoted_figures.py`` checks them against the notebooks.
"""
