"""Training layer: staged recipes from configs (and loading trained runs), equal-budget studies and seed replicas."""
