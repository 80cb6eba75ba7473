"""The GPLX stand-in as a WSGI app, serving docs/driving_licence_api.md over a data set."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from datetime import date
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from simulators.driving_licence.scenario import Dataset
from simulators.faults import FaultInjector, Faults

JSON = "application/json; charset=utf-8"
LOGIN, SERVICE = "/mapi/login", "/mapi/g"
BAD_LOGIN, SESSION_EXPIRED, BAD_REQUEST = "1", "2", "3"
MAX_PAGE_SIZE = 500
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class _BadRequest(Exception):
    pass


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _error(code: str, message: str) -> bytes:
    return _encode({"error_code": code, "result": message})


class DrivingLicenceApp:
    """WSGI app: ``POST /mapi/login`` and ``POST /mapi/g`` (see the contract).

    Application errors answer HTTP 200 with an ``error_code``, as the real system does; only the
    injected faults (5xx, 429) and unknown paths or methods use HTTP status codes.
    """

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        username: str = "demo",
        password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
    ) -> None:
        faults = faults or Faults()
        if faults.malformed_rate and not dataset.malformed:
            dataset = dataset.with_malformed(faults.malformed_rate, faults.seed)
        self.dataset, self.faults = dataset, faults
        self.injector = FaultInjector(faults)
        self._credentials = (username, password)
        self._sessions: dict[str, int] = {}  # token -> service calls served
        self._lock = threading.Lock()
        # Rendered replies: a client paging a window or looking details up again gets bytes
        # already encoded.
        self._list_reply = lru_cache(maxsize=4096)(self._render_list)
        self._detail_reply = lru_cache(maxsize=8192)(self._render_detail)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path not in (LOGIN, SERVICE):
            return _reply(start_response, 404, _error(BAD_REQUEST, f"no such endpoint {path}"))
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(
                start_response, 405, _error(BAD_REQUEST, "use POST"), (("Allow", "POST"),)
            )
        if self.faults.latency:
            time.sleep(self.faults.latency)
        try:
            body = _read_json(environ)
        except _BadRequest as exc:
            return _reply(start_response, 200, _error(BAD_REQUEST, str(exc)))
        if path == LOGIN:
            return _reply(start_response, 200, self._login(body))
        failure = self.injector.next_failure()
        if failure:
            return _reply(start_response, failure.status, failure.body, failure.headers)
        if not self._use_session(body.get("session")):
            return _reply(
                start_response,
                200,
                _error(SESSION_EXPIRED, "Phiên làm việc không tồn tại hoặc đã hết hạn"),
            )
        try:
            return _reply(start_response, 200, self._service(body))
        except _BadRequest as exc:
            return _reply(start_response, 200, _error(BAD_REQUEST, str(exc)))

    def _login(self, body: dict[str, Any]) -> bytes:
        if (body.get("username"), body.get("password")) != self._credentials:
            return _error(BAD_LOGIN, "Sai tên đăng nhập hoặc mật khẩu")
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions[token] = 0
            while len(self._sessions) > 10_000:  # forget the oldest logins of a busy client
                del self._sessions[next(iter(self._sessions))]
        return _encode({"error_code": "0", "result": "Đăng nhập thành công", "session": token})

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
        if body.get("donViXuLy") != self.dataset.unit:
            raise _BadRequest(f"đơn vị xử lý không hợp lệ: {body.get('donViXuLy')!r}")
        service = body.get("service")
        if service == "DanhSachHoSo":
            first, last = _day(body, "ngayNhan1"), _day(body, "ngayNhan2")
            if first > last:
                raise _BadRequest("ngayNhan1 is after ngayNhan2")
            if "page" not in body and "pageSize" not in body:
                return self._list_reply(first, last, None, None)
            page = _number(body, "page", 1, None)
            return self._list_reply(first, last, page, _number(body, "pageSize", 1, MAX_PAGE_SIZE))
        if service == "TraCuuHoSo":
            number = body.get("mahoso")
            if not isinstance(number, str) or not number.strip():
                raise _BadRequest("mahoso (dossier number) is required")
            return self._detail_reply(number.strip())
        raise _BadRequest(f"unknown service {service!r}")

    def _render_list(self, first: str, last: str, page: int | None, size: int | None) -> bytes:
        rows, arrived = self.dataset.dossiers, self.dataset.arrived
        low, high = bisect_left(arrived, first), bisect_right(arrived, last)
        if page is None or size is None:  # the original, unpaged form: the whole range
            return _encode({"error_code": "0", "data": rows[low:high]})
        start = low + (page - 1) * size
        data = rows[start : min(start + size, high)] if start < high else []
        repeat = self.injector.repeat_count("DanhSachHoSo", first, last, page, size) if data else 0
        if repeat and start > low:  # a shifting source: the previous page's tail comes again
            data = rows[max(low, start - repeat) : start] + data
        total = high - low
        return _encode(
            {
                "error_code": "0",
                "page": page,
                "pageSize": size,
                "total": total,
                "totalPages": -(-total // size),
                "data": data,
            }
        )

    def _render_detail(self, number: str) -> bytes:
        detail = self.dataset.details.get(number)
        return _encode({"error_code": "0", "data": [detail] if detail is not None else []})


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _BadRequest("body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("body is not a JSON object")
    return body


def _day(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise _BadRequest(f"{name} must be yyyy-MM-dd, got {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _BadRequest(f"{name} is not a real date: {value!r}") from None
    return value


def _number(body: dict[str, Any], name: str, low: int, high: int | None) -> int:
    value = body.get(name)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"{low}..{high}" if high else f">= {low}"
        raise _BadRequest(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def _reply(
    start_response: Callable[..., Any],
    status: int,
    body: bytes,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    names = {name.lower() for name, _ in headers}
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        ([] if "content-type" in names else [("Content-Type", JSON)])
        + [*headers, ("Content-Length", str(len(body)))],
    )
    return [body]


def make_app(
    dataset: Dataset,
    faults: Faults | None = None,
    username: str = "demo",
    password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
) -> DrivingLicenceApp:
    """The stand-in over ``dataset``; ``faults.malformed_rate`` corrupts a fixed subset of it."""
    return DrivingLicenceApp(dataset, faults, username, password)
