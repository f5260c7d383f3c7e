"""``oprd-train``: GRPO on an ``oprd-select`` output dir or a data file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from oprd.cli.errors import handle_errors

app = typer.Typer(help="Train a model with GRPO on selected or mixed labeled/unlabeled prompts.",
                  add_completion=False)


@app.command()
def train(
    selected: Optional[Path] = typer.Option(None, "--selected", help="An oprd-select output dir (manifest checked)."),
    data: Optional[Path] = typer.Option(None, "--data", help="A file of labeled and/or unlabeled rows."),
    model: Optional[str] = typer.Option(None, help="Built-in name, HF dir or hub id. [default: smollm2-135m-instruct]"),
    eval_data: Optional[Path] = typer.Option(None, "--eval-data", help="Labeled file for pass@1 during/after training."),
    config: Optional[Path] = typer.Option(
        None, "--config", help="YAML with any GRPOConfig key (values checked against its types); flags override it. "
        "A config naming reward_funcs runs that code."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Run dir for checkpoints and metrics; may not hold an input. [default: runs/train]"),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an earlier run in --out (metrics, config, checkpoints); else it is an error."),
    max_steps: Optional[int] = typer.Option(None, help="Optimizer steps. [default: 100]"),
    save_steps: Optional[int] = typer.Option(None, help="Checkpoint every N steps (the last step always). [default: 50]"),
    save_total_limit: Optional[int] = typer.Option(None, help="Keep the newest K checkpoints. [default: 2]"),
    eval_steps: Optional[int] = typer.Option(None, help="Evaluate every N steps (0 = only at the end). [default: 0]"),
    seed: Optional[int] = typer.Option(None, help="Seed for sampling and data order. [default: 0]"),
    resume: Optional[str] = typer.Option(
        None, help="auto (continue the run in --out from its newest checkpoint) or a checkpoint dir."),
    batch_size: Optional[int] = typer.Option(None, help="Prompts per step (global), 1..65536. [default: 8]"),
    group_size: Optional[int] = typer.Option(None, help="Rollouts per prompt, 2..1024. [default: 8]"),
    max_new_tokens: Optional[int] = typer.Option(
        None, help="Rollout length limit, 1..262144; prompt + this must fit the model's context. [default: 512]"),
    lr: Optional[float] = typer.Option(None, help="AdamW learning rate. [default: 1e-6]"),
    beta: Optional[float] = typer.Option(None, help="k3 KL coefficient to the initial policy. [default: 0]"),
    scale: Optional[str] = typer.Option(None, help="Advantage scaling: group | batch | none. [default: group]"),
    aggregation: Optional[str] = typer.Option(None, help="token-mean | seq-mean-token-mean | dr-grpo. [default: token-mean]"),
    unlabeled_reward: Optional[str] = typer.Option(
        None, help="Unlabeled rows: geomin | ttrl | trapo | self-certainty | entropy | none. [default: ttrl]"),
    unlabeled_option: Optional[list[str]] = typer.Option(
        None, "--unlabeled-option", help="KEY=VALUE knob of the unlabeled-reward method, e.g. decay=0.8 (repeatable)."),
    labeled_ratio: Optional[float] = typer.Option(
        None, help="Share of labeled prompts per batch, from separate pools. [default: natural mix]"),
    label_fraction: Optional[float] = typer.Option(
        None, help="Simulation: keep labels on this share of labeled rows, hide the rest (kept for metrics)."),
    label_seed: Optional[int] = typer.Option(None, help="Seed of --label-fraction's choice. [default: 0]"),
    reward_func: Optional[list[str]] = typer.Option(
        None, "--reward-func", help="pkg.module:f or file.py:f reward function (repeatable); its code runs at start."),
    generation_backend: Optional[str] = typer.Option(None, help="hf | vllm. [default: hf]"),
    vllm_option: Optional[list[str]] = typer.Option(
        None, "--vllm-option", help="KEY=VALUE keyword of vllm.LLM, e.g. gpu_memory_utilization=0.4 (repeatable); "
        "not model, dtype, seed, trust_remote_code or worker classes."),
    logging: Optional[list[str]] = typer.Option(None, "--logging", help="tensorboard | wandb | trackio (repeatable)."),
    prompt_key: Optional[str] = typer.Option(None, help="Dotted key of the prompt column."),
    answer_key: Optional[str] = typer.Option(None, help="Dotted key of the answer column."),
    id_key: Optional[str] = typer.Option(None, help="Dotted key of the id column."),
    olr: bool = typer.Option(False, "--olr", help="Online label refinement of labeled rows (docs/methods/olr.md)."),
    olr_delta: Optional[float] = typer.Option(None, help="OLR: pass-rate slope threshold per visit. [default: 0.05]"),
    olr_start_epoch: Optional[int] = typer.Option(None, help="OLR: refine after this 0-based epoch. [default: 4]"),
    olr_window: Optional[int] = typer.Option(None, help="OLR: history length for slope/consistency. [default: full]"),
    olr_sticky: bool = typer.Option(False, "--olr-sticky", help="OLR: keep a replacement once made."),
    olr_min_visits: Optional[int] = typer.Option(None, help="OLR: refine once a prompt has this many visits."),
    fsdp: bool = typer.Option(
        False, "--fsdp", help="Shard the model with FSDP2 under torchrun (sharded checkpoints; docs/distributed.md)."),
    save_consolidated: bool = typer.Option(
        False, "--save-consolidated", help="FSDP2: Hugging Face weights in every checkpoint, not only the last."),
    max_nonfinite_skips: Optional[int] = typer.Option(
        None, "--max-nonfinite-skips", help="Stop after this many steps in a row with a NaN/inf gradient. [default: 3]"),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="Distillation teacher: built-in name, HF dir or hub id."),
    distill: Optional[str] = typer.Option(
        None, "--distill", help="oprd | opd-top1 | opd-topk | opd-full, or several: opd-top1,oprd (docs/methods/oprd.md)."),
    distill_coef: Optional[str] = typer.Option(
        None, "--distill-coef", help="Weight mu of each distillation term, in --distill order: 0.5 or 1.0,0.5. [default: 1.0]"),
    distill_positions: Optional[str] = typer.Option(
        None, "--distill-positions", help="last_k:K | first_k:K | all | last response tokens. [default: last_k:2000]"),
    distill_layers: Optional[str] = typer.Option(
        None, "--distill-layers",
        help="Student layers: all | last | even (blocks 0,2,..) | odd (blocks 1,3,..) | 4,8,12. [default: all]"),
    distill_layer_map: Optional[str] = typer.Option(
        None, "--distill-layer-map", help="proportional | identity student->teacher layers. [default: proportional]"),
    distill_normalize: bool = typer.Option(False, "--distill-normalize", help="OPRD: L2-normalise states first."),
    distill_topk: Optional[int] = typer.Option(None, "--distill-topk", help="k of opd-topk. [default: 16]"),
    distill_store_dtype: Optional[str] = typer.Option(
        None, "--distill-store-dtype", help="Teacher targets: float32 | bfloat16. [default: float32]"),
    distill_offload: bool = typer.Option(False, "--distill-offload", help="Keep teacher targets on CPU."),
    bridge: Optional[Path] = typer.Option(None, "--bridge", help="Bridge from `oprd distill fit-bridge` (widths differ)."),
    reward: Optional[str] = typer.Option(None, "--reward", help="none: no verifiable reward, distillation loss only."),
    answer_extraction: Optional[str] = typer.Option(
        None, "--answer-extraction", help="Grader: boxed | last-number | answer-tag (docs/grader.md). [default: boxed]"),
    multi_box: Optional[str] = typer.Option(None, "--multi-box", help="Grader: several boxes as a set | last. [default: set]"),
    strip_reasoning: bool = typer.Option(False, "--strip-reasoning", help="Grader: drop <think>...</think> first."),
    float_rounding: Optional[int] = typer.Option(None, "--float-rounding", help="Grader: decimals compared. [default: 6]"),
    unreadable_gold: Optional[str] = typer.Option(
        None, "--unreadable-gold", help="Grader: an unreadable answer scores zero | skip (no reward). [default: zero]"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    json_output: bool = typer.Option(False, "--json", help="Print the final metrics as JSON."),
) -> None:
    """Run GRPO. Every option can also come from --config; see GRPOConfig for all knobs."""
    with handle_errors():
        from oprd.cli.options import resolve_config
        from oprd.rlvr.config import GRPOConfig
        from oprd.rlvr.trainer import GRPOTrainer

        flags = dict(
            selected=str(selected) if selected else None, data=str(data) if data else None, model=model,
            eval_data=str(eval_data) if eval_data else None, out=str(out) if out else None, max_steps=max_steps,
            save_steps=save_steps, save_total_limit=save_total_limit, eval_steps=eval_steps, seed=seed, resume=resume,
            batch_size=batch_size, group_size=group_size, max_new_tokens=max_new_tokens, lr=lr, beta=beta,
            scale=scale, aggregation=aggregation, unlabeled_reward=unlabeled_reward, reward_funcs=reward_func or None,
            generation_backend=generation_backend, logging=logging or None, prompt_key=prompt_key,
            answer_key=answer_key, id_key=id_key, fsdp=fsdp or None, olr=olr or None, olr_delta=olr_delta,
            olr_start_epoch=olr_start_epoch, olr_window=olr_window, olr_sticky=olr_sticky or None,
            olr_min_visits=olr_min_visits, overwrite=overwrite or None, save_consolidated=save_consolidated or None,
            max_nonfinite_skips=max_nonfinite_skips,
        )
        from oprd.rlvr.methods import parse_option_flags

        flags.update(vllm_options=parse_option_flags(vllm_option, flag="--vllm-option",
                                                     example="gpu_memory_utilization=0.4") if vllm_option else None)
        flags.update(unlabeled_options=parse_option_flags(unlabeled_option) if unlabeled_option else None,
                     labeled_ratio=labeled_ratio, label_fraction=label_fraction, label_seed=label_seed)
        from oprd.rlvr.methods.distill.options import coef_flag, reward_funcs_flag

        flags.update(teacher=teacher, distill=distill, distill_coef=coef_flag(distill_coef),
                     distill_positions=distill_positions,
                     distill_layers=distill_layers, distill_layer_map=distill_layer_map,
                     distill_normalize=distill_normalize or None, distill_topk=distill_topk,
                     distill_store_dtype=distill_store_dtype, distill_offload=distill_offload or None,
                     bridge=str(bridge) if bridge else None, reward_funcs=reward_funcs_flag(reward, reward_func))
        flags.update(grader_answer_extraction=answer_extraction, grader_multi_box=multi_box,
                     grader_strip_reasoning=strip_reasoning or None, grader_float_rounding=float_rounding,
                     grader_unreadable_gold=unreadable_gold)
        resolved = resolve_config(GRPOConfig, config, flags)
        from oprd.verify import grader_options_from, set_default_options

        set_default_options(grader_options_from(resolved, prefix="grader_"))  # reward, evaluation, votes
        from oprd.data.outputs import check_output_dir

        check_output_dir(resolved.out, {"--config": config})  # the trainer checks its other inputs itself
        trainer = GRPOTrainer(resolved, progress=not quiet)
        metrics = trainer.train()
        if trainer.dist.is_main:
            summary = {"out": resolved.out, "step": trainer.step,
                       **{k: v for k, v in metrics.items() if k.startswith(("reward/", "eval/"))}}
            print(json.dumps(summary) if json_output else
                  f"trained to step {trainer.step} -> {resolved.out}  " +
                  "  ".join(f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float)))
