"""Model and tokenizer loading: built-in offline aliases, local directories, hub ids; chat prompts."""

from oprd.models.builtin import DEFAULT_MODEL, TINY_MODEL, builtin_names, cache_root
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE, build_prompt_ids
from oprd.models.loading import default_device, load_model, load_tokenizer, resolve_model_path
from oprd.models.prepare import is_prepared, prepare_builtin

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_REASONING_TEMPLATE",
    "TINY_MODEL",
    "build_prompt_ids",
    "builtin_names",
    "cache_root",
    "default_device",
    "is_prepared",
    "load_model",
    "load_tokenizer",
    "prepare_builtin",
    "resolve_model_path",
]
