"""Connectors are declarations over shared machinery: each stream is named by its connector and
the registry alike, whether it is windowed only by the registry, and the echo of the page asked
for is checked by the one paging helper, whatever the protocol."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from lxml import etree

from connectors.base import LOCAL_TZ, Connector, Window
from connectors.connection import Connection
from connectors.errors import ContractError
from connectors.one_stop import OneStopConnector
from connectors.paging import Paging, paged
from connectors.soap_list import SoapListing
from connectors.xml_shape import ShapeRules
from lienthong import registry

WINDOW = Window(datetime(2024, 1, 1, tzinfo=LOCAL_TZ), datetime(2024, 1, 2, tzinfo=LOCAL_TZ))
PAGING = Paging(page="Trang", size="SoBanGhi", total="TongSoBanGhi", total_pages="TongSoTrang")
NS = "urn:test"


@pytest.mark.parametrize("key", sorted(registry.SOURCES))
def test_every_connector_serves_the_registry_streams_windowed_as_the_registry_says(key):
    source = registry.SOURCES[key]
    connector = registry.load_object(source.connector)

    assert issubclass(connector, Connector)
    assert connector.source == key
    assert connector.streams == tuple(stream.name for stream in source.streams)
    # Declared once: no connector class says for itself which streams take a window.
    below = connector.__mro__[: connector.__mro__.index(Connector)]
    assert all("windowed_streams" not in vars(cls) for cls in below)


def test_the_registry_alone_decides_which_streams_take_a_window(monkeypatch):
    connection = Connection(
        "lienthong_one_stop", host="h", login="u", password="p", extra={"dstcode": "X"}
    )
    source = registry.SOURCES["one_stop"]
    with OneStopConnector(connection) as connector:
        assert connector.windowed_streams == ("dossiers", "ratings")
        catalogue = tuple(dataclasses.replace(s, windowed=False) for s in source.streams)
        monkeypatch.setitem(
            registry.SOURCES, "one_stop", dataclasses.replace(source, streams=catalogue)
        )

        assert connector.windowed_streams == ()
        with pytest.raises(ValueError, match="is a catalogue"):
            connector.fetch("dossiers", WINDOW)


def json_pages(*replies):
    asked = []

    def fetch(paging: dict) -> dict:
        asked.append(paging)
        return replies[len(asked) - 1]

    return fetch, asked


def json_reply(page: int, size: int, pages: int, rows: int) -> dict:
    return {
        "Trang": page,
        "SoBanGhi": size,
        "TongSoBanGhi": pages * size,
        "TongSoTrang": pages,
        "data": [{"n": i} for i in range(rows)],
    }


def test_paging_asks_with_the_declared_fields_and_stops_at_the_last_page():
    fetch, asked = json_pages(json_reply(1, 2, 2, 2), json_reply(2, 2, 2, 2))

    assert [len(rows) for rows in paged(fetch, PAGING, 2, what="op")] == [2, 2]
    assert asked == [{"Trang": 1, "SoBanGhi": 2}, {"Trang": 2, "SoBanGhi": 2}]


@pytest.mark.parametrize(
    "reply, message",
    [
        (json_reply(2, 2, 3, 2), "op: asked for page 1 of 2 rows, got page 2 of 2"),
        (json_reply(1, 1, 3, 1), "op: asked for page 1 of 2 rows, got page 1 of 1"),
        ({**json_reply(1, 2, 3, 2), "TongSoBanGhi": "6"}, "'TongSoBanGhi' must be an integer"),
    ],
)
def test_a_json_reply_not_echoing_the_page_asked_for_breaks_the_contract(reply, message):
    fetch, _ = json_pages(reply)

    with pytest.raises(ContractError, match=message) as caught:
        list(paged(fetch, PAGING, 2, what="op"))
    assert caught.value.page == reply  # a JSON reply goes along whole, to be kept redacted


def xml_reply(page: int, size: int, pages: int, rows: int) -> etree._Element:
    counters = {"Trang": page, "SoBanGhi": size, "TongSoBanGhi": pages * size, "TongSoTrang": pages}
    text = "".join(f"<{k}>{v}</{k}>" for k, v in counters.items())
    records = "".join(f"<Rec><N>{i}</N></Rec>" for i in range(rows))
    return etree.fromstring(f'<Reply xmlns="{NS}">{text}<List>{records}</List></Reply>')


LISTING = SoapListing("Op", NS, PAGING, listing="List", record="Rec", diagnosis=ShapeRules())


def soap_paged(*replies):
    fetch, _ = json_pages(*replies)
    return paged(
        fetch,
        PAGING,
        2,
        what="Op",
        counters=LISTING.counters,
        rows=LISTING.rows,
        diagnose=LISTING.keep_shape,
    )


def test_a_soap_listing_is_read_from_its_declaration():
    pages = list(soap_paged(xml_reply(1, 2, 2, 2), xml_reply(2, 2, 2, 1)))

    assert pages == [[{"N": "0"}, {"N": "1"}], [{"N": "0"}]]


def test_a_soap_reply_not_echoing_the_page_keeps_its_counters_and_shape_only():
    with pytest.raises(ContractError, match="Op: asked for page 1 of 2 rows, got page 2") as caught:
        list(soap_paged(xml_reply(2, 2, 3, 2)))

    assert "TongSoTrang" in caught.value.excerpt and "Rec" not in caught.value.excerpt
    assert caught.value.page is not None and "0" not in str(caught.value.page)
