"""The app in a real browser: Debian's chromium driven by Playwright against a real server.

One test, in the order a person would use the app: start the server on a free local port, open
the home page, train a tiny sparse_kl run on the digits and watch its live chart and progress
text change, check that a widget answers within a second or two while the run trains, open
every page, then train two runs at once from two browser sessions, then move a slider with the
keyboard and click Train at once, five times, checking each stored run has the value shown (the
click comes before the move's rerun has returned). It fails on any exception
box, error box, browser console error or page error, and saves a screenshot of every page in
``test-artifacts/`` at the repository's root (with the server's log). A second test trains a
tiny MNIST run and draws a digit with the mouse on the Reconstructions page's canvas.

Chromium comes from Debian (``apt-get install chromium``; ``.ci/run`` installs it), not from
Playwright's own download. Without it the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ae_core.config import short_run_id

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("AE_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 1000}

# Far more than the checks need (a worker ran 700 to 4,000 steps a second here), so the run is
# still training while the live chart is read twice and a widget is changed, however fast the
# machine; then it is stopped with the Stop button. The two runs of step 5 train to the end.
LIVE_RUN_STEPS = 1_000_000
# The two runs trained at once, from two sessions.
PAIR_STEPS = 5_000
# Slider moves each followed at once by a click on Train, and the steps of each of those runs.
CLICK_TRIES = 5
CLICK_STEPS = 200
# A widget must show its effect within this many seconds while a run trains (the issue asks
# for a second; the margin is for a shared, noisy machine), as the median of this many tries
# each way.
RESPONSIVE_SECONDS = 2.0
RESPONSIVE_TRIES = 3
# Moves of a view page's slider while the run trains, each timed (median and p95 printed).
VIEW_SLIDER_MOVES = 10

# The sidebar's links, in order, with each page's title (its h1) and the least number of
# plotly charts it draws for the stopped sparse_kl run on the digits.
PAGES = [
    ("Home", "Autoencoder Lab", 0),
    ("Lessons", "Lessons", 0),
    ("Train", "Train", 2),
    ("Reconstructions", "Reconstructions", 1),
    ("Activations", "Activations", 3),
    ("Features", "Features", 1),
    ("Latent space", "Latent space", 2),
    ("Linear vs PCA", "Linear autoencoder vs PCA", 0),
    ("Compare", "Compare runs", 1),
]

# True while the app is busy: a script or fragment running, a rerun pending, a spinner shown,
# or the connection not (yet) up.
BUSY_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return true;
  return app.getAttribute('data-test-script-state') !== 'notRunning'
    || app.getAttribute('data-test-connection-state') !== 'CONNECTED'
    || !!document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"]');
}"""

# The live view in one read: points of the loss chart's first trace, the progress text and
# whether the Stop button (shown only while the run trains) is there.
LIVE_JS = """() => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  // _fullData holds the decoded traces: the figures send NumPy arrays, which arrive in
  // plot.data as base64 typed-array specs ({dtype, bdata}) with no length of their own.
  const trace = plot && plot._fullData && plot._fullData[0];
  const progress = document.querySelector('[data-testid="stProgress"]');
  const stop = [...document.querySelectorAll('[data-testid="stButton"] button')]
    .some((button) => button.innerText.trim() === 'Stop');
  return {
    points: trace && trace.x ? trace.x.length : null,
    progress: progress ? progress.innerText.trim() : null,
    training: stop,
  };
}"""


# The sum of the pixels of the first image grid drawn (not stale), or null before there is one.
GRID_SUM_JS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
    .find((gd) => !gd.closest('[data-stale="true"]') && gd._fullData
      && gd._fullData.some((trace) => trace.z));
  if (!plot) return null;
  const trace = plot._fullData.find((t) => t.z);
  let sum = 0;
  for (const row of trace.z) for (const value of row) sum += value || 0;
  return sum;
}"""
# The font size, in px, of every chart's tick labels and titles as the browser draws them.
CHART_TEXT_SIZES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')]
  .flatMap((gd) => [...gd.querySelectorAll('.xtick text, .ytick text, .gtitle')])
  .map((text) => parseFloat(getComputedStyle(text).fontSize))"""


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; under CI the browser test must run, so fail."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so the browser test may not be skipped)")
    pytest.skip(reason)


def _sync_playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: python3 -m pip install -r requirements-dev.txt")
    if not CHROMIUM.exists():
        _unavailable(f"no chromium at {CHROMIUM}: apt-get install -y chromium")
    return sync_playwright


# -- the server ---------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _stop_group(process: subprocess.Popen) -> None:
    """End the server and its worker processes (its whole process group): politely, then not."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # workers leave when their pipe closes; wait for them
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Server:
    """The app's server process and its URL."""

    def __init__(self, url: str, process: subprocess.Popen, log_path: Path, runs_dir: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path
        self.runs_dir = runs_dir

    def check_alive(self) -> None:
        """Fail at once, not at the next timeout, when the server has gone."""
        code = self.process.poll()
        if code is not None:
            raise AssertionError(
                f"the server exited with {code} during the test:\n{_tail(self.log_path)}"
            )


def launch_app(
    runs_dir: Path, log_path: Path, settings: dict[str, str], prefix: tuple[str, ...] = ()
) -> tuple[str, subprocess.Popen]:
    """Start the app on a free local port with ``runs_dir`` and the server ``settings``
    (``prefix``: a command it runs under, such as ``taskset``): its URL and process."""
    port = _free_port()
    env = {**os.environ, "AE_RUNS_DIR": str(runs_dir), "AE_OFFLINE": "1", **settings}
    command = [*prefix, sys.executable, "-m", "streamlit", "run", "Home.py"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, with the workers it starts
        )
    return f"http://127.0.0.1:{port}", process


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app on a free local port with a fresh runs folder and two workers."""
    _sync_playwright()  # skip (or fail under CI) before starting anything
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "streamlit.log"
    runs_dir = tmp_path_factory.mktemp("browser-runs")
    url, process = launch_app(runs_dir, log_path, {"AE_WORKERS": "2"})
    try:
        deadline = time.monotonic() + 90
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer {url}/_stcore/health:\n{_tail(log_path)}")
            time.sleep(0.25)
        yield Server(url, process, log_path, runs_dir)
    finally:
        _stop_group(process)


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    with _sync_playwright()() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# -- driving the app ----------------------------------------------------------------------------
class Session:
    """One browser session (its own context, so its own Streamlit session) on the app, with
    every console error and page error it saw."""

    def __init__(
        self, browser: Any, server: Server, name: str, viewport: dict[str, int] = VIEWPORT
    ) -> None:
        self.name = name
        self.server = server
        self.url = server.url
        self.viewport = viewport
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "?")
        # A page opened by its address has Streamlit probe <page>/_stcore/... for its base path
        # first; the 404s of that probe are Streamlit's own, not the app's.
        if "Failed to load resource" in message.text and "/_stcore/" in url:
            return
        self.errors.append(f"console error: {message.text} ({url})")

    def open_home(self) -> None:
        self.page.goto(self.url)
        self.wait_for_title("Autoencoder Lab")
        self.settle()

    # waiting
    def settle(self, quiet: float = 0.5, timeout: float = 90.0) -> None:
        """Wait until the app is idle (no script or fragment running, no spinner) for ``quiet``
        seconds in a row: a page polling a training run every second is idle in between."""
        self.page.wait_for_timeout(250)  # let the rerun an action asked for begin
        deadline = time.monotonic() + timeout
        calm_since = None
        while True:
            self.server.check_alive()
            now = time.monotonic()
            if self.page.evaluate(BUSY_JS):
                calm_since = None
            elif calm_since is None:
                calm_since = now
            elif now - calm_since >= quiet:
                return
            if now > deadline:
                raise AssertionError(f"{self.name}: the app was still busy after {timeout:.0f} s")
            self.page.wait_for_timeout(100)

    def wait_for_title(self, title: str) -> None:
        heading = self.page.locator("h1").filter(has_text=re.compile(rf"^\s*{re.escape(title)}"))
        self.poll(lambda: heading.count(), 60, f"the page titled {title!r}")

    def poll(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.server.check_alive()
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {what} did not happen within {timeout:.0f} s")
            self.page.wait_for_timeout(100)

    # widgets
    def navigate(self, link: str, title: str) -> None:
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name=link, exact=True).click()
        self.wait_for_title(title)
        self.settle()

    def choose(self, label: str, option: str) -> None:
        box = self.page.locator('[data-testid="stSelectbox"]').filter(
            has=self.page.get_by_label(label, exact=True)
        )
        choice = self.page.get_by_role("option", name=option, exact=True)

        def opened() -> bool:
            # A click that lands as the box scrolls into view (or as its expander opens) can
            # leave the list closed: click again until it shows.
            if not choice.count():
                box.click()
                self.page.wait_for_timeout(300)
            return choice.count() > 0

        self.poll(opened, 30, f"the options of {label}")
        choice.click()
        expect_value = box.locator("input")
        self.poll(lambda: expect_value.input_value() == option, 10, f"{label} = {option}")
        self.settle()

    def number_input(self, label: str) -> Any:
        return (
            self.page.locator('[data-testid="stNumberInput"]')
            .filter(has=self.page.get_by_label(label, exact=True))
            .locator("input")
        )

    def set_number(self, label: str, value: int) -> None:
        field = self.number_input(label)
        field.fill(str(value))
        field.press("Enter")
        self.poll(lambda: field.input_value() == str(value), 10, f"{label} = {value}")
        self.settle()

    def press(self, name: str) -> None:
        """Click a button. A fragment redrawn every second can for a moment show its old copy of
        a button beside the new one, so the click waits until there is one."""
        from playwright.sync_api import Error as PlaywrightError

        button = self.page.get_by_role("button", name=name, exact=True)

        def click_the_one() -> bool:
            if button.count() != 1:
                return False
            try:
                button.click()
            except PlaywrightError as error:
                if "strict mode violation" not in str(error):
                    raise
                return False
            return True

        self.poll(click_the_one, 30, f"a single {name!r} button to click")

    def live(self) -> dict:
        return self.page.evaluate(LIVE_JS)

    def done_box(self) -> Any:
        return self.page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Done:")

    # checks
    def assert_no_error_boxes(self, where: str) -> None:
        for test_id in ("stException", "stAlertContentError"):
            boxes = self.page.locator(f'[data-testid="{test_id}"]')
            texts = [boxes.nth(i).inner_text() for i in range(boxes.count())]
            assert not texts, f"{self.name}, {where}: {test_id} on the page:\n" + "\n---\n".join(
                texts
            )

    def screenshot(self, name: str) -> None:
        """The whole page: Streamlit scrolls inside its main block, so the viewport is made as
        tall as that block for the picture, then put back."""
        height = self.page.evaluate(
            """() => {
              const main = document.querySelector('[data-testid="stMain"]');
              const block = document.querySelector('[data-testid="stMainBlockContainer"]');
              return Math.max(main ? main.scrollHeight : 0, block ? block.scrollHeight : 0);
            }"""
        )
        tall = min(max(self.viewport["height"], int(height) + 80), 8000)
        self.page.set_viewport_size({"width": self.viewport["width"], "height": tall})
        self.page.wait_for_timeout(400)  # let the charts take the new size
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        self.page.set_viewport_size(self.viewport)

    def close(self) -> None:
        self.context.close()


# A view slider's answer, timed inside the page: from the key press (stamped by a listener) to
# the first frame whose Digits grid shows the wanted number of digits (its title lists them).
KEY_STAMP_JS = """() => {
  window.__keyAt = null;
  window.__drawnAt = null;
  if (!window.__stamping) {
    window.__stamping = true;
    document.addEventListener('keydown', () => { window.__keyAt ??= performance.now(); }, true);
  }
}"""
GRID_SHOWS_JS = """(count) => {
  const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .filter((gd) => !gd.closest('[data-stale="true"]'));
  const shown = plots.some((gd) => {
    const title = String((gd.layout && gd.layout.title && gd.layout.title.text) || '')
      .replace(/<[^>]*>/g, '');  // the title is bold
    return title.startsWith('Digits ') && title.trim().split(/\\s+/).length - 1 === count;
  });
  if (shown && window.__keyAt !== null) window.__drawnAt ??= performance.now();
  return shown && window.__drawnAt !== null;
}"""


def _view_slider_answers(session: Session, moves: int) -> list[float]:
    """Move the Reconstructions page's Digits slider ``moves`` times with the arrow keys:
    seconds from each key press to the grid drawn with that many digits."""
    slider = session.page.locator('input[type="range"][aria-label="Digits"]')
    answers = []
    for move in range(moves):
        count = int(slider.input_value()) + (1 if move % 2 == 0 else -1)
        session.page.evaluate(KEY_STAMP_JS)
        slider.press("ArrowRight" if move % 2 == 0 else "ArrowLeft")
        session.page.wait_for_function(GRID_SHOWS_JS, arg=count, polling="raf", timeout=30_000)
        answers.append(session.page.evaluate("() => (__drawnAt - __keyAt) / 1000"))
        session.page.wait_for_timeout(300)
    return answers


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: of 10 values, p95 is the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def _settings_tab(session: Session, tab: str) -> None:
    """Open the Train page's "More settings" and its tab ``tab`` (Data, Model, Training, ...)."""
    details = session.page.locator('[data-testid="stExpander"] details').filter(
        has_text="More settings"
    )
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    session.page.get_by_role("tab", name=tab, exact=True).click()


def _start_run(session: Session, variant: str, steps: int, seed: int = 0) -> None:
    """On the Train page: the variant, the digits, the steps and seed; not pressed yet."""
    session.choose("Variant", variant)
    _settings_tab(session, "Data")
    session.choose("Dataset", "digits")
    _settings_tab(session, "Training")
    session.set_number("Steps", steps)
    session.set_number("Random seed", seed)


def _stored_values(runs_dir: Path, setting: str) -> dict[float, str]:
    """The value of ``setting`` in every run stored in ``runs_dir``, with its run id."""
    import json

    stored = {}
    for config_file in runs_dir.glob("*/config.json"):
        stored[json.loads(config_file.read_text())[setting]] = config_file.parent.name
    return stored


class Clock:
    """Prints how long each part of the test took (shown with ``pytest -s``)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        print(f"[{now - self.start:6.1f} s] {what} (+{now - self.last:.1f} s)")
        self.last = now


# -- the test -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_app_in_a_browser(server: Server, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    clock = Clock()
    first = Session(browser, server, "session 1")
    sessions = [first]
    try:
        # 1. The home page.
        first.open_home()
        first.assert_no_error_boxes("home page")
        first.screenshot("01_home")
        clock.lap("home page")

        # 2. Train a small sparse_kl run on the digits.
        first.navigate("Train", "Train")
        first.assert_no_error_boxes("Train page")
        _start_run(first, "sparse_kl", LIVE_RUN_STEPS)
        first.assert_no_error_boxes("Train page, settings chosen")
        clock.lap("settings chosen")
        first.press("Train")

        # 3. The live view, first read: the run trains and its loss chart has points.
        before = first.poll(
            lambda: (live := first.live())["training"] and live["points"] and live,
            90,
            "a training run with a loss chart",
        )
        assert f"of {LIVE_RUN_STEPS:,}" in before["progress"], before
        clock.lap("the run trains, with a loss chart")
        first.screenshot("02_train_live")

        # 6. Responsive while it trains: changing Steps makes settings not trained yet, and the
        # page says so; changing them back shows the run again. Timed a few times each way: the
        # server answers in about 0.1 s, the rest is the browser drawing the page again, which a
        # busy shared machine can stall now and then (once 4.7 s), so the median is what counts.
        assert first.live()["training"], "the run finished before the responsiveness check"
        steps_field = first.number_input("Steps")
        untrained = first.page.get_by_text("These settings have not been trained yet")
        assert untrained.count() == 0
        answers: list[float] = []
        for _ in range(RESPONSIVE_TRIES):
            for steps, state in ((LIVE_RUN_STEPS - 1, "visible"), (LIVE_RUN_STEPS, "detached")):
                steps_field.fill(str(steps))  # LIVE_RUN_STEPS - 1: another, untrained config
                started = time.monotonic()
                steps_field.press("Enter")
                untrained.first.wait_for(state=state, timeout=30_000)
                answers.append(time.monotonic() - started)
                first.page.wait_for_timeout(300)
        still_training = first.live()["training"]
        typical = statistics.median(answers)
        print(
            "\nresponsiveness while a run trains (s to show a changed Steps, then changed back): "
            + ", ".join(f"{seconds:.2f}" for seconds in answers)
            + f"; median {typical:.2f}"
        )
        assert still_training, "the run finished during the responsiveness check: more steps"
        assert typical < RESPONSIVE_SECONDS, (
            f"a widget took {typical:.2f} s (median of {len(answers)}) to answer while a run "
            f"trained: {', '.join(f'{seconds:.2f}' for seconds in answers)}"
        )

        # A view page's slider while the run trains: another session moves the Reconstructions
        # page's Digits slider; each move redraws the grid from the run's latest checkpoint.
        viewer = Session(browser, server, "viewer")
        sessions.append(viewer)
        viewer.open_home()
        viewer.navigate("Reconstructions", "Reconstructions")
        grid = viewer.page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
        viewer.poll(lambda: grid.count(), 60, "the Digits grid")
        views = _view_slider_answers(viewer, VIEW_SLIDER_MOVES)
        print(
            "view slider while a run trains (s from the key to the grid drawn): "
            + ", ".join(f"{seconds:.2f}" for seconds in views)
            + f"; median {statistics.median(views):.2f}, p95 {percentile(views, 0.95):.2f}"
        )
        assert first.live()["training"], "the run finished during the view-slider check"
        viewer.assert_no_error_boxes("Reconstructions page, Digits moved while a run trains")
        assert not viewer.errors, "viewer: " + "\n".join(viewer.errors)
        viewer.close()
        sessions.remove(viewer)
        clock.lap("a view page's slider moved while the run trains")

        # 3. The live view, second read: more points and a new progress text, still training.
        after = first.poll(
            lambda: (
                (live := first.live())["training"]
                and (live["points"] or 0) > before["points"]
                and live["progress"] != before["progress"]
                and live
            ),
            20,
            f"the live chart growing past {before['points']} points while training",
        )
        print(
            f"live view: {before['points']} -> {after['points']} loss points; "
            f"{before['progress']!r} -> {after['progress']!r}"
        )
        clock.lap("live chart and responsiveness checked")

        # ... and Stop ends it, keeping the model learned so far.
        first.press("Stop")
        stopped = first.page.locator('[data-testid="stAlertContentWarning"]').filter(
            has_text="Stopped by request"
        )
        first.poll(lambda: stopped.count(), 60, "the run stopping")
        first.settle()
        assert not first.live()["training"]
        first.assert_no_error_boxes("Train page, run stopped")
        first.screenshot("03_train_stopped")
        clock.lap("the run is stopped")

        # 4. Every page, from the sidebar, showing the stopped run's model.
        for number, (link, title, charts) in enumerate(PAGES, start=4):
            first.navigate(link, title)
            first.assert_no_error_boxes(f"{link} page")
            first.poll(
                lambda charts=charts: first.page.locator(".js-plotly-plot").count() >= charts,
                30,
                f"{charts} chart(s) drawn on the {link} page",
            )
            if link not in ("Home", "Lessons", "Train"):  # the pages with the run picker
                picked = first.page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
                assert "sparse_kl" in picked.locator("input").first.input_value(), link
            slug = re.sub(r"\W+", "_", link.lower())
            first.screenshot(f"{number:02d}_{slug}")
            clock.lap(f"{link} page")

        # 5. Two sessions train at once, and both finish.
        second = Session(browser, server, "session 2")
        sessions.append(second)
        second.open_home()
        second.navigate("Train", "Train")
        first.navigate("Train", "Train")
        _start_run(first, "sparse_kl", PAIR_STEPS, seed=1)
        _start_run(second, "sparse_l1", PAIR_STEPS, seed=2)
        clock.lap("second session ready")
        first.press("Train")
        second.press("Train")
        both_training = False  # seen training at the same moment, each in its own session
        deadline = time.monotonic() + 180
        while not all(session.done_box().count() for session in (first, second)):
            assert time.monotonic() < deadline, "the two runs did not both finish in 180 s"
            server.check_alive()
            states = [session.live()["training"] for session in (first, second)]
            both_training = both_training or all(states)
            first.page.wait_for_timeout(200)
        print(f"two sessions: both runs done; seen training at the same time: {both_training}")
        for session in (first, second):
            session.settle()
            assert f"Done: {PAIR_STEPS:,} steps" in session.done_box().first.inner_text()
            session.assert_no_error_boxes("Train page, the two runs done")
        clock.lap("both runs done")
        first.screenshot(f"{len(PAGES) + 4:02d}_two_sessions_first")
        second.screenshot(f"{len(PAGES) + 5:02d}_two_sessions_second")

        # 6. What is on screen is what trains: move a slider with the keyboard and click Train
        # at once, before the move's rerun has come back; the stored run has the value shown.
        first.navigate("Train", "Train")
        _start_run(first, "sparse_kl", CLICK_STEPS, seed=3)
        target = first.page.locator('input[type="range"][aria-label="Sparsity target"]')
        shown_values = []
        for _ in range(CLICK_TRIES):
            target.focus()
            first.page.keyboard.press("ArrowRight")
            shown = float(target.input_value())
            first.page.get_by_role("button", name="Train", exact=True).click()
            shown_values.append(round(shown, 2))
            first.settle()
            untrained = first.page.get_by_text("These settings have not been trained yet")
            assert untrained.count() == 0, f"after clicking Train at sparsity target {shown}"
            first.assert_no_error_boxes(f"Train page, trained sparsity target {shown}")
        stored = _stored_values(server.runs_dir, "sparsity_target")
        missing = [value for value in shown_values if value not in stored]
        print(f"slider moved then Train clicked at once: {shown_values}; all stored: {not missing}")
        assert not missing, f"shown {shown_values} but stored only {sorted(stored)}"
        first.screenshot(f"{len(PAGES) + 6:02d}_train_what_is_shown")
        clock.lap("a slider moved and Train clicked at once, trained what was shown")

        # 7. The run picker keeps its choice from page to page (the same key on another page is
        # another widget to Streamlit, which started it at the newest run).
        first.navigate("Reconstructions", "Reconstructions")
        picker = first.page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
        picker.click()
        options = first.page.get_by_role("option")
        first.poll(lambda: options.count() >= 3, 10, "the run picker's list")
        wanted = options.nth(2).inner_text().strip()
        options.nth(2).click()
        first.settle()
        for link, title in [
            ("Features", "Features"),
            ("Activations", "Activations"),
            ("Compare", "Compare runs"),
            ("Latent space", "Latent space"),
            ("Train", "Train"),
            ("Reconstructions", "Reconstructions"),
        ]:
            first.navigate(link, title)
            if link == "Train":  # no run picker; its link still names the chosen run
                assert "run=" in first.page.url, first.page.url
                continue
            assert picker.locator("input").input_value() == wanted, f"the chosen run on {link}"
        clock.lap("the chosen run kept across pages")

        # 8. A lesson, from its page: Run trains it, then ours is shown beside the published.
        first.navigate("Lessons", "Lessons")
        first.choose("Lesson", "A linear autoencoder finds the PCA plane (linear-pca)")
        first.press("Run")
        done = first.page.get_by_text("This lesson's run: done, 1,000 steps")
        first.poll(lambda: done.count(), 120, "the linear-pca lesson to train")
        first.settle()
        first.poll(lambda: first.page.locator(".js-plotly-plot").count() >= 1, 30, "the 3-D cloud")
        table = first.page.locator('[data-testid="stTable"]')
        assert table.count() == 1 and "relative to PCA" in table.inner_text()
        first.assert_no_error_boxes("Lessons page, lesson trained")
        first.screenshot(f"{len(PAGES) + 7:02d}_lesson_linear_pca")
        clock.lap("a lesson trained from the Lessons page")

        # 9. Presenting mode from a link, on a 1280x720 projector: every chart's tick labels and
        # titles at least 16 px, no run id on screen, and the link it hands out opens normally.
        room = Session(browser, server, "projector", {"width": 1280, "height": 720})
        sessions.append(room)
        pictured = [  # finished runs on images (toy3d is points)
            config.parent.name
            for config in sorted(server.runs_dir.glob("*/config.json"))
            if json.loads(config.read_text()).get("dataset") != "toy3d"
            and (config.parent / "summary.json").exists()
        ]
        room.page.goto(f"{server.url}/Reconstructions?run={pictured[0]}&present=1")
        room.wait_for_title("Reconstructions")
        room.settle()
        room.poll(lambda: room.page.locator(".js-plotly-plot").count() >= 1, 30, "a chart")
        sizes = room.page.evaluate(CHART_TEXT_SIZES_JS)
        assert sizes and min(sizes) >= 16, f"chart text sizes in presenting mode: {sizes}"
        shown = room.page.locator("body").inner_text()
        run_ids = [folder.name for folder in server.runs_dir.iterdir() if folder.is_dir()]
        assert run_ids and not [r for r in run_ids if short_run_id(r) in shown], "no run ids"
        room.page.get_by_text("Link to this screen").click()
        link = room.page.locator('[data-testid="stSidebar"] [data-testid="stCode"]')
        room.poll(lambda: "run=" in link.inner_text(), 10, "the link to the screen")
        assert "present" not in link.inner_text() and "present=1" in room.page.url
        room.assert_no_error_boxes("Reconstructions, presenting")
        room.screenshot(f"{len(PAGES) + 8:02d}_presenting")
        clock.lap("presenting mode from a link")

        # 10. The step scrubber: a finished run's features as they were at its first snapshot.
        snapshotted = [run for run in pictured if any((server.runs_dir / run).glob("snapshot-*"))]
        assert snapshotted, "finished runs keep snapshots of their training"
        first.page.goto(f"{server.url}/Features?run={snapshotted[0]}")
        first.wait_for_title("Features")
        first.settle()
        first.poll(lambda: first.page.evaluate(GRID_SUM_JS) is not None, 30, "the features")
        final_grid = first.page.evaluate(GRID_SUM_JS)
        step = first.page.locator('[data-testid="stSlider"]').filter(has_text="Training step")
        step.get_by_role("slider").focus()

        def scrub(key: str, shown: float, to: float | None = None) -> tuple[float, float]:
            """Press ``key`` on the step slider: seconds until the grid is another than
            ``shown`` (``to``, when given), and the grid then."""
            started = time.monotonic()
            first.page.keyboard.press(key)
            first.page.wait_for_function(
                f"([shown, to]) => {{ const now = ({GRID_SUM_JS})(); return now !== null"
                " && now !== shown && (to === null || Math.abs(now - to) < 1e-6); }",
                arg=[shown, to],
                polling="raf",
                timeout=30_000,
            )
            return time.monotonic() - started, first.page.evaluate(GRID_SUM_JS)

        first_time, snapshot_grid = scrub("Home", final_grid)
        assert "step=" in first.page.url, first.page.url
        back, _ = scrub("End", snapshot_grid, final_grid)
        again, _ = scrub("Home", final_grid, snapshot_grid)
        print(
            f"step scrubber (s from the key to the features drawn): first snapshot {first_time:.2f}"
            f" (first time), the final model {back:.2f}, the first snapshot again {again:.2f}"
        )
        first.assert_no_error_boxes("Features, the first snapshot")
        first.screenshot(f"{len(PAGES) + 9:02d}_features_first_snapshot")
        clock.lap("the step scrubber")

        for session in sessions:
            assert not session.errors, f"{session.name}: " + "\n".join(session.errors)
    except BaseException:
        for session in sessions:
            try:
                session.page.screenshot(path=str(ARTIFACTS / f"failure_{session.name[-1]}.png"))
            except Exception:  # the original failure matters more
                pass
            if session.errors:
                print(f"{session.name} saw:\n" + "\n".join(session.errors))
        print(f"server log (tail):\n{_tail(ARTIFACTS / 'streamlit.log')}")
        raise
    finally:
        for session in sessions:
            session.close()


# Steps of the MNIST run a digit is drawn for: enough to reconstruct something, quick to train.
DRAWN_RUN_STEPS = 300


@pytest.mark.slow
def test_drawing_a_digit_in_a_browser(server: Server, browser: Any) -> None:
    """Train a tiny run on MNIST, draw a stroke with the mouse on the Reconstructions page's
    canvas, and see the run's reconstruction of the drawing."""
    session = Session(browser, server, "drawing")
    try:
        session.open_home()
        session.navigate("Train", "Train")
        session.choose("Variant", "stacked")
        _settings_tab(session, "Data")
        session.choose("Dataset", "mnist")
        _settings_tab(session, "Training")
        session.set_number("Steps", DRAWN_RUN_STEPS)
        session.press("Train")
        session.poll(lambda: session.done_box().count(), 180, "the MNIST run to finish")
        session.navigate("Reconstructions", "Reconstructions")
        canvas = session.page.locator("canvas.upper-canvas")  # the canvas taking the mouse
        session.poll(lambda: canvas.count() == 1, 60, "the drawing canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        x, top = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.2
        session.page.mouse.move(x, top)
        session.page.mouse.down()
        session.page.mouse.move(x, top + box["height"] * 0.6, steps=15)  # a "1"
        session.page.mouse.up()
        seen = session.page.get_by_text("Your digit as the run sees it")
        session.poll(lambda: seen.count(), 60, "the drawing and its reconstruction")
        pictures = session.page.locator('[data-testid="stImage"]')
        session.poll(lambda: pictures.count() >= 1, 30, "the picture of the reconstruction")
        session.settle()
        session.assert_no_error_boxes("Reconstructions page, a digit drawn")
        session.screenshot("draw_a_digit")
        assert not session.errors, "\n".join(session.errors)
    except BaseException:
        try:
            session.page.screenshot(path=str(ARTIFACTS / "failure_drawing.png"))
        except Exception:  # the original failure matters more
            pass
        raise
    finally:
        session.close()
