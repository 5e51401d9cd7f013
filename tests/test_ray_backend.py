"""The job manager on the Ray backend (``AE_BACKEND=ray``), against a Ray cluster on this machine.

The cluster is started here as people start one (``ray start --head``, with 4 logical CPUs on
127.0.0.1) and joined through its address, as a server with ``AE_RAY_ADDRESS`` joins it. The
tests that matter of ``test_jobs.py`` run again on it: dedup under concurrent submits, stop,
queue and cancel, a killed worker, a sweep; then a node lost, a server killed mid-run, two
servers sharing one run store, an answer lost on the network, a cluster started for a server
from a page's thread, and a server joining through Ray Client (``ray://``). Skipped, saying
so, where Ray is not installed; CI installs it (requirements-dev.txt).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# The test cluster's token, which Ray reads when it is imported: this process and every one it
# starts (the cluster's head, a server) share it, as the README says to for app servers and nodes.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))

pytest.importorskip(
    "ray",
    reason="Ray is not installed (pip install -r requirements-ray.txt): the Ray backend's "
    "tests are skipped",
)

from test_durability import SERVER  # noqa: E402
from test_jobs import (  # noqa: E402
    ENDLESS_STEPS,
    TINY,
    check_two_servers_train_once,
    submit_together,
    tiny,
    training_started,
    wait_done,
    wait_until,
)

from ae_core.jobs import JobManager  # noqa: E402
from ae_core.store import RunStore  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
# Logical CPUs of the test cluster: the module's manager's two workers, and two more for the
# tests that start managers of their own (this machine has two cores; Ray does not mind).
CLUSTER_CPUS = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The test cluster's Ray Client port (``ray://127.0.0.1:CLIENT_PORT``).
CLIENT_PORT = _free_port()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a Ray cluster on this machine, ended with the module; its Ray Client
    address (``ray://``) is ``client_address``'s."""
    import ray

    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _start_node(
        tmp_path_factory.mktemp("ray") / "head.log",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--ray-client-server-port={CLIENT_PORT}",
        f"--num-cpus={CLUSTER_CPUS}",
        "--include-dashboard=false",
    )
    try:
        yield address
    finally:
        ray.shutdown()
        # At once: on SIGTERM a head drains for 30 s first. Its raylet's workers end with it.
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


def _start_node(log_path: Path, *options: str) -> subprocess.Popen:
    """``ray start OPTIONS`` in a process group of its own, which the node lives as long as;
    returned once the node runs."""
    with open(log_path, "w") as log:
        node = subprocess.Popen(
            [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *options]
            + ["--object-store-memory=100000000", "--disable-usage-stats"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while "Ray runtime started" not in log_path.read_text():
        if node.poll() is not None or time.monotonic() > deadline:
            os.killpg(node.pid, signal.SIGKILL)
            raise AssertionError(f"ray start failed:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return node


@pytest.fixture(scope="module")
def manager(cluster, tmp_path_factory):
    with JobManager(
        tmp_path_factory.mktemp("runs"), workers=2, backend="ray", ray_address=cluster
    ) as shared:
        yield shared


def test_concurrent_submits_train_each_config_once_with_the_local_backends_numbers(manager):
    from ae_core.analysis import run_summary
    from ae_core.trainer import train

    distinct = [tiny(seed) for seed in range(1100, 1104)]
    handles = submit_together(manager, [distinct[i % len(distinct)] for i in range(12)])
    for handle in handles:
        wait_done(handle)

    assert manager.backend.name == "ray"
    where = manager.backend.describe(2)
    assert where == f"2 workers on the Ray cluster at {manager.backend.address}"
    assert manager.stats["trained"] == len(distinct)
    assert {handle.state for handle in handles} == {"done"}
    assert len({id(handle) for handle in handles}) == len(distinct), "duplicates share a job"
    # The workers were Ray actors, in processes of their own.
    assert len(manager.worker_pids()) == 2 and os.getpid() not in manager.worker_pids()
    records = {r.run_id: r for r in RunStore(manager.store.root).scan()}
    assert {records[c.run_id].status for c in distinct} == {"done"}
    # Same run id, same numbers: the Ray workers train what this process trains alone.
    alone = run_summary(train(distinct[0]))
    job = manager.get(distinct[0].run_id)
    assert job.summary["test_mse"] == pytest.approx(alone["test_mse"], rel=1e-5)
    assert job.summary["train_loss"] == pytest.approx(alone["train_loss"], rel=1e-5)
    assert job.snapshot().history[-1]["step"] == TINY["steps"]


def test_stop_keeps_the_partial_model_and_a_new_submission_trains_again(manager):
    config = tiny(1200, steps=ENDLESS_STEPS)
    job = manager.submit(config)
    wait_until(lambda: training_started(job), 120, "the first metrics point")
    assert job.snapshot().state == "training" and job.snapshot().samples_per_s > 0

    assert job.stop()
    wait_done(job)
    final = job.snapshot()
    assert final.state == "stopped" and "stopped by request" in final.reason
    assert 0 < final.step < ENDLESS_STEPS
    assert job.model().run_config == config
    assert manager.store.get(job.run_id).status == "stopped"

    retrained = manager.submit(config)
    assert retrained is not job and retrained.state in ("queued", "training")
    retrained.stop()
    wait_done(retrained)


def test_the_queue_reports_positions_and_a_queued_job_can_be_cancelled(cluster, tmp_path):
    with JobManager(
        tmp_path, workers=1, runs_per_worker=1, backend="ray", ray_address=cluster
    ) as single:
        running = single.submit(tiny(1300, steps=ENDLESS_STEPS))
        second, third = single.submit(tiny(1301)), single.submit(tiny(1302))
        wait_until(lambda: running.state == "training", 120, "the first job to start")
        assert (second.snapshot().queue_position, third.snapshot().queue_position) == (1, 2)

        assert second.cancel()
        assert second.state == "cancelled" and second.wait(0)
        assert third.snapshot().queue_position == 1
        assert running.stop()
        wait_done(running)
        assert wait_done(third).state == "done"
        assert running.state == "stopped"
        assert single.store.get(second.run_id) is None, "a cancelled job leaves nothing on disk"
        assert single.stats["trained"] == 2


def test_a_killed_worker_fails_only_its_runs_which_can_be_submitted_again(manager):
    first = manager.submit(tiny(1400, steps=ENDLESS_STEPS))
    other = manager.submit(tiny(1401, steps=ENDLESS_STEPS))
    wait_until(lambda: training_started(first) and training_started(other), 120, "both to train")
    victim = next(w for w in manager._workers if first in w.jobs)
    assert other not in victim.jobs, "one run on each worker"
    started = manager.stats["workers_started"]
    os.kill(victim.pid, signal.SIGKILL)  # the actor's process: on this machine's one node

    wait_done(first, 60)
    assert first.state == "failed"
    assert "ended unexpectedly" in first.reason and "Ray worker process" in first.reason
    assert "train it again" in first.reason
    record = manager.store.get(first.run_id)
    assert record.status == "failed" and not record.is_final
    assert other.state == "training", "the other worker's run goes on"
    wait_until(lambda: manager.stats["workers_started"] == started + 1, 60, "a replacement")
    assert victim.pid not in manager.worker_pids()

    again = manager.submit(first.config)
    assert again is not first
    wait_until(lambda: training_started(again), 120, "the resubmitted run to train")
    for job in (again, other):
        job.stop()
        assert wait_done(job).state == "stopped"


def test_a_lost_node_fails_only_the_runs_it_trained_which_can_be_submitted_again(
    manager, cluster, tmp_path
):
    import ray

    # A second node joins (one CPU); a server of three workers has one on it, since the
    # module's manager holds two of the head's four CPUs.
    node = _start_node(tmp_path / "node.log", f"--address={cluster}", "--num-cpus=1")
    try:
        wait_until(lambda: len(ray.nodes()) == 2 and ray.cluster_resources()["CPU"] == 5, 60)
        with JobManager(manager.store.root, workers=3, backend="ray", ray_address=cluster) as big:
            ready = lambda: len(big._workers) == 3 and all(w.ready for w in big._workers)  # noqa: E731
            wait_until(ready, 120, "three workers")  # so each gets one run
            jobs = [big.submit(tiny(seed, steps=ENDLESS_STEPS)) for seed in (1450, 1451, 1452)]
            wait_until(lambda: all(training_started(job) for job in jobs), 180, "three runs")
            node_id = next(
                n["NodeID"] for n in ray.nodes() if "node:__internal_head__" not in n["Resources"]
            )
            on_lost = [worker for worker in big._workers if worker.node_id == node_id]
            assert len(on_lost) == 1 and len(on_lost[0].jobs) == 1
            lost_job = on_lost[0].jobs[0]

            os.killpg(node.pid, signal.SIGKILL)  # the node's raylet and workers, at once
            wait_done(lost_job, 90)
            assert lost_job.state == "failed" and "ended unexpectedly" in lost_job.reason
            assert "Ray" in lost_job.reason and "train it again" in lost_job.reason
            assert on_lost[0].node in lost_job.reason, "the reason names the machine"
            others = [job for job in jobs if job is not lost_job]
            assert [job.state for job in others] == ["training", "training"]
            assert big.store.get(lost_job.run_id).status == "failed"
            again = big.submit(lost_job.config)
            wait_until(lambda: training_started(again), 180, "the lost run trained again")
            for job in [again, *others]:
                job.stop()
                assert wait_done(job).state == "stopped"
    finally:
        os.killpg(node.pid, signal.SIGKILL)
        node.wait()


def test_a_sweep_trains_one_run_per_value_and_a_later_submit_is_a_cache_hit(manager):
    base = tiny(1500)
    sweep = manager.submit_sweep(base, "code_size", [2, 4, 6])
    for job in sweep.jobs:
        wait_done(job)
    assert [job.state for job in sweep.jobs] == ["done"] * 3
    assert [job.config.code_size for job in sweep.jobs] == [2, 4, 6]
    assert len({job.summary["test_mse"] for job in sweep.jobs}) == 3
    trained = manager.stats["trained"]
    assert manager.submit(base.replace(code_size=4)).state == "done"
    assert manager.stats["trained"] == trained


def test_a_killed_server_loses_no_finished_run_and_its_running_one_shows_interrupted(
    cluster, tmp_path
):
    import psutil

    on_the_cluster = {"backend": "ray", "ray_address": cluster}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path), json.dumps(on_the_cluster)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        finished_id, training_id, actor_pid = server.stdout.readline().split()
    finally:
        server.kill()
        server.wait()
    # Ray ends the actors of a server that is gone, so nothing trains on for nobody.
    wait_until(lambda: not psutil.pid_exists(int(actor_pid)), 60, "Ray to end the server's actor")

    records = {record.run_id: record for record in RunStore(tmp_path).scan()}
    assert records[finished_id].status == "done" and records[finished_id].is_final
    assert records[training_id].status == "interrupted"


def test_two_servers_on_one_run_store_train_a_config_once_and_both_serve_it(cluster, tmp_path):
    on_the_cluster = {"backend": "ray", "ray_address": cluster}
    check_two_servers_train_once(tmp_path, tiny(1600, steps=3_000), **on_the_cluster)


# A page's script thread joins Ray with no address (a cluster of this machine for this server),
# then ends, as Streamlit's do after each script run.
CLUSTER_FROM_A_PAGE = textwrap.dedent(
    """
    import threading, time
    import psutil
    from ae_core.ray_workers import Backend

    backend = Backend(None)
    page = threading.Thread(target=backend.connect)
    page.start()
    page.join()
    time.sleep(3)
    alive = [p.name() for p in psutil.Process().children(recursive=True) if p.is_running()]
    print("gcs_server" in alive, "raylet" in alive, backend.default_worker_count() >= 1)
    """
)


def test_a_cluster_started_from_a_page_outlives_the_pages_script_thread():
    # Ray's local processes die with the thread that started them (Linux's parent-death signal
    # is per thread): started from a page's thread, the cluster died with its script run.
    result = subprocess.run(
        [sys.executable, "-c", CLUSTER_FROM_A_PAGE],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "RAY_USAGE_STATS_ENABLED": "0"},
        timeout=180,
    )
    assert result.stdout.split() == ["True", "True", "True"], result.stderr[-3000:]


def test_an_answer_the_server_never_got_is_sent_again_and_nothing_is_lost(cluster, tmp_path):
    import ray

    from ae_core.ray_workers import TrainingActor, connect

    connect(cluster)
    actor = TrainingActor.remote(str(tmp_path), 1, 500, 600.0, 0)
    try:
        ready = ray.get(actor.events.remote(0, 60), timeout=120)
        assert [event["event"] for event in ready] == ["ready"] and ready[0]["number"] == 1
        assert ray.get(actor.events.remote(0, 0.1)) == ready, "not confirmed: sent again"
        assert ray.get(actor.events.remote(1, 0.1)) == [], "confirmed: not sent again"

        config = tiny(1700)
        train = {"command": "train", "run_id": config.run_id, "config": config.to_dict()}
        actor.command.remote(train)
        events, last, lost_one = [], 1, False
        while not events or events[-1]["event"] != "finished":
            batch = ray.get(actor.events.remote(last, 1.0), timeout=120)
            if batch and not lost_one:
                # This answer is lost on its way: the next call, from the same place, has it.
                lost_one = True
                continue
            events += batch
            last = events[-1]["number"] if events else last
        assert [event["number"] for event in events] == list(range(2, 2 + len(events)))
        kinds = [event["event"] for event in events]
        assert kinds[0] == "started" and kinds[-1] == "finished" and "progress" in kinds
        assert events[-1]["summary"]["status"] == "done"
        assert RunStore(tmp_path).get(config.run_id).status == "done"
    finally:
        ray.kill(actor)


# A server joining through Ray Client (a ray:// address), as from outside the cluster's network.
CLIENT_SERVER = textwrap.dedent(
    """
    import sys
    from ae_core.config import make_config
    from ae_core.jobs import JobManager

    with JobManager(sys.argv[1], workers=1, backend="ray", ray_address=sys.argv[2]) as manager:
        job = manager.submit(make_config("stacked", **{settings!r}, seed=1800))
        job.wait(120)
        print(job.state, manager.worker_count, manager.backend.describe(1))
    """
).format(settings=TINY)


def test_a_server_joins_through_ray_client_and_trains(cluster, tmp_path):
    address = f"ray://127.0.0.1:{CLIENT_PORT}"
    result = subprocess.run(
        [sys.executable, "-c", CLIENT_SERVER, str(tmp_path), address],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=300,
    )
    assert result.stdout.strip() == f"done 1 1 worker on the Ray cluster at {address}", (
        result.stderr[-3000:]
    )
    assert RunStore(tmp_path).scan()[0].status == "done"
