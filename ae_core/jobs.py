"""The background training cache: one ``JobManager`` per server process, shared by every session.

    manager = JobManager()                 # runs folder: $AE_RUNS_DIR or the per-user default
    job = manager.submit(config)           # returns at once
    job.snapshot()                         # state, queue position, progress, metrics so far
    job.stop()  /  job.cancel()            # keep the partial model  /  drop a queued job
    manager.model(job.run_id)              # the trained model (LRU-cached, reloaded from disk)

Submitting a config whose run id is already finished (in memory or on disk) gives a job that is
already done, carrying the stored results; submitting one that is queued or training gives that
same job. Training happens in a small pool of workers (``ae_core.worker``), not threads of this
process: worker processes on this machine, or Ray actors on a Ray cluster (``AE_BACKEND=ray``;
``ae_core.backends``), all writing one run store. Each compiled shape leaves native TensorFlow
state behind that only ending the process frees, a worker's crash cannot take the server with it,
and the server keeps its CPU time for the pages (workers run at a lower priority). Workers are
started when the manager is made, so the first run starts without waiting for TensorFlow to import.

A job goes to the worker with the fewest open runs, up to ``runs_per_worker`` each; a worker
gives each new run its first chunk at once, then lets its open runs take turns (see
``ae_core.worker``), so a class pressing Train together all see their curves move within seconds.
Jobs beyond that wait in this manager's queue.

Thread safety: every public method may be called from any thread. Workers' events are read by
one thread per worker and applied under the manager's lock; a job's snapshot is an immutable
object rebuilt only when something changed, so polling it is cheap.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ae_core import archives
from ae_core.backends import choose_backend
from ae_core.config import RunConfig
from ae_core.continuation import can_continue, continuation_config
from ae_core.errors import StoreError
from ae_core.run_states import ACTIVE_STATES, JobState
from ae_core.store import RunRecord, RunStore, is_final_result
from ae_core.warm import SpeedBook

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ae_core.model import Autoencoder
    from ae_core.sweeps import Sweep

log = logging.getLogger(__name__)

# A worker that dies this many times in a row before it is ready means training cannot start.
MAX_START_FAILURES = 3
# Runs one worker takes turns on (each waiting one keeps a copy of its weights and optimizer
# state, a few MB for the nets here): a class of 30 on two workers all start at once.
RUNS_PER_WORKER = 16
# Seconds of the recent history a run's speed (and so its time left) is measured over.
SPEED_WINDOW_SECONDS = 5.0
# Snapshot models kept in memory: a class scrubbing one run's seven steps back and forth.
MAX_SNAPSHOT_MODELS = 8


@dataclass(frozen=True)
class Snapshot:
    """A job as it is at one moment; immutable, so it can be handed to any thread."""

    run_id: str
    state: JobState
    queue_position: int | None  # 1 = next to start; None unless queued
    step: int
    total_steps: int
    phase: str | None
    samples_per_s: float | None
    seconds_left: float | None  # until finished, from the recent speed; None when unknown
    elapsed: float  # seconds of training so far (as the trainer measured them)
    history: tuple[dict, ...]  # every metrics point so far (Progress.to_dict() each)
    reason: str | None  # why the run failed or stopped, one sentence
    summary: dict | None  # the run's measurements once it has finished
    checkpoint_step: int | None = None  # the step of the latest saved model of a training run
    seconds_to_start: float | None = None  # for a queued job: when it should start; None: unknown

    @property
    def latest(self) -> dict | None:
        return self.history[-1] if self.history else None

    @property
    def fraction_done(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE_STATES


class Job:
    """A handle on one run: shared by everyone who submitted the same config."""

    def __init__(
        self,
        manager: JobManager,
        config: RunConfig,
        state: JobState = "queued",
        run_id: str | None = None,
    ):
        self._manager = weakref.proxy(manager)
        self.config = config
        # A stored run keeps the id it was trained under (its data may not be this server's).
        self.run_id = run_id or config.run_id
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._state: JobState = state
        self._history: list[dict] = []
        self._history_loaded = state in ACTIVE_STATES
        self._reason: str | None = None
        self._summary: dict | None = None
        self._checkpoint_step: int | None = None
        self._snapshot: Snapshot | None = None
        self._worker: Any = None  # the worker it was given to, until it finishes
        self._last_point_at = 0.0  # monotonic time the latest history point arrived
        self.name: str | None = None  # the name a person gave the run (``JobManager.set_name``)
        if state not in ACTIVE_STATES:
            self._done.set()

    @classmethod
    def _from_record(cls, manager: JobManager, record: RunRecord) -> Job:
        job = cls(manager, record.config, record.status, record.run_id)
        job._reason, job._summary = record.reason, record.summary
        job.name = record.name
        return job

    def __repr__(self) -> str:
        return f"Job({self.run_id!r}, {self.state})"

    # -- reading ---------------------------------------------------------------------------------
    @property
    def state(self) -> JobState:
        return self._state

    @property
    def reason(self) -> str | None:
        return self._reason

    @property
    def summary(self) -> dict | None:
        return self._summary

    @property
    def is_final_result(self) -> bool:
        """A new submission is served from this result (``store.is_final_result``)."""
        return is_final_result(self._state, bool((self._summary or {}).get("model")))

    def snapshot(self) -> Snapshot:
        """The metrics so far; cheap when nothing changed since the last call."""
        if not self._history_loaded:
            self._load_history()
        position, to_start = None, None
        if self._state == "queued":
            position, to_start = self._manager._queue_estimate(self)
        with self._lock:
            cached = self._snapshot
            if cached is not None and cached.queue_position == position:
                if to_start is None or cached.seconds_to_start == to_start:
                    return cached
            self._snapshot = self._build_snapshot(position, to_start)
            return self._snapshot

    def seconds_left(self) -> float | None:
        """Time until this job has finished (None when unknown); see ``_seconds_left``."""
        with self._lock:
            return self._seconds_left() if self._state == "training" else None

    def _seconds_left(self) -> float | None:
        # From the run's own pace on the wall clock ("elapsed" is the trainer's), so it counts the
        # turns it waits while other runs train, plus the time a run takes to be measured and
        # saved once its last step is done. Caller holds the lock.
        if not self._history:
            return None
        # The points of one chunk share its "elapsed" (the chunk's end): pace is measured from
        # chunk end to chunk end, or the steps of a chunk would count without its time.
        chunk_ends: dict[float, int] = {}
        for point in self._history[-256:]:
            chunk_ends[point["elapsed"]] = point["step"]
        times = sorted(chunk_ends)
        latest = times[-1]
        earlier = [t for t in times[:-1] if t >= latest - SPEED_WINDOW_SECONDS] or times[-2:-1]
        if earlier and latest > earlier[0]:
            pace = (chunk_ends[latest] - chunk_ends[earlier[0]]) / (latest - earlier[0])
        elif latest > 0:
            pace = chunk_ends[latest] / latest  # one chunk so far
        else:
            return None
        if pace <= 0:
            return None
        total = self._history[-1]["total_steps"]
        since_latest = time.monotonic() - self._last_point_at
        left = (total - chunk_ends[latest]) / pace - since_latest
        return max(left, 0.0) + self._manager.finish_seconds

    def _build_snapshot(self, position: int | None, to_start: float | None = None) -> Snapshot:
        latest = self._history[-1] if self._history else None
        total = latest["total_steps"] if latest else self.config.steps
        step = latest["step"] if latest else 0
        speed = latest["samples_per_s"] if latest else None
        seconds_left = self._seconds_left() if self._state == "training" else None
        if self._summary is not None:
            step = self._summary.get("steps", step)
        return Snapshot(
            run_id=self.run_id,
            state=self._state,
            queue_position=position,
            step=step,
            total_steps=total,
            phase=latest["phase"] if latest else None,
            samples_per_s=speed,
            seconds_left=seconds_left,
            elapsed=latest["elapsed"] if latest else 0.0,
            history=tuple(self._history),
            reason=self._reason,
            summary=self._summary,
            checkpoint_step=self._checkpoint_step if self._state == "training" else None,
            seconds_to_start=to_start,
        )

    def _load_history(self) -> None:
        try:
            points = self._manager.store.load_history(self.run_id)
        except StoreError as error:
            log.warning("%s", error)
            points = []
        with self._lock:
            if not self._history_loaded:
                self._history, self._history_loaded = points, True
                self._changed()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (any final state); False on timeout."""
        return self._done.wait(timeout)

    # -- acting ----------------------------------------------------------------------------------
    def stop(self) -> bool:
        """Stop training after the current chunk and keep the partial model (state "stopped");
        a queued job is cancelled. False when the job had already finished."""
        return self._manager.stop(self.run_id)

    def cancel(self) -> bool:
        """Drop a queued job before it starts; False when it is not queued."""
        return self._manager.cancel(self.run_id)

    def model(self) -> Autoencoder:
        """The trained (or partially trained) model, from the manager's bounded cache."""
        return self._manager.model(self.run_id)

    # -- updates from the manager (its lock held) ------------------------------------------------
    def _changed(self) -> None:
        self._snapshot = None  # rebuilt by the next snapshot() call

    def _set_state(self, state: JobState, reason: str | None = None) -> None:
        with self._lock:
            self._state, self._reason = state, reason
            self._changed()
        if state not in ACTIVE_STATES:
            self._done.set()

    def _set_checkpoint(self, step: int) -> None:
        with self._lock:
            self._checkpoint_step = step
            self._changed()

    def _add_point(self, point: dict) -> None:
        with self._lock:
            self._history.append(point)
            self._last_point_at = time.monotonic()
            self._changed()

    def _finish(self, summary: dict | None, reason: str | None) -> None:
        state: JobState = summary["status"] if summary else "failed"
        with self._lock:
            self._summary = summary
            self._changed()
        self._set_state(state, reason)


class JobManager:
    """Queue, deduplicate and train runs on workers (processes here, or Ray actors); remember
    results in a run store.

    Args:
        runs_dir: the run store's folder (default: ``$AE_RUNS_DIR``, else the per-user folder).
        workers: how many workers (default: one per core, this machine's or the Ray cluster's).
        threads_per_worker: TensorFlow threads in each worker (default: every core).
        max_models: trained models kept in memory for analysis, least recently used evicted.
        max_runs_per_worker, max_worker_growth_mb: when a worker retires for a fresh one.
        worker_nice: how much lower the workers' CPU priority is than the server's.
        runs_per_worker: runs one worker takes turns on; 1 trains one run after another.
        backend, ray_address: where the workers run (``ae_core.backends``; default:
            ``$AE_BACKEND``, else worker processes on this machine; ``$AE_RAY_ADDRESS``).
    """

    def __init__(
        self,
        runs_dir: str | os.PathLike | None = None,
        *,
        workers: int | None = None,
        threads_per_worker: int | None = None,
        max_models: int = 4,
        max_runs_per_worker: int = 500,
        max_worker_growth_mb: float = 600.0,
        worker_nice: int = 5,
        max_finished_jobs: int = 256,
        runs_per_worker: int = RUNS_PER_WORKER,
        backend: str | None = None,
        ray_address: str | None = None,
    ):
        self.backend = choose_backend(backend, ray_address)
        self.backend.connect()
        workers = self.backend.default_worker_count() if workers is None else int(workers)
        if workers < 1:
            raise ValueError(f"workers={workers} must be at least 1")
        if max_models < 1:
            raise ValueError(f"max_models={max_models} must be at least 1")
        if runs_per_worker < 1:
            raise ValueError(f"runs_per_worker={runs_per_worker} must be at least 1")
        self.runs_per_worker = runs_per_worker
        # Seconds from a run's last step to its stored result (measuring and saving it), as the
        # workers last reported; part of every time left.
        self.finish_seconds = 0.5
        self.store = RunStore(runs_dir)
        records = self.store.scan()
        self.problems = list(self.store.problems)
        self.worker_count = workers
        self.worker_options = {
            # Every worker may use every core: a lone run (one student's slider move) trains
            # 1.75x faster on 2 threads than on 1, while a full class on 2 workers of 2 threads
            # each finished within 5 % of 2 workers of 1 (benchmarks/sliders.py, README).
            "threads": threads_per_worker or self.backend.default_threads(),
            "max_runs": max_runs_per_worker,
            "max_growth_mb": max_worker_growth_mb,
            "nice": worker_nice,
        }
        self.max_models = max_models
        self._max_finished = max_finished_jobs
        self._lock = threading.RLock()
        self._queue: collections.deque[Job] = collections.deque()
        self._active: dict[str, Job] = {}
        self._finished: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._models: collections.OrderedDict[str, Autoencoder] = collections.OrderedDict()
        # Snapshot models by (run id, step), the most recently used MAX_SNAPSHOT_MODELS.
        self._snapshot_models: collections.OrderedDict[tuple[str, int], Autoencoder] = (
            collections.OrderedDict()
        )
        self._model_locks: dict[Any, threading.Lock] = {}  # by run id, or (run id, step)
        self._workers: list = []  # the backend's workers
        self._worker_numbers = iter(range(1, 1_000_000))
        self._start_failures = 0
        self._broken_reason: str | None = None
        self._closed = False
        # Counts for people watching the server: trainings started, submissions served from the
        # cache or joined to a running job, worker processes started.
        self.stats: collections.Counter[str] = collections.Counter()
        self.interrupted = [r.run_id for r in records if r.status == "interrupted"]
        # How fast runs train here, learnt from the stored runs and each run that finishes.
        self._speeds = SpeedBook(records)
        with self._lock:
            for _ in range(workers):
                self._start_worker()
        atexit.register(self.shutdown, 5.0)

    # -- submitting and finding jobs -------------------------------------------------------------
    def submit(self, config: RunConfig) -> Job:
        """A job for ``config``: the cached result, the job already queued or training, or a new
        job at the back of the queue."""
        if not isinstance(config, RunConfig):
            raise TypeError(f"submit takes a RunConfig, not {type(config).__name__}")
        run_id = config.run_id
        with self._lock:
            if self._closed:
                raise RuntimeError("this job manager has been shut down")
            job = self._active.get(run_id)
            if job is not None:
                self.stats["joined"] += 1
                return job
            job = self._finished.get(run_id)
            if job is not None and job.is_final_result:
                self._finished.move_to_end(run_id)
                self.stats["cached"] += 1
                return job
            record = self.store.get(run_id)
            if record is not None and record.is_final:
                job = Job._from_record(self, record)
                self._remember(job)
                self.stats["cached"] += 1
                return job
            # A run another server on this folder is training now is queued here too: the
            # worker waits for it and serves its result (it never trains it a second time).
            job = Job(self, config)
            self._active[run_id] = job
            self._queue.append(job)
            if self._broken_reason is not None:
                self._fail_queued(self._broken_reason)
            self._dispatch()
            return job

    def continue_run(self, run_id: str, extra_steps: int) -> Job:
        """Submit ``extra_steps`` more steps on from run ``run_id``'s final model, as a new run
        (``ae_core.continuation``); StoreError or ConfigError in one sentence when it cannot."""
        job = self.get(run_id)
        if job is None:
            raise StoreError(f"there is no run {run_id!r} to continue")
        if not can_continue(job.state, job.summary):
            raise StoreError(
                f"run {run_id} has no final model to continue from (it is {job.state})"
            )
        steps_done = job.summary["steps"]
        return self.submit(continuation_config(job.config, run_id, steps_done, extra_steps))

    def set_name(self, run_id: str, text: str) -> str:
        """Name run ``run_id`` (``RunStore.set_name``); returns the name stored."""
        name = self.store.set_name(run_id, text)
        with self._lock:
            for job in (self._active.get(run_id), self._finished.get(run_id)):
                if job is not None:
                    job.name = name
        return name

    def get(self, run_id: str) -> Job | None:
        """The job of this run id: active, recently finished, or stored on disk; else None."""
        with self._lock:
            job = self._active.get(run_id) or self._finished.get(run_id)
            if job is not None:
                return job
        record = self.store.get(run_id)
        if record is None:
            return None
        with self._lock:
            job = self._active.get(run_id) or self._finished.get(run_id)
            if job is None:
                job = Job._from_record(self, record)
                self._remember(job)
            return job

    @property
    def training_slots(self) -> int:
        """How many runs can train at once (taking turns on the workers)."""
        return self.worker_count * self.runs_per_worker

    def active_jobs(self) -> list[Job]:
        """Jobs training now, then the queue in order."""
        with self._lock:
            training = [job for job in self._active.values() if job.state == "training"]
            return training + list(self._queue)

    def list_runs(self) -> list[Job]:
        """Every run: the active jobs, then the stored runs, newest first."""
        records = self.store.scan()
        with self._lock:
            self.problems = list(self.store.problems)
            jobs = self.active_jobs()
            active = {job.run_id: job for job in jobs}
            for record in records:
                if record.run_id in active:
                    active[record.run_id].name = record.name
                    continue
                job = self._finished.get(record.run_id)
                if job is None or job.state != record.status:
                    job = Job._from_record(self, record)
                job.name = record.name  # another server may have named it
                jobs.append(job)
            return jobs

    def _remember(self, job: Job) -> None:
        self._finished[job.run_id] = job
        self._finished.move_to_end(job.run_id)
        while len(self._finished) > self._max_finished:
            self._finished.popitem(last=False)

    def _queue_estimate(self, job: Job) -> tuple[int | None, float | None]:
        """A queued job's place in the queue (1 = next) and the seconds until it should start.

        A job already given to a worker starts within a turn (new runs go first there): 0 s. One
        still here starts when a worker slot frees: the ``k``-th slot to free is estimated from
        the time left of the runs open on the workers, soonest first, each later queued job ahead
        taking the slot of the one before it for as long as its own run is estimated to last.
        """
        with self._lock:
            try:
                index = self._queue.index(job)
            except ValueError:
                return None, None
            if job._worker is not None:
                return index + 1, 0.0
            waiting = [j for j in self._queue if j._worker is None]
            ahead = waiting.index(job)
            free_at = []  # when each worker slot frees, from now
            for worker in self._workers:
                # A worker still starting (importing TensorFlow) has no slot to promise yet.
                if worker.retiring or not worker.ready:
                    continue
                open_jobs = worker.jobs
                lefts = sorted(self._job_seconds_left(j) for j in open_jobs)
                free_at += lefts[: max(0, len(open_jobs) - self.runs_per_worker + 1)]
                free_at += [0.0] * max(0, self.runs_per_worker - len(open_jobs))
            if not free_at:
                return index + 1, None
            for earlier in waiting[:ahead]:
                soonest = free_at.index(min(free_at))
                free_at[soonest] += self._job_seconds_left(earlier)
            # Rounded, so a snapshot polled again a moment later is the cached one.
            return index + 1, round(min(free_at), 1)

    def _job_seconds_left(self, job: Job) -> float:
        left = job.seconds_left() if job.state == "training" else None
        if left is not None:
            return left
        return self.estimated_seconds(job.config)

    def estimated_seconds(self, config: RunConfig) -> float:
        """How long a run of ``config`` should take on one worker: the measured speed of the
        finished runs like it, else the measured default rate (``ae_core.warm.SpeedBook``)."""
        with self._lock:
            return self._speeds.estimate(config).seconds

    # -- stopping ------------------------------------------------------------------------------
    def stop(self, run_id: str) -> bool:
        with self._lock:
            job = self._active.get(run_id)
            if job is None:
                return False
            if job.state == "queued":
                return self.cancel(run_id)
            if job._worker is not None:
                job._worker.send("stop", run_id=run_id)
            return True

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            job = self._active.get(run_id)
            if job is None or job.state != "queued":
                return False
            self._queue.remove(job)
            del self._active[run_id]
            if job._worker is not None:
                # It stays on the worker's list until the worker confirms, so the worker's
                # count of open runs stays true; the worker drops it unstarted.
                job._worker.send("stop", run_id=run_id)
            job._set_state("cancelled", "cancelled before it started")
            return True

    # -- models ----------------------------------------------------------------------------------
    def model(self, run_id: str) -> Autoencoder:
        """A run's trained model; at most ``max_models`` stay in memory (least recently used go),
        the rest are rebuilt from disk when asked for again."""
        return self._load_once(
            self._models, run_id, lambda: self.store.load_model(run_id), self.max_models
        )

    def _load_once(self, cache: collections.OrderedDict, key, load, limit: int) -> Autoencoder:
        """``cache[key]``, else ``load()`` put there (one load per key, however many sessions
        ask at once), keeping the ``limit`` most recently used."""
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
            loading = self._model_locks.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                if key in cache:
                    return cache[key]
            try:
                model = load()
            except BaseException:
                with self._lock:
                    self._model_locks.pop(key, None)
                raise
            with self._lock:
                cache[key] = model
                while len(cache) > limit:
                    cache.popitem(last=False)
                self._model_locks.pop(key, None)
            return model

    def model_file(self, run_id: str) -> bytes:
        """A run's trained model as a ``.keras`` file for Keras users, saved here from the model
        our code rebuilt and checked (``model_files.keras_file_bytes``)."""
        from ae_core.model_files import keras_file_bytes

        return keras_file_bytes(self.model(run_id))

    def snapshot_steps(self, run_id: str) -> list[int]:
        """The steps of a finished run's snapshots (its model along the way) before its final
        model (``model``), in order. Empty for a run still training or stored before snapshots."""
        job = self.get(run_id)
        snapshot = job.snapshot() if job is not None else None
        if snapshot is None or not snapshot.finished:
            return []
        # A run stopped at a snapshot's step has that model as its final one.
        return [step for step in self.store.snapshot_steps(run_id) if step < snapshot.step]

    def snapshot_model(self, run_id: str, step: int) -> Autoencoder:
        """A finished run's model as it was at ``step`` (one of ``snapshot_steps``); the most
        recently used ``MAX_SNAPSHOT_MODELS`` stay in memory."""
        return self._load_once(
            self._snapshot_models,
            (run_id, step),
            lambda: self.store.load_snapshot(run_id, step),
            MAX_SNAPSHOT_MODELS,
        )

    def _forget_models(self, run_id: str) -> None:
        """Drop the run's models from memory (it was retrained, imported or deleted)."""
        self._models.pop(run_id, None)
        for key in [key for key in self._snapshot_models if key[0] == run_id]:
            del self._snapshot_models[key]

    def checkpoint_model(self, run_id: str) -> Autoencoder:
        """The model so far of a run that is training (its latest checkpoint, read from disk
        each call: callers cache by ``Snapshot.checkpoint_step``)."""
        return self.store.load_checkpoint(run_id)

    def cached_model_ids(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def delete(self, run_id: str) -> None:
        """Delete a finished run from disk and memory."""
        with self._lock:
            if run_id in self._active:
                raise StoreError(f"run {run_id} is {self._active[run_id].state}; stop it first")
            self.store.delete(run_id)
            self._finished.pop(run_id, None)
            self._forget_models(run_id)

    def import_run(self, archive: bytes | str | os.PathLike) -> Job:
        record = archives.import_run(self.store, archive)
        with self._lock:
            self._finished.pop(record.run_id, None)
            self._forget_models(record.run_id)
        job = self.get(record.run_id)
        assert job is not None
        return job

    def export_run(self, run_id: str) -> bytes:
        return archives.export_run(self.store, run_id)

    # -- workers ---------------------------------------------------------------------------------
    def worker_pids(self) -> list[int]:
        """The workers' process ids (a Ray worker's, on its node, once it is ready)."""
        with self._lock:
            return [worker.pid for worker in self._workers if worker.pid is not None]

    def worker_sizes_mb(self) -> list[float]:
        """Each worker's resident memory, as last reported (after its latest run)."""
        with self._lock:
            return [worker.rss_mb for worker in self._workers]

    def _start_worker(self) -> None:
        self.stats["workers_started"] += 1
        self._workers.append(self.backend.start_worker(self, next(self._worker_numbers)))

    def _dispatch(self) -> None:
        """Give the queued jobs no worker has yet to the workers with the fewest open runs."""
        for job in [job for job in self._queue if job._worker is None]:
            ready = [
                worker
                for worker in self._workers
                if worker.ready and not worker.retiring and len(worker.jobs) < self.runs_per_worker
            ]
            if not ready:
                return
            worker = min(ready, key=lambda w: len(w.jobs))
            worker.jobs.append(job)
            job._worker = worker
            worker.send("train", run_id=job.run_id, config=job.config.to_dict())

    def _on_event(self, worker, event: dict) -> None:
        kind = event.get("event")
        with self._lock:
            run_id = event.get("run_id")
            job = next((j for j in worker.jobs if j.run_id == run_id), None)
            if kind == "progress" and job is not None:
                job._add_point(event["point"])
            elif kind == "checkpoint" and job is not None:
                job._set_checkpoint(int(event["step"]))
            elif kind == "started" and job is not None and job.state == "queued":
                self._queue.remove(job)
                self.stats["trained"] += 1
                job._set_state("training")
            elif kind == "finished" and job is not None:
                worker.jobs.remove(job)
                job._worker = None
                if job.state == "cancelled":
                    pass  # cancelled here already; the worker has now let go of it too
                elif event.get("cancelled"):
                    self._drop_queued(job, "cancelled before it started")
                else:
                    if event.get("stored"):  # another server on this folder trained it
                        job._history_loaded = False  # its history is the stored one
                    self._close_job(job, event.get("summary"), event.get("reason"))
                    if event.get("finish_seconds") is not None:
                        # Smoothed: one slow save on a busy disk should not double every estimate.
                        self.finish_seconds += 0.3 * (event["finish_seconds"] - self.finish_seconds)
                self._dispatch()
            elif kind == "ready":
                worker.ready, worker.rss_mb = True, event.get("rss_mb", 0.0)
                self._start_failures = 0
                self._dispatch()
            elif kind == "retiring":
                worker.retiring = True
                self._dispatch()  # what the retiring worker would have had goes elsewhere
            elif kind == "idle":
                worker.rss_mb = event.get("rss_mb", worker.rss_mb)
                worker.retiring = worker.retiring or bool(event.get("retiring"))
                self._dispatch()

    def _close_job(self, job: Job, summary: dict | None, reason: str | None) -> None:
        if job in self._queue:  # failed before it started (no data, a bad folder)
            self._queue.remove(job)
        self._active.pop(job.run_id, None)
        if summary is not None and summary.get("status") == "done":
            self._speeds.add(job.config, summary)
        job._finish(summary, reason)
        self._remember(job)
        self._forget_models(job.run_id)

    def _drop_queued(self, job: Job, reason: str) -> None:
        if job in self._queue:
            self._queue.remove(job)
        self._active.pop(job.run_id, None)
        job._set_state("cancelled", reason)

    def _on_worker_exit(self, worker, how: str) -> None:
        """A worker has ended; ``how``, in a few words ("signal 9", "its Ray worker process on
        10.0.0.7 died"), goes into the reason of the runs it was training."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            jobs, worker.jobs = worker.jobs, []
            reason = f"the training process ended unexpectedly ({how}); train it again to retry"
            for job in jobs:
                job._worker = None
                if job.state == "cancelled":
                    continue
                if job.state == "queued" and not self._closed:
                    continue  # never started there: it waits in the queue for another worker
                if job.state == "queued":
                    self._drop_queued(job, "the server shut down before it started")
                    continue
                self.store.mark_failed(job.run_id, reason)
                self._close_job(job, None, reason)
            if self._closed:
                return
            if not worker.ready and not worker.retiring and not jobs:
                self._start_failures += 1
            if self._start_failures >= MAX_START_FAILURES:
                self._broken_reason = (
                    f"the training worker cannot start ({how}, {self._start_failures} times in a "
                    f"row); see the server's log"
                )
                log.error("%s", self._broken_reason)
                self._fail_queued(self._broken_reason)
                return
            self._start_worker()
            self._dispatch()

    def _fail_queued(self, reason: str) -> None:
        while self._queue:
            job = self._queue.popleft()
            self._active.pop(job.run_id, None)
            job._finish(None, reason)

    # -- ending ----------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel queued jobs, stop training ones (their partial models are saved), end workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._queue:
                job = self._queue.popleft()
                self._active.pop(job.run_id, None)
                job._set_state("cancelled", "the server shut down before it started")
            workers = list(self._workers)
            for worker in workers:
                for job in worker.jobs:
                    worker.send("stop", run_id=job.run_id)
                worker.send("exit")
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.end(deadline)
        with self._lock:
            self._workers.clear()

    def __enter__(self) -> JobManager:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()

    # -- sweeps (ae_core.sweeps) -------------------------------------------------------------------
    def submit_sweep(self, config: RunConfig, field: str, values: Iterable[Any]) -> Sweep:
        """One run per value of ``field`` (``config.replace(field=value)``), each submitted like
        any run (cached, deduplicated, stored); see ``ae_core.sweeps``."""
        from ae_core.sweeps import submit_sweep

        return submit_sweep(self, config, field, values)
