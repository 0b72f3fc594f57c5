"""`bertsearch mcp`: started as a subprocess and driven by the MCP SDK's own stdio client.

The server's stdout passes through `tee` into a file, so the test can check that
every line it wrote was a JSON-RPC message: one stray print breaks a real client.
Tiny random models (the plumbing is under test); answers are checked against the
document text at their spans, whatever the random reader picks.
"""

import json
import shlex
import shutil
import sys
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import crashkit
from bertsearch import Index

TOOLS = {"ask", "search", "get", "info"}
SAMPLE_HISTORY = Path(__file__).resolve().parent.parent / "sample_corpus" / "history"


@pytest.fixture
def indexed(tmp_path, corpus, tiny_bert):
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([corpus])
    return tmp_path / "index"


def run_session(tmp_path: Path, args: list[str], talk) -> tuple[object, list[str], str]:
    """Start `bertsearch mcp ARGS`, run `talk(session)`, and return its result, stdout's lines and stderr."""
    stdout_copy, stderr_log = tmp_path / "stdout.jsonl", tmp_path / "stderr.log"
    command = shlex.join([sys.executable, "-m", "bertsearch", "mcp", *map(str, args)])
    server = StdioServerParameters(command="sh", args=["-c", f"{command} | tee {shlex.quote(str(stdout_copy))}"],
                                   env=crashkit.driver_env(), cwd=str(tmp_path))

    async def main():
        with open(stderr_log, "w") as errlog:
            async with stdio_client(server, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await talk(session)

    result = anyio.run(main)
    return result, stdout_copy.read_text().splitlines(), stderr_log.read_text()


def structured(result) -> dict:
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content  # the same JSON, for text-only clients
    return result.structured_content


def test_an_agent_lists_the_tools_and_searches_asks_and_reads(tmp_path, indexed, tiny_qa):
    async def talk(session):
        tools = (await session.list_tools()).tools
        hits = structured(await session.call_tool("search", {"query": "Eiffel", "mode": "bm25", "k": 3}))["hits"]
        hit = hits[0]
        around = structured(await session.call_tool("get", {"document": hit["path"], "start": hit["start"],
                                                            "end": hit["end"]}))
        lines = structured(await session.call_tool("get", {"document": hit["path"], "start_line": 3, "end_line": 3}))
        asked = structured(await session.call_tool("ask", {"question": "When was the Eiffel Tower finished?", "k": 3}))
        whole = structured(await session.call_tool("get", {"document": asked["answers"][0]["path"]}))
        info = structured(await session.call_tool("info", {}))
        errors = [
            await session.call_tool("get", {"document": str(tmp_path / "nowhere.txt")}),
            await session.call_tool("search", {"query": "x", "mode": "fuzzy"}),
            await session.call_tool("search", {"query": "Eiffel", "after": "not a date"}),
            await session.call_tool("get", {"document": hit["path"], "start_line": 999}),
        ]
        return tools, hits, around, lines, asked, whole, info, errors

    (tools, hits, around, lines, asked, whole, info, errors), stdout, stderr = run_session(
        tmp_path, ["--index", indexed, "--reader", tiny_qa], talk)

    assert {tool.name for tool in tools} == TOOLS  # read-only: no `index` tool without --allow-index
    assert all(tool.output_schema and tool.description for tool in tools)
    assert all(tool.annotations.read_only_hint for tool in tools)

    assert [Path(h["path"]).name for h in hits] == ["paris.txt"]
    assert hits[0]["line"] == 1 and "Eiffel Tower" in hits[0]["text"]
    assert around["text"] == hits[0]["text"] and (around["start"], around["end"]) == (hits[0]["start"], hits[0]["end"])
    assert lines["text"].rstrip("\n") == "It was finished in 1889 for the World's Fair." and lines["line"] == lines["end_line"] == 3

    best = asked["answers"][0]
    assert whole["text"][best["start"]:best["end"]] == best["answer"]  # the span cites the document exactly
    assert best["line"] == whole["text"].count("\n", 0, best["start"]) + 1
    assert f"**{best['answer']}**" in best["context"]
    assert info["documents"] == 3 and info["passages"] >= 3 and info["last_update"]

    # bad calls are tool errors the agent can read, not crashes
    assert all(result.is_error for result in errors)
    missing, mode, date, past = (result.content[0].text for result in errors)
    assert "nowhere.txt" in missing and "fuzzy" in mode and "not a date" in date and "999" in past
    assert "Traceback" not in stderr

    assert stdout and all(json.loads(line)["jsonrpc"] == "2.0" for line in stdout)  # protocol, and nothing else
    assert "bertsearch MCP server on stdio" in stderr


def test_an_agent_asks_edits_and_finds_the_new_text_with_the_real_models(tmp_path):
    """The issue's "done when", with the packaged MiniLM and the bundled reader: `mcp --watch` builds the
    index, the agent gets the answer with its file and line, edits the file, and finds the new text a
    moment later (polled with a deadline). The `index` tool is there only with --allow-index, inside ROOT."""
    notes, root = tmp_path / "notes", tmp_path / "allowed"
    shutil.copytree(SAMPLE_HISTORY, notes)
    root.mkdir()
    (root / "ferry.txt").write_text("The ferry to Rottnest Island leaves at nine.\n")

    async def talk(session):
        async def hits(word):
            result = structured(await session.call_tool("search", {"query": word, "mode": "bm25"}))
            return [Path(h["path"]).name for h in result["hits"]]

        asked = structured(await session.call_tool("ask", {"question": "Who designed the Eiffel Tower?"}))
        with open(notes / "brooklyn_bridge.md", "a") as file:
            file.write("\nA replica stands in Wombatshire.\n")
        with anyio.fail_after(120):
            while await hits("Wombatshire") != ["brooklyn_bridge.md"]:
                await anyio.sleep(0.1)
        names = {tool.name for tool in (await session.list_tools()).tools}
        outside = await session.call_tool("index", {"paths": [str(notes)]})
        escape = await session.call_tool("index", {"paths": ["../notes"]})
        inside = structured(await session.call_tool("index", {"paths": ["ferry.txt"]}))
        return asked, names, outside, escape, inside, await hits("Rottnest")

    (asked, names, outside, escape, inside, ferry), stdout, stderr = run_session(
        tmp_path, ["--index", tmp_path / "index", "--watch", notes, "--allow-index", root], talk)
    best = asked["answers"][0]
    assert asked["confident"] and best["answer"] == "Maurice Koechlin and Émile Nouguier"
    assert 0.5 < best["confidence"] <= 1
    assert (Path(best["path"]).name, best["line"]) == ("eiffel_tower.html", 11)
    assert "caught up: 5 new" in stderr and "updated: 0 new, 1 changed" in stderr  # the watcher's lines, on stderr
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in stdout)

    assert names == TOOLS | {"index"}
    assert outside.is_error and escape.is_error and "outside" in outside.content[0].text
    assert [Path(p).name for p in inside["added"]] == ["ferry.txt"] and ferry == ["ferry.txt"]


def test_the_server_mounts_over_streamable_http(indexed):
    """What `bertsearch serve --mcp` mounts at /mcp: the same tools over HTTP, the lifespan run by the host app."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from bertsearch.mcp_server import create_mcp_server, http_mount

    async def main():
        with Index(indexed) as index:
            mount = http_mount(create_mcp_server(index))
            host = Starlette(routes=[Mount("/mcp", app=mount.app)])
            async with mount.lifespan(), httpx2.AsyncClient(transport=httpx2.ASGITransport(app=host),
                                                            base_url="http://127.0.0.1") as http:
                async with streamable_http_client("http://127.0.0.1/mcp/", http_client=http) as (read, write, *_):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        tools = {tool.name for tool in (await session.list_tools()).tools}
                        hits = structured(await session.call_tool("search", {"query": "Apollo", "mode": "bm25"}))
        return tools, hits["hits"]

    tools, hits = anyio.run(main)
    assert tools == TOOLS and [Path(h["path"]).name for h in hits] == ["moon.html"]
