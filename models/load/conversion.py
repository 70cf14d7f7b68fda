"""Run trained BERT weights under Longformer's local + global attention.

This is the Longformer paper's recipe: the same weights, with the global
projections initialised as copies of the local ones and the 512 learned
positions tiled out to 4096.  The result is *not* a model pre-trained with
sparse attention; it is BERT seen through a sliding window, which is exactly
what makes "what does the window take away?" answerable on shared weights.
"""

from __future__ import annotations

from transformers import BertModel, LongformerConfig, LongformerModel

LONGFORMER_POSITIONS = 4098  # 4096 tokens + Longformer's pad offset of 2 rows


def bert_to_longformer(bert: BertModel, window: int) -> LongformerModel:
    """Return a LongformerModel (eager, eval) carrying `bert`'s weights.

    `window` is Longformer's attention_window: the full band width, even,
    W/2 keys on each side of the query.
    """
    bert_config = bert.config
    config = LongformerConfig(
        vocab_size=bert_config.vocab_size,
        hidden_size=bert_config.hidden_size,
        num_hidden_layers=bert_config.num_hidden_layers,
        num_attention_heads=bert_config.num_attention_heads,
        intermediate_size=bert_config.intermediate_size,
        hidden_act=bert_config.hidden_act,
        hidden_dropout_prob=bert_config.hidden_dropout_prob,
        attention_probs_dropout_prob=bert_config.attention_probs_dropout_prob,
        type_vocab_size=bert_config.type_vocab_size,
        initializer_range=bert_config.initializer_range,
        layer_norm_eps=bert_config.layer_norm_eps,
        pad_token_id=0,
        bos_token_id=getattr(bert_config, "bos_token_id", None),
        eos_token_id=getattr(bert_config, "eos_token_id", None),
        max_position_embeddings=LONGFORMER_POSITIONS,
        attention_window=[window] * bert_config.num_hidden_layers,
    )
    config._attn_implementation = "eager"

    state = {}
    for name, tensor in bert.state_dict().items():
        if name.startswith("pooler."):
            state[name] = tensor
            continue
        state[name] = tensor
        for proj in ("query", "key", "value"):
            marker = f".attention.self.{proj}."
            if marker in name:
                state[name.replace(marker, f".attention.self.{proj}_global.")] = tensor.clone()

    # Longformer numbers positions from pad_id + 1, so row 0 (and 1) are unused:
    # put BERT's position 0 at row 1 and tile the rest of the table after it.
    bert_positions = state["embeddings.position_embeddings.weight"]  # [512, hidden]
    n_bert = bert_positions.shape[0]
    positions = bert_positions.new_zeros(LONGFORMER_POSITIONS, bert_positions.shape[1])
    positions[0] = bert_positions[0]
    row = 1
    while row < LONGFORMER_POSITIONS:
        take = min(n_bert, LONGFORMER_POSITIONS - row)
        positions[row : row + take] = bert_positions[:take]
        row += take
    state["embeddings.position_embeddings.weight"] = positions
    state.pop("embeddings.position_ids", None)

    model = LongformerModel(config, add_pooling_layer="pooler.dense.weight" in state)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if "position_ids" not in k]
    if missing or result.unexpected_keys:
        raise RuntimeError(f"BERT→Longformer conversion left missing={missing} unexpected={result.unexpected_keys}")
    return model.eval()
