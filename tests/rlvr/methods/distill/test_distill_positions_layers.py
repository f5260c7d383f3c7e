import pytest
import torch

from oprd.distill import (
    layer_map,
    layer_pairs,
    parse_positions,
    select_first_k,
    select_last,
    select_last_k,
    student_layers,
)
from oprd.distill.batching import split_rows, stack_rows
from oprd.distill.positions import PositionSpec
from oprd.errors import OprdInputError


@pytest.mark.parametrize("n_student,n_teacher", [(2, 2), (4, 12), (30, 24), (3, 28), (12, 4)])
def test_layer_map_is_proportional_and_maps_endpoints_to_endpoints(n_student, n_teacher):
    mapping = layer_map(n_student, n_teacher)
    assert mapping[0] == 0 and mapping[1] == 1 and mapping[n_student] == n_teacher
    values = [mapping[i] for i in range(1, n_student + 1)]
    assert values == sorted(values)
    assert all(mapping[i] == round((i - 1) / (n_student - 1) * (n_teacher - 1)) + 1 for i in range(1, n_student + 1))


def test_layer_map_of_a_one_layer_student_and_impossible_depths():
    assert layer_map(1, 6)[1] == 6
    with pytest.raises(OprdInputError, match="at least one decoder layer"):
        layer_map(0, 6)
    with pytest.raises(OprdInputError, match="identity layer map needs equal depths"):
        layer_pairs("all", 4, 6, mode="identity")


def test_student_layer_specs():
    assert student_layers("all", 4) == [1, 2, 3, 4]
    assert student_layers("last", 4) == [4]
    assert student_layers("1,-1", 4) == [1, 4]


def test_even_and_odd_count_blocks_from_zero_as_the_released_code():
    # even = blocks 0, 2, 4 = hidden_states 1, 3, 5; odd = blocks 1, 3 = hidden_states 2, 4
    assert student_layers("even", 5) == [1, 3, 5]
    assert student_layers("odd", 5) == [2, 4]
    assert student_layers("even", 28) == list(range(1, 29, 2)) and student_layers("odd", 28) == list(range(2, 29, 2))
    assert layer_pairs("even", 4, 4, mode="identity") == [(1, 1), (3, 3)]
    with pytest.raises(OprdInputError, match="selects no layer"):
        layer_pairs("odd", 1, 6)  # a one-block student has block 0 only


def test_last_layer_pair():
    assert layer_pairs("last", 4, 8) == [(4, 8)]


@pytest.mark.parametrize("spec,expected", [("last_k:2000", PositionSpec("last_k", 2000)), ("first_k:3", PositionSpec("first_k", 3)),
                                           ("all", PositionSpec("all")), ("last", PositionSpec("last"))])
def test_parse_positions(spec, expected):
    assert parse_positions(spec) == expected


@pytest.mark.parametrize("spec", ["last_k", "last_k:", "last_k:x", "last_k:0", "middle", "all:3", "first_k:-2", ""])
def test_unparsable_positions_are_one_line_errors(spec):
    with pytest.raises(OprdInputError, match="cannot parse positions spec") as info:
        parse_positions(spec)
    assert "\n" not in str(info.value)


def test_selectors_keep_response_tokens_only():
    starts, lengths = torch.tensor([3, 5]), torch.tensor([4, 1])  # prompt lengths, response lengths
    index, valid = select_last_k(starts, lengths, 3)
    assert index.tolist() == [[4, 5, 6], [0, 0, 5]]
    assert valid.tolist() == [[1, 1, 1], [0, 0, 1]]
    index, valid = select_first_k(starts, lengths, 2)
    assert index.tolist() == [[3, 4], [5, 0]] and valid.tolist() == [[1, 1], [1, 0]]
    index, valid = select_last(starts, lengths)
    assert index.tolist() == [[6], [5]] and valid.tolist() == [[1], [1]]
    index, valid = parse_positions("all").select(starts, torch.tensor([2, 0]))
    assert valid.tolist() == [[1, 1], [0, 0]] and index[0].tolist() == [3, 4]
    for spec in ("last_k:3", "first_k:3", "all", "last"):
        index, valid = parse_positions(spec).select(starts, lengths)
        real = index[valid.bool()]
        row = torch.arange(2).unsqueeze(1).expand_as(index)[valid.bool()]
        assert bool(((real >= starts[row]) & (real < starts[row] + lengths[row])).all())


def test_rows_round_trip_with_suffix_and_prefix_alignment():
    states = torch.arange(2 * 1 * 3 * 1, dtype=torch.float32).view(2, 1, 3, 1)
    valid = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    rows = split_rows(states, valid, suffix=True)
    assert [r.shape[1] for r in rows] == [3, 2]
    packed, back = stack_rows(rows, 3, suffix=True)
    assert torch.equal(back, valid) and torch.equal(packed * valid[:, None, :, None], states * valid[:, None, :, None])
    packed, back = stack_rows(rows, 2, suffix=False)
    assert back.tolist() == [[1, 1], [1, 1]] and packed[1, 0, :, 0].tolist() == [4.0, 5.0]
