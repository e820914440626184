"""llie_core: models, losses, metrics and the training engine of the LLIE workbook.

Notebooks call into this package; it holds no notebook logic. See README.md for the layout.
"""
__version__ = "0.1.0"
