"""The landing store: raw pages of one source window, archived so a load can be replayed.

`extract` writes a window's pages here and `load` reads them back, so re-running a load never
calls the remote system again. Any fsspec URL works (a local folder by default, S3 in
production); Airflow passes its ObjectStoragePath, the CLI a UPath — both are pathlib-like.

Layout: `<base>/<source>/<window>/<stream>/page-000001.json.gz` and `<base>/<source>/<window>/
_manifest.json`, written last: a window without a manifest is an incomplete extract and cannot
be loaded. Pages hold records after the stream's redaction (ID numbers replaced by their keyed
hash, names and certificate content dropped): raw personal data never lands.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from upath import UPath

from connectors.base import Window

MANIFEST = "_manifest.json"


class LandingError(RuntimeError):
    """The landing store cannot serve a window (missing, incomplete or corrupted)."""


def landing_root(url: str | None = None) -> UPath:
    """The store's root from a URL or path (default: LIENTHONG_LANDING_URL, else var/landing)."""
    return UPath(url or os.environ.get("LIENTHONG_LANDING_URL") or "var/landing")


def _stamp(instant: datetime) -> str:
    return instant.strftime("%Y%m%dT%H%M%S%z")


def window_key(window: Window) -> str:
    return f"{_stamp(window.start)}--{_stamp(window.end)}"


@dataclass
class StreamManifest:
    pages: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    records: int = 0


class WindowWriter:
    """Writes one window's pages; `commit()` writes the manifest that makes them loadable."""

    def __init__(self, root: Any, source: str, window: Window) -> None:
        self.dir = root / source / window_key(window)
        self.window = window
        self.streams: dict[str, StreamManifest] = {}
        # Re-extracting a window replaces it: stale pages must not mix with fresh ones.
        if self.dir.exists():
            _remove_tree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    def write_page(self, stream: str, records: list[dict[str, Any]]) -> None:
        manifest = self.streams.setdefault(stream, StreamManifest())
        name = f"{stream}/page-{len(manifest.pages) + 1:06d}.json.gz"
        body = gzip.compress(
            json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0
        )
        (self.dir / stream).mkdir(parents=True, exist_ok=True)
        (self.dir / name).write_bytes(body)
        manifest.pages.append(name)
        manifest.digests.append(hashlib.sha256(body).hexdigest())
        manifest.records += len(records)

    def commit(self) -> dict[str, Any]:
        doc = {
            "window": [self.window.start.isoformat(), self.window.end.isoformat()],
            "streams": {k: vars(v) for k, v in self.streams.items()},
        }
        (self.dir / MANIFEST).write_text(json.dumps(doc, indent=1))
        return doc


def read_window(root: Any, source: str, window: Window) -> dict[str, Any]:
    """The manifest of a window; LandingError when it was never (completely) extracted."""
    path = root / source / window_key(window) / MANIFEST
    if not path.exists():
        raise LandingError(
            f"no complete extract of {source} for {window_key(window)} in {root}: run extract first"
        )
    return json.loads(path.read_text())


def read_pages(root: Any, source: str, window: Window, stream: str) -> Iterator[list[dict]]:
    """The stream's pages in order, each checked against the manifest's digest."""
    manifest = read_window(root, source, window)["streams"].get(stream)
    if manifest is None:
        return
    base = root / source / window_key(window)
    for name, digest in zip(manifest["pages"], manifest["digests"], strict=True):
        body = (base / name).read_bytes()
        if hashlib.sha256(body).hexdigest() != digest:
            raise LandingError(f"landing page {name} of {source} does not match its manifest")
        yield json.loads(gzip.decompress(body))


def _remove_tree(path: Any) -> None:
    if hasattr(path, "fs"):  # UPath / ObjectStoragePath: fsspec-backed
        path.rmdir(recursive=True)
    else:
        import shutil

        shutil.rmtree(path)
