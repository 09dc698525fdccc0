"""The Dagster UI a user reads, driven in headless Chromium after a real `tunix-rt run --smoke` (slow).

Contract: after a smoke run into a temporary TUNIX_RT_HOME, `dagster-webserver` on a free
127.0.0.1 port serves the lineage page (every asset group drawn), an asset page with its
metadata table, its float history (Plots) and its chart at >= 640 px, and the checks tab of
`promotion_candidate` listing its blocking checks, and `sweep_smoke_job`'s launchpad opening
with its preset. Screenshots go to $TUNIX_RT_UI_SCREENSHOTS
(or the test's temporary folder) and their paths are printed; nothing is committed. The
browser is Debian's /usr/bin/chromium (`.ci/run` installs it); nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tunix_rt_pipelines.cli.launch import LOCATION_NAME
from tunix_rt_pipelines_tests.testing_utils import free_port

CHROMIUM = Path("/usr/bin/chromium")
GROUPS = ("datasets", "evaluation", "inference", "models", "registry", "sweep", "training")
BLOCKING = ("promotion_candidate_lock_passed", "promotion_candidate_on_pinned_golden", "promotion_candidate_artifacts_match")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                                   reason="needs Debian's chromium (apt-get install chromium; .ci/run does)")]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "TUNIX_RT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home")}


@pytest.fixture(scope="module")
def smoke_home(tmp_path_factory) -> Path:
    """A project home holding one finished `tunix-rt run --smoke` (its instance, artifacts and registry)."""
    work = tmp_path_factory.mktemp("ui")
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("tunix-rt")), "run", "--smoke"], cwd=work, env=_env(work / "home"),
                          capture_output=True, text=True, timeout=900)
    print(f"tunix-rt run --smoke: rc {done.returncode} in {time.perf_counter() - start:.1f}s")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (work / "home" / "smoke.out").write_text(done.stdout)
    return work / "home"


@pytest.fixture(scope="module")
def webserver(smoke_home: Path):
    """`dagster-webserver` on the smoke run's instance; stopped with SIGINT (then its whole process group)."""
    port = free_port()
    log = (smoke_home / "webserver.log").open("w")
    workspace = smoke_home / "workspace.yaml"  # the location name `tunix-rt run` launches under, as `tunix-rt ui` writes it
    workspace.write_text(f"load_from:\n  - python_module: {{module_name: tunix_rt_pipelines.definitions, location_name: {LOCATION_NAME}}}\n")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("dagster-webserver")), "-w", str(workspace),
                             "-h", "127.0.0.1", "-p", str(port)], cwd=smoke_home.parent, env=_env(smoke_home),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (smoke_home / "webserver.log").read_text()[-2000:]
                time.sleep(0.5)
        else:
            pytest.fail(f"dagster-webserver did not answer on {url} in 120 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # graceful: uvicorn shuts down and stops its code server
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("TUNIX_RT_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(webserver):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        tab = browser.new_page(viewport={"width": 1600, "height": 1000})
        tab.set_default_timeout(60_000)
        tab.base_url = webserver
        yield tab
        browser.close()


def _open(page, path: str) -> None:
    page.goto(page.base_url + path)
    from playwright.sync_api import TimeoutError as NotShown

    with contextlib.suppress(NotShown):  # the first-visit "Join the Dagster community" dialog; dismissed once per browser
        page.get_by_role("button", name="Skip").click(timeout=5_000)


def _shot(page, shots: Path, name: str, capsys) -> Path:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    with capsys.disabled():  # shown even when the test passes: CI keeps these files as artifacts
        print(f"\nscreenshot: {path}")
    return path


def test_lineage_page_draws_every_group(page, shots, capsys):
    _open(page, "/asset-groups")
    for group in GROUPS:
        page.locator("svg").get_by_text(group, exact=True).first.wait_for()
    _shot(page, shots, "lineage", capsys)


def test_asset_page_shows_metadata_plots_and_a_legible_chart(page, shots, capsys):
    _open(page, "/assets/base_vs_trained")
    for key in ("base_score", "trained_score", "p_value", "flip_examples", "chart"):
        page.get_by_text(key, exact=True).first.wait_for()
    _shot(page, shots, "asset_metadata", capsys)

    page.get_by_text("[Show Markdown]").first.click()  # the chart: an 800 px PNG behind Dagster's markdown dialog
    image = page.locator("img[src^='data:image/png']").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") >= 640
    page.wait_for_timeout(1_000)  # the dialog fades in
    _shot(page, shots, "asset_chart", capsys)
    page.keyboard.press("Escape")

    page.get_by_text("Plots", exact=True).first.click()  # score, delta, p_value over materializations
    page.get_by_text("trained_score", exact=True).first.wait_for()
    page.locator("canvas").first.wait_for()
    _shot(page, shots, "asset_plots", capsys)


def test_sweep_smoke_launchpad_opens_with_its_preset(page, shots, capsys):
    _open(page, f"/locations/{LOCATION_NAME}/jobs/sweep_smoke_job/playground")
    page.get_by_text("Launch Run").first.wait_for()
    page.get_by_text("No errors", exact=True).first.wait_for()
    editor = page.locator(".CodeMirror").first.inner_text()
    assert "num_samples: 2" in editor and "max_steps: 3" in editor  # the preset, not the assets' 4-trial defaults
    _shot(page, shots, "sweep_smoke_launchpad", capsys)


def test_checks_tab_lists_the_blocking_checks(page, shots, capsys):
    _open(page, "/assets/promotion_candidate?view=checks")
    page.get_by_text(f"Checks ({len(BLOCKING)})", exact=True).first.wait_for()
    for name in BLOCKING:  # the list middle-truncates long names; the full name is in the row's measuring copy
        page.get_by_text(name, exact=True).first.wait_for(state="attached")
    page.get_by_text("This is a blocking asset check.", exact=True).first.wait_for()  # the selected check's detail
    _shot(page, shots, "checks", capsys)


def test_the_command_line_run_is_listed_under_its_job(page, smoke_home, shots, capsys):
    """Runs of `tunix-rt run` carry the code location's origin, so the job's Runs tab lists them."""
    [run_id] = re.findall(r"^run ([0-9a-f-]{36}) succeeded", (smoke_home / "smoke.out").read_text(), flags=re.M)
    _open(page, f"/locations/{LOCATION_NAME}/jobs/base_vs_trained_job/runs")
    page.get_by_text(run_id[:8], exact=True).first.wait_for()
    _shot(page, shots, "job_runs", capsys)
