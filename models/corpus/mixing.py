"""Context mixing over a corpus: each measure's mixing ratio and [CLS]/[SEP] shares per layer,
averaged over sentences with their spread (`cli.py corpus FILE --mixing`, both engines).

Each sentence runs through models.mixing.run.context_mixing, the route of `cli.py mixing` and
the app, so a corpus mean is the mean of what those show sentence by sentence.  That is one
more forward pass per sentence (the measures need one sentence's layer inputs unpadded), and
value zeroing, when asked for, about N layer reruns more.

MixingStats is mergeable like models.corpus.stats.CorpusStats (the Ray engine merges the
workers' parts), and its `summary` is what models.mixing.diagnosis reads, so the corpus gets
the no-op reading of one input with corpus means in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.corpus.batch import Encoded
from models.corpus.stats import Moments
from models.extract.attention import InputError
from models.load.loading import LoadedModel
from models.mixing.measures import Measure
from models.mixing.run import context_mixing

QUANTITIES = ("mixing_ratio", "to_cls", "to_sep")  # each measure → [L] per sentence


@dataclass(frozen=True)
class MixingSummary:
    """The corpus means in the shape models.mixing.diagnosis reads (measure → [L])."""

    measures: tuple[Measure, ...]
    mixing_ratio: Mapping[str, np.ndarray]
    to_cls: Mapping[str, np.ndarray]
    to_sep: Mapping[str, np.ndarray]
    cls_token: str | None
    sep_token: str | None
    unnormalised: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class MixingStats:
    """Mergeable per-layer context-mixing aggregates.

    measures   the measures computed, in MEASURES order
    moments    quantity (QUANTITIES) → measure → Moments of [L] over sentences
    sentences  sentences measured; skipped: sentences the measures could not read
    cls_token, sep_token  the model's special tokens as the sentences show them
    """

    measures: tuple[Measure, ...] = ()
    moments: Mapping[str, Mapping[str, Moments]] = field(default_factory=dict)
    sentences: int = 0
    skipped: int = 0
    cls_token: str | None = None
    sep_token: str | None = None

    def merge(self, other: MixingStats) -> MixingStats:
        if not other.sentences and not other.skipped:
            return self
        if not self.sentences and not self.skipped:
            return other
        moments = {
            quantity: {measure: part.merge(other.moments[quantity][measure]) for measure, part in parts.items()}
            for quantity, parts in self.moments.items()
        } or other.moments
        return MixingStats(
            self.measures or other.measures,
            moments,
            self.sentences + other.sentences,
            self.skipped + other.skipped,
            self.cls_token or other.cls_token,
            self.sep_token or other.sep_token,
        )

    def summary(self) -> MixingSummary:
        means = {q: {m: np.asarray(moments.mean) for m, moments in self.moments.get(q, {}).items()} for q in QUANTITIES}
        return MixingSummary(self.measures, *(means[q] for q in QUANTITIES), self.cls_token, self.sep_token)


def mixing_stats(loaded: LoadedModel, sentences: Sequence[Encoded], measures: Sequence[Measure]) -> MixingStats:
    """The measures of each sentence (context_mixing), folded into MixingStats."""
    values: dict[str, dict[str, list[np.ndarray]]] = {q: {m: [] for m in measures} for q in QUANTITIES}
    cls_token = sep_token = None
    skipped = 0
    for sentence in sentences:
        try:
            mixing = context_mixing(loaded, sentence.text, sentence.text_b, measures)
        except InputError:  # nothing but special tokens once cut: the scores skip it too
            skipped += 1
            continue
        cls_token, sep_token = cls_token or mixing.cls_token, sep_token or mixing.sep_token
        for quantity in QUANTITIES:
            table = getattr(mixing, quantity)
            for measure in measures:
                values[quantity][measure].append(np.asarray(table[measure], dtype=np.float64))
    measured = len(sentences) - skipped
    if not measured:
        return MixingStats(tuple(measures), {}, 0, skipped)
    moments = {q: {m: Moments.of(np.stack(series)) for m, series in parts.items()} for q, parts in values.items()}
    return MixingStats(tuple(measures), moments, measured, skipped, cls_token, sep_token)
