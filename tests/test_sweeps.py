"""Sweeps (``JobManager.submit_sweep``), ``train --sweep`` and ``warm``.

Like tests/test_jobs.py, most tests share one module-wide manager (its worker processes import
TensorFlow once) and give each test configs of its own (distinct seeds). The command-line tests
that train run ``python -m ae_core`` in a real process with a runs folder of their own.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from test_cli import run_cli as _run_cli
from test_cli import single_json_object
from test_jobs import wait_until

from ae_core import cli, lessons
from ae_core.config import make_config
from ae_core.errors import ConfigError
from ae_core.jobs import JobManager
from ae_core.store import RunStore
from ae_core.sweeps import (
    MAX_SWEEP_VALUES,
    default_sweep_range,
    number_sweep_fields,
    parse_sweep,
    parse_sweep_values,
    parse_value_list,
    spaced_values,
    suits_log_scale,
    sweep_configs,
    sweepable_fields,
    trained_values,
)
from ae_core.warm import SpeedBook, parse_grid, plan_warm

TINY = {"dataset": "digits", "hidden": (16,), "code_size": 4, "steps": 60}
ENDLESS_STEPS = 1_000_000
TINY_SETS = ["--set", "dataset=digits", "--set", "hidden=16", "--set", "steps=60"]


def tiny(seed: int, **settings):
    return make_config("stacked", **{**TINY, "seed": seed, **settings})


def one_sentence(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message and not re.search(r"\.\s+[A-Z]", message), message
    return message


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    with JobManager(tmp_path_factory.mktemp("runs"), workers=2) as shared:
        yield shared


# --- the engine ---------------------------------------------------------------------------------


def test_a_sweep_stores_one_run_per_value_and_a_later_single_submit_is_a_cache_hit(manager):
    trained_before = manager.stats["trained"]
    sweep = manager.submit_sweep(tiny(10), "code_size", [6, 2, 4])
    assert sweep.field == "code_size" and sweep.values == (6, 2, 4)
    assert [config.code_size for config in sweep.configs] == [6, 2, 4]
    assert sweep.wait(180)

    run_ids = [job.run_id for job in sweep.jobs]
    assert len(set(run_ids)) == 3
    assert manager.stats["trained"] - trained_before == 3
    snap = sweep.snapshot()
    assert [member.run_id for member in snap.members] == run_ids, "members in value order"
    assert (snap.done, snap.training, snap.queued, snap.failed) == (3, 0, 0, 0)
    assert snap.finished and snap.seconds_left == 0.0 and snap.fraction_done == 1.0
    assert [member.summary["config"]["code_size"] for member in snap.members] == [6, 2, 4]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.done = 0
    assert sweep.snapshot() is snap, "nothing changed, so the same snapshot"

    stored = {record.run_id: record for record in RunStore(manager.store.root).scan()}
    for run_id in run_ids:
        assert stored[run_id].status == "done" and stored[run_id].has_model
        assert stored[run_id].summary["steps"] == TINY["steps"]
        assert manager.store.load_history(run_id)[-1]["step"] == TINY["steps"]

    trained, cached = manager.stats["trained"], manager.stats["cached"]
    for value, job in zip((6, 2, 4), sweep.jobs, strict=True):
        single = manager.submit(tiny(10, code_size=value))
        assert single is job and single.state == "done"
    assert manager.stats["cached"] - cached == 3
    assert manager.stats["trained"] == trained, "no new training"


def test_a_member_trained_before_is_not_trained_again(manager):
    first = manager.submit(tiny(11, code_size=3))
    assert first.wait(120) and first.state == "done"
    trained = manager.stats["trained"]

    sweep = manager.submit_sweep(tiny(11), "code_size", [3, 5])
    assert sweep.jobs[0] is first and sweep.jobs[0].state == "done"
    assert sweep.wait(120)
    assert manager.stats["trained"] - trained == 1
    assert {job.state for job in sweep.jobs} == {"done"}


def test_stopping_a_sweep_stops_the_training_members_and_cancels_the_queued(tmp_path):
    # One run at a time per worker, so the third member waits in the queue.
    with JobManager(tmp_path, workers=2, runs_per_worker=1) as manager:
        _stop_a_sweep_of_three(manager)


def _stop_a_sweep_of_three(manager):
    sweep = manager.submit_sweep(tiny(12, steps=ENDLESS_STEPS), "code_size", [2, 3, 4])
    wait_until(
        lambda: sum(job.snapshot().step > 0 for job in sweep.jobs) == 2,
        what="two members to train (two workers)",
    )
    snap = sweep.snapshot()
    assert (snap.training, snap.queued) == (2, 1) and not snap.finished
    assert snap.members[2].queue_position == 1
    assert snap.seconds_left is not None and snap.seconds_left > 0
    assert sweep.cancel() == 1, "cancel drops the queued member only"
    assert sweep.jobs[2].state == "cancelled"
    assert sweep.stop() == 2
    assert sweep.wait(60)
    assert [job.state for job in sweep.jobs] == ["stopped", "stopped", "cancelled"]
    snap = sweep.snapshot()
    assert snap.finished and snap.ended == 3 and snap.done == 0
    stored = {record.run_id: record for record in manager.store.scan()}
    for job in sweep.jobs[:2]:
        assert stored[job.run_id].status == "stopped" and stored[job.run_id].has_model
    assert sweep.jobs[2].run_id not in stored
    assert sweep.stop() == 0, "nothing left to stop"


def test_a_member_stops_through_its_own_job(manager):
    sweep = manager.submit_sweep(tiny(13, steps=ENDLESS_STEPS), "learning_rate", [0.01, 0.02])
    wait_until(lambda: all(job.snapshot().step > 0 for job in sweep.jobs), what="both to train")
    assert sweep.jobs[0].stop()
    assert sweep.jobs[0].wait(60) and sweep.jobs[0].state == "stopped"
    assert sweep.jobs[1].state == "training"
    assert sweep.stop() == 1
    assert sweep.wait(60)


def test_speed_of_stored_runs_is_what_the_warm_estimate_uses(manager):
    sweep = manager.submit_sweep(tiny(14), "seed", [14, 15])
    assert sweep.wait(120)
    book = SpeedBook(manager.store.scan())
    same_shape = book.estimate(tiny(99))
    assert same_shape.basis == "stored runs" and same_shape.seconds > 0
    other_shape = book.estimate(tiny(99, hidden=(24,)))
    assert other_shape.basis == "default rate" and other_shape.seconds > 0


def test_duplicate_values_collapse_in_the_order_given():
    values, configs = sweep_configs(tiny(0), "code_size", [8, 4, 8.0, 4])
    assert values == (8, 4) and [c.code_size for c in configs] == [8, 4]
    values, _ = sweep_configs(tiny(0), "learning_rate", [0.01, 0.010, 1e-2, 0.02])
    assert values == (0.01, 0.02)
    values, configs = sweep_configs(tiny(0), "hidden", ["300, 100", (300, 100), (64,)])
    assert values == ((300, 100), (64,)) and len({c.run_id for c in configs}) == 2


@pytest.mark.parametrize(
    ("variant", "field", "fragments"),
    [
        ("stacked", "dataset", ["'dataset' cannot be swept", "code_size"]),
        ("stacked", "variant", ["'variant' cannot be swept", "learning_rate"]),
        ("stacked", "kl_weight", ["'kl_weight' cannot be swept for the stacked variant"]),
        ("tied", "tied", ["'tied' cannot be swept for the tied variant"]),
        ("stacked", "colour", ["'colour' cannot be swept", "seed"]),
    ],
)
def test_only_the_settings_a_variant_lets_a_person_change_can_be_swept(variant, field, fragments):
    config = make_config(variant, **TINY)
    with pytest.raises(ConfigError) as caught:
        sweep_configs(config, field, [1, 2])
    message = one_sentence(caught.value)
    assert caught.value.field == field
    for fragment in fragments:
        assert fragment in message
    assert "dataset" not in sweepable_fields(variant)


def test_a_bad_value_is_refused_naming_the_field_and_the_value():
    with pytest.raises(ConfigError) as caught:
        sweep_configs(tiny(0), "code_size", [4, 0])
    assert caught.value.field == "code_size"
    assert "code_size=0" in one_sentence(caught.value)

    kl = make_config("sparse_kl", **TINY)
    with pytest.raises(ConfigError) as caught:
        sweep_configs(kl, "code_activation", ["sigmoid", "relu"])
    assert caught.value.field == "code_activation"
    assert "code_activation='relu'" in one_sentence(caught.value)

    with pytest.raises(ConfigError) as caught:
        parse_sweep_values("learning_rate", "0.01,fast")
    assert "learning_rate='fast'" in one_sentence(caught.value)


@pytest.mark.parametrize(
    "values", [[4], [4, 4.0], list(range(1, MAX_SWEEP_VALUES + 2))], ids=["1", "1-dup", "17"]
)
def test_a_sweep_needs_two_to_sixteen_distinct_values(values):
    with pytest.raises(ConfigError) as caught:
        sweep_configs(tiny(0), "code_size", values)
    assert "a sweep of code_size needs 2 to 16 distinct values" in one_sentence(caught.value)


def test_values_are_parsed_by_the_fields_own_parser():
    assert parse_sweep("learning_rate=0.001, 0.01") == ("learning_rate", [0.001, 0.01])
    assert parse_sweep("code_size=8,16") == ("code_size", [8, 16])
    assert parse_sweep("tied=true,false")[1] == [True, False]
    assert parse_sweep("activation=relu,elu")[1] == ["relu", "elu"]
    # Settings whose one value holds commas take semicolons between values.
    assert parse_sweep("hidden=300;300,100")[1] == [(300,), (300, 100)]
    assert parse_sweep("hidden=64,128")[1] == [(64, 128)]
    assert parse_sweep("sparsity_layers=code;1,2")[1] == ["code", "1,2"]
    assert parse_sweep("code_size=8;16")[1] == [8, 16]
    assert parse_sweep("code_size=linspace:2:8:4")[1] == [2, 4, 6, 8]
    assert parse_sweep("code_size=linspace:2:3:4")[1] == [2, 3], "rounded, then collapsed"
    assert parse_sweep("noise_level=linspace:0.1:0.3:3")[1] == [0.1, 0.2, 0.3]
    assert parse_sweep("learning_rate=logspace:0.001:0.1:3")[1] == [0.001, 0.01, 0.1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("code_size", "is not of the form FIELD=VALUE"),
        ("code_size=8,,16", "has an empty value"),
        ("activation=linspace:1:2:3", "linspace needs a number setting"),
        ("learning_rate=logspace:0:0.1:3", "logspace for learning_rate needs LOW and HIGH above 0"),
        ("learning_rate=linspace:0.1:0.2", "is not of the form linspace:LOW:HIGH:COUNT"),
        ("learning_rate=linspace:0.1:0.2:1", "COUNT of at least 2"),
        ("learning_rate=linspace:0.1:0.2:1000", "at most 16 values"),
        ("colour=1,2", "unknown setting 'colour'"),
    ],
)
def test_bad_sweep_texts_are_one_sentence(text, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_sweep(text)
    assert fragment in one_sentence(caught.value)


# --- the Train page's values: spaced, typed, offered ------------------------------------------


def test_spaced_values_are_what_a_single_run_of_each_would_store():
    assert spaced_values("sparsity_target", 0.05, 0.15, 3) == [0.05, 0.1, 0.15]
    assert spaced_values("learning_rate", 1e-4, 1e-2, 3, log=True) == [0.0001, 0.001, 0.01]
    assert spaced_values("code_size", 16, 64, 3, log=True) == [16, 32, 64]
    assert spaced_values("code_size", 2, 3, 4) == [2, 3], "rounded, then collapsed"
    assert spaced_values("noise_level", 0.3, 0.1, 3) == [0.3, 0.2, 0.1], "high to low works too"
    # The same numbers as the command line's linspace / logspace.
    assert (
        spaced_values("noise_level", 0.1, 0.3, 3)
        == parse_sweep("noise_level=linspace:0.1:0.3:3")[1]
    )
    with pytest.raises(ConfigError) as caught:
        spaced_values("sparsity_weight", 0.0, 1.0, 3, log=True)
    assert "log-spaced values of sparsity_weight need a low and a high above 0" in one_sentence(
        caught.value
    )
    with pytest.raises(ConfigError, match="activation is not a number setting"):
        spaced_values("activation", 1, 2, 3)


def test_typed_values_are_parsed_by_the_fields_own_parser():
    assert parse_value_list("sparsity_target", "0.05, 0.1 ;0.2,") == [0.05, 0.1, 0.2]
    assert parse_value_list("code_size", "16 32 64") == [16, 32, 64]
    with pytest.raises(ConfigError) as caught:
        parse_value_list("code_size", "16, 32.5")
    assert "code_size='32.5' is not valid: expected a whole number" in one_sentence(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_value_list("learning_rate", " , ")
    assert "type the values of learning_rate to sweep" in one_sentence(caught.value)


def test_the_number_settings_a_sweep_can_space_and_the_scale_that_suits_each():
    assert number_sweep_fields("vae") == [
        "code_size",
        "learning_rate",
        "batch_size",
        "steps",
        "bias_init",
        "l2",
        "kl_weight",
        "seed",
    ]
    assert "sparsity_target" in number_sweep_fields("sparse_kl")
    assert set(number_sweep_fields("stacked")) <= set(sweepable_fields("stacked"))
    assert "activation" not in number_sweep_fields("stacked")
    log_scaled = {"learning_rate", "code_size", "batch_size", "steps"}
    assert {f for f in number_sweep_fields("sparse_kl") if suits_log_scale(f)} == log_scaled


@pytest.mark.parametrize("variant", ["stacked", "sparse_kl", "vae", "linear"])
def test_the_offered_range_of_a_setting_is_around_its_value_and_accepted(variant):
    config = make_config(variant)
    for field in number_sweep_fields(variant):
        low, high = default_sweep_range(config, field)
        log = suits_log_scale(field) and low > 0
        try:
            sweep_configs(config, field, spaced_values(field, low, high, 3, log=log))
        except ConfigError as error:
            # Only a setting that this config makes pointless (noise_level without noise, a
            # sparsity weight on a code that is not sigmoid) has no accepted range.
            assert field in ("noise_level", "sparsity_weight"), f"{field}: {error}"
            continue
        value = getattr(config, field)
        assert low <= value <= high or value == 0 and low == 0, (field, low, high)
    lr = make_config("stacked", learning_rate=0.001)
    assert default_sweep_range(lr, "learning_rate") == pytest.approx((1e-4, 1e-2))
    assert default_sweep_range(lr, "code_size") == (16, 64)
    assert default_sweep_range(lr, "seed") == (0, 2)
    # toy3d has 3 values per point: the code may not grow past them, so the range stops at 2.
    assert default_sweep_range(make_config("linear"), "code_size") == (1, 2)


# --- grids and lessons, planned ---------------------------------------------------------------


def test_a_grid_is_sweeps_along_its_first_field_one_per_value_of_the_others():
    groups = parse_grid("stacked dataset=digits steps=60 code_size=2,4,6 learning_rate=0.01,0.02")
    assert [group.field for group in groups] == ["code_size", "code_size"]
    assert [group.values for group in groups] == [(2, 4, 6), (2, 4, 6)]
    assert [group.base.learning_rate for group in groups] == [0.01, 0.02]
    assert all(group.base.steps == 60 and group.base.dataset == "digits" for group in groups)
    assert groups[1].labels[0] == "code_size=2 learning_rate=0.02"
    plan = plan_warm(grids=["stacked dataset=digits code_size=2,4 learning_rate=0.01,0.02"])
    assert len(plan.runs) == 4 and len({run.run_id for run in plan.runs}) == 4
    assert not any(run.stored for run in plan.runs)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("code_size=2,4", "must start with a variant"),
        ("stacked code_size=2,4 code_size=8,16", "gives code_size twice"),
        ("stacked dataset=digits,mnist", "'dataset' cannot be swept"),
        ("stacked code_size=0,4", "code_size=0"),
        ("nosuch code_size=2,4", "unknown variant 'nosuch'"),
        (
            "stacked code_size=linspace:1:16:16 seed=linspace:0:15:16 l2=0,0.1",
            "has 512 runs (16 code_size x 16 seed x 2 l2); at most 256 per grid",
        ),
    ],
)
def test_bad_grids_are_one_sentence(spec, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_grid(spec)
    assert fragment in one_sentence(caught.value)


def test_a_lesson_plan_is_the_runs_its_page_starts():
    plan = plan_warm(lesson_names=["l1-sparse"])
    expected = [config.run_id for config in lessons.get("l1-sparse").configs().values()]
    assert [run.run_id for run in plan.runs] == expected and len(expected) >= 2
    everything = plan_warm(lesson_names=["all"])
    distinct = {
        config.run_id for name in lessons.names() for config in lessons.get(name).configs().values()
    }
    assert {run.run_id for run in everything.runs} == distinct


# --- the command line ---------------------------------------------------------------------------

# A sweep or a warm starts workers and trains several runs: more time than one CLI run gets.
run_cli = functools.partial(_run_cli, timeout=300)


def test_train_sweep_json_prints_one_object_with_a_member_per_value(
    repo_root, tmp_path, summary_keys
):
    runs_dir = str(tmp_path / "runs")
    result = run_cli(
        repo_root,
        "train",
        "--variant",
        "stacked",
        *TINY_SETS,
        "--sweep",
        "code_size=2,4,2,6",
        "--json",
        "--runs-dir",
        runs_dir,
        "--workers",
        "2",
    )
    assert result.returncode == 0, result.stderr
    output = single_json_object(result.stdout)
    assert output["sweep"] == {"field": "code_size", "values": [2, 4, 6]}
    members = output["members"]
    assert [member["value"] for member in members] == [2, 4, 6]
    assert all(member["status"] == "done" for member in members)
    assert all(summary_keys <= set(member) for member in members)
    assert [member["config"]["code_size"] for member in members] == [2, 4, 6]
    run_ids = [member["run_id"] for member in members]
    assert len(set(run_ids)) == 3
    assert "code_size=4: done" in result.stderr and "sweep code_size: 3 done" in result.stderr

    listing = run_cli(repo_root, "runs", "list", "--json", "--runs-dir", runs_dir)
    assert listing.returncode == 0, listing.stderr
    listed = {run["run_id"]: run["status"] for run in single_json_object(listing.stdout)["runs"]}
    assert {run_id: listed.get(run_id) for run_id in run_ids} == dict.fromkeys(run_ids, "done")


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--sweep", "code_size=4,0"], "code_size=0"),
        (["--sweep", "dataset=digits,mnist"], "'dataset' cannot be swept for the stacked variant"),
        (["--sweep", "code_size=4"], "a sweep of code_size needs 2 to 16 distinct values"),
        (["--sweep", "code_size=4,8", "--set", "code_size=2"], "code_size is both swept and set"),
        (["--sweep", "sparsity_layers=1,2;3"], "sparsity_layers='3'"),
        (["--sweep", "code_size=4,8", "--workers", "0"], "--workers 0 must be at least 1"),
    ],
)
def test_train_sweep_bad_settings_exit_2_with_one_sentence(tmp_path, capsys, arguments, fragment):
    runs_dir = str(tmp_path / "runs")
    args = ["train", "--variant", "stacked", *TINY_SETS, *arguments, "--runs-dir", runs_dir]
    assert cli.main(args) == cli.EXIT_BAD_SETTING
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert not os.path.exists(runs_dir) or not os.listdir(runs_dir), "nothing trained"


GRID = "stacked dataset=digits hidden=16 steps=60 code_size=2,4 learning_rate=0.01,0.02"


def test_warm_grid_dry_run_lists_the_runs_and_trains_nothing(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    assert cli.main(["warm", "--grid", GRID, "--dry-run", "--runs-dir", str(runs_dir)]) == 0
    text = capsys.readouterr().out
    assert "4 runs, 0 stored already" in text and "The estimate:" in text
    assert "code_size=4 learning_rate=0.02" in text

    json_args = ["warm", "--grid", GRID, "--dry-run", "--json", "--runs-dir", str(runs_dir)]
    assert cli.main(json_args) == 0
    output = single_json_object(capsys.readouterr().out)
    assert (output["to_train"], output["stored"]) == (4, 0)
    assert len({run["run_id"] for run in output["runs"]}) == 4
    assert all(run["variant"] == "stacked" and not run["stored"] for run in output["runs"])
    assert all(run["estimated_seconds"] > 0 for run in output["runs"])
    assert output["estimated_seconds"] > 0 and "default rate" in output["estimate"]
    assert RunStore(runs_dir).scan() == [], "a dry run trains nothing"


def test_warm_lesson_dry_run_lists_the_lessons_runs(tmp_path, capsys):
    args = ["warm", "--lesson", "l1-sparse", "--dry-run", "--json", "--runs-dir", str(tmp_path)]
    assert cli.main(args) == 0
    output = single_json_object(capsys.readouterr().out)
    expected = [config.run_id for config in lessons.get("l1-sparse").configs().values()]
    assert [run["run_id"] for run in output["runs"]] == expected
    assert all(run["label"].startswith("lesson l1-sparse") for run in output["runs"])


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ([], "warm needs --lesson NAME (or all) or --grid"),
        (["--lesson", "nosuch"], "unknown lesson 'nosuch'"),
        (["--grid", "stacked code_size=2,0"], "code_size=0"),
        (["--lesson", "all", "--workers", "0"], "--workers 0 must be at least 1"),
    ],
)
def test_warm_bad_arguments_exit_2_with_one_sentence(tmp_path, capsys, arguments, fragment):
    assert cli.main(["warm", *arguments, "--runs-dir", str(tmp_path)]) == cli.EXIT_BAD_SETTING
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


def test_warm_grid_twice_trains_only_once_and_the_runs_are_listed(repo_root, tmp_path):
    runs_dir = str(tmp_path / "runs")
    warm = ["warm", "--grid", GRID, "--json", "--runs-dir", runs_dir, "--workers", "2"]
    first = run_cli(repo_root, *warm)
    assert first.returncode == 0, first.stderr
    report = single_json_object(first.stdout)
    assert (report["trained"], report["stored_before"], report["failed"]) == (4, 0, 0)
    assert "4/4 runs, 0 left" in first.stderr, "the plain progress line when stderr is no TTY"

    second = run_cli(repo_root, *warm)
    assert second.returncode == 0, second.stderr
    again = single_json_object(second.stdout)
    assert (again["trained"], again["stored_before"]) == (0, 4)
    assert [run["run_id"] for run in again["runs"]] == [run["run_id"] for run in report["runs"]]

    dry = run_cli(repo_root, "warm", "--grid", GRID, "--dry-run", "--json", "--runs-dir", runs_dir)
    planned = single_json_object(dry.stdout)
    assert (planned["stored"], planned["to_train"], planned["estimated_seconds"]) == (4, 0, 0)
    listing = run_cli(repo_root, "runs", "list", "--runs-dir", runs_dir)
    assert listing.stdout.startswith("4 runs in ")
    for run in report["runs"]:
        assert run["run_id"] in listing.stdout


def test_ctrl_c_stops_a_warm_cleanly(repo_root, tmp_path):
    runs_dir = tmp_path / "runs"
    grid = f"stacked dataset=digits hidden=16 steps={ENDLESS_STEPS} code_size=2,3,4"
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "ae_core", "warm", "--grid", grid, "--runs-dir", str(runs_dir)]
            + ["--workers", "2"],
            cwd=repo_root,
            env={**os.environ, "AE_OFFLINE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_until(
                lambda: stderr_path.read_text().count(": training (") == 2,
                timeout=120,
                what="two runs to train",
            )
            time.sleep(1.0)
            process.send_signal(signal.SIGINT)
            assert process.wait(60) == cli.EXIT_FAILED
        finally:
            if process.poll() is None:
                process.kill()
    text = stderr_path.read_text()
    assert "stopping: 3 runs cancelled or stopped" in text
    assert "Traceback" not in text
    records = RunStore(runs_dir).scan()
    assert sorted(record.status for record in records) == ["stopped", "stopped"]
    assert all(record.has_model for record in records)


def test_a_sweep_taking_turns_is_estimated_by_its_work_not_its_members_times_added():
    from ae_core.jobs import Snapshot
    from ae_core.sweeps import estimate_seconds_left

    def training(step: int, seconds_left: float) -> Snapshot:
        # 10,000 samples/s while its chunks run; its time left counts the turns it waits.
        return Snapshot(
            run_id="r", state="training", queue_position=None, step=step, total_steps=1000,
            phase=None, samples_per_s=10_000.0, seconds_left=seconds_left, elapsed=1.0,
            history=(), reason=None, summary=None,
        )  # fmt: skip

    configs = [tiny(seed, steps=1000, batch_size=100) for seed in range(4)]
    # Four members half done, taking turns on two workers: each says 10 s left (its 5 s of
    # work, shared with another); together they are 20 s of work over two workers.
    members = [training(500, 10.0) for _ in configs]
    assert estimate_seconds_left(members, configs, workers=2) == pytest.approx(10.0)
    # One member far behind the rest: the sweep ends when it does.
    members[0] = training(0, 30.0)
    assert estimate_seconds_left(members, configs, workers=2) == pytest.approx(30.0)


@dataclasses.dataclass
class _StoredRun:
    """What trained_values reads of a job."""

    config: object
    is_final_result: bool = True
    run_id: str = ""

    def __post_init__(self):
        self.run_id = self.run_id or self.config.run_id


def test_trained_values_are_the_slider_positions_that_answer_from_the_store():
    config = make_config("sparse_kl", code_size=16, steps=50)
    runs = [
        _StoredRun(config.replace(sparsity_target=0.05)),
        _StoredRun(config.replace(sparsity_target=0.2)),
        _StoredRun(config.replace(sparsity_weight=0.5)),
        _StoredRun(config.replace(code_size=32)),
        # Not a slider position from here: two settings differ, or not finished, or other data.
        _StoredRun(config.replace(sparsity_target=0.3, code_size=8)),
        _StoredRun(config.replace(sparsity_target=0.4), is_final_result=False),
        _StoredRun(config.replace(sparsity_target=0.6), run_id="sparse_kl-otherdata"),
        _StoredRun(make_config("stacked", code_size=16, steps=50)),
    ]
    found = trained_values(config, runs)
    assert found == {"sparsity_target": [0.05, 0.2], "sparsity_weight": [0.5], "code_size": [32]}
    # Trained itself: every setting's own value is a trained position too.
    with_itself = trained_values(config, [*runs, _StoredRun(config)])
    assert with_itself["sparsity_target"] == [0.05, 0.1, 0.2]
    assert with_itself["learning_rate"] == [config.learning_rate]
