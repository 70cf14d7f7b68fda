"""Checkpoints of a corpus run: the merged aggregates so far, written atomically, and resumed.

A checkpoint is one `.npz` file (numpy's zip of arrays, read with allow_pickle=False, so
opening one runs no code): every float64/int64 array of the merged CorpusStats bit for bit,
and a JSON header with the rest (counts, top-k texts, where the run stood, and the run's
fingerprint).  Because the aggregates are stored exactly and the engines merge in a fixed
order (the local engine chunk by chunk, the Ray engine split by split), an interrupted and
resumed run gives the same result as an uninterrupted one, to the last bit.

The fingerprint names what the result depends on: the corpus (name, size, format, columns
and the SHA-256 of its bytes), the model as given (a folder by its absolute path) with its
window, the options that change numbers, and the engine.  Resuming with any of them
different is refused with a message naming what differs.

    plan = prepare(path, resume, fingerprint(source, model, window, options, engine))
    run_corpus(loaded, source, options, checkpoint=plan)      # or run_corpus_ray(..., checkpoint=plan)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from models.corpus.io import CorpusInputError
from models.corpus.mixing import MixingStats
from models.corpus.stats import CorpusStats, Moments, TopK, ViewStats
from models.result import ModelInfo

VERSION = 1
HEADER = "header.json"
EVERY_CHUNKS = 4  # a checkpoint every 4 chunks (about 1,000 sentences at the default sizes)
Engine = Literal["local", "ray"]

ERR_EXISTS = (
    "The checkpoint {path} already exists. Add --resume to continue that run, or choose another --checkpoint path."
)
ERR_MISSING = "There is no checkpoint at {path} to resume; run once with --checkpoint {path} first."
ERR_FOLDER = "Cannot write the checkpoint {path}: the folder {folder} does not exist or is not writable."
ERR_STDIN = "--checkpoint needs a corpus file: standard input cannot be read again to resume."
ERR_UNREADABLE = "The checkpoint {path} cannot be read ({reason}); start afresh with another --checkpoint path."
ERR_MISMATCH = (
    "The checkpoint {path} belongs to another run, with a different {what} ({saved} there, {now} now). "
    "Resume with the same corpus, model and options, or start afresh with another --checkpoint path."
)
WHAT = {"corpus": "corpus", "model": "model", "options": "option", "engine": "engine"}


def corpus_digest(source) -> dict:
    """What identifies a corpus: name, size, format, columns and the SHA-256 of its bytes."""
    if not source.seekable:
        raise CorpusInputError(ERR_STDIN)
    digest = hashlib.sha256()
    size = 0
    stream = source.open()
    try:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
    finally:
        if source.path is not None:
            stream.close()
    return {"name": source.name, "size": size, **asdict(source.spec), "sha256": digest.hexdigest()}


def model_identity(model: str, window) -> dict:
    """The model as given: a local folder by its absolute path, a registry key or Hub id as is."""
    folder = Path(model).expanduser()
    return {"name": str(folder.resolve()) if folder.is_dir() else model, "window": window}


def options_identity(options) -> dict:
    """The options that change the numbers (not how often partial results are sent)."""
    return {
        "batch_size": options.batch_size,
        "sort_batches": options.sort_batches,
        "limit": options.limit,
        "top_k": options.top_k,
        "exclude_special": options.exclude_special,
        "thresholds": asdict(options.thresholds),
        "views": list(options.views),
        **({"measures": list(options.measures)} if options.measures else {}),
    }


def fingerprint(source, model: str, window, options, engine: Engine) -> dict:
    return {
        "corpus": corpus_digest(source),
        "model": model_identity(model, window),
        "options": options_identity(options),
        "engine": engine,
    }


@dataclass(frozen=True)
class Checkpoint:
    """Where a run stood.  position: chunks (local engine) or splits (Ray) merged, in order;
    split_records: the Ray engine's records per split (None for the local engine), kept so a
    resumed run cuts the corpus the same way whatever --workers says."""

    fingerprint: dict
    stats: CorpusStats
    position: int
    complete: bool = False
    split_records: int | None = None
    model: ModelInfo | None = None  # None until a chunk was scored (Ray: until a split came back)


@dataclass(frozen=True)
class Checkpointing:
    """A run's checkpoint plan: where to write, how often, and what it resumes (or None)."""

    path: Path
    fingerprint: dict
    resumed: Checkpoint | None = None
    every: int = EVERY_CHUNKS

    def save(
        self,
        stats: CorpusStats,
        position: int,
        model: ModelInfo | None,
        complete: bool = False,
        split_records: int | None = None,
    ) -> None:
        save(self.path, Checkpoint(self.fingerprint, stats, position, complete, split_records, model))


def prepare(path: str | Path, resume: bool, run: dict, every: int = EVERY_CHUNKS) -> Checkpointing:
    """Check a --checkpoint/--resume request before any work: a new checkpoint must not
    overwrite an old one, a resumed one must exist and belong to this very run."""
    path = Path(path).expanduser()
    if not resume and path.exists():
        raise CorpusInputError(ERR_EXISTS.format(path=path))
    if resume and not path.is_file():
        raise CorpusInputError(ERR_MISSING.format(path=path))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise CorpusInputError(ERR_FOLDER.format(path=path, folder=folder))
    resumed = None
    if resume:
        resumed = load(path)
        check_same_run(path, resumed.fingerprint, run)
    return Checkpointing(path, run, resumed, every)


def check_same_run(path: Path, saved: dict, now: dict) -> None:
    for part in WHAT:
        if saved.get(part) != now.get(part):
            detail_saved, detail_now = _first_difference(saved.get(part), now.get(part))
            raise CorpusInputError(
                ERR_MISMATCH.format(path=path, what=_what(part, detail_saved), saved=detail_saved, now=detail_now)
            )


def _first_difference(saved, now) -> tuple[str, str]:
    """The first differing entry of two fingerprint parts, as 'key=value' for the message."""
    if isinstance(saved, dict) and isinstance(now, dict):
        for key in sorted(set(saved) | set(now), key=lambda key: (key == "sha256", key)):  # the digest last
            if saved.get(key) != now.get(key):
                shown = [
                    value[:12] + "…" if key == "sha256" and value else value for value in (saved.get(key), now.get(key))
                ]
                return f"{key}={shown[0]!r}", f"{key}={shown[1]!r}"
    return repr(saved), repr(now)


def _what(part: str, detail: str) -> str:
    if part == "corpus" and detail.startswith(("sha256", "size")):
        return "corpus content"
    return WHAT[part]


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically: a temporary file in the same folder, flushed to disk, then renamed
    over `path`; a run killed mid-write leaves the previous checkpoint whole."""
    arrays: dict[str, np.ndarray] = {}
    header = {
        "version": VERSION,
        "fingerprint": checkpoint.fingerprint,
        "position": checkpoint.position,
        "complete": checkpoint.complete,
        "split_records": checkpoint.split_records,
        "model": asdict(checkpoint.model) if checkpoint.model is not None else None,
        "stats": _encode_stats(checkpoint.stats, arrays),
    }
    arrays[HEADER] = np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            np.savez(out, **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load(path: Path) -> Checkpoint:
    try:
        with open(path, "rb") as handle, np.load(io.BytesIO(handle.read()), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        header = json.loads(bytes(arrays.pop(HEADER)).decode("utf-8"))
        if header.get("version") != VERSION:
            raise ValueError(f"version {header.get('version')!r}, this program writes {VERSION}")
        stats = _decode_stats(header["stats"], arrays)
        model = ModelInfo(**header["model"]) if header.get("model") else None
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CorpusInputError(ERR_UNREADABLE.format(path=path, reason=reason)) from None
    return Checkpoint(
        header["fingerprint"], stats, header["position"], header["complete"], header["split_records"], model
    )


def _keep(array, arrays: dict[str, np.ndarray]) -> str:
    name = f"a{len(arrays)}"
    arrays[name] = np.asarray(array)
    return name


def _restore(name: str, arrays: dict[str, np.ndarray]):
    array = arrays[name]
    return array[()] if array.ndim == 0 else array  # a per-sentence scalar's moments are numpy scalars


def _encode_stats(stats: CorpusStats, arrays: dict[str, np.ndarray]) -> dict:
    views = {}
    for view, chosen in stats.views.items():
        views[view] = {
            "moments": {
                name: [m.count, _keep(m.mean, arrays), _keep(m.m2, arrays)] for name, m in chosen.moments.items()
            },
            "role_counts": _keep(chosen.role_counts, arrays),
            "top": [_keep(getattr(chosen.top, part), arrays) for part in TOP_PARTS],
        }
    return {
        "records": stats.records,
        "sentences": stats.sentences,
        "skipped": dict(stats.skipped),
        "truncated": stats.truncated,
        "views": views,
        "texts": [[index, text, text_b] for index, (text, text_b) in stats.texts.items()],
        "mixing": _encode_mixing(stats.mixing, arrays) if stats.mixing is not None else None,
    }


def _encode_mixing(mixing: MixingStats, arrays: dict[str, np.ndarray]) -> dict:
    return {
        "measures": list(mixing.measures),
        "moments": {
            quantity: {name: [m.count, _keep(m.mean, arrays), _keep(m.m2, arrays)] for name, m in parts.items()}
            for quantity, parts in mixing.moments.items()
        },
        "sentences": mixing.sentences,
        "skipped": mixing.skipped,
        "tokens": [mixing.cls_token, mixing.sep_token],
    }


def _decode_mixing(encoded: dict, arrays: dict[str, np.ndarray]) -> MixingStats:
    moments = {
        quantity: {
            name: Moments(int(count), _restore(mean, arrays), _restore(m2, arrays))
            for name, (count, mean, m2) in parts.items()
        }
        for quantity, parts in encoded["moments"].items()
    }
    cls_token, sep_token = encoded["tokens"]
    measures = tuple(encoded["measures"])
    return MixingStats(measures, moments, int(encoded["sentences"]), int(encoded["skipped"]), cls_token, sep_token)


TOP_PARTS = ("high_value", "high_index", "low_value", "low_index")


def _decode_stats(encoded: dict, arrays: dict[str, np.ndarray]) -> CorpusStats:
    views = {}
    for view, chosen in encoded["views"].items():
        moments = {
            name: Moments(int(count), _restore(mean, arrays), _restore(m2, arrays))
            for name, (count, mean, m2) in chosen["moments"].items()
        }
        top = TopK(*(arrays[name] for name in chosen["top"]))
        views[view] = ViewStats(moments, arrays[chosen["role_counts"]], top)
    return CorpusStats(
        encoded["records"],
        encoded["sentences"],
        dict(encoded["skipped"]),
        encoded["truncated"],
        views,
        {int(index): (text, text_b) for index, text, text_b in encoded["texts"]},
        _decode_mixing(encoded["mixing"], arrays) if encoded.get("mixing") else None,
    )
