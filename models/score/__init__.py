"""Scoring: per-head scores, the norm view, roles, rollout, words, the view switch and the
immutable Analysis with its diagnosis.

Pure: numpy arrays in, frozen results out; inputs are never mutated.  No model, no torch
forward pass (norms read captured tensors), never streamlit or plotly.
"""
