"""Snapshots of a run's weights along its training: where the trainer takes them (without
changing a training number), how the worker stores them, how the job manager loads them, and
how an archive carries them, each checked on import like the final model."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from ae_core import archives, views
from ae_core.archives import MANIFEST_FILE, ImportRefused
from ae_core.config import make_config
from ae_core.jobs import JobManager
from ae_core.store import RunStore, snapshot_file
from ae_core.trainer import CompiledCache, snapshot_targets, train

# 700 steps: windows of 2 steps, so 1 % (step 7) and 5 % (step 35) land on the next boundary.
SETTINGS = {"dataset": "digits", "hidden": (32,), "code_size": 8, "learning_rate": 0.005}
LONG = make_config("stacked", **SETTINGS, steps=700)
EXPECTED_STEPS = [8, 14, 36, 70, 140, 350]
# The run the worker trains: 100 steps, windows of 1 step.
STORED = make_config("sparse_kl", dataset="digits", hidden=(), code_size=16, steps=100, seed=3)
STORED_STEPS = [1, 2, 5, 10, 20, 50]


def weights_of(model) -> list[np.ndarray]:
    return [variable.numpy().copy() for variable in model.weights]


def training_numbers(result) -> list[tuple]:
    """Every number of the history that training decides (not the timings)."""
    return [
        (
            point.step,
            point.loss,
            tuple(point.loss_terms.items()),
            tuple(point.mean_activation),
            point.held_out_loss,
        )
        for point in result.history
    ]


@pytest.fixture(scope="module")
def cache():
    return CompiledCache()


def test_snapshot_targets_are_the_fractions_of_the_steps_before_the_last():
    assert snapshot_targets(700) == [7, 14, 35, 70, 140, 350]
    assert snapshot_targets(100) == STORED_STEPS
    assert snapshot_targets(10) == [1, 2, 5]  # 1 %, 2 % and 5 % are all the first step


def test_snapshots_land_on_window_boundaries_and_leave_the_history_unchanged(digits, cache):
    taken: dict[int, list[np.ndarray]] = {}
    with_snapshots = train(
        LONG,
        digits,
        cache=cache,
        on_snapshot=lambda model, step: taken.setdefault(step, weights_of(model)),
    )
    without = train(LONG, digits, cache=cache)

    assert sorted(taken) == EXPECTED_STEPS
    assert training_numbers(with_snapshots) == training_numbers(without)
    # The weights at step 36 are those of a run of 36 steps: the snapshot is the model then.
    short = train(make_config("stacked", **SETTINGS, steps=36), digits, cache=cache)
    for kept, trained in zip(taken[36], weights_of(short.model), strict=True):
        np.testing.assert_array_equal(kept, trained)
    assert not np.array_equal(taken[8][0], weights_of(with_snapshots.model)[0])


def test_a_stopped_run_has_the_snapshots_it_reached(digits, cache):
    taken, stop = [], threading.Event()

    def keep(model, step: int) -> None:
        taken.append(step)
        if step >= 36:
            stop.set()

    result = train(LONG, digits, cache=cache, on_snapshot=keep, stop_event=stop)
    assert result.status == "stopped"
    assert taken == [8, 14, 36]


# -- stored by the worker, loaded by the job manager ----------------------------------------------
@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A manager whose worker has trained STORED into its store."""
    with JobManager(tmp_path_factory.mktemp("runs"), workers=1) as manager:
        job = manager.submit(STORED)
        assert job.wait(180), "the run did not finish"
        assert job.state == "done", job.reason
        yield manager


def test_the_worker_stores_a_snapshot_at_each_fraction(stored):
    run_id = STORED.run_id
    assert stored.snapshot_steps(run_id) == STORED_STEPS
    folder = stored.store.root / run_id
    assert all((folder / snapshot_file(step)).is_file() for step in STORED_STEPS)
    # With the final model, the seven steps of 1, 2, 5, 10, 20, 50 and 100 %.
    assert stored.get(run_id).summary["steps"] == 100
    # Its history is the one a run without snapshots has.
    plain = train(STORED)
    stored_losses = [point["loss"] for point in stored.store.load_history(run_id)]
    assert stored_losses == [point.loss for point in plain.history]


def test_a_snapshots_views_differ_from_the_final_models(stored, digits):
    run_id = STORED.run_id
    first = stored.snapshot_model(run_id, 1)
    assert stored.snapshot_model(run_id, 1) is first, "kept in memory"
    early = views.features(first, digits, units=16)["encoder"]
    final = views.features(stored.model(run_id), digits, units=16)["encoder"]
    assert early.shape == final.shape
    assert not np.allclose(early, final, atol=1e-3)
    halfway = views.reconstructions(stored.snapshot_model(run_id, 50), digits)["mse"]
    assert list(halfway) and halfway != views.reconstructions(stored.model(run_id), digits)["mse"]


def test_sessions_asking_for_one_snapshot_at_once_load_it_once(stored, monkeypatch):
    run_id = STORED.run_id
    with stored._lock:
        stored._forget_models(run_id)
    loads = []
    real_load = stored.store.load_snapshot

    def slow_load(run_id: str, step: int):
        loads.append(step)
        time.sleep(0.3)  # long enough that every session asks while it loads
        return real_load(run_id, step)

    monkeypatch.setattr(stored.store, "load_snapshot", slow_load)
    models: list = [None] * 8
    gate = threading.Barrier(len(models))

    def ask(index: int) -> None:
        gate.wait()
        models[index] = stored.snapshot_model(run_id, 5)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(models))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [5]
    assert all(model is models[0] for model in models)


# -- carried by an exported run, checked on import ------------------------------------------------
def zip_members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def crafted(archive: bytes, replacements: dict[str, bytes | None]) -> bytes:
    """``archive`` with members replaced (None: removed) and a manifest that fits them."""
    members = {**zip_members(archive), **replacements}
    members = {name: data for name, data in members.items() if data is not None}
    manifest = json.loads(members[MANIFEST_FILE])
    manifest["files"] = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in members.items()
        if name != MANIFEST_FILE
    }
    members[MANIFEST_FILE] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as written:
        for name, data in members.items():
            written.writestr(name, data)
    return buffer.getvalue()


def changed_weights(data: bytes, scratch: Path, change) -> bytes:
    """A snapshot's weights file after ``change(file, name_of_its_first_kernel)``."""
    path = scratch / "changed.weights.h5"
    path.write_bytes(data)
    with h5py.File(path, "a") as weights:
        names: list[str] = []
        weights.visititems(
            lambda name, item: names.append(name) if getattr(item, "ndim", 0) == 2 else None
        )
        change(weights, names[0])
    return path.read_bytes()


def wrong_shape(weights: h5py.File, name: str) -> None:
    del weights[name]
    weights.create_dataset(name, data=np.zeros((3, 3), dtype="float32"))


def huge_declared_size(weights: h5py.File, name: str) -> None:
    del weights[name]
    weights.create_dataset(name, shape=(2**20, 2**20), dtype="float32")  # 4 TB, none stored


def declared_but_not_stored(weights: h5py.File, name: str) -> None:
    shape = weights[name].shape
    del weights[name]
    weights.create_dataset(name, shape=shape, dtype="float32")  # the right shape, no data


@pytest.fixture(scope="module")
def exported(stored) -> bytes:
    return archives.export_run(stored.store, STORED.run_id)


def test_an_exported_run_carries_its_snapshots_back_into_a_store(stored, exported, tmp_path):
    members = zip_members(exported)
    assert {snapshot_file(step) for step in STORED_STEPS} <= set(members)
    store = RunStore(tmp_path / "runs")
    archives.import_run(store, exported)
    assert store.snapshot_steps(STORED.run_id) == STORED_STEPS
    for step in (1, 50):
        imported = store.load_snapshot(STORED.run_id, step)
        original = stored.snapshot_model(STORED.run_id, step)
        for mine, theirs in zip(weights_of(imported), weights_of(original), strict=True):
            np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (wrong_shape, ("snapshot-5.weights.h5", "shape (3, 3)")),
        (huge_declared_size, ("snapshot-5.weights.h5", "shape (1048576, 1048576)")),
        (declared_but_not_stored, ("snapshot-5.weights.h5", "stores 0 bytes")),
    ],
)
def test_a_hostile_snapshot_is_refused_in_one_sentence(exported, tmp_path, change, words):
    name = snapshot_file(5)
    hostile = changed_weights(zip_members(exported)[name], tmp_path, change)
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ImportRefused) as refused:
        archives.import_run(store, crafted(exported, {name: hostile}))
    message = str(refused.value)
    assert message.startswith("refusing to import: ") and message.count(". ") == 0
    for word in words:
        assert word in message, message
    assert list(store.root.iterdir()) == [], "nothing was written"


def test_a_snapshot_at_or_past_the_last_step_is_refused(exported, tmp_path):
    members = zip_members(exported)
    moved = {snapshot_file(50): None, snapshot_file(100): members[snapshot_file(50)]}
    with pytest.raises(ImportRefused, match="snapshot at step 100 is not before"):
        archives.import_run(RunStore(tmp_path / "runs"), crafted(exported, moved))
