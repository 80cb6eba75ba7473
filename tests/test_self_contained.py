"""The repository stands on its own: nothing in it points at a file outside the clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".ini", ".env", ""}
# A relative path that climbs one folder or more (a dot-dot-slash prefix).
CLIMBING = re.compile(r"(?<![\w./])((?:\.\./)+[\w.-]+(?:/[\w.-]+)*)")


def _outside(path: str, start: Path) -> bool:
    """True unless ``path``, read from ``start`` or from the repository's root, is a file or
    folder of the clone (a climbing path to nothing here points at something a clone lacks)."""
    for base in (start, ROOT):
        target = (base / path).resolve()
        if target.is_relative_to(ROOT) and target.exists():
            return False
    return True


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in TEXT or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            offenders += [
                f"{name}:{number}: {found}"
                for found in CLIMBING.findall(line)
                if _outside(found, path.parent)
            ]
    assert offenders == []


def test_a_path_out_of_the_clone_is_found() -> None:
    line = "see " + "../" + "elsewhere/NOTES.md"  # built here so this file names no such path
    assert [p for p in CLIMBING.findall(line) if _outside(p, ROOT / "docs")]
    assert not [p for p in CLIMBING.findall("see ../README.md") if _outside(p, ROOT / "docs")]
    # Climbing from deep inside to a name the clone does not have is outside too.
    assert _outside("../" + "elsewhere/NOTES.md", ROOT / "warehouse" / "reports")


def test_the_domain_document_is_in_the_repository() -> None:
    text = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    for section in ("Counting rules", "Due dates and the working-day calendar", "Decision 766"):
        assert section in text
