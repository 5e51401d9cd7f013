"""The URL is the state: a page's settings, its chosen run and its view settings go into the
address (``st.query_params``) and come back from it, so reloading the browser brings the same
screen back and a link gives a student exactly the teacher's run.

A link is read once, when a session opens (a new tab, a reload). Each value in it is checked by
the same rules as the widget it fills: a value that is refused is dropped, the page opens with
the default in its place and says, in one sentence, which value was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from ae_core import registry
from ae_core.config import make_config, parse_setting
from ae_core.controls import controls
from ae_core.errors import ConfigError
from ui import presenting
from ui.session import (
    SELECTED_RUN,
    VARIANT,
    manager,
    persistent_key,
    persistent_value,
    set_persistent_value,
)
from ui.settings import current_config, setting_key

RUN = "run"
_OPENED = "link_opened"
_PENDING = "link_pending_view_values"  # a link's view settings, until their page draws them
_REFUSED = "link_refused"
_VIEW_VALUES = "link_view_values"  # each view page's sliders as last drawn, for the address
_VIEW_PAGE = "link_view_page"


def open_link() -> None:
    """Read the address of a session's first page: the variant, its settings, the chosen run
    and the page's view settings. Values a rule refuses are dropped, one sentence each."""
    if st.session_state.get(_OPENED):
        return
    st.session_state[_OPENED] = True
    params = st.query_params.to_dict()
    refused: list[str] = []
    variant = params.pop("variant", None)
    if variant is not None:
        if variant in registry.available():
            set_persistent_value(VARIANT, variant)
            refused += _restore_settings(variant, params)
        else:
            refused.append(
                f"variant={variant!r} is not a variant here (allowed: "
                f"{', '.join(registry.available())})"
            )
    present = params.pop(presenting.LINK_PARAM, None)
    problem = presenting.from_link(present) if present is not None else None
    if problem:
        refused.append(problem)
    run_id = params.pop(RUN, None)
    if run_id is not None:
        if manager().get(run_id) is not None:
            st.session_state[SELECTED_RUN] = run_id
        else:
            refused.append(f"run={run_id!r} is not a run on this server")
    names = (
        {control.name for control in controls(variant)}
        if variant in registry.available()
        else set()
    )
    st.session_state[_PENDING] = {k: v for k, v in params.items() if k not in names}
    st.session_state[_REFUSED] = refused


def _restore_settings(variant: str, params: dict[str, str]) -> list[str]:
    """Put the link's settings of ``variant`` into the form; the refused ones stay default."""
    described = {control.name: control for control in controls(variant)}
    values, refused = {}, []
    for name, text in params.items():
        control = described.get(name)
        if control is None:
            continue
        try:
            values[name] = text if control.kind in ("layers", "text") else parse_setting(name, text)
            if control.kind == "choice" and values[name] not in control.choices:
                raise ConfigError(
                    name, f"{name}={text!r} is not one of: {', '.join(control.choices)}"
                )
        except ConfigError as error:
            values.pop(name, None)
            refused.append(str(error))
    while values:  # the rules between settings: drop the value a rule refuses, try again
        try:
            make_config(variant, **values)
            break
        except ConfigError as error:
            refused.append(str(error))
            values.pop(error.field if error.field in values else next(iter(values)))
    for name, value in values.items():
        if described[name].kind == "float":
            value = float(value)
        set_persistent_value(setting_key(variant, name), value)
    return refused


def refused_values() -> None:
    """Say which of the link's values were refused (once, on the page it opened)."""
    refused = st.session_state.pop(_REFUSED, None)
    if refused:
        st.warning(
            "Refused from this link: "
            + "; ".join(reason.rstrip(".") for reason in refused)
            + ". The page opened with the defaults in their place."
        )


def linked_view_value(name: str, default: Any, check: Callable[[Any], Any]) -> Any:
    """A page's view setting (a widget's starting value): the link's, when the session opened
    with one and ``check`` accepts it (it returns the value as the widget needs it, or raises
    ValueError with the rule), else ``default``."""
    pending = st.session_state.get(_PENDING, {})
    if name not in pending:
        return default
    text = pending.pop(name)
    try:
        return check(text)
    except (ValueError, TypeError) as error:
        st.warning(f"Refused from this link: {name}={text!r} ({error}). It shows {default}.")
        return default


def linked_widget_key(
    key: str,
    name: str,
    default: Any,
    check: Callable[[Any], Any],
    valid: Callable[[Any], bool] | None = None,
) -> str:
    """``persistent_key(key, ...)`` for a page's widget whose value is in the address as
    ``name``. Its value: the link's, when the session opened with one that ``check`` accepts (a
    link wins over a value kept from before); else the value the widget had when last drawn
    that ``valid`` accepts; else ``default``."""
    if name in st.session_state.get(_PENDING, {}):
        set_persistent_value(key, linked_view_value(name, default, check))
    return persistent_key(key, default, valid)


def view_slider(
    name: str,
    label: str,
    minimum: float,
    maximum: float,
    default: float,
    step: float,
    **widget: Any,
) -> float:
    """A view page's own slider (how many digits, a noise level to try, ...) whose value is in
    the address as ``name``: a link's value when the session opened with one in range, else the
    value it had when last drawn (on this page or after another), else ``default``. It may be
    drawn in the page's fragment."""
    number = type(default)

    def in_range(value: Any) -> bool:
        return minimum <= value <= maximum

    def linked(text: str) -> float:
        value = number(float(text))
        if not in_range(value):
            raise ValueError(f"allowed values are in [{minimum:g}, {maximum:g}]")
        return value

    # A value out of range was another run's (a noise level's range follows the run): start again.
    key = linked_widget_key(f"view:{name}", name, default, linked, valid=in_range)
    value = st.slider(label, minimum, maximum, step=step, key=key, **widget)
    show_view_value(name, value)
    return value


def view_select_slider(name: str, label: str, options: list, default: Any, **widget: Any) -> Any:
    """A view page's own select slider over ``options`` whose value is in the address as
    ``name`` (left out at ``default``): a link's value when the session opened with one of
    ``options``, else the value it had when last drawn if still one of them, else ``default``."""
    number = type(default)

    def linked(text: str) -> Any:
        value = number(text)
        if value not in options:
            raise ValueError(f"allowed values are {', '.join(map(str, options))}")
        return value

    key = linked_widget_key(f"view:{name}", name, default, linked, valid=options.__contains__)
    value = st.select_slider(label, options, key=key, **widget)
    show_view_value(name, None if value == default else value)
    return value


def show_view_value(name: str, value: Any) -> None:
    """Put a view setting of the page (a slider's value, a clicked point) into the address as
    ``name``, and keep it there while the page is drawn again; None takes it out."""
    shown = st.session_state.setdefault(_VIEW_VALUES, {}).setdefault(
        st.session_state.get(_VIEW_PAGE, ""), {}
    )
    if value is None:
        shown.pop(name, None)
    else:
        shown[name] = value
    write_link(shown, settings=False)


def view_values(page: str) -> dict[str, Any]:
    """The view sliders' values last drawn on ``page``, which becomes the page whose view
    sliders are drawn next (a view page calls it before its views)."""
    st.session_state[_VIEW_PAGE] = page
    return dict(st.session_state.get(_VIEW_VALUES, {}).get(page, {}))


def write_link(view: dict[str, Any] | None, settings: bool) -> str:
    """Put the page's state into the address: the chosen run, ``view`` (the page's own view
    settings) and, with ``settings``, the variant and every setting that differs from its
    default, and presenting mode when it is on. Returns the query string of the screen, without
    presenting mode: the link a teacher hands out opens in the normal mode."""
    params: dict[str, str] = {}
    if settings:
        params.update(settings_params())
    run_id = st.session_state.get(SELECTED_RUN)
    if run_id:
        params[RUN] = str(run_id)
    for name, value in (view or {}).items():
        params[name] = _text(value)
    address = {**params, **presenting.link_params()}
    if st.query_params.to_dict() != address:
        st.query_params.from_dict(address)
    return urlencode(params)


def settings_params() -> dict[str, str]:
    """The variant and the settings the form holds that differ from the variant's defaults."""
    from ui.session import DEFAULT_VARIANT

    variant = persistent_value(VARIANT, DEFAULT_VARIANT)
    defaults = make_config(variant)
    params = {"variant": variant}
    config, _ = current_config(variant)
    for control in controls(variant):
        shown = persistent_value(setting_key(variant, control.name), None)
        if shown is None:
            continue
        value = getattr(config, control.name) if config is not None else shown
        if _text(value) != _text(getattr(defaults, control.name)):
            params[control.name] = _text(value)
    return params


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return ",".join(str(item) for item in value)
    return str(value)


def share_link(view: dict[str, Any] | None = None, settings: bool = False) -> None:
    """Write the page's state into the address (``write_link``) and show it in the sidebar's
    "Link to this screen", with a copy button. Call it last, once the page's widgets are drawn."""
    query = write_link(view, settings)
    base = (st.context.url or "").split("?", 1)[0]
    with st.sidebar.expander("Link to this screen"):
        st.code(f"{base}?{query}" if query else base, language=None, wrap_lines=True)
        st.caption(
            "Opens these settings and this run, for anyone on this server"
            + (", in the normal mode." if presenting.on() else ".")
        )
