"""The app's shared Streamlit helpers: the job manager, widgets drawn from the config's metadata,
the run picker, the live view of a run and the cached views of a trained model.

Everything here lays out widgets and figures; the logic is in ``ae_core``. It lives beside
``app.py`` rather than in ``pages/``, where every file becomes a page.
"""

from __future__ import annotations

import math
import os
from typing import Any

import streamlit as st

from ae_core import figures
from ae_core.config import ConfigError, RunConfig, make_config
from ae_core.controls import Control, controls
from ae_core.jobs import Job, JobManager, Snapshot
from ae_core.lessons import MAIN as MAIN_ROLE
from ae_core.store import StoreError

# Polling costs the server CPU for every open page, so pages poll only while their run is
# active, and a queued run (nothing changes but its position) less often.
TRAINING_POLL_SECONDS = 1.0
QUEUED_POLL_SECONDS = 2.0
GROUPS = {
    "data": "Data",
    "model": "Model",
    "training": "Training",
    "regularisation": "Regularisation and noise",
}
SELECTED_RUN = "selected_run"
VARIANT = "variant"
# Widget values kept for the whole session: Streamlit forgets a widget's value when a page that
# does not draw it runs, so every page's choices are copied here and restored when drawn again.
_KEPT = "kept_widget_values"


def kept(key: str, default: Any) -> str:
    """Give the widget ``key`` its kept value (else ``default``) before it is drawn; pass the
    returned key to the widget, then ``keep(key)`` after it."""
    values = st.session_state.setdefault(_KEPT, {})
    if key not in st.session_state:
        st.session_state[key] = values.get(key, default)
    return key


def keep(key: str) -> None:
    st.session_state.setdefault(_KEPT, {})[key] = st.session_state[key]


def set_kept(key: str, value: Any) -> None:
    """Set a widget's value from a callback or a page that does not draw it."""
    st.session_state.setdefault(_KEPT, {})[key] = value
    st.session_state[key] = value


def sentence(message: str) -> str:
    """An engine message as a sentence: capital first letter, full stop."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _keep_keras_state() -> None:
    """Stop Streamlit clearing Keras's session after every script run.

    Streamlit calls ``keras.backend.clear_session()`` after each run of a page or fragment once
    Keras is imported (for apps that build models in the script); that runs a full garbage
    collection, measured at 0.3 s of CPU per run here with TensorFlow and a few models loaded,
    so a page polling once a second would keep a third of a core busy. This app builds no model
    in its scripts (the job manager loads them, once), so there is nothing to clear.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = _clean_nothing


def _clean_nothing() -> None:
    """The app's replacement for Streamlit's per-run clean-up of stateful modules."""


_keep_keras_state()


# -- the job manager: one per server process, shared by every session -----------------------------
@st.cache_resource(show_spinner="Starting the training workers…")
def _job_manager(runs_dir: str, workers: int | None, runs_per_worker: int | None) -> JobManager:
    turns = {} if runs_per_worker is None else {"runs_per_worker": runs_per_worker}
    return JobManager(runs_dir or None, workers=workers, **turns)


def _whole_number_setting(name: str) -> int | None:
    """The server setting ``$name`` as a whole number of at least 1, or None when unset."""
    text = os.environ.get(name, "").strip()
    try:
        value = int(text) if text else None
        if value is not None and value < 1:
            raise ValueError
    except ValueError:
        st.error(f"{name}={text!r} is not valid: use a whole number of at least 1.")
        st.stop()
    return value


def manager() -> JobManager:
    """The server's job manager (runs folder ``$AE_RUNS_DIR``, ``$AE_WORKERS`` workers, each
    taking turns on up to ``$AE_RUNS_PER_WORKER`` runs)."""
    return _job_manager(
        os.environ.get("AE_RUNS_DIR", ""),
        _whole_number_setting("AE_WORKERS"),
        _whole_number_setting("AE_RUNS_PER_WORKER"),
    )


def page_header(title: str, intro: str | None = None) -> None:
    st.set_page_config(page_title=f"{title} · Autoencoder Lab", page_icon="🧠", layout="wide")
    st.title(title)
    if intro:
        st.caption(intro)


# -- settings: one widget per configuration field the variant uses -------------------------------
def _setting_key(variant: str, name: str) -> str:
    return f"setting:{variant}:{name}"


def _number_text(value: float) -> str:
    return f"{value:g}"


def _scale_options(control: Control, current: float) -> list[float]:
    """1-2-5 steps across the control's range (from 1e-6 for an amount that may be 0), plus
    the current value, so any stored value can be shown."""
    low = control.minimum if control.minimum and control.minimum > 0 else 1e-6
    high = control.maximum if control.maximum is not None else 100.0
    options = {0.0} if not control.log and (control.minimum or 0.0) == 0.0 else set()
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = float(f"{mantissa}e{exponent}")
            if low <= value <= high:
                options.add(value)
    options.add(float(current))
    return sorted(options)


def _widget(control: Control, key: str) -> Any:
    """Draw the widget for one setting; its value lives in session state under ``key``."""
    common = {"label": control.label, "help": control.help, "key": key}
    value = st.session_state[key]
    if control.kind == "choice":
        return st.selectbox(options=list(control.choices), **common)
    if control.kind == "toggle":
        return st.toggle(**common)
    if control.kind == "int":
        return st.number_input(
            min_value=int(control.minimum) if control.minimum is not None else None,
            max_value=int(control.maximum) if control.maximum is not None else None,
            step=int(control.step or 1),
            **common,
        )
    if control.kind == "float" and control.step:
        step = float(control.step)
        low = float(control.minimum) + (step if control.exclusive else 0.0)
        high = float(control.maximum) - (step if control.exclusive else 0.0)
        on_grid = low <= value <= high and math.isclose(
            (value - low) / step, round((value - low) / step), abs_tol=1e-9
        )
        if not on_grid:  # a value loaded from a run, off the slider's steps, keeps its own
            return st.number_input(format="%g", **common)
        return st.slider(min_value=low, max_value=high, step=step, format="%.2f", **common)
    if control.kind == "float":
        return st.select_slider(
            options=_scale_options(control, value), format_func=_number_text, **common
        )
    if control.kind == "layers":
        return st.text_input(placeholder="e.g. 300,100 (empty: none)", **common)
    return st.text_input(**common)


def _initial(control: Control) -> Any:
    if control.kind == "layers":
        return ",".join(str(size) for size in control.default)
    if control.kind == "float":
        return float(control.default)
    return control.default


def load_settings(config: RunConfig) -> None:
    """Put a run's settings into the Train page's widgets (for "train again with changes");
    call it from a callback or a page that does not draw them."""
    set_kept(VARIANT, config.variant)
    for control in controls(config.variant):
        value = getattr(config, control.name)
        if control.kind == "layers":
            value = ",".join(str(size) for size in value)
        set_kept(_setting_key(config.variant, control.name), value)


def reset_settings(variant: str) -> None:
    """Back to the variant's defaults (a button's callback)."""
    for control in controls(variant):
        set_kept(_setting_key(variant, control.name), _initial(control))


def settings_form(variant: str, data_area) -> tuple[RunConfig | None, str | None]:
    """The variant's settings as widgets: the data settings in the container ``data_area``,
    the others in a column per group. Returns the validated config, or None and the reason,
    which is shown next to the widget it names."""
    described = controls(variant)
    slots, values = {}, {}

    def draw(control: Control) -> None:
        key = kept(_setting_key(variant, control.name), _initial(control))
        values[control.name] = _widget(control, key)
        keep(key)
        slots[control.name] = st.empty()

    with data_area:
        for control in described:
            if control.group == "data":
                draw(control)
    groups = [g for g in dict.fromkeys(c.group for c in described) if g != "data"]
    groups.sort(key=lambda g: list(GROUPS).index(g) if g in GROUPS else len(GROUPS))
    for column, group in zip(st.columns(len(groups)), groups, strict=True):
        with column:
            st.subheader(GROUPS.get(group, group.title()))
            for control in described:
                if control.group == group:
                    draw(control)
    try:
        return make_config(variant, **values), None
    except ConfigError as error:
        reason = sentence(str(error))
        slots.get(error.field, st).error(reason)
        return None, reason


# -- runs: describe, pick, show live ------------------------------------------------------------
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
    return " · ".join(parts) + f" · {job.run_id.rsplit('-', 1)[-1][:6]}"


def select_run(run_id: str) -> None:
    """Make ``run_id`` the run the view pages show (from a callback or a page without the
    run picker)."""
    set_kept(SELECTED_RUN, run_id)


def submit(config: RunConfig) -> Job | None:
    """Start (or join, or fetch the stored result of) a run and make it the chosen run; as a
    button's callback, it runs before the page (and its run picker) is drawn again."""
    try:
        job = manager().submit(config)
    except StoreError as error:
        st.session_state["submit_error"] = sentence(str(error))
        return None
    st.session_state.pop("submit_error", None)
    select_run(job.run_id)
    st.session_state["last_started"] = job.run_id
    if not job.is_final_result:
        st.session_state.setdefault("trained_here", set()).add(job.run_id)
    return job


def trained_before(job: Job) -> bool:
    """A stored result this session did not train: someone (maybe this user, earlier) did."""
    return job.is_final_result and job.run_id not in st.session_state.get("trained_here", set())


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
        kept(SELECTED_RUN, jobs[0].run_id)
        if st.session_state[SELECTED_RUN] not in by_id:  # deleted, or another runs folder
            st.session_state[SELECTED_RUN] = jobs[0].run_id
        st.selectbox(
            "Run",
            list(by_id),
            format_func=lambda run_id: describe_run(by_id[run_id]),
            key=SELECTED_RUN,
            help="Every run on this server, newest first; the views show the chosen one.",
        )
        keep(SELECTED_RUN)
        job = by_id[st.session_state[SELECTED_RUN]]
        st.caption(f"Run id `{job.run_id}`")
        if st.button("Edit its settings on Train", help="Train it again with changes."):
            load_settings(job.config)
            st.switch_page("pages/1_Train.py")
        return job


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _progress_text(snapshot: Snapshot) -> str:
    text = f"Step {snapshot.step:,} of {snapshot.total_steps:,}"
    if snapshot.phase and (snapshot.latest or {}).get("phase_count", 1) > 1:
        text += f" ({snapshot.phase})"
    if snapshot.samples_per_s:
        text += f" · {snapshot.samples_per_s:,.0f} samples/s"
    if snapshot.state == "training" and snapshot.step >= snapshot.total_steps:
        text += " · measuring and saving the model"
    elif snapshot.state == "training":
        text += f" · about {_duration(snapshot.seconds_left)} left"
    return text


def sparsity_target(config: RunConfig) -> float | None:
    """The run's sparsity target, or None when it has no KL sparsity penalty."""
    return config.sparsity_target if config.sparsity_weight > 0 else None


def _status(job: Job, snapshot: Snapshot) -> None:
    state = snapshot.state
    if state == "queued":
        ahead = (snapshot.queue_position or 1) - 1
        when = (
            f"It starts by itself, in about {_duration(snapshot.seconds_to_start)}."
            if snapshot.seconds_to_start is not None
            else "It starts by itself."
        )
        st.info(
            f"Queued: position {snapshot.queue_position} "
            f"({ahead} run{'s' if ahead != 1 else ''} ahead of it). {when}",
        )
        st.button("Cancel", key=f"cancel:{job.run_id}", on_click=job.cancel)
        return
    st.progress(min(1.0, snapshot.fraction_done), text=_progress_text(snapshot))
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
            f"{_duration(summary.get('seconds'))}."
        )
    if snapshot.summary and snapshot.summary.get("test_mse") is not None:
        summary_metrics(snapshot.summary)


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
    if summary.get("data_source"):  # the offline fallbacks are smaller than full MNIST
        st.caption(f"Data: {summary['data_source']}")


def _draw_live(run_id: str, polling: float | None) -> None:
    job = manager().get(run_id)
    if job is None:
        st.warning("This run is no longer on the server.")
        return
    snapshot = job.snapshot()
    if _polling_interval(snapshot.state) != polling:
        # Queued -> training -> finished: poll at the new pace (or stop), and let the whole
        # page (its sidebar, its captions) show the new state.
        st.rerun(scope="app")
    _status(job, snapshot)
    if not snapshot.history:
        if snapshot.state == "training":
            st.caption(
                "Starting: the first loss point appears after the first 20 steps (a shape this "
                "server has not trained before compiles first, a few seconds)."
            )
        return
    left, right = st.columns(2)
    left.plotly_chart(
        figures.loss_curves(snapshot.history, log_y=True), key=f"loss:{run_id}", width="stretch"
    )
    right.plotly_chart(
        figures.mean_activation_curves(snapshot.history, sparsity_target(job.config)),
        key=f"activation:{run_id}",
        width="stretch",
    )


def live_run(job: Job) -> None:
    """The run's status, progress, Stop button and live charts: redrawn every second while it
    trains (a fragment on a timer), drawn once when it has finished."""
    polling = _polling_interval(job.snapshot().state)
    st.fragment(run_every=polling)(_draw_live)(job.run_id, polling)


def _polling_interval(state: str) -> float | None:
    return {"training": TRAINING_POLL_SECONDS, "queued": QUEUED_POLL_SECONDS}.get(state)


# -- views of a trained model, cached per run ----------------------------------------------------
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


# -- lessons --------------------------------------------------------------------------------------
def lesson_jobs(configs: dict[str, RunConfig]) -> dict[str, Job | None]:
    """A lesson's runs on this server, by role (None for those not started)."""
    return {role: manager().get(config.run_id) for role, config in configs.items()}


def start_lesson(lesson) -> None:
    """Submit every run of the lesson (a button's callback); its own run becomes the chosen one."""
    configs = lesson.configs()
    for config in configs.values():  # the lesson's own run first, so it is queued first
        if submit(config) is None:
            return
    main = configs[MAIN_ROLE].run_id
    select_run(main)
    st.session_state["last_started"] = main


def _draw_lesson_runs(lesson_name: str, run_ids: dict[str, str], polling: float | None) -> None:
    jobs = {role: manager().get(run_id) for role, run_id in run_ids.items()}
    if _lesson_polling(jobs) != polling:
        st.rerun(scope="app")
    training = None
    for role, job in jobs.items():
        name = "This lesson's run" if role == MAIN_ROLE else f"Run to compare: {role}"
        if job is None:
            st.caption(f"{name}: not started.")
            continue
        snapshot = job.snapshot()
        if snapshot.state == "training" and training is None:
            training = (job, snapshot)
        if snapshot.state == "queued":
            st.caption(f"{name}: queued, position {snapshot.queue_position}.")
        elif snapshot.state == "training":
            st.progress(
                min(1.0, snapshot.fraction_done), text=f"{name}: {_progress_text(snapshot)}"
            )
        elif snapshot.state == "done":
            summary = snapshot.summary or {}
            st.caption(
                f"{name}: done, {summary.get('steps', snapshot.step):,} steps in "
                f"{_duration(summary.get('seconds'))}."
            )
        else:
            st.warning(f"{name}: {sentence(snapshot.reason or snapshot.state)}")
    if training is not None and training[1].history:
        job, snapshot = training
        left, right = st.columns(2)
        left.plotly_chart(
            figures.loss_curves(snapshot.history, log_y=True),
            key=f"lesson-loss:{lesson_name}",
            width="stretch",
        )
        right.plotly_chart(
            figures.mean_activation_curves(snapshot.history, sparsity_target(job.config)),
            key=f"lesson-activation:{lesson_name}",
            width="stretch",
        )


def lesson_runs_live(
    lesson_name: str, configs: dict[str, RunConfig], jobs: dict[str, Job | None]
) -> None:
    """Progress of each of the lesson's runs (``jobs``, from ``lesson_jobs(configs)``) and the
    live charts of the one training: one fragment, polling only while a run is queued or
    training."""
    run_ids = {role: config.run_id for role, config in configs.items()}
    polling = _lesson_polling(jobs)
    st.fragment(run_every=polling)(_draw_lesson_runs)(lesson_name, run_ids, polling)


def _lesson_polling(jobs: dict[str, Job | None]) -> float | None:
    states = [job.snapshot().state for job in jobs.values() if job is not None]
    intervals = [_polling_interval(state) for state in states]
    active = [interval for interval in intervals if interval is not None]
    return min(active) if active else None
