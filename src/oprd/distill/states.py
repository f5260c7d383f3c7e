"""Hidden states of chosen layers at chosen positions, read by forward hooks on the decoder body.

Only the decoder body runs (no LM head, so no logits), each hook keeps just the (B, K, d) rows it
needs as its layer finishes, and the forward stops after the deepest layer asked for. The same
function serves the teacher (under ``no_grad``) and the student (with gradient). Layer indices
match ``output_hidden_states``: 0 = embeddings, i = block i, L = last block after the final norm.
"""

from __future__ import annotations

from typing import Sequence

import torch

from oprd.features.hooked_forward import StopForward, forward_until_stop
from oprd.features.layers import decoder_parts


def gather_states(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, layers: Sequence[int],
                  index: torch.Tensor) -> torch.Tensor:
    """(B, len(layers), K, d) states of ``layers`` at sequence positions ``index`` (B, K).

    Runs with gradient when grad is enabled, so the student's loss can backpropagate through it.
    """
    inner = getattr(model, "module", model)
    body, embed, blocks, norm = decoder_parts(inner)
    n = len(blocks)
    modules = {0: embed, n: norm, **{i: blocks[i - 1] for i in range(1, n)}}
    wanted = sorted(set(layers))
    deepest = wanted[-1]
    rows = torch.arange(input_ids.shape[0], device=input_ids.device).unsqueeze(1)
    index = index.to(input_ids.device)
    picked: dict[int, torch.Tensor] = {}

    def hook_for(layer: int):
        def hook(module, args, output):
            hidden = output[0] if isinstance(output, tuple) else output
            picked[layer] = hidden[rows, index]
            if layer == deepest:
                raise StopForward
        return hook

    handles = [modules[layer].register_forward_hook(hook_for(layer)) for layer in wanted]
    forward_until_stop(body, handles, input_ids=input_ids, attention_mask=attention_mask)
    return torch.stack([picked[layer] for layer in layers], dim=1)
