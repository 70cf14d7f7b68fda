"""Context-mixing section of bench/main.py (issue 18's targets), on the paths users run.

Measures 1–6 (models.mixing.run.context_mixing, as `cli.py mixing` and the app's "What really
moves" section call it) at N = 128 on `minilm`, against the bare forward pass with attentions:
  time     median of interleaved rounds                           target ≤ 1.5×
  memory   peak resident memory, each in a fresh process: the whole process, and what each
           adds above the loaded model                            target ≤ 1.5×
Value zeroing at N = 128 on `minilm`: the engine's batched reruns (value zeroing alone, one
forward pass included) against the straightforward implementation, which reruns each layer
once per token with a hook zeroing that token's value projection (the same forward pass
first, 1 − cos by the same stable formula).  Target ≥ 3× faster, and the two raw matrices
equal to 1e-5.
`cli.py analyze` of a 4,096-token document on `minilm-longformer` (window 512, global [CLS]),
as a whole process (imports, loading, analysis, JSON to a pipe), against a process that loads
the same model and runs only its forward pass with attentions on the same input: wall time
(target ≤ 1.3×) and peak memory (target ≤ 1.5×).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
N_MIXING = 128
TIME_TARGET = MEMORY_TARGET = 1.5
VZ_SPEED_TARGET, VZ_TOLERANCE = 3.0, 1e-5
CLI_N, CLI_WINDOW = 4096, 512
CLI_TIME_TARGET, CLI_MEMORY_TARGET = 1.3, 1.5


def _status_mb(field: str) -> float:
    """VmRSS or VmHWM of this process in MB (/proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(mode: str) -> dict:
    """In a fresh process: after loading minilm, the peak-RSS mark is reset (/proc/self/clear_refs),
    then one `mode` pass ("forward" or "mixing") at N_MIXING tokens; → the resident MB before it,
    and the peak during it."""
    from main import text_of

    from models.load.loading import load_model
    from models.mixing.run import context_mixing

    loaded = load_model("minilm")
    text = text_of(loaded, N_MIXING)
    inputs = loaded.tokenizer(text, return_tensors="pt")
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again from now
    loaded_mb = _status_mb("VmRSS")
    if mode == "forward":
        with torch.inference_mode():
            loaded.model(**inputs, output_attentions=True)
    else:
        context_mixing(loaded, text, None, FIRST_SIX)
    return {"loaded_mb": loaded_mb, "peak_mb": _status_mb("VmHWM")}


FIRST_SIX = ("attention", "attention_norm", "attention_norm_res", "attention_norm_res_ln", "globenc", "alti")


def naive_value_zeroing(loaded, text: str) -> list[np.ndarray]:
    """[L] × [N, N] raw 1 − cos(h_i, h_i^(−j)): one forward pass, then each layer rerun once per
    key j with a hook zeroing the value projection's output at j (nothing batched, nothing skipped)."""
    from models.mixing.value_zeroing import one_minus_cos

    inputs = loaded.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        hidden = loaded.model(**inputs, output_hidden_states=True).hidden_states
        raws = []
        for index, layer in enumerate(loaded.model.encoder.layer):
            x, base = hidden[index], hidden[index + 1][0]
            n = x.shape[1]
            raw = np.empty((n, n), dtype=np.float32)
            for j in range(n):

                def zero_key(_module, _inputs, output, j=j):
                    return output.index_fill(1, torch.tensor([j]), 0.0)

                handle = layer.attention.self.value.register_forward_hook(zero_key)
                try:
                    out = layer(x)
                finally:
                    handle.remove()
                changed = (out[0] if isinstance(out, tuple) else out)[0]
                raw[:, j] = one_minus_cos(base, changed).numpy()
            raws.append(raw)
    return raws


def mixing_cells(repeats: int) -> None:
    from main import interleaved_ms, text_of

    from models.load.loading import load_model
    from models.mixing.run import context_mixing

    loaded = load_model("minilm")
    text = text_of(loaded, N_MIXING)
    inputs = loaded.tokenizer(text, return_tensors="pt")

    def forward():
        with torch.inference_mode():
            loaded.model(**inputs, output_attentions=True)

    times = interleaved_ms(
        {"forward": forward, "mixing": lambda: context_mixing(loaded, text, None, FIRST_SIX)}, repeats
    )
    print(f"\nminilm, N = {N_MIXING}, torch threads {torch.get_num_threads()}, median of {repeats} interleaved rounds")
    print(f"{'':>28} {'forward':>9} {'measures 1-6':>13} {'ratio':>6} {'target':>7}")
    ratio = times["mixing"] / times["forward"]
    print(
        f"{'time (ms)':>28} {times['forward']:>9.1f} {times['mixing']:>13.1f} {ratio:>6.2f}"
        f" {'≤ ' + str(TIME_TARGET):>7}"
    )
    cells = {mode: _child(["--mixing-child", mode]) for mode in ("forward", "mixing")}
    bare, whole = cells["forward"], cells["mixing"]
    print(
        f"{'peak memory, process (MB)':>28} {bare['peak_mb']:>9.0f} {whole['peak_mb']:>13.0f}"
        f" {whole['peak_mb'] / bare['peak_mb']:>6.2f} {'≤ ' + str(MEMORY_TARGET):>7}"
    )
    added_bare = max(bare["peak_mb"] - bare["loaded_mb"], 1.0)
    added_whole = max(whole["peak_mb"] - whole["loaded_mb"], 1.0)
    print(
        f"{'above the loaded model (MB)':>28} {added_bare:>9.0f} {added_whole:>13.0f}"
        f" {added_whole / added_bare:>6.2f} {'≤ ' + str(MEMORY_TARGET):>7}"
    )

    start = time.perf_counter()
    engine = context_mixing(loaded, text, None, ("value_zeroing",))
    engine_s = time.perf_counter() - start
    start = time.perf_counter()
    naive = naive_value_zeroing(loaded, text)
    naive_s = time.perf_counter() - start
    difference = _vz_difference(engine, naive)
    print(
        f"value zeroing, {len(naive)} layers × {N_MIXING} keys: engine {engine_s:.2f} s, one rerun per token"
        f" {naive_s:.2f} s, speed-up {naive_s / engine_s:.1f}× (target ≥ {VZ_SPEED_TARGET:.0f}×);"
        f" largest difference {difference:.1e} (target ≤ {VZ_TOLERANCE:.0e})"
    )


def _vz_difference(engine, naive: list[np.ndarray]) -> float:
    """Largest |engine − naive| over the row-normalised matrices (the rows the engine leaves
    unnormalised, below its noise floor, compared as its zeros)."""
    worst = 0.0
    for index, raw in enumerate(naive):
        matrix = np.asarray(engine.layers["value_zeroing"][index], dtype=np.float64)
        totals = raw.sum(axis=-1, keepdims=True)
        normalised = np.where(matrix.sum(axis=-1, keepdims=True) > 0, raw / np.maximum(totals, 1e-30), 0.0)
        worst = max(worst, float(np.abs(matrix - normalised).max()))
    return worst


def forward_child() -> dict:
    """In a fresh process, what `cli.py analyze` can do no faster: load minilm-longformer,
    tokenise the CLI_N-token document, one forward pass with attentions."""
    from main import text_of

    from models.load.loading import load_model

    loaded = load_model("minilm-longformer", CLI_WINDOW)
    inputs = loaded.tokenizer(text_of(loaded, CLI_N), return_tensors="pt")
    global_mask = torch.zeros_like(inputs["input_ids"])
    global_mask[0, 0] = 1
    with torch.inference_mode():
        loaded.model(**inputs, global_attention_mask=global_mask, output_attentions=True)
    return {}


def _run_measured(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process; its output goes to a temporary file
    (the JSON of a long document is far larger than a pipe holds)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{command[:3]} failed: {err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def cli_cells() -> None:
    from main import text_of

    from models.load.loading import load_model

    text = text_of(load_model("minilm-longformer", CLI_WINDOW), CLI_N)
    bare_s, bare_mb = _run_measured([sys.executable, __file__, "--forward-child"])
    cli = [sys.executable, str(ROOT / "cli.py"), "analyze", text, "--model", "minilm-longformer"]
    cli_s, cli_mb = _run_measured([*cli, "--window", str(CLI_WINDOW), "--format", "json"])
    print(f"\ncli.py analyze, {CLI_N} tokens on minilm-longformer (window {CLI_WINDOW}), whole processes")
    print(f"{'':>16} {'forward only':>13} {'cli.py analyze':>15} {'ratio':>6} {'target':>7}")
    print(
        f"{'wall time (s)':>16} {bare_s:>13.2f} {cli_s:>15.2f} {cli_s / bare_s:>6.2f} {'≤ ' + str(CLI_TIME_TARGET):>7}"
    )
    print(
        f"{'peak memory (MB)':>16} {bare_mb:>13.0f} {cli_mb:>15.0f} {cli_mb / bare_mb:>6.2f}"
        f" {'≤ ' + str(CLI_MEMORY_TARGET):>7}"
    )


def _child(flags: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *flags], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mixing_section(repeats: int, with_cli: bool = True) -> None:
    mixing_cells(repeats)
    if with_cli:
        cli_cells()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if sys.argv[1:2] == ["--mixing-child"]:
        print(json.dumps(memory_child(sys.argv[2])))
    elif sys.argv[1:2] == ["--forward-child"]:
        forward_child()
    else:
        mixing_section(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
