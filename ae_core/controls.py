"""The settings a person can change for a variant, described for building widgets.

The app draws its sliders and inputs from these (and nothing else), so a new configuration
field or a new variant shows up in the interface without touching a page:

    for control in controls("sparse_kl"):
        control.name, control.kind, control.label, control.help, control.default, ...
"""

from __future__ import annotations

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
    """The controls of the settings ``variant`` lets a person change, in the config's order,
    each starting at the variant's default."""
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
            )
        )
    return described
