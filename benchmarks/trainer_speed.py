"""Training speed: our compiled chunked trainer against Keras ``fit`` and a PyTorch eager loop.

The 784-300-30-300-784 sigmoid autoencoder (Adam 1e-3, MSE) on real MNIST digits, at batch 60
and 256. The three are measured interleaved, several rounds each, in one process, and the
medians compared: machines are shared and noisy, so only ratios measured side by side mean much.

    AE_DATA_DIR=../shared/data/mnist python benchmarks/trainer_speed.py [--rounds 3]

Prints samples per second for each trainer and the ratios. PyTorch is optional (skipped when it
is not installed). Compile and warm-up time is excluded for all three and reported separately
for ours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ae_core.config import make_config  # noqa: E402
from ae_core.data import load_dataset  # noqa: E402
from ae_core.trainer import train  # noqa: E402

LAYERS = (784, 300, 30, 300, 784)
LEARNING_RATE = 1e-3
SAMPLES_PER_ROUND = 240_000  # per trainer and round: several seconds each


def ours(x: np.ndarray, batch_size: int, dataset) -> tuple[float, float]:
    config = make_config(
        "stacked",
        dataset=dataset.name,
        hidden=LAYERS[1:2],
        code_size=LAYERS[2],
        activation="sigmoid",
        output_activation="sigmoid",
        loss="mse",
        optimizer="adam",
        learning_rate=LEARNING_RATE,
        init="glorot_uniform",
        batch_size=batch_size,
        steps=SAMPLES_PER_ROUND // batch_size,
    )
    result = train(config, dataset)
    compile_and_overhead = result.seconds - result.steps_done * batch_size / result.samples_per_s
    return result.samples_per_s, compile_and_overhead


def keras_fit(x: np.ndarray, batch_size: int) -> float:
    model = keras.Sequential(
        [keras.Input((LAYERS[0],))]
        + [keras.layers.Dense(width, activation="sigmoid") for width in LAYERS[1:]]
    )
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    model.fit(x, x, batch_size=batch_size, epochs=1, verbose=0)  # warm-up: tracing
    epochs = max(1, SAMPLES_PER_ROUND // len(x) // 2)  # fit is slower; keep rounds similar in time
    started = time.perf_counter()
    model.fit(x, x, batch_size=batch_size, epochs=epochs, verbose=0)
    return epochs * len(x) / (time.perf_counter() - started)


def torch_loop(x: np.ndarray, batch_size: int) -> float:
    import torch

    torch.manual_seed(0)
    data = torch.from_numpy(np.ascontiguousarray(x))
    modules = []
    for width_in, width_out in zip(LAYERS, LAYERS[1:], strict=False):
        modules += [torch.nn.Linear(width_in, width_out), torch.nn.Sigmoid()]
    net = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    generator = torch.Generator().manual_seed(0)

    def steps(count: int) -> None:
        for _ in range(count):
            batch = data[torch.randint(0, len(data), (batch_size,), generator=generator)]
            loss = torch.mean((net(batch) - batch) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    steps(50)  # warm-up
    count = SAMPLES_PER_ROUND // batch_size
    started = time.perf_counter()
    steps(count)
    return count * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="60,256")
    args = parser.parse_args()

    dataset = load_dataset("mnist")
    x = np.asarray(dataset.x_train)
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    import tensorflow as tf

    print(f"data: {dataset.source}")
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"PyTorch {torch_version or 'not installed'}, {os.cpu_count()} cores"
    )
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        rates: dict[str, list[float]] = {"ours": [], "keras fit": [], "pytorch": []}
        overheads = []
        for _ in range(args.rounds):
            rate, overhead = ours(x, batch_size, dataset)
            rates["ours"].append(rate)
            overheads.append(overhead)
            rates["keras fit"].append(keras_fit(x, batch_size))
            if torch_version:
                rates["pytorch"].append(torch_loop(x, batch_size))
        medians = {name: statistics.median(r) for name, r in rates.items() if r}
        print(f"\nbatch {batch_size}: samples/s, median of {args.rounds} interleaved rounds")
        for name, median in medians.items():
            spread = ", ".join(f"{r:,.0f}" for r in rates[name])
            print(f"  {name:<10} {median:>10,.0f}   (rounds: {spread})")
        print(f"  our compile + start-up per run: {statistics.median(overheads):.1f} s")
        for other in ("keras fit", "pytorch"):
            if other in medians:
                print(f"  ours / {other}: {medians['ours'] / medians[other]:.2f}x")


if __name__ == "__main__":
    main()
