"""DDP and FSDP2 on 2 CPU processes (gloo) against one process, kill -9 and resume under torchrun,
and checkpoints moving between world sizes. Each comparison first checks that the weights moved."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file

from oprd.models.tiny import build_tiny_model
from tests.helpers.trainer import write_pool

RUN = Path(__file__).with_name("distributed_run.py")
STEPS = 4
TOLERANCE = 5e-4  # float sums in another order (per-rank partial gradients, sharded reductions)


def _launch(args: list, *, processes: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if processes == 1:
        command = [sys.executable, str(RUN), *map(str, args)]
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
                   f"--master_port={port}", str(RUN), *map(str, args)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _run(args: list, *, processes: int) -> None:
    process = _launch(args, processes=processes)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode()[-3000:]


def _weights(run: Path, step: int = STEPS) -> dict[str, torch.Tensor]:
    return load_file(str(run / f"checkpoint-{step}" / "model.safetensors"))


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _assert_moved_and_close(a: dict, b: dict) -> None:
    initial = build_tiny_model()[0].state_dict()
    assert a.keys() == b.keys()
    moved = max(float((a[name] - initial[name]).abs().max()) for name in a)
    assert moved > 50 * TOLERANCE, f"weights moved only {moved}: the comparison would prove nothing"
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=TOLERANCE, msg=name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted run each: 1 process, 2-process DDP, 2-process FSDP2 (checkpoint every step)."""
    root = tmp_path_factory.mktemp("distributed")
    pool = write_pool(root / "pool.jsonl", n=8)
    _run([pool, root / "one", STEPS], processes=1)
    _run([pool, root / "ddp", STEPS], processes=2)
    _run([pool, root / "fsdp", STEPS, "fsdp"], processes=2)
    return {"pool": pool, "root": root, "one": root / "one", "ddp": root / "ddp", "fsdp": root / "fsdp"}


@pytest.mark.parametrize("kind", ["ddp", "fsdp"])
def test_two_processes_train_like_one_process(runs, kind):
    for run in (runs["one"], runs[kind]):
        lines = _metrics(run)
        assert [line["step"] for line in lines] == list(range(1, STEPS + 1))
        assert all(line["grad_norm"] > 0 and line["loss/pg_loss"] != 0 for line in lines)
    _assert_moved_and_close(_weights(runs["one"]), _weights(runs[kind]))
    one, two = _metrics(runs["one"]), _metrics(runs[kind])
    for a, b in zip(one, two):  # the loss terms are reduced over ranks: the same global numbers
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-3)
        assert a["loss/pg_loss"] == pytest.approx(b["loss/pg_loss"], rel=1e-3, abs=1e-6)


def test_fsdp_checkpoints_are_sharded_and_the_last_one_loads_in_plain_transformers(runs):
    from transformers import AutoModelForCausalLM

    for step in range(1, STEPS + 1):
        checkpoint = runs["fsdp"] / f"checkpoint-{step}"
        assert sorted(p.name for p in (checkpoint / "sharded").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
        assert (checkpoint / "model.safetensors").exists() == (step == STEPS)  # consolidated at the end only
    final = runs["fsdp"] / f"checkpoint-{STEPS}"
    model = AutoModelForCausalLM.from_pretrained(final)
    saved = _weights(runs["fsdp"])
    for name, tensor in model.state_dict().items():
        if name in saved:
            assert torch.equal(tensor, saved[name]), name
    state = json.loads((final / "trainer_state.json").read_text())
    assert state["sharded"] is True and state["world_size"] == 2


def _kill_after_checkpoint(args: list, run: Path) -> None:
    process = _launch(args, processes=2)
    deadline = time.time() + 300
    while not (run / "checkpoint-1" / "trainer_state.json").exists():
        assert process.poll() is None and time.time() < deadline, process.communicate()[1].decode()[-3000:]
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)  # torchrun starts them in their own sessions
    for victim in [process, *workers]:
        with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
            os.kill(victim.pid, signal.SIGKILL)
    process.wait(timeout=60)
    psutil.wait_procs(workers, timeout=60)
    assert not (run / f"checkpoint-{STEPS}").exists(), "the run finished before it was killed"


@pytest.mark.parametrize("kind", ["ddp", "fsdp"])
def test_kill_9_and_resume_under_torchrun_equals_an_uninterrupted_run(runs, kind):
    killed = runs["root"] / f"{kind}-killed"
    flags = ["fsdp"] if kind == "fsdp" else []
    _kill_after_checkpoint([runs["pool"], killed, STEPS, *flags], killed)
    _run([runs["pool"], killed, STEPS, *flags, "resume=auto"], processes=2)
    clean, resumed = _weights(runs[kind]), _weights(killed)
    _assert_moved_and_close(clean, resumed)
    for name in clean:
        assert torch.equal(clean[name], resumed[name]), name
    assert [line["step"] for line in _metrics(killed)] == list(range(1, STEPS + 1))


def test_checkpoints_move_between_world_sizes(runs):
    """A sharded 2-process checkpoint resumes in one process (resharded), and a 1-process checkpoint
    under 2-process DDP; both end where the uninterrupted runs ended, within float tolerance."""
    to_one = runs["root"] / "fsdp-to-one"
    _run([runs["pool"], to_one, STEPS, f"resume={runs['fsdp'] / 'checkpoint-2'}"], processes=1)
    _assert_moved_and_close(_weights(runs["fsdp"]), _weights(to_one))
    to_two = runs["root"] / "one-to-ddp"
    _run([runs["pool"], to_two, STEPS, f"resume={runs['one'] / 'checkpoint-2'}"], processes=2)
    _assert_moved_and_close(_weights(runs["one"]), _weights(to_two))


def test_fsdp_in_a_single_process_says_it_needs_torchrun(tmp_path):
    from oprd.errors import OprdInputError
    from oprd.rlvr.config import GRPOConfig
    from oprd.rlvr.trainer import GRPOTrainer

    config = GRPOConfig(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl")), out=str(tmp_path / "r"),
                        max_steps=1, batch_size=2, group_size=2, max_new_tokens=4, fsdp=True)
    with pytest.raises(OprdInputError, match="torchrun --nproc_per_node"):
        GRPOTrainer(config, progress=False)


@pytest.fixture(scope="module")
def lora_runs(tmp_path_factory):
    """LoRA adapters: one process, and FSDP2 on 2 processes (adapters-only sharded checkpoints)."""
    root = tmp_path_factory.mktemp("lora")
    pool = write_pool(root / "pool.jsonl", n=8)
    _run([pool, root / "lora-one", STEPS, "lora"], processes=1)
    _run([pool, root / "lora-fsdp", STEPS, "fsdp", "lora"], processes=2)
    return {"pool": pool, "root": root, "one": root / "lora-one", "fsdp": root / "lora-fsdp"}


def _adapters(run: Path, step: int = STEPS) -> dict[str, torch.Tensor]:
    return load_file(str(run / f"checkpoint-{step}" / "adapter_model.safetensors"))


def _assert_adapters_moved_and_close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and any("lora_B" in name for name in a)
    moved = max(float(a[name].abs().max()) for name in a if "lora_B" in name)  # lora_B starts at zero
    assert moved > 50 * TOLERANCE, f"adapters moved only {moved}: the comparison would prove nothing"
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=TOLERANCE, msg=name)


def test_lora_under_fsdp_trains_like_one_process_and_checkpoints_adapters_only(lora_runs):
    from torch.distributed.checkpoint import FileSystemReader
    from transformers import AutoModelForCausalLM

    _assert_adapters_moved_and_close(_adapters(lora_runs["one"]), _adapters(lora_runs["fsdp"]))
    for step in range(1, STEPS + 1):
        checkpoint = lora_runs["fsdp"] / f"checkpoint-{step}"
        saved = FileSystemReader(str(checkpoint / "sharded")).read_metadata().state_dict_metadata
        model_keys = [key for key in saved if key.startswith("model.")]
        assert model_keys and all("lora_" in key for key in model_keys)  # no base weight in any shard
        assert (checkpoint / "adapter_model.safetensors").exists() == (step == STEPS)
        assert not (checkpoint / "model.safetensors").exists()
    # The merged export (base + adapters) of both runs loads in plain transformers and agrees.
    one, fsdp = (AutoModelForCausalLM.from_pretrained(run / f"checkpoint-{STEPS}" / "merged").state_dict()
                 for run in (lora_runs["one"], lora_runs["fsdp"]))
    base = build_tiny_model()[0].state_dict()
    assert max(float((one[name] - base[name]).abs().max()) for name in base) > 50 * TOLERANCE
    for name in one:
        torch.testing.assert_close(one[name], fsdp[name], rtol=0, atol=TOLERANCE, msg=name)


def test_lora_fsdp_checkpoint_resumes_in_one_process(lora_runs):
    resumed = lora_runs["root"] / "lora-fsdp-to-one"
    _run([lora_runs["pool"], resumed, STEPS, "lora", f"resume={lora_runs['fsdp'] / 'checkpoint-2'}"], processes=1)
    _assert_adapters_moved_and_close(_adapters(lora_runs["fsdp"]), _adapters(resumed))
    assert [line["step"] for line in _metrics(resumed)] == [3, 4]
