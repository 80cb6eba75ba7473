"""Every package-data entry of pyproject.toml names files that exist: an entry that matches
nothing ships nothing and hides which files the code really opens at run time."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_data_pattern_matches_a_file():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = declared["tool"]["setuptools"]["package-data"]
    assert package_data  # the walk below checks something
    empty = [
        f"{package}: {pattern}"
        for package, patterns in package_data.items()
        for pattern in patterns
        if not any(path.is_file() for path in (ROOT / package).glob(pattern))
    ]
    assert empty == []
