"""Checksums of the Vietinbank fee gateway (docs/vietinbank_api.md): HMAC-SHA256, lowercase hex,
over a message's fields rendered as text and joined with `|` in the contract's fixed order."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SEPARATOR = "|"
# `|` separates fields, `;` fee lines and `,` the values inside a fee line or a list of
# checksums; `%` is the escape itself. Escaping them means no value can move a field boundary
# (e.g. a fee name ending in "|0" cannot pose as the next field).
_ESCAPE = str.maketrans({"%": "%25", "|": "%7C", ";": "%3B", ",": "%2C"})

# The fields of each signed message, in signing order.
TOKEN_REQUEST = ("MaDoiTac", "MaYeuCau", "ThoiGian")
TOKEN_REPLY = ("MaKetQua", "MaYeuCau", "Token")
TRANSACTIONS_REQUEST = (
    "MaDoiTac",
    "MaYeuCau",
    "ThoiGian",
    "TuThoiGian",
    "DenThoiGian",
    "Trang",
    "SoBanGhi",
)
TRANSACTIONS_REPLY = ("MaKetQua", "MaYeuCau", "Trang", "SoBanGhi", "TongSoBanGhi", "TongSoTrang")
STATEMENTS_REQUEST = ("MaDoiTac", "MaYeuCau", "ThoiGian", "TuNgay", "DenNgay")
STATEMENTS_REPLY = ("MaKetQua", "MaYeuCau", "TuNgay", "DenNgay")
ERROR_REPLY = ("MaKetQua", "MaYeuCau")
TRANSACTION = (
    "MaGiaoDich",
    "LoaiGiaoDich",
    "MaGiaoDichGoc",
    "MaHoSo",
    "MaDonViThuHuong",
    "SoTien",
    "LoaiTien",
    "ThoiGianGiaoDich",
    "MaKetQua",
    "DanhSachPhiLePhi",
    "ThoiGianCapNhat",
)
FEE_LINE = ("LoaiPhiLePhi", "MaPhiLePhi", "TenPhiLePhi", "SoTien")
STATEMENT_FILE = ("NgaySaoKe", "TenTep", "ThoiGianLap", "BamTep")
CHECKSUM = "ChuKy"  # the field every signed message carries its checksum in


def render(value: Any) -> str:
    """One field as signed text: absent = empty, integers in decimal, anything else as JSON."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:  # a malformed value is still signed as sent, so the mapping can reject it precisely
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.translate(_ESCAPE)


def render_fee_lines(lines: Any) -> str:
    """The fee list: each line's fields joined by `,`, lines joined by `;`, in source order."""
    if not isinstance(lines, list) or not all(isinstance(line, Mapping) for line in lines):
        return render(lines)
    return ";".join(",".join(render(line.get(k)) for k in FEE_LINE) for line in lines)


def render_list(values: Iterable[Any]) -> str:
    """A list of values (the checksums of a reply's rows) joined by `,`."""
    return ",".join(render(v) for v in values)


def fields(message: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    """The rendered fields of ``message`` in ``order`` (the fee list rendered as such)."""
    return [
        render_fee_lines(message.get(k)) if k == "DanhSachPhiLePhi" else render(message.get(k))
        for k in order
    ]


def checksum(secret: bytes, parts: Sequence[str]) -> str:
    """HMAC-SHA256 of the `|`-joined, already rendered ``parts``, as lowercase hex."""
    return hmac.new(secret, SEPARATOR.join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def matches(secret: bytes, parts: Sequence[str], signature: Any) -> bool:
    """True when ``signature`` is the checksum of ``parts``; compared in constant time."""
    if not isinstance(signature, str) or not signature:
        return False
    expected = checksum(secret, parts).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("utf-8", errors="replace"))


def file_digest(content: str) -> str:
    """SHA-256 hex of a statement file's UTF-8 bytes (its `BamTep`)."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def matches_digest(content: str, digest: Any) -> bool:
    """True when ``digest`` is the SHA-256 of ``content``; compared in constant time."""
    if not isinstance(digest, str) or not digest:
        return False
    return hmac.compare_digest(
        file_digest(content).encode("ascii"), digest.encode("utf-8", errors="replace")
    )
