"""The plain-sigmoid and sparse-KL lessons in a hand-written TensorFlow-1-style loop, beside ours.

The two lessons come from a TensorFlow 1 tutorial. To tell a fault of our engine from a difference
of data, this script trains the same network with none of our code but the data loader: raw
``tf.Variable`` weights (truncated normal, std 0.1, biases 0.1), TensorFlow 1's own Adam
(``tf.compat.v1.train.AdamOptimizer``, epsilon 1e-8 unless --adam-epsilon says otherwise), and
batches drawn the way TensorFlow 1's ``mnist.train.next_batch`` draws them (each digit once per
pass, reshuffled every pass). It then trains the lesson with our engine (Keras's Adam, epsilon
1e-7) on the same digits and seed, and prints the figures of both (about 5 minutes per seed here;
the lesson's notes quote the results):

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/tf1_reference.py
    ... --lesson sparse-kl --seeds 0,1 --dataset mnist-sample
    ... --adam-epsilon 1e-7     (Keras's epsilon in the hand-written loop)
    ... --steps 500             (a quick look; the figures quoted are from the full 20,000)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core import lessons  # noqa: E402
from ae_core.analysis import run_summary  # noqa: E402
from ae_core.config import RunConfig  # noqa: E402
from ae_core.data import load_dataset  # noqa: E402
from ae_core.trainer import train  # noqa: E402

# As in ae_core.analysis.run_summary, so both columns are measured on the same digits.
MEASURED_TEST_DIGITS = 2000


class EpochBatches:
    """TensorFlow 1's ``DataSet.next_batch``: a new permutation per pass, batches across passes."""

    def __init__(self, images: np.ndarray, seed: int):
        self._images, self._rng = images, np.random.default_rng(seed)
        self._order, self._position = self._rng.permutation(len(images)), 0

    def next_batch(self, size: int) -> np.ndarray:
        taken: list[np.ndarray] = []
        while size > 0:
            if self._position == len(self._order):
                self._order, self._position = self._rng.permutation(len(self._images)), 0
            chunk = self._order[self._position : self._position + size]
            self._position += len(chunk)
            size -= len(chunk)
            taken.append(chunk)
        return self._images[np.concatenate(taken)]


def kl_divergence(target: float, mean_activation: tf.Tensor) -> tf.Tensor:
    return target * tf.math.log(target / mean_activation) + (1 - target) * tf.math.log(
        (1 - target) / (1 - mean_activation)
    )


def train_reference(
    config: RunConfig, x_train: np.ndarray, seed: int, adam_epsilon: float
) -> list[tf.Variable]:
    """Train 784-hidden-code-hidden-784 the TensorFlow 1 way; returns [w1, b1, w2, b2, ...]."""
    tf.random.set_seed(seed)
    widths = [x_train.shape[1], *config.hidden, config.code_size, *reversed(config.hidden)]
    widths.append(x_train.shape[1])
    weights: list[tf.Variable] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        weights.append(tf.Variable(tf.random.truncated_normal([fan_in, fan_out], stddev=0.1)))
        weights.append(tf.Variable(tf.fill([fan_out], config.bias_init)))
    encoder_layers = len(config.hidden) + 1
    optimizer = tf.compat.v1.train.AdamOptimizer(config.learning_rate, epsilon=adam_epsilon)

    @tf.function
    def step(batch: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            layers = forward(weights, batch)
            loss = tf.reduce_mean(tf.square(layers[-1] - batch))
            if config.sparsity_weight:  # the plain net has no KL term at all
                for hidden in layers[:encoder_layers]:
                    rho_hat = tf.reduce_mean(hidden, axis=0)
                    kl = tf.reduce_sum(kl_divergence(config.sparsity_target, rho_hat))
                    loss += config.sparsity_weight * kl
            # Our l2 multiplies the full sum of squares (TensorFlow's l2_loss is half of it).
            loss += config.l2 * tf.add_n([tf.reduce_sum(tf.square(w)) for w in weights[::2]])
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    batches = EpochBatches(x_train, seed)
    for _ in range(config.steps):
        step(tf.constant(batches.next_batch(config.batch_size)))
    return weights


def forward(weights: list[tf.Variable], x: tf.Tensor) -> list[tf.Tensor]:
    layers, h = [], x
    for w, b in zip(weights[::2], weights[1::2], strict=True):
        h = tf.sigmoid(tf.matmul(h, w) + b)
        layers.append(h)
    return layers


def reference_figures(weights: list[tf.Variable], config: RunConfig, x_test, x_train) -> dict:
    encoder_layers = len(config.hidden) + 1
    measured = forward(weights, tf.constant(x_test[:MEASURED_TEST_DIGITS]))
    return {
        "mean_activation": [float(tf.reduce_mean(h)) for h in measured[:encoder_layers]],
        "test_mse": float(tf.reduce_mean(tf.square(forward(weights, x_test)[-1] - x_test))),
        "train_mse": float(tf.reduce_mean(tf.square(forward(weights, x_train)[-1] - x_train))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lesson", default="plain-sigmoid", choices=["plain-sigmoid", "sparse-kl"])
    parser.add_argument("--seeds", default="0", help="seeds, comma-separated")
    parser.add_argument("--dataset", default=None, help="default: the lesson's")
    parser.add_argument("--steps", type=int, default=None, help="default: the lesson's 20,000")
    parser.add_argument(
        "--adam-epsilon", type=float, default=1e-8, help="TensorFlow 1's default 1e-8; Keras's 1e-7"
    )
    args = parser.parse_args()

    lesson = lessons.get(args.lesson)
    dataset = load_dataset(args.dataset or lesson.config().dataset)
    x_train = np.asarray(dataset.x_train, np.float32).reshape(len(dataset.x_train), -1)
    x_test = np.asarray(dataset.x_test, np.float32).reshape(len(dataset.x_test), -1)
    published = {result.label: result.published for result in lesson.published_results}
    print(f"{lesson.name} on {dataset.source}")
    print(f"TensorFlow 1 style loop with Adam epsilon {args.adam_epsilon:g}")
    print("published: " + "; ".join(f"{label} {value}" for label, value in published.items()))
    print("loop | seed | mean activation per layer | test MSE | train MSE | training seconds")
    overrides = {"steps": args.steps} if args.steps else {}
    for seed in (int(s) for s in args.seeds.split(",")):
        config = lesson.config(seed=seed, **overrides)
        started = time.perf_counter()
        weights = train_reference(config, x_train, seed, args.adam_epsilon)
        reference_seconds = time.perf_counter() - started
        reference = reference_figures(weights, config, x_test, x_train)
        started = time.perf_counter()
        result = train(config, dataset)
        our_seconds = time.perf_counter() - started
        ours = run_summary(result)
        ours["train_mse"] = ours["loss_terms"]["reconstruction"]
        for name, figures, seconds in [
            ("TF1-style", reference, reference_seconds),
            ("ours", ours, our_seconds),
        ]:
            means = ", ".join(f"{m:.3f}" for m in figures["mean_activation"])
            print(
                f"{name:>9} | {seed:>4} | {means:>25} | {figures['test_mse']:.5f} | "
                f"{figures['train_mse']:.5f} | {seconds:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
