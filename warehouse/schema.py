"""The warehouse schema (SQLAlchemy Core). Migrations in warehouse/migrations must match it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from warehouse.types import AwareDateTime, Id

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

agencies = Table(
    "agencies",
    metadata,
    Column("code", String(64), primary_key=True),  # mã định danh, e.g. 000.00.12.H22
    Column("name", Text, nullable=False),
    Column("parent_code", String(64)),
    Column("source", String(32), nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("batch_id", BigInteger),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", String(64), primary_key=True),  # mã TTHC, e.g. 1.001612
    Column("name", Text, nullable=False),
    Column("field_code", String(64)),  # lĩnh vực
    Column("field_name", Text),
    Column("agency_code", String(64)),
    Column("legal_duration", Float),
    Column("duration_unit", String(8)),  # day | hour (working days / hours)
    Column("online_level", String(16)),
    Column("fee_amount", BigInteger, nullable=False, default=0),  # integer VND
    Column("source", String(32), nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("batch_id", BigInteger),
)

# What the reports read of a counted dossier and of its one-stop twin: the report indexes below
# carry them (INCLUDE, PostgreSQL), so that reading a period needs no visit to the table.
_REPORT_READS = (
    *("ended_date", "due_date", "status", "channel", "result_delivery", "on_the_spot"),
    *("paid_online", "fee_amount", "agency_code", "procedure_code", "id"),
)
_TWIN_FACTS = ("channel", "result_delivery", "on_the_spot", "paid_online", "fee_amount", "due_date")
# A dossier still open, or that ended more than this many days after receipt, is long-running:
# the only kind received this long before a period that can still be open at its start.
LONG_RUNNING_DAYS = 92
_COUNTED = "linked_to IS NULL AND received_date IS NOT NULL"  # received, and not a twin

dossiers = Table(
    "dossiers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("source_id", String(200), nullable=False),
    Column("dossier_number", String(200), nullable=False),
    Column("procedure_code", String(64)),
    Column("agency_code", String(64)),
    Column("applicant_type", SmallInteger),
    Column("applicant_ref", String(64)),  # HMAC-SHA256 of the ID number, never the number
    Column("channel", SmallInteger, nullable=False),
    Column("result_delivery", SmallInteger),
    Column("submitted_at", AwareDateTime),
    Column("received_at", AwareDateTime),
    Column("due_at", AwareDateTime),
    Column("due_extended", Boolean, nullable=False, default=False),
    Column("ended_at", AwareDateTime),
    Column("status", SmallInteger, nullable=False),
    Column("on_the_spot", Boolean, nullable=False, default=False),
    Column("paid_online", Boolean, nullable=False, default=False),
    Column("fee_amount", BigInteger, nullable=False, default=0),
    # Local (Asia/Ho_Chi_Minh) calendar dates of the instants above: the counting rules compare
    # dates, and keeping them as columns makes report queries portable and indexable.
    Column("received_date", Date),
    Column("due_date", Date),
    Column("ended_date", Date),
    Column("intake_number", String(200)),  # the one-stop number a ministry dossier came in under
    Column("attributes", JSON),  # source-specific facts, never personal data
    Column("quality_flags", String(200)),  # comma-separated, e.g. unknown_procedure
    Column("source_updated_at", AwareDateTime, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("batch_id", BigInteger),
    # One count per real dossier: a record entered in the one-stop software for a dossier that
    # a ministry system processes points at that ministry record; reports count the ministry
    # record and take intake facts (channel …) from this one. See warehouse/linking.py.
    Column("linked_to", Id, ForeignKey("dossiers.id", ondelete="SET NULL")),
    Column("link_rule", String(32)),  # dossier_number | applicant_procedure_date
    UniqueConstraint("source", "source_id"),
    Index(None, "received_date"),
    Index(None, "ended_date"),
    Index(None, "agency_code"),
    Index(None, "dossier_number"),
    Index(None, "procedure_code", "applicant_ref", "received_date"),
    Index(None, "linked_to"),
    Index(None, "intake_number"),
    # Report indexes (migration 0004; warehouse/reports/scope.py, "scoped_dossiers"): partial
    # and, on PostgreSQL, covering what the reports read, so that a period's dossiers are read
    # from index ranges alone (index-only scans) however many years the warehouse holds.
    Index(
        "ix_dossiers_counted_received_date",
        "received_date",
        postgresql_include=_REPORT_READS,
        postgresql_where=text(_COUNTED),
        sqlite_where=text(_COUNTED),
    ),
    # Long-running counted dossiers (LONG_RUNNING_DAYS): those carried over from far back.
    Index(
        "ix_dossiers_long_running",
        "received_date",
        postgresql_include=_REPORT_READS,
        postgresql_where=text(
            f"{_COUNTED} AND "
            f"(ended_date IS NULL OR (ended_date - received_date) > {LONG_RUNNING_DAYS})"
        ),
        sqlite_where=text(
            f"{_COUNTED} AND (ended_date IS NULL OR "
            f"(julianday(ended_date) - julianday(received_date)) > {LONG_RUNNING_DAYS})"
        ),
    ),
    # The one-stop twins' intake facts, by the record they point at (base.twin_facts).
    Index(
        "ix_dossiers_twin_facts",
        "linked_to",
        postgresql_include=_TWIN_FACTS,
        postgresql_where=text("linked_to IS NOT NULL"),
        sqlite_where=text("linked_to IS NOT NULL"),
    ),
    # Counted dossiers whose source gave no due date: the report computes theirs.
    Index(
        "ix_dossiers_without_due_date",
        "received_date",
        postgresql_include=("ended_date", "status", "received_at", "procedure_code", "id"),
        postgresql_where=text(f"{_COUNTED} AND due_date IS NULL"),
        sqlite_where=text(f"{_COUNTED} AND due_date IS NULL"),
    ),
)

dossier_status_history = Table(
    "dossier_status_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dossier_id", Id, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("changed_at", AwareDateTime, nullable=False),
    Column("batch_id", BigInteger),
    UniqueConstraint("dossier_id", "status", "changed_at"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("source_id", String(200), nullable=False),
    Column("dossier_number", String(200)),
    Column("agency_code", String(64)),
    Column("level", SmallInteger, nullable=False),  # 1 rất hài lòng, 2 hài lòng, 3 không
    Column("rated_at", AwareDateTime, nullable=False),
    Column("rated_date", Date, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("batch_id", BigInteger),
    UniqueConstraint("source", "source_id"),
    Index(None, "rated_date"),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("stream", String(32), nullable=False),
    Column("source_id", String(200)),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the raw record as JSON, for diagnosis
    Column("payload_hash", String(64), nullable=False),
    Column("first_batch_id", BigInteger),
    Column("batch_id", BigInteger),  # the last batch that saw it
    UniqueConstraint("source", "stream", "payload_hash"),
)

load_batches = Table(
    "load_batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("stream", String(32), nullable=False),
    Column("window_start", AwareDateTime),
    Column("window_end", AwareDateTime),
    Column("started_at", AwareDateTime, nullable=False),
    Column("finished_at", AwareDateTime),
    Column("records_read", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("stale", Integer, nullable=False, default=0),  # older than the stored version
    Column("rejected", Integer, nullable=False, default=0),
    # running -> succeeded | failed; a crashed run's row is found 'running' and marked abandoned.
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Column("run_id", String(250)),  # who ran it: cli, or the Airflow run and task
    Column("pid", Integer),
    Column("host", String(200)),
    # touched while the batch loads: a `running` row without one for long is abandoned, seen
    # from any host (warehouse/liveness.py; migration 0005)
    Column("heartbeat_at", AwareDateTime),
    Index(None, "source", "stream", "started_at"),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("stream", String(32), primary_key=True),
    Column("value", AwareDateTime, nullable=False),  # synced up to (exclusive)
    Column("batch_id", BigInteger),
    Column("updated_at", AwareDateTime, nullable=False),
)

# Columns left out of content comparisons (idempotence tests, change detection): they say
# which load touched a row, not what the row holds.
AUDIT_COLUMNS = frozenset({"batch_id", "first_batch_id", "id", "dossier_id"})

# -- Fee gateway (Vietinbank) ------------------------------------------------------------------

payments = Table(
    "payments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),  # the gateway's transaction id
    Column("kind", String(16), nullable=False),  # payment | refund | reversal
    Column("dossier_number", String(200)),
    Column("agency_code", String(64)),  # beneficiary agency
    Column("amount", BigInteger, nullable=False),  # integer VND, positive; kind gives the sign
    Column("currency", String(3), nullable=False),
    Column("paid_at", AwareDateTime, nullable=False),
    Column("paid_date", Date, nullable=False),  # local date of paid_at, what periods compare
    Column("result_code", String(8), nullable=False),  # "00" = success
    Column("original_id", String(64)),  # refund / reversal: the transaction it undoes
    # The fee list (PhiLePhi) as JSON: a payment's lines are read whole, never on their own, and
    # the generic loader upserts one row per record; see docs/fees.md, "In the warehouse".
    Column("fee_lines", JSON, nullable=False),
    Column("verified", Boolean, nullable=False),  # checksum verified; only these count
    Column("source_updated_at", AwareDateTime, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("batch_id", BigInteger),
    UniqueConstraint("source", "source_id"),
    Index(None, "paid_date"),
    Index(None, "dossier_number"),
    Index(None, "original_id"),
)

fee_statements = Table(
    "fee_statements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("statement_date", Date, nullable=False),  # the local day it covers
    Column("file_name", String(200), nullable=False),
    Column("file_digest", String(64), nullable=False),  # SHA-256 of the file as received
    Column("issued_at", AwareDateTime, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("credited", BigInteger, nullable=False),  # payments, integer VND
    Column("debited", BigInteger, nullable=False),  # refunds and reversals
    Column("lines", JSON, nullable=False),  # [{transaction_id, kind, dossier_number, amount, at}]
    Column("verified", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("batch_id", BigInteger),
    UniqueConstraint("source", "statement_date"),
)
