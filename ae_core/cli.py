"""The command line: list variants and lessons, train one and print what it measured.

    python -m ae_core variants
    python -m ae_core train --variant sparse_kl --set code_size=64 --set sparsity_weight=0.2 --json
    python -m ae_core train --variant vae --save          # also keep the run in the run store
    python -m ae_core train --preset sparse-kl --json     # a lesson, as published
    python -m ae_core train --variant stacked --sweep code_size=8,16,32 --json   # one run a value
    python -m ae_core warm --lesson all --grid "stacked code_size=8,16 l2=0,0.001" [--dry-run]
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
from ae_core.config import RunConfig, field_spec, make_config, parse_setting
from ae_core.data import DATASETS
from ae_core.errors import ConfigError
from ae_core.run_states import ACTIVE_STATES

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
    *others, last = DATASETS
    train.add_argument("--dataset", help=f"{', '.join(others)} or {last}")
    train.add_argument("--steps", help="optimisation steps")
    train.add_argument("--data-dir", help="local data folder (default: $AE_DATA_DIR)")
    train.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    train.add_argument(
        "--save", action="store_true", help="keep the run in the run store (see 'runs')"
    )
    train.add_argument("--runs-dir", help="the run store's folder (default: $AE_RUNS_DIR)")
    train.add_argument(
        "--sweep",
        metavar="FIELD=VALUES",
        help="train one stored run per value, through the job manager: values separated by "
        "commas (by semicolons for hidden and sparsity_layers, e.g. hidden='300;300,100'), or "
        "linspace:LOW:HIGH:COUNT / logspace:LOW:HIGH:COUNT for a number setting",
    )
    train.add_argument(
        "--workers", type=int, help="with --sweep: runs trained at once (default: one per core)"
    )

    warm = commands.add_parser(
        "warm", help="train ahead of class the runs lessons and grids will ask for"
    )
    warm.add_argument(
        "--lesson",
        action="append",
        default=[],
        metavar="NAME",
        help="every run this lesson's page starts; 'all' for every lesson (repeatable)",
    )
    warm.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="'VARIANT FIELD=VALUES ...'",
        help="the cross product of the listed values, one quoted string (repeatable): an item "
        "with several values is an axis (values as --sweep takes them), an item with one value "
        "a setting of every run, e.g. 'stacked code_size=8,16,32 l2=0,0.001 steps=2000'",
    )
    _add_settings_option(warm, "a setting changed in every run, e.g. steps=100 (repeatable)")
    warm.add_argument(
        "--dry-run",
        action="store_true",
        help="list every run (stored or not) and the time estimate; train nothing",
    )
    warm.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    warm.add_argument("--runs-dir", help="the run store's folder (default: $AE_RUNS_DIR)")
    warm.add_argument("--workers", type=int, help="runs trained at once (default: one per core)")
    warm.add_argument("--data-dir", help="local data folder (default: $AE_DATA_DIR)")

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
    if args.sweep is not None:
        return _train_sweep(args)
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

    from ae_core.errors import StoreError

    summaries, failure, not_saved, findings = {}, None, None, []
    for role, config in configs.items():
        if lesson is not None:
            print(f"lesson {lesson.name}: the run '{role}'", file=sys.stderr)
        snapshots: dict[int, bytes] | None = {} if args.save else None
        result, summary = train_and_summarise(config, datasets[config.dataset], snapshots)
        if args.save:
            try:
                _save_run(args.runs_dir, result, summary, snapshots)
            except StoreError as error:  # the summary is printed all the same, below
                not_saved = not_saved or str(error)
        summaries[role] = summary
        if role == lessons.MAIN:
            findings = _diagnostics(result, summary)
        if result.status == "failed":
            failure = failure or result.reason
        if result.status == "stopped":
            break  # Ctrl-C stops the lesson, not just its current run

    output = {**summaries[lessons.MAIN], "diagnostics": findings}
    if lesson is not None:
        output["lesson"] = lesson_results(lesson, summaries)
    if args.json:
        print(json.dumps(_json_safe(output)))
    else:
        _print_summary(summaries[lessons.MAIN])
        for finding in findings:
            print(f"{'diagnostic':>24}: {finding['message']}")
        if lesson is not None:
            _print_lesson(output["lesson"])
    for problem in (failure, not_saved):
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
    return EXIT_FAILED if failure is not None or not_saved is not None else EXIT_OK


def lesson_results(lesson: lessons.Lesson, summaries: dict[str, dict]) -> dict[str, Any]:
    """A lesson's published results against ours (``"figures"`` in the JSON output), with the
    summaries of its other runs."""
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


def train_and_summarise(
    config: RunConfig, dataset, snapshots: dict[int, bytes] | None = None
) -> tuple[Any, dict]:
    """Train ``config`` with progress on stderr; Ctrl-C stops it between chunks, keeping the
    model. Returns the TrainResult and its summary; with ``snapshots``, fills it with the model's
    weights at each snapshot step (for the store's step scrubber)."""
    from ae_core.analysis import run_summary
    from ae_core.model_files import weights_file_bytes
    from ae_core.trainer import train

    def keep_snapshot(model, step: int) -> None:
        snapshots[step] = weights_file_bytes(model)

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
            outcome["result"] = train(
                config,
                dataset,
                on_progress=report,
                stop_event=stop,
                on_snapshot=keep_snapshot if snapshots is not None else None,
            )
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


def _diagnostics(result, summary: dict) -> list[dict[str, str]]:
    """What went wrong in a run just trained (``ae_core.diagnostics``), as JSON-ready records."""
    from ae_core.diagnostics import diagnose

    history = [point.to_dict() for point in result.history]
    return [finding.to_dict() for finding in diagnose(summary, history, result.config)]


def _save_run(
    runs_dir: str | None, result, summary: dict, snapshots: dict[int, bytes] | None = None
) -> None:
    from ae_core.store import RunFinished, RunStore, data_record

    store = RunStore(runs_dir)
    try:
        writer = store.begin(result.config, data_record(result.dataset))
    except RunFinished as finished:
        # The same config on the same data gives the same numbers: the stored run stays.
        stored = finished.record.run_id
        print(f"not saved: {stored} is stored already in {store.root}, kept", file=sys.stderr)
        return
    with writer:
        for step, weights in (snapshots or {}).items():
            writer.write_snapshot_weights(step, weights)
        writer.finish(result.model, [point.to_dict() for point in result.history], summary)
    print(f"saved as {writer.run_id} in {store.root}", file=sys.stderr)


def _runs(args: argparse.Namespace) -> int:
    from ae_core import archives
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
            shown_mse = f"test MSE {mse:.5f}" if isinstance(mse, float) else ""
            print(f"{r.run_id:<28} {r.status:<12} {shown_mse}  {r.reason or ''}".rstrip())
        return EXIT_OK
    if action == "delete":
        store.delete(args.run_id)
        print(f"deleted {args.run_id}", file=sys.stderr)
    elif action == "export":
        output = Path(args.output or f"{args.run_id}.zip")
        output.write_bytes(archives.export_run(store, args.run_id))
        print(f"exported {args.run_id} to {output}", file=sys.stderr)
    else:
        record = archives.import_run(store, args.archive)
        print(f"imported {record.run_id} ({record.status}) into {store.root}", file=sys.stderr)
    return EXIT_OK


def _json_safe(value: Any) -> Any:
    # JSON has no NaN or infinity; a non-finite number is reported as null.
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


def _print_lesson(report: dict) -> None:
    print(f"\nlesson {report['name']}: {report['title']}\n  source: {report['source']}")
    if report["samples_note"]:
        print(f"  {report['samples_note']}")
    for row in report["figures"]:
        difference = row["difference"]
        versus = f"  ({difference:+.1%})" if difference is not None else ""
        print(f"  {row['figure']}: published {row['published']}; ours {row['ours']}{versus}")


def _lessons(args: argparse.Namespace) -> int:
    if args.action == "report":
        from ae_core.data import load_dataset
        from ae_core.lessons_report import missing_runs, write_report

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
                snapshots: dict[int, bytes] = {}
                result, summary = train_and_summarise(config, dataset, snapshots)
                _save_run(args.runs_dir, result, summary, snapshots)
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
    from ae_core.errors import StoreError

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
    if args.command == "warm":
        return _warm(args)
    return _train(args)


# -- sweeps and warming the store ----------------------------------------------------------------
def _train_sweep(args: argparse.Namespace) -> int:
    from ae_core.diagnostics import diagnose
    from ae_core.sweeps import check_sweep_field, parse_sweep, sweep_configs

    if args.preset is not None:
        raise ConfigError("sweep", "--sweep works with --variant, not with --preset")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("workers", f"--workers {args.workers} must be at least 1")
    settings = _settings(args)
    field, values = parse_sweep(args.sweep)
    check_sweep_field(args.variant, field)
    if field in settings:
        raise ConfigError(field, f"{field} is both swept and set; give it with --sweep only")
    # The first value stands in for the field so the base config validates; every member is
    # validated before any worker starts, so a bad value costs no TensorFlow import.
    base = make_config(args.variant, **{**settings, field: values[0]})
    values, _ = sweep_configs(base, field, values)

    from ae_core.jobs import JobManager

    with JobManager(args.runs_dir, workers=args.workers) as manager:
        sweep = manager.submit_sweep(base, field, values)
        labels = [_show_setting(field, value) for value in sweep.values]
        print(
            f"sweep of {field} over {len(sweep.values)} values, {manager.worker_count} workers, "
            f"runs stored in {manager.store.root}",
            file=sys.stderr,
        )

        def progress() -> str:
            snap = sweep.snapshot()
            left = _format_seconds(snap.seconds_left)
            return (
                f"sweep {field}: {snap.done} done, {snap.training} training, {snap.queued} "
                f"queued, {snap.failed} failed; {snap.fraction_done:.0%} of the steps"
                + (f", about {left} left" if left else "")
            )

        interrupted = _follow(list(zip(labels, sweep.jobs, strict=True)), progress)
        members = [
            {
                **(job.summary or {}),
                "value": value,
                "run_id": job.run_id,
                "status": job.state,
                "reason": job.reason,
                "diagnostics": [
                    finding.to_dict()
                    for finding in diagnose(job.summary, job.snapshot().history, job.config)
                ],
            }
            for value, job in zip(sweep.values, sweep.jobs, strict=True)
        ]
    if args.json:
        output = {"sweep": {"field": field, "values": list(sweep.values)}, "members": members}
        print(json.dumps(_json_safe(output)))
    else:
        _print_members(field, members)
    failed = [member for member in members if member["status"] == "failed"]
    if failed:
        print(
            f"error: {len(failed)} of {len(members)} runs failed; the first "
            f"({_show_setting(field, failed[0]['value'])}): {failed[0]['reason']}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if interrupted:
        print(
            "stopped: the runs that finished are stored; run it again to train the rest",
            file=sys.stderr,
        )
    return EXIT_OK


def _print_members(field: str, members: list[dict]) -> None:
    print(f"{field:>16}  {'status':<10} {'test MSE':>10} {'train loss':>11} {'seconds':>8}  run id")
    for member in members:
        mse, loss, seconds = (member.get(k) for k in ("test_mse", "train_loss", "seconds"))
        print(
            f"{_show_value(member['value']):>16}  {member['status']:<10} "
            f"{_number(mse, '.5f'):>10} {_number(loss, '.5f'):>11} {_number(seconds, '.1f'):>8}  "
            f"{member['run_id']}"
        )


def _number(value: Any, form: str) -> str:
    return format(value, form) if isinstance(value, (int, float)) else "-"


def _show_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _show_setting(field: str, value: Any) -> str:
    return f"{field}={_show_value(value)}"


def _format_seconds(seconds: float | None) -> str | None:
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return None
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


class _StatusLine:
    """One progress line on stderr: redrawn in place on a terminal; printed as plain lines (at
    most one every ``plain_every`` seconds) when stderr is a file or a pipe."""

    def __init__(self, plain_every: float = 10.0):
        self.terminal = sys.stderr.isatty()
        self.plain_every = plain_every
        self._last_plain = -math.inf
        self._drawn = False

    def show(self, text: str, force: bool = False) -> None:
        if self.terminal:
            sys.stderr.write("\r" + text + "\x1b[K")
            sys.stderr.flush()
            self._drawn = True
        elif force or time.monotonic() - self._last_plain >= self.plain_every:
            print(text, file=sys.stderr, flush=True)
            self._last_plain = time.monotonic()

    def note(self, text: str) -> None:
        """A line that stays, printed above the progress line."""
        if self._drawn:
            sys.stderr.write("\r\x1b[K")
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._drawn = False


def _state_line(label: str, job) -> str:
    text = f"{label}: {job.state} ({job.run_id})"
    summary = job.summary or {}
    if job.state == "done" and isinstance(summary.get("test_mse"), float):
        text += f", test MSE {summary['test_mse']:.5f}"
    if job.reason and job.state != "done":
        text += f": {job.reason}"
    return text


def _stop_jobs(jobs: list) -> int:
    # The queued first: stopping a training run frees its worker for the next in the queue.
    stopped = sum(1 for job in jobs if job.state == "queued" and job.cancel())
    return stopped + sum(1 for job in jobs if job.state == "training" and job.stop())


def _follow(members: list[tuple[str, Any]], progress, on_finish=None) -> bool:
    """Print each member's state changes and ``progress()`` about once a second until every
    member has finished. Ctrl-C cancels the queued members and stops the training ones (they keep
    what they learned); a second Ctrl-C gives up waiting. True when interrupted."""
    line = _StatusLine()
    jobs, seen = [], set()
    for label, job in members:
        if job.run_id not in seen:
            seen.add(job.run_id)
            jobs.append((label, job))
    states: dict[str, str] = {}
    interrupted = False
    last_progress = -math.inf
    try:
        while True:
            try:
                for label, job in jobs:
                    state = job.state
                    if states.get(job.run_id) != state:
                        states[job.run_id] = state
                        line.note(_state_line(label, job))
                        if on_finish is not None and state not in ACTIVE_STATES:
                            on_finish(job)
                finished = all(state not in ACTIVE_STATES for state in states.values())
                if finished or time.monotonic() - last_progress >= 1.0:
                    line.show(progress(), force=finished)
                    last_progress = time.monotonic()
                if finished:
                    return interrupted
                time.sleep(0.2)
            except KeyboardInterrupt:
                if interrupted:
                    raise
                interrupted = True
                affected = _stop_jobs([job for _, job in jobs])
                line.note(
                    f"stopping: {affected} runs cancelled or stopped after their current chunk "
                    "(Ctrl-C again to give up waiting)"
                )
    finally:
        line.close()


def _warm(args: argparse.Namespace) -> int:
    from ae_core.local_workers import core_count
    from ae_core.store import RunStore
    from ae_core.warm import SpeedBook, estimate_total, plan_warm, spread_over_workers

    if not args.lesson and not args.grid:
        raise ConfigError(
            "warm", "warm needs --lesson NAME (or all) or --grid 'VARIANT FIELD=VALUES ...'"
        )
    if args.workers is not None and args.workers < 1:
        raise ConfigError("workers", f"--workers {args.workers} must be at least 1")
    settings = _settings(args)
    store = RunStore(args.runs_dir)
    records = store.scan()
    plan = plan_warm(args.lesson, args.grid, settings, records)
    # The estimate counts this machine's cores; on a Ray cluster, the cluster's once it is reached.
    workers = args.workers or core_count()
    book = SpeedBook(records)
    estimates = {run.run_id: book.estimate(run.config) for run in plan.missing}
    shapes = len({run.config.shape_signature for run in plan.missing})
    total_seconds = estimate_total([e.seconds for e in estimates.values()], workers, shapes)
    if args.dry_run:
        return _print_plan(args, store, plan, estimates, total_seconds, workers)

    from ae_core.jobs import JobManager

    labels = {run.run_id: run.label for run in plan.runs}
    started = time.monotonic()
    if not plan.missing:
        # Nothing to train: no workers to start (each would import TensorFlow for nothing).
        stored = {record.run_id: record for record in records}
        outcome = [
            {
                "run_id": run.run_id,
                "label": run.label,
                "variant": run.config.variant,
                "status": stored[run.run_id].status,
                "reason": stored[run.run_id].reason,
                "test_mse": (stored[run.run_id].summary or {}).get("test_mse"),
            }
            for run in plan.runs
        ]
        cached = sum(1 for run in outcome if run["status"] == "done")
        return _report_warm(args, store, outcome, cached, started, interrupted=False)
    print(
        f"warming {store.root}: {len(plan.runs)} runs, {len(plan.missing)} to train on "
        f"{workers} workers, estimated {_format_seconds(total_seconds) or '0 s'}",
        file=sys.stderr,
    )
    with JobManager(store.root, workers=args.workers) as manager:
        workers = manager.worker_count
        jobs = [manager.submit(config) for config in plan.lesson_runs]
        for group in plan.groups:
            if group.field is None:
                jobs.append(manager.submit(group.base))
            else:
                jobs.extend(manager.submit_sweep(group.base, group.field, group.values).jobs)
        members = [(labels.get(job.run_id, job.run_id), job) for job in jobs]
        unique = list({job.run_id: job for job in jobs}.values())
        cached = sum(1 for job in unique if job.state == "done")

        def progress() -> str:
            snaps = [job.snapshot() for job in unique]
            done = sum(1 for snap in snaps if snap.finished)
            training = sum(1 for snap in snaps if snap.state == "training")
            # Work left at each run's own training speed, shared out over the workers; a run's
            # own time left counts its turns with the others, so none ends before it says.
            left, longest = [], 0.0
            for job, snap in zip(unique, snaps, strict=True):
                if snap.state == "training" and snap.samples_per_s:
                    steps_left = snap.total_steps - snap.step
                    left.append(steps_left * job.config.batch_size / snap.samples_per_s)
                    longest = max(longest, snap.seconds_left or 0.0)
                elif not snap.finished:
                    left.append(book.estimate(job.config).seconds)
            total_left = max(longest, spread_over_workers(left, workers))
            eta = _format_seconds(total_left) if left else None
            width = 24
            filled = round(width * done / len(snaps)) if snaps else width
            return (
                f"[{'#' * filled}{'.' * (width - filled)}] {done}/{len(snaps)} runs, "
                f"{len(snaps) - done} left, {training} training"
                + (f", about {eta} left" if eta else "")
            )

        def learn_speed(job) -> None:
            # Queued runs like a finished one are then estimated at its measured speed.
            if job.state == "done" and job.summary:
                book.add(job.config, job.summary)

        interrupted = _follow(members, progress, on_finish=learn_speed)
        outcome = [
            {
                "run_id": job.run_id,
                "label": labels.get(job.run_id, job.run_id),
                "variant": job.config.variant,
                "status": job.state,
                "reason": job.reason,
                "test_mse": (job.summary or {}).get("test_mse"),
            }
            for job in unique
        ]
    return _report_warm(args, store, outcome, cached, started, interrupted)


def _report_warm(
    args: argparse.Namespace,
    store,
    outcome: list[dict],
    cached: int,
    started: float,
    interrupted: bool,
) -> int:
    counts = {
        state: sum(1 for run in outcome if run["status"] == state)
        for state in ("done", "failed", "stopped", "cancelled")
    }
    elapsed = time.monotonic() - started
    report = {
        "runs_dir": str(store.root),
        "runs": outcome,
        "stored_before": cached,
        "trained": counts["done"] - cached,
        "failed": counts["failed"],
        "stopped": counts["stopped"] + counts["cancelled"],
        "seconds": round(elapsed, 1),
    }
    if args.json:
        print(json.dumps(_json_safe(report)))
    else:
        for run in outcome:
            print(f"{run['run_id']:<28} {run['status']:<10} {run['label']}")
    print(
        f"warm: {report['trained']} trained, {cached} stored already, {report['failed']} failed, "
        f"{report['stopped']} stopped or cancelled, in {_format_seconds(elapsed) or '0 s'}",
        file=sys.stderr,
    )
    if counts["failed"]:
        first = next(run for run in outcome if run["status"] == "failed")
        print(f"error: {first['label']} failed: {first['reason']}", file=sys.stderr)
        return EXIT_FAILED
    if interrupted or report["stopped"]:
        print("stopped: run warm again to train what is missing", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _print_plan(args, store, plan, estimates, total_seconds: float, workers: int) -> int:
    import os

    from ae_core.local_workers import core_count
    from ae_core.warm import (
        COMPILE_SECONDS,
        MULTIPLY_ADDS_PER_S,
        RUN_OVERHEAD_SECONDS,
        WORKER_START_SECONDS,
    )

    bases = [estimate.basis for estimate in estimates.values()]
    measured, default = bases.count("stored runs"), bases.count("default rate")
    explanation = (
        f"{len(plan.missing)} runs to train on {workers} workers: {measured} at the median speed "
        f"of stored finished runs of the same variant, dataset, layer sizes and batch size, "
        f"{default} at the default rate measured here ({MULTIPLY_ADDS_PER_S:.3g} multiply-adds "
        f"a second per worker, see ae_core/warm.py), each plus {RUN_OVERHEAD_SECONDS:g} s for "
        f"its summary and saving, {COMPILE_SECONDS:g} s for each distinct shape to compile and "
        f"{WORKER_START_SECONDS:g} s for the workers to start; other people's runs on the same "
        "server are not counted"
    )
    load, cores = os.getloadavg()[0], core_count()
    if plan.missing and load > cores:
        # The workers run at a lower priority than everything else here.
        explanation += (
            f", and the machine is busy now (load {load:.1f} on {cores} cores), so expect longer"
        )
    if args.json:
        listing = [
            {
                "run_id": run.run_id,
                "variant": run.config.variant,
                "label": run.label,
                "stored": run.stored,
                "estimated_seconds": None if run.stored else estimates[run.run_id].seconds,
                "estimate_basis": None if run.stored else estimates[run.run_id].basis,
                "config": run.config.to_dict(),
            }
            for run in plan.runs
        ]
        output = {
            "runs_dir": str(store.root),
            "workers": workers,
            "runs": listing,
            "stored": len(plan.runs) - len(plan.missing),
            "to_train": len(plan.missing),
            "estimated_seconds": round(total_seconds, 1),
            "estimate": explanation,
        }
        print(json.dumps(_json_safe(output)))
        return EXIT_OK
    print(f"{'run id':<28} {'variant':<10} {'stored':<7} {'estimate':>9}  settings")
    for run in plan.runs:
        estimate = "" if run.stored else _format_seconds(estimates[run.run_id].seconds)
        stored = "yes" if run.stored else "no"
        print(f"{run.run_id:<28} {run.config.variant:<10} {stored:<7} {estimate:>9}  {run.label}")
    print(
        f"\n{len(plan.runs)} runs, {len(plan.runs) - len(plan.missing)} stored already in "
        f"{store.root}; estimated {_format_seconds(total_seconds) or '0 s'} for the rest."
    )
    print(f"The estimate: {explanation}.")
    return EXIT_OK
