"""Command line for the attention analysis engine: `python cli.py COMMAND ...` (or the
installed `attention-maps COMMAND ...`).  The commands live in commands/ (commands.main
lists them); `python cli.py --help` and `python cli.py COMMAND --help` describe each."""

from __future__ import annotations

import sys

from commands.main import build_parser, main  # noqa: F401  (build_parser: for tests and docs)

if __name__ == "__main__":
    sys.exit(main())
