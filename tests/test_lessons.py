"""The lessons: every preset runs through the command line, the presets hold the published
settings (with the corrections the lessons document), and the report is written from stored runs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ae_core import cli, lessons
from ae_core.errors import ConfigError
from ae_core.lessons import MAIN, Epochs
from ae_core.store import RunStore

# A few steps each: enough to compile, train, measure and report every figure.
FEW_STEPS = 4


@pytest.mark.parametrize("name", lessons.names())
def test_every_lesson_runs_through_the_cli(name, capsys, tmp_path):
    lesson = lessons.get(name)
    code = cli.main(
        [
            "train",
            "--preset",
            name,
            "--steps",
            str(FEW_STEPS),
            "--json",
            "--save",
            "--runs-dir",
            str(tmp_path),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    output = json.loads(captured.out)
    expected = lesson.configs(steps=FEW_STEPS)
    # The top level is the lesson's own run, as for --variant.
    assert output["config"] == expected[MAIN].to_dict()
    assert output["steps"] == FEW_STEPS and output["status"] == "done"
    report = output["lesson"]
    assert report["name"] == name
    assert report["runs"] == {role: config.run_id for role, config in expected.items()}
    assert set(report["other_runs"]) == set(expected) - {MAIN}
    # Every published result has ours beside it: every run it needs was trained.
    labels = [result.label for result in lesson.published_results]
    assert [row["figure"] for row in report["figures"]] == labels
    assert all(row["ours"] != "not trained yet" for row in report["figures"]), report["figures"]
    # --save kept every run of the lesson, finished.
    store = RunStore(tmp_path)
    assert {r.run_id: r.status for r in store.scan()} == {
        config.run_id: "done" for config in expected.values()
    }


def test_an_unknown_lesson_is_one_sentence_listing_the_lessons(capsys):
    assert cli.main(["train", "--preset", "plain", "--json"]) == cli.EXIT_BAD_SETTING
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown lesson 'plain'" in captured.err and "plain-sigmoid" in captured.err
    with pytest.raises(ConfigError) as raised:
        lessons.get("plain")
    assert raised.value.field == "preset"


def test_variant_and_preset_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--variant", "stacked", "--preset", "vae"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_lessons_list_names_every_lesson_with_its_runs(capsys):
    assert cli.main(["lessons", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert list(listing) == lessons.names()
    assert set(listing["l1-sparse"]["runs"]) == {MAIN, "without the penalty"}
    assert listing["l1-sparse"]["runs"]["without the penalty"]["l1"] == 0.0


# --- the presets hold what was published ----------------------------------------------------------


def test_the_issue_lists_fourteen_lessons_in_order():
    assert lessons.names() == [
        "plain-sigmoid",
        "sparse-kl",
        "deep-relu",
        "code-size-2",
        "keras-128-32",
        "l1-sparse",
        "denoising",
        "linear-pca",
        "stacked-elu",
        "tied-weights",
        "layer-wise",
        "sparse-coding-layer",
        "dropout-denoising",
        "vae",
    ]


def test_plain_sigmoid_and_its_sparse_version_as_published():
    plain = lessons.get("plain-sigmoid").config()
    assert plain.layer_sizes == (300, 30) and plain.encoder_activations == ("sigmoid",) * 2
    assert (plain.output_activation, plain.loss, plain.init, plain.bias_init) == (
        "sigmoid",
        "mse",
        "truncated_normal",
        0.1,
    )
    assert (plain.optimizer, plain.learning_rate, plain.batch_size, plain.steps) == (
        "adam",
        0.01,
        60,
        20_000,
    )
    sparse = lessons.get("sparse-kl").config()
    assert sparse.penalised_layers == (0, 1)  # both encoder layers
    assert (sparse.sparsity_target, sparse.sparsity_weight) == (0.02, 7.5e-5)
    # 5e-6 on tf.nn.l2_loss, which halves the sum of squares that our l2 weighs.
    assert sparse.l2 == pytest.approx(5e-6 / 2)
    # Only the penalties differ from the plain net.
    differing = {k for k, v in sparse.to_dict().items() if plain.to_dict()[k] != v}
    assert differing == {"variant", "sparsity_target", "sparsity_weight", "sparsity_layers", "l2"}


def test_deep_relu_uses_tf1_rmsprop_a_20_unit_code_and_two_seeds():
    lesson = lessons.get("deep-relu")
    runs = lesson.configs()
    trains, dies = runs[MAIN], runs["a seed whose code dies"]
    assert trains.layer_sizes == (300, 100, 20)
    assert (trains.activation, trains.output_activation) == ("relu", "relu")
    assert (trains.optimizer, trains.learning_rate, trains.batch_size) == ("rmsprop_tf1", 0.01, 50)
    assert trains.seed != dies.seed and trains.replace(seed=dies.seed) == dies
    # The code-size-2 lesson compares with the very same run (trained once, cached).
    assert lessons.get("code-size-2").configs()["20 code units"] == trains
    assert lessons.get("code-size-2").config().code_size == 2


def test_l1_weight_is_scaled_to_the_batch_and_the_code_reads_the_pixels():
    runs = lessons.get("l1-sparse").configs()
    with_penalty, without = runs[MAIN], runs["without the penalty"]
    assert with_penalty.hidden == () and with_penalty.code_size == 32
    assert with_penalty.l1 == pytest.approx(1e-5 * with_penalty.batch_size)
    assert without.l1 == 0 and without.replace(variant="sparse_l1", l1=with_penalty.l1) == (
        with_penalty
    )


def test_hands_on_lessons_share_the_stacked_elu_net():
    stacked = lessons.get("stacked-elu").config()
    assert stacked.layer_sizes == (300, 150) and stacked.init == "he_normal"
    assert stacked.l2 == pytest.approx(0.001 / 2)  # the chapter's l2_reg on tf.contrib's form
    tied = lessons.get("tied-weights").configs()
    assert tied[MAIN].tied and tied["untied"] == stacked
    layerwise = lessons.get("layer-wise").configs()
    assert layerwise["whole stack at once"] == stacked
    assert layerwise[MAIN].replace(variant="stacked", steps=stacked.steps) == stacked
    # Four epochs of 366 batches of 150 per phase, five for the whole stack.
    assert (layerwise[MAIN].steps, stacked.steps) == (2 * 4 * 366, 5 * 366)


@pytest.mark.parametrize(
    ("epochs", "batch_size", "steps"),
    [
        (Epochs(5, 55_000, partial_batches=False), 150, 5 * 366),  # TF1 loops drop the rest
        (Epochs(5, 60_000, partial_batches=True), 32, 5 * 1875),  # Keras fit keeps it
        (Epochs(1, 60_000, partial_batches=True), 256, 235),
        (Epochs(1, 60_000, partial_batches=False), 256, 234),
    ],
)
def test_epochs_become_the_steps_the_original_took(epochs, batch_size, steps):
    assert epochs.steps(batch_size) == steps


def test_the_samples_note_says_how_many_passes_the_data_in_use_takes():
    lesson = lessons.get("vae")
    assert lesson.samples_note(55_000) == (
        "The original trains 50 epochs over 55,000 digits (2,750,000 examples seen); this lesson "
        "keeps the number of examples seen: 18,300 steps of 150."
    )
    assert lesson.samples_note(8_000).endswith(
        "18,300 steps of 150, which is 343 passes over the 8,000 training digits in use."
    )
    assert lessons.get("plain-sigmoid").samples_note(8_000) is None  # it counted steps


def test_published_results_compare_ours_with_the_published_number():
    lesson = lessons.get("plain-sigmoid")
    summary = {"test_mse": 0.01, "mean_activation": [0.2101, 0.378]}
    rows = {row["figure"]: row for row in lesson.results({MAIN: summary})}
    assert rows["test MSE"]["ours"] == "0.01"
    assert rows["test MSE"]["difference"] == pytest.approx(0.01 / 0.00885 - 1, abs=1e-4)
    assert rows["mean activation, layer 1"]["difference"] == pytest.approx(0.1, abs=1e-3)
    assert rows["mean activation, code layer"]["difference"] == 0.0
    # Kept exact, so the table and the sentences under it round the same number once.
    near_a_rounding_edge = {"test_mse": 0.01, "mean_activation": [0.191 * (1 - 0.03946), 0.378]}
    row = lesson.results({MAIN: near_a_rounding_edge})[1]
    assert f"{row['difference']:+.1%}" == "-3.9%"
    # A run not trained yet leaves its results open instead of failing.
    missing = lessons.get("l1-sparse").results({MAIN: {"mean_activation": [0.5]}})
    assert [row["ours"] for row in missing][:2] == ["not trained yet", "0.5"]
    assert missing[0]["difference"] is None


# --- the report -----------------------------------------------------------------------------------


def test_the_report_is_written_from_the_stored_runs(tmp_path, capsys):
    runs = tmp_path / "runs"
    output = tmp_path / "docs" / "RESULTS.md"
    trained = ["linear-pca", "denoising", "vae"]
    rewrite = ["lessons", "report", "--runs-dir", str(runs), "--output", str(output)]
    rewrite += ["--set", f"steps={FEW_STEPS}"]
    train = [*rewrite, "--train"]
    for name in trained:
        train += ["--only", name]
    assert cli.main(train) == 0, capsys.readouterr().err
    text = output.read_text()
    sections = text.split("\n## ")[1:]
    assert len(sections) == len(lessons.names())
    by_name = {lesson.name: s for lesson, s in zip(lessons.LESSONS, sections, strict=True)}
    for name in lessons.names():
        if name in trained:
            assert "| figure | published | ours | difference |" in by_name[name]
            assert f"{FEW_STEPS} steps of" in by_name[name]
        else:
            assert "Not trained yet in this run store." in by_name[name]
    # The linear lesson's results are numbers; the digit lessons have an image each.
    ratio = lessons.get("linear-pca").published_results[1]
    assert f"| {ratio.label} | {ratio.published} | " in by_name["linear-pca"]
    for name in ("denoising", "vae"):
        image = tmp_path / "docs" / "results" / f"{name}.png"
        assert image.exists() and f"(results/{name}.png)" in by_name[name]
    assert not (tmp_path / "docs" / "results" / "linear-pca.png").exists()

    from PIL import Image

    grid = np.asarray(Image.open(tmp_path / "docs" / "results" / "vae.png"))
    assert grid.ndim == 2 and grid.shape[0] > 6 * 28 and grid.shape[1] > 10 * 28
    # Written again from the same store without training: the same numbers.
    assert cli.main(rewrite) == 0
    assert output.read_text().split("\n## ", 1)[1] == text.split("\n## ", 1)[1]


# --- what a lesson shows --------------------------------------------------------------------------


def views_read_in(source: str) -> set[str]:
    """The view names a file tests a lesson's ``show`` for (``"latent" in lesson.show``)."""
    import ast

    return {
        node.left.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Constant)
        and any(isinstance(c, ast.Attribute) and c.attr == "show" for c in node.comparators)
    }


@pytest.mark.parametrize("name", lessons.names())
def test_every_lesson_shows_only_views_that_exist(name):
    show = lessons.get(name).show
    assert show and set(show) <= set(lessons.LESSON_VIEWS)
    assert len(set(show)) == len(show)


def test_a_lesson_showing_an_unknown_view_is_refused_naming_the_views():
    import dataclasses

    lesson = lessons.get("plain-sigmoid")
    with pytest.raises(ValueError) as caught:
        dataclasses.replace(lesson, show=("reconstructions", "reconstruction"))
    assert str(caught.value) == (
        "lesson 'plain-sigmoid' shows 'reconstruction'; the views a lesson can show are: "
        "generated, reconstructions, activations, latent, linear-pca"
    )


def test_the_lessons_page_and_the_report_read_only_views_that_exist(repo_root):
    page = views_read_in((repo_root / "pages" / "0_Lessons.py").read_text())
    report = views_read_in((repo_root / "ae_core" / "lessons_report.py").read_text())
    assert page == set(lessons.LESSON_VIEWS), "the page draws every view a lesson can show"
    assert report == {"generated", "reconstructions"} <= set(lessons.LESSON_VIEWS)
    assert views_read_in("x = 'latnet' in lesson.show\n") == {"latnet"}  # the scan sees a typo


# --- the catalogue is data ------------------------------------------------------------------------


def test_the_catalogue_is_data_built_from_the_lesson_types(repo_root):
    import ast

    tree = ast.parse((repo_root / "ae_core" / "lesson_catalogue.py").read_text(encoding="utf-8"))
    code = [
        type(node).__name__
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
    ]
    assert code == [], "the catalogue defines no code: what a lesson is goes in lesson_types"
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(isinstance(node, ast.Import) for node in ast.walk(tree))
    assert imported == {"__future__", "ae_core.lesson_types"}


def test_two_lessons_with_one_name_are_refused_naming_it():
    import dataclasses

    from ae_core.lessons import _by_name

    first = lessons.get("vae")
    with pytest.raises(ValueError) as caught:
        _by_name((first, lessons.get("denoising"), dataclasses.replace(first, title="Another")))
    assert str(caught.value) == "two lessons are named 'vae'; a lesson's name is unique"
    assert list(_by_name(lessons.LESSONS)) == lessons.names()
