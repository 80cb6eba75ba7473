"""The gateway's side of the checksum rules of docs/vietinbank_api.md, written apart from the
connector's (connectors/signing.py) so that the stand-in checks the connector against the
contract rather than against itself."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

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
_SPECIAL = str.maketrans({"%": "%25", "|": "%7C", ";": "%3B", ",": "%2C"})


def text(value: Any) -> str:
    if value is None:
        raw = ""
    elif isinstance(value, str):
        raw = value
    elif isinstance(value, int) and not isinstance(value, bool):
        raw = str(value)
    else:
        raw = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return raw.translate(_SPECIAL)


def fee_lines(lines: Any) -> str:
    if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
        return text(lines)
    return ";".join(",".join(text(line.get(k)) for k in FEE_LINE) for line in lines)


def sign(secret: bytes, values: list[str]) -> str:
    """HMAC-SHA256 hex of already rendered values joined with `|`."""
    return hmac.new(secret, "|".join(values).encode(), hashlib.sha256).hexdigest()


def sign_fields(secret: bytes, message: dict[str, Any], order: tuple[str, ...]) -> str:
    return sign(
        secret,
        [
            fee_lines(message.get(k)) if k == "DanhSachPhiLePhi" else text(message.get(k))
            for k in order
        ],
    )


def valid(secret: bytes, message: dict[str, Any], order: tuple[str, ...]) -> bool:
    given = message.get("ChuKy")
    return isinstance(given, str) and hmac.compare_digest(
        sign_fields(secret, message, order).encode(), given.encode("utf-8", "replace")
    )


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()
