"""The hook-and-stop forward: hooks read what they need as each layer runs, the deepest one stops it.

Capture, the attention signal and distillation states all read a few layers of the decoder body.
Their hooks raise :class:`StopForward` once the deepest layer they need has run, so the layers above
it (and the LM head) never run; :func:`forward_until_stop` swallows that signal and removes the hooks.
"""

from __future__ import annotations

from typing import Any, Iterable


class StopForward(Exception):
    """Raised by the hook of the deepest layer needed: the rest of the forward is skipped."""


def forward_until_stop(body, handles: Iterable[Any], **inputs: Any) -> None:
    """Run ``body(**inputs, use_cache=False)`` until a hook raises :class:`StopForward`; the hook
    ``handles`` are removed however the forward ends. Gradient mode is the caller's."""
    try:
        body(**inputs, use_cache=False)
    except StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
