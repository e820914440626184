"""Workbook layer: the notebook context, the papermill runner, the explorer and the enhance CLI (entry points)."""
