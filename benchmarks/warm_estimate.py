"""Measure the figures `warm --dry-run` falls back on when the store has no run like a planned one.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/warm_estimate.py

Trains stacked autoencoders of three very different sizes through a ``JobManager`` with
``--workers`` workers (default 2, one TensorFlow thread each, as ``warm`` uses on 2 cores), each
size as many runs at once as there are workers (seeds differ), after a warm-up run per worker so
the workers' start is not counted. Prints, for each size, the wall time from submit to done, the
steady training speed, and what is left over: the per-run overhead (data, compilation, summary,
saving), and how long the workers take to start. Then fits the step time as
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
        for name, config in CASES.items():
            started = time.monotonic()
            jobs = [manager.submit(config.replace(seed=seed)) for seed in range(workers)]
            for job in jobs:
                job.wait()
            wall = time.monotonic() - started
            summaries = [job.summary for job in jobs]
            speed = statistics.median(summary["samples_per_s"] for summary in summaries)
            samples_per_step = min(config.batch_size, summaries[0]["train_examples"])
            step_seconds = samples_per_step / speed
            overhead = wall - config.steps * step_seconds
            adds = multiply_adds_per_sample(config)
            rows[name] = (adds, samples_per_step, step_seconds)
            print(
                f"{name}: {summaries[0]['parameters']:,} parameters, {adds:,} multiply-adds a "
                f"sample; {workers} runs at once: wall {wall:.2f} s, training "
                f"{statistics.median(s['seconds'] for s in summaries):.2f} s each, "
                f"{speed:,.0f} samples/s each, {step_seconds * 1e3:.3f} ms a step, "
                f"overhead {overhead:.2f} s a run"
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
