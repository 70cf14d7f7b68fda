"""Plain-language help texts shown in the app's collapsible sections (markdown, no HTML).

Each is a translated message (i18n.N_): show it with str() in the language of the moment."""

from __future__ import annotations

from i18n import N_

SCORE_HELP: dict[str, str] = {
    "cls": N_(
        "How much of each token's attention lands on the [CLS] token at the start. "
        "Heads that park most of their attention here are often doing little with the words themselves."
    ),
    "sep": N_(
        "How much attention lands on [SEP], the end-of-sentence marker. Like [CLS], it works as a "
        "place to put attention when a head has nothing specific to look at."
    ),
    "diagonal": N_("How much each token attends to itself."),
    "prev": N_("How much each token attends to the token just before it: a sign of a head that reads word order."),
    "next": N_("How much each token attends to the token just after it."),
    "punct": N_("How much attention goes to full stops and commas."),
    "entropy": N_(
        "How spread out each token's attention is, from 0 (all on one token) to 1 (spread evenly over every token)."
    ),
    "cls_out": N_(
        "How much of the [CLS] token's own attention goes to the words rather than to "
        "special tokens: high values mean [CLS] is reading the sentence."
    ),
}

ROLE_HELP: dict[str, str] = {
    "local": N_(
        "Most attention goes to one fixed neighbour (the previous token, the token itself, or the next token)."
    ),
    "cls": N_("Most attention goes to [CLS] (together with [SEP]), with [CLS] taking the larger part."),
    "sep": N_("Most attention goes to [SEP] (together with [CLS]), with [SEP] taking the larger part."),
    "punct": N_("Most attention goes to full stops and commas."),
    "broad": N_("Attention is spread widely over the sentence, like an average of the words."),
    "mixed": N_("None of the patterns above dominates."),
}

PART_HELP = N_(
    "Each bar splits a layer's attention (averaged over its heads and query tokens) into four parts "
    "that add up to 100%: attention to [CLS], to [SEP], to the token itself and its direct neighbours, "
    "and to every other token."
)

LAYER_STORY = N_(
    """\
In a trained BERT the layers tend to tell a story from bottom to top:

* **Lower layers look at their neighbours.** Many heads attend to the previous or next token,
  so the model first builds up local, word-order information.
* **Middle layers gather into [CLS] and [SEP].** A large share of attention goes to the special
  tokens. This often means a head has nothing useful to do for this input and uses the special
  token as a resting place, while the sentence is pooled into one spot.
* **Top layers' [CLS] looks back over the sentence.** The [CLS] row spreads its attention across
  the words again, which is what makes it usable as a summary of the sentence.

**A warning sign:** if nearly every head in every layer only looks at [CLS] or [SEP], the model
is not reading the words of this input, and its output for it deserves less trust.
"""
)

HEATMAP_HELP = N_(
    "Each row is a query token (the one doing the looking) and each column a key token (the one "
    "being looked at); a row sums to 1. Special and global tokens are outlined with dotted red lines, "
    "and global tokens carry a ★. Hiding special tokens drops their columns and rescales each row "
    "to sum to 1 again, so the attention between words becomes visible."
)

SPARSE_HELP = N_(
    """
Dense attention scores every query against every key: N² numbers. Sparse patterns decide in
advance which pairs to compute, and everything else is treated as zero.

- **Local window W**: each token sees W/2 tokens on each side. Cheap (N·W scores) and
  matches the lower layers, which mostly look at their neighbours.
- **Dilated window**: the same number of keys, spread out with gaps of d tokens, so one
  layer sees further at the same cost.
- **Global tokens**: a few chosen "hub" tokens see every token and are seen by every token.
  Alone they carry only what flows through the hubs.
- **Longformer**: window plus hubs. Any token reaches any other in at most two hops: up to
  a hub, then down from it.
- **BigBird**: window plus hubs plus r random blocks of b keys for each block of queries;
  the random links shorten paths between far-apart tokens.
- **LSH (Reformer)**: queries and keys are hashed with random rotations into buckets, and a
  query only sees keys in its own bucket, so similar vectors meet. It is computed from the
  model's own queries and keys, so it differs per layer and head.
- **Top-k of the real attention**: for each query, the k keys the model actually weighs most.
  No fixed pattern can keep more attention with the same number of pairs, so it is the
  yardstick for the others ("top-k at same density").

**Coverage** is the share of the dense model's real attention that falls inside a pattern.
A pattern with high coverage at low density throws away little of what the model does.
"""
)

DENSE_VS_WINDOW_HELP = N_(
    "`minilm` and `minilm-longformer` carry the same trained weights; the only difference is "
    "which keys each token may look at. Below, the same sentence runs densely and under "
    "Longformer's sliding window (with [CLS] global). Where a head's dense attention lay "
    "outside the window, the window renormalises it onto the keys it can still see: the "
    "difference map shows where that mass went, and the sweep shows how scores and roles "
    "change as the window shrinks."
)

VIEW_HELP = N_(
    """\
**Two views of the same forward pass.**

* **Attention weight** (α): how much each query token *looks at* each key, as the softmax
  assigns it. This is what bertviz and most tools show.
* **Information moved** (norm view): what each head actually *moves* from key j into query i
  is α_ij · f(x_j), where f(x_j) is token j's value vector passed through the head's share of
  the output projection. Its size ‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖ (Kobayashi et al. 2020,
  "Attention is Not Only a Weight", EMNLP). The app divides each row by its total, so every
  score keeps its meaning of "a share of row i"; the raw norms are in the JSON export.

A head can put most of its *weight* on [CLS] or [SEP] while moving almost nothing from them,
because their value vectors are tiny: then heavy [CLS]/[SEP] attention is a resting place
(a no-op), not clogged information flow. The diagnosis compares the two views.

**Words** merge word pieces: attention *to* a word sums its pieces' columns, attention *from*
a word averages its pieces' rows (as Clark et al. 2019 do), so rows still sum to 1.
"""
)

ROLLOUT_HELP = N_(
    "Rollout (Abnar & Zuidema 2020) follows attention through the stack: each layer's head-averaged "
    "attention is mixed half-and-half with the residual connection (Â = ½A + ½I), and the layers are "
    "multiplied, so row i after layer l says how much of token i's representation traces back to each "
    "input token. It is a rough guide: it ignores what the feed-forward layers do."
)

VALUE_NORMS_HELP = N_(
    "Why the two views differ: the norm view weights every key by the size of what it can move. "
    "Special tokens such as [CLS] and [SEP] often have very small value vectors, so attention to them "
    "moves little."
)

COMPARE_HELP = N_(
    "Pick two models, for example `minilm` and a fine-tuned copy of it (`make finetune` writes one to "
    "out/minilm-finetuned). When both split the text into the same tokens and have the same layers and "
    "heads, every head is paired: its scores are differenced and its two maps compared row by row. "
    "Otherwise the models are compared layer by layer at matching depth, and word by word."
)

CORPUS_HELP = N_(
    "One sentence says little about a model. Here the chosen model reads a whole corpus (a sample the "
    "team wrote, or your own file), batch by batch, and every score is averaged over the sentences with "
    'its spread, so a claim such as "layers 3–4 gather into [CLS]" comes with how sure it is. '
    "For millions of sentences, `cli.py corpus FILE --engine ray` runs the same analysis on a Ray cluster."
)
