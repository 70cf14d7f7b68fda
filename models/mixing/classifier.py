"""The classification head that gives faithfulness its ground truth (models/mixing/faithfulness.py).

A loaded model (models.load.loading.load_model: always the bare encoder) has one of three heads:
  "sequence_classification"  its config.json names a *ForSequenceClassification architecture:
                             the whole classifier loads with AutoModelForSequenceClassification
                             from the local folder, or from the local Hugging Face cache for a
                             Hub id (never the network), safetensors only, no remote code;
  "cls_linear"               a local folder holding classifier.safetensors, as
                             scripts/finetune_minilm.py (`make finetune`) writes it: one linear
                             layer on the last layer's [CLS] vector, run on the loaded encoder;
  None                       a bare encoder (minilm as shipped, mean-pooled): no head.
The attention always comes from the loaded encoder; the head only gives the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import torch

from i18n import N_
from models.load.device import model_device
from models.load.loading import LoadedModel, ModelLoadError

HeadKind = Literal["sequence_classification", "cls_linear"]
CLS_LINEAR_FILE = "classifier.safetensors"  # scripts/finetune_minilm.py
HEAD_SUFFIX = "ForSequenceClassification"
HEAD_KWARGS = dict(attn_implementation="eager", use_safetensors=True, trust_remote_code=False, local_files_only=True)


@dataclass(frozen=True, eq=False)
class Classifier:
    """A sequence classifier in eval mode, on the loaded model's device.

    kind    which head (module docstring)
    module  called as module(input_ids=… | inputs_embeds=…, attention_mask=…, token_type_ids=…)
            → an object with `.logits` [B, C]; module.get_input_embeddings() is the word
            embedding table whose output gradient×input differentiates against
    """

    kind: HeadKind
    module: torch.nn.Module


class ClsLinear(torch.nn.Module):
    """logits = W · h_[CLS] + b, h the encoder's last hidden state [B, N, D] → [B, C]."""

    def __init__(self, encoder: torch.nn.Module, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            self.head.weight.copy_(weight)
            self.head.bias.copy_(bias)

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids=None, inputs_embeds=None, **rest) -> SimpleNamespace:
        hidden = self.encoder(input_ids=input_ids, inputs_embeds=inputs_embeds, **rest).last_hidden_state
        return SimpleNamespace(logits=self.head(hidden[:, 0]))


def head_kind(loaded: LoadedModel) -> HeadKind | None:
    """Which head `loaded` has (module docstring), from its config and, for a local folder, its files."""
    architectures = getattr(loaded.model.config, "architectures", None) or ()
    if any(str(name).endswith(HEAD_SUFFIX) for name in architectures):
        return "sequence_classification"
    folder = _local_folder(loaded)
    if folder is not None and (folder / CLS_LINEAR_FILE).is_file():
        return "cls_linear"
    return None


def load_classifier(loaded: LoadedModel) -> Classifier | None:
    """The head of `loaded` as a Classifier, or None for a bare encoder; ModelLoadError says
    why a head that the config or folder promises cannot be loaded."""
    kind = head_kind(loaded)
    if kind is None:
        return None
    device = model_device(loaded.model)
    try:
        if kind == "cls_linear":
            from safetensors.torch import load_file

            tensors = load_file(str(_local_folder(loaded) / CLS_LINEAR_FILE))
            dtype = loaded.model.dtype
            weight, bias = (tensors[name].to(device=device, dtype=dtype) for name in ("weight", "bias"))
            module = ClsLinear(loaded.model, weight, bias)
        else:
            from transformers import AutoModelForSequenceClassification

            folder = _local_folder(loaded)
            source = str(folder) if folder is not None else loaded.spec.hub_id
            revision = None if folder is not None else loaded.name.partition("@")[2] or None
            module = AutoModelForSequenceClassification.from_pretrained(source, revision=revision, **HEAD_KWARGS)
            module = module.to(device=device, dtype=loaded.model.dtype)
    except Exception as error:  # safetensors, torch and transformers each raise their own types
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise ModelLoadError(
            N_(
                "Cannot load the classification head of '{name}': {detail}. Faithfulness needs the folder's "
                "*ForSequenceClassification weights as safetensors; without them, leave --faithfulness out."
            ).format(name=loaded.name, detail=detail)
        ) from None
    return Classifier(kind, module.eval())


def _local_folder(loaded: LoadedModel) -> Path | None:
    if loaded.spec.source != "local":
        return None
    folder = Path(loaded.name).expanduser()
    return folder if folder.is_dir() else None
