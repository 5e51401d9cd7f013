"""The command line: list variants and lessons, train one and print its figures.

    python -m ae_core variants
    python -m ae_core train --variant sparse_kl --set code_size=64 --set sparsity_weight=0.2 --json
    python -m ae_core train --variant vae --save          # also keep the run in the run store
    python -m ae_core train --preset sparse-kl --json     # a lesson, as published
    python -m ae_core lessons [list | report [--train]]   # the lessons; docs/RESULTS.md
    python -m ae_core runs [list | delete ID | export ID [-o FILE] | import FILE] [--runs-dir DIR]

With ``--json`` exactly one JSON object goes to stdout; progress and notices go to stderr.
Exit codes: 0 done, 1 the run failed, the data could not be had or a stored run could not be
read, written or imported, 2 a bad setting.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ae_core import lessons, registry
from ae_core.config import ConfigError, RunConfig, field_spec, make_config, parse_setting

EXIT_OK, EXIT_FAILED, EXIT_BAD_SETTING = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ae_core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("variants", help="list the variants and the settings they use")
    listing.add_argument("--json", action="store_true", help="print one JSON object")

    train = commands.add_parser("train", help="train one autoencoder and print its figures")
    what = train.add_mutually_exclusive_group(required=True)
    what.add_argument("--variant", help="one of: " + ", ".join(registry.available()))
    what.add_argument(
        "--preset",
        help="a lesson, trained as published (with its comparison runs); --set changes it. "
        "One of: " + ", ".join(lessons.names()),
    )
    _add_settings_option(
        train, "a configuration setting, e.g. hidden=300,100 or learning_rate=0.01 (repeatable)"
    )
    train.add_argument("--dataset", help="mnist, mnist-sample, fashion-mnist, digits or toy3d")
    train.add_argument("--steps", help="optimisation steps")
    train.add_argument("--data-dir", help="local data folder (default: $AE_DATA_DIR)")
    train.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    train.add_argument(
        "--save", action="store_true", help="keep the run in the run store (see 'runs')"
    )
    train.add_argument("--runs-dir", help="the run store's folder (default: $AE_RUNS_DIR)")

    lesson_parser = commands.add_parser(
        "lessons", help="list the lessons, or write docs/RESULTS.md from their stored runs"
    )
    lesson_actions = lesson_parser.add_subparsers(dest="action")
    lesson_list = lesson_actions.add_parser("list", help="the lessons and their settings")
    lesson_list.add_argument("--json", action="store_true", help="print one JSON object")
    report = lesson_actions.add_parser(
        "report", help="write the published-against-ours report from the stored lesson runs"
    )
    report.add_argument("--runs-dir", help="the run store's folder (default: $AE_RUNS_DIR)")
    report.add_argument(
        "--train", action="store_true", help="first train (and store) the lesson runs missing"
    )
    report.add_argument("--only", action="append", help="train just this lesson (repeatable)")
    _add_settings_option(
        report, "a setting changed in every lesson run, e.g. steps=100 for a quick look"
    )
    report.add_argument("--data-dir", help="local data folder (default: $AE_DATA_DIR)")
    report.add_argument(
        "--output", default="docs/RESULTS.md", help="the Markdown file (images go beside it)"
    )

    runs = commands.add_parser("runs", help="list, delete, export or import stored runs")
    runs.add_argument("--runs-dir", help="the run store's folder (default: $AE_RUNS_DIR)")
    # Accepted after the action too; SUPPRESS keeps the action from resetting the folder given
    # before it.
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument("--runs-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    actions = runs.add_subparsers(dest="action")
    run_list = actions.add_parser("list", parents=[folder], help="the stored runs, newest first")
    run_list.add_argument("--json", action="store_true", help="print one JSON object")
    delete = actions.add_parser("delete", parents=[folder], help="delete a run")
    delete.add_argument("run_id")
    export = actions.add_parser("export", parents=[folder], help="write a run as one .zip")
    export.add_argument("run_id")
    export.add_argument("-o", "--output", help="the archive's path (default: RUN_ID.zip)")
    import_ = actions.add_parser("import", parents=[folder], help="add an exported run archive")
    import_.add_argument("archive")
    return parser


def _add_settings_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    pairs = list(args.settings)
    if getattr(args, "dataset", None) is not None:
        pairs.append(f"dataset={args.dataset}")
    if getattr(args, "steps", None) is not None:
        pairs.append(f"steps={args.steps}")
    settings = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise ConfigError("set", f"--set {pair!r} is not of the form KEY=VALUE")
        key = key.strip()
        field_spec(key)  # unknown keys fail here with the list of known ones
        settings[key] = parse_setting(key, value)
    return settings


def _format_progress(progress) -> str:
    terms = ", ".join(f"{name} {value:.4g}" for name, value in progress.loss_terms.items())
    phase = f" [{progress.phase}]" if progress.phase_count > 1 else ""
    return (
        f"step {progress.step}/{progress.total_steps}{phase}  loss {progress.loss:.4f} ({terms})  "
        f"{progress.samples_per_s:,.0f} samples/s"
    )


def _train(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.preset is not None:
        lesson = lessons.get(args.preset)
        configs = lesson.configs(**settings)
    else:
        lesson = None
        configs = {lessons.MAIN: make_config(args.variant, **settings)}

    from ae_core.data import DataError, load_dataset

    try:
        with contextlib.redirect_stdout(sys.stderr):
            datasets = {
                name: load_dataset(name, data_dir=args.data_dir)
                for name in {config.dataset for config in configs.values()}
            }
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED

    summaries, failure = {}, None
    for role, config in configs.items():
        if lesson is not None:
            print(f"lesson {lesson.name}: the run '{role}'", file=sys.stderr)
        result, summary = train_and_summarise(config, datasets[config.dataset])
        if args.save:
            _save_run(args.runs_dir, result, summary)
        summaries[role] = summary
        if result.status == "failed":
            failure = failure or result.reason
        if result.status == "stopped":
            break  # Ctrl-C stops the lesson, not just its current run

    output = dict(summaries[lessons.MAIN])
    if lesson is not None:
        output["lesson"] = lesson_figures(lesson, summaries)
    if args.json:
        print(json.dumps(_json_safe(output)))
    else:
        _print_summary(summaries[lessons.MAIN])
        if lesson is not None:
            _print_lesson(output["lesson"])
    if failure is not None:
        print(f"error: {failure}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def lesson_figures(lesson: lessons.Lesson, summaries: dict[str, dict]) -> dict[str, Any]:
    """A lesson's published figures against ours, with the summaries of its other runs."""
    main = summaries.get(lessons.MAIN) or {}
    return {
        "name": lesson.name,
        "title": lesson.title,
        "source": lesson.source,
        "samples_note": lesson.samples_note(main.get("train_examples"), main.get("total_steps")),
        "figures": lesson.results(summaries),
        "runs": {role: summary.get("run_id") for role, summary in summaries.items()},
        "other_runs": {
            role: summary for role, summary in summaries.items() if role != lessons.MAIN
        },
    }


def train_and_summarise(config: RunConfig, dataset) -> tuple[Any, dict]:
    """Train ``config`` with progress on stderr; Ctrl-C stops it between chunks, keeping the
    model. Returns the TrainResult and its summary."""
    from ae_core.analysis import run_summary
    from ae_core.trainer import train

    print(f"training {config.variant} ({config.run_id}) on {config.dataset}", file=sys.stderr)
    last_print = [0.0]

    def report(progress) -> None:
        now = time.monotonic()
        if now - last_print[0] >= 1.0 or progress.step == progress.total_steps:
            last_print[0] = now
            print(_format_progress(progress), file=sys.stderr, flush=True)

    # Training runs in a worker so Ctrl-C can ask it to stop between chunks and keep its model.
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = train(config, dataset, on_progress=report, stop_event=stop)
        except BaseException as error:  # handed to the main thread, which reports it
            outcome["error"] = error

    worker = threading.Thread(target=work, name="ae-train", daemon=True)
    # Libraries print notices (Keras: "Downloading data from ...") to stdout; stdout is kept
    # for the one JSON object.
    with contextlib.redirect_stdout(sys.stderr):
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            print("stopping after the current chunk...", file=sys.stderr)
            stop.set()
            worker.join()
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]
    with contextlib.redirect_stdout(sys.stderr):
        return result, run_summary(result)


def _save_run(runs_dir: str | None, result, summary: dict) -> None:
    from ae_core.store import RunStore, data_record

    store = RunStore(runs_dir)
    with store.begin(result.config, data_record(result.dataset)) as writer:
        writer.finish(result.model, [point.to_dict() for point in result.history], summary)
    print(f"saved as {writer.run_id} in {store.root}", file=sys.stderr)


def _runs(args: argparse.Namespace) -> int:
    from ae_core.store import RunStore

    store = RunStore(args.runs_dir)
    action = args.action or "list"
    if action == "list":
        records = store.scan()
        for problem in store.problems:
            print(f"warning: {problem}", file=sys.stderr)
        if getattr(args, "json", False):
            listing = [
                {
                    "run_id": r.run_id,
                    "status": r.status,
                    "reason": r.reason,
                    "test_mse": (r.summary or {}).get("test_mse"),
                    "steps": (r.summary or {}).get("steps"),
                    "config": r.config.to_dict(),
                }
                for r in records
            ]
            print(json.dumps(_json_safe({"runs_dir": str(store.root), "runs": listing})))
            return EXIT_OK
        print(f"{len(records)} runs in {store.root}")
        for r in records:
            mse = (r.summary or {}).get("test_mse")
            figure = f"test MSE {mse:.5f}" if isinstance(mse, float) else ""
            print(f"{r.run_id:<28} {r.status:<12} {figure}  {r.reason or ''}".rstrip())
        return EXIT_OK
    if action == "delete":
        store.delete(args.run_id)
        print(f"deleted {args.run_id}", file=sys.stderr)
    elif action == "export":
        output = Path(args.output or f"{args.run_id}.zip")
        output.write_bytes(store.export_run(args.run_id))
        print(f"exported {args.run_id} to {output}", file=sys.stderr)
    else:
        record = store.import_run(args.archive)
        print(f"imported {record.run_id} ({record.status}) into {store.root}", file=sys.stderr)
    return EXIT_OK


def _json_safe(value: Any) -> Any:
    # JSON has no NaN or infinity; a non-finite figure is reported as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def _print_summary(summary: dict) -> None:
    skip = {"config", "loss_terms"}
    for key, value in summary.items():
        if key in skip or value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.6g}"
        elif isinstance(value, list):
            value = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
        print(f"{key:>24}: {value}")
    for name, value in summary["loss_terms"].items():
        print(f"{'loss ' + name:>24}: {value:.6g}")


def _print_lesson(figures: dict) -> None:
    print(f"\nlesson {figures['name']}: {figures['title']}\n  source: {figures['source']}")
    if figures["samples_note"]:
        print(f"  {figures['samples_note']}")
    for row in figures["figures"]:
        difference = row["difference"]
        versus = f"  ({difference:+.1%})" if difference is not None else ""
        print(f"  {row['figure']}: published {row['published']}; ours {row['ours']}{versus}")


def _lessons(args: argparse.Namespace) -> int:
    if args.action == "report":
        from ae_core.data import load_dataset
        from ae_core.results import missing_runs, write_report

        settings = _settings(args)
        if args.train:
            for name in args.only or []:
                lessons.get(name)  # an unknown name fails before anything trains
            for lesson, role, config in missing_runs(
                args.only or lessons.names(), args.runs_dir, settings
            ):
                print(f"lesson {lesson.name}: the run '{role}'", file=sys.stderr)
                with contextlib.redirect_stdout(sys.stderr):
                    dataset = load_dataset(config.dataset, data_dir=args.data_dir)
                result, summary = train_and_summarise(config, dataset)
                _save_run(args.runs_dir, result, summary)
                if result.status == "stopped":
                    return EXIT_FAILED  # Ctrl-C: keep what was trained, write nothing
        write_report(args.output, args.runs_dir, args.data_dir, settings)
        return EXIT_OK
    listing = {
        lesson.name: {
            "title": lesson.title,
            "summary": lesson.summary,
            "source": lesson.source,
            "runs": {role: config.to_dict() for role, config in lesson.configs().items()},
        }
        for lesson in lessons.LESSONS
    }
    if getattr(args, "json", False):
        print(json.dumps(listing))
        return EXIT_OK
    for name, facts in listing.items():
        print(f"{name}\n  {facts['title']}: {facts['summary']}\n")
    return EXIT_OK


def _variants(args: argparse.Namespace) -> int:
    listing = {
        name: {
            "summary": (variant := registry.get(name)).summary,
            "options": variant.options(),
            "fixed": variant.fixed,
            "defaults": {
                k: list(v) if isinstance(v, tuple) else v for k, v in variant.defaults.items()
            },
        }
        for name in registry.available()
    }
    if args.json:
        print(json.dumps(listing))
        return EXIT_OK
    for name, facts in listing.items():
        print(f"{name}\n  {facts['summary']}")
        if facts["fixed"]:
            print("  fixed: " + ", ".join(f"{k}={v}" for k, v in facts["fixed"].items()))
        print("  options: " + ", ".join(facts["options"]) + "\n")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    from ae_core.store import StoreError

    args = _parser().parse_args(argv)
    try:
        with _data_folder(getattr(args, "data_dir", None)):
            return _run_command(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTING
    except (StoreError, OSError) as error:
        # StoreError says what went wrong in one sentence; an OSError names the file.
        if isinstance(error, StoreError) or not error.filename:
            message = str(error)
        else:
            message = f"{error.strerror}: {error.filename}"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED


@contextlib.contextmanager
def _data_folder(data_dir: str | None):
    """``--data-dir`` stands for ``AE_DATA_DIR`` for the whole command: the data a run trains on
    is part of its run id, so every part of the command (and any worker it starts) must resolve
    the same data."""
    import os

    if data_dir is None:
        yield
        return
    before = os.environ.get("AE_DATA_DIR")
    os.environ["AE_DATA_DIR"] = data_dir
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("AE_DATA_DIR", None)
        else:
            os.environ["AE_DATA_DIR"] = before


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "variants":
        return _variants(args)
    if args.command == "runs":
        return _runs(args)
    if args.command == "lessons":
        return _lessons(args)
    return _train(args)
