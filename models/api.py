"""The notebook's front door: one call from text to the app's frozen results.

    from models import analyze_text, load_model

    result, analysis = analyze_text("The cat sat on the mat.")            # the embedded MiniLM
    result, analysis = analyze_text("A sentence.", "path/to/my-bert")     # a local folder
    result, analysis = analyze_text("A sentence.", (my_model, my_tokenizer))  # objects in memory

`analyze_text` runs the same extract + analysis as the app and `cli.py analyze`
(models.extract.attention.extract, models.score.analysis.analyze); nothing here is new
arithmetic, only the routing of the model argument.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from models.extract.attention import ERR_EMPTY, ERR_NOT_TEXT, InputError, extract
from models.load.loading import LoadedModel, ModelLoadError, from_objects, load_model
from models.load.registry import DEFAULT_MODEL
from models.result import AttentionResult
from models.score.analysis import Analysis, analyze
from models.types import View

ERR_MODEL_ARGUMENT = (
    "analyze_text's model must be a registry key, a local folder, a model from load_model, or a "
    "(transformers model, tokenizer) tuple; got {kind}."
)


class TextAnalysis(NamedTuple):
    """What `analyze_text` returns: both frozen results, unpackable as `result, analysis`.

    result    the AttentionResult of the one forward pass (models/result.py): tokens and one
              [head, query, key] array per layer
    analysis  the Analysis of `result` in the chosen view (models/score/analysis.py): scores
              [layer, head], roles, the layer partition and the plain-language diagnosis
    """

    result: AttentionResult
    analysis: Analysis


ModelArgument = str | os.PathLike | LoadedModel | tuple


def analyze_text(
    text: str,
    model: ModelArgument = DEFAULT_MODEL,
    *,
    pair: str | None = None,
    view: View = "weight",
    exclude_special: bool = False,
    window: int | None = None,
    global_positions: tuple[int, ...] | list[int] | None = None,
    device: str | None = None,
) -> TextAnalysis:
    """Analyse `text` (and the second sentence `pair`) the way the app does.

    `model` is a registry key ("minilm"), a local model folder or Hub id (both read by
    `load_model`, which also takes `window` and `device`; these two apply only to a model
    loaded here), a LoadedModel from `load_model`
    (pass one to analyse many texts without loading again), or a `(model, tokenizer)` tuple of
    transformers objects already in memory (read through `from_objects`, which switches the
    model to eager attention in place).  `view` is "weight" or "norm"; `exclude_special`
    leaves special tokens' query rows out of the averages; `global_positions` picks a
    Longformer model's global tokens.

    Raises InputError for an empty or non-text input (before any model loads) and
    ModelLoadError for a model that cannot be loaded; both messages say what to change.
    """
    if not isinstance(text, str):
        raise InputError(ERR_NOT_TEXT.format(kind=type(text).__name__))
    if not text.strip():
        raise InputError(ERR_EMPTY)
    loaded = _loaded(model, window, device)
    result = extract(loaded, text, pair, global_positions)
    return TextAnalysis(result, analyze(result, exclude_special=exclude_special, view=view))


def _loaded(model: ModelArgument, window: int | None, device: str | None) -> LoadedModel:
    """The LoadedModel `model` names or holds."""
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, tuple) and len(model) == 2:
        return from_objects(*model)
    if isinstance(model, str | os.PathLike):
        return load_model(os.fspath(model), window, device=device)
    raise ModelLoadError(ERR_MODEL_ARGUMENT.format(kind=type(model).__name__))
