"""``oprd eval``: greedy pass@1 and avg@k of a model on a labeled file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from oprd.cli.errors import handle_errors


def evaluate(
    data: Path = typer.Option(..., "--data", help="Labeled file (.jsonl/.json/.parquet)."),
    model: str = typer.Option("smollm2-135m-instruct", help="Built-in name, HF dir, checkpoint dir or hub id."),
    k: int = typer.Option(8, "--k", help="Samples per prompt for avg@k and pass@k."),
    max_new_tokens: int = typer.Option(512, help="Max new tokens per answer."),
    temperature: float = typer.Option(1.0, help="Sampling temperature for the k samples."),
    batch_size: int = typer.Option(8, help="Sequences per generation batch."),
    seed: int = typer.Option(0, help="Sampling seed."),
    limit: Optional[int] = typer.Option(None, help="Evaluate only the first N rows."),
    template: Optional[str] = typer.Option(None, help="User-turn template with {prompt}. [default: reason step by step, \\boxed{}]"),
    system_prompt: Optional[str] = typer.Option(None, "--system-prompt", help="A system message before every prompt."),
    chat_template_kwargs: Optional[list[str]] = typer.Option(
        None, "--chat-template-kwargs", help="KEY=VALUE keyword for the chat template, e.g. enable_thinking=false "
                                             "(repeatable)."),
    prompt_key: str = typer.Option("prompt", help="Dotted key of the prompt column."),
    answer_key: str = typer.Option("answer", help="Dotted key of the answer column."),
    id_key: str = typer.Option("id", help="Dotted key of the id column."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow custom model code."),
    answer_extraction: str = typer.Option("boxed", "--answer-extraction",
                                          help="Grader: boxed | last-number | answer-tag (docs/grader.md)."),
    multi_box: str = typer.Option("set", "--multi-box", help="Grader: several boxes as a set | last."),
    strip_reasoning: bool = typer.Option(False, "--strip-reasoning", help="Grader: drop <think>...</think> first."),
    float_rounding: int = typer.Option(6, "--float-rounding", help="Grader: decimals compared."),
) -> None:
    """Evaluate a model: pass@1 (greedy), avg@k and pass@k (k samples) with the verifier."""
    with handle_errors():
        from oprd.data import load_pool
        from oprd.errors import OprdInputError
        from oprd.generation import HFGenerator
        from oprd.models import load_model
        from oprd.progress import progress_bar
        from oprd.models.chat import DEFAULT_REASONING_TEMPLATE
        from oprd.rlvr.evaluate import evaluate as run_eval
        from oprd.rlvr.methods import parse_option_flags

        from oprd.verify import GraderOptions, set_default_options

        set_default_options(GraderOptions(answer_extraction=answer_extraction, multi_box=multi_box,
                                          strip_reasoning=strip_reasoning, float_rounding=float_rounding))
        if template is not None and "{prompt}" not in template:
            raise OprdInputError(f"--template must contain {{prompt}}; got {template!r}")
        if limit is not None and limit < 1:
            raise OprdInputError(f"--limit must be >= 1, got {limit}")
        pool = load_pool(data, prompt_key=prompt_key, answer_key=answer_key, id_key=id_key)
        if limit is not None:
            pool = pool.head(limit)
        lm, tokenizer = load_model(model, trust_remote_code=trust_remote_code)
        total = pool.n_labeled * (k + 1)
        with progress_bar("evaluating", total, enabled=not quiet, unit="answers") as advance:
            result = run_eval(HFGenerator(lm, tokenizer), tokenizer, pool, k=k, max_new_tokens=max_new_tokens,
                              temperature=temperature, batch_size=batch_size, seed=seed,
                              template=template or DEFAULT_REASONING_TEMPLATE, progress=advance,
                              system_prompt=system_prompt,
                              chat_template_kwargs=parse_option_flags(chat_template_kwargs, flag="--chat-template-kwargs",
                                                                      example="enable_thinking=false"))
        summary = {"model": model, "data": str(data), **result.as_dict()}
        if json_output:
            print(json.dumps(summary))
        else:
            print(f"{model} on {data} ({result.n} labeled rows): pass@1 {result.pass_at_1:.3f}  "
                  f"avg@{k} {result.avg_at_k:.3f}  pass@{k} {result.pass_at_k:.3f}")
