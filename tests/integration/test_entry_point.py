"""The installed command: `.venv/bin/attention-maps`, run from another directory, prints what
`python cli.py` prints in the checkout (make installs the project into .venv, editable)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiers import IN_CI, ROOT

COMMAND = Path(sys.executable).with_name("attention-maps")


def test_attention_maps_from_another_directory_prints_the_cli_json(tmp_path):
    if not COMMAND.exists():
        if IN_CI:
            pytest.fail(f"{COMMAND} is missing: make installs the project into the venv")
        pytest.skip("the project is not installed into this venv (make does it)")
    args = ["analyze", "The dog chased the cat.", "--format", "json"]
    env = {**os.environ, "PYTHONPATH": ""}  # nothing but the installation finds the code
    installed = subprocess.run([str(COMMAND), *args], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr
    script = subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True)
    assert script.returncode == 0, script.stderr
    assert installed.stdout == script.stdout
    bad = subprocess.run([str(COMMAND), "analyze", ""], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("the text is empty: give a sentence to analyse")
    assert shutil.which("attention-maps", path=str(COMMAND.parent)) == str(COMMAND)
