"""Runs as archives: export one from the run store, import one, checked, into it.

Export is a zip of a run folder's files (``RUN_FILES`` and its snapshots' weights) plus a
manifest of their SHA-256 sums. Import never runs code from the archive: member names are checked
against an allow-list, sizes are capped (the model's by the size of the model its config gives),
hashes verified, the config validated by our own validator, the history and summary checked
against what our writers write, the model rebuilt from our own code and only its weights loaded,
from an HDF5 file checked to hold plain datasets alone, each the shape, dtype and size of one of
the rebuilt model's weights, before any is read (each snapshot's too). The numbers of an imported
run are measured here, from its weights on this server's data; only its account of the training
(status, reason, steps, time) is the archive's. A stored run's model is read through the same
checks (``RunStore.load_model``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import secrets
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ae_core.config import RunConfig, run_id_for
from ae_core.errors import BAD_JSON, ConfigError, StoreError
from ae_core.model_files import (
    KERAS_ARCHIVE_FILES,
    MAX_MODEL_FILE_BYTES,
    ModelFileRefused,
    build_model,
    keras_file_bytes,
    load_keras_archive,
    load_weights_file,
    model_file_limit,
    open_zip,
    read_member,
    weights_file_bytes,
    weights_file_limit,
    weights_layout,
)
from ae_core.run_names import NAME_FILE, name_record, parse_run_name
from ae_core.run_schema import history_problem, summary_problem
from ae_core.run_states import FINISHED_STATES
from ae_core.store import (
    CONFIG_FILE,
    DATA_FILE,
    HISTORY_FILE,
    LOCK_FILE,
    MODEL_FILE,
    RUN_FILES,
    SUMMARY_FILE,
    RunRecord,
    RunStore,
    _fsync_dir,
    _lock_is_held,
    _parse_data_record,
    atomic_write_bytes,
    atomic_write_json,
    failure_summary,
    snapshot_file,
    snapshot_files,
    snapshot_step,
)

if TYPE_CHECKING:
    from ae_core.model import Autoencoder

MANIFEST_FILE = "manifest.json"
ARCHIVE_FORMAT = "autoencoder-lab-run"
ARCHIVE_VERSION = 1

# Caps for imports: an exported run is a few MB, so anything far bigger is refused unread.
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = {
    MANIFEST_FILE: 64 * 1024,
    CONFIG_FILE: 64 * 1024,
    DATA_FILE: 4 * 1024,
    SUMMARY_FILE: 1024 * 1024,
    HISTORY_FILE: 16 * 1024 * 1024,
    MODEL_FILE: MAX_MODEL_FILE_BYTES,
    NAME_FILE: 4 * 1024,
}
# The files an archive may hold beside the manifest: a run's, and its name when it has one.
ARCHIVE_FILES = (*RUN_FILES, NAME_FILE)


class ImportRefused(StoreError):
    """An archive that is not one of our runs; nothing was written. ``problem`` is what is
    wrong with it, in words."""

    problem: str = ""


# -- export and import ---------------------------------------------------------------------------
def export_run(store: RunStore, run_id: str) -> bytes:
    """The run as one zip archive: its files plus a manifest of their SHA-256 sums."""
    record = store.get(run_id)
    if record is None:
        raise StoreError(f"there is no stored run {run_id!r} to export")
    if record.status not in FINISHED_STATES:
        raise StoreError(f"run {run_id} is {record.status}; only finished runs can be exported")
    files = {
        name: (record.path / name).read_bytes()
        for name in ARCHIVE_FILES
        if (record.path / name).is_file()
    }
    if record.has_model:
        for name in snapshot_files(record.path).values():
            files[name] = (record.path / name).read_bytes()
    manifest = {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "run_id": run_id,
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in files.items()
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST_FILE, json.dumps(manifest, indent=1, sort_keys=True))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def import_run(store: RunStore, archive: bytes | str | os.PathLike) -> RunRecord:
    """Add an exported run to the store; refuses (ImportRefused) anything that is not one.

    Only the archive's config, history and account of the training (status, reason, steps,
    time) are kept; the model is rebuilt by our code from the config, its weights checked
    against that model before any is read, and every number measured here."""
    try:
        opened = _read_run_archive(_read_archive_bytes(archive))
    except ModelFileRefused as refused:  # not a zip, or a member that cannot be read
        raise _refuse(refused.problem) from None
    run = _validate_run_files(opened)
    run_id = opened.run_id
    existing = store.get(run_id)
    if existing is not None and existing.status in FINISHED_STATES:
        return existing
    if existing is not None and existing.status == "training":
        raise StoreError(f"run {run_id} is training here; stop it before importing")
    model, model_bytes = None, None
    if opened.model_info is not None:
        model = build_model(run.config)
        try:
            model_file = opened.model_file(model_file_limit(weights_layout(model)))
            load_keras_archive(model, model_file, "the archive's model")
        except ModelFileRefused as refused:
            raise _refuse(refused.problem) from None
        # What goes into the store is our own serialisation of the model, not the upload.
        model_bytes = keras_file_bytes(model)
    snapshots = _checked_snapshots(opened, run)
    summary = _measure_imported(run, run_id, model)
    files = opened.files
    staging = store.root / f".import-{run_id}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        atomic_write_bytes(staging / CONFIG_FILE, files[CONFIG_FILE])
        if DATA_FILE in files:
            atomic_write_bytes(staging / DATA_FILE, files[DATA_FILE])
        atomic_write_bytes(staging / HISTORY_FILE, files[HISTORY_FILE])
        if model_bytes is not None:
            atomic_write_bytes(staging / MODEL_FILE, model_bytes)
        if run.name is not None:
            atomic_write_json(staging / NAME_FILE, name_record(run.name))
        for step, weights in snapshots.items():
            atomic_write_bytes(staging / snapshot_file(step), weights)
        atomic_write_json(
            staging / SUMMARY_FILE,
            {**summary, "model": model_bytes is not None, "finished_at": time.time()},
        )
        target = store.root / run_id
        if target.exists():  # an interrupted attempt, or a damaged folder get() skipped
            if _lock_is_held(target / LOCK_FILE):
                raise StoreError(f"run {run_id} is training here; try again later")
            store._discard(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(store.root)
    record = store.get(run_id)
    assert record is not None
    return record


# -- archive checks --------------------------------------------------------------------------------
def _refuse(message: str) -> ImportRefused:
    refused = ImportRefused(f"refusing to import: {message}")
    refused.problem = message
    return refused


def _read_archive_bytes(archive: bytes | str | os.PathLike) -> bytes:
    if isinstance(archive, (bytes, bytearray, memoryview)):
        data = bytes(archive)
    else:
        with open(archive, "rb") as handle:
            data = handle.read(MAX_ARCHIVE_BYTES + 1)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _refuse(f"the file is larger than {MAX_ARCHIVE_BYTES // 2**20} MB; a run is a few MB")
    return data


def _member_problem(info: zipfile.ZipInfo, allowed: frozenset[str]) -> str | None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
        return f"the member {name!r} would be written outside the runs folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"the member {name!r} is a symbolic link"
    if name not in allowed and snapshot_step(name) is None:
        return (
            f"{name!r} is not a file of an Autoencoder Lab run (a run archive holds only "
            f"{', '.join(sorted(allowed))} and snapshot-<step>.weights.h5 files)"
        )
    return None


@dataclass
class _RunArchive:
    """A run archive whose other files were read and checked against its manifest; its model
    is read on demand, once the run's config says how large it can be."""

    data: bytes
    files: dict[str, bytes]  # every file but the model
    run_id: str  # the one the manifest claims
    manifest_entries: dict[str, Any]
    model_info: zipfile.ZipInfo | None

    snapshot_infos: dict[int, zipfile.ZipInfo]  # by step

    def member(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        """A member read on demand with a cap of ``limit`` bytes, checked against the manifest."""
        with open_zip(self.data, "the file") as archive:
            data = read_member(archive, info, limit)
        _check_digest(info.filename, data, self.manifest_entries[info.filename])
        return data

    def model_file(self, limit: int) -> bytes | None:
        """The model file (None when the run has none), read with a cap of ``limit`` bytes."""
        if self.model_info is None:
            return None
        return self.member(self.model_info, limit)


def _check_digest(name: str, data: bytes, entry: Any) -> None:
    if not isinstance(entry, dict) or entry.get("sha256") != hashlib.sha256(data).hexdigest():
        raise _refuse(f"{name} does not match its SHA-256 in the manifest (altered or damaged)")


def _read_run_archive(data: bytes) -> _RunArchive:
    """The run's files but the model, checked against the manifest, and where the model is."""
    with open_zip(data, "the file", " (a run is exported as a .zip archive)") as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if set(names) == KERAS_ARCHIVE_FILES:
            raise _refuse(
                "this is a bare Keras model file, not an Autoencoder Lab run archive; models are "
                "never loaded from uploaded Keras files (they can carry code, e.g. Lambda layers)"
            )
        allowed = frozenset({MANIFEST_FILE, *ARCHIVE_FILES})
        for info in infos:
            problem = _member_problem(info, allowed)
            if problem:
                raise _refuse(problem)
        if len(set(names)) != len(names):
            raise _refuse("the archive names the same file twice")
        for required in (MANIFEST_FILE, CONFIG_FILE, HISTORY_FILE, SUMMARY_FILE):
            if required not in names:
                raise _refuse(f"the archive has no {required}, so it is not an exported run")
        total = sum(info.file_size for info in infos)
        if total > MAX_ARCHIVE_BYTES:
            raise _refuse("its files add up to more than a run can hold")
        files = {
            info.filename: read_member(archive, info, MAX_MEMBER_BYTES[info.filename])
            for info in infos
            if info.filename != MODEL_FILE and snapshot_step(info.filename) is None
        }
    try:
        manifest = json.loads(files[MANIFEST_FILE])
        listed = manifest["files"]
        if manifest.get("format") != ARCHIVE_FORMAT or not isinstance(listed, dict):
            raise ValueError
    except BAD_JSON:
        raise _refuse("its manifest.json is not an Autoencoder Lab run manifest") from None
    if manifest.get("version") != ARCHIVE_VERSION:
        raise _refuse(
            f"it was made by archive version {manifest.get('version')!r} and this is version "
            f"{ARCHIVE_VERSION}"
        )
    if set(listed) != set(names) - {MANIFEST_FILE}:
        raise _refuse("the manifest does not list exactly the files in the archive")
    del files[MANIFEST_FILE]
    for name, member in files.items():
        _check_digest(name, member, listed[name])
    model_info = next((info for info in infos if info.filename == MODEL_FILE), None)
    snapshot_infos = {
        snapshot_step(info.filename): info for info in infos if snapshot_step(info.filename)
    }
    return _RunArchive(
        data, files, str(manifest.get("run_id", "")), listed, model_info, snapshot_infos
    )


@dataclass(frozen=True)
class _ImportedRun:
    """What an archive says of its run, checked: the config, its data record (None for runs
    stored before there was one), the history's points and the summary it came with."""

    config: RunConfig
    data: dict | None
    points: list[dict]
    summary: dict
    name: str | None = None  # the name a person gave it, checked as a typed one


def _validate_run_files(archive: _RunArchive) -> _ImportedRun:
    files, has_model = archive.files, archive.model_info is not None
    try:
        config_values = json.loads(files[CONFIG_FILE])
        config = RunConfig.from_dict(config_values)
    except ConfigError as error:
        raise _refuse(f"its config is not valid here: {error}") from None
    except BAD_JSON as error:
        raise _refuse(f"its config.json cannot be read ({error})") from None
    try:
        data = _parse_data_record(files[DATA_FILE]) if DATA_FILE in files else None
    except BAD_JSON as error:
        raise _refuse(f"its {DATA_FILE} cannot be read ({error})") from None
    run_id = run_id_for(config, data["identity"] if data else None)
    if archive.run_id != run_id:
        raise _refuse(
            f"the archive says run {archive.run_id} but its config and data are run {run_id} "
            "here (made by another version of the engine, or edited)"
        )
    try:
        summary = json.loads(files[SUMMARY_FILE])
        history = json.loads(files[HISTORY_FILE])
        if not isinstance(summary, dict) or not isinstance(history.get("points"), list):
            raise ValueError("unexpected layout")
    except (*BAD_JSON, AttributeError) as error:
        raise _refuse(f"its summary or history cannot be read ({error})") from None
    problem = history_problem(history["points"])
    if problem is not None:
        raise _refuse(f"its history does not fit ours: {problem}")
    problem = summary_problem(summary)
    if problem is not None:
        raise _refuse(f"its {SUMMARY_FILE} does not fit ours: {problem}")
    if summary.get("run_id") != run_id:
        raise _refuse(f"its {SUMMARY_FILE} does not describe a finished run of this config")
    if summary.get("model", False) != has_model:
        raise _refuse("its summary and its files disagree about whether there is a model")
    if summary.get("steps", 0) > config.steps:
        raise _refuse(
            f"its {SUMMARY_FILE} says {summary['steps']:,} steps of a run of {config.steps:,}"
        )
    try:
        name = parse_run_name(files[NAME_FILE]) if NAME_FILE in files else None
    except BAD_JSON as error:
        raise _refuse(f"its {NAME_FILE} does not hold a run's name ({error})") from None
    return _ImportedRun(config, data, history["points"], summary, name)


def _checked_snapshots(archive: _RunArchive, run: _ImportedRun) -> dict[int, bytes]:
    """The archive's snapshots by step, each checked against the model rebuilt from the config
    before any of its data is read, then written by our code (not the upload's bytes)."""
    from ae_core.trainer import SNAPSHOT_FRACTIONS

    steps = sorted(archive.snapshot_infos)
    if not steps:
        return {}
    if archive.model_info is None:
        raise _refuse("it holds snapshots of a run that has no model")
    if len(steps) > len(SNAPSHOT_FRACTIONS):
        raise _refuse(
            f"it holds {len(steps)} snapshots; a run keeps at most {len(SNAPSHOT_FRACTIONS)}"
        )
    final_step = run.summary.get("steps", 0)
    if steps[-1] >= final_step:
        raise _refuse(
            f"its snapshot at step {steps[-1]:,} is not before the run's last step {final_step:,}"
        )
    model = build_model(run.config)
    limit = weights_file_limit(weights_layout(model))
    snapshots = {}
    for step in steps:
        name = snapshot_file(step)
        try:
            load_weights_file(model, archive.member(archive.snapshot_infos[step], limit), name)
        except ModelFileRefused as refused:
            raise _refuse(refused.problem) from None
        snapshots[step] = weights_file_bytes(model)
    return snapshots


def _measure_imported(run: _ImportedRun, run_id: str, model: Autoencoder | None) -> dict:
    """The summary stored for an imported run: the archive's account of its training (status,
    reason, steps, time) with every number measured here, from its weights on this server's
    data, as ``analysis.run_summary`` measures a run that has just trained."""
    archived, config = run.summary, run.config
    if model is None:
        reason = archived.get("reason") or "it failed before it had a model"
        return failure_summary(config, run_id, reason, archived.get("steps", 0))
    from ae_core.analysis import run_summary
    from ae_core.data import DataError, load_dataset
    from ae_core.trainer import Progress, TrainResult

    try:
        dataset = load_dataset(config.dataset)
    except DataError as error:
        raise _refuse(f"its figures cannot be measured here: {error}") from None
    if run.data is not None and run.data["identity"] != dataset.identity:
        raise _refuse(
            f"it was trained on other {config.dataset} data ({run.data['source'] or 'elsewhere'})"
            f" than this server has ({dataset.source}), so its figures cannot be measured here"
        )
    samples_per_s = archived.get("samples_per_s")
    result = TrainResult(
        config=config,
        model=model,
        dataset=dataset,
        status=archived["status"],
        reason=archived.get("reason"),
        steps_done=archived.get("steps", 0),
        seconds=archived.get("seconds", 0.0),
        samples_per_s=math.nan if samples_per_s is None else samples_per_s,
        history=[Progress(**point) for point in run.points],
    )
    # A run stored before its data was part of its id keeps the id it was trained under.
    return {**run_summary(result), "run_id": run_id}
