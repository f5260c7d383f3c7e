"""Parse layer specs and find the decoder pieces of a causal LM to hook."""

from __future__ import annotations

from oprd.errors import OprdInputError


def resolve_layers(spec: str | list[int], n_layers: int, *, exclude_final_norm_layer: bool = False) -> list[int]:
    """Indices into ``hidden_states`` (0 = embeddings, ``n_layers`` = last block after the final norm).

    ``all`` -> 1..n_layers; ``last_k:K`` -> the last K of those; a list or ``"3,7,11"`` -> as given
    (negative numbers count from the end). ``exclude_final_norm_layer`` drops index ``n_layers`` from
    ``all``/``last_k``, since in Llama/Qwen that entry is after the final norm.
    """
    top = n_layers - 1 if exclude_final_norm_layer else n_layers
    if isinstance(spec, str):
        text = spec.strip()
        if text == "all":
            return list(range(1, top + 1))
        if text.startswith("last_k:"):
            k = _parse_int(text[len("last_k:") :], spec)
            if not 1 <= k <= top:
                raise OprdInputError(f"layer spec {spec!r} asks for {k} layers but the model has {top}; use 1..{top}")
            return list(range(top - k + 1, top + 1))
        spec = [_parse_int(part, spec) for part in text.split(",") if part.strip()]
    if any(index < -(n_layers + 1) or index > n_layers for index in spec) or not spec:
        raise OprdInputError(
            f"layer spec {spec!r} is out of range for a model with {n_layers} layers; use all, last_k:K or "
            f"indices in 0..{n_layers} (negative ones count from the end: -1 = {n_layers}, -{n_layers + 1} = 0)"
        )
    return sorted({index + n_layers + 1 if index < 0 else index for index in spec})


def check_layer_spec(spec: str | list[int]) -> None:
    """Reject a malformed layer spec before any model loads (the range is checked once the model is known)."""
    if isinstance(spec, str):
        text = spec.strip()
        if text == "all":
            return
        if text.startswith("last_k:"):
            if _parse_int(text[len("last_k:") :], spec) < 1:
                raise OprdInputError(f"layer spec {spec!r} asks for fewer than 1 layer; use last_k:K with K >= 1")
            return
        spec = [_parse_int(part, spec) for part in text.split(",") if part.strip()]
    if not spec:
        raise OprdInputError("the layer spec is empty; use all, last_k:K or a comma list like 4,8,12")


def _parse_int(text: str, spec) -> int:
    try:
        return int(text)
    except ValueError:
        raise OprdInputError(f"cannot parse layer spec {spec!r}; use all, last_k:K or a comma list like 4,8,12") from None


def decoder_parts(model):
    """``(body, embed, blocks, final_norm)`` of a decoder-only transformers model.

    ``body`` is the decoder without the LM head, so a forward through it computes no logits.
    """
    body = model.get_decoder() if hasattr(model, "get_decoder") else getattr(model, "model", None)
    blocks = getattr(body, "layers", None)
    norm = getattr(body, "norm", None)
    embed = getattr(body, "embed_tokens", None)
    if body is None or blocks is None or norm is None or embed is None:
        raise OprdInputError(
            f"{type(model).__name__} does not expose decoder layers/norm/embed_tokens; "
            "hidden-state capture supports Llama/Qwen/Mistral-style decoder models"
        )
    return body, embed, blocks, norm
