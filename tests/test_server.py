"""`bertsearch.server.create_app` through FastAPI's TestClient: every route, its JSON, its errors, its limits.

Tiny random models do the plumbing: what matters here is that the server gives
the library's own answers, in the CLI's JSON, and refuses what it must."""

import contextlib
import dataclasses
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bertsearch import Index, InvalidSettingError
from bertsearch.server import MAX_K, create_app

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_bert):
    """An index of three small documents, built with the tiny encoder."""
    root = tmp_path_factory.mktemp("served")
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "paris.txt").write_text("The Eiffel Tower stands in Paris.\n\nIt was finished in 1889 for the World's Fair.\n")
    (docs / "bees.md").write_text("# Bees\n\nHoneybees dance to tell each other where flowers are.\n")
    (docs / "sub" / "moon.txt").write_text("Apollo 11 landed on the Moon in July 1969.\n" * 40)
    with Index(root / "index", model=tiny_bert) as index:
        index.add([docs])
    return root


@pytest.fixture
def index(built, tiny_qa):
    with Index(built / "index", reader=tiny_qa) as opened:
        yield opened


@pytest.fixture
def client(index):
    with TestClient(create_app(index, window_s=0.05), base_url=LOCAL) as test_client:
        yield test_client


def same(served, expected):
    """Equal JSON, floats to 1e-4 (a batch of questions pads differently from one alone)."""
    if isinstance(expected, float):
        return math.isclose(served, expected, rel_tol=1e-4, abs_tol=1e-4)
    if isinstance(expected, dict):
        return served.keys() == expected.keys() and all(same(served[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return len(served) == len(expected) and all(map(same, served, expected))
    return served == expected


def error(response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["type"] == kind
    assert "Traceback" not in response.text
    return body["error"]["message"]


# -- reading --------------------------------------------------------------------------------


def test_search_gives_the_json_of_search_json(client, index):
    served = client.get("/api/search", params={"q": "tower in Paris", "k": 3})
    assert served.status_code == 200
    assert same(served.json(), [dataclasses.asdict(r) for r in index.search("tower in Paris", k=3)])


def test_search_takes_rerank_and_dense_weight(client, index):
    served = client.get("/api/search", params={"q": "tower in Paris", "k": 3, "rerank": 5, "dense_weight": 0.2})
    expected = index.search("tower in Paris", k=3, rerank=5, dense_weight=0.2)
    assert same(served.json(), [dataclasses.asdict(r) for r in expected])
    assert all(r["reader_score"] is not None for r in served.json())
    error(client.get("/api/search", params={"q": "x", "dense_weight": 2}), 422, "InvalidRequest")
    error(client.get("/api/ask", params={"q": "x", "rerank": 5}), 422, "InvalidRequest")


def test_search_takes_the_mode_and_the_filters(client, index):
    served = client.get("/api/search", params={"q": "dance", "mode": "bm25", "ext": ["md"]}).json()
    assert [r["path"] for r in served] == [r.path for r in index.search("dance", mode="bm25", ext="md")]
    assert served and all(r["path"].endswith(".md") for r in served)
    assert client.get("/api/search", params={"q": "tower", "after": "2999-01-01"}).json() == []


def test_ask_gives_the_json_of_ask_json_by_get_and_by_post(client, index):
    expected = index.ask("When was the tower finished?", k=4, alternatives=2).to_dict()
    by_get = client.get("/api/ask", params={"q": "When was the tower finished?", "k": 4, "alternatives": 2})
    by_post = client.post("/api/ask", json={"q": "When was the tower finished?", "k": 4, "alternatives": 2})
    assert by_get.status_code == by_post.status_code == 200
    assert same(by_get.json(), expected) and same(by_post.json(), expected)


def test_info_gives_the_json_of_info_json(client, index):
    assert client.get("/api/info").json() == index.info().to_dict()


def test_documents_come_a_page_at_a_time(client, index, built):
    first = client.get("/api/documents", params={"limit": 2}).json()
    rest = client.get("/api/documents", params={"limit": 2, "offset": first["next"]}).json()
    everything = [dataclasses.asdict(d) for d in index.documents()]
    assert len(everything) == 3
    assert first["documents"] + rest["documents"] == everything
    assert first["next"] == 2 and rest["next"] is None
    only_md = client.get("/api/documents", params={"path": str(built / "docs" / "*.md")}).json()["documents"]
    assert [d["path"] for d in only_md] == [d["path"] for d in everything if d["path"].endswith(".md")]


def test_a_document_comes_with_its_text_and_the_span_of_each_passage(client, index):
    moon = next(d for d in index.documents() if d.path.endswith("moon.txt"))
    served = client.get(f"/api/documents/{moon.id}").json()
    assert served["document"] == dataclasses.asdict(moon)
    assert served["text"] == index.document_text(moon.id)
    passages = index.passages(document_id=moon.id)
    assert len(served["passages"]) == len(passages) > 1
    for span, passage in zip(served["passages"], passages):
        assert span["id"] == passage.id
        assert served["text"][span["start"] : span["end"]] == passage.text


def test_a_passage_names_its_document(client, index):
    hit = index.search("Apollo", k=1)[0]
    served = client.get(f"/api/passages/{hit.id}").json()
    assert served["text"] == hit.text and served["path"] == hit.path
    assert client.get(f"/api/documents/{served['document_id']}").json()["document"]["path"] == hit.path


def test_the_server_sees_what_another_process_commits(client, built, tiny_bert):
    before = client.get("/api/info").json()["documents"]
    extra = built / "extra"
    extra.mkdir(exist_ok=True)
    (extra / "zebra.txt").write_text("Zebras have black and white stripes.")
    try:
        with Index(built / "index") as writer:  # another writer, as `bertsearch index` would be
            writer.add([extra])
        assert client.get("/api/info").json()["documents"] == before + 1
        hits = client.get("/api/search", params={"q": "zebras stripes", "mode": "bm25", "k": 1}).json()
        assert hits[0]["path"].endswith("zebra.txt")
    finally:
        with Index(built / "index") as writer:
            writer.remove([extra])


def test_openapi_and_the_interactive_docs(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/ask", "/api/info", "/api/documents", "/api/documents/{document_id}",
            "/api/passages/{passage_id}", "/healthz"} <= set(paths)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200  # offline: from a package
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_page_is_served_from_the_package(client):
    for path in ("/", "/documents/1", "/passages/3"):
        page = client.get(path)
        assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    assert "function route()" in client.get("/static/app.js").text
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [
    {"q": "x", "k": 0}, {"q": "x", "k": MAX_K + 1}, {"q": "x", "k": 100000}, {"q": "x", "k": "many"},
    {"q": "x" * 2001}, {"q": ""}, {}, {"q": "x", "mode": "psychic"}, {"q": "x", "unknown": 1},
])
def test_bad_parameters_are_a_422_naming_the_parameter(client, params):
    for route in ("/api/search", "/api/ask"):
        message = error(client.get(route, params=params), 422, "InvalidRequest")
        assert any(name in message for name in params) or "q" in message


def test_a_query_of_only_spaces_is_the_librarys_invalid_query(client):
    assert "empty" in error(client.get("/api/search", params={"q": "   "}), 400, "InvalidQueryError")


def test_a_date_that_is_not_one_is_the_librarys_invalid_query(client):
    error(client.get("/api/search", params={"q": "x", "after": "last tuesday"}), 400, "InvalidQueryError")


@pytest.mark.parametrize("body", ['{"q": "tower"', "not json", '["q"]', '{"q": "x", "k": 101}', '{"k": 3}'])
def test_a_malformed_body_is_a_422(client, body):
    error(client.post("/api/ask", content=body, headers={"content-type": "application/json"}), 422, "InvalidRequest")


def test_unknown_ids_routes_and_methods(client):
    error(client.get("/api/documents/999999"), 404, "DocumentNotFoundError")
    error(client.get("/api/passages/999999"), 404, "PassageNotFoundError")
    error(client.get("/api/documents/..%2F..%2Fetc%2Fpasswd"), 404, "NotFound")
    error(client.get("/api/documents/passwd"), 422, "InvalidRequest")
    error(client.get("/api/nothing-here"), 404, "NotFound")
    error(client.get("/static/../server.py"), 404, "NotFound")
    error(client.put("/api/search"), 405, "MethodNotAllowed")


def test_page_sizes_are_limited(client):
    error(client.get("/api/documents", params={"limit": 501}), 422, "InvalidRequest")
    error(client.get("/api/documents", params={"offset": -1}), 422, "InvalidRequest")


def test_a_body_over_the_limit_is_refused(index):
    with TestClient(create_app(index, warm_up=False, max_body_bytes=1000), base_url=LOCAL) as client:
        error(client.post("/api/ask", json={"q": "x" * 2000}), 413, "BodyTooLarge")


def test_an_empty_index_is_a_409_saying_to_index_first(tmp_path, tiny_bert):
    with Index(tmp_path / "nothing-yet", model=tiny_bert) as empty:
        with TestClient(create_app(empty, allow_index=tmp_path), base_url=LOCAL) as client:
            assert "index" in error(client.get("/api/search", params={"q": "x"}), 409, "IndexNotFoundError")


# -- security -------------------------------------------------------------------------------


def test_with_a_token_the_api_needs_it_and_the_page_does_not(index):
    with TestClient(create_app(index, token="s3cret", warm_up=False), base_url=LOCAL) as client:
        for route in ("/api/search?q=tower", "/api/ask?q=tower", "/api/info", "/api/documents", "/api/documents/1",
                      "/api/passages/1"):
            error(client.get(route), 401, "Unauthorized")
            error(client.get(route, headers={"authorization": "Bearer s3cre"}), 401, "Unauthorized")
        assert client.get("/api/info", headers={"authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/").status_code == 200 and client.get("/static/app.js").status_code == 200


def test_a_foreign_host_is_refused(client):
    error(client.get("/api/info", headers={"host": "attacker.example"}), 421, "HostNotAllowed")


def test_binding_beyond_loopback_needs_a_token(index):
    with pytest.raises(InvalidSettingError, match="token"):
        create_app(index, host="0.0.0.0")
    create_app(index, host="0.0.0.0", token="s3cret")


def test_no_cors_headers_unless_asked(client):
    response = client.get("/api/info", headers={"origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers


# -- concurrency ----------------------------------------------------------------------------


def test_concurrent_questions_share_a_batch_and_each_gets_its_own_answer(index):
    questions = ["When was the tower finished?", "Where do bees dance?", "Who landed on the Moon?",
                 "What stands in Paris?", "When did Apollo 11 land?", "What do honeybees tell?"]
    alone = {q: index.ask(q, k=3).to_dict() for q in questions}
    app = create_app(index, window_s=0.3)
    with TestClient(app, base_url=LOCAL) as client, ThreadPoolExecutor(len(questions)) as pool:
        served = list(pool.map(lambda q: client.get("/api/ask", params={"q": q, "k": 3}).json(), questions))
    assert all(same(answer, alone[q]) for q, answer in zip(questions, served))
    assert max(app.state.asker.batch_sizes) > 1 and sum(app.state.asker.batch_sizes) == len(questions)


def test_with_batching_off_each_question_is_read_alone(index):
    app = create_app(index, batching=False, warm_up=False)
    with TestClient(app, base_url=LOCAL) as client, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda q: client.get("/api/ask", params={"q": q, "k": 2}), ["a?", "b?", "c?", "d?"]))
    assert app.state.asker.batch_sizes == [1, 1, 1, 1]


class BlockedIndex:
    """An index whose searches wait until released: it fills the server's queue."""

    path = "blocked"

    def __init__(self):
        self.release = threading.Event()

    def search_many(self, queries, **options):
        self.release.wait(10)
        return [[] for _ in queries]


def test_a_full_queue_is_a_503_with_retry_after_and_the_server_recovers():
    blocked = BlockedIndex()
    app = create_app(blocked, warm_up=False, batching=False, max_pending=2)
    with TestClient(app, base_url=LOCAL) as client, ThreadPoolExecutor(3) as pool:
        waiting = [pool.submit(client.get, "/api/search", params={"q": f"q{i}"}) for i in range(3)]
        while app.state.searcher.pending < 2:  # one running, two queued
            threading.Event().wait(0.01)
        busy = client.get("/api/search", params={"q": "one too many"})
        assert "busy" in error(busy, 503, "ServerBusyError") and busy.headers["retry-after"] == "1"
        blocked.release.set()
        assert [w.result().status_code for w in waiting] == [200, 200, 200]
        assert client.get("/api/search", params={"q": "again"}).json() == []


# -- writing (--allow-index) ------------------------------------------------------------------


@pytest.fixture
def writable(tmp_path, tiny_bert, tiny_qa):
    root = tmp_path / "root"
    root.mkdir()
    (root / "owls.txt").write_text("Owls hunt at night and can turn their heads far around.")
    with Index(tmp_path / "index", model=tiny_bert) as first:
        first.add([root])
    with Index(tmp_path / "index", reader=tiny_qa) as index:
        with TestClient(create_app(index, allow_index=root, warm_up=False), base_url=LOCAL) as client:
            yield client, root, tmp_path


def test_indexing_and_removing_inside_the_allowed_root(writable):
    client, root, _ = writable
    (root / "new").mkdir()
    (root / "new" / "otters.txt").write_text("Otters hold hands while they sleep.")
    report = client.post("/api/index", json={"paths": ["new"]})
    assert report.status_code == 200 and report.json()["added"] == [str(root / "new" / "otters.txt")]
    hit = client.get("/api/search", params={"q": "otters", "mode": "bm25", "k": 1}).json()[0]
    document_id = client.get(f"/api/passages/{hit['id']}").json()["document_id"]
    assert client.delete(f"/api/documents/{document_id}").json() == {"removed": [hit["path"]]}
    assert client.get("/api/search", params={"q": "otters", "mode": "bm25"}).json() == []


@pytest.mark.parametrize("path", ["..", "../outside", "/etc", "new/../../outside"])
def test_paths_leaving_the_root_are_refused(writable, path):
    client, _, tmp_path = writable
    (tmp_path / "outside").mkdir(exist_ok=True)
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    error(client.post("/api/index", json={"paths": [path]}), 403, "PathNotAllowedError")
    assert "secret" not in client.get("/api/documents").text


def test_a_link_inside_the_root_to_a_file_outside_is_refused(writable):
    client, root, tmp_path = writable
    (tmp_path / "secret.txt").write_text("the secret")
    (root / "linked").mkdir()
    (root / "linked" / "innocent.txt").symlink_to(tmp_path / "secret.txt")
    assert "link" in error(client.post("/api/index", json={"paths": ["linked"]}), 403, "PathNotAllowedError")
    error(client.post("/api/index", json={"paths": ["linked/innocent.txt"]}), 403, "PathNotAllowedError")


def test_a_read_only_server_refuses_to_write(client, index):
    some_id = index.documents(limit=1)[0].id
    assert "read-only" in error(client.post("/api/index", json={"paths": ["."]}), 403, "PathNotAllowedError")
    error(client.delete(f"/api/documents/{some_id}"), 403, "PathNotAllowedError")
    assert index.document(some_id)


def test_too_many_paths_at_once_is_a_422(writable):
    client, _, _ = writable
    error(client.post("/api/index", json={"paths": ["a"] * 101}), 422, "InvalidRequest")


# -- embedding --------------------------------------------------------------------------------


def test_mounts_and_lifespans_join_the_server_and_its_security(index):
    events = []

    @contextlib.contextmanager
    def watcher():
        events.append("started")
        yield
        events.append("stopped")

    extra = FastAPI()
    extra.get("/ping")(lambda: {"pong": True})
    app = create_app(index, token="t", warm_up=False, mounts={"/mcp": extra}, lifespans=[watcher])
    with TestClient(app, base_url=LOCAL) as client:
        assert events == ["started"]
        error(client.get("/mcp/ping"), 401, "Unauthorized")
        assert client.get("/mcp/ping", headers={"authorization": "Bearer t"}).json() == {"pong": True}
    assert events == ["started", "stopped"]
