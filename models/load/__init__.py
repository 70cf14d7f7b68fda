"""Loading: the model registry, family rules, local folders and Hub ids, BERT→Longformer
conversion, the device, and the capture hooks a forward pass feeds.

May touch: torch, transformers, the filesystem (model folders, the Hub cache) and, for a
Hub id that is not cached, the network.  Never streamlit or plotly.
"""
