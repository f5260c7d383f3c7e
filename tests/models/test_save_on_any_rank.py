"""A model directory written on a rank other than 0 is complete (transformers' own save skips it)."""

import torch

from oprd.models.tiny import build_tiny_model, save_tiny_model


def test_a_model_saved_on_rank_1_has_its_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_rank", lambda *a, **k: 1)
    bare = tmp_path / "bare"
    build_tiny_model()[0].save_pretrained(bare)
    assert not (bare / "model.safetensors").exists()  # what happens without save_model_dir
    save_tiny_model(tmp_path / "tiny")
    monkeypatch.undo()
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "tiny")
    reference = build_tiny_model()[0]
    for name, tensor in reference.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
