"""`python -m kerazoo ...`: the same as the `kerazoo` command (used by `kerazoo launch`)."""

import sys

from kerazoo.cli import main

if __name__ == "__main__":
    sys.exit(main())
