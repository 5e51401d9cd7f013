"""The same 16 runs through the local backend and through Ray, on this machine.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/backends.py [--rounds 2]

Needs Ray (pip install -r requirements-ray.txt). Starts a Ray cluster of this machine's cores
(``ray start --head``, as the README says), then, for each backend in turn (local, Ray, Ray,
local, ... so drift on a shared machine falls on both), a fresh run store and a manager of one
worker per core, and measures what people meet:
- the workers' start (manager made -> every worker ready);
- a lone run: submit -> first live point, and submit -> done (three runs one after another, the
  first of them compiling the shape);
- the class: 16 runs submitted at once (the default Train-page run, 16 sparsity targets):
  submit -> each run's first live point, median and p90, and submit -> the last one done, so the
  runs per minute per core; and the overhead of Ray per run, (Ray's 16 - local's 16) / 16.
Figures only, read side by side: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Ray reads its token settings when it is imported: the cluster here and this driver share one.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sliders import percentile  # noqa: E402  (benchmarks/, the script's own folder)

from ae_core.config import make_config  # noqa: E402
from ae_core.jobs import JobManager  # noqa: E402
from ae_core.local_workers import core_count  # noqa: E402

RUNS = 16
TARGETS = [round(0.01 + 0.01 * i, 3) for i in range(RUNS)]


def watch(jobs: list) -> tuple[list[float], list[float]]:
    """Each job's submit-relative first live point and end, polled every 20 ms."""
    started = time.monotonic()
    first: dict[int, float] = {}
    done: dict[int, float] = {}
    while len(done) < len(jobs):
        for index, job in enumerate(jobs):
            snap = job.snapshot()
            now = time.monotonic() - started
            if index not in first and snap.history:
                first[index] = now
            if index not in done and snap.finished:
                if snap.state != "done":
                    raise RuntimeError(f"{job.run_id} {snap.state}: {snap.reason}")
                done[index] = now
                first.setdefault(index, now)
        time.sleep(0.02)
    return [first[i] for i in range(len(jobs))], [done[i] for i in range(len(jobs))]


def start_cluster(cpus: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    head = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block"]
        + ["--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}"]
        + ["--include-dashboard=false", "--disable-usage-stats"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in Path(log.name).read_text():
        if head.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(Path(log.name).read_text()[-2000:])
        time.sleep(0.2)
    return head, f"127.0.0.1:{port}"


def measure(backend: str, address: str | None, workers: int, steps: int) -> dict:
    base = make_config("sparse_kl", steps=steps)
    with tempfile.TemporaryDirectory() as folder:
        made = time.monotonic()
        with JobManager(folder, workers=workers, backend=backend, ray_address=address) as manager:
            while len(manager._workers) < workers or not all(w.ready for w in manager._workers):
                time.sleep(0.02)
            start = time.monotonic() - made
            lone_first, lone_done = [], []
            for seed in (101, 102, 103):
                first, done = watch([manager.submit(base.replace(seed=seed))])
                lone_first.append(first[0])
                lone_done.append(done[0])
            started = time.monotonic()
            jobs = [manager.submit(base.replace(sparsity_target=t)) for t in TARGETS]
            class_first, class_done = watch(jobs)
            wall = time.monotonic() - started
    return {
        "start": start,
        "lone_first": lone_first,
        "lone_done": lone_done,
        "class_first": class_first,
        "class_wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="pairs of (local, Ray) runs")
    parser.add_argument("--steps", type=int, default=2000, help="steps of each run")
    args = parser.parse_args()
    cores = core_count()
    head, address = start_cluster(cores)
    results: dict[str, list[dict]] = {"local": [], "ray": []}
    try:
        for round_number in range(args.rounds):
            order = ("local", "ray") if round_number % 2 == 0 else ("ray", "local")
            for backend in order:
                figures = measure(backend, address if backend == "ray" else None, cores, args.steps)
                results[backend].append(figures)
                print(
                    f"round {round_number + 1} {backend:5}: workers ready {figures['start']:.1f} s"
                    f", 16 runs done in {figures['class_wall']:.1f} s",
                    flush=True,
                )
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(60)

    print(
        f"\n{RUNS} runs of the default Train-page run (sparse_kl 784-256-784, {args.steps} steps, "
        f"batch 64, MNIST) on {cores} workers, {cores} cores, {args.rounds} rounds each:"
    )
    walls = {}
    for backend, rounds in results.items():
        lone_first = [x for r in rounds for x in r["lone_first"][1:]]  # compiled already
        lone_done = [x for r in rounds for x in r["lone_done"][1:]]
        class_first = [x for r in rounds for x in r["class_first"]]
        walls[backend] = statistics.median(r["class_wall"] for r in rounds)
        per_core = RUNS / walls[backend] * 60 / cores
        print(
            f"  {backend:5}: workers ready {statistics.median(r['start'] for r in rounds):.1f} s;"
            f" lone run first point {statistics.median(lone_first):.2f} s, done "
            f"{statistics.median(lone_done):.2f} s; 16 at once: first points median "
            f"{statistics.median(class_first):.2f} s p90 {percentile(class_first, 0.9):.2f} s, "
            f"all done {walls[backend]:.1f} s = {per_core:.2f} runs a minute a core"
        )
    overhead = (walls["ray"] - walls["local"]) / RUNS
    print(
        f"  Ray's overhead: {overhead:+.2f} s a run of {walls['local'] / RUNS * cores:.2f} s "
        f"({walls['ray'] / walls['local']:.3f}x local)"
    )


if __name__ == "__main__":
    main()
