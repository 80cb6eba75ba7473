"""What a SOAP source keeps of a reply that broke the contract: the reply's shape, not its data.

The XML structure (element names, nesting, repeats, attributes) with every value replaced by a
marker of its shape — ``<12 digits>``, ``<date-like 99/99/9999 99:99:99>``, ``<text 14 chars>`` —
except the technical values a source allow-lists by element name (paging counters, codes, fault
codes, dossier numbers), each kept only when it looks like one. A source can also name records
whose other children are left out unread (criminal records: everything but the fields the
connector keeps) and the only elements worth opening. Safe by construction: no character of any
other value is copied, whatever the reply holds or wherever a broken contract moved it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from connectors.errors import ContractError, PageShape

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_NIL = f"{{{XSI}}}nil"

# Patterns a value of an allow-listed element must match whole to be kept as it is.
COUNTER = re.compile(r"\d{1,7}")  # a page number or a count
CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,39}")  # "10", "XKLD", "2.000505", "DA_TRA_KET_QUA"
QNAME = re.compile(r"(?:[A-Za-z_][\w.-]{0,30}:)?[A-Za-z_][\w.-]{0,80}")  # "soap:Client.X"
# "000.00.12.H22-181004-5001", "DKKD-H22-180930-0001": one token holding a digit, no spaces.
DOSSIER_NUMBER = re.compile(r"(?=[^\d]*\d)[A-Za-z0-9][A-Za-z0-9._/-]{2,59}")
_ID_LIKE = re.compile(r"\d{9,}")  # never kept as it is, whatever the element

# The envelope's own parts (SOAP 1.1 and 1.2) are always opened, and fault codes kept: they
# say what went wrong.
ENVELOPE_NAMESPACES = frozenset(
    {"http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"}
)
ENVELOPE_PARTS = frozenset(
    {"Envelope", "Header", "Body", "Fault", "Code", "Subcode", "Reason", "Detail"}
)
FAULT_CODES: Mapping[str, re.Pattern[str]] = {"faultcode": QNAME, "Value": QNAME}

NOT_KEPT = "<not kept>"
NOTE = (
    "the reply's XML structure; each value replaced by its shape, but for the allow-listed "
    "technical ones (paging counters, codes, dossier numbers)"
)
NOTE_RESTRICTED = (
    "; of a record only the parts the source keeps, and elements it does not know are not "
    "opened (<not kept>)"
)

_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
_DATE_LIKE = re.compile(
    r"\d{1,4}([-/.])\d{1,2}\1\d{1,4}"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class ShapeRules:
    """What a source's reply may show beyond its bare shape.

    ``verbatim``: element local name -> pattern; a value matching it whole (and holding no run
    of nine digits or more) is kept as it is. ``only``: element local name -> the only children
    shown; the others are left out, not even named, and so are the element's own text and
    attributes (``xsi:nil`` aside).
    ``opened``: when given, the only elements (besides the envelope's parts) whose children are
    shown; another element with children is shown as ``<not kept>``. ``lengths``: whether a text
    marker tells its length.
    """

    verbatim: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    only: Mapping[str, frozenset[str]] = field(default_factory=dict)
    opened: frozenset[str] | None = None
    lengths: bool = True


def shape_of(text: str | None, *, lengths: bool = True) -> str:
    """The marker of a value: what kind of text it is, never any of its characters (but
    ``true`` and ``false``, which are their kind)."""
    value = (text or "").strip()
    if not value:
        return "<empty>"
    if _DIGITS.fullmatch(value):
        return f"<{len(value)} digits>"
    if value in ("true", "false"):
        return value
    if _DATE_LIKE.fullmatch(value):
        return f"<date-like {_DIGITS.sub(lambda m: '9' * len(m.group()), value)}>"
    if _NUMBER.fullmatch(value):
        return "<number>"
    return f"<text {len(value)} chars>" if lengths else "<text>"


def reply_shape(element: etree._Element, rules: ShapeRules | None = None) -> PageShape:
    """The shape of the whole document ``element`` belongs to (its envelope, when it has one)."""
    rules = rules or ShapeRules()
    root = element.getroottree().getroot()
    note = NOTE + NOTE_RESTRICTED if rules.only or rules.opened is not None else NOTE
    return PageShape(note=note, xml={_key(root, None): _shape(root, rules)})


def keep_shape(error: ContractError, element: etree._Element, rules: ShapeRules) -> None:
    """Give ``error`` the shape of the reply ``element`` belongs to as its page, for the
    pipeline to keep; a page it has (the paging counters, say) is replaced: the shape holds
    them too, and more."""
    if not isinstance(error.page, PageShape):
        error.page = reply_shape(element, rules)


def _shape(element: etree._Element, rules: ShapeRules) -> Any:
    qname = etree.QName(element)
    local, namespace = qname.localname, qname.namespace
    children = [c for c in element if isinstance(c.tag, str)]  # no comments or PIs
    shown = rules.only.get(local)
    attributes = {
        f"@{_attribute_key(k)}": _attribute_value(k, v, rules)
        for k, v in element.items()
        if shown is None or k == XSI_NIL  # a restricted element's attributes are its content
    }
    if not children:
        if shown is not None and (element.text or "").strip():
            return NOT_KEPT  # text where only some children may be shown: none of it is
        if element.get(XSI_NIL) in ("true", "1") and len(attributes) == 1:
            return None
        value = _leaf(local, element.text, rules)
        return {**attributes, "#text": value} if attributes else value
    envelope_part = namespace in ENVELOPE_NAMESPACES and local in ENVELOPE_PARTS
    if rules.opened is not None and local not in rules.opened and not envelope_part:
        return NOT_KEPT
    node: dict[str, Any] = dict(attributes)
    text = " ".join(t.strip() for t in (element.text, *(c.tail for c in element)) if t)
    if shown is None and text.strip():  # mixed content
        node["#text"] = shape_of(text, lengths=rules.lengths)
    for child in children:
        if shown is not None and etree.QName(child).localname not in shown:
            continue
        key, value = _key(child, namespace), _shape(child, rules)
        if key not in node:
            node[key] = value
        elif isinstance(node[key], list):  # shapes are never lists: a list is a repeat
            node[key].append(value)
        else:
            node[key] = [node[key], value]
    return node


def _leaf(local: str, text: str | None, rules: ShapeRules) -> str:
    value = (text or "").strip()
    pattern = rules.verbatim.get(local) or FAULT_CODES.get(local)
    if pattern is not None and pattern.fullmatch(value) and not _ID_LIKE.search(value):
        return value
    return shape_of(value, lengths=rules.lengths)


def _key(element: etree._Element, parent_namespace: str | None) -> str:
    """The local name; Clark notation where the namespace changes (``{}`` for none)."""
    name = etree.QName(element)
    if name.namespace == parent_namespace:
        return name.localname
    return f"{{{name.namespace or ''}}}{name.localname}"


def _attribute_key(name: str) -> str:
    qname = etree.QName(name)
    return f"xsi:{qname.localname}" if qname.namespace == XSI else qname.localname


def _attribute_value(name: str, value: str, rules: ShapeRules) -> str:
    if name == XSI_NIL and value in ("true", "false", "1", "0"):
        return value
    if name == f"{{{XSI}}}type" and QNAME.fullmatch(value):
        return value
    return shape_of(value, lengths=rules.lengths)
