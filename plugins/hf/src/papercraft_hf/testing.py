"""Test helpers of papercraft-hf: a tiny random model that loads in milliseconds.

Tests of decoding, batching, sampling and the server use it instead of SmolLM2 when what they
check does not depend on the weights (exactness against another path, limits, errors).
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""SmolLM2's ChatML layout, so prompts are built the way the embedded model builds them."""


def save_tiny_llama(folder: Path, *, context: int = 128,
                    initializer_range: float | None = None) -> Path:
    """A random two-layer Llama with grouped-query attention (4 heads, 2 key/value heads) and a
    byte-level tokenizer with ChatML special tokens, saved to ``folder`` (seeded: the same
    weights every time). ``initializer_range`` above the default 0.02 gives sharper logits."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    extra = {} if initializer_range is None else {"initializer_range": initializer_range}
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
        eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|endoftext|>"], **extra,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
