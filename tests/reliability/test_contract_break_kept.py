"""A reply that breaks the contract (a missing key, a wrong type) fails its batch cleanly, and the
offending page is kept for diagnosis — redacted: ID numbers hashed or masked, names dropped —
in the landing store's `_diagnosis` area, where the error and the audit row say it is."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from upath import UPath

from connectors import one_stop
from connectors.base import Window
from connectors.errors import ContractError
from lienthong import landing
from lienthong.cli import main
from lienthong.pipeline import extract, sync
from lienthong.registry import load_object
from lienthong.settings import load as settings_
from mappings.common import LOCAL_TZ, MappingContext
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection, stand_in_uri
from tests.conftest import TEST_KEY
from tests.helpers import BreakBodies, count
from warehouse import schema
from warehouse.loader import read_watermark

SINCE, UNTIL = datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
ID_LIKE = re.compile(r"(?<!\d)\d{9,13}(?!\d)")


class BreakReplies(BreakBodies):
    """A JSON reply that ``breaker`` changes in place (returning True) is sent changed; each
    reply as it was, decoded, is kept in ``broken``."""

    def __init__(self, app, breaker) -> None:
        def change(body: bytes) -> bytes | None:
            try:
                reply = json.loads(body)
            except ValueError:
                return None
            if isinstance(reply, dict) and breaker(reply):
                return json.dumps(reply, ensure_ascii=False).encode()
            return None

        super().__init__(app, change)

    def original(self, body: bytes):
        return json.loads(body)


def second_dossier_page_without_its_page_count(reply: dict) -> bool:
    """Page 2 of the dossier list loses `TongSoTrang`; one record also carries its ID number
    under a name the redaction does not know, and the reply carries one at the top."""
    rows = reply.get("data") or []
    if reply.get("Trang") != 2 or not rows or "SoGiayToChuHoSo" not in rows[0]:
        return False
    del reply["TongSoTrang"]
    rows[0]["SoCCCD"] = rows[0]["SoGiayToChuHoSo"]
    reply["SoDinhDanhNguoiGui"] = rows[1]["SoGiayToChuHoSo"]
    return True


def personal_values(pages: list[dict]) -> set[str]:
    """ID numbers and names in the raw pages: none of them may be kept as they are."""
    found = set()
    for page in pages:
        for row in page["data"]:
            found.add(str(row["SoGiayToChuHoSo"]))
            name = row.get("ChuHoSo") or ""
            if len(name) >= 6 and not name.startswith("["):
                found.add(name)
    return found


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=31)


@pytest.fixture(autouse=True)
def pages_of_300(monkeypatch):
    """The window's ~800 dossiers in three pages, so that page 2 can break after page 1 loaded."""
    monkeypatch.setattr(
        one_stop, "OneStopConnector", functools.partial(one_stop.OneStopConnector, page_size=300)
    )


def broken_stand_in(dataset) -> BreakReplies:
    return BreakReplies(make_app(dataset), second_dossier_page_without_its_page_count)


def kept_document(error: BaseException) -> tuple[UPath, dict]:
    match = re.search(r"offending page kept at (\S+)", str(error))
    assert match, str(error)
    path = UPath(match.group(1))
    return path, json.loads(path.read_text())


def assert_redacted(document: dict, broken: list[dict]) -> None:
    text = json.dumps(document, ensure_ascii=False)
    leaked = sorted(v for v in personal_values(broken) if v in text)
    assert leaked == []
    rows = document["page"]["data"]
    raw_rows = broken[0]["data"]
    assert len(rows) == len(raw_rows) > 0
    ctx = MappingContext(TEST_KEY)
    # Where the stream's redaction knows the field, the ID number is its keyed hash (as in the
    # warehouse); elsewhere it is masked.
    for kept, raw in zip(rows, raw_rows, strict=True):
        assert kept["SoGiayToChuHoSo"] == ctx.redacted_id(raw["SoGiayToChuHoSo"])
    masked = re.compile(r"<(9|10|12|13) digits>")  # CMND, MST, CCCD, branch MST
    assert masked.fullmatch(rows[0]["SoCCCD"])
    assert masked.fullmatch(document["page"]["SoDinhDanhNguoiGui"])
    assert "TongSoTrang" not in document["page"]  # what broke the contract is visible
    assert "TongSoTrang" in document["error"]


def test_a_reply_missing_a_key_fails_the_batch_and_keeps_the_page_redacted(
    engine, dataset, tmp_path
):
    app = broken_stand_in(dataset)
    root = UPath(tmp_path / "landing")
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        with pytest.raises(ContractError, match="TongSoTrang") as caught:
            sync(
                "one_stop",
                settings_(),
                since=SINCE,
                until=UNTIL,
                engine=engine,
                connection=stand_in_connection(base_url, "one_stop"),
                root=root,
            )
    assert len(app.broken) == 1
    path, document = kept_document(caught.value)
    assert path.parent == root / landing.DIAGNOSIS / "one_stop" / "dossiers"
    assert document["source"] == "one_stop" and document["stream"] == "dossiers"
    assert document["window"] == [SINCE.isoformat(), UNTIL.isoformat()]
    assert_redacted(document, app.broken)
    assert caught.value.page is None  # the raw page does not travel further with the error

    # Nothing of the batch was loaded, not even page 1; the audit says why and where to look.
    assert count(engine, schema.dossiers) == count(engine, schema.dossier_status_history) == 0
    assert read_watermark(engine, "one_stop", "dossiers") is None
    lb = schema.load_batches
    with engine.connect() as conn:
        audit = {r.stream: r for r in conn.execute(select(lb.c.stream, lb.c.outcome, lb.c.error))}
    assert audit["agencies"].outcome == audit["procedures"].outcome == "succeeded"
    assert audit["dossiers"].outcome == "failed"
    assert "TongSoTrang" in audit["dossiers"].error
    assert f"offending page kept at {path}" in audit["dossiers"].error
    assert "ratings" not in audit


def test_extract_keeps_the_offending_page_and_writes_no_manifest(dataset, tmp_path):
    app = broken_stand_in(dataset)
    root = UPath(tmp_path / "landing")
    window = Window(SINCE, UNTIL)
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        with pytest.raises(ContractError, match="offending page kept at") as caught:
            extract(
                "one_stop",
                window,
                settings_(),
                root=root,
                connection=stand_in_connection(base_url, "one_stop"),
            )
    _, document = kept_document(caught.value)
    assert_redacted(document, app.broken)
    with pytest.raises(landing.LandingError, match="run extract first"):
        landing.read_window(root, "one_stop", window)


def test_the_cli_names_the_kept_page(dataset, tmp_path, monkeypatch, capsys):
    app = broken_stand_in(dataset)
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("LIENTHONG_LANDING_URL", str(tmp_path / "landing"))
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(base_url, "one_stop"))
        code = main(["sync", "one_stop", "--since", "2018-10-01", "--until", "2019-07-01"])
    err = capsys.readouterr().err
    assert code == 2
    assert "TongSoTrang" in err and f"kept at {tmp_path / 'landing' / '_diagnosis'}" in err
    assert "Traceback" not in err


def test_a_page_that_cannot_be_decoded_is_not_kept_raw(tmp_path):
    """A reply that is not JSON (or malformed XML) has no records to redact: only the error and
    a note are kept, never its text."""
    error = ContractError("reply is not JSON", payload="<html>012345678901 Nguyễn Văn An</html>")
    landing.keep_offending_page(UPath(tmp_path), "one_stop", "dossiers", None, error, None)
    kept = UPath(error.kept_at).read_text()
    assert "012345678901" not in kept and "Nguyễn" not in kept
    assert json.loads(kept)["page"] is None and "not kept" in json.loads(kept)["note"]


def test_every_object_of_a_kept_page_goes_through_the_redaction():
    """ID numbers in known and unknown places, as text or numbers, in rows, in an object where
    a list belongs, in the reply itself; credentials by key; rows that are not objects."""
    ctx = MappingContext(TEST_KEY)
    redact = load_object("mappings.one_stop:redact_dossier")
    page = {
        "error_code": 0,
        "session": "a-session-token-1234",
        "TongSoTrang": "2",  # the wrong type: the contract break
        "ChuHoSo": "Hoàng Thị Mai",  # a record flattened into the reply
        "data": [
            {"MaHoSo": "H22-1", "SoGiayToChuHoSo": "001190012345", "ChuHoSo": "Lê Văn Bình"},
            {"MaHoSo": "H22-2", "SoGiayToChuHoSo": 82928345, "Ghi chu": "CMND 082928345 cũ"},
            "H22-3 001190099999 Trần An",
            [{"SoGiayToChuHoSo": "020150022856"}],
        ],
        "extra": {"SoGiayToChuHoSo": "036088001234", "DienThoai": 917132432},
    }
    kept = landing.redacted_page(page, lambda raw: redact(raw, ctx))
    text = json.dumps(kept, ensure_ascii=False)
    for secret in (
        "001190012345",
        "082928345",
        "001190099999",
        "020150022856",
        "036088001234",
        "917132432",
        "a-session-token",
        "Lê Văn Bình",
        "Hoàng Thị Mai",
    ):
        assert secret not in text, secret
    rows = kept["data"]
    assert rows[0]["SoGiayToChuHoSo"] == ctx.redacted_id("001190012345")
    assert rows[1]["SoGiayToChuHoSo"] == ctx.redacted_id(82928345)
    assert rows[1]["Ghi chu"] == "CMND <9 digits> cũ"
    assert rows[2] == "H22-3 <12 digits> Trần An"  # not an object: masked, not redacted
    assert rows[3][0]["SoGiayToChuHoSo"] == ctx.redacted_id("020150022856")
    assert kept["extra"]["DienThoai"] == "<9 digits>"
    assert kept["session"] == "***" and kept["TongSoTrang"] == "2" and kept["error_code"] == 0


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(page=json_values)
def test_any_decoded_page_is_kept_without_an_id_like_number(page):
    ctx = MappingContext(TEST_KEY)
    redact = load_object("mappings.one_stop:redact_dossier")
    kept = landing.redacted_page(page, lambda raw: redact(raw, ctx))
    json.dumps(kept, ensure_ascii=False)  # it can be written
    assert [text for text in texts_in(kept) if ID_LIKE.search(text)] == []


def texts_in(value):
    """Every key, string and number of a decoded document, as text (hashed IDs aside)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)
    elif isinstance(value, str):
        if not re.fullmatch(r"hmac:[0-9a-f]{64}", value):
            yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield repr(abs(value))
