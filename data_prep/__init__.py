"""Datasets for the workbook: the dataset catalogue, layout checks, image I/O, torch datasets, the embedded
synthetic set and a download helper. ``python -m data_prep status`` lists what is on disk.

Submodules are imported explicitly (``from data_prep.validate import status_table``) so the CLI stays light.
"""
