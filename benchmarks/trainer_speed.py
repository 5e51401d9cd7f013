"""Training speed: our compiled chunked trainer against Keras ``fit`` and a PyTorch eager loop.

The 784-300-30-300-784 sigmoid autoencoder (Adam 1e-3, MSE) on real MNIST digits, at batch 60,
64 and 256. Each trainer runs in its own fresh process, and the processes are interleaved
(ours, fit, torch, ours, fit, torch, ...) over several rounds; the medians are compared. Separate
processes matter: with TensorFlow's thread pools live in the same process, the PyTorch loop ran
at about 11.6k samples/s instead of the 17-22k it reaches alone, which flattered ours. Machines
are shared and noisy, so only ratios measured side by side in one run mean much.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/trainer_speed.py \
        [--rounds 3] [--batch-sizes 60,64,256] [--samples 240000]

Prints samples per second for each trainer and the ratios. PyTorch is optional (skipped when it
is not installed) and uses as many threads as the machine has cores, as TensorFlow does by
default. Compile and warm-up time is excluded for all three; ours' compile and start-up time
inside ``train`` is reported separately. A child process (``--child ours --batch 60``) prints
one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
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

from reference_net import LAYERS, LEARNING_RATE, reference_config  # noqa: E402

SAMPLES_PER_ROUND = 240_000  # per trainer and round: several seconds each
TRAINERS = ("ours", "keras fit", "pytorch")
TORCH_MAX_SECONDS = 30


def training_digits():
    # ae_core.data imports neither TensorFlow nor Keras, so the PyTorch child stays free of both.
    from ae_core.data import load_dataset

    return load_dataset("mnist")


def ours(batch_size: int, samples: int) -> dict:
    from ae_core.trainer import train

    dataset = training_digits()
    config = reference_config(dataset.name, batch_size, samples // batch_size)
    result = train(config, dataset)
    training_seconds = result.steps_done * batch_size / result.samples_per_s
    return {"samples_per_s": result.samples_per_s, "startup_s": result.seconds - training_seconds}


def keras_fit(batch_size: int, samples: int) -> dict:
    import keras
    import numpy as np

    x = np.asarray(training_digits().x_train)
    model = keras.Sequential(
        [keras.Input((LAYERS[0],))]
        + [keras.layers.Dense(width, activation="sigmoid") for width in LAYERS[1:]]
    )
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    model.fit(x, x, batch_size=batch_size, epochs=1, verbose=0)  # warm-up: tracing
    epochs = max(1, samples // len(x) // 2)  # fit is slower; keep rounds similar in time
    started = time.perf_counter()
    model.fit(x, x, batch_size=batch_size, epochs=epochs, verbose=0)
    return {"samples_per_s": epochs * len(x) / (time.perf_counter() - started)}


def torch_loop(batch_size: int, samples: int) -> dict:
    import numpy as np
    import torch

    # Say it rather than trust the default, which follows the cgroup/affinity guess of the build.
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    data = torch.from_numpy(np.ascontiguousarray(training_digits().x_train))
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
    count, done = samples // batch_size, 0
    started = time.perf_counter()
    # Capped in time: on an oversubscribed machine its OpenMP threads collapse to ~1-2k
    # samples/s, and a fixed count would then take minutes.
    while done < count and time.perf_counter() - started < TORCH_MAX_SECONDS:
        steps(min(50, count - done))
        done += min(50, count - done)
    return {
        "samples_per_s": done * batch_size / (time.perf_counter() - started),
        "threads": torch.get_num_threads(),
    }


CHILDREN = {"ours": ours, "keras fit": keras_fit, "pytorch": torch_loop}


def run_child(trainer: str, batch_size: int, samples: int) -> dict:
    command = [sys.executable, __file__, "--child", trainer, "--batch", str(batch_size)]
    command += ["--samples", str(samples)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{trainer} at batch {batch_size} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


def versions() -> str:
    # Asked of a child-free parent without importing the frameworks into it: their pools would
    # compete with the children for the two cores.
    found = []
    for module in ("tensorflow", "keras", "torch"):
        if importlib.util.find_spec(module) is None:
            found.append(f"{module} not installed")
            continue
        code = f"import {module}; print({module}.__version__)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        found.append(f"{module} {out.stdout.strip()}")
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="60,64,256")
    parser.add_argument("--samples", type=int, default=SAMPLES_PER_ROUND, help="per run")
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = CHILDREN[args.child](args.batch, args.samples)
        # The machine is shared: the load average says how much else ran meanwhile.
        result["load"] = os.getloadavg()[0]
        print(json.dumps({"trainer": args.child, "batch": args.batch, **result}))
        return

    has_torch = importlib.util.find_spec("torch") is not None
    trainers = [t for t in TRAINERS if has_torch or t != "pytorch"]
    print(f"data: {training_digits().source}")
    print(f"{versions()}; {os.cpu_count()} cores; PyTorch threads = cores")
    print(f"each run a fresh process, {args.samples:,} samples (fit: about half), interleaved")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        results: dict[str, list[dict]] = {name: [] for name in trainers}
        for _ in range(args.rounds):
            for name in trainers:
                results[name].append(run_child(name, batch_size, args.samples))
        medians = {
            name: statistics.median(r["samples_per_s"] for r in runs)
            for name, runs in results.items()
        }
        print(f"\nbatch {batch_size}: samples/s, median of {args.rounds} interleaved rounds")
        for name, median in medians.items():
            spread = ", ".join(f"{r['samples_per_s']:,.0f} @{r['load']:.1f}" for r in results[name])
            print(f"  {name:<10} {median:>10,.0f}   (rounds, @ 1-min load: {spread})")
        startup = statistics.median(r["startup_s"] for r in results["ours"])
        process = statistics.median(r["process_s"] for r in results["ours"])
        print(f"  ours: compile + start-up inside train() {startup:.1f} s; process {process:.1f} s")
        for other in trainers[1:]:
            print(f"  ours / {other}: {medians['ours'] / medians[other]:.2f}x")


if __name__ == "__main__":
    main()
