"""Browser tier: `deskgraph ui` in a subprocess over temp files and a scripted fake OpenAI server, driven by
Debian's headless Chromium through Playwright (no browser download, no network beyond localhost)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.fixtures_data import small_dataset
from tests.unit.fake_openai import FakeOpenAI
from tools import RetailStore

# Importing chainlit writes .chainlit/ and .files/ into its app root (default: the cwd): point it at ui/.
os.environ.setdefault("CHAINLIT_APP_ROOT", str(Path(__file__).resolve().parents[2] / "ui"))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
USERNAME, PASSWORD = "tester", "browser-test-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deskgraph_exe() -> str:
    exe = Path(sys.executable).parent / "deskgraph"
    return str(exe) if exe.exists() else shutil.which("deskgraph") or "deskgraph"


@dataclass
class UIServer:
    """A running `deskgraph ui` and the files behind it."""

    url: str
    root: Path
    proc: subprocess.Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def store_db(self) -> Path:
        return self.root / "store.db"

    @property
    def checkpoint_db(self) -> Path:
        return self.root / "checkpoints.db"

    def order_status(self, order_id: str) -> str:
        store = RetailStore.open(self.store_db)
        try:
            return store.dump_json()["orders"][order_id]["status"]
        finally:
            store.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_ui(root: Path, extra_env: dict[str, str], *, startup_timeout: float = 90.0,
             host: str = "127.0.0.1") -> UIServer:
    """Start `deskgraph ui` on a free port with its files in ``root``; wait until it answers HTTP.

    The browser always connects through 127.0.0.1 (``host`` is what the server binds, e.g. 0.0.0.0)."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESKGRAPH_", "CHAINLIT_"))}
    env.update({
        "DESKGRAPH_STORE_DB": str(root / "store.db"),
        "DESKGRAPH_CHECKPOINT_DB": str(root / "checkpoints.db"),
        "DESKGRAPH_UI_DB": str(root / "chainlit.db"),
        "DESKGRAPH_TODAY": "2026-11-26",
        # The scripted fake-model conversations here are written for the agent loop; a test of the flows
        # dialogue passes DESKGRAPH_DIALOGUE=flows in its extra_env.
        "DESKGRAPH_DIALOGUE": "agent",
        "DESKGRAPH_UI_AUTH": "true",
        "DESKGRAPH_UI_USERNAME": USERNAME,
        "DESKGRAPH_UI_PASSWORD": PASSWORD,
        "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update(extra_env)
    log = root / "ui.log"
    with log.open("wb") as out:
        # cwd is the temp dir: no .env of the checkout leaks in; relative paths would resolve here.
        proc = subprocess.Popen([deskgraph_exe(), "ui", "--host", host, "--port", str(port)], cwd=root,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = UIServer(url=f"http://127.0.0.1:{port}", root=root, proc=proc, log=log, env=env)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"deskgraph ui exited with {proc.returncode}:\n{server.log_text()[-4000:]}")
        try:
            if httpx.get(server.url + "/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_ui(server)
    raise RuntimeError(f"deskgraph ui did not answer within {startup_timeout}s:\n{server.log_text()[-4000:]}")


def seeded_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A fresh directory with the small test shop's store in it."""
    root = tmp_path_factory.mktemp(name)
    store = RetailStore.open(root / "store.db")
    store.load_json(small_dataset())
    store.close()
    return root


def stop_ui(server: UIServer) -> None:
    """Stop `deskgraph ui` (it stops Chainlit and any embedded model it started)."""
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, 9)
            server.proc.wait(5)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def ui_server(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIServer]:
    server = start_ui(seeded_root(tmp_path_factory, "deskgraph-ui"), {
        "DESKGRAPH_LLM_BASE_URL": fake.base_url,
        "DESKGRAPH_LLM_MODEL": "fake-qwen",
        "DESKGRAPH_LLM_MAX_RETRIES": "0",  # one scripted 500 is one failed turn
        "DESKGRAPH_LLM_TIMEOUT": "20",
        "CHAINLIT_AUTH_SECRET": "browser-tests-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    })
    yield server
    stop_ui(server)


@pytest.fixture(autouse=True)
def _clean_script(fake: FakeOpenAI) -> Iterator[None]:
    """Each test scripts its own replies; leftovers would leak into the next test."""
    while fake.pending:
        fake._queue.get_nowait()
    fake.handler = None
    yield
    leftover = fake.pending
    while fake.pending:
        fake._queue.get_nowait()
    assert leftover == 0, f"{leftover} scripted model repl(ies) were not used"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():  # the browser tier needs the distribution's chromium; never download one
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _local_only(route) -> None:
    host = urlparse(route.request.url).hostname or ""
    if host in {"127.0.0.1", "localhost"}:
        route.continue_()
    else:  # web fonts and KaTeX CSS from CDNs: unreachable here
        route.abort()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.route("**/*", _local_only)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        shot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled")
    return path
