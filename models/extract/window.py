"""The attention window and its global tokens: one rule and one validator each for the
loader, the sparse patterns, the app and the CLI.

A window W is Longformer's `attention_window`: the full band width, W/2 keys on each
side of the query.  It must be an even whole number.  A model run under a window needs
W ≥ MIN_WINDOW (transformers' Longformer fails on W = 2); a simulated sparse pattern may
go down to W = 0 (each token sees only itself).
"""

from __future__ import annotations

import numpy as np

from i18n import N_

MIN_WINDOW = 4  # transformers' Longformer fails on window 2 (one key each side)
MAX_WINDOW = 1024
DEFAULT_WINDOW = 16
PATTERN_MIN_WINDOW = 0  # a simulated pattern: W = 0 keeps the diagonal only


class InputError(ValueError):
    """The input cannot be analysed; the message says what to change."""


class WindowError(ValueError):
    """A window value that breaks the rule; the message says what is allowed."""


def validate_window(window: object, minimum: int = MIN_WINDOW, maximum: int = MAX_WINDOW) -> int:
    """`window` as an int when it is even and within minimum..maximum, else WindowError.

    Accepts ints and whole-number strings or floats from forms and URLs ("16", 16.0).
    """
    error = WindowError(
        N_("The attention window must be an even whole number from {min} to {max}; got {window}.").format(
            min=minimum, max=maximum, window=repr(window)
        )
    )
    if isinstance(window, bool):
        raise error
    if not isinstance(window, int):
        try:
            as_float = float(str(window).strip())
        except ValueError:
            raise error from None
        if not as_float.is_integer():
            raise error
        window = int(as_float)
    if not minimum <= window <= maximum or window % 2:
        raise error
    return window


def check_global_positions(positions, n: int) -> tuple[int, ...]:
    """The global token positions, ascending and without repeats; InputError names the first
    that is not a whole number in 0..n − 1."""
    checked = set()
    for position in positions:
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position < n:
            raise InputError(
                N_(
                    "Global token position {position} is out of range: this input has {n} tokens "
                    "(positions 0 to {last})."
                ).format(position=position, n=n, last=n - 1)
            )
        checked.add(int(position))
    return tuple(sorted(checked))
