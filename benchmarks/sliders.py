"""How fast a slider answers: submits through ``JobManager`` with warm workers, as the app does.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/sliders.py [--quick]

Prints, for the default sparse_kl run (784-256-784, 2,000 steps, batch 64) on MNIST:
- a slider move: the first value of a shape (it compiles), then other values of the sparsity
  target one after another: submit -> first live point, and submit -> done, median and range;
- a sweep: 8 values of the sparsity target as one ``submit_sweep``, against the same 8 values
  as separate submits and against one run alone;
- a class at once: 30 runs (seeds 0-29) submitted together on the default 2 workers, first live
  point and done, median / p90 / max, the last one done, and the time left the pages showed
  10 s in against the time it really took;
- a worker's memory over many runs of one shape without being recycled.
Each part uses a fresh run store, so nothing is served from the cache. Figures only: the machine
is shared and noisy, so read them side by side within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core.config import make_config  # noqa: E402
from ae_core.jobs import JobManager  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def describe(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s, p90 {percentile(values, 0.9):.2f} s, "
        f"max {max(values):.2f} s (n={len(values)})"
    )


# Options every manager here gets (--threads sets the TensorFlow threads of each worker).
WORKER_OPTIONS: dict = {}
# What the snapshots said was left, by job index: (seconds since submit, seconds left).
ESTIMATES: dict[int, tuple[float, float]] = {}


def warm_manager(folder: str, **options) -> JobManager:
    manager = JobManager(folder, **{**WORKER_OPTIONS, **options})
    deadline = time.monotonic() + 120
    while not all(w.ready for w in manager._workers) or not manager._workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.05)
    return manager


def watch(jobs: list, estimate_at: float | None = None) -> tuple[dict, dict]:
    """Submit-relative times of each job's first live point and of its end (polled as a page
    polls its snapshot, but faster so the figure is the engine's). With ``estimate_at``, each
    job's time left as its snapshot said it then is kept in ``ESTIMATES`` (index -> (when,
    seconds left)), to hold against when it was really done."""
    first_point, done = {}, {}
    started = time.monotonic()
    while len(done) < len(jobs):
        for index, job in enumerate(jobs):
            snap = job.snapshot()
            now = time.monotonic() - started
            if estimate_at is not None and now >= estimate_at and index not in ESTIMATES:
                left = snap.seconds_left if snap.state == "training" else snap.seconds_to_start
                if left is not None and not snap.finished:
                    ESTIMATES[index] = (now, left)
            if index not in first_point and snap.history:
                first_point[index] = time.monotonic() - started
            if index not in done and snap.finished:
                done[index] = time.monotonic() - started
                first_point.setdefault(index, done[index])
        # Finer than a page's 1 s poll, coarse enough that 30 jobs' snapshots cost the server
        # little of the CPU the workers train with.
        time.sleep(0.02)
    return first_point, done


def slider_moves(steps: int, moves: int) -> None:
    base = make_config("sparse_kl", steps=steps)
    with tempfile.TemporaryDirectory() as folder, warm_manager(folder, workers=2) as manager:
        firsts, dones = [], []
        for index, target in enumerate([0.1, *[0.02 + 0.01 * i for i in range(moves)]]):
            job = manager.submit(base.replace(sparsity_target=round(target, 4)))
            first_point, done = watch([job])
            assert job.state == "done", job.reason
            if index == 0:
                print(
                    f"  first value of the shape (compiles): first point {first_point[0]:.2f} s, "
                    f"done {done[0]:.2f} s"
                )
                continue
            firsts.append(first_point[0])
            dones.append(done[0])
        print(f"  other values, submit -> first live point: {describe(firsts)}")
        print(f"  other values, submit -> done:             {describe(dones)}")


def sweep_against_one_run(steps: int) -> None:
    base = make_config("sparse_kl", steps=steps)
    targets = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4]
    with tempfile.TemporaryDirectory() as folder, warm_manager(folder, workers=2) as manager:
        # Compile the shape on both workers first, as a warm server would have.
        watch([manager.submit(base.replace(seed=100)), manager.submit(base.replace(seed=101))])
        # One run alone, three times (one figure is too noisy to divide by): the median.
        alone = [watch([manager.submit(base.replace(seed=seed))]) for seed in (102, 103, 104)]
        one_first = {0: statistics.median(first[0] for first, _ in alone)}
        one_done = {0: statistics.median(done[0] for _, done in alone)}
        started = time.monotonic()
        jobs = list(manager.submit_sweep(base, "sparsity_target", targets).jobs)
        first_point, _ = watch(jobs)
        sweep_wall = time.monotonic() - started
        # The same 8 values (another seed, so nothing is cached) as 8 separate submits.
        started = time.monotonic()
        jobs = [manager.submit(base.replace(sparsity_target=t, seed=1)) for t in targets]
        separate_first, _ = watch(jobs)
        separate_wall = time.monotonic() - started
    print(f"  one run (median of 3): first point {one_first[0]:.2f} s, done {one_done[0]:.2f} s")
    print(
        f"  sweep of 8: done {sweep_wall:.2f} s = {sweep_wall / one_done[0]:.2f}x one run; its "
        f"first member's first point {first_point[0]:.2f} s"
    )
    print(
        f"  8 separate submits: done {separate_wall:.2f} s = {separate_wall / one_done[0]:.2f}x "
        f"one run; the first one's first point {separate_first[0]:.2f} s"
    )


def class_at_once(steps: int, students: int) -> None:
    configs = [make_config("sparse_kl", steps=steps, seed=seed) for seed in range(students)]
    with tempfile.TemporaryDirectory() as folder, warm_manager(folder, workers=2) as manager:
        # One run of the shape before class, as a warmed server has (the compile is per worker).
        watch(
            [
                manager.submit(configs[0].replace(seed=1000)),
                manager.submit(configs[0].replace(seed=1001)),
            ]
        )
        jobs: list = [None] * students
        gate = threading.Barrier(students)

        def press_train(index: int) -> None:
            gate.wait()
            jobs[index] = manager.submit(configs[index])

        threads = [threading.Thread(target=press_train, args=(i,)) for i in range(students)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ESTIMATES.clear()
        first_point, done = watch(jobs, estimate_at=10.0)
        assert {job.state for job in jobs} == {"done"}
        print(f"  first live point: {describe(list(first_point.values()))}")
        print(f"  done:             {describe(list(done.values()))}")
        print(f"  last run done after {max(done.values()):.2f} s")
        # Honest progress: the time left a page showed 10 s in, against the time it really took.
        ratios = [left / (done[i] - when) for i, (when, left) in ESTIMATES.items()]
        if ratios:
            print(
                f"  time left shown 10 s in / time it really took: median "
                f"{statistics.median(ratios):.2f}, range {min(ratios):.2f} to {max(ratios):.2f} "
                f"(n={len(ratios)})"
            )


def memory_over_runs(steps: int, runs: int) -> None:
    import psutil

    base = make_config("sparse_kl", steps=steps)
    with tempfile.TemporaryDirectory() as folder, warm_manager(folder, workers=1) as manager:
        worker = psutil.Process(manager.worker_pids()[0])
        sizes = []
        for index in range(runs):
            job = manager.submit(base.replace(seed=index))
            assert job.wait(300) and job.state == "done", job.reason
            time.sleep(0.05)
            sizes.append(worker.memory_info().rss / 2**20)
        assert manager.worker_pids() == [worker.pid], "the worker was recycled"
        print(
            f"  worker memory after run 1: {sizes[0]:.0f} MB, after run {runs // 10}: "
            f"{sizes[runs // 10 - 1]:.0f} MB, after run {runs}: {sizes[-1]:.0f} MB "
            f"(growth from run {runs // 10} to {runs}: {sizes[-1] - sizes[runs // 10 - 1]:+.0f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and steps, a rough look")
    parser.add_argument("--only", choices=["moves", "sweep", "class", "memory"], action="append")
    parser.add_argument(
        "--threads", type=int, help="TensorFlow threads per worker (default: the manager's)"
    )
    args = parser.parse_args()
    if args.threads:
        WORKER_OPTIONS["threads_per_worker"] = args.threads
    steps = 300 if args.quick else 2000
    parts = args.only or ["moves", "sweep", "class", "memory"]
    if "moves" in parts:
        print(f"a slider move (sparse_kl defaults, {steps} steps, 2 workers):")
        slider_moves(steps, 4 if args.quick else 10)
    if "sweep" in parts:
        print("a sweep of 8 sparsity targets against one run (2 workers):")
        sweep_against_one_run(steps)
    if "class" in parts:
        print("a class at once: 30 runs submitted together (2 workers):")
        class_at_once(steps, 10 if args.quick else 30)
    if "memory" in parts:
        runs = 20 if args.quick else 100
        print(f"one worker's memory over {runs} runs of one shape:")
        memory_over_runs(200 if args.quick else 500, runs)


if __name__ == "__main__":
    main()
