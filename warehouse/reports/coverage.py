"""How far a report's period is covered by synced data: every source's watermark, and the
failed or abandoned batches inside the period that no later batch made good.

A stream's watermark is the exclusive end of what it has synced; the last day it covers is the
last local day that ends at or before it. A report counts up to the last day every stream it
reads covers (`counted_to`), never past it: a period running past the data is counted as of that
day, the way a cut-off period ends early, and says so. A stream without a watermark was never
synced: its source is named as not covered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, and_, or_, select

from warehouse import schema
from warehouse.calendar import LOCAL_TZ


@dataclass(frozen=True)
class FailedBatch:
    """An audit row whose window lies in the period and that no later success covered."""

    batch_id: int
    source: str
    stream: str
    outcome: str  # failed | abandoned
    window_start: date
    window_end: date  # last local day of the window

    def describe(self) -> str:
        return (
            f"{self.source}.{self.stream} batch #{self.batch_id} {self.outcome} "
            f"({self.window_start:%d/%m/%Y}–{self.window_end:%d/%m/%Y})"
        )


@dataclass(frozen=True)
class Coverage:
    """What the data covers of the period [start, end] a report was asked for."""

    start: date
    end: date
    synced_to: Mapping[str, date]  # source -> last day all its streams cover
    never_synced: tuple[str, ...]  # sources with a stream that never set a watermark
    failed: tuple[FailedBatch, ...]

    @property
    def last_day(self) -> date | None:
        """The last day every synced stream covers; None when nothing was ever synced."""
        return min(self.synced_to.values()) if self.synced_to else None

    @property
    def counted_to(self) -> date | None:
        """The last day the report may count: the period's end or, earlier, the data's end.
        None when the data ends before the period starts."""
        last = self.last_day
        if last is None or last < self.start:
            return None
        return min(last, self.end)

    @property
    def lagging(self) -> dict[str, date]:
        """The sources whose data ends before the period does, with their last day."""
        return {s: d for s, d in sorted(self.synced_to.items()) if d < self.end}

    @property
    def complete(self) -> bool:
        return not (self.lagging or self.never_synced or self.failed)

    @property
    def empty(self) -> bool:
        """Nothing of the period is covered: no report can be counted."""
        return self.counted_to is None

    def _gaps(self, never: str, lag: str) -> list[str]:
        parts = [f"{s} {lag} {d:%d/%m/%Y}" for s, d in self.lagging.items()]
        parts += [f"{s} {never}" for s in self.never_synced]
        return parts

    def line(self) -> str:
        """One terminal line; empty when the period is fully covered."""
        if self.complete:
            return ""
        gaps = self._gaps("never synced", "synced to")
        failed = [f.describe() for f in self.failed]
        if self.empty:
            head = f"no data for {self.start:%d/%m/%Y}–{self.end:%d/%m/%Y}: nothing is counted" + (
                f" (the data ends on {self.last_day:%d/%m/%Y})" if self.last_day else ""
            )
        elif self.counted_to is not None and self.counted_to < self.end:
            head = f"counted as of {self.counted_to:%d/%m/%Y}, not {self.end:%d/%m/%Y}"
        else:
            head = f"counted to {self.end:%d/%m/%Y} with incomplete data"
        tail = "; ".join(gaps + ([f"unrecovered: {', '.join(failed)}"] if failed else []))
        return f"{head}: {tail}" if tail else head

    def form_line(self) -> str:
        """The line printed under the period on the xlsx and HTML forms; empty when complete."""
        if self.complete:
            return ""
        gaps = self._gaps("chưa đồng bộ", "đến")
        gaps += [
            f"{f.source}.{f.stream} lỗi nạp {f.window_start:%d/%m/%Y}–{f.window_end:%d/%m/%Y}"
            for f in self.failed
        ]
        counted = self.counted_to
        head = (
            f"Số liệu đến hết ngày {counted:%d/%m/%Y}"
            if counted is not None
            else "Chưa có số liệu cho kỳ báo cáo"
        )
        return f"{head} (nguồn chưa đủ: {'; '.join(gaps)})"


def last_day_covered(watermark: datetime) -> date:
    """The last local day that ends at or before `watermark` (synced up to, exclusive)."""
    return watermark.astimezone(LOCAL_TZ).date() - timedelta(days=1)


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)


def coverage(
    conn: Connection, start: date, end: date, streams: Mapping[str, Sequence[str]]
) -> Coverage:
    """Coverage of [start, end] by `streams` (source -> its windowed streams)."""
    w = schema.watermarks
    marks = {
        (r.source, r.stream): r.value
        for r in conn.execute(
            select(w.c.source, w.c.stream, w.c.value).where(w.c.source.in_(list(streams)))
        )
    }
    synced_to: dict[str, date] = {}
    never: list[str] = []
    for source, names in streams.items():
        days = [last_day_covered(marks[source, n]) for n in names if (source, n) in marks]
        if len(days) < len(names):
            never.append(source)
        if days:
            synced_to[source] = min(days)
    last = min(synced_to.values()) if synced_to else None
    counted_end = min(last, end) if last is not None and last >= start else None
    failed = _failed_batches(conn, start, counted_end, streams) if counted_end is not None else ()
    return Coverage(start, end, synced_to, tuple(sorted(never)), failed)


def _failed_batches(
    conn: Connection, start: date, end: date, streams: Mapping[str, Sequence[str]]
) -> tuple[FailedBatch, ...]:
    """Failed or abandoned batches whose window meets [start, end] and that no later succeeded
    batch of the same stream, over a window holding theirs, has made good."""
    lb = schema.load_batches
    later = lb.alias("later")
    pairs = [and_(lb.c.source == s, lb.c.stream.in_(list(n))) for s, n in streams.items() if n]
    if not pairs:
        return ()
    recovered = (
        select(later.c.id)
        .where(
            later.c.source == lb.c.source,
            later.c.stream == lb.c.stream,
            later.c.outcome == "succeeded",
            later.c.started_at > lb.c.started_at,
            later.c.window_start <= lb.c.window_start,
            later.c.window_end >= lb.c.window_end,
        )
        .exists()
    )
    rows = conn.execute(
        select(lb.c.id, lb.c.source, lb.c.stream, lb.c.outcome, lb.c.window_start, lb.c.window_end)
        .where(
            or_(*pairs),
            lb.c.outcome.in_(("failed", "abandoned")),
            lb.c.window_start < _instant(end + timedelta(days=1)),
            lb.c.window_end > _instant(start),
            ~recovered,
        )
        .order_by(lb.c.id)
    )
    return tuple(
        FailedBatch(
            r.id,
            r.source,
            r.stream,
            r.outcome,
            r.window_start.astimezone(LOCAL_TZ).date(),
            (r.window_end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date(),
        )
        for r in rows
    )
