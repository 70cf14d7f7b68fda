"""Faithfulness: which context-mixing map agrees with the model's own behaviour on this input.

Each measure's last-layer rollout (models/mixing/measures.py) ranks the content tokens (the
non-special ones); a ground truth ranks them too, and Spearman's ρ (average ranks for ties)
compares the two rankings, as GlobEnc (Modarressi et al. 2022) does.

Ground truths, over the K content tokens:
  gradient_x_input  a classifier: ‖∂ logit_c / ∂ e_k ⊙ e_k‖ over D, c the predicted class and
                    e_k the input embedding of token k                          [K]
  leave_one_out     a classifier: p_c(input) − p_c(input without token k)       [K]
                    a bare encoder: 1 − cos(pooled(input), pooled(input without token k)),
                    pooled = the mean of the last hidden states (sentence-transformers pooling)
Leaving a token out deletes its id (and its token type) and keeps the special tokens, so the
K shortened inputs have one length and run as one batch.

The map read: a classifier reads [CLS], so its last-layer rollout row of the first cls token;
a mean-pooled encoder reads every token, so the mean of the last-layer rollout rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch

from models.extract.forward import run_forward
from models.load.loading import LoadedModel
from models.mixing.run import ContextMixing
from models.mixing.value_zeroing import one_minus_cos

Truth = Literal["gradient_x_input", "leave_one_out"]
Reader = Literal["cls", "mean"]


def average_ranks(values: np.ndarray) -> np.ndarray:
    """[K] → [K] float ranks from 1, tied values sharing the mean of their ranks."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    start = 0
    while start < values.size:
        stop = start
        while stop + 1 < values.size and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ of two [K] vectors (Pearson's r of their average ranks); nan when either
    is constant or K < 2."""
    if len(a) != len(b):
        raise ValueError(f"spearman needs two vectors of one length; got {len(a)} and {len(b)}")
    if len(a) < 2:
        return float("nan")
    ra, rb = average_ranks(a) - (len(a) + 1) / 2, average_ranks(b) - (len(b) + 1) / 2
    scale = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / scale) if scale > 0 else float("nan")


def content_positions(mixing: ContextMixing) -> np.ndarray:
    """[K] positions of the tokens that are neither cls nor sep."""
    special = set(mixing.cls_positions) | set(mixing.sep_positions)
    return np.array([i for i in range(len(mixing.tokens)) if i not in special], dtype=np.int64)


def map_scores(mixing: ContextMixing, measure: str, reader: Reader) -> np.ndarray:
    """The last-layer rollout's weight on each content token → [K] ("cls": the first cls
    token's row; "mean": the mean of all rows)."""
    last = np.asarray(mixing.rollout[measure][-1], dtype=np.float64)  # [N, N]
    row = last[mixing.cls_positions[0]] if reader == "cls" else last.mean(axis=0)
    return row[content_positions(mixing)]


def faithfulness(mixing: ContextMixing, truths: Mapping[str, np.ndarray], reader: Reader) -> dict:
    """measure → {truth name: ρ} for every measure of `mixing` and every [K] ground truth."""
    return {
        measure: {name: spearman(map_scores(mixing, measure, reader), truth) for name, truth in truths.items()}
        for measure in mixing.measures
    }


def without_each(inputs: Mapping[str, torch.Tensor], positions: Sequence[int]) -> dict[str, torch.Tensor]:
    """The batch of `inputs` ([1, N] each) with one of `positions` deleted per item → [K, N − 1]."""
    n = inputs["input_ids"].shape[1]
    keep = torch.stack([torch.tensor([j for j in range(n) if j != k]) for k in positions])  # [K, N − 1]
    return {name: tensor[0][keep] for name, tensor in inputs.items()}


def pooled_leave_one_out(loaded: LoadedModel, inputs: Mapping[str, torch.Tensor], positions: Sequence[int]):
    """A bare encoder's leave-one-out truth → [K]: 1 − cos between the mean-pooled last hidden
    states of the input and of the input without each token (one batched pass, run_forward)."""
    full = run_forward(loaded, dict(inputs)).output.last_hidden_state[0].mean(dim=0)  # [D]
    shortened = run_forward(loaded, without_each(inputs, positions)).output.last_hidden_state.mean(dim=1)  # [K, D]
    return one_minus_cos(full.unsqueeze(0).double(), shortened.double()).numpy()


def classifier_truths(classifier: torch.nn.Module, inputs: Mapping[str, torch.Tensor], positions: Sequence[int]):
    """Both ground truths of a sequence classifier (its own module, in eval mode) → name → [K].

    gradient×input needs autograd, so the classifier runs here, not through run_forward's
    inference-mode pass: its input embeddings are a leaf tensor and the predicted logit is
    differentiated with respect to them.  No hook is registered.
    """
    embed = classifier.get_input_embeddings()
    rest = {name: tensor for name, tensor in inputs.items() if name != "input_ids"}
    with torch.enable_grad():
        embeddings = embed(inputs["input_ids"]).detach().requires_grad_(True)  # [1, N, D]
        logits = classifier(inputs_embeds=embeddings, **rest).logits[0]  # [C]
        predicted = int(logits.argmax())
        (gradient,) = torch.autograd.grad(logits[predicted], embeddings)
    index = torch.as_tensor(list(positions))
    grad_x_input = torch.linalg.vector_norm(gradient[0] * embeddings[0].detach(), dim=-1)[index]
    with torch.inference_mode():
        probability = torch.softmax(logits.detach(), dim=-1)[predicted]
        shortened = torch.softmax(classifier(**without_each(inputs, positions)).logits, dim=-1)[:, predicted]
    return {
        "gradient_x_input": grad_x_input.double().numpy(),
        "leave_one_out": (probability - shortened).double().numpy(),
    }
