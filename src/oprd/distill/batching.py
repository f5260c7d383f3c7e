"""Pack token sequences into padded batches and per-row selected states back into aligned blocks.

Teacher targets are kept per rollout as (P, K_i, d): only the K_i real positions of that row, so
memory follows the tokens actually selected. A micro-batch re-stacks them into (B, P, K, d) with
the columns aligned the way the position selector aligns them (suffix or prefix).
"""

from __future__ import annotations

from typing import Sequence

import torch


def pack_sequences(sequences: Sequence[tuple[list[int], list[int]]], pad_id: int, device=None):
    """Right-padded ``(input_ids, attention_mask, starts, lengths)`` for (prompt_ids, response_ids) pairs."""
    width = max(len(p) + len(r) for p, r in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, (prompt, response) in enumerate(sequences):
        ids = list(prompt) + list(response)
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[row, : len(ids)] = 1
    starts = torch.tensor([len(p) for p, _ in sequences], dtype=torch.long)
    lengths = torch.tensor([len(r) for _, r in sequences], dtype=torch.long)
    if device is not None:
        input_ids, attention, starts, lengths = (t.to(device) for t in (input_ids, attention, starts, lengths))
    return input_ids, attention, starts, lengths


def split_rows(states: torch.Tensor, valid: torch.Tensor, *, suffix: bool) -> list[torch.Tensor]:
    """(B, P, K, d) -> B tensors (P, K_i, d) holding only each row's valid columns."""
    rows = []
    width = states.shape[2]
    for row in range(states.shape[0]):
        count = int(valid[row].sum())
        block = states[row, :, width - count :] if suffix else states[row, :, :count]
        rows.append(block)
    return rows


def stack_rows(rows: Sequence[torch.Tensor], columns: int, *, suffix: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """B tensors (P, K_i, d) -> ``(states (B, P, columns, d), valid (B, columns))``, zero-padded.

    Rows longer than ``columns`` keep their last (suffix) or first (prefix) ``columns`` positions.
    """
    first = rows[0]
    out = first.new_zeros((len(rows), first.shape[0], columns, first.shape[-1]))
    valid = torch.zeros((len(rows), columns), dtype=torch.float32, device=first.device)
    for row, block in enumerate(rows):
        count = min(block.shape[1], columns)
        if suffix:
            out[row, :, columns - count :] = block[:, block.shape[1] - count :]
            valid[row, columns - count :] = 1.0
        else:
            out[row, :, :count] = block[:, :count]
            valid[row, :count] = 1.0
    return out, valid
