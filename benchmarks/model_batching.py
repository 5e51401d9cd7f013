"""Does training K models of one shape in one graph beat training them one at a time?

The 784-300-30-300-784 sigmoid autoencoder (MSE, Adam 1e-3) on the 8,000 training digits, at
batch 64. "batched K" trains K models in one XLA-compiled chunk loop: every weight has a leading
model axis ([K, in, out], batched matmuls), each model draws its own batch, has its own learning
rate (a [K] vector) and its own Adam moments, and stops updating on its own once its loss is not
finite. The single-model baseline is the project's ``_ChunkRunner``; training K models one after
another with it gives its samples/s, whatever K.

Three set-ups, all timed interleaved in one run (medians over rounds), total samples/s:
one process with 2 threads; one process with 1 thread; two processes with 1 thread each running
at the same time (the app's deployment: two single-threaded workers), whose rates are summed.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/model_batching.py \
        [--ks 1,2,4,8] [--rounds 3] [--seconds 3]

Each process is a child of this script (``--child --threads N``), driven line by line on stdin
so that the two single-threaded workers start and stop each measurement together.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from reference_net import LAYERS, LEARNING_RATE, our_chunk_loop  # noqa: E402

BATCH = 64
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # Keras Adam's defaults
REFERENCE = "ChunkRunner, 1 model"


def build_batched(dataset, k: int):
    """K models in one compiled chunk loop; returns ``run(steps) -> steps done``."""
    import numpy as np
    import tensorflow as tf

    data = tf.constant(dataset.x_train)
    example_count = int(data.shape[0])
    init = np.random.default_rng(0)
    variables = []
    for fan_in, fan_out in zip(LAYERS, LAYERS[1:], strict=False):
        limit = (6 / (fan_in + fan_out)) ** 0.5
        kernel = init.uniform(-limit, limit, (k, fan_in, fan_out)).astype("float32")
        variables += [tf.Variable(kernel), tf.Variable(tf.zeros([k, 1, fan_out]))]
    moments = [tf.Variable(tf.zeros_like(v)) for v in variables]
    squares = [tf.Variable(tf.zeros_like(v)) for v in variables]
    learning_rates = tf.Variable(tf.fill([k], LEARNING_RATE))
    iterations = tf.Variable(0.0)
    rng = tf.random.Generator.from_seed(0)

    def step(done, healthy):
        indices = rng.uniform([k, BATCH], 0, example_count, dtype=tf.int64)
        batch = tf.gather(data, indices)  # [K, batch, 784]
        with tf.GradientTape() as tape:
            x = batch
            for index in range(0, len(variables), 2):
                x = tf.sigmoid(tf.matmul(x, variables[index]) + variables[index + 1])
            per_model = tf.reduce_mean(tf.square(x - batch), axis=[1, 2])  # [K]
            # Summed, each model's gradient is that of its own loss.
            total = tf.reduce_sum(per_model)
        gradients = tape.gradient(total, variables)
        healthy = tf.logical_and(healthy, tf.math.is_finite(per_model))
        mask = tf.reshape(healthy, [k, 1, 1])
        t = iterations.assign_add(1.0)
        alpha = tf.reshape(learning_rates * tf.sqrt(1 - BETA_2**t) / (1 - BETA_1**t), [k, 1, 1])
        for v, m, s, g in zip(variables, moments, squares, gradients, strict=True):
            m_new = m + (1 - BETA_1) * (g - m)
            s_new = s + (1 - BETA_2) * (tf.square(g) - s)
            # Selects, not a branch: a model whose loss broke keeps its last good weights
            # while the others go on, and XLA fuses the selects into the update's one pass.
            m.assign(tf.where(mask, m_new, m))
            s.assign(tf.where(mask, s_new, s))
            v.assign_sub(tf.where(mask, alpha * m_new / (tf.sqrt(s_new) + EPSILON), 0.0))
        return done + 1, healthy

    @tf.function(jit_compile=True)
    def run_chunk(step_count):
        return tf.while_loop(lambda done, healthy: done < step_count, step, (0, tf.fill([k], True)))

    def run(steps: int) -> int:
        return int(run_chunk(tf.constant(steps))[0]) * k

    run(0)
    return run


def child(threads: int, ks: list[int]) -> None:
    """Compiles every trainer, then runs one timed measurement per "go" line on stdin."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from ae_core.data import load_dataset

    dataset = load_dataset("mnist")
    runners = {REFERENCE: our_chunk_loop(dataset, BATCH)}
    for k in ks:
        runners[f"batched, K={k}"] = build_batched(dataset, k)
    chunk_steps = {}
    for label, run in runners.items():
        started = time.perf_counter()
        run(50)
        # Chunks of about 0.2 s, as the trainer makes them, so a measurement ends on time.
        chunk_steps[label] = max(10, int(50 * 0.2 / (time.perf_counter() - started)))
    print(json.dumps({"ready": list(runners)}), flush=True)
    for line in sys.stdin:
        label, seconds = json.loads(line)
        run, samples = runners[label], 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            # run() counts samples per model step, so a batched step counts K batches.
            samples += run(chunk_steps[label]) * BATCH
        print(json.dumps({"samples_per_s": samples / (time.perf_counter() - started)}), flush=True)


class Worker:
    def __init__(self, threads: int, ks: str):
        command = [sys.executable, __file__, "--child", "--threads", str(threads), "--ks", ks]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        self.labels = json.loads(self.process.stdout.readline())["ready"]

    def start(self, label: str, seconds: float) -> None:
        self.process.stdin.write(json.dumps([label, seconds]) + "\n")
        self.process.stdin.flush()

    def result(self) -> float:
        return json.loads(self.process.stdout.readline())["samples_per_s"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", default="1,2,4,8")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    ks = [int(k) for k in args.ks.split(",")]
    if args.child:
        child(args.threads, ks)
        return

    # Started one after another: compiling in parallel would only slow each down.
    two_threads = Worker(2, args.ks)
    pair = [Worker(1, args.ks), Worker(1, args.ks)]
    setups = {
        "1 proc x 2 threads": [two_threads],
        "1 proc x 1 thread": pair[:1],
        "2 procs x 1 thread": pair,
    }
    rates = {(s, label): [] for s in setups for label in two_threads.labels}
    for _ in range(args.rounds):
        for label in two_threads.labels:
            for setup, workers in setups.items():
                for worker in workers:
                    worker.start(label, args.seconds)
                rates[setup, label].append(sum(worker.result() for worker in workers))
    for worker in [two_threads, *pair]:
        worker.close()

    print(f"batch {BATCH}, total samples/s (all models), median of {args.rounds} rounds")
    print(f"{'trainer':<22}" + "".join(f"{setup:>20}" for setup in setups))
    for label in two_threads.labels:
        cells = "".join(f"{statistics.median(rates[s, label]):>20,.0f}" for s in setups)
        print(f"{label:<22}{cells}")
    base = {s: statistics.median(rates[s, REFERENCE]) for s in setups}
    print("\nratio to the ChunkRunner in the same set-up (K models one after another):")
    for label in two_threads.labels[1:]:
        cells = "".join(f"{statistics.median(rates[s, label]) / base[s]:>19.2f}x" for s in setups)
        print(f"{label:<22}{cells}")


if __name__ == "__main__":
    main()
