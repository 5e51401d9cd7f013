"""What a live page costs the Streamlit server: its CPU share while browser sessions watch runs.

Starts the app on a free local port (its own runs folder), opens N browser sessions (Debian's
chromium through Playwright), has each start a run on the Train page, and measures the server
process's CPU time (not its workers') over a window while the runs train and the pages poll
once a second. Prints the share of one core, in total and per session, and how many history
points the first session's chart showed at the start and end of the window. With ``--page``,
each session watches its run on that page instead (a view page: it follows the run's latest
checkpoint), and the checkpoint step the first session's page showed is printed instead.

    AE_DATA_DIR=../shared/data/mnist AE_OFFLINE=1 python3 benchmarks/live_page_cost.py
        [--sessions N] [--seconds S] [--page "Latent space"]

The machine is shared and noisy: compare figures measured side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
POINTS_JS = """() => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return plot && plot._fullData && plot._fullData[0] ? plot._fullData[0].x.length : 0;
}"""


# The checkpoint step a view page says it shows ("... as of step 1,234 of ..."), or 0.
CHECKPOINT_STEP_JS = """() => {
  const found = document.body.innerText.match(/as of step ([0-9,]+)/);
  return found ? parseInt(found[1].replace(/,/g, ''), 10) : 0;
}"""


# True once a view page shows a checkpoint's model and has drawn a figure of it.
VIEW_DRAWN_JS = f"""() => ({CHECKPOINT_STEP_JS})() > 0
  && document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot') !== null"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server at {url} did not answer within {timeout:.0f} s")


def start_run(page, url: str, steps: int, seed: int) -> None:
    page.set_default_timeout(120_000)  # the first page waits for the workers to start
    page.goto(url)
    page.locator("h1").filter(has_text="Autoencoder Lab").wait_for()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Train").click()
    steps_field = page.get_by_role("spinbutton", name="Steps")
    steps_field.wait_for()
    seed_field = page.get_by_role("spinbutton", name="Random seed")
    for field, value in ((steps_field, steps), (seed_field, seed)):
        field.fill(str(value))
        field.press("Enter")
        page.wait_for_timeout(1500)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_role("button", name="Stop").wait_for()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1, help="browser sessions, one run each")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measuring window")
    parser.add_argument(
        "--steps",
        type=int,
        default=50_000,
        help="steps of each run (the default stacked net on MNIST): enough to outlast the "
        "window, few enough that the chart gains a point every few hundred steps",
    )
    parser.add_argument(
        "--page",
        default="Train",
        help="the page each session watches while its run trains (Train, or a view page: "
        "Reconstructions, Activations, Features, Latent space)",
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runs = tempfile.mkdtemp(prefix="ae-bench-runs-")
    environment = {**os.environ, "AE_RUNS_DIR": runs, "AE_WORKERS": str(max(1, args.sessions))}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port)]
        + ["--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS)
            pages = [browser.new_page(viewport={"width": 1400, "height": 1000})]
            pages += [browser.new_page() for _ in range(args.sessions - 1)]
            for seed, page in enumerate(pages):
                start_run(page, url, steps=args.steps, seed=seed)
            if args.page != "Train":
                for page in pages:
                    nav = page.locator('[data-testid="stSidebarNav"]')
                    nav.get_by_role("link", name=args.page).click()
                    page.locator("h1").filter(has_text=args.page).wait_for()
                    # Past the first checkpoint and the server's one import of TensorFlow (for
                    # the first model it runs, seconds): the window measures the polling.
                    page.wait_for_function(VIEW_DRAWN_JS, timeout=120_000)
            time.sleep(5)  # past the first compilation
            watched = CHECKPOINT_STEP_JS if args.page != "Train" else POINTS_JS
            process = psutil.Process(server.pid)
            points_before = pages[0].evaluate(watched)
            cpu_before, started = process.cpu_times(), time.monotonic()
            time.sleep(args.seconds)
            cpu_after, elapsed = process.cpu_times(), time.monotonic() - started
            points_after = pages[0].evaluate(watched)
            if args.page != "Train":
                pages[0].locator('[data-testid="stSidebarNav"]').get_by_role(
                    "link", name="Train"
                ).click()
                pages[0].get_by_role("button", name="Stop").wait_for()
            for page in pages:
                stop = page.get_by_role("button", name="Stop")
                if stop.count():
                    stop.click()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    used = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    share = used / elapsed
    print(f"sessions watching a training run on the {args.page} page: {args.sessions}")
    each = share / args.sessions
    print(f"server CPU over {elapsed:.1f} s: {share:.3f} of a core ({each:.3f} a session)")
    if args.page == "Train":
        print(f"the first session's loss chart: {points_before} -> {points_after} points")
    else:
        print(
            f"the first session's page showed the model of step {points_before:,} -> "
            f"{points_after:,}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
