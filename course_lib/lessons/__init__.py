"""Figures and widgets of the notebooks, one module per notebook.

Notebooks stay thin (prose, a widget, exercises); what they draw or compute lives here, as plain
functions that tests call directly.
"""

from ..nn import one_blas_thread  # noqa: E402,F401 - the lessons' shared import
