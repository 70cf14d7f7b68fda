"""Axis labels for tokens: unique per position, with special and global tokens marked."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

GLOBAL_MARK = "★"  # appended to the label of a Longformer global token
SPECIAL_COLOUR = "#d62728"
INDEX_PREFIX = re.compile(r"^\d+·")  # the position prefix of a token label: "3·"


def token_labels(
    tokens: Sequence[str],
    global_positions: Sequence[int] = (),
) -> list[str]:
    """One label per position, e.g. "3·the"; plotly merges equal category labels, so the
    position prefix keeps repeated tokens apart.  Global tokens get a trailing star."""
    globals_ = set(global_positions)
    return [f"{i}·{token}{GLOBAL_MARK if i in globals_ else ''}" for i, token in enumerate(tokens)]


def special_positions(special_mask: np.ndarray, global_positions: Sequence[int] = ()) -> list[int]:
    """Positions to mark on the axes: special tokens and global tokens, ascending."""
    marked = set(np.flatnonzero(np.asarray(special_mask, dtype=bool)).tolist()) | set(global_positions)
    return sorted(marked)


def without_index(label: str) -> str:
    """A token label as drawn without its position: "3·the" → "the" (other labels unchanged)."""
    return INDEX_PREFIX.sub("", label, count=1)
