"""The fee gateway stand-in as a WSGI app, serving docs/vietinbank_api.md over a data set."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from datetime import date, datetime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

from simulators.faults import FaultInjector, Faults
from simulators.vietinbank import checksum
from simulators.vietinbank.dataset import Dataset
from simulators.vietinbank.payments import STATEMENT_COLUMNS

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
JSON = "application/json; charset=utf-8"
TOKEN_PATH, TRANSACTIONS_PATH, STATEMENTS_PATH = (
    "/api/v1/xac-thuc",
    "/api/v1/giao-dich",
    "/api/v1/sao-ke",
)
OK, BAD_PARTNER, BAD_CHECKSUM, STALE, TOKEN_EXPIRED, BAD_REQUEST = (
    "00",
    "01",
    "06",
    "07",
    "11",
    "30",
)
MAX_PAGE_SIZE, MAX_STATEMENT_DAYS, CLOCK_SKEW = 500, 31, 300
_STAMP, _DAY = re.compile(r"\d{14}"), re.compile(r"\d{8}")
# Signed with this instead of the shared secret: a forged transaction.
_WRONG_KEY = b"not-the-shared-secret"
_REQUESTS = {
    TOKEN_PATH: ("MaDoiTac", "MaYeuCau", "ThoiGian"),
    TRANSACTIONS_PATH: (
        "MaDoiTac",
        "MaYeuCau",
        "ThoiGian",
        "TuThoiGian",
        "DenThoiGian",
        "Trang",
        "SoBanGhi",
    ),
    STATEMENTS_PATH: ("MaDoiTac", "MaYeuCau", "ThoiGian", "TuNgay", "DenNgay"),
}


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class VietinbankApp:
    """WSGI app: a token, then signed transaction and statement queries (see the contract)."""

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        partner: str = "demo",
        secret: str = "demo-secret",  # noqa: S107 - the stand-in's demo secret
        clock: Callable[[], float] = time.time,
    ) -> None:
        faults = faults or Faults()
        if faults.malformed_rate and not dataset.malformed:
            dataset = dataset.with_malformed(faults.malformed_rate, faults.seed)
        if faults.bad_signature_rate and not dataset.forged:
            dataset = dataset.with_forged(faults.bad_signature_rate, faults.seed)
        self.dataset, self.faults, self.clock = dataset, faults, clock
        self.injector = FaultInjector(faults)
        self._partner, self._secret = partner, secret.encode()
        self._sessions: dict[str, int] = {}  # token -> service calls served
        self._lock = threading.Lock()
        self._rows = [self._signed(row) for row in dataset.transactions]
        self._cursors = [str(row.get("ThoiGianCapNhat")) for row in self._rows]
        self._files = [self._file(s) for s in dataset.statements]
        self._days = [f["NgaySaoKe"] for f in self._files]

    # -- signing -------------------------------------------------------------------------------
    def _signed(self, row: dict[str, Any]) -> dict[str, Any]:
        forgery = self.dataset.forged.get(row.get("MaGiaoDich"))
        signed = dict(row)
        if forgery == "missing":
            return signed
        key = _WRONG_KEY if forgery == "wrong_key" else self._secret
        # Tampered: signed over the amount the bank sent, then inflated on the way.
        basis = dict(row, SoTien=int(row["SoTien"]) // 10) if forgery == "tampered" else row
        signed["ChuKy"] = checksum.sign_fields(key, basis, checksum.TRANSACTION)
        return signed

    def _file(self, statement: dict[str, Any]) -> dict[str, Any]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(STATEMENT_COLUMNS)
        writer.writerows([line[c] for c in STATEMENT_COLUMNS] for line in statement["DongSaoKe"])
        content = buf.getvalue()
        entry = {
            "NgaySaoKe": statement["NgaySaoKe"],
            "TenTep": statement["TenTep"],
            "ThoiGianLap": statement["ThoiGianLap"],
            "NoiDung": content,
            "BamTep": checksum.digest(content),
        }
        entry["ChuKy"] = checksum.sign_fields(
            self._secret, entry, ("NgaySaoKe", "TenTep", "ThoiGianLap", "BamTep")
        )
        return entry

    def _sign_reply(
        self,
        reply: dict[str, Any],
        order: tuple[str, ...],
        rows: list[dict[str, Any]] | None = None,
    ) -> bytes:
        values = [checksum.text(reply.get(k)) for k in order]
        if rows is not None:
            values.append(",".join(checksum.text(row.get("ChuKy")) for row in rows))
        reply["ChuKy"] = checksum.sign(self._secret, values)
        return json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode()

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        request_id = None
        try:
            if path not in _REQUESTS:
                raise _Refused(404, BAD_REQUEST, f"no such endpoint {path}")
            if environ.get("REQUEST_METHOD") != "POST":
                raise _Refused(405, BAD_REQUEST, "use POST")
            if self.faults.latency:
                time.sleep(self.faults.latency)
            body = _read_json(environ)
            request_id = body.get("MaYeuCau")
            if path != TOKEN_PATH:
                failure = self.injector.next_failure()
                if failure:
                    return _send(start_response, failure.status, failure.body, failure.headers)
                if not self._use_session(environ.get("HTTP_AUTHORIZATION")):
                    raise _Refused(401, TOKEN_EXPIRED, "token expired or unknown")
            self._check_request(body, _REQUESTS[path])
            if path == TOKEN_PATH:
                return _send(start_response, 200, self._token(body))
            if path == TRANSACTIONS_PATH:
                return _send(start_response, 200, self._transactions(body))
            return _send(start_response, 200, self._statements(body))
        except _Refused as exc:
            reply = {
                "MaKetQua": exc.code,
                "MoTa": exc.message,
                "MaYeuCau": request_id if isinstance(request_id, str) else None,
            }
            return _send(
                start_response, exc.status, self._sign_reply(reply, ("MaKetQua", "MaYeuCau"))
            )

    def _check_request(self, body: dict[str, Any], order: tuple[str, ...]) -> None:
        if body.get("MaDoiTac") != self._partner:
            raise _Refused(401, BAD_PARTNER, "unknown partner (MaDoiTac)")
        request_id = body.get("MaYeuCau")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= 64:
            raise _Refused(400, BAD_REQUEST, "MaYeuCau must be a string of 1..64 characters")
        sent = _stamp(body, "ThoiGian")
        if abs(sent.timestamp() - self.clock()) > CLOCK_SKEW:
            raise _Refused(400, STALE, "ThoiGian is more than 5 minutes from the gateway's clock")
        if not checksum.valid(self._secret, body, order):
            raise _Refused(401, BAD_CHECKSUM, "request checksum (ChuKy) does not match")

    def _use_session(self, header: object) -> bool:
        """Count one call against the token; False once unknown or past its lifetime."""
        if not isinstance(header, str) or not header.startswith("Bearer "):
            return False
        token = header[len("Bearer ") :].strip()
        with self._lock:
            used = self._sessions.get(token)
            if used is None:
                return False
            if self.faults.session_ttl and used >= self.faults.session_ttl:
                del self._sessions[token]
                return False
            self._sessions[token] = used + 1
            return True

    # -- operations ----------------------------------------------------------------------------
    def _token(self, body: dict[str, Any]) -> bytes:
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions[token] = 0
            while len(self._sessions) > 10_000:  # forget the oldest tokens of a busy client
                del self._sessions[next(iter(self._sessions))]
        reply = {"MaKetQua": OK, "MoTa": "Thành công", "MaYeuCau": body["MaYeuCau"], "Token": token}
        return self._sign_reply(reply, ("MaKetQua", "MaYeuCau", "Token"))

    def _transactions(self, body: dict[str, Any]) -> bytes:
        page, size = _number(body, "Trang", 1, None), _number(body, "SoBanGhi", 1, MAX_PAGE_SIZE)
        start, end = _stamp(body, "TuThoiGian"), _stamp(body, "DenThoiGian")
        if start > end:
            raise _Refused(400, BAD_REQUEST, "TuThoiGian is after DenThoiGian")
        low = bisect_left(self._cursors, body["TuThoiGian"])
        high = bisect_left(self._cursors, body["DenThoiGian"])
        first = low + (page - 1) * size
        data = self._rows[first : min(first + size, high)] if first < high else []
        repeat = (
            self.injector.repeat_count(
                "giao-dich", body["TuThoiGian"], body["DenThoiGian"], page, size
            )
            if data
            else 0
        )
        if repeat and first > low:  # a shifting source: the previous page's tail comes again
            data = self._rows[max(low, first - repeat) : first] + data
        total = high - low
        reply = {
            "MaKetQua": OK,
            "MoTa": "Thành công",
            "MaYeuCau": body["MaYeuCau"],
            "Trang": page,
            "SoBanGhi": size,
            "TongSoBanGhi": total,
            "TongSoTrang": -(-total // size),
            "DuLieu": data,
        }
        order = ("MaKetQua", "MaYeuCau", "Trang", "SoBanGhi", "TongSoBanGhi", "TongSoTrang")
        return self._sign_reply(reply, order, data)

    def _statements(self, body: dict[str, Any]) -> bytes:
        start, end = _day(body, "TuNgay"), _day(body, "DenNgay")
        if start > end or (end - start).days >= MAX_STATEMENT_DAYS:
            raise _Refused(400, BAD_REQUEST, "TuNgay..DenNgay must be 1..31 days")
        low = bisect_left(self._days, body["TuNgay"])
        high = bisect_right(self._days, body["DenNgay"])
        files = self._files[low:high]
        reply = {
            "MaKetQua": OK,
            "MoTa": "Thành công",
            "MaYeuCau": body["MaYeuCau"],
            "TuNgay": body["TuNgay"],
            "DenNgay": body["DenNgay"],
            "DanhSachSaoKe": files,
        }
        return self._sign_reply(reply, ("MaKetQua", "MaYeuCau", "TuNgay", "DenNgay"), files)


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _Refused(400, BAD_REQUEST, "body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refused(400, BAD_REQUEST, "body is not a JSON object")
    return body


def _number(body: dict[str, Any], name: str, low: int, high: int | None) -> int:
    value = body.get(name)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"{low}..{high}" if high else f">= {low}"
        raise _Refused(400, BAD_REQUEST, f"{name} must be an integer {bounds}")
    return value


def _stamp(body: dict[str, Any], name: str) -> datetime:
    value = body.get(name)
    try:
        if not isinstance(value, str) or not _STAMP.fullmatch(value):
            raise ValueError(value)
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=TZ)
    except ValueError:
        raise _Refused(400, BAD_REQUEST, f"{name} must be yyyyMMddHHmmss") from None


def _day(body: dict[str, Any], name: str) -> date:
    value = body.get(name)
    try:
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise ValueError(value)
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise _Refused(400, BAD_REQUEST, f"{name} must be yyyyMMdd") from None


def _send(
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
    partner: str = "demo",
    secret: str = "demo-secret",  # noqa: S107 - the stand-in's demo secret
    clock: Callable[[], float] = time.time,
) -> VietinbankApp:
    """The stand-in over ``dataset``; ``faults.malformed_rate`` corrupts a fixed subset of it and
    ``faults.bad_signature_rate`` signs a fixed subset of its payments wrongly."""
    return VietinbankApp(dataset, faults, partner, secret, clock)
