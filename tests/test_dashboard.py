"""The dashboard in a real browser (Debian's chromium driven by Playwright): its numbers are ``scope report``'s,
it refreshes while traffic flows, and it fetches nothing from outside this machine."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from scope_core import BehaviourStore, ModelSpec, Router
from scope_core.cli import app
from scope_core.observe.dashboard import create_app
from scope_core.routing.candidate import Candidate
from scope_langchain import ScopeChatModel
from scope_langchain.testing import ScriptedChatModel

from .conftest import GREET, MATH, record_scores

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (make install)")
CHROMIUM = os.environ.get("SCOPE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason=f"no browser at {CHROMIUM}: apt-get install chromium (.ci/run does)"
)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SPECS = [
    ModelSpec(name="small", input_price=0.1, output_price=0.2),
    ModelSpec(name="large", input_price=5, output_price=15),
]
KPI_FIELDS = {"calls": "calls", "answered": "answered", "spend": "spend_usd", "scored": "scored", "ece": "ece"}


class Served:
    """The dashboard app on a free loopback port, in a thread."""

    def __init__(self, web) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.server = uvicorn.Server(uvicorn.Config(web, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def traffic(router: Router, n: int, start: int = 0) -> None:
    pool = [Candidate(model=ScriptedChatModel(model=s.name), spec=s) for s in SPECS]
    chat = ScopeChatModel(candidates=pool, router=router)
    for i in range(start, start + n):
        reply = chat.invoke(f"{(MATH + GREET)[i % 24]} ({i})", alpha=(0.2, 0.6, 0.95)[i % 3])
        if i % 2:
            router.feedback(reply.response_metadata["scope"]["run_id"], float(i % 3 != 0))


def test_the_page_shows_the_reports_numbers_and_refreshes(browser, tmp_path, embedder):
    folder = str(tmp_path / "store")
    router = Router(BehaviourStore.open(folder), embedder=embedder, cache_ttl_s=0.0)
    for spec in SPECS:
        router.register_model(spec)
    record_scores(router, MATH, {"small": 0.0, "large": 1.0})
    record_scores(router, GREET, {"small": 1.0, "large": 1.0})
    traffic(router, 30)
    router.flush()
    result = CliRunner().invoke(app, ["report", "--store", folder, "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    expected = json.loads((tmp_path / "r.json").read_text())
    with Served(create_app(BehaviourStore.open(folder))) as served:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        requested, errors = [], []
        page.on("request", lambda r: requested.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(served.url)
        page.wait_for_selector("#spend .main-svg", timeout=30_000)
        page.wait_for_function("document.body.dataset.calls === '30'", timeout=30_000)
        shown = {k: page.get_attribute(f"#k-{k}", "data-value") for k in KPI_FIELDS}
        rows = {
            r.get_attribute("data-model"): r.inner_text() for r in page.query_selector_all("#models tr[data-model]")
        }
        traffic(router, 5, start=30)  # more traffic: the page catches up on its own
        router.flush()
        page.wait_for_function("document.body.dataset.calls === '35'", timeout=15_000)
        page.close()
    for kpi, field in KPI_FIELDS.items():
        assert float(shown[kpi]) == pytest.approx(expected[field], rel=1e-9), kpi
    assert set(rows) == {m["model"] for m in expected["models"]}
    for m in expected["models"]:
        assert rows[m["model"]].split()[1] == str(m["calls"])
    assert not errors and all(u.startswith(served.url) for u in requested)  # nothing fetched off this machine
