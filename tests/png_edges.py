"""What a reader checks first on an exported picture: nothing is cut at its edge."""

from __future__ import annotations

import numpy as np

WHITE = 250  # a channel value at or above this reads as white paper


def border_is_white(image) -> bool:
    """The outermost 2-pixel frame of an RGB `image` holds only white: no label, tick or
    colour bar reaches the edge."""
    pixels = np.asarray(image)  # [height, width, 3]
    frame = np.concatenate(
        [
            pixels[:2].reshape(-1, 3),
            pixels[-2:].reshape(-1, 3),
            pixels[:, :2].reshape(-1, 3),
            pixels[:, -2:].reshape(-1, 3),
        ]
    )
    return bool((frame >= WHITE).all())
