"""Hand-made dossiers, loading helpers and an independent count of every report's figures.

The independent count (`expected`) is the counting rules written again in plain Python over plain
facts, so that a report query is checked against something that shares none of its code.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from mappings import one_stop
from mappings.canonical import Agency, Dossier, Procedure, StatusEvent
from mappings.common import LOCAL_TZ, MappingContext
from tests.conftest import TEST_KEY
from warehouse.loader import Batch

H1 = (date(2019, 1, 1), date(2019, 6, 30))
Q1 = (date(2019, 1, 1), date(2019, 3, 31))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def dossier(
    key: str,
    received: str | None,
    *,
    ended: str | None = None,
    due: str | None = None,
    status: int | None = None,
    channel: int = 1,
    agency: str = "A1",
    procedure: str = "P1",
    delivery: int | None = 0,
    on_spot: bool = False,
    paid: bool = False,
    fee: int = 0,
    applicant_ref: str | None = None,
    intake: str | None = None,
) -> Dossier:
    status = status or (9 if ended else 4)
    recv = at(received) if received else None
    history = ((StatusEvent(2, recv),) if recv else ()) + (
        (StatusEvent(status, at(ended)),) if ended else ()
    )
    return Dossier(
        source_id=key,
        dossier_number=key,
        procedure_code=procedure,
        agency_code=agency,
        applicant_type=1,
        applicant_ref=applicant_ref,
        channel=channel,
        result_delivery=delivery,
        submitted_at=recv,
        received_at=recv,
        due_at=at(due) if due else None,
        due_extended=False,
        ended_at=at(ended) if ended else None,
        status=status,
        on_the_spot=on_spot,
        paid_online=paid,
        fee_amount=fee,
        source_updated_at=at(ended or received or "2019-01-01T00:00"),
        history=history,
        intake_number=intake,
    )


def load(engine, source: str, records: list, stream: str = "dossiers") -> None:
    with Batch(engine, source=source, stream=stream) as batch:
        batch.load_page(records)


AGENCIES = [Agency("A1", "Sở Tư pháp", None), Agency("A2", "Sở Y tế", None)]
PROCEDURES = [
    Procedure(
        "P1", "Cấp phiếu lý lịch tư pháp", "F1", "Lý lịch tư pháp", "A1", 10, "day", "full", 0
    ),
    Procedure(
        "P2", "Cấp giấy phép hành nghề", "F2", "Khám chữa bệnh", "A2", 5, "day", "partial", 1
    ),
    Procedure("P3", "Cấp phép tạm thời", "F2", "Khám chữa bệnh", "A2", 4, "hour", "level_2", 0),
    Procedure("P4", "Xác nhận", "F1", "Lý lịch tư pháp", "A1", 1, "day", "level_4", 0),
]


def catalogue(engine, agencies=AGENCIES, procedures=PROCEDURES) -> None:
    load(engine, "one_stop", agencies, "agencies")
    load(engine, "one_stop", procedures, "procedures")


def load_dataset(engine, dataset) -> None:
    """A stand-in data set through the one-stop mapping into the warehouse (no HTTP: the wire is
    tested end to end elsewhere)."""
    ctx = MappingContext(TEST_KEY)
    for stream, mapping, records in (
        ("agencies", one_stop.map_agency, dataset.agencies),
        ("procedures", one_stop.map_procedure, dataset.procedures),
        ("dossiers", one_stop.map_dossier, dataset.dossiers),
        ("ratings", one_stop.map_rating, dataset.ratings),
    ):
        with Batch(engine, source="one_stop", stream=stream) as batch:
            for i in range(0, len(records), 2000):
                batch.load_page([mapping(r, ctx) for r in records[i : i + 2000]])


# -- the independent count -----------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the counting rules need about one real dossier, as plain values."""

    agency: str
    procedure: str
    status: int
    channel: int
    received: date | None
    ended: date | None
    due: date | None
    delivery: int | None = 0
    on_spot: bool = False
    paid: bool = False
    fee: int = 0
    level: str | None = None  # the catalogue's online level of the procedure


def _day(instant: datetime | None) -> date | None:
    return instant.astimezone(LOCAL_TZ).date() if instant else None


def facts_of(d: Dossier, level: str | None = None, **over) -> Facts:
    base = Facts(
        d.agency_code,
        d.procedure_code,
        d.status,
        d.channel,
        _day(d.received_at),
        _day(d.ended_at),
        _day(d.due_at),
        d.result_delivery,
        d.on_the_spot,
        d.paid_online,
        d.fee_amount,
        level,
    )
    return replace(base, **over)


def facts_of_dataset(dataset) -> list[Facts]:
    """Facts from a stand-in data set: its truth, plus the wire fields the truth does not keep."""
    levels = {"3": "level_3", "4": "level_4", "2": "level_2"}
    level = {p["MaTTHC"]: levels.get(str(p["MucDo"])) for p in dataset.procedures}
    out = []
    for raw, t in zip(dataset.dossiers, dataset.truth, strict=True):
        out.append(
            Facts(
                t.agency_code,
                t.procedure_code,
                t.status,
                t.channel,
                _day(t.received_at),
                _day(t.ended_at),
                _day(t.due_at),
                int(raw.get("HinhThuc") or 0),
                raw.get("TaiCho") == "1",
                raw.get("DuocThanhToanTrucTuyen") in ("1", "2"),
                sum(int(line["Gia"]) for line in raw.get("DanhSachLePhi") or []),
                level.get(t.procedure_code),
            )
        )
    return out


FULL = {"full", "level_4"}
CHANNEL = {1: "received_direct", 2: "received_online", 3: "received_postal"}


def expected(facts: Iterable[Facts], start: date, end: date) -> dict[str, Counter]:
    """Every report's counts by agency, by the rules of docs/domain.md, in plain Python."""
    rows: dict[str, Counter] = defaultdict(Counter)
    for f in facts:
        if f.received is None or f.status in (1, 3):
            continue
        if f.received > end or (f.ended is not None and f.ended < start):
            continue
        c = rows[f.agency]
        if f.received >= start:
            c["received"] += 1
            c[CHANNEL[f.channel]] += 1
            c["on_the_spot"] += f.on_spot
            if f.fee > 0:
                c["fee_bearing"] += 1
                c["paid_online"] += f.paid
            if f.channel == 2:
                c["online_full" if f.level in FULL else "online_partial"] += 1
        else:
            c["carried_over"] += 1
        if f.ended is not None and f.ended <= end:
            if f.due is None or f.ended == f.due:
                kind = "resolved_on_time"
            else:
                kind = "resolved_early" if f.ended < f.due else "resolved_late"
            c[kind] += 1
            if f.channel == 2:
                c["online_resolved"] += 1
                c["online_resolved_on_time"] += kind != "resolved_late"
            if f.status in (9, 10):
                c["with_result"] += 1
                c["returned_by_post"] += f.delivery == 1
        elif f.due is not None and f.due < end:
            c["pending_overdue"] += 1
        else:
            c["pending_within_due"] += 1
    return {k: +v for k, v in rows.items()}


def synced_to(engine, last_day: date, sources: Iterable[str] | None = None) -> None:
    """Watermarks as a sync up to and including `last_day` leaves them, for every windowed
    stream of `sources` (default: all): the reports count no further than this day."""
    from datetime import time, timedelta

    from lienthong.registry import SOURCES
    from warehouse.loader import move_watermark

    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=LOCAL_TZ)
    with engine.begin() as conn:
        for key in sources if sources is not None else SOURCES:
            for stream in SOURCES[key].streams:
                if stream.windowed:
                    move_watermark(conn, key, stream.name, end, None)
