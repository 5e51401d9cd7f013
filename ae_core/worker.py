"""A training worker process, started and fed by ``ae_core.jobs.JobManager``.

    python -m ae_core.worker --runs-dir DIR [--threads N] [--max-runs N] [--max-growth-mb MB]

It imports TensorFlow once, then trains the runs it is given, writing each run's folder through
the run store. The protocol is JSON lines: commands on stdin (``train``, ``stop``, ``exit``),
events on the original stdout (``ready``, ``started``, ``progress``, ``checkpoint``,
``finished``, ``retiring``, ``idle``); anything else the libraries print goes to stderr. When
stdin closes, the manager is gone and the worker exits at once, so a killed server leaves no
orphan training. The loop (``serve``) is the same in a Ray actor (``ae_core.ray_workers``):
there the commands arrive as method calls and the events leave through a queue.

Along the way a run keeps snapshots of its weights in its folder (``trainer.SNAPSHOT_FRACTIONS``
of its steps), so the app can show how it learned.

Runs take turns, a chunk each (``ae_core.trainer.RunTraining``): a run given to the worker gets
its first chunk before any run already going gets another, so every student sees a first loss
point within seconds of pressing Train however many are waiting, and then the open runs share
the worker round-robin, so a long run never holds up a short one. Runs of one shape share one
compiled model (``CompiledCache``); taking turns swaps their weights and optimizer state, not
the compiled code.

Each compiled shape leaves native TensorFlow state behind (about 20 MB, which no Python-level
clean-up frees), so a worker retires after ``--max-runs`` runs or once it has grown
``--max-growth-mb`` past its size after the first run, and the manager starts a fresh one.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import queue
import sys
import threading
import time
from typing import IO, Any

# How often a training run rewrites its history file, so an interrupted run keeps most of it.
HISTORY_WRITE_SECONDS = 2.0
# How often it saves the model learned so far, for the app's views of a running run.
CHECKPOINT_SECONDS = 5.0
# How often a run another server is training is looked at, when nothing else is open here.
ELSEWHERE_POLL_SECONDS = 0.5
# Chunk length when runs take turns: a swap costs a few ms, so turns stay near a lone chunk.
SHARED_CHUNK_SECONDS = 0.25


def resident_mb() -> float:
    """This process's resident memory in MB (Linux /proc; elsewhere the peak, a safe over-guess)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def release_freed_memory() -> None:
    """Hand the heap's freed pages back to the system (glibc's ``malloc_trim``).

    A run frees its arrays when it ends, but glibc keeps freed pages in its arenas, fragmented by
    the next run's allocations, so a worker's resident size crept up run after run without
    anything being held. Elsewhere (no glibc) this does nothing."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _Channel:
    """Events to the manager, one JSON line each, from any thread."""

    def __init__(self, stream: IO[str]):
        self._stream, self._lock = stream, threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields})
        try:
            with self._lock:
                self._stream.write(line + "\n")
                self._stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            os._exit(0)  # the manager is gone: nobody wants this run any more


class Inbox:
    """The commands a worker has been sent, from any thread: ``train`` queues a run, ``stop``
    flags one (queued or training), ``exit`` ends the worker once its open runs are done."""

    def __init__(self):
        self.commands: queue.Queue = queue.Queue()
        self.stops: dict[str, threading.Event] = {}

    def put(self, message: dict) -> None:
        command = message["command"]
        if command == "train":
            self.stops[message["run_id"]] = threading.Event()
            self.commands.put(message)
        elif command == "stop":
            event = self.stops.get(message["run_id"])
            if event is not None:
                event.set()
            self.commands.put({"command": "wake"})  # a worker waiting for work looks again
        elif command == "exit":
            self.commands.put(None)
        else:
            raise ValueError(f"unknown command {command!r}")


def _read_commands(inbox: Inbox) -> None:
    for line in sys.stdin:
        try:
            inbox.put(json.loads(line))
        except (ValueError, KeyError, TypeError):
            print(f"[ae_core.worker] ignoring a malformed command: {line!r}", file=sys.stderr)
    # stdin closed: the manager died (or was killed); nothing would receive the results.
    os._exit(0)


def _one_sentence(error: BaseException) -> str:
    from ae_core.data import DataError
    from ae_core.errors import ConfigError, StoreError, first_line

    text = first_line(error)

    if isinstance(error, (ConfigError, DataError, StoreError)):
        return text
    if isinstance(error, OSError) and error.strerror:
        return f"the run could not be saved or read: {error.strerror}"
    return f"training failed with {type(error).__name__}: {text}" if text else type(error).__name__


class _OpenRun:
    """A run this worker has been given: waiting for its first chunk, then taking turns."""

    def __init__(self, message: dict, stop: threading.Event):
        self.message, self.stop = message, stop
        self.run_id: str = message["run_id"]
        self.training = None  # the RunTraining, once begun
        self.writer = None
        self.points: list[dict] = []
        self.last_write = self.last_checkpoint = time.monotonic()
        self.retry_at = 0.0  # while another server trains it: when to look again

    @property
    def begun(self) -> bool:
        return self.training is not None


def _begin(run: _OpenRun, store, channel: _Channel, cache) -> bool | None:
    """Create the run's folder and its training on a compiled model; False (and a ``finished``
    event) when it cannot start or another server finished it already (its result is sent);
    None while another server trains it (try again later, and serve its result then)."""
    from ae_core.config import RunConfig, run_id_for
    from ae_core.continuation import parent_weights
    from ae_core.data import DataError, data_identity, load_dataset
    from ae_core.store import RunBusy, RunFinished, data_record
    from ae_core.trainer import RunTraining

    try:
        config = RunConfig.from_dict(run.message["config"])
        identity = data_identity(config.dataset)
        if run_id_for(config, identity) != run.run_id:
            raise DataError(
                f"this worker reads other {config.dataset} data than the server; restart the "
                "server so both read the same data folder"
            )
        if identity.get("unavailable"):
            record = {"identity": identity, "source": "not available here"}
        else:
            record = data_record(load_dataset(config.dataset))
        weights = None if config.parent is None else parent_weights(store, config, identity)
        run.writer = store.begin(config, record)
    except RunBusy:
        return None
    except RunFinished as finished:
        channel.send("finished", run_id=run.run_id, summary=finished.record.summary, stored=True)
        return False
    except Exception as error:
        channel.send("finished", run_id=run.run_id, summary=None, reason=_one_sentence(error))
        return False
    channel.send("started", run_id=run.run_id)
    try:
        dataset = load_dataset(config.dataset)  # raises the loader's reason for unavailable data
    except Exception as error:
        _fail(run, error, channel)
        return False

    def on_progress(progress) -> None:
        point = progress.to_dict()
        run.points.append(point)
        channel.send("progress", run_id=run.run_id, point=point)
        if time.monotonic() - run.last_write > HISTORY_WRITE_SECONDS:
            run.writer.write_history(run.points)
            run.last_write = time.monotonic()

    def on_chunk(model, step: int) -> None:
        if time.monotonic() - run.last_checkpoint > CHECKPOINT_SECONDS:
            run.writer.write_checkpoint(model)
            channel.send("checkpoint", run_id=run.run_id, step=step)
            run.last_checkpoint = time.monotonic()

    try:
        run.training = RunTraining(
            config,
            dataset,
            cache.get(config, dataset),
            on_progress=on_progress,
            on_chunk=on_chunk,
            parent_weights=weights,
            on_snapshot=run.writer.write_snapshot,
        )
    except Exception as error:
        _fail(run, error, channel)
        return False
    return True


def _fail(run: _OpenRun, error: BaseException, channel: _Channel) -> None:
    reason = _one_sentence(error)
    steps = run.points[-1]["step"] if run.points else 0
    from ae_core.errors import StoreError

    try:
        summary = run.writer.fail(reason, run.points, steps)
    except (OSError, StoreError) as write_error:
        summary = None
        reason = f"{reason}; the failure could not be recorded either: {write_error}"
    finally:
        run.writer.close()
    channel.send("finished", run_id=run.run_id, summary=summary, reason=reason)


def _advance(run: _OpenRun, channel: _Channel, chunk_seconds: float) -> bool:
    """One chunk of ``run``; when it has finished, store it and say so. True once it is over."""
    from ae_core.analysis import run_summary

    try:
        run.training.chunk_seconds = chunk_seconds
        if not run.training.advance(run.stop.is_set()):
            return False
        finishing = time.monotonic()
        result = run.training.result()
        summary = run.writer.finish(result.model, run.points, run_summary(result))
    except Exception as error:
        _fail(run, error, channel)
        return True
    run.writer.close()
    channel.send(
        "finished",
        run_id=run.run_id,
        summary=summary,
        reason=summary.get("reason"),
        finish_seconds=time.monotonic() - finishing,
    )
    return True


def _next_run(runs: list[_OpenRun], turn: int) -> _OpenRun:
    """A run not yet begun first (its first point matters most; one another server trains, when
    it is time to look again), else the next in turn."""
    now = time.monotonic()
    for run in runs:
        if not run.begun and run.retry_at <= now:
            return run
    begun = [run for run in runs if run.begun]
    if begun:
        return begun[turn % len(begun)]
    return min(runs, key=lambda run: run.retry_at)


def start_tensorflow(threads: int, nice: int) -> None:
    """Import TensorFlow with ``threads`` threads (0: all cores) at CPU priority ``nice``
    lower, and the training modules, so the worker is ready to train."""
    if nice:
        os.nice(nice)
    import tensorflow as tf

    if threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import ae_core.store  # noqa: F401
    import ae_core.trainer  # noqa: F401


def serve(channel, inbox: Inbox, runs_dir: str, max_runs: int, max_growth_mb: float) -> int:
    """Train the runs ``inbox`` is given, reporting on ``channel`` (anything with
    ``send(event, **fields)``), until told to exit or retired; the exit code."""
    from ae_core.store import RunStore
    from ae_core.trainer import CHUNK_SECONDS, CompiledCache

    store = RunStore(runs_dir)
    cache = CompiledCache()
    commands, stops = inbox.commands, inbox.stops
    channel.send("ready", pid=os.getpid(), rss_mb=resident_mb())
    runs: list[_OpenRun] = []
    finished_runs, size_after_first, turn = 0, None, 0
    exiting = retiring = False
    while True:
        # Take every command waiting; block only when there is nothing to train.
        while True:
            try:
                message = commands.get(block=not runs and not exiting)
            except queue.Empty:
                break
            if message is None:
                exiting = True
            elif message.get("command") == "train":
                runs.append(_OpenRun(message, stops[message["run_id"]]))
            if not runs and exiting:
                break
        if exiting and not runs:
            return 0
        if not runs:
            continue
        run = _next_run(runs, turn)
        if not run.begun and run.stop.is_set():
            # Cancelled before it started: nothing was written, nothing to report but that.
            channel.send("finished", run_id=run.run_id, summary=None, cancelled=True)
            over = True
        elif not run.begun and (begun := _begin(run, store, channel, cache)) is not True:
            over = begun is False
            if begun is None:  # another server trains it: look again later, serve its result
                run.retry_at = time.monotonic() + ELSEWHERE_POLL_SECONDS
                if not any(other.begun for other in runs):
                    time.sleep(ELSEWHERE_POLL_SECONDS)
        else:
            chunk_seconds = SHARED_CHUNK_SECONDS if len(runs) > 1 else CHUNK_SECONDS
            over = _advance(run, channel, chunk_seconds)
            turn += 1
        if not over:
            continue
        runs.remove(run)
        stops.pop(run.run_id, None)
        if run.begun:
            finished_runs += 1
            release_freed_memory()
            size = resident_mb()
            size_after_first = size_after_first or size
            grown = size - size_after_first > max_growth_mb
            if not retiring and (finished_runs >= max_runs or grown):
                # No new runs from now on; the open ones finish here, then the process ends.
                retiring = True
                channel.send("retiring", rss_mb=size, runs=finished_runs)
        if not runs:
            channel.send("idle", rss_mb=resident_mb(), runs=finished_runs, retiring=retiring)
            if retiring:
                return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ae_core.worker")
    parser.add_argument("--runs-dir", required=True)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads; 0: all cores")
    parser.add_argument("--max-runs", type=int, default=500)
    parser.add_argument("--max-growth-mb", type=float, default=600.0)
    parser.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority")
    args = parser.parse_args(argv)

    # The protocol keeps the real stdout; everything printed by libraries goes to stderr.
    channel = _Channel(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    start_tensorflow(args.threads, args.nice)  # the slow imports happen before "ready"
    inbox = Inbox()
    threading.Thread(target=_read_commands, args=(inbox,), daemon=True).start()
    return serve(channel, inbox, args.runs_dir, args.max_runs, args.max_growth_mb)


if __name__ == "__main__":
    sys.exit(main())
