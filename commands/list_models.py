"""`cli.py models`: the model registry, one line per model."""

from __future__ import annotations

import argparse

from commands.lang import pad, width
from i18n import _


def add_parser(commands) -> None:
    commands.add_parser("models", help=_("list the model registry"))


def run(_args: argparse.Namespace) -> str:
    from models.load.registry import REGISTRY

    key_width = max(len(key) for key in REGISTRY)
    limits = {key: _("{count} tokens").format(count=spec.max_tokens) for key, spec in REGISTRY.items()}
    limit_width = max(width(limit) for limit in limits.values())
    return "\n".join(
        f"{spec.key:<{key_width}}  {spec.family:<10}  {pad(limits[spec.key], limit_width)}  {spec.description}"
        for spec in REGISTRY.values()
    )
