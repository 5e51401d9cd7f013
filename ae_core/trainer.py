"""The training loop: many optimisation steps per call inside one compiled TensorFlow graph.

Python runs once per *chunk* of steps, not once per step: the training data is held as a tensor,
batch indices are drawn in-graph, and a ``tf.while_loop`` inside one XLA-compiled ``tf.function``
runs the chunk (about 3x Keras ``fit`` on a small net; benchmarks/trainer_speed.py measures it).
The step count is a loop bound read at run time, so chunks of any size share one compilation.
Chunks are sized to take about ``chunk_seconds`` so live charts stay fresh and a stop request is
honoured quickly. After each chunk the trainer reports a ``Progress`` to the callback; between
chunks it checks the stop event. The history holds one point per fixed window of steps, so it is
the same for the same config whatever the chunk sizes were.

Compile once per shape: a ``CompiledModel`` holds a model, its optimizers, its random stream and
its compiled chunks for one ``RunConfig.shape_signature``. Everything a slider changes without
changing a tensor's shape (learning rate, loss weights, sparsity target, noise level, seed,
initialisation, steps) is a variable or an argument of the compiled chunk, so a new run of a
known shape re-initialises the variables in place (same initialisers and seeds as a fresh
build, so its numbers do not depend on what trained before) and starts without compiling. A
``CompiledCache`` keeps the compiled models of a process; ``RunTraining`` is one run advanced a
chunk at a time, so a worker can interleave several runs of one shape (``CompiledModel`` swaps
their weights and optimizer state in and out between chunks).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from ae_core import registry
from ae_core.config import RunConfig
from ae_core.data import Dataset, load_dataset
from ae_core.model import Autoencoder, Phase, RunTimeSettings
from ae_core.run_states import TrainingEnd


class _NoRetracingWarning(logging.Filter):
    # Each shape compiles its own chunk function on purpose (new model, new variables);
    # TensorFlow counts those as "retracing" of one Python function and warns after a few.
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_NoRetracingWarning())

# The first chunk is short so the first loss point appears within a second of starting.
FIRST_CHUNK_STEPS = 20
# How long a chunk should take: live charts stay fresh and a stop request is honoured quickly.
CHUNK_SECONDS = 0.3
# History points per phase, at most: each point is the mean over a fixed window of steps, so
# the history is the same whatever the chunk sizes (which follow the machine's speed).
POINTS_PER_PHASE = 500
# Windows one chunk can hold (the compiled chunk returns a fixed-size table of window sums).
MAX_WINDOWS_PER_CHUNK = 256
# The held-out set: the first this many test examples of the dataset, the same for every run of
# it. A point's held-out loss is the reconstruction term on them with the weights at the end of
# its window, measured on at most HELD_OUT_POINTS_PER_PHASE evenly spaced points of a phase, its
# last among them. One measurement costs about 60 % of a window's training at the default
# sparse_kl settings (windows of 4 steps), so 25 of them add about 3 % to the run
# (benchmarks/held_out_cost.py); every point would add 60 %.
HELD_OUT_EXAMPLES = 500
HELD_OUT_POINTS_PER_PHASE = 25
# The fractions of a run's steps at which its weights are kept as snapshots (the final model is
# the 100 % one); each lands on the first history window boundary at or after its fraction.
SNAPSHOT_FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


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
    # The phase's reconstruction term on the held-out set (``held_out_examples`` test examples,
    # clean, a VAE's mean code) with the weights at the end of this window; None on the points
    # it is not measured on.
    held_out_loss: float | None = None
    held_out_examples: int | None = None

    def to_dict(self) -> dict:
        """The point as plain data; a point with no held-out measurement has no held-out keys,
        like the histories stored before there was one."""
        point = asdict(self)
        if self.held_out_loss is None:
            del point["held_out_loss"], point["held_out_examples"]
        return point


@dataclass
class TrainResult:
    config: RunConfig
    model: Autoencoder
    dataset: Dataset
    status: TrainingEnd
    reason: str | None
    steps_done: int
    seconds: float  # wall time of the training loop, compile time included
    samples_per_s: float  # over all chunks, compile time excluded
    history: list[Progress] = field(default_factory=list)


class TF1RMSProp(keras.optimizers.RMSprop):
    """``tf.train.RMSPropOptimizer`` of TensorFlow 1: the mean square starts at 1, not 0, and
    epsilon 1e-10 sits inside the square root, as in TensorFlow 1.

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


# Compiled models a process keeps (each holds its variables and native compiled code, tens of MB
# for the larger nets); the least recently used one is dropped past this.
COMPILED_CACHE_SIZE = 4


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    optimizers = {
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "rmsprop_tf1": TF1RMSProp,
        "adam": keras.optimizers.Adam,
    }
    return optimizers[config.optimizer](learning_rate=config.learning_rate)


class _WindowState(NamedTuple):
    """The state of the loop over one window's steps, in the compiled chunk."""

    term_sums: tf.Tensor  # each loss term, summed over the window's steps so far
    activation_sums: tf.Tensor  # each reported layer's mean activation, summed likewise
    done: tf.Tensor  # steps done in the window
    finite: tf.Tensor  # every step of the chunk so far kept its loss terms finite
    bad_terms: tf.Tensor  # the loss terms of the first step that did not (zeros until then)


class _ChunkState(NamedTuple):
    """The state of the loop over a chunk's windows, a row of the tables per window: tensors in
    the compiled chunk, NumPy arrays (``completed`` an int, ``finite`` a bool) once returned."""

    term_sums: Any  # a window's loss terms, summed over its steps
    activation_sums: Any  # a window's reported mean activations, summed over its steps
    counts: Any  # the steps each window did (0 for the rows no window reached)
    held_out: Any  # the held-out loss after each window; NaN where it was not measured
    completed: Any  # steps done in the chunk
    finite: Any  # every step kept its loss terms finite
    bad_terms: Any  # the loss terms of the first step that did not (zeros until then)


def _while(condition: Callable, body: Callable, state: tuple) -> tuple:
    """``tf.while_loop`` over one NamedTuple ``state``: ``condition(state)`` and ``body(state)``
    see it whole (tf.while_loop passes the fields of its loop variables as separate arguments)."""
    [final] = tf.while_loop(condition, lambda current: (body(current),), (state,))
    return final


class _ChunkRunner:
    """One phase's compiled chunk of steps, with its own optimizer (as greedy training does).

    A chunk returns, per window of ``window`` steps, the sums of the loss terms and of the mean
    activations, the number of steps done and the held-out loss where it was measured (NaN
    elsewhere, and where it came out non-finite), plus whether every step stayed finite. The
    step count, the window and the held-out schedule are arguments and the learning rate is the
    optimizer's variable, so one compilation serves every run of the shape.
    """

    def __init__(
        self,
        phase: Phase,
        data: tf.Tensor,
        held_out: tf.Tensor,
        rng: tf.random.Generator,
        config: RunConfig,
    ):
        optimizer = make_optimizer(config)
        optimizer.build(phase.variables)
        self.optimizer = optimizer
        # What a fresh optimizer holds (zeros, TensorFlow 1 RMSProp's ones): restored per run.
        self._initial_state = [variable.numpy() for variable in optimizer.variables]
        term_names, reported, variables = phase.term_names, phase.reported_layers, phase.variables
        batch_size, example_count = config.batch_size, int(data.shape[0])
        # A batch as large as the data is the data itself, each example once (as in full-batch
        # gradient descent), not a draw with replacement.
        full_batch = batch_size >= example_count

        def step(state: _WindowState) -> _WindowState:
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
            healthy = tf.logical_and(state.finite, tf.reduce_all(tf.math.is_finite(values)))

            def update():
                optimizer.apply(gradients, variables)
                activations = tf.stack([means[i] for i in reported])
                return state._replace(
                    term_sums=state.term_sums + values,
                    activation_sums=state.activation_sums + activations,
                    done=state.done + 1,
                )

            def halt():
                # Skip the update, so the weights stay those of the last good step.
                first_bad = tf.where(state.finite, values, state.bad_terms)
                return state._replace(finite=tf.constant(False), bad_terms=first_bad)

            return tf.cond(healthy, update, halt)

        def held_out_loss():
            # Not training: clean inputs, a VAE's mean code, and no draw from the random stream,
            # so measuring it leaves the run's batches and noise exactly as they were.
            terms, _ = phase.compute(held_out, rng, False)
            return terms["reconstruction"]

        @tf.function(jit_compile=True)
        def run_chunk(step_count, window, first_window, held_out_every, last_window):
            def one_window(chunk: _ChunkState) -> _ChunkState:
                """Up to ``window`` steps, summed into the next row of the window tables."""
                steps_here = tf.minimum(window, step_count - chunk.completed)
                sums = _WindowState(
                    term_sums=tf.zeros([len(term_names)]),
                    activation_sums=tf.zeros([len(reported)]),
                    done=tf.constant(0),
                    finite=chunk.finite,
                    bad_terms=chunk.bad_terms,
                )
                sums = _while(
                    lambda state: tf.logical_and(state.finite, state.done < steps_here), step, sums
                )
                row = [[chunk.completed // window]]
                # The window's index in its phase: the schedule does not depend on the chunks.
                index = first_window + chunk.completed // window
                scheduled = tf.logical_or(
                    tf.logical_and(held_out_every > 0, (index + 1) % held_out_every == 0),
                    index == last_window,
                )
                measure = tf.logical_and(
                    scheduled, tf.logical_and(sums.finite, sums.done == steps_here)
                )
                held = tf.cond(measure, held_out_loss, lambda: tf.constant(math.nan))
                return _ChunkState(
                    term_sums=tf.tensor_scatter_nd_update(chunk.term_sums, row, [sums.term_sums]),
                    activation_sums=tf.tensor_scatter_nd_update(
                        chunk.activation_sums, row, [sums.activation_sums]
                    ),
                    counts=tf.tensor_scatter_nd_update(chunk.counts, row, [sums.done]),
                    held_out=tf.tensor_scatter_nd_update(chunk.held_out, row, [held]),
                    completed=chunk.completed + sums.done,
                    finite=sums.finite,
                    bad_terms=sums.bad_terms,
                )

            start = _ChunkState(
                term_sums=tf.zeros([MAX_WINDOWS_PER_CHUNK, len(term_names)]),
                activation_sums=tf.zeros([MAX_WINDOWS_PER_CHUNK, len(reported)]),
                counts=tf.zeros([MAX_WINDOWS_PER_CHUNK], dtype=tf.int32),
                held_out=tf.fill([MAX_WINDOWS_PER_CHUNK], math.nan),
                completed=tf.constant(0),
                finite=tf.constant(True),
                bad_terms=tf.zeros([len(term_names)]),
            )
            return _while(
                lambda chunk: tf.logical_and(chunk.finite, chunk.completed < step_count),
                one_window,
                start,
            )

        self._run_chunk = run_chunk
        # Trace and compile now, with zero steps, so the first real chunk is timed fairly.
        self.run(0, 1)

    def reset(self, learning_rate: float) -> None:
        """A fresh optimizer for a new run: its initial state, this run's learning rate."""
        for variable, value in zip(self.optimizer.variables, self._initial_state, strict=True):
            variable.assign(value)
        self.optimizer.learning_rate = learning_rate

    def run(
        self,
        step_count: int,
        window: int,
        first_window: int = 0,
        held_out_every: int = 0,
        last_window: int = -1,
    ) -> _ChunkState:
        """``step_count`` steps in windows of ``window``; the held-out loss is measured after
        every ``held_out_every``-th window of the phase (0: none) and after its ``last_window``
        (windows counted from 0 in the phase; this chunk's first is ``first_window``)."""
        arguments = (step_count, window, first_window, held_out_every, last_window)
        outputs = self._run_chunk(*(tf.constant(value) for value in arguments))
        chunk = _ChunkState(*(output.numpy() for output in outputs))
        return chunk._replace(completed=int(chunk.completed), finite=bool(chunk.finite))


class CompiledModel:
    """A model with its compiled training chunks for one shape signature, reused by every run of
    that signature; ``load`` makes its variables those of one run (see the module's docstring)."""

    def __init__(self, config: RunConfig, dataset: Dataset):
        variant = registry.get(config.variant)
        self.signature = compiled_signature(config, dataset)
        self.model = variant.build(config, dataset.info.input_dim)
        self.settings = RunTimeSettings(config)
        self.rng = tf.random.Generator.from_seed(config.seed)
        data = tf.constant(dataset.x_train)
        held_out = tf.constant(held_out_set(dataset))
        self.phases = variant.phases(self.model, self.settings)
        self.runners = [
            _ChunkRunner(phase, data, held_out, self.rng, config) for phase in self.phases
        ]
        # The run whose weights and optimizer state the variables hold now.
        self.owner: RunTraining | None = None

    def _state_variables(self) -> list:
        optimizer_variables = [v for runner in self.runners for v in runner.optimizer.variables]
        return [*self.model.weights, *optimizer_variables, self.rng.state]

    def start(self, config: RunConfig) -> None:
        """Make the variables those of a new run of ``config``: as a fresh build would."""
        self.model.reinitialise(config)
        self.settings.load(config)
        self.rng.reset_from_seed(config.seed)
        for runner in self.runners:
            runner.reset(config.learning_rate)

    def continue_from(self, config: RunConfig, weights: list[np.ndarray]) -> None:
        """Make the variables those of a continuation of ``config`` (``ae_core.continuation``):
        its parent's ``weights``, a fresh optimizer, the continuation's own random stream."""
        from ae_core.continuation import stream_seed

        self.start(config)
        self.model.set_weights(weights)
        self.rng.reset_from_seed(stream_seed(config))

    def capture(self) -> list[np.ndarray]:
        """The current run's whole state (weights, optimizer slots, random stream), as copies."""
        return [np.array(variable.numpy()) for variable in self._state_variables()]

    def restore(self, config: RunConfig, state: list[np.ndarray]) -> None:
        """Put back a run's state taken by ``capture``."""
        self.model.run_config = config
        self.settings.load(config)
        for variable, value in zip(self._state_variables(), state, strict=True):
            variable.assign(value)


def held_out_set(dataset: Dataset) -> np.ndarray:
    """The fixed held-out set of a dataset: its first ``HELD_OUT_EXAMPLES`` test examples."""
    return dataset.x_test[:HELD_OUT_EXAMPLES]


def held_out_schedule(phase_steps: int, window: int) -> tuple[int, int]:
    """(every how many windows, index of the last window) of a phase's held-out measurements;
    (0, -1), none, when ``HELD_OUT_POINTS_PER_PHASE`` is 0."""
    if HELD_OUT_POINTS_PER_PHASE <= 0:
        return 0, -1
    windows = math.ceil(phase_steps / window)
    return math.ceil(windows / HELD_OUT_POINTS_PER_PHASE), windows - 1


def snapshot_targets(total_steps: int) -> list[int]:
    """The steps the snapshots of a run of ``total_steps`` aim at (each kept at the first window
    boundary at or after its target), in order, without repeats."""
    targets = {max(1, math.ceil(fraction * total_steps)) for fraction in SNAPSHOT_FRACTIONS}
    return sorted(target for target in targets if target < total_steps)


def compiled_signature(config: RunConfig, dataset: Dataset) -> tuple:
    """What a compiled model can be reused for: the config's shape and the very data tensor."""
    return (config.shape_signature, id(dataset))


class CompiledCache:
    """The compiled models of this process by signature, the least recently used dropped past
    ``capacity``. ``compilations`` counts the models built (each compiles its chunks once)."""

    def __init__(self, capacity: int = COMPILED_CACHE_SIZE):
        self.capacity = capacity
        self.compilations = 0
        self._models: dict[tuple, CompiledModel] = {}
        # Datasets by id, held so an id in a signature cannot be reused by another object.
        self._datasets: dict[int, Dataset] = {}

    def get(self, config: RunConfig, dataset: Dataset) -> CompiledModel:
        signature = compiled_signature(config, dataset)
        compiled = self._models.pop(signature, None)
        if compiled is None:
            compiled = CompiledModel(config, dataset)
            self.compilations += 1
            self._datasets[id(dataset)] = dataset
        self._models[signature] = compiled  # most recently used last
        while len(self._models) > self.capacity:
            del self._models[next(iter(self._models))]
        return compiled

    def __len__(self) -> int:
        return len(self._models)


def _non_finite_reason(term_names, values, step: int) -> str:
    broken = [(n, v) for n, v in zip(term_names, values, strict=True) if not np.isfinite(v)]
    name, value = broken[0]
    what = "NaN" if np.isnan(value) else "infinite"
    return (
        f"the {name} loss became {what} at step {step:,}, so training stopped there "
        "(a smaller learning rate or loss weight usually helps)"
    )


class RunTraining:
    """One run, trained a chunk at a time on a compiled model of its shape.

    ``advance()`` runs the next chunk (first loading this run's state into the compiled model's
    variables when another run used them since) and says whether the run has finished;
    ``result()`` then gives what was learned. While another run of the same compiled model
    advances, this one's state waits as copies, so several runs can take turns.
    """

    def __init__(
        self,
        config: RunConfig,
        dataset: Dataset,
        compiled: CompiledModel,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_chunk: Callable[[Autoencoder, int], None] | None = None,
        on_snapshot: Callable[[Autoencoder, int], None] | None = None,
        chunk_seconds: float = CHUNK_SECONDS,
        started: float | None = None,
        parent_weights: list[np.ndarray] | None = None,
    ):
        if (parent_weights is None) != (config.parent is None):
            raise ValueError("a continuation starts from its parent's weights, and only it")
        if compiled.signature != compiled_signature(config, dataset):
            raise ValueError(f"the compiled model does not fit the shape of {config.variant}")
        self.config, self.dataset, self.compiled = config, dataset, compiled
        self.on_progress, self.on_chunk = on_progress, on_chunk
        self.on_snapshot = on_snapshot
        self.chunk_seconds = chunk_seconds
        variant = registry.get(config.variant)
        self.phase_steps = variant.phase_steps(config)
        if config.parent is not None:  # the parent's last phase, on from its last step
            self.phase_steps = [0] * (len(self.phase_steps) - 1) + [config.extra_steps]
        self.total_steps = config.start_step + sum(self.phase_steps)
        # The snapshot steps still ahead (a continuation's along its own steps); a chunk ends at
        # the window boundary reaching the next.
        self._snapshot_targets = (
            [config.start_step + step for step in snapshot_targets(sum(self.phase_steps))]
            if on_snapshot
            else []
        )
        self.samples_per_step = min(config.batch_size, len(dataset.x_train))  # full batch: once
        self.held_out_examples = len(held_out_set(dataset))
        self.history: list[Progress] = []
        self.status: TrainingEnd = "done"
        self.reason: str | None = None
        self.step = config.start_step
        self.finished = False
        self.training_seconds = 0.0
        self.started = time.perf_counter() if started is None else started
        self._phase_index = 0
        self._phase_done = 0
        self._windows_per_chunk: int | None = None
        self._saved_state: list[np.ndarray] | None = None
        self._parent_weights = parent_weights
        self._begun = False

    @property
    def _window(self) -> int:
        return max(1, math.ceil(self.phase_steps[self._phase_index] / POINTS_PER_PHASE))

    def _take_variables(self) -> None:
        compiled = self.compiled
        if compiled.owner is self:
            return
        previous = compiled.owner
        if previous is not None and not previous.finished:
            previous._saved_state = compiled.capture()
        if self._begun:
            compiled.restore(self.config, self._saved_state)
            self._saved_state = None
        elif self._parent_weights is not None:
            compiled.continue_from(self.config, self._parent_weights)
            self._parent_weights, self._begun = None, True
        else:
            compiled.start(self.config)
            self._begun = True
        compiled.owner = self

    def advance(self, stop_requested: bool = False) -> bool:
        """Run one chunk; True once the run has finished (done, stopped or failed)."""
        if self.finished:
            return True
        if stop_requested:
            self.status = "stopped"
            self.reason = f"stopped by request at step {self.step:,} of {self.total_steps:,}"
            return self._finish()
        while self._phase_done >= self.phase_steps[self._phase_index]:
            if self._phase_index + 1 == len(self.phase_steps):
                return self._finish()
            self._phase_index, self._phase_done, self._windows_per_chunk = (
                self._phase_index + 1,
                0,
                None,
            )
        self._take_variables()
        phase_steps, window = self.phase_steps[self._phase_index], self._window
        phase = self.compiled.phases[self._phase_index]
        runner = self.compiled.runners[self._phase_index]
        if self._windows_per_chunk is None:
            self._windows_per_chunk = max(1, FIRST_CHUNK_STEPS // window)
        count = min(self._windows_per_chunk * window, phase_steps - self._phase_done)
        if self._snapshot_targets:
            to_target = self._snapshot_targets[0] - self.step
            count = min(count, math.ceil(to_target / window) * window)
        every, last_window = held_out_schedule(phase_steps, window)
        chunk_started = time.perf_counter()
        chunk = runner.run(count, window, self._phase_done // window, every, last_window)
        seconds = time.perf_counter() - chunk_started
        self.training_seconds += seconds
        for progress in self._chunk_points(phase, chunk, seconds):
            self.step = progress.step
            self.history.append(progress)
            if self.on_progress is not None:
                self.on_progress(progress)
        self._phase_done += chunk.completed
        if not chunk.finite:
            self.status = "failed"
            self.reason = _non_finite_reason(phase.term_names, chunk.bad_terms, self.step + 1)
            return self._finish()
        if self._snapshot_targets and self.step >= self._snapshot_targets[0]:
            while self._snapshot_targets and self.step >= self._snapshot_targets[0]:
                self._snapshot_targets.pop(0)
            self.on_snapshot(self.compiled.model, self.step)
        if self.on_chunk is not None and self._phase_done < phase_steps:
            self.on_chunk(self.compiled.model, self.step)
        per_window = seconds / max(count / window, 1e-9)
        self._windows_per_chunk = int(
            min(MAX_WINDOWS_PER_CHUNK, max(1, self.chunk_seconds / max(per_window, 1e-9)))
        )
        if self._phase_done >= phase_steps and self._phase_index + 1 == len(self.phase_steps):
            return self._finish()
        return False

    def _chunk_points(self, phase: Phase, chunk: _ChunkState, seconds: float) -> list[Progress]:
        """The history points of a chunk of ``phase`` that took ``seconds``: one per window it
        ran, each the means over that window's steps, their steps counted on from the run's."""
        elapsed = time.perf_counter() - self.started
        encoder_depth = self.compiled.model.encoder_depth
        points, step = [], self.step
        for slot in np.flatnonzero(chunk.counts):
            steps = chunk.counts[slot]
            step += int(steps)
            terms = {
                name: float(total / steps)
                for name, total in zip(phase.term_names, chunk.term_sums[slot], strict=True)
            }
            layer_means = iter(chunk.activation_sums[slot] / steps)
            measured = bool(np.isfinite(chunk.held_out[slot]))
            points.append(
                Progress(
                    step=step,
                    total_steps=self.total_steps,
                    phase=phase.name,
                    phase_index=self._phase_index,
                    phase_count=len(self.phase_steps),
                    loss=float(sum(terms.values())),
                    loss_terms=terms,
                    mean_activation=[
                        float(next(layer_means)) if i in phase.reported_layers else None
                        for i in range(encoder_depth)
                    ],
                    samples_per_s=chunk.completed * self.samples_per_step / max(seconds, 1e-9),
                    elapsed=elapsed,
                    held_out_loss=float(chunk.held_out[slot]) if measured else None,
                    held_out_examples=self.held_out_examples if measured else None,
                )
            )
        return points

    def _finish(self) -> bool:
        if not self.finished:
            self._take_variables()  # the result's model must hold this run's weights
            self.finished = True
            self.seconds = time.perf_counter() - self.started
        return True

    def result(self) -> TrainResult:
        """What was learned. The model is the compiled model's: the next run of this shape
        re-initialises it, so save or measure it first."""
        if not self.finished:
            raise RuntimeError("the run has not finished")
        samples = (self.step - self.config.start_step) * self.samples_per_step
        speed = samples / self.training_seconds if self.training_seconds > 0 else math.nan
        return TrainResult(
            config=self.config,
            model=self.compiled.model,
            dataset=self.dataset,
            status=self.status,
            reason=self.reason,
            steps_done=self.step,
            seconds=self.seconds,
            samples_per_s=speed,
            history=self.history,
        )


def train(
    config: RunConfig,
    dataset: Dataset | None = None,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_chunk: Callable[[Autoencoder, int], None] | None = None,
    on_snapshot: Callable[[Autoencoder, int], None] | None = None,
    stop_event: threading.Event | None = None,
    chunk_seconds: float = CHUNK_SECONDS,
    cache: CompiledCache | None = None,
) -> TrainResult:
    """Train a model for ``config``; returns whatever was learned, also when stopped or failed.

    ``on_progress`` gets each history point; ``on_chunk(model, step)`` is called between chunks
    (the model is not changing then), for example to save a checkpoint of a running run;
    ``on_snapshot(model, step)`` at the steps ``snapshot_targets`` gives (chunks end there, which
    leaves the history as it is: its points are fixed windows of steps). With a
    ``cache``, a run of a shape trained before starts without compiling, and the returned model
    is the cached one, which the next run of its shape re-initialises.
    """
    started = time.perf_counter()
    dataset = dataset if dataset is not None else load_dataset(config.dataset)
    compiled = cache.get(config, dataset) if cache is not None else CompiledModel(config, dataset)
    run = RunTraining(
        config,
        dataset,
        compiled,
        on_progress=on_progress,
        on_chunk=on_chunk,
        on_snapshot=on_snapshot,
        chunk_seconds=chunk_seconds,
        started=started,
    )
    while not run.advance(stop_event is not None and stop_event.is_set()):
        pass
    return run.result()
