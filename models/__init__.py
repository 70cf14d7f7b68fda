"""Model side of the app: one subpackage per capability; nothing here imports streamlit or
plotly (`viz/` and `app.py` build on top).

  load/     registry, families, loading (folders, Hub ids), conversion, device, capture hooks
  extract/  text → ids → the one forward pass → attention (dense, banded, block-sparse)
  score/    scores, norm view, roles, rollout, words, views, Analysis and its diagnosis
  sparse/   sparse patterns on the user's text, their coverage, the window sweep
  compare/  two models on one input
  corpus/   corpus reading, batching, aggregates, checkpoints, Ray, corpus comparison
  mixing/   context mixing (residual- and LayerNorm-aware norms, ALTI, value zeroing), faithfulness
  result.py the immutable AttentionResult that crosses to viz/;  examples.py  the example inputs
  api.py    the notebook's front door: `from models import analyze_text, load_model`
  types.py  the closed sets and the typed notice;  frozen.py  read-only arrays for every result
  pieces.py word-piece marks ("##", "▁", "Ġ") and the folding that matches pieces to text

The front door's names load lazily (module `__getattr__`), so `import models` stays light and
changes nothing until one of them is used.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "analyze_text": "models.api",
    "TextAnalysis": "models.api",
    "load_model": "models.load.loading",
    "from_objects": "models.load.loading",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models' has no attribute '{name}'")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
