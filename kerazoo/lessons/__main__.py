"""`python -m kerazoo.lessons NAME [--quick] [--out DIR]` / `--list`."""

import sys

from kerazoo.lessons import main

sys.exit(main())
