"""--device on a machine without a GPU (CI's): cuda is refused with one line before any work,
cpu and auto give the default run's numbers, and the app says where its models run."""

import json

import pytest
import torch
from cli_process import run_cli

from models.examples import sample_corpus
from models.load.device import DeviceError, resolve_device
from models.load.loading import ModelLoadError, load_model

NO_GPU = not torch.cuda.is_available()


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU: cuda is not refused")
def test_cuda_without_a_gpu_is_refused_in_one_line():
    with pytest.raises(DeviceError, match="torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ModelLoadError, match="use --device cpu, or auto"):
        load_model("minilm", device="cuda")
    for command in (
        ("analyze", "A short sentence."),
        ("corpus", str(sample_corpus()), "--limit", "4"),
        ("compare", "A short sentence.", "--model-a", "minilm", "--model-b", "minilm"),
    ):
        completed = run_cli(*command, "--device", "cuda")
        assert completed.returncode == 2, completed.stderr
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and "--device cuda: torch sees no CUDA GPU" in lines[0], completed.stderr
        assert completed.stdout == ""


def test_cpu_and_auto_give_the_default_numbers():
    plain = run_cli("analyze", "The dog chased the cat.")
    assert plain.returncode == 0, plain.stderr
    for device in ("cpu", "auto"):
        chosen = run_cli("analyze", "The dog chased the cat.", "--device", device)
        assert chosen.returncode == 0, chosen.stderr
        assert json.loads(chosen.stdout) == json.loads(plain.stdout)
    assert resolve_device("auto").type == ("cpu" if NO_GPU else "cuda")
    with pytest.raises(DeviceError, match="Unknown device 'tpu'"):
        resolve_device("tpu")


def test_every_model_command_takes_device():
    from cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, command in commands.items():
        options = {option for action in command._actions for option in action.option_strings}
        assert ("--device" in options) == (name != "models"), name
