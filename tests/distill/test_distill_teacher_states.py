
import torch

from oprd.distill import Teacher, gather_states, parse_positions
from oprd.distill.retokenize import same_tokenizer, teacher_sequence
from oprd.generation.base import Rollout
from tests.helpers.distill import foreign_tokenizer


def _rollouts():
    return [Rollout(0, 0, [5, 6, 7], [40, 41, 42, 43], "abcd", "stop"), Rollout(0, 1, [5, 6], [50, 51], "ef", "length")]


def _packed(rollouts, pad):
    width = max(len(r.prompt_ids) + len(r.response_ids) for r in rollouts)
    ids = torch.full((len(rollouts), width), pad)
    attention = torch.zeros_like(ids)
    for row, r in enumerate(rollouts):
        seq = r.prompt_ids + r.response_ids
        ids[row, : len(seq)] = torch.tensor(seq)
        attention[row, : len(seq)] = 1
    return ids, attention


def test_gathered_states_equal_output_hidden_states_and_stop_early(tiny):
    model, tokenizer = tiny
    ids, attention = _packed(_rollouts(), tokenizer.pad_token_id)
    index = torch.tensor([[3, 4, 6], [2, 3, 3]])
    with torch.no_grad():
        reference = model(input_ids=ids, attention_mask=attention, output_hidden_states=True).hidden_states
        got = gather_states(model, ids, attention, [0, 1, 2], index)
    rows = torch.arange(2).unsqueeze(1)
    for k, layer in enumerate([0, 1, 2]):
        assert torch.allclose(got[:, k], reference[layer][rows, index], atol=1e-5)
    calls = []
    handle = model.model.layers[1].register_forward_hook(lambda *a: calls.append(1))
    try:
        with torch.no_grad():
            gather_states(model, ids, attention, [1], index)
    finally:
        handle.remove()
    assert calls == []  # the forward stopped after block 1


def test_teacher_keeps_selected_rows_in_bf16_on_cpu_without_gradient():
    from oprd.models.tiny import build_tiny_model

    model, tokenizer = build_tiny_model(seed=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    teacher = Teacher(model, tokenizer, student_tokenizer=tokenizer, store_dtype="bfloat16", offload=True)
    assert teacher.shares_tokens
    rollouts = _rollouts()
    sequences = teacher.sequences(rollouts, ["p", "p"])
    rows = teacher.states(sequences, [1, 2], parse_positions("last_k:3"))
    assert [tuple(r.shape) for r in rows] == [(2, 3, 64), (2, 2, 64)]
    assert all(r.dtype == torch.bfloat16 and r.device.type == "cpu" and not r.requires_grad for r in rows)
    ids, attention = _packed(rollouts, tokenizer.pad_token_id)
    with torch.no_grad():
        direct = gather_states(model, ids, attention, [1, 2], torch.tensor([[4, 5, 6], [2, 2, 3]]))
    assert torch.allclose(rows[0].float(), direct[0], atol=1e-2)
    assert torch.allclose(rows[1].float(), direct[1, :, 1:], atol=1e-2)
    final = teacher.final_states(sequences)
    assert [tuple(f.shape) for f in final] == [(4, 64), (2, 64)]
    logits = teacher.logits(torch.stack([final[0].float()]))
    at = teacher.logits(torch.stack([final[0].float()]), torch.tensor([[[3, 9]] * 4]))
    assert torch.allclose(logits[..., [3, 9]], at, atol=1e-4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(p.requires_grad for p in model.parameters())


def test_other_tokenizer_gets_the_decoded_response_in_its_own_ids(tiny):
    _, tokenizer = tiny
    other = foreign_tokenizer()
    assert same_tokenizer(tokenizer, tokenizer) and not same_tokenizer(tokenizer, other)
    text = "baaad"
    response = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    rollout = Rollout(0, 0, [1, 2], response, text, "stop")
    prompt_ids, response_ids = teacher_sequence(rollout, "What is 1 + 1?", other)
    assert response_ids[-1] == other.eos_token_id
    assert other.decode(response_ids[:-1]) == text
    assert len(response_ids) == len(response) - 1  # "aa" is one teacher token
    assert other.decode(prompt_ids).startswith("<|im_start|>user\nWhat is 1 + 1?")
    truncated = Rollout(0, 0, [1, 2], response[:-1], text, "length")
    assert teacher_sequence(truncated, "q", other)[1][-1] != other.eos_token_id
