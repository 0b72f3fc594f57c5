"""`bertsearch mcp`: the index as tools for AI agents, over the Model Context Protocol.

Built on the official Python SDK (`mcp` 2.x, whose server class is `MCPServer`).
Each tool is a typed function whose docstring is what the agent reads: what it
returns and when to use it. Results are structured (an output schema, and the
same JSON as one compact line of text for clients that read only text) and
small, since an agent pays for every token: passages are cut to PASSAGE_CHARS
with their full span given, so `get` can fetch exactly the text around a hit.

The server holds one open `Index`, so the encoder and reader load once per
process. The SDK runs tools in worker threads; Index, Encoder and Reader allow
that, and a `Watcher` may update the same index meanwhile. Read-only like the
HTTP server, unless `allow_index` names a folder: then an `index` tool indexes
paths inside it. Over stdio, stdout carries protocol only: the SDK points fd 1
at stderr while it serves, and `bertsearch mcp` loads models before that with
Python's stdout sent to stderr.
"""

import inspect
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from .errors import BertsearchError
from .extract import inside_root
from .search_modes import DEFAULT_MODE, MODES

PASSAGE_CHARS = 400  # a passage in a result: enough to judge it, `get` gives the rest
CONTEXT_CHARS = 160  # an answer's context: this many characters each side of it
GET_CHARS = 4_000  # `get` returns at most this much by default ...
MAX_GET_CHARS = 20_000  # ... and never more than this
MAX_K = 50

INSTRUCTIONS = """\
Search and question answering over the user's own documents (a bertsearch index).
Use `ask` for a factual question: it returns answers extracted from the documents with their file, line and
character span. Use `search` to find passages on a topic. Use `get` to read the text around a hit (by path or
document id, and a line or character range) before citing it. Cite answers as path:line."""

Mode = Literal[MODES]  # ("hybrid", "dense", "bm25")


class Hit(BaseModel):
    """A passage: where it is, and its text (cut to PASSAGE_CHARS when `truncated`)."""

    path: str
    line: int = Field(description="Line of the passage's first character (1-based).")
    start: int = Field(description="Character offset of the passage in the document.")
    end: int = Field(description="Character offset just after the passage.")
    score: float
    text: str
    truncated: bool = False


class SearchOutput(BaseModel):
    hits: list[Hit]


class FoundAnswer(BaseModel):
    """An answer span: its text, where it is, how sure the reader is, and the text around it."""

    answer: str
    score: float = Field(description="Rank score: retrieval and reader fused; higher is better.")
    reader_score: float = Field(description="The reader's own score for the span (start + end logit).")
    confidence: float = Field(description="Estimated probability (0 to 1) that this answer is right.")
    path: str
    line: int
    start: int = Field(description="Character offset of the answer in the document.")
    end: int
    context: str = Field(description="The passage around the answer, with the answer marked **like this**.")


class AskOutput(BaseModel):
    answers: list[FoundAnswer] = Field(description="Best first; empty when the reader found no confident answer.")
    confident: bool = Field(description="False: the best answer's confidence is under the cut, so `answers` is "
                                        "empty (unless always_answer) and `passages` holds the closest passages.")
    passages: list[Hit] = Field(description="When there is no answer: the closest passages, to read instead.")


class DocumentText(BaseModel):
    """Text of one document, or of a range of it."""

    id: int
    path: str
    start: int = Field(description="Character offset of the returned text in the document.")
    end: int = Field(description="Character offset just after it: ask again from here for more.")
    line: int = Field(description="Line of the first returned character (1-based).")
    end_line: int = Field(description="Line of the last returned character.")
    total_chars: int
    total_lines: int
    truncated: bool = Field(description="True when the range asked for goes on past `end`.")
    text: str


class IndexedInfo(BaseModel):
    documents: int
    passages: int
    model: str | None
    last_update: str | None = Field(description="When a document was last indexed (UTC, ISO 8601).")
    index: str


class IndexOutput(BaseModel):
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    skipped: list[str] = Field(description="Files not indexed, each with the reason.")
    passages_encoded: int


def create_mcp_server(index, *, allow_index: str | Path | None = None) -> MCPServer:
    """An MCP server with the tools `ask`, `search`, `get` and `info` over `index`
    (and `index`, for paths inside `allow_index`, when given)."""
    from . import __version__

    server = MCPServer("bertsearch", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    def tool(**options):
        """`server.tool`, with the docstring's indentation removed from the description the agent reads."""
        return lambda fn: server.tool(description=inspect.cleandoc(fn.__doc__), **options)(fn)

    @tool(annotations=read_only)
    def search(
        query: Annotated[str, Field(min_length=1, description="What to look for, in words or as a question.")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many passages.")] = 5,
        mode: Annotated[Mode, Field(description="hybrid: meaning and words; dense: meaning; bm25: exact words.")] = DEFAULT_MODE,
        path: Annotated[str | None, Field(description="Only documents whose path matches this glob, e.g. '*/notes/*'.")] = None,
        ext: Annotated[list[str] | None, Field(description="Only these file extensions, e.g. ['md', 'pdf'].")] = None,
        after: Annotated[str | None, Field(description="Only documents modified on or after this ISO date.")] = None,
        before: Annotated[str | None, Field(description="Only documents modified before this ISO date.")] = None,
    ) -> Annotated[CallToolResult, SearchOutput]:
        """Find the passages of the user's documents that best match a query, best first.

        Returns each passage's path, line, character span and score, with its text cut to a few hundred
        characters; call `get` with the path and span to read more."""
        hits = _call(index.search, query, k=k, mode=mode, path=path, ext=ext, after=after, before=before)
        return _result(SearchOutput(hits=[_hit(h) for h in hits]))

    @tool(annotations=read_only)
    def ask(
        question: Annotated[str, Field(min_length=1, description="A question the documents may answer.")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many passages to read for the answer.")] = 10,
        alternatives: Annotated[int, Field(ge=0, le=10, description="How many other answers to give.")] = 2,
        mode: Annotated[Mode, Field(description="Retrieval mode, as for search.")] = DEFAULT_MODE,
        path: Annotated[str | None, Field(description="Only documents whose path matches this glob.")] = None,
        ext: Annotated[list[str] | None, Field(description="Only these file extensions.")] = None,
        after: Annotated[str | None, Field(description="Only documents modified on or after this ISO date.")] = None,
        before: Annotated[str | None, Field(description="Only documents modified before this ISO date.")] = None,
        always_answer: Annotated[bool, Field(description="Give the best spans even when none is confident.")] = False,
    ) -> Annotated[CallToolResult, AskOutput]:
        """Answer a question from the user's documents: short answer spans read from the best passages.

        Each answer comes with its score, file path, line and character span, and the passage around it
        with the answer marked. When no answer is confident, `answers` is empty and `passages` holds the
        closest passages to read instead (or, with `always_answer`, the best guesses, `confident` false)."""
        result = _call(index.ask, question, k=k, alternatives=alternatives, mode=mode, path=path, ext=ext,
                       after=after, before=before, always_answer=always_answer)
        answers = [_answer(a) for a in result.answers]
        passages = [] if answers else [_hit(p) for p in result.passages[:3]]
        return _result(AskOutput(answers=answers, confident=result.confident, passages=passages))

    @tool(annotations=read_only)
    def get(
        document: Annotated[int | str, Field(description="A path as search and ask return it, or a document id.")],
        start_line: Annotated[int | None, Field(ge=1, description="First line to return (1-based).")] = None,
        end_line: Annotated[int | None, Field(ge=1, description="Last line to return (inclusive).")] = None,
        start: Annotated[int | None, Field(ge=0, description="First character offset (instead of lines).")] = None,
        end: Annotated[int | None, Field(ge=0, description="Character offset to stop before.")] = None,
        max_chars: Annotated[int, Field(ge=1, le=MAX_GET_CHARS, description="Return at most this many characters.")] = GET_CHARS,
    ) -> Annotated[CallToolResult, DocumentText]:
        """Read a document, or a range of it by lines or by character offsets, to see the text around a
        search hit or an answer and cite it. Returns the text with its span and line numbers; when
        `truncated`, call again from `end` for more."""
        info = _call(index.document, document)
        text = _call(index.document_text, info.id)
        first, last = _range(text, start_line, end_line, start, end)
        cut = min(last, first + max_chars)
        return _result(DocumentText(
            id=info.id, path=info.path, start=first, end=cut, line=_line_at(text, first),
            end_line=_line_at(text, max(first, cut - 1)), total_chars=len(text), total_lines=len(_line_starts(text)),
            truncated=cut < last, text=text[first:cut],
        ))

    @tool(annotations=read_only)
    def info() -> Annotated[CallToolResult, IndexedInfo]:
        """What is indexed: how many documents and passages, the encoder model, and when it last changed."""
        stats = _call(index.info)
        return _result(IndexedInfo(documents=stats.documents, passages=stats.passages, model=stats.model,
                                   last_update=_last_update(index), index=stats.index))

    if allow_index is not None:
        root = Path(allow_index).resolve()

        @tool(name="index", annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                                idempotent_hint=True, open_world_hint=False))
        def index_paths(
            paths: Annotated[list[str], Field(min_length=1, max_length=100,
                                              description=f"Files or folders inside {root} (relative to it, or absolute).")],
        ) -> Annotated[CallToolResult, IndexOutput]:
            """Index files and folders (new and changed files only; files deleted from a folder are dropped),
            so that search and ask find them. Only paths inside the folder this server was allowed are accepted."""
            report = _call(lambda: index.add([inside_root(root, p) for p in paths]))
            return _result(IndexOutput(
                added=report.added, updated=report.updated, removed=report.removed, unchanged=report.unchanged,
                skipped=[f"{s.path}: {s.reason}" for s in report.skipped], passages_encoded=report.passages_encoded,
            ))

    return server


@dataclass
class HttpMount:
    """The MCP server as an ASGI app to mount (at `/mcp`, say), and the lifespan it needs running."""

    app: Any
    lifespan: Callable[[], AbstractAsyncContextManager]


def http_mount(server: MCPServer) -> HttpMount:
    """`server` over streamable HTTP, for `bertsearch serve --mcp`:
    `create_app(index, mounts={"/mcp": m.app}, lifespans=[m.lifespan])`. The app answers at its own root,
    so mounted at /mcp clients use `http://HOST:PORT/mcp/`; the host's middleware (token, Host check) sees
    every request first. Stateless, with JSON responses: each request stands alone.
    A mounted app's own lifespan does not run, hence `lifespan`: the SDK's session manager."""
    from mcp.server.transport_security import TransportSecuritySettings

    # Host and token are decided in one place, the host app's middleware (serve's Guard), not twice.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(streamable_http_path="/", stateless_http=True, json_response=True,
                                     transport_security=security)
    return HttpMount(app=app, lifespan=lambda: server.session_manager.run())


# -- shaping results ----------------------------------------------------------------


def _call(method, *args, **kwargs):
    """Call the library; its typed errors become tool errors the agent reads (no traceback in the log)."""
    try:
        return method(*args, **kwargs)
    except BertsearchError as error:
        raise ToolError(str(error)) from None


def _result(output: BaseModel) -> CallToolResult:
    """Structured content, and the same JSON as one compact line of text."""
    data = output.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _hit(result) -> Hit:
    text, truncated = _cut(result.text, PASSAGE_CHARS)
    return Hit(path=result.path, line=result.line, start=result.start, end=result.end,
               score=round(result.score, 4), text=text, truncated=truncated)


def _answer(answer) -> FoundAnswer:
    passage, s, e = answer.passage, answer.passage_start, answer.passage_end
    before = passage[max(0, s - CONTEXT_CHARS):s]
    after = passage[e:e + CONTEXT_CHARS]
    context = " ".join(f"{'…' if s > CONTEXT_CHARS else ''}{before}**{passage[s:e]}**{after}"
                       f"{'…' if e + CONTEXT_CHARS < len(passage) else ''}".split())
    return FoundAnswer(answer=answer.text, score=round(answer.rank_score, 4), reader_score=round(answer.score, 4),
                       confidence=round(answer.confidence, 4), path=answer.path, line=answer.line,
                       start=answer.start, end=answer.end, context=context)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to about `limit` characters at a word boundary; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    return (cut.rsplit(None, 1)[0] if " " in cut else cut) + " …", True


def _range(text: str, start_line, end_line, start, end) -> tuple[int, int]:
    """The character range [first, last) asked for: by lines, or by characters, or the whole text."""
    if start_line is not None or end_line is not None:
        if start is not None or end is not None:
            raise ToolError("give lines (start_line, end_line) or characters (start, end), not both")
        starts = _line_starts(text)
        first_line = start_line or 1
        if first_line > len(starts):
            raise ToolError(f"the document has {len(starts)} lines: start_line {first_line} is past its end")
        last = starts[end_line] if end_line is not None and end_line < len(starts) else len(text)
        return starts[first_line - 1], max(last, starts[first_line - 1])
    first, last = start or 0, len(text) if end is None else min(end, len(text))
    if first > len(text):
        raise ToolError(f"the document has {len(text)} characters: start {first} is past its end")
    return first, max(first, last)


def _line_starts(text: str) -> list[int]:
    """Offset of the first character of each line."""
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _last_update(index) -> str | None:
    """When the most recently indexed document was indexed."""
    latest = [d.indexed_at for d in index.documents() if d.indexed_at]
    return max(latest) if latest else None
