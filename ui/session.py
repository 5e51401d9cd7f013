"""Session and server state shared by every page: widget values kept across pages, the one job
manager of this server process, the page header, and engine messages as sentences."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from ae_core.jobs import JobManager
from ae_core.registry import DEFAULT_VARIANT as DEFAULT_VARIANT  # where a new session starts

SELECTED_RUN = "selected_run"
VARIANT = "variant"
# Widget values kept for the whole session: Streamlit forgets a widget's value when a page that
# does not draw it runs, so every page's choices are copied here and restored when drawn again.
_KEPT = "kept_widget_values"


def kept(key: str, default: Any) -> str:
    """Give the widget ``key`` its current value (else its kept value, else ``default``) before
    it is drawn; pass the returned key to the widget, then ``keep(key)`` after it.

    The value is set through the Session State API even when the key holds it already: the
    same key drawn on another page is another widget to Streamlit, which starts it at its
    default unless its value was set this way."""
    values = st.session_state.setdefault(_KEPT, {})
    st.session_state[key] = (
        st.session_state[key] if key in st.session_state else values.get(key, default)
    )
    return key


def kept_value(key: str, default: Any) -> Any:
    """A widget's value now: in session state once drawn, else kept from another page, else
    ``default``."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(_KEPT, {}).get(key, default)


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
    from ui import links  # links reads the form's settings, which need this module first

    st.set_page_config(page_title=f"{title} · Autoencoder Lab", page_icon="🧠", layout="wide")
    links.open_link()
    st.title(title)
    if intro:
        st.caption(intro)
    links.refused_values()
