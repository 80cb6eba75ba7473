"""A one-stop stand-in scaled to any number of dossiers for `make bench`, in constant memory.

The scenario's dossiers are rendered once into 1,000-record templates; records 1000·k .. 1000·k+999
of the benchmark are template k mod T with the serial k written into every dossier number, so a
page costs a slice and a bytes.replace (~1 ms) and the client, not the stand-in, is measured.
A window starting at or after ``DELTA_FROM`` is the nightly delta: ``delta`` dossiers spread over
the whole history, each with a later change time (an update of a record already loaded).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

from simulators.one_stop.app import MAX_PAGE_SIZE, OneStopApp, _encode, _number
from simulators.one_stop.scenario import Dataset, build_dataset

PAGE = MAX_PAGE_SIZE
DELTA_FROM = "20200101000000"  # windows from here on serve the delta
DELTA_STAMP = b"20200601080000"  # the delta's change time: after everything in the history
_MARK = b"#PAGE#"  # placeholder for the page serial inside each dossier number
_UPDATED = re.compile(rb'"NgayCapNhat":"\d{14}"')


class BenchApp(OneStopApp):
    """The one-stop API over ``size`` dossiers made from a scenario's records (no ratings)."""

    def __init__(self, base: Dataset, size: int, delta: int = 10_000) -> None:
        super().__init__(base, cache_bytes=0)
        pages = len(base.dossiers) // PAGE
        if pages < 1:
            raise ValueError(f"scenario {base.scenario!r} has fewer than {PAGE} dossiers")
        self.size, self.delta = size, min(delta, size)
        self._templates: list[bytes] = []
        self._offsets: list[list[int]] = []  # where each record of a template starts and ends
        for p in range(pages):
            rows = [
                _encode({**row, "MaHoSo": f"{row['MaHoSo']}.{_MARK.decode()}"})
                for row in base.dossiers[p * PAGE : (p + 1) * PAGE]
            ]
            self._templates.append(b",".join(rows))
            self._offsets.append([0, *accumulate(len(r) + 1 for r in rows)])

    def rows(self, first: int, count: int) -> bytes:
        """Records ``first`` .. ``first + count - 1`` of the benchmark's sequence, as JSON."""
        parts, index, end = [], first, first + count
        while index < end:
            serial, slot = divmod(index, PAGE)
            take = min(PAGE - slot, end - index)
            template = serial % len(self._templates)
            offsets = self._offsets[template]
            chunk = self._templates[template][offsets[slot] : offsets[slot + take] - 1]
            parts.append(chunk.replace(_MARK, b"%07d" % serial))
            index += take
        return b"[" + b",".join(parts) + b"]"

    def _service(self, body: dict[str, Any]) -> bytes:
        service = body.get("service")
        if service not in ("LayDanhSachHoSo", "LayDanhSachDanhGia"):
            return super()._service(body)
        page, size = _number(body, "Trang", 1, None), _number(body, "SoBanGhi", 1, MAX_PAGE_SIZE)
        delta = str(body.get("TuNgay") or "") >= DELTA_FROM
        total = 0 if service == "LayDanhSachDanhGia" else self.delta if delta else self.size
        first = (page - 1) * size
        count = max(0, min(size, total - first))
        if delta:  # the k-th delta record is an update of record k * stride of the history
            stride = max(1, self.size // max(1, self.delta))
            later = b'"NgayCapNhat":"' + DELTA_STAMP + b'"'
            rows = b"[" + b",".join(
                _UPDATED.sub(later, self.rows(i * stride, 1))[1:-1]
                for i in range(first, first + count)) + b"]"
        else:
            rows = self.rows(first, count)
        head = (f'{{"error_code":0,"Trang":{page},"SoBanGhi":{size},"TongSoBanGhi":{total},'
                f'"TongSoTrang":{-(-total // size)},"data":').encode()
        return head + rows + b"}"


def make_bench_app(size: int, seed: int = 2019, delta: int = 10_000) -> BenchApp:
    """The benchmark stand-in: ``size`` dossiers from the langson-2019h1 scenario's records."""
    return BenchApp(build_dataset("langson-2019h1", seed), size, delta)
