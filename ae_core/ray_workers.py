"""The Ray backend (``AE_BACKEND=ray``): training workers as Ray actors on a Ray cluster.

Only this module imports Ray, an optional extra (``pip install -r requirements-ray.txt``).

Each worker is a ``TrainingActor`` holding one CPU on some node of the cluster. It runs the loop
of a local worker process (``ae_core.worker.serve``): the same engine, the same turns between
runs, the same atomic writes into the run store, whose folder every node must therefore see at
the same path (a shared filesystem whose locks work across machines, such as NFSv4 or CephFS:
the lock file of a run is how two processes never train it twice). The actor gets this server's
``ae_core`` (a Ray ``py_modules`` upload, so every node trains with the server's code) and its
data settings, made absolute.

Commands reach the actor as method calls, in order (one concurrency group of one thread); its
events come back in batches through a long poll, read by one thread here per actor. When an
actor dies (its process killed, its node lost), the poll fails: the manager fails that actor's
runs with the reason, and they can be submitted again, and starts a replacement. The actors
belong to this server: when it exits, Ray ends them, and their unfinished runs show as
interrupted to the next server, as with local worker processes.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

import ae_core
from ae_core.backends import Worker
from ae_core.errors import ConfigError, first_line

if TYPE_CHECKING:
    from ae_core.jobs import JobManager

log = logging.getLogger(__name__)

# How long one poll for events waits in the actor when there are none (so a closing server's
# readers notice within about this long).
EVENT_POLL_SECONDS = 0.5
# How long a cluster's address has to answer at all.
REACH_SECONDS = 5.0
# The forms of AE_RAY_ADDRESS, for messages.
ADDRESS_FORMS = "auto, host:6379 or ray://host:10001"
# Settings of this server every worker must share: the data (a run id names its digits) and
# the quiet TensorFlow logs.
FORWARDED_SETTINGS = ("AE_DATA_DIR", "AE_OFFLINE", "TF_CPP_MIN_LOG_LEVEL")
_connect_lock = threading.Lock()


def connect(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (``auto``: the one started on this machine with
    ``ray start``; ``host:6379`` or ``ray://host:10001``: another machine's), or with no address,
    start one on this machine for this process (never Ray's guess of a running one, which may be
    a cluster long gone). Once per process; ConfigError in one sentence when no cluster answers.
    This server's ``ae_core`` goes to every node with the connection (when this process was
    already connected by someone else, the nodes must have ``ae_core`` importable themselves)."""
    with _connect_lock:
        if ray.is_initialized():
            return
        _check_reachable(address)
        try:
            _init_in_a_lasting_thread(
                address=address or "local",
                namespace="autoencoder-lab",
                runtime_env={"py_modules": [str(Path(ae_core.__file__).parent)]},
                log_to_driver=False,  # the workers' TensorFlow chatter stays in Ray's logs
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
            raise ConfigError(
                "AE_RAY_ADDRESS",
                f"this server could not join the Ray cluster at AE_RAY_ADDRESS={address!r} "
                f"({first_line(error)}): start one with `ray start --head`, and give this server "
                f"its address ({ADDRESS_FORMS}), the same Ray version and its token "
                "(RAY_AUTH_MODE=token with RAY_AUTH_TOKEN, or ~/.ray/auth_token)",
            ) from None


def _init_in_a_lasting_thread(**options: Any) -> None:
    """``ray.init(**options)`` from a thread that lives as long as this process. The processes of
    a cluster Ray starts here are killed when the thread that started them ends (Linux's
    parent-death signal is per thread), and a Streamlit page's script thread ends with the run
    of its script: a cluster started there died a minute later."""
    outcome: dict[str, BaseException | None] = {}
    joined = threading.Event()

    def init_and_stay() -> None:
        try:
            ray.init(**options)
            outcome["error"] = None
        except BaseException as error:
            outcome["error"] = error
        joined.set()
        if outcome["error"] is None:
            threading.Event().wait()  # stays, the parent of the cluster's processes

    threading.Thread(target=init_and_stay, name="ae-ray-cluster", daemon=True).start()
    joined.wait()
    if outcome["error"] is not None:
        raise outcome["error"]


def _check_reachable(address: str | None) -> None:
    """Refuse at once an address where nothing listens: Ray itself waits a minute or more."""
    if not address or address in ("auto", "local"):
        return  # found, or started, on this machine by Ray
    host_port = address.removeprefix("ray://").rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            "AE_RAY_ADDRESS",
            f"AE_RAY_ADDRESS={address!r} is not valid: use {ADDRESS_FORMS}",
        )
    try:
        socket.create_connection((host, int(port)), timeout=REACH_SECONDS).close()
    except OSError as error:
        raise ConfigError(
            "AE_RAY_ADDRESS",
            f"no Ray cluster answered at AE_RAY_ADDRESS={address!r} ({error.strerror or error}); "
            f"start one with `ray start --head`, or give its address: {ADDRESS_FORMS}",
        ) from None


class Backend:
    """Ray actors on the Ray cluster at ``address`` (``AE_BACKEND=ray``)."""

    name = "ray"

    def __init__(self, address: str | None = None):
        self.address = address

    def connect(self) -> None:
        connect(self.address)

    def default_worker_count(self) -> int:
        """One worker per CPU of the cluster as it is now."""
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def default_threads(self) -> int:
        return 0  # every core of the node a worker lands on, which only the worker knows

    def start_worker(self, manager: JobManager, number: int) -> RayWorker:
        return RayWorker(manager, number)

    def describe(self, workers: int) -> str:
        """Where ``workers`` workers train, for a person."""
        where = f"at {self.address}" if self.address else "this server started on this machine"
        return f"{workers} worker{'s' if workers != 1 else ''} on the Ray cluster {where}"


def _worker_settings() -> dict:
    settings = {name: os.environ[name] for name in FORWARDED_SETTINGS if name in os.environ}
    if settings.get("AE_DATA_DIR", "").strip():
        # A worker's working folder is Ray's, not this server's.
        settings["AE_DATA_DIR"] = str(Path(settings["AE_DATA_DIR"].strip()).expanduser().absolute())
    return settings


class _EventQueue:
    """The channel ``ae_core.worker.serve`` reports on, read by ``TrainingActor.events``: each
    event numbered, from 1."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        if event == "ready":
            fields["node"] = ray.util.get_node_ip_address()
            fields["node_id"] = ray.get_runtime_context().get_node_id()
        with self._lock:  # numbered in the order they are queued
            self.events.put({"event": event, **fields, "number": next(self._numbers)})


@ray.remote(
    num_cpus=1,
    max_restarts=0,  # a lost worker's runs fail with the reason; the manager starts another
    max_task_retries=0,
    concurrency_groups={"commands": 1, "events": 1},
)
class TrainingActor:
    """A training worker on a Ray node: ``ae_core.worker.serve`` in a thread of its own."""

    def __init__(self, runs_dir: str, threads: int, max_runs: int, max_growth_mb: float, nice: int):
        from ae_core import worker

        worker.start_tensorflow(threads, nice)
        self._channel, self._inbox = _EventQueue(), worker.Inbox()

        def serve() -> None:
            try:
                code = worker.serve(self._channel, self._inbox, runs_dir, max_runs, max_growth_mb)
            except BaseException as error:  # the loop reports a run's error; this is the loop's
                log.exception("the training loop failed")
                self._channel.send("exited", code=1, reason=first_line(error))
            else:
                self._channel.send("exited", code=code)

        # Events sent to the server and not yet confirmed by it (the events group's one thread
        # is the only one to touch it).
        self._unconfirmed: collections.deque[dict] = collections.deque()
        threading.Thread(target=serve, name="ae-training", daemon=True).start()

    @ray.method(concurrency_group="commands")
    def command(self, message: dict) -> None:
        self._inbox.put(message)

    @ray.method(concurrency_group="events")
    def events(self, after: int, timeout: float) -> list[dict]:
        """The events numbered after ``after`` (the last one the server has), waiting up to
        ``timeout`` seconds when there are none. An answer the server never got (the network
        failed) is sent again with the next call, so no event is lost."""
        while self._unconfirmed and self._unconfirmed[0]["number"] <= after:
            self._unconfirmed.popleft()
        if not self._unconfirmed:
            try:
                self._unconfirmed.append(self._channel.events.get(timeout=timeout))
            except queue.Empty:
                return []
        while True:
            try:
                self._unconfirmed.append(self._channel.events.get_nowait())
            except queue.Empty:
                return list(self._unconfirmed)


class RayWorker(Worker):
    """One ``TrainingActor`` and the thread here that reads its events. Its ``pid`` is the
    actor's process, on ``node``, once it is ready."""

    def __init__(self, manager: JobManager, number: int):
        super().__init__(manager, number)
        self.node: str | None = None  # its node's address and Ray id
        self.node_id: str | None = None
        self._ended = threading.Event()
        options = manager.worker_options
        self.actor = TrainingActor.options(runtime_env={"env_vars": _worker_settings()}).remote(
            str(manager.store.root),
            options["threads"],  # 0: every core of the node it lands on
            options["max_runs"],
            options["max_growth_mb"],
            options["nice"],
        )
        self.thread = threading.Thread(
            target=self._read_events, name=f"ae-ray-worker-{number}", daemon=True
        )
        self.thread.start()

    def send(self, command: str, **fields: Any) -> None:
        # Not waited for: a dead actor's calls fail, and its event reader reports that.
        self.actor.command.remote({"command": command, **fields})

    def end(self, deadline: float) -> None:
        """Wait for the actor to finish (it was sent ``exit``) until ``deadline`` (monotonic
        time), then end it. One still waiting for a CPU of the cluster has nothing to finish."""
        if self.ready:
            self._ended.wait(max(0.0, deadline - time.monotonic()))
        ray.kill(self.actor, no_restart=True)
        self.thread.join(max(0.0, deadline - time.monotonic()))

    def _read_events(self) -> None:
        how = "its Ray worker ended"
        last = 0  # the number of the last event applied
        pending = self.actor.events.remote(last, EVENT_POLL_SECONDS)
        while not self._ended.is_set():
            try:
                batch = ray.get(pending, timeout=EVENT_POLL_SECONDS * 4)
            except GetTimeoutError:
                continue  # waiting for a CPU on the cluster, or a slow network: keep waiting
            except ActorUnavailableError:
                time.sleep(EVENT_POLL_SECONDS)  # unreachable for now; it may come back
                pending = self.actor.events.remote(last, EVENT_POLL_SECONDS)
                continue
            except RayActorError as error:
                how = self._death(error)
                break
            fresh = [event for event in batch if event["number"] > last]  # not sent again
            last = fresh[-1]["number"] if fresh else last
            pending = self.actor.events.remote(last, EVENT_POLL_SECONDS)
            for event in fresh:
                if event.get("event") == "ready":
                    self.pid, self.node = event.get("pid"), event.get("node")
                    self.node_id = event.get("node_id")
                if event.get("event") == "exited":
                    how = f"exit code {event.get('code', 0)}"
                    if event.get("reason"):
                        how += f": {event['reason']}"
                    self._ended.set()
                    break
                self.manager._on_event(self, event)
        self._ended.set()
        ray.kill(self.actor, no_restart=True)
        self.manager._on_worker_exit(self, how)

    def _death(self, error: RayActorError) -> str:
        """What ended the actor, in a few words for a run's reason."""
        text = str(error)
        if getattr(error, "actor_init_failed", False) or not self.ready:
            cause = next((line for line in text.splitlines()[::-1] if line.strip()), text)
            return f"its Ray worker could not start: {cause.strip()[:300]}"
        where = self.node or "a node of the cluster"
        if "node has died" in text or "node died" in text:
            return f"the Ray node {where} it ran on was lost"
        return f"its Ray worker process on {where} died"
