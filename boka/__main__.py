"""``python -m boka <command>``: the operators' command line (boka/cli.py)."""

from __future__ import annotations

import sys

from boka.cli import main

if __name__ == "__main__":
    sys.exit(main())
