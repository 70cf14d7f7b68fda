"""The same trained weights under dense attention and under Longformer's window + globals.

`minilm` and `minilm-longformer` share every weight, so running one sentence through both
answers "what does the window take away?" directly: the only difference is which keys
each query may attend to.  `window_sweep` repeats that for a series of windows and keeps
only small per-layer summaries (no model and no attention is kept per window).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from i18n import N_
from models.extract.attention import extract
from models.extract.banded import block
from models.load.loading import LoadedModel
from models.result import AttentionResult
from models.score.analysis import Analysis, analyze

SWEEP_WINDOWS = (4, 8, 16, 32, 64)
SWEEP_SCORES = ("cls", "sep", "diagonal", "entropy")


@dataclass(frozen=True)
class WindowPoint:
    """One window of the sweep (window None = the dense model itself).

    layer_scores    score name → [L] mean over heads (cls, sep, diagonal, entropy)
    layer_roles     [L, len(ROLES)] share of each layer's heads in each role
    moved           [L, H] mean over query rows of ½ Σ_j |A_window − A_dense|: the share of
                    each row's attention that the window moved elsewhere (0 = unchanged)
    """

    window: int | None
    layer_scores: dict[str, np.ndarray]
    layer_roles: np.ndarray
    moved: np.ndarray


def windowed_extract(
    windowed: LoadedModel,
    dense_limit: int,
    text: str,
    text_b: str | None = None,
    global_positions: Sequence[int] | None = None,
) -> AttentionResult:
    """`text` through a windowed model, cut at the dense model's token limit so both see
    exactly the same tokens, and rebuilt to dense [H, N, N] for the comparison."""
    return extract(windowed, text, text_b, global_positions, banded=False, max_tokens=dense_limit)


def moved_mass(dense: Sequence[np.ndarray], windowed: Sequence) -> np.ndarray:
    """[L, H]: mean over rows of the total-variation distance between the two attentions."""
    out = np.zeros((len(dense), dense[0].shape[0]))
    for layer, (a, b) in enumerate(zip(dense, windowed)):
        n = a.shape[-1]
        b = block(b, slice(0, n), slice(0, n))
        out[layer] = 0.5 * np.abs(a.astype(np.float64) - b).sum(axis=-1).mean(axis=-1)
    return out


def _point(window: int | None, analysis: Analysis, moved: np.ndarray) -> WindowPoint:
    return WindowPoint(
        window=window,
        layer_scores={name: analysis.scores[name].mean(axis=1) for name in SWEEP_SCORES},
        layer_roles=analysis.layer_roles,
        moved=moved,
    )


def window_sweep(
    dense: AttentionResult,
    run_windowed: Callable[[int], AttentionResult],
    windows: Sequence[int] = SWEEP_WINDOWS,
    exclude_special: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[WindowPoint, ...]:
    """Scores and roles of one input under dense attention and under each window.

    `dense` is the dense model's result; `run_windowed(window)` returns the same input's
    result under that window (a cached run in the app).  points[0] is the dense model,
    then one per window in the given order.  `progress(fraction, message)` is called
    before each windowed run.
    """
    points = [_point(None, analyze(dense, exclude_special), np.zeros((dense.model.layers, dense.model.heads)))]
    for index, window in enumerate(windows):
        if progress:
            progress(index / len(windows), f"window {window}")
        windowed = run_windowed(window)
        if windowed.tokens != dense.tokens:
            raise RuntimeError(N_("The dense and windowed runs tokenised the text differently."))
        moved = moved_mass(dense.layer_attention, windowed.layer_attention)
        points.append(_point(window, analyze(windowed, exclude_special), moved))
    if progress:
        progress(1.0, "done")
    return tuple(points)
