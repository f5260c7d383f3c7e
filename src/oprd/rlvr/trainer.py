"""The GRPO trainer: a readable step loop whose parts are plain functions and declared hooks.

One step: sample prompts -> G rollouts each -> ``after_rollouts`` hooks (labels) -> rewards ->
``after_rewards`` hooks -> advantages (computed on the global batch, so DDP matches a single
process) -> ``after_advantages`` hooks (weights) -> optional no-grad pass for old log-probs /
hidden states -> PPO epochs of micro-batched forward/backward with the clipped surrogate (+ KL, +
hooks' ``loss_term``) -> AdamW step -> log, evaluate, checkpoint. With ``reward_funcs: [none]``
the same loop trains on the hooks' loss terms alone (no rewards, advantages or policy-gradient
term). Hooks and their order: ``rlvr/hooks.py``; the methods that provide them: ``rlvr/methods/``.

Distributed: every forward goes through the wrapped policy (``rlvr/policy.py``), accumulation
through ``gradient_sync``, generation through ``unsharded``; every rank runs the same number of
micro-batches (short ranks run zero-weight ones), and the step's scalars are reduced once. Seeds,
global order, refills and the step's statistics: ``rlvr/step_batch.py``; checkpoints, wrappers,
logging and vLLM sync: ``rlvr/runtime/``.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from oprd.data.atomic import atomic_write_text
from oprd.errors import OprdInputError
from oprd.generation.base import SamplingConfig
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.hooks import MicroBatch, StepBatch, TrainerHook
from oprd.rlvr.methods import default_hooks
from oprd.rlvr.policy import PolicyOutputs, TokenBatch, policy_forward, response_means
from oprd.rlvr.preflight import preflight_training
from oprd.rlvr.rewards import TrainerState, trl_completions
from oprd.rlvr.runtime.checkpoint import (check_same_model, load_training_state, read_state, resolve_resume,
                                          rng_state, save_checkpoint, set_rng_state)
from oprd.rlvr.runtime.distributed import (all_gather_objects, all_reduce_sums, barrier, gradient_sync,
                                           init_distributed, is_sharded, total_grad_norm, unsharded, wrap_model)
from oprd.rlvr.runtime.model_setup import load_policy, lr_schedule, reference_weights
from oprd.rlvr.runtime.run_dir import prepare_run_dir
from oprd.rlvr.step_batch import (batch_stats, completion_rows, concat_batches, global_rewards, local_rows,
                                  loss_share, rollout_seed, rollout_stats, sum_over_ranks)
from oprd.verify import grader_options_from, set_default_options


class GRPOTrainer:
    """Train a causal LM with GRPO on labeled and unlabeled prompts.

    ``hooks`` (user :class:`TrainerHook` objects) run beside the ones the config asks for (GeoMin,
    OLR, OPRD, ...; ``rlvr/methods``), all by their ``order``;
    TTRL majority voting for unlabeled rows is added by default (``unlabeled_reward="ttrl"``).
    """

    def __init__(self, config: GRPOConfig, *, train_dataset=None, reward_funcs: Sequence | None = None,
                 hooks: Sequence[TrainerHook] = (), progress: bool = True) -> None:
        import torch

        from oprd.models.loading import load_model
        from oprd.rlvr.dataset import load_train_data

        self.config = config.validate(in_memory_data=train_dataset is not None)
        set_default_options(grader_options_from(config, prefix="grader_"))  # the reward, evaluation and votes
        self.dist = init_distributed()
        if config.fsdp and not self.dist.enabled:
            raise OprdInputError(
                "--fsdp shards the model across processes but this is a single process; launch with "
                "torchrun --nproc_per_node N $(which oprd-train) ... (N >= 2), or drop --fsdp"
            )
        if config.batch_size % self.dist.world_size:
            raise OprdInputError(
                f"batch_size {config.batch_size} must be divisible by the number of processes ({self.dist.world_size})"
            )
        self.progress = progress and self.dist.is_main
        self.out = Path(config.out)
        prepare_run_dir(config, self.out, self.dist)  # inputs never overwritten, earlier runs never mixed
        barrier(self.dist)  # rank 0 may have cleared an earlier run (--overwrite)
        self.data = load_train_data(selected=config.selected, data=config.data, prompt_key=config.prompt_key,
                                    answer_key=config.answer_key, id_key=config.id_key,
                                    label_fraction=config.label_fraction, label_seed=config.label_seed,
                                    rows=train_dataset)
        preflight_training(config, self.data)  # every input checked before the model loads
        self.hooks = sorted([*default_hooks(config, self.data), *hooks], key=lambda hook: hook.order)
        self.rewards = _reward_set(config, reward_funcs)
        checkpoint = resolve_resume(config.resume, self.out)
        if checkpoint:
            check_same_model(checkpoint, _base_config(config))
        torch.manual_seed(config.seed)
        self.model, self.tokenizer = load_policy(config, checkpoint)
        self.reference = None  # the KL reference: a frozen copy, or the LoRA policy with adapters off
        if config.beta > 0 and not config.lora_r:
            self.reference, _ = load_model(config.model, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
            self.reference.requires_grad_(False)
        self.policy = wrap_model(self.model, self.dist, fsdp=config.fsdp, head_may_idle=self.rewards is None,
                                 chunk_size=config.logprob_chunk_size, autocast=config.autocast)
        trainable = [p for p in self.policy.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay,
                                           betas=(config.adam_beta1, config.adam_beta2))
        self.lr_schedule = lr_schedule(config)
        from oprd.rlvr.sampler import EpochSampler

        self.sampler = EpochSampler(self.data.n, seed=config.seed)
        if config.labeled_ratio is not None:  # two pools at a fixed labeled share (rlvr/mixed_sampler.py)
            from oprd.rlvr.mixed_sampler import MixedSampler

            self.sampler = MixedSampler.from_answers(self.data.answers, config.labeled_ratio, seed=config.seed)
        self.step = 0
        self.nonfinite_streak = 0
        self.completion_rows: list[dict] = []  # this step's completions table, when it is due
        if checkpoint:
            self._restore(checkpoint)
        self.generator = self._make_generator()
        self.hidden_layers = sorted({layer for c in self.hooks
                                     for layer in c.hidden_layers(self.model.config.num_hidden_layers)})
        needs = {need for c in self.hooks for need in c.forward_needs()}
        self.forward_needs = {"logprobs": self.rewards is not None or "logprobs" in needs,
                              "hidden_states": "hidden_states" in needs, "logits": "logits" in needs}

    # ----------------------------------------------------------------------------------------- setup
    def _restore(self, checkpoint: Path) -> None:
        state = read_state(checkpoint)
        if state.get("sharded") and state.get("world_size", 1) != self.dist.world_size and self.dist.is_main:
            print(f"resharding {checkpoint} from {state['world_size']} to {self.dist.world_size} processes",
                  file=sys.stderr)
        load_training_state(checkpoint, self.policy, self.optimizer)
        self.sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        for hook in self.hooks:
            hook.load_state_dict(state["hooks"].get(hook.name, {}))
        self.step = state["step"]
        if self.dist.is_main:
            print(f"resumed from {checkpoint} at step {self.step} (epoch {self.sampler.epoch}, "
                  f"position {self.sampler.position})", file=sys.stderr)

    def _make_generator(self):
        from oprd.generation import HFGenerator

        if self.config.generation_backend == "vllm":
            from oprd.rlvr.runtime.vllm_sync import SyncedVLLMGenerator

            return SyncedVLLMGenerator(self.model, self.config, rank=self.dist.rank, wrapped=self.policy,
                                       **self.config.vllm_options)
        return HFGenerator(self.model, self.tokenizer)

    # ------------------------------------------------------------------------------------------ loop
    def train(self) -> dict:
        """Run until ``max_steps``; returns the last step's metrics."""
        from oprd.rlvr.runtime.metrics import MetricsLogger
        from oprd.rlvr.runtime.progress import TrainProgress

        config = self.config
        if self.step >= config.max_steps:
            raise OprdInputError(
                f"the checkpoint is already at step {self.step} and max_steps is {config.max_steps}; "
                "raise --max-steps to train further"
            )
        logger = None
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.yaml", self._config_yaml())
            logger = MetricsLogger(self.out, config.logging, run_name=self.out.name, config=asdict(config),
                                   resume_step=self.step)
        metrics: dict = {}
        with TrainProgress(config.max_steps, self.step, enabled=self.progress) as bar:
            while self.step < config.max_steps:
                self.step += 1
                started = time.perf_counter()
                metrics = self.train_step()
                metrics["time/step_s"] = time.perf_counter() - started
                metrics["tokens_per_s"] = metrics.get("tokens/generated", 0) / max(metrics["time/step_s"], 1e-9)
                due = self.step == config.max_steps or (config.eval_steps and self.step % config.eval_steps == 0)
                if config.eval_data and due:
                    metrics.update(self.evaluate())
                if logger:
                    logger.log(self.step, metrics)
                    if self.completion_rows:
                        logger.log_completions(self.step, self.completion_rows)
                bar.update(self.step, metrics)
                if self.step % config.save_steps == 0 or self.step == config.max_steps:
                    self.save()
        return metrics

    def train_step(self) -> dict:
        """One GRPO step on ``batch_size`` prompts (global); returns its metrics."""
        import torch

        config = self.config
        if self.rewards is None:  # hooks' loss terms alone (e.g. OPRD without a reward)
            batch = self._rollout_batch(self.sampler.take(config.batch_size), round_index=0)
        else:
            batch = self._collect_batch()
        scoring = (config.ppo_epochs > 1 and self.rewards is not None) or self.hidden_layers
        old_logp = self._scoring_pass(batch) if scoring else None
        for hook in self.hooks:
            hook.after_advantages(batch)
        weights = torch.tensor(batch.weights, dtype=torch.float32).repeat_interleave(config.group_size)
        keep = (weights > 0).float()
        if config.mask_truncated:
            keep = keep * torch.tensor([0.0 if r.truncated else 1.0 for r in batch.rollouts])
        advantages = batch.advantages * weights if self.rewards is not None else None
        wants_kl = config.beta > 0 and self.rewards is not None
        ref_logp = self._reference_logp(batch) if wants_kl else None
        loss_metrics = self._optimize(batch, advantages, keep, old_logp, ref_logp)
        every = config.log_completions_steps
        self.completion_rows = completion_rows(batch, advantages, self.dist) if every and self.step % every == 0 else []
        if self.config.generation_backend == "vllm":
            self.generator.sync_weights()
        if self.rewards is None:
            return {**batch.metrics, **loss_metrics, **rollout_stats(batch)}
        return {**batch.metrics, **loss_metrics, **batch_stats(batch, weights)}

    # ------------------------------------------------------------------------------- rollouts/rewards
    def _collect_batch(self) -> StepBatch:
        """Sample, generate, label and reward a batch.

        With dynamic sampling, groups whose rewards are all equal get weight 0 (no signal) and as
        many new prompts are drawn and rolled out, for up to ``max_refill_rounds`` rounds.
        """
        from oprd.rlvr.grpo import group_advantages, zero_variance_groups

        config = self.config
        batch = self._rollout_batch(self.sampler.take(config.batch_size), round_index=0)
        rewards = global_rewards(batch, self.dist)
        zero = zero_variance_groups(rewards, config.group_size)
        batch.metrics["zero_variance_fraction"] = float(zero.float().mean())
        rounds, fresh_zero = 0, int(zero.sum())
        while config.dynamic_sampling and fresh_zero and rounds < config.max_refill_rounds:
            rounds += 1
            before = int(zero.sum())
            batch = concat_batches(batch, self._rollout_batch(self.sampler.take(fresh_zero), round_index=rounds))
            rewards = global_rewards(batch, self.dist)
            zero = zero_variance_groups(rewards, config.group_size)
            fresh_zero = int(zero.sum()) - before
        batch.metrics["refill_rounds"] = rounds
        if config.dynamic_sampling:
            mine = local_rows(zero.repeat_interleave(config.group_size), batch, self.dist)[:: config.group_size]
            batch.weights = [0.0 if bool(z) else w for z, w in zip(mine, batch.weights)]
        advantages = group_advantages(rewards, config.group_size, scale=config.scale, eps=config.eps)
        batch.advantages = local_rows(advantages, batch, self.dist)
        batch.rewards = local_rows(rewards, batch, self.dist)
        return batch

    def _rollout_batch(self, picks: list[tuple[int, int]], *, round_index: int) -> StepBatch:
        """This rank's share of ``picks``: generate, then let hooks set labels, score and rescore."""

        config = self.config
        offset = round_index * 1_000_000  # refill rounds get positions after the main batch's
        positions = [offset + i for i in range(self.dist.rank, len(picks), self.dist.world_size)]
        rows = [picks[i - offset][0] for i in positions]
        self.model.eval()
        prompt_ids = [self.prompt_ids(self.data.prompts[row]) for row in rows]
        seeds = [rollout_seed(config.seed, self.step, round_index, position) for position in positions]
        sampling = SamplingConfig(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                                  top_p=config.top_p, n=config.group_size, seed=config.seed,
                                  prompt_seeds=seeds, batch_size=config.generation_batch_size)
        with unsharded(self.policy):  # every rank joins the gather, then generates its own share alone
            rollouts = self.generator.generate(prompt_ids, sampling) if rows else []
        batch = StepBatch(rows=rows, ids=[self.data.ids[r] for r in rows], epochs=[picks[i - offset][1] for i in positions],
                          prompts=[self.data.prompts[r] for r in rows], gold=[self.data.answers[r] for r in rows],
                          rollouts=rollouts, group_size=config.group_size, positions=positions)
        batch.labels = list(batch.gold)
        batch.weights = [1.0] * len(rows)
        for hook in self.hooks:
            hook.after_rollouts(batch)
        batch.weights = [w if label is not None else 0.0 for w, label in zip(batch.weights, batch.labels)]
        self._score(batch)
        for hook in self.hooks:  # self-rewards read the policy's token distributions (rlvr/methods/self_rewards.py)
            if type(hook).after_rewards is not TrainerHook.after_rewards:  # gather FSDP weights only when used
                with unsharded(self.policy):
                    hook.after_rewards(batch, self.policy, self.tokenizer.pad_token_id)
        return batch

    def prompt_ids(self, prompt) -> list[int]:
        """The token ids a prompt is rolled out from: template, system prompt and chat-template keywords applied."""
        from oprd.models.chat import build_prompt_ids

        return build_prompt_ids(self.tokenizer, prompt, template=self.config.template,
                                system_prompt=self.config.system_prompt,
                                chat_template_kwargs=self.config.chat_template_kwargs)

    def _score(self, batch: StepBatch) -> None:
        """Rewards of every rollout from the reward functions, with ``answer`` = this visit's label."""
        import torch

        if self.rewards is None:
            return
        g = batch.group_size
        prompts = [p for p in batch.prompts for _ in range(g)]
        completions = trl_completions(prompts, [r.text for r in batch.rollouts])
        columns = {k: [v for v in values for _ in range(g)] for k, values in self.data.columns(batch.rows).items()}
        columns["answer"] = [label for label in batch.labels for _ in range(g)]
        columns["completion_ids"] = [list(r.response_ids) for r in batch.rollouts]
        columns["trainer_state"] = TrainerState(self.step, float(batch.epochs[0]) if batch.epochs else 0.0,
                                                self.config.max_steps)
        self.rewards.step = self.step
        total, per_function = self.rewards(prompts, completions, **columns)
        for name, values in per_function.items():
            for k, value in enumerate(values):
                if not math.isfinite(value):
                    raise OprdInputError(
                        f"reward function {name} returned {value} at step {self.step} for row "
                        f"{batch.ids[k // g]!r} (sample {k % g}); rewards must be finite numbers: fix the function"
                    )
        batch.rewards = torch.tensor(total, dtype=torch.float32)
        batch.reward_columns = per_function



    # ----------------------------------------------------------------------------------------- loss
    def _micro_batches(self, batch: StepBatch) -> list[list[int]]:
        size = self.config.micro_batch_size
        return [list(range(i, min(i + size, len(batch.rollouts)))) for i in range(0, len(batch.rollouts), size)]

    def _scoring_pass(self, batch: StepBatch):
        """No-grad pass: old log-probs (PPO epochs > 1) and hidden-state means for hooks.

        With one PPO epoch the loss uses its own detached log-probs as old ones (ratio exactly 1) and
        this pass runs only for hooks that read hidden states before the loss (GeoMin), since
        their weights multiply the advantages of that loss.
        """
        import torch

        old = []
        hidden: dict[int, list] = {layer: [] for layer in self.hidden_layers}
        self.model.eval()
        with torch.no_grad(), unsharded(self.policy):
            for rows in self._micro_batches(batch):
                tokens = TokenBatch.from_rollouts([batch.rollouts[i] for i in rows], self.tokenizer.pad_token_id,
                                                  self.model.device)
                out = policy_forward(self.policy, tokens, temperature=self.config.temperature,
                                     hidden_states=bool(self.hidden_layers))
                old.append(out.logp)
                for layer, value in response_means(out.hidden_states or (), tokens, self.hidden_layers).items():
                    hidden[layer].append(value.cpu())
        batch.hidden = {layer: torch.cat(parts) for layer, parts in hidden.items()}
        return old if self.config.ppo_epochs > 1 else None

    def _reference_logp(self, batch: StepBatch):
        import torch

        out = []
        lora = self.reference is None  # the policy itself with its adapters switched off
        reference = self.policy if lora else self.reference
        with torch.no_grad(), reference_weights(self.model) if lora else contextlib.nullcontext():
            for rows in self._micro_batches(batch):
                tokens = TokenBatch.from_rollouts([batch.rollouts[i] for i in rows], self.tokenizer.pad_token_id,
                                                  self.model.device)
                out.append(policy_forward(reference, tokens, temperature=self.config.temperature).logp)
        return out

    def _optimize(self, batch: StepBatch, advantages, keep, old_logp, ref_logp) -> dict:
        """PPO epochs over the batch in micro-batches; one optimizer step per epoch.

        Every rank runs the same number of micro-batches (DDP and FSDP2 need matching collectives):
        a rank with fewer rollouts repeats its first micro-batch with weight 0. Gradients are
        reduced on the last micro-batch only; a non-finite gradient norm skips the update.
        """
        import torch

        config = self.config
        micro = self._micro_batches(batch)
        masks = []
        for rows in micro:
            lengths = torch.tensor([len(batch.rollouts[i].response_ids) for i in rows])
            width = max(int(lengths.max()), 1)
            mask = (torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)).float() * keep[rows].unsqueeze(1)
            masks.append(mask)
        local = [float(sum(m.sum() for m in masks)), float(sum((m.sum(1) > 0).sum() for m in masks)),
                 float(len(batch.rollouts))]
        n_tokens, n_seqs, n_rollouts = all_reduce_sums(local, self.dist)
        counts = all_gather_objects(len(micro), self.dist)
        world = self.dist.world_size
        totals: dict[str, float] = {}
        skipped = 0
        self._set_lr()
        self.policy.train()
        for epoch in range(config.ppo_epochs):
            self.optimizer.zero_grad(set_to_none=True)
            for k in range(max(counts)):
                padding = k >= len(micro)  # this rank is out of rollouts: a zero-weight repeat keeps collectives even
                rows = micro[0] if padding else micro[k]
                rollouts = [batch.rollouts[i] for i in rows]
                tokens = TokenBatch.from_rollouts(rollouts, self.tokenizer.pad_token_id, self.model.device)
                with gradient_sync(self.policy, k == max(counts) - 1):
                    outputs = policy_forward(self.policy, tokens, temperature=config.temperature, **self.forward_needs)
                    total = outputs.anchor  # zero, but every block is in the graph whatever terms follow
                    terms: dict[str, tuple[float, float]] = {}
                    if advantages is not None:
                        pg, pg_weight = self._policy_gradient(outputs, rows, k, padding, advantages, masks,
                                                              old_logp, ref_logp, n_tokens, n_seqs, terms)
                        total = total + pg * pg_weight * world
                    seq_weight = 0.0 if padding else len(rows) / max(n_rollouts, 1.0)
                    for hook in self.hooks:
                        extra = hook.loss_term(MicroBatch(rollouts, tokens, outputs))
                        if extra is not None:
                            term, term_stats = extra
                            total = total + term * seq_weight * world
                            for name, value in term_stats.items():
                                terms[f"loss/{hook.name}/{name}"] = (float(value), seq_weight)
                    total.backward()
                for name, (value, weight) in terms.items():
                    totals[name] = totals.get(name, 0.0) + value * weight / config.ppo_epochs
            grad_norm = total_grad_norm(self.policy, config.max_grad_norm)
            if math.isfinite(grad_norm):
                self.optimizer.step()
            else:
                self.optimizer.zero_grad(set_to_none=True)
                skipped += 1
            totals["grad_norm"] = grad_norm
        metrics = sum_over_ranks(totals, self.dist, keep_local=("grad_norm",))
        metrics["train/skipped_nonfinite"] = float(skipped)
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        self._check_nonfinite_streak(skipped)
        return metrics

    def _policy_gradient(self, outputs: PolicyOutputs, rows, k: int, padding: bool, advantages, masks, old_logp,
                         ref_logp, n_tokens: float, n_seqs: float, terms: dict):
        """The clipped surrogate (+ KL) of micro-batch ``k`` and its share of the global loss; its
        per-term statistics go into ``terms`` with that share."""
        from oprd.rlvr.grpo import policy_loss

        config = self.config
        logp = outputs.logp
        mask = masks[k if not padding else 0].to(logp.device) * (0.0 if padding else 1.0)
        loss, stats = policy_loss(
            logp, old_logp[k] if old_logp is not None and not padding else logp.detach(),
            advantages[rows].to(logp.device), mask,
            ref_logp=ref_logp[k if not padding else 0] if ref_logp is not None else None, beta=config.beta,
            eps_low=config.eps_low, eps_high=config.eps_high, aggregation=config.aggregation,
            max_len=config.max_new_tokens,
        )
        share = 0.0 if padding else loss_share(config.aggregation, mask, n_tokens, n_seqs)
        terms.update({f"loss/{name}": (float(value), share) for name, value in stats.items()})
        return loss, share

    def _check_nonfinite_streak(self, skipped: int) -> None:
        """Stop after ``max_nonfinite_skips`` consecutive steps whose updates were all skipped."""
        self.nonfinite_streak = self.nonfinite_streak + 1 if skipped == self.config.ppo_epochs else 0
        if self.nonfinite_streak >= self.config.max_nonfinite_skips:
            raise OprdInputError(
                f"training stopped at step {self.step}: the gradient norm was non-finite (NaN or inf) for "
                f"{self.nonfinite_streak} steps in a row, so no update was applied; lower --lr, check the reward "
                "functions and the data, or use float32 (the last checkpoint holds only finite weights)"
            )

    def _set_lr(self) -> None:
        """This step's learning rate from the schedule (a function of the step, so a resume needs no state)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * self.lr_schedule(self.step)

    # -------------------------------------------------------------------------------- eval / saving
    def evaluate(self) -> dict:
        """pass@1 (greedy) and avg@k on ``eval_data`` (rank 0 only; others return nothing)."""
        from oprd.data import load_pool
        from oprd.rlvr.evaluate import evaluate

        if not self.dist.is_main:
            if is_sharded(self.policy):
                with unsharded(self.policy):  # rank 0 generates from the gathered weights
                    barrier(self.dist)
            return {}
        pool = load_pool(self.config.eval_data, prompt_key=self.config.prompt_key, answer_key=self.config.answer_key,
                         id_key=self.config.id_key)
        self.model.eval()
        with unsharded(self.policy):
            result = evaluate(self.generator, self.tokenizer, pool, k=self.config.eval_k,
                              max_new_tokens=self.config.eval_max_new_tokens or self.config.max_new_tokens,
                              batch_size=self.config.generation_batch_size, seed=self.config.seed,
                              template=self.config.template, system_prompt=self.config.system_prompt,
                              chat_template_kwargs=self.config.chat_template_kwargs)
            if is_sharded(self.policy):
                barrier(self.dist)
        return {f"eval/{key}": value for key, value in result.as_dict().items() if key not in ("n", "k")}

    def save(self) -> Path | None:
        """Write ``checkpoint-<step>`` (every rank takes part; see ``rlvr/runtime/checkpoint.py``).

        A model with a non-finite weight is never written: the run stops with one line instead.
        """
        import torch

        bad = sum(int(not bool(torch.isfinite(p.detach().to_local() if hasattr(p, "to_local") else p.detach()).all()))
                  for p in self.model.parameters())
        if all_reduce_sums([float(bad)], self.dist)[0]:
            raise OprdInputError(
                f"step {self.step}: the model holds non-finite weights, so no checkpoint was written; "
                "resume from the last checkpoint with a lower --lr"
            )
        state = {
            "step": self.step,
            "sampler": self.sampler.state_dict(),
            "rng": rng_state(),
            "hooks": {c.name: c.state_dict() for c in self.hooks},
            "base_model": self.config.model,
        }
        final = self.step == self.config.max_steps
        return save_checkpoint(self.out, self.step, self.policy, self.tokenizer, self.optimizer, state,
                               self._config_yaml(), self.config.save_total_limit, self.dist,
                               consolidated=final or self.config.save_consolidated, merged=self.config.merge_on_save)

    def _config_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(asdict(self.config), sort_keys=False)
















def _base_config(config: GRPOConfig):
    """The Hugging Face config of ``--model`` (to check a resumed checkpoint against it)."""
    from transformers import AutoConfig

    from oprd.models.loading import resolve_model_path

    return AutoConfig.from_pretrained(resolve_model_path(config.model), trust_remote_code=config.trust_remote_code)


def _reward_set(config: GRPOConfig, callables: Sequence | None):
    """The run's rewards: ``callables`` given to the trainer, else the functions ``reward_funcs`` names."""
    from oprd.rlvr.methods.distill.options import rewards_off
    from oprd.rlvr.rewards import RewardSet, load_reward_function

    if callables is not None:
        return RewardSet(list(callables), config.reward_weights)
    if rewards_off(config):
        return None  # reward_funcs [none]: only the hooks' loss terms train (see train_step)
    functions = [load_reward_function(path) for path in config.reward_funcs]
    return RewardSet(functions, config.reward_weights)
