"""Teacher-forced hidden-state capture at chosen positions and layers.

One forward per batch over prompt+response through the decoder body (no LM head, so no logits are
computed unless token scores are asked for). Forward hooks on the embedding, the blocks and the
final norm gather only the requested positions as soon as each layer runs, so the full
(layers x tokens x hidden) stack never exists; the forward stops after the deepest layer needed.
Values equal ``output_hidden_states=True`` of a plain forward at the same positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from oprd.errors import param_error
from oprd.features.anchors import Anchors, check_positions, find_anchors
from oprd.features.hooked_forward import StopForward, forward_until_stop
from oprd.features.layers import decoder_parts, resolve_layers
from oprd.features.token_scores import TOKEN_SCORE_NAMES, token_scores
from oprd.generation.base import Rollout


@dataclass
class CaptureConfig:
    """What to read. Defaults follow the SHIFT spec: reasoning start/end, all block outputs, layer mean."""

    layers: str | list[int] = "all"
    positions: tuple[str, ...] = ("reasoning_start", "reasoning_end")
    reduce_layers: str = "mean"
    exclude_final_norm_layer: bool = False
    start_anchor: str = "first_response"
    with_token_scores: bool = False
    batch_size: int = 8

    def validate(self) -> "CaptureConfig":
        check_positions(self.positions)
        if self.reduce_layers not in ("mean", "none"):
            raise param_error("reduce_layers", "CaptureConfig", "'mean' or 'none'", self.reduce_layers)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise param_error("batch_size", "CaptureConfig", "an int >= 1", self.batch_size)
        return self


@dataclass
class CapturedFeatures:
    """Per-rollout arrays: ``states[name]`` is (n, d) after a layer mean or (n, n_layers, d)."""

    states: dict[str, np.ndarray]
    layers: list[int]
    truncated: np.ndarray
    response_length: np.ndarray
    scores: dict[str, np.ndarray] = field(default_factory=dict)


def capture_features(
    model,
    tokenizer,
    rollouts: Sequence[Rollout],
    config: CaptureConfig | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> CapturedFeatures:
    """Hidden states of ``rollouts`` at ``config.positions`` and ``config.layers``, in fp32."""
    import torch

    config = (config or CaptureConfig()).validate()
    body, embed, blocks, norm = decoder_parts(model)
    layers = resolve_layers(config.layers, len(blocks), exclude_final_norm_layer=config.exclude_final_norm_layer)
    think = _think_ids(tokenizer)
    anchors = [find_anchors(r, think_start_id=think[0], think_end_id=think[1], start_anchor=config.start_anchor) for r in rollouts]
    states: dict[str, list[np.ndarray]] = {name: [] for name in config.positions}
    scores: dict[str, list[float]] = {name: [] for name in TOKEN_SCORE_NAMES} if config.with_token_scores else {}
    for start in range(0, len(rollouts), config.batch_size):
        batch = list(rollouts[start : start + config.batch_size])
        batch_anchors = anchors[start : start + config.batch_size]
        gathered, final_hidden, input_ids = _forward_batch(
            body, embed, blocks, norm, batch, batch_anchors, layers, config, tokenizer.pad_token_id or 0
        )
        for name in config.positions:
            block = torch.stack([gathered[layer][name] for layer in layers], dim=1)
            states[name].append((block.mean(dim=1) if config.reduce_layers == "mean" else block).numpy())
        if config.with_token_scores:
            head = model.get_output_embeddings()
            with torch.no_grad():
                _score_rows(head, final_hidden, input_ids, batch, scores)
        if progress:
            progress(len(batch))
    d = model.config.hidden_size
    empty = (0, d) if config.reduce_layers == "mean" else (0, len(layers), d)
    return CapturedFeatures(
        states={name: np.concatenate(parts) if parts else np.zeros(empty, np.float32) for name, parts in states.items()},
        layers=layers,
        truncated=np.array([a.truncated for a in anchors], dtype=bool),
        response_length=np.array([len(r.response_ids) for r in rollouts], dtype=np.int64),
        scores={name: np.asarray(values, dtype=np.float32) for name, values in scores.items()},
    )


def _score_rows(head, final_hidden, input_ids, batch, scores: dict[str, list[float]]) -> None:
    """Append the token scores of each rollout in a batch."""
    for row, rollout in enumerate(batch):
        values = token_scores(head, final_hidden[row], input_ids[row], len(rollout.prompt_ids), len(rollout.response_ids))
        for name, value in values.items():
            scores[name].append(value)


def _think_ids(tokenizer) -> tuple[int | None, int | None]:
    """Ids of ``<think>``/``</think>`` when the tokenizer has them as single tokens."""
    vocab = tokenizer.get_vocab()
    return vocab.get("<think>"), vocab.get("</think>")


def _forward_batch(body, embed, blocks, norm, batch, anchors: list[Anchors], layers, config, pad_id):
    """Run one right-padded batch; return {layer: {position: (B, d) fp32}}, final hidden, input ids."""
    import torch

    device = next(body.parameters()).device
    sequences = [r.prompt_ids + r.response_ids for r in batch]
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention[row, : len(seq)] = 1
    rows = torch.arange(len(batch))
    index = {
        name: torch.tensor([getattr(a, name) for a in anchors], dtype=torch.long)
        for name in config.positions
        if not name.startswith("mean_")
    }
    spans = {"mean_response": [a.response_span for a in anchors], "mean_prompt": [(0, a.last_prompt + 1) for a in anchors]}
    gathered: dict[int, dict[str, torch.Tensor]] = {}
    final_hidden: list[torch.Tensor] = []
    need_final = config.with_token_scores
    deepest = len(blocks) if need_final else max(layers)

    def read(layer: int, hidden: torch.Tensor) -> None:
        hidden = hidden.detach().float().cpu()
        picked = {name: hidden[rows, idx] for name, idx in index.items()}
        for name in config.positions:
            if name.startswith("mean_"):
                picked[name] = torch.stack([hidden[r, a:b].mean(dim=0) for r, (a, b) in enumerate(spans[name])])
        gathered[layer] = picked

    def hook_for(layer: int):
        def hook(module, args, output):
            hidden = output[0] if isinstance(output, tuple) else output
            if layer in layers:
                read(layer, hidden)
            if layer == len(blocks) and need_final:
                final_hidden.append(hidden.detach())
            if layer == deepest:
                raise StopForward
        return hook

    handles = [embed.register_forward_hook(hook_for(0))]
    handles += [blocks[i].register_forward_hook(hook_for(i + 1)) for i in range(len(blocks) - 1)]
    handles.append(norm.register_forward_hook(hook_for(len(blocks))))
    with torch.no_grad():
        forward_until_stop(body, handles, input_ids=input_ids.to(device), attention_mask=attention.to(device))
    return gathered, final_hidden[0] if final_hidden else None, input_ids.to(device)
