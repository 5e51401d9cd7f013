"""Variants by name: each variant module registers itself with ``@register``.

Nothing else lists the variants one by one:

    registry.get("sparse_kl")      # the Variant instance, or a ConfigError naming the known ones
    registry.available()           # sorted names
    registry.DEFAULT_VARIANT       # the variant a new config starts from
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import TYPE_CHECKING, TypeVar

from ae_core.errors import ConfigError

if TYPE_CHECKING:
    from ae_core.variants.base import Variant

# The variant a bare RunConfig(), make_config() and a new session of the app start from.
DEFAULT_VARIANT = "stacked"

_VARIANTS: dict[str, Variant] = {}
_loaded = False
_load_lock = threading.Lock()

V = TypeVar("V", bound=type)


def register(cls: V) -> V:
    """Class decorator: instantiate the variant and file it under its ``name``."""
    name = cls.name
    if name in _VARIANTS:
        raise ValueError(f"a variant named {name!r} is already registered")
    _VARIANTS[name] = cls()
    return cls


def _load_all() -> None:
    # Importing every module under ae_core.variants runs their @register decorators once.
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        import ae_core.variants as package

        for module in pkgutil.iter_modules(package.__path__):
            if module.name != "base":
                importlib.import_module(f"{package.__name__}.{module.name}")
        _loaded = True


def available() -> list[str]:
    _load_all()
    return sorted(_VARIANTS)


def get(name: str) -> Variant:
    _load_all()
    try:
        return _VARIANTS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            "variant", f"unknown variant {name!r}; available variants: {', '.join(available())}"
        ) from None
