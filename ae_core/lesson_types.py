"""What a lesson is: the settings a tutorial published, the results it reported, and how ours
are measured from the stored summaries of its runs.

The lessons themselves are in ``ae_core.lesson_catalogue``; ``ae_core.lessons`` looks them up.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ae_core.config import RunConfig, make_config

# The role of a lesson's own run among its runs.
MAIN = "lesson"

# What the Lessons page and the lessons report can draw of a lesson's runs (``Lesson.show``).
LessonView = Literal["generated", "reconstructions", "activations", "latent", "linear-pca"]
LESSON_VIEWS: tuple[str, ...] = typing.get_args(LessonView)

# Summaries of a lesson's runs by role -> our value of one published result (None while a run
# is missing).
Measure = Callable[[Mapping[str, dict]], "float | str | None"]


@dataclass(frozen=True)
class Epochs:
    """How long the original trained, in passes over its training set.

    We keep the number of examples seen rather than the number of passes, so a lesson trains
    as long on a smaller offline dataset as on the full one (it then sees each digit more often).
    """

    count: int
    examples: int  # the size of the original's training set
    partial_batches: bool  # Keras fit ends an epoch with a short batch; TF1's loops dropped it

    def steps(self, batch_size: int) -> int:
        per_epoch = (
            math.ceil(self.examples / batch_size)
            if self.partial_batches
            else self.examples // batch_size
        )
        return self.count * per_epoch

    @property
    def samples(self) -> int:
        return self.count * self.examples


@dataclass(frozen=True)
class PublishedResult:
    """One result the source published, and ours measured from the lesson's runs."""

    label: str
    published: str  # as the source states it: a number, or what its picture shows
    ours: Measure
    published_value: float | None = None  # the number, where there is one to compare with
    digits: int = 3  # significant digits to show ours with

    def measure(self, summaries: Mapping[str, dict]) -> float | str | None:
        try:
            return self.ours(summaries)
        except (KeyError, IndexError, TypeError):
            return None  # a run still missing, or one that failed before it was measured

    def difference(self, summaries: Mapping[str, dict]) -> float | None:
        """Ours relative to the published number (+0.1 means 10 % above), when both are numbers."""
        value = self.measure(summaries)
        if self.published_value is None or not isinstance(value, float):
            return None
        return value / self.published_value - 1.0

    def shown(self, summaries: Mapping[str, dict]) -> str:
        value = self.measure(summaries)
        if value is None:
            return "not trained yet"
        if isinstance(value, float):
            return f"{value:.{self.digits}g}"
        return str(value)


@dataclass(frozen=True)
class Lesson:
    name: str  # the preset's name: python -m ae_core train --preset NAME
    title: str
    source: str
    summary: str  # one line for lists
    explanation: str  # what to look at and why, in our words (Markdown)
    settings: Mapping[str, Any]  # RunConfig settings, the variant included
    published_results: tuple[PublishedResult, ...]
    notes: tuple[str, ...] = ()  # where we follow one reading of the original, and why
    epochs: Epochs | None = None  # set when the original counted epochs rather than steps
    # Further runs to compare with: role -> the settings of that run.
    others: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # What the app and the lessons report show of our runs, in this order (views by name).
    show: tuple[LessonView, ...] = ("reconstructions",)

    def __post_init__(self) -> None:
        unknown = [view for view in self.show if view not in LESSON_VIEWS]
        if unknown:
            raise ValueError(
                f"lesson {self.name!r} shows {', '.join(map(repr, unknown))}; the views a lesson "
                f"can show are: {', '.join(LESSON_VIEWS)}"
            )

    def config(self, role: str = MAIN, **overrides: Any) -> RunConfig:
        settings = dict(self.settings if role == MAIN else self.others[role])
        settings.update(overrides)
        variant = settings.pop("variant")
        return make_config(variant, **settings)

    def configs(self, **overrides: Any) -> dict[str, RunConfig]:
        """Every run of the lesson by role, the lesson's own first; ``overrides`` go on all."""
        return {role: self.config(role, **overrides) for role in (MAIN, *self.others)}

    def samples_note(
        self, train_examples: int | None = None, steps_run: int | None = None
    ) -> str | None:
        """How the original's epochs became our steps, and what that means for the data in use
        (``steps_run``: the steps a run was actually set to, when changed)."""
        if self.epochs is None:
            return None
        batch = self.settings["batch_size"]
        steps = self.epochs.steps(batch)
        note = (
            f"The original trains {self.epochs.count} epochs over {self.epochs.examples:,} "
            f"digits ({self.epochs.samples:,} examples seen); this lesson keeps the number of "
            f"examples seen: {steps:,} steps of {batch}"
        )
        if train_examples and train_examples != self.epochs.examples:
            passes = steps * batch / train_examples
            note += (
                f", which is {passes:,.0f} passes over the {train_examples:,} training digits "
                "in use"
            )
        note += "."
        if steps_run is not None and steps_run != steps:
            note += f" This run was set to {steps_run:,} steps instead."
        return note

    def results(self, summaries: Mapping[str, dict]) -> list[dict[str, Any]]:
        """Published against ours, one row per published result (the row's ``"figure"`` is its
        label, as the page's and the report's tables head it)."""
        rows = []
        for result in self.published_results:
            difference = result.difference(summaries)
            rows.append(
                {
                    "figure": result.label,
                    "published": result.published,
                    "ours": result.shown(summaries),
                    "difference": difference,
                }
            )
        return rows


# -- measuring ours from run summaries: the ``ours`` of a PublishedResult ----------------------
def value(key: str, role: str = MAIN, index: int | None = None) -> Measure:
    def measure(summaries):
        value = summaries[role][key]
        return float(value if index is None else value[index])

    return measure


def dead_code(role: str = MAIN) -> Measure:
    def measure(summaries):
        summary = summaries[role]
        return f"{summary['dead_units'][-1]} of {summary['units'][-1]}"

    return measure


def percent(key: str, role: str = MAIN) -> Measure:
    def measure(summaries):
        return f"{100 * summaries[role][key]:.0f} %"

    return measure


def ratio(key: str, role: str, baseline: str) -> Measure:
    def measure(summaries):
        return f"{summaries[role][key] / summaries[baseline][key]:.2f} times"

    return measure


def per_step_time_ratio(role: str, baseline: str) -> Measure:
    def measure(summaries):
        def per_step(summary):
            return summary["seconds"] / summary["steps"]

        return f"{per_step(summaries[role]) / per_step(summaries[baseline]):.2f} times"

    return measure


def training_mse(role: str = MAIN) -> Measure:
    def measure(summaries):
        return float(summaries[role]["loss_terms"]["reconstruction"])

    return measure


def denoising(role: str = MAIN) -> Measure:
    def measure(summaries):
        summary = summaries[role]
        return (
            f"MSE to the clean digit: noisy input {summary['noisy_input_mse']:.3f}, "
            f"denoised {summary['denoised_mse']:.4f}"
        )

    return measure
