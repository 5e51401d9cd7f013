"""How the engine words an error: the first line of its message, for a one-sentence reason."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, stripped; "" when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""
