"""The documentation stays true to the repository: the tests it names exist, its links lead
somewhere, the README stays a front door, and its configuration table names every variable the
product reads."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS, ROOT / "dags" / "README.md"]
README_MAX_LINES = 220

# `tests/x/test_y.py::test_z`, `tests/x/test_y.py::TestClass::test_z`, `...::test_z[sqlite]`
CITED_TEST = re.compile(r"(tests/[\w/]+\.py)((?:::\w+)+)(?:\[[^\]\s`]*\])?")
CITED_FILE = re.compile(r"`(tests/[\w/]+\.py)`")
# [text](target): inline links; images too. Not a URL, not a bare in-page anchor.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# A variable name as the code spells it, not the tail of AIRFLOW_CONN_LIENTHONG_<SOURCE>.
VARIABLE = re.compile(r"(?<![A-Z0-9_])LIENTHONG_[A-Z0-9_]*[A-Z0-9]")
# Folders that are not the product: tests, the benchmark, virtual environments, build output.
NOT_PRODUCT = {"tests", "bench", "docs", "var", "build", "dist"}


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


@cache
def _test_names(path: Path) -> frozenset[str]:
    """Every `test_*` function of a test module, and `Class::method` for its test classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):  # test_x = some_factory(...)
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(names)


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@cache
def _anchors(page: Path) -> frozenset[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return frozenset(_slug(m.group(1)) for m in re.finditer(r"^#{1,6} +(.+?) *$", text, re.M))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_cited_test_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = []
    for match in CITED_TEST.finditer(text):
        module, test = ROOT / match.group(1), match.group(2).removeprefix("::")
        if not module.is_file():
            missing.append(f"{match.group(0)}: no file {match.group(1)}")
        elif test not in _test_names(module):
            missing.append(f"{match.group(0)}: no test {test} in {match.group(1)}")
    missing += [
        f"{m.group(1)}: no such file"
        for m in CITED_FILE.finditer(text)
        if not (ROOT / m.group(1)).is_file()
    ]
    assert missing == []


def test_the_guarantees_cite_their_tests() -> None:
    # The parser above must find what it checks: a page of guarantees citing nothing would pass.
    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    assert len(CITED_TEST.findall(text)) >= 80


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_leads_to_a_file_and_its_heading(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {_name(linked)}")
    assert broken == []


def test_the_readme_stays_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines"


def _product_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not any(
            part in NOT_PRODUCT or part.startswith(".") or part.endswith(".egg-info")
            for part in path.relative_to(ROOT).parts[:-1]
        )
    ]


def _configuration_table() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_the_configuration_table_names_every_variable_the_product_reads() -> None:
    read = {
        name
        for path in _product_files()
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    assert "LIENTHONG_PSEUDONYM_KEY" in read  # the scan sees the product
    named = set(VARIABLE.findall(_configuration_table()))
    assert sorted(read - named) == []


def test_the_configuration_table_names_no_variable_nothing_reads() -> None:
    # A renamed or removed variable must leave the table too: every name in it is read by the
    # product, the tests or the make targets.
    sources = [*_product_files(), *(ROOT / "tests").rglob("*.py"), ROOT / "Makefile"]
    read = {name for path in sources for name in VARIABLE.findall(path.read_text("utf-8"))}
    named = set(VARIABLE.findall(_configuration_table()))
    assert sorted(named - read) == []
