"""By-hand check: `cli.py corpus FILE` against averaging `cli.py analyze` over FILE's lines.

  python scripts/check_corpus_cli.py FILE [--engine local|ray] [--subprocess-sample K]

Runs `cli.py corpus FILE --engine E` as a process, then `cli.py analyze LINE` for every
non-blank line through cli.main in this process (the model is loaded once instead of once
per line; everything else is the CLI's own code path), and K randomly chosen lines also as
real `cli.py analyze` processes, which must print the very same JSON.  Prints the largest
difference between the corpus per-head means and the averaged analyze documents.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--subprocess-sample", type=int, default=10)
    args = parser.parse_args()

    completed = subprocess.run(
        [sys.executable, "cli.py", "corpus", args.file, "--engine", args.engine],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    corpus = json.loads(completed.stdout)
    lines = [line for line in Path(args.file).read_text(encoding="utf-8").splitlines() if line.strip()]

    import cli
    import models.load.loading

    models.load.loading.load_model = functools.lru_cache(maxsize=2)(models.load.loading.load_model)
    documents = {}
    for line in lines:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli.main(["analyze", line]) == 0
        documents[line] = json.loads(out.getvalue())
    for line in random.Random(0).sample(lines, min(args.subprocess_sample, len(lines))):
        alone = subprocess.run(
            [sys.executable, "cli.py", "analyze", line], capture_output=True, text=True, cwd=ROOT, check=True
        )
        assert json.loads(alone.stdout) == documents[line], f"in-process and process JSON differ for {line!r}"

    worst = 0.0
    for name, values in corpus["scores"].items():
        expected = np.mean([documents[line]["scores"][name] for line in lines], axis=0)
        worst = max(worst, float(np.abs(np.array(values["mean"]) - expected).max()))
    for part, values in corpus["partition"].items():
        expected = np.mean([documents[line]["partition"][part] for line in lines], axis=0)
        worst = max(worst, float(np.abs(np.array(values["mean"]) - expected).max()))
    roles = np.array([documents[line]["roles"] for line in lines])
    role_gap = max(
        float(np.abs(np.array(share) - (roles == role).mean(0)).max()) for role, share in corpus["roles"].items()
    )
    print(
        f"{args.engine}: {corpus['sentences']} sentences in the corpus document, {len(lines)} lines analysed "
        f"one by one ({min(args.subprocess_sample, len(lines))} of them also as separate processes, same JSON)"
    )
    print(f"largest |corpus mean − mean of analyze| over every score and partition part, per head: {worst:.2e}")
    print(f"largest role-share difference: {role_gap:.2e}")
    print("PASS" if worst <= 1e-5 and corpus["sentences"] == len(lines) else "FAIL")


if __name__ == "__main__":
    main()
