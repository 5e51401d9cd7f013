"""The settings a person can change for a variant, described for building widgets.

The app draws its sliders and inputs from these (and nothing else), so a new configuration
field or a new variant shows up in the interface without touching a page:

    for control in controls("sparse_kl"):
        control.name, control.kind, control.label, control.help, control.default, ...
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

from ae_core import registry
from ae_core.config import field_choices, field_spec, field_type, make_config
from ae_core.data import DATASETS

ControlKind = Literal["choice", "toggle", "int", "float", "layers", "text"]


@dataclass(frozen=True)
class Control:
    """One setting: what it is called and means, what values it takes, where it starts."""

    name: str
    label: str
    help: str
    kind: ControlKind
    default: Any  # the variant's own default
    group: str = "other"  # data, model, training or regularisation: where the app lays it out
    choices: tuple[str, ...] = ()  # for kind "choice"
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False  # True when the bounds themselves are not allowed
    log: bool = False  # a scale factor rather than an amount: best moved on a log scale
    step: float | None = None  # a float moved in even steps (a slider); None: free or log scale
    design: int = 0  # the rank of the settings this app is known by (drawn first); 0: the others
    slider_values: tuple[int, ...] = ()  # a whole number's slider stops, when it has some
    needs: tuple[str, Any] | None = None  # (other setting, its value that makes this one inert)
    inert_value: Any = None  # the value this setting must take while inert, if any
    active_start: Any = None  # where it starts when it stops being inert at its inert value
    max_when: tuple[tuple[Any, float], ...] = ()  # a lower maximum for some values of `needs`

    def inactive_reason(self, values: dict[str, Any], labels: dict[str, str]) -> str | None:
        """Why this setting cannot change the result with these ``values`` (None: it can)."""
        if self.needs is None:
            return None
        other, off = self.needs
        if values.get(other) != off:
            return None
        return f"No effect while {labels.get(other, other)} is {_shown(off)}."

    def range_for(self, values: dict[str, Any]) -> tuple[float | None, float | None]:
        """The allowed range with these ``values`` (some settings narrow it, e.g. dropout)."""
        maximum = self.maximum
        if self.needs is not None:
            maximum = dict(self.max_when).get(values.get(self.needs[0]), maximum)
        return self.minimum, maximum


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _kind(name: str) -> tuple[ControlKind, tuple[str, ...]]:
    if name == "dataset":
        return "choice", tuple(DATASETS)
    choices = field_choices(name)
    if choices is not None:
        return "choice", tuple(choices)
    hint = field_type(name)
    if hint is bool:
        return "toggle", ()
    if hint is int:
        return "int", ()
    if hint is float:
        return "float", ()
    if name == "hidden":
        return "layers", ()
    return "text", ()


def controls(variant: str) -> list[Control]:
    """The controls of the settings ``variant`` lets a person change, each starting at the
    variant's default: the design's settings first (code size, beta, sparsity target, noise
    level), then the others in the config's order."""
    return list(_described(variant))


@functools.cache
def _described(variant: str) -> tuple[Control, ...]:
    # The form asks for these many times per script run; they never change in a process.
    defaults = make_config(variant)
    described = []
    for name in registry.get(variant).options():
        meta = field_spec(name).metadata
        kind, choices = _kind(name)
        described.append(
            Control(
                name=name,
                label=meta["label"],
                help=meta["help"],
                kind=kind,
                default=getattr(defaults, name),
                group=meta.get("group", "other"),
                choices=choices,
                minimum=meta.get("min"),
                maximum=meta.get("max"),
                exclusive=bool(meta.get("exclusive", False)),
                log=bool(meta.get("log", False)),
                step=meta.get("step"),
                design=int(meta.get("design", 0)),
                slider_values=tuple(meta.get("slider_values", ())),
                needs=meta.get("needs"),
                inert_value=meta.get("inert_value"),
                active_start=meta.get("active_start"),
                max_when=tuple(meta.get("max_when", {}).items()),
            )
        )
    # The design's settings first, in their rank; the others keep the config's order.
    return tuple(sorted(described, key=lambda control: (control.design == 0, control.design)))


def settle(variant: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every setting that depends on another made consistent with it: an inert
    setting at the value it must take, one just switched on at its starting value, one whose
    range narrowed (dropout is a probability) brought inside it. What the form applies after a
    change, so a switch of noise type never leaves an invalid noise level behind."""
    settled = dict(values)
    for control in controls(variant):
        if control.needs is None or control.inert_value is None or control.name not in settled:
            continue
        other, off = control.needs
        value = settled[control.name]
        if settled.get(other) == off:
            settled[control.name] = control.inert_value
        elif value == control.inert_value and control.active_start is not None:
            settled[control.name] = control.active_start
        else:
            _, maximum = control.range_for(settled)
            if maximum is not None and value > maximum:
                settled[control.name] = maximum
    return settled


def in_labels(message: str, variant: str) -> str:
    """An engine message with each setting named by its label, as the form shows it
    ("Code size 4096 is larger than the input", not "code_size=4096 is larger ...")."""
    names = labels(variant)
    names.setdefault("variant", "Variant")

    def label(match: re.Match) -> str:
        return f"{names[match.group(1)]} "

    pattern = r"\b(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")="
    return re.sub(pattern, label, message)


def labels(variant: str) -> dict[str, str]:
    """Each setting's label, by name."""
    return {control.name: control.label for control in controls(variant)}
