"""The training loop: many optimisation steps per call inside one compiled TensorFlow graph.

Python runs once per *chunk* of steps, not once per step: the training data is held as a tensor,
batch indices are drawn in-graph, and a ``tf.while_loop`` inside one XLA-compiled ``tf.function``
runs the chunk (about 3x Keras ``fit`` on a small net; benchmarks/trainer_speed.py measures it).
The step count is a loop bound read at run time, so chunks of any size share one compilation.
Chunks are sized to take about ``chunk_seconds`` so live charts stay fresh and a stop request is
honoured quickly. After each chunk the trainer reports a ``Progress`` to the callback; between
chunks it checks the stop event. The history holds one point per fixed window of steps, so it is
the same for the same config whatever the chunk sizes were.
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
# History points per phase, at most: each point is the mean over a fixed window of steps, so
# the history is the same whatever the chunk sizes (which follow the machine's speed).
POINTS_PER_PHASE = 500
# Windows one chunk can hold (the compiled chunk returns a fixed-size table of window sums).
MAX_WINDOWS_PER_CHUNK = 256


@dataclass(frozen=True)
class Progress:
    """What the trainer reports after each chunk; plain data, safe to hand to other threads."""

    step: int  # steps completed over the whole run, at the end of this point's window
    total_steps: int
    phase: str
    phase_index: int
    phase_count: int
    loss: float  # the window's mean total objective
    loss_terms: dict[str, float]  # the window's mean of each term
    mean_activation: list[float | None]  # per encoder layer; None where the phase does not run it
    samples_per_s: float  # over the chunk that ran this window (timing, not reproducible)
    elapsed: float  # seconds since training started, at the end of that chunk

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


class TF1RMSProp(keras.optimizers.RMSprop):
    """``tf.train.RMSPropOptimizer`` of TensorFlow 1: the mean square starts at 1, not 0, and
    epsilon 1e-10 sits inside the square root (SEED-NOTES 2).

    Starting at 1 makes the first updates about lr * gradient, where Keras's are about
    3 * lr * sign(gradient); the TensorFlow 1 tutorials' published losses were reached with it.
    """

    def __init__(self, learning_rate: float = 0.001, **kwargs):
        kwargs.setdefault("rho", 0.9)
        kwargs.setdefault("epsilon", 1e-10)
        super().__init__(learning_rate=learning_rate, **kwargs)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        for velocity in self._velocities:
            velocity.assign(keras.ops.ones_like(velocity))


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    optimizers = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "rmsprop_tf1": TF1RMSProp,
        "adam": keras.optimizers.Adam,
    }
    return optimizers[config.optimizer](learning_rate=config.learning_rate)


class _ChunkRunner:
    """One phase's compiled chunk of steps, with its own optimizer (as greedy training does).

    A chunk returns, per window of ``window`` steps, the sums of the loss terms and of the mean
    activations and the number of steps done, plus whether every step stayed finite.
    """

    def __init__(
        self,
        phase: Phase,
        data: tf.Tensor,
        rng: tf.random.Generator,
        config: RunConfig,
        window: int,
    ):
        optimizer = make_optimizer(config)
        optimizer.build(phase.variables)
        term_names, reported, variables = phase.term_names, phase.reported_layers, phase.variables
        batch_size, example_count = config.batch_size, int(data.shape[0])
        # A batch as large as the data is the data itself, each example once (as in full-batch
        # gradient descent), not a draw with replacement.
        full_batch = batch_size >= example_count

        def step(term_sums, activation_sums, done, finite, bad_terms):
            """One optimisation step; once a loss term is non-finite, no further update happens."""
            if full_batch:
                batch = data
            else:
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
                    done + 1,
                    finite,
                    bad_terms,
                )

            def halt():
                # Skip the update, so the weights stay those of the last good step.
                first_bad = tf.where(finite, values, bad_terms)
                return term_sums, activation_sums, done, tf.constant(False), first_bad

            return tf.cond(healthy, update, halt)

        @tf.function(jit_compile=True)
        def run_chunk(step_count):
            def one_window(term_table, activation_table, counts, completed, finite, bad):
                """Up to ``window`` steps, summed into the next row of the window tables."""
                steps_here = tf.minimum(window, step_count - completed)
                sums = (tf.zeros([len(term_names)]), tf.zeros([len(reported)]), tf.constant(0))
                term_sums, activation_sums, done, finite, bad = tf.while_loop(
                    lambda *s: tf.logical_and(s[3], s[2] < steps_here), step, (*sums, finite, bad)
                )
                row = [[completed // window]]
                return (
                    tf.tensor_scatter_nd_update(term_table, row, [term_sums]),
                    tf.tensor_scatter_nd_update(activation_table, row, [activation_sums]),
                    tf.tensor_scatter_nd_update(counts, row, [done]),
                    completed + done,
                    finite,
                    bad,
                )

            start = (
                tf.zeros([MAX_WINDOWS_PER_CHUNK, len(term_names)]),
                tf.zeros([MAX_WINDOWS_PER_CHUNK, len(reported)]),
                tf.zeros([MAX_WINDOWS_PER_CHUNK], dtype=tf.int32),
                tf.constant(0),
                tf.constant(True),
                tf.zeros([len(term_names)]),
            )
            keep_going = lambda *s: tf.logical_and(s[4], s[3] < step_count)  # noqa: E731
            return tf.while_loop(keep_going, one_window, start)

        self._run_chunk = run_chunk
        # Trace and compile now, with zero steps, so the first real chunk is timed fairly.
        run_chunk(tf.constant(0))

    def run(self, step_count: int):
        outputs = self._run_chunk(tf.constant(step_count))
        term_sums, activation_sums, counts, completed, finite, bad = (o.numpy() for o in outputs)
        return term_sums, activation_sums, counts, int(completed), bool(finite), bad


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
    on_chunk: Callable[[Autoencoder, int], None] | None = None,
    stop_event: threading.Event | None = None,
    chunk_seconds: float = 0.3,
) -> TrainResult:
    """Train a model for ``config``; returns whatever was learned, also when stopped or failed.

    ``on_progress`` gets each history point; ``on_chunk(model, step)`` is called between chunks
    (the model is not changing then), for example to save a checkpoint of a running run.
    """
    dataset = dataset if dataset is not None else load_dataset(config.dataset)
    variant = registry.get(config.variant)
    model = variant.build(config, dataset.info.input_dim)
    data = tf.constant(dataset.x_train)
    rng = tf.random.Generator.from_seed(config.seed)
    schedule = variant.phases(model, config)
    total_steps = sum(steps for _, steps in schedule)
    samples_per_step = min(config.batch_size, len(dataset.x_train))  # full batch: the data once

    history: list[Progress] = []
    status: Status = "done"
    reason = None
    step = 0
    training_seconds = 0.0
    started = time.perf_counter()
    for phase_index, (phase, phase_steps) in enumerate(schedule):
        window = max(1, math.ceil(phase_steps / POINTS_PER_PHASE))
        runner = _ChunkRunner(phase, data, rng, config, window)
        windows_per_chunk = max(1, FIRST_CHUNK_STEPS // window)
        phase_done = 0
        while phase_done < phase_steps:
            if stop_event is not None and stop_event.is_set():
                status, reason = "stopped", f"stopped by request at step {step} of {total_steps}"
                break
            count = min(windows_per_chunk * window, phase_steps - phase_done)
            chunk_started = time.perf_counter()
            term_sums, activation_sums, counts, completed, finite, bad = runner.run(count)
            seconds = time.perf_counter() - chunk_started
            training_seconds += seconds
            elapsed = time.perf_counter() - started
            for slot in np.flatnonzero(counts):
                step += int(counts[slot])
                terms = {
                    name: float(total / counts[slot])
                    for name, total in zip(phase.term_names, term_sums[slot], strict=True)
                }
                layer_means = iter(activation_sums[slot] / counts[slot])
                progress = Progress(
                    step=step,
                    total_steps=total_steps,
                    phase=phase.name,
                    phase_index=phase_index,
                    phase_count=len(schedule),
                    loss=float(sum(terms.values())),
                    loss_terms=terms,
                    mean_activation=[
                        float(next(layer_means)) if i in phase.reported_layers else None
                        for i in range(model.encoder_depth)
                    ],
                    samples_per_s=completed * samples_per_step / max(seconds, 1e-9),
                    elapsed=elapsed,
                )
                history.append(progress)
                if on_progress is not None:
                    on_progress(progress)
            phase_done += completed
            if on_chunk is not None and finite and phase_done < phase_steps:
                on_chunk(model, step)
            if not finite:
                status, reason = "failed", _non_finite_reason(phase.term_names, bad, step + 1)
                break
            per_window = seconds / max(count / window, 1e-9)
            windows_per_chunk = int(
                min(MAX_WINDOWS_PER_CHUNK, max(1, chunk_seconds / max(per_window, 1e-9)))
            )
        if status != "done":
            break

    steps_samples = step * samples_per_step
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
