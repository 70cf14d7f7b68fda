"""Two models on one input: heads paired when tokens and shapes agree (score differences,
row-cosine similarity, the heads that changed most), else layers at matching depth and words.

Pure: reads two Analyses; never loads a model.
"""
