"""Write a model as a Hugging Face directory from any process.

``PreTrainedModel.save_pretrained`` writes nothing on a rank other than 0 once torch.distributed is
initialised. Preparing a built-in model (whichever rank takes the lock builds it) and the per-rank
vLLM snapshots must write on every rank, so they go through :func:`save_model_dir`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable


def save_model_dir(model, directory: Path, tensors: Iterable | None = None) -> None:
    """``config.json``, ``generation_config.json`` and ``model.safetensors`` of ``model`` in ``directory``.

    ``tensors``: ``(name, tensor)`` pairs to write instead of the model's own parameters and persistent
    buffers (a tied weight is written once, under its first name, as transformers expects).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if tensors is None:
        persistent = set(model.state_dict())
        tensors = [*model.named_parameters(), *((n, b) for n, b in model.named_buffers() if n in persistent)]
    weights = {name: tensor.detach().to("cpu").contiguous() for name, tensor in tensors}
    save_file(weights, str(directory / "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(directory)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(directory)
