"""Dated code lists, loaded from the TOML files beside this module."""

from __future__ import annotations

import bisect
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

_DIR = Path(__file__).parent


class UnknownCode(LookupError):
    """A source code that its code list does not define (a rejection, never a guess)."""


@dataclass(frozen=True)
class CodeList:
    """One kind of code of one source, as versions valid from a date on."""

    kind: str
    starts: tuple[date, ...]
    maps: tuple[dict[str, object], ...]

    def lookup(self, code: object, on: date | None = None) -> object:
        """Canonical value of a source code under the version in force on `on` (default: latest)."""
        if len(self.maps) == 1:  # one version: nothing to choose (most lists)
            table = self.maps[0]
        else:
            i = len(self.starts) - 1 if on is None else bisect.bisect_right(self.starts, on) - 1
            # A date before the first version still uses the first one: the oldest rules we know.
            table = self.maps[max(i, 0)]
        key = code.strip() if type(code) is str else str(code).strip()
        if key not in table:
            raise UnknownCode(f"unknown {self.kind} code {code!r}")
        return table[key]


@cache
def load(source: str) -> dict[str, CodeList]:
    """All code lists of a source (`mappings/codes/<source>.toml`), keyed by kind."""
    with (_DIR / f"{source}.toml").open("rb") as fh:
        doc = tomllib.load(fh)
    lists: dict[str, CodeList] = {}
    for kind, versions in doc.items():
        versions = sorted(versions, key=lambda v: v["valid_from"])
        lists[kind] = CodeList(
            kind=kind,
            starts=tuple(v["valid_from"] for v in versions),
            maps=tuple(
                {str(k): val for k, val in (v.get("map") or v.get("names")).items()}
                for v in versions
            ),
        )
    return lists


def name_of(kind: str, code: object, on: date | None = None) -> str:
    """Vietnamese name of a canonical code (national lists), for reports."""
    return str(load("national")[kind].lookup(code, on))
