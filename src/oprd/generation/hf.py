"""Rollouts with Hugging Face ``generate``: batched, left-padded, length-sorted, seeded."""

from __future__ import annotations

from typing import Sequence

from oprd.generation.base import Progress, Rollout, SamplingConfig
from oprd.generation.row_sampler import RowSeededSampler, row_seed


class HFGenerator:
    """Generate with a loaded ``transformers`` causal LM.

    Prompts are sorted by length (longest first, so a too-large batch fails at once rather than
    at the end) and cut into batches of ``sampling.batch_size`` sequences; each of the ``n`` samples
    of a prompt is its own sequence. Sampling is seeded per batch from ``sampling.seed`` so the same
    call gives the same rollouts; with ``sampling.prompt_seeds`` each sequence has its own stream
    (``row_sampler.RowSeededSampler``) and does not depend on the rest of its batch.
    """

    def __init__(self, model, tokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, *, progress: Progress | None = None
    ) -> list[Rollout]:
        import torch

        sampling.validate()
        sampling.check_prompt_seeds(len(prompts))
        per_row = sampling.prompt_seeds is not None and sampling.temperature > 0
        jobs = [(p, s) for p in range(len(prompts)) for s in range(sampling.n)]
        jobs.sort(key=lambda job: (-len(prompts[job[0]]), job))
        eos_ids = self._eos_ids(sampling)
        results: dict[tuple[int, int], Rollout] = {}
        for start in range(0, len(jobs), sampling.batch_size):
            batch = jobs[start : start + sampling.batch_size]
            torch.manual_seed((sampling.seed * 1_000_003 + start) % (1 << 63))
            seeds = [row_seed(sampling.prompt_seeds[p], s) for p, s in batch] if per_row else None
            for job, rollout in zip(batch, self._generate_batch([prompts[p] for p, _ in batch], sampling, eos_ids, seeds)):
                rollout.prompt_index, rollout.sample_index = job
                results[job] = rollout
            if progress:
                progress(len(batch))
        return [results[(p, s)] for p in range(len(prompts)) for s in range(sampling.n)]

    def _eos_ids(self, sampling: SamplingConfig) -> list[int]:
        configured = self.model.generation_config.eos_token_id
        ids = configured if isinstance(configured, list) else [configured] if configured is not None else []
        if self.tokenizer.eos_token_id is not None:
            ids = [*ids, self.tokenizer.eos_token_id]
        return sorted(set(ids) | set(sampling.stop_token_ids))

    def _generate_batch(
        self, batch: list[Sequence[int]], sampling: SamplingConfig, eos_ids: list[int], seeds: list[int] | None
    ) -> list[Rollout]:
        import torch
        from transformers import LogitsProcessorList

        device = self.model.device
        width = max(len(ids) for ids in batch)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(list(ids), dtype=torch.long)
            attention[row, width - len(ids) :] = 1
        sampler = None
        if seeds is not None:  # argmax over Gumbel-perturbed scores: a draw from each row's own stream
            sampler = RowSeededSampler(seeds, temperature=sampling.temperature, top_p=sampling.top_p, device=device,
                                       record_logprobs=sampling.return_logprobs)
        greedy = sampling.temperature == 0 or sampler is not None
        kwargs = dict(
            max_new_tokens=sampling.max_new_tokens,
            do_sample=not greedy,
            eos_token_id=eos_ids,
            pad_token_id=pad,
            return_dict_in_generate=True,
            output_scores=sampling.return_logprobs and sampler is None,
        )
        if sampler is not None:
            kwargs.update(logits_processor=LogitsProcessorList([sampler]))
        elif not greedy:
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        with torch.no_grad():
            out = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device), **kwargs)
        new_tokens = out.sequences[:, width:].tolist()
        token_logprobs = None
        if sampling.return_logprobs:
            token_logprobs = sampler.chosen_logprobs if sampler is not None else self._token_logprobs(out, width)
        rollouts = []
        for row, ids in enumerate(batch):
            response, reason = _cut_at_eos(new_tokens[row], eos_ids)
            rollouts.append(
                Rollout(
                    prompt_index=-1,
                    sample_index=-1,
                    prompt_ids=list(ids),
                    response_ids=response,
                    text=self.tokenizer.decode(response, skip_special_tokens=True),
                    finish_reason=reason,
                    logprobs=token_logprobs[row][: len(response)] if token_logprobs else None,
                )
            )
        return rollouts

    @staticmethod
    def _token_logprobs(out, width: int) -> list[list[float]]:
        import torch

        steps = torch.stack(out.scores, dim=1).float().log_softmax(-1)
        chosen = out.sequences[:, width : width + steps.shape[1]]
        return steps.gather(-1, chosen.unsqueeze(-1)).squeeze(-1).tolist()


def _cut_at_eos(tokens: list[int], eos_ids: list[int]) -> tuple[list[int], str]:
    """Keep tokens up to and including the first EOS; 'stop' if one was found, else 'length'."""
    for position, token in enumerate(tokens):
        if token in eos_ids:
            return tokens[: position + 1], "stop"
    return tokens, "length"
