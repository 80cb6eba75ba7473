"""The stand-ins' HTTP server and prefix dispatcher, over real sockets."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from simulators.server import PrefixDispatcher, serve


def echo(name: str):
    """A WSGI app that answers with where it was mounted and what it was sent."""

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.dumps(
            {
                "app": name,
                "script_name": environ["SCRIPT_NAME"],
                "path_info": environ["PATH_INFO"],
                "body": environ["wsgi.input"].read(length).decode(),
            }
        ).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


def lazy_reader(environ, start_response):
    """Ignores the request body: the server must not let it leak into the next request."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def streamer(environ, start_response):
    """Several chunks and no Content-Length: the server must close to mark the end."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([b"a" * 1000, b"b" * 1000])


def test_serve_picks_a_free_port_and_stops_afterwards():
    client = requests.Session()  # keeps its connection open across the with block
    with serve(echo("one")) as base_url:
        assert urlsplit(base_url).port
        reply = client.post(f"{base_url}/x", data="hello", timeout=5)
        assert reply.json() == {"app": "one", "script_name": "", "path_info": "/x", "body": "hello"}
    with pytest.raises(requests.ConnectionError):
        client.get(base_url, timeout=2)


def test_dispatcher_moves_the_prefix_to_script_name():
    app = PrefixDispatcher(
        {"/one_stop": echo("one"), "/gplx/": echo("two"), "/one_stop/v2": echo("three")}
    )
    with serve(app) as base_url:

        def get(path: str) -> requests.Response:
            return requests.post(base_url + path, timeout=5)

        assert get("/one_stop/api/login").json() == {
            "app": "one",
            "script_name": "/one_stop",
            "path_info": "/api/login",
            "body": "",
        }
        assert get("/gplx").json()["path_info"] == ""
        assert get("/one_stop/v2/x").json()["app"] == "three"  # the longest prefix wins
        missing = get("/one_stopx/api/login")  # a prefix matches whole path segments only
        assert missing.status_code == 404
        assert missing.json()["mounts"] == ["/gplx", "/one_stop", "/one_stop/v2"]
        assert requests.get(base_url + "/", timeout=5).json()["mounts"][0] == "/gplx"


def test_dispatcher_refuses_a_root_mount():
    with pytest.raises(ValueError, match="named prefix"):
        PrefixDispatcher({"/": echo("root")})


def test_keep_alive_serves_several_requests_on_one_connection():
    with serve(PrefixDispatcher({"/lazy": lazy_reader, "/echo": echo("e")})) as base_url:
        parts = urlsplit(base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request("POST", "/lazy/x", body=b"x" * 5000)  # body left unread by the app
        assert conn.getresponse().read() == b"ok"
        first_socket = conn.sock
        conn.request("POST", "/echo/y", body=b"second")
        reply = conn.getresponse()
        assert json.loads(reply.read())["body"] == "second"
        assert conn.sock is first_socket
        conn.close()


def test_a_reply_without_length_closes_the_connection():
    with serve(streamer) as base_url:
        reply = requests.get(base_url, timeout=5)
        assert reply.content == b"a" * 1000 + b"b" * 1000
        assert reply.headers["Connection"] == "close"
