"""Helpers for the rendering checks: the external tools (skipped only outside CI) and a small
PNG reader (zlib and the five PNG filters, no imaging library)."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def tool(*names: str, install: str) -> str:
    """The first of `names` on PATH; a missing tool fails in CI and skips elsewhere."""
    for name in names:
        if path := shutil.which(name):
            return path
    message = f"{names[0]} is not installed ({install})"
    if in_ci():
        pytest.fail(f"{message}: CI installs it in .ci/run", pytrace=False)
    pytest.skip(message)


def png_colours(path: Path, max_rows: int = 700) -> tuple[int, int, set[tuple[int, ...]]]:
    """(width, height, the distinct pixel colours of the first `max_rows` rows) of an 8-bit
    RGB/RGBA, non-interlaced PNG — what a browser screenshot is."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    if header is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}")
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = zlib.decompressobj().decompress(bytes(idat), (stride + 1) * min(height, max_rows))
    previous = bytearray(stride)
    colours: set[tuple[int, ...]] = set()
    for y in range(min(height, max_rows)):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        _unfilter(kind, line, previous, bpp)
        colours.update(zip(*(line[i::bpp] for i in range(3)), strict=True))
        previous = line
    return width, height, colours


def _unfilter(kind: int, line: bytearray, prior: bytearray, bpp: int) -> None:
    if kind == 0:
        return
    if kind == 2:  # Up
        for i in range(len(line)):
            line[i] = (line[i] + prior[i]) & 0xFF
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:  # Sub
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:  # Average
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            up, corner = prior[i], prior[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + pred) & 0xFF
        else:
            raise ValueError(f"bad PNG filter {kind}")
