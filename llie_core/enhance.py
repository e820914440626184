"""``python -m llie_core.enhance``: the command-line entry point of :mod:`llie_core.workbook.enhance` (kept at the
package root because it is the documented command)."""
from llie_core.workbook.enhance import main

if __name__ == "__main__":
    raise SystemExit(main())
