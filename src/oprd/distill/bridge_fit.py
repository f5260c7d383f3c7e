"""Fit one layer pair of the Bridge from paired hidden states (numbers in, numbers out).

Stage 1 of the Bridge (docs/methods/oprd.md): the teacher basis is the top-r eigenvectors of the centred teacher-state
covariance; the student projector is a linear map d_s -> r fitted to
``||P_S h_s - P_T (h_t - mu_t)||^2``, either trained with Adam for ``epochs`` (the paper) or solved
exactly by least squares. Inputs and targets are standardised while training and the scales are
folded back into the saved weights, so the optimiser sees well-conditioned numbers whatever the
size of the model's hidden states.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from oprd.errors import param_error

SOLVERS = ("adam", "lstsq")


@dataclass
class PairFit:
    """One layer pair: teacher mean (d_t), basis (r, d_t), student weight (r, d_s) and bias (r), and the fit's R^2."""

    teacher_mean: torch.Tensor
    teacher_basis: torch.Tensor
    student_weight: torch.Tensor
    student_bias: torch.Tensor
    r2: float


def teacher_basis(teacher: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean (d_t), basis (rank, d_t))``: top principal directions of (N, d_t) teacher states.

    Signs are fixed (largest-magnitude entry positive) so the same data gives the same basis.
    """
    data = teacher.double()
    mean = data.mean(dim=0)
    centred = data - mean
    covariance = centred.T @ centred / max(data.shape[0] - 1, 1)
    values, vectors = torch.linalg.eigh(covariance)
    top = vectors[:, values.argsort(descending=True)[:rank]].T  # (rank, d_t)
    pivot = top.abs().argmax(dim=1)
    signs = torch.sign(top[torch.arange(rank), pivot])
    return mean.float(), (top * signs.unsqueeze(1)).float()


def fit_pair(student: torch.Tensor, teacher: torch.Tensor, *, rank: int = 8, solver: str = "adam", epochs: int = 20,
             lr: float = 1e-2, batch_size: int = 256, seed: int = 0) -> PairFit:
    """Fit the Bridge for one layer pair from N paired states: student (N, d_s), teacher (N, d_t)."""
    if solver not in SOLVERS:
        raise param_error("solver", "fit_pair", f"one of {', '.join(SOLVERS)}", solver)
    if not 1 <= rank <= teacher.shape[1]:
        raise param_error("rank", "fit_pair", f"an int in [1, {teacher.shape[1]}] (the teacher width)", rank)
    if student.shape[0] != teacher.shape[0] or student.shape[0] < 2:
        raise ValueError(f"need >= 2 paired rows; got {student.shape[0]} student and {teacher.shape[0]} teacher rows")
    mean, basis = teacher_basis(teacher, rank)
    target = (teacher.float() - mean) @ basis.T  # (N, r)
    x_mean, x_scale = student.float().mean(0), student.float().std(0).clamp(min=1e-6)
    y_scale = target.std(0).clamp(min=1e-6)
    x = (student.float() - x_mean) / x_scale
    y = target / y_scale
    if solver == "lstsq":
        weight = torch.linalg.lstsq(x.double(), y.double()).solution.T.float()  # (r, d_s); y is centred
        bias = torch.zeros(rank)
    else:
        weight, bias = _train(x, y, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    folded = weight * y_scale.unsqueeze(1) / x_scale.unsqueeze(0)
    folded_bias = y_scale * bias - folded @ x_mean
    predicted = student.float() @ folded.T + folded_bias
    r2 = 1.0 - float((predicted - target).pow(2).sum() / (target - target.mean(0)).pow(2).sum().clamp(min=1e-12))
    return PairFit(mean, basis, folded, folded_bias, r2)


def _train(x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float, batch_size: int,
           seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam on the mean squared error of a linear map, shuffled mini-batches, fixed seed."""
    generator = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(x.shape[1], y.shape[1])
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(x.shape[0], generator=generator)
            for start in range(0, x.shape[0], batch_size):
                rows = order[start : start + batch_size]
                loss = (layer(x[rows]) - y[rows]).pow(2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return layer.weight.detach().clone(), layer.bias.detach().clone()
