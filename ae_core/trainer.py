"""The training loop: many optimisation steps per call inside one compiled TensorFlow graph.

Python runs once per *chunk* of steps, not once per step: the training data is held as a tensor,
batch indices are drawn in-graph, and a ``tf.while_loop`` inside one XLA-compiled ``tf.function``
runs the chunk (about 3x Keras ``fit`` on a small net; benchmarks/trainer_speed.py measures it).
The step count is a loop bound read at run time, so chunks of any size share one compilation.
Chunks are sized to take about ``chunk_seconds`` so live charts stay fresh and a stop request is
honoured quickly. After each chunk the trainer reports a ``Progress`` to the callback; between
chunks it checks the stop event.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from ae_core import registry
from ae_core.config import RunConfig
from ae_core.data import Dataset, load_dataset
from ae_core.model import Autoencoder, Phase

Status = Literal["done", "stopped", "failed"]


class _NoRetracingWarning(logging.Filter):
    # Each run compiles its own chunk function on purpose (new model, new variables); TensorFlow
    # counts those as "retracing" of one Python function and warns after a few runs.
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetracingWarning())

# The first chunk is short so the first loss point appears within a second of starting.
FIRST_CHUNK_STEPS = 20
MAX_CHUNK_STEPS = 20_000


@dataclass(frozen=True)
class Progress:
    """What the trainer reports after each chunk; plain data, safe to hand to other threads."""

    step: int  # steps completed over the whole run
    total_steps: int
    phase: str
    phase_index: int
    phase_count: int
    loss: float  # the chunk's mean total objective
    loss_terms: dict[str, float]  # the chunk's mean of each term
    mean_activation: list[float | None]  # per encoder layer; None where the phase does not run it
    samples_per_s: float  # over this chunk
    elapsed: float  # seconds since training started

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    config: RunConfig
    model: Autoencoder
    dataset: Dataset
    status: Status
    reason: str | None
    steps_done: int
    seconds: float  # wall time of the training loop, compile time included
    samples_per_s: float  # over all chunks, compile time excluded
    history: list[Progress] = field(default_factory=list)


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    optimizers = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adam": keras.optimizers.Adam,
    }
    return optimizers[config.optimizer](learning_rate=config.learning_rate)


class _ChunkRunner:
    """One phase's compiled chunk of steps, with its own optimizer (as greedy training does)."""

    def __init__(self, phase: Phase, data: tf.Tensor, rng: tf.random.Generator, config: RunConfig):
        self.phase = phase
        self.optimizer = make_optimizer(config)
        self.optimizer.build(phase.variables)
        term_names, reported = phase.term_names, phase.reported_layers
        variables, optimizer = phase.variables, self.optimizer
        batch_size, example_count = config.batch_size, int(data.shape[0])

        def step(term_sums, activation_sums, completed, finite, bad_terms):
            """One optimisation step; once a loss term is non-finite, no further update happens."""
            indices = rng.uniform([batch_size], 0, example_count, dtype=tf.int64)
            batch = tf.gather(data, indices)
            with tf.GradientTape() as tape:
                terms, means = phase.compute(batch, rng, True)
                values = tf.stack([terms[name] for name in term_names])
                total = tf.reduce_sum(values)
            gradients = tape.gradient(total, variables)
            healthy = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(values)))

            def update():
                optimizer.apply(gradients, variables)
                activations = tf.stack([means[i] for i in reported])
                return (
                    term_sums + values,
                    activation_sums + activations,
                    completed + 1,
                    finite,
                    bad_terms,
                )

            def halt():
                # Skip the update, so the weights stay those of the last good step.
                first_bad = tf.where(finite, values, bad_terms)
                return term_sums, activation_sums, completed, tf.constant(False), first_bad

            return tf.cond(healthy, update, halt)

        @tf.function(jit_compile=True)
        def run_chunk(step_count):
            start = (
                tf.zeros([len(term_names)]),
                tf.zeros([len(reported)]),
                tf.constant(0),
                tf.constant(True),
                tf.zeros([len(term_names)]),
            )
            return tf.while_loop(lambda *s: tf.logical_and(s[3], s[2] < step_count), step, start)

        self._run_chunk = run_chunk
        # Trace and compile now, with zero steps, so the first real chunk is timed fairly.
        run_chunk(tf.constant(0))

    def run(self, step_count: int):
        sums, activations, completed, finite, bad = self._run_chunk(tf.constant(step_count))
        return sums.numpy(), activations.numpy(), int(completed), bool(finite), bad.numpy()


def _non_finite_reason(term_names, values, step: int) -> str:
    broken = [(n, v) for n, v in zip(term_names, values, strict=True) if not np.isfinite(v)]
    name, value = broken[0]
    what = "NaN" if np.isnan(value) else "infinite"
    return (
        f"the {name} loss became {what} at step {step}, so training stopped there "
        "(a smaller learning rate or loss weight usually helps)"
    )


def train(
    config: RunConfig,
    dataset: Dataset | None = None,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    chunk_seconds: float = 0.3,
) -> TrainResult:
    """Train a model for ``config``; returns whatever was learned, also when stopped or failed."""
    dataset = dataset if dataset is not None else load_dataset(config.dataset)
    variant = registry.get(config.variant)
    model = variant.build(config, dataset.info.input_dim)
    data = tf.constant(dataset.x_train)
    rng = tf.random.Generator.from_seed(config.seed)
    schedule = variant.phases(model, config)
    total_steps = sum(steps for _, steps in schedule)

    history: list[Progress] = []
    status: Status = "done"
    reason = None
    step = 0
    training_seconds = 0.0
    started = time.perf_counter()
    for phase_index, (phase, phase_steps) in enumerate(schedule):
        runner = _ChunkRunner(phase, data, rng, config)
        chunk = min(FIRST_CHUNK_STEPS, phase_steps)
        phase_done = 0
        while phase_done < phase_steps:
            if stop_event is not None and stop_event.is_set():
                status, reason = "stopped", f"stopped by request at step {step} of {total_steps}"
                break
            count = min(chunk, phase_steps - phase_done)
            chunk_started = time.perf_counter()
            sums, activation_sums, completed, finite, bad = runner.run(count)
            seconds = time.perf_counter() - chunk_started
            training_seconds += seconds
            step += completed
            phase_done += completed
            if completed:
                means = iter(activation_sums / completed)
                terms = {
                    n: float(v / completed) for n, v in zip(phase.term_names, sums, strict=True)
                }
                progress = Progress(
                    step=step,
                    total_steps=total_steps,
                    phase=phase.name,
                    phase_index=phase_index,
                    phase_count=len(schedule),
                    loss=float(sum(terms.values())),
                    loss_terms=terms,
                    mean_activation=[
                        float(next(means)) if i in phase.reported_layers else None
                        for i in range(model.encoder_depth)
                    ],
                    samples_per_s=completed * config.batch_size / max(seconds, 1e-9),
                    elapsed=time.perf_counter() - started,
                )
                history.append(progress)
                if on_progress is not None:
                    on_progress(progress)
            if not finite:
                status, reason = "failed", _non_finite_reason(phase.term_names, bad, step + 1)
                break
            per_step = seconds / max(count, 1)
            chunk = int(min(MAX_CHUNK_STEPS, max(1, chunk_seconds / max(per_step, 1e-9))))
        if status != "done":
            break

    steps_samples = step * config.batch_size
    return TrainResult(
        config=config,
        model=model,
        dataset=dataset,
        status=status,
        reason=reason,
        steps_done=step,
        seconds=time.perf_counter() - started,
        samples_per_s=steps_samples / training_seconds if training_seconds > 0 else math.nan,
        history=history,
    )
