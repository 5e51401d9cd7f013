"""The lessons: named presets that reproduce the classic autoencoder experiments, by name.

A lesson is the configuration a tutorial published (as RunConfig settings), the results it
reported, and how to measure ours from the stored summaries of its runs (``Lesson``, in
``ae_core.lesson_types``). Some lessons need a second run to compare with (the same net without
the penalty, the whole stack trained at once); those are further named configurations, trained
and cached like any other run, so a comparison run two lessons share is trained once.

The fourteen lessons are data, in ``ae_core.lesson_catalogue``; this module looks them up and
checks them when it loads.
"""

from __future__ import annotations

from ae_core.errors import ConfigError
from ae_core.lesson_catalogue import LESSONS
from ae_core.lesson_types import (
    LESSON_VIEWS,
    MAIN,
    Epochs,
    Lesson,
    LessonView,
    PublishedResult,
)

__all__ = [
    "LESSONS",
    "LESSON_VIEWS",
    "MAIN",
    "Epochs",
    "Lesson",
    "LessonView",
    "PublishedResult",
    "get",
    "names",
]


def _by_name(catalogue: tuple[Lesson, ...]) -> dict[str, Lesson]:
    """The catalogue by name; a name used twice raises naming it (one would hide the other)."""
    by_name: dict[str, Lesson] = {}
    for lesson in catalogue:
        if lesson.name in by_name:
            raise ValueError(f"two lessons are named {lesson.name!r}; a lesson's name is unique")
        by_name[lesson.name] = lesson
    return by_name


_BY_NAME = _by_name(LESSONS)


def names() -> list[str]:
    return list(_BY_NAME)


def get(name: str) -> Lesson:
    """The lesson called ``name``; an unknown name raises ConfigError listing the known ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ConfigError(
            "preset", f"unknown lesson {name!r}; the lessons are: {', '.join(names())}"
        ) from None
