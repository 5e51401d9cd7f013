"""The run store: one folder per run, written so a crash never leaves a run that looks complete.

    runs/<run_id>/config.json     the validated RunConfig (written first, with the folder)
    runs/<run_id>/data.json       the data it trains on (its identity is part of the run id)
    runs/<run_id>/history.json    the metrics history (rewritten during training)
    runs/<run_id>/model.keras     the trained model (Keras format; loadable by Keras users too)
    runs/<run_id>/summary.json    its measurements and status; written last, so it marks "complete"
    runs/<run_id>/snapshot-<step>.weights.h5   its weights at a step along the way (a few)
    runs/<run_id>/training.lock   held (flock) by the process that trains the run
    runs/<run_id>/name.json       the short name a person gave the run, if any (not part of its id)

Every file is written to a temporary name in the same folder, flushed, fsynced and renamed over
the final name, then the folder is fsynced. A folder without ``summary.json`` is a run in progress
while its lock is held, and an interrupted run once it is not (the kernel drops the lock of a
process that dies, even by SIGKILL).

Exporting a run as one archive and importing one, checked, is ``ae_core.archives``'s work; a
stored model is read with the same checks of its weights as an imported one.

A finished run whose summary or history does not fit our schema (``ae_core.run_schema``) is
skipped by a scan, with one sentence in ``RunStore.problems``, like any other damaged folder; a
run's name is checked by the rules of ``ae_core.run_names``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ae_core.config import RunConfig, run_id_for
from ae_core.errors import BAD_JSON, StoreError
from ae_core.model_files import (
    ModelFileRefused,
    build_model,
    load_weights_file,
    model_from_keras_archive,
    weights_file_bytes,
)
from ae_core.run_names import NAME_FILE, checked_run_name, name_record, parse_run_name
from ae_core.run_schema import history_problem, summary_problem
from ae_core.run_states import StoredRunState

if TYPE_CHECKING:
    from ae_core.model import Autoencoder

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
# The identity of the data a run trained on (``Dataset.identity``) and a line saying where it came
# from; absent in runs stored before the data was part of the run id (their ids are format 2).
DATA_FILE = "data.json"
HISTORY_FILE = "history.json"
MODEL_FILE = "model.keras"
SUMMARY_FILE = "summary.json"
LOCK_FILE = "training.lock"
# The model so far of a run still training, so the app can show it; removed when it finishes.
CHECKPOINT_FILE = "checkpoint.keras"
RUN_FILES = (CONFIG_FILE, DATA_FILE, HISTORY_FILE, MODEL_FILE, SUMMARY_FILE)
# The weights at a step of the training (``trainer.SNAPSHOT_FRACTIONS``), to show how it learned.
SNAPSHOT_NAME = re.compile(r"snapshot-([1-9][0-9]{0,9})\.weights\.h5")
# Temporary folders older than this belong to no live writer and are cleaned up by a scan.
STALE_TEMP_SECONDS = 600


class RunBusy(StoreError):
    """Another process (another server on the same runs folder) is training this run now."""


class RunNotSaved(StoreError):
    """A run's files could not be written (a full disk, a read-only folder); the message names
    the folder and the system's error. What could be recorded of why is in the run's folder."""


def _not_saved(run_id: str, folder: Path, error: OSError) -> RunNotSaved:
    # The system's words without the file: the temporary name Keras or HDF5 was writing tells
    # a person less than the run's folder does.
    cause = f"[Errno {error.errno}] {error.strerror}" if error.errno else str(error)
    return RunNotSaved(f"run {run_id} could not be saved in {folder} ({cause})")


class RunFinished(StoreError):
    """The run is finished in the store already: it is served, never trained again over it."""

    def __init__(self, message: str, record: RunRecord):
        super().__init__(message)
        self.record = record


def _read_name_file(folder: Path) -> str | None:
    # A damaged name costs the run its name, not its place in the list.
    try:
        return parse_run_name((folder / NAME_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except (*BAD_JSON, OSError) as error:
        log.warning(
            "run folder %s has an unreadable %s (%s); shown without it", folder, NAME_FILE, error
        )
        return None


def default_runs_dir() -> Path:
    """``$AE_RUNS_DIR``, else the per-user data folder (``$XDG_DATA_HOME`` or ~/.local/share)."""
    configured = os.environ.get("AE_RUNS_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME", "").strip() or Path.home() / ".local" / "share"
    return Path(data_home) / "autoencoder-lab" / "runs"


# -- crash-safe writes ---------------------------------------------------------------------------
def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(path: Path) -> Path:
    # Keeps the suffix last: Keras insists that a model file's name end in ".keras".
    return path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}")


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a temporary file beside ``path``, make it durable, then rename it over
    ``path``: a reader sees the old file or the new one, never half of one."""
    temporary = _temp_name(path)
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, lambda temporary: temporary.write_bytes(data))


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=1, sort_keys=True).encode())


def _atomic_save_model(model: Autoencoder, path: Path) -> None:
    _atomic_write(path, model.save)


def _read_json(path: Path) -> Any:
    with open(path, "rb") as handle:
        return json.loads(handle.read())


def snapshot_file(step: int) -> str:
    """The name of a run's snapshot at ``step``."""
    return f"snapshot-{step}.weights.h5"


def snapshot_step(name: str) -> int | None:
    """The step of the snapshot file called ``name``; None when it is not one."""
    matched = SNAPSHOT_NAME.fullmatch(name)
    return int(matched.group(1)) if matched else None


def snapshot_files(folder: Path) -> dict[int, str]:
    """The snapshot files in a run folder, by step, in order of step."""
    try:
        names = [entry.name for entry in folder.iterdir()]
    except FileNotFoundError:
        return {}
    steps = {snapshot_step(name): name for name in names}
    return {step: steps[step] for step in sorted(step for step in steps if step is not None)}


# -- what data a run trained on --------------------------------------------------------------------
def data_record(dataset) -> dict:
    """What ``data.json`` holds for a run trained on ``dataset``: its identity (part of the run
    id) and the one line saying where it came from (for people; not part of the id)."""
    return {"identity": dataset.identity, "source": dataset.source}


def _parse_data_record(text: bytes | str) -> dict:
    record = json.loads(text)
    identity = record["identity"] if isinstance(record, dict) else None
    loaded = (
        isinstance(identity, dict)
        and set(identity) == {"dataset", "train", "test", "sha256"}
        and isinstance(identity["sha256"], str)
        and all(isinstance(identity[k], int) for k in ("train", "test"))
    )
    unavailable = isinstance(identity, dict) and identity.get("unavailable") is True
    if not (
        (loaded or (unavailable and set(identity) == {"dataset", "unavailable"}))
        and isinstance(identity["dataset"], str)
        and isinstance(record.get("source", ""), str)
    ):
        raise ValueError("it does not describe a dataset")
    return {"identity": identity, "source": record.get("source", "")}


def _read_data_file(path: Path, where: str) -> dict | None:
    try:
        return _parse_data_record(path.read_bytes())
    except FileNotFoundError:
        return None
    except (*BAD_JSON, OSError) as error:
        raise StoreError(f"{where} has an unreadable {DATA_FILE} ({error}); skipped") from None


# -- what a stored run is ------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRecord:
    """One run as the store sees it; the history is read on demand (``RunStore.load_history``)."""

    run_id: str
    config: RunConfig
    status: StoredRunState
    reason: str | None
    summary: dict | None
    has_model: bool
    path: Path = field(repr=False)
    modified: float = 0.0  # seconds since the epoch, for ordering lists of runs
    data: dict | None = None  # data.json (identity, source); None for runs stored before it
    name: str | None = None  # the name a person gave it (name.json), if any

    @property
    def is_final(self) -> bool:
        return is_final_result(self.status, self.has_model)


def is_final_result(status: str, has_model: bool) -> bool:
    """True when training the same config again would give the same outcome: a finished run,
    or one that failed on a non-finite loss (deterministic for its config) and kept its model.
    Stopped, interrupted and crashed runs are trained again when submitted again."""
    return status == "done" or (status == "failed" and has_model)


def _lock_is_held(lock_path: Path) -> bool:
    """True when a live process holds the training lock of this folder."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class RunWriter:
    """The writing side of one run folder, held by the process that trains the run.

    Creating it makes the folder (with ``config.json`` and ``data.json`` already inside) and
    takes the training lock; ``finish`` or ``fail`` writes the rest, ``summary.json`` last, and
    ``close`` lets go.
    """

    def __init__(self, store: RunStore, config: RunConfig, data: dict, name: str | None = None):
        self.store, self.config = store, config
        self.run_id = run_id_for(config, data["identity"])
        self.path = store.root / self.run_id
        staging = store.root / f".new-{self.run_id}-{secrets.token_hex(4)}"
        staging.mkdir(parents=True)
        try:
            self._lock_fd = os.open(staging / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            atomic_write_json(staging / CONFIG_FILE, config.to_dict())
            atomic_write_json(staging / DATA_FILE, data)
            atomic_write_json(staging / HISTORY_FILE, {"points": []})
            if name is not None:  # a run trained again keeps its name
                atomic_write_json(staging / NAME_FILE, name_record(name))
            # The folder appears whole, config inside, or not at all.
            os.rename(staging, self.path)
        except OSError as error:
            self._release()
            shutil.rmtree(staging, ignore_errors=True)
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
                # Another process made the run's folder between our check and our rename.
                raise RunBusy(f"run {self.run_id} is being trained by another process") from None
            raise _not_saved(self.run_id, store.root, error) from error
        except BaseException:
            self._release()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(store.root)

    def write_history(self, points: list[dict]) -> None:
        atomic_write_json(self.path / HISTORY_FILE, {"points": points})

    def write_checkpoint(self, model: Autoencoder) -> None:
        """Save the model learned so far (read back with ``RunStore.load_checkpoint``)."""
        _atomic_save_model(model, self.path / CHECKPOINT_FILE)

    def write_snapshot(self, model: Autoencoder, step: int) -> None:
        """Keep the model's weights at ``step`` (read back with ``RunStore.load_snapshot``)."""
        self.write_snapshot_weights(step, weights_file_bytes(model))

    def write_snapshot_weights(self, step: int, weights: bytes) -> None:
        """Keep weights saved at ``step`` (``model_files.weights_file_bytes``) as its snapshot."""
        atomic_write_bytes(self.path / snapshot_file(step), weights)

    def finish(self, model: Autoencoder | None, points: list[dict], summary: dict) -> dict:
        """Store the model (when there is one) and the history, then the summary, last; returns
        the summary as written (with ``model``: whether there is one, and ``finished_at``).

        When a file cannot be written (OSError), the run is recorded as failed with the reason,
        when even that can be written, and RunNotSaved names the folder."""
        try:
            if model is not None:
                _atomic_save_model(model, self.path / MODEL_FILE)
            self.write_history(points)
            written = {**summary, "model": model is not None, "finished_at": time.time()}
            atomic_write_json(self.path / SUMMARY_FILE, written)
        except OSError as error:
            failure = _not_saved(self.run_id, self.path, error)
            self._record_save_failure(str(failure), points, summary.get("steps", 0))
            raise failure from error
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path / CHECKPOINT_FILE)
        return written

    def _record_save_failure(self, reason: str, points: list[dict], steps: int) -> None:
        """Make the folder say why the run is not there: a failed run, so it trains again when
        asked. The models go first (without a summary nothing reads them, and on a full disk
        their space is what the record needs); a folder that cannot even say that is removed,
        rather than left to look like a run whose process died."""
        for name in (MODEL_FILE, CHECKPOINT_FILE, *snapshot_files(self.path).values()):
            with contextlib.suppress(OSError):
                os.unlink(self.path / name)
        with contextlib.suppress(OSError):
            self.write_history(points)
        summary = failure_summary(self.config, self.run_id, reason, steps)
        try:
            atomic_write_json(
                self.path / SUMMARY_FILE, {**summary, "model": False, "finished_at": time.time()}
            )
        except OSError:
            with contextlib.suppress(OSError):
                self.store._discard(self.path)

    def fail(self, reason: str, points: list[dict], steps: int = 0) -> dict:
        """Mark the run failed before it had a model; returns the summary written."""
        return self.finish(None, points, failure_summary(self.config, self.run_id, reason, steps))

    def _release(self) -> None:
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            os.close(fd)  # closing drops the flock

    def close(self) -> None:
        self._release()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def failure_summary(config: RunConfig, run_id: str, reason: str, steps: int = 0) -> dict:
    """The summary of a run that failed before it had a model to measure."""
    return {
        "run_id": run_id,
        "variant": config.variant,
        "dataset": config.dataset,
        "status": "failed",
        "reason": reason,
        "steps": steps,
        "total_steps": config.steps,
        "config": config.to_dict(),
    }


def _finished_signature(folder: Path) -> tuple | None:
    """The size and change time of each file a finished run's record is read from, or None when
    the run has no summary yet (its state then depends on a lock, not on its files)."""
    signature = []
    for name in (SUMMARY_FILE, CONFIG_FILE, DATA_FILE, MODEL_FILE, HISTORY_FILE, NAME_FILE):
        try:
            stat = (folder / name).stat()
        except FileNotFoundError:
            if name == SUMMARY_FILE:
                return None
            signature.append(None)
            continue
        except OSError:
            return None
        signature.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(signature)


class RunStore:
    """The runs folder: list, read and delete runs; ``begin`` starts writing one (export and
    import are ``ae_core.archives``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = (Path(root).expanduser() if root is not None else default_runs_dir()).absolute()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"the runs folder {self.root} cannot be created ({error.strerror}); set "
                "AE_RUNS_DIR to a writable folder"
            ) from None
        # What the last scan found damaged and skipped, one sentence per folder.
        self.problems: list[str] = []
        # Finished runs as last read, by folder, with the stat of the files they were read from:
        # the app lists the runs on most reruns (the run picker, a slider's trained values), and
        # reading and validating every config each time grows with the store.
        self._finished_records: dict[str, tuple[tuple, RunRecord]] = {}

    # -- reading -------------------------------------------------------------------------------
    def scan(self) -> list[RunRecord]:
        """Every run on disk, newest first. Damaged folders are reported in ``problems`` and
        skipped; leftovers of interrupted writes (temporary files and folders) are removed."""
        records, problems = [], []
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith("."):
                self._remove_if_stale(entry)
                continue
            if not entry.is_dir():
                continue
            try:
                records.append(self._read_record(entry))
            except StoreError as error:
                problems.append(str(error))
        for problem in problems:
            log.warning("%s", problem)
        self.problems = problems
        return sorted(records, key=lambda r: r.modified, reverse=True)

    def get(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None when there is none (or it is damaged)."""
        path = self._run_path(run_id)
        if not path.is_dir():
            return None
        try:
            return self._read_record(path)
        except StoreError as error:
            log.warning("%s", error)
            return None

    def load_history(self, run_id: str) -> list[dict]:
        path = self._run_path(run_id) / HISTORY_FILE
        try:
            points = _read_json(path)["points"]
            if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
                raise ValueError("its points are not a list of records")
        except FileNotFoundError:
            return []
        except (*BAD_JSON, OSError) as error:
            raise StoreError(f"the history of run {run_id} is damaged ({error})") from None
        return points

    def load_model(self, run_id: str) -> Autoencoder:
        """Rebuild the run's model from its config with our own code and load its weights."""
        record = self.get(run_id)
        if record is None:
            raise StoreError(f"there is no stored run {run_id!r} in {self.root}")
        if not record.has_model:
            raise StoreError(
                f"run {run_id} has no trained model (it {record.status}: {record.reason})"
            )
        data = (record.path / MODEL_FILE).read_bytes()
        return _stored_model(data, record.config, run_id, MODEL_FILE)

    def load_checkpoint(self, run_id: str) -> Autoencoder:
        """The model so far of a run that is training, from its latest checkpoint."""
        record = self.get(run_id)
        path = record.path / CHECKPOINT_FILE if record is not None else None
        try:
            if record is None or record.status != "training":
                raise FileNotFoundError(run_id)
            data = path.read_bytes()
        except FileNotFoundError:  # none yet, or the run has just finished and removed it
            raise StoreError(f"run {run_id} has no checkpoint of a model in training") from None
        return _stored_model(data, record.config, run_id, CHECKPOINT_FILE)

    def snapshot_steps(self, run_id: str) -> list[int]:
        """The steps at which the run kept a snapshot of its weights, in order ([] for runs
        stored before there were snapshots)."""
        return list(snapshot_files(self._run_path(run_id)))

    def load_snapshot(self, run_id: str, step: int) -> Autoencoder:
        """The run's model as it was at ``step``: rebuilt from its config, with the snapshot's
        weights checked as an import's are."""
        record = self.get(run_id)
        if record is None:
            raise StoreError(f"there is no stored run {run_id!r} in {self.root}")
        name = snapshot_file(step)
        try:
            data = (record.path / name).read_bytes()
        except FileNotFoundError:
            raise StoreError(
                f"run {run_id} has no snapshot at step {step:,} (it has steps "
                f"{', '.join(f'{s:,}' for s in self.snapshot_steps(run_id)) or 'none'})"
            ) from None
        model = build_model(record.config)
        try:
            load_weights_file(model, data, f"its {name}")
        except ModelFileRefused as refused:
            raise StoreError(
                f"the snapshot of run {run_id} cannot be read: {refused.problem}"
            ) from None
        return model

    def _run_path(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise StoreError(f"{run_id!r} is not a run id (such as 'stacked-0123456789ab')")
        return self.root / run_id

    def _read_record(self, folder: Path) -> RunRecord:
        signature = _finished_signature(folder)
        cached = self._finished_records.get(folder.name)
        if signature is not None and cached is not None and cached[0] == signature:
            return cached[1]
        record = self._read_record_from_files(folder)
        if signature is not None and record.summary is not None:
            self._finished_records[folder.name] = (signature, record)
        return record

    def _read_record_from_files(self, folder: Path) -> RunRecord:
        where = f"run folder {folder}"
        try:
            config = RunConfig.from_dict(_read_json(folder / CONFIG_FILE))
        except FileNotFoundError:
            raise StoreError(f"{where} has no {CONFIG_FILE}; skipped") from None
        except (*BAD_JSON, OSError) as error:
            # ConfigError is a ValueError: a config that is no longer valid is damaged too.
            raise StoreError(
                f"{where} has an unreadable {CONFIG_FILE} ({error}); skipped"
            ) from None
        data = _read_data_file(folder / DATA_FILE, where)
        stored_id = run_id_for(config, data["identity"] if data else None)
        if stored_id != folder.name:
            raise StoreError(
                f"{where} holds a run whose id is now {stored_id} (made by another version "
                "of the engine, or renamed); skipped"
            )
        self._remove_temp_files(folder)
        modified = folder.stat().st_mtime
        summary_path = folder / SUMMARY_FILE
        if not summary_path.exists():
            training = _lock_is_held(folder / LOCK_FILE)
            status: StoredRunState = "training" if training else "interrupted"
            reason = None if training else "the process training it ended before it finished"
            return RunRecord(
                folder.name,
                config,
                status,
                reason,
                None,
                False,
                folder,
                modified,
                data,
                _read_name_file(folder),
            )
        try:
            summary = _read_json(summary_path)
            if isinstance(summary, dict) and summary.get("model") is True:
                self._check_model_file(folder, where)
            problem = summary_problem(summary)
            if problem is None and summary.get("run_id") != folder.name:
                problem = "it does not describe this run"
            if problem is not None:
                raise ValueError(problem)
        except (*BAD_JSON, OSError) as error:
            raise StoreError(f"{where} has a damaged {SUMMARY_FILE} ({error}); skipped") from None
        # The pages draw a finished run's history as it is: one that does not fit ours would
        # break them, so such a run is skipped here like any other damaged one.
        try:
            points = _read_json(folder / HISTORY_FILE)["points"]
            problem = history_problem(points)
            if problem is not None:
                raise ValueError(problem)
        except FileNotFoundError:
            pass
        except (*BAD_JSON, OSError) as error:
            raise StoreError(f"{where} has a damaged {HISTORY_FILE} ({error}); skipped") from None
        status = summary["status"]
        has_model = summary.get("model") is True
        modified = summary_path.stat().st_mtime
        return RunRecord(
            folder.name,
            config,
            status,
            summary.get("reason"),
            summary,
            has_model,
            folder,
            modified,
            data,
            _read_name_file(folder),
        )

    @staticmethod
    def _check_model_file(folder: Path, where: str) -> None:
        if not (folder / MODEL_FILE).is_file():
            raise StoreError(f"{where} says it has a model but {MODEL_FILE} is missing; skipped")

    # -- writing -------------------------------------------------------------------------------
    def begin(self, config: RunConfig, data: dict | None = None) -> RunWriter:
        """Start the folder of a run about to train, replacing whatever folder of that run is there
        and not being trained (callers decide whether a finished run should be trained again).

        ``data`` is ``data_record(dataset)`` of the data it trains on; by default the data
        ``config.dataset`` resolves to in this process."""
        if data is None:
            from ae_core.data import load_dataset

            data = data_record(load_dataset(config.dataset))
        run_id = run_id_for(config, data["identity"])
        path = self._run_path(run_id)
        name = None
        if path.exists():
            if _lock_is_held(path / LOCK_FILE):
                raise RunBusy(f"run {run_id} is being trained by another process")
            record = self.get(run_id)
            if record is not None and record.is_final:
                # Another server on this folder finished it meanwhile: a finished run is never
                # thrown away to train the same config again.
                raise RunFinished(f"run {run_id} is finished already", record)
            name = record.name if record is not None else None
            self._discard(path)
        return RunWriter(self, config, data, name)

    def set_name(self, run_id: str, text: str) -> str:
        """Give run ``run_id`` the name ``text`` (stripped; see ``checked_run_name``); returns
        the name stored."""
        name = checked_run_name(text)
        path = self._run_path(run_id)
        if not (path / CONFIG_FILE).is_file():
            raise StoreError(f"there is no stored run {run_id!r} to name")
        atomic_write_json(path / NAME_FILE, name_record(name))
        return name

    def mark_failed(self, run_id: str, reason: str) -> None:
        """Record why a run failed when the process training it died (its lock is gone)."""
        path = self._run_path(run_id)
        if not path.is_dir() or (path / SUMMARY_FILE).exists() or _lock_is_held(path / LOCK_FILE):
            return
        try:
            config = RunConfig.from_dict(_read_json(path / CONFIG_FILE))
            points = self.load_history(run_id)
        except (*BAD_JSON, OSError, StoreError):
            return
        steps = points[-1].get("step", 0) if points else 0
        summary = failure_summary(config, run_id, reason, steps)
        atomic_write_json(
            path / SUMMARY_FILE, {**summary, "model": False, "finished_at": time.time()}
        )

    def delete(self, run_id: str) -> None:
        path = self._run_path(run_id)
        if not path.is_dir():
            raise StoreError(f"there is no stored run {run_id!r} to delete")
        if _lock_is_held(path / LOCK_FILE):
            raise StoreError(f"run {run_id} is training; stop it before deleting it")
        self._discard(path)

    def _discard(self, path: Path) -> None:
        # Renamed away first, so the run vanishes at once and whole, then removed at leisure.
        trash = self.root / f".trash-{path.name}-{secrets.token_hex(4)}"
        os.rename(path, trash)
        _fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    def _remove_if_stale(self, entry: Path) -> None:
        if not entry.name.startswith((".new-", ".trash-", ".import-")):
            return
        with contextlib.suppress(OSError):
            if time.time() - entry.stat().st_mtime > STALE_TEMP_SECONDS and not _lock_is_held(
                entry / LOCK_FILE
            ):
                shutil.rmtree(entry, ignore_errors=True)

    def _remove_temp_files(self, folder: Path) -> None:
        # Temporary files of a dead writer; a live writer holds the lock and keeps its own.
        temporaries = [p for p in folder.iterdir() if ".tmp-" in p.name]
        if temporaries and not _lock_is_held(folder / LOCK_FILE):
            for temporary in temporaries:
                with contextlib.suppress(OSError):
                    temporary.unlink()


def _stored_model(data: bytes, config: RunConfig, run_id: str, name: str) -> Autoencoder:
    """The model of a stored run from its ``name`` file, checked as an import's is."""
    try:
        return model_from_keras_archive(data, config, f"its {name}")
    except ModelFileRefused as refused:
        raise StoreError(f"the model of run {run_id} cannot be read: {refused.problem}") from None
