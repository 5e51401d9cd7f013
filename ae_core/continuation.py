"""Continuing a run: more steps trained on from a stored run's final model, as a new run.

A continuation's config is its parent's with ``parent`` (the parent's run id), ``extra_steps``
(the steps it adds) and ``steps`` counting the parent's steps too (the parent's steps done plus
the extra ones), so its run id differs from any run trained from scratch, and from a
continuation of the same parent stopped elsewhere. It starts from the parent's stored weights;
the optimizer's state is not stored, so the optimizer starts afresh (Adam's moments at zero),
and that is part of what the run id means. It trains on in the parent's last phase (the whole
model, or for greedy layer-wise training its innermost layer), with a random stream of its own
(``stream_seed``), and its history numbers its steps on from the parent's last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ae_core.config import RunConfig
from ae_core.errors import StoreError
from ae_core.store import RunStore

if TYPE_CHECKING:
    import numpy as np

# What a run must have ended as, with a model, to be continued: a failed run's model is the one
# before its loss broke, and training it on would break it again.
CONTINUABLE_STATES = ("done", "stopped")


def can_continue(state: str, summary: dict | None) -> bool:
    """True when a run in ``state`` with ``summary`` has a final model to train on from."""
    return state in CONTINUABLE_STATES and bool((summary or {}).get("model"))


def continuation_config(config: RunConfig, run_id: str, steps_done: int, extra: int) -> RunConfig:
    """The config of ``extra`` more steps on from run ``run_id`` of ``config``, which stopped
    after ``steps_done`` steps; raises ConfigError naming ``extra_steps`` for a bad count."""
    return config.replace(parent=run_id, extra_steps=extra, steps=steps_done + extra)


def _settings(config: RunConfig) -> dict:
    values = config.to_dict()
    for name in ("steps", "parent", "extra_steps"):
        values.pop(name, None)
    return values


def parent_weights(store: RunStore, config: RunConfig, identity: dict) -> list[np.ndarray]:
    """The weights a continuation of ``config`` starts from, read from its parent's stored final
    model; StoreError in one sentence when the parent is not (or no longer) that model."""
    parent = config.parent
    record = store.get(parent)
    if record is None:
        raise StoreError(
            f"run {parent}, which this run continues, is not in the store (deleted or never "
            "imported here); train or import it again, then continue it"
        )
    if not can_continue(record.status, record.summary):
        raise StoreError(
            f"run {parent}, which this run continues, has no final model to train on from (it "
            f"is {record.status})"
        )
    if _settings(record.config) != _settings(config):
        raise StoreError(f"run {parent} was trained with other settings than this continuation")
    steps_done = record.summary.get("steps")
    if steps_done != config.start_step:
        raise StoreError(
            f"run {parent} now holds its model after {steps_done:,} steps, not after "
            f"{config.start_step:,} as this continuation says; continue it again from there"
        )
    if record.data is not None and record.data["identity"] != identity:
        raise StoreError(f"run {parent} was trained on other {config.dataset} data than this")
    return store.load_model(parent).get_weights()


def stream_seed(config: RunConfig) -> list[int]:
    """The seed of a continuation's random stream: its own, so its batches are not its parent's
    first ones again, and the same for the same continuation."""
    return [config.seed, config.start_step]
