"""Report layer: the ledger of reported numbers, the table/figure catalogue (artifacts), per-method and compare tables, shared figure helpers."""
