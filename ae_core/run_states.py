"""The states a run can be in, named once: how a training ends, what a stored run can be, what a
job can be, and which of them are still active.

The strings are written into run folders (``summary.json``'s ``status``), so they never change.
"""

from __future__ import annotations

from typing import Literal, get_args

# How a training ends: a run's summary says one of these.
TrainingEnd = Literal["done", "stopped", "failed"]
# What a run folder says of its run: how it ended, or, with no summary yet, whether a process
# still holds its training lock.
StoredRunState = Literal[TrainingEnd, "training", "interrupted"]
# What a job (a run asked of this server) can be: a stored run's state, or waiting for a worker,
# or given up before it started.
JobState = Literal[StoredRunState, "queued", "cancelled"]

# A run that has finished training: its summary is written.
FINISHED_STATES: tuple[TrainingEnd, ...] = get_args(TrainingEnd)
# A job whose outcome is still to come; every other job state is final.
ACTIVE_STATES: tuple[JobState, ...] = ("queued", "training")
