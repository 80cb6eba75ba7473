"""The landing store: raw pages of one source window, archived so a load can be replayed.

`extract` writes a window's pages here and `load` reads them back, so re-running a load never
calls the remote system again. Any fsspec URL works (a local folder by default, S3 in
production); Airflow passes its ObjectStoragePath, the CLI a UPath — both are pathlib-like.

Layout: `<base>/<source>/<window>/<stream>/page-000001.json.gz` and `<base>/<source>/<window>/
_manifest.json`, written last: a window without a manifest is an incomplete extract and cannot
be loaded. Pages hold records after the stream's redaction (ID numbers replaced by their keyed
hash, names and certificate content dropped): raw personal data never lands.

Write access to the store must not be enough to change what loads: the manifest lists each
page's SHA-256 and carries an HMAC-SHA256 over its whole content under LIENTHONG_LANDING_KEY,
a key the store never holds. `read_pages` checks the MAC, the folder's listing and each page's
digest as it reads them; an edited, added, removed or substituted page, or an edited manifest,
raises `LandingIntegrityError`.

A reply that breaks the contract fails its batch; the page is kept for diagnosis under
`<base>/_diagnosis/<source>/<stream>/<UTC time>.json`, redacted the same way (and ID-like digit
runs masked wherever they are, since a broken contract may have moved a field); a SOAP reply
as its XML structure with values replaced by their shape (`connectors.xml_shape`).
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from upath import UPath

from connectors.base import Window
from connectors.errors import ContractError, PageShape, is_secret_key
from lienthong import settings
from lienthong.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
MANIFEST_FORMAT = 2  # 2: authenticated (format 1 had no MAC and is refused)
KEY_VARIABLE = settings.LANDING_KEY_VARIABLE
# Domain separation: a MAC of a manifest can never be taken for any other HMAC under the key.
_MAC_LABEL = b"lienthong landing manifest v2\n"
DIAGNOSIS = "_diagnosis"
# CMND 9, CCCD 12, tax code 10 or 13 digits; 14-digit yyyyMMddHHmmss stamps are left alone.
_ID_LIKE = re.compile(r"(?<!\d)\d{9,13}(?!\d)")
_HASHED = re.compile(r"hmac:[0-9a-f]{64}")  # an ID number already replaced by its keyed hash
_LONG_TEXT = 2000


class LandingError(RuntimeError):
    """The landing store cannot serve a window (missing, incomplete or corrupted)."""


class LandingIntegrityError(LandingError):
    """The window's content fails verification: a page or the manifest was edited, added,
    removed or substituted, or written under another key. Never retried, never loaded."""


def landing_key(environ: Mapping[str, str] = os.environ) -> bytes:
    """The MAC key of the store's manifests, from the settings (a secret store in production).

    There is no fallback: `make demo` and `make test` set a demo-only value themselves.
    """
    return settings.load(environ).require_landing_key()


def manifest_mac(key: bytes, document: Mapping[str, Any]) -> str:
    """HMAC-SHA256 of a manifest's content (every field but the MAC, canonical JSON): the page
    names and digests, record counts, source and window."""
    content = {k: v for k, v in document.items() if k != "mac"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, _MAC_LABEL + canonical.encode(), hashlib.sha256).hexdigest()


def landing_root(url: str | None = None, chosen: Settings | None = None) -> UPath:
    """The store's root from a URL or path (default: LIENTHONG_LANDING_URL from ``chosen``, the
    settings, else the folder `landing` in LIENTHONG_VAR_DIR — the same store the DAGs use)."""
    if url:
        return UPath(url)
    return UPath((chosen or settings.load()).landing_store_url())


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

    def __init__(self, root: Any, source: str, window: Window, key: bytes) -> None:
        self.dir = root / source / window_key(window)
        self.source = source
        self.window = window
        self._key = key
        self.streams: dict[str, StreamManifest] = {}
        # Re-extracting a window replaces it: stale pages must not mix with fresh ones.
        if self.dir.exists():
            _remove_tree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    def write_page(self, stream: str, records: list[dict[str, Any]]) -> None:
        manifest = self.streams.setdefault(stream, StreamManifest())
        name = f"{stream}/page-{len(manifest.pages) + 1:06d}.json.gz"
        text = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
        # A lone surrogate (valid JSON, e.g. "\udc80") is written as JSON's own escape: the page
        # decodes to the same records, and one record cannot fail the extract.
        body = gzip.compress(text.encode("utf-8", "backslashreplace"), mtime=0)
        (self.dir / stream).mkdir(parents=True, exist_ok=True)
        (self.dir / name).write_bytes(body)
        manifest.pages.append(name)
        manifest.digests.append(hashlib.sha256(body).hexdigest())
        manifest.records += len(records)

    def commit(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "source": self.source,
            "window_key": window_key(self.window),
            "window": [self.window.start.isoformat(), self.window.end.isoformat()],
            "streams": {k: vars(v) for k, v in self.streams.items()},
        }
        doc["mac"] = manifest_mac(self._key, doc)
        (self.dir / MANIFEST).write_text(json.dumps(doc, indent=1))
        return doc


def require_extract(root: Any, source: str, window: Window) -> None:
    """LandingError when the window was never (completely) extracted: nothing to verify yet."""
    if not (root / source / window_key(window) / MANIFEST).exists():
        raise LandingError(
            f"no complete extract of {source} for {window_key(window)} in {root}: run extract first"
        )


def read_window(root: Any, source: str, window: Window, key: bytes | None = None) -> dict[str, Any]:
    """The window's manifest, verified: its MAC under ``key`` (default: LIENTHONG_LANDING_KEY),
    and that it is this source's and this window's. LandingError when there is none."""
    require_extract(root, source, window)
    key = key if key is not None else landing_key()
    where = f"{source} {window_key(window)}"
    try:
        doc = json.loads((root / source / window_key(window) / MANIFEST).read_text())
    except (OSError, ValueError, RecursionError) as exc:  # a crafted file, not a traceback
        raise LandingIntegrityError(
            f"the landing manifest of {where} is unreadable: {exc}"
        ) from None
    mac = doc.get("mac") if isinstance(doc, dict) else None
    if not isinstance(mac, str):
        raise LandingIntegrityError(
            f"the landing manifest of {where} carries no MAC (edited, or written before "
            "manifests were authenticated): refused; run extract again"
        )
    if not hmac.compare_digest(manifest_mac(key, doc).encode(), mac.encode("utf-8", "replace")):
        raise LandingIntegrityError(
            f"the landing manifest of {where} does not verify under {KEY_VARIABLE}: it was "
            "edited or substituted, or written with another key; refused"
        )
    # Authentic, but perhaps another window's manifest copied here: it must name this one.
    if doc.get("source") != source or doc.get("window_key") != window_key(window):
        raise LandingIntegrityError(
            f"the landing manifest of {where} belongs to {doc.get('source')} "
            f"{doc.get('window_key')}: substituted; refused"
        )
    return doc


def read_pages(
    root: Any, source: str, window: Window, stream: str, key: bytes | None = None
) -> Iterator[list[dict]]:
    """The stream's pages in order, verified where they are read: the manifest's MAC first,
    then the stream's folder against the manifest's list, then each page against its digest
    as it is read. Lazy: nothing is checked (or raised) before the first page is asked for,
    so the failure lands inside the load batch that asked, and in its audit row."""
    manifest = read_window(root, source, window, key)["streams"].get(stream) or {}
    names, digests = list(manifest.get("pages", [])), list(manifest.get("digests", []))
    base = root / source / window_key(window)
    where = f"{source} {window_key(window)}"
    if len(names) != len(digests):
        raise LandingIntegrityError(f"the landing manifest of {where} lists {stream} unevenly")
    folder = base / stream
    present = {f"{stream}/{p.name}" for p in folder.iterdir()} if folder.exists() else set()
    if extra := sorted(present - set(names)):
        raise LandingIntegrityError(
            f"landing page {extra[0]} of {where} is not in the manifest: added; refused"
        )
    for name, digest in zip(names, digests, strict=True):
        try:
            body = (base / name).read_bytes()
        except FileNotFoundError:
            raise LandingIntegrityError(
                f"landing page {name} of {where} is listed in the manifest but missing: refused"
            ) from None
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), str(digest)):
            raise LandingIntegrityError(
                f"landing page {name} of {where} does not match its manifest: edited or "
                "substituted; refused"
            )
        yield json.loads(gzip.decompress(body))


def _remove_tree(path: Any) -> None:
    if hasattr(path, "fs"):  # UPath / ObjectStoragePath: fsspec-backed
        path.rmdir(recursive=True)
    else:
        import shutil

        shutil.rmtree(path)


def keep_offending_page(
    root: Any,
    source: str,
    stream: str,
    window: Window | None,
    error: ContractError,
    redact: Callable[[Any], Any] | None,
) -> None:
    """Keep the page of a contract-breaking reply, redacted, and make ``error`` name the file.

    ``redact`` is the stream's redaction of one record. The raw page leaves the error here.
    Failing to write is logged, never raised: the contract error is what the operator must see.
    """
    page, error.page = error.page, None
    stamp = datetime.now(UTC)
    document = {
        "source": source,
        "stream": stream,
        "window": [window.start.isoformat(), window.end.isoformat()] if window else None,
        # The message without the reply's excerpt: the page itself is here, redacted.
        "error": _masked(error.message),
        "kept_at": stamp.isoformat(),
        "page": redacted_page(page, redact),
    }
    if page is None:
        document["note"] = "the reply was not decoded; its raw text is not kept (not redactable)"
    path = root / DIAGNOSIS / source / stream / f"{stamp.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1, default=str))
    except (OSError, ValueError) as exc:
        log.warning("could not keep the offending page of %s.%s: %s", source, stream, exc)
        return
    error.kept_at = str(path)


def redacted_page(page: Any, redact: Callable[[Any], Any] | None) -> Any:
    """A decoded reply fit to keep: every object in it redacted as a record of its stream.

    Rows (objects in a list, or an object where a list was expected) go through ``redact``
    whole; the reply's own top-level values, in case a record came flattened into it, too.
    Credentials are masked by key, and any 9-13 digit run left anywhere (an ID number under a
    name the redaction does not know) is masked.

    A ``PageShape`` (a SOAP reply's structure, its values replaced by their shape) holds no
    record to redact: it is kept as it is, ID-like digit runs masked all the same.
    """
    if isinstance(page, PageShape):
        return _masked(dict(page))
    if isinstance(page, Mapping):
        scalars: dict[str, Any] = {}
        nested: dict[str, Any] = {}
        for key, value in page.items():
            name = str(key)
            if is_secret_key(name):
                scalars[name] = "***"
            elif isinstance(value, Mapping | list):
                nested[name] = _records(value, redact)
            else:
                scalars[name] = value
        if scalars:
            scalars = _record(scalars, redact)
        return _masked({**scalars, **nested}) if isinstance(scalars, Mapping) else _masked(nested)
    if isinstance(page, list):
        return _records(page, redact)
    return None


def _records(value: Any, redact: Callable[[Any], Any] | None) -> Any:
    if isinstance(value, list):
        return [_records(item, redact) for item in value]
    if isinstance(value, Mapping):
        return _record(value, redact)
    return _masked(value)


def _record(record: Mapping, redact: Callable[[Any], Any] | None) -> Any:
    try:
        clean = redact(record) if redact is not None else record
    except Exception:  # noqa: BLE001 - a record its redaction cannot read is not kept at all
        return {"unreadable_record": type(record).__name__}
    return _masked(clean)


def _masked(value: Any) -> Any:
    """Credentials by key and ID-like digit runs anywhere (keys too) masked; long text cut."""
    if isinstance(value, Mapping):
        return {
            _masked_text(str(k)): "***" if is_secret_key(str(k)) else _masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        text = repr(abs(value))
        return _masked_text(repr(value)) if _ID_LIKE.search(text) else value
    return _masked_text(value if isinstance(value, str) else repr(value))


def _masked_text(text: str) -> str:
    if _HASHED.fullmatch(text):
        return text
    text = _ID_LIKE.sub(lambda m: f"<{len(m.group())} digits>", text)
    return text if len(text) <= _LONG_TEXT else text[: _LONG_TEXT - 1] + "…"
