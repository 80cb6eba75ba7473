"""A SOAP reply that breaks the contract (an element missing, repeated or of the wrong type, an
unexpected element, a reply that is not XML) fails its batch cleanly, and what is kept for
diagnosis is the reply's shape: its structure, paging counters, codes and dossier numbers, and
no ID number, name or criminal record content."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select
from upath import UPath

from connectors import business_registration, criminal_record
from connectors.base import Window
from connectors.errors import ContractError
from connectors.soap import parse_reply
from connectors.xml_shape import reply_shape
from lienthong import landing
from lienthong.pipeline import extract, sync
from lienthong.registry import load_object
from lienthong.settings import load as settings_
from mappings.common import LOCAL_TZ, MappingContext
from simulators import province
from simulators.criminal_record import CONTENT_MARKER, sensitive_strings
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.conftest import TEST_KEY
from tests.connectors.test_xml_shape import criminal_record_page
from tests.helpers import BreakBodies, count
from tests.reliability.test_contract_break_kept import kept_document
from warehouse import schema
from warehouse.loader import read_watermark

SINCE, UNTIL = datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
SEED = 23
ID_LIKE = re.compile(r"(?<!\d)\d{9,13}(?!\d)")
ENVELOPE = "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
NAMESPACES = {
    "business_registration": business_registration.NAMESPACE,
    "criminal_record": criminal_record.NAMESPACE,
}
# Words of a certificate itself: none may be kept, whatever the contract break.
CONTENT_WORDS = (CONTENT_MARKER.lower(), "án tích", "hsst", "stp-lltp", "tòa án")


def on_page_2(
    counter: str, change: Callable[[bytes], bytes | None]
) -> Callable[[bytes], bytes | None]:
    """Break the second page of the list only: the first one has loaded by then."""
    return lambda body: change(body) if f"<{counter}>2</{counter}>".encode() in body else None


def dropped(tag: str) -> Callable[[bytes], bytes]:
    return lambda body: re.sub(rf"<{tag}>[^<]*</{tag}>".encode(), b"", body, count=1)


def retyped(tag: str, value: str) -> Callable[[bytes], bytes]:
    new = f"<{tag}>{value}</{tag}>".encode()
    return lambda body: re.sub(rf"<{tag}>[^<]*</{tag}>".encode(), new, body, count=1)


def repeated(tag: str) -> Callable[[bytes], bytes | None]:
    """The first record's ``tag`` twice (the second time with the next record's value); a
    reply without two records is left alone."""
    pattern = re.compile(rf"<{tag}>[^<]*</{tag}>".encode())

    def change(body: bytes) -> bytes | None:
        found = pattern.findall(body)
        return body.replace(found[0], found[0] + found[1], 1) if len(found) > 1 else None

    return change


def record_moved(record: str, where: str) -> Callable[[bytes], bytes]:
    """A copy of the first record, all its data, under another name at the head of the list."""

    def change(body: bytes) -> bytes:
        whole = re.search(rf"<{record}>.*?</{record}>".encode(), body, re.S).group()
        other = whole.replace(f"{record}>".encode(), f"{record}ChiTiet>".encode())
        return body.replace(f"<{where}>".encode(), f"<{where}>".encode() + other, 1)

    return change


def not_xml(record: str) -> Callable[[bytes], bytes]:
    return lambda body: body.replace(f"</{record}>".encode(), f"</{record}X>".encode(), 1)


@dataclass(frozen=True)
class Break:
    source: str
    breaker: Callable[[bytes], bytes | None]
    message: str  # in the error and the audit row
    shows: Callable[[dict], bool] | None  # what the kept shape shows of the break; None: no page


def response(document: dict, source: str, operation: str = "LayDanhSachHoSoResponse") -> dict:
    return document["page"]["xml"][ENVELOPE]["Body"][f"{{{NAMESPACES[source]}}}{operation}"]


def rows(document: dict, source: str) -> list[dict]:
    listing = "danhSachHoSo" if source == "criminal_record" else "DanhSachHoSo"
    found = response(document, source)[listing]["hoSo" if source == "criminal_record" else "HoSo"]
    return found if isinstance(found, list) else [found]


BR, LLTP = "business_registration", "criminal_record"
BREAKS = {
    "br-paging-field-absent": Break(
        BR,
        on_page_2("Trang", dropped("TongSoTrang")),
        "reply has no TongSoTrang",
        lambda d: "TongSoTrang" not in response(d, BR) and response(d, BR)["Trang"] == "2",
    ),
    "br-wrong-type": Break(
        BR,
        on_page_2("Trang", retyped("SoBanGhi", "bốn mươi")),
        "SoBanGhi must be a non-negative integer, got <text 8 chars>",
        lambda d: response(d, BR)["SoBanGhi"] == "<text 8 chars>",
    ),
    "br-element-repeated": Break(
        BR,
        on_page_2("Trang", repeated("MaSoDoanhNghiep")),
        "element 'MaSoDoanhNghiep' repeated in <HoSo>",
        lambda d: (
            isinstance(rows(d, BR)[0]["MaSoDoanhNghiep"], list)
            and rows(d, BR)[0]["SoHoSo"].startswith("DKKD-")
        ),
    ),
    "br-unexpected-element": Break(
        BR,
        on_page_2("Trang", record_moved("HoSo", "DanhSachHoSo")),
        "unexpected element",
        lambda d: "HoSoChiTiet" in response(d, BR)["DanhSachHoSo"],
    ),
    "br-not-xml": Break(BR, on_page_2("Trang", not_xml("HoSo")), "not well-formed XML", None),
    "lltp-paging-field-absent": Break(
        LLTP,
        on_page_2("trang", dropped("tongSoTrang")),
        "reply has no tongSoTrang",
        lambda d: "tongSoTrang" not in response(d, LLTP) and response(d, LLTP)["trang"] == "2",
    ),
    "lltp-element-repeated": Break(
        LLTP,
        on_page_2("trang", repeated("nycSoGiayTo")),
        "element 'nycSoGiayTo' repeated in <hoSo>",
        lambda d: (
            [re.sub(r"\d+", "N", v) for v in rows(d, LLTP)[0]["nycSoGiayTo"]] == ["<N digits>"] * 2
        ),
    ),
    "lltp-unexpected-element": Break(
        LLTP,
        on_page_2("trang", record_moved("hoSo", "danhSachHoSo")),
        "unexpected element",
        lambda d: response(d, LLTP)["danhSachHoSo"]["hoSoChiTiet"] == "<not kept>",
    ),
    "lltp-not-xml": Break(LLTP, on_page_2("trang", not_xml("hoSo")), "not well-formed XML", None),
    "lltp-login-without-session": Break(
        LLTP,
        lambda body: body.replace(b"maPhien>", b"maPhienMoi>") if b"<DangNhap" in body else None,
        "DangNhap: reply has no maPhien",
        lambda d: response(d, LLTP, "DangNhapResponse")["maPhienMoi"] == "<text>",
    ),
}


@pytest.fixture(scope="module")
def built():
    return province.datasets("small", SEED)


@pytest.fixture(autouse=True)
def pages_of_40(monkeypatch):
    """The window in several pages, so that page 2 can break after page 1 loaded."""
    for module, name in (
        (business_registration, "BusinessRegistrationConnector"),
        (criminal_record, "CriminalRecordConnector"),
    ):
        monkeypatch.setattr(module, name, functools.partial(getattr(module, name), page_size=40))


def broken_stand_in(source: str, breaker) -> BreakBodies:
    apps = province.stand_ins("small", SEED, Faults())
    return BreakBodies(apps[source], breaker)


def forbidden(source: str, built, app: BreakBodies) -> set[str]:
    """ID numbers, names and certificate content of the source's data set, and the session
    tokens it handed out: none may be in the kept page."""
    found: set[str] = set()
    for record in built[source].dossiers:
        if source == LLTP:
            found |= sensitive_strings(record)
        else:
            fields = ("MaSoDoanhNghiep", "TenDoanhNghiep", "NguoiDaiDienPhapLuat")
            found |= {str(record[f]) for f in fields if record.get(f)}
    found |= set(getattr(app.app, "_sessions", {}))
    return {s for s in found if len(s) >= 6}


def assert_kept_safely(document: dict, case: Break, built, app: BreakBodies) -> None:
    text = json.dumps(document, ensure_ascii=False)
    needles = forbidden(case.source, built, app)
    assert len(needles) > 100  # the scan looks for something real
    assert sorted(s for s in needles if s.lower() in text.lower())[:5] == []
    assert [w for w in CONTENT_WORDS if w in text.lower()] == []
    assert ID_LIKE.findall(text) == []
    raw = app.broken[0].decode()
    assert [s for s in needles if s in raw]  # the broken reply did carry personal data
    if case.shows is None:  # not XML: nothing of it is kept
        assert document["page"] is None and "not kept" in document["note"]
        return
    assert "value replaced by its shape" in document["page"]["note"]
    assert case.shows(document)
    if b"<trang>2</trang>" in app.broken[0] or b"<Trang>2</Trang>" in app.broken[0]:
        assert len(rows(document, case.source)) == raw.count("<hoSo>") + raw.count("<HoSo>")


@pytest.mark.parametrize("case", BREAKS.values(), ids=BREAKS.keys())
def test_a_broken_soap_reply_fails_the_batch_and_keeps_its_shape(engine, built, tmp_path, case):
    app = broken_stand_in(case.source, case.breaker)
    root = UPath(tmp_path / "landing")
    with serve(PrefixDispatcher({f"/{case.source}": app})) as base_url:
        with pytest.raises(ContractError, match=re.escape(case.message)) as caught:
            sync(
                case.source,
                settings_(),
                since=SINCE,
                until=UNTIL,
                engine=engine,
                connection=stand_in_connection(base_url, case.source),
                root=root,
            )
    assert len(app.broken) == 1
    path, document = kept_document(caught.value)
    assert path.parent == root / landing.DIAGNOSIS / case.source / "dossiers"
    assert document["source"] == case.source and case.message in document["error"]
    assert caught.value.page is None  # the shape does not travel further with the error
    assert_kept_safely(document, case, built, app)

    # Nothing of the batch was loaded, not even page 1; the audit says why and where to look.
    assert count(engine, schema.dossiers) == count(engine, schema.dossier_status_history) == 0
    assert read_watermark(engine, case.source, "dossiers") is None
    lb = schema.load_batches
    with engine.connect() as conn:
        [audit] = conn.execute(select(lb.c.stream, lb.c.outcome, lb.c.error)).all()
    assert audit.stream == "dossiers" and audit.outcome == "failed"
    assert case.message in audit.error and f"offending page kept at {path}" in audit.error


def test_extract_keeps_the_shape_too_and_writes_no_manifest(built, tmp_path):
    case = BREAKS["lltp-element-repeated"]
    app = broken_stand_in(case.source, case.breaker)
    root = UPath(tmp_path / "landing")
    window = Window(SINCE, UNTIL)
    with serve(PrefixDispatcher({f"/{case.source}": app})) as base_url:
        with pytest.raises(ContractError, match="offending page kept at") as caught:
            extract(
                case.source,
                window,
                settings_(),
                root=root,
                connection=stand_in_connection(base_url, case.source),
            )
    _, document = kept_document(caught.value)
    assert_kept_safely(document, case, built, app)
    with pytest.raises(landing.LandingError, match="run extract first"):
        landing.read_window(root, case.source, window)


def test_a_shape_passes_the_landing_store_as_it_is(tmp_path):
    """The stream's record redaction would drop what it does not know (criminal records keep an
    allow-list): a shape is already safe and is kept whole."""
    dataset = province.datasets("small", SEED)[LLTP]
    page = reply_shape(
        parse_reply(criminal_record_page(dataset.dossiers[:3]).encode(), where="t"),
        criminal_record.DIAGNOSIS,
    )
    redact = load_object("mappings.criminal_record:redact_dossier")
    error = ContractError("LayDanhSachHoSo: something broke", page=page)
    ctx = MappingContext(TEST_KEY)
    landing.keep_offending_page(
        UPath(tmp_path), LLTP, "dossiers", None, error, lambda raw: redact(raw, ctx)
    )
    kept = json.loads(UPath(error.kept_at).read_text())
    assert kept["page"] == json.loads(json.dumps(page)) and "note" not in kept
