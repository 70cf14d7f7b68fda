"""Extraction: text → token ids → one forward pass → every layer's attention, in the
model's own form (dense, banded Longformer, BigBird block-sparse).

May touch: torch and a loaded model (through models.extract.forward.run_forward, the one
route of every forward pass).  Never streamlit, plotly or the filesystem.
"""
