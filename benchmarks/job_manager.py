"""A classroom at once: 30 small jobs submitted together to the job manager, against a plain loop.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/job_manager.py [--jobs 30]

Each mode runs in a fresh process of its own and a fresh runs folder, one after another, and
prints: the wall time for all jobs, when the first metrics snapshot was available (the first
student sees a loss point) and when the last job's first snapshot was (the last student in the
queue sees one), and the peak resident memory of the process and its workers together.

- loop: ``train()`` then ``run_summary()`` for each config, one after another, in one process
  (what a hand-written script does; nothing is saved);
- manager, W workers: ``JobManager(workers=W)``, 30 threads submitting at once, then each
  polling its job's snapshot five times a second (as a live page does) until it finishes; every
  run is saved to the run store. It also prints how long ``snapshot()`` took and how much CPU the
  server process itself used. The manager's start-up (workers importing TensorFlow) is timed
  apart, since a server pays it once, before the class arrives.

One round each, on a shared machine: compare the ratios more than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# How often each simulated student's page polls its job, as the app's live view does.
POLL_SECONDS = 0.2


def job_configs(count: int):
    from ae_core.config import make_config

    return [
        make_config(
            "stacked",
            dataset="mnist",
            hidden=(64,),
            code_size=16,
            steps=300,
            batch_size=64,
            seed=seed,
        )
        for seed in range(count)
    ]


class PeakMemory:
    """Samples the resident memory of this process and all its descendants every 50 ms."""

    def __init__(self):
        import psutil

        self._process = psutil.Process()
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _total_mb(self) -> float:
        import psutil

        total = 0
        for process in [self._process, *self._process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, self._total_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def run_loop(count: int) -> dict:
    from ae_core.analysis import run_summary
    from ae_core.data import load_dataset
    from ae_core.trainer import train

    configs = job_configs(count)
    dataset = load_dataset("mnist")
    first_points: list[float] = []
    with PeakMemory() as memory:
        started = time.perf_counter()
        for config in configs:
            seen = []

            def on_progress(progress, seen=seen) -> None:
                if not seen:
                    seen.append(time.perf_counter() - started)

            result = train(config, dataset, on_progress=on_progress)
            run_summary(result)
            first_points.append(seen[0])
        wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "first_snapshot_s": min(first_points),
        "last_first_snapshot_s": max(first_points),
        "peak_mb": memory.peak_mb,
    }


def run_manager(count: int, workers: int) -> dict:
    import psutil

    from ae_core.jobs import JobManager

    configs = job_configs(count)
    with tempfile.TemporaryDirectory() as runs_dir, PeakMemory() as memory:
        startup = time.perf_counter()
        manager = JobManager(runs_dir, workers=workers)
        while len([size for size in manager.worker_sizes_mb() if size > 0]) < workers:
            time.sleep(0.05)
        startup_s = time.perf_counter() - startup
        jobs = [None] * count
        first_seen = [math.nan] * count
        poll_seconds: list[float] = []
        gate = threading.Barrier(count + 1)

        def student(index: int) -> None:
            """Submit, then poll the snapshot five times a second, as a live page does."""
            gate.wait()
            job = jobs[index] = manager.submit(configs[index])
            while True:
                called = time.perf_counter()
                snapshot = job.snapshot()
                poll_seconds.append(time.perf_counter() - called)
                if snapshot.history and math.isnan(first_seen[index]):
                    first_seen[index] = time.perf_counter() - started
                if snapshot.finished:
                    return
                time.sleep(POLL_SECONDS)

        threads = [threading.Thread(target=student, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        server_cpu = psutil.Process().cpu_times()
        started = time.perf_counter()
        gate.wait()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        used = psutil.Process().cpu_times()
        server_cpu_s = (used.user + used.system) - (server_cpu.user + server_cpu.system)
        states = sorted({job.state for job in jobs})
        manager.shutdown()
    poll_us = sorted(seconds * 1e6 for seconds in poll_seconds)
    return {
        "startup_s": startup_s,
        "wall_s": wall,
        "first_snapshot_s": min(first_seen),
        "last_first_snapshot_s": max(first_seen),
        "peak_mb": memory.peak_mb,
        "states": states,
        "snapshot_calls": len(poll_us),
        "snapshot_median_us": poll_us[len(poll_us) // 2],
        "snapshot_p99_us": poll_us[int(len(poll_us) * 0.99)],
        # The server's own CPU (the workers are other processes): polling and bookkeeping.
        "server_cpu_share": server_cpu_s / wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # one mode, in a child process
    args = parser.parse_args()
    if args.mode:
        kind, _, workers = args.mode.partition(":")
        figures = run_loop(args.jobs) if kind == "loop" else run_manager(args.jobs, int(workers))
        print(json.dumps(figures))
        return 0

    cores = len(os.sched_getaffinity(0))
    modes = [("plain loop", "loop"), ("manager, 1 worker", "manager:1")]
    modes += [(f"manager, {n} workers", f"manager:{n}") for n in range(2, cores + 1)]
    print(f"{args.jobs} jobs (stacked 784-64-16-64-784, 300 steps of 64, MNIST), {cores} cores")
    results = {}
    for label, mode in modes:
        output = subprocess.run(
            [sys.executable, __file__, "--jobs", str(args.jobs), "--mode", mode],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[label] = json.loads(output.strip().splitlines()[-1])
        print(f"  {label}: {results[label]}", flush=True)
    loop = results["plain loop"]
    print()
    print(
        "| mode | wall (s) | first snapshot (s) | last job's first snapshot (s) | peak memory "
        "(MB) | wall / loop |"
    )
    print("|---|---|---|---|---|---|")
    for label, figures in results.items():
        print(
            f"| {label} | {figures['wall_s']:.1f} | {figures['first_snapshot_s']:.2f} | "
            f"{figures['last_first_snapshot_s']:.1f} | {figures['peak_mb']:,.0f} | "
            f"{figures['wall_s'] / loop['wall_s']:.2f}x |"
        )
    for label, figures in results.items():
        if "startup_s" in figures:
            print(
                f"{label}: workers ready {figures['startup_s']:.1f} s after the manager was "
                f"made (paid once per server); final states {figures['states']}"
            )
            print(
                f"  {figures['snapshot_calls']:,} snapshot() calls by {args.jobs} polling "
                f"threads: median {figures['snapshot_median_us']:.0f} us, 99th percentile "
                f"{figures['snapshot_p99_us']:.0f} us; the server process used "
                f"{figures['server_cpu_share']:.1%} of one core"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
