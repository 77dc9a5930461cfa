"""Figures and widgets of the notebooks, one module per notebook.

Notebooks stay thin (prose, a widget, exercises); what they draw or compute lives here, as plain
functions that tests call directly.
"""
