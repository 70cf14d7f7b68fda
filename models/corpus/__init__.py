"""Corpus analysis: read a corpus (text, CSV/TSV, JSONL; file, stdin or upload), check it
whole, score it in length-sorted batches, fold mergeable aggregates, checkpoint and resume,
run on Ray Data, and compare two models over it.

May touch: the filesystem (the corpus, checkpoints), torch through models.extract, and Ray
(models.corpus.ray_engine only).  Never streamlit or plotly.
"""
