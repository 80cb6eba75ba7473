"""The one-stop stand-in as a WSGI app, serving docs/one_stop_api.md over a data set."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from simulators.faults import FaultInjector, Faults
from simulators.one_stop.scenario import Dataset

JSON = "application/json; charset=utf-8"
BAD_LOGIN, SESSION_EXPIRED, BAD_REQUEST = 1, 2, 3
MAX_PAGE_SIZE = 1000
_STAMP = re.compile(r"\d{14}")
# Paged services: (rows attribute of the data set, cursor field, windowed).
_PAGED = {
    "LayDanhMucTTHC": ("procedures", "NgayCapNhat", False),
    "LayDanhSachHoSo": ("dossiers", "NgayCapNhat", True),
    "LayDanhSachDanhGia": ("ratings", "NgayDanhGia", True),
}


class _BadRequest(Exception):
    pass


class _Lru:
    """Rendered reply bytes by request, within a byte budget: a benchmark's client must not wait
    on JSON encoding, and a whole window in 1000-record pages (~50 MB for the big scenario) fits."""

    def __init__(self, budget: int) -> None:
        self._budget, self._used = budget, 0
        self._items, self._lock = OrderedDict[tuple, bytes](), threading.Lock()

    def get(self, key: tuple, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two racing renders give identical bytes
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._used += len(value)
            while self._used > self._budget and len(self._items) > 1:
                self._used -= len(self._items.popitem(last=False)[1])
        return value


def _encode(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate in a test's record: sent as JSON's own escape
        return text.encode("utf-8", "backslashreplace")


class OneStopApp:
    """WSGI app: ``POST /api/login`` and ``POST /api/service`` (see the contract)."""

    def __init__(self, dataset: Dataset, faults: Faults | None = None, username: str = "demo",
                 password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
                 cache_bytes: int = 256 << 20) -> None:
        faults = faults or Faults()
        if faults.malformed_rate and not dataset.malformed:
            dataset = dataset.with_malformed(faults.malformed_rate, faults.seed)
        self.dataset, self.faults = dataset, faults
        self.injector = FaultInjector(faults)
        self._credentials = (username, password)
        self._sessions: dict[str, int] = {}  # token -> service calls served
        self._lock = threading.Lock()
        self._pages = _Lru(cache_bytes)
        # Rows are already in (cursor, key) order: a window is a bisect, a page a slice.
        self._cursors = {name: [row[cursor] for row in getattr(dataset, name)]
                         for name, cursor, _ in _PAGED.values()}
        self._agencies = _encode({"error_code": 0, "data": dataset.agencies})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path not in ("/api/login", "/api/service"):
            return _reply(start_response, 404, _error(BAD_REQUEST, f"no such endpoint {path}"))
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, 405, _error(BAD_REQUEST, "use POST"),
                          (("Allow", "POST"),))
        if self.faults.latency:
            time.sleep(self.faults.latency)
        try:
            body = _read_json(environ)
        except _BadRequest as exc:
            return _reply(start_response, 400, _error(BAD_REQUEST, str(exc)))
        if path == "/api/login":
            return self._login(environ, body, start_response)
        failure = self.injector.next_failure()
        if failure:
            return _reply(start_response, failure.status, failure.body, failure.headers)
        if not self._use_session(body.get("session")):
            return _reply(start_response, 401, _error(SESSION_EXPIRED, "session expired"))
        try:
            return _reply(start_response, 200, self._service(body))
        except _BadRequest as exc:
            return _reply(start_response, 400, _error(BAD_REQUEST, str(exc)))

    def _login(self, environ: dict[str, Any], body: dict[str, Any],
               start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_DSTCODE", "").strip():
            return _reply(start_response, 401, _error(BAD_LOGIN, "missing dstcode header"))
        if (body.get("username"), body.get("password")) != self._credentials:
            return _reply(start_response, 401, _error(BAD_LOGIN, "wrong username or password"))
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions[token] = 0
            while len(self._sessions) > 10_000:  # forget the oldest logins of a busy client
                del self._sessions[next(iter(self._sessions))]
        return _reply(start_response, 200, _encode({"error_code": 0, "session": token}))

    def _use_session(self, token: object) -> bool:
        """Count one call against the session; False once unknown or past its lifetime."""
        if not isinstance(token, str):
            return False
        with self._lock:
            used = self._sessions.get(token)
            if used is None:
                return False
            if self.faults.session_ttl and used >= self.faults.session_ttl:
                del self._sessions[token]
                return False
            self._sessions[token] = used + 1
            return True

    def _service(self, body: dict[str, Any]) -> bytes:
        if not isinstance(body.get("madonvi"), str) or not body["madonvi"].strip():
            raise _BadRequest("madonvi (agency code) is required")
        service = body.get("service")
        if service == "LayDanhMucCoQuan":
            return self._agencies
        if service not in _PAGED:
            raise _BadRequest(f"unknown service {service!r}")
        name, _, windowed = _PAGED[service]
        page, size = _number(body, "Trang", 1, None), _number(body, "SoBanGhi", 1, MAX_PAGE_SIZE)
        start, end = (_stamp(body, "TuNgay"), _stamp(body, "DenNgay")) if windowed else ("", "")
        if start > end:
            raise _BadRequest("TuNgay is after DenNgay")
        key = (service, start, end, page, size)
        return self._pages.get(key, lambda: self._render(name, windowed, *key))

    def _render(self, name: str, windowed: bool, service: str, start: str, end: str, page: int,
                size: int) -> bytes:
        rows, cursors = getattr(self.dataset, name), self._cursors[name]
        low, high = (bisect_left(cursors, start), bisect_left(cursors, end)) if windowed else (
            0, len(rows))
        first = low + (page - 1) * size
        data = rows[first:min(first + size, high)] if first < high else []
        repeat = self.injector.repeat_count(service, start, end, page, size) if data else 0
        if repeat and first > low:  # a shifting source: the previous page's tail comes again
            data = rows[max(low, first - repeat):first] + data
        total = high - low
        return _encode({"error_code": 0, "Trang": page, "SoBanGhi": size, "TongSoBanGhi": total,
                        "TongSoTrang": -(-total // size), "data": data})


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest("body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("body is not a JSON object")
    return body


def _number(body: dict[str, Any], name: str, low: int, high: int | None) -> int:
    value = body.get(name)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (
            high is not None and value > high):
        bounds = f"{low}..{high}" if high else f">= {low}"
        raise _BadRequest(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def _stamp(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not _STAMP.fullmatch(value):
        raise _BadRequest(f"{name} must be yyyyMMddHHmmss, got {value!r}")
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        raise _BadRequest(f"{name} is not a real date: {value!r}") from None
    return value


def _error(code: int, message: str) -> bytes:
    return _encode({"error_code": code, "message": message})


def _reply(start_response: Callable[..., Any], status: int, body: bytes,
           headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    names = {name.lower() for name, _ in headers}
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   ([] if "content-type" in names else [("Content-Type", JSON)])
                   + [*headers, ("Content-Length", str(len(body)))])
    return [body]


def make_app(dataset: Dataset, faults: Faults | None = None, username: str = "demo",
             password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
             ) -> OneStopApp:
    """The stand-in over ``dataset``; ``faults.malformed_rate`` corrupts a fixed subset of it."""
    return OneStopApp(dataset, faults, username, password)
