"""Sparse attention explained on the user's own text: Longformer's window with global hub
tokens, dilated, BigBird, LSH and top-k masks, their coverage of the real attention, and the
dense-vs-window sweep.

Pure numpy, except dense_vs_sparse, which runs the model through models.extract.
"""
