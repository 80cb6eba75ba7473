"""load batch heartbeats: a running batch touches heartbeat_at, so any host can tell it is dead

See warehouse/liveness.py. Rows from before the migration have none: their start time stands in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 02:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import warehouse.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("load_batches") as batch:
        batch.add_column(
            sa.Column("heartbeat_at", warehouse.types.AwareDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("load_batches") as batch:
        batch.drop_column("heartbeat_at")
