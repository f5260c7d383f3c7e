import math

import pytest
import torch

from oprd.distill import opd_loss, representation_loss, student_topk
from oprd.errors import OprdInputError


def test_representation_loss_matches_hand_computation():
    student = torch.tensor([[[[1.0, 3.0], [9.0, 9.0]],      # layer 1: position 0 counts, position 1 masked
                             [[2.0, 0.0], [-9.0, 9.0]]]])   # layer 2
    teacher = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]],
                             [[0.0, 0.0], [0.0, 0.0]]]])
    teacher[0, 1, 0] = torch.tensor([1.0, 1.0])
    mask = torch.tensor([[1.0, 0.0]])
    loss, cosine = representation_loss(student, teacher, mask, layout="BLTd")
    # layer 1: diff (0, 2) -> (0 + 4) / 2 = 2; layer 2: diff (1, -1) -> (1 + 1) / 2 = 1; layer mean 1.5
    assert float(loss) == pytest.approx(1.5)
    cos1 = 4.0 / (math.sqrt(10) * math.sqrt(2))
    cos2 = 2.0 / (2.0 * math.sqrt(2))
    assert float(cosine) == pytest.approx((cos1 + cos2) / 2, rel=1e-5)


def test_positions_are_pooled_over_the_batch_and_list_input_is_accepted():
    student = [torch.tensor([[[2.0], [4.0]], [[6.0], [100.0]]])]  # one layer, (B=2, T=2, d=1)
    teacher = [torch.zeros(2, 2, 1)]
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    loss, _ = representation_loss(student, teacher, mask)
    assert float(loss) == pytest.approx((4 + 16 + 36) / 3)  # masked mean over 3 positions, not per row


def test_normalize_compares_unit_vectors():
    student = torch.tensor([3.0, 4.0]).view(1, 1, 1, 2)
    teacher = torch.tensor([5.0, 0.0]).view(1, 1, 1, 2)
    loss, cosine = representation_loss(student, teacher, torch.ones(1, 1), layout="BLTd", normalize=True)
    assert float(loss) == pytest.approx((0.4 ** 2 + 0.8 ** 2) / 2)
    assert float(cosine) == pytest.approx(0.6)


def test_masked_entries_do_not_change_the_loss_and_empty_mask_gives_zero():
    student, teacher = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5)
    mask = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    changed = student.clone()
    changed[0, :, 0] += 100.0  # a prompt-side column
    changed[0, :, 3] -= 100.0  # a padding column
    def loss(s, m):
        return representation_loss(s, teacher, m, layout="BLTd")[0]

    assert torch.allclose(loss(student, mask), loss(changed, mask))
    assert float(loss(student, torch.zeros(2, 4))) == 0.0


def test_gradient_reaches_only_the_student():
    student = torch.randn(1, 2, 3, 4, requires_grad=True)
    teacher = torch.randn(1, 2, 3, 4, requires_grad=True)
    loss, _ = representation_loss(student, teacher, torch.ones(1, 3), layout="BLTd")
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_bf16_student_gets_the_fp32_loss_and_gradient():
    # 1.001 rounds to 1.0 in bf16: casting the teacher to the student's dtype first would give 0
    student = torch.ones(1, 2, 3, 4, dtype=torch.bfloat16, requires_grad=True)
    teacher = torch.full((1, 2, 3, 4), 1.001)
    loss, cosine = representation_loss(student, teacher, torch.ones(1, 3), layout="BLTd")
    assert loss.dtype == torch.float32 and cosine.dtype == torch.float32
    assert float(loss.detach()) == pytest.approx(0.001 ** 2, rel=1e-3)
    loss.backward()
    assert student.grad.dtype == torch.bfloat16 and float(student.grad.abs().sum()) > 0


def test_bf16_loss_matches_fp32_on_random_states():
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(2, 3, 5, 16, generator=generator)
    teacher = base + 0.01 * torch.randn(2, 3, 5, 16, generator=generator)
    student = base.bfloat16()
    mask = torch.ones(2, 5)
    reference, _ = representation_loss(student.float(), teacher, mask, layout="BLTd")
    loss, _ = representation_loss(student, teacher, mask, layout="BLTd")
    assert float(loss) == pytest.approx(float(reference), rel=1e-6)


def test_layer_first_tensor_is_read_when_declared_and_refused_when_it_cannot_match():
    student, teacher = torch.randn(3, 1, 4, 5), torch.randn(3, 1, 4, 5)  # (L=3, B=1, T=4, d=5)
    mask = torch.ones(1, 4)
    per_layer = [student[i] for i in range(3)], [teacher[i] for i in range(3)]
    expected, _ = representation_loss(*per_layer, mask)
    assert float(expected) == pytest.approx(float((student - teacher).pow(2).mean()), rel=1e-6)
    assert float(representation_loss(student, teacher, mask, layout="LBTd")[0]) == pytest.approx(float(expected))
    with pytest.raises(OprdInputError, match="do not match the mask .B=1, T=4.; the tensor looks like it has the other"):
        representation_loss(student, teacher, mask, layout="BLTd")


def test_tensors_without_a_layout_and_bad_shapes_are_one_line_errors():
    square = torch.randn(2, 2, 4, 5)  # L == B: no shape check can tell the two layouts apart
    cases = [
        ((square, square, torch.ones(2, 4)), {}, "say which axis holds the layers"),
        ((square, square, torch.ones(2, 4)), {"layout": "TBLd"}, "unknown states layout"),
        ((square, square, torch.ones(8)), {"layout": "BLTd"}, "the mask must be a .B, T. tensor"),
        ((square, square, torch.ones(2, 3)), {"layout": "BLTd"}, "do not match the mask .B=2, T=3."),
        ((square[0], square[0], torch.ones(2, 4)), {"layout": "BLTd"}, "must be 4-D"),
        (([torch.randn(2, 4, 5)], [torch.randn(2, 4, 5)] * 2, torch.ones(2, 4)), {}, "student states .2, 1, 4, 5."),
        (([torch.randn(2, 4, 5), torch.randn(2, 4)], [], torch.ones(2, 4)), {}, "student layer 1 must be a .B, T, d."),
        (([], [], torch.ones(2, 4)), {}, "empty list"),
    ]
    for args, kwargs, match in cases:
        with pytest.raises(OprdInputError, match=match) as info:
            representation_loss(*args, **kwargs)
        assert "\n" not in str(info.value)


def test_top1_is_a_policy_gradient_on_the_teacher_log_ratio():
    logp = torch.tensor([[-1.0, -2.0, -7.0]], requires_grad=True)
    logq = torch.tensor([[-1.5, -1.0, 0.0]], requires_grad=True)
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    loss, kl = opd_loss(logp, logq, mask, kind="top1")
    # advantages (-0.5, 1.0): loss = -(0.5 - 2) / 2; KL estimate = mean(logp - logq) = (0.5 - 1) / 2
    assert float(loss.detach()) == pytest.approx(0.75)
    assert float(kl) == pytest.approx(-0.25)
    loss.backward()
    assert logp.grad[0].tolist() == pytest.approx([0.25, -0.5, 0.0])
    assert logq.grad is None


def _kl(p_logits, q_logits):
    p = [math.exp(x) for x in p_logits]
    q = [math.exp(x) for x in q_logits]
    p, q = [x / sum(p) for x in p], [x / sum(q) for x in q]
    return sum(a * (math.log(a) - math.log(b)) for a, b in zip(p, q))


def test_topk_and_full_reverse_kl_match_hand_computation():
    student = torch.tensor([[[3.0, 2.0, 1.0, 0.0]]], requires_grad=True)
    teacher = torch.tensor([[[0.0, 1.0, 2.0, 3.0]]])
    mask = torch.ones(1, 1)
    top2, _ = opd_loss(student, teacher, mask, kind="topk", k=2)
    assert float(top2.detach()) == pytest.approx(_kl([3.0, 2.0], [0.0, 1.0]), rel=1e-5)
    full, _ = opd_loss(student, teacher, mask, kind="full")
    assert float(full.detach()) == pytest.approx(_kl([3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0]), rel=1e-5)
    gathered = teacher.gather(-1, student_topk(student, 2))
    assert torch.allclose(opd_loss(student, gathered, mask, kind="topk", k=2)[0], top2)
    full.backward()
    assert student.grad.abs().sum() > 0


def test_top1_reads_sampled_tokens_from_logits():
    student = torch.randn(2, 3, 7)
    teacher = torch.randn(2, 3, 7)
    targets = torch.randint(0, 7, (2, 3))
    mask = torch.ones(2, 3)
    logp = torch.log_softmax(student, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    logq = torch.log_softmax(teacher, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(opd_loss(student, teacher, mask, kind="top1", targets=targets)[0],
                          opd_loss(logp, logq, mask, kind="top1")[0])
