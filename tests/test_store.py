"""Tests for ae_core.store: crash-safe run folders, scans that survive damage, safe export/import.

One tiny model is trained for the whole module (stacked on digits, 50 steps); every other folder
is made with ``RunWriter.fail``, which needs no model. Hostile archives are built from a good
export by swapping members, so each one breaks exactly one rule.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import io
import json
import os
import pickle
import re
import stat
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from ae_core import analysis, archives, figures
from ae_core.archives import MANIFEST_FILE, MAX_MEMBER_BYTES, ImportRefused
from ae_core.config import RunConfig, make_config, run_id_for
from ae_core.errors import StoreError
from ae_core.model_files import ModelFileRefused, check_plain_hdf5
from ae_core.run_schema import history_problem
from ae_core.store import (
    CONFIG_FILE,
    DATA_FILE,
    HISTORY_FILE,
    LOCK_FILE,
    MODEL_FILE,
    RUN_FILES,
    STALE_TEMP_SECONDS,
    SUMMARY_FILE,
    RunBusy,
    RunFinished,
    RunStore,
    _temp_name,
    default_runs_dir,
)
from ae_core.trainer import HELD_OUT_POINTS_PER_PHASE

TRAINED_STEPS = 50
STORED_FILES = {CONFIG_FILE, DATA_FILE, HISTORY_FILE, MODEL_FILE, SUMMARY_FILE, LOCK_FILE}
FAILURE_REASON = "the loss became NaN at step 20"


def sample_point(step: int, loss: float) -> dict:
    """A history point as the trainer writes one (``Progress.to_dict()``)."""
    return {
        "step": step,
        "total_steps": 20,
        "phase": "all layers",
        "phase_index": 0,
        "phase_count": 1,
        "loss": loss,
        "loss_terms": {"reconstruction": loss},
        "mean_activation": [0.5],
        "samples_per_s": 1000.0,
        "elapsed": step / 100,
    }


SAMPLE_POINTS = [sample_point(10, 0.52), sample_point(20, 0.47)]
SYMLINK_ATTRIBUTES = (stat.S_IFLNK | 0o777) << 16
STALE_AGE = STALE_TEMP_SECONDS + 60


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(train_tiny):
    return train_tiny("stacked", steps=TRAINED_STEPS)


@pytest.fixture(scope="module")
def trained_summary(trained) -> dict:
    return analysis.run_summary(trained)


@pytest.fixture(scope="module")
def sample(digits) -> np.ndarray:
    return digits.x_test[:64]


@pytest.fixture(scope="module")
def exported_archive(tmp_path_factory, trained, trained_summary) -> bytes:
    """The trained run, exported from a store of its own."""
    store = RunStore(tmp_path_factory.mktemp("exporting") / "runs")
    store_finished_run(store, trained, trained_summary)
    return archives.export_run(store, trained.config.run_id)


@pytest.fixture(scope="module")
def lambda_model_file(tmp_path_factory) -> bytes:
    """A genuine Keras file of a model whose Lambda layer would run code when loaded."""
    model = keras.Sequential([keras.Input((64,)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path_factory.mktemp("lambda") / "doubler.keras"
    model.save(path)
    return path.read_bytes()


@pytest.fixture
def target_store(tmp_path) -> RunStore:
    """The store hostile archives are imported into; it already holds one (other) run."""
    store = RunStore(tmp_path / "home" / "runs")
    store_failed_run(store, seed=1)
    return store


# -- helpers ---------------------------------------------------------------------------------------
def untrained_config(seed: int) -> RunConfig:
    """A valid config that is never trained (folders that need no model)."""
    return make_config("stacked", dataset="digits", hidden=(16,), code_size=4, steps=20, seed=seed)


def history_points(result) -> list[dict]:
    return [point.to_dict() for point in result.history]


def store_finished_run(store: RunStore, result, summary: dict) -> Path:
    with store.begin(result.config) as writer:
        writer.finish(result.model, history_points(result), summary)
    return store.root / result.config.run_id


def store_failed_run(store: RunStore, seed: int) -> RunConfig:
    config = untrained_config(seed)
    with store.begin(config) as writer:
        writer.fail(FAILURE_REASON, SAMPLE_POINTS, steps=20)
    return config


def store_interrupted_run(store: RunStore, seed: int) -> RunConfig:
    config = untrained_config(seed)
    with store.begin(config) as writer:
        writer.write_history(SAMPLE_POINTS)
    return config


def file_names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def folder_snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders)."""
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


def read_json_file(path: Path):
    return json.loads(path.read_text())


def write_json_file(path: Path, value) -> None:
    path.write_text(json.dumps(value))


def zip_members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def make_zip(
    members: dict[str | zipfile.ZipInfo, bytes], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name_or_info, data in members.items():
            archive.writestr(name_or_info, data)
    return buffer.getvalue()


def crafted_archive(
    archive: bytes, replacements: dict[str, bytes | None], run_id: str | None = None
) -> bytes:
    """``archive`` with some members replaced (None: removed) and a manifest whose sums fit the
    new members (and that claims ``run_id``, when given), so only the checks after the
    manifest's can catch what was changed."""
    members = {**zip_members(archive), **replacements}
    members = {name: data for name, data in members.items() if data is not None}
    manifest = json.loads(members[MANIFEST_FILE])
    if run_id is not None:
        manifest["run_id"] = run_id
    manifest["files"] = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in members.items()
        if name != MANIFEST_FILE
    }
    members[MANIFEST_FILE] = json.dumps(manifest).encode()
    return make_zip(members)


def archive_with_changed_weights(
    archive: bytes, change_weights: Callable[[Path], None], scratch: Path
) -> bytes:
    """``archive`` whose model's weights file was changed in place by ``change_weights(path)``,
    with a manifest that fits, so only the checks of the model itself can catch the change."""
    model_members = zip_members(zip_members(archive)[MODEL_FILE])
    weights_path = scratch / "model.weights.h5"
    weights_path.write_bytes(model_members["model.weights.h5"])
    change_weights(weights_path)
    model_file = make_zip({**model_members, "model.weights.h5": weights_path.read_bytes()})
    return crafted_archive(archive, {MODEL_FILE: model_file})


def assert_refused(store: RunStore, archive: bytes, *words: str) -> str:
    """Importing ``archive`` raises ImportRefused naming ``words`` and writes nothing. The
    snapshot starts two levels above the runs folder, so a member escaping with ../../ shows."""
    watched = store.root.parents[1]
    before = folder_snapshot(watched)
    with pytest.raises(ImportRefused) as refused:
        archives.import_run(store, archive)
    message = str(refused.value)
    assert message.startswith("refusing to import: ")
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    assert folder_snapshot(watched) == before
    assert store.scan() and not store.problems
    return message


def assert_same_reconstructions(model, reference, sample: np.ndarray) -> None:
    np.testing.assert_array_equal(
        analysis.reconstruct(model, sample), analysis.reconstruct(reference, sample)
    )


def hdf5_file(path: Path, add_hostile_part: Callable[[h5py.File], None]) -> bytes:
    """An HDF5 weights file with one plain kernel and whatever ``add_hostile_part`` adds."""
    with h5py.File(path, "w") as weights:
        weights.create_dataset("layers/dense/vars/0", data=np.ones((4, 2), dtype="float32"))
        add_hostile_part(weights)
    return path.read_bytes()


class CreatesMarkerWhenUnpickled:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


# -- writing and reading one run -------------------------------------------------------------------
def test_finished_run_round_trips(tmp_path, trained, trained_summary, build_untrained, sample):
    store = RunStore(tmp_path)
    folder = store_finished_run(store, trained, trained_summary)
    run_id = trained.config.run_id

    [record] = store.scan()
    assert store.problems == []
    assert (record.run_id, record.status, record.reason) == (run_id, "done", None)
    assert record.is_final and record.has_model
    assert record.config == trained.config and record.path == folder
    stored_figures = {key: record.summary[key] for key in trained_summary}
    assert stored_figures == json.loads(json.dumps(trained_summary))
    assert record.summary["model"] is True
    assert record.summary["finished_at"] == pytest.approx(time.time(), abs=120)
    assert store.get(run_id) == record

    loaded = store.load_model(run_id)
    untrained, _ = build_untrained("stacked", steps=TRAINED_STEPS)
    loaded_kernels = [kernel.numpy() for kernel in loaded.own_kernels]
    trained_kernels = [kernel.numpy() for kernel in trained.model.own_kernels]
    assert len(loaded_kernels) == len(trained_kernels) == 4
    for loaded_kernel, trained_kernel in zip(loaded_kernels, trained_kernels, strict=True):
        np.testing.assert_array_equal(loaded_kernel, trained_kernel)
    for loaded_weight, trained_weight in zip(
        loaded.get_weights(), trained.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(loaded_weight, trained_weight)
    # The weights came from the file, not from rebuilding with the same seeds.
    assert not np.array_equal(untrained.own_kernels[0].numpy(), loaded_kernels[0])
    assert_same_reconstructions(loaded, trained.model, sample)

    points = store.load_history(run_id)
    assert points == history_points(trained)
    assert points[-1]["step"] == TRAINED_STEPS

    assert file_names(folder) == STORED_FILES
    assert file_names(store.root) == {run_id}


def test_a_finished_run_is_never_thrown_away_to_train_it_again(tmp_path, trained, trained_summary):
    # Two servers on one runs folder: the second one's worker begins the run the first one
    # finished meanwhile. It gets the stored run, and the folder is untouched.
    store = RunStore(tmp_path)
    folder = store_finished_run(store, trained, trained_summary)
    before = {name: (folder / name).read_bytes() for name in file_names(folder)}
    with pytest.raises(RunFinished, match="finished already") as finished:
        RunStore(tmp_path).begin(trained.config)
    assert finished.value.record.run_id == trained.config.run_id
    assert finished.value.record.is_final and finished.value.record.has_model
    assert {name: (folder / name).read_bytes() for name in file_names(folder)} == before
    # A failed run without a model is not a result: it may be trained again.
    config = untrained_config(seed=8)
    with store.begin(config) as writer:
        writer.fail("a reason", [], steps=0)
    with store.begin(config):
        assert store.get(config.run_id).status == "training"


def test_open_writer_is_training_then_interrupted_and_begin_replaces_it(tmp_path):
    store = RunStore(tmp_path)
    config = untrained_config(seed=2)
    writer = store.begin(config)
    try:
        writer.write_history(SAMPLE_POINTS)
        [record] = store.scan()
        assert (record.status, record.reason, record.summary) == ("training", None, None)
        assert not record.is_final and not record.has_model
        with pytest.raises(RunBusy, match="being trained by another process"):
            RunStore(tmp_path).begin(config)
        assert store.load_history(config.run_id) == SAMPLE_POINTS
    finally:
        writer.close()

    [record] = store.scan()
    assert record.status == "interrupted" and not record.is_final
    assert "ended before it finished" in record.reason

    with store.begin(config) as second_attempt:
        assert store.get(config.run_id).status == "training"
        assert store.load_history(config.run_id) == []
    assert file_names(store.root) == {config.run_id}
    begun = {CONFIG_FILE, DATA_FILE, HISTORY_FILE, LOCK_FILE}
    assert file_names(store.root / config.run_id) == begun
    assert second_attempt.path == store.root / config.run_id


def test_scan_lists_newest_first(tmp_path):
    store = RunStore(tmp_path)
    older, newer = store_failed_run(store, seed=3), store_failed_run(store, seed=4)
    for config, age in ((older, 3600), (newer, 60)):
        past = time.time() - age
        os.utime(store.root / config.run_id / SUMMARY_FILE, (past, past))
    assert [record.run_id for record in store.scan()] == [newer.run_id, older.run_id]


# -- damaged folders -------------------------------------------------------------------------------
def truncate_summary(folder: Path) -> None:
    text = (folder / SUMMARY_FILE).read_text()
    (folder / SUMMARY_FILE).write_text(text[: len(text) // 2])


def remove_config(folder: Path) -> None:
    (folder / CONFIG_FILE).unlink()


def give_config_an_invalid_value(folder: Path) -> None:
    values = read_json_file(folder / CONFIG_FILE)
    write_json_file(folder / CONFIG_FILE, {**values, "code_size": -1})


def rename_folder(folder: Path) -> None:
    folder.rename(folder.with_name("stacked-000000000000"))


def claim_a_missing_model(folder: Path) -> None:
    summary = read_json_file(folder / SUMMARY_FILE)
    write_json_file(folder / SUMMARY_FILE, {**summary, "model": True})


def give_the_summary_a_text_figure(folder: Path) -> None:
    summary = read_json_file(folder / SUMMARY_FILE)
    write_json_file(folder / SUMMARY_FILE, {**summary, "test_mse": "0.1"})


def drop_a_points_step(folder: Path) -> None:
    points = read_json_file(folder / HISTORY_FILE)["points"]
    del points[1]["step"]
    write_json_file(folder / HISTORY_FILE, {"points": points})


def replace_summary_with_a_folder(folder: Path) -> None:
    (folder / SUMMARY_FILE).unlink()
    (folder / SUMMARY_FILE).mkdir()


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (truncate_summary, ("damaged summary.json",)),
        (remove_config, ("has no config.json",)),
        (give_config_an_invalid_value, ("unreadable config.json", "code_size=-1")),
        (rename_folder, ("stacked-000000000000", "whose id is now")),
        (claim_a_missing_model, ("says it has a model", "model.keras is missing")),
        (replace_summary_with_a_folder, ("summary.json",)),
        (give_the_summary_a_text_figure, ("damaged summary.json", "test_mse is '0.1'")),
        (drop_a_points_step, ("damaged history.json", "point 1 lacks step")),
    ],
    ids=[
        "truncated-summary",
        "no-config",
        "invalid-config",
        "renamed",
        "no-model",
        "summary-dir",
        "text-figure",
        "point-without-step",
    ],
)
def test_damaged_folder_is_reported_and_skipped(tmp_path, damage, words):
    store = RunStore(tmp_path)
    good = store_failed_run(store, seed=5)
    damaged = store_failed_run(store, seed=6)
    damage(store.root / damaged.run_id)

    assert [record.run_id for record in store.scan()] == [good.run_id]
    [problem] = store.problems
    assert "skipped" in problem
    for word in words:
        assert word in problem
    assert store.get(damaged.run_id) is None


def test_scan_removes_temp_files_of_a_dead_writer(tmp_path, trained, trained_summary):
    store = RunStore(tmp_path)
    folder = store_finished_run(store, trained, trained_summary)
    leftovers = [_temp_name(folder / SUMMARY_FILE), _temp_name(folder / MODEL_FILE)]
    assert re.fullmatch(r"\.summary\.tmp-[0-9a-f]{8}\.json", leftovers[0].name)
    for leftover in leftovers:
        leftover.write_bytes(b"half a fi")

    [record] = store.scan()
    assert record.status == "done" and store.problems == []
    assert file_names(folder) == STORED_FILES


def test_scan_keeps_temp_files_of_a_live_writer(tmp_path):
    store = RunStore(tmp_path)
    with store.begin(untrained_config(seed=7)) as writer:
        in_progress = _temp_name(writer.path / HISTORY_FILE)
        in_progress.write_bytes(b'{"points": [')
        assert [record.status for record in store.scan()] == ["training"]
        assert in_progress.exists()


def make_leftover_folder(root: Path, name: str, age_seconds: float) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / CONFIG_FILE).write_text("{}")
    past = time.time() - age_seconds
    os.utime(folder, (past, past))
    return folder


def test_scan_removes_stale_temporary_folders_only(tmp_path):
    store = RunStore(tmp_path)
    stale = [
        make_leftover_folder(store.root, f"{prefix}stacked-0123456789ab-0000abcd", STALE_AGE)
        for prefix in (".new-", ".trash-", ".import-")
    ]
    fresh = [
        make_leftover_folder(store.root, f"{prefix}stacked-0123456789ab-1111abcd", 5)
        for prefix in (".new-", ".trash-")
    ]
    not_ours = make_leftover_folder(store.root, ".backup", STALE_AGE)
    live_staging = make_leftover_folder(store.root, ".new-stacked-0123456789ab-2222abcd", 0)
    with open(live_staging / LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        past = time.time() - STALE_AGE
        os.utime(live_staging, (past, past))
        assert store.scan() == [] and store.problems == []

    assert not any(folder.exists() for folder in stale)
    assert all(folder.exists() for folder in [*fresh, not_ours, live_staging])


# -- delete and mark_failed ------------------------------------------------------------------------
def test_delete_removes_the_folder(tmp_path):
    store = RunStore(tmp_path)
    kept, deleted = store_failed_run(store, seed=8), store_failed_run(store, seed=9)
    store.delete(deleted.run_id)
    assert file_names(store.root) == {kept.run_id}
    assert [record.run_id for record in store.scan()] == [kept.run_id]


def test_delete_refuses_unknown_ids_and_runs_in_training(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(StoreError, match="there is no stored run 'stacked-000000000000' to delete"):
        store.delete("stacked-000000000000")
    with pytest.raises(StoreError, match="is not a run id"):
        store.delete("../elsewhere")
    config = untrained_config(seed=10)
    with store.begin(config):
        with pytest.raises(StoreError, match=f"run {config.run_id} is training; stop it"):
            store.delete(config.run_id)
        assert store.get(config.run_id).status == "training"


def test_mark_failed_records_why_an_interrupted_run_failed(tmp_path):
    store = RunStore(tmp_path)
    config = store_interrupted_run(store, seed=11)
    store.mark_failed(config.run_id, "the worker was killed")

    record = store.get(config.run_id)
    assert (record.status, record.reason) == ("failed", "the worker was killed")
    assert not record.has_model and not record.is_final
    assert record.summary["steps"] == SAMPLE_POINTS[-1]["step"]
    assert record.summary["total_steps"] == config.steps
    assert record.summary["model"] is False
    with pytest.raises(StoreError, match="has no trained model"):
        store.load_model(config.run_id)


def test_mark_failed_leaves_running_and_finished_runs_alone(tmp_path):
    store = RunStore(tmp_path)
    finished = store_failed_run(store, seed=12)
    finished_summary = (store.root / finished.run_id / SUMMARY_FILE).read_bytes()
    store.mark_failed(finished.run_id, "should not be written")
    assert (store.root / finished.run_id / SUMMARY_FILE).read_bytes() == finished_summary

    running = untrained_config(seed=13)
    with store.begin(running):
        store.mark_failed(running.run_id, "should not be written")
        assert not (store.root / running.run_id / SUMMARY_FILE).exists()
        assert store.get(running.run_id).status == "training"


# -- export and import -----------------------------------------------------------------------------
def test_export_holds_the_manifest_and_the_run_files(exported_archive, trained):
    members = zip_members(exported_archive)
    assert set(members) == {MANIFEST_FILE, *RUN_FILES}
    manifest = json.loads(members[MANIFEST_FILE])
    assert manifest["run_id"] == trained.config.run_id
    assert (manifest["format"], manifest["version"]) == ("autoencoder-lab-run", 1)
    assert manifest["files"] == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in members.items()
        if name != MANIFEST_FILE
    }


def test_import_into_an_empty_store(tmp_path, exported_archive, trained, trained_summary, sample):
    store = RunStore(tmp_path)
    record = archives.import_run(store, exported_archive)

    assert record.run_id == trained.config.run_id and record.config == trained.config
    assert record.status == "done" and record.is_final and record.has_model
    # Measured here again from the weights (the same numbers), finished when it was imported.
    archived = json.loads(zip_members(exported_archive)[SUMMARY_FILE])
    assert record.summary["finished_at"] > archived["finished_at"]
    assert {**record.summary, "finished_at": 0} == {**archived, "finished_at": 0}
    assert {key: record.summary[key] for key in trained_summary} == json.loads(
        json.dumps(trained_summary)
    )
    assert store.scan() == [record] and store.problems == []
    assert file_names(record.path) == set(RUN_FILES)
    assert store.load_history(record.run_id) == history_points(trained)
    assert_same_reconstructions(store.load_model(record.run_id), trained.model, sample)

    before = folder_snapshot(store.root)
    assert archives.import_run(store, exported_archive) == record
    assert folder_snapshot(store.root) == before


def test_import_from_a_file_path(tmp_path, exported_archive):
    archive_path = tmp_path / "exported-run.zip"
    archive_path.write_bytes(exported_archive)
    record = archives.import_run(RunStore(tmp_path / "runs"), archive_path)
    assert record.status == "done"


def test_failed_run_without_model_exports_and_imports(tmp_path):
    source = RunStore(tmp_path / "source")
    config = store_failed_run(source, seed=14)
    assert MODEL_FILE not in zip_members(archives.export_run(source, config.run_id))

    record = archives.import_run(
        RunStore(tmp_path / "target"), archives.export_run(source, config.run_id)
    )
    assert (record.status, record.reason, record.has_model) == ("failed", FAILURE_REASON, False)


def test_import_replaces_an_interrupted_attempt(tmp_path, exported_archive, trained):
    store = RunStore(tmp_path)
    with store.begin(trained.config):
        pass
    assert store.get(trained.config.run_id).status == "interrupted"
    assert archives.import_run(store, exported_archive).status == "done"
    assert file_names(store.root) == {trained.config.run_id}


def test_unfinished_runs_are_not_exported(tmp_path):
    store = RunStore(tmp_path)
    config = store_interrupted_run(store, seed=15)
    with pytest.raises(StoreError, match="is interrupted; only finished runs can be exported"):
        archives.export_run(store, config.run_id)
    with pytest.raises(StoreError, match="no stored run 'stacked-000000000000' to export"):
        archives.export_run(store, "stacked-000000000000")


# -- hostile imports -------------------------------------------------------------------------------
def test_import_refuses_a_pickle_without_unpickling_it(tmp_path, target_store):
    marker = tmp_path / "unpickled-marker"
    payload = pickle.dumps(CreatesMarkerWhenUnpickled(marker))
    assert_refused(target_store, payload, "not a zip archive")
    assert not marker.exists()


def test_import_refuses_a_bare_keras_file(target_store, lambda_model_file):
    assert_refused(target_store, lambda_model_file, "bare Keras model file", "Lambda")


def test_import_refuses_a_run_whose_model_has_a_lambda_layer(
    target_store, exported_archive, lambda_model_file
):
    archive = crafted_archive(exported_archive, {MODEL_FILE: lambda_model_file})
    assert_refused(target_store, archive, "not an Autoencoder Lab model", "Lambda")


@pytest.mark.parametrize(
    ("member", "words"),
    [
        ("../../evil.json", ("outside the runs folder",)),
        ("/etc/passwd", ("outside the runs folder",)),
        ("C:/evil.json", ("outside the runs folder",)),
        ("notes.txt", ("not a file of an Autoencoder Lab run",)),
    ],
    ids=["parent-escape", "absolute", "drive-letter", "unknown-name"],
)
def test_import_refuses_members_outside_the_allow_list(
    target_store, exported_archive, member, words
):
    archive = make_zip({**zip_members(exported_archive), member: b'{"planted": true}'})
    assert_refused(target_store, archive, repr(member), *words)


def test_import_refuses_a_symlink_member(target_store, exported_archive):
    link = zipfile.ZipInfo(CONFIG_FILE)
    link.external_attr = SYMLINK_ATTRIBUTES
    members = zip_members(exported_archive)
    del members[CONFIG_FILE]
    assert_refused(target_store, make_zip({**members, link: b"/etc/passwd"}), "symbolic link")


def test_import_refuses_a_member_changed_after_export(target_store, exported_archive):
    members = zip_members(exported_archive)
    summary = members[SUMMARY_FILE]
    at = summary.index(b'"done"') + 1
    members[SUMMARY_FILE] = summary[:at] + b"D" + summary[at + 1 :]
    assert_refused(target_store, make_zip(members), "summary.json", "SHA-256")


def test_import_refuses_an_invalid_config(target_store, exported_archive):
    values = json.loads(zip_members(exported_archive)[CONFIG_FILE])
    invalid = json.dumps({**values, "variant": "nope"}).encode()
    archive = crafted_archive(exported_archive, {CONFIG_FILE: invalid})
    assert_refused(target_store, archive, "config is not valid", "nope")


@pytest.mark.parametrize("missing", [MANIFEST_FILE, CONFIG_FILE, SUMMARY_FILE])
def test_import_refuses_an_archive_missing_a_file(target_store, exported_archive, missing):
    members = zip_members(exported_archive)
    del members[missing]
    assert_refused(target_store, make_zip(members), f"has no {missing}")


def test_import_refuses_a_zip_bomb_without_inflating_it(
    monkeypatch, target_store, exported_archive
):
    bomb = make_zip({**zip_members(exported_archive), SUMMARY_FILE: bytes(2 * 1024 * 1024)})
    assert len(bomb) < 200_000
    inflated: collections.Counter[str] = collections.Counter()
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        inflated[self.name] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    assert_refused(target_store, bomb, "summary.json is larger than the 1024 KB")
    assert 0 < inflated[SUMMARY_FILE] <= MAX_MEMBER_BYTES[SUMMARY_FILE] + 1


def test_import_refuses_weights_with_a_soft_link(tmp_path, target_store, exported_archive):
    def add_soft_link(weights_path: Path) -> None:
        with h5py.File(weights_path, "a") as weights:
            weights["alias"] = h5py.SoftLink("/etc/passwd")

    archive = archive_with_changed_weights(exported_archive, add_soft_link, tmp_path)
    assert_refused(target_store, archive, "not a plain weights file", "alias is a SoftLink")


@pytest.mark.parametrize(
    ("add_hostile_part", "words"),
    [
        (
            lambda weights: weights.__setitem__("secret", h5py.ExternalLink("other.h5", "/data")),
            ("secret is a ExternalLink",),
        ),
        (
            lambda weights: weights.__setitem__("alias", h5py.SoftLink("/layers/dense/vars/0")),
            ("alias is a SoftLink",),
        ),
        (
            lambda weights: weights.create_dataset(
                "outside", shape=(4,), dtype="float32", external=[("raw.bin", 0, 16)]
            ),
            ("outside stores its data outside the file",),
        ),
        (
            lambda weights: weights.create_dataset("label", data=np.bytes_("hello")),
            ("label holds", "not numbers"),
        ),
    ],
    ids=["external-link", "soft-link", "external-storage", "text"],
)
def test_check_plain_hdf5_refuses_files_that_are_not_plain(tmp_path, add_hostile_part, words):
    data = hdf5_file(tmp_path / "weights.h5", add_hostile_part)
    with pytest.raises(ModelFileRefused) as refused:
        check_plain_hdf5(data, "the weights")
    assert "the weights is not a plain weights file" in str(refused.value)
    for word in words:
        assert word in str(refused.value)


def test_check_plain_hdf5_accepts_plain_numbers(tmp_path):
    check_plain_hdf5(hdf5_file(tmp_path / "weights.h5", lambda weights: None), "the weights")


# -- where the runs live ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AE_RUNS_DIR": "{tmp}/mine", "XDG_DATA_HOME": "{tmp}/xdg"}, "mine"),
        ({"AE_RUNS_DIR": "~/runs"}, "home/runs"),
        ({"AE_RUNS_DIR": "  ", "XDG_DATA_HOME": "{tmp}/xdg"}, "xdg/autoencoder-lab/runs"),
        ({}, "home/.local/share/autoencoder-lab/runs"),
    ],
    ids=["ae-runs-dir-wins", "ae-runs-dir-tilde", "blank-falls-to-xdg", "home-fallback"],
)
def test_default_runs_dir(monkeypatch, tmp_path, environment, expected):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("AE_RUNS_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    assert default_runs_dir() == tmp_path / expected
    assert RunStore().root.is_dir()


def test_store_in_an_impossible_place_says_so(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot be created .* set AE_RUNS_DIR"):
        RunStore(blocker / "runs")


# -- damaged or malformed archives: refused in one sentence, never a raw exception ------------
def test_import_replaces_a_damaged_folder_of_the_same_run(tmp_path, exported_archive):
    store = RunStore(tmp_path)
    record = archives.import_run(store, exported_archive)
    truncate_summary(record.path)
    assert store.get(record.run_id) is None
    assert archives.import_run(store, exported_archive).status == "done"


def test_import_refuses_an_archive_with_a_corrupted_member(target_store, exported_archive):
    stored = bytearray(make_zip(zip_members(exported_archive), zipfile.ZIP_STORED))
    summary_at = bytes(stored).index(b'"status"')
    stored[summary_at + 1] ^= 0x01
    assert_refused(target_store, bytes(stored))


def test_import_refuses_weights_that_are_not_hdf5(tmp_path, target_store, exported_archive):
    def overwrite_with_text(weights_path: Path) -> None:
        weights_path.write_bytes(b"these are not weights " * 8)

    archive = archive_with_changed_weights(exported_archive, overwrite_with_text, tmp_path)
    assert_refused(target_store, archive)


def history_member(points: list[dict]) -> dict[str, bytes]:
    return {HISTORY_FILE: json.dumps({"points": points}).encode()}


def test_imported_histories_may_lack_the_held_out_loss(tmp_path, exported_archive, trained):
    points = json.loads(zip_members(exported_archive)[HISTORY_FILE])["points"]
    assert len(points) == TRAINED_STEPS
    assert sum("held_out_loss" in point for point in points) == HELD_OUT_POINTS_PER_PHASE
    assert history_problem(points) is None
    # As stored before there was a held-out loss: still imported, loaded and drawn.
    older = [{k: v for k, v in p.items() if not k.startswith("held_out")} for p in points]
    store = RunStore(tmp_path)
    archives.import_run(store, crafted_archive(exported_archive, history_member(older)))
    assert store.load_history(trained.config.run_id) == older
    names = [trace.name for trace in figures.loss_curves(older).data]
    assert names == ["reconstruction"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"held_out_loss": "0.1"}, ("point {index}'s held_out_loss is '0.1'", "finite number")),
        ({"held_out_loss": -0.5}, ("held_out_loss is -0.5", "at least 0")),
        ({"held_out_loss": float("nan")}, ("held_out_loss is nan",)),
        ({"held_out_loss": True}, ("held_out_loss is True",)),
        ({"held_out_loss": None}, ("held_out_loss is None",)),
        ({"held_out_examples": 0}, ("held_out_examples is 0", "at least 1")),
        ({"held_out_examples": 2.5}, ("held_out_examples is 2.5", "whole number")),
        ({"held_out_examples": None, "drop": "held_out_examples"}, ("without the other",)),
        ({"loss_terms": {"reconstruction": "low"}}, ("loss_terms",)),
        ({"step": -3}, ("point {index}'s step is -3",)),
        ({"drop": "phase"}, ("point {index} lacks phase",)),
        ({"drop": "step"}, ("point {index} lacks step",)),
        ({"code": "import os"}, ("point {index} has code",)),
    ],
    ids=[
        "text",
        "negative",
        "nan",
        "bool",
        "null",
        "no-examples",
        "fractional-examples",
        "half-of-it",
        "term-text",
        "negative-step",
        "missing-field",
        "missing-step",
        "unknown-field",
    ],
)
def test_import_refuses_a_history_that_does_not_fit_ours(
    target_store, exported_archive, change, words
):
    points = json.loads(zip_members(exported_archive)[HISTORY_FILE])["points"]
    index = next(i for i, point in enumerate(points) if "held_out_loss" in point)
    change = dict(change)
    dropped = change.pop("drop", None)
    points[index] = {k: v for k, v in {**points[index], **change}.items() if k != dropped}
    archive = crafted_archive(exported_archive, history_member(points))
    words = [word.format(index=index) for word in words]
    assert_refused(target_store, archive, "history does not fit ours", *words)


# -- a run's figures and files are ours, not the archive's ------------------------------------
KERNEL = "encoder_layers/dense/vars/0"  # the first encoder layer's kernel: (64, 32) float32
# Python objects of building the model and reading the archive (an import of the good archive
# peaks at about 0.8 MB of them, the recomputed figures included).
IMPORT_OVERHEAD_BYTES = 2 * 2**20
HUGE_SHAPE = (2**26,)  # 256 MiB of float32, declared and never written


def replace_kernel(**dataset_options) -> Callable[[Path], None]:
    def change(weights_path: Path) -> None:
        with h5py.File(weights_path, "a") as weights:
            values = weights[KERNEL][()]
            del weights[KERNEL]
            if dataset_options:
                options = {"shape": values.shape, "dtype": values.dtype, **dataset_options}
                if options.pop("keep_values", False):
                    options["data"] = values.astype(options["dtype"])
                weights.create_dataset(KERNEL, **options)

    return change


def add_dataset(weights_path: Path) -> None:
    with h5py.File(weights_path, "a") as weights:
        weights.create_dataset("layers/extra/vars/0", shape=HUGE_SHAPE, dtype="float32")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (replace_kernel(shape=HUGE_SHAPE), (KERNEL, "268,435,456 bytes", "(64, 32)")),
        (add_dataset, ("layers/extra/vars/0 is not one of its weights",)),
        (replace_kernel(shape=(64, 32)), (KERNEL, "stores 0 bytes of the 8,192")),
        (replace_kernel(dtype="float64", keep_values=True), (KERNEL, "float64")),
        (replace_kernel(keep_values=True, compression="gzip"), (KERNEL, "filtered")),
        (replace_kernel(), (f"lacks {KERNEL}",)),
    ],
    ids=["huge-kernel", "huge-extra", "never-written", "float64", "compressed", "missing"],
)
def test_import_checks_every_weight_against_the_model_before_reading_any(
    tmp_path, target_store, exported_archive, trained, change, words
):
    archive = archive_with_changed_weights(exported_archive, change, tmp_path)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = assert_refused(target_store, archive, "does not fit this run's model", *words)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message.count(". ") == 0, message
    model_bytes = sum(weight.nbytes for weight in trained.model.get_weights())
    assert peak < 2 * len(archive) + model_bytes + IMPORT_OVERHEAD_BYTES, peak
    assert seconds < 10


def test_import_reads_no_more_of_a_model_file_than_the_model_can_hold(
    target_store, exported_archive
):
    # 32 MB of zeros: 32 KB deflated, well under the cap of any model file, but a thousand
    # times this run's model.
    archive = crafted_archive(exported_archive, {MODEL_FILE: bytes(32 * 2**20)})
    assert len(archive) < 100_000
    tracemalloc.start()
    try:
        assert_refused(target_store, archive, "model.keras is larger than")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(archive) + IMPORT_OVERHEAD_BYTES, peak


def summary_member(archive: bytes, **changes) -> dict[str, bytes]:
    summary = {**json.loads(zip_members(archive)[SUMMARY_FILE]), **changes}
    return {SUMMARY_FILE: json.dumps(summary).encode()}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"test_mse": "0.1"}, ("test_mse is '0.1', not a number",)),
        ({"dead_units": [-1]}, ("dead_units is [-1]",)),
        ({"seconds": -5}, ("seconds is -5",)),
        ({"steps": 10**9}, ("1,000,000,000 steps of a run of 50",)),
        ({"status": "done", "model": False}, ("done but it has no model",)),
    ],
    ids=["text-figure", "negative-count", "negative-time", "more-steps", "done-no-model"],
)
def test_import_refuses_a_summary_that_does_not_fit_ours(
    target_store, exported_archive, changes, words
):
    replacements: dict[str, bytes | None] = summary_member(exported_archive, **changes)
    if changes.get("model") is False:
        replacements[MODEL_FILE] = None  # a "done" run without its model
    archive = crafted_archive(exported_archive, replacements)
    assert_refused(target_store, archive, *words)


def test_a_done_run_without_its_model_is_refused_and_its_config_still_trains(
    tmp_path, exported_archive, trained
):
    archive = crafted_archive(
        exported_archive, {**summary_member(exported_archive, model=False), MODEL_FILE: None}
    )
    store = RunStore(tmp_path)
    with pytest.raises(ImportRefused, match="done but it has no model"):
        archives.import_run(store, archive)
    assert store.get(trained.config.run_id) is None  # so submitting the config trains it


def test_an_imported_runs_figures_are_measured_here(
    tmp_path, exported_archive, trained, trained_summary
):
    made_up = {"test_mse": 1e-9, "train_loss": 1e-9, "dead_units": [0], "code_near_zero": 0.0}
    archive = crafted_archive(exported_archive, summary_member(exported_archive, **made_up))
    store = RunStore(tmp_path)
    record = archives.import_run(store, archive)
    for name in made_up:
        assert record.summary[name] == trained_summary[name] != made_up[name]
    assert record.summary["test_mse"] == pytest.approx(
        analysis.reconstruction_mse(trained.model, trained.dataset.x_test)
    )
    # The account of its training is the archive's: that cannot be measured here.
    assert record.summary["seconds"] == trained_summary["seconds"]


def test_import_refuses_a_run_trained_on_other_data(target_store, exported_archive):
    members = zip_members(exported_archive)
    data = json.loads(members[DATA_FILE])
    data["identity"]["sha256"] = "0" * 64
    config = RunConfig.from_dict(json.loads(members[CONFIG_FILE]))
    run_id = run_id_for(config, data["identity"])
    replacements = {
        DATA_FILE: json.dumps(data).encode(),
        **summary_member(exported_archive, run_id=run_id),
    }
    archive = crafted_archive(exported_archive, replacements, run_id=run_id)
    assert_refused(target_store, archive, "trained on other digits data", "cannot be measured")


def test_import_refuses_deeply_nested_json(target_store, exported_archive):
    nested = b"[" * 5000 + b"]" * 5000
    assert_refused(target_store, crafted_archive(exported_archive, {CONFIG_FILE: nested}))


def test_scan_reads_a_finished_run_once_and_again_when_its_files_change(tmp_path):
    store = RunStore(tmp_path)
    config = store_failed_run(store, seed=3)
    first = store.scan()[0]
    assert store.scan()[0] is first  # unchanged files: the record read before
    # Retrained in place (another server sharing the folder): a new summary is read again.
    store_failed_run(store, seed=3)
    summary_path = tmp_path / config.run_id / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["reason"] = "a different failure"
    summary_path.write_text(json.dumps(summary))
    again = store.scan()[0]
    assert again is not first and again.reason == "a different failure"
    # A run whose files are gone is not served from memory.
    store.delete(config.run_id)
    assert store.scan() == []
