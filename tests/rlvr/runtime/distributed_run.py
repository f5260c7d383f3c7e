"""A small GRPO run for the distributed tests:
``python distributed_run.py POOL OUT STEPS [fsdp] [lora] [resume=auto|PATH]``, alone or under torchrun.
The reward varies within groups, so every step moves the weights; ``lora`` trains rank-4 adapters
(with a merged export in every checkpoint)."""

import sys
from pathlib import Path

from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.trainer import GRPOTrainer

if __name__ == "__main__":
    pool, out, steps, *flags = sys.argv[1:]
    options = dict(flag.split("=", 1) for flag in flags if "=" in flag)
    config = GRPOConfig(model="tiny-random-llama", data=pool, out=out, max_steps=int(steps), batch_size=4, group_size=4,
                        max_new_tokens=6, lr=1e-2, micro_batch_size=3, save_steps=1, save_total_limit=10,
                        reward_funcs=[f"{Path(__file__).resolve().parents[2] / 'helpers' / 'trainer.py'}:varied_reward"], scale="batch",
                        fsdp="fsdp" in flags, resume=options.get("resume"),
                        lora_r=4 if "lora" in flags else 0, lora_alpha=8.0, merge_on_save="lora" in flags)
    GRPOTrainer(config, progress=False).train()
