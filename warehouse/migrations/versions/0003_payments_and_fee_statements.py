"""payments and daily fee statements of the fee gateway

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import warehouse.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dossier_number", sa.String(length=200), nullable=True),
        sa.Column("agency_code", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", warehouse.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("paid_date", sa.Date(), nullable=False),
        sa.Column("result_code", sa.String(length=8), nullable=False),
        sa.Column("original_id", sa.String(length=64), nullable=True),
        sa.Column("fee_lines", sa.JSON(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column(
            "source_updated_at", warehouse.types.AwareDateTime(timezone=True), nullable=False
        ),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_payments_source_source_id")),
    )
    op.create_index(op.f("ix_payments_dossier_number"), "payments", ["dossier_number"])
    op.create_index(op.f("ix_payments_original_id"), "payments", ["original_id"])
    op.create_index(op.f("ix_payments_paid_date"), "payments", ["paid_date"])
    op.create_table(
        "fee_statements",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("issued_at", warehouse.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("credited", sa.BigInteger(), nullable=False),
        sa.Column("debited", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statements")),
        sa.UniqueConstraint(
            "source", "statement_date", name=op.f("uq_fee_statements_source_statement_date")
        ),
    )


def downgrade() -> None:
    op.drop_table("fee_statements")
    op.drop_index(op.f("ix_payments_paid_date"), table_name="payments")
    op.drop_index(op.f("ix_payments_original_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_dossier_number"), table_name="payments")
    op.drop_table("payments")
