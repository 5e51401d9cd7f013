"""Tests for the command line, `python -m ae_core`: real processes where stdout, stderr and the exit
code of the whole program matter, `ae_core.cli.main` in-process where that is enough.

Bad settings fail before TensorFlow is imported, so those subprocesses are cheap; only one test
trains in a subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from ae_core import cli
from ae_core.store import RunStore

VARIANTS = ["denoising", "layerwise", "linear", "sparse_kl", "sparse_l1", "stacked", "tied", "vae"]


def run_cli(repo_root, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m ae_core ARGS`` from the repository root, offline, with the test data dir."""
    env = {**os.environ, "AE_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ae_core", *args],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def single_json_object(stdout: str) -> dict:
    """Parse stdout as exactly one JSON object; anything else on stdout fails."""
    value = json.loads(stdout)  # raises on any text before or after the object
    assert isinstance(value, dict)
    assert stdout.strip().count("\n") == 0  # one line
    return value


def assert_single_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0]


# --- variants -------------------------------------------------------------------------------------


def test_variants_lists_all_eight(repo_root):
    result = run_cli(repo_root, "variants")
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert listed == VARIANTS
    assert "fixed: activation=linear, output_activation=linear, loss=mse" in result.stdout


def test_variants_json(capsys):
    assert cli.main(["variants", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert sorted(listing) == VARIANTS
    for facts in listing.values():
        assert set(facts) == {"summary", "options", "fixed", "defaults"}
        assert facts["summary"] and "variant" not in facts["options"]
    assert listing["tied"]["fixed"] == {"tied": True}
    assert "tied" not in listing["tied"]["options"]
    assert listing["linear"]["defaults"]["hidden"] == []
    assert listing["vae"]["defaults"]["code_size"] == 2


# --- training -------------------------------------------------------------------------------------


def test_train_linear_json_in_a_real_process(repo_root, summary_keys):
    result = run_cli(repo_root, "train", "--variant", "linear", "--steps", "300", "--json")
    assert result.returncode == 0, result.stderr
    summary = single_json_object(result.stdout)
    assert summary_keys | {"pca_mse_ratio", "max_principal_angle_deg"} <= set(summary)
    assert summary["run_id"].startswith("linear-")
    assert (summary["variant"], summary["dataset"], summary["steps"]) == ("linear", "toy3d", 300)
    assert summary["seconds"] > 0 and summary["samples_per_s"] > 0
    assert isinstance(summary["loss_terms"], dict)
    assert list(summary["loss_terms"]) == ["reconstruction"]
    assert summary["train_loss"] == pytest.approx(summary["loss_terms"]["reconstruction"])
    assert isinstance(summary["mean_activation"], list) and len(summary["mean_activation"]) == 1
    assert summary["dead_units"] == [0]
    assert 0 < summary["test_mse"] < 0.1  # toy3d's variance is ~1; a plane fits it closely
    assert summary["pca_mse_ratio"] >= 0.98 and 0 <= summary["max_principal_angle_deg"] <= 90
    assert summary["config"]["steps"] == 300 and summary["config"]["activation"] == "linear"
    # Progress and notices go to stderr.
    assert "step 300/300" in result.stderr
    assert f"training linear ({summary['run_id']})" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_stacked_on_digits_with_settings(capsys, summary_keys):
    code = cli.main(
        [
            "train",
            "--variant",
            "stacked",
            "--dataset",
            "digits",
            "--steps",
            "50",
            "--set",
            "hidden=32",
            "--set",
            "code_size=8",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = single_json_object(captured.out)
    assert summary_keys <= set(summary)
    assert (summary["variant"], summary["dataset"], summary["steps"]) == ("stacked", "digits", 50)
    assert summary["config"]["hidden"] == [32] and summary["config"]["code_size"] == 8
    assert summary["units"] == [32, 8] and len(summary["dead_units"]) == 2
    assert "pca_mse_ratio" not in summary  # only the linear variant compares with PCA
    assert "step 50/50" in captured.err


def test_train_json_diagnostics_list_what_went_wrong_and_none_for_a_healthy_run(capsys):
    digits = ["train", "--variant", "stacked", "--dataset", "digits", "--set", "hidden=32"]
    failing = [*digits, "--steps", "300", "--set", "learning_rate=10", "--json"]
    assert cli.main(failing) == 0  # it finished: the diagnostics say it did not learn
    summary = single_json_object(capsys.readouterr().out)
    assert [finding["code"] for finding in summary["diagnostics"]] == ["all_code_units_dead"]
    assert "learning rate 10 is too high for adam" in summary["diagnostics"][0]["message"]
    healthy = [*digits, "--steps", "600", "--set", "learning_rate=0.005", "--json"]
    assert cli.main(healthy) == 0
    assert single_json_object(capsys.readouterr().out)["diagnostics"] == []


def test_train_without_json_prints_a_readable_table(capsys):
    assert cli.main(["train", "--variant", "linear", "--steps", "40"]) == 0
    out = capsys.readouterr().out
    assert "run_id: linear-" in out and "loss reconstruction:" in out
    assert "{" not in out  # no JSON, and the config dict is left out


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--set", "sparsity_target=0"], ["sparsity_target=0.0", "(0.0, 1.0)"]),
        (["--set", "epochs=3"], ["'epochs'", "steps"]),
        (["--set", "steps=abc"], ["steps='abc'", "whole number"]),
        (["--set", "steps"], ["'steps'", "KEY=VALUE"]),
        (["--steps", "abc"], ["steps='abc'"]),
        (["--dataset", "cifar"], ["'cifar'", "digits"]),
    ],
    ids=["out-of-range", "unknown-key", "not-a-number", "missing-equals", "--steps", "--dataset"],
)
def test_bad_setting_exits_2_with_one_error_line(repo_root, arguments, fragments):
    result = run_cli(repo_root, "train", "--variant", "stacked", *arguments, "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert_single_error_line(result.stderr, *fragments)


def test_the_dataset_help_lists_the_datasets_table(monkeypatch, capsys):
    from ae_core import data

    assert list(data.DATASETS) == ["mnist", "mnist-sample", "fashion-mnist", "digits", "toy3d"]
    monkeypatch.setitem(data.DATASETS, "cifar10", data.DATASETS["mnist"])  # a dataset added
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--dataset DATASET mnist, mnist-sample, fashion-mnist, digits, toy3d or cifar10" in (
        help_text
    )


def test_unknown_variant_exits_2(repo_root):
    result = run_cli(repo_root, "train", "--variant", "resnet", "--steps", "10")
    assert result.returncode == 2
    assert result.stdout == ""
    assert_single_error_line(result.stderr, "'resnet'", *VARIANTS)


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["--variant", "linear", "--set", "activation=relu"], ["activation='relu'", "linear"]),
        (["--variant", "vae", "--set", "l1=0.5"], ["l1=0.5", "does not apply"]),
        (["--variant", "stacked", "--set", "=3"], ["'=3'", "KEY=VALUE"]),
    ],
    ids=["fixed-setting", "unused-setting", "empty-key"],
)
def test_bad_settings_in_process(capsys, arguments, fragments):
    assert cli.main(["train", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_single_error_line(captured.err, *fragments)


def test_missing_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main([])
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- stored runs ----------------------------------------------------------------------------------


def test_a_saved_run_is_listed_exported_imported_and_deleted(tmp_path, capsys):
    store_dir, other_dir = str(tmp_path / "runs"), str(tmp_path / "other")
    train_args = ["train", "--variant", "linear", "--steps", "200", "--json", "--save"]
    assert cli.main([*train_args, "--runs-dir", store_dir]) == 0
    trained = single_json_object(capsys.readouterr().out)

    assert cli.main(["runs", "list", "--json", "--runs-dir", store_dir]) == 0
    listing = single_json_object(capsys.readouterr().out)
    assert [run["run_id"] for run in listing["runs"]] == [trained["run_id"]]
    assert listing["runs"][0]["status"] == "done"
    assert listing["runs"][0]["test_mse"] == trained["test_mse"]
    # It keeps its snapshots for the step scrubber, as a run trained by the app does.
    steps = RunStore(store_dir).snapshot_steps(trained["run_id"])
    assert steps == sorted(steps) and len(steps) == 6 and 0 < steps[0] < steps[-1] < 200

    archive = tmp_path / "run.zip"
    assert (
        cli.main(["runs", "--runs-dir", store_dir, "export", trained["run_id"], "-o", str(archive)])
        == 0
    )
    assert cli.main(["runs", "--runs-dir", other_dir, "import", str(archive)]) == 0
    assert f"imported {trained['run_id']} (done)" in capsys.readouterr().err
    assert cli.main(["runs", "--runs-dir", other_dir]) == 0
    assert trained["run_id"] in capsys.readouterr().out

    assert cli.main(["runs", "--runs-dir", store_dir, "delete", trained["run_id"]]) == 0
    assert cli.main(["runs", "--runs-dir", store_dir, "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []


@pytest.mark.parametrize(
    "full_for",
    [("model.keras",), ("model.keras", "history.json", "summary.json")],
    ids=["the-model", "every-file"],
)
def test_a_full_disk_names_the_folder_prints_the_figures_and_says_why(
    tmp_path, capsys, monkeypatch, full_for
):
    from ae_core import store
    from ae_core.store import RunStore

    write = store._atomic_write

    def disk_full_for_the_run(path, fill):
        # The run's own folder only: its staging folder (config, data) is written as usual.
        if path.name in full_for and not path.parent.name.startswith("."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(path, fill)

    monkeypatch.setattr(store, "_atomic_write", disk_full_for_the_run)
    runs = tmp_path / "runs"
    args = ["train", "--variant", "linear", "--steps", "40", "--json", "--save"]
    assert cli.main([*args, "--runs-dir", str(runs)]) == 1
    captured = capsys.readouterr()
    figures = single_json_object(captured.out)  # printed all the same
    assert figures["steps"] == 40 and 0 < figures["test_mse"] < 1
    run_id = figures["run_id"]
    error = captured.err.strip().splitlines()[-1]
    assert error == (
        f"error: run {run_id} could not be saved in {runs.absolute() / run_id} "
        "([Errno 28] No space left on device)"
    )
    stored = RunStore(runs)
    if len(full_for) == 1:  # the record of why fits where the model did not
        record = stored.get(run_id)
        assert (record.status, record.has_model, record.is_final) == ("failed", False, False)
        assert record.reason == error.removeprefix("error: ")
        assert not (record.path / "model.keras").exists()
    else:  # not even that: no folder left to pass for a run whose process died
        assert stored.scan() == [] and stored.problems == []
        assert list(runs.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["import", "{file}"], "not a zip archive"),
        (["delete", "stacked-000000000000"], "no stored run 'stacked-000000000000'"),
        (["export", "stacked-000000000000"], "no stored run 'stacked-000000000000'"),
        (["import", "{missing}"], "No such file or directory"),
    ],
)
def test_runs_errors_are_one_sentence_with_exit_status_1(tmp_path, capsys, args, fragment):
    not_a_run = tmp_path / "notes.txt"
    not_a_run.write_text("hello")
    args = [a.format(file=not_a_run, missing=tmp_path / "gone.zip") for a in args]
    before = sorted((tmp_path / "runs").rglob("*")) if (tmp_path / "runs").exists() else []
    assert cli.main(["runs", "--runs-dir", str(tmp_path / "runs"), *args]) == 1
    assert_single_error_line(capsys.readouterr().err, fragment)
    assert sorted((tmp_path / "runs").rglob("*")) == before
