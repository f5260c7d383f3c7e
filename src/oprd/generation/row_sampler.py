"""Sampling with one random stream per sequence, so a rollout does not depend on its batch-mates.

``transformers`` samples a whole batch from the global RNG: the tokens of one sequence change when the
other sequences in its batch change. Reproducible RL across process counts and resumes then forces one
``generate`` call per prompt. This logits processor makes greedy decoding draw exact samples instead:
each row's scores become tempered, top-p-filtered log-probabilities plus Gumbel noise from that row's
own ``torch.Generator`` (the Gumbel-max trick: the argmax of ``log p + Gumbel`` is a draw from ``p``).
"""

from __future__ import annotations

from typing import Sequence


def row_seed(prompt_seed: int, sample_index: int) -> int:
    """The seed of sample ``sample_index`` of a prompt whose seed is ``prompt_seed``."""
    return (prompt_seed * 1_000_003 + sample_index * 7_919 + 1) % (1 << 63)


class RowSeededSampler:
    """A ``transformers`` logits processor for ``do_sample=False`` that turns argmax into sampling.

    With ``record_logprobs``, ``chosen_logprobs`` gives, per row and step, the sampling distribution's
    log-probability of the token the argmax picks (what ``output_scores`` gives in ordinary sampling);
    they stay on the device until read, so decoding never waits for a copy.
    """

    def __init__(self, seeds: Sequence[int], *, temperature: float, top_p: float, device,
                 record_logprobs: bool = False) -> None:
        import torch

        if temperature <= 0:
            raise ValueError(f"RowSeededSampler needs temperature > 0, got {temperature}")
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.generators = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]
        self.record_logprobs = record_logprobs
        self._chosen: list = []

    @property
    def chosen_logprobs(self) -> list[list[float]]:
        """Recorded log-probabilities, one list per row (empty lists when nothing was recorded)."""
        import torch

        if not self._chosen:
            return [[] for _ in self.generators]
        return torch.stack(self._chosen, dim=1).tolist()

    def __call__(self, input_ids, scores):
        import torch

        logprobs = _top_p_filter(torch.log_softmax(scores.float() / self.temperature, dim=-1), self.top_p)
        noise = torch.stack([_gumbel(scores.shape[-1], generator, scores.device) for generator in self.generators])
        perturbed = logprobs + noise
        if self.record_logprobs:
            self._chosen.append(logprobs.gather(-1, perturbed.argmax(dim=-1, keepdim=True)).squeeze(-1))
        return perturbed


def _gumbel(size: int, generator, device):
    """Standard Gumbel noise of length ``size`` from one generator."""
    import torch

    uniform = torch.rand(size, generator=generator, device=device).clamp_(min=1e-12, max=1.0 - 1e-7)
    return -torch.log(-torch.log(uniform))


def _top_p_filter(logprobs, top_p: float):
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p``; renormalise the rest away."""
    import torch

    if top_p >= 1.0:
        return logprobs
    ordered, order = logprobs.sort(dim=-1, descending=True)
    mass_before = ordered.exp().cumsum(dim=-1) - ordered.exp()
    drop_sorted = mass_before >= top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    kept = logprobs.masked_fill(drop, float("-inf"))
    return torch.log_softmax(kept, dim=-1)
