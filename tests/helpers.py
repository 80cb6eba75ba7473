"""Helpers shared by the test modules."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select

from warehouse import schema

# What a warehouse holds, as opposed to which load wrote it (ids, batch ids, audit times).
_SKIP = {"id", "dossier_id", "batch_id", "first_batch_id", "updated_at", "linked_to"}


def warehouse_digest(engine: Engine) -> dict[str, str]:
    """A digest per table of the warehouse's content, audit columns aside."""
    digests = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            if table.name == "load_batches":
                continue
            cols = [c for c in table.c if c.name not in _SKIP]
            query = select(*cols)
            if table is schema.dossiers:  # a link is shown by the key of the record it names
                target = table.alias("target")
                query = select(*cols, target.c.source, target.c.source_id).outerjoin(
                    target, target.c.id == table.c.linked_to
                )
            if table is schema.dossier_status_history:
                d = schema.dossiers
                query = select(d.c.source, d.c.source_id, *cols).join(
                    d, d.c.id == table.c.dossier_id
                )
            rows = sorted(repr(tuple(r)) for r in conn.execute(query))
            digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def count(engine: Engine, table) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()
