"""Hostile input: any raw record given to any mapping yields a canonical record or a rejection,
never an exception (property-based, over every stream of every registered source)."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lienthong.registry import SOURCES, load_object
from mappings.canonical import Agency, Dossier, Procedure, Rating, Rejection
from mappings.common import MappingContext
from tests.conftest import TEST_KEY

CTX = MappingContext(TEST_KEY, known_procedures=frozenset({"1.001612"}))
CANONICAL = (Dossier, Rating, Agency, Procedure)
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
def sample_records(key: str, stream_name: str) -> list[dict]:
    """Real records of the stream, from its stand-in's data set, to mutate."""
    app = load_object(SOURCES[key].simulator)(seed=3, scenario="small")
    data = app.dataset
    for attr in (stream_name, "dossiers" if "dossier" in stream_name else stream_name):
        records = getattr(data, attr, None)
        if records:
            return [r for r in records[:50] if isinstance(r, dict)]
    return [{}]


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
