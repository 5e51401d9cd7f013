"""Continuing a run, naming one, and its model as a .keras file for Keras users.

One manager with one worker process serves the tests that train (tiny runs on the 8x8 digits).
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from ae_core import archives
from ae_core.config import make_config, run_id_for
from ae_core.continuation import continuation_config
from ae_core.controls import controls
from ae_core.errors import ConfigError, StoreError
from ae_core.jobs import JobManager
from ae_core.naming import run_names
from ae_core.run_names import MAX_RUN_NAME_CHARS, NAME_FILE
from ae_core.store import RunStore

TINY = {"dataset": "digits", "hidden": (32,), "code_size": 8, "learning_rate": 0.005}


def tiny(seed: int, **settings):
    return make_config("stacked", **{**TINY, "seed": seed, **settings})


def finished(job, timeout: float = 120.0):
    assert job.wait(timeout), f"{job} did not finish within {timeout} s"
    return job


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    with JobManager(tmp_path_factory.mktemp("runs"), workers=1) as shared:
        yield shared


@pytest.fixture(scope="module")
def parent(manager):
    job = finished(manager.submit(tiny(1, steps=400)))
    assert job.state == "done"
    return job


# -- the config -----------------------------------------------------------------------------------
def test_runs_that_continue_nothing_keep_the_ids_they_had():
    # Computed by the engine before a run could continue another.
    identity = {"dataset": "mnist", "train": 1, "test": 2, "sha256": "ab"}
    assert run_id_for(make_config("stacked", steps=50), None) == "stacked-b143be20593d"
    assert run_id_for(make_config("vae"), identity) == "vae-39a3c0223311"
    assert "parent" not in make_config("stacked").to_dict()


def test_the_continuation_fields_are_no_settings_of_the_form():
    for variant in ("stacked", "vae", "layerwise"):
        names = {control.name for control in controls(variant)}
        assert not names & {"parent", "extra_steps"}


def test_a_continuation_config_is_checked_in_one_sentence():
    config = tiny(1, steps=100)
    child = continuation_config(config, config.run_id, 100, 30)
    assert child.steps == 130 and child.start_step == 100 and child.parent == config.run_id
    assert child.run_id != tiny(1, steps=130).run_id
    assert child.shape_signature == config.shape_signature  # no new compilation
    with pytest.raises(ConfigError, match="extra_steps=0"):
        continuation_config(config, config.run_id, 100, 0)
    with pytest.raises(ConfigError, match="not a run id"):
        config.replace(parent="../elsewhere", extra_steps=5)
    with pytest.raises(ConfigError, match="needs a parent"):
        config.replace(extra_steps=5)


# -- continuing -----------------------------------------------------------------------------------
def test_a_continuation_trains_on_from_its_parents_model(manager, parent):
    parent_history = parent.snapshot().history
    child = finished(manager.continue_run(parent.run_id, 100))
    assert child.state == "done", child.reason
    assert child.config.parent == parent.run_id and child.config.extra_steps == 100
    history = child.snapshot().history
    assert history[0]["step"] == parent_history[-1]["step"] + 1
    assert history[-1]["step"] == child.summary["steps"] == 500 == history[-1]["total_steps"]
    # On from the parent's model, not from scratch: its first loss is near the parent's last.
    first, last, fresh = history[0]["loss"], parent_history[-1]["loss"], parent_history[0]["loss"]
    assert abs(first - last) < 0.25 * (fresh - last)
    assert first < 0.5 * fresh
    # Its snapshots are along its own steps, for the scrubber.
    steps = manager.snapshot_steps(child.run_id)
    assert len(steps) >= 3 and all(400 < step < 500 for step in steps), steps
    # The same continuation again is the same run, served from the store.
    again = manager.continue_run(parent.run_id, 100)
    assert again.run_id == child.run_id and again.is_final_result
    assert manager.submit(child.config).run_id == child.run_id


def test_a_continuation_of_a_missing_parent_fails_in_one_sentence(manager):
    config = continuation_config(tiny(2, steps=100), "stacked-0123456789ab", 100, 20)
    job = finished(manager.submit(config))
    assert job.state == "failed"
    assert "stacked-0123456789ab, which this run continues, is not in the store" in job.reason
    assert "\n" not in job.reason


# -- names ----------------------------------------------------------------------------------------
def test_a_name_is_kept_in_the_store_checked_and_changes_no_id(manager, parent):
    store = manager.store
    assert manager.set_name(parent.run_id, "  baseline  ") == "baseline"
    record = RunStore(store.root).get(parent.run_id)  # a fresh read of the folder
    assert record.name == "baseline" and record.run_id == parent.run_id
    assert json.loads((record.path / NAME_FILE).read_bytes()) == {"name": "baseline"}
    assert {job.run_id: job.name for job in manager.list_runs()}[parent.run_id] == "baseline"
    for refused, words in [
        ("   ", "cannot be empty"),
        ("x" * (MAX_RUN_NAME_CHARS + 1), f"at most {MAX_RUN_NAME_CHARS} characters"),
        ("two\nlines", "control or invisible characters"),
    ]:
        with pytest.raises(StoreError, match=words):
            manager.set_name(parent.run_id, refused)
    assert store.get(parent.run_id).name == "baseline"
    with pytest.raises(StoreError, match="no stored run"):
        store.set_name("stacked-0123456789ab", "ghost")


def test_compare_calls_named_runs_by_their_names(parent):
    other = tiny(1, steps=300)
    configs = {parent.run_id: parent.config, other.run_id: other}
    names = run_names(configs, {parent.run_id: "baseline"})
    assert names == {parent.run_id: "baseline", other.run_id: "steps 300"}


def test_a_name_goes_out_with_the_run_and_comes_back_checked(manager, parent, tmp_path):
    manager.set_name(parent.run_id, "exported")
    archive = manager.export_run(parent.run_id)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert json.loads(opened.read(NAME_FILE)) == {"name": "exported"}
    assert archives.import_run(RunStore(tmp_path / "elsewhere"), archive).name == "exported"


# -- the model for Keras users --------------------------------------------------------------------
def test_the_model_file_loads_in_keras_and_reconstructs_as_the_run_does(manager, parent, tmp_path):
    import keras

    from ae_core.analysis import reconstruct
    from ae_core.data import load_dataset

    path = tmp_path / "model.keras"
    path.write_bytes(manager.model_file(parent.run_id))
    loaded = keras.saving.load_model(path)  # our own file, written by our code
    digit = load_dataset("digits").x_test[:1]
    expected = reconstruct(manager.model(parent.run_id), digit)
    np.testing.assert_allclose(np.asarray(loaded(digit)), expected, atol=1e-6)
