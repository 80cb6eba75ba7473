"""Idempotent loading: one batch = one transaction holding data, quarantine, audit and watermark.

A batch is opened with an audit row in its own short transaction (outcome `running`), so that a
crash leaves a trace. Everything else — upserts, status history, quarantined records, the final
audit counts and the watermark — happens in ONE transaction that commits at the end or not at
all. Records are written page by page inside that transaction, so memory does not grow with the
number of records.

That transaction first takes the source's transaction lock (`warehouse.locks`), so two batches
of one source never load at once even if a sync's session lock was lost. The writes keep the
invariants themselves all the same: newer-wins and the watermark are guarded in the statements
(`warehouse.bulk`, `move_watermark`), and the counts follow what the statements did. While it
loads, the batch's heartbeat says it is alive (`warehouse.liveness`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from mappings.canonical import Canonical, Dossier, Rejection
from warehouse import rules, schema
from warehouse.bulk import BulkWriter, one_of
from warehouse.entities import ENTITIES, Entity, content_hash, entity_of
from warehouse.linking import LinkRow, relink
from warehouse.liveness import DEFAULT_STALE_AFTER, Heartbeat, host_name, mark_abandoned
from warehouse.locks import transaction_lock
from warehouse.rules import storable_text
from warehouse.statistics import StatisticsRefresher

log = logging.getLogger(__name__)

ENTITIES_BY_NAME = {e.name: e for e in ENTITIES.values()}

# Bound parameters per IN (...) query: well under SQLite's and PostgreSQL's limits.
CHUNK = 500
_SOURCE_ID_LENGTH = schema.rejected_records.c.source_id.type.length


@dataclass
class BatchCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0  # older than the stored version: never overwrites it
    rejected: int = 0

    def add(self, other: BatchCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def summary(self) -> str:
        return " ".join(f"{k}={v}" for k, v in asdict(self).items())


def _now() -> datetime:
    return datetime.now(UTC)


class Batch:
    """A load batch of one source stream over one window. Use as a context manager."""

    def __init__(
        self,
        engine: Engine,
        *,
        source: str,
        stream: str,
        window: tuple[datetime, datetime] | None = None,
        run_id: str = "cli",
        stale_after: float = DEFAULT_STALE_AFTER,
    ) -> None:
        """``stale_after``: seconds without a heartbeat after which a `running` batch of this
        stream counts as abandoned (LIENTHONG_BATCH_STALE_AFTER, passed down by the caller)."""
        self.engine = engine
        self.source = source
        self.stream = stream
        self.window = window
        self.run_id = run_id
        self.counts = BatchCounts()
        self.batch_id: int | None = None
        self._conn: Connection | None = None
        self._watermark: datetime | None = None
        self.outcome = "running"
        self._statistics = StatisticsRefresher()
        self._stale_after = stale_after
        self._heartbeat: Heartbeat | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Batch:
        self._mark_abandoned()
        with self.engine.begin() as conn:
            start, end = self.window or (None, None)
            now = _now()
            self.batch_id = conn.execute(
                insert(schema.load_batches)
                .values(
                    source=self.source,
                    stream=self.stream,
                    window_start=start,
                    window_end=end,
                    started_at=now,
                    heartbeat_at=now,
                    outcome="running",
                    run_id=self.run_id[:250],
                    pid=os.getpid(),
                    host=host_name(),
                )
                .returning(schema.load_batches.c.id)
            ).scalar_one()
        # Beating already while waiting for the transaction lock: a waiting batch is alive.
        self._heartbeat = Heartbeat(self.engine, self.batch_id, self._stale_after).start()
        try:
            self._conn = self.engine.connect()
            self._conn.begin()
            transaction_lock(self._conn, self.source)
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._writer = BulkWriter(self._conn)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        conn, self._conn = self._conn, None
        if conn is None:  # never connected
            self.outcome = "failed"
            self._record_failure(exc)
            return
        try:
            if exc_type is None:
                self._finish(conn)
                conn.commit()
                self.outcome = "succeeded"
            else:
                conn.rollback()
        finally:
            conn.close()
        if exc_type is not None:
            self.outcome = "failed"
            self._record_failure(exc)

    def set_watermark(self, value: datetime) -> None:
        """Move the stream's watermark to `value` when the batch commits (never backwards)."""
        self._watermark = value

    # -- loading -----------------------------------------------------------------------------
    def load_page(
        self, records: Sequence[Canonical], rejections: Sequence[tuple[Rejection, Any]] = ()
    ) -> BatchCounts:
        """Upsert one page of canonical records and quarantine its rejections."""
        return self.load_prepared(prepare_page(records, rejections, self.source))

    def load_prepared(self, page: PreparedPage) -> BatchCounts:
        """Upsert a page made ready by `prepare_page` (possibly in another process)."""
        if self._conn is None:
            raise RuntimeError("load_page called outside the batch's `with` block")
        counts = BatchCounts(read=page.read)
        self._writer.next_page()
        for name, prepared in page.entities.items():
            counts.add(self._upsert(ENTITIES_BY_NAME[name], prepared))
        if page.rejections:
            self._quarantine(page.rejections)
            counts.rejected += len(page.rejections)
        self.counts.add(counts)
        return counts

    def _upsert(self, entity: Entity, prepared: PreparedEntity) -> BatchCounts:
        conn, counts = self._conn, BatchCounts(unchanged=prepared.repeated)
        table = entity.table
        rows, histories = prepared.rows, prepared.histories
        for row in rows.values():
            row["batch_id"] = self.batch_id
        existing = self._existing(entity, list(rows))
        inserts, updates = _classify(entity, rows, existing, counts)
        inserts, updates = self._write(entity, inserts, updates, counts)
        counts.inserted += len(inserts)
        counts.updated += len(updates)
        self._statistics.inserted(conn, table.name, len(inserts))
        if entity.table is schema.dossiers:
            key_of = itemgetter(*entity.key)
            ids = {key_of(row): stored["id"] for row, stored in updates}
            fresh = self._ids([key_of(r) for r in inserts])
            ids.update(fresh)
            self._append_history({k: histories[k] for k in ids if k in histories}, ids, set(fresh))
            links = {
                key_of(row): (stored["linked_to"], stored["link_rule"]) for row, stored in updates
            }
            relink(
                conn,
                self.source,
                [
                    LinkRow(
                        ids[k],
                        row["source"],
                        row["source_id"],
                        row["dossier_number"],
                        row["intake_number"],
                        row["procedure_code"],
                        row["applicant_ref"],
                        row["received_date"],
                        *links.get(k, (None, None)),
                    )
                    for row in (*inserts, *(row for row, _ in updates))
                    if (k := key_of(row))
                ],
            )
        return counts

    def _write(
        self,
        entity: Entity,
        inserts: list[dict],
        updates: list[tuple[dict, dict]],
        counts: BatchCounts,
    ) -> tuple[list[dict], list[tuple[dict, dict]]]:
        """Write what the read decided, as the statements allow: the rows inserted and the
        (row, stored) pairs updated. Another transaction may have stored a key or a newer
        version after the read (a lost session lock, a loader outside the pipeline): a key
        taken meanwhile is compared with what is stored now, and an update the version guard
        refused is stale."""
        key_of = itemgetter(*entity.key) if len(entity.key) > 1 else _single(entity.key[0])
        if inserts:
            done = self._writer.insert_new(entity.table, entity.key, inserts)
            if done < len(inserts):
                stored = self._existing(entity, [key_of(r) for r in inserts], with_batch=True)
                ours = {key_of(r): _batch_of(stored, key_of(r)) == self.batch_id for r in inserts}
                mine = [r for r in inserts if ours[key_of(r)]]
                theirs = {key_of(r): r for r in inserts if not ours[key_of(r)]}
                lost, more = _classify(entity, theirs, stored, counts)
                if lost or len(mine) != done:
                    raise RuntimeError(
                        f"{entity.table.name}: {len(inserts) - done} rows were not inserted "
                        "and are not stored either"
                    )
                inserts, updates = mine, [*updates, *more]
        if not updates:
            return inserts, updates
        # The natural key does not change; a surrogate-keyed row is matched on its id.
        pk = entity.surrogate or entity.key[0]
        done = self._writer.update(
            entity.table,
            pk,
            [
                {pk: stored[pk] if entity.surrogate else row[pk]}
                | {c: v for c, v in row.items() if c not in entity.key and c != pk}
                for row, stored in updates
            ],
            guard=entity.updated_column,
        )
        if done < len(updates):
            # What the guard refused holds a newer version than the row: this row is stale.
            after = self._existing(entity, [key_of(row) for row, _ in updates])
            kept = [
                (row, stored)
                for row, stored in updates
                if after.get(key_of(row), {}).get("content_hash") == row["content_hash"]
            ]
            counts.stale += len(updates) - len(kept)
            updates = kept
        return inserts, updates

    def _ids(self, keys: list[tuple]) -> dict[tuple, int]:
        """The surrogate ids of dossiers of this batch's source, by (source, source id)."""
        t = schema.dossiers
        ids: dict[tuple, int] = {}
        for i in range(0, len(keys), CHUNK):
            q = select(t.c.source, t.c.source_id, t.c.id).where(
                and_(
                    t.c.source == self.source,
                    one_of(self._conn, t.c.source_id, [k[1] for k in keys[i : i + CHUNK]]),
                )
            )
            ids.update({(s, sid): pk for s, sid, pk in self._conn.execute(q)})
        return ids

    def _existing(
        self, entity: Entity, keys: list[tuple], with_batch: bool = False
    ) -> dict[tuple, dict[str, Any]]:
        table = entity.table
        cols = [table.c[c] for c in entity.key] + [table.c.content_hash]
        if with_batch:
            cols.append(table.c.batch_id)
        if entity.updated_column:
            cols.append(table.c[entity.updated_column])
        if entity.surrogate:
            cols.append(table.c[entity.surrogate])
        if table is schema.dossiers:  # a changed dossier's link is recomputed from these
            cols += [table.c.linked_to, table.c.link_rule]
        found: dict[tuple, dict[str, Any]] = {}
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            if len(entity.key) == 1:
                cond = one_of(self._conn, table.c[entity.key[0]], [k[0] for k in chunk])
            elif entity.key[0] == "source":
                # Every row of a batch has the batch's source: a plain IN over the second key
                # column uses the unique index, where a row-value IN makes the planner work per
                # tuple (PostgreSQL plans a 500-branch OR; SQLite may scan).
                cond = and_(
                    table.c.source == self.source,
                    one_of(
                        self._conn,
                        table.c[entity.key[1]],
                        [k[1] for k in chunk if k[0] == self.source],
                    ),
                )
            else:
                cond = tuple_(*(table.c[c] for c in entity.key)).in_(chunk)
            for row in self._conn.execute(select(*cols).where(cond)).mappings():
                found[tuple(row[c] for c in entity.key)] = dict(row)
        return found

    def _append_history(
        self, dossiers: dict[tuple, History], ids: dict[tuple, int], fresh: set[tuple]
    ) -> None:
        """Append each status event exactly once (unique on dossier, status, time)."""
        if not dossiers:
            return
        h = schema.dossier_status_history
        keys = list(dossiers)
        known: set[tuple[int, int, datetime]] = set()
        old_ids = [ids[k] for k in keys if k not in fresh]
        for i in range(0, len(old_ids), CHUNK):
            q = select(h.c.dossier_id, h.c.status, h.c.changed_at).where(
                one_of(self._conn, h.c.dossier_id, old_ids[i : i + CHUNK])
            )
            known.update((d, s, at) for d, s, at in self._conn.execute(q))
        new_events: dict[tuple[int, int, datetime], dict[str, Any]] = {}
        for k, history in dossiers.items():
            for status, at in history:
                # Aware datetimes compare and hash as instants, whatever their zone. A source
                # may list the same event twice: it is still one event.
                event = (ids[k], status, at)
                if event not in known and event not in new_events:
                    new_events[event] = {
                        "dossier_id": event[0],
                        "status": status,
                        "changed_at": at,
                        "batch_id": self.batch_id,
                    }
        self._writer.insert(h, list(new_events.values()))

    def _quarantine(self, rejections: Iterable[tuple[Rejection, Any]]) -> None:
        """Keep each rejected record once (by payload hash) with its reason and last batch.

        Whatever a record holds, its quarantine row is storable: text that no driver can take
        (NUL, unpaired surrogates) is written as escapes and the source id is cut to its column,
        so one record can never fail the batch here either.
        """
        q = schema.rejected_records
        rows: dict[str, dict[str, Any]] = {}
        for rejection, payload in rejections:
            text = _payload_text(payload)
            digest = hashlib.sha256(text.encode()).hexdigest()
            source_id = rejection.source_id
            rows[digest] = {
                "source": self.source,
                "stream": self.stream,
                "source_id": None
                if source_id is None
                else storable_text(str(source_id))[:_SOURCE_ID_LENGTH],
                "reason": storable_text(rejection.reason)[:2000],
                "payload": text,
                "payload_hash": digest,
                "first_batch_id": self.batch_id,
                "batch_id": self.batch_id,
            }
        seen: set[str] = set()
        digests = list(rows)
        for i in range(0, len(digests), CHUNK):
            cond = and_(
                q.c.source == self.source,
                q.c.stream == self.stream,
                one_of(self._conn, q.c.payload_hash, digests[i : i + CHUNK]),
            )
            seen.update(self._conn.execute(select(q.c.payload_hash).where(cond)).scalars())
        self._writer.insert(q, [r for d, r in rows.items() if d not in seen])
        if seen:
            self._conn.execute(
                update(q)
                .where(
                    and_(
                        q.c.source == self.source,
                        q.c.stream == self.stream,
                        q.c.payload_hash == bindparam("_digest"),
                    )
                )
                .values(batch_id=self.batch_id),
                [{"_digest": d} for d in seen],
            )

    # -- audit -------------------------------------------------------------------------------
    def _finish(self, conn: Connection) -> None:
        """Close the audit row and move the watermark, inside the data transaction."""
        lb = schema.load_batches
        conn.execute(
            update(lb)
            .where(lb.c.id == self.batch_id)
            .values(
                finished_at=_now(),
                outcome="succeeded",
                records_read=self.counts.read,
                inserted=self.counts.inserted,
                updated=self.counts.updated,
                unchanged=self.counts.unchanged,
                stale=self.counts.stale,
                rejected=self.counts.rejected,
            )
        )
        if self._watermark is not None:
            move_watermark(conn, self.source, self.stream, self._watermark, self.batch_id)

    def _record_failure(self, exc: BaseException | None) -> None:
        message = f"{type(exc).__name__}: {exc}"[:4000] if exc is not None else "interrupted"
        lb = schema.load_batches
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(lb)
                    .where(lb.c.id == self.batch_id)
                    .values(
                        finished_at=_now(),
                        outcome="failed",
                        error=message,
                        records_read=self.counts.read,
                    )
                )
        except Exception:  # the warehouse itself may be what failed; the first error wins
            log.exception("could not record the failure of batch %s", self.batch_id)

    def _mark_abandoned(self) -> None:
        """A `running` row of the stream whose process is gone (this host) or that has not
        beaten for `LIENTHONG_BATCH_STALE_AFTER` (any host) was killed mid-batch."""
        mark_abandoned(self.engine, self.source, self.stream, self._stale_after)


History = tuple[tuple[int, datetime], ...]  # (status, time) events of one dossier


@dataclass
class PreparedEntity:
    """One entity's rows of a page: by natural key, content hash set, newest of repeats kept."""

    rows: dict[tuple, dict[str, Any]]
    histories: dict[tuple, History]  # dossiers only
    repeated: int = 0  # records repeated within the page (counted unchanged)


@dataclass
class PreparedPage:
    """A page ready for `Batch.load_prepared`: plain data, cheap to pickle, no database."""

    entities: dict[str, PreparedEntity]
    rejections: list[tuple[Rejection, Any]]
    read: int


def prepare_page(
    records: Sequence[Canonical],
    rejections: Sequence[tuple[Rejection, Any]],
    source: str,
    raws: Sequence[Any] | None = None,
) -> PreparedPage:
    """Rows, content hashes and status histories of a page: the loader's work that needs no
    database, so that it can run beside the loading (see `lienthong.mapper`).

    A record whose row breaks a rule of its table (`warehouse.rules`: length, range, text,
    required) joins the page's rejections with the column and the rule as its reason; its
    quarantined payload is ``raws[i]``, the raw record it was mapped from, when given.
    """
    entities: dict[str, PreparedEntity] = {}
    rejected = list(rejections)
    for index, record in enumerate(records):
        entity = entity_of(record)
        try:
            row = entity.to_row(record, source)
        except (TypeError, ValueError, OverflowError) as exc:  # a record no row can be made of
            fault: str | None = f"malformed record: {type(exc).__name__}: {exc}"[:500]
        else:
            fault = entity.check(row)
            if fault is None and type(record) is Dossier:
                fault = _history_fault(record.history)
        if fault is not None:
            payload = raws[index] if raws is not None else _record_payload(record)
            rejected.append((Rejection(fault, _record_key(record)), payload))
            continue
        prepared = entities.get(entity.name)
        if prepared is None:
            prepared = entities[entity.name] = PreparedEntity({}, {})
        key = tuple(row[c] for c in entity.key)
        prior = prepared.rows.get(key)
        if prior is not None:
            prepared.repeated += 1  # repeated within the page: keep the newest only
            if entity.updated_column and row[entity.updated_column] < prior[entity.updated_column]:
                continue
        row["content_hash"] = content_hash(row)
        prepared.rows[key] = row
        if isinstance(record, Dossier):
            prepared.histories[key] = tuple((e.status, e.at) for e in record.history)
    return PreparedPage(entities, rejected, len(records) + len(rejections))


_STATUS = schema.dossier_status_history.c.status
_STATUS_RULE = rules.column_rule(_STATUS)
_CHANGED_AT_RULE = rules.column_rule(schema.dossier_status_history.c.changed_at)
_STATUS_LOW, _STATUS_HIGH = rules.integer_bounds(_STATUS)


def _history_fault(history: Iterable[Any]) -> str | None:
    """The storage rules of `dossier_status_history`, for a dossier's status events; the common
    case tested inline (a dossier has a handful of events, on the hot path)."""
    for event in history:
        status, at = event.status, event.at
        if (
            type(status) is int
            and _STATUS_LOW <= status <= _STATUS_HIGH
            and type(at) is datetime
            and at.tzinfo is not None
            and 1 < at.year < 9999
        ):
            continue
        fault = _STATUS_RULE(status)
        if fault is not None:
            return f"history.status: {fault}"
        fault = _CHANGED_AT_RULE(at)
        if fault is not None:
            return f"history.changed_at: {fault}"
    return None


def _record_key(record: Canonical) -> str | None:
    """The record's key at its source, for the quarantine row (bounded and escaped there)."""
    key = getattr(record, "source_id", None)
    if key is None:
        key = getattr(record, "code", None)
    return None if key is None else str(key)


def _record_payload(record: Canonical) -> Any:
    """A canonical record as JSON-able data, for the quarantine when its raw form is not given."""
    try:
        return asdict(record)
    except (TypeError, ValueError, RecursionError):
        return repr(record)


def _payload_text(payload: Any) -> str:
    """The quarantined payload as JSON text that any driver can store (see `storable_text`)."""
    try:
        text = json.dumps(_str_keys(payload), sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError) as exc:
        # Not JSON-able at all (a number too long to print, nesting too deep): its shape only.
        text = json.dumps({"unserialisable_payload": type(payload).__name__, "error": str(exc)})
    return storable_text(text)


def _str_keys(value: Any) -> Any:
    """JSON object keys as strings: a hostile record's `None` or `1` key must not stop sorting."""
    if isinstance(value, dict):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_str_keys(v) for v in value]
    return value


def _classify(
    entity: Entity, rows: dict[tuple, dict], existing: dict[tuple, dict], counts: BatchCounts
) -> tuple[list[dict], list[tuple[dict, dict]]]:
    """New rows, and (row, stored) pairs to update; stale and unchanged ones are counted."""
    inserts, updates = [], []
    for key, row in rows.items():
        stored = existing.get(key)
        if stored is None:
            inserts.append(row)
        elif entity.updated_column and row[entity.updated_column] < stored[entity.updated_column]:
            counts.stale += 1
        elif row["content_hash"] == stored["content_hash"]:
            counts.unchanged += 1
        else:
            updates.append((row, stored))
    return inserts, updates


def _single(column: str):
    return lambda row: (row[column],)


def _batch_of(stored: dict[tuple, dict], key: tuple) -> int | None:
    row = stored.get(key)
    return None if row is None else row["batch_id"]


def move_watermark(
    conn: Connection, source: str, stream: str, value: datetime, batch_id: int | None
) -> None:
    """Upsert the watermark of a stream; it only ever moves forward.

    One statement, guarded in the database: inserted if absent, else moved only where the stored
    value is older. Two transactions moving one watermark at once cannot move it back, nor
    collide on the insert (the second waits for the first and then compares)."""
    w = schema.watermarks
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(w).values(
        source=source, stream=stream, value=value, batch_id=batch_id, updated_at=_now()
    )
    new = statement.excluded
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[w.c.source, w.c.stream],
            set_={"value": new.value, "batch_id": new.batch_id, "updated_at": new.updated_at},
            where=w.c.value < new.value,
        )
    )


def read_watermark(engine: Engine, source: str, stream: str) -> datetime | None:
    w = schema.watermarks
    with engine.connect() as conn:
        return conn.execute(
            select(w.c.value).where(and_(w.c.source == source, w.c.stream == stream))
        ).scalar_one_or_none()
