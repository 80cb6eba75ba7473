"""The repository stands on its own: nothing in it points at a file outside the clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A path that climbs out of the repository into a sibling folder, e.g. "../shared/DOMAIN.md".
OUTSIDE = re.compile(r"\.\./(?:\.\./)*shared\b|\bshared/DOMAIN|\bshared/STYLE|\bDOMAIN\.md\b")


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ""}:
            continue
        if not path.is_file() or path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [
            f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)
        ]
    assert offenders == []


def test_the_domain_document_is_in_the_repository() -> None:
    text = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    for section in ("Counting rules", "Due dates and the working-day calendar", "Decision 766"):
        assert section in text
