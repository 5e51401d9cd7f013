"""Tests for ae_core.run_states: one vocabulary of run states, whose strings are stored on disk."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import ae_core
from ae_core.run_states import (
    ACTIVE_STATES,
    FINISHED_STATES,
    JobState,
    StoredRunState,
    TrainingEnd,
)

PACKAGE_DIR = Path(ae_core.__file__).parent


def test_the_states_keep_the_strings_run_folders_hold():
    assert set(get_args(TrainingEnd)) == {"done", "stopped", "failed"}
    assert set(get_args(StoredRunState)) == {"done", "stopped", "failed", "interrupted", "training"}
    assert set(get_args(JobState)) == {
        *("queued", "training", "done", "stopped", "failed", "cancelled", "interrupted")
    }


def test_each_vocabulary_extends_the_one_before():
    assert set(FINISHED_STATES) == set(get_args(TrainingEnd))
    assert set(get_args(TrainingEnd)) < set(get_args(StoredRunState)) < set(get_args(JobState))
    assert set(ACTIVE_STATES) == {"queued", "training"} and set(ACTIVE_STATES) < set(
        get_args(JobState)
    )
    assert not set(ACTIVE_STATES) & set(FINISHED_STATES)


def test_no_other_module_spells_a_vocabulary_of_states():
    state = r"[\"'](?:queued|training|done|stopped|failed|cancelled|interrupted)[\"']"
    spelled = re.compile(rf"Literal\[\s*{state}")
    found = [
        path.name
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if path.name != "run_states.py" and spelled.search(path.read_text())
    ]
    assert found == []
