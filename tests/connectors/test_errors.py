"""Error excerpts say what went wrong without carrying records, secrets or ID numbers."""

from __future__ import annotations

from connectors.errors import ContractError, excerpt


def test_a_cut_json_body_is_described_not_quoted():
    body = '{"error_code":0,"data":[{"MaHoSo":"H22-1","ChuHoSo":"Nguyễn Văn A",' + " " * 300
    text = excerpt(body)
    assert "Nguyễn" not in text and "MaHoSo" not in text
    assert text == f"JSON-like text of {len(body):,} characters"
    assert "Nguyễn" not in str(ContractError("reply is not JSON", payload=body))


def test_a_cut_xml_body_is_described_not_quoted():
    body = "<soap:Envelope><hoSo><hoTen>Trần Thị B</hoTen>" + "x" * 300
    assert excerpt(body) == f"XML-like text of {len(body):,} characters"


def test_short_text_keeps_its_words_but_not_id_numbers_or_secrets():
    text = excerpt('Bad Gateway for 012345678901 "token": "abc"')
    assert "Bad Gateway" in text
    assert "012345678901" not in text and "<12 digits>" in text
    assert "abc" not in text
