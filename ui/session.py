"""Session and server state shared by every page: the session-state keys, widget values kept
across pages, the one job manager of this server process, the page header, and engine messages
as sentences."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import streamlit as st

from ae_core.errors import ConfigError
from ae_core.jobs import JobManager
from ae_core.registry import DEFAULT_VARIANT as DEFAULT_VARIANT  # where a new session starts

# The session-state keys the app's modules share (each module's own keys are beside its code).
SELECTED_RUN = "selected_run"  # the run the view pages show
VARIANT = "variant"  # the Train page's variant widget
SUBMIT_ERROR = "submit_error"  # why the last Train (or Run) press started nothing
LAST_STARTED = "last_started"  # the run this session started last
TRAINED_HERE = "trained_here"  # the runs this session trained (not stored results)
# The values of the widgets drawn with a persistent key, for the whole session: Streamlit forgets a
# widget's value when a page that does not draw it runs, so they are copied here and restored when
# the widget is drawn again.
_PERSISTENT_VALUES = "persistent_widget_values"


def persistent_key(key: str, default: Any, valid: Callable[[Any], bool] | None = None) -> str:
    """``key``, for a widget whose value survives other pages: before the widget is drawn, its
    value becomes the one it has now, else the one it had when last drawn on any page, else
    ``default`` (``default`` too when ``valid`` refuses it), and is kept for the session. Pass
    the returned key to the widget, and no value or index of its own.

    The value is set through the Session State API even when the key holds it already: the
    same key drawn on another page is another widget to Streamlit, which starts it at its
    default unless its value was set this way."""
    values = st.session_state.setdefault(_PERSISTENT_VALUES, {})
    value = st.session_state[key] if key in st.session_state else values.get(key, default)
    if valid is not None and not valid(value):
        value = default
    st.session_state[key] = values[key] = value
    return key


def persistent_value(key: str, default: Any) -> Any:
    """The value of the widget ``key`` (drawn with ``persistent_key``) now: in session state
    once drawn, else kept from another page, else ``default``."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(_PERSISTENT_VALUES, {}).get(key, default)


def set_persistent_value(key: str, value: Any) -> None:
    """Set the value of the widget ``key`` (drawn with ``persistent_key``) from a callback or a
    page that does not draw it."""
    st.session_state.setdefault(_PERSISTENT_VALUES, {})[key] = value
    st.session_state[key] = value


def sentence(message: str) -> str:
    """An engine message as a sentence: capital first letter, full stop."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def keep_keras_state() -> None:
    """Stop Streamlit clearing Keras's session after every script run (every page calls it
    first, through ``page_header``; setting it again changes nothing).

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


# -- the job manager: one per server process, shared by every session -----------------------------
@st.cache_resource(show_spinner="Starting the training workers…")
def _job_manager(
    runs_dir: str,
    workers: int | None,
    runs_per_worker: int | None,
    backend: str,
    ray_address: str,
) -> JobManager:
    turns = {} if runs_per_worker is None else {"runs_per_worker": runs_per_worker}
    return JobManager(
        runs_dir or None,
        workers=workers,
        backend=backend or None,
        ray_address=ray_address or None,
        **turns,
    )


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
    taking turns on up to ``$AE_RUNS_PER_WORKER`` runs, on ``$AE_BACKEND`` at
    ``$AE_RAY_ADDRESS``). A setting it refuses stops the page with its sentence; nothing is
    cached then, so the next page load tries again (a Ray cluster started meanwhile is found)."""
    try:
        return _job_manager(
            os.environ.get("AE_RUNS_DIR", ""),
            _whole_number_setting("AE_WORKERS"),
            _whole_number_setting("AE_RUNS_PER_WORKER"),
            os.environ.get("AE_BACKEND", "").strip(),
            os.environ.get("AE_RAY_ADDRESS", "").strip(),
        )
    except ConfigError as error:
        st.error(f"The server cannot train: {error}.")
        st.stop()


def page_header(title: str, intro: str | None = None) -> None:
    """Start a page: Streamlit's page settings, the session's link, the title and intro. Every
    page calls it first."""
    from ui import links, presenting  # they read this module's keys, so it comes first

    keep_keras_state()
    st.set_page_config(page_title=f"{title} · Autoencoder Lab", page_icon="🧠", layout="wide")
    links.open_link()
    presenting.switch()
    st.title(title)
    if intro:
        st.caption(intro)
    links.refused_values()
