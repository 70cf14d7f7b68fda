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
"""
