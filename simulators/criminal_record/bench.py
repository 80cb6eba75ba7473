"""An LLTP stand-in scaled to any number of requests for `make bench`, in constant memory.

The scenario's records are rendered once into page templates of ``PAGE`` records; page p of the
benchmark is template p mod T with a page serial written into every one-stop number (the key),
so serving a page is one bytes.replace and the client is what gets measured.
"""

from __future__ import annotations

import re

from lxml import etree

from simulators.criminal_record.app import _XSI, NS, CriminalRecordApp, _integer, render_record
from simulators.criminal_record.scenario import build_dataset

PAGE = 1000
_MARK = b"#PAGE#"
_KEY = re.compile(rb"<maHoSoMCDT>([^<]*)</maHoSoMCDT>")


class BenchApp(CriminalRecordApp):
    """``LayDanhSachHoSo`` over ``size`` requests, whatever the window."""

    def __init__(self, size: int, seed: int = 2019) -> None:
        super().__init__(build_dataset("langson-2019h1", seed))
        self.size = size
        fragments = [
            _KEY.sub(rb"<maHoSoMCDT>\1." + _MARK + rb"</maHoSoMCDT>", render_record(r))
            for r in self.dataset.dossiers
        ]
        self._page_fragments = [
            fragments[p * PAGE : (p + 1) * PAGE] for p in range(max(1, len(fragments) // PAGE))
        ]

    def _list(self, request: etree._Element) -> bytes:
        self._use_session(request)
        page = _integer(request, "trang", 1, None)
        size = _integer(request, "soBanGhi", 1, PAGE)
        pages = -(-self.size // size)
        rows: list[bytes] = []
        if page <= pages:
            count = min(size, self.size - (page - 1) * size)
            template = self._page_fragments[(page - 1) % len(self._page_fragments)]
            mark = b"%07d" % page
            rows = [f.replace(_MARK, mark) for f in template[:count]]
        head = (
            f'<LayDanhSachHoSoResponse xmlns="{NS}" xmlns:xsi="{_XSI}"><trang>{page}</trang>'
            f"<soBanGhi>{size}</soBanGhi><tongSoBanGhi>{self.size}</tongSoBanGhi>"
            f"<tongSoTrang>{pages}</tongSoTrang><danhSachHoSo>"
        )
        return b"".join((head.encode(), *rows, b"</danhSachHoSo></LayDanhSachHoSoResponse>"))


def make_bench_app(size: int, seed: int = 2019) -> BenchApp:
    """The benchmark stand-in: ``size`` requests from the langson-2019h1 scenario's records."""
    return BenchApp(size, seed)
