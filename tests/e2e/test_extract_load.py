"""Extract to the landing store, then load from it: the same warehouse as a direct sync,
replayable without the remote system, and no raw personal data in the archive."""

from __future__ import annotations

import gzip
from datetime import datetime

import pytest
from upath import UPath

from connectors.base import Window
from lienthong import landing
from lienthong.pipeline import extract, load, sync
from lienthong.settings import load as settings
from mappings.common import LOCAL_TZ
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import warehouse_digest
from warehouse.db import make_engine, upgrade

WINDOW = Window(datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=21)


@pytest.fixture
def root(tmp_path):
    return UPath(tmp_path / "landing")


def engine_at(path):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def extract_from_stand_in(dataset, root):
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset)})) as base_url:
        return extract(
            "one_stop",
            WINDOW,
            settings(),
            root=root,
            connection=stand_in_connection(base_url, "one_stop"),
        )


def test_extract_then_load_equals_a_direct_sync_and_replays_offline(dataset, root, tmp_path):
    direct, staged = engine_at(tmp_path / "direct.db"), engine_at(tmp_path / "staged.db")
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset)})) as base_url:
        sync(
            "one_stop",
            settings(),
            since=WINDOW.start,
            until=WINDOW.end,
            engine=direct,
            connection=stand_in_connection(base_url, "one_stop"),
        )
    manifest = extract_from_stand_in(dataset, root)
    assert manifest["streams"]["dossiers"]["records"] == len(dataset.dossiers)
    # The stand-in is gone: the load reads the archive only, and a replay changes nothing.
    first = load("one_stop", WINDOW, settings(), root=root, engine=staged)
    assert warehouse_digest(staged) == warehouse_digest(direct)
    load("one_stop", WINDOW, settings(), root=root, engine=staged)
    assert warehouse_digest(staged) == warehouse_digest(direct)
    assert [r.stream for r in first] == ["agencies", "procedures", "dossiers", "ratings"]


def test_a_re_extract_replaces_the_window(dataset, root):
    extract_from_stand_in(dataset, root)
    stale = root / "one_stop" / landing.window_key(WINDOW) / "dossiers" / "page-999999.json.gz"
    stale.write_bytes(gzip.compress(b"[]"))
    extract_from_stand_in(dataset, root)
    assert not stale.exists()


def test_an_incomplete_or_corrupted_extract_cannot_be_loaded(dataset, root, tmp_path):
    with pytest.raises(landing.LandingError, match="run extract first"):
        load("one_stop", WINDOW, settings(), root=root, engine=engine_at(tmp_path / "a.db"))
    extract_from_stand_in(dataset, root)
    page = root / "one_stop" / landing.window_key(WINDOW) / "dossiers" / "page-000001.json.gz"
    page.write_bytes(gzip.compress(b"[]"))
    with pytest.raises(landing.LandingError, match="does not match its manifest"):
        load("one_stop", WINDOW, settings(), root=root, engine=engine_at(tmp_path / "b.db"))


def test_the_archive_holds_no_id_number_nor_applicant_name(dataset, root):
    extract_from_stand_in(dataset, root)
    archived = b"".join(gzip.decompress(p.read_bytes()) for p in root.rglob("*.json.gz"))
    text = archived.decode()
    ids = {d["SoGiayToChuHoSo"] for d in dataset.dossiers if d.get("SoGiayToChuHoSo")}
    names = {d["ChuHoSo"] for d in dataset.dossiers if d.get("ChuHoSo")}
    assert ids and names
    assert not [v for v in ids if v in text]
    assert not [v for v in names if v in text]
