"""The same trained weights under dense attention and under Longformer's window + globals.

`minilm` and `minilm-longformer` share every weight, so running one sentence through both
answers "what does the window take away?" directly: the only difference is which keys
each query may attend to.  `window_sweep` repeats that for a series of windows and keeps
only small per-layer summaries (no model and no attention is kept per window).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from models.analysis import Analysis, analyze
from models.banded import block
from models.extract import extract
from models.loading import LoadedModel, validate_window
from models.longformer_convert import bert_to_longformer
from models.registry import REGISTRY
from models.result import AttentionResult

SWEEP_WINDOWS = (4, 8, 16, 32, 64)
SWEEP_SCORES = ("cls", "sep", "diagonal", "entropy")
LONGFORMER_KEY = "minilm-longformer"
ERR_NOT_BERT = "The dense-vs-window comparison needs a BERT model (it converts its weights); '{key}' is {family}."


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


def as_longformer(bert: LoadedModel, window: int) -> LoadedModel:
    """`bert`'s weights under Longformer attention with `window`, sharing its tokenizer and lock.

    The token limit stays the BERT model's, so both see exactly the same tokens.
    """
    if bert.family != "bert":
        raise ValueError(ERR_NOT_BERT.format(key=bert.name, family=bert.family))
    window = validate_window(window)
    spec = dataclasses.replace(
        REGISTRY[LONGFORMER_KEY],
        key=f"{bert.name}-longformer",
        max_tokens=bert.spec.max_tokens,
        description=f"{bert.name}'s weights under Longformer attention (window {window}).",
    )
    return LoadedModel(spec.key, spec, bert_to_longformer(bert.model, window), bert.tokenizer, window, bert.lock)


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
    bert: LoadedModel,
    text: str,
    text_b: str | None = None,
    windows: Sequence[int] = SWEEP_WINDOWS,
    global_positions: Sequence[int] | None = None,
    exclude_special: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[tuple[WindowPoint, ...], AttentionResult]:
    """Scores and roles of `text` under dense attention and under each window.

    Returns (points, dense result): points[0] is the dense model, then one per window in
    the given order.  `progress(fraction, message)` is called before each run.
    """
    steps = len(windows) + 1
    if progress:
        progress(0.0, "dense attention")
    dense = extract(bert, text, text_b)
    points = [_point(None, analyze(dense, exclude_special), np.zeros((bert.layers, bert.heads)))]
    for index, window in enumerate(windows, start=1):
        if progress:
            progress(index / steps, f"window {window}")
        windowed = extract(as_longformer(bert, window), text, text_b, global_positions, banded=False)
        if windowed.tokens != dense.tokens:
            raise RuntimeError("The dense and windowed runs tokenised the text differently.")
        points.append(_point(window, analyze(windowed, exclude_special), moved_mass(dense.layer_attention, windowed.layer_attention)))
    if progress:
        progress(1.0, "done")
    return tuple(points), dense
