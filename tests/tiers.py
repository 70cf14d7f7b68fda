"""Facts every test tier shares: where the project is, and whether this is CI (where a
missing browser, font or engine fails the run instead of skipping)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
