"""The Lessons page's runs: start them together and follow them live."""

from __future__ import annotations

import streamlit as st

from ae_core import figures
from ae_core.config import RunConfig
from ae_core.jobs import Job
from ae_core.lessons import MAIN as MAIN_ROLE
from ui.runs import (
    duration_text,
    polling_interval,
    progress_text,
    select_run,
    sparsity_target,
    submit,
)
from ui.session import manager, sentence


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
            st.progress(min(1.0, snapshot.fraction_done), text=f"{name}: {progress_text(snapshot)}")
        elif snapshot.state == "done":
            summary = snapshot.summary or {}
            st.caption(
                f"{name}: done, {summary.get('steps', snapshot.step):,} steps in "
                f"{duration_text(summary.get('seconds'))}."
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
    intervals = [polling_interval(state) for state in states]
    active = [interval for interval in intervals if interval is not None]
    return min(active) if active else None
