"""Where the model runs: `auto` (a CUDA GPU when torch sees one, else the CPU), `cpu` or `cuda`.

The model moves; nothing else does.  models.extract.forward.run_forward sends each input to the
model's device and brings every output and captured tensor back to the CPU as float32
(the models load in float32), so every score is computed by the same CPU code on either
device: the GPU speeds up the forward pass, and the numbers keep their meaning.
"""

from __future__ import annotations

import os
from typing import get_args

import torch

from models.types import DeviceChoice

DEVICE_CHOICES: tuple[DeviceChoice, ...] = get_args(DeviceChoice)
DEVICE_ENV = "ATTENTION_MAPS_DEVICE"  # the app's choice (the command line has --device)

ERR_NO_CUDA = (
    "--device cuda: torch sees no CUDA GPU on this machine (torch {version}, CUDA build: {build}); "
    "use --device cpu, or auto to take a GPU only when there is one."
)
ERR_CHOICE = "Unknown device {name!r}; the choices are: {choices}."


class DeviceError(ValueError):
    """A device that cannot be used here; the message says why and what to use instead."""


def resolve_device(choice: str | None = "auto") -> torch.device:
    """The torch device for a choice (None: auto).  Raises DeviceError for cuda without a GPU."""
    choice = choice or "auto"
    if choice not in DEVICE_CHOICES:
        raise DeviceError(ERR_CHOICE.format(name=choice, choices=", ".join(DEVICE_CHOICES)))
    if choice == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if choice == "cuda":
        raise DeviceError(ERR_NO_CUDA.format(version=torch.__version__, build=torch.version.cuda or "none"))
    return torch.device("cpu")


def app_device() -> torch.device:
    """The app's device: ATTENTION_MAPS_DEVICE (auto when unset)."""
    return resolve_device(os.environ.get(DEVICE_ENV) or "auto")


def describe(device: torch.device) -> str:
    """'cpu', or 'cuda:0 (the GPU's name)'."""
    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def model_device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def to_cpu(value):
    """A tensor, or a tuple/list/dict of them, on the CPU (same dtype)."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, (tuple, list)):
        return type(value)(to_cpu(item) for item in value)
    if isinstance(value, dict):
        return {key: to_cpu(item) for key, item in value.items()}
    return value
