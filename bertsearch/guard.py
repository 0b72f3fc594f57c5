"""The server's security rules, in one pure ASGI middleware around the whole app.

Because `Guard` wraps the ASGI app itself (not FastAPI routes), everything
mounted in the app later (the MCP endpoint, say) is covered by the same rules:

- Host: a request whose `Host` header is not an allowed name (the bound host,
  `localhost`, a loopback address, or one given with `allowed_hosts`) is
  refused with 421 before anything else: a web page on another site cannot
  reach the server through DNS rebinding.
- Token: when the server has one, every path except the page's own files
  (`PUBLIC`) needs `Authorization: Bearer <token>`, compared in constant time;
  401 otherwise. New routes are protected unless listed as public.
- Body size: a request body over `max_body_bytes` gets 413, whether it says
  its length up front or streams it.
- CORS: no CORS header at all unless an origin is allowed (`serve --cors ORIGIN`);
  then only that origin gets them, and its preflight requests are answered here.

Refusals are JSON in the server's error shape: {"error": {"type", "message"}}.
"""

import hmac
import ipaddress
import json
import re
from collections.abc import Iterable

LOOPBACK_NAMES = ("localhost",)
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Paths anyone may fetch: the page's files and what describes the API (no document data).
PUBLIC = re.compile(r"^/($|static/|documents/\d+/?$|passages/\d+/?$|healthz$|docs/?$|docs-static/|openapi\.json$|favicon\.ico$)")


def error_body(status: int, kind: str, message: str, headers: Iterable[tuple[bytes, bytes]] = ()):
    """The ASGI messages of a JSON error response."""
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    return ({"type": "http.response.start", "status": status, "headers": head},
            {"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header, without its port: 'localhost:8765' -> 'localhost', '[::1]:80' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    def __init__(self, app, *, host: str = "127.0.0.1", token: str | None = None, cors: str | None = None,
                 allowed_hosts: Iterable[str] = (), max_body_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.app, self.token, self.cors = app, token, cors.rstrip("/") if cors else None
        self.hosts = {h.lower().strip("[]") for h in (host, *allowed_hosts)}
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # lifespan (and websockets, which the app has none of)
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal:
            for message in error_body(*refusal):
                await send(message)
            return
        origin = headers.get("origin", "").rstrip("/")
        cors = self.cors is not None and origin == self.cors
        if cors and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            return await self._preflight(send)
        await self._call(scope, receive, self._with_cors(send) if cors else send)

    def _refusal(self, scope, headers: dict) -> tuple | None:
        """(status, type, message[, headers]) when the request must not reach the app."""
        host = host_name(headers.get("host", ""))
        if not (is_loopback(host) or host in self.hosts):
            return 421, "HostNotAllowed", f"this server does not answer for host {host!r}"
        if self.token and not PUBLIC.match(scope["path"]) and not self._authorized(headers, scope):
            return 401, "Unauthorized", "this server needs a token: send 'Authorization: Bearer TOKEN'", \
                [(b"www-authenticate", b"Bearer")]
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return 413, "BodyTooLarge", f"the request body is over {self.max_body_bytes} bytes"
        return None

    def _authorized(self, headers: dict, scope) -> bool:
        if scope["method"] == "OPTIONS" and self.cors:  # preflights carry no credentials
            return True
        scheme, _, given = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    async def _call(self, scope, receive, send):
        """Read the body first (it is small), so one over the limit gets 413 before the app sees it."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                for reply in error_body(413, "BodyTooLarge", f"the request body is over {self.max_body_bytes} bytes"):
                    await send(reply)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # waits for the disconnect, as the app expects
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _preflight(self, send):
        headers = [*self._cors_headers(),
                   (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
                   (b"access-control-allow-headers", b"authorization, content-type"),
                   (b"access-control-max-age", b"600"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _cors_headers(self):
        return [(b"access-control-allow-origin", self.cors.encode("latin-1")), (b"vary", b"Origin")]

    def _with_cors(self, send):
        async def send_with_cors(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self._cors_headers()]}
            await send(message)

        return send_with_cors
