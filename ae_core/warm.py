"""Warming the run store before class: plan the runs of lessons and grids, estimate their time.

    plan = plan_warm(lesson_names=["sparse-kl"], grids=["stacked code_size=8,16 l2=0,0.001"])
    plan.runs                      # every distinct run: config, what makes it differ, stored?
    estimate = estimate_plan(plan, store.scan(), workers=2)

The command line (``python -m ae_core warm``) trains the plan through a ``JobManager``: lesson
runs one by one with ``submit``, a grid as sweeps along its first field, one sweep per
combination of the other fields' values. Every run goes through ``submit``, so a run finished
before is a cache hit and a second ``warm`` trains only what is missing.

A grid is one string: the variant, then ``FIELD=VALUES`` items. An item with two or more values
is an axis of the grid (values as ``--sweep`` takes them: commas, or semicolons for ``hidden``
and ``sparsity_layers``, or ``linspace:``/``logspace:``); an item with one value is a setting
every run of the grid shares, as ``--set`` gives it.
"""

from __future__ import annotations

import itertools
import shlex
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ae_core import lessons
from ae_core.config import RunConfig, field_spec, make_config
from ae_core.errors import ConfigError
from ae_core.store import RunRecord
from ae_core.sweeps import check_sweep_field, parse_sweep_values, sweep_configs

# A grid bigger than this is almost surely a typo (an extra field), not a plan for one evening.
MAX_GRID_RUNS = 256

# The fallback cost model, for runs with nothing like them in the store yet: a training step
# costs STEP_SECONDS plus (samples in the batch x multiply-adds per sample of the mirrored dense
# net) / MULTIPLY_ADDS_PER_S, every run adds RUN_OVERHEAD_SECONDS (its summary and saving), and
# every distinct shape COMPILE_SECONDS once (each worker compiles it once, all at the same time).
# Measured on this project's 2-core machine on 2026-11-29 with benchmarks/warm_estimate.py (two
# workers with the manager's default of 2 threads each, two runs of each of three stacked nets
# at once: 64-32-8 on digits, 784-128-32 and 784-300-100-30 on MNIST, batch 64; load average
# 0.2 before): fitted from the smallest and the largest net, MULTIPLY_ADDS_PER_S 9.16e9 and
# STEP_SECONDS 6.4e-5 (the middle net's step measured 1.39 ms against 1.52 ms fitted); the
# three nets took 2.76, 2.78 and 3.10 s to compile (the median is kept) and 0.15, 0.40 and
# 0.58 s a run beside their steps (the median is kept). Before runs of a shape shared one
# compilation, an earlier round of the same measurement gave 8.3 s a run, mostly compiling.
STEP_SECONDS = 6.4e-5
MULTIPLY_ADDS_PER_S = 9.16e9
RUN_OVERHEAD_SECONDS = 0.4
COMPILE_SECONDS = 2.8
# Making the job manager until both workers had finished a first 20-step run took 7.5 s; less
# that run's compilation (2.8 s), the workers take about 5 s to start (importing TensorFlow).
WORKER_START_SECONDS = 5.0


@dataclass(frozen=True)
class PlannedRun:
    config: RunConfig
    label: str  # what sets this run apart: its lesson and role, or its grid values
    stored: bool  # finished in the store already: warm will not train it again

    @property
    def run_id(self) -> str:
        return self.config.run_id


@dataclass(frozen=True)
class SweepGroup:
    """Grid runs trained as one sweep: ``base`` with ``field`` set to each of ``values``
    (``field`` None: a single run, for a grid with no axis)."""

    base: RunConfig
    field: str | None
    values: tuple[Any, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class WarmPlan:
    runs: tuple[PlannedRun, ...]  # distinct runs, lessons first, in the order they are submitted
    lesson_runs: tuple[RunConfig, ...] = ()
    groups: tuple[SweepGroup, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> tuple[PlannedRun, ...]:
        return tuple(run for run in self.runs if not run.stored)


# -- grids and lessons ---------------------------------------------------------------------------
def parse_grid(spec: str, settings: dict[str, Any] | None = None) -> list[SweepGroup]:
    """The sweeps of one ``--grid`` string; ``settings`` (from ``--set``) go on every run and
    the grid's own one-value items go on top of them."""
    try:
        tokens = shlex.split(spec)
    except ValueError as error:
        raise ConfigError("grid", f"--grid {spec!r} cannot be read: {error}") from None
    if not tokens or "=" in tokens[0]:
        raise ConfigError(
            "grid", f"--grid {spec!r} must start with a variant, e.g. 'stacked code_size=8,16'"
        )
    variant, items = tokens[0], tokens[1:]
    fixed: dict[str, Any] = dict(settings or {})
    axes: dict[str, list[Any]] = {}
    for item in items:
        name, separator, text = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise ConfigError("grid", f"--grid item {item!r} is not of the form FIELD=VALUES")
        field_spec(name)  # an unknown name fails listing the known settings
        if name in axes or (name in fixed and name not in (settings or {})):
            raise ConfigError(name, f"--grid {spec!r} gives {name} twice")
        values = list(dict.fromkeys(_hashable(v) for v in parse_sweep_values(name, text)))
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            axes[name] = values
    for name in axes:
        check_sweep_field(variant, name)
    total = 1
    for values in axes.values():
        total *= len(values)
    if total > MAX_GRID_RUNS:
        sizes = " x ".join(f"{len(v)} {name}" for name, v in axes.items())
        raise ConfigError(
            next(iter(axes)),
            f"--grid {spec!r} has {total} runs ({sizes}); at most {MAX_GRID_RUNS} per grid",
        )
    if not axes:
        config = make_config(variant, **fixed)
        return [SweepGroup(config, None, (), (f"{variant} (grid with no axis)",))]
    (sweep_field, sweep_values), *others = axes.items()
    groups = []
    for combination in itertools.product(*(values for _, values in others)):
        others_set = dict(zip((name for name, _ in others), combination, strict=True))
        base = make_config(variant, **{**fixed, **others_set, sweep_field: sweep_values[0]})
        values, _ = sweep_configs(base, sweep_field, sweep_values)  # every member validated
        labels = tuple(
            " ".join(_show(name, value) for name, value in {sweep_field: v, **others_set}.items())
            for v in values
        )
        groups.append(SweepGroup(base, sweep_field, values, labels))
    return groups


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _show(name: str, value: Any) -> str:
    if isinstance(value, tuple):
        value = ",".join(str(v) for v in value)
    return f"{name}={value}"


def lesson_configs(
    names: Iterable[str], settings: dict[str, Any] | None = None
) -> list[tuple[str, RunConfig]]:
    """Every run the named lessons' pages start (``all``: every lesson), with a label each."""
    names = list(names)
    if "all" in names:
        names = lessons.names()
    runs = []
    for name in dict.fromkeys(names):
        lesson = lessons.get(name)  # an unknown name fails listing the lessons
        for role, config in lesson.configs(**(settings or {})).items():
            label = f"lesson {name}" + ("" if role == lessons.MAIN else f" ({role})")
            runs.append((label, config))
    return runs


def plan_warm(
    lesson_names: Sequence[str] = (),
    grids: Sequence[str] = (),
    settings: dict[str, Any] | None = None,
    records: Iterable[RunRecord] = (),
) -> WarmPlan:
    """The distinct runs of the lessons and grids, each marked stored when ``records`` (the
    store's scan) holds it finished."""
    final = {record.run_id for record in records if record.is_final}
    lesson_runs = lesson_configs(lesson_names, settings)
    groups = [group for spec in grids for group in parse_grid(spec, settings)]
    planned: dict[str, PlannedRun] = {}
    candidates = list(lesson_runs)
    for group in groups:
        if group.field is None:
            candidates.append((group.labels[0], group.base))
        else:
            for value, label in zip(group.values, group.labels, strict=True):
                candidates.append((label, group.base.replace(**{group.field: value})))
    for label, config in candidates:
        if config.run_id not in planned:
            planned[config.run_id] = PlannedRun(config, label, config.run_id in final)
    return WarmPlan(
        runs=tuple(planned.values()),
        lesson_runs=tuple(config for _, config in lesson_runs),
        groups=tuple(groups),
    )


# -- how long it will take -----------------------------------------------------------------------
def multiply_adds_per_sample(config: RunConfig) -> int:
    """The weights of the encoder and its mirror image: about the multiply-adds one sample
    costs forward (a tied decoder shares its weights but not their work)."""
    from ae_core.data import dataset_info

    sizes = (dataset_info(config.dataset).input_dim, *config.layer_sizes)
    return 2 * sum(a * b for a, b in itertools.pairwise(sizes))


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    basis: str  # "stored runs" (their measured speed) or "default rate" (the cost model above)


class SpeedBook:
    """Measured training speeds of finished runs, by what decides the speed: variant, dataset,
    layer sizes and batch size."""

    def __init__(self, records: Iterable[RunRecord] = ()):
        self._speeds: dict[tuple, list[tuple[float, int]]] = {}
        for record in records:
            if record.status == "done" and record.summary:
                self.add(record.config, record.summary)

    @staticmethod
    def _key(config: RunConfig) -> tuple:
        return (config.variant, config.dataset, config.layer_sizes, config.batch_size)

    def add(self, config: RunConfig, summary: dict) -> None:
        speed, examples = summary.get("samples_per_s"), summary.get("train_examples")
        if isinstance(speed, (int, float)) and speed > 0 and isinstance(examples, int):
            self._speeds.setdefault(self._key(config), []).append((float(speed), examples))

    def estimate(self, config: RunConfig) -> RunEstimate:
        measured = self._speeds.get(self._key(config))
        if measured:
            speed = statistics.median(speed for speed, _ in measured)
            samples_per_step = min(config.batch_size, measured[0][1])
            seconds = config.steps * samples_per_step / speed + RUN_OVERHEAD_SECONDS
            return RunEstimate(seconds, "stored runs")
        step = STEP_SECONDS + config.batch_size * multiply_adds_per_sample(config) / (
            MULTIPLY_ADDS_PER_S
        )
        return RunEstimate(config.steps * step + RUN_OVERHEAD_SECONDS, "default rate")


def estimate_total(seconds: Sequence[float], workers: int, shapes: int = 1) -> float:
    """Wall time of a warm that trains runs of these estimates, of ``shapes`` distinct shapes
    (``RunConfig.shape_signature``): the workers' start, each shape's compilation (the workers
    compile a shape at the same time, each once), then the runs shared out over the workers."""
    if not seconds:
        return 0.0
    compiling = COMPILE_SECONDS * shapes
    return WORKER_START_SECONDS + compiling + spread_over_workers(seconds, workers)


def spread_over_workers(seconds: Sequence[float], workers: int) -> float:
    """Wall time of independent runs on ``workers`` workers: the work shared out, but never less
    than the longest run alone."""
    if not seconds:
        return 0.0
    return max(max(seconds), sum(seconds) / max(1, min(workers, len(seconds))))
