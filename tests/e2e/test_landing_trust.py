"""Write access to the landing store cannot create money: `load` verifies the manifest's MAC and
each page as it reads them, and every payment's signature itself, with the key of the gateway's
connection. Through the CLI and the pipeline, on SQLite and PostgreSQL, against the stand-ins."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date

import pytest
from sqlalchemy import select
from upath import UPath

from connectors.base import Window
from lienthong import cli, landing
from lienthong.pipeline import extract, load, sync
from lienthong.settings import load as settings
from simulators import one_stop
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection, stand_in_uri
from simulators.vietinbank import build_dataset, make_app
from tests.fees.builders import SINCE, UNTIL
from tests.landing_forgery import (
    FORGED_AMOUNT,
    FORGED_ID,
    forge_payment,
    read_manifest,
    window_dir,
    write_manifest,
)
from warehouse import schema
from warehouse.reconciliation import reconcile
from warehouse.reports.fees import fees

SEED = 11
WINDOW = Window(SINCE, UNTIL)
PERIOD = (date(2018, 10, 1), date(2019, 6, 30))
ARGS = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]


@pytest.fixture(scope="module")
def payments():
    return build_dataset("small", SEED)


@pytest.fixture(scope="module")
def base_url(payments):
    apps = {
        "/one_stop": one_stop.make_app(one_stop.build_dataset("small", SEED)),
        "/vietinbank": make_app(payments),
    }
    with serve(PrefixDispatcher(apps)) as url:
        yield url


@pytest.fixture(scope="module")
def pristine(base_url, tmp_path_factory):
    """One genuine extract of the gateway's window, copied for each test to tamper with."""
    root = UPath(tmp_path_factory.mktemp("pristine"))
    connection = stand_in_connection(base_url, "vietinbank")
    extract("vietinbank", WINDOW, settings(), root=root, connection=connection)
    return root


@pytest.fixture
def root(pristine, tmp_path):
    copy = tmp_path / "landing"
    shutil.copytree(pristine.path, copy)
    return UPath(copy)


@pytest.fixture
def target(payments) -> str:
    """A dossier that owes its fee and was never paid: a forgery would make it look paid."""
    return next(
        number
        for number, d in sorted(payments.dossiers.items())
        if d.paid_on is None and d.status not in (7, 8) and d.received_at.date() < date(2019, 5, 1)
    )


def with_dossiers(engine, base_url):
    """The one-stop dossiers the payments are reconciled against."""
    connection = stand_in_connection(base_url, "one_stop")
    sync("one_stop", settings(), since=SINCE, until=UNTIL, engine=engine, connection=connection)
    return engine


def load_window(engine, root, base_url):
    connection = stand_in_connection(base_url, "vietinbank")
    return load("vietinbank", WINDOW, settings(), root=root, engine=engine, connection=connection)


def vietinbank_audit(engine):
    lb = schema.load_batches
    query = select(lb.c.stream, lb.c.outcome, lb.c.error).where(lb.c.source == "vietinbank")
    with engine.connect() as conn:
        return conn.execute(query.order_by(lb.c.id)).all()


def stored_payments(engine) -> dict[str, int]:
    p = schema.payments
    with engine.connect() as conn:
        return dict(conn.execute(select(p.c.source_id, p.c.amount)).all())


def quarantined(engine) -> dict[str, str]:
    q = schema.rejected_records
    where = q.c.source == "vietinbank"
    with engine.connect() as conn:
        return dict(conn.execute(select(q.c.source_id, q.c.reason).where(where)).all())


def assert_never_paid(engine, target: str, *, listed_as_forged: bool) -> None:
    """The forged payment is nowhere in the money, and its dossier still owes."""
    assert FORGED_ID not in stored_payments(engine)
    assert all(row.collected < FORGED_AMOUNT for row in fees(engine, *PERIOD).rows)
    result = reconcile(engine, *PERIOD, as_of=PERIOD[1])
    classes = {f.cls for f in result.findings if f.transaction_id == FORGED_ID}
    assert classes == ({"bad_signature"} if listed_as_forged else set())
    assert target in {f.dossier_number for f in result.findings if f.cls == "unpaid"}


def test_a_payment_forged_in_the_landing_store_is_refused_by_lienthong_load(
    engine, root, base_url, target, monkeypatch, capsys, tmp_path
):
    """`lienthong extract` -> append a payment signed with 64 zeros and the verdict "valid",
    recompute the page's plain SHA-256 in the manifest -> `lienthong load`: refused, exit 4,
    one line, audited; nothing of it is paid."""
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", url)
    monkeypatch.setenv("LIENTHONG_LANDING_URL", str(root))
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_VIETINBANK", stand_in_uri(base_url, "vietinbank"))
    with_dossiers(engine, base_url)
    assert cli.main(["extract", "vietinbank", *ARGS]) == 0
    capsys.readouterr()
    assert forge_payment(root, WINDOW, target) == "transactions/page-000001.json.gz"

    assert cli.main(["load", "vietinbank", *ARGS]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("lienthong: error: the landing manifest of vietinbank")
    assert "does not verify under LIENTHONG_LANDING_KEY" in err
    [(stream, outcome, error)] = vietinbank_audit(engine)
    assert (stream, outcome) == ("transactions", "failed")
    assert error.startswith("LandingIntegrityError:") and "does not verify" in error
    assert stored_payments(engine) == {}
    assert_never_paid(engine, target, listed_as_forged=False)

    # The reconciliation the operator runs next sees no such payment either.
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    assert cli.main(["reconcile", "--from", "2018-10-01", "--to", "2019-06-30"]) == 0
    assert FORGED_ID not in capsys.readouterr().out

    # Extracting again replaces the window; the genuine load then goes through.
    assert cli.main(["extract", "vietinbank", *ARGS]) == 0
    assert cli.main(["load", "vietinbank", *ARGS]) == 0
    assert stored_payments(engine) and FORGED_ID not in stored_payments(engine)


def test_an_insider_holding_the_landing_key_still_cannot_create_a_payment(
    engine, root, base_url, target, payments
):
    """The manifest re-authenticated with the right key: the pages load, and the payment's own
    signature, recomputed by `load` with the gateway's secret, sends it to quarantine."""
    with_dossiers(engine, base_url)
    forge_payment(root, WINDOW, target, mac_key=landing.landing_key())
    results = load_window(engine, root, base_url)
    assert [r.outcome for r in results] == ["succeeded", "succeeded"]
    reason = quarantined(engine)[FORGED_ID]
    assert "forged signature" in reason and "not counted as paid" in reason
    assert_never_paid(engine, target, listed_as_forged=True)
    # Everything genuine loaded.
    assert set(stored_payments(engine)) == {t["MaGiaoDich"] for t in payments.transactions}


def test_the_same_window_unforged_loads_whole(engine, root, base_url, payments):
    results = load_window(engine, root, base_url)
    assert [r.outcome for r in results] == ["succeeded", "succeeded"]
    assert set(stored_payments(engine)) == {t["MaGiaoDich"] for t in payments.transactions}
    assert quarantined(engine) == {}


def _page(root, stream="transactions", number=1):
    return window_dir(root, WINDOW) / stream / f"page-{number:06d}.json.gz"


def _edit_page(root):
    """A genuine record's amount changed, and nothing else."""
    path = _page(root)
    records = json.loads(gzip.decompress(path.read_bytes()))
    records[0]["SoTien"] = FORGED_AMOUNT
    path.write_bytes(gzip.compress(json.dumps(records).encode(), mtime=0))


def _add_listed_page(root):
    """A page added and listed in the manifest with its plain digest (the key is unknown)."""
    import hashlib

    body = _page(root).read_bytes()
    (window_dir(root, WINDOW) / "transactions" / "page-999999.json.gz").write_bytes(body)
    manifest = read_manifest(root, WINDOW)
    stream = manifest["streams"]["transactions"]
    stream["pages"].append("transactions/page-999999.json.gz")
    stream["digests"].append(hashlib.sha256(body).hexdigest())
    write_manifest(root, WINDOW, manifest)


def _drop_listed_page(root):
    manifest = read_manifest(root, WINDOW)
    stream = manifest["streams"]["transactions"]
    name = stream["pages"].pop()
    stream["digests"].pop()
    (window_dir(root, WINDOW) / name).unlink()
    write_manifest(root, WINDOW, manifest)


def _substitute_page(root):
    """A genuine page of the same window (the statements') put in the transactions' place."""
    _page(root).write_bytes(_page(root, stream="statements").read_bytes())


def _substitute_manifest(root):
    """An authentic manifest (right key) of another window copied over this one's."""
    manifest = read_manifest(root, WINDOW)
    other = Window(SINCE, UNTIL.replace(day=2))
    manifest.update(window_key=landing.window_key(other), window=[SINCE.isoformat(), "x"])
    manifest["mac"] = landing.manifest_mac(landing.landing_key(), manifest)
    write_manifest(root, WINDOW, manifest)


def _strip_mac(root):
    manifest = read_manifest(root, WINDOW)
    del manifest["mac"]
    write_manifest(root, WINDOW, manifest)


def _edit_manifest_counts(root):
    manifest = read_manifest(root, WINDOW)
    manifest["streams"]["transactions"]["records"] += 1
    write_manifest(root, WINDOW, manifest)


TAMPERING = {
    "page_edited_digest_kept": (_edit_page, "does not match its manifest"),
    "page_added_unlisted": (
        lambda root: _page(root, number=999).write_bytes(_page(root).read_bytes()),
        "is not in the manifest",
    ),
    "page_added_listed_plain_digest": (_add_listed_page, "does not verify"),
    "page_removed": (lambda root: _page(root).unlink(), "listed in the manifest but missing"),
    "page_removed_and_unlisted": (_drop_listed_page, "does not verify"),
    "page_substituted": (_substitute_page, "does not match its manifest"),
    "manifest_edited": (_edit_manifest_counts, "does not verify"),
    "manifest_of_another_window": (_substitute_manifest, "belongs to vietinbank"),
    "manifest_without_mac": (_strip_mac, "carries no MAC"),
    "manifest_nested_too_deep": (
        lambda root: (window_dir(root, WINDOW) / landing.MANIFEST).write_text("[" * 100_000),
        "unreadable",
    ),
    "manifest_not_json": (
        lambda root: (window_dir(root, WINDOW) / landing.MANIFEST).write_text("{"),
        "unreadable",
    ),
}


@pytest.mark.parametrize("tamper", sorted(TAMPERING))
def test_a_tampered_window_is_refused_and_audited(engine, root, base_url, tamper):
    change, reason = TAMPERING[tamper]
    change(root)
    with pytest.raises(landing.LandingIntegrityError, match=reason):
        load_window(engine, root, base_url)
    [(stream, outcome, error)] = vietinbank_audit(engine)
    assert (stream, outcome) == ("transactions", "failed") and reason in error
    assert stored_payments(engine) == {}


def test_a_statements_page_tampered_refuses_that_stream_after_the_genuine_one(
    engine, root, base_url
):
    path = _page(root, stream="statements")
    records = json.loads(gzip.decompress(path.read_bytes()))
    path.write_bytes(gzip.compress(json.dumps(records[1:]).encode(), mtime=0))
    with pytest.raises(landing.LandingIntegrityError, match="statements/page-000001"):
        load_window(engine, root, base_url)
    assert [(s, o) for s, o, _ in vietinbank_audit(engine)] == [
        ("transactions", "succeeded"),
        ("statements", "failed"),
    ]


def test_a_window_written_under_another_key_is_refused(engine, root, base_url, monkeypatch):
    monkeypatch.setenv("LIENTHONG_LANDING_KEY", "another-landing-key-0123456789abcdef-xyz")
    with pytest.raises(landing.LandingIntegrityError, match="written with another key"):
        load_window(engine, root, base_url)
    assert [(s, o) for s, o, _ in vietinbank_audit(engine)] == [("transactions", "failed")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "LIENTHONG_LANDING_KEY is not set"),
        ("short-key", "LIENTHONG_LANDING_KEY is too short"),
    ],
)
def test_extract_and_load_refuse_to_run_without_a_landing_key(
    sqlite_engine, root, base_url, monkeypatch, capsys, value, message
):
    monkeypatch.setenv("LIENTHONG_LANDING_KEY", value)
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("LIENTHONG_LANDING_URL", str(root))
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_VIETINBANK", stand_in_uri(base_url, "vietinbank"))
    for command in ("extract", "load"):
        assert cli.main([command, "vietinbank", *ARGS]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert vietinbank_audit(sqlite_engine) == []


def test_load_takes_the_gateway_secret_from_the_connection(sqlite_engine, root, base_url):
    """A wrong secret in the connection at load time: every record fails its own check."""
    connection = stand_in_connection(base_url, "vietinbank")
    wrong = type(connection)(**{**connection.__dict__, "password": "not-the-gateway-secret"})
    results = load(
        "vietinbank", WINDOW, settings(), root=root, engine=sqlite_engine, connection=wrong
    )
    assert all(r.counts.read == r.counts.rejected > 0 for r in results)
    assert stored_payments(sqlite_engine) == {}
    assert all("forged signature" in reason for reason in quarantined(sqlite_engine).values())
