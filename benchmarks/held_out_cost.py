"""What the held-out loss costs the training: the default sparse_kl run (784-256-784, 2,000 steps
of 64 MNIST digits) trained three ways on one compiled model, interleaved over several rounds:

- without: no held-out loss (the schedule measures nothing; the training as before);
- inside: the held-out loss measured inside the compiled chunk, as the trainer does;
- outside: chunks cut at each measured point and the held-out loss computed between chunks by
  a separate compiled function (the other way to do it).

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/held_out_cost.py \
        [--rounds 5] [--examples 500] [--points 50]

Chunks are sized as ``RunTraining`` sizes them (a first chunk of 20 steps, then about 0.3 s).
Prints each way's median training seconds (compilation excluded) and its overhead against
"without"; the CPU time of one measurement alone; the same chunk of the steps between two
measurements timed with and without its measurement, alternately (the figure least moved by
other work on the machine); and what compiling each way costs. Figures only: the machine is
shared and noisy, so read them side by side within one run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from ae_core import trainer  # noqa: E402
from ae_core.config import make_config  # noqa: E402
from ae_core.data import load_dataset  # noqa: E402


def train_once(compiled, config, mode: str, evaluate) -> tuple[float, float, int]:
    """Wall and CPU seconds spent in chunks (and in ``evaluate``, outside) over the run, and the
    measurements made."""
    compiled.start(config)
    runner = compiled.runners[0]
    steps = config.steps
    window = max(1, math.ceil(steps / trainer.POINTS_PER_PHASE))
    every, last_window = trainer.held_out_schedule(steps, window)
    measured_ends = sorted(
        {min(steps, (index + 1) * window) for index in range(every - 1, last_window + 1, every)}
        | {steps}
    )
    done, windows_per_chunk = 0, max(1, trainer.FIRST_CHUNK_STEPS // window)
    seconds = cpu_seconds = 0.0
    measurements = 0
    while done < steps:
        count = min(windows_per_chunk * window, steps - done)
        if mode == "outside":
            count = min(count, next(end for end in measured_ends if end > done) - done)
        started, cpu_started = time.perf_counter(), time.process_time()
        if mode == "inside":
            output = runner.run(count, window, done // window, every, last_window)
            measurements += int(sum(math.isfinite(value) for value in output[6]))
        else:
            output = runner.run(count, window)
        done += output[3]
        if mode == "outside" and done in measured_ends:
            float(evaluate())
            measurements += 1
        chunk = time.perf_counter() - started
        seconds += chunk
        cpu_seconds += time.process_time() - cpu_started
        per_window = chunk / max(count / window, 1e-9)
        windows_per_chunk = int(
            min(trainer.MAX_WINDOWS_PER_CHUNK, max(1, trainer.CHUNK_SECONDS / per_window))
        )
    return seconds, cpu_seconds, measurements


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--examples", type=int, default=trainer.HELD_OUT_EXAMPLES)
    parser.add_argument("--points", type=int, default=trainer.HELD_OUT_POINTS_PER_PHASE)
    parser.add_argument("--pairs", type=int, default=200, help="paired chunks to time")
    args = parser.parse_args()
    trainer.HELD_OUT_EXAMPLES, trainer.HELD_OUT_POINTS_PER_PHASE = args.examples, args.points

    config = make_config("sparse_kl", dataset="mnist")
    dataset = load_dataset("mnist")
    started = time.perf_counter()
    compiled = trainer.CompiledModel(config, dataset)
    compile_seconds = time.perf_counter() - started
    phase, rng = compiled.phases[0], compiled.rng
    held_out = tf.constant(trainer.held_out_set(dataset))
    evaluate = tf.function(
        lambda: phase.compute(held_out, rng, False)[0]["reconstruction"], jit_compile=True
    )
    started = time.perf_counter()
    float(evaluate())
    evaluate_compile_seconds = time.perf_counter() - started

    modes = ("without", "inside", "outside")
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    cpu: dict[str, list[float]] = {mode: [] for mode in modes}
    measured: dict[str, int] = {}
    for round_index in range(args.rounds):
        order = modes[round_index % 3 :] + modes[: round_index % 3]
        for mode in order:
            took, took_cpu, measured[mode] = train_once(compiled, config, mode, evaluate)
            seconds[mode].append(took)
            cpu[mode].append(took_cpu)
    one_measurement = []
    for _ in range(50):
        started = time.process_time()
        float(evaluate())
        one_measurement.append(time.process_time() - started)
    print(
        f"{config.variant} on {dataset.name}: {config.steps} steps of {config.batch_size}, "
        f"held-out set of {len(held_out)} test digits, at most {args.points} points a phase; "
        f"median of {args.rounds} rounds, wall and CPU seconds in training"
    )
    baseline = statistics.median(seconds["without"])
    cpu_baseline = statistics.median(cpu["without"])
    for mode in modes:
        median, cpu_median = statistics.median(seconds[mode]), statistics.median(cpu[mode])
        print(
            f"  {mode:8s} wall {median:6.3f} s ({median / baseline - 1:+.1%})  "
            f"CPU {cpu_median:6.3f} s ({cpu_median / cpu_baseline - 1:+.1%})  "
            f"measurements {measured[mode]}  wall: {', '.join(f'{s:.2f}' for s in seconds[mode])}"
        )
    each = statistics.median(one_measurement)
    print(
        f"  one held-out measurement alone: {each * 1000:.1f} ms of CPU (median of 50), so "
        f"{measured['inside']} of them are {measured['inside'] * each / cpu_baseline:.1%} of the "
        "training's CPU time"
    )
    # Paired chunks, robust to a machine whose load changes from run to run: the same chunk of
    # the steps between two measurements, with its one measurement and without, alternately.
    compiled.start(config)
    runner = compiled.runners[0]
    window = max(1, math.ceil(config.steps / trainer.POINTS_PER_PHASE))
    every, _ = trainer.held_out_schedule(config.steps, window)
    paired: dict[str, list[float]] = {"without": [], "inside": []}
    for _ in range(args.pairs):
        for mode in paired:
            started = time.process_time()
            if mode == "inside":
                runner.run(every * window, window, 0, every, -1)
            else:
                runner.run(every * window, window)
            paired[mode].append(time.process_time() - started)
    chunk_without, chunk_inside = (statistics.median(paired[mode]) for mode in paired)
    extra = chunk_inside / chunk_without - 1
    print(
        f"  paired chunks of {every * window} steps (the steps between two measurements), median "
        f"of {args.pairs}: {chunk_without * 1000:.1f} ms of CPU without, "
        f"{chunk_inside * 1000:.1f} ms with its measurement ({extra:+.1%})"
    )
    print(
        f"  compiling the model's chunk (held-out inside it): {compile_seconds:.2f} s; a separate "
        f"held-out function: {evaluate_compile_seconds:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
