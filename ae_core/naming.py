"""Runs named by their settings, in the words of the settings' labels, not by a hash:

    changed_settings(config)          # ["code size 16", "beta 0.1"]: off the defaults
    run_names({run_id: config, ...})  # {run_id: "beta 0.1", ...}: what sets each run apart
                                      # (or the name a person gave it)

A setting is named by its label (``Beta (sparsity weight)`` is "beta") and its value, in the
order the settings form draws them: the design's settings first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ae_core.config import RunConfig, field_spec, make_config, short_run_id
from ae_core.controls import controls

__all__ = ["changed_settings", "run_names", "setting_name", "setting_text"]


def setting_name(name: str) -> str:
    """A setting's label as a name says it: without its explanation in brackets, and in lower
    case unless it starts with an abbreviation ("beta", "code size", "L2 weight decay")."""
    label = re.sub(r"\s*\(.*?\)", "", field_spec(name).metadata["label"]).strip()
    if len(label) > 1 and label[1].islower():
        label = label[0].lower() + label[1:]
    return label


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.12g}"  # 0.1, not 0.1000000000000001; 1e-05 stays short
    if isinstance(value, tuple):
        return ",".join(map(str, value)) if value else "none"
    return str(value)


def setting_text(name: str, value: Any) -> str:
    """One setting and its value, as a run's name says it: "beta 0.1", "hidden layers 300,100"."""
    return f"{setting_name(name)} {_value_text(value)}"


def changed_settings(config: RunConfig) -> list[str]:
    """The settings of ``config`` that differ from its variant's defaults, each as
    ``setting_text`` says it, in the settings form's order."""
    defaults = make_config(config.variant)
    return [
        setting_text(control.name, getattr(config, control.name))
        for control in controls(config.variant)
        if getattr(config, control.name) != getattr(defaults, control.name)
    ]


def run_names(
    configs: Mapping[str, RunConfig], given: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """A name for each run (keyed by run id) that says what sets it apart from the others: each
    setting of its variant whose value is not the same in every run ("beta 0.1"). Runs of several
    variants are named by their variant first, and then only by the settings they changed from
    their own variant's defaults ("sparse_kl, code size 16"). A run compared with nothing is named
    by its variant and what differs from its defaults, and so are runs with the same settings,
    which add the start of their run id's hash (they trained on other data). A run a person
    named (``given``, by run id) is called by that name, with the hash when two share it."""
    items = list(configs.items())
    several_variants = len({config.variant for _, config in items}) > 1
    names = {}
    for run_id, config in items:
        alone = ", ".join([config.variant, *changed_settings(config)])
        if len(items) == 1:
            names[run_id] = alone
            continue
        defaults = make_config(config.variant)
        parts = [config.variant] if several_variants else []
        for control in controls(config.variant):
            value = getattr(config, control.name)
            if len({getattr(other, control.name) for _, other in items}) == 1:
                continue
            if several_variants and value == getattr(defaults, control.name):
                continue
            parts.append(setting_text(control.name, value))
        names[run_id] = ", ".join(parts) or alone
    names.update(
        {run_id: name for run_id, name in (given or {}).items() if name and run_id in names}
    )
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {
        run_id: f"{name} ({short_run_id(run_id)})" if name in shared else name
        for run_id, name in names.items()
    }
