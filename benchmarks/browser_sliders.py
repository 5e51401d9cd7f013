"""How fast the app answers in a real browser: Chromium and a real server, each on its own core.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/browser_sliders.py
        [--part first-point|trained|views|class|sweep ...] [--quick]

The server (``streamlit run Home.py`` with a fresh runs folder) runs under ``taskset -c 0``, so
its training workers, which it starts, share that core; this script, the Playwright driver and
Chromium (which the driver starts) run on core 1. Each part starts its own server and browser:

- ``first-point``: Train page, one default sparse_kl run trained through the page first (the
  worker compiles the shape), then fresh sparsity targets one after another, each opened by its
  link: click Train -> the loss chart has a point, and -> the "Done" box and both charts drawn;
- ``trained``: sparsity targets 0.05 to 0.15 trained by ``python3 -m ae_core warm`` before the
  server starts; the Sparsity target slider moved with the arrow keys: key -> that value's
  stored result drawn (the "Done" box and charts whose target line is the new value);
- ``views``: the Reconstructions page's noise level and digits sliders (a denoising run trained
  ahead) and the Latent space page's interpolation steps, key -> the figure drawn again with
  new numbers; first with no run training, then while runs train in the background (other
  sessions started them on the Train page and watch them), on another denoising run, so the
  second round finds none of the first round's views cached;
- ``class``: N sessions (browser contexts, 30 by default) each open the Train page with their
  own seed in the link and press Train within a few seconds of each other: every run done and
  drawn, each click's round trip (click -> the page's rerun finished), the first live point, the
  last run done, and the server's CPU (the streamlit process and its workers) over the burst;
- ``sweep``: 8 sparsity targets at the defaults through the Train page's "Sweep one setting"
  panel: click "Train the sweep" -> every run done and drawn (each column's "Done" line and
  pictures, both charts), beside one run of the defaults alone, and the server's CPU.

Times are taken inside the page, on one clock: from the click or key event to the first moment
the page's DOM holds the awaited result (checked on every element added or removed, and every
50 ms for a chart redrawn in place). Figures
only, never pass/fail: the machine is shared and noisy, so the load average is printed beside
each part, and comparisons are measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))  # the browser test imports ae_core

# The browser test's server and session helpers: one way of driving the app.
from test_browser import (  # noqa: E402
    CHROMIUM,
    LAUNCH_ARGS,
    Server,
    Session,
    _healthy,
    _stop_group,
    _tail,
    launch_app,
    percentile,
)

SERVER_CORE, BROWSER_CORE = 0, 1
PARTS = ("first-point", "trained", "views", "class", "sweep")

# Kept in every page from its first script: the time of the first click or key press after
# ``arm``, the first time each armed condition held (checked on every DOM change), and every
# change of the app's script state. Times are epoch milliseconds of the page's clock.
RECORDER_JS = """(() => {
  if (window.__bench) return;
  const now = () => performance.timeOrigin + performance.now();
  const B = window.__bench = {input: null, armed: false, conditions: {}, hits: {}, states: []};
  const stamp = () => { if (B.armed && B.input === null) B.input = now(); };
  document.addEventListener('click', stamp, true);
  document.addEventListener('keydown', stamp, true);
  B.fresh = (el) => !el.closest('[data-stale="true"]');
  B.plots = () => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .filter(B.fresh);
  B.points = (gd) => {
    const trace = gd && gd._fullData && gd._fullData[0];
    return trace && trace.x ? trace.x.length : 0;
  };
  B.done = () => [...document.querySelectorAll('[data-testid="stAlertContentSuccess"]')]
    .some((el) => B.fresh(el) && el.innerText.includes('Done:'));
  B.titled = (text) => B.plots().find((gd) => {
    const title = gd.layout && gd.layout.title;
    return String((title && (title.text ?? title)) || '').includes(text);
  });
  // What an image grid shows, in one string: its size and the sum of its pixels.
  B.fingerprint = (gd) => {
    const trace = gd && gd._fullData && gd._fullData[0];
    if (!trace || !trace.z) return null;
    let sum = 0, width = 0;
    for (const row of trace.z) {
      width = row.length;
      for (let i = 0; i < row.length; i++) sum += row[i] || 0;
    }
    return `${trace.z.length}x${width}:${sum.toFixed(4)}`;
  };
  B.check = () => {
    if (!B.armed || B.input === null) return;
    for (const [name, test] of Object.entries(B.conditions)) {
      if (B.hits[name] != null) continue;
      try { if (test(B)) B.hits[name] = now(); } catch (error) { /* not drawn yet */ }
    }
  };
  B.arm = (conditions, context) => {
    B.conditions = conditions; B.context = context; B.hits = {}; B.input = null;
    B.before = context.title ? B.fingerprint(B.titled(context.title)) : null;
    B.armed = true;
  };
  // Elements added or removed, and the attributes that say what is stale or running: not
  // every attribute, which a chart being drawn sets thousands of times.
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes' && m.attributeName === 'data-test-script-state') {
        B.states.push([now(), m.target.getAttribute('data-test-script-state')]);
      }
    }
    B.check();
  }).observe(document, {subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-test-script-state', 'data-stale']});
  setInterval(B.check, 50);  // a chart redrawn in place changes attributes only
})()"""

ARM_JS = """([sources, context]) => {
  const conditions = Object.fromEntries(
    Object.entries(sources).map(([name, source]) => [name, eval(source)]));
  window.__bench.arm(conditions, context);
}"""

CLICK_AT_JS = """([name, when]) => setTimeout(() => {
  [...document.querySelectorAll('[data-testid="stButton"] button')]
    .find((button) => button.innerText.trim() === name).click();
}, when - (performance.timeOrigin + performance.now()))"""

# Conditions, each a function of the recorder (its helpers above) that is true once the page
# has drawn what is awaited.
LIVE = "(B) => B.plots().some((gd) => B.points(gd) >= 1)"
PROGRESS = """(B) => [...document.querySelectorAll('[data-testid="stProgress"]')].some(B.fresh)"""
DONE = "(B) => B.done() && B.plots().filter((gd) => B.points(gd) >= 1).length >= 2"
TARGET_DRAWN = """(B) => B.done() && B.plots().some((gd) => B.points(gd) >= 1
  && ((gd.layout && gd.layout.annotations) || []).some((a) => a.text === B.context.target))"""
REDRAWN = """(B) => {
  const now = B.fingerprint(B.titled(B.context.title));
  return now !== null && now !== B.before;
}"""


# -- figures ------------------------------------------------------------------------------------
def spread(values: list[float], *shares: float) -> str:
    if not values:
        return "none measured"
    parts = [f"median {statistics.median(values):.2f} s"]
    parts += [f"p{round(share * 100)} {percentile(values, share):.2f} s" for share in shares]
    return ", ".join(parts + [f"max {max(values):.2f} s (n={len(values)})"])


def median_text(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "not seen"


@dataclass
class Row:
    part: str
    what: str
    figure: str
    goal: str = ""
    met: bool | None = None


def print_rows(rows: list[Row]) -> None:
    met = {True: "yes", False: "NO", None: ""}
    table = [("part", "what", "figure", "goal", "met")]
    table += [(r.part, r.what, r.figure, r.goal, met[r.met]) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        print("  " + "  ".join(cells).rstrip())


def load() -> str:
    return "load average " + ", ".join(f"{value:.1f}" for value in os.getloadavg())


# -- the server, the browser, their cores -------------------------------------------------------
def warm_store(runs_dir: Path, grids: list[str]) -> None:
    """Train ``grids`` into the runs folder before the server starts (on every core: this is
    setting up, not measured)."""
    command = [sys.executable, "-m", "ae_core", "warm", "--runs-dir", str(runs_dir)]
    for grid in grids:
        command += ["--grid", grid]
    cores = ",".join(str(core) for core in sorted(ALL_CORES))
    started = time.monotonic()
    done = subprocess.run(["taskset", "-c", cores, *command], cwd=REPO_ROOT, capture_output=True)
    if done.returncode:
        raise SystemExit(f"warm failed:\n{done.stdout.decode()}\n{done.stderr.decode()[-3000:]}")
    print(f"  warmed {grids} in {time.monotonic() - started:.0f} s (before the server started)")


def start_server(runs_dir: Path, log_path: Path) -> Server:
    """The app on a free local port under ``taskset -c SERVER_CORE``; its workers inherit it."""
    url, process = launch_app(runs_dir, log_path, {}, ("taskset", "-c", str(SERVER_CORE)))
    server = Server(url, process, log_path, runs_dir)
    deadline = time.monotonic() + 90
    while not _healthy(url):
        server.check_alive()
        if time.monotonic() > deadline:
            _stop_group(process)
            raise SystemExit(f"the server did not answer {url}:\n{_tail(log_path)}")
        time.sleep(0.25)
    return server


def workers_of(server: Server) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            if "ae_core.worker" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def pinning(server: Server) -> str:
    """How the processes are pinned, read back from the kernel."""
    server_cores = sorted(os.sched_getaffinity(server.process.pid))
    workers = workers_of(server)
    worker_cores = sorted({core for w in workers for core in w.cpu_affinity()})
    threads = {arg for w in workers for arg in _option(w.cmdline(), "--threads")}
    browser = [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]
    browser_cores = sorted({core for p in browser for core in p.cpu_affinity()})
    return (
        f"server (taskset -c {SERVER_CORE}) on cores {server_cores}, its {len(workers)} "
        f"training worker(s) ({'/'.join(sorted(threads)) or '?'} TensorFlow threads each) on "
        f"{worker_cores}; this script, the Playwright driver and {len(browser)} Chromium "
        f"processes on {browser_cores}"
    )


def _option(command: list[str], name: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == name]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and every process below it (running, or ended
    and waited for)."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


class ServerCpu:
    """CPU seconds of the streamlit process and of the workers it started, from now on."""

    def __init__(self, server: Server) -> None:
        self.pid = server.process.pid
        self.started = time.monotonic()
        self.own, self.workers = self._read()

    def _read(self) -> tuple[float, float]:
        times = psutil.Process(self.pid).cpu_times()
        own = times.user + times.system
        return own, tree_cpu_seconds(self.pid) - own

    def shares(self) -> tuple[float, float, float]:
        """Seconds since made, and the cores the streamlit process and its workers used."""
        wall = time.monotonic() - self.started
        own, workers = self._read()
        return wall, (own - self.own) / wall, (workers - self.workers) / wall

    def text(self) -> str:
        wall, own, workers = self.shares()
        return (
            f"{own + workers:.2f} of a core over {wall:.0f} s (the streamlit process {own:.2f}, "
            f"its workers {workers:.2f})"
        )


def machine_busy() -> tuple[float, list[float]]:
    """Now, and each core's busy seconds so far."""
    return time.monotonic(), [
        sum(cpu) - cpu.idle - getattr(cpu, "iowait", 0.0) for cpu in psutil.cpu_times(percpu=True)
    ]


def machine_use(before: tuple[float, list[float]], ours: float) -> str:
    """How busy each core was since ``before``, and how much of that was not this benchmark
    (``ours``: the CPU seconds the server, the browser and this script used meanwhile)."""
    now, busy = machine_busy()
    wall = now - before[0]
    cores = ", ".join(
        f"core {core} {(after - start) / wall:.0%}"
        for core, (start, after) in enumerate(zip(before[1], busy, strict=True))
    )
    others = max(0.0, sum(busy) - sum(before[1]) - ours) / wall
    return f"over {wall:.0f} s: {cores} busy; other processes {others:.2f} of a core"


@contextmanager
def bench(name: str, grids: list[str] | None = None) -> Iterator[tuple[Server, Any, Path]]:
    """A fresh runs folder (trained ahead with ``grids``), the server and a browser for one part."""
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix=f"ae-browser-{name}-"))
    runs_dir = folder / "runs"
    runs_dir.mkdir()
    print(f"\n== {name} ({load()})")
    if grids:
        warm_store(runs_dir, grids)
    server = start_server(runs_dir, folder / "streamlit.log")
    started = machine_busy()
    ours = tree_cpu_seconds(server.process.pid) + tree_cpu_seconds(os.getpid())
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                yield server, browser, runs_dir
                ours = tree_cpu_seconds(server.process.pid) + tree_cpu_seconds(os.getpid()) - ours
                print(f"  the machine {machine_use(started, ours)}")
            finally:
                browser.close()
    except BaseException:
        print(f"server log (tail):\n{_tail(server.log_path)}")
        raise
    finally:
        _stop_group(server.process)
        shutil.rmtree(folder, ignore_errors=True)


# -- a browser session that times what it sees --------------------------------------------------
class TimedSession(Session):
    """A browser session (``tests/test_browser.Session``) with the recorder in its pages."""

    def __init__(self, browser: Any, server: Server, name: str) -> None:
        super().__init__(browser, server, name)
        self.context.add_init_script(RECORDER_JS)
        self.page.set_default_timeout(120_000)

    def open(self, path: str, title: str) -> None:
        """Open ``path`` (a page and its link's query) as a new Streamlit session."""
        self.page.goto(f"{self.url}/{path}")
        self.wait_for_title(title)
        self.settle(quiet=0.3, timeout=180)

    def arm(self, context: dict | None = None, **conditions: str) -> None:
        """Time ``conditions`` from the next click or key press in this page."""
        self.page.evaluate(ARM_JS, [conditions, context or {}])

    def holds(self, condition: str, context: dict | None = None) -> bool:
        """Whether ``condition`` holds now (for waiting before anything is timed)."""
        return self.page.evaluate(
            "([source, context]) => { window.__bench.context = context;"
            " return !!eval(source)(window.__bench); }",
            [condition, context or {}],
        )

    def marks(self, states: bool = True) -> dict:
        """The input's time, the conditions' times and (with ``states``) the script states."""
        return self.page.evaluate(
            "(states) => ({input: __bench.input, hits: __bench.hits,"
            " states: states ? __bench.states : []})",
            states,
        )

    def timed(self, names: list[str], timeout: float) -> dict[str, float]:
        """Seconds from the input to each condition in ``names``, once all have held."""
        self.page.wait_for_function(
            "(names) => names.every((n) => window.__bench.hits[n] != null)",
            arg=names,
            timeout=timeout * 1000,
            polling=100,
        )
        marks = self.marks()
        return {name: (marks["hits"][name] - marks["input"]) / 1000 for name in names}

    def click_at(self, button: str, when: float) -> None:
        """Have the page itself click its button ``button`` at ``when`` (seconds since the
        epoch): many pages then click at once, however busy the browser is by then."""
        self.page.evaluate(CLICK_AT_JS, [button, when * 1000])

    def slider(self, label: str) -> Any:
        """The slider ``label`` (its accessible name says the label twice, so by aria-label)."""
        return self.page.locator(f'input[type="range"][aria-label="{label}"]')

    def train_button(self) -> Any:
        return self.page.get_by_role("button", name="Train", exact=True)

    def ready_to_train(self) -> None:
        """The page shows settings not trained yet, with Train enabled."""
        self.page.get_by_text("These settings have not been trained yet").wait_for()
        self.poll(lambda: self.train_button().is_enabled(), 60, "Train enabled")

    def train_here(
        self, query: str, until: tuple[str, ...] = ("progress", "live", "done")
    ) -> dict[str, float]:
        """Open the Train page with ``query`` and press Train: seconds to those of ``until``:
        the progress bar shown, the first live point, the run done and drawn."""
        self.open(f"Train?{query}", "Train")
        self.ready_to_train()
        self.arm(progress=PROGRESS, live=LIVE, done=DONE)
        self.train_button().click()
        times = self.timed(list(until), 300)
        self.settle(quiet=0.3)
        return times


def rerun_span(marks: dict) -> tuple[float | None, float | None]:
    """Seconds from the input to the start and to the end of the first script run that began
    after it (the app's script state, as the page showed it)."""
    began = None
    for when, state in marks["states"]:
        if when < marks["input"]:
            continue
        if state != "notRunning" and began is None:
            began = (when - marks["input"]) / 1000
        elif state == "notRunning" and began is not None:
            return began, (when - marks["input"]) / 1000
    return began, None


def stored_runs(runs_dir: Path) -> list[dict]:
    runs = []
    for config_file in runs_dir.glob("*/config.json"):
        runs.append({**json.loads(config_file.read_text()), "run_id": config_file.parent.name})
    return runs


# -- the parts ----------------------------------------------------------------------------------
def part_first_point(values: int) -> list[Row]:
    """Click Train -> first live point, for fresh sparsity targets of a shape trained once."""
    targets = [round(0.01 * k, 2) for k in range(2, values + 3) if k != 10][:values]
    with bench("first-point") as (server, browser, _):
        student = TimedSession(browser, server, "student")
        shape = student.train_here("variant=sparse_kl")
        print(f"  {pinning(server)}")
        print(
            f"  the shape's first run (sparse_kl defaults, it compiles): first point "
            f"{shape['live']:.2f} s, done and drawn {shape['done']:.2f} s"
        )
        firsts, dones = [], []
        for target in targets:
            times = student.train_here(f"variant=sparse_kl&sparsity_target={target}")
            firsts.append(times["live"])
            dones.append(times["done"])
            print(
                f"  sparsity target {target}: progress bar {times['progress']:.2f} s, first "
                f"point {times['live']:.2f} s, done and drawn {times['done']:.2f} s"
            )
        student.close()
    median = statistics.median(firsts)
    return [
        Row(
            "first-point", "shape's first run: click Train -> first point", f"{shape['live']:.2f} s"
        ),
        Row(
            "first-point",
            "fresh target of a warmed shape: click Train -> first point",
            spread(firsts, 0.95),
            "median <= 1 s",
            median <= 1.0,
        ),
        Row("first-point", "the same: click Train -> done and drawn", spread(dones, 0.95)),
    ]


def part_trained(moves: int) -> list[Row]:
    """Sparsity target slider to a value trained already -> its stored result drawn."""
    targets = [round(0.05 + 0.01 * k, 2) for k in range(11)]
    grid = "sparse_kl sparsity_target=" + ",".join(f"{t:g}" for t in targets)
    keys = (["ArrowRight"] * 5 + ["ArrowLeft"] * 10 + ["ArrowRight"] * 10 + ["ArrowLeft"] * 5) * 2
    with bench("trained", [grid]) as (server, browser, _):
        student = TimedSession(browser, server, "student")
        student.open("Train?variant=sparse_kl", "Train")
        target = {"target": "sparsity target 0.1"}
        student.poll(lambda: student.holds(TARGET_DRAWN, target), 120, "the defaults' result")
        print(f"  {pinning(server)}")
        slider = student.slider("Sparsity target")
        slider.wait_for()
        answers: list[float] = []
        value = 0.1
        for key in keys[:moves]:
            value = round(value + (0.01 if key == "ArrowRight" else -0.01), 2)
            student.arm({"target": f"sparsity target {value:g}"}, drawn=TARGET_DRAWN)
            slider.press(key)
            answers.append(student.timed(["drawn"], 60)["drawn"])
            shown = float(slider.input_value())
            assert abs(shown - value) < 1e-9, f"the slider shows {shown}, expected {value}"
            student.settle(quiet=0.3)
        print("  each move (s): " + ", ".join(f"{seconds:.2f}" for seconds in answers))
        student.close()
    return [
        Row(
            "trained",
            "slider (arrow key) to a trained value -> its result drawn",
            spread(answers, 0.95),
            "p95 <= 1 s",
            percentile(answers, 0.95) <= 1.0,
        )
    ]


@dataclass
class Move:
    figure: float  # key -> the figure drawn with new numbers
    began: float | None  # key -> the rerun began
    ended: float | None  # key -> the rerun ended


def _slider_moves(student: TimedSession, label: str, title: str, moves: int) -> list[Move]:
    """Move the slider ``label`` to other values (Home, right, End, left), each timed until the
    figure titled ``title`` shows new numbers."""
    slider = student.slider(label)
    keys = ["Home"] + ["ArrowRight"] * 5 + ["End"] + ["ArrowLeft"] * 5
    answers = []
    for key in (keys * 2)[:moves]:
        before = slider.input_value()
        student.arm({"title": title}, redrawn=REDRAWN)
        slider.press(key)
        student.poll(lambda b=before: slider.input_value() != b, 10, f"{label} moving")
        figure = student.timed(["redrawn"], 60)["redrawn"]
        student.settle(quiet=0.3)
        answers.append(Move(figure, *rerun_span(student.marks())))
    return answers


VIEW_SLIDERS = (
    ("Reconstructions, noise level", "Noise level (gaussian)"),
    ("Reconstructions, digits", "Digits"),
    ("Latent space, interpolation steps", "Steps"),
)


def _view_sliders(student: TimedSession, run_id: str, moves: int) -> dict[str, list[Move]]:
    """Each view slider of ``VIEW_SLIDERS`` moved ``moves`` times on the run ``run_id``."""
    student.open(f"Reconstructions?run={run_id}", "Reconstructions")
    student.poll(lambda: student.holds("(B) => B.titled('Digits')"), 120, "the digits")
    found = {}
    for name, label in VIEW_SLIDERS[:2]:
        found[name] = _slider_moves(student, label, "Digits", moves)
    student.open(f"Latent_space?run={run_id}", "Latent space")
    student.poll(lambda: student.holds("(B) => B.titled('From a')"), 180, "the interpolation")
    name, label = VIEW_SLIDERS[2]
    found[name] = _slider_moves(student, label, "From a", moves)
    return found


def part_views(moves: int, background: int) -> list[Row]:
    """View pages' sliders with no run training, then while other sessions' runs train: two
    denoising runs trained ahead, one for each round, so neither finds the other's views cached."""
    with bench("views", ["denoising noise_level=0.4,0.5"]) as (server, browser, runs_dir):
        by_level = {run["noise_level"]: run["run_id"] for run in stored_runs(runs_dir)}
        student = TimedSession(browser, server, "student")
        cpu = ServerCpu(server)
        idle = _view_sliders(student, by_level[0.5], moves)
        print(f"  no run training: the server used {cpu.text()}")
        others = []
        for number in range(background):
            other = TimedSession(browser, server, f"background {number + 1}")
            query = f"variant=sparse_kl&steps=1000000&seed={100 + number}"
            other.train_here(query, until=("live",))
            others.append(other)
        print(f"  {pinning(server)}")
        print(f"  then {background} run(s) of 1,000,000 steps training, each watched by its page")
        cpu = ServerCpu(server)
        busy = _view_sliders(student, by_level[0.4], moves)
        print(f"  runs training: the server used {cpu.text()}")
        still = sum(bool(other.live()["training"]) for other in others)
        print(f"  background runs still training at the end: {still} of {background}")
        for session in [student, *others]:
            session.close()
    rows = []
    for name, _ in VIEW_SLIDERS:
        figures = [move.figure for move in busy[name]]
        print(f"  {name}, while training (s): " + ", ".join(f"{t:.2f}" for t in figures))
        began = [move.began for move in busy[name] if move.began is not None]
        ended = [move.ended for move in busy[name] if move.ended is not None]
        print(
            f"    median: key -> rerun began {median_text(began)}, -> rerun ended "
            f"{median_text(ended)}, -> figure {median_text(figures)}"
        )
        rows.append(Row("views", f"{name} -> figure, runs training", spread(figures, 0.95)))
    every_idle = [move.figure for moves_ in idle.values() for move in moves_]
    every_busy = [move.figure for moves_ in busy.values() for move in moves_]
    rows.append(Row("views", "all view sliders, no run training", spread(every_idle, 0.95)))
    rows.append(
        Row(
            "views",
            f"all view sliders, {background} runs training",
            spread(every_busy, 0.95),
            "p95 < 0.5 s",
            percentile(every_busy, 0.95) < 0.5,
        )
    )
    return rows


def part_class(sessions: int) -> list[Row]:
    """A class: every session trains and watches a run of its own, pressed together."""
    with bench("class") as (server, browser, _):
        teacher = TimedSession(browser, server, "teacher")
        teacher.train_here("variant=sparse_kl")  # the shape compiled on the worker, as warmed
        teacher.close()
        pupils = []
        started = time.monotonic()
        for seed in range(1, sessions + 1):
            pupil = TimedSession(browser, server, f"student {seed}")
            pupil.open(f"Train?variant=sparse_kl&seed={seed}", "Train")
            pupil.ready_to_train()
            pupils.append(pupil)
        print(f"  {sessions} pages opened in {time.monotonic() - started:.0f} s")
        print(f"  {pinning(server)}")
        workers = len(workers_of(server))
        for pupil in pupils:
            pupil.arm(progress=PROGRESS, live=LIVE, done=DONE)
        # Clicked by each page at one moment: one Playwright click after another took over
        # three minutes for 30 pages here, once the first pages' live charts kept the browser busy.
        when = time.time() + 2 + 0.2 * len(pupils)
        for pupil in pupils:
            pupil.click_at("Train", when)
        time.sleep(max(0.0, when - time.time()))
        cpu, browser_cpu = ServerCpu(server), tree_cpu_seconds(os.getpid())
        marks: dict[int, dict] = {}
        deadline = time.monotonic() + 30 * 60
        while len(marks) < len(pupils) and time.monotonic() < deadline:
            server.check_alive()
            for index, pupil in enumerate(pupils):
                if index not in marks:
                    if pupil.marks(states=False)["hits"].get("done") is not None:
                        marks[index] = pupil.marks()
            time.sleep(2.0)
        burst = cpu.text()
        browser_share = (tree_cpu_seconds(os.getpid()) - browser_cpu) / cpu.shares()[0]
        for index, pupil in enumerate(pupils):
            marks.setdefault(index, pupil.marks())
        errors = [f"{p.name}: {error}" for p in pupils for error in p.errors]
        for pupil in pupils:
            pupil.close()
    clicks = [m["input"] for m in marks.values() if m["input"] is not None]
    first_click = min(clicks)
    trips = [t for t in (rerun_span(m)[1] for m in marks.values()) if t is not None]

    def since_click(name: str) -> list[float]:
        return [(m["hits"][name] - m["input"]) / 1000 for m in marks.values() if name in m["hits"]]

    firsts = since_click("live")
    served = [m for m in marks.values() if m["hits"].get("done") is not None]
    last_done = max((m["hits"]["done"] - first_click) / 1000 for m in served) if served else None
    print(f"  click Train -> progress bar shown: {spread(since_click('progress'), 0.9)}")
    print(f"  click Train -> done and drawn: {spread(since_click('done'), 0.9)}")
    print(
        f"  Train pressed in {len(clicks)} pages over {(max(clicks) - first_click) / 1000:.2f} s;"
        f" {len(served)} runs done and drawn; the browser (Chromium, its driver and this "
        f"script) used {browser_share:.2f} of a core over the burst"
    )
    if errors:
        print(f"  {len(errors)} page(s) saw console or page errors, e.g. {errors[0]}")
    return [
        Row("class", "sessions served (run done and drawn)", f"{len(served)} of {sessions}"),
        Row("class", "click Train -> the page's rerun finished", spread(trips, 0.95)),
        Row("class", "click Train -> first live point", spread(firsts, 0.9)),
        Row(
            "class",
            "first click -> last run done and drawn",
            f"{last_done:.1f} s" if last_done is not None else "none",
        ),
        Row("class", f"server CPU over the burst ({workers} worker(s))", burst),
    ]


SWEEP_TARGETS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
# The sweep panel's runs, all finished and drawn: a "Done" line in each column, the summary
# saying so, both charts with a line of points for every run and every picture loaded.
SWEEP_DONE = """(B) => {
  const count = B.context.count;
  const fresh = (selector) => [...document.querySelectorAll(selector)].filter(B.fresh);
  const lines = fresh('[data-testid="stMarkdownContainer"]')
    .filter((el) => el.innerText.trim().startsWith('Done · test MSE'));
  const summary = fresh('[data-testid="stCaptionContainer"]')
    .some((el) => el.innerText.includes(`${count} runs: ${count} done`));
  const charts = B.plots().filter((gd) => gd._fullData.length >= count
    && gd._fullData.slice(0, count).every((trace) => trace.x && trace.x.length >= 1));
  const images = fresh('[data-testid="stImage"] img');
  return lines.length >= count && summary && charts.length >= 2
    && images.length >= count && images.every((img) => img.complete && img.naturalWidth > 0);
}"""


def _sweep_ready(student: TimedSession, query: str) -> Any:
    """The Train page with ``query``, its sweep panel set to ``SWEEP_TARGETS``: the button."""
    values = ", ".join(f"{value:g}" for value in SWEEP_TARGETS)
    student.open(f"Train?{query}", "Train")
    student.choose("Setting to sweep", "Sparsity target (sparsity_target)")
    student.page.get_by_text("typed as a list", exact=True).click()
    field = student.page.get_by_label("Values of sparsity_target", exact=True)
    field.fill(values)
    field.press("Enter")
    student.page.get_by_text(f"{len(SWEEP_TARGETS)} runs: sparsity_target = {values}").wait_for()
    student.settle(quiet=0.3)
    return student.page.get_by_role("button", name="Train the sweep", exact=True)


def part_sweep() -> list[Row]:
    """Eight sparsity targets at the defaults through the Train page's "Sweep one setting"
    panel, beside one run of the defaults alone (click Train -> done and drawn) and beside the
    same sweep (another seed) left alone once started (the page closed: no panel polling)."""
    if not (REPO_ROOT / "ui" / "sweep_panel.py").exists():
        print("\n== sweep\n  pending: the Sweep one setting panel (ui/sweep_panel.py) is not here")
        return [Row("sweep", "8 sparsity targets through the page", "pending (no sweep panel)")]
    count = len(SWEEP_TARGETS)
    with bench("sweep") as (server, browser, runs_dir):
        student = TimedSession(browser, server, "student")
        student.train_here("variant=sparse_kl&seed=1")  # the shape compiled on the worker
        print(f"  {pinning(server)}")
        alone = student.train_here("variant=sparse_kl&seed=2")
        button = _sweep_ready(student, "variant=sparse_kl")
        student.arm({"count": count}, first=LIVE, done=SWEEP_DONE)
        cpu = ServerCpu(server)
        button.click()
        watched = student.timed(["first", "done"], 30 * 60)
        watched_cpu = cpu.text()
        button = _sweep_ready(student, "variant=sparse_kl&seed=3")
        student.arm({"count": count}, first=LIVE)
        cpu = ServerCpu(server)
        button.click()
        student.timed(["first"], 300)
        clicked = student.marks()["input"] / 1000
        student.page.goto("about:blank")  # the sweep trains on; no page polls it
        while True:
            finished = [
                run
                for run in stored_runs(runs_dir)
                if run["seed"] == 3 and (runs_dir / run["run_id"] / "summary.json").exists()
            ]
            if len(finished) >= count:
                break
            server.check_alive()
            time.sleep(0.5)
        unwatched = time.time() - clicked
        unwatched_cpu = cpu.text()
        student.close()
    print(
        f"  one run alone: first point {alone['live']:.2f} s, done and drawn {alone['done']:.2f} s"
    )
    print(f"  the sweep watched: server CPU {watched_cpu}")
    print(f"  the sweep left alone: server CPU {unwatched_cpu}")
    return [
        Row("sweep", "one run of the defaults: click -> done and drawn", f"{alone['done']:.1f} s"),
        Row(
            "sweep",
            f"sweep of {count} sparsity targets: click -> all done and drawn",
            f"{watched['done']:.1f} s ({watched['done'] / alone['done']:.1f}x one run); first "
            f"point {watched['first']:.2f} s",
        ),
        Row(
            "sweep",
            "the same sweep, page closed once it trains: click -> all stored",
            f"{unwatched:.1f} s ({unwatched / alone['done']:.1f}x one run)",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, action="append", help="(repeatable; default all)")
    parser.add_argument("--quick", action="store_true", help="fewer values, moves and sessions")
    parser.add_argument("--sessions", type=int, help="sessions in the class (default 30)")
    parser.add_argument(
        "--background", type=int, default=2, help="runs training during the views part"
    )
    args = parser.parse_args()
    if len(ALL_CORES) < 2 or {SERVER_CORE, BROWSER_CORE} - ALL_CORES:
        raise SystemExit(f"needs cores {SERVER_CORE} and {BROWSER_CORE}; here: {ALL_CORES}")
    os.sched_setaffinity(0, {BROWSER_CORE})  # Playwright's driver and Chromium inherit it
    parts = args.part or list(PARTS)
    rows: list[Row] = []
    started = time.strftime("%Y-%m-%d %H:%M")
    if "first-point" in parts:
        rows += part_first_point(4 if args.quick else 10)
    if "trained" in parts:
        rows += part_trained(8 if args.quick else 24)
    if "views" in parts:
        rows += part_views(6 if args.quick else 12, args.background)
    if "class" in parts:
        rows += part_class(args.sessions or (8 if args.quick else 30))
    if "sweep" in parts:
        rows += part_sweep()
    print(f"\nstarted {started}, {os.cpu_count()} cores, now {load()}")
    print_rows(rows)
    return 0


ALL_CORES = set(os.sched_getaffinity(0))

if __name__ == "__main__":
    sys.exit(main())
