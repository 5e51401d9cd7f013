"""Runs: describe them, pick one, submit one, and show one live while it trains."""

from __future__ import annotations

import math

import streamlit as st

from ae_core import figures
from ae_core.config import RunConfig, short_run_id
from ae_core.data import trained_on
from ae_core.diagnostics import Diagnostic, diagnose
from ae_core.jobs import Job, Snapshot
from ae_core.store import StoreError
from ui import pages, presenting
from ui.presenting import chart
from ui.session import (
    LAST_STARTED,
    SELECTED_RUN,
    SUBMIT_ERROR,
    TRAINED_HERE,
    manager,
    sentence,
)
from ui.settings import current_config, load_settings

# Polling costs the server CPU for every open page, so pages poll only while their run is
# active, and a queued run (nothing changes but its position) less often. A run starting (queued
# to start within a poll, or in its first moments of training) is polled fast for that moment
# only: at a second's pace, the first point of a run that starts at once waited up to two polls
# after the click.
TRAINING_POLL_SECONDS = 1.0
QUEUED_POLL_SECONDS = 2.0
STARTING_POLL_SECONDS = 0.25
# How long a run counts as starting: its first points, polled fast, and the one rerun of the
# whole page that slows the polls comes after them, not as the first point is being drawn.
STARTING_SECONDS = 1.5


def _run_id_suffix(job: Job) -> str:
    """The run's short id after its description; none in presenting mode (no hashes on a
    projector)."""
    return "" if presenting.on() else f" · {short_run_id(job.run_id)}"


def describe_run(job: Job) -> str:
    config, summary = job.config, job.summary or {}
    parts = [config.variant, f"code {config.code_size}"]
    if config.hidden:
        parts.append("hidden " + ",".join(map(str, config.hidden)))
    parts.append(f"{config.steps:,} steps")
    if summary.get("test_mse") is not None:
        parts.append(f"test MSE {summary['test_mse']:.4f}")
    else:
        parts.append(job.state)
    return " · ".join(parts) + _run_id_suffix(job)


def run_label(job: Job) -> str:
    """A run's name in a picker: what it is, never its state. Streamlit keeps a selectbox's
    choice by its label, so a label that changed when the run finished (its test MSE) would
    drop the choice back to the first run."""
    config = job.config
    parts = [config.variant, f"code {config.code_size}"]
    if config.hidden:
        parts.append("hidden " + ",".join(map(str, config.hidden)))
    parts.append(f"{config.steps:,} steps")
    return " · ".join(parts) + _run_id_suffix(job)


def select_run(run_id: str) -> None:
    """Make ``run_id`` the run the view pages show (from a callback, a link or a page without
    the run picker)."""
    st.session_state[SELECTED_RUN] = run_id


def submit(config: RunConfig) -> Job | None:
    """Start (or join, or fetch the stored result of) a run and make it the chosen run; as a
    button's callback, it runs before the page (and its run picker) is drawn again."""
    try:
        job = manager().submit(config)
    except StoreError as error:
        st.session_state[SUBMIT_ERROR] = sentence(str(error))
        return None
    st.session_state.pop(SUBMIT_ERROR, None)
    select_run(job.run_id)
    st.session_state[LAST_STARTED] = job.run_id
    if not job.is_final_result:
        st.session_state.setdefault(TRAINED_HERE, set()).add(job.run_id)
    return job


def submit_current() -> Job | None:
    """Train what the settings widgets show now (the Train button's callback)."""
    config, problem = current_config()
    if config is None:
        st.session_state[SUBMIT_ERROR] = problem
        return None
    return submit(config)


def trained_before(job: Job) -> bool:
    """A stored result this session did not train: someone (maybe this user, earlier) did."""
    return job.is_final_result and job.run_id not in st.session_state.get(TRAINED_HERE, set())


def pick_run(jobs: list[Job] | None = None) -> Job | None:
    """The sidebar's run picker (every run, newest first, or ``jobs`` when the page has listed
    them already); remembers the choice across pages."""
    jobs = manager().list_runs() if jobs is None else jobs
    with st.sidebar:
        for problem in manager().problems:
            st.warning(sentence(problem))
        if not jobs:
            st.info("No runs yet: train one on the **Train** page.")
            return None
        by_id = {job.run_id: job for job in jobs}
        run_ids = list(by_id)
        chosen = st.session_state.get(SELECTED_RUN)
        if chosen not in by_id:  # none yet, deleted, or another runs folder
            chosen = run_ids[0]
        # No widget key: the choice lives in the session's own SELECTED_RUN, which Streamlit
        # never clears, and the picker starts at it. A keyed picker's state is Streamlit's, kept
        # per page and dropped on pages without it, and a page came back showing an older run.
        # The index is part of the widget's identity, so a new choice makes a new picker.
        chosen = st.selectbox(
            "Run",
            run_ids,
            index=run_ids.index(chosen),
            format_func=lambda run_id: run_label(by_id[run_id]),
            help="Every run on this server, newest first; the views show the chosen one.",
        )
        select_run(chosen)
        job = by_id[chosen]
        st.caption(describe_run(job) + ("" if presenting.on() else f"  \nRun id `{job.run_id}`"))
        if st.button("Edit its settings on Train", help="Train it again with changes."):
            load_settings(job.config)
            st.switch_page(pages.TRAIN.path)
        return job


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def progress_text(snapshot: Snapshot) -> str:
    text = f"Step {snapshot.step:,} of {snapshot.total_steps:,}"
    if snapshot.phase and (snapshot.latest or {}).get("phase_count", 1) > 1:
        text += f" ({snapshot.phase})"
    if snapshot.samples_per_s:
        text += f" · {snapshot.samples_per_s:,.0f} samples/s"
    if snapshot.state == "training" and snapshot.step >= snapshot.total_steps:
        text += " · measuring and saving the model"
    elif snapshot.state == "training" and snapshot.seconds_left is not None:
        text += f" · about {duration_text(snapshot.seconds_left)} left"
    return text


def examples_name(config: RunConfig) -> str:
    """What the run's held-out examples are, in words, for the loss chart's legend."""
    from ae_core.data import dataset_info

    info = dataset_info(config.dataset)
    if info.image_shape is None:
        return "test points"
    return "test digits" if "digit" in info.description.lower() else "test images"


def held_out_caption(history, config: RunConfig) -> str | None:
    """What the loss chart's dashed line is, when the history has one."""
    measured = [point for point in history if point.get("held_out_loss") is not None]
    if not measured:
        return None
    return (
        f"Dashed: the reconstruction term on {measured[-1]['held_out_examples']:,} "
        f"{examples_name(config)} the run never trains on (the same ones for every run of this "
        "data), as they are, without the training noise (a variational autoencoder decodes "
        "their mean code, so its line sits a little below the sampled training term), at evenly "
        "spaced points. A dashed line rising above the training one is over-fitting."
    )


def sparsity_target(config: RunConfig) -> float | None:
    """The run's sparsity target, or None when it has no KL sparsity penalty."""
    return config.sparsity_target if config.sparsity_weight > 0 else None


def start_text(seconds_to_start: float | None) -> str:
    """When a queued run starts, in words (a run given to a worker starts within a turn)."""
    if seconds_to_start is None:
        return "It starts by itself."
    if seconds_to_start < 1:
        return "It starts in a moment."
    return f"It starts by itself, in about {duration_text(seconds_to_start)}."


def _status(job: Job, snapshot: Snapshot) -> None:
    state = snapshot.state
    if state == "queued":
        ahead = (snapshot.queue_position or 1) - 1
        st.info(
            f"Queued: position {snapshot.queue_position} "
            f"({ahead} run{'s' if ahead != 1 else ''} ahead of it). "
            + start_text(snapshot.seconds_to_start),
        )
        st.button("Cancel", key=f"cancel:{job.run_id}", on_click=job.cancel)
        return
    st.progress(min(1.0, snapshot.fraction_done), text=progress_text(snapshot))
    if state == "training":
        st.button(
            "Stop",
            key=f"stop:{job.run_id}",
            on_click=job.stop,
            help="Stops after the current chunk and keeps the model learned so far. Everyone "
            "who started this same configuration shares this run, so it stops for them too.",
        )
    elif state == "failed":
        st.error(sentence(snapshot.reason or "the run failed"))
    elif state in ("stopped", "cancelled", "interrupted"):
        reason = snapshot.reason or state
        says_state = reason.lower().startswith(state)
        st.warning(sentence(reason) if says_state else f"{state.title()}: {sentence(reason)}")
    else:
        summary = snapshot.summary or {}
        st.success(
            f"Done: {summary.get('steps', snapshot.step):,} steps in "
            f"{duration_text(summary.get('seconds'))}."
        )
    if snapshot.summary and snapshot.summary.get("test_mse") is not None:
        summary_metrics(snapshot.summary)
        diagnostic_warnings(job, snapshot)


def summary_metrics(summary: dict) -> None:
    columns = st.columns(4)
    columns[0].metric("Test MSE", f"{summary['test_mse']:.5f}")
    columns[1].metric("Training objective", f"{summary['train_loss']:.4g}")
    means = summary.get("mean_activation") or []
    if means:
        columns[2].metric("Mean code activation", f"{means[-1]:.3f}")
    dead, units = summary.get("dead_units") or [], summary.get("units") or []
    if dead and units:
        columns[3].metric("Dead code units", f"{dead[-1]} of {units[-1]}")
    data = trained_on(summary)
    if data:  # the offline fallbacks are smaller than full MNIST
        st.caption(f"Trained on {data}.")


def run_diagnostics(job: Job, snapshot: Snapshot | None = None) -> list[Diagnostic]:
    """What went wrong in a finished run that has a model (``ae_core.diagnostics``); none
    while it is queued or training."""
    snapshot = job.snapshot() if snapshot is None else snapshot
    if not snapshot.finished:
        return []
    return diagnose(snapshot.summary, snapshot.history, job.config)


def diagnostic_warnings(job: Job, snapshot: Snapshot | None = None, prefix: str = "") -> None:
    """A warning per finding of ``run_diagnostics``, each starting with ``prefix``."""
    for finding in run_diagnostics(job, snapshot):
        st.warning(prefix + finding.message)


def _draw_live(run_id: str, polling: float | None) -> None:
    job = manager().get(run_id)
    if job is None:
        st.warning("This run is no longer on the server.")
        return
    snapshot = job.snapshot()
    _draw_snapshot(job, snapshot)
    if polling_interval(snapshot) != polling:
        # Queued -> starting -> training -> finished: poll at the new pace (or stop), and let
        # the whole page (its sidebar, its captions) show the new state. Drawn first: the
        # rerun of the whole page comes after, so the first point is not kept waiting for it.
        st.rerun(scope="app")


def _draw_snapshot(job: Job, snapshot: Snapshot) -> None:
    _status(job, snapshot)
    if not snapshot.history and snapshot.state == "training":
        st.caption(
            "Starting: the first loss point appears after the first 20 steps (a shape this "
            "server has not trained before compiles first, a few seconds)."
        )
    run_charts(job, snapshot)


def run_charts(job: Job, snapshot: Snapshot) -> None:
    """A run's progress charts from its snapshot: live while it is queued or trains (empty
    before its first point), from its stored history once it has finished (none without one)."""
    if snapshot.history or not snapshot.finished:
        progress_charts(job.config, snapshot.history, job.run_id)


def progress_charts(config: RunConfig, history: list[dict], run_id: str) -> None:
    """The loss and mean-activation charts of run ``run_id`` of ``config``, side by side: empty
    axes before its first point, so the page has its charts (and the browser its plotting
    library) ready when the first point comes."""
    left, right = st.columns(2)
    chart(
        figures.loss_curves(
            history, log_y=True, examples_name=examples_name(config), total_steps=config.steps
        ),
        where=left,
        key=f"loss:{run_id}",
        width="stretch",
    )
    chart(
        figures.mean_activation_curves(history, sparsity_target(config), config.steps),
        where=right,
        key=f"activation:{run_id}",
        width="stretch",
    )
    caption = held_out_caption(history, config)
    if caption:
        left.caption(caption)


def live_run(job: Job) -> None:
    """The run's status, progress, Stop button and live charts: redrawn every second while it
    trains (a fragment on a timer), drawn once when it has finished."""
    polling = polling_interval(job.snapshot())
    st.fragment(run_every=polling)(_draw_live)(job.run_id, polling)


def polling_interval(snapshot: Snapshot) -> float | None:
    """Seconds between polls of a run in this state, or None once it has finished."""
    if snapshot.state == "training":
        starting = not snapshot.history or snapshot.elapsed < STARTING_SECONDS
        return STARTING_POLL_SECONDS if starting else TRAINING_POLL_SECONDS
    if snapshot.state == "queued":
        wait = snapshot.seconds_to_start
        soon = wait is not None and wait <= QUEUED_POLL_SECONDS
        return STARTING_POLL_SECONDS if soon else QUEUED_POLL_SECONDS
    return None
