"""Importing the engine changes nothing global: transformers' logging and progress bars stay
as they were, no thread is started and no environment variable is set (a notebook that
imports models/ keeps its own settings; only the app and the command line quiet transformers)."""

import subprocess
import sys

from tiers import ROOT

PROBE = """
import os, threading, pkgutil, importlib
import torch, transformers, plotly.graph_objects  # third-party imports set their own variables first
from transformers import AutoModel, AutoTokenizer
before_env = dict(os.environ)
from transformers.utils import logging as hf_logging
level, bars, threads = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled(), threading.active_count()
import models, viz, commands
for package in (models, viz, commands):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name != "commands.main":
            importlib.import_module(module.name)
assert hf_logging.get_verbosity() == level, ("verbosity", hf_logging.get_verbosity(), level)
assert hf_logging.is_progress_bar_enabled() == bars, "progress bars"
assert threading.active_count() == threads, ("threads", threading.enumerate())
changed = {k for k in set(os.environ) | set(before_env) if os.environ.get(k) != before_env.get(k)}
changed = {k for k in changed if not k.startswith("TORCHINDUCTOR_")}  # torch's own, set as its submodules load
assert not changed, changed
print("ok")
"""


def test_importing_every_module_of_the_engine_has_no_global_effect():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
