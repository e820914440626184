"""Method-specific analyses behind the notebooks' figures and tables (one module per method or topic).

Notebooks stay thin: the computations they plot (feature statistics, colour histograms, covariance studies,
sampling sweeps, ...) live here, importable and tested.
"""
