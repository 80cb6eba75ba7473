"""The HTML report: one self-contained file, checked in a real headless Chromium (rendered DOM and
a screenshot that is not blank), and the xlsx forms converted to PDF by LibreOffice."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from html.parser import HTMLParser

import pytest

from lienthong.cli import main
from simulators.one_stop import build_dataset
from tests.reports.factories import load_dataset, synced_to
from tests.reports.rendering import png_colours, tool

ON_TIME_GREEN = (0x2C, 0xA0, 0x2C)  # the bar colour at or above the threshold


@pytest.fixture(scope="module")
def report_files(tmp_path_factory):
    """The H1 2019 report of a small stand-in data set, as HTML and xlsx, through the CLI."""
    from warehouse.db import make_engine, upgrade

    root = tmp_path_factory.mktemp("html")
    engine = make_engine(f"sqlite:///{root / 'w.db'}")
    upgrade(engine)
    load_dataset(engine, build_dataset("small", seed=3))
    synced_to(engine, date(2019, 6, 30))
    engine.dispose()
    mp = pytest.MonkeyPatch()
    mp.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{root / 'w.db'}")
    mp.setenv("LIENTHONG_VAR_DIR", str(root / "var"))
    try:
        for fmt in ("html", "xlsx"):
            assert main(["report", "all", "--period", "2019-H1", "--format", fmt]) == 0
        assert main(["report", "phu-luc-01", "--period", "2019-Q2", "--format", "html"]) == 0
    finally:
        mp.undo()
    reports = root / "var" / "reports"
    return {
        "all": reports / "all_2019-01-01_2019-06-30.html",
        "xlsx": reports / "all_2019-01-01_2019-06-30.xlsx",
        "p01": reports / "phu-luc-01_2019-04-01_2019-06-30.html",
    }


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def outline(html: str) -> list[tuple[str, dict]]:
    parser = _Outline()
    parser.feed(html)
    return parser.tags


def test_the_page_is_self_contained(report_files):
    html = report_files["all"].read_text(encoding="utf-8")
    tags = outline(html)
    names = [t for t, _ in tags]
    assert "script" not in names and "link" not in names and "img" not in names
    assert not any("src" in a or "href" in a for _, a in tags)
    assert "@import" not in html and "url(" not in html
    # The only URL is the SVG namespace, which is a name, not a resource.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    charts = [a["data-chart"] for t, a in tags if t == "svg"]
    assert charts == ["on-time-by-agency", "monthly-trend"]
    forms = [a["data-form"] for t, a in tags if t == "table"]
    assert forms[:3] == ["Phu luc 01", "Phu luc 02", "Phu luc 03"] and len(forms) == 9
    assert "Kỳ báo cáo: 6 tháng đầu năm 2019" in html


def test_one_report_page_has_its_form_and_the_charts(report_files):
    tags = outline(report_files["p01"].read_text(encoding="utf-8"))
    assert [a["data-form"] for t, a in tags if t == "table"] == ["Phu luc 01"]
    assert len([t for t, _ in tags if t == "svg"]) == 2


def run_chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    binary = tool("chromium", "chromium-browser", install="apt-get install -y chromium")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    return subprocess.run(
        [binary, *flags, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_chromium_renders_the_tables_and_charts(report_files, tmp_path):
    result = run_chromium(
        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", report_files["all"].as_uri()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert dom.count('<table class="form"') == 9
    assert 'data-chart="on-time-by-agency"' in dom and 'data-chart="monthly-trend"' in dom
    assert dom.count("<rect") > 10 and "<polyline" in dom
    assert "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in dom
    assert "Sở Tư pháp" in dom and "Tổng cộng" in dom


def test_chromium_screenshot_is_not_blank(report_files, tmp_path):
    png = tmp_path / "report.png"
    result = run_chromium(
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        "--window-size=1280,2000",
        report_files["all"].as_uri(),
    )
    assert result.returncode == 0 and png.exists(), result.stderr[-2000:]
    width, height, colours = png_colours(png)
    assert (width, height) == (1280, 2000)
    assert len(colours) > 50  # text, table rules, bars: far from a blank page
    assert ON_TIME_GREEN in colours  # the on-time bars were drawn


def test_libreoffice_converts_every_form_to_pdf(report_files, tmp_path):
    binary = tool("libreoffice", "soffice", install="apt-get install -y libreoffice-calc-nogui")
    result = subprocess.run(
        [
            binary,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(report_files["xlsx"]),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    pdf = tmp_path / report_files["xlsx"].with_suffix(".pdf").name
    assert result.returncode == 0 and pdf.exists(), result.stdout + result.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # One page per form (each sheet is fitted to the page width, landscape).
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) >= 7


def test_text_from_the_warehouse_is_escaped():
    from lienthong.excel.forms import Cell, Table
    from lienthong.html_report import bar_chart, table_html

    table = Table([Cell(0, 1, 0, 1, "STT"), Cell(0, 2, 0, 2, "Đơn vị")], None, [[1, "<b>&</b>"]])
    html = table_html(table)
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>" not in html
    assert "<script>" not in bar_chart("k", "t", [("<script>x</script>", 50.0)])
