"""The Train page's sweep: train the current settings for several values of one setting, then
follow the runs side by side (one column per value) and look closer at any one of them.

The session keeps only what identifies the sweep (its setting, its values and its runs' ids), so
it survives reruns and page changes; the runs themselves are ordinary runs of the job manager,
stored and cached like any other.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from html import escape
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from ae_core import figures, registry
from ae_core.config import RunConfig, field_spec, field_type, make_config
from ae_core.controls import controls, in_labels, labels
from ae_core.data import dataset_info
from ae_core.errors import ConfigError, StoreError
from ae_core.jobs import Job, Snapshot
from ae_core.run_states import ACTIVE_STATES
from ae_core.sweeps import (
    MIN_SWEEP_VALUES,
    Sweep,
    default_sweep_range,
    number_sweep_fields,
    parse_value_list,
    spaced_values,
    suits_log_scale,
    sweep_configs,
)
from ui import presenting
from ui.presenting import chart
from ui.runs import duration_text, polling_interval, select_run, sparsity_target, summary_metrics
from ui.session import (
    DEFAULT_VARIANT,
    TRAINED_HERE,
    VARIANT,
    manager,
    persistent_key,
    persistent_value,
    sentence,
)
from ui.settings import current_config

# Session state: the sweep shown, as {"field", "values", "run_ids", "shown"} (plain data only).
SWEEP = "sweep"
SWEEP_ERROR = "sweep_error"
# The widgets' keys (those of a setting's own range end with ":<setting>").
FIELD_KEY = "sweep:field"
COUNT_KEY = "sweep:count"
SHOWN_KEY = "sweep:shown"
# One column per value: more than this would be too narrow to see a digit in.
MAX_VALUES = 8
SPACINGS = {"linear": "evenly spaced", "log": "log-spaced", "list": "typed as a list"}
# A run the manager does not know: cancelled before it started (never stored), or deleted.
GONE = "Not on the server: cancelled before it started, or deleted since."
DIGITS = 10  # test digits each run reconstructs: the same ones in every column
SAMPLES = 10  # digits a generative run decodes from random codes: the same draws in every column
# Each checkpoint a training column pictures is a model loaded from disk: at most this often.
PICTURE_SECONDS = 15.0
MAX_PICTURED = 1024  # training runs whose pictured checkpoint the server remembers
COLUMN_WIDTH = 300  # pixels across a column's picture (the browser fits it to the column)
CLOSE_WIDTH = 900


def sweep_key(name: str, field: str) -> str:
    return f"sweep:{name}:{field}"


def _label(field: str, value: Any) -> str:
    return f"{field} = {figures.sweep_value_label(value)}"


# -- choosing the values ---------------------------------------------------------------------------
def _initial_range(config: RunConfig, field: str, log: bool) -> tuple[Any, Any]:
    low, high = default_sweep_range(config, field, count=3, log=log)
    if field_type(field) is int:
        return int(low), int(high)
    return low, high


def _planned(config: RunConfig) -> tuple[str, list[Any]]:
    """The setting and the values the sweep widgets hold now, checked against ``config``;
    raises ConfigError with the engine's sentence for a value the config's rules refuse."""
    state = st.session_state
    field = state[FIELD_KEY]
    spacing = state.get(sweep_key("spacing", field), "linear")
    if spacing == "list":
        values = parse_value_list(field, state.get(sweep_key("list", field), ""))
    else:
        low, high = float(state[sweep_key("low", field)]), float(state[sweep_key("high", field)])
        values = spaced_values(field, low, high, int(state[COUNT_KEY]), log=spacing == "log")
    kept_values, _ = sweep_configs(config, field, values)
    if len(kept_values) > MAX_VALUES:
        raise ConfigError(
            field,
            f"a sweep on this page takes {MIN_SWEEP_VALUES} to {MAX_VALUES} values of {field} "
            f"(one column each), not {len(kept_values)}",
        )
    return field, list(kept_values)


def _values_form(config: RunConfig) -> str | None:
    """The setting to sweep and its values, as widgets kept for the session; returns the
    setting (None when the variant has no number setting)."""
    fields = number_sweep_fields(config.variant)
    if not fields:
        st.caption(f"The {config.variant} variant has no number setting to sweep.")
        return None
    # A setting of another variant gives way to this one's first.
    field_key = persistent_key(FIELD_KEY, fields[0], valid=lambda field: field in fields)
    field_column, spacing_column, values_column = st.columns([2, 2, 3])
    field = field_column.selectbox(
        "Setting to sweep",
        fields,
        key=field_key,
        format_func=lambda name: f"{field_spec(name).metadata['label']} ({name})",
        help="Any number setting of this variant; every other setting stays as above.",
    )
    log = suits_log_scale(field)
    spacing_key = persistent_key(sweep_key("spacing", field), "log" if log else "linear")
    spacing = spacing_column.radio(
        "Its values",
        list(SPACINGS),
        format_func=SPACINGS.get,
        key=spacing_key,
        horizontal=True,
        help="Evenly spaced from a low to a high value (log-spaced: evenly in ratio, such as "
        "0.0001, 0.001, 0.01), or any values you type.",
    )
    if spacing == "list":
        list_key = persistent_key(sweep_key("list", field), "")
        values_column.text_input(
            f"Values of {field}",
            key=list_key,
            placeholder="e.g. 16, 32, 64" if field_type(field) is int else "e.g. 0.05, 0.1, 0.2",
            help=f"{MIN_SWEEP_VALUES} to {MAX_VALUES} values, separated by commas.",
        )
        return field
    low_default, high_default = _initial_range(config, field, spacing == "log")
    low_column, high_column, count_column = values_column.columns(3)
    if field_type(field) is int:
        number = {"format": "%d", "step": 1}
    else:  # the field's own step where it has one (an amount), else Streamlit's
        number = {"format": "%g", "step": field_spec(field).metadata.get("step")}
    for column, name, default in (
        (low_column, "low", low_default),
        (high_column, "high", high_default),
    ):
        key = persistent_key(sweep_key(name, field), default)
        column.number_input(name.title(), key=key, **number)
    count_key = persistent_key(COUNT_KEY, 3)
    count_column.slider("How many", MIN_SWEEP_VALUES, MAX_VALUES, key=count_key)
    return field


def _inactive_reason(config: RunConfig, field: str) -> str | None:
    """Why sweeping ``field`` cannot change the result with the other settings of ``config``
    (the sparsity target while beta is 0), or None."""
    for control in controls(config.variant):
        if control.name == field:
            return control.inactive_reason(config.to_dict(), labels(config.variant))
    return None


def _said(error: Exception, variant: str) -> str:
    """An engine message as the settings form says it: one sentence, settings by their labels."""
    return sentence(in_labels(str(error), variant))


def _current() -> tuple[RunConfig | None, str | None, str]:
    """The config the settings widgets hold now (or None and why), and the variant chosen."""
    variant = persistent_value(VARIANT, DEFAULT_VARIANT)
    config, problem = current_config(variant)
    return config, problem, variant


def start_sweep() -> None:
    """Train the sweep the widgets hold now (the button's callback): the settings widgets'
    config as the base, one run per value."""
    config, problem, variant = _current()
    if config is None:
        st.session_state[SWEEP_ERROR] = problem
        return
    try:
        field, values = _planned(config)
        reason = _inactive_reason(config, field)
        if reason is not None:
            st.session_state[SWEEP_ERROR] = reason
            return
        sweep = manager().submit_sweep(config, field, values)
    except (ConfigError, StoreError) as error:
        st.session_state[SWEEP_ERROR] = _said(error, variant)
        return
    st.session_state.pop(SWEEP_ERROR, None)
    base = getattr(config, field)
    shown = sweep.values.index(base) if base in sweep.values else 0
    st.session_state[SWEEP] = {
        "field": field,
        "values": list(sweep.values),
        "run_ids": list(sweep.run_ids),
        "shown": shown,
    }
    st.session_state[SHOWN_KEY] = shown
    select_run(sweep.run_ids[shown])
    trained_here = st.session_state.setdefault(TRAINED_HERE, set())
    trained_here.update(job.run_id for job in sweep.jobs if not job.is_final_result)


def _sweep_jobs(record: dict) -> tuple[list[Job | None], Sweep | None]:
    """The sweep's jobs in value order (None for a run no longer on the server), and the ones
    still there as a Sweep."""
    jobs = [manager().get(run_id) for run_id in record["run_ids"]]
    present = [(value, job) for value, job in zip(record["values"], jobs, strict=True) if job]
    if not present:
        return jobs, None
    values, found = zip(*present, strict=True)
    return jobs, Sweep(record["field"], values, found, workers=manager().worker_count)


def stop_sweep() -> None:
    """Cancel the sweep's queued runs and stop its training ones (the Stop button's callback)."""
    record = st.session_state.get(SWEEP)
    if record:
        _, sweep = _sweep_jobs(record)
        if sweep is not None:
            sweep.stop()


def clear_sweep() -> None:
    st.session_state.pop(SWEEP, None)
    st.session_state.pop(SHOWN_KEY, None)


def _show_member() -> None:
    """The close-up slider moved: show that run and make it the view pages' chosen run."""
    record = st.session_state.get(SWEEP)
    if record:
        record["shown"] = st.session_state[SHOWN_KEY]
        select_run(record["run_ids"][record["shown"]])


# -- the runs, live --------------------------------------------------------------------------------
def _model_version(snapshot: Snapshot) -> tuple | None:
    """What identifies the model a run's pictures show (its latest checkpoint while it trains,
    else its final model), or None when it has none yet."""
    if snapshot.state == "training":
        step = snapshot.checkpoint_step
        return None if step is None else ("checkpoint", step)
    summary = snapshot.summary or {}
    if snapshot.state == "queued" or not summary.get("model"):
        return None
    return ("final", float(summary.get("finished_at", 0.0)))


# Bounded, and shared by every session: enough for every column of a dozen sweeps polled at once.
@st.cache_data(max_entries=128, show_spinner=False)
def _member_view(run_id: str, version: tuple, count: int, samples: int) -> dict:
    """``views.sweep_member`` of a run's model at ``version``: computed once per run and model
    version, so a poll that finds no new checkpoint computes nothing."""
    from ae_core import views
    from ae_core.data import load_dataset

    if version[0] == "checkpoint":
        model = manager().checkpoint_model(run_id)
    else:
        model = manager().model(run_id)
    dataset = load_dataset(model.run_config.dataset)
    return views.sweep_member(model, dataset, count=count, samples=samples)


@st.cache_data(max_entries=256, show_spinner=False)
def _picture(
    run_id: str, version: tuple, samples: int, part: str, colour: str, columns: int, width: int
) -> bytes | None:
    """One of a run's pictures at ``version`` as PNG bytes: its ``reconstructions``, the test
    digits over them (``pair``) or its generated digits (``samples``; None when it has none),
    framed in ``colour``. Cached, so a poll that finds no new checkpoint redraws nothing (and
    the browser, given the same PNG, fetches nothing)."""
    shown = _member_view(run_id, version, DIGITS, samples)
    if part == "pair":
        images = np.concatenate([shown["inputs"], shown["reconstructions"]])
    else:
        images = shown[part]
    if images is None:
        return None
    picture = figures.image_tiles(images, columns, colour, min_width=width)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


@st.cache_resource
def _pictured() -> tuple[threading.Lock, OrderedDict]:
    """Server-wide, for every session: the checkpoint each training run's pictures show, and
    since when (``time.monotonic()``)."""
    return threading.Lock(), OrderedDict()


def _version_to_draw(run_id: str, latest: tuple, follow: bool) -> tuple:
    """The model version to draw a run's pictures from: its final model, or while it trains
    its latest checkpoint when ``follow`` (the run shown closer) or when the checkpoint its
    pictures show is ``PICTURE_SECONDS`` old, else that one (cached: nothing is loaded)."""
    lock, shown = _pictured()
    now = time.monotonic()
    with lock:
        if latest[0] != "checkpoint":
            shown.pop(run_id, None)
            return latest
        previous = shown.get(run_id)
        if previous is not None and previous[0] != latest:
            if not follow and now - previous[1] < PICTURE_SECONDS:
                return previous[0]
        if previous is None or previous[0] != latest:
            shown[run_id] = (latest, now)
            shown.move_to_end(run_id)
            while len(shown) > MAX_PICTURED:
                shown.popitem(last=False)
        return latest


def _model_of(job: Job, snapshot: Snapshot, follow: bool) -> tuple[tuple, int] | None:
    """The version of the run's model to draw (see ``_version_to_draw``) and how many digits it
    generates, or None (said in a caption) while it has no model yet."""
    latest = _model_version(snapshot)
    if latest is None:
        if snapshot.state in ACTIVE_STATES:
            st.caption("Its digits appear once it has trained a few seconds.")
        return None
    version = _version_to_draw(job.run_id, latest, follow)
    return version, SAMPLES if registry.get(job.config.variant).generates else 0


def _draw_pictures(
    job: Job,
    model: tuple[tuple, int],
    parts: tuple[str, ...],
    colour: str,
    columns: int,
    width: int,
) -> bool:
    """Draw the run's pictures ``parts``; False when its model could not be read just now."""
    version, samples = model
    try:
        pictures = [
            _picture(job.run_id, version, samples, part, colour, columns, width) for part in parts
        ]
    except StoreError:  # a checkpoint replaced or removed just now: the next poll reads it
        st.caption("Its model is being saved; its digits appear in a moment.")
        return False
    for picture in pictures:
        if picture is not None:
            st.image(picture, output_format="PNG", width="stretch")
    return True


def _header(field: str, value: Any, colour: str) -> None:
    st.html(
        f'<div style="border-top: 6px solid {colour}; padding-top: 0.25rem; '
        f'font-weight: 600">{escape(_label(field, value))}</div>'
    )


def _state_line(snapshot: Snapshot) -> None:
    state, summary = snapshot.state, snapshot.summary or {}
    if state == "queued":
        st.markdown(f"Queued (position {snapshot.queue_position})")
    elif state == "training":
        st.progress(
            min(1.0, snapshot.fraction_done),
            text=f"Step {snapshot.step:,} of {snapshot.total_steps:,}",
        )
    elif state == "done":
        st.markdown(f"Done · test MSE {summary['test_mse']:.5f}")
    elif state == "failed":
        st.markdown(f"Failed: {sentence(snapshot.reason or 'the run failed')}")
    else:  # stopped, cancelled or interrupted
        line = f"{state.title()} at step {snapshot.step:,}"
        if summary.get("test_mse") is not None:
            line += f" · test MSE {summary['test_mse']:.5f}"
        st.markdown(line)


def _column(field: str, value: Any, index: int, job: Job | None, images: bool, shown: bool) -> None:
    colour = figures.sweep_colour(index)
    _header(field, value, colour)
    if job is None:
        st.markdown(GONE)
        return
    snapshot = job.snapshot()
    _state_line(snapshot)
    model = _model_of(job, snapshot, follow=shown) if images else None
    if model is not None:
        parts = ("reconstructions", "samples")
        _draw_pictures(job, model, parts, colour, DIGITS // 2, COLUMN_WIDTH)


def _summary_line(record: dict, sweep: Sweep | None) -> str:
    field, count = record["field"], len(record["values"])
    if sweep is None:
        return f"A sweep of {field} over {count} values; none of its runs is on the server."
    snap = sweep.snapshot()
    parts = [f"{snap.done} done"]
    for number, word in (
        (snap.training, "training"),
        (snap.queued, "queued"),
        (snap.failed, "failed"),
        (snap.ended, "stopped"),
        (count - snap.total, "not on the server"),
    ):
        if number:
            parts.append(f"{number} {word}")
    text = f"{sweep.configs[0].variant}, {count} runs: " + ", ".join(parts)
    if not snap.finished and snap.seconds_left is not None:
        text += f" · about {duration_text(snap.seconds_left)} left"
    return text + "."


def _close_up(record: dict, jobs: list[Job | None], images: bool) -> None:
    """The large view of the run the slider picks (already trained or training: no training
    is started, and its pictures are the columns' cached ones)."""
    field, values = record["field"], record["values"]
    if SHOWN_KEY not in st.session_state:  # a widget's state is dropped on other pages
        st.session_state[SHOWN_KEY] = record["shown"]
    st.select_slider(
        f"Look closer at the run with {field} =",
        options=list(range(len(values))),
        format_func=lambda index: figures.sweep_value_label(values[index]),
        key=SHOWN_KEY,
        on_change=_show_member,
        help="Shows that run here and makes it the run the view pages (Reconstructions, "
        "Activations, ...) show.",
    )
    index = st.session_state[SHOWN_KEY]
    job = jobs[index]
    if job is None:
        st.info(GONE)
        return
    colour = figures.sweep_colour(index)
    snapshot = job.snapshot()
    run = "This run" if presenting.on() else f"Run `{job.run_id}`"
    st.caption(f"{run} ({_label(field, values[index])}), the chosen run of the view pages.")
    if snapshot.summary and snapshot.summary.get("test_mse") is not None:
        summary_metrics(snapshot.summary)
    left, right = st.columns(2)
    if snapshot.history:
        chart(
            figures.loss_curves(snapshot.history, title=f"Loss, {_label(field, values[index])}"),
            where=left,
            key="sweep-close-loss",
            width="stretch",
        )
    with right:
        model = _model_of(job, snapshot, follow=True) if images else None
        if model is None or not _draw_pictures(
            job, model, ("pair", "samples"), colour, DIGITS, CLOSE_WIDTH
        ):
            return
        try:
            shown = _member_view(job.run_id, model[0], DIGITS, model[1])
        except StoreError:
            return
        text = (
            f"Test digits {' '.join(map(str, shown['labels']))} (top) and this run's "
            f"reconstructions of them (below): MSE {shown['mse']:.5f}."
        )
        if shown["samples"] is not None:
            text += (
                " Then digits decoded from codes drawn from N(0, I): the same draws in every run."
            )
        st.caption(text)


def _draw_sweep(polling: float | None) -> None:
    record = st.session_state.get(SWEEP)
    if not record:
        return
    jobs, sweep = _sweep_jobs(record)
    _draw_sweep_runs(record, jobs, sweep)
    if sweep_polling(jobs) != polling:
        # A run started or finished: poll at the new pace (or stop), and redraw the whole page
        # (after this poll's drawing, so what changed shows without waiting for it).
        st.rerun(scope="app")


def _draw_sweep_runs(record: dict, jobs: list[Job | None], sweep: Sweep | None) -> None:
    field, values = record["field"], record["values"]
    st.subheader(f"Sweep of {field_spec(field).metadata['label'].lower()} ({field})")
    summary_column, button_column = st.columns([5, 1])
    summary_column.caption(_summary_line(record, sweep))
    if sweep is not None and not sweep.snapshot().finished:
        training = sweep.snapshot().training > 0
        button_column.button(
            "Stop the sweep" if training else "Cancel the sweep",
            key="sweep-stop",
            on_click=stop_sweep,
            help="Cancels the runs still queued and stops the training ones after their "
            "current chunk (each keeps what it has learned). A run someone else started with "
            "the same settings is the same run, so it stops for them too.",
        )
    else:
        button_column.button("Clear", key="sweep-clear", on_click=clear_sweep)

    histories = [job.snapshot().history if job else () for job in jobs]
    targets = [sparsity_target(job.config) if job else None for job in jobs]
    if any(histories):
        left, right = st.columns(2)
        chart(
            figures.sweep_loss_curves(field, values, histories),
            where=left,
            key="sweep-loss",
            width="stretch",
        )
        chart(
            figures.sweep_code_activation(field, values, histories, targets),
            where=right,
            key="sweep-activation",
            width="stretch",
        )
    present = next((job for job in jobs if job is not None), None)
    images = present is not None and dataset_info(present.config.dataset).image_shape is not None
    if images:
        made = (
            f" and {SAMPLES} digits decoded from the same random codes" if _generates(jobs) else ""
        )
        st.caption(
            f"Each run's reconstructions of the same {DIGITS} test digits{made}, from its "
            "latest saved model."
        )
    shown = st.session_state.get(SHOWN_KEY, record["shown"])
    for index, column in enumerate(st.columns(len(values))):
        with column:
            _column(field, values[index], index, jobs[index], images, index == shown)
    _close_up(record, jobs, images)


def _generates(jobs: list[Job | None]) -> bool:
    return any(job is not None and registry.get(job.config.variant).generates for job in jobs)


def sweep_polling(jobs: list[Job | None]) -> float | None:
    """Poll at the pace of the most active run (``polling_interval``); not at all once every
    run has finished."""
    intervals = [polling_interval(job.snapshot()) for job in jobs if job is not None]
    active = [interval for interval in intervals if interval is not None]
    return min(active) if active else None


# -- the panel -------------------------------------------------------------------------------------
def sweep_panel() -> None:
    """The Train page's sweep: the setting and values to sweep, the button that trains them,
    and the sweep of this session, live (one fragment, polling only while one of its runs is
    queued or training)."""
    st.divider()
    st.subheader("Sweep one setting")
    st.caption(
        f"Train the settings above for {MIN_SWEEP_VALUES} to {MAX_VALUES} values of one of "
        "them, one run per value in the background, and compare the runs side by side. A value "
        "that has been trained already is not trained again."
    )
    config, problem, variant = _current()
    form_config = config if config is not None else make_config(variant)
    field = _values_form(form_config)
    if field is None:
        return
    plan_problem = None
    if config is not None:
        plan_problem = _inactive_reason(config, field)
        if plan_problem is not None:
            st.caption(f"{plan_problem} Sweeping it would train the same run again and again.")
        else:
            try:
                field, values = _planned(config)
                st.caption(
                    f"{len(values)} runs: {field} = "
                    + ", ".join(figures.sweep_value_label(value) for value in values)
                )
            except ConfigError as error:
                plan_problem = _said(error, variant)
                st.error(plan_problem)
    else:
        st.caption("Fix the settings above to sweep one of them.")
    pressed = st.button(
        "Train the sweep",
        disabled=config is None or plan_problem is not None,
        help=problem or plan_problem or "One run per value, trained in the background.",
        on_click=start_sweep,
    )
    if pressed and st.session_state.get(SWEEP_ERROR):
        st.error(st.session_state[SWEEP_ERROR])

    record = st.session_state.get(SWEEP)
    if record:
        jobs = [manager().get(run_id) for run_id in record["run_ids"]]
        polling = sweep_polling(jobs)
        st.fragment(run_every=polling)(_draw_sweep)(polling)
