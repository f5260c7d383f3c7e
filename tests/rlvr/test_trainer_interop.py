"""The trainer as TRL users call it: rows and reward callables in, rewards called with TRL's forms
(chat completions, completion_ids, trainer_state), a system prompt and chat-template keywords, and a
completions table every N steps."""

import json

import pytest

from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers.trainer import varied_reward

CHAT_ROWS = [{"id": f"c{i}", "prompt": [{"role": "user", "content": f"What is {i} + {i}?"}], "answer": str(2 * i)}
             for i in range(4)]


def test_rows_and_callables_in_trl_forms_out(tmp_path):
    seen: dict = {}

    def chat_reward(prompts, completions, completion_ids, trainer_state, answer, **kwargs):
        seen.update(prompt=prompts[0], completion=completions[0], ids=completion_ids[0], state=trainer_state,
                    answers=list(answer))
        return [float(len(c[0]["content"]) % 3) for c in completions]  # fails on plain strings

    config = GRPOConfig(model="tiny-random-llama", out=str(tmp_path / "run"), max_steps=2, batch_size=2, group_size=4,
                        max_new_tokens=6, save_steps=100, log_completions_steps=2, system_prompt="Answer briefly.")
    trainer = GRPOTrainer(config, train_dataset=CHAT_ROWS, reward_funcs=[chat_reward], progress=False)
    metrics = trainer.train()
    assert seen["prompt"][0]["role"] == "user"
    assert seen["completion"][0]["role"] == "assistant" and isinstance(seen["completion"][0]["content"], str)
    assert isinstance(seen["ids"], list) and all(isinstance(t, int) for t in seen["ids"])
    assert (seen["state"].global_step, seen["state"].max_steps) == (2, 2)
    assert set(seen["answers"]) <= {r["answer"] for r in CHAT_ROWS}
    assert "reward/chat_reward" in metrics
    lines = [json.loads(line) for line in (tmp_path / "run" / "completions.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 4 and {line["step"] for line in lines} == {2}  # step 2 only, every completion
    first = lines[0]
    assert {"id", "prompt", "completion", "reward", "reward/chat_reward", "advantage", "label", "weight"} <= set(first)
    assert first["reward"] == first["reward/chat_reward"]
    text = trainer.tokenizer.decode(trainer.prompt_ids(CHAT_ROWS[0]["prompt"]))
    assert "Answer briefly." in text


def test_a_dataset_object_trains_like_its_file(tmp_path):
    from datasets import Dataset

    rows = [{"id": f"q{i}", "prompt": f"{i} + {i} =", "answer": str(2 * i)} for i in range(4)]
    config = GRPOConfig(model="tiny-random-llama", out=str(tmp_path / "a"), max_steps=1, batch_size=2, group_size=4,
                        max_new_tokens=6, save_steps=100)
    from_dataset = GRPOTrainer(config, train_dataset=Dataset.from_list(rows), reward_funcs=[varied_reward],
                               progress=False).train()
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    from_file = GRPOTrainer(GRPOConfig(**{**config.__dict__, "out": str(tmp_path / "b"), "data": str(tmp_path / "rows.jsonl")}),
                            reward_funcs=[varied_reward], progress=False).train()
    assert from_dataset["reward/mean"] == from_file["reward/mean"] and from_dataset["grad_norm"] == from_file["grad_norm"]


def test_a_reward_expecting_chat_messages_says_which_form_it_got(tmp_path):
    def wants_messages(prompts, completions, **kwargs):
        return [float(len(c[0]["content"])) for c in completions]

    rows = [{"id": f"q{i}", "prompt": f"{i} + {i} =", "answer": str(2 * i)} for i in range(2)]
    config = GRPOConfig(model="tiny-random-llama", out=str(tmp_path / "run"), max_steps=1, batch_size=2, group_size=2,
                        max_new_tokens=4, save_steps=100)
    trainer = GRPOTrainer(config, train_dataset=rows, reward_funcs=[wants_messages], progress=False)
    with pytest.raises(OprdInputError, match="its completions were plain strings"):
        trainer.train()


def test_rows_and_a_data_path_together_are_refused(tmp_path):
    config = GRPOConfig(model="tiny-random-llama", data="x.jsonl", out=str(tmp_path / "run"))
    with pytest.raises(OprdInputError, match="pass one source of rows"):
        GRPOTrainer(config, train_dataset=CHAT_ROWS, progress=False)
