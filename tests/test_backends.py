"""Choosing where runs train (``AE_BACKEND``): the settings' rules, and Ray only when asked for.

These need no Ray: the Ray backend itself is tested in test_ray_backend.py.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ae_core import backends
from ae_core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_local_backend_is_the_default_and_takes_no_address(monkeypatch):
    monkeypatch.delenv("AE_BACKEND", raising=False)
    monkeypatch.setenv("AE_RAY_ADDRESS", "ray://elsewhere:10001")
    backend = backends.choose_backend()
    assert backend.name == "local"
    assert backend.default_worker_count() == backend.default_threads() >= 1
    monkeypatch.setenv("AE_BACKEND", " local ")
    assert backends.choose_backend().name == "local"
    assert backend.describe(1) == "1 worker process on this machine"
    assert backend.describe(2) == "2 worker processes on this machine"


@pytest.mark.parametrize("name", ["Ray", "threads", "local,ray"])
def test_an_unknown_backend_is_refused_naming_the_setting_and_the_choices(monkeypatch, name):
    monkeypatch.setenv("AE_BACKEND", name)
    with pytest.raises(ConfigError) as refused:
        backends.choose_backend()
    assert refused.value.field == "AE_BACKEND"
    assert str(refused.value) == f"AE_BACKEND={name!r} is not valid: use local or ray"


def test_ray_not_installed_says_how_to_install_it(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "ray" else real_find_spec(name, *rest),
    )
    with pytest.raises(ConfigError, match="pip install -r requirements-ray.txt") as refused:
        backends.choose_backend("ray", "auto")
    assert "AE_BACKEND=ray needs ray, which is not installed here" in str(refused.value)
    assert (REPO_ROOT / "requirements-ray.txt").is_file()


@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is not installed: nothing to check"
)
@pytest.mark.parametrize(
    "address, words",
    [
        ("127.0.0.1:1", "no Ray cluster answered at AE_RAY_ADDRESS='127.0.0.1:1'"),
        ("ray://127.0.0.1:1", "no Ray cluster answered at AE_RAY_ADDRESS='ray://127.0.0.1:1'"),
        ("just-a-host", "AE_RAY_ADDRESS='just-a-host' is not valid: use auto, host:6379"),
    ],
)
def test_a_cluster_address_where_nothing_answers_is_refused_at_once(address, words):
    # In a process of its own: joining a cluster is once per process.
    script = (
        "import time\n"
        "from ae_core.jobs import JobManager\n"
        "started = time.monotonic()\n"
        "try:\n"
        f"    JobManager(backend='ray', ray_address={address!r})\n"
        "except ValueError as error:\n"
        "    print(round(time.monotonic() - started, 1), error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    seconds, _, message = result.stdout.strip().partition(" ")
    assert words in message, result.stdout + result.stderr[-2000:]
    assert float(seconds) < 10


def test_the_local_backend_never_imports_ray(tmp_path):
    script = (
        "import sys\n"
        "from ae_core.config import make_config\n"
        "from ae_core.jobs import JobManager\n"
        "with JobManager(sys.argv[1], workers=1) as manager:\n"
        "    config = make_config('linear', dataset='digits', code_size=2, steps=20, seed=3)\n"
        "    job = manager.submit(config)\n"
        "    job.wait(120)\n"
        "    print(job.state, 'ray' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "AE_BACKEND": ""},
        timeout=300,
    )
    assert result.stdout.split() == ["done", "False"], result.stderr[-2000:]
