"""Measure the figures `warm --dry-run` falls back on when the store has no run like a planned one.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/warm_estimate.py

Trains stacked autoencoders of three very different sizes through a ``JobManager`` with
``--workers`` workers (default 2, with the manager's default threads, as ``warm`` uses them),
each size as many runs at once as there are workers (seeds differ), twice: the first runs of a
shape compile it, the next ones do not. A warm-up run per worker comes first so the workers'
start is not counted. Prints, for each size, the wall time from submit to done, the steady
training speed, and what is left over: the time to compile a new shape and the per-run overhead
(summary, saving), and how long the workers take to start. Then fits the step time as
``STEP_SECONDS + samples_per_step * multiply_adds_per_sample / MULTIPLY_ADDS_PER_S`` from the
smallest and the largest net, the cost model in ``ae_core.warm``; the middle net checks it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core.config import make_config  # noqa: E402
from ae_core.jobs import JobManager  # noqa: E402
from ae_core.warm import multiply_adds_per_sample  # noqa: E402

CASES = {
    "digits 64-32-8": make_config(
        "stacked", dataset="digits", hidden=(32,), code_size=8, steps=3000
    ),
    "mnist 784-128-32": make_config("stacked", hidden=(128,), code_size=32, steps=1500),
    "mnist 784-300-100-30": make_config(
        "stacked", hidden=(300, 100), code_size=30, batch_size=64, steps=1500
    ),
}


def _batch(manager: JobManager, config, seeds) -> dict:
    """Submit one run per seed at once; their wall time and the median figures of their runs."""
    started = time.monotonic()
    jobs = [manager.submit(config.replace(seed=seed)) for seed in seeds]
    for job in jobs:
        job.wait()
        assert job.state == "done", job.reason
    summaries = [job.summary for job in jobs]
    return {
        "wall": time.monotonic() - started,
        "speed": statistics.median(summary["samples_per_s"] for summary in summaries),
        "train_examples": summaries[0]["train_examples"],
        "parameters": summaries[0]["parameters"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    workers = parser.parse_args().workers
    rows = {}
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    created = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, JobManager(folder, workers=workers) as manager:
        warm_ups = [
            make_config("stacked", dataset="digits", hidden=(8,), code_size=2, steps=20, seed=s)
            for s in range(workers)
        ]
        for job in [manager.submit(config) for config in warm_ups]:
            job.wait()
        first_runs = time.monotonic() - created
        print(
            f"start: {first_runs:.2f} s from making the manager to its first {workers} 20-step "
            f"runs done (workers importing TensorFlow, then one tiny run each)"
        )
        compiles, overheads = [], []
        for name, config in CASES.items():
            # The first runs of a shape compile it (once on each worker); the next ones do not.
            first = _batch(manager, config, range(workers))
            again = _batch(manager, config, range(workers, 2 * workers))
            samples_per_step = min(config.batch_size, again["train_examples"])
            step_seconds = samples_per_step / again["speed"]
            overhead = again["wall"] - config.steps * step_seconds
            compile_seconds = first["wall"] - again["wall"]
            compiles.append(compile_seconds)
            overheads.append(overhead)
            adds = multiply_adds_per_sample(config)
            rows[name] = (adds, samples_per_step, step_seconds)
            print(
                f"{name}: {again['parameters']:,} parameters, {adds:,} multiply-adds a sample; "
                f"{workers} runs at once: wall {first['wall']:.2f} s compiling, "
                f"{again['wall']:.2f} s compiled; {again['speed']:,.0f} samples/s each, "
                f"{step_seconds * 1e3:.3f} ms a step, {compile_seconds:.2f} s to compile, "
                f"{overhead:.2f} s a run beside its steps"
            )
        print(
            f"median: COMPILE_SECONDS = {statistics.median(compiles):.2f}, "
            f"RUN_OVERHEAD_SECONDS = {statistics.median(overheads):.2f}"
        )
    (small_p, small_b, small_t), (large_p, large_b, large_t) = (
        rows["digits 64-32-8"],
        rows["mnist 784-300-100-30"],
    )
    per_sample_parameter = (large_t - small_t) / (large_b * large_p - small_b * small_p)
    step_seconds = small_t - small_b * small_p * per_sample_parameter
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"fit: STEP_SECONDS = {step_seconds:.2e}, "
        f"MULTIPLY_ADDS_PER_S = {1 / per_sample_parameter:.3e}"
    )
    middle_p, middle_b, middle_t = rows["mnist 784-128-32"]
    predicted = step_seconds + middle_b * middle_p * per_sample_parameter
    print(f"check (784-128-32): measured {middle_t * 1e3:.3f} ms a step, fit {predicted * 1e3:.3f}")


if __name__ == "__main__":
    main()
