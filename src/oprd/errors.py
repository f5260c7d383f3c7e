"""One error type for known, user-fixable failures.

The CLI turns an :class:`OprdInputError` into a single line on stderr and exit code 2; library
callers get an ordinary exception (a ``ValueError`` subclass) with the same message.
"""

from __future__ import annotations


class OprdInputError(ValueError):
    """Bad input the user can fix: the message says what was wrong, what was found, what to do."""


def param_error(param: str, owner: str, expected: str, got: object) -> OprdInputError:
    """Build the one error shape used for bad hyper-parameters (sklearn style).

    Example: "The 'budget' parameter of ShiftSelector must be an int in [1, n_samples]. Got 0 instead."
    """
    return OprdInputError(f"The {param!r} parameter of {owner} must be {expected}. Got {got!r} instead.")
