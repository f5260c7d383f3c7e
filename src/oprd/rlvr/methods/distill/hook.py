"""OPRD and the OPD baselines as a trainer component: teacher targets once per step, loss per micro-batch.

After the rollouts of a step (``after_advantages``), the frozen teacher reads all of them and keeps
only its targets (selected layers/positions for OPRD, final states for OPD), in bf16 and on CPU if
asked. Each micro-batch's ``loss_term`` returns ``sum_k coef_k * loss_k`` over the configured
terms (one, or a combination such as OPD + mu * OPRD), reading the student's hidden states,
log-probs or logits from the trainer's one policy forward (``forward_needs`` asks for them; the
student never runs a forward of its own); the trainer adds it to the GRPO loss, or trains on it
alone with ``reward_funcs: [none]``.

Logged per term: a single loss keeps ``loss/oprd/{loss,cosine}`` or ``loss/opd/{loss,reverse_kl}``;
a combination is the component ``distill`` with ``loss/distill/<kind>/<stat>`` for each kind, the
loss unweighted (the coefficient is in the config).
"""

from __future__ import annotations

from typing import Sequence

import torch

from oprd.distill.batching import stack_rows
from oprd.distill.bridge import BridgeModels
from oprd.distill.compat import DistillPlan, check_token_distillation, plan_representation
from oprd.distill.losses import representation_loss
from oprd.distill.opd import opd_loss, student_topk
from oprd.distill.positions import parse_positions
from oprd.distill.teacher import Teacher
from oprd.errors import OprdInputError
from oprd.rlvr.hooks import MicroBatch, StepBatch, TrainerHook
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.methods.distill.options import distill_terms
from oprd.rlvr.policy import TokenBatch, states_at


class DistillComponent(TrainerHook):
    """``--distill oprd | opd-top1 | opd-topk | opd-full`` (or several, comma-joined) against ``--teacher``."""

    order = 30

    def __init__(self, kinds: str | Sequence[str], teacher: Teacher, *, plan: DistillPlan | None = None,
                 coef: float | Sequence[float] | None = None, positions: str = "last_k:2000",
                 temperature: float = 1.0, topk: int = 16, normalize: bool = False) -> None:
        """``kinds``/``coef`` as ``distill``/``distill_coef``; ``plan`` (layer pairs, bridge) is required with
        ``oprd``. :meth:`from_config` checks and builds everything."""
        self.terms = distill_terms(kinds, coef)
        if plan is None and any(term.kind == "oprd" for term in self.terms):
            raise OprdInputError("OPRD needs a layer plan (student/teacher layer pairs); build it with plan_representation")
        families = {term.family for term in self.terms}
        self.name = "distill" if len(self.terms) > 1 else self.terms[0].family
        self.teacher = teacher
        self.plan = plan
        self.bridge = plan.bridge.to(teacher.device) if plan is not None and plan.bridge is not None else None
        self.spec = parse_positions(positions)
        self.temperature = temperature
        self.topk = topk
        self.normalize = normalize
        self._families = sorted(families)
        self._targets: dict[str, dict[int, torch.Tensor]] = {}
        self._rollouts: list = []

    @classmethod
    def from_config(cls, config: GRPOConfig) -> "DistillComponent":
        """Load the teacher and check it against the student (depth, width, bridge, tokenizer) in one line."""
        from transformers import AutoConfig

        from oprd.models.loading import load_model, load_tokenizer, resolve_model_path

        terms = distill_terms(config.distill, config.distill_coef)
        student = AutoConfig.from_pretrained(resolve_model_path(config.model), trust_remote_code=config.trust_remote_code)
        student_tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
        model, tokenizer = load_model(config.teacher, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
        teacher = Teacher(model, tokenizer, student_tokenizer=student_tokenizer, template=config.template,
                          store_dtype=config.distill_store_dtype, offload=config.distill_offload,
                          batch_size=config.micro_batch_size)
        plan = None
        if any(term.family == "oprd" for term in terms):
            models = BridgeModels(config.model, config.teacher, int(student.hidden_size), teacher.width,
                                  int(student.num_hidden_layers), teacher.depth)
            plan = plan_representation(models, config.distill_layers, layer_map=config.distill_layer_map,
                                       bridge_path=config.bridge)
        if any(term.family == "opd" for term in terms):
            teacher_vocab = model.get_output_embeddings().weight.shape[0]
            check_token_distillation(teacher.shares_tokens, int(student.vocab_size), int(teacher_vocab))
        return cls([t.kind for t in terms], teacher, plan=plan, coef=[t.coef for t in terms],
                   positions=config.distill_positions, temperature=config.temperature, topk=config.distill_topk,
                   normalize=config.distill_normalize)

    # ------------------------------------------------------------------------------ teacher pass
    def after_advantages(self, batch: StepBatch) -> None:
        """Run the teacher over the step's rollouts and keep its targets per family ("oprd", "opd"), by rollout."""
        prompts = [batch.prompts[i // batch.group_size] for i in range(len(batch.rollouts))]
        sequences = self.teacher.sequences(batch.rollouts, prompts)
        self._rollouts = list(batch.rollouts)  # keeps the ids below valid for this step
        self._targets = {}
        for family in self._families:
            if family == "oprd":
                project = self.bridge.project_teacher if self.bridge else None
                targets = self.teacher.states(sequences, self.plan.teacher_layers, self.spec, project=project)
            else:
                targets = self.teacher.final_states(sequences)
            self._targets[family] = {id(r): t for r, t in zip(self._rollouts, targets)}

    # ------------------------------------------------------------------------------- student loss
    def forward_needs(self) -> set[str]:
        """OPRD reads hidden states, top-k / full OPD the student's logits, top-1 OPD its log-probs."""
        kinds = {term.kind for term in self.terms}
        needs = {"hidden_states"} if "oprd" in kinds else set()
        if kinds & {"opd-topk", "opd-full"}:
            needs.add("logits")
        if "opd-top1" in kinds:
            needs.add("logprobs")
        return needs

    def loss_term(self, micro: MicroBatch):
        """``(sum_k coef_k * loss_k, stats)`` on this micro-batch; None when no term has a position to train on."""
        total, stats = None, {}
        for term in self.terms:
            targets = [self._targets[term.family][id(r)] for r in micro.rollouts]
            if term.kind == "oprd":
                result = self._representation(micro, targets)
            else:
                result = self._token_distillation(micro, targets, term.kind)
            if result is None:
                continue
            loss, term_stats = result
            total = term.coef * loss if total is None else total + term.coef * loss
            prefix = f"{term.kind}/" if len(self.terms) > 1 else ""
            stats.update({f"{prefix}{key}": value for key, value in {"loss": float(loss.detach()), **term_stats}.items()})
        return None if total is None else (total, stats)

    def _representation(self, micro: MicroBatch, targets: list[torch.Tensor]):
        tokens: TokenBatch = micro.token_batch
        device = tokens.input_ids.device
        starts = torch.tensor([len(r.prompt_ids) for r in micro.rollouts], device=device)
        lengths = torch.tensor([len(r.response_ids) for r in micro.rollouts], device=device)
        columns = max(max(self.spec.count(len(r.response_ids)) for r in micro.rollouts), max(t.shape[1] for t in targets))
        if columns == 0:
            return None
        index, valid_student = self.spec.select(starts, lengths, columns=columns)
        teacher_states, valid_teacher = stack_rows([t.to(device) for t in targets], columns,
                                                   suffix=self.spec.suffix_aligned)
        states = states_at(micro.outputs.hidden_states, self.plan.student_layers, index)
        if self.bridge is not None:
            states = self.bridge.project_student(states)
        loss, cosine = representation_loss(states, teacher_states, valid_student * valid_teacher.to(device), layout="BLTd",
                                           normalize=self.normalize or self.bridge is not None)
        return loss, {"cosine": float(cosine)}

    def _token_distillation(self, micro: MicroBatch, targets: list[torch.Tensor], kind: str):
        tokens: TokenBatch = micro.token_batch
        width = tokens.targets.shape[1]
        final = torch.zeros((len(targets), width, targets[0].shape[-1]), dtype=targets[0].dtype)
        for row, target in enumerate(targets):
            final[row, : target.shape[0]] = target.cpu()
        if kind == "opd-top1":
            student = micro.outputs.logp
            teacher = torch.log_softmax(self.teacher.logits(final) / self.temperature, dim=-1)
            teacher = teacher.gather(-1, tokens.targets.unsqueeze(-1).to(teacher.device)).squeeze(-1)
            loss, kl = opd_loss(student, teacher, tokens.mask, kind="top1")
        else:
            student = micro.outputs.logits / self.temperature
            if kind == "opd-topk" and self.topk < student.shape[-1]:
                teacher = self.teacher.logits(final, student_topk(student, self.topk)) / self.temperature
                loss, kl = opd_loss(student, teacher, tokens.mask, kind="topk", k=self.topk)
            else:  # full, or top-k with k >= |V| (the same sum)
                teacher = self.teacher.logits(final) / self.temperature
                loss, kl = opd_loss(student, teacher, tokens.mask, kind="full")
        return loss, {"reverse_kl": float(kl)}
