"""The local backend: training worker processes on this machine (``python -m ae_core.worker``).

Each worker is a child process fed JSON-line commands on its stdin and read for JSON-line
events on its stdout by one thread here; when the server dies, the worker's stdin closes and it
exits, so a killed server leaves no orphan training. See ``ae_core.backends`` for what every
backend's worker gives the job manager.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ae_core.backends import Worker

if TYPE_CHECKING:
    from ae_core.jobs import JobManager

log = logging.getLogger(__name__)


def core_count() -> int:
    """The cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Backend:
    """Worker processes on this machine (``AE_BACKEND=local``, the default)."""

    name = "local"

    def __init__(self, address: str | None = None):
        pass  # nothing to reach: the workers are this machine's processes

    def connect(self) -> None:
        pass

    def default_worker_count(self) -> int:
        """One worker per core: on small nets one TensorFlow process cannot keep two cores
        busy, so two workers train more runs per second than one."""
        return core_count()

    def default_threads(self) -> int:
        return core_count()

    def start_worker(self, manager: JobManager, number: int) -> LocalWorker:
        return LocalWorker(manager, number)

    def describe(self, workers: int) -> str:
        """Where ``workers`` workers train, for a person."""
        return f"{workers} worker process{'es' if workers != 1 else ''} on this machine"


class LocalWorker(Worker):
    """One worker process and the thread that reads its events."""

    def __init__(self, manager: JobManager, number: int):
        super().__init__(manager, number)
        self._send_lock = threading.Lock()
        package_parent = str(Path(__file__).resolve().parents[1])
        python_path = os.environ.get("PYTHONPATH", "")
        environment = {
            **os.environ,
            "PYTHONPATH": package_parent + (os.pathsep + python_path if python_path else ""),
        }
        options = manager.worker_options
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ae_core.worker",
                "--runs-dir",
                str(manager.store.root),
                "--threads",
                str(options["threads"]),
                "--max-runs",
                str(options["max_runs"]),
                "--max-growth-mb",
                str(options["max_growth_mb"]),
                "--nice",
                str(options["nice"]),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.thread = threading.Thread(
            target=self._read_events, name=f"ae-worker-{number}", daemon=True
        )
        self.thread.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, command: str, **fields: Any) -> None:
        try:
            with self._send_lock:
                self.process.stdin.write(json.dumps({"command": command, **fields}) + "\n")
                self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process is gone; its event reader reports that

    def end(self, deadline: float) -> None:
        """Wait for the process to exit (it was sent ``exit``) until ``deadline`` (monotonic
        time), then kill it."""
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.thread.join(max(0.0, deadline - time.monotonic()))

    def _read_events(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("worker %d sent a malformed line: %r", self.number, line)
                continue
            self.manager._on_event(self, event)
        code = self.process.wait()
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        self.manager._on_worker_exit(self, how)
