"""Tiny teachers saved as model dirs and a tokenizer with other ids, for the distillation tests."""

from __future__ import annotations

from pathlib import Path


def foreign_tokenizer():
    """Byte-level like the tiny tokenizer but with other ids and one merge ("aa"), so lengths can differ."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from oprd.models.tiny import CHATML_TEMPLATE, SPECIAL_TOKENS

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet(), reverse=True)
    vocab = {token: i for i, token in enumerate([*alphabet, "aa", *SPECIAL_TOKENS])}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[("a", "a")]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        additional_special_tokens=SPECIAL_TOKENS[1:])
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def save_teacher(path: Path, *, num_layers: int = 3, hidden_size: int = 64, seed: int = 1, foreign: bool = False) -> str:
    """A random tiny Llama teacher as a Hugging Face dir (own tokenizer when ``foreign``)."""
    from transformers.utils import logging as hf_logging

    from oprd.models.tiny import build_tiny_model

    hf_logging.disable_progress_bar()
    tokenizer = foreign_tokenizer() if foreign else None
    model, tiny_tokenizer = build_tiny_model(seed=seed, num_layers=num_layers, hidden_size=hidden_size,
                                             vocab_size=len(tokenizer) if tokenizer else None)
    model.save_pretrained(path)
    (tokenizer or tiny_tokenizer).save_pretrained(path)
    return str(path)
