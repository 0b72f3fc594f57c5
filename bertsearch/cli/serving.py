"""`bertsearch serve` and `mcp`: the processes that stay up, load the models once and answer many requests."""

import contextlib
from pathlib import Path

import click

from .options import device_option, friendly_errors, index_option, quiet_transformers
from .output import echo_err, echo_update, url_host

MCP_WRITE_WAIT = 10.0  # seconds a write from `mcp` (the watcher's, or the index tool's) waits for another writer


@click.command("mcp")
@index_option
@click.option("--watch", "watch_paths", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Keep the index in step with this folder while serving (repeat for more), as `bertsearch watch`.")
@click.option("--allow-index", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Add an `index` tool that indexes paths inside this folder (without it, the server is read-only).")
@click.option("--reader", envvar="BERTSEARCH_READER", help="Question-answering model for `ask` (env BERTSEARCH_READER; default: the bundled reader).")
@device_option
@friendly_errors
def mcp(index_path, watch_paths, allow_index, reader, device):
    """Serve the index to AI agents over the Model Context Protocol, on stdio.

    An MCP client (Claude Desktop, an IDE, an agent framework) starts this
    command and talks to it on stdin and stdout; every log line goes to stderr.
    Tools: ask, search, get, info (and index, with --allow-index)."""
    import sys

    from ..index import Index
    from ..mcp_server import create_mcp_server
    from ..watch import Watcher

    quiet_transformers()
    from ..backends import resident_backend

    with Index(index_path, device=device, reader=reader, lock_timeout=MCP_WRITE_WAIT,
               backend=resident_backend(device)) as idx, \
            contextlib.ExitStack() as running:
        with contextlib.redirect_stdout(sys.stderr):  # whatever loading prints must not reach the protocol
            indexed = load_models(idx)
            if watch_paths:
                watcher = Watcher(idx, watch_paths, on_update=echo_update, notify=echo_err)
                echo_err(f"Watching {', '.join(map(str, watch_paths))} into {index_path}.")
                running.enter_context(watcher.start(wait=not indexed))  # a new index is built before serving
        echo_err(f"bertsearch MCP server on stdio for {index_path} (tools: ask, search, get, info"
                 f"{', index' if allow_index else ''}).")
        with contextlib.suppress(KeyboardInterrupt):
            create_mcp_server(idx, allow_index=allow_index).run("stdio")


def load_models(idx) -> bool:
    """Load the reader and encoder now, once, rather than on the first call; False if nothing is indexed yet
    (the first write records the encoder). A reader that cannot load is reported; `ask` then says why."""
    from ..errors import IndexNotFoundError, ModelLoadError

    try:
        idx.reader
    except ModelLoadError as error:
        echo_err(f"ask is unavailable: {error}")
    try:
        if idx.info().model is None:
            return False
    except IndexNotFoundError:
        return False
    idx.encoder
    return True


@click.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind. Any other than loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--token", envvar="BERTSEARCH_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every /api route (env BERTSEARCH_TOKEN).")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME", help="Also answer requests for this host name (repeat for more).")
@click.option("--cors", metavar="ORIGIN", help="Let pages from ORIGIN (e.g. http://localhost:3000) call the API.")
@click.option("--allow-index", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="ROOT",
              help="Enable POST /api/index and DELETE /api/documents/ID for paths inside ROOT.")
@click.option("--batching/--no-batching", default=True, show_default=True, help="Let concurrent requests share forward passes.")
@click.option("--reader", envvar="BERTSEARCH_READER", help="Question-answering model (env BERTSEARCH_READER; default: the bundled reader).")
@click.option("--mcp", "with_mcp", is_flag=True, help="Also serve the MCP server over streamable HTTP at /mcp/ (same token and Host rules).")
@click.option("--watch", "watch_paths", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              metavar="PATH", help="Keep the index in step with this folder while serving (repeat for more).")
@device_option
@friendly_errors
def serve(index_path, host, port, token, allowed_hosts, cors, allow_index, batching, reader, with_mcp, watch_paths,
          device):
    """Serve the index over HTTP: a JSON API and a web page at http://HOST:PORT/.

    The models load once, at start. Read-only unless --allow-index; SIGTERM
    or Ctrl-C finish the requests in flight, then exit."""
    from ..index import Index
    from ..server import create_app, listen, run

    quiet_transformers()
    sock = listen(host, port)  # before loading anything: a port in use is said at once
    url = f"http://{url_host(host)}:{sock.getsockname()[1]}/"

    @contextlib.contextmanager
    def announce():  # entered once the models are loaded
        click.echo(f"Serving {index_path} at {url} (Ctrl-C to stop)", err=True)
        yield
        click.echo("Stopped.", err=True)

    mounts, lifespans = {}, [announce]  # options that add an endpoint or a background task add theirs here
    from ..backends import resident_backend

    with sock, Index(index_path, device=device, reader=reader, backend=resident_backend(device)) as idx:
        if watch_paths:  # the same process and encoder; it catches up before the server answers
            from ..watch import Watcher

            lifespans.append(lambda: Watcher(idx, watch_paths, on_update=echo_update, notify=echo_err))
        elif not allow_index:
            idx.info()  # a read-only server needs an index: say so now, not on every request
        if with_mcp:
            from ..mcp_server import create_mcp_server, http_mount

            endpoint = http_mount(create_mcp_server(idx, allow_index=allow_index))
            mounts["/mcp"] = endpoint.app
            lifespans.append(endpoint.lifespan)
        app = create_app(idx, token=token, host=host, allowed_hosts=allowed_hosts, cors=cors,
                         allow_index=allow_index, batching=batching, mounts=mounts, lifespans=lifespans)
        run(app, sock)


