"""Where runs train: the backends a ``JobManager`` sends runs to, chosen by server settings.

    AE_BACKEND=local  worker processes on this machine (``ae_core.local_workers``), the default
    AE_BACKEND=ray    Ray actors on a Ray cluster (``ae_core.ray_workers``) at AE_RAY_ADDRESS

A backend's module defines ``Backend(address)``, with ``name``, ``connect()``,
``default_worker_count()``, ``default_threads()`` (0: every core of the worker's machine),
``start_worker(manager, number)`` and ``describe(workers)`` (where they train, for a person).
Every backend's worker is a ``Worker``: it runs the same loop (``ae_core.worker.serve``)
somewhere, reports the same events to ``JobManager._on_event`` and its end, in a few words, to
``JobManager._on_worker_exit``. A new backend is one more module and one more line below.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import TYPE_CHECKING, Any

from ae_core.errors import ConfigError

if TYPE_CHECKING:
    from ae_core.jobs import Job, JobManager


class Worker:
    """One worker, as the job manager sees it whatever the backend: the jobs given to it and not
    yet finished, whether it has said it is ready or is retiring, its size as last reported,
    its process id (None until known). A backend's worker adds ``send(command, **fields)`` (a
    ``train``, ``stop`` or ``exit`` command, not waited for) and ``end(deadline)`` (wait until
    ``deadline``, monotonic time, for it to finish after ``exit``, then end it)."""

    pid: int | None = None

    def __init__(self, manager: JobManager, number: int):
        self.manager, self.number = manager, number
        self.jobs: list[Job] = []
        self.ready = False
        self.retiring = False
        self.rss_mb = 0.0


# Backend name -> its module, imported only when that backend is chosen.
BACKEND_MODULES = {"local": "ae_core.local_workers", "ray": "ae_core.ray_workers"}
# Backend name -> (the package it needs beyond requirements.txt, the file that installs it).
EXTRA_REQUIREMENTS = {"ray": ("ray", "requirements-ray.txt")}
DEFAULT_BACKEND = "local"


def choose_backend(name: str | None = None, address: str | None = None) -> Any:
    """The backend named (else ``$AE_BACKEND``, else local), for the address given (else
    ``$AE_RAY_ADDRESS``); ConfigError in one sentence for a name we do not know, or a backend
    whose package is not installed."""
    if name is None:
        name = os.environ.get("AE_BACKEND", "").strip() or DEFAULT_BACKEND
    if name not in BACKEND_MODULES:
        allowed = " or ".join(BACKEND_MODULES)
        raise ConfigError("AE_BACKEND", f"AE_BACKEND={name!r} is not valid: use {allowed}")
    if name in EXTRA_REQUIREMENTS:
        package, requirements = EXTRA_REQUIREMENTS[name]
        if importlib.util.find_spec(package) is None:
            raise ConfigError(
                "AE_BACKEND",
                f"AE_BACKEND={name} needs {package}, which is not installed here: pip install -r "
                f"{requirements} (or use AE_BACKEND={DEFAULT_BACKEND})",
            )
    if address is None:
        address = os.environ.get("AE_RAY_ADDRESS", "").strip() or None
    return importlib.import_module(BACKEND_MODULES[name]).Backend(address)
