"""The settings form: one widget per configuration field the variant uses, drawn from the
config's metadata (``ae_core.controls``)."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from ae_core.config import ConfigError, RunConfig, make_config
from ae_core.controls import Control, controls
from ui.session import VARIANT, keep, kept, sentence, set_kept

GROUPS = {
    "data": "Data",
    "model": "Model",
    "training": "Training",
    "regularisation": "Regularisation and noise",
}


def setting_key(variant: str, name: str) -> str:
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
        set_kept(setting_key(config.variant, control.name), value)


def reset_settings(variant: str) -> None:
    """Back to the variant's defaults (a button's callback)."""
    for control in controls(variant):
        set_kept(setting_key(variant, control.name), _initial(control))


def current_config(variant: str | None = None) -> tuple[RunConfig | None, str | None]:
    """The config the settings widgets hold now (the variant's, or the chosen variant's), or
    None and the reason. Read from session state, which Streamlit updates with every widget's
    value before it calls a callback: a button's callback must use this, not a config built in
    the script run that drew the button, which may predate a slider's last move."""
    variant = variant or st.session_state.get(VARIANT)
    values = {}
    for control in controls(variant):
        key = setting_key(variant, control.name)
        values[control.name] = (
            st.session_state[key] if key in st.session_state else _initial(control)
        )
    try:
        return make_config(variant, **values), None
    except ConfigError as error:
        return None, sentence(str(error))


def settings_form(variant: str, data_area) -> tuple[RunConfig | None, str | None]:
    """The variant's settings as widgets: the data settings in the container ``data_area``,
    the others in a column per group. Returns the validated config, or None and the reason,
    which is shown next to the widget it names."""
    described = controls(variant)
    slots, values = {}, {}

    def draw(control: Control) -> None:
        key = kept(setting_key(variant, control.name), _initial(control))
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
