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
K shortened inputs have one length and run in batches of LEAVE_ONE_OUT_BATCH.

The map read: a classifier reads [CLS], so its last-layer rollout row of the first cls token;
a mean-pooled encoder reads every token, so the mean of the last-layer rollout rows.

`sentence_faithfulness` runs one input end to end (the measures, then the ground truths of the
head models/mixing/classifier.py found, or of the pooled encoder); `corpus_faithfulness`
averages each ρ over sentences with a 95% t interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

from models.corpus.stats import t_quantile
from models.extract.attention import ERR_EMPTY, InputError, cut_text, encode_text
from models.extract.forward import run_forward
from models.load.device import model_device
from models.load.families import forward_inputs
from models.load.loading import LoadedModel
from models.mixing.classifier import Classifier
from models.mixing.run import ContextMixing, check_family, context_mixing
from models.mixing.value_zeroing import one_minus_cos

Truth = Literal["gradient_x_input", "leave_one_out"]
Reader = Literal["cls", "mean"]
TRUTHS: tuple[Truth, ...] = get_args(Truth)
LEAVE_ONE_OUT_BATCH = 32  # shortened inputs per forward pass: K × N tokens would not fit at N = 512


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
    device = inputs["input_ids"].device
    keep = torch.stack([torch.tensor([j for j in range(n) if j != k], device=device) for k in positions])  # [K, N − 1]
    return {name: tensor[0][keep] for name, tensor in inputs.items()}


def _batches(positions: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(positions), LEAVE_ONE_OUT_BATCH):
        yield positions[start : start + LEAVE_ONE_OUT_BATCH]


def pooled_leave_one_out(loaded: LoadedModel, inputs: Mapping[str, torch.Tensor], positions: Sequence[int]):
    """A bare encoder's leave-one-out truth → [K]: 1 − cos between the mean-pooled last hidden
    states of the input and of the input without each token (batched passes, run_forward)."""
    full = run_forward(loaded, dict(inputs)).output.last_hidden_state[0].mean(dim=0)  # [D]
    shortened = torch.cat(
        [
            run_forward(loaded, without_each(inputs, batch)).output.last_hidden_state.mean(dim=1)  # [B, D]
            for batch in _batches(list(positions))
        ]
    )  # [K, D]
    return one_minus_cos(full.unsqueeze(0).double(), shortened.double()).numpy()


def classifier_truths(classifier: torch.nn.Module, inputs: Mapping[str, torch.Tensor], positions: Sequence[int]):
    """Both ground truths of a sequence classifier (its own module, in eval mode) → name → [K].

    gradient×input needs autograd, so the classifier runs here, not through run_forward's
    inference-mode pass: its input embeddings are a leaf tensor and the predicted logit is
    differentiated with respect to them.  No hook is registered.
    """
    embed = classifier.get_input_embeddings()
    device = model_device(classifier)
    inputs = {name: tensor.to(device) for name, tensor in inputs.items()}
    rest = {name: tensor for name, tensor in inputs.items() if name != "input_ids"}
    with torch.enable_grad():
        embeddings = embed(inputs["input_ids"]).detach().requires_grad_(True)  # [1, N, D]
        logits = classifier(inputs_embeds=embeddings, **rest).logits[0]  # [C]
        predicted = int(logits.argmax())
        (gradient,) = torch.autograd.grad(logits[predicted], embeddings)
    index = torch.as_tensor(list(positions), device=device)
    grad_x_input = torch.linalg.vector_norm(gradient[0] * embeddings[0].detach(), dim=-1)[index]  # [K]
    with torch.inference_mode():
        probability = torch.softmax(logits.detach(), dim=-1)[predicted]
        shortened = torch.cat(
            [
                torch.softmax(classifier(**without_each(inputs, batch)).logits, dim=-1)[:, predicted]  # [B]
                for batch in _batches(list(positions))
            ]
        )  # [K]
    return {
        "gradient_x_input": grad_x_input.double().cpu().numpy(),
        "leave_one_out": (probability - shortened).double().cpu().numpy(),
    }


def truth_inputs(loaded: LoadedModel, text: str, text_b: str | None = None) -> dict[str, torch.Tensor]:
    """The forward inputs ([1, N] each, on the CPU) of the input context_mixing runs: the same cut
    and encoding (models.extract.attention), so position k here is token k of the mixing."""
    text_b = text_b if isinstance(text_b, str) and text_b.strip() else None
    tokenizer = loaded.tokenizer
    _prepared, first, second, _chars_cut = cut_text(text, text_b, tokenizer, loaded.spec.max_tokens)
    with loaded.lock:
        encoding = encode_text(tokenizer, first, second, loaded.spec.max_tokens)
    return forward_inputs(loaded.model, encoding)


def ground_truths(
    loaded: LoadedModel, classifier: Classifier | None, inputs: Mapping[str, torch.Tensor], positions: Sequence[int]
) -> dict[str, np.ndarray]:
    """truth name → [K]: both truths of the classifier, or the pooled leave-one-out of a bare encoder."""
    if classifier is None:
        return {"leave_one_out": pooled_leave_one_out(loaded, inputs, positions)}
    return classifier_truths(classifier.module, inputs, positions)


@dataclass(frozen=True)
class SentenceFaithfulness:
    """One input's faithfulness.

    mixing    the ContextMixing the maps come from
    reader    "cls" (a classifier) or "mean" (a bare, mean-pooled encoder)
    content   K, the number of content tokens ranked
    rho       measure → truth → Spearman's ρ; a truth the model has no head for is absent
              (a bare encoder: gradient_x_input); nan where ρ is undefined (K < 2, or a
              constant ranking)
    """

    mixing: ContextMixing
    reader: Reader
    content: int
    rho: Mapping[str, Mapping[str, float]]


def sentence_faithfulness(
    loaded: LoadedModel,
    classifier: Classifier | None,
    text: str,
    text_b: str | None = None,
    measures: Sequence[str] | None = None,
) -> SentenceFaithfulness:
    """The measures of one input (context_mixing) and each one's ρ against the ground truths."""
    check_family(loaded, dense=True)
    return faithfulness_of(loaded, classifier, context_mixing(loaded, text, text_b, measures), text, text_b)


def faithfulness_of(
    loaded: LoadedModel, classifier: Classifier | None, mixing: ContextMixing, text: str, text_b: str | None = None
) -> SentenceFaithfulness:
    """Each measure of `mixing` (already computed for text, text_b on `loaded`) against the
    ground truths: the app reuses the mixing it has drawn, so only the truths run here."""
    inputs = truth_inputs(loaded, text, text_b)
    if inputs["input_ids"].shape[1] != len(mixing.tokens):  # one encoding route: cannot differ
        raise RuntimeError("faithfulness: the ground truth's input differs from the mixing's")
    positions = content_positions(mixing)
    reader: Reader = "mean" if classifier is None else "cls"
    truths = ground_truths(loaded, classifier, inputs, positions.tolist())
    return SentenceFaithfulness(mixing, reader, int(positions.size), faithfulness(mixing, truths, reader))


def ranked(result: SentenceFaithfulness) -> list[tuple[str, Mapping[str, float]]]:
    """(measure, {truth: ρ}) from the most faithful measure down: by ρ against gradient×input
    where the model has a head to differentiate, else against leave-one-out; undefined ρ last."""
    truth = "gradient_x_input" if result.reader == "cls" else "leave_one_out"

    def key(item: tuple[str, Mapping[str, float]]) -> float:
        rho = item[1].get(truth, math.nan)
        return math.inf if math.isnan(rho) else -rho

    return sorted(((measure, result.rho[measure]) for measure in result.mixing.measures), key=key)


@dataclass(frozen=True)
class Interval:
    """A ρ over sentences: the mean, the standard deviation over sentences (sd, ddof 1) and the
    mean's 95% t interval (Student's t, count − 1 degrees of freedom; sd and bounds nan below 2
    sentences), over the `count` sentences where ρ was defined."""

    mean: float
    low: float
    high: float
    sd: float
    count: int


def interval_of(values: Iterable[float]) -> Interval:
    """The Interval of the defined (non-nan) values."""
    kept = np.array([value for value in values if not math.isnan(value)], dtype=np.float64)
    if kept.size == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(kept.mean())
    if kept.size < 2:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    sd = float(kept.std(ddof=1))
    half = t_quantile(kept.size - 1) * sd / math.sqrt(kept.size)
    return Interval(mean, mean - half, mean + half, sd, int(kept.size))


@dataclass(frozen=True)
class CorpusFaithfulness:
    """Faithfulness over sentences.

    reader     as SentenceFaithfulness
    sentences  how many sentences ran; skipped: how many records had no text to rank
    summary    measure → truth → Interval
    """

    reader: Reader
    sentences: int
    skipped: int
    summary: Mapping[str, Mapping[str, Interval]]


def corpus_faithfulness(
    loaded: LoadedModel,
    classifier: Classifier | None,
    pairs: Iterable[tuple[str | None, str | None]],
    measures: Sequence[str],
) -> CorpusFaithfulness:
    """sentence_faithfulness over (text, text_b) pairs, each ρ summarised as an Interval; a
    record without text (blank line, missing field, only special tokens) is skipped and counted."""
    check_family(loaded, dense=True)  # raised here, not counted as a skipped record per sentence
    values: dict[str, dict[str, list[float]]] = {}
    sentences = skipped = 0
    reader: Reader = "mean" if classifier is None else "cls"
    for text, text_b in pairs:
        try:
            if not text or not text.strip():
                raise InputError(ERR_EMPTY)
            result = sentence_faithfulness(loaded, classifier, text, text_b, measures)
        except InputError:  # nothing left to rank (a blank record, only special tokens)
            skipped += 1
            continue
        sentences += 1
        for measure, entry in result.rho.items():
            for truth, rho in entry.items():
                values.setdefault(measure, {}).setdefault(truth, []).append(rho)
    summary = {
        measure: {truth: interval_of(series) for truth, series in entry.items()} for measure, entry in values.items()
    }
    return CorpusFaithfulness(reader, sentences, skipped, summary)
