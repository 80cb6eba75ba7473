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
from lienthong.pipeline import extract, load
from lienthong.registry import SOURCES
from lienthong.settings import load as settings
from lienthong.standins import PASSWORD, stand_in_connection, stand_ins
from mappings.common import LOCAL_TZ
from simulators import province
from simulators.criminal_record import sensitive_strings
from simulators.server import serve
from warehouse import schema

WINDOW = Window(datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))
ID_FIELDS = ("SoGiayToChuHoSo", "nycSoGiayTo", "soCmnd", "MaSoDoanhNghiep")


def secrets_of(built) -> set[str]:
    found = {PASSWORD, settings().pseudonym_key.decode()}
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
            extract(
                key, WINDOW, settings(), root=root, connection=stand_in_connection(base_url, key)
            )
            load(key, WINDOW, settings(), root=root, engine=sqlite_engine)
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
