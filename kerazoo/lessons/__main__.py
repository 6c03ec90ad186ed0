"""`python -m kerazoo.lessons NAME [--quick] [--out DIR]` / `--list`: `kerazoo lesson`."""

import sys

from kerazoo.cli import main

sys.exit(main(["lesson", *sys.argv[1:]]))
