"""The job manager: dedup and cache, queue, stop and cancel, failures, crashes, bounded memory.

These tests start real worker processes (each imports TensorFlow, a few seconds), so most share
one module-wide manager and give each test configs of its own (distinct seeds).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from ae_core.config import make_config
from ae_core.jobs import Job, JobManager
from ae_core.store import RunRecord, RunStore, is_final_result

TINY = {"dataset": "digits", "hidden": (16,), "code_size": 4, "steps": 60}
# Long enough that it is still training when the test acts on it; stopped well before the end.
ENDLESS_STEPS = 1_000_000


def tiny(seed: int, **settings):
    return make_config("stacked", **{**TINY, "seed": seed, **settings})


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def wait_done(job, timeout: float = 120.0):
    assert job.wait(timeout), f"{job} did not finish within {timeout} s"
    return job


def submit_together(manager, configs: list) -> list:
    """Each config submitted from a thread of its own, all released at once; the jobs, in order."""
    handles: list = [None] * len(configs)
    gate = threading.Barrier(len(configs))

    def submit(index: int) -> None:
        gate.wait()
        handles[index] = manager.submit(configs[index])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return handles


def training_started(job) -> bool:
    return job.snapshot().step > 0


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    with JobManager(tmp_path_factory.mktemp("runs"), workers=2) as shared:
        yield shared


def test_thirty_submissions_from_thirty_threads_train_each_distinct_config_once(manager):
    distinct = [tiny(seed) for seed in range(100, 110)]
    trained_before = manager.stats["trained"]
    handles = submit_together(manager, [distinct[i % len(distinct)] for i in range(30)])
    for handle in handles:
        wait_done(handle)

    assert manager.stats["trained"] - trained_before == len(distinct)
    assert {handle.state for handle in handles} == {"done"}
    by_run: dict[str, list] = {}
    for handle in handles:
        by_run.setdefault(handle.run_id, []).append(handle)
    assert len(by_run) == len(distinct)
    for same_config in by_run.values():
        assert all(handle is same_config[0] for handle in same_config), "duplicates share a job"
    summaries = {run_id: jobs[0].summary for run_id, jobs in by_run.items()}
    assert all(summary["steps"] == TINY["steps"] for summary in summaries.values())
    assert len({round(s["test_mse"], 9) for s in summaries.values()}) == len(distinct)
    # Every distinct run is on disk once, complete.
    records = {r.run_id: r for r in RunStore(manager.store.root).scan()}
    for run_id, summary in summaries.items():
        assert records[run_id].status == "done"
        assert records[run_id].summary["test_mse"] == summary["test_mse"]


def test_a_finished_config_is_served_from_the_cache_in_memory_and_from_disk(manager):
    config = tiny(200)
    first = wait_done(manager.submit(config))
    trained = manager.stats["trained"]

    again = manager.submit(config)
    assert again is first and again.state == "done"
    assert manager.stats["trained"] == trained

    with JobManager(manager.store.root, workers=1) as restarted:
        from_disk = restarted.submit(config)
        assert from_disk.state == "done" and from_disk.wait(0)
        assert restarted.stats["trained"] == 0
        assert from_disk.summary["test_mse"] == first.summary["test_mse"]
        history = from_disk.snapshot().history
        assert history == first.snapshot().history and history[-1]["step"] == TINY["steps"]


def test_the_queue_reports_positions_and_a_queued_job_can_be_cancelled(tmp_path):
    # One run at a time, so the others wait in the manager's queue.
    with JobManager(tmp_path, workers=1, runs_per_worker=1) as single:
        running = single.submit(tiny(300, steps=ENDLESS_STEPS))
        second, third = single.submit(tiny(301)), single.submit(tiny(302))
        wait_until(lambda: running.state == "training", what="the first job to start")
        assert running.snapshot().queue_position is None
        assert (second.snapshot().queue_position, third.snapshot().queue_position) == (1, 2)
        assert second.snapshot().state == "queued"

        assert second.cancel()
        assert second.state == "cancelled" and second.wait(0)
        assert third.snapshot().queue_position == 1
        assert not running.cancel(), "cancel is for queued jobs; a training job is stopped"

        assert running.stop()
        wait_done(running)
        wait_done(third)
        assert third.state == "done"
        assert single.store.get(second.run_id) is None, "a cancelled job leaves nothing on disk"
        assert single.stats["trained"] == 2


def test_stop_keeps_the_partial_model_and_a_new_submission_trains_again(manager):
    config = tiny(400, steps=ENDLESS_STEPS)
    job = manager.submit(config)
    wait_until(lambda: training_started(job), what="the first metrics point")
    moving = job.snapshot()
    assert moving.state == "training" and moving.samples_per_s > 0
    assert moving.seconds_left is not None and moving.seconds_left > 0

    assert job.stop()
    wait_done(job)
    final = job.snapshot()
    assert final.state == "stopped" and "stopped by request" in final.reason
    assert 0 < final.step < ENDLESS_STEPS
    assert final.summary["status"] == "stopped" and final.summary["model"] is True
    model = job.model()
    assert model.run_config == config
    assert manager.store.get(job.run_id).status == "stopped"

    retrained = manager.submit(config)
    assert retrained is not job and retrained.state in ("queued", "training")
    retrained.stop()
    wait_done(retrained)


def test_a_training_run_saves_checkpoints_that_the_views_can_load(manager):
    from ae_core import registry
    from ae_core.analysis import reconstruction_mse
    from ae_core.data import load_dataset
    from ae_core.errors import StoreError
    from ae_core.store import CHECKPOINT_FILE

    config = tiny(450, steps=ENDLESS_STEPS)
    job = manager.submit(config)
    # The worker saves the model every CHECKPOINT_SECONDS (5 s) of training.
    wait_until(lambda: job.snapshot().checkpoint_step is not None, 60, "the first checkpoint")
    first = job.snapshot().checkpoint_step
    assert first > 0
    model = manager.checkpoint_model(job.run_id)
    assert model.run_config == config
    digits = load_dataset("digits")
    fresh = registry.get("stacked").build(config, 64)
    # The checkpoint holds learned weights, not the initial ones.
    assert reconstruction_mse(model, digits.x_test) < reconstruction_mse(fresh, digits.x_test)
    wait_until(lambda: job.snapshot().checkpoint_step > first, 60, "a later checkpoint")

    assert job.stop()
    wait_done(job)
    assert job.snapshot().checkpoint_step is None
    assert not (manager.store.root / job.run_id / CHECKPOINT_FILE).exists()
    with pytest.raises(StoreError, match="no checkpoint"):
        manager.checkpoint_model(job.run_id)


def test_snapshots_are_cheap_immutable_and_grow_while_training(manager):
    job = manager.submit(tiny(500, steps=ENDLESS_STEPS))
    wait_until(lambda: len(job.snapshot().history) >= 3, what="three metrics points")
    first = job.snapshot()
    assert job.snapshot() is first or len(job.snapshot().history) > len(first.history)
    wait_until(lambda: len(job.snapshot().history) > len(first.history), what="a new point")
    later = job.snapshot()
    assert later.history[: len(first.history)] == first.history
    steps = [point["step"] for point in later.history]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    point = later.latest
    assert set(point["loss_terms"]) == {"reconstruction"}
    assert len(point["mean_activation"]) == 2 and all(v >= 0 for v in point["mean_activation"])
    job.stop()
    wait_done(job)
    assert job.snapshot() is job.snapshot(), "an unchanged job hands out the same snapshot"


def test_a_non_finite_loss_fails_the_run_with_its_reason_and_the_worker_goes_on(manager):
    exploding = make_config(
        "linear", dataset="digits", code_size=4, steps=300, optimizer="sgd", learning_rate=10.0
    )
    job = wait_done(manager.submit(exploding))
    assert job.state == "failed"
    assert job.reason.startswith("the reconstruction loss became infinite at step")
    assert job.summary["model"] is True, "the weights of the last good step are kept"
    assert job.is_final_result, "the same config would fail the same way: served from cache"
    trained = manager.stats["trained"]
    assert manager.submit(exploding) is job and manager.stats["trained"] == trained

    after = wait_done(manager.submit(tiny(600)))
    assert after.state == "done"


class _NoManager:
    """A job made from a record is only read here: no manager is needed."""


@pytest.mark.parametrize("status", ["done", "stopped", "failed", "interrupted"])
@pytest.mark.parametrize("has_model", [True, False])
def test_a_job_and_its_stored_run_agree_on_a_final_result(tmp_path, status, has_model):
    summary = {"status": status, "model": has_model}
    record = RunRecord("stacked-0", tiny(650), status, None, summary, has_model, tmp_path)
    owner = _NoManager()
    job = Job._from_record(owner, record)
    final = status == "done" or (status == "failed" and has_model)
    assert record.is_final is job.is_final_result is is_final_result(status, has_model) is final


def test_missing_data_fails_the_run_in_one_sentence_and_the_worker_survives(manager):
    pids = set(manager.worker_pids())
    job = wait_done(manager.submit(tiny(700, dataset="fashion-mnist", hidden=(32,))))
    assert job.state == "failed"
    assert "fashion-mnist" in job.reason.lower() and "\n" not in job.reason
    assert job.summary["model"] is False and not job.is_final_result
    assert set(manager.worker_pids()) == pids, "a failed run does not cost a worker"
    assert wait_done(manager.submit(tiny(701))).state == "done"


def test_a_worker_killed_mid_run_fails_that_run_and_is_replaced(manager):
    job = manager.submit(tiny(800, steps=ENDLESS_STEPS))
    wait_until(lambda: training_started(job), what="training to start")
    victim = next(w for w in manager._workers if job in w.jobs)
    started = manager.stats["workers_started"]
    os.kill(victim.pid, signal.SIGKILL)
    wait_done(job, 30)
    assert job.state == "failed"
    assert "ended unexpectedly" in job.reason and "signal 9" in job.reason
    record = manager.store.get(job.run_id)
    assert record.status == "failed" and not record.is_final
    wait_until(lambda: manager.stats["workers_started"] == started + 1, what="a replacement")
    assert victim.pid not in manager.worker_pids()
    assert wait_done(manager.submit(tiny(801))).state == "done"


def test_models_are_kept_up_to_a_limit_and_reloaded_from_disk(tmp_path):
    with JobManager(tmp_path, workers=2, max_models=2) as small:
        jobs = [small.submit(tiny(900 + i)) for i in range(3)]
        for job in jobs:
            wait_done(job)
        first = small.model(jobs[0].run_id)
        kernel = np.asarray(first.encoder_layers[0].kernel).copy()
        small.model(jobs[1].run_id)
        assert small.model(jobs[1].run_id) is small.model(jobs[1].run_id)
        small.model(jobs[2].run_id)
        assert small.cached_model_ids() == [jobs[1].run_id, jobs[2].run_id]

        reloaded = small.model(jobs[0].run_id)
        assert reloaded is not first
        np.testing.assert_array_equal(np.asarray(reloaded.encoder_layers[0].kernel), kernel)
        assert len(small.cached_model_ids()) == 2


@pytest.mark.slow
def test_memory_stays_flat_over_fifty_sequential_runs(tmp_path):
    """Stated bound: with workers retiring after 10 runs, the peak memory of the server and its
    worker over runs 41-50 is at most 100 MB above the peak over runs 1-10 (a worker that never
    retires grows about 20 MB a run, 800 MB over 40 runs), and the server process, which loads
    every model for analysis but keeps at most 2, grows less than 100 MB over the 50 runs."""
    import psutil

    server = psutil.Process()
    with JobManager(tmp_path, workers=1, max_models=2, max_runs_per_worker=10) as manager:

        def worker_ready() -> bool:
            return len(manager.worker_pids()) == 1 and manager.worker_sizes_mb()[0] > 0

        totals, server_sizes = [], []
        for run in range(1, 51):
            job = wait_done(manager.submit(tiny(1000 + run, steps=20)))
            assert job.state == "done", job.reason
            manager.model(job.run_id)
            wait_until(worker_ready, what="a ready worker")
            worker = psutil.Process(manager.worker_pids()[0])
            server_sizes.append(server.memory_info().rss / 2**20)
            totals.append(server_sizes[-1] + worker.memory_info().rss / 2**20)
        # The first worker, then one per 10 runs (the last may still be on its way).
        assert manager.stats["workers_started"] >= 5
    first_peak, last_peak = max(totals[:10]), max(totals[40:])
    print(f"memory after each run (MB): {[round(t) for t in totals]}")
    assert last_peak - first_peak < 100, f"peaks: {first_peak:.0f} MB then {last_peak:.0f} MB"
    grown_server = server_sizes[-1] - server_sizes[0]
    assert grown_server < 100, f"the server grew {grown_server:.0f} MB over 50 runs"


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (
            ValueError("shapes do not match\n  details on the next line"),
            "training failed with ValueError: shapes do not match",
        ),
        (MemoryError(), "MemoryError"),
        (
            OSError(28, "No space left on device"),
            "the run could not be saved or read: No space left on device",
        ),
    ],
)
def test_an_unexpected_error_in_a_worker_becomes_one_sentence(error, sentence):
    from ae_core.worker import _one_sentence

    assert _one_sentence(error) == sentence


def test_two_managers_on_one_folder_train_a_config_once_and_both_serve_it(tmp_path):
    # Two servers sharing AE_RUNS_DIR (a restart while the old one still runs): the same config
    # submitted to both is trained by one, and the other serves that run when it is done.
    check_two_servers_train_once(tmp_path, tiny(31, steps=3_000))


def check_two_servers_train_once(folder, config, **manager_options) -> None:
    """Two managers on ``folder`` (with ``manager_options``), ``config`` submitted to both while
    the first trains it: trained once, served by both, one run folder."""
    with (
        JobManager(folder, workers=1, **manager_options) as first,
        JobManager(folder, workers=1, **manager_options) as second,
    ):
        training = first.submit(config)
        wait_until(lambda: training.state == "training", 120, "the first server to train it")
        waiting = second.submit(config)
        assert training.wait(180) and waiting.wait(180)
        assert training.state == waiting.state == "done", (training.reason, waiting.reason)
        assert first.stats["trained"] == 1 and second.stats["trained"] == 0
        assert waiting.summary["finished_at"] == training.summary["finished_at"]
        served = waiting.snapshot()
        assert served.history and served.history == training.snapshot().history
        # Submitted again on the second server: the stored result, at once.
        assert second.submit(config).state == "done"
    assert [path.name for path in folder.iterdir() if not path.name.startswith(".")] == [
        config.run_id
    ]
