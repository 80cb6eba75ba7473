"""The fast date parsers accept and reject exactly what strptime does, with the same result."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.common import COMPACT, DMY_HMS, LOCAL_TZ, MappingError, local_datetime


def _strptime(value: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), fmt).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        return None


def _fast(value: str, fmt: str) -> datetime | None:
    try:
        return local_datetime({"d": value}, "d", fmt)
    except MappingError:
        return None


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("20190105090000", COMPACT),
        ("05/01/2019 09:00:00", DMY_HMS),
        ("5/1/2019 9:00:00", DMY_HMS),  # strptime takes single digits: still taken
        ("29/02/2019 09:00:00", DMY_HMS),  # no 29 February in 2019
        ("31/12/2019 24:00:00", DMY_HMS),
        ("05-01-2019 09:00:00", DMY_HMS),
        ("0５/01/2019 09:00:00", DMY_HMS),  # a full-width digit
        ("05/01/2019T09:00:00", DMY_HMS),
    ],
)
def test_known_shapes(value, fmt):
    assert _fast(value, fmt) == _strptime(value, fmt)


instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31))


@given(instants)
def test_every_well_formed_instant_parses_as_strptime_does(moment):
    for fmt in (COMPACT, DMY_HMS):
        text = moment.strftime(fmt)
        parsed = _fast(text, fmt)
        assert parsed == _strptime(text, fmt) == moment.replace(microsecond=0, tzinfo=LOCAL_TZ)
        assert parsed.tzinfo is LOCAL_TZ


@given(st.text(alphabet="0123456789/: -T", min_size=14, max_size=20))
def test_anything_else_is_accepted_or_refused_as_strptime_does(text):
    assert _fast(text, DMY_HMS) == _strptime(text, DMY_HMS)
