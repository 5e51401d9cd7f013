"""Views of a trained model (reconstructions, activations, features, codes), cached per run and
model version, and the checks a view page makes before drawing them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ae_core import figures
from ae_core.jobs import Job
from ae_core.store import StoreError
from ui.runs import pick_run
from ui.session import manager, page_header, sentence


@st.cache_data(max_entries=64, show_spinner="Running the model…")
def _view(name: str, run_id: str, version: tuple, options: tuple) -> Any:
    from ae_core import views
    from ae_core.data import load_dataset

    if version[0] == "checkpoint":
        model = manager().checkpoint_model(run_id)
    else:
        model = manager().model(run_id)
    dataset = load_dataset(model.run_config.dataset)
    return getattr(views, name)(model, dataset, **dict(options))


def _model_version(job: Job) -> tuple:
    """What identifies the model the views show: a training run's latest checkpoint, or the
    finished run (retrained runs get a new finishing time)."""
    snapshot = job.snapshot()
    if snapshot.state == "training":
        return ("checkpoint", snapshot.checkpoint_step)
    return ("final", float((snapshot.summary or {}).get("finished_at", 0.0)))


def trained_model_ready(job: Job | None) -> bool:
    """Whether the views can show this run's model; if not, say why on the page."""
    if job is None:
        st.info("Train a run on the **Train** page, then pick it in the sidebar.")
        return False
    snapshot = job.snapshot()
    if snapshot.state == "queued":
        st.info(
            f"This run is queued (position {snapshot.queue_position}). Its views appear here "
            "once it has trained for a few seconds; its progress is on the **Train** page."
        )
        return False
    if snapshot.state == "training":
        if snapshot.checkpoint_step is None:
            st.info(
                "This run has just started training: its model appears here a few seconds in "
                "(it is saved every few seconds while it trains). Its loss is live on the "
                "**Train** page."
            )
            st.button("Refresh", key="refresh-views")
            return False
        left, right = st.columns([5, 1])
        left.info(
            f"This run is still training: the views show its model as of step "
            f"{snapshot.checkpoint_step:,} of {snapshot.total_steps:,} (saved every few "
            "seconds). Refresh for a newer one."
        )
        right.button("Refresh", key="refresh-views")
        return True
    if not (snapshot.summary or {}).get("model"):
        st.error(sentence(f"this run has no trained model: {job.reason or job.state}"))
        return False
    if snapshot.state == "failed":
        st.error(sentence(f"this run failed: {job.reason}; here is what it had learned then"))
    elif snapshot.state != "done":
        st.warning(sentence(f"this run {job.state}: {job.reason}; it shows what it had learned"))
    return True


def view_page(title: str, intro: str, images: bool = False) -> Job | None:
    """A view page's top: its title, the run picker, and the chosen run when the page can show
    its model (with image data, if ``images``); otherwise None, having said why."""
    page_header(title, intro)
    job = pick_run()
    if not trained_model_ready(job) or (images and not needs_images(job)):
        return None
    return job


def view(job: Job, name: str, **options: Any) -> Any:
    """``ae_core.views.<name>`` of the job's model, cached per run, model version and options."""
    try:
        return _view(name, job.run_id, _model_version(job), tuple(sorted(options.items())))
    except StoreError as error:
        st.error(sentence(str(error)))
        st.button("Refresh", key=f"refresh-after-error:{name}")
        st.stop()


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
