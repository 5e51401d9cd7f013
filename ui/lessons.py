"""The Lessons page's runs: start them together and follow them live."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ae_core import lessons
from ae_core.config import RunConfig
from ae_core.jobs import Job
from ae_core.lessons import MAIN as MAIN_ROLE
from ui.runs import (
    duration_text,
    polling_interval,
    progress_text,
    run_charts,
    select_run,
    submit,
)
from ui.session import LAST_STARTED, manager, sentence


def lesson_jobs(configs: dict[str, RunConfig]) -> dict[str, Job | None]:
    """A lesson's runs on this server, by role (None for those not started)."""
    return {role: manager().get(config.run_id) for role, config in configs.items()}


def start_lesson(key: str) -> None:
    """Submit every run of the lesson chosen in the widget ``key`` when the click is handled (a
    button's callback: not the lesson shown when the button was drawn); its own run becomes
    the chosen one."""
    configs = lessons.get(st.session_state[key]).configs()
    for config in configs.values():  # the lesson's own run first, so it is queued first
        if submit(config) is None:
            return
    main = configs[MAIN_ROLE].run_id
    select_run(main)
    st.session_state[LAST_STARTED] = main


def _draw_lesson_runs(
    run_ids: dict[str, str],
    polling: float | None,
    show_results: Callable[[dict[str, Job | None]], None],
) -> None:
    jobs = {role: manager().get(run_id) for role, run_id in run_ids.items()}
    _draw_lesson_jobs(jobs, show_results)
    if _lesson_polling(jobs) != polling:  # after drawing, so what changed shows at once
        st.rerun(scope="app")


def _draw_lesson_jobs(
    jobs: dict[str, Job | None],
    show_results: Callable[[dict[str, Job | None]], None],
) -> None:
    for role, job in jobs.items():
        name = "This lesson's run" if role == MAIN_ROLE else f"Run to compare: {role}"
        if job is None:
            st.caption(f"{name}: not started.")
            continue
        snapshot = job.snapshot()
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
    main = jobs[MAIN_ROLE]
    if main is not None:  # live while it trains, from its stored history once it has finished
        run_charts(main, main.snapshot())
    show_results(jobs)


def lesson_runs_live(
    configs: dict[str, RunConfig],
    jobs: dict[str, Job | None],
    show_results: Callable[[dict[str, Job | None]], None],
) -> None:
    """Progress of each of the lesson's runs (``jobs``, from ``lesson_jobs(configs)``), the
    lesson's own run's charts, then ``show_results(jobs)`` (the page's results and pictures),
    all in one fragment that polls only while a run is queued or training, so the results and
    pictures follow the runs as they train and finish."""
    run_ids = {role: config.run_id for role, config in configs.items()}
    polling = _lesson_polling(jobs)
    st.fragment(run_every=polling)(_draw_lesson_runs)(run_ids, polling, show_results)


def _lesson_polling(jobs: dict[str, Job | None]) -> float | None:
    intervals = [polling_interval(job.snapshot()) for job in jobs.values() if job is not None]
    active = [interval for interval in intervals if interval is not None]
    return min(active) if active else None
