"""A stored run's history and summary checked against our schema: what each field may hold, and
one sentence saying what does not fit. An imported run's files, and every finished run a scan of
the store reads, are checked here."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ae_core.run_states import FINISHED_STATES


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# What a field of a stored record may hold, in words, and the check of it; the history's and the
# summary's fields below name one of these.
_COUNT, _NUMBER, _TEXT = "a whole number of at least 0", "a number", "a text"
_NUMBER_OR_NULL, _TEXT_OR_NULL = "a number or null", "a text or null"
_NUMBERS_BY_NAME = "a record of numbers by term name"
_EXPECTATIONS: dict[str, Callable[[Any], bool]] = {
    _COUNT: _is_count,
    _NUMBER: _is_number,
    _TEXT: lambda value: isinstance(value, str),
    _NUMBER_OR_NULL: lambda value: value is None or _is_number(value),
    _TEXT_OR_NULL: lambda value: value is None or isinstance(value, str),
    _NUMBERS_BY_NAME: lambda value: (
        isinstance(value, dict)
        and all(isinstance(name, str) and _is_number(term) for name, term in value.items())
    ),
    "a list of numbers": lambda value: isinstance(value, list) and all(map(_is_number, value)),
    "a list of numbers or nulls": lambda value: (
        isinstance(value, list) and all(v is None or _is_number(v) for v in value)
    ),
    "a list of whole numbers of at least 0": lambda value: (
        isinstance(value, list) and all(map(_is_count, value))
    ),
    "a finite number of at least 0": lambda value: (
        _is_number(value) and math.isfinite(value) and value >= 0
    ),
    "a whole number of at least 1": lambda value: _is_count(value) and value >= 1,
    "true or false": lambda value: isinstance(value, bool),
    "a record": lambda value: isinstance(value, dict),
}

# A history point's fields and what each must hold (``ae_core.trainer.Progress.to_dict()``); an
# imported history, and the history of every finished run read from the store, is checked
# against it point by point.
HISTORY_FIELDS = {
    "step": _COUNT,
    "total_steps": _COUNT,
    "phase": _TEXT,
    "phase_index": _COUNT,
    "phase_count": _COUNT,
    "loss": _NUMBER,
    "loss_terms": _NUMBERS_BY_NAME,
    "mean_activation": "a list of numbers or nulls",
    "samples_per_s": _NUMBER,
    "elapsed": _NUMBER,
}
# Fields of the points that have them (histories stored before them have none); both or neither.
OPTIONAL_HISTORY_FIELDS = {
    "held_out_loss": "a finite number of at least 0",
    "held_out_examples": "a whole number of at least 1",
}

# What the fields of a summary hold, as ``analysis.run_summary`` and ``failure_summary`` write
# them (a failed run measures nothing; a variant's own measurements are numbers or lists of them).
SUMMARY_FIELDS = {
    "run_id": _TEXT,
    "status": _TEXT,
    "reason": _TEXT_OR_NULL,
    "model": "true or false",
    "finished_at": _NUMBER,
    "variant": _TEXT,
    "dataset": _TEXT,
    "data_source": _TEXT,
    "data_in_words": _TEXT,
    "steps": _COUNT,
    "total_steps": _COUNT,
    "seconds": "a finite number of at least 0",
    "samples_per_s": _NUMBER_OR_NULL,
    "train_loss": _NUMBER,
    "loss_terms": _NUMBERS_BY_NAME,
    "test_loss": _NUMBER,
    "test_mse": _NUMBER,
    "mean_example_mse": _NUMBER,
    "recent_train_loss": _NUMBER_OR_NULL,
    "mean_activation": "a list of numbers",
    "dead_units": "a list of whole numbers of at least 0",
    "units": "a list of whole numbers of at least 0",
    "code_near_zero": _NUMBER,
    "parameters": _COUNT,
    "train_examples": _COUNT,
    "test_examples": _COUNT,
    "config": "a record",
}
# The measurements every summary of a run with a model has (the ones the pages show).
SUMMARY_MEASUREMENTS = ("train_loss", "loss_terms", "test_mse", "mean_activation", "dead_units")
_VARIANT_MEASUREMENT = "a number, a list of numbers or null"


def _fits(expected: str, value: Any) -> bool:
    return _EXPECTATIONS[expected](value)


def history_problem(points: Any) -> str | None:
    """What is wrong with a history's points, in words, or None when they fit our schema."""
    if not isinstance(points, list):
        return "its points are not a list"
    for index, point in enumerate(points):
        if not isinstance(point, dict):
            return f"point {index} is not a record"
        missing = [name for name in HISTORY_FIELDS if name not in point]
        unknown = [name for name in point if name not in HISTORY_FIELDS | OPTIONAL_HISTORY_FIELDS]
        if missing or unknown:
            what = f"lacks {', '.join(missing)}" if missing else f"has {', '.join(unknown)}"
            return f"point {index} {what}"
        held_out = [name for name in OPTIONAL_HISTORY_FIELDS if name in point]
        if held_out and len(held_out) != len(OPTIONAL_HISTORY_FIELDS):
            return f"point {index} has {held_out[0]} without the other held-out field"
        for name, value in point.items():
            expected = {**HISTORY_FIELDS, **OPTIONAL_HISTORY_FIELDS}[name]
            if not _fits(expected, value):
                return f"point {index}'s {name} is {value!r:.40}, not {expected}"
    return None


def summary_problem(summary: Any) -> str | None:
    """What is wrong with a run's summary, in words, or None when it fits what our writers
    write (every field the right kind of value; a run with a model has its measurements, and a
    finished ("done") run has a model)."""
    if not isinstance(summary, dict):
        return "it is not a record"
    if summary.get("status") not in FINISHED_STATES:
        return (
            f"its status is {summary.get('status')!r:.40}, not one of {', '.join(FINISHED_STATES)}"
        )
    for name, value in summary.items():
        if name in SUMMARY_FIELDS:
            expected = SUMMARY_FIELDS[name]
            fits = _fits(expected, value)
        else:
            expected = _VARIANT_MEASUREMENT
            fits = _fits(_NUMBER_OR_NULL, value) or _fits("a list of numbers", value)
        if not fits:
            return f"its {name} is {value!r:.40}, not {expected}"
    if summary.get("model") is True:
        missing = [name for name in SUMMARY_MEASUREMENTS if name not in summary]
        if missing:
            return f"it has a model but lacks {', '.join(missing)}"
    elif summary.get("status") == "done":
        return "it says the run is done but it has no model"
    return None
