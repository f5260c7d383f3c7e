"""A system prompt and chat-template keywords reach the prompts selection feeds the model, and its cache key."""

from oprd.data import Pool
from oprd.models.context import pool_prompt_ids
from oprd.models.loading import load_tokenizer, resolve_model_path
from oprd.selectors.pipeline import SelectionConfig
from oprd.selectors.pivottrace.config import PivotTraceConfig


def test_system_prompt_reaches_selection_and_pivottrace_prompts(tmp_path):
    tokenizer = load_tokenizer("tiny-random-llama")
    resolved = resolve_model_path("tiny-random-llama")
    config = SelectionConfig(method="shift", budget=1, model="tiny-random-llama", system_prompt="Be brief.",
                             chat_template_kwargs={"unused_flag": True})
    extraction = config.extraction()
    assert extraction.system_prompt == "Be brief." and extraction.chat_template_kwargs == {"unused_flag": True}
    plain, with_system = (pool_prompt_ids(["What is 2 + 2?"], ["a"], tokenizer, resolved, template="{prompt}",
                                          max_new_tokens=4, source="x", system_prompt=system)
                          for system in (None, "Be brief."))
    assert "Be brief." in tokenizer.decode(with_system[0]) and "Be brief." not in tokenizer.decode(plain[0])
    pool = Pool.from_rows([{"id": "a", "prompt": "What is 2 + 2?"}])
    sides = [PivotTraceConfig(model="tiny-random-llama", system_prompt=system, cache_dir=str(tmp_path)).model_side(pool)
             for system in (None, "Be brief.")]
    assert sides[0].base != sides[1].base  # cached rollouts of one never serve the other
