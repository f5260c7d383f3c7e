"""Hub ids without a network: use the local Hugging Face cache, or fail at once with one line.

Without this, ``from_pretrained`` on an unreachable hub retries for most of a minute and logs a line
per retry. Before a hub id is loaded, :func:`resolve_hub_id` decides where it comes from:

- ``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``): the local HF cache only, no network probe;
- otherwise one HTTPS request to the hub endpoint (``HF_ENDPOINT``, default huggingface.co; proxies
  from the environment are honoured) with a timeout of ``OPRD_HUB_PROBE_TIMEOUT`` seconds (default 3).
  When it fails, the local HF cache is used if it holds the model, else the load stops with one line.
"""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.request

from oprd.errors import OprdInputError

_TRUE = ("1", "true", "yes", "on")


def resolve_hub_id(repo_id: str) -> str:
    """``repo_id`` when the hub is reachable; the cached snapshot dir when it is not; else an error."""
    offline = _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
    reason = "HF_HUB_OFFLINE is set" if offline else hub_unreachable()
    if reason is None:
        return repo_id
    cached = cached_snapshot(repo_id)
    if cached is not None:
        return cached
    raise OprdInputError(
        f"model {repo_id!r} is a hub id, but the hub cannot be used ({reason}) and the model is not in the local "
        "Hugging Face cache; connect to the network once, or pass --model with a local model directory or a "
        "built-in name (oprd models list)"
    )


def hub_unreachable() -> str | None:
    """None when the hub endpoint answers within the probe timeout, else why it did not (one phrase)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return _probe(endpoint, float(os.environ.get("OPRD_HUB_PROBE_TIMEOUT", "3")))


@functools.lru_cache(maxsize=8)
def _probe(endpoint: str, timeout: float) -> str | None:
    """One HEAD request per endpoint and process (a model load resolves its name more than once)."""
    request = urllib.request.Request(endpoint + "/", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # the server answered; an HTTP status is not a network failure
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{endpoint} did not answer within {timeout:g} s: {reason}"


def cached_snapshot(repo_id: str) -> str | None:
    """The local snapshot dir of ``repo_id`` in the Hugging Face cache, or None."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached, or an invalid repo id: either way there is no local copy
        return None


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE
