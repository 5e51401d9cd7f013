"""Every page of the app under Streamlit's AppTest, in the matrix the issue asks for: every page
loads without error for every variant, with no run yet, with a running run and with a failed run;
and the Train page's widgets, button and stored results.

The pages get their JobManager from ``ui.manager()``, an ``st.cache_resource`` keyed by
``$AE_RUNS_DIR`` and ``$AE_WORKERS`` that lives for the whole pytest process, so each scenario has
its own runs folder (module-scoped fixtures) and every page run sets the two variables. The eight
finished runs are tiny and trained once, by a two-worker manager of their own; the pages' own
manager (one worker) reads them from the folder.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.source_util import page_icon_and_name
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from ae_core import lessons, naming, registry, views
from ae_core.config import RunConfig, make_config, short_run_id
from ae_core.controls import controls
from ae_core.data import load_dataset
from ae_core.jobs import Job, JobManager, Snapshot
from ae_core.naming import changed_settings
from ae_core.trainer import HELD_OUT_POINTS_PER_PHASE
from ae_core.worker import CHECKPOINT_SECONDS

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # the pages `import ui`, as `streamlit run Home.py` allows
    sys.path.insert(0, str(REPO_ROOT))

import ui  # noqa: E402  (needs the repository on sys.path, above)

HOME = "Home.py"
TRAIN = "pages/1_Train.py"
RECONSTRUCTIONS = "pages/2_Reconstructions.py"
ACTIVATIONS = "pages/3_Activations.py"
FEATURES = "pages/4_Features.py"
LATENT = "pages/5_Latent_space.py"
LINEAR_VS_PCA = "pages/6_Linear_vs_PCA.py"
COMPARE = "pages/7_Compare.py"
# The pages that show the run chosen in the sidebar.
VIEW_PAGES = [RECONSTRUCTIONS, ACTIVATIONS, FEATURES, LATENT, LINEAR_VS_PCA, COMPARE]
PAGES = [HOME, TRAIN, *VIEW_PAGES]

# Tiny runs: a couple of seconds of training each, plus the first chunk's compilation.
TINY = {"dataset": "digits", "hidden": (16,), "code_size": 4, "steps": 100, "learning_rate": 5e-3}
FINISHED = {
    "stacked": make_config("stacked", **TINY),
    "tied": make_config("tied", **TINY),
    "layerwise": make_config("layerwise", **TINY),
    "denoising": make_config("denoising", **TINY),
    "sparse_kl": make_config("sparse_kl", **{**TINY, "hidden": (), "code_size": 16}),
    "sparse_l1": make_config("sparse_l1", **{**TINY, "hidden": (), "code_size": 16}),
    "vae": make_config("vae", **{**TINY, "code_size": 2}),  # 2-D latent: the plane is drawn too
    "linear": make_config("linear"),  # toy3d (points, not images), 1,500 steps
}
VARIANTS = registry.available()
# Fails at a non-finite loss, keeping the weights of the last good step (see test_jobs.py).
EXPLODING = make_config(
    "linear", dataset="digits", code_size=4, steps=300, optimizer="sgd", learning_rate=10.0
)
# Fails before training: Fashion-MNIST is not in the offline data folder. No model.
NO_DATA = make_config("stacked", **{**TINY, "dataset": "fashion-mnist"})
# Still training at the end of the module, where it is stopped.
RUNNING = make_config(
    "linear", dataset="digits", code_size=4, steps=1_000_000, learning_rate=1e-3, seed=5
)


# --- helpers --------------------------------------------------------------------------------------


@contextmanager
def runs_folder(path: Path) -> Iterator[None]:
    """Point the app's job manager at ``path`` (one worker, one run at a time, so a second run
    waits in the queue) while the block runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AE_RUNS_DIR", str(path))
        patch.setenv("AE_WORKERS", "1")
        patch.setenv("AE_RUNS_PER_WORKER", "1")
        yield


def page_manager(path: Path) -> JobManager:
    """The very JobManager the pages use for the runs folder ``path``."""
    with runs_folder(path):
        return ui.manager()


def run_page(page: str, path: Path, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / page), default_timeout=60)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return rerun(at, path)


def rerun(at: AppTest, path: Path) -> AppTest:
    with runs_folder(path):
        at.run()
    return at


def texts(elements) -> list[str]:
    return [str(element.value) for element in elements]


def assert_clean(at: AppTest, page: str) -> None:
    """No exception and no error box."""
    assert not at.exception, f"{page}: {texts(at.exception)}"
    assert not at.error, f"{page}: {texts(at.error)}"


def charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for chart in charts(at):
        title = json.loads(chart.proto.spec)["layout"].get("title") or {}
        titles.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return titles


def chart_lines(chart) -> dict[str, dict[str, np.ndarray]]:
    """A chart's traces by name, their x and y as arrays (plotly sends arrays as base64)."""

    def values(data) -> np.ndarray:
        if isinstance(data, dict):
            return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        return np.asarray(data, dtype=float)

    traces = json.loads(chart.proto.spec)["data"]
    return {t["name"]: {"x": values(t["x"]), "y": values(t["y"])} for t in traces}


def shows_empty_live_charts(at: AppTest) -> bool:
    """The page shows a run's loss and activation charts, on empty axes."""
    lines = [line for chart in charts(at) for line in chart_lines(chart).values()]
    empty = all(not len(line["x"]) for line in lines)
    return chart_titles(at) == ["Loss", "Mean activation per layer"] and empty


def metric_values(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def mentions(elements, *words: str) -> bool:
    """Whether one of the elements says every one of ``words`` (case-insensitive)."""
    return any(all(w.lower() in text.lower() for w in words) for text in texts(elements))


def settings_state(config: RunConfig) -> dict:
    """Session state that puts ``config`` into the Train page's widgets, as ui.load_settings."""
    state = {"variant": config.variant}
    for control in controls(config.variant):
        value = getattr(config, control.name)
        if control.kind == "layers":
            value = ",".join(str(size) for size in value)
        elif control.kind == "float":
            value = float(value)
        state[ui.setting_key(config.variant, control.name)] = value
    return state


def is_a_diagnostic(text: str, folder: Path) -> bool:
    """Whether ``text`` is what ``ui.run_diagnostics`` finds in one of the runs of ``folder``."""
    found = [f.message for job in page_manager(folder).list_runs() for f in ui.run_diagnostics(job)]
    return any(text.endswith(message) for message in found)


def chosen(run_id: str) -> dict:
    return {ui.SELECTED_RUN: run_id}


def train_button(at: AppTest):
    return next(button for button in at.button if button.label == "Train")


def next_sibling(at: AppTest, key: str):
    """The element drawn right after the widget ``key`` in its container (None if last)."""
    for node in at.main:
        if isinstance(node, Block):
            children = [node.children[i] for i in sorted(node.children)]
            for index, child in enumerate(children):
                if getattr(child, "key", None) == key:
                    return children[index + 1] if index + 1 < len(children) else None
    raise AssertionError(f"no widget with key {key!r} on the page")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def finished_job(job: Job, timeout: float = 180.0) -> Job:
    assert job.wait(timeout), f"{job} did not finish within {timeout} s"
    return job


def test_page_runs_do_not_clear_the_keras_session(finished_folder, monkeypatch):
    """Streamlit would call keras.backend.clear_session() (a full garbage collection, 0.3 s of
    CPU with TensorFlow loaded) after every page and fragment run; ui stops that."""
    import keras

    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    at = run_page(RECONSTRUCTIONS, finished_folder, chosen(FINISHED["stacked"].run_id))
    rerun(at, finished_folder)
    assert_clean(at, RECONSTRUCTIONS)
    assert len(charts(at)) == 1, "a model was loaded and run, so Keras is imported"
    assert calls == []


def test_every_chart_of_the_app_is_drawn_through_ui_chart():
    """Presenting mode enlarges every chart, so none is drawn past it."""
    files = [
        REPO_ROOT / HOME,
        *(REPO_ROOT / "pages").glob("*.py"),
        *(REPO_ROOT / "ui").glob("*.py"),
    ]
    direct = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in files
        if path.name != "presenting.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ".plotly_chart(" in line
    ]
    assert direct == [], "draw these with ui.chart"


def test_the_app_pages_are_defined_once_as_the_pages_folder_holds_them():
    files = sorted(path.relative_to(REPO_ROOT).as_posix() for path in REPO_ROOT.glob("pages/*.py"))
    assert sorted(page.path for page in ui.pages.PAGES) == files
    for page in ui.pages.PAGES:
        assert page.label == page_icon_and_name(REPO_ROOT / page.path)[1].replace("_", " ")
    # The app names a page's file through ui.pages only.
    app = [REPO_ROOT / "Home.py", *REPO_ROOT.glob("pages/*.py"), *REPO_ROOT.glob("ui/*.py")]
    for source in app:
        if source.name != "pages.py":
            assert '"pages/' not in source.read_text(), source.name


# --- scenarios: one runs folder each --------------------------------------------------------------


@contextmanager
def scenario(folder: Path) -> Iterator[Path]:
    """A scenario's runs folder; at the end of the module its page manager's workers end (the
    cached manager itself stays, unused: no later test points at this folder)."""
    try:
        yield folder
    finally:
        page_manager(folder).shutdown(30)


@pytest.fixture(scope="module")
def empty_folder(tmp_path_factory) -> Iterator[Path]:
    with scenario(tmp_path_factory.mktemp("no-runs")) as folder:
        yield folder


@pytest.fixture(scope="module")
def finished_folder(tmp_path_factory) -> Iterator[Path]:
    """One finished tiny run per variant, trained by a manager of its own (two workers)."""
    folder = tmp_path_factory.mktemp("finished-runs")
    assert sorted(FINISHED) == VARIANTS, "one finished run per registered variant"
    with JobManager(folder, workers=2) as trainer:
        jobs = {variant: trainer.submit(config) for variant, config in FINISHED.items()}
        for variant, job in jobs.items():
            assert finished_job(job).state == "done", f"{variant}: {job.reason}"
    with scenario(folder):
        yield folder


@pytest.fixture(scope="module")
def failed_folder(tmp_path_factory) -> Iterator[Path]:
    """A run that failed on a non-finite loss (model kept) and one that failed before training."""
    with scenario(tmp_path_factory.mktemp("failed-runs")) as folder:
        manager = page_manager(folder)
        for config in (EXPLODING, NO_DATA):
            assert finished_job(manager.submit(config)).state == "failed"
        yield folder


@pytest.fixture(scope="module")
def running_job(tmp_path_factory) -> Iterator[tuple[Path, Job]]:
    """A run of a million steps, training on the pages' own manager; stopped at module end."""
    with scenario(tmp_path_factory.mktemp("running-run")) as folder:
        job = page_manager(folder).submit(RUNNING)
        try:
            # A few seconds in: past its first metrics and its first saved model so far.
            wait_until(lambda: job.snapshot().elapsed >= 6.0, 120, "the run to train for 6 s")
            assert job.state == "training", job.reason
            yield folder, job
        finally:
            job.stop()
            job.wait(60)


# --- no runs yet ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_there_is_nothing_yet_without_runs(empty_folder, page):
    at = run_page(page, empty_folder)
    assert_clean(at, page)
    if page == TRAIN:
        assert shows_empty_live_charts(at), "the charts a run draws, empty until Train"
        assert mentions(at.caption, "not been trained yet")
        assert not train_button(at).disabled, "the default settings are valid"
    else:
        assert not charts(at)
        assert mentions(at.info, "no runs yet"), texts(at.info)


def every_text(at: AppTest) -> list[str]:
    """Everything the page sends to the browser, element by element (its protos as text)."""
    found = []

    def walk(node) -> None:
        if isinstance(node, Block):
            for index in sorted(node.children):
                walk(node.children[index])
        else:
            found.append(str(node.proto))

    walk(at.main)
    walk(at.sidebar)
    return found


def test_train_page_says_what_data_a_run_will_use_in_plain_words(empty_folder, monkeypatch):
    from ae_core import data

    def dns_failure(name):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(data, "_cache", {})  # this test's loads only, the others' back after it
    monkeypatch.setattr(data, "_keras_download", dns_failure)
    monkeypatch.setenv("AE_OFFLINE", "0")
    at = run_page(TRAIN, empty_folder)
    assert_clean(at, TRAIN)
    said = next_sibling(at, ui.setting_key(ui.DEFAULT_VARIANT, "dataset"))
    assert said is not None and said.type == "caption"
    assert said.value == (
        "A run trains on MNIST, 8,000 training digits from its test split in this server's "
        "data folder (the other 2,000 for testing). MNIST could not be downloaded."
    )
    page = every_text(at)
    assert sum("could not be downloaded" in text for text in page) == 1, "once"
    data_dir = os.environ["AE_DATA_DIR"]
    assert not [text for text in page if data_dir in text or "Errno" in text or "resol" in text]


# --- one finished run per variant -----------------------------------------------------------------


def is_images(config: RunConfig) -> bool:
    return config.dataset != "toy3d"


def expected_charts(page: str, config: RunConfig) -> int:
    """The least number of plotly charts ``page`` draws for a finished run of ``config``."""
    images = is_images(config)
    if page == RECONSTRUCTIONS:
        return 1 if images else 0  # the image grid with its MSE per row
    if page == ACTIVATIONS:
        return 3  # histograms per layer, unit means, the KL curve
    if page == FEATURES:
        return 2 if images else 0  # encoder weights, and the output layer's weights
    if page == LATENT:
        codes_and_walk = 2 if images else 1
        return codes_and_walk + (2 if config.variant == "vae" else 0)  # samples, the plane
    if page == LINEAR_VS_PCA:
        return 1 if config.variant == "linear" else 0  # toy3d: the cloud with both planes
    return 1  # Compare: the losses overlaid, and the same digits when they are images


@pytest.mark.parametrize("page", VIEW_PAGES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_view_page_shows_a_finished_run_of_every_variant(finished_folder, variant, page):
    config = FINISHED[variant]
    at = run_page(page, finished_folder, chosen(config.run_id))
    assert_clean(at, page)
    # A run of 100 steps may not have learned yet: it may say so, and nothing else.
    assert all(is_a_diagnostic(text, finished_folder) for text in texts(at.warning))
    assert at.session_state[ui.SELECTED_RUN] == config.run_id
    assert mentions(at.caption, config.run_id), "the sidebar names the chosen run"
    assert len(charts(at)) >= expected_charts(page, config)
    if page in (RECONSTRUCTIONS, FEATURES) and not is_images(config):
        assert mentions(at.info, "points, not images")
    if page == LINEAR_VS_PCA and variant != "linear":
        assert mentions(at.info, "linear"), "it says which runs this page is for"


@pytest.mark.parametrize("variant", ["stacked", "denoising"])
def test_reconstructions_page_shows_the_views_numbers(finished_folder, variant):
    config = FINISHED[variant]
    model = page_manager(finished_folder).model(config.run_id)
    expected = views.reconstructions(model, load_dataset("digits"), count=10)
    at = run_page(RECONSTRUCTIONS, finished_folder, chosen(config.run_id))
    assert_clean(at, RECONSTRUCTIONS)
    shown = metric_values(at)
    assert len(shown) == len(expected["mse"])
    for row, error in expected["mse"].items():
        label = f"MSE of the {row.split(' (')[0]} row against the clean digits"
        assert shown[label] == f"{error:.5f}"
    if variant == "denoising":
        assert expected["mse"]["denoised"] < expected["mse"]["noisy (gaussian 0.4)"]
        slider = next(s for s in at.slider if s.label.startswith("Noise level"))
        assert slider.value == pytest.approx(0.4)


def test_activations_page_counts_the_dead_code_units(finished_folder):
    config = FINISHED["sparse_l1"]
    summary = page_manager(finished_folder).get(config.run_id).summary
    at = run_page(ACTIVATIONS, finished_folder, chosen(config.run_id))
    assert_clean(at, ACTIVATIONS)
    dead = summary["dead_units"][-1]  # over 2,000 test digits: the digits test split has 297
    assert mentions(at.caption, f"{dead} of {config.code_size} units of code are dead")


def test_linear_vs_pca_page_shows_the_runs_figures(finished_folder):
    config = FINISHED["linear"]
    summary = page_manager(finished_folder).get(config.run_id).summary
    at = run_page(LINEAR_VS_PCA, finished_folder, chosen(config.run_id))
    assert_clean(at, LINEAR_VS_PCA)
    shown = metric_values(at)
    assert shown["Largest angle between the subspaces"] == (
        f"{summary['max_principal_angle_deg']:.2f}°"
    )
    assert shown["MSE ratio (autoencoder / PCA)"] == f"{summary['pca_mse_ratio']:.3f}"
    assert summary["max_principal_angle_deg"] < 5, "1,500 steps find the plane of PCA"


def test_the_view_pages_own_widgets_change_what_they_show(finished_folder, digits):
    # Reconstructions of the denoising run: fewer digits, then no noise at all.
    denoising = FINISHED["denoising"].run_id
    at = run_page(RECONSTRUCTIONS, finished_folder, chosen(denoising))
    assert chart_titles(at) == ["Digits 0 1 2 3 4 5 6 7 8 9"]
    next(s for s in at.slider if s.label == "Digits").set_value(5)
    next(s for s in at.slider if s.label.startswith("Noise level")).set_value(0.0)
    rerun(at, finished_folder)
    assert_clean(at, RECONSTRUCTIONS)
    assert chart_titles(at) == ["Digits 0 1 2 3 4"]
    assert metric_values(at)["MSE of the noisy row against the clean digits"] == "0.00000"

    # Features of the 16-unit sparse_kl run: the slider asks for 64, the layer has 16.
    at = run_page(FEATURES, finished_folder, chosen(FINISHED["sparse_kl"].run_id))
    assert chart_titles(at)[0] == "Encoder: first 16 of 16 units"
    at.slider[0].set_value(8)
    rerun(at, finished_folder)
    assert_clean(at, FEATURES)
    assert chart_titles(at)[0] == "Encoder: first 8 of 16 units"

    # Activations: another layer's units.
    at = run_page(ACTIVATIONS, finished_folder, chosen(FINISHED["stacked"].run_id))
    next(box for box in at.selectbox if box.label == "Layer").select("output")
    rerun(at, finished_folder)
    assert_clean(at, ACTIVATIONS)
    assert mentions(at.caption, "of 64 units of output are dead")
    # The pixels dark in every test digit are not counted among the output's dead units.
    batch = digits.x_test[: views.ACTIVATION_EXAMPLES]
    dark = int(np.sum(batch.max(axis=0) == batch.min(axis=0)))
    assert dark > 0 and mentions(at.caption, f"Not counted: the {dark} pixels that are the same")

    # Latent space: t-SNE, and a walk to the last test digit.
    at = run_page(LATENT, finished_folder, chosen(FINISHED["stacked"].run_id))
    assert chart_titles(at)[0] == "Codes of test digits (PCA)"
    at.radio[0].set_value("tsne")
    at.number_input[1].set_value(len(digits.y_test) - 1)
    rerun(at, finished_folder)
    assert_clean(at, LATENT)
    titles = chart_titles(at)
    assert titles[0] == "Codes of test digits (t-SNE)"
    first, last = int(digits.y_test[0]), int(digits.y_test[-1])
    assert titles[1].startswith(f"From a {first} to a {last}:")


# The view pages with a "Training step" slider over a finished run's snapshots.
STEP_PAGES = [RECONSTRUCTIONS, ACTIVATIONS, FEATURES, LATENT]


def chart_specs(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in charts(at)]


@pytest.mark.parametrize("page", STEP_PAGES)
def test_the_training_step_slider_shows_a_finished_run_as_it_was_at_each_snapshot(
    finished_folder, page
):
    run_id = FINISHED["sparse_kl"].run_id  # 100 steps: snapshots at 1, 2, 5, 10, 20 and 50
    at = run_page(page, finished_folder, chosen(run_id))
    assert_clean(at, page)
    steps = at.select_slider(key="view:step")
    assert steps.label == "Training step"
    assert steps.options == ["1 (1%)", "2 (2%)", "5 (5%)", "10 (10%)", "20 (20%)", "50 (50%)"] + [
        "100 (final)"
    ]
    assert steps.value == 100 and "step" not in at.query_params
    final = chart_specs(at)
    steps.set_value(1)
    rerun(at, finished_folder)
    assert_clean(at, page)
    assert at.select_slider(key="view:step").value == 1
    assert at.query_params["step"] in (["1"], "1")
    early = chart_specs(at)
    assert len(early) == len(final) and early != final
    at.select_slider(key="view:step").set_value(100)
    rerun(at, finished_folder)
    assert chart_specs(at) == final


def test_the_training_step_is_kept_across_pages_and_opens_from_a_link(finished_folder):
    run_id = FINISHED["sparse_kl"].run_id
    at = run_page(HOME, finished_folder, chosen(run_id))
    at.switch_page(FEATURES)
    rerun(at, finished_folder)
    at.select_slider(key="view:step").set_value(5)
    rerun(at, finished_folder)
    at.switch_page(LATENT)
    rerun(at, finished_folder)
    assert_clean(at, LATENT)
    assert at.select_slider(key="view:step").value == 5

    linked = AppTest.from_file(str(REPO_ROOT / ACTIVATIONS), default_timeout=60)
    linked.query_params.update({"run": run_id, "step": "20"})
    rerun(linked, finished_folder)
    assert_clean(linked, ACTIVATIONS)
    assert linked.select_slider(key="view:step").value == 20
    refused = AppTest.from_file(str(REPO_ROOT / ACTIVATIONS), default_timeout=60)
    refused.query_params.update({"run": run_id, "step": "3"})
    rerun(refused, finished_folder)
    assert mentions(refused.warning, "step='3'", "1, 2, 5, 10, 20, 50, 100")
    assert refused.select_slider(key="view:step").value == 100


def test_a_run_without_snapshots_says_so_and_shows_its_final_model(finished_folder):
    run_id = FINISHED["tied"].run_id
    for snapshot in (finished_folder / run_id).glob("snapshot-*"):
        snapshot.unlink()  # as a run stored before snapshots were kept
    at = run_page(FEATURES, finished_folder, chosen(run_id))
    assert_clean(at, FEATURES)
    assert not at.select_slider
    assert mentions(at.caption, "kept no snapshots")
    assert chart_titles(at)[0].startswith("Encoder: first")


def test_home_page_lists_every_finished_run(finished_folder):
    at = run_page(HOME, finished_folder)
    assert_clean(at, HOME)
    table = at.dataframe[0].value
    listed = dict(zip(table["run"], table["state"], strict=True))
    for config in FINISHED.values():
        assert listed[config.run_id] == "done"
    assert len(at.get("download_button")) == 1, "a finished run can be downloaded"


def test_home_page_is_named_home_and_lists_the_runs_in_a_sortable_table(finished_folder):
    # With a pages/ folder, Streamlit names the entry page in the sidebar after its file.
    assert [path.name for path in REPO_ROOT.glob("*.py")] == [HOME]
    assert page_icon_and_name(REPO_ROOT / HOME) == ("", "Home")
    at = run_page(HOME, finished_folder)
    assert_clean(at, HOME)
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "run",
        "name",
        "variant",
        "changed from the defaults",
        "state",
        "test MSE",
        "trained",
        "note",
    ]
    # Each column keeps its type, so that its header sorts it as numbers or times.
    assert table["test MSE"].dtype == np.float64
    assert pd.api.types.is_datetime64_any_dtype(table["trained"])
    rows = table.set_index("run")
    manager = page_manager(finished_folder)
    for variant, config in FINISHED.items():
        row, summary = rows.loc[config.run_id], manager.get(config.run_id).summary
        assert row["variant"] == variant and row["state"] == "done"
        changed = ", ".join(changed_settings(config)) or "nothing"
        assert row["changed from the defaults"] == changed
        assert row["test MSE"] == pytest.approx(summary["test_mse"])
        trained = datetime.fromtimestamp(summary["finished_at"])
        assert abs(row["trained"] - pd.Timestamp(trained)) < pd.Timedelta(seconds=1)
    assert rows.loc[FINISHED["stacked"].run_id, "changed from the defaults"] == (
        "code size 4, dataset digits, hidden layers 16, learning rate 0.005, steps 100"
    )


# Two runs of a sweep of beta: the Compare page names them by it.
BETA_RUNS = [
    make_config("sparse_kl", **{**TINY, "hidden": (), "code_size": 16, "sparsity_weight": beta})
    for beta in (0.1, 1.0)
]


@pytest.fixture(scope="module")
def compared_folder(tmp_path_factory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("compared-runs")
    with JobManager(folder, workers=1) as trainer:
        for config in BETA_RUNS:
            assert finished_job(trainer.submit(config)).state == "done"
    with scenario(folder):
        yield folder


def test_compare_names_runs_by_what_differs_and_overlays_their_reconstruction_loss(
    compared_folder, digits
):
    at = run_page(COMPARE, compared_folder)
    assert_clean(at, COMPARE)
    manager = page_manager(compared_folder)
    jobs = {f"beta {config.sparsity_weight:g}": manager.get(config.run_id) for config in BETA_RUNS}
    settings = at.dataframe[0].value
    assert sorted(settings.columns) == ["beta 0.1", "beta 1", "setting"]
    assert settings["setting"].tolist() == ["sparsity_weight"], "only what differs"

    # The reconstruction term, the same measure in every variant, is overlaid by default.
    assert chart_titles(at)[0] == "Reconstruction loss of each run"
    lines = chart_lines(charts(at)[0])
    assert sorted(lines) == sorted(jobs)
    for name, job in jobs.items():
        history = job.snapshot().history
        expected = [point["loss_terms"]["reconstruction"] for point in history]
        np.testing.assert_allclose(lines[name]["y"], expected, rtol=1e-6)
    next(radio for radio in at.radio if radio.label == "Curves").set_value("total")
    rerun(at, compared_folder)
    assert_clean(at, COMPARE)
    assert chart_titles(at)[0] == "Total loss of each run"
    history = jobs["beta 1"].snapshot().history
    total = chart_lines(charts(at)[0])["beta 1"]["y"]
    np.testing.assert_allclose(total, [point["loss"] for point in history], rtol=1e-6)
    assert total[-1] > history[-1]["loss_terms"]["reconstruction"], "beta 1 adds its KL term"

    # The figures: a column per run (as narrow as the runs compared), every figure in full.
    table = at.dataframe[-1].value.set_index("figure")
    assert sorted(table.columns) == sorted(jobs)
    for name, job in jobs.items():
        expected = views.comparison_numbers(manager.model(job.run_id), digits)
        assert table.loc["probe accuracy", name] == f"{expected['probe_accuracy']:.1%}"
        assert table.loc["test MSE", name] == f"{job.summary['test_mse']:.5f}"

    # The curves shown are in the address, with the runs.
    written = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert written["loss"] == "total"
    linked = AppTest.from_file(str(REPO_ROOT / COMPARE), default_timeout=60)
    linked.query_params.update({"compare": written["compare"], "loss": "total"})
    rerun(linked, compared_folder)
    assert_clean(linked, COMPARE)
    assert chart_titles(linked)[0] == "Total loss of each run"
    refused = AppTest.from_file(str(REPO_ROOT / COMPARE), default_timeout=60)
    refused.query_params.update({"loss": "sideways"})
    rerun(refused, compared_folder)
    assert not refused.exception
    assert mentions(refused.warning, "loss='sideways'", "reconstruction, total")
    assert chart_titles(refused)[0] == "Reconstruction loss of each run"


def test_the_chosen_run_is_remembered_across_pages_and_its_settings_go_to_train(finished_folder):
    tied = FINISHED["tied"]
    at = AppTest.from_file(str(REPO_ROOT / HOME), default_timeout=60)
    rerun(at, finished_folder)
    at.switch_page(RECONSTRUCTIONS)
    rerun(at, finished_folder)
    next(box for box in at.selectbox if box.label == "Run").select(tied.run_id)
    rerun(at, finished_folder)
    assert_clean(at, RECONSTRUCTIONS)
    # Through the home page (no run picker there) to another view: still the same run.
    for page in (HOME, FEATURES):
        at.switch_page(page)
        rerun(at, finished_folder)
        assert_clean(at, page)
    assert mentions(at.caption, f"Run id `{tied.run_id}`")
    assert chart_titles(at)[1].startswith("The same weights as the decoder"), "tied"
    # Train has no run picker, and Streamlit drops the picker's state after Train's first
    # script run: the address still names the chosen run on the runs after it.
    at.switch_page(TRAIN)
    rerun(at, finished_folder)
    rerun(at, finished_folder)
    assert at.query_params["run"] in (tied.run_id, [tied.run_id])
    at.switch_page(FEATURES)
    rerun(at, finished_folder)
    assert mentions(at.caption, f"Run id `{tied.run_id}`")

    next(button for button in at.button if button.label.startswith("Edit its settings")).click()
    rerun(at, finished_folder)
    assert_clean(at, TRAIN)
    assert [title.value for title in at.title] == ["Train"]
    assert at.session_state["variant"] == "tied"
    assert mentions(at.caption, "trained before"), "the Train page has the run's settings"


@pytest.mark.parametrize("variant", VARIANTS)
def test_train_page_shows_the_stored_result_of_the_same_settings(finished_folder, variant):
    config = FINISHED[variant]
    summary = page_manager(finished_folder).get(config.run_id).summary
    at = run_page(TRAIN, finished_folder, settings_state(config))
    assert_clean(at, TRAIN)
    assert mentions(at.caption, "trained before"), texts(at.caption)
    assert mentions(at.success, "Done", f"{config.steps:,} steps")
    assert metric_values(at)["Test MSE"] == f"{summary['test_mse']:.5f}"
    assert len(charts(at)) == 2, "the loss and the mean activations"


# --- the Train page's widgets and button ----------------------------------------------------------


def test_a_bad_combination_is_named_next_to_its_widget_and_disables_train(finished_folder):
    key = ui.setting_key("sparse_kl", "code_activation")
    at = run_page(TRAIN, finished_folder, {"variant": "sparse_kl"})
    assert_clean(at, TRAIN)
    assert not train_button(at).disabled

    at.selectbox(key=key).select("relu")
    rerun(at, finished_folder)
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "sigmoid" in message and "relu" in message and message.endswith(".")
    beside = next_sibling(at, key)
    assert beside is not None and beside.type == "error" and beside.value == message
    assert train_button(at).disabled
    assert not mentions(at.caption, "press **Train**")

    at.selectbox(key=key).select("sigmoid")
    rerun(at, finished_folder)
    assert_clean(at, TRAIN)
    assert not train_button(at).disabled


def test_train_trains_the_value_moved_in_the_same_request_as_the_click(finished_folder):
    # The browser sends a slider's new value with the click when the click comes before the
    # rerun of the move: the button must train that value, not the page's previous config.
    manager = page_manager(finished_folder)
    base = FINISHED["sparse_kl"]
    key = ui.setting_key("sparse_kl", "sparsity_target")
    at = run_page(TRAIN, finished_folder, settings_state(base))
    for target in (0.07, 0.12, 0.03):
        at.slider(key=key).set_value(target)
        train_button(at).click()  # one request: the move and the click
        rerun(at, finished_folder)
        assert_clean(at, TRAIN)
        job = manager.get(at.session_state["last_started"])
        assert job.config == base.replace(sparsity_target=target), "trained the value shown"
        assert at.slider(key=key).value == target
    for job in manager.active_jobs():
        job.cancel() if job.state == "queued" else job.stop()


def test_a_slider_lists_its_values_trained_already(finished_folder):
    base = FINISHED["sparse_kl"]
    at = run_page(TRAIN, finished_folder, settings_state(base.replace(sparsity_target=0.2)))
    assert_clean(at, TRAIN)
    assert mentions(at.caption, "Trained already: 0.1")
    assert mentions(at.caption, "not been trained yet")
    # Greyed out with the reason where it cannot change the result.
    stacked = run_page(TRAIN, finished_folder, settings_state(FINISHED["stacked"]))
    target = stacked.slider(key=ui.setting_key("stacked", "sparsity_target"))
    assert target.disabled
    assert mentions(stacked.caption, "No effect while Beta (sparsity weight) is 0")
    assert stacked.slider(key=ui.setting_key("stacked", "noise_level")).disabled


def test_a_link_opens_its_settings_and_run_and_refuses_a_bad_value_in_one_sentence(
    finished_folder,
):
    tied = FINISHED["tied"]
    at = AppTest.from_file(str(REPO_ROOT / TRAIN), default_timeout=60)
    at.query_params.update(
        {
            "variant": "sparse_kl",
            "sparsity_target": "0.05",
            "learning_rate": "fast",
            "code_size": "64",
            "run": tied.run_id,
        }
    )
    rerun(at, finished_folder)
    assert not at.exception
    assert at.session_state["variant"] == "sparse_kl"
    assert at.session_state[ui.setting_key("sparse_kl", "sparsity_target")] == 0.05
    assert at.session_state[ui.setting_key("sparse_kl", "code_size")] == 64
    default_rate = make_config("sparse_kl").learning_rate
    assert at.session_state[ui.setting_key("sparse_kl", "learning_rate")] == default_rate
    assert at.session_state[ui.SELECTED_RUN] == tied.run_id
    assert len(at.warning) == 1 and "learning_rate='fast'" in at.warning[0].value
    # The address now says what the screen shows (the refused value is gone).
    written = dict(at.query_params)
    flat = {key: value[0] if isinstance(value, list) else value for key, value in written.items()}
    assert flat["variant"] == "sparse_kl" and flat["sparsity_target"] == "0.05"
    assert flat["code_size"] == "64" and "learning_rate" not in flat
    assert flat["run"] == tied.run_id

    unknown = AppTest.from_file(str(REPO_ROOT / TRAIN), default_timeout=60)
    unknown.query_params.update({"variant": "nonsense", "run": "stacked-000000000000"})
    rerun(unknown, finished_folder)
    assert not unknown.exception and len(unknown.warning) == 1
    assert "variant='nonsense'" in unknown.warning[0].value
    assert "not a run on this server" in unknown.warning[0].value
    assert unknown.session_state["variant"] == "stacked"


def shown_text(at: AppTest) -> str:
    """The text a person sees on the page: markdown, captions, alerts, widget labels and
    choices, tables and chart titles (not the protos' widget ids, nor the link to the screen,
    whose address names the run)."""
    parts = [
        element.value
        for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success")
        for element in at.get(kind)
    ]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in at.get(kind):
            parts += [widget.label, *map(str, widget.options)]
    parts += [frame.value.to_string() for frame in at.dataframe]
    return "\n".join([*parts, *chart_titles(at)])


def test_presenting_mode_from_a_link_enlarges_the_charts_and_hides_ids_and_extra_controls(
    finished_folder,
):
    run = FINISHED["sparse_kl"]
    short_id = short_run_id(run.run_id)

    def open_page(page: str, **link: str) -> AppTest:
        at = AppTest.from_file(str(REPO_ROOT / page), default_timeout=60)
        at.query_params.update({"variant": "sparse_kl", "run": run.run_id, **link})
        for key, value in settings_state(run).items():
            at.session_state[key] = value
        return rerun(at, finished_folder)

    normal = open_page(TRAIN)
    assert not normal.exception and not normal.toggle(key=ui.presenting.PRESENTING).value
    assert "More settings" in [expander.label for expander in normal.expander]
    assert all(
        json.loads(chart.proto.spec)["layout"].get("font") is None for chart in charts(normal)
    )
    assert short_id in shown_text(open_page(RECONSTRUCTIONS)), "the run's id, in the normal mode"

    at = open_page(TRAIN, present="1")
    assert not at.exception, texts(at.exception)
    assert at.toggle(key=ui.presenting.PRESENTING).value
    assert "More settings" not in [expander.label for expander in at.expander]
    layouts = [json.loads(chart.proto.spec)["layout"] for chart in charts(at)]
    assert len(layouts) == 2, "the run's loss and activation charts"
    for layout in layouts:
        assert layout["font"]["size"] >= 16 and layout["title"]["font"]["size"] >= 16
        assert layout["height"] > 450
    # The address keeps it (a reload presents); the link handed out opens in the normal mode.
    assert dict(at.query_params)[ui.presenting.LINK_PARAM] in ("1", ["1"])
    (link,) = [code.value for code in at.code]
    assert "present" not in link and f"run={run.run_id}" in link

    for page in (RECONSTRUCTIONS, HOME):
        presented = open_page(page, present="1")
        assert not presented.exception, texts(presented.exception)
        assert short_id not in shown_text(presented), page
    assert "run" not in presented.dataframe[-1].value.columns, "Home's table has no run ids"

    refused = open_page(TRAIN, present="yes")
    assert not refused.toggle(key=ui.presenting.PRESENTING).value
    (refusal,) = [box.value for box in refused.warning if "Refused from this link" in box.value]
    assert "present='yes'" in refusal


def test_a_view_pages_link_holds_its_run_and_its_view_settings(finished_folder):
    tied = FINISHED["tied"]
    at = AppTest.from_file(str(REPO_ROOT / RECONSTRUCTIONS), default_timeout=60)
    at.query_params.update({"run": tied.run_id, "digits": "17"})
    rerun(at, finished_folder)
    assert_clean(at, RECONSTRUCTIONS)
    assert at.session_state[ui.SELECTED_RUN] == tied.run_id
    assert at.slider(key="view:digits").value == 17
    written = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert written == {"run": tied.run_id, "digits": "17"}
    at.slider(key="view:digits").set_value(12)
    rerun(at, finished_folder)
    written = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert written["digits"] == "12"

    refused = AppTest.from_file(str(REPO_ROOT / RECONSTRUCTIONS), default_timeout=60)
    refused.query_params.update({"run": tied.run_id, "digits": "99"})
    rerun(refused, finished_folder)
    assert not refused.exception
    assert mentions(refused.warning, "digits='99'", "[5, 30]")
    assert refused.slider(key="view:digits").value == 10


# --- the latent plot clicked, a digit drawn -------------------------------------------------------


def chart_selection(*points: dict) -> dict:
    """The state ``st.plotly_chart(on_select="rerun")`` keeps of a click on ``points``."""
    return {
        "selection": {
            "points": list(points),
            "point_indices": list(range(len(points))),
            "box": [],
            "lasso": [],
        }
    }


def written_link(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}


def test_a_click_on_a_test_digit_shows_it_and_its_reconstruction_and_goes_into_the_link(
    finished_folder,
):
    from ae_core.latent_clicks import LatentClick
    from ui.latent_plot import CLICKED, CODES_CHART

    stacked = FINISHED["stacked"]
    clicked = chart_selection({"curve_number": 1, "x": 0.1, "y": 0.2, "customdata": 3})
    at = run_page(LATENT, finished_folder, {**chosen(stacked.run_id), CODES_CHART: clicked})
    assert_clean(at, LATENT)
    label = int(load_dataset("digits").y_test[3])
    assert mentions(at.caption, f"Test digit 3 (a {label}) over its reconstruction")
    assert at.session_state[CLICKED] == LatentClick(digit=3)
    assert written_link(at)["clicked"] == "digit:3"
    codes = chart_lines(charts(at)[0])
    assert "test digit 3" in codes, "the clicked point is marked on the plot"
    assert "decode here" not in codes, "a 4-D code seen by PCA has no plane to decode"
    assert len(at.get("image")) == 1

    # The link reproduces the screen; a click that does not fit the run is refused by name.
    linked = AppTest.from_file(str(REPO_ROOT / LATENT), default_timeout=60)
    linked.query_params.update({"run": stacked.run_id, "clicked": "digit:3"})
    rerun(linked, finished_folder)
    assert_clean(linked, LATENT)
    assert mentions(linked.caption, f"Test digit 3 (a {label})")
    for text, rule in (("code:0.5,-1", "only a 2-D code"), ("digit:5000", "0 to 296")):
        refused = AppTest.from_file(str(REPO_ROOT / LATENT), default_timeout=60)
        refused.query_params.update({"run": stacked.run_id, "clicked": text})
        rerun(refused, finished_folder)
        assert not refused.exception
        assert mentions(refused.warning, f"clicked={text!r}", rule)
        assert "clicked" not in written_link(refused)
        assert mentions(refused.caption, "Click a digit's point")


def test_a_click_on_an_empty_place_of_a_2d_latent_decodes_it(finished_folder):
    from ae_core.latent_clicks import PLANE
    from ui.latent_plot import CODES_CHART

    vae = FINISHED["vae"]
    clicked = chart_selection({"curve_number": 0, "x": 0.5, "y": -1.0, "customdata": PLANE})
    at = run_page(LATENT, finished_folder, {**chosen(vae.run_id), CODES_CHART: clicked})
    assert_clean(at, LATENT)
    assert mentions(at.caption, "The decoding of the code (0.5, -1)")
    assert written_link(at)["clicked"] == "code:0.5,-1.0"
    codes = chart_lines(charts(at)[0])
    assert "decode here" in codes and "decoded here" in codes
    np.testing.assert_allclose(codes["decoded here"]["x"], [0.5])

    linked = AppTest.from_file(str(REPO_ROOT / LATENT), default_timeout=60)
    linked.query_params.update({"run": vae.run_id, "clicked": "code:0.5,-1.0"})
    rerun(linked, finished_folder)
    assert_clean(linked, LATENT)
    assert mentions(linked.caption, "The decoding of the code (0.5, -1)")


MNIST_DENOISING = make_config(
    "denoising", dataset="mnist", hidden=(16,), code_size=2, steps=60, learning_rate=5e-3
)


@pytest.fixture(scope="module")
def mnist_folder(tmp_path_factory) -> Iterator[Path]:
    """One finished tiny denoising run on MNIST (28x28 digits, a 2-D code)."""
    folder = tmp_path_factory.mktemp("mnist-run")
    with JobManager(folder, workers=1) as trainer:
        job = trainer.submit(MNIST_DENOISING)
        assert finished_job(job).state == "done", job.reason
    with scenario(folder):
        yield folder


def draw_a_one(run_id: str) -> None:
    """An AppTest script: a "1" drawn on the canvas, through the run ``run_id``."""
    import numpy as np

    import ui

    canvas = np.full((280, 280, 4), 255, dtype=np.uint8)
    canvas[40:240, 120:150, :3] = 0
    ui.show_drawing(ui.manager().get(run_id), canvas)


def test_draw_a_digit_shows_the_canvas_for_mnist_runs_and_the_drawing_through_the_run(
    mnist_folder, finished_folder
):
    at = run_page(RECONSTRUCTIONS, mnist_folder, chosen(MNIST_DENOISING.run_id))
    assert_clean(at, RECONSTRUCTIONS)
    assert [h.value for h in at.subheader] == ["Draw a digit"]
    assert len(at.get("bidi_component")) == 1, "the canvas"
    assert mentions(at.caption, "Nothing drawn yet")

    drawn = AppTest.from_function(draw_a_one, args=(MNIST_DENOISING.run_id,), default_timeout=60)
    rerun(drawn, mnist_folder)
    assert_clean(drawn, "draw a digit")
    assert mentions(drawn.caption, "as the run sees it", "over its reconstruction")
    assert mentions(drawn.caption, "gaussian noise", "denoised version of your digit")
    assert len(drawn.get("image")) == 1
    codes = chart_lines(charts(drawn)[0])
    assert "your digit" in codes and len(codes["your digit"]["x"]) == 1

    # Runs on other data say why there is no canvas.
    digits_run = run_page(RECONSTRUCTIONS, finished_folder, chosen(FINISHED["stacked"].run_id))
    assert mentions(digits_run.info, "28x28 digits", "(digits) are 8x8 images")
    assert not digits_run.get("bidi_component")


def widget(elements, label: str):
    """The widget of ``elements`` (such as ``at.slider``) labelled ``label``."""
    return next(element for element in elements if element.label == label)


def test_the_view_pages_widgets_keep_their_values_across_pages(finished_folder):
    """Streamlit drops a widget's state when a page without it runs: each view page's own
    widgets come back as they were left, through other pages."""
    at = AppTest.from_file(str(REPO_ROOT / HOME), default_timeout=60)
    at.session_state[ui.SELECTED_RUN] = FINISHED["stacked"].run_id
    rerun(at, finished_folder)

    def go(page: str) -> None:
        at.switch_page(page)
        rerun(at, finished_folder)
        assert_clean(at, page)

    def values() -> dict[str, dict]:
        """Each view page's widgets as it draws them, visited in turn."""
        shown = {}
        go(RECONSTRUCTIONS)
        shown[RECONSTRUCTIONS] = {"digits": widget(at.slider, "Digits").value}
        go(ACTIVATIONS)
        shown[ACTIVATIONS] = {
            "layer": widget(at.selectbox, "Layer").value,
            "target": widget(at.slider, "Sparsity target").value,
        }
        go(FEATURES)
        shown[FEATURES] = {"units": widget(at.slider, "Units").value}
        go(LATENT)
        shown[LATENT] = {
            "view": widget(at.radio, "2-D view").value,
            "to": widget(at.number_input, "To test digit #").value,
            "steps": widget(at.slider, "Steps").value,
        }
        go(COMPARE)
        shown[COMPARE] = {"curves": widget(at.radio, "Curves").value}
        return shown

    moved = {
        RECONSTRUCTIONS: {"digits": 7},
        ACTIVATIONS: {"layer": "output", "target": 0.3},
        FEATURES: {"units": 16},
        LATENT: {"view": "pca", "to": 3, "steps": 5},
        COMPARE: {"curves": "total"},
    }
    assert values() != moved, "the defaults differ from the values moved to"
    go(RECONSTRUCTIONS)
    widget(at.slider, "Digits").set_value(7)
    rerun(at, finished_folder)
    go(ACTIVATIONS)
    widget(at.selectbox, "Layer").select("output")
    widget(at.slider, "Sparsity target").set_value(0.3)
    rerun(at, finished_folder)
    go(FEATURES)
    widget(at.slider, "Units").set_value(16)
    rerun(at, finished_folder)
    go(LATENT)
    widget(at.radio, "2-D view").set_value("pca")
    widget(at.number_input, "To test digit #").set_value(3)
    widget(at.slider, "Steps").set_value(5)
    rerun(at, finished_folder)
    go(COMPARE)
    widget(at.radio, "Curves").set_value("total")
    rerun(at, finished_folder)
    go(TRAIN)  # a page with none of them
    go(HOME)
    assert values() == moved
    assert chart_titles(at)[0] == "Total loss of each run"


def test_a_view_page_opened_from_a_link_keeps_its_value_then_the_one_moved_to(finished_folder):
    tied = FINISHED["tied"]
    at = AppTest.from_file(str(REPO_ROOT / HOME), default_timeout=60)
    at.query_params.update({"run": tied.run_id, "digits": "17"})
    at.switch_page(RECONSTRUCTIONS)
    rerun(at, finished_folder)
    assert at.slider(key="view:digits").value == 17
    for page in (HOME, RECONSTRUCTIONS):
        at.switch_page(page)
        rerun(at, finished_folder)
        assert_clean(at, page)
    assert at.slider(key="view:digits").value == 17, "the link's, then kept"
    at.slider(key="view:digits").set_value(12)
    rerun(at, finished_folder)
    for page in (HOME, RECONSTRUCTIONS):
        at.switch_page(page)
        rerun(at, finished_folder)
    assert at.slider(key="view:digits").value == 12, "the link is read once, when it opens"


def test_pressing_train_trains_the_run_and_the_same_settings_show_it_again(finished_folder):
    manager = page_manager(finished_folder)
    config = make_config("stacked", **{**TINY, "steps": 80, "seed": 21})
    state = settings_state(config)
    at = run_page(TRAIN, finished_folder, state)
    assert_clean(at, TRAIN)
    assert mentions(at.caption, "not been trained yet")
    trained = manager.stats["trained"]

    train_button(at).click()
    rerun(at, finished_folder)
    assert_clean(at, TRAIN)
    assert at.session_state[ui.SELECTED_RUN] == config.run_id, "the new run is the chosen one"
    job = manager.get(config.run_id)
    assert job is not None and job.state in ("queued", "training", "done")

    def done_shown() -> bool:
        rerun(at, finished_folder)
        assert_clean(at, TRAIN)
        return mentions(at.success, "Done")

    wait_until(done_shown, 180, "the Done box")
    assert job.state == "done"
    assert not mentions(at.caption, "trained before"), "this session trained it"
    assert manager.stats["trained"] == trained + 1
    assert metric_values(at)["Test MSE"] == f"{job.summary['test_mse']:.5f}"

    again = run_page(TRAIN, finished_folder, state)
    assert_clean(again, TRAIN)
    assert mentions(again.caption, "trained before")
    assert mentions(again.success, "Done", "80 steps")
    assert metric_values(again)["Test MSE"] == f"{job.summary['test_mse']:.5f}"
    assert manager.stats["trained"] == trained + 1, "served from the store, not trained again"


# --- stored runs the pages cannot read -----------------------------------------------------------

# Four trained runs, stored and then made odd straight in the runs folder (the good one last, so
# it is the newest and the one a page falls back to).
ODD = {
    name: make_config("stacked", **{**TINY, "seed": seed})
    for seed, name in enumerate(("text figure", "no step", "broken model", "good"), start=11)
}


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory, train_config) -> Iterator[Path]:
    from ae_core.analysis import run_summary
    from ae_core.store import RunStore

    folder = tmp_path_factory.mktemp("odd-runs")
    store = RunStore(folder)
    for config in ODD.values():
        result = train_config(config)
        with store.begin(config) as writer:
            points = [point.to_dict() for point in result.history]
            writer.finish(result.model, points, run_summary(result))
    summary_path = folder / ODD["text figure"].run_id / "summary.json"
    summary_path.write_text(json.dumps({**json.loads(summary_path.read_text()), "test_mse": "0.1"}))
    history_path = folder / ODD["no step"].run_id / "history.json"
    points = json.loads(history_path.read_text())["points"]
    del points[1]["step"]
    history_path.write_text(json.dumps({"points": points}))
    (folder / ODD["broken model"].run_id / "model.keras").write_bytes(b"not a model")
    with scenario(folder):
        yield folder


def one_warning_naming(at: AppTest, run_id: str) -> str:
    said = [text for text in texts(at.warning) if run_id in text]
    assert len(said) == 1, texts(at.warning)
    assert said[0].count(". ") == 0 and said[0].endswith("."), said[0]
    return said[0]


@pytest.mark.parametrize("page", [HOME, RECONSTRUCTIONS, ACTIVATIONS, FEATURES, COMPARE])
def test_a_stored_run_the_pages_cannot_read_is_named_and_skipped(odd_folder, page):
    # The link chose the run with the text figure: it is not there, so the newest is shown.
    at = run_page(page, odd_folder, chosen(ODD["text figure"].run_id))
    assert not at.exception, f"{page}: {texts(at.exception)}"
    assert not at.error, texts(at.error)
    said = one_warning_naming(at, ODD["text figure"].run_id)
    assert "test_mse is '0.1', not a number" in said and "skipped" in said
    said = one_warning_naming(at, ODD["no step"].run_id)
    assert "point 1 lacks step" in said and "skipped" in said
    if page == HOME:
        listed = set(at.dataframe[0].value["run"])
        assert listed == {ODD["good"].run_id, ODD["broken model"].run_id}
        return
    assert at.session_state[ui.SELECTED_RUN] == ODD["good"].run_id
    assert len(charts(at)) >= expected_charts(page, ODD["good"])
    if page == COMPARE:  # the good run and the one whose model cannot be read
        said = one_warning_naming(at, ODD["broken model"].run_id)
        assert "cannot be read" in said and "left out here" in said
        figures = at.dataframe[-1].value.set_index("figure")  # a column per run
        assert figures.loc["state"].tolist() == ["done", "done"]
        probes = figures.loc["probe accuracy"].tolist()
        assert probes[0].endswith("%") and probes[1] == "—", probes
        assert len(charts(at)) == 2, "the losses, and the good run's same digits"


# --- runs that finished but failed to learn -------------------------------------------------------

# The learning rate slider at its top: it ends "done" with every code unit dead.
DEAD = make_config("stacked", **{**TINY, "steps": 300, "learning_rate": 10.0})
# The tied run of FINISHED learns in 100 steps (test MSE about 0.7 of the mean example's).
HEALTHY = FINISHED["tied"]
DEAD_SAYS = ("Every code unit is dead (4 of 4)", "learning rate 10 is too high for adam")


@pytest.fixture(scope="module")
def diagnosed_folder(tmp_path_factory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("diagnosed-runs")
    with JobManager(folder, workers=2) as trainer:
        for config in (DEAD, HEALTHY):
            assert finished_job(trainer.submit(config)).state == "done"
    with scenario(folder):
        yield folder


def test_train_page_says_a_run_failed_to_learn_beside_its_result(diagnosed_folder):
    at = run_page(TRAIN, diagnosed_folder, settings_state(DEAD))
    assert_clean(at, TRAIN)
    assert mentions(at.success, "Done"), "it finished"
    assert len(at.warning) == 1 and mentions(at.warning, *DEAD_SAYS), texts(at.warning)
    healthy = run_page(TRAIN, diagnosed_folder, settings_state(HEALTHY))
    assert_clean(healthy, TRAIN)
    assert mentions(healthy.success, "Done") and not healthy.warning, texts(healthy.warning)


@pytest.mark.parametrize("page", [RECONSTRUCTIONS, ACTIVATIONS, FEATURES, LATENT])
def test_the_view_pages_say_a_run_failed_to_learn_above_its_views(diagnosed_folder, page):
    at = run_page(page, diagnosed_folder, chosen(DEAD.run_id))
    assert_clean(at, page)
    assert len(at.warning) == 1 and mentions(at.warning, *DEAD_SAYS), texts(at.warning)
    assert len(charts(at)) >= expected_charts(page, DEAD), "the views are drawn all the same"
    healthy = run_page(page, diagnosed_folder, chosen(HEALTHY.run_id))
    assert_clean(healthy, page)
    assert not healthy.warning, texts(healthy.warning)


def test_compare_has_a_row_of_diagnostics_and_names_the_run_that_failed_to_learn(
    diagnosed_folder,
):
    at = run_page(COMPARE, diagnosed_folder, chosen(DEAD.run_id))
    assert_clean(at, COMPARE)
    manager = page_manager(diagnosed_folder)
    names = naming.run_names({config.run_id: config for config in (DEAD, HEALTHY)})
    table = at.dataframe[-1].value.set_index("figure")
    assert table.loc["diagnostics", names[DEAD.run_id]] == "all code units dead"
    assert table.loc["diagnostics", names[HEALTHY.run_id]] == "none"
    assert len(at.warning) == 1, texts(at.warning)
    said = at.warning[0].value
    assert said.startswith(f"**{names[DEAD.run_id]}**: ") and DEAD_SAYS[0] in said
    assert ui.run_diagnostics(manager.get(HEALTHY.run_id)) == []


# --- failed runs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failures(failed_folder) -> dict[str, Job]:
    manager = page_manager(failed_folder)
    jobs = {"exploding": manager.get(EXPLODING.run_id), "no data": manager.get(NO_DATA.run_id)}
    assert jobs["exploding"].reason.startswith("the reconstruction loss became infinite")
    assert jobs["exploding"].summary["model"] is True
    assert "fashion-mnist" in jobs["no data"].reason.lower()
    assert not jobs["no data"].summary or not jobs["no data"].summary.get("model")
    return jobs


def reason_shown(elements, job: Job) -> bool:
    return any(job.reason.lower() in text.lower() for text in texts(elements))


@pytest.mark.parametrize("which", ["exploding", "no data"])
def test_train_page_shows_why_a_run_failed(failed_folder, failures, which):
    job = failures[which]
    at = run_page(TRAIN, failed_folder, settings_state(job.config))
    assert not at.exception, texts(at.exception)
    assert len(at.error) == 1 and reason_shown(at.error, job), texts(at.error)
    assert at.error[0].value[0].isupper() and at.error[0].value.endswith(".")
    if which == "exploding":  # the same settings would fail the same way: a final result
        assert mentions(at.caption, "trained before")


@pytest.mark.parametrize("page", [HOME, *VIEW_PAGES])
@pytest.mark.parametrize("which", ["exploding", "no data"])
def test_every_page_loads_with_a_failed_run(failed_folder, failures, page, which):
    job = failures[which]
    at = run_page(page, failed_folder, chosen(job.run_id))
    assert not at.exception, f"{page}: {texts(at.exception)}"
    if page == HOME:
        assert not at.error
        table = at.dataframe[0].value
        notes = dict(zip(table["run"], table["note"], strict=True))
        assert notes[job.run_id] == job.reason
        return
    if page == COMPARE:  # no box for the chosen run: the table of figures has its state
        assert not at.error, texts(at.error)
        figures = at.dataframe[-1].value.set_index("figure")
        assert "failed" in figures.loc["state"].tolist()
        return
    boxes = at.error
    if page == LINEAR_VS_PCA and which == "no data":  # not linear: the page is not for it
        assert not at.error and mentions(at.info, "linear")
        return
    assert reason_shown(boxes, job), f"{page}: {texts(at.error)} {texts(at.warning)}"
    assert all(reason_shown([box], job) for box in at.error), "no other error box"


# --- a running run (last: it keeps one core busy until the module ends) ---------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_while_a_run_trains(running_job, page):
    folder, job = running_job
    state = settings_state(job.config) if page == TRAIN else chosen(job.run_id)
    at = run_page(page, folder, state)
    assert_clean(at, page)
    assert job.state == "training"
    if page == TRAIN:
        assert any(button.label == "Stop" for button in at.button)
        (bar,) = at.get("progress")
        assert "of 1,000,000" in bar.proto.text
    elif page == HOME:  # a table with the run's state
        assert at.dataframe[-1].value["state"].tolist() == ["training"]
    elif page == COMPARE:  # the table of figures, a column per run
        assert at.dataframe[-1].value.set_index("figure").loc["state"].tolist() == ["training"]
    else:
        assert mentions(at.info, "training"), texts(at.info)


def test_the_running_run_is_counted_on_the_train_page(running_job):
    folder, job = running_job
    at = run_page(TRAIN, folder)
    assert_clean(at, TRAIN)
    assert metric_values(at)["Training now"] == "1 of 1"
    assert np.isfinite(job.snapshot().latest["loss_terms"]["reconstruction"])


def test_a_queued_run_can_be_cancelled_from_the_train_page(running_job):
    folder, _ = running_job
    config = make_config("stacked", **{**TINY, "seed": 31})
    queued = page_manager(folder).submit(config)  # the one worker is busy: it waits
    assert queued.state == "queued"
    at = run_page(RECONSTRUCTIONS, folder, chosen(config.run_id))
    assert_clean(at, RECONSTRUCTIONS)
    assert mentions(at.info, "queued")

    at = run_page(TRAIN, folder, settings_state(config))
    assert_clean(at, TRAIN)
    assert mentions(at.info, "Queued: position 1")
    assert shows_empty_live_charts(at), "its charts are there before its first point"
    next(button for button in at.button if button.label == "Cancel").click()
    rerun(at, folder)
    assert not at.exception, texts(at.exception)
    assert queued.state == "cancelled"
    assert mentions(at.caption, "not been trained yet")


def test_stop_on_the_train_page_keeps_the_model_learned_so_far(running_job):
    folder, job = running_job
    at = run_page(TRAIN, folder, settings_state(job.config))
    next(button for button in at.button if button.label == "Stop").click()
    rerun(at, folder)
    assert not at.exception, texts(at.exception)
    assert job.wait(60) and job.state == "stopped"
    rerun(at, folder)
    assert_clean(at, TRAIN)
    assert mentions(at.warning, "stopped")
    assert mentions(at.warning, f"Stopped by request at step {job.summary['steps']:,} of 1,000,000")
    assert metric_values(at)["Test MSE"] == f"{job.summary['test_mse']:.5f}"

    at = run_page(RECONSTRUCTIONS, folder, chosen(job.run_id))
    assert_clean(at, RECONSTRUCTIONS)
    assert mentions(at.warning, "stopped") and len(charts(at)) == 1


# --- the view pages follow a running run ---------------------------------------------------------

# Trains until stopped; with input noise, so the Reconstructions page has its noise slider.
FOLLOWED = make_config(
    "denoising", dataset="digits", hidden=(16,), code_size=4, steps=1_000_000, seed=9
)


def test_a_run_about_to_show_its_first_point_is_polled_fast_and_only_then():
    def snapshot(
        state: str, points: int = 0, to_start: float | None = None, elapsed: float = 5.0
    ) -> Snapshot:
        history = tuple({"step": 20 * (k + 1), "loss": 0.1} for k in range(points))
        return Snapshot(
            run_id="run",
            state=state,
            queue_position=1 if state == "queued" else None,
            step=20 * points,
            total_steps=2000,
            phase=None,
            samples_per_s=None,
            seconds_left=None,
            elapsed=elapsed,
            history=history,
            reason=None,
            summary=None,
            seconds_to_start=to_start,
        )

    starting = ui.runs.STARTING_POLL_SECONDS
    assert starting < 0.5 < ui.runs.TRAINING_POLL_SECONDS
    assert ui.runs.polling_interval(snapshot("queued", to_start=0.3)) == starting
    # Given to a worker: it starts within a turn, and the page says so without "0 s".
    assert ui.runs.polling_interval(snapshot("queued", to_start=0.0)) == starting
    assert ui.runs.start_text(0.0) == "It starts in a moment."
    assert ui.runs.start_text(75.0) == "It starts by itself, in about 1 min 15 s."
    assert ui.runs.polling_interval(snapshot("training")) == starting
    assert ui.runs.polling_interval(snapshot("training", 1)) == ui.runs.TRAINING_POLL_SECONDS
    # Its first moment of training, first points included, is still polled fast.
    first_points = snapshot("training", 2, elapsed=ui.runs.STARTING_SECONDS / 2)
    assert ui.runs.polling_interval(first_points) == starting
    long_wait = snapshot("queued", to_start=40.0)
    assert ui.runs.polling_interval(long_wait) == ui.runs.QUEUED_POLL_SECONDS
    assert ui.runs.polling_interval(snapshot("queued")) == ui.runs.QUEUED_POLL_SECONDS
    assert ui.runs.polling_interval(snapshot("done", 3)) is None
    # Before its speed is known, the progress line says no time left rather than "unknown".
    assert ui.runs.progress_text(snapshot("training")) == "Step 0 of 2,000"
    timed = dataclasses.replace(snapshot("training", 1), seconds_left=75.0)
    assert ui.runs.progress_text(timed) == "Step 20 of 2,000 · about 1 min 15 s left"


@pytest.fixture
def fragment_timers(monkeypatch) -> list:
    """The ``run_every`` of every fragment the pages make, in order."""
    import streamlit

    made, real_fragment = [], streamlit.fragment

    def recording_fragment(func=None, *, run_every=None):
        made.append(run_every)
        return real_fragment(func, run_every=run_every)

    monkeypatch.setattr(streamlit, "fragment", recording_fragment)
    return made


@pytest.fixture
def counted_reconstructions(monkeypatch) -> list:
    """The options of every call of ``views.reconstructions`` (each one runs the model)."""
    calls, real_view = [], views.reconstructions

    def counting_view(model, dataset, **options):
        calls.append(options)
        return real_view(model, dataset, **options)

    monkeypatch.setattr(views, "reconstructions", counting_view)
    return calls


def shown_checkpoint_step(at: AppTest) -> int:
    (text,) = [t for t in texts(at.info) if "still training" in t]
    return int(text.split("as of step ")[1].split(" of ")[0].replace(",", ""))


def test_view_pages_follow_a_training_run_and_show_its_final_model_once_it_ends(
    tmp_path, fragment_timers, counted_reconstructions
):
    with scenario(tmp_path / "followed") as folder:
        job = page_manager(folder).submit(FOLLOWED)
        try:
            wait_until(lambda: job.snapshot().checkpoint_step, 120, "a checkpoint of the run")
            at = run_page(RECONSTRUCTIONS, folder, chosen(job.run_id))
            assert_clean(at, RECONSTRUCTIONS)
            assert fragment_timers == [ui.model_views.VIEW_POLL_SECONDS], "one fragment, polling"
            # Twice per checkpoint the worker saves: a new model shows within half that.
            assert ui.model_views.VIEW_POLL_SECONDS == CHECKPOINT_SECONDS / 2
            first_step = shown_checkpoint_step(at)
            assert 0 < first_step <= job.snapshot().step
            assert chart_titles(at) == ["Digits 0 1 2 3 4 5 6 7 8 9"]
            assert not [button.label for button in at.button if "Refresh" in button.label]
            # Polls again (a whole run here: AppTest has no timers): only a newer checkpoint
            # runs the model again.
            rerun(at, folder)
            assert_clean(at, RECONSTRUCTIONS)
            steps_shown = {first_step, shown_checkpoint_step(at)}
            assert len(counted_reconstructions) == len(steps_shown)
        finally:
            job.stop()
        assert finished_job(job).state == "stopped"

        # The next poll finds the run finished and runs the whole page again: the final model,
        # and no more polling. (A new AppTest stands for that run: the run picker's label of the
        # run has changed, which AppTest cannot carry from one run to the next.)
        fragment_timers.clear()
        calls_before = len(counted_reconstructions)
        at = run_page(RECONSTRUCTIONS, folder, chosen(job.run_id))
        assert_clean(at, RECONSTRUCTIONS)
        assert fragment_timers == [None]
        assert not mentions(at.info, "still training")
        assert mentions(at.warning, "stopped")
        assert len(counted_reconstructions) == calls_before + 1
        final = page_manager(folder).model(job.run_id)
        expected = views.reconstructions(final, load_dataset("digits"), count=10)
        row = next(name for name in expected["mse"] if name.startswith("denoised"))
        label = f"MSE of the {row.split(' (')[0]} row against the clean digits"
        assert metric_values(at)[label] == f"{expected['mse'][row]:.5f}"

        # The page's own widgets: a new noise level runs the model once, a level seen before
        # and a redraw with nothing new answer from the cache.
        del counted_reconstructions[:]
        noise = next(s for s in at.slider if s.label.startswith("Noise level"))
        noise.set_value(0.8)
        rerun(at, folder)
        assert_clean(at, RECONSTRUCTIONS)
        assert counted_reconstructions == [{"count": 10, "noise_level": 0.8}]
        next(s for s in at.slider if s.label.startswith("Noise level")).set_value(0.4)
        rerun(at, folder)
        rerun(at, folder)
        assert len(counted_reconstructions) == 1
        assert metric_values(at)[label] == f"{expected['mse'][row]:.5f}"

        # Another view page of the finished run draws once and does not poll.
        fragment_timers.clear()
        at = run_page(LATENT, folder, chosen(job.run_id))
        assert_clean(at, LATENT)
        assert fragment_timers == [None] and chart_titles(at)[0] == "Codes of test digits (PCA)"


def test_linear_vs_pca_example_shows_its_result_when_it_is_done(tmp_path, fragment_timers):
    """Item 18: an example's button trains it, the page polls while it trains, and the poll that
    finds it done draws its result, with no message asking for a reload."""
    example = make_config("linear")
    with scenario(tmp_path / "example") as folder:
        at = run_page(LINEAR_VS_PCA, folder)
        assert_clean(at, LINEAR_VS_PCA)
        next(b for b in at.button if b.label == "Train the 3-D cloud, 2 code units").click()
        rerun(at, folder)
        assert_clean(at, LINEAR_VS_PCA)
        job = page_manager(folder).get(example.run_id)
        assert job is not None and job.state in ("queued", "training")
        assert fragment_timers and fragment_timers[-1] is not None, "it polls while it trains"
        finished_job(job)
        # The next poll (a whole run here: AppTest has no timers) finds it done.
        rerun(at, folder)
        assert_clean(at, LINEAR_VS_PCA)
        result = job.summary
        shown = metric_values(at)
        assert shown["MSE ratio (autoencoder / PCA)"] == f"{result['pca_mse_ratio']:.3f}"
        assert len(charts(at)) == 1, "the 3-D cloud with both planes"
        assert fragment_timers[-1] is None, "a finished run is drawn once"
        said = [*texts(at.info), *texts(at.caption), *(button.label for button in at.button)]
        assert not [t for t in said if "refresh" in t.lower() or "reload" in t.lower()]


# --- the Lessons page ----------------------------------------------------------------------------

LESSONS_PAGE = "pages/0_Lessons.py"


def choose_lesson(name: str) -> dict:
    return {"lesson": name}


def lesson_rows(at: AppTest) -> dict[str, dict]:
    """The published-and-ours table, by figure."""
    table = at.table[-1].value
    return {figure: row for figure, row in table.to_dict("index").items()}


@pytest.mark.parametrize("name", lessons.names())
def test_lessons_page_explains_every_lesson_before_it_is_trained(empty_folder, name):
    lesson = lessons.get(name)
    at = run_page(LESSONS_PAGE, empty_folder, choose_lesson(name))
    assert_clean(at, LESSONS_PAGE)
    assert at.selectbox(key="lesson").value == name
    assert mentions(at.markdown, lesson.explanation[:60])
    assert mentions(at.caption, lesson.source[:40])
    # The settings of every run of the lesson, side by side.
    settings = at.dataframe[0].value
    assert list(settings.columns) == ["this lesson", *lesson.others]
    assert settings.loc["steps", "this lesson"] == str(lesson.config().steps)
    assert mentions(at.info, "not trained on this server yet")
    assert any(button.label == "Run" for button in at.button)
    assert not charts(at)


@pytest.fixture(scope="module")
def lesson_folder(tmp_path_factory) -> Iterator[Path]:
    with scenario(tmp_path_factory.mktemp("lesson-runs")) as folder:
        yield folder


def test_run_on_the_lessons_page_trains_the_lesson_and_puts_ours_beside_the_published(
    lesson_folder,
):
    lesson = lessons.get("linear-pca")
    at = run_page(LESSONS_PAGE, lesson_folder, choose_lesson(lesson.name))
    next(button for button in at.button if button.label == "Run").click()
    rerun(at, lesson_folder)
    assert not at.exception, texts(at.exception)
    job = page_manager(lesson_folder).get(lesson.config().run_id)
    assert job is not None, "Run submitted the lesson's run"
    assert at.session_state[ui.SELECTED_RUN] == job.run_id  # the view pages show it next
    assert finished_job(job).state == "done", job.reason

    rerun(at, lesson_folder)
    assert_clean(at, LESSONS_PAGE)
    assert mentions(at.caption, "This lesson's run: done, 1,000 steps")
    rows = lesson_rows(at)
    ratio = rows["test reconstruction error relative to PCA's"]
    assert float(ratio["ours"]) == pytest.approx(job.summary["pca_mse_ratio"], rel=1e-2)
    assert float(ratio["ours"]) < 1.02 and ratio["difference"].startswith("+")
    assert float(rows[lesson.published_results[0].label]["ours"]) < 2.0  # degrees: the same plane
    # Its charts stay once it has finished (from its stored history), then the cloud.
    assert chart_titles(at) == ["Loss", "Mean activation per layer", "The plane each method found"]
    assert [b.label for b in at.button if b.key and b.key.startswith("closer:")] == [
        "Linear vs PCA"
    ]


def test_lessons_page_draws_our_digits_for_a_trained_lesson(lesson_folder):
    lesson = lessons.get("keras-128-32")  # 9,375 steps of a small net: seconds
    job = page_manager(lesson_folder).submit(lesson.config())
    assert finished_job(job, 300).state == "done", job.reason
    at = run_page(LESSONS_PAGE, lesson_folder, choose_lesson(lesson.name))
    assert_clean(at, LESSONS_PAGE)
    rows = lesson_rows(at)
    assert float(rows["test MSE"]["ours"]) == pytest.approx(job.summary["test_mse"], 1e-2)
    assert float(rows["test MSE"]["ours"]) < 0.03  # close to the inputs
    assert chart_titles(at) == ["Loss", "Mean activation per layer", "This lesson"]
    assert mentions(at.markdown, "passes over the 8,000 training digits in use")
    # The loss chart is the finished run's stored history, with its held-out loss beside it.
    history = job.snapshot().history
    lines = chart_lines(charts(at)[0])
    held_out = lines["held-out (500 test digits)"]
    assert lines["reconstruction"]["x"][-1] == held_out["x"][-1] == lesson.config().steps
    assert held_out["y"][-1] == pytest.approx(history[-1]["held_out_loss"])
    assert held_out["y"][-1] < held_out["y"][0]
    assert len(held_out["x"]) == HELD_OUT_POINTS_PER_PHASE
    assert mentions(at.caption, "Dashed: the reconstruction term on 500 test digits")


def test_lessons_page_follows_a_lesson_in_training_and_shows_a_stopped_one(lesson_folder):
    lesson = lessons.get("vae")  # 18,300 steps of a big net: minutes
    job = page_manager(lesson_folder).submit(lesson.config())
    try:
        wait_until(lambda: job.snapshot().history, 120, "the VAE lesson to train")
        at = run_page(LESSONS_PAGE, lesson_folder, choose_lesson(lesson.name))
        assert_clean(at, LESSONS_PAGE)
        (bar,) = at.get("progress")
        assert "This lesson's run: Step" in bar.proto.text and "of 18,300" in bar.proto.text
        assert chart_titles(at)[:2] == ["Loss", "Mean activation per layer"]  # live
        vae_loss = lessons.get("vae").published_results[0].label
        assert lesson_rows(at)[vae_loss]["ours"] == "not trained yet"
        # Once a checkpoint is saved, our digits come from it, with no button to press.
        wait_until(lambda: job.snapshot().checkpoint_step, 60, "a checkpoint of the VAE")
        rerun(at, lesson_folder)
        assert_clean(at, LESSONS_PAGE)
        assert mentions(at.info, "still training", "as of step")
        assert "60 digits decoded from random codes" in chart_titles(at)
        assert not [button.label for button in at.button if "Refresh" in button.label]
    finally:
        job.stop()
    assert finished_job(job).state == "stopped"
    at = run_page(LESSONS_PAGE, lesson_folder, choose_lesson(lesson.name))
    assert not at.exception, texts(at.exception)
    assert mentions(at.warning, "stopped by request")
    vae_loss = lessons.get("vae").published_results[0].label
    assert lesson_rows(at)[vae_loss]["ours"] != "not trained yet"
    titles = chart_titles(at)
    assert titles[:2] == ["Loss", "Mean activation per layer"], "kept once it has stopped"
    assert "60 digits decoded from random codes" in titles


# --- continue, name and download a run ------------------------------------------------------------

CONTINUED = make_config("stacked", **{**TINY, "seed": 31})


@pytest.fixture(scope="module")
def continued_folder(tmp_path_factory) -> Iterator[Path]:
    with scenario(tmp_path_factory.mktemp("continued-runs")) as folder:
        assert finished_job(page_manager(folder).submit(CONTINUED)).state == "done"
        yield folder


def test_continue_trains_on_from_the_result_and_train_shows_one_curve(continued_folder):
    manager = page_manager(continued_folder)
    at = run_page(TRAIN, continued_folder, settings_state(CONTINUED))
    assert_clean(at, TRAIN)
    assert [b.label for b in at.get("download_button")] == ["Download model (.keras)"]
    at.number_input(key=f"continue_steps:{CONTINUED.run_id}").set_value(50)
    rerun(at, continued_folder)
    button = at.button(key=f"continue:{CONTINUED.run_id}")
    assert button.label == "Continue for 50 more steps"
    button.click()
    rerun(at, continued_folder)
    assert_clean(at, TRAIN)
    child = manager.get(at.session_state[ui.LAST_STARTED])
    assert child.config.parent == CONTINUED.run_id and child.config.steps == 150

    def done_shown() -> bool:
        rerun(at, continued_folder)
        assert_clean(at, TRAIN)
        return mentions(at.success, "Done", "150 steps")

    wait_until(done_shown, 180, "the continuation's Done box")
    assert mentions(at.caption, "Continues", CONTINUED.run_id.rsplit("-")[-1][:6], "step 100")
    # One curve from step 0: the parent's points, then the continuation's.
    steps = chart_lines(charts(at)[0])["reconstruction"]["x"]
    assert steps[0] <= 1 and steps[-1] == 150 and np.all(np.diff(steps) > 0)


def test_a_run_named_in_the_sidebar_is_called_so_on_every_page(continued_folder):
    at = run_page(RECONSTRUCTIONS, continued_folder, chosen(CONTINUED.run_id))
    at.text_input(key=f"name:sidebar:{CONTINUED.run_id}").set_value("first try")
    rerun(at, continued_folder)
    at.button(key=f"name_button:sidebar:{CONTINUED.run_id}").click()
    rerun(at, continued_folder)
    assert_clean(at, RECONSTRUCTIONS)
    assert page_manager(continued_folder).get(CONTINUED.run_id).name == "first try"
    picker = next(box for box in at.selectbox if box.label == "Run")
    assert any("“first try”" in option for option in picker.options)
    assert [b.label for b in at.get("download_button")] == ["Download model (.keras)"]

    at.text_input(key=f"name:sidebar:{CONTINUED.run_id}").set_value("tab\there")
    rerun(at, continued_folder)
    at.button(key=f"name_button:sidebar:{CONTINUED.run_id}").click()
    rerun(at, continued_folder)
    assert mentions(at.error, "control or invisible characters")
    assert page_manager(continued_folder).get(CONTINUED.run_id).name == "first try"

    home = run_page(HOME, continued_folder)
    assert_clean(home, HOME)
    rows = home.dataframe[0].value.set_index("run")
    assert rows.loc[CONTINUED.run_id, "name"] == "first try"
    compare = run_page(COMPARE, continued_folder, chosen(CONTINUED.run_id))
    assert_clean(compare, COMPARE)
    assert "first try" in compare.dataframe[0].value.columns


# --- server settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [HOME, TRAIN])
def test_a_backend_the_server_cannot_use_is_said_in_one_sentence(tmp_path, page):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AE_BACKEND", "cluster")
        at = run_page(page, tmp_path)
    assert not at.exception
    assert texts(at.error) == [
        "The server cannot train: AE_BACKEND='cluster' is not valid: use local or ray."
    ]
    # Nothing was cached: with the setting mended, the same server trains.
    assert_clean(run_page(page, tmp_path), page)
