"""A training worker process, started and fed by ``ae_core.jobs.JobManager``.

    python -m ae_core.worker --runs-dir DIR [--threads N] [--max-runs N] [--max-growth-mb MB]

It imports TensorFlow once, then trains one run at a time as told, writing each run's folder
through the run store. The protocol is JSON lines: commands on stdin (``train``, ``stop``,
``exit``), events on the original stdout (``ready``, ``progress``, ``checkpoint``, ``finished``,
``idle``);
anything else the libraries print goes to stderr. When stdin closes, the manager is gone and the
worker exits at once, so a killed server leaves no orphan training.

Each run leaves native TensorFlow state behind (compiled functions, about 20 MB a run, which no
Python-level clean-up frees), so a worker retires after ``--max-runs`` runs or once it has grown
``--max-growth-mb`` past its size after the first run, and the manager starts a fresh one.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
from typing import IO, Any

# How often a training run rewrites its history file, so an interrupted run keeps most of it.
HISTORY_WRITE_SECONDS = 2.0
# How often it saves the model learned so far, for the app's views of a running run (saving
# the default 784-256-32 net took 25-50 ms here: under 1 % of the training time at this interval).
CHECKPOINT_SECONDS = 5.0


def resident_mb() -> float:
    """This process's resident memory in MB (Linux /proc; elsewhere the peak, a safe over-guess)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def _read_commands(commands: queue.Queue, stops: dict[str, threading.Event]) -> None:
    for line in sys.stdin:
        try:
            message = json.loads(line)
            command = message["command"]
        except (ValueError, KeyError, TypeError):
            print(f"[ae_core.worker] ignoring a malformed command: {line!r}", file=sys.stderr)
            continue
        if command == "train":
            stops[message["run_id"]] = threading.Event()
            commands.put(message)
        elif command == "stop":
            event = stops.get(message["run_id"])
            if event is not None:
                event.set()
        elif command == "exit":
            commands.put(None)
    # stdin closed: the manager died (or was killed); nothing would receive the results.
    os._exit(0)


def _one_sentence(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    from ae_core.config import ConfigError
    from ae_core.data import DataError
    from ae_core.store import StoreError

    if isinstance(error, (ConfigError, DataError, StoreError)):
        return text
    if isinstance(error, OSError) and error.strerror:
        return f"the run could not be saved or read: {error.strerror}"
    return f"training failed with {type(error).__name__}: {text}" if text else type(error).__name__


def _train_one(message: dict, stop: threading.Event, store, channel: _Channel) -> None:
    from ae_core.analysis import run_summary
    from ae_core.config import RunConfig
    from ae_core.data import load_dataset
    from ae_core.trainer import train

    run_id = message["run_id"]
    points: list[dict] = []
    try:
        config = RunConfig.from_dict(message["config"])
        writer = store.begin(config)
    except Exception as error:
        channel.send("finished", run_id=run_id, summary=None, reason=_one_sentence(error))
        return
    with writer:
        last_write = [time.monotonic()]

        def on_progress(progress) -> None:
            point = progress.to_dict()
            points.append(point)
            channel.send("progress", run_id=run_id, point=point)
            if time.monotonic() - last_write[0] > HISTORY_WRITE_SECONDS:
                writer.write_history(points)
                last_write[0] = time.monotonic()

        last_checkpoint = [time.monotonic()]

        def on_chunk(model, step: int) -> None:
            if time.monotonic() - last_checkpoint[0] > CHECKPOINT_SECONDS:
                writer.write_checkpoint(model)
                channel.send("checkpoint", run_id=run_id, step=step)
                last_checkpoint[0] = time.monotonic()

        try:
            dataset = load_dataset(config.dataset)
            result = train(
                config, dataset, on_progress=on_progress, on_chunk=on_chunk, stop_event=stop
            )
            summary = writer.finish(result.model, points, run_summary(result))
        except Exception as error:
            reason = _one_sentence(error)
            steps = points[-1]["step"] if points else 0
            try:
                summary = writer.fail(reason, points, steps)
            except OSError as write_error:
                summary = None
                reason = f"{reason}; the failure could not be recorded either: {write_error}"
            channel.send("finished", run_id=run_id, summary=summary, reason=reason)
            return
    channel.send("finished", run_id=run_id, summary=summary, reason=summary.get("reason"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ae_core.worker")
    parser.add_argument("--runs-dir", required=True)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads; 0: all cores")
    parser.add_argument("--max-runs", type=int, default=25)
    parser.add_argument("--max-growth-mb", type=float, default=600.0)
    parser.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority")
    args = parser.parse_args(argv)

    # The protocol keeps the real stdout; everything printed by libraries goes to stderr.
    channel = _Channel(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if args.nice:
        os.nice(args.nice)

    import tensorflow as tf

    if args.threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import ae_core.trainer  # noqa: F401 -- the slow imports happen before "ready"
    from ae_core.store import RunStore

    store = RunStore(args.runs_dir)
    commands: queue.Queue = queue.Queue()
    stops: dict[str, threading.Event] = {}
    threading.Thread(target=_read_commands, args=(commands, stops), daemon=True).start()
    channel.send("ready", pid=os.getpid(), rss_mb=resident_mb())

    runs, size_after_first = 0, None
    while (message := commands.get()) is not None:
        _train_one(message, stops[message["run_id"]], store, channel)
        stops.pop(message["run_id"], None)
        runs += 1
        size = resident_mb()
        size_after_first = size_after_first or size
        retiring = runs >= args.max_runs or size - size_after_first > args.max_growth_mb
        channel.send("idle", rss_mb=size, runs=runs, retiring=retiring)
        if retiring:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
