"""SHIFT anchors when the chat template opens ``<think>`` at the end of the prompt (R1-distilled, Qwen3)."""

from oprd.features import find_anchors
from oprd.generation import Rollout

THINK, END, NEWLINE, EOS = 50, 51, 10, 2


def _anchors(prompt, response, reason="stop"):
    return find_anchors(Rollout(0, 0, prompt, response, "", reason), think_start_id=THINK, think_end_id=END)


def test_template_ending_with_think_starts_at_the_last_prompt_token_and_ends_at_close():
    anchors = _anchors([1, 2, THINK], [7, 7, END, 4, EOS])
    assert (anchors.reasoning_start, anchors.reasoning_end, anchors.truncated) == (2, 5, False)
    assert anchors.reasoning_start == anchors.last_prompt


def test_template_ending_with_think_and_a_newline_starts_at_think():
    anchors = _anchors([1, 2, THINK, NEWLINE], [7, 7, 7, END, 4, EOS])
    assert (anchors.reasoning_start, anchors.reasoning_end, anchors.truncated) == (2, 7, False)


def test_open_think_without_close_is_truncated_even_with_eos():
    stopped = _anchors([1, 2, THINK], [7, 7, 4, EOS])
    assert (stopped.reasoning_start, stopped.reasoning_end, stopped.truncated) == (2, 5, True)
    cut = _anchors([1, 2, THINK], [7, 7, 4], reason="length")
    assert (cut.reasoning_start, cut.reasoning_end, cut.truncated) == (2, 5, True)


def test_closed_or_early_think_blocks_in_the_prompt_are_not_open():
    # Qwen3 with thinking off writes an empty closed block; an old turn's block is far from the end
    closed = _anchors([1, THINK, NEWLINE, END, NEWLINE], [7, 8, 9, EOS])
    assert (closed.reasoning_start, closed.reasoning_end, closed.truncated) == (5, 7, False)
    early = _anchors([1, THINK, 3, 3, 3, 3, 3], [7, 8, 9, EOS])
    assert (early.reasoning_start, early.reasoning_end, early.truncated) == (7, 9, False)


def test_generated_think_still_anchors_and_close_is_searched_after_it():
    anchors = _anchors([1, 2], [END, 9, THINK, 7, END, 4, EOS])
    assert (anchors.reasoning_start, anchors.reasoning_end, anchors.truncated) == (4, 6, False)
