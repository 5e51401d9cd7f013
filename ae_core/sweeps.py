"""Sweeps: the same run trained for several values of one setting.

    sweep = manager.submit_sweep(config, "code_size", [8, 16, 32])
    sweep.snapshot()        # every member's Snapshot in value order, counts, time left
    sweep.stop()            # stop the training members, cancel the queued ones
    sweep.wait()

A sweep is nothing more than K ordinary submissions: each member goes through
``JobManager.submit``, so it is a stored run with its own run id, history, summary and model, a
member trained before (by anyone) is served from the cache, and a later single submission of any
value is a cache hit. The sweep only validates the K configs up front (all or nothing), keeps the
jobs in value order and sums up their snapshots.

Which settings can be swept: the ones the variant lets a person change
(``registry.get(variant).options()``), except ``dataset``: test numbers on different datasets
are not comparable along one axis, and the input size changes the model.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ae_core import registry
from ae_core.config import (
    RunConfig,
    field_choices,
    field_names,
    field_spec,
    field_type,
    parse_setting,
)
from ae_core.errors import ConfigError
from ae_core.run_states import ACTIVE_STATES

if TYPE_CHECKING:
    from ae_core.jobs import Job, JobManager, Snapshot

MIN_SWEEP_VALUES = 2
# Sixteen runs already fill a classroom server's queue for a while; a bigger study is a grid of
# several sweeps (``python -m ae_core warm --grid``).
MAX_SWEEP_VALUES = 16
NOT_SWEPT = frozenset({"dataset"})


def sweepable_fields(variant: str) -> list[str]:
    """The settings a sweep of ``variant`` may vary, in the config's order."""
    return [name for name in registry.get(variant).options() if name not in NOT_SWEPT]


def check_sweep_field(variant: str, field: str) -> None:
    allowed = sweepable_fields(variant)
    if field not in allowed:
        raise ConfigError(
            field,
            f"{field!r} cannot be swept for the {variant} variant; the settings a sweep can vary "
            f"are: {', '.join(allowed)}",
        )


def sweep_configs(
    config: RunConfig, field: str, values: Iterable[Any]
) -> tuple[tuple[Any, ...], tuple[RunConfig, ...]]:
    """The member configs of a sweep of ``field`` over ``values``, each validated: the distinct
    values in the order given (as the config stores them) and their configs.

    Raises ConfigError (one sentence naming the field) for a field the variant does not let a
    person change, a value the validator refuses, or fewer than 2 or more than 16 distinct values.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"a sweep starts from a RunConfig, not {type(config).__name__}")
    if isinstance(values, str):
        raise TypeError("a sweep takes a list of values; parse_sweep_values reads them from text")
    check_sweep_field(config.variant, field)
    kept_values: list[Any] = []
    configs: list[RunConfig] = []
    seen: set[str] = set()
    for value in values:
        member = _member_config(config, field, value)
        if member.run_id in seen:  # 0.1 and 0.10, or "300, 100" and (300, 100): one run
            continue
        seen.add(member.run_id)
        kept_values.append(getattr(member, field))
        configs.append(member)
    if not MIN_SWEEP_VALUES <= len(configs) <= MAX_SWEEP_VALUES:
        raise ConfigError(
            field,
            f"a sweep of {field} needs {MIN_SWEEP_VALUES} to {MAX_SWEEP_VALUES} distinct values, "
            f"not {len(configs)}",
        )
    return tuple(kept_values), tuple(configs)


def _member_config(config: RunConfig, field: str, value: Any) -> RunConfig:
    try:
        return config.replace(**{field: value})
    except ConfigError as error:
        if str(error).startswith(f"{field}="):
            raise  # the validator's sentence already starts with the field and the value
        # A rule between settings refuses this value (the KL penalty and a relu code): say which
        # sweep value it is.
        raise ConfigError(field, f"the sweep value {field}={value!r} is refused: {error}") from None


def trained_values(config: RunConfig, runs: Iterable[Job]) -> dict[str, list[Any]]:
    """For each setting, the values it takes in the finished ``runs`` that differ from
    ``config`` in that setting alone and trained on the same data: the slider positions that
    answer from the store at once. ``config``'s own value is included when it is trained."""
    names = field_names()
    found: dict[str, set] = {}
    for job in runs:
        other = job.config
        if not job.is_final_result:
            continue
        differing = []
        for name in names:
            if getattr(other, name) != getattr(config, name):
                differing.append(name)
                if len(differing) > 1:
                    break
        if len(differing) > 1 or job.run_id != other.run_id:  # another setting, or other data
            continue
        for name in differing or names:
            found.setdefault(name, set()).add(getattr(other, name))
    return {name: sorted(values, key=_sort_key) for name, values in found.items()}


def _sort_key(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


# -- the command line's value lists ------------------------------------------------------------
def takes_commas(field: str) -> bool:
    """True for settings whose one value can hold commas (``hidden=300,100``,
    ``sparsity_layers=1,2``): a list of their values is separated by semicolons instead."""
    hint = field_type(field)
    is_name = field in ("variant", "dataset")  # names looked up in a registry: never a comma
    return field_choices(field) is None and hint not in (bool, int, float) and not is_name


def parse_sweep_values(field: str, text: str) -> list[Any]:
    """The values of ``--sweep FIELD=TEXT``, each parsed by the field's own parser.

    ``TEXT`` is a list of values, separated by commas (numbers, true/false and choices:
    ``0.001,0.01``) or by semicolons (settings whose value holds commas: ``hidden=300;300,100``;
    semicolons work for every setting); or ``linspace:LOW:HIGH:COUNT`` / ``logspace:LOW:HIGH:COUNT``
    for a number setting: COUNT values evenly spaced from LOW to HIGH, on a log scale for
    ``logspace`` (LOW and HIGH are the values themselves, not exponents, and must be positive).
    Whole-number settings round each value; values that round to the same number collapse.
    """
    text = text.strip()
    kind, _, spacing = text.partition(":")
    if kind in ("linspace", "logspace"):
        return _spaced_values(field, kind, spacing)
    separator = ";" if ";" in text or takes_commas(field) else ","
    parts = [part.strip() for part in text.split(separator)]
    if not text or any(not part for part in parts):
        raise ConfigError(
            field,
            f"--sweep {field}={text!r} has an empty value; separate the values of {field} with "
            f"'{separator}', for example {_example(field)}",
        )
    return [parse_setting(field, part) for part in parts]


def _spaced_values(field: str, kind: str, spacing: str) -> list[Any]:
    hint = field_type(field)
    if hint not in (int, float):
        raise ConfigError(
            field, f"{kind} needs a number setting, and {field} is not one; list its values"
        )
    parts = spacing.split(":")
    try:
        low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3 or not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError
    except (ValueError, IndexError):
        raise ConfigError(
            field, f"--sweep {field}={kind}:{spacing} is not of the form {kind}:LOW:HIGH:COUNT"
        ) from None
    if count < MIN_SWEEP_VALUES:
        raise ConfigError(field, f"{kind} for {field} needs a COUNT of at least 2, not {count}")
    if count > MAX_SWEEP_VALUES:
        # Checked here too, so an absurd COUNT fails before a list of that size is made.
        raise ConfigError(
            field, f"a sweep of {field} takes at most {MAX_SWEEP_VALUES} values, not {count}"
        )
    if kind == "logspace" and (low <= 0 or high <= 0):
        raise ConfigError(
            field, f"logspace for {field} needs LOW and HIGH above 0, not {low:g} and {high:g}"
        )
    return spaced_values(field, low, high, count, log=kind == "logspace")


def spaced_values(field: str, low: float, high: float, count: int, log: bool = False) -> list:
    """``count`` values of the number setting ``field`` evenly spaced from ``low`` to ``high``
    (on a log scale with ``log``), as a single run of each would store them: whole-number
    settings round each value, and values that round to the same number collapse."""
    hint = field_type(field)
    if hint not in (int, float):
        raise ConfigError(field, f"{field} is not a number setting, so its values are listed")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ConfigError(field, f"a sweep of {field} needs a finite low and high")
    if count < 1:
        raise ConfigError(field, f"a sweep of {field} needs at least one value, not {count}")
    if log:
        if low <= 0 or high <= 0:
            raise ConfigError(
                field,
                f"log-spaced values of {field} need a low and a high above 0, not {low:g} and "
                f"{high:g}; space them evenly instead",
            )
        points = [
            math.exp(math.log(low) + (math.log(high) - math.log(low)) * i / max(1, count - 1))
            for i in range(count)
        ]
    else:
        points = [low + (high - low) * i / max(1, count - 1) for i in range(count)]
    # Twelve significant digits: 0.30000000000000004 becomes 0.3, so a sweep's run ids match a
    # single run of the value a person would type.
    values = [round(p) if hint is int else float(f"{p:.12g}") for p in points]
    return list(dict.fromkeys(values))


def parse_value_list(field: str, text: str) -> list[Any]:
    """The values of the number setting ``field`` typed as a list (``0.05, 0.1 0.2``: separated
    by commas, semicolons or spaces), each parsed by the field's own parser."""
    parts = text.replace(";", " ").replace(",", " ").split()
    if not parts:
        example = "16, 32, 64" if field_type(field) is int else "0.05, 0.1, 0.2"
        raise ConfigError(
            field, f"type the values of {field} to sweep, separated by commas (e.g. {example})"
        )
    return [parse_setting(field, part) for part in parts]


def number_sweep_fields(variant: str) -> list[str]:
    """The settings of ``variant`` a sweep can vary that are numbers (the ones a range of values
    can be spaced along), in the config's order."""
    return [name for name in sweepable_fields(variant) if field_type(name) in (int, float)]


def suits_log_scale(field: str) -> bool:
    """Whether values of ``field`` are best spaced on a log scale: a setting marked ``log`` (a
    scale factor such as the learning rate), or a size that must be positive and may span
    orders of magnitude (code size, batch size, steps)."""
    meta = field_spec(field).metadata
    if meta.get("log"):
        return True
    low, high = meta.get("min"), meta.get("max")
    return low is not None and high is not None and low > 0 and high / low >= 100


def default_sweep_range(
    config: RunConfig, field: str, count: int = 3, log: bool | None = None
) -> tuple[float, float]:
    """A low and a high to offer for sweeping ``field`` over ``count`` values around its value
    in ``config``: half and twice the value (a tenth and ten times for a float on a log scale,
    such as the learning rate), kept within the field's range; when the config's rules refuse
    one of those values, the first of a few narrower ranges they accept. A setting at 0 goes
    up from 0 (a seed: 0, 1, 2)."""
    meta = field_spec(field).metadata
    is_int = field_type(field) is int
    log = suits_log_scale(field) if log is None else log
    value = float(getattr(config, field))
    low_bound = meta.get("min")
    high_bound = meta.get("max")
    if value == 0:
        if is_int:
            candidates = [(0.0, float(count - 1))]
        else:
            step = meta.get("step")
            top = 2 * step if step else (high_bound or 1.0) / 100
            candidates = [(0.0, top)]
    else:
        factor = 10.0 if log and not is_int else 2.0
        candidates = [
            (value / factor, value * factor),
            (value, value * factor),
            (value / factor, value),
            (value / 2, value),
            (value, value * 2),
        ]
    inside = []
    for low, high in candidates:
        if low_bound is not None:
            low = max(low, float(low_bound))
        if high_bound is not None:
            high = min(high, float(high_bound))
        if is_int:
            low, high = float(math.ceil(low)), float(math.floor(high))
        inside.append((low, high))
    for low, high in inside:
        try:
            values = spaced_values(field, low, high, count, log=log and low > 0)
            sweep_configs(config, field, values)
        except ConfigError:
            continue
        return low, high
    return inside[0]


def _example(field: str) -> str:
    return f"{field}=300;300,100" if takes_commas(field) else f"{field}=0.001,0.01"


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """``FIELD=VALUES`` (see ``parse_sweep_values``) as the field's name and its values."""
    field, separator, values = text.partition("=")
    field = field.strip()
    if not separator or not field:
        raise ConfigError("sweep", f"--sweep {text!r} is not of the form FIELD=VALUE,VALUE,...")
    field_spec(field)  # an unknown name fails listing the known settings
    return field, parse_sweep_values(field, values)


# -- a submitted sweep -----------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSnapshot:
    """A sweep at one moment: its members' snapshots in value order and how many are where."""

    field: str
    values: tuple[Any, ...]
    members: tuple[Snapshot, ...]
    done: int
    training: int
    queued: int
    failed: int
    ended: int  # stopped, cancelled or interrupted: finished without a full result
    finished: bool  # every member has finished, one way or another
    seconds_left: float | None  # estimated from the members' own speeds; None when unknown

    @property
    def total(self) -> int:
        return len(self.members)

    @property
    def fraction_done(self) -> float:
        """Steps done over all steps of the members (a finished member counts as whole)."""
        whole = sum(member.total_steps for member in self.members)
        done = sum(
            member.total_steps if member.finished else member.step for member in self.members
        )
        return done / whole if whole else 1.0


class Sweep:
    """K jobs that differ only in ``field``; ``jobs[i]`` trains ``values[i]``."""

    def __init__(
        self,
        field: str,
        values: Sequence[Any],
        jobs: Sequence[Job],
        workers: int = 1,
    ):
        self.field = field
        self.values = tuple(values)
        self.jobs = tuple(jobs)
        self.configs = tuple(job.config for job in self.jobs)
        self._workers = max(1, workers)
        self._lock = threading.Lock()
        self._snapshot: SweepSnapshot | None = None

    def __repr__(self) -> str:
        return f"Sweep({self.field!r}, {list(self.values)!r})"

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(job.run_id for job in self.jobs)

    def snapshot(self) -> SweepSnapshot:
        """Every member's snapshot and the counts; cheap when nothing changed since last time."""
        members = tuple(job.snapshot() for job in self.jobs)
        with self._lock:
            cached = self._snapshot
            # Job.snapshot() returns the same object until its job changes.
            if cached is not None and all(
                a is b for a, b in zip(cached.members, members, strict=True)
            ):
                return cached
            self._snapshot = self._build(members)
            return self._snapshot

    def _build(self, members: tuple[Snapshot, ...]) -> SweepSnapshot:
        states = [member.state for member in members]
        return SweepSnapshot(
            field=self.field,
            values=self.values,
            members=members,
            done=states.count("done"),
            training=states.count("training"),
            queued=states.count("queued"),
            failed=states.count("failed"),
            ended=sum(state in ("stopped", "cancelled", "interrupted") for state in states),
            finished=all(member.finished for member in members),
            seconds_left=estimate_seconds_left(members, self.configs, self._workers),
        )

    def stop(self) -> int:
        """Cancel the queued members, then stop the training ones (each keeps what it learned);
        how many members that affected. A member shared with someone else's identical
        submission is that same job, so it stops for them too, as ``Job.stop`` does."""
        # Queued ones first: stopping a training member frees a worker, which would otherwise
        # start the next queued member.
        affected = self.cancel()
        for job in self.jobs:
            if job.state == "training" and job.stop():
                affected += 1
        return affected

    def cancel(self) -> int:
        """Drop the members still queued; how many were."""
        return sum(1 for job in self.jobs if job.state == "queued" and job.cancel())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every member has finished; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.wait(left):
                return False
        return True


def estimate_seconds_left(
    members: Sequence[Snapshot], configs: Sequence[RunConfig], workers: int
) -> float | None:
    """Seconds until the members finish, from their own measured speeds.

    The work left is each member's steps left at its own training speed (a queued member's at
    the median speed the others have shown; None while none has shown one), shared out over the
    workers. A member's own time left already counts the turns it waits while others train, so
    the sweep never finishes before the slowest member says it will. Other people's runs on the
    same server are not counted.
    """
    speeds = [
        m.samples_per_s
        for m in members
        if m.state in ("training", "done") and m.samples_per_s and m.samples_per_s > 0
    ]
    median_speed = sorted(speeds)[len(speeds) // 2] if speeds else None
    work, longest = [], 0.0
    for member, config in zip(members, configs, strict=True):
        if member.state not in ACTIVE_STATES:
            continue
        speed = member.samples_per_s if member.state == "training" else None
        speed = speed or median_speed
        if speed is None:
            return None
        steps_left = (
            member.total_steps - member.step if member.state == "training" else config.steps
        )
        work.append(steps_left * config.batch_size / speed)
        if member.state == "training" and member.seconds_left is not None:
            longest = max(longest, member.seconds_left)
    if not work:
        return 0.0
    return max(longest, sum(work) / max(1, min(workers, len(work))))


def submit_sweep(
    manager: JobManager, config: RunConfig, field: str, values: Iterable[Any]
) -> Sweep:
    """Validate every member, then submit each through ``manager.submit`` in value order."""
    kept_values, configs = sweep_configs(config, field, values)
    jobs = [manager.submit(member) for member in configs]
    return Sweep(field, kept_values, jobs, workers=getattr(manager, "worker_count", 1))
