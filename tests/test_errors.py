"""ae_core.errors: the first line of an error's message, as every one-sentence reason uses it."""

from __future__ import annotations

import pytest

from ae_core.data import _one_line
from ae_core.errors import first_line


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ValueError("shapes do not match\n  details on the next line"), "shapes do not match"),
        (KeyError("kernel"), "'kernel'"),
        (OSError("\n\n  leading blank lines\n"), "leading blank lines"),
        (MemoryError(), ""),
        (ValueError("   "), ""),
    ],
)
def test_first_line_is_the_first_line_of_the_message(error, line):
    assert first_line(error) == line


def test_a_data_error_reason_names_the_type_and_keeps_the_first_line_under_200_characters():
    assert _one_line(ValueError("bad header\nsecond line")) == "ValueError: bad header"
    assert _one_line(TimeoutError()) == "TimeoutError"
    long = _one_line(OSError("x" * 500))
    assert len(long) == 200 and long.startswith("OSError: xxx") and long.endswith("...")
