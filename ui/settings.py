"""The settings form: one widget per configuration field the variant uses, drawn from the
config's metadata (``ae_core.controls``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from ae_core import sweeps
from ae_core.config import RunConfig, make_config
from ae_core.controls import Control, controls, in_labels, labels, settle
from ae_core.data import data_in_words
from ae_core.errors import ConfigError
from ui import presenting
from ui.session import (
    DEFAULT_VARIANT,
    VARIANT,
    manager,
    persistent_key,
    persistent_value,
    sentence,
    set_persistent_value,
)

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


def _widget(control: Control, key: str, values: dict[str, Any]) -> Any:
    """Draw the widget for one setting; its value lives in session state under ``key``.
    ``values`` are every setting's current values (for a range or a reason that depends on
    another setting). An option's label never says whether it is trained: Streamlit keeps a
    slider's value by its label, so a label that changed when a run finished would reset it."""
    reason = control.inactive_reason(values, labels(values["variant"]))
    common = {
        "label": control.label,
        "help": f"{reason}\n\n{control.help}" if reason else control.help,
        "key": key,
        "disabled": reason is not None,
        "on_change": _settle,
        "args": (values["variant"],),
    }
    value = st.session_state[key]
    if control.kind == "choice":
        return st.selectbox(options=list(control.choices), **common)
    if control.kind == "toggle":
        return st.toggle(**common)
    if control.kind == "int" and control.slider_values:
        stops = sorted({*control.slider_values, int(value)})
        return st.select_slider(options=stops, **common)
    if control.kind == "int":
        return st.number_input(
            min_value=int(control.minimum) if control.minimum is not None else None,
            max_value=int(control.maximum) if control.maximum is not None else None,
            step=int(control.step or 1),
            **common,
        )
    if control.kind == "float" and control.step:
        step = float(control.step)
        minimum, maximum = control.range_for(values)
        low = float(minimum) + (step if control.exclusive else 0.0)
        high = float(maximum) - (step if control.exclusive else 0.0)
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


def _trained_caption(trained: list[Any], current: Any) -> None:
    """Which of a setting's values are trained already (with the other settings as they are),
    when any besides the current one: those slider positions answer at once."""
    if not [value for value in trained if not _same(value, current)]:
        return
    shown = [
        (_number_text(value) if isinstance(value, float) else str(value))
        + (" ✓ (this one)" if _same(value, current) else "")
        for value in trained
    ]
    st.caption("Trained already: " + ", ".join(shown))


def _same(value: Any, current: Any) -> bool:
    if isinstance(value, tuple):  # hidden layers: the widget holds their text
        return ",".join(map(str, value)) == str(current).replace(" ", "")
    return value == current


def _settle(variant: str) -> None:
    """After any setting changed (a widget's callback): bring the settings that depend on it in
    line (``ae_core.controls.settle``), so switching the noise on gives the level a start."""
    values = _current_values(variant)
    for name, value in settle(variant, values).items():
        if value != values[name]:
            set_persistent_value(setting_key(variant, name), value)


def _initial(control: Control) -> Any:
    if control.kind == "layers":
        return ",".join(str(size) for size in control.default)
    if control.kind == "float":
        return float(control.default)
    return control.default


def load_settings(config: RunConfig) -> None:
    """Put a run's settings into the Train page's widgets (for "train again with changes");
    call it from a callback or a page that does not draw them."""
    set_persistent_value(VARIANT, config.variant)
    for control in controls(config.variant):
        value = getattr(config, control.name)
        if control.kind == "layers":
            value = ",".join(str(size) for size in value)
        set_persistent_value(setting_key(config.variant, control.name), value)


def reset_settings(variant: str | None = None) -> None:
    """Back to the defaults of ``variant``, else of the variant chosen now (a button's callback:
    the variant chosen when the click is handled, not when the button was drawn)."""
    variant = variant or persistent_value(VARIANT, DEFAULT_VARIANT)
    for control in controls(variant):
        set_persistent_value(setting_key(variant, control.name), _initial(control))


def _current_values(variant: str) -> dict[str, Any]:
    """Every setting of ``variant`` as the widgets hold it now (kept or default where a widget
    has not been drawn yet), with ``variant`` itself."""
    values = {"variant": variant}
    for control in controls(variant):
        key = setting_key(variant, control.name)
        values[control.name] = persistent_value(key, _initial(control))
    return values


def current_config(variant: str | None = None) -> tuple[RunConfig | None, str | None]:
    """The config the settings widgets hold now (the variant's, or the chosen variant's), or
    None and the reason. Read from session state, which Streamlit updates with every widget's
    value before it calls a callback: a button's callback must use this, not a config built in
    the script run that drew the button, which may predate a slider's last move."""
    variant = variant or persistent_value(VARIANT, DEFAULT_VARIANT)
    values = _current_values(variant)
    try:
        return make_config(variant, **values), None
    except ConfigError as error:
        return None, sentence(in_labels(str(error), variant))


def trained_values(variant: str) -> dict[str, list[Any]]:
    """The values of each setting trained already with the others as the widgets hold them."""
    config, _ = current_config(variant)
    return {} if config is None else sweeps.trained_values(config, manager().list_runs())


def settings_form(
    variant: str,
    actions: Callable[[RunConfig | None, str | None], None],
    trained: dict[str, list[Any]] | None = None,
) -> tuple[RunConfig | None, str | None]:
    """The variant's settings as widgets: the design's settings (code size, beta, sparsity
    target, noise level) first, then ``actions(config, problem)`` (the Train button), then the
    other settings in an expander, a column per group. A setting that cannot change the result
    with the others' values is greyed out with the reason. ``trained``: the values of each
    setting already trained with the others (``ae_core.sweeps.trained_values``), ticked on its
    slider and listed under it. Returns the validated config, or None and the reason, which is
    also shown under the widget it names."""
    described = controls(variant)
    trained = trained or {}
    values = _current_values(variant)
    try:
        config, error = make_config(variant, **values), None
    except ConfigError as refused:
        config, error = None, refused
    problem = sentence(in_labels(str(error), variant)) if error is not None else None
    slots = {}

    def draw(control: Control) -> None:
        key = persistent_key(setting_key(variant, control.name), _initial(control))
        _widget(control, key, values)
        reason = control.inactive_reason(values, labels(variant))
        if reason:
            st.caption(reason)
        if control.name == "dataset":  # what a run will train on here, before it trains
            st.caption(data_in_words(values["dataset"]))
        _trained_caption(trained.get(control.name, []), values[control.name])
        slots[control.name] = st.empty()

    for control in described:
        if control.design:
            draw(control)
    actions(config, problem)
    rest = [control for control in described if not control.design]
    groups = list(dict.fromkeys(control.group for control in rest))
    groups.sort(key=lambda g: list(GROUPS).index(g) if g in GROUPS else len(GROUPS))
    refused_here = error is not None and error.field in {control.name for control in rest}
    # On a projector the design's settings only, unless one of the others is refused.
    if refused_here or not presenting.on():
        with st.expander("More settings", expanded=refused_here):
            tabs = st.tabs([GROUPS.get(group, group.title()) for group in groups])
            for tab, group in zip(tabs, groups, strict=True):
                with tab:
                    for control in rest:
                        if control.group == group:
                            draw(control)
    if error is not None:
        slots.get(error.field, st).error(problem)
    return config, problem
