"""A full extract + load of every source with known secrets and ID numbers, then a scan of the
logs, the landing store and the warehouse: no password, session token, pseudonym key, raw ID
number or criminal record content may be found in any of them."""

from __future__ import annotations

import gzip
import logging
from datetime import datetime

from sqlalchemy import String, Text, select
from upath import UPath

from connectors.base import Window
from lienthong import landing
from lienthong.pipeline import extract, load
from lienthong.registry import SOURCES
from lienthong.settings import load as settings
from mappings.common import LOCAL_TZ
from simulators import province
from simulators.criminal_record import sensitive_strings
from simulators.server import serve
from simulators.standins import PASSWORD, stand_in_connection, stand_ins
from warehouse import schema

WINDOW = Window(datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))
ID_FIELDS = ("SoGiayToChuHoSo", "nycSoGiayTo", "soCmnd", "MaSoDoanhNghiep")


def secrets_of(built) -> set[str]:
    found = {PASSWORD, settings().pseudonym_key.decode(), landing.landing_key().decode()}
    for data in built.values():
        for record in getattr(data, "dossiers", []):
            if not isinstance(record, dict):
                continue
            found |= {str(record[f]) for f in ID_FIELDS if record.get(f)}
    for record in built["criminal_record"].dossiers:
        found |= set(sensitive_strings(record))
    return {s for s in found if len(s) >= 6}  # short values ("Nam", "1") are not identifying


def test_nothing_secret_or_personal_lands_anywhere(sqlite_engine, tmp_path, caplog):
    seed = 23
    built = province.datasets("small", seed)
    root = UPath(tmp_path / "landing")
    caplog.set_level(logging.DEBUG)
    app = stand_ins(seed=seed, scenario="small")
    with serve(app) as base_url:
        for key in SOURCES:
            connection = stand_in_connection(base_url, key)
            extract(key, WINDOW, settings(), root=root, connection=connection)
            load(key, WINDOW, settings(), root=root, engine=sqlite_engine, connection=connection)
        tokens = {t for mounted in app.mounts.values() for t in getattr(mounted, "_sessions", {})}

    assert len(tokens) >= 3  # one session at least per session-based source
    forbidden = secrets_of(built) | tokens
    assert len(forbidden) > 100  # the scan looks for something real
    texts = {"logs": caplog.text}
    texts["landing"] = "\n".join(
        gzip.decompress(p.read_bytes()).decode() if p.suffix == ".gz" else p.read_text()
        for p in root.rglob("*")
        if p.is_file()
    )
    warehouse = []
    with sqlite_engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            cols = [
                c for c in table.c if isinstance(c.type, String | Text) or c.name == "attributes"
            ]
            if cols:
                warehouse += [repr(tuple(r)) for r in conn.execute(select(*cols))]
    texts["warehouse"] = "\n".join(warehouse)
    assert texts["landing"] and texts["warehouse"] and texts["logs"]
    leaks = {where: sorted(s for s in forbidden if s in text)[:5] for where, text in texts.items()}
    assert leaks == {"logs": [], "landing": [], "warehouse": []}


# A reply of each REST source broken the way a changed contract breaks it, with its records
# still in it; each field names the personal data its raw records carry.
BREAKS = {
    "one_stop": ("TongSoTrang", ("SoGiayToChuHoSo", "ChuHoSo")),
    "driving_licence": ("totalPages", ("soCmnd", "hoTen", "ngaySinh", "dvhcNoiCuTru")),
    "vietinbank": ("MaKetQua", ("TenNguoiNop",)),
}
# A reply of each SOAP source with one record's ID number repeated: the page is kept as its shape.
SOAP_BREAKS = {"business_registration": "MaSoDoanhNghiep", "criminal_record": "nycSoGiayTo"}


def test_a_kept_contract_breaking_page_holds_nothing_secret_or_personal(tmp_path):
    from connectors.errors import ContractError
    from lienthong import landing
    from simulators.faults import Faults
    from simulators.server import PrefixDispatcher
    from tests.helpers import BreakBodies
    from tests.reliability.test_contract_break_kept import BreakReplies
    from tests.reliability.test_soap_contract_break_kept import forbidden, repeated

    seed = 23
    built = province.datasets("small", seed)
    apps = province.stand_ins("small", seed, Faults())
    root = UPath(tmp_path / "landing")

    def breaker(key):
        field, personal_fields = BREAKS[key]

        def broken(reply):  # the first page of records carrying personal data
            rows = next((v for v in reply.values() if isinstance(v, list) and v), None)
            if field not in reply or not rows or not isinstance(rows[0], dict):
                return False
            if personal_fields[0] not in rows[0]:
                return False
            if field == "MaKetQua":
                reply[field] = "96"
            else:
                del reply[field]
            return True

        return broken

    wrapped = {key: BreakReplies(apps[key], breaker(key)) for key in BREAKS}
    wrapped |= {key: BreakBodies(apps[key], repeated(f)) for key, f in SOAP_BREAKS.items()}
    dispatcher = PrefixDispatcher({f"/{key}": app for key, app in {**apps, **wrapped}.items()})
    with serve(dispatcher) as base_url:
        for key in [*BREAKS, *SOAP_BREAKS]:
            connection = stand_in_connection(base_url, key)
            try:
                extract(key, WINDOW, settings(), root=root, connection=connection)
            except ContractError as exc:
                assert exc.kept_at, (key, str(exc))
            else:
                raise AssertionError(f"{key}: the broken reply did not break the extract")
        tokens = {t for mounted in apps.values() for t in getattr(mounted, "_sessions", {})}

    personal = set()
    for key, (_, fields) in BREAKS.items():
        rows = [
            row
            for reply in wrapped[key].broken
            for row in next(v for v in reply.values() if isinstance(v, list) and v)
        ]
        found = {str(row[f]) for row in rows for f in fields if row.get(f)}
        assert len(found) >= 10, key  # the kept page had personal data to redact
        personal |= found
    for key in SOAP_BREAKS:  # ID numbers, names, certificate content
        found = forbidden(key, built, wrapped[key])
        [reply] = wrapped[key].broken
        assert len({v for v in found if v in reply.decode()}) >= 10, key
        personal |= found
    forbidden = secrets_of(built) | tokens | {p for p in personal if len(p) >= 6}
    kept = sorted((root / landing.DIAGNOSIS).rglob("*.json"))
    assert {p.parent.parent.name for p in kept} == set(BREAKS) | set(SOAP_BREAKS)
    text = "\n".join(p.read_text() for p in kept)
    assert "hmac:" in text  # the records are there, redacted
    assert text.count('"<12 digits>"') >= 10  # and the SOAP ones as their shape
    assert sorted(s for s in forbidden if s in text)[:5] == []
