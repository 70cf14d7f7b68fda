"""The one way a result's arrays are made read-only.

Results are cached and shared by every browser session, so none of their arrays may be
written in place.  `read_only` returns a read-only view (the caller's array is left as it
is); an array that is already read-only comes back unchanged.
"""

from __future__ import annotations

import numpy as np


def read_only(array) -> np.ndarray:
    """`array` (or anything np.asarray takes) as a read-only array."""
    array = np.asarray(array)
    if array.flags.writeable:
        array = array.view()
        array.setflags(write=False)
    return array
