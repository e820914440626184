"""Lowest layer: paths, profiles, provenance, the one registry class (with module discovery) and the offline assets."""
