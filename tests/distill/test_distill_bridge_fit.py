import pytest
import torch

from oprd.distill import Bridge, BridgeModels, fit_pair
from oprd.distill.compat import plan_representation
from oprd.errors import OprdInputError


def _low_rank_pair(n=512, rank=3, d_student=24, d_teacher=16, seed=0):
    """Student and teacher states driven by the same rank-3 latent (plus small noise)."""
    g = torch.Generator().manual_seed(seed)
    latent = torch.randn(n, rank, generator=g) * torch.tensor([6.0, 4.0, 2.0])
    directions = torch.linalg.qr(torch.randn(d_teacher, rank, generator=g))[0].T  # (rank, d_t) orthonormal
    mixing = torch.randn(rank, d_student, generator=g) * 30.0  # large student scale on purpose
    teacher = latent @ directions + 5.0 + 0.01 * torch.randn(n, d_teacher, generator=g)
    student = latent @ mixing - 40.0 + 0.01 * torch.randn(n, d_student, generator=g)
    return student, teacher, directions


@pytest.mark.parametrize("solver", ["adam", "lstsq"])
def test_fit_recovers_a_known_low_rank_relation(solver):
    student, teacher, directions = _low_rank_pair()
    fit = fit_pair(student, teacher, rank=3, solver=solver, epochs=20, batch_size=64, seed=0)
    # the teacher basis spans the true directions (all principal-angle cosines ~1)
    assert torch.linalg.svdvals(fit.teacher_basis @ directions.T).min() > 0.999
    assert torch.allclose(fit.teacher_mean, teacher.mean(0), atol=1e-4)
    target = (teacher - fit.teacher_mean) @ fit.teacher_basis.T
    predicted = student @ fit.student_weight.T + fit.student_bias
    assert fit.r2 > 0.99
    assert float((predicted - target).pow(2).mean() / target.var(0).mean()) < 0.01


def _bridge(models, pairs):
    p, r, ds, dt = len(pairs), 2, models.student_width, models.teacher_width
    return Bridge(models, pairs, torch.randn(p, dt), torch.randn(p, r, dt), torch.randn(p, r, ds), torch.randn(p, r),
                  positions="last_k:2000")


def test_bridge_round_trips_and_projects(tmp_path):
    models = BridgeModels("student-a", "teacher-b", 8, 6, 2, 4)
    bridge = _bridge(models, [(1, 1), (2, 4)])
    loaded = Bridge.load(bridge.save(tmp_path / "b.safetensors"))
    assert loaded.models == models and loaded.pairs == [(1, 1), (2, 4)] and loaded.rank == 2
    assert torch.equal(loaded.student_weight, bridge.student_weight)
    states = torch.randn(3, 2, 5, 6)
    expected = torch.einsum("bpkd,prd->bpkr", states - bridge.teacher_mean[None, :, None], bridge.teacher_basis)
    assert torch.allclose(loaded.project_teacher(states), expected, atol=1e-5)
    assert loaded.project_student(torch.randn(3, 2, 5, 8)).shape == (3, 2, 5, 2)


def test_bridge_refuses_other_models_and_layers(tmp_path):
    models = BridgeModels("student-a", "teacher-b", 8, 6, 2, 4)
    path = _bridge(models, [(1, 1), (2, 4)]).save(tmp_path / "b.safetensors")
    other = BridgeModels("student-a", "teacher-c", 8, 12, 2, 4)
    with pytest.raises(OprdInputError, match="fitted for student student-a .* teacher teacher-b") as info:
        plan_representation(other, "all", bridge_path=str(path))
    assert "\n" not in str(info.value) and "fit-bridge" in str(info.value)
    with pytest.raises(OprdInputError, match="covers layer pairs"):
        plan_representation(models, "last", bridge_path=str(path))
    assert plan_representation(models, "all", bridge_path=str(path)).bridge is not None
    (tmp_path / "junk.safetensors").write_bytes(b"not a bridge")
    with pytest.raises(OprdInputError, match="not an oprd bridge"):
        plan_representation(models, "all", bridge_path=str(tmp_path / "junk.safetensors"))


def test_widths_differ_without_a_bridge():
    models = BridgeModels("s", "t", 576, 960, 30, 24)
    with pytest.raises(OprdInputError, match="oprd distill fit-bridge --student s --teacher t"):
        plan_representation(models, "all")
    same = BridgeModels("s", "t", 576, 576, 30, 24)
    plan = plan_representation(same, "all")
    assert plan.bridge is None and plan.pairs[0] == (1, 1) and plan.pairs[-1] == (30, 24)
