"""Hostile input: any raw record given to any mapping yields a canonical record or a rejection,
never an exception (property-based, over every stream of every registered source)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import Window
from lienthong.registry import SOURCES, load_object
from mappings.canonical import (
    Agency,
    Dossier,
    FeeStatement,
    Payment,
    Procedure,
    Rating,
    Rejection,
)
from mappings.common import LOCAL_TZ, MappingContext
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.conftest import TEST_KEY

CTX = MappingContext(TEST_KEY, known_procedures=frozenset({"1.001612"}))
CANONICAL = (Dossier, Rating, Agency, Procedure, Payment, FeeStatement)
STREAMS = [(key, stream) for key, source in sorted(SOURCES.items()) for stream in source.streams]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "42",
            "-1",
            "20190231000000",
            "31/02/2019 25:61:00",
            "2019-13-01",
            "９",
            "\x00",
            "\udc80",  # a lone surrogate: valid JSON ("\udc80"), not valid Unicode
            "0100109106\ud800",
            "null",
            "NaN",
            "1e309",
        ]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@cache
def sample_records(key: str, stream_name: str) -> tuple[dict, ...]:
    """Real records of the stream as its connector yields them from the stand-in, to mutate."""
    app = load_object(SOURCES[key].simulator)(seed=3, scenario="small")
    source = SOURCES[key]
    stream = next(s for s in source.streams if s.name == stream_name)
    window = Window(datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))
    with serve(PrefixDispatcher({f"/{key}": app})) as base_url:
        connector = load_object(source.connector)(stand_in_connection(base_url, key))
        with connector:
            pages = connector.fetch(stream.name, window if stream.windowed else None)
            records = [r for page in pages for r in page][:60]
    return tuple(records) or ({},)


def check(result) -> None:
    assert isinstance(result, (*CANONICAL, Rejection)), type(result)
    if isinstance(result, Rejection):
        assert isinstance(result.reason, str) and result.reason


@pytest.mark.parametrize(("key", "stream"), STREAMS, ids=[f"{k}.{s.name}" for k, s in STREAMS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_record_maps_or_is_rejected(key, stream, data):
    mapping = load_object(stream.mapping)
    records = sample_records(key, stream.name)
    record = dict(data.draw(st.sampled_from(records)))
    keys = sorted(record) or ["x"]
    for _ in range(data.draw(st.integers(1, 4))):
        field = data.draw(st.one_of(st.sampled_from(keys), st.text(max_size=8)))
        if data.draw(st.booleans()):
            record[field] = data.draw(json_values)
        else:
            record.pop(field, None)
    check(mapping(record, CTX))
    if stream.redact:
        check(mapping(load_object(stream.redact)(record, CTX), CTX))


@pytest.mark.parametrize(("key", "stream"), STREAMS, ids=[f"{k}.{s.name}" for k, s in STREAMS])
@settings(max_examples=100, deadline=None)
@given(raw=json_values)
def test_anything_at_all_maps_or_is_rejected(key, stream, raw):
    check(load_object(stream.mapping)(raw, CTX))


REDACTED = [(k, s) for k, s in STREAMS if s.redact]


@pytest.mark.parametrize(("key", "stream"), REDACTED, ids=[f"{k}.{s.name}" for k, s in REDACTED])
@pytest.mark.parametrize("odd", ["\udc80", "\x00", "\ud800\udc80"])
def test_text_no_driver_can_take_never_makes_redaction_or_mapping_raise(key, stream, odd):
    """Every text field of real records carrying a lone surrogate or a NUL (an ID number
    included): redaction (which hashes ID numbers) and the mapping still answer."""
    redact, mapping = load_object(stream.redact), load_object(stream.mapping)
    for record in sample_records(key, stream.name):
        hostile = {k: v + odd if isinstance(v, str) else v for k, v in record.items()}
        check(mapping(redact(hostile, CTX), CTX))
