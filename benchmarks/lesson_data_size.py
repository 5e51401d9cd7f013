"""How the plain-sigmoid lesson's figures depend on how many training digits there are.

The lesson's published figures come from 55,000 training digits; offline here there are 8,000.
This trains the lesson as published on the first N of the training digits in use (same test
digits, same steps) and prints the mean activation of each layer and the test and training MSE,
so the trend towards more data can be read off:

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/lesson_data_size.py
    ... --lesson sparse-kl --sizes 2000,4000,8000 --seeds 0,1
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ae_core import lessons  # noqa: E402
from ae_core.analysis import run_summary  # noqa: E402
from ae_core.data import load_dataset  # noqa: E402
from ae_core.trainer import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lesson", default="plain-sigmoid")
    parser.add_argument("--sizes", default="2000,4000,8000", help="training digits to keep")
    parser.add_argument("--seeds", default="0", help="seeds, comma-separated")
    args = parser.parse_args()

    lesson = lessons.get(args.lesson)
    full = load_dataset(lesson.config().dataset)
    print(f"{lesson.name} on {full.source}")
    print("train digits | seed | mean activation per layer | test MSE | train MSE | seconds")
    for size in (int(s) for s in args.sizes.split(",")):
        if size > len(full.x_train):
            raise SystemExit(f"--sizes: at most {len(full.x_train)} training digits are in use")
        subset = dataclasses.replace(full, x_train=full.x_train[:size], y_train=full.y_train[:size])
        for seed in (int(s) for s in args.seeds.split(",")):
            started = time.perf_counter()
            summary = run_summary(train(lesson.config(seed=seed), subset))
            means = ", ".join(f"{m:.3f}" for m in summary["mean_activation"])
            print(
                f"{size:>12,} | {seed:>4} | {means:>25} | {summary['test_mse']:.5f} | "
                f"{summary['loss_terms']['reconstruction']:.5f} | "
                f"{time.perf_counter() - started:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
