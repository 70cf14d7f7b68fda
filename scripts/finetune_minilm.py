"""Fine-tune the embedded MiniLM on a tiny sentiment task, offline, and save it for `cli.py compare`.

  python scripts/finetune_minilm.py [--steps 200] [--out out/minilm-finetuned] [--data models/data/sentiment.tsv]

The task: 200 short sentences the team wrote (models/data/sentiment.tsv), labelled positive or
negative; 40 are held out.  The classifier is one linear layer on the last layer's [CLS]
vector ([CLS] pooling).  The word embeddings stay frozen (the attention layers are what we
compare, and it halves the optimiser's work).  One thread by default: on a busy 2-core
machine two threads spin against each other (a step measured 6× slower).  The encoder is
saved as a BERT safetensors folder with the tokenizer (loadable by `load_model(path)`),
the head as classifier.safetensors, and the run's numbers as finetune.json.  Deterministic
for a given seed and thread count.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("negative", "positive")
HELD_OUT = 40


def read_examples(path: Path) -> list[tuple[str, int]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], LABELS.index(row["label"])) for row in csv.DictReader(handle, delimiter="\t")]


def accuracy(encoder, head, tokenizer, examples) -> float:
    encoder.eval()
    with torch.no_grad():
        batch = tokenizer([text for text, _ in examples], padding=True, return_tensors="pt")
        logits = head(encoder(**batch).last_hidden_state[:, 0])
    encoder.train()
    labels = torch.tensor([label for _, label in examples])
    return float((logits.argmax(-1) == labels).float().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None, help="default: models/data/sentiment.tsv")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "minilm-finetuned")
    args = parser.parse_args(argv)

    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    sys.path.insert(0, str(ROOT))
    from models.examples import sentiment_sentences
    from models.load.loading import embedded_model_path

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    started = time.perf_counter()
    source = str(embedded_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    encoder = AutoModel.from_pretrained(source, attn_implementation="sdpa", use_safetensors=True).train()
    head = torch.nn.Linear(encoder.config.hidden_size, len(LABELS))
    examples = read_examples(args.data or sentiment_sentences())
    random.Random(args.seed).shuffle(examples)
    held_out, train = examples[:HELD_OUT], examples[HELD_OUT:]
    before = accuracy(encoder, head, tokenizer, held_out)
    encoder.embeddings.requires_grad_(False)
    trained = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
    optimiser = torch.optim.AdamW(trained, lr=args.lr)
    order = random.Random(args.seed + 1)
    losses = []
    for step in range(args.steps):
        batch = order.sample(train, args.batch)
        inputs = tokenizer([text for text, _ in batch], padding=True, return_tensors="pt")
        logits = head(encoder(**inputs).last_hidden_state[:, 0])  # [CLS] pooling
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([label for _, label in batch]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}/{args.steps}  loss {sum(losses[-50:]) / 50:.3f}", flush=True)
    after = accuracy(encoder, head, tokenizer, held_out)
    seconds = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    encoder.eval().save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    save_file(
        {"weight": head.weight.detach().contiguous(), "bias": head.bias.detach().contiguous()},
        str(args.out / "classifier.safetensors"),
    )
    report = {
        "base": "minilm",
        "task": "sentiment (models/data/sentiment.tsv)",
        "labels": list(LABELS),
        "steps": args.steps,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "threads": args.threads,
        "train_examples": len(train),
        "held_out": len(held_out),
        "held_out_accuracy_before": round(before, 3),
        "held_out_accuracy_after": round(after, 3),
        "final_loss": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4),
        "seconds": round(seconds, 1),
    }
    (args.out / "finetune.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
