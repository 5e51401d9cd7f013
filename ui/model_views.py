"""Views of a trained model (reconstructions, activations, features, codes), cached per run and
model version; the checks a view page makes before drawing them; and the page's one fragment,
which follows a training run's latest checkpoint until the run has finished."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import streamlit as st

from ae_core import figures
from ae_core.errors import StoreError
from ae_core.jobs import Job
from ae_core.worker import CHECKPOINT_SECONDS
from ui.runs import QUEUED_POLL_SECONDS, diagnostic_warnings, pick_run
from ui.session import manager, page_header, sentence

# A view page's model changes only at a checkpoint: it polls twice per checkpoint interval.
VIEW_POLL_SECONDS = CHECKPOINT_SECONDS / 2
# The snapshot a view page's step slider chose, as (run id, step), while the page draws its views.
_CHOSEN_SNAPSHOT: ContextVar[tuple[str, int] | None] = ContextVar("chosen_snapshot", default=None)


@st.cache_resource(max_entries=8, show_spinner=False)
def _checkpoint_model(run_id: str, step: int):
    # One load of a checkpoint for all the views (and sessions) showing it; a newer step is a
    # new entry, the oldest go.
    return manager().checkpoint_model(run_id)


@st.cache_data(max_entries=64, show_spinner="Running the model…")
def _view(name: str, run_id: str, version: tuple, options: tuple) -> Any:
    from ae_core import views
    from ae_core.data import load_dataset

    if version[0] == "checkpoint":
        model = _checkpoint_model(run_id, version[1])
    elif version[0] == "snapshot":
        model = manager().snapshot_model(run_id, version[1])
    else:
        model = manager().model(run_id)
    dataset = load_dataset(model.run_config.dataset)
    return getattr(views, name)(model, dataset, **dict(options))


def _model_version(job: Job) -> tuple:
    """What identifies the model the views show: a training run's latest checkpoint, or the
    finished run (retrained runs get a new finishing time), or a finished run's snapshot at the
    step the page's step slider chose."""
    snapshot = job.snapshot()
    if snapshot.state == "training":
        return ("checkpoint", snapshot.checkpoint_step)
    finished_at = float((snapshot.summary or {}).get("finished_at", 0.0))
    chosen = _CHOSEN_SNAPSHOT.get()
    if chosen is not None and chosen[0] == job.run_id:
        return ("snapshot", chosen[1], finished_at)
    return ("final", finished_at)


def step_slider(job: Job) -> int | None:
    """For a finished run with a model, the "Training step" slider over its snapshots and its
    final model; returns the snapshot step chosen, None for the final model. A run without
    snapshots says so in a caption."""
    snapshot = job.snapshot()
    if not snapshot.finished or not (snapshot.summary or {}).get("model"):
        return None
    steps = manager().snapshot_steps(job.run_id)
    if not steps:
        st.caption(
            "This run kept no snapshots of its training (runs trained before snapshots were "
            "kept, or stopped within their first 1 % of steps, have none): its final model only."
        )
        return None
    final, total = snapshot.step, max(snapshot.total_steps, 1)
    options = [*steps, final]

    def label(step: int) -> str:
        return f"{step:,} (final)" if step == final else f"{step:,} ({step / total:.0%})"

    from ui import links

    chosen = links.view_select_slider(
        "step",
        "Training step",
        options,
        final,
        format_func=label,
        help="Show the model as it was at this step of its training (snapshots kept along the "
        "way); the last is the final model.",
    )
    return None if chosen == final else chosen


def has_model(job: Job) -> bool:
    """Whether the views can show a model of this run now (a checkpoint of a training run)."""
    snapshot = job.snapshot()
    if snapshot.state == "training":
        return snapshot.checkpoint_step is not None
    return bool((snapshot.summary or {}).get("model"))


def trained_model_ready(job: Job | None) -> bool:
    """Whether the views can show this run's model; if not, say why on the page."""
    if job is None:
        st.info("Train a run on the **Train** page, then pick it in the sidebar.")
        return False
    snapshot = job.snapshot()
    if snapshot.state == "queued":
        st.info(
            f"This run is queued (position {snapshot.queue_position}). Its views appear here "
            "by themselves once it has trained for a few seconds; its progress is on the "
            "**Train** page."
        )
        return False
    if snapshot.state == "training":
        if snapshot.checkpoint_step is None:
            st.info(
                "This run has just started training: its model appears here by itself a few "
                "seconds in (it is saved every few seconds while it trains). Its loss is live "
                "on the **Train** page."
            )
            return False
        st.info(
            f"This run is still training: the views show its model as of step "
            f"{snapshot.checkpoint_step:,} of {snapshot.total_steps:,}, and follow it by "
            "themselves (it is saved every few seconds)."
        )
        return True
    if not (snapshot.summary or {}).get("model"):
        st.error(sentence(f"this run has no trained model: {job.reason or job.state}"))
        return False
    if snapshot.state == "failed":
        st.error(sentence(f"this run failed: {job.reason}; here is what it had learned then"))
    elif snapshot.state != "done":
        st.warning(sentence(f"this run {job.state}: {job.reason}; it shows what it had learned"))
    return True


def view_polling_interval(state: str) -> float | None:
    """How often a view of a run in ``state`` looks for a newer model (None: it does not)."""
    return {"training": VIEW_POLL_SECONDS, "queued": QUEUED_POLL_SECONDS}.get(state)


def _draw_live_view(
    run_id: str, polling: float | None, draw: Callable[[Job], None], images: bool, steps: bool
) -> None:
    job = manager().get(run_id)
    if job is None:
        st.warning("This run is no longer on the server.")
        return
    if view_polling_interval(job.snapshot().state) != polling:
        # Queued -> training -> finished: poll at the new pace (or stop), and let the whole
        # page show the new state.
        st.rerun(scope="app")
    if trained_model_ready(job) and (not images or needs_images(job)):
        step = step_slider(job) if steps else None
        chosen = _CHOSEN_SNAPSHOT.set(None if step is None else (job.run_id, step))
        try:
            draw(job)
        finally:
            _CHOSEN_SNAPSHOT.reset(chosen)


def live_view(
    job: Job | None, draw: Callable[[Job], None], images: bool = False, steps: bool = False
) -> None:
    """``draw(job)``, the page's views of the run's model, in the page's one fragment: while the
    run trains it polls and redraws from the latest checkpoint (a poll with no new checkpoint
    answers every view from the cache), and once the run has finished it draws the final model
    once. With ``images``, only for image data (otherwise it says so); with ``steps``, a
    finished run's views are of the step its slider chooses (``step_slider``). A finished run
    that failed to learn says so above its views (``diagnostic_warnings``)."""
    if job is None:
        trained_model_ready(job)
        return
    diagnostic_warnings(job)
    polling = view_polling_interval(job.snapshot().state)
    st.fragment(run_every=polling)(_draw_live_view)(job.run_id, polling, draw, images, steps)


def view_page(title: str, intro: str, draw: Callable[[Job], None], images: bool = False) -> None:
    """A view page: its title, the run picker, and ``draw(job)`` of the chosen run, live
    (``live_view``), at the training step its slider chooses."""
    from ui import links

    page_header(title, intro)
    job = pick_run()
    links.share_link(view=links.view_values(title))
    live_view(job, draw, images, steps=True)


def view(job: Job, name: str, **options: Any) -> Any:
    """``ae_core.views.<name>`` of the job's model, cached per run, model version and options."""
    version = _model_version(job)
    if version == ("checkpoint", None):  # it started training since the page checked
        st.info("This run has just started training: its model appears here in a few seconds.")
        st.stop()
    try:
        return _view(name, job.run_id, version, tuple(sorted(options.items())))
    except StoreError as error:
        if version[0] == "checkpoint":
            # The run finished between the snapshot and the load (its checkpoint gives way to
            # the final model): the fragment's next poll shows that.
            st.info("This run has just finished: its final model appears here in a moment.")
        else:
            st.error(sentence(str(error)))
        st.stop()


def readable_view(job: Job, name: str, **options: Any) -> Any | None:
    """``view`` for a page of several finished runs: a run whose model cannot be read is named
    in one sentence and None returned, so the page goes on with the other runs."""
    try:
        return _view(name, job.run_id, _model_version(job), tuple(sorted(options.items())))
    except StoreError as error:
        st.warning(sentence(f"{error}; it is left out here"))
        return None


def dataset_info_of(job: Job):
    from ae_core.data import dataset_info

    return dataset_info(job.config.dataset)


def needs_images(job: Job) -> bool:
    """True when the run's data are images; otherwise say so on the page."""
    if dataset_info_of(job).image_shape is None:
        st.info(
            f"This run's data ({job.config.dataset}) are points, not images, so there is nothing "
            "to draw here; the **Linear vs PCA** page shows them."
        )
        return False
    return True


def planes_figure(cloud: dict):
    """The 3-D cloud with the autoencoder's plane and PCA's (``views.linear_vs_pca``'s cloud)."""
    return figures.planes_3d(
        cloud["points"],
        cloud["center"],
        cloud["autoencoder_basis"],
        cloud["pca_basis"],
        autoencoder_center=cloud["autoencoder_center"],
    )
