"""Per-sequence uncertainty scores from the model's own next-token distributions.

Computed from the final-norm hidden states of the capture forward, so the LM head runs only on
the positions that need it, in chunks (never a full (tokens x vocab) matrix for long sequences).
:func:`entropy` and :func:`self_certainty` are the per-position definitions; the trainer's
label-free self-rewards use them too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

TOKEN_SCORE_NAMES = ("qppl", "appl", "token_entropy", "self_certainty")
_CHUNK = 256


def entropy(logp: torch.Tensor) -> torch.Tensor:
    """Entropy ``H(p_t) = -sum_j p_t(j) log p_t(j)`` of each row of log-probabilities ``(..., V)``."""
    return -(logp.exp() * logp).sum(dim=-1)


def self_certainty(logp: torch.Tensor) -> torch.Tensor:
    """Self-certainty ``KL(U || p_t) = -log V - (1/V) sum_j log p_t(j)`` of each row of log-probabilities
    ``(..., V)``: 0 for the uniform distribution, large for a confident one."""
    return -math.log(logp.shape[-1]) - logp.mean(dim=-1)


def token_scores(head, final_hidden, input_ids, prompt_len: int, response_len: int) -> dict[str, float]:
    """Question perplexity, answer perplexity, mean next-token entropy and mean self-certainty.

    - ``qppl``: perplexity of prompt tokens 1..P-1 given their prefixes.
    - ``appl``: perplexity of the response tokens (EOS included when present).
    - ``token_entropy``: mean entropy of the distributions that produced the response tokens.
    - ``self_certainty``: mean KL(uniform || p_t) over the same distributions (high = confident).
    An empty response gives NaN for the three response scores.
    """
    nll_q, n_q = _nll(head, final_hidden, input_ids, 0, prompt_len - 1)
    nll_a, total_entropy, certainty, n_a = _distribution_stats(
        head, final_hidden, input_ids, prompt_len - 1, prompt_len - 1 + response_len
    )
    nan = float("nan")
    return {
        "qppl": math.exp(nll_q / n_q) if n_q else nan,
        "appl": math.exp(nll_a / n_a) if n_a else nan,
        "token_entropy": total_entropy / n_a if n_a else nan,
        "self_certainty": certainty / n_a if n_a else nan,
    }


def _nll(head, hidden, ids, start: int, stop: int) -> tuple[float, int]:
    """Summed negative log-likelihood of ids[t+1] given positions t in [start, stop)."""
    total, count = 0.0, 0
    for lo in range(start, stop, _CHUNK):
        hi = min(lo + _CHUNK, stop)
        logp = head(hidden[lo:hi]).float().log_softmax(-1)
        total -= float(logp.gather(-1, ids[lo + 1 : hi + 1].unsqueeze(-1)).sum())
        count += hi - lo
    return total, count


def _distribution_stats(head, hidden, ids, start: int, stop: int) -> tuple[float, float, float, int]:
    """NLL, entropy and KL(U || p) summed over positions t in [start, stop) predicting ids[t+1]."""
    nll = total_entropy = certainty = 0.0
    count = 0
    for lo in range(start, stop, _CHUNK):
        hi = min(lo + _CHUNK, stop)
        logp = head(hidden[lo:hi]).float().log_softmax(-1)
        nll -= float(logp.gather(-1, ids[lo + 1 : hi + 1].unsqueeze(-1)).sum())
        total_entropy += float(entropy(logp).sum())
        certainty += float(self_certainty(logp).sum())
        count += hi - lo
    return nll, total_entropy, certainty, count
