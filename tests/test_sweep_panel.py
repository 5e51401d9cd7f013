"""The Train page's sweep panel under AppTest: start a sweep of one setting from the page, follow
it to the end (one column per value), look closer at each run, stop a sweep, and refuse a bad
value in one sentence.

As in tests/test_pages.py, the page's JobManager is the real one (``ui.manager()``) with one
worker taking one run at a time, on a runs folder of this module's own; the runs are tiny.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block
from test_pages import (
    HOME,
    RECONSTRUCTIONS,
    REPO_ROOT,
    TINY,
    TRAIN,
    assert_clean,
    charts,
    mentions,
    metric_values,
    page_manager,
    rerun,
    run_page,
    scenario,
    settings_state,
    texts,
    train_button,
    wait_until,
)

import ui
from ae_core import figures
from ae_core.config import make_config
from ui.runs import STARTING_SECONDS, TRAINING_POLL_SECONDS
from ui.sweep_panel import (
    COUNT_KEY,
    FIELD_KEY,
    PICTURE_SECONDS,
    SHOWN_KEY,
    SWEEP,
    _version_to_draw,
    sweep_key,
    sweep_polling,
)

# A single-layer sparse autoencoder on the 8x8 digits: a few seconds for all three values.
BASE = make_config("sparse_kl", **{**TINY, "hidden": (), "code_size": 16, "seed": 41})
TARGETS = [0.05, 0.1, 0.15]


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Iterator[Path]:
    with scenario(tmp_path_factory.mktemp("sweep-runs")) as folder:
        yield folder


def sweep_state(config, field: str, low: float, high: float, count: int) -> dict:
    """Session state that puts ``config`` into the settings and an evenly spaced sweep of
    ``field`` into the sweep widgets."""
    return {
        **settings_state(config),
        FIELD_KEY: field,
        sweep_key("spacing", field): "linear",
        sweep_key("low", field): low,
        sweep_key("high", field): high,
        COUNT_KEY: count,
    }


def train_page_of_a_session(folder: Path, state: dict) -> AppTest:
    """The Train page opened from the home page, so the session can go to other pages too."""
    at = AppTest.from_file(str(REPO_ROOT / HOME), default_timeout=60)
    rerun(at, folder)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(TRAIN)
    return rerun(at, folder)


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def sweep_columns(at, field: str) -> list[Block]:
    """The panel's columns, one per value: those headed by the value's coloured label."""
    found = []
    for column in at.columns:
        children = [column.children[i] for i in sorted(column.children)]
        if children and children[0].type == "html" and f"{field} = " in children[0].proto.body:
            found.append(column)
    return found


def column_texts(column: Block) -> list[str]:
    children = [column.children[i] for i in sorted(column.children)]
    return [str(getattr(child, "value", "")) for child in children]


def column_says(column: Block, *words: str) -> bool:
    """Whether one of the column's elements says every one of ``words``."""
    return any(all(word in text for word in words) for text in column_texts(column))


def chart(at, title_start: str) -> dict:
    for element in charts(at):
        spec = json.loads(element.proto.spec)
        title = spec["layout"].get("title") or {}
        if str(title.get("text", "")).startswith(title_start):
            return spec
    raise AssertionError(f"no chart titled {title_start!r}")


def test_a_sweep_from_the_train_page_trains_a_run_per_value_shown_side_by_side(sweep_folder):
    manager = page_manager(sweep_folder)
    state = sweep_state(BASE, "sparsity_target", 0.05, 0.15, 3)
    at = train_page_of_a_session(sweep_folder, state)
    assert_clean(at, TRAIN)
    assert mentions(at.caption, "3 runs: sparsity_target = 0.05, 0.1, 0.15")
    assert not sweep_columns(at, "sparsity_target"), "no sweep shown before one is started"

    button(at, "Train the sweep").click()
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    record = at.session_state[SWEEP]
    assert record["field"] == "sparsity_target" and record["values"] == TARGETS
    run_ids = record["run_ids"]
    assert len(set(run_ids)) == 3
    # The base value's run is the one shown closer, and the view pages' chosen run.
    assert at.session_state[ui.SELECTED_RUN] == run_ids[1]
    assert len(sweep_columns(at, "sparsity_target")) == 3

    for run_id in run_ids:
        job = manager.get(run_id)
        assert job is not None and job.wait(180), f"{run_id} did not finish"
        assert job.state == "done", job.reason

    def all_done_shown() -> bool:
        rerun(at, sweep_folder)
        assert_clean(at, TRAIN)
        columns = sweep_columns(at, "sparsity_target")
        return len(columns) == 3 and all(column_says(c, "Done") for c in columns)

    wait_until(all_done_shown, 60, "every column to say Done")
    trained = manager.stats["trained"]
    assert trained == 3

    # One column per value, in value order: its label, its test MSE, its reconstructions.
    columns = sweep_columns(at, "sparsity_target")
    for column, value, run_id in zip(columns, TARGETS, run_ids, strict=True):
        record_on_disk = manager.store.get(run_id)
        assert record_on_disk is not None and record_on_disk.status == "done"
        assert record_on_disk.config == BASE.replace(sparsity_target=value)
        mse = record_on_disk.summary["test_mse"]
        children = [column.children[i] for i in sorted(column.children)]
        assert f"sparsity_target = {value:g}" in children[0].proto.body
        assert f"Done · test MSE {mse:.5f}" in column_texts(column)
        assert [child.type for child in children].count("image") == 1

    # The losses overlaid and the code's mean activation against each run's own target.
    loss = chart(at, "Loss for each value of sparsity_target")
    assert [trace["name"] for trace in loss["data"]] == ["0.05", "0.1", "0.15"]
    colours = [trace["line"]["color"] for trace in loss["data"]]
    assert colours == [figures.sweep_colour(i) for i in range(3)]
    activation = chart(at, "Mean code activation for each value of sparsity_target")
    targets = sorted(shape["y0"] for shape in activation["layout"]["shapes"])
    assert targets == TARGETS

    # The slider shows another run closer: its stored result, nothing trained, and it becomes
    # the chosen run of the view pages.
    at.select_slider(key=SHOWN_KEY).set_value(2)
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    assert at.session_state[ui.SELECTED_RUN] == run_ids[2]
    assert mentions(at.caption, f"Run `{run_ids[2]}`")
    summary = manager.get(run_ids[2]).summary
    assert metric_values(at)["Test MSE"] == f"{summary['test_mse']:.5f}"
    assert len(at.get("image")) == 4, "three columns and the close-up"
    assert manager.stats["trained"] == trained

    # The sweep survives a visit to another page, where the chosen run is the one picked.
    at.switch_page(RECONSTRUCTIONS)
    rerun(at, sweep_folder)
    assert_clean(at, RECONSTRUCTIONS)
    assert mentions(at.caption, f"Run id `{run_ids[2]}`")
    at.switch_page(TRAIN)
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    assert len(sweep_columns(at, "sparsity_target")) == 3
    assert at.select_slider(key=SHOWN_KEY).value == 2

    # A later single run of one member's settings is the stored run: a cache hit, and the
    # Train page shows it as trained before.
    member = BASE.replace(sparsity_target=0.05)
    single = run_page(TRAIN, sweep_folder, settings_state(member))
    assert_clean(single, TRAIN)
    assert mentions(single.caption, "trained before")
    cached = manager.stats["cached"]
    job = manager.submit(member)
    assert job.run_id == run_ids[0] and job.state == "done"
    assert manager.stats["cached"] == cached + 1
    assert manager.stats["trained"] == trained


def test_stop_ends_the_whole_sweep(sweep_folder):
    manager = page_manager(sweep_folder)
    endless = BASE.replace(steps=1_000_000, seed=42)
    at = run_page(TRAIN, sweep_folder, sweep_state(endless, "learning_rate", 0.001, 0.003, 3))
    assert mentions(at.caption, "3 runs: learning_rate = 0.001, 0.002, 0.003")
    button(at, "Train the sweep").click()
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    jobs = [manager.get(run_id) for run_id in at.session_state[SWEEP]["run_ids"]]
    try:
        # One worker, one run at a time: the first trains, the others wait.
        # Past its start (polled fast for its first STARTING_SECONDS), the first one trains on.
        wait_until(
            lambda: jobs[0].snapshot().elapsed > STARTING_SECONDS, 120, "the first run to train"
        )
        assert [job.state for job in jobs] == ["training", "queued", "queued"]
        assert sweep_polling(jobs) == TRAINING_POLL_SECONDS
        rerun(at, sweep_folder)
        assert_clean(at, TRAIN)
        columns = sweep_columns(at, "learning_rate")
        assert column_says(columns[1], "Queued (position")
        button(at, "Stop the sweep").click()
        rerun(at, sweep_folder)
        assert not at.exception, texts(at.exception)
    finally:
        for job in jobs:
            job.stop()
    for job in jobs:
        assert job.wait(60)
    assert [job.state for job in jobs] == ["stopped", "cancelled", "cancelled"]
    assert sweep_polling(jobs) is None, "nothing left to follow: no polling"
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    columns = sweep_columns(at, "learning_rate")
    assert column_says(columns[0], "Stopped at step", "test MSE")
    assert column_says(columns[2], "cancelled before it started")
    assert mentions(at.caption, "1 stopped, 2 not on the server")
    button(at, "Clear").click()
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    assert SWEEP not in at.session_state and not sweep_columns(at, "learning_rate")


def test_failed_runs_and_runs_on_points_are_shown_without_pictures(sweep_folder):
    manager = page_manager(sweep_folder)
    # Fashion-MNIST is not in the offline data folder: each run fails before it trains.
    no_data = make_config("stacked", **{**TINY, "dataset": "fashion-mnist", "seed": 43})
    at = run_page(TRAIN, sweep_folder, sweep_state(no_data, "code_size", 4, 8, 2))
    button(at, "Train the sweep").click()
    rerun(at, sweep_folder)
    run_ids = at.session_state[SWEEP]["run_ids"]
    for run_id in run_ids:
        assert manager.get(run_id).wait(60) and manager.get(run_id).state == "failed"
    rerun(at, sweep_folder)
    assert not at.exception, texts(at.exception)
    columns = sweep_columns(at, "code_size")
    assert len(columns) == 2 and all(column_says(c, "Failed:", "fashion-mnist") for c in columns)
    assert not at.get("image") and mentions(at.caption, "2 runs: 0 done, 2 failed")

    # The 3-D points of toy3d: the charts and each run's test MSE, no digits to draw.
    points = make_config("linear", steps=60, seed=44)
    at = run_page(TRAIN, sweep_folder, sweep_state(points, "learning_rate", 0.01, 0.02, 2))
    button(at, "Train the sweep").click()
    rerun(at, sweep_folder)
    for run_id in at.session_state[SWEEP]["run_ids"]:
        assert manager.get(run_id).wait(120) and manager.get(run_id).state == "done"
    rerun(at, sweep_folder)
    assert_clean(at, TRAIN)
    columns = sweep_columns(at, "learning_rate")
    assert len(columns) == 2 and all(column_says(c, "Done · test MSE") for c in columns)
    assert not at.get("image")
    assert chart(at, "Loss for each value of learning_rate")["data"][1]["name"] == "0.02"


def test_a_column_follows_a_training_runs_checkpoints_at_most_every_few_seconds(monkeypatch):
    now = [100.0]
    panel = importlib.import_module("ui.sweep_panel")  # ui.sweep_panel itself is the function
    monkeypatch.setattr(panel, "time", SimpleNamespace(monotonic=lambda: now[0]))
    run_id = "stacked-000000000001"
    first, second, third = (("checkpoint", step) for step in (500, 900, 1300))
    assert _version_to_draw(run_id, first, follow=False) == first
    now[0] += 5  # a newer checkpoint, but the pictures were drawn 5 s ago: keep them
    assert _version_to_draw(run_id, second, follow=False) == first
    assert _version_to_draw(run_id, second, follow=True) == second, "the run shown closer"
    assert _version_to_draw(run_id, second, follow=False) == second, "its column too"
    now[0] += PICTURE_SECONDS
    assert _version_to_draw(run_id, third, follow=False) == third
    final = ("final", 1234.5)
    assert _version_to_draw(run_id, final, follow=False) == final


@pytest.mark.parametrize(
    ("typed", "fragments"),
    [
        ("0.05, 1.5", ["Sparsity target 1.5 is out of range", "(0.0, 1.0)"]),
        ("0.05, lots", ["Sparsity target 'lots' is not valid", "expected a number"]),
        ("0.1", ["needs 2 to 16 distinct values"]),
        (", ".join(f"0.{i}" for i in range(1, 10)), ["2 to 8 values", "not 9"]),
    ],
)
def test_a_bad_value_is_one_sentence_naming_the_field_and_the_button_waits(
    sweep_folder, typed, fragments
):
    state = {
        **settings_state(BASE),
        FIELD_KEY: "sparsity_target",
        sweep_key("spacing", "sparsity_target"): "list",
        sweep_key("list", "sparsity_target"): typed,
    }
    at = run_page(TRAIN, sweep_folder, state)
    assert not at.exception, texts(at.exception)
    assert len(at.error) == 1, texts(at.error)
    message = at.error[0].value
    assert all(fragment in message for fragment in fragments), message
    assert message.endswith(".") and message.count(". ") == 0
    assert button(at, "Train the sweep").disabled
    assert not train_button(at).disabled, "the settings themselves are fine"


def test_a_setting_that_cannot_change_the_result_is_not_swept(sweep_folder):
    # Beta is 0 here, so the sparsity target changes nothing: every run would be the same.
    config = make_config("stacked", **{**TINY, "seed": 45})
    at = run_page(TRAIN, sweep_folder, sweep_state(config, "sparsity_target", 0.05, 0.15, 3))
    assert_clean(at, TRAIN)
    assert mentions(at.caption, "No effect while Beta (sparsity weight) is 0", "same run again")
    assert button(at, "Train the sweep").disabled
