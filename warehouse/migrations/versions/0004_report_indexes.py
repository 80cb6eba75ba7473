"""report indexes: a period's counted dossiers, long-running ones, twins' facts, missing due dates

Partial indexes (covering on PostgreSQL) that let a report read a period's dossiers from index
ranges alone; see warehouse/reports/scope.py, "scoped_dossiers", and docs/performance.md, "Phụ lục 01 over 10M dossiers".

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REPORT_READS = [
    *("ended_date", "due_date", "status", "channel", "result_delivery", "on_the_spot"),
    *("paid_online", "fee_amount", "agency_code", "procedure_code", "id"),
]
TWIN_FACTS = ["channel", "result_delivery", "on_the_spot", "paid_online", "fee_amount", "due_date"]
LONG_RUNNING_DAYS = 92  # schema.LONG_RUNNING_DAYS when this migration was written
COUNTED = "linked_to IS NULL AND received_date IS NOT NULL"


def _where(both: str, sqlite: str | None = None) -> dict:
    return {"postgresql_where": sa.text(both), "sqlite_where": sa.text(sqlite or both)}


def upgrade() -> None:
    op.create_index(
        "ix_dossiers_counted_received_date",
        "dossiers",
        ["received_date"],
        postgresql_include=REPORT_READS,
        **_where(COUNTED),
    )
    op.create_index(
        "ix_dossiers_long_running",
        "dossiers",
        ["received_date"],
        postgresql_include=REPORT_READS,
        **_where(
            f"{COUNTED} AND "
            f"(ended_date IS NULL OR (ended_date - received_date) > {LONG_RUNNING_DAYS})",
            f"{COUNTED} AND (ended_date IS NULL OR "
            f"(julianday(ended_date) - julianday(received_date)) > {LONG_RUNNING_DAYS})",
        ),
    )
    op.create_index(
        "ix_dossiers_twin_facts",
        "dossiers",
        ["linked_to"],
        postgresql_include=TWIN_FACTS,
        **_where("linked_to IS NOT NULL"),
    )
    op.create_index(
        "ix_dossiers_without_due_date",
        "dossiers",
        ["received_date"],
        postgresql_include=["ended_date", "status", "received_at", "procedure_code", "id"],
        **_where(f"{COUNTED} AND due_date IS NULL"),
    )


def downgrade() -> None:
    for name in (
        "ix_dossiers_without_due_date",
        "ix_dossiers_twin_facts",
        "ix_dossiers_long_running",
        "ix_dossiers_counted_received_date",
    ):
        op.drop_index(name, table_name="dossiers")
