"""`bertsearch serve`: an HTTP API and a web page over one open `Index`, models loaded once.

`create_app(index, ...)` builds a FastAPI app, so the server can be run by
uvicorn (`bertsearch serve`), mounted in another ASGI app, or tested with
FastAPI's TestClient. The design:

- The encoder and reader load in the app's lifespan, with a warm-up, before the
  first request is accepted; extra mounts (`mounts={"/mcp": app}`) and extra
  lifespan context managers (`lifespans=[...]`) let the caller add an MCP
  endpoint or a folder watcher that start and stop with the server.
- Searches and questions go through a `Batcher` each: requests that arrive
  together (same parameters) share one `search_many` / `ask_many` call, run in
  the batcher's worker thread, never on the event loop. Its queue is bounded:
  when full, 503 with Retry-After. Reads never wait for a writer: each search
  reads one committed snapshot, and sees a new commit (from this server or
  another process running `bertsearch index`) as soon as it lands.
- Security is `guard.Guard`, one ASGI middleware around everything (Host check,
  token, body size, CORS); the routes below only limit their own inputs.
- Documents are served from the index, by id: no route reads a file path taken
  from a request. Writing (`POST /api/index`, `DELETE /api/documents/{id}`) is
  off unless `allow_index=ROOT`, and then only for paths inside ROOT once
  resolved (so `..` and links cannot leave it), under the CLI's writer lock.
- Errors are JSON `{"error": {"type", "message"}}`: each typed error maps to
  one status (`STATUS`), request validation to 422, unknown routes to 404;
  never a traceback.
"""

import asyncio
import dataclasses
import logging
import signal
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from . import errors
from .request_batcher import DEFAULT_MAX_BATCH, DEFAULT_MAX_PENDING, DEFAULT_WINDOW_S, Batcher
from .errors import BertsearchError, PathNotAllowedError
from .extract import inside_root
from .guard import DEFAULT_MAX_BODY_BYTES, Guard, is_loopback
from .results import AskResult, DocumentInfo, Passage, SearchResult
from .search_modes import DEFAULT_MODE, MODES

log = logging.getLogger("bertsearch.server")

MAX_QUERY_CHARS = 2_000
MAX_K = 100
MAX_ALTERNATIVES = 20
MAX_PAGE = 500
MAX_PATHS = 100
RETRY_AFTER_S = 1
WRITER_LOCK_TIMEOUT_S = 5.0
WEB = resources.files("bertsearch") / "web"
DOCS_STATIC = "/docs-static"  # Swagger UI's files, for /docs

# What a client should do decides the status: fix the request (4xx), or wait and retry (503 / Retry-After).
STATUS: dict[type[BertsearchError], int] = {
    errors.InvalidQueryError: 400,
    errors.InvalidSettingError: 400,
    errors.PathNotAllowedError: 403,
    errors.DocumentNotFoundError: 404,
    errors.PassageNotFoundError: 404,
    errors.IndexNotFoundError: 409,  # nothing indexed yet: index, then ask again
    errors.SettingsMismatchError: 409,
    errors.IndexLockedError: 409,  # another writer holds the index: retry later (Retry-After)
    errors.NothingToIndexError: 422,
    errors.CorruptIndexError: 500,  # the server's index is damaged: nothing the client can fix
    errors.ModelLoadError: 503,  # the server has no such model (no reader, say)
    errors.ServerBusyError: 503,  # the queue is full: retry later (Retry-After)
    BertsearchError: 400,
}
RETRY = (errors.ServerBusyError, errors.IndexLockedError)

Mode = Literal[MODES]


class SearchParams(BaseModel):
    """What `GET /api/search` takes: the options of `bertsearch search`."""

    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The query.")
    k: int = Field(10, ge=1, le=MAX_K, description="How many passages.")
    mode: Mode = DEFAULT_MODE
    path: str | None = Field(None, max_length=1000, description="Only documents whose path matches this glob.")
    ext: list[str] = Field([], max_length=20, description="Only documents with these extensions.")
    after: str | None = Field(None, max_length=40, description="Only documents modified at or after (ISO date).")
    before: str | None = Field(None, max_length=40, description="Only documents modified before (ISO date).")

    def key(self, *exclude: str) -> tuple:
        """The parameters other than the query, hashable: requests with equal keys are batched together."""
        return tuple((name, tuple(v) if isinstance(v, list) else v)
                     for name, v in self.model_dump(exclude={"q", *exclude}).items())


class AskParams(SearchParams):
    """What `/api/ask` takes (query string or JSON body): the options of `bertsearch ask`."""

    alternatives: int = Field(3, ge=0, le=MAX_ALTERNATIVES, description="How many other answers.")
    always_answer: bool = Field(False, description="Answer even under the no-answer threshold.")


class DocumentsPage(BaseModel):
    documents: list[DocumentInfo]
    offset: int
    limit: int
    next: int | None = Field(description="The next page's offset; null on the last page.")


class PassageSpan(BaseModel):
    id: int
    seq: int
    start: int
    end: int
    line: int


class DocumentText(BaseModel):
    document: DocumentInfo
    text: str = Field(description="The document's text, rebuilt from its passages.")
    passages: list[PassageSpan] = Field(description="Each passage's span in `text`.")


class IndexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1, max_length=MAX_PATHS, description="Files or folders inside the allowed root.")


def create_app(
    index,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Iterable[str] = (),
    cors: str | None = None,
    allow_index: str | Path | None = None,
    batching: bool = True,
    window_s: float = DEFAULT_WINDOW_S,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_pending: int = DEFAULT_MAX_PENDING,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    warm_up: bool = True,
    mounts: Mapping[str, Any] | None = None,
    lifespans: Sequence[Callable[[], Any]] = (),
) -> FastAPI:
    """The server's app over an open `Index`.

    A `host` other than a loopback address needs a `token` (InvalidSettingError
    otherwise). `lifespans` are zero-argument callables returning a context
    manager (sync or async), entered after the models load and exited at shutdown;
    Starlette does not run the lifespan of an app in `mounts`, so pass what it needs
    (an MCP session manager's `run()`, say) here.
    """
    if not is_loopback(host) and not token:
        raise errors.InvalidSettingError(
            f"binding {host} lets other machines in: give a token (--token or BERTSEARCH_TOKEN)")
    window, cap = (window_s, max_batch) if batching else (0.0, 1)
    searcher = Batcher(lambda key, queries: index.search_many(queries, **dict(key)),
                       window_s=window, max_batch=cap, max_pending=max_pending, name="search")
    asker = Batcher(lambda key, questions: index.ask_many(questions, **dict(key)),
                    window_s=window, max_batch=cap, max_pending=max_pending, name="ask")
    writer = _Writer(index.path, allow_index)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm_up:
            await asyncio.to_thread(_warm_up, index)
        async with AsyncExitStack() as stack:
            for hook in lifespans:
                manager = hook()
                if hasattr(manager, "__aenter__"):
                    await stack.enter_async_context(manager)
                else:
                    stack.enter_context(manager)
            yield
        await searcher.close()
        await asker.close()
        writer.close()

    app = FastAPIOffline(  # FastAPI whose /docs page comes from a package, not a CDN: it works offline
        title="bertsearch", version=_version(), lifespan=lifespan, redoc_url=None, static_url=DOCS_STATIC,
        description="Semantic search and question answering over your own documents.")
    app.state.searcher, app.state.asker = searcher, asker  # their batch sizes, for benchmarks and tests
    _add_error_handlers(app)
    _add_api(app, index, searcher, asker, writer)
    _add_page(app)
    for prefix, mounted in (mounts or {}).items():
        app.mount(prefix, mounted)
    app.add_middleware(Guard, host=host, token=token, cors=cors, allowed_hosts=allowed_hosts,
                       max_body_bytes=max_body_bytes)
    return app


def _add_api(app: FastAPI, index, searcher: Batcher, asker: Batcher, writer: "_Writer") -> None:
    @app.get("/healthz", tags=["server"])
    def healthz() -> dict:
        """200 once the models are loaded and the server takes requests."""
        return {"status": "ok"}

    @app.get("/api/search", tags=["search"])
    async def search(params: Annotated[SearchParams, Query()]) -> list[SearchResult]:
        """The `k` passages that best match `q`: the JSON of `bertsearch search --json`."""
        return await searcher.submit(params.key(), params.q)

    @app.get("/api/ask", tags=["search"])
    async def ask(params: Annotated[AskParams, Query()]) -> AskResult:
        """Answers to the question `q`: the JSON of `bertsearch ask --json`."""
        return await asker.submit(params.key(), params.q)

    @app.post("/api/ask", tags=["search"])
    async def ask_post(params: AskParams) -> AskResult:
        """`GET /api/ask` with a JSON body: {"q": "...", "k": 10, ...}."""
        return await asker.submit(params.key(), params.q)

    @app.get("/api/info", tags=["index"])
    def info() -> dict:
        """Counts, model and settings of the index: the JSON of `bertsearch info --json`."""
        return index.info().to_dict()

    @app.get("/api/documents", tags=["index"])
    def documents(path: Annotated[str | None, Query(max_length=1000, description="A glob on the path.")] = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                  offset: Annotated[int, Query(ge=0)] = 0) -> DocumentsPage:
        """The indexed documents, a page at a time, in path order; `next` is the next page's offset."""
        found = index.documents(path=path, limit=limit, offset=offset)
        return DocumentsPage(documents=found, offset=offset, limit=limit,
                             next=offset + limit if len(found) == limit else None)

    @app.get("/api/documents/{document_id}", tags=["index"])
    def document(document_id: int) -> DocumentText:
        """A document, its text rebuilt from its passages, and each passage's span in that text."""
        found = index.document(document_id)
        spans = [PassageSpan(id=p.id, seq=p.seq, start=p.start, end=p.end, line=p.line)
                 for p in index.passages(document_id=document_id)]
        return DocumentText(document=found, text=index.document_text(document_id), passages=spans)

    @app.get("/api/passages/{passage_id}", tags=["index"])
    def passage(passage_id: int) -> Passage:
        """One passage, with its document's id (for `GET /api/documents/{id}`)."""
        found = index.passages(ids=[passage_id])
        if not found:
            raise errors.PassageNotFoundError(f"no passage with id {passage_id} in the index")
        return found[0]

    @app.post("/api/index", tags=["write"])
    async def add(request: Annotated[IndexRequest, Body()]) -> dict:
        """Index files and folders inside the server's allowed root (`serve --allow-index ROOT`)."""
        return await writer.run(writer.add, request.paths)

    @app.delete("/api/documents/{document_id}", tags=["write"])
    async def remove(document_id: int) -> dict:
        """Remove a document from the index (`serve --allow-index ROOT`; the document must lie inside ROOT)."""
        path = (await asyncio.to_thread(index.document, document_id)).path
        return {"removed": await writer.run(writer.remove, path)}


class _Writer:
    """Writes for `--allow-index ROOT`: paths checked against ROOT, through a second Index
    (its own connection and writer lock, so searches never wait on it), one write at a time."""

    def __init__(self, index_path: Path, root: str | Path | None):
        self.index_path, self.root = index_path, Path(root).resolve() if root else None
        self._index = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")

    async def run(self, method, *args):
        if self.root is None:
            raise PathNotAllowedError("this server is read-only: start it with --allow-index ROOT to index")
        return await asyncio.get_running_loop().run_in_executor(self._executor, method, *args)

    def add(self, paths: list[str]) -> dict:
        report = self._open().add([inside_root(self.root, p) for p in paths])
        data = dataclasses.asdict(report)
        data["skipped"] = [{"path": str(s.path), "reason": s.reason} for s in report.skipped]
        return data

    def remove(self, path: str) -> list[str]:
        return self._open().remove([inside_root(self.root, path)])

    def _open(self):
        from .index import Index

        if self._index is None:
            self._index = Index(self.index_path, lock_timeout=WRITER_LOCK_TIMEOUT_S)
        return self._index

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._index is not None:
            self._index.close()


def _add_page(app: FastAPI) -> None:
    page = str(WEB / "index.html")

    @app.get("/", include_in_schema=False)
    @app.get("/documents/{document_id}", include_in_schema=False)
    @app.get("/passages/{passage_id}", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(page, headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(WEB)), name="static")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BertsearchError)
    async def typed_error(request: Request, error: BertsearchError) -> JSONResponse:
        status = next(STATUS[cls] for cls in type(error).__mro__ if cls in STATUS)
        headers = {"retry-after": str(RETRY_AFTER_S)} if isinstance(error, RETRY) else None
        return error_response(status, type(error).__name__, str(error), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "InvalidRequest", "; ".join(map(_describe, error.errors())) or "invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(error.status_code, "HTTPError")
        return error_response(error.status_code, kind, str(error.detail), error.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        return error_response(500, "InternalError", "the server failed on this request; its log says why")


def error_response(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


def _describe(problem: dict) -> str:
    """'k: Input should be less than or equal to 100' from one of pydantic's error dicts."""
    where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("query", "body", "path"))
    return f"{where}: {problem.get('msg')}" if where else str(problem.get("msg"))


def _warm_up(index) -> None:
    """Load the encoder and reader and run each once, so the first request pays no loading."""
    try:
        index.encoder.encode(["warm up"])
    except errors.IndexNotFoundError:
        log.warning("the index at %s is empty: searches will fail until something is indexed", index.path)
        return
    try:
        index.reader.read("What warms up?", ["The server warms up."])
    except errors.ModelLoadError as error:
        log.warning("no reader: %s", error)


def _version() -> str:
    from . import __version__

    return __version__


def listen(host: str = "127.0.0.1", port: int = 8765) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), or InvalidSettingError saying why not."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise errors.InvalidSettingError(f"cannot listen on {host} port {port}: {error.strerror or error}") from None


def run(app, sock: socket.socket) -> None:
    """Serve `app` with uvicorn on `sock` until SIGTERM or Ctrl-C, which finish the requests in flight first.

    uvicorn raises the signal it caught again once it has shut down; the shutdown was clean
    by then, so that signal ends the process with exit status 0.
    """
    import uvicorn

    def exit_cleanly(signum, frame):
        raise SystemExit(0)

    previous = {sig: signal.signal(sig, exit_cleanly) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=30)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
