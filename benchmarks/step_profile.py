"""Where the time of our compiled training step goes: one piece at a time removed or replaced.

Builds, directly with TensorFlow, chunk loops shaped like ``ae_core.trainer._ChunkRunner`` (an
XLA-compiled ``tf.while_loop`` of windows of steps; each step gathers a random batch drawn with a
``tf.random.Generator``, runs forward and backward, and a ``tf.cond`` on the loss being finite
decides whether Keras Adam applies the update) for the 784-300-30-300-784 sigmoid autoencoder
(MSE, Adam 1e-3) on the 8,000 training digits, then variations of it, and the real _ChunkRunner
as a reference. All variants of one process are timed interleaved; medians of the rounds.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/step_profile.py \
        [--batch 64] [--steps 600] [--rounds 5] [--flags default,eigen1,xnnpack,onednn,fastmath]

XLA flags act at process start-up, so each ``--flags`` set runs in its own child process, which
times every variant; compare rows within one block, and blocks by their "full" row. The matmul
roofline times the eleven forward and backward matmuls alone (with the gradient reductions that
keep them alive); GFLOP/s counts the nominal 2.93 MFLOP per example (three times the forward's
0.98 MFLOP), of which 2.46 are real (the input gradient of the first layer is not needed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from reference_net import LAYERS, LEARNING_RATE, our_chunk_loop  # noqa: E402

BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # Keras Adam's defaults
WINDOW = 8  # what the trainer picks for a 3,750-step run (ceil(steps / 500))
MAX_WINDOWS = 256
NOMINAL_FLOP = 3 * 2 * sum(a * b for a, b in zip(LAYERS, LAYERS[1:], strict=False))
FLAG_SETS = {
    "default": "",
    "eigen1": "--xla_cpu_multi_thread_eigen=false",
    "xnnpack": "--xla_cpu_use_xnnpack=true",
    "xnngraph": "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY",
    "onednn": "--xla_cpu_use_onednn=true",
    "fastmath": "--xla_cpu_enable_fast_math=true",
    "nothunk": "--xla_cpu_use_thunk_runtime=false",
}


@dataclass(frozen=True)
class Variant:
    label: str
    update: str = "keras_adam"  # keras_adam | fused_adam | apply_adam_op | sgd | none
    finite: str = "cond"  # cond: per step, as the trainer | select | window | none
    rng: str = "generator"  # generator | stateless
    gather: bool = True
    jit: bool = True


VARIANTS = [
    Variant("(a) full: as _ChunkRunner"),
    Variant("(b) SGD assign_sub, not Adam", update="sgd"),
    Variant("(b) no update at all", update="none"),
    Variant("(c) no finite cond, always update", finite="none"),
    Variant("(d) stateless RNG indices", rng="stateless"),
    Variant("(e) no gather: fixed batch", gather=False),
    Variant("(f) hand-written Adam", update="fused_adam"),
    Variant("(f) ResourceApplyAdam op", update="apply_adam_op"),
    # A select can only mask an update it can see, so this one uses the hand-written Adam.
    Variant("(g) hand Adam, finite check as tf.where", update="fused_adam", finite="select"),
    Variant("(g) finite check once per window", finite="window"),
    Variant("(g) hand Adam + finite per window", update="fused_adam", finite="window"),
    Variant("(g) no XLA (graph tf.function)", jit=False),
]


def glorot(fan_in: int, fan_out: int, seed: int):
    import numpy as np

    limit = (6 / (fan_in + fan_out)) ** 0.5
    return np.random.default_rng(seed).uniform(-limit, limit, (fan_in, fan_out)).astype("float32")


def build_chunk(variant: Variant, data, batch_size: int):
    """Returns ``run(steps) -> completed steps`` for one variant, compiled."""
    import keras
    import tensorflow as tf

    shapes = [(a, b) for a, b in zip(LAYERS, LAYERS[1:], strict=False)]
    initial = []
    for index, (fan_in, fan_out) in enumerate(shapes):
        initial += [glorot(fan_in, fan_out, index), tf.zeros([fan_out])]
    variables = [tf.Variable(t) for t in initial]

    example_count = int(data.shape[0])
    rng = tf.random.Generator.from_seed(0)
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    optimizer.build(variables)
    moments = [tf.Variable(tf.zeros_like(v)) for v in variables]
    squares = [tf.Variable(tf.zeros_like(v)) for v in variables]
    iterations = tf.Variable(0.0)

    def apply_update(gradients, healthy):
        if variant.update == "keras_adam":
            optimizer.apply(gradients, variables)
        elif variant.update == "sgd":
            for v, g in zip(variables, gradients, strict=True):
                v.assign_sub(LEARNING_RATE * g)
        elif variant.update == "apply_adam_op":
            t = iterations.assign_add(1.0)
            for v, m, s, g in zip(variables, moments, squares, gradients, strict=True):
                tf.raw_ops.ResourceApplyAdam(
                    var=v.handle,
                    m=m.handle,
                    v=s.handle,
                    beta1_power=BETA_1**t,
                    beta2_power=BETA_2**t,
                    lr=LEARNING_RATE,
                    beta1=BETA_1,
                    beta2=BETA_2,
                    epsilon=EPSILON,
                    grad=g,
                )
        elif variant.update == "fused_adam":
            t = iterations.assign_add(1.0)
            alpha = LEARNING_RATE * tf.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
            for v, m, s, g in zip(variables, moments, squares, gradients, strict=True):
                m_new = m + (1 - BETA_1) * (g - m)
                s_new = s + (1 - BETA_2) * (tf.square(g) - s)
                delta = alpha * m_new / (tf.sqrt(s_new) + EPSILON)
                if healthy is not None:
                    # A select rather than a branch: XLA fuses it into the update's one pass.
                    m_new, s_new = tf.where(healthy, m_new, m), tf.where(healthy, s_new, s)
                    delta = tf.where(healthy, delta, 0.0)
                m.assign(m_new)
                s.assign(s_new)
                v.assign_sub(delta)

    def step(term_sums, activation_sums, done, finite, bad, global_step, grad_sum):
        if not variant.gather:
            batch = data[:batch_size]
        elif variant.rng == "stateless":
            seed = tf.stack([tf.constant(0, tf.int64), tf.cast(global_step, tf.int64)])
            indices = tf.random.stateless_uniform(
                [batch_size], seed, minval=0, maxval=example_count, dtype=tf.int64
            )
            batch = tf.gather(data, indices)
        else:
            indices = rng.uniform([batch_size], 0, example_count, dtype=tf.int64)
            batch = tf.gather(data, indices)
        with tf.GradientTape() as tape:
            params = variables
            x, means = batch, []
            for index in range(len(shapes)):
                x = tf.sigmoid(tf.matmul(x, params[2 * index]) + params[2 * index + 1])
                if index < 2:
                    means.append(tf.reduce_mean(x))
            values = tf.stack([tf.reduce_mean(tf.square(x - batch))])
            total = tf.reduce_sum(values)
        gradients = tape.gradient(total, variables)
        activations = tf.stack(means)
        if variant.update == "none":
            # Something must use the gradients, or XLA drops the backward pass.
            grad_sum = grad_sum + tf.add_n([tf.reduce_sum(g) for g in gradients])
        healthy = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(values)))
        if variant.finite in ("none", "window"):
            apply_update(gradients, None)
            return (
                term_sums + values,
                activation_sums + activations,
                done + 1,
                finite,
                bad,
                global_step + 1,
                grad_sum,
            )
        if variant.finite == "select":
            apply_update(gradients, healthy)
            return (
                tf.where(healthy, term_sums + values, term_sums),
                tf.where(healthy, activation_sums + activations, activation_sums),
                tf.where(healthy, done + 1, done),
                healthy,
                tf.where(tf.logical_and(finite, tf.logical_not(healthy)), values, bad),
                global_step + 1,
                grad_sum,
            )

        def update():
            apply_update(gradients, None)
            return (
                term_sums + values,
                activation_sums + activations,
                done + 1,
                finite,
                bad,
                global_step + 1,
                grad_sum,
            )

        def halt():
            first_bad = tf.where(finite, values, bad)
            return (
                term_sums,
                activation_sums,
                done,
                tf.constant(False),
                first_bad,
                global_step + 1,
                grad_sum,
            )

        return tf.cond(healthy, update, halt)

    @tf.function(jit_compile=variant.jit)
    def run_chunk(step_count):
        def one_window(term_table, activation_table, counts, completed, finite, bad, grad_sum):
            steps_here = tf.minimum(WINDOW, step_count - completed)
            sums = (tf.zeros([1]), tf.zeros([2]), tf.constant(0))
            term_sums, activation_sums, done, finite, bad, _, grad_sum = tf.while_loop(
                lambda *s: tf.logical_and(s[3], s[2] < steps_here),
                step,
                (*sums, finite, bad, completed, grad_sum),
            )
            if variant.finite == "window":
                # One check on the window's sums: a non-finite step makes them non-finite.
                window_ok = tf.reduce_all(tf.math.is_finite(term_sums))
                bad = tf.where(tf.logical_and(finite, tf.logical_not(window_ok)), term_sums, bad)
                finite = tf.logical_and(finite, window_ok)
            row = [[completed // WINDOW]]
            return (
                tf.tensor_scatter_nd_update(term_table, row, [term_sums]),
                tf.tensor_scatter_nd_update(activation_table, row, [activation_sums]),
                tf.tensor_scatter_nd_update(counts, row, [done]),
                completed + done,
                finite,
                bad,
                grad_sum,
            )

        start = (
            tf.zeros([MAX_WINDOWS, 1]),
            tf.zeros([MAX_WINDOWS, 2]),
            tf.zeros([MAX_WINDOWS], dtype=tf.int32),
            tf.constant(0),
            tf.constant(True),
            tf.zeros([1]),
            tf.constant(0.0),
        )
        keep_going = lambda *s: tf.logical_and(s[4], s[3] < step_count)  # noqa: E731
        return tf.while_loop(keep_going, one_window, start)

    def run(steps: int) -> int:
        outputs = run_chunk(tf.constant(steps))
        completed, finite = int(outputs[3]), bool(outputs[4])
        if not finite:
            raise RuntimeError(f"{variant.label}: loss not finite")
        return completed

    run(0)
    return run


def build_matmuls(data, batch_size: int):
    """The forward and backward matmuls of one step and nothing else, in the same loop."""
    import tensorflow as tf

    weights = [
        tf.constant(glorot(a, b, i))
        for i, (a, b) in enumerate(zip(LAYERS, LAYERS[1:], strict=False))
    ]
    fixed = data[:batch_size]

    @tf.function(jit_compile=True)
    def run_chunk(step_count):
        def body(i, scale):
            # The input depends on the carried scale, so XLA cannot hoist the matmuls out.
            x = fixed * scale
            outputs = [x]
            for w in weights:
                outputs.append(tf.matmul(outputs[-1], w))
            delta, total = outputs[-1], tf.constant(0.0)
            for layer in reversed(range(len(weights))):
                total += tf.reduce_sum(tf.matmul(outputs[layer], delta, transpose_a=True))
                if layer > 0:
                    delta = tf.matmul(delta, weights[layer], transpose_b=True)
            return i + 1, scale + 1e-30 * total

        return tf.while_loop(lambda i, _: i < step_count, body, (0, tf.constant(1.0)))

    def run(steps: int) -> int:
        return int(run_chunk(tf.constant(steps))[0])

    run(0)
    return run


def child(flags: str, batch_size: int, steps: int, rounds: int, only: str) -> dict:
    import tensorflow as tf

    from ae_core.data import load_dataset

    dataset = load_dataset("mnist")
    data = tf.constant(dataset.x_train)
    runners, compile_seconds = {}, {}
    builders = {"reference: ae_core _ChunkRunner": lambda: our_chunk_loop(dataset, batch_size)}
    for variant in VARIANTS:
        builders[variant.label] = lambda v=variant: build_chunk(v, data, batch_size)
    builders["matmul roofline (fwd+bwd dots)"] = lambda: build_matmuls(data, batch_size)
    if only:
        builders = {k: b for k, b in builders.items() if any(w in k for w in only.split(","))}
    for label, build in builders.items():
        started = time.perf_counter()
        runners[label] = build()
        runners[label](steps // 4)  # warm-up beyond the compile
        compile_seconds[label] = time.perf_counter() - started
    rates: dict[str, list[float]] = {label: [] for label in runners}
    for _ in range(rounds):
        for label, run in runners.items():
            started = time.perf_counter()
            completed = run(steps)
            rates[label].append(completed * batch_size / (time.perf_counter() - started))
    # The machine is shared: the load average says how much else ran meanwhile.
    return {"flags": flags, "rates": rates, "compile_s": compile_seconds, "load": os.getloadavg()}


def print_block(name: str, result: dict, batch_size: int) -> None:
    rates = {label: statistics.median(r) for label, r in result["rates"].items()}
    full = rates.get(VARIANTS[0].label, next(iter(rates.values())))
    load = ", ".join(f"{x:.1f}" for x in result["load"])
    print(f"\nXLA flags: {name} ({result['flags'] or 'none'}); batch {batch_size}; load {load}")
    print(f"  {'variant':<40} {'samples/s':>10} {'vs full':>8} {'us/step':>8} {'GFLOP/s':>8}")
    for label, rate in rates.items():
        per_step = batch_size / rate * 1e6
        gflops = rate * NOMINAL_FLOP / 1e9
        print(f"  {label:<40} {rate:>10,.0f} {rate / full:>7.2f}x {per_step:>8.0f} {gflops:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=600, help="steps per timed chunk")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flags", default="default,eigen1,xnnpack,onednn,fastmath")
    parser.add_argument("--only", default="", help="comma-separated parts of variant labels")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = child(
            os.environ.get("XLA_FLAGS", ""), args.batch, args.steps, args.rounds, args.only
        )
        print(json.dumps(result))
        return

    print(f"{os.cpu_count()} cores; {args.rounds} interleaved rounds of {args.steps} steps each")
    for name in args.flags.split(","):
        env = {**os.environ, "XLA_FLAGS": FLAG_SETS[name]}
        command = [sys.executable, __file__, "--child", "--batch", str(args.batch)]
        command += ["--steps", str(args.steps), "--rounds", str(args.rounds), "--only", args.only]
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            print(f"\nXLA flags: {name}: failed\n{done.stderr[-2000:]}")
            continue
        print_block(name, json.loads(done.stdout.strip().splitlines()[-1]), args.batch)


if __name__ == "__main__":
    main()
