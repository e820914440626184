"""Evaluation layer: the enhancer interface and evaluation loop, test-set suites, tiled inference, complexity counts, classical baselines."""
