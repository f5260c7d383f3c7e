"""Flags generated from the config dataclasses: every field has one, with the field's help; the flags the
commands had before generation still parse to the same config; a flag and a YAML key give one config."""

import dataclasses
from dataclasses import dataclass, field

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from oprd.cli import pivottrace_cmd, select_app, train_app
from oprd.cli.generated import command, config_parameters, config_values
from oprd.rlvr.config import GRPOConfig
from oprd.selectors.pipeline import SelectionConfig
from oprd.selectors.pivottrace.config import PivotTraceConfig

runner = CliRunner()
SELECT = typer.main.get_command(select_app.app)
COMMANDS = {
    "train": (typer.main.get_command(train_app.app), GRPOConfig, ()),
    "shift": (SELECT.commands["shift"], SelectionConfig, ("method",)),
    "pivottrace": (SELECT.commands["pivottrace"], PivotTraceConfig, ()),
}

# Every flag each command had before its flags were generated, with a value, and what it sets.
OLD_TRAIN = [
    (["--aggregation", "dr-grpo"], "aggregation", "dr-grpo"),
    (["--answer-extraction", "last-number"], "grader_answer_extraction", "last-number"),
    (["--answer-key", "ans"], "answer_key", "ans"),
    (["--batch-size", "4"], "batch_size", 4),
    (["--beta", "0.1"], "beta", 0.1),
    (["--bridge", "b.pt"], "bridge", "b.pt"),
    (["--data", "d.jsonl"], "data", "d.jsonl"),
    (["--distill", "opd-top1,oprd"], "distill", "opd-top1,oprd"),
    (["--distill-coef", "1.0,0.5"], "distill_coef", [1.0, 0.5]),
    (["--distill-coef", "0.5"], "distill_coef", 0.5),
    (["--distill-layer-map", "identity"], "distill_layer_map", "identity"),
    (["--distill-layers", "even"], "distill_layers", "even"),
    (["--distill-normalize"], "distill_normalize", True),
    (["--distill-offload"], "distill_offload", True),
    (["--distill-positions", "all"], "distill_positions", "all"),
    (["--distill-store-dtype", "bfloat16"], "distill_store_dtype", "bfloat16"),
    (["--distill-topk", "4"], "distill_topk", 4),
    (["--eval-data", "e.jsonl"], "eval_data", "e.jsonl"),
    (["--eval-steps", "5"], "eval_steps", 5),
    (["--float-rounding", "3"], "grader_float_rounding", 3),
    (["--fsdp"], "fsdp", True),
    (["--generation-backend", "vllm"], "generation_backend", "vllm"),
    (["--group-size", "4"], "group_size", 4),
    (["--id-key", "uid"], "id_key", "uid"),
    (["--label-fraction", "0.5"], "label_fraction", 0.5),
    (["--label-seed", "3"], "label_seed", 3),
    (["--labeled-ratio", "0.25"], "labeled_ratio", 0.25),
    (["--logging", "tensorboard", "--logging", "wandb"], "logging", ["tensorboard", "wandb"]),
    (["--lr", "1e-5"], "lr", 1e-5),
    (["--max-new-tokens", "64"], "max_new_tokens", 64),
    (["--max-nonfinite-skips", "5"], "max_nonfinite_skips", 5),
    (["--max-steps", "10"], "max_steps", 10),
    (["--model", "m"], "model", "m"),
    (["--multi-box", "last"], "grader_multi_box", "last"),
    (["--olr"], "olr", True),
    (["--olr-delta", "0.1"], "olr_delta", 0.1),
    (["--olr-min-visits", "2"], "olr_min_visits", 2),
    (["--olr-start-epoch", "1"], "olr_start_epoch", 1),
    (["--olr-sticky"], "olr_sticky", True),
    (["--olr-window", "3"], "olr_window", 3),
    (["--out", "o"], "out", "o"),
    (["--overwrite"], "overwrite", True),
    (["--prompt-key", "q"], "prompt_key", "q"),
    (["--resume", "auto"], "resume", "auto"),
    (["--reward", "none"], "reward_funcs", ["none"]),
    (["--reward-func", "a:f", "--reward-func", "b.py:g"], "reward_funcs", ["a:f", "b.py:g"]),
    (["--save-consolidated"], "save_consolidated", True),
    (["--save-steps", "7"], "save_steps", 7),
    (["--save-total-limit", "1"], "save_total_limit", 1),
    (["--scale", "batch"], "scale", "batch"),
    (["--seed", "4"], "seed", 4),
    (["--selected", "s"], "selected", "s"),
    (["--strip-reasoning"], "grader_strip_reasoning", True),
    (["--teacher", "t"], "teacher", "t"),
    (["--unlabeled-option", "decay=0.8", "--unlabeled-option", "boundary-only=false"], "unlabeled_options",
     {"decay": 0.8, "boundary_only": False}),
    (["--unlabeled-reward", "geomin"], "unlabeled_reward", "geomin"),
    (["--unreadable-gold", "skip"], "grader_unreadable_gold", "skip"),
    (["--vllm-option", "gpu_memory_utilization=0.4"], "vllm_options", {"gpu_memory_utilization": 0.4}),
]
OLD_SHIFT = [
    (["--backend", "numpy"], "backend", "numpy"),
    (["--batch-size", "4"], "batch_size", 4),
    (["--budget", "7"], "budget", 7),
    (["--budget", "0.5"], "budget", 0.5),
    (["--cache-dir", "c"], "cache_dir", "c"),
    (["--embedding", "prompt"], "embedding", "prompt"),
    (["--format", "parquet"], "output_format", "parquet"),
    (["--generation-backend", "vllm"], "generation_backend", "vllm"),
    (["--layers", "3,7,11"], "layers", "3,7,11"),
    (["--max-new-tokens", "64"], "max_new_tokens", 64),
    (["--model", "m"], "model", "m"),
    (["--num-shards", "2"], "num_shards", 2),
    (["--seed", "4"], "seed", 4),
    (["--shard-index", "1"], "shard_index", 1),
    (["--trust-remote-code"], "trust_remote_code", True),
]
OLD_PIVOTTRACE = [
    (["--batch-size", "4"], "batch_size", 4),
    (["--cache-dir", "c"], "cache_dir", "c"),
    (["--calib", "pseudo_label"], "calib", "pseudo_label"),
    (["--fractions", "0.2,0.3"], "fractions", [0.2, 0.3]),
    (["--fractions", "0.2,0.3"], "calib", "fractions"),
    (["--k", "2"], "k", 2),
    (["--max-annotate-frac", "0.4"], "max_annotate_frac", 0.4),
    (["--max-discard-frac", "0.3"], "max_discard_frac", 0.3),
    (["--max-new-tokens", "64"], "max_new_tokens", 64),
    (["--model", "m"], "model", "m"),
    (["--probe-samples", "2"], "probe_samples", 2),
    (["--probes", "5"], "probes", 5),
    (["--score", "lexical"], "score", "lexical"),
    (["--seed", "4"], "seed", 4),
    (["--tau-hi", "0.8"], "tau_hi", 0.8),
    (["--tau-lo", "0.4"], "tau_lo", 0.4),
    (["--trust-remote-code"], "trust_remote_code", True),
]
# Options that are not config fields, with a value and what the command receives.
SELECT_ONLY = [
    (["--answer-key", "a"], "answer_key", "a"), (["--id-key", "i"], "id_key", "i"),
    (["--prompt-key", "p"], "prompt_key", "p"), (["--json"], "json_output", True), (["--quiet"], "quiet", True),
    (["--overwrite"], "overwrite", True), (["--out", "o"], "out", "o"),
]
TRAIN_ONLY = [(["--json"], "json_output", True), (["--quiet"], "quiet", True)]
OLD_SPELLINGS = {
    "train": {*(a[0] for a, _, _ in OLD_TRAIN), "--config", "--json", "--quiet"},
    "shift": {*(a[0] for a, _, _ in OLD_SHIFT + SELECT_ONLY), "--pool", "--split", "--pool-config", "--config"},
    "pivottrace": {*(a[0] for a, _, _ in OLD_PIVOTTRACE + SELECT_ONLY), "--pool", "--probe-labels", "--config"},
}


class _Stop(Exception):
    """Stops a command once its config is resolved (nothing runs)."""


MODULES = {"train": train_app, "shift": select_app, "pivottrace": pivottrace_cmd}
RESOLVE = {name: module.resolve for name, module in MODULES.items()}


def _resolved(monkeypatch, name, args, tmp_path):
    """(the config, the options) the command ``name`` resolves from ``args``; the run itself is stopped."""
    seen = {}

    def capture(*call):
        seen["options"] = call[-1]
        seen["config"] = RESOLVE[name](*call)
        raise _Stop

    monkeypatch.setattr(MODULES[name], "resolve", capture)
    app, head = (train_app.app, []) if name == "train" else (select_app.app, [name, "--pool", str(tmp_path / "p")])
    result = runner.invoke(app, head + args)
    assert isinstance(result.exception, _Stop), result.output
    return seen["config"], seen["options"]


def _flag_params(name):
    command, cls, skip = COMMANDS[name]
    names = [item.name for item in dataclasses.fields(cls) if item.name not in skip]
    params = {param.name: param for param in command.params}
    return [(item, params.get(item.name)) for item in dataclasses.fields(cls) if item.name in names]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_config_field_has_a_flag_with_its_help(name):
    for item, param in _flag_params(name):
        assert param is not None and param.opts, f"{item.name} has no flag"
        assert param.help == item.metadata["help"], item.name
        assert param.default is None  # not given: the YAML value or the field default applies


@pytest.mark.parametrize("name", COMMANDS)
def test_shown_default_is_the_field_default(name):
    for item, param in _flag_params(name):
        if isinstance(item.default, (int, float, str)) and not isinstance(item.default, bool):
            assert param.show_default == str(item.default).replace("\n", "\\n"), item.name
        if isinstance(item.default, bool):
            assert param.show_default == (param.opts[0] if item.default else param.secondary_opts[0])[2:]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_old_spelling_is_kept(name):
    command = COMMANDS[name][0]
    spelled = {opt for param in command.params for opt in [*param.opts, *getattr(param, "secondary_opts", [])]}
    assert OLD_SPELLINGS[name] <= spelled, sorted(OLD_SPELLINGS[name] - spelled)


@pytest.mark.parametrize("name, args, key, expected", [
    *[("train", *case) for case in OLD_TRAIN], *[("shift", *case) for case in OLD_SHIFT],
    *[("pivottrace", *case) for case in OLD_PIVOTTRACE],
], ids=lambda x: " ".join(x) if isinstance(x, list) and all(isinstance(i, str) for i in x) else None)
def test_old_flag_parses_to_its_config_value(monkeypatch, tmp_path, name, args, key, expected):
    config, _ = _resolved(monkeypatch, name, args, tmp_path)
    assert getattr(config, key) == expected
    assert type(getattr(config, key)) is type(expected)


@pytest.mark.parametrize("name, args, key, expected", [
    *[("train", *case) for case in TRAIN_ONLY], *[("shift", *case) for case in SELECT_ONLY],
    *[("pivottrace", *case) for case in SELECT_ONLY],
])
def test_command_line_only_options_reach_the_command(monkeypatch, tmp_path, name, args, key, expected):
    _, options = _resolved(monkeypatch, name, args, tmp_path)
    assert str(options[key]) == str(expected)


# The same settings as flags and as YAML keys (new flags included).
SAME = {
    "train": (["--dynamic-sampling", "--temperature", "0.7", "--reward-weights", "1.0,0.5", "--reward-func", "a:f",
               "--reward-func", "b:g", "--vllm-option", "gpu_memory_utilization=0.4", "--distill-coef", "1.0,0.5",
               "--logging", "wandb", "--dtype", "bfloat16", "--micro-batch-size", "2", "--warmup-steps", "3",
               "--eps-high", "0.3", "--olr-window", "4", "--answer-extraction", "answer-tag", "--no-olr"],
              "dynamic_sampling: true\ntemperature: 0.7\nreward_weights: [1.0, 0.5]\nreward_funcs: [a:f, b:g]\n"
              "vllm_options: {gpu_memory_utilization: 0.4}\ndistill_coef: [1.0, 0.5]\nlogging: [wandb]\n"
              "dtype: bfloat16\nmicro_batch_size: 2\nwarmup_steps: 3\neps_high: 0.3\nolr_window: 4\n"
              "grader_answer_extraction: answer-tag\nolr: false\n"),
    "shift": (["--budget", "0.25", "--layers", "3,7", "--format", "json", "--exclude-final-norm-layer",
               "--chunk-size", "16", "--storage-dtype", "float16"],
              "budget: 0.25\nlayers: '3,7'\noutput_format: json\nexclude_final_norm_layer: true\nchunk_size: 16\n"
              "storage_dtype: float16\n"),
    "pivottrace": (["--fractions", "0.2,0.3", "--attention-layers", "1,3", "--reflection-markers", "wait",
                    "--reflection-markers", "hmm", "--kappa", "1.5"],
                   "fractions: [0.2, 0.3]\ncalib: fractions\nattention_layers: [1, 3]\n"
                   "reflection_markers: [wait, hmm]\nkappa: 1.5\n"),
}


@pytest.mark.parametrize("name", SAME)
def test_a_flag_and_a_yaml_key_give_the_same_config(monkeypatch, tmp_path, name):
    args, text = SAME[name]
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text(text)
    from_flags, _ = _resolved(monkeypatch, name, args, tmp_path)
    from_yaml, _ = _resolved(monkeypatch, name, ["--config", str(yaml_file)], tmp_path)
    assert dataclasses.asdict(from_flags) == dataclasses.asdict(from_yaml)
    assert from_flags != COMMANDS[name][1](**({"method": "shift"} if name == "shift" else {}))


def test_flags_override_the_yaml_file_both_ways(monkeypatch, tmp_path):
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text("dynamic_sampling: true\ntemperature: 0.7\nlogging: [wandb]\n")
    config, _ = _resolved(monkeypatch, "train", ["--config", str(yaml_file), "--no-dynamic-sampling",
                                                 "--temperature", "0.5"], tmp_path)
    assert (config.dynamic_sampling, config.temperature, config.logging) == (False, 0.5, ["wandb"])


def test_a_bad_flag_value_gets_the_typed_message(tmp_path):
    result = runner.invoke(train_app.app, ["--data", "x.jsonl", "--reward-weights", "1,heavy"])
    assert result.exit_code == 2
    assert "--reward-weights must be a list of finite numbers or null; got ['1', 'heavy']" in result.output


def test_a_field_without_help_still_gets_a_flag_of_its_kind():
    @dataclass
    class Later:
        rank: int = 0
        merge: bool = field(default=False, metadata={"help": "Merge."})
        modules: list[str] | None = None
        weights: list[float] = field(default_factory=lambda: [1.0])
        options: dict = field(default_factory=dict)

    seen = {}
    later = typer.Typer(add_completion=False)
    later.command()(command(seen.update, config_parameters(Later), "A config declared later."))
    params = {param.name: param for param in typer.main.get_command(later).params}
    assert list(params) == ["rank", "merge", "modules", "weights", "options"]
    assert (params["merge"].opts, params["merge"].secondary_opts) == (["--merge"], ["--no-merge"])
    assert (params["rank"].help, params["merge"].help, params["merge"].show_default) == ("", "Merge.", "no-merge")
    result = runner.invoke(later, ["--rank", "2", "--modules", "q", "--modules", "v", "--weights", "1,2",
                                   "--options", "a=1"])
    assert result.exit_code == 0, result.output
    assert config_values(Later, seen) == {"rank": 2, "merge": None, "modules": ["q", "v"], "weights": ["1", "2"],
                                          "options": {"a": 1}}
