"""``python -m llie_core.workbook run|list ...``: the papermill runner (:mod:`llie_core.workbook.runner`)."""
from llie_core.workbook.runner import main

raise SystemExit(main())
