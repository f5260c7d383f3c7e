"""Which student layers are distilled and which teacher layer each one is matched to.

Indices are ``hidden_states`` indices: 0 = embeddings, 1..L = block outputs (L after the final
norm in Llama/Qwen). A student of another depth is matched proportionally (docs/methods/oprd.md: student layer i
-> teacher layer round((i-1)/(L_s-1) * (L_t-1)) + 1), so the first and last blocks always meet.
"""

from __future__ import annotations

from oprd.errors import OprdInputError
from oprd.features.layers import resolve_layers

LAYER_MAPS = ("proportional", "identity")


def layer_map(n_student: int, n_teacher: int) -> dict[int, int]:
    """Proportional map {student layer: teacher layer} over 1..n_student; endpoints map to endpoints.

    A one-layer student maps to the teacher's last layer. Embeddings (0) map to embeddings.
    """
    if n_student < 1 or n_teacher < 1:
        raise OprdInputError(
            f"cannot map layers between a student with {n_student} and a teacher with {n_teacher} layers; "
            "both models need at least one decoder layer"
        )
    if n_student == 1:
        return {0: 0, 1: n_teacher}
    mapping = {i: round((i - 1) / (n_student - 1) * (n_teacher - 1)) + 1 for i in range(1, n_student + 1)}
    return {0: 0, **mapping}


def student_layers(spec: str | list[int], n_layers: int) -> list[int]:
    """Student ``hidden_states`` indices for ``all`` (1..L), ``last``, ``even``, ``odd`` or an explicit list.

    ``even``/``odd`` count decoder blocks from zero, as the released OPRD code does: ``even`` = blocks
    0, 2, 4, ... = ``hidden_states`` indices 1, 3, 5, ...; ``odd`` = blocks 1, 3, ... = indices 2, 4, ...
    """
    text = spec.strip() if isinstance(spec, str) else None
    if text == "last":
        return [n_layers]
    if text in ("even", "odd"):
        block_parity = 0 if text == "even" else 1  # block b is hidden_states index b + 1
        return [i for i in range(1, n_layers + 1) if (i - 1) % 2 == block_parity]
    return resolve_layers(spec, n_layers)


def layer_pairs(spec: str | list[int], n_student: int, n_teacher: int, *,
                mode: str = "proportional") -> list[tuple[int, int]]:
    """``[(student layer, teacher layer), ...]`` for the layers chosen by ``spec``.

    ``mode="identity"`` pairs equal indices and needs models of equal depth.
    """
    if mode not in LAYER_MAPS:
        raise OprdInputError(f"unknown layer map {mode!r}; use one of {', '.join(LAYER_MAPS)}")
    chosen = student_layers(spec, n_student)
    if not chosen:
        raise OprdInputError(f"layer spec {spec!r} selects no layer of a {n_student}-layer student; use all or last")
    if mode == "identity":
        if n_student != n_teacher:
            raise OprdInputError(
                f"the student has {n_student} layers and the teacher {n_teacher}: the identity layer map needs "
                "equal depths; use the proportional layer map (--distill-layer-map proportional)"
            )
        return [(i, i) for i in chosen]
    mapping = layer_map(n_student, n_teacher)
    return [(i, mapping[i]) for i in chosen]
