"""Class 4: one typed validation of every config key, from YAML and flags alike."""

import pytest
from typer.testing import CliRunner

from oprd.cli import select_app, train_app
from oprd.cli.options import resolve_config
from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.selectors.pipeline import SelectionConfig
from oprd.selectors.pivottrace import PivotTraceConfig
from oprd.typed_config import coerce_fields, describe, field_types

runner = CliRunner()


def _yaml(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("spelling, expected", [("no", False), ("No", False), ("off", False), ("0", False),
                                                ("false", False), ("yes", True), ("TRUE", True), ("1", True)])
def test_boolean_spellings_from_yaml_strings(tmp_path, spelling, expected):
    config = resolve_config(GRPOConfig, _yaml(tmp_path, f'data: x.jsonl\ntrust_remote_code: "{spelling}"\n'), {})
    assert config.trust_remote_code is expected


@pytest.mark.parametrize("value", ['"maybe"', "2", "[true]", '""'])
def test_any_other_boolean_is_one_error_naming_key_value_and_type(tmp_path, value):
    with pytest.raises(OprdInputError) as error:
        resolve_config(GRPOConfig, _yaml(tmp_path, f"trust_remote_code: {value}\n"), {})
    message = str(error.value)
    assert "'trust_remote_code'" in message and "a boolean" in message and "c.yaml" in message
    assert "\n" not in message


def test_numbers_from_numeric_strings_and_yaml11_exponents(tmp_path):
    config = resolve_config(GRPOConfig, _yaml(tmp_path, "lr: 1e-5\ngroup_size: '4'\nbeta: 0\nmax_steps: 1e2\n"), {})
    assert config.lr == 1e-5 and isinstance(config.lr, float)
    assert config.group_size == 4 and config.max_steps == 100 and isinstance(config.max_steps, int)
    assert isinstance(config.beta, float)


@pytest.mark.parametrize("text, key, expected", [
    ("lr: abc", "lr", "a finite number"),
    ("lr: .nan", "lr", "a finite number"),
    ("group_size: 2.5", "group_size", "an int"),
    ("logging: wandb", "logging", "a list of strings"),
    ("reward_funcs: [1, 2]", "reward_funcs", "a list of strings"),
    ("vllm_options: [a]", "vllm_options", "a mapping"),
    ("max_steps: true", "max_steps", "an int"),
])
def test_training_keys_of_the_wrong_type(tmp_path, text, key, expected):
    with pytest.raises(OprdInputError, match=f"'{key}'.*{expected}"):
        resolve_config(GRPOConfig, _yaml(tmp_path, text + "\n"), {})


@pytest.mark.parametrize("text, expected", [("layers: 1", "a string or a list of ints"),
                                            ("budget: [1, 2]", "an int or a finite number"),
                                            ("budget: abc", "an int or a finite number")])
def test_selection_keys_of_the_wrong_type(tmp_path, text, expected):
    with pytest.raises(OprdInputError, match=expected):
        resolve_config(SelectionConfig, _yaml(tmp_path, text + "\n"), {})


def test_budget_keeps_int_and_fraction_apart(tmp_path):
    assert resolve_config(SelectionConfig, _yaml(tmp_path, "budget: '10'\n"), {}).budget == 10
    fraction = resolve_config(SelectionConfig, _yaml(tmp_path, "budget: '1.0'\n"), {}).budget
    assert fraction == 1.0 and isinstance(fraction, float)
    assert resolve_config(SelectionConfig, None, {"budget": "0.5"}).budget == 0.5


def test_flags_go_through_the_same_rules_and_name_the_flag():
    with pytest.raises(OprdInputError, match="--label-fraction must be a finite number or null; got 'x'"):
        resolve_config(GRPOConfig, None, {"label_fraction": "x"})


def test_library_callers_get_the_same_conversion():
    config = GRPOConfig(data="x.jsonl", lr="2e-6", trust_remote_code="off").validate()
    assert config.lr == 2e-6 and config.trust_remote_code is False
    with pytest.raises(OprdInputError, match="'olr' parameter of GRPOConfig must be a boolean"):
        GRPOConfig(data="x.jsonl", olr="sometimes").validate()
    with pytest.raises(OprdInputError, match="'k' parameter of PivotTraceConfig must be an int"):
        PivotTraceConfig(k="two").validate(10)


def test_every_field_of_every_config_has_a_describable_type():
    for cls in (GRPOConfig, SelectionConfig, PivotTraceConfig):
        for name, hint in field_types(cls).items():
            assert not describe(hint).startswith("a typing"), (cls.__name__, name)
    assert coerce_fields(GRPOConfig, {"not_a_field": object()})  # unknown keys are resolve_config's job


def test_cli_string_no_does_not_turn_remote_code_on(tmp_path, monkeypatch):
    """The sweep's worst case: ``trust_remote_code: "no"`` must mean False end to end."""
    seen = {}

    def fake_run(pool, config, **kwargs):
        seen["trust"] = config.trust_remote_code
        raise OprdInputError("stop here")

    monkeypatch.setattr("oprd.selectors.pipeline.run_selection", fake_run)
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"prompt": "1+1?"}\n')
    result = runner.invoke(select_app.app, ["random", "--pool", str(pool), "--budget", "1",
                                            "--config", str(_yaml(tmp_path, 'trust_remote_code: "no"\n'))])
    assert result.exit_code == 2 and seen == {"trust": False}


def test_cli_bad_yaml_value_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(train_app.app, ["--data", "x.jsonl", "--config", str(_yaml(tmp_path, "lr: fast\n"))])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "'lr'" in lines[0] and "'fast'" in lines[0] and "Traceback" not in result.output
