"""The rollout record, sampling settings, and the protocol every generation backend follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from oprd.errors import param_error


@dataclass
class Rollout:
    """One sampled response to one prompt.

    ``response_ids`` includes the final EOS token when the model stopped (``finish_reason="stop"``);
    ``text`` is the decoded response without special tokens. ``logprobs`` (optional) are the
    sampling distribution's log-probabilities of each response token.
    """

    prompt_index: int
    sample_index: int
    prompt_ids: list[int]
    response_ids: list[int]
    text: str
    finish_reason: str
    logprobs: list[float] | None = None

    @property
    def truncated(self) -> bool:
        """The response hit the token limit before EOS."""
        return self.finish_reason == "length"


@dataclass
class SamplingConfig:
    """How to sample. ``temperature == 0`` means greedy decoding (then ``top_p`` is ignored).

    ``prompt_seeds`` (one per prompt) gives every sample its own random stream, derived from its
    prompt's seed and its sample index, so a rollout is the same whichever prompts share its batch
    (up to float differences from padding); without it one ``seed`` drives each whole batch.
    """

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0
    batch_size: int = 8
    return_logprobs: bool = False
    stop_token_ids: list[int] = field(default_factory=list)
    prompt_seeds: list[int] | None = None

    def validate(self) -> "SamplingConfig":
        """Reject out-of-range values with the project's one error shape."""
        owner = "SamplingConfig"
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1:
            raise param_error("max_new_tokens", owner, "an int >= 1", self.max_new_tokens)
        if not 0.0 <= float(self.temperature) <= 100.0:
            raise param_error("temperature", owner, "a float in [0, 100]", self.temperature)
        if not 0.0 < float(self.top_p) <= 1.0:
            raise param_error("top_p", owner, "a float in (0, 1]", self.top_p)
        if not isinstance(self.n, int) or self.n < 1:
            raise param_error("n", owner, "an int >= 1", self.n)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise param_error("batch_size", owner, "an int >= 1", self.batch_size)
        if self.n > 1 and self.temperature == 0:
            raise param_error("temperature", owner, "> 0 when n > 1 (greedy samples are identical)", self.temperature)
        return self

    def check_prompt_seeds(self, n_prompts: int) -> None:
        """``prompt_seeds``, when given, must hold one seed per prompt."""
        if self.prompt_seeds is not None and len(self.prompt_seeds) != n_prompts:
            raise param_error("prompt_seeds", "SamplingConfig", f"one seed per prompt ({n_prompts})",
                              f"{len(self.prompt_seeds)} seeds")


Progress = Callable[[int], None]


class Generator(Protocol):
    """A rollout backend: token-id prompts in, ``Rollout`` records out (prompt-major, sample-minor)."""

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, *, progress: Progress | None = None
    ) -> list[Rollout]:
        ...
