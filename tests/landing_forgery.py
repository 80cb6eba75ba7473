"""What an attacker with write access to the landing store does to a fee gateway window: append a
payment to a landed page, and make the manifest agree as far as they can (shared by the CLI, the
pipeline and the DAG tests)."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from connectors.base import Window
from lienthong import landing

FORGED_ID = "VTB-FORGED-0000001"
FORGED_AMOUNT = 999_000_000


def window_dir(root: Any, window: Window, source: str = "vietinbank") -> Any:
    return root / source / landing.window_key(window)


def read_manifest(root: Any, window: Window) -> dict[str, Any]:
    return json.loads((window_dir(root, window) / landing.MANIFEST).read_text())


def write_manifest(root: Any, window: Window, manifest: dict[str, Any]) -> None:
    (window_dir(root, window) / landing.MANIFEST).write_text(json.dumps(manifest, indent=1))


def forged_payment(genuine: dict[str, Any], dossier_number: str) -> dict[str, Any]:
    """A landed transaction turned into a 999,000,000 VND payment for ``dossier_number``, with
    a signature of 64 zeros and the verdict extract once wrote into pages."""
    return {
        **genuine,
        "MaGiaoDich": FORGED_ID,
        "LoaiGiaoDich": "THANH_TOAN",
        "MaGiaoDichGoc": "",
        "MaHoSo": dossier_number,
        "SoTien": FORGED_AMOUNT,
        "MaKetQua": "00",
        "DanhSachPhiLePhi": [
            {
                "LoaiPhiLePhi": "2",
                "MaPhiLePhi": "LP1",
                "TenPhiLePhi": "Lệ phí",
                "SoTien": 999_000_000,
            }
        ],
        "ChuKy": "0" * 64,
        "_lienthong_signature": "valid",
    }


def forge_payment(
    root: Any, window: Window, dossier_number: str, *, mac_key: bytes | None = None
) -> str:
    """Append the forged payment to the first landed transactions page and recompute that
    page's plain SHA-256 in the manifest, as an attacker would. With ``mac_key`` (an insider
    who also holds LIENTHONG_LANDING_KEY) the manifest's MAC is recomputed too."""
    manifest = read_manifest(root, window)
    stream = manifest["streams"]["transactions"]
    name = stream["pages"][0]
    path = window_dir(root, window) / name
    records = json.loads(gzip.decompress(path.read_bytes()))
    records.append(forged_payment(records[0], dossier_number))
    body = gzip.compress(json.dumps(records, ensure_ascii=False).encode(), mtime=0)
    path.write_bytes(body)
    stream["digests"][0] = hashlib.sha256(body).hexdigest()
    stream["records"] += 1
    if mac_key is not None:
        manifest["mac"] = landing.manifest_mac(mac_key, manifest)
    write_manifest(root, window, manifest)
    return name
