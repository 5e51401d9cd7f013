"""A run's short name, given by a person: the rules a typed name follows, and the file it is kept in
(a name changes no result and is not part of the run id)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ae_core.errors import StoreError

# The file in a run's folder that holds its name (``RunStore.set_name``).
NAME_FILE = "name.json"
MAX_RUN_NAME_CHARS = 40


def checked_run_name(text: Any) -> str:
    """``text`` as a run's name (stripped), or StoreError saying in one sentence why not."""
    if not isinstance(text, str):
        raise StoreError("a run's name must be a text")
    name = text.strip()
    if not name:
        raise StoreError("a run's name cannot be empty: type a few words, such as 'baseline'")
    if len(name) > MAX_RUN_NAME_CHARS:
        raise StoreError(
            f"a run's name is at most {MAX_RUN_NAME_CHARS} characters long, not {len(name)}"
        )
    if any(unicodedata.category(character).startswith("C") for character in name):
        raise StoreError(
            "a run's name cannot hold control or invisible characters (a line break, a tab)"
        )
    return name


def parse_run_name(data: bytes) -> str:
    """The name a ``name.json`` holds, checked as a typed one; ValueError when it holds none."""
    record = json.loads(data)
    if not isinstance(record, dict) or set(record) != {"name"}:
        raise ValueError(f"{NAME_FILE} does not hold a name")
    try:
        return checked_run_name(record["name"])
    except StoreError as error:
        raise ValueError(str(error)) from None


def name_record(name: str) -> dict:
    return {"name": name}
