"""Serve WSGI stand-ins over real HTTP: a quiet threaded keep-alive server, and a dispatcher that
mounts several stand-ins under path prefixes on one port. The server also applies the wire
faults an app's injector chose (`simulators.faults.Cut`): a connection reset mid-body, or a
reply cut short."""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from simulators.faults import Cut, pending_cut

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _BodyReader:
    """wsgi.input limited to the request's Content-Length, so an app that reads too much cannot
    block and one that reads too little cannot leave bytes that poison the next request."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self._stream, self._left = stream, length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(size) if size else b""
        self._left -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.readline(size) if size else b""
        self._left -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def drain(self) -> None:
        while self._left and self.read(65536):
            pass


class _Handler(ServerHandler):
    keep_alive = True
    was_reset = False  # the connection was reset on purpose (a `reset` fault)

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        # Without a length the client can only find the end by the connection closing.
        if "Content-Length" not in self.headers:
            self.headers["Connection"] = "close"
            self.keep_alive = False

    def finish_response(self) -> None:
        cut = pending_cut.get()
        if cut is None or self.result is None:
            super().finish_response()
            return
        try:
            body = b"".join(self.result)
        finally:
            if hasattr(self.result, "close"):
                self.result.close()
        self.result = [body]
        if cut.kind == "reset":
            self._reset(cut, body)
            return
        if 200 <= int(self.status.split(" ", 1)[0]) < 300 and len(body) >= 2:
            body = body[: cut.truncated_length(len(body))]
            self.headers["Content-Length"] = str(len(body))  # honest for what is sent
            self.result = [body]
        super().finish_response()

    def _reset(self, cut: Cut, body: bytes) -> None:
        """Status line, headers announcing the whole body, part of it, then a TCP reset."""
        self.headers["Content-Length"] = str(len(body))
        sent = body[: cut.reset_length(len(body))]
        if sent:
            self.write(sent)
        else:
            self.send_headers()
            self._flush()
        self.keep_alive = False
        connection = self.request_handler.connection
        # Linger 0: closing sends RST instead of FIN, so the client sees the connection reset.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()  # the descriptor goes once the handler's files close, right after
        self.was_reset = True
        self.close()


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection frees its thread after this
    # With keep-alive, Nagle's algorithm holds the reply's last segment until the client's
    # delayed ACK: ~40 ms a request. Replies are written whole, so send them at once.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a benchmark's thousands of requests are not worth a line each

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # includes the idle timeout
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.send_error(411, "chunked request bodies are not supported")
            return
        environ = self.get_environ()
        body = _BodyReader(self.rfile, int(environ.get("CONTENT_LENGTH") or 0))
        handler = _Handler(body, self.wfile, self.get_stderr(), environ, multithread=True)
        handler.request_handler = self  # wsgiref logs through it
        handler.http_version = "1.1" if self.request_version == "HTTP/1.1" else "1.0"
        token = pending_cut.set(None)  # this request's app may choose a cut
        try:
            handler.run(self.server.get_app())
        finally:
            pending_cut.reset(token)
        if handler.was_reset:
            self.close_connection = True  # nothing more is read from or written to it
            return
        try:
            body.drain()
        except OSError:
            self.close_connection = True
        if not handler.keep_alive:
            self.close_connection = True


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End open keep-alive connections, so a stopped stand-in stops answering at once."""
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can hang without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


def make_http_server(app: WSGIApp, host: str = "127.0.0.1", port: int = 0) -> ThreadingWSGIServer:
    """A bound, not yet running, server for ``app``; port 0 picks a free port."""
    server = ThreadingWSGIServer((host, port), _RequestHandler)
    server.set_app(app)
    return server


@contextmanager
def serve(app: WSGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` in a background thread for the ``with`` block; yields its base URL."""
    server = make_http_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"stand-in:{server.server_port}", daemon=True)
    thread.start()
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - only a display name
    try:
        yield f"http://{shown}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join(timeout=5)


def _json_reply(start_response: Callable[..., Any], status: str, payload: object) -> list[bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


class PrefixDispatcher:
    """Route each request to the app mounted at the longest matching path prefix, moving the
    prefix from PATH_INFO to SCRIPT_NAME as WSGI expects."""

    def __init__(self, mounts: Mapping[str, WSGIApp]) -> None:
        normalised = {}
        for prefix, app in mounts.items():
            clean = "/" + prefix.strip("/")
            if clean == "/":
                raise ValueError("mount stand-ins under a named prefix, not at /")
            normalised[clean] = app
        self.mounts = dict(sorted(normalised.items(), key=lambda item: -len(item[0])))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        for prefix, app in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                routed = dict(environ)
                routed["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + prefix
                routed["PATH_INFO"] = path[len(prefix):]
                return app(routed, start_response)
        if path == "/":
            return _json_reply(start_response, "200 OK", {"mounts": sorted(self.mounts)})
        return _json_reply(start_response, "404 Not Found",
                           {"error": "not found", "path": path, "mounts": sorted(self.mounts)})
