"""The run store survives SIGKILL: of the server mid-training, and of a writer mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ae_core.config import make_config
from ae_core.jobs import JobManager
from ae_core.store import RunStore

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"dataset": "digits", "hidden": (16,), "code_size": 4, "steps": 60}
ENDLESS_STEPS = 1_000_000

# A server: one finished run, then one training run whose history has reached the disk.
# Arguments: the runs folder, then (optionally) more JobManager options as a JSON object.
SERVER = textwrap.dedent(
    """
    import json, sys, time
    from ae_core.config import make_config
    from ae_core.jobs import JobManager

    settings = {settings!r}
    options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {{}}
    manager = JobManager(sys.argv[1], workers=1, **options)
    finished = manager.submit(make_config("stacked", **settings, seed=1))
    finished.wait()
    training = manager.submit(make_config("stacked", **{{**settings, "steps": {endless}}}, seed=2))
    while not manager.store.load_history(training.run_id):
        time.sleep(0.05)
    print(finished.run_id, training.run_id, manager.worker_pids()[0], flush=True)
    time.sleep(600)
    """
).format(settings=SETTINGS, endless=ENDLESS_STEPS)

# A writer that stalls (and is killed) just before it renames one file into place.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    from ae_core.analysis import run_summary
    from ae_core.config import make_config
    from ae_core.store import RunStore
    from ae_core.trainer import train

    store, stalled_file = RunStore(sys.argv[1]), sys.argv[2]
    real_replace = os.replace

    def stalling_replace(source, target):
        if os.path.basename(target) == stalled_file:
            print(first.run_id, second.run_id, flush=True)
            time.sleep(600)
        real_replace(source, target)

    def save(config, stall):
        result = train(config)
        writer = store.begin(config)
        os.replace = stalling_replace if stall else real_replace
        writer.finish(result.model, [p.to_dict() for p in result.history], run_summary(result))
        writer.close()

    first, second = (make_config("stacked", **{settings!r}, seed=s) for s in (1, 2))
    save(first, stall=False)
    save(second, stall=True)
    """
).format(settings=SETTINGS)


def start(script: str, *args: str) -> tuple[subprocess.Popen, list[str]]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=environment
    )
    line = process.stdout.readline()
    assert line, f"the child process ended early (exit code {process.wait()})"
    return process, line.split()


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


def process_gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_server_killed_mid_training_loses_nothing_finished(tmp_path):
    server, (finished_id, training_id, worker_pid) = start(SERVER, str(tmp_path))
    kill(server)
    deadline = time.monotonic() + 10
    while not process_gone(int(worker_pid)):
        assert time.monotonic() < deadline, "the worker outlived its server"
        time.sleep(0.05)

    store = RunStore(tmp_path)
    # A dead process's last threads take a moment to go, and its lock with them.
    while store.get(training_id).status == "training":
        assert time.monotonic() < deadline + 10, "the dead worker's lock was never released"
        time.sleep(0.05)
    records = {record.run_id: record for record in store.scan()}
    assert store.problems == []
    assert set(records) == {finished_id, training_id}
    assert records[finished_id].status == "done"
    model = store.load_model(finished_id)
    assert model.run_config.run_id == finished_id
    assert len(store.load_history(finished_id)) > 0
    interrupted = records[training_id]
    assert interrupted.status == "interrupted" and "ended before it finished" in interrupted.reason
    assert store.load_history(training_id), "the history written during training is kept"

    with JobManager(tmp_path, workers=1) as restarted:
        assert restarted.interrupted == [training_id]
        assert restarted.submit(make_config("stacked", **SETTINGS, seed=1)).state == "done"
        again = restarted.submit(
            make_config("stacked", **{**SETTINGS, "steps": ENDLESS_STEPS}, seed=2)
        )
        assert again.state in ("queued", "training"), "an interrupted run trains again"
        deadline = time.monotonic() + 60
        while again.snapshot().step == 0:
            assert time.monotonic() < deadline, "the run did not start training again"
            time.sleep(0.05)
        again.stop()
        assert again.wait(60) and again.state == "stopped"


@pytest.mark.parametrize("stalled_file", ["model.keras", "history.json", "summary.json"])
def test_a_writer_killed_mid_write_leaves_an_interrupted_run_and_no_debris(tmp_path, stalled_file):
    writer, (complete_id, half_written_id) = start(WRITER, str(tmp_path), stalled_file)
    kill(writer)
    folder = tmp_path / half_written_id
    leftovers = [p.name for p in folder.iterdir() if ".tmp-" in p.name]
    assert leftovers, "the kill came between writing a temporary file and renaming it"
    assert not (folder / "summary.json").exists()

    store = RunStore(tmp_path)
    records = {record.run_id: record for record in store.scan()}
    assert store.problems == []
    assert records[complete_id].status == "done"
    store.load_model(complete_id)
    assert records[half_written_id].status == "interrupted"
    assert not [p.name for p in folder.iterdir() if ".tmp-" in p.name], "debris removed"

    # The interrupted run can be trained again into the same place.
    again = store.begin(make_config("stacked", **SETTINGS, seed=2))
    again.close()
    assert store.get(half_written_id).status == "interrupted"
