"""oprd's verifier and TTRL majority-vote rewards as TRL reward functions.

TRL calls ``reward_func(prompts=..., completions=..., completion_ids=..., **columns)`` with the dataset's
columns as lists (plus ``trainer_state`` and logging hooks) and takes one float, or None for "does not
apply to this row", per completion. Both rewards below follow that contract and grade with oprd's
grader (``docs/grader.md``), so a TRL run scores answers exactly as ``oprd-train`` and ``oprd eval`` do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from oprd.data.keys import MISSING, lookup
from oprd.errors import OprdInputError
from oprd.integrations.completions import completion_text, prompt_key
from oprd.verify import GraderOptions, default_options, extract_answer, grade, majority_cluster

#: Keywords TRL adds beside the dataset columns (not columns themselves).
_TRL_KEYWORDS = ("trainer_state", "log_extra", "log_metric", "environments", "completion_ids")


class VerifierReward:
    """1.0 when a completion's final answer equals the row's gold answer, else 0.0; None for rows without gold.

    ``answer_key`` names the gold column, dotted for nested columns (``reward_model.ground_truth`` for
    verl-style data). None for a row without gold lets another reward (e.g. :class:`MajorityVoteReward`)
    score it, as TRL sums the rewards that apply.
    """

    def __init__(self, answer_key: str = "answer", options: GraderOptions | None = None,
                 timeout_s: float = 2.0) -> None:
        self.answer_key = answer_key
        self.options = options
        self.timeout_s = timeout_s
        self.__name__ = "oprd_verifier"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                 **columns: Any) -> list[float | None]:
        """One reward per completion (TRL keyword call)."""
        options = self.options or default_options()
        golds = gold_answers(columns, self.answer_key, len(completions), self.__name__)
        return [None if gold is None else grade(completion_text(c, i), gold, options, timeout_s=self.timeout_s)
                for i, (c, gold) in enumerate(zip(completions, golds))]


class MajorityVoteReward:
    """TTRL's label-free reward: 1.0 for completions whose answer is the majority answer of their prompt's group.

    Completions are grouped by prompt (TRL passes each prompt's ``num_generations`` completions in one
    call on a single process); a group without a unique majority (no answer, or a tie) gets 0.0. With
    ``answer_key``, rows that have a gold answer get None, so in a semi-supervised dataset the verifier
    scores labeled rows and this reward the unlabeled ones. Under several processes a group may be
    split across them; votes are then taken over the completions each process holds.
    """

    def __init__(self, answer_key: str | None = None, options: GraderOptions | None = None,
                 timeout_s: float = 2.0) -> None:
        self.answer_key = answer_key
        self.options = options
        self.timeout_s = timeout_s
        self.__name__ = "oprd_majority_vote"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                 **columns: Any) -> list[float | None]:
        """One reward per completion (TRL keyword call)."""
        if prompts is None or len(prompts) != len(completions):
            raise OprdInputError(
                f"{self.__name__} needs prompts beside completions to group them, got "
                f"{'no prompts' if prompts is None else f'{len(prompts)} prompts'} for {len(completions)} "
                "completions; call it as TRL does: f(prompts=..., completions=..., **columns)"
            )
        options = self.options or default_options()
        answers = [extract_answer(completion_text(c, i), options) for i, c in enumerate(completions)]
        groups: dict[str, list[int]] = {}
        for index, prompt in enumerate(prompts):
            groups.setdefault(prompt_key(prompt), []).append(index)
        rewards: list[float | None] = [0.0] * len(completions)
        for members in groups.values():
            cluster = majority_cluster([answers[i] for i in members], timeout_s=self.timeout_s)
            for position in cluster.indices if cluster else ():
                rewards[members[position]] = 1.0
        if self.answer_key is not None:
            golds = gold_answers(columns, self.answer_key, len(completions), self.__name__, required=False)
            rewards = [None if gold is not None else reward for reward, gold in zip(rewards, golds)]
        return rewards


class RefinedVerifierReward:
    """OLR inside TRL: the verifier against a label refined online from the policy's own answers.

    Completions are grouped by prompt (as TRL passes them on one process). For each group the
    :class:`~oprd.rlvr.methods.olr.refiner.OnlineLabelRefiner` records this visit's majority answer
    and its share, and returns the label to train with: the gold column's label, or the consistent,
    rising majority once the refinement condition holds (docs/methods/olr.md). The epoch comes from
    TRL's ``trainer_state.epoch``. Rows without gold get None. ``refiner.last_decision(key)`` tells
    what was decided for a prompt (``key`` = the ``id_key`` column, else the prompt itself).
    """

    def __init__(self, answer_key: str = "answer", *, id_key: str | None = None, refiner=None,
                 options: GraderOptions | None = None, timeout_s: float = 2.0) -> None:
        from oprd.rlvr.methods.olr.refiner import OnlineLabelRefiner

        self.answer_key = answer_key
        self.id_key = id_key
        self.refiner = refiner if refiner is not None else OnlineLabelRefiner()
        self.options = options
        self.timeout_s = timeout_s
        self.__name__ = "oprd_refined_verifier"

    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (),
                 trainer_state: Any = None, **columns: Any) -> list[float | None]:
        """One reward per completion (TRL keyword call)."""
        if prompts is None or len(prompts) != len(completions):
            raise OprdInputError(f"{self.__name__} needs prompts beside completions to group them; call it as TRL "
                                 "does: f(prompts=..., completions=..., **columns)")
        options = self.options or default_options()
        golds = gold_answers(columns, self.answer_key, len(completions), self.__name__)
        keys = ([str(v) for v in columns[self.id_key]] if self.id_key and self.id_key in columns
                else [prompt_key(prompt) for prompt in prompts])
        epoch = int(getattr(trainer_state, "epoch", 0) or 0)
        texts = [completion_text(c, i) for i, c in enumerate(completions)]
        groups: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            groups.setdefault(key, []).append(index)
        rewards: list[float | None] = [None] * len(completions)
        for key, members in groups.items():
            gold = golds[members[0]]
            if gold is None:
                continue
            answers = [extract_answer(texts[i], options) for i in members]
            label = self.refiner.observe(key, answers, epoch, gold)
            for i in members:
                rewards[i] = grade(texts[i], label, options, timeout_s=self.timeout_s) if label is not None else 0.0
        return rewards


def gold_answers(columns: Mapping[str, Any], answer_key: str, n: int, owner: str, *,
                 required: bool = True) -> list[str | None]:
    """The gold answer of each row from TRL's column keywords (None where missing or null)."""
    head = answer_key if answer_key in columns else answer_key.split(".", 1)[0]
    if head not in columns:
        if not required:
            return [None] * n
        given = ", ".join(k for k in columns if k not in _TRL_KEYWORDS) or "none"
        raise OprdInputError(
            f"{owner} reads the gold answer from the dataset column {answer_key!r}, which the trainer did not pass "
            f"(columns passed: {given}); add that column to the dataset or set answer_key to the gold column"
        )
    values = list(columns[head])
    if len(values) != n:
        raise OprdInputError(f"{owner}: column {head!r} has {len(values)} values for {n} completions; "
                             "pass one value per completion, as TRL does")
    rest = answer_key[len(head) + 1:]
    golds: list[str | None] = []
    for value in values:
        if rest:
            value = lookup(value, rest) if isinstance(value, Mapping) else MISSING
        golds.append(None if value is MISSING or value is None else str(value))
    return golds


verifier_reward = VerifierReward()
"""The verifier against the ``answer`` column: ``GRPOTrainer(reward_funcs=[verifier_reward], ...)``."""
majority_vote_reward = MajorityVoteReward()
"""TTRL majority vote on every row (no labels needed)."""
