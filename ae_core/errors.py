"""The errors a user can cause (with a setting, with stored runs), and how the engine words errors:
a long value cut, the first line of a message for a one-sentence reason. It imports nothing of
ae_core, so every module can use it."""

from __future__ import annotations

import re
from typing import Any


class ConfigError(ValueError):
    """A setting a user can get wrong; the message is one sentence naming the field and the rule
    (a long value in it is cut: a pasted 100,000-character value does not come back whole)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(_cut_long_values(message))
        self.field = field_name


# A value longer than this is shown as its start, an ellipsis and its length.
SHOWN_VALUE_CHARS = 40
_QUOTED_OR_WORD = re.compile(r"(?:[\w.]+=)?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)")


def shown_value(value: Any) -> str:
    """``repr(value)``, cut to about SHOWN_VALUE_CHARS characters for a message."""
    text = repr(value)
    if len(text) <= SHOWN_VALUE_CHARS:
        return text
    return f"{text[:SHOWN_VALUE_CHARS]}… ({len(text):,} characters)"


def _cut_long_values(message: str) -> str:
    def cut(match: re.Match) -> str:
        text = match.group()
        if len(text) <= SHOWN_VALUE_CHARS * 2:
            return text
        return f"{text[:SHOWN_VALUE_CHARS]}… ({len(text):,} characters)"

    return _QUOTED_OR_WORD.sub(cut, message)


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, stripped; "" when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


# What reading a JSON file we did not write can raise, beyond OSError.
BAD_JSON = (ValueError, TypeError, KeyError, RecursionError)


class StoreError(RuntimeError):
    """Something about stored runs a user can cause; the message is one sentence saying what."""
