"""Runs: describe them, pick one, submit one, and show one live while it trains."""

from __future__ import annotations

import math

import streamlit as st

from ae_core import figures
from ae_core.config import RunConfig, field_spec, short_run_id
from ae_core.continuation import can_continue
from ae_core.data import trained_on
from ae_core.diagnostics import Diagnostic, diagnose
from ae_core.errors import ConfigError, StoreError
from ae_core.jobs import Job, Snapshot
from ae_core.run_names import MAX_RUN_NAME_CHARS
from ae_core.run_states import FINISHED_STATES
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
# The steps "Continue" offers first, and how far back a continuation's chart follows its parents.
CONTINUE_STEPS = 1000
MAX_ANCESTORS = 50


def _run_id_suffix(job: Job) -> str:
    """The run's name and short id after its description; its name only in presenting mode (no
    hashes on a projector)."""
    if presenting.on():
        return f" · “{job.name}”" if job.name else ""
    return f" · {run_tag(job)}"


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


def run_tag(job: Job) -> str:
    """The start of a run's hash, after the name a person gave it, if any."""
    return f"“{job.name}” {short_run_id(job.run_id)}" if job.name else short_run_id(job.run_id)


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
    _follow(job)
    return job


def _follow(job: Job) -> None:
    """Make a run this session just started the chosen one, and the one the Train page shows."""
    select_run(job.run_id)
    st.session_state[LAST_STARTED] = job.run_id
    if not job.is_final_result:
        st.session_state.setdefault(TRAINED_HERE, set()).add(job.run_id)


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
        if presenting.on():
            st.caption(describe_run(job))
        else:
            st.caption(f"{describe_run(job)}  \nRun id `{job.run_id}`")
            name_form(job, "sidebar")
            download_model_button(job, "sidebar")
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
    if job.config.parent is not None:
        parent = manager().get(job.config.parent)
        st.caption(
            f"Continues {run_tag(parent) if parent else job.config.parent} from step "
            f"{job.config.start_step:,}, with its weights (the optimizer started afresh); the "
            "chart shows both."
        )


def run_actions(job: Job, snapshot: Snapshot) -> None:
    """Under a finished run's charts, for a run with a final model: Continue, Name and
    Download."""
    if not snapshot.finished or not can_continue(snapshot.state, snapshot.summary):
        return
    steps_column, button_column = st.columns([2, 3], vertical_alignment="bottom")
    steps_key, error_key = f"continue_steps:{job.run_id}", f"continue_error:{job.run_id}"
    steps_column.number_input(
        "More steps",
        min_value=1,  # the field's 0 means "not a continuation"
        max_value=field_spec("extra_steps").metadata["max"],
        value=CONTINUE_STEPS,
        step=100,
        key=steps_key,
        help="Steps to train on from this run's final model, as a new run.",
    )
    button_column.button(
        f"Continue for {st.session_state.get(steps_key, CONTINUE_STEPS):,} more steps",
        key=f"continue:{job.run_id}",
        on_click=_continue,
        args=(job.run_id, steps_key, error_key),
        help="A new run that starts from this run's weights (the optimizer starts afresh) and "
        "numbers its steps on from this one's; the same continuation is trained once.",
    )
    if st.session_state.get(error_key):
        st.error(st.session_state[error_key])
    if not presenting.on():  # on a projector the lesson's controls only
        name_form(job, "result")
        download_model_button(job, "result")


def _continue(run_id: str, steps_key: str, error_key: str) -> None:
    try:
        job = manager().continue_run(run_id, int(st.session_state[steps_key]))
    except (StoreError, ConfigError) as error:
        st.session_state[error_key] = sentence(str(error))
        return
    st.session_state.pop(error_key, None)
    _follow(job)


def name_form(job: Job, where: str) -> None:
    """A text input and a Name button that give the run a short name (kept in the store)."""
    text_key, error_key = f"name:{where}:{job.run_id}", f"name_error:{where}:{job.run_id}"
    text_column, button_column = st.columns([2, 1], vertical_alignment="bottom")
    text_column.text_input(
        "Run name",
        value=job.name or "",
        max_chars=MAX_RUN_NAME_CHARS,
        key=text_key,
        placeholder="e.g. baseline",
        help="A short name shown beside the run's id everywhere; it changes no result.",
    )
    button_column.button(
        "Name",
        key=f"name_button:{where}:{job.run_id}",
        on_click=_name,
        args=(job.run_id, text_key, error_key),
    )
    if st.session_state.get(error_key):
        st.error(st.session_state[error_key])


def _name(run_id: str, text_key: str, error_key: str) -> None:
    try:
        manager().set_name(run_id, st.session_state.get(text_key, ""))
    except StoreError as error:
        st.session_state[error_key] = sentence(str(error))
    else:
        st.session_state.pop(error_key, None)


def download_model_button(job: Job, where: str) -> None:
    """Download a run's final model as a .keras file, saved here from the model our code rebuilt."""
    if job.state not in FINISHED_STATES or not (job.summary or {}).get("model"):
        return
    st.download_button(
        "Download model (.keras)",
        lambda: manager().model_file(job.run_id),
        file_name=f"{job.run_id}.keras",
        mime="application/octet-stream",
        key=f"download_model:{where}:{job.run_id}",
        help="The trained model for Keras (keras.saving.load_model, with ae_core importable).",
    )


def shown_result(own: Job | None, last_run_id: str | None) -> Job | None:
    """The run the Train page shows for the settings' own run ``own``: the run this session
    started last when it continues ``own`` (through its parents), else ``own``."""
    last = manager().get(last_run_id) if own is not None and last_run_id else None
    ancestor = last
    for _ in range(MAX_ANCESTORS):
        if ancestor is None or ancestor.config.parent is None:
            return own
        if ancestor.config.parent == own.run_id:
            return last
        ancestor = manager().get(ancestor.config.parent)
    return own


def lineage_history(job: Job, history: list[dict]) -> list[dict]:
    """``history`` of run ``job`` after its parents' points up to where it starts, so a
    continuation's chart is one curve from step 0 (its parents that are gone: from its start)."""
    points, config = list(history), job.config
    for _ in range(MAX_ANCESTORS):
        parent = manager().get(config.parent) if config.parent is not None else None
        if parent is None:
            break
        start = config.start_step
        points = [p for p in parent.snapshot().history if p["step"] <= start] + points
        config = parent.config
    return points


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
    run_actions(job, snapshot)


def run_charts(job: Job, snapshot: Snapshot) -> None:
    """A run's progress charts from its snapshot: live while it is queued or trains (empty
    before its first point), from its stored history once it has finished (none without one)."""
    if snapshot.history or not snapshot.finished:
        progress_charts(job.config, lineage_history(job, snapshot.history), job.run_id)


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
