"""`bertsearch serve` as a user runs it: a subprocess on a free port, real HTTP, a real browser, SIGTERM.

The sample corpus is indexed with the default encoder and the bundled reader, so
"Who designed the Eiffel Tower?" gets its real answer. The browser is Debian's
`chromium` driven by Playwright (`executable_path`, never a downloaded browser);
where chromium is missing the browser test skips, except in CI (CI=true), where
it fails."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bertsearch import Index

SAMPLE = Path(__file__).parent.parent / "sample_corpus"
QUESTION = "Who designed the Eiffel Tower?"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"]
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`bertsearch serve` in a subprocess; stderr is collected as it comes."""

    def __init__(self, *args: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bertsearch", "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.stderr: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self.ready.wait(START_TIMEOUT_S):
            self.stop()
            pytest.fail("bertsearch serve did not start:\n" + "".join(self.stderr))

    def _read_stderr(self):
        for line in self.process.stderr:
            self.stderr.append(line)
            if line.startswith("Serving "):
                self.ready.set()
        self.ready.set()  # it exited

    def get(self, path: str, **headers) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "index"
    with Index(path) as index:
        index.add([SAMPLE])
    return path


@pytest.fixture(scope="module")
def server(sample_index):
    running = Server("--index", str(sample_index), env={"BERTSEARCH_READER": ""})
    yield running
    running.stop()


def test_it_answers_over_http_as_the_readme_says(server):
    status, body = server.get("/api/ask?q=" + urllib.parse.quote(QUESTION))
    assert status == 200
    best = body["answers"][0]
    assert "Koechlin" in best["text"] and best["path"].endswith("eiffel_tower.html")
    status, hits = server.get("/api/search?q=tower&k=2")
    assert status == 200 and len(hits) == 2


def test_bad_requests_get_json_errors_and_no_traceback_on_the_console(server):
    assert server.get("/api/search?q=tower&k=100000")[0] == 422
    assert server.get("/api/info", Host="attacker.example")[0] == 421
    assert server.get("/api/documents/424242")[0] == 404
    assert server.get("/healthz") == (200, {"status": "ok"})
    assert not any("Traceback" in line for line in server.stderr)


def test_in_the_browser_a_question_leads_to_its_answer_and_its_document(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(server.url + "/")
    page.keyboard.type(QUESTION)  # the box has the focus
    page.keyboard.press("Enter")
    answer = page.locator(".answer")
    expect(answer.locator(".answer-text")).to_contain_text("Koechlin", timeout=60_000)
    expect(answer.locator("mark")).to_contain_text("Koechlin")
    expect(answer.locator("a.source")).to_contain_text("eiffel_tower.html")
    assert "q=Who+designed" in page.url  # the question is in the URL: the page can be shared
    if os.environ.get("BERTSEARCH_SCREENSHOT"):
        page.screenshot(path=os.environ["BERTSEARCH_SCREENSHOT"])

    answer.locator("a.source").click()
    expect(page.locator("#document-title")).to_contain_text("eiffel_tower.html")
    expect(page.locator("mark.target")).to_contain_text("Koechlin")
    assert "/documents/" in page.url and "#passage-" in page.url

    page.goto(server.url + "/?q=" + urllib.parse.quote(QUESTION))  # a shared link shows the answer
    expect(page.locator(".answer-text")).to_contain_text("Koechlin", timeout=60_000)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def token_server(tmp_path, tiny_bert, tiny_qa):
    """create_app with a token, on uvicorn in a thread (tiny models: the token is under test, not answers)."""
    import uvicorn

    from bertsearch.server import create_app, listen

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "owls.txt").write_text("Owls hunt at night.")
    with Index(tmp_path / "index", model=tiny_bert) as first:
        first.add([tmp_path / "docs"])
    with Index(tmp_path / "index", reader=tiny_qa) as index:
        sock = listen("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(create_app(index, token="s3cret", warm_up=False), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
        thread.start()
        while not server.started:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_the_page_asks_for_the_token_once(browser, token_server):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(token_server + "/?kind=search&q=owls&mode=bm25")
    form = page.locator("#token")
    expect(form).to_be_visible()
    expect(page.locator(".passages")).to_have_count(0)
    form.locator("input").fill("s3cret")
    form.locator("input").press("Enter")
    expect(page.locator(".passages li")).to_contain_text("Owls hunt at night")
    expect(form).to_be_hidden()
    page.reload()  # remembered: no second prompt
    expect(page.locator(".passages li")).to_contain_text("Owls hunt at night")
    expect(form).to_be_hidden()


def test_sigterm_finishes_the_request_in_flight_and_exits_cleanly(sample_index):
    server = Server("--index", str(sample_index), env={"BERTSEARCH_READER": ""})
    answered = {}

    def ask_everything():  # k=50 reads every passage of the sample corpus: a second or more of work
        try:
            answered["reply"] = server.get("/api/ask?k=50&q=" + urllib.parse.quote(QUESTION))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            answered["reply"] = (repr(error), None)

    asking = threading.Thread(target=ask_everything)
    asking.start()
    time.sleep(1.0)  # the server has taken the request and is reading
    assert server.stop() == 0
    asking.join(60)
    assert answered["reply"][0] == 200 and answered["reply"][1]["answers"]
    assert "Stopped." in "".join(server.stderr)
    assert not any("Traceback" in line for line in server.stderr)


def test_serve_with_mcp_and_watch_answers_agents_and_follows_the_folder(tiny_bert, tiny_qa, corpus, tmp_path):
    """`serve --mcp --watch`: the MCP endpoint at /mcp/ behind the same Host rule, and a saved file searchable."""
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([corpus])
    running = Server("--index", str(tmp_path / "index"), "--reader", tiny_qa, "--mcp", "--watch", str(corpus))
    try:
        async def tools() -> set[str]:
            async with streamable_http_client(running.url + "/mcp/") as (read, write, *_):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return {tool.name for tool in (await session.list_tools()).tools}

        assert anyio.run(tools) == {"ask", "search", "get", "info"}
        request = urllib.request.Request(running.url + "/mcp/", method="POST", data=b"{}",
                                         headers={"Host": "attacker.example", "content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 421

        (corpus / "narwhals.txt").write_text("Narwhals have a long spiral tusk.")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, hits = running.get("/api/search?q=narwhals&mode=bm25&k=1")
            if status == 200 and hits and hits[0]["path"].endswith("narwhals.txt"):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the watched file never became searchable:\n" + "".join(running.stderr))
    finally:
        assert running.stop() == 0
