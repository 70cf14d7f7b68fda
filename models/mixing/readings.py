"""What the dense and the banded context-mixing results share (run.ContextMixing,
banded.BandedMixing): their per-measure tables are frozen on construction, and both name
their cls and sep tokens the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from models.frozen import read_only
from models.types import Measure


@dataclass(frozen=True, eq=False)
class MixingReadings:
    """The fields the two results share (their docstrings say what each holds).

    `layers` maps each measure to arrays (dense) or to per-layer BandedMatrix tuples (banded);
    `rollout`, `mixing_ratio`, `to_cls` and `to_sep` map each measure to an array.
    """

    tokens: tuple[str, ...]
    cls_positions: tuple[int, ...]
    sep_positions: tuple[int, ...]
    model: str
    measures: tuple[Measure, ...]
    layers: Mapping[str, np.ndarray | tuple]
    rollout: Mapping[str, np.ndarray]
    mixing_ratio: Mapping[str, np.ndarray]
    to_cls: Mapping[str, np.ndarray]
    to_sep: Mapping[str, np.ndarray]
    sink_rate: np.ndarray
    sink_keys: np.ndarray

    def __post_init__(self):
        for name in ("layers", "rollout", "mixing_ratio", "to_cls", "to_sep"):
            table = {key: _frozen_entry(value) for key, value in getattr(self, name).items()}
            object.__setattr__(self, name, MappingProxyType(table))
        for name in ("sink_rate", "sink_keys"):
            object.__setattr__(self, name, read_only(getattr(self, name)))

    @property
    def cls_token(self) -> str | None:
        """The cls token's string ("[CLS]", "<s>"), or None when the input has none."""
        return self.tokens[self.cls_positions[0]] if self.cls_positions else None

    @property
    def sep_token(self) -> str | None:
        return self.tokens[self.sep_positions[0]] if self.sep_positions else None


def _frozen_entry(value):
    """An array, read-only; a tuple of BandedMatrix (already frozen) as it is."""
    return value if isinstance(value, tuple) else read_only(value)
