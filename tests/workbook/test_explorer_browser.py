"""The explorer of ``99_explore`` in a real browser (issue 18): JupyterLab from this environment on 127.0.0.1, the
notebook opened in headless Chromium driven by Selenium (Debian ``chromium`` + ``chromium-driver``; Selenium
uses the system chromedriver with ``SE_OFFLINE=true``, so nothing is downloaded), all cells run, then:

- no cell has an error output;
- the widgets render (the dataset/image dropdowns, the methods list, the mode toggle, the upload button);
- choosing another image and the before/after toggle redraw the figure (its ``<img>`` changes);
- an uploaded good image is enhanced and shown (dataset ``your images``); a corrupt one shows its error.

The notebook runs in a scratch project (a copy with ``root`` pointing there, kernel ``python3`` of this
interpreter), on the embedded set only (no data or weights root), so it writes nothing into the checkout.
Screenshots of each step are kept in ``$LLIE_TEST_ARTIFACTS/explorer_browser`` (default
``build/test-artifacts/explorer_browser``). Without Chromium, its driver or Selenium the test skips with the
reason, and fails under CI (``tests.helpers.skip_or_fail``; ``.ci/run`` installs the Debian packages).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import REPO_ROOT, skip_or_fail

NOTEBOOK = "99_explore.ipynb"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1800")
WAIT_S = 180  # generous: two CPU cores shared with other jobs; every wait ends as soon as its condition holds


def _executable(*names: str) -> str | None:
    return next((found for found in (shutil.which(n) for n in names) if found), None)


def require_browser() -> tuple[str, str]:
    """Paths of chromium and chromedriver (selenium importable); skip (fail under CI) naming what is missing."""
    chromium = _executable("chromium", "chromium-browser")
    driver = _executable("chromedriver")
    if chromium is None or driver is None:
        skip_or_fail("the browser test needs the Debian packages chromium and chromium-driver "
                     "(apt-get install -y chromium chromium-driver; .ci/run installs them)")
    try:
        import selenium  # noqa: F401  (the pinned test dependency of requirements.txt)
    except ImportError:
        skip_or_fail("the browser test needs selenium (pip install -r requirements.txt)")
    return chromium, driver


@pytest.fixture(scope="module")
def browser_tools():
    return require_browser()


def test_without_chromium_the_browser_test_skips_with_the_reason_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium and chromium-driver"):
        require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium and chromium-driver.*CI is set"):
        require_browser()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scratch_project(tmp: Path) -> Path:
    """A project root holding a copy of the notebook whose parameters point at it, on the ``python3`` kernel."""
    project = tmp / "project"
    (project / "notebooks").mkdir(parents=True)
    nb = json.loads((REPO_ROOT / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))
    params = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(params["source"])
    assert 'root: str = ""' in source, "99_explore's parameters cell changed: update this test"
    params["source"] = source.replace('root: str = ""', f"root: str = {str(project)!r}", 1)
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (project / "notebooks" / NOTEBOOK).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return project


def _lab_environment(tmp: Path) -> dict[str, str]:
    """This process's environment without the data/weights roots, with private Jupyter folders and settings that
    keep JupyterLab from fetching news or checking for updates."""
    env = {k: v for k, v in os.environ.items() if k not in ("LLIE_DATA_ROOT", "LLIE_WEIGHTS_ROOT")}
    settings = tmp / "lab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
               LLIE_CACHE_DIR=os.environ.get("LLIE_CACHE_DIR", str(REPO_ROOT / ".cache")),
               LLIE_NO_PROGRESS="1", OMP_NUM_THREADS="1")
    return env


@pytest.fixture()
def jupyter_lab(tmp_path, browser_tools):
    """JupyterLab serving the scratch project on 127.0.0.1 (its own PID recorded and stopped afterwards)."""
    project = _scratch_project(tmp_path)
    token = "llie-browser-test"
    port = _free_port()
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={project}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.extension_manager=readonly",  # never asks PyPI for extensions
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=project, env=_lab_environment(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}: "
                            f"{(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on port {port} within 90 s")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token, project
    finally:
        server.terminate()  # this server's own PID only
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture()
def chrome(browser_tools, tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = browser_tools
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _artifacts() -> Path:
    folder = Path(os.environ.get("LLIE_TEST_ARTIFACTS", REPO_ROOT / "build" / "test-artifacts")) / "explorer_browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait(condition, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


PANEL_JS = """
const app = window.jupyterapp;
let panel = null;
if (app) {
    for (const w of app.shell.widgets('main')) {
        if (w.context && w.context.path && w.context.path.endsWith('%s') && w.content && w.content.widgets) {
            panel = w;
        }
    }
}
""" % NOTEBOOK

CELLS_JS = PANEL_JS + """
if (!panel) { return null; }
return panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const outputs = c.model.outputs.toJSON();
    // JupyterLab 4 renders only the cells near the viewport: a cell off screen has no prompt node, so the
    // model's execution state decides (the prompt's '*' where the node exists)
    const prompt = c.node.querySelector('.jp-InputPrompt');
    return {count: c.model.executionCount,
            running: c.model.executionState === 'running' || !!(prompt && prompt.textContent.includes('*')),
            errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)};
});
"""

FIGURE_JS = """
const imgs = Array.from(document.querySelectorAll('.widget-output img'));
const img = imgs.find(i => i.complete && i.naturalWidth > 0);
return img ? img.src.length + ':' + img.src.slice(-200) : null;
"""


def _figure(driver) -> str | None:
    """The explorer figure's ``<img>`` (a fingerprint of its data URL) once it has finished decoding."""
    return driver.execute_script(FIGURE_JS)


def _screenshot(driver, path: Path) -> None:
    """A screenshot with the explorer's message and figure scrolled into view."""
    driver.execute_script("""
        const target = document.querySelector('.widget-output img') || document.querySelector('.widget-html-content');
        if (target) { target.scrollIntoView({block: 'center'}); }""")
    driver.save_screenshot(str(path))


def _widget_select(driver, label: str):
    from selenium.webdriver.common.by import By

    for box in driver.find_elements(By.CSS_SELECTOR, ".widget-dropdown"):
        if box.find_element(By.TAG_NAME, "label").text.strip() == label:
            return box.find_element(By.TAG_NAME, "select")
    return None


def _message(driver) -> str:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.widget-html-content')).map(e => e.textContent).join(' | ')")


def _upload(driver, path: Path) -> None:
    """ipywidgets 8 keeps the upload's ``<input type=file>`` outside the page and clicks it: the click is caught to
    attach the input to the page instead of opening a dialog, then the file's path is typed into it."""
    from selenium.webdriver.common.by import By

    driver.execute_script("""
        if (!window.__llieUploadHook) {
            const click = HTMLInputElement.prototype.click;
            HTMLInputElement.prototype.click = function () {
                if (this.type !== 'file') { return click.call(this); }
                this.id = 'llie-upload-input';
                this.style.display = 'block';
                if (!this.isConnected) { document.body.appendChild(this); }
            };
            window.__llieUploadHook = true;
        }
        const old = document.getElementById('llie-upload-input');
        if (old) { old.value = ''; }
    """)
    driver.find_element(By.CSS_SELECTOR, "button.widget-upload, .widget-upload button, .widget-upload").click()
    field = _wait(lambda: driver.find_elements(By.ID, "llie-upload-input"), "the upload input")[0]
    field.send_keys(str(path))


@pytest.mark.slow
@pytest.mark.browser
def test_the_explorer_works_in_a_real_browser(jupyter_lab, chrome, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, token, project = jupyter_lab
    shots = _artifacts()
    chrome.get(f"{url}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
    _wait(lambda: chrome.execute_script(CELLS_JS) is not None, "the notebook to open")
    _wait(lambda: chrome.execute_script(PANEL_JS + """
        const s = panel.sessionContext.session; return !!(s && s.kernel && s.kernel.status === 'idle');"""),
          "the kernel to start")
    chrome.execute_script(PANEL_JS + """
        window.jupyterapp.shell.activateById(panel.id);
        return window.jupyterapp.commands.execute('notebook:run-all-cells');""")

    def all_ran():
        cells = chrome.execute_script(CELLS_JS)
        return cells if cells and all(c["count"] is not None and not c["running"] for c in cells) else None

    cells = _wait(all_ran, "all cells to run")
    _screenshot(chrome, shots / "01_after_run_all.png")
    assert not [e for c in cells for e in c["errors"]], cells

    # the widgets render
    for label in ("dataset", "image"):
        assert _widget_select(chrome, label) is not None, f"no {label} dropdown"
    assert chrome.find_elements(By.CSS_SELECTOR, ".widget-select-multiple select"), "no methods list"
    toggles = {b.text.strip(): b for b in chrome.find_elements(By.CSS_SELECTOR, ".widget-toggle-button")}
    assert {"side by side", "before / after"} <= set(toggles), toggles
    first = _wait(lambda: _figure(chrome), "the figure")

    # another image redraws the figure
    image = Select(_widget_select(chrome, "image"))
    assert len(image.options) >= 2, [o.text for o in image.options]
    image.select_by_index(1)
    second = _wait(lambda: (f := _figure(chrome)) and f != first and f, "the figure of the second image")
    _screenshot(chrome, shots / "02_second_image.png")

    # the before/after toggle redraws it
    toggles["before / after"].click()
    third = _wait(lambda: (f := _figure(chrome)) and f not in (first, second) and f, "the before/after figure")
    _screenshot(chrome, shots / "03_before_after.png")

    # a good upload is enhanced and shown
    good = tmp_path / "my_photo.png"
    Image.new("RGB", (150, 90), (40, 25, 10)).save(good)
    _upload(chrome, good)
    _wait(lambda: "my_photo.png: 150x90 px" in _message(chrome), "the upload's message")
    _wait(lambda: (f := _figure(chrome)) and f not in (first, second, third) and f, "the figure of the upload")
    assert Select(_widget_select(chrome, "dataset")).first_selected_option.text == "your images"
    _screenshot(chrome, shots / "04_good_upload.png")

    # a corrupt upload shows its error, the view stays
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot an image at all")
    _upload(chrome, bad)
    _wait(lambda: "cannot use broken.png" in _message(chrome), "the corrupt upload's error")
    _screenshot(chrome, shots / "05_corrupt_upload.png")
    assert not [e for c in chrome.execute_script(CELLS_JS) for e in c["errors"]]
