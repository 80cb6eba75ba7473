"""The fee gateway stand-in's `bad_signature_rate` knob: a fixed subset of payments signed
wrongly, known in advance so a test can say exactly which ones must be quarantined."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors.base import Window
from connectors.vietinbank import VietinbankConnector
from mappings.canonical import Rejection
from mappings.common import LOCAL_TZ, MappingContext
from mappings.vietinbank import map_transaction
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.standins import PASSWORD, stand_in_connection
from simulators.vietinbank import build_dataset, make_app
from simulators.vietinbank.payments import FORGERIES

KNOBS = Faults(bad_signature_rate=0.1, malformed_rate=0.1, seed=3)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=2019)


@pytest.fixture(scope="module")
def forged_app(dataset):
    return make_app(dataset, KNOBS)


def test_bad_signatures_are_a_fixed_subset_of_plain_payments(dataset, forged_app):
    forged = forged_app.dataset.forged
    assert forged == make_app(dataset, KNOBS).dataset.forged  # the same on every build
    assert dataset.forged == {}  # the data set it was given is untouched
    assert set(forged.values()) == set(FORGERIES)
    before = {t.number: t for t in dataset.truth}
    plain = sum(t.expected == "matched" for t in dataset.truth)
    # A tenth of the single, once-listed payments the malformed knob left alone.
    assert 0.05 * plain < len(forged) <= 0.1 * plain
    for t in forged_app.dataset.truth:
        if t.number in forged:
            assert before[t.number].expected == "matched" and t.expected == "bad_signature"
            assert forged_app.dataset.dossiers[t.dossier_number].paid_on is None
    listed = {line["MaGiaoDich"] for s in forged_app.dataset.statements for line in s["DongSaoKe"]}
    assert listed and not listed & forged.keys()  # the bank's statements list none of them


def test_the_malformed_records_do_not_depend_on_the_signature_knob(dataset, forged_app):
    alone = make_app(dataset, Faults(malformed_rate=0.1, seed=3)).dataset
    assert forged_app.dataset.malformed == alone.malformed
    assert not forged_app.dataset.forged.keys() & alone.malformed.keys()


def test_exactly_the_chosen_payments_fail_their_signature_check(forged_app):
    window = Window(datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))
    with serve(PrefixDispatcher({"/vietinbank": forged_app})) as base_url:
        with VietinbankConnector(stand_in_connection(base_url, "vietinbank")) as connector:
            rows = [row for page in connector.fetch("transactions", window) for row in page]
    ctx = MappingContext(b"pseudonym-key-for-this-test", record_key=PASSWORD.encode())
    results = [map_transaction(row, ctx) for row in rows]
    reasons = {r.source_id: r.reason for r in results if isinstance(r, Rejection)}
    bad = {n for n, reason in reasons.items() if "signature" in reason}
    assert bad == set(forged_app.dataset.forged)
    assert {reasons[n].split(":")[0] for n in bad} == {"forged signature", "missing signature"}
