"""The edges of decoding a JSON reply (connectors/json_reply.py) through the REST client: what
the contracts refuse is a ContractError, asked once, with the page to keep when it decoded;
what they allow right up to each limit decodes as before."""

from __future__ import annotations

import json

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import json_reply
from connectors.errors import AuthError, ContractError, TransientError
from connectors.rest import RestClient, RetryPolicy

URL = "https://api.test/x"
NO_WAIT = RetryPolicy(max_attempts=3, initial=0, maximum=0, jitter=0)
LIMIT = json_reply.MAX_NUMBER_DIGITS


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def reply(body: bytes | str, status: int = 200, content_type: str = "application/json") -> None:
    responses.post(URL, body=body, status=status, content_type=content_type)


def call():
    with RestClient("https://api.test", retry=NO_WAIT) as client:
        return client.post_json("x", {})


@responses.activate
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"n": ' + ("9" * (LIMIT + 1) + "}"), "a number of 4,301 digits"),
        ('{"n": -' + ("9" * (LIMIT + 1) + "}"), "a number of 4,301 digits"),
        ('{"n": 0.' + "1" * LIMIT + "}", "a number of 4,302 characters"),
        ('{"n": 1e309}', r"beyond a float's range \(1e309\)"),
        ('{"n": -1E+400}', r"beyond a float's range \(-1E\+400\)"),
        ('{"n": 1190012345e400}', r"beyond a float's range \(14 characters\)"),
        ('{"n": NaN}', "has NaN"),
        ('{"n": [1, Infinity]}', "has Infinity"),
        ('{"n": -Infinity}', "has -Infinity"),
        ('{"n": ' + nested(json_reply.MAX_NESTING) + "}", "nests deeper than 64 levels"),
        ('{"n": ' + nested(1_000_000) + "}", "nests deeper than 64 levels"),
        ("[" * 1_000_000, "nests deeper than 64 levels"),  # deep and cut: deep decides
        (b'{"name": "Nguy\xc3\xaan \xff\xfe V\xc4\x83n"}', r"not valid utf-8 \(byte 18\)"),
        (b'{"name": "\xed\xa0\x80"}', "not valid utf-8"),  # a surrogate encoded: not UTF-8
    ],
)
def test_a_reply_the_contracts_refuse_is_a_contract_error_asked_once(body, message):
    reply(body)
    with pytest.raises(ContractError, match=message):
        call()
    assert len(responses.calls) == 1


@responses.activate
def test_a_refused_reply_carries_its_page_with_markers_in_place_of_the_values():
    reply('{"data": [{"a": ' + "7" * 5000 + ', "b": NaN, "c": 1e999, "d": "012345678901"}]}')
    with pytest.raises(ContractError) as caught:
        call()
    assert caught.value.page == {
        "data": [
            {
                "a": "<number of 5,000 digits>",
                "b": "NaN",
                "c": "<number of 5 characters>",
                "d": "012345678901",
            }
        ]
    }  # the pipeline redacts it before keeping it (tests/reliability/test_undecodable_replies.py)
    reply(b'{"data": [{"name": "\xff"}]}')
    with pytest.raises(ContractError) as caught:
        call()
    assert caught.value.page == {"data": [{"name": "\ufffd"}]}
    reply('{"n": ' + nested(100) + "}")
    with pytest.raises(ContractError) as caught:
        call()
    assert caught.value.page is None  # never handed to json: nothing decoded to keep


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        '{"n": ' + ("9" * LIMIT) + "}",
        '{"n": -' + ("9" * LIMIT) + "}",
        '{"n": 1.7976931348623157e308, "m": -5e-324}',
        '{"n": ' + nested(json_reply.MAX_NESTING - 1) + "}",
        # Brackets, quotes and escapes inside strings are text, not nesting.
        json.dumps({"s": "[" * 500 + '\\"{' * 100, "t": "\\" * 9 + "]" * 300}),
        '{"NaN": "NaN", "Infinity": ["Infinity"]}',
    ],
    ids=[
        "4300 digits",
        "-4300 digits",
        "float extremes",
        "nesting 64",
        "brackets in text",
        "NaN as text",
    ],
)
def test_what_the_contracts_allow_up_to_each_limit_decodes(body):
    reply(body)
    assert call() == json.loads(body)


@responses.activate
def test_a_declared_charset_is_honoured_and_an_unknown_one_is_utf8():
    reply('{"name": "Nguyễn"}'.encode("utf-16"), content_type="application/json; charset=utf-16")
    assert call() == {"name": "Nguyễn"}
    reply('{"name": "Nguyễn"}'.encode(), content_type="application/json; charset=x-unknown")
    assert call() == {"name": "Nguyễn"}


@responses.activate
def test_a_multibyte_character_cut_at_the_end_is_still_a_cut_reply():
    body = '{"name": "Nguyễn"}'.encode()
    cut = body[: body.index("ễ".encode()) + 1]
    reply(cut)
    reply(body)
    assert call() == {"name": "Nguyễn"}  # retried, then whole
    assert len(responses.calls) == 2


@responses.activate
@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthError), (503, TransientError), (400, ContractError)]
)
def test_an_error_reply_that_cannot_be_decoded_still_gives_its_status(status, error):
    for _ in range(NO_WAIT.max_attempts):
        reply('{"error": ' + nested(200_000) + ', "n": ' + "9" * 5000 + "}", status=status)
    with pytest.raises(error, match=f"HTTP {status}") as caught:
        call()
    assert getattr(caught.value, "payload", None) is None


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


tricky_text = st.text(alphabet='[]{}"\\\\ aễ\n', max_size=12)
documents = st.recursive(
    st.one_of(st.none(), st.integers(), tricky_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(tricky_text, inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(document=documents, limit=st.integers(0, 8), ascii_only=st.booleans())
def test_nesting_is_counted_as_json_reads_it_whatever_the_strings_hold(document, limit, ascii_only):
    raw = json.dumps(document, ensure_ascii=ascii_only).encode()
    assert json_reply.nesting_exceeds(raw, limit) == (depth_of(document) > limit)
