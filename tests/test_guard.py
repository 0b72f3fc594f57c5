"""The server's security middleware, around a small app: Host check, token, body size, CORS."""

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bertsearch.guard import Guard, host_name, is_loopback


def guarded(**settings) -> TestClient:
    app = FastAPI()

    @app.get("/api/secret")
    def secret():
        return {"secret": 42}

    @app.post("/api/echo")
    async def echo(request: Request):
        return {"bytes": len(await request.body())}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    mounted = FastAPI()
    mounted.get("/tool")(lambda: {"tool": True})
    app.mount("/mcp", mounted)
    app.add_middleware(Guard, **settings)
    return TestClient(app, base_url="http://127.0.0.1:8765")


def assert_refused(response, status, kind):
    assert response.status_code == status
    assert response.json()["error"]["type"] == kind
    assert "secret" not in response.text


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "localhost", "[::1]:8765", "127.0.0.2"])
def test_loopback_names_are_served(host):
    assert guarded().get("/api/secret", headers={"host": host}).json() == {"secret": 42}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "192.168.1.5:8765", "localhost.evil.example", ""])
def test_a_foreign_host_is_refused_so_dns_rebinding_cannot_reach_the_documents(host):
    assert_refused(guarded().get("/api/secret", headers={"host": host}), 421, "HostNotAllowed")


def test_the_bound_name_and_allowed_hosts_are_served():
    client = guarded(host="10.0.0.7", token="t", allowed_hosts=["search.lan"])
    auth = {"authorization": "Bearer t"}
    assert client.get("/api/secret", headers={"host": "10.0.0.7:8765", **auth}).status_code == 200
    assert client.get("/api/secret", headers={"host": "search.lan", **auth}).status_code == 200
    assert_refused(client.get("/api/secret", headers={"host": "10.0.0.8", **auth}), 421, "HostNotAllowed")


def test_with_a_token_every_api_route_and_every_mount_needs_it():
    client = guarded(token="s3cret")
    for path in ("/api/secret", "/mcp/tool", "/api/anything-added-later"):
        response = client.get(path)
        assert_refused(response, 401, "Unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert_refused(client.get(path, headers={"authorization": "Bearer wrong"}), 401, "Unauthorized")
        assert_refused(client.get(path, headers={"authorization": "Basic s3cret"}), 401, "Unauthorized")
    assert client.get("/api/secret", headers={"authorization": "Bearer s3cret"}).json() == {"secret": 42}
    assert client.get("/mcp/tool", headers={"authorization": "bearer s3cret"}).json() == {"tool": True}


def test_the_page_and_the_health_check_need_no_token():
    client = guarded(token="s3cret")
    assert client.get("/healthz").json() == {"status": "ok"}


def test_without_a_token_the_api_is_open_on_loopback():
    assert guarded().get("/api/secret").json() == {"secret": 42}


def test_a_body_over_the_limit_is_refused_whether_announced_or_streamed():
    client = guarded(max_body_bytes=100)
    assert client.post("/api/echo", content=b"x" * 100).json() == {"bytes": 100}
    assert_refused(client.post("/api/echo", content=b"x" * 101), 413, "BodyTooLarge")
    streamed = client.post("/api/echo", content=iter([b"x" * 60, b"x" * 60]))  # chunked: no content-length
    assert_refused(streamed, 413, "BodyTooLarge")


def test_no_cors_headers_unless_an_origin_is_allowed():
    origin = {"origin": "http://app.example"}
    response = guarded().get("/api/secret", headers=origin)
    assert not any(name.startswith("access-control-") for name in response.headers)


def test_an_allowed_origin_gets_cors_headers_and_its_preflight_answered():
    client = guarded(cors="http://app.example", token="t")
    preflight = client.options("/api/secret", headers={"origin": "http://app.example",
                                                       "access-control-request-method": "GET",
                                                       "access-control-request-headers": "authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://app.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    response = client.get("/api/secret", headers={"origin": "http://app.example", "authorization": "Bearer t"})
    assert response.headers["access-control-allow-origin"] == "http://app.example"
    other = client.get("/api/secret", headers={"origin": "http://other.example", "authorization": "Bearer t"})
    assert "access-control-allow-origin" not in other.headers


def test_host_names_and_loopback_addresses():
    assert host_name("LocalHost:8765") == "localhost"
    assert host_name("[::1]:8765") == "::1"
    assert host_name("::1") == "::1"
    assert is_loopback("127.8.9.10") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
