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


def sync_from_stand_in(key: str, engine: Engine, base_url: str, *, since, until, **extra):
    """`lienthong.pipeline.sync` of source `key` from its stand-in at `base_url` into `engine`;
    `extra` goes into the connection's extra (e.g. ``read_timeout=0.4``)."""
    import dataclasses

    from lienthong.pipeline import sync
    from lienthong.settings import load
    from simulators.standins import stand_in_connection

    connection = stand_in_connection(base_url, key)
    connection = dataclasses.replace(connection, extra={**connection.extra, **extra})
    return sync(
        key, load(), since=since, until=until, engine=engine, connection=connection, run_id="test"
    )


def serial_one_stop_digest(tmp_path, windows, *, seed: int) -> dict[str, str]:
    """The warehouse digest of one-stop syncs of ``windows`` one after the other, from a fresh
    stand-in of the small scenario (``seed``) into a SQLite file of its own: what overlapping
    syncs must equal."""
    from simulators.one_stop import build_dataset, make_app
    from simulators.server import PrefixDispatcher, serve
    from warehouse.db import make_engine, upgrade

    serial = make_engine(f"sqlite:///{tmp_path / 'serial.db'}")
    upgrade(serial)
    with serve(PrefixDispatcher({"/one_stop": make_app(build_dataset("small", seed=seed))})) as url:
        for since, until in windows:
            sync_from_stand_in("one_stop", serial, url, since=since, until=until)
    return warehouse_digest(serial)


def retry_without_waiting(monkeypatch, max_attempts: int | None = None) -> None:
    """Connector retries without real sleeping (where faults are many: the backoff is tested
    elsewhere, tests/connectors); `max_attempts` per call, else the policy's default."""
    import functools

    import connectors.rest
    import connectors.soap

    policy = connectors.rest.RetryPolicy
    policy = getattr(policy, "func", policy)  # the class itself, when patched already
    budget = {} if max_attempts is None else {"max_attempts": max_attempts}
    quick = functools.partial(policy, initial=0, maximum=0, jitter=0, **budget)
    monkeypatch.setattr(connectors.rest, "RetryPolicy", quick)
    monkeypatch.setattr(connectors.soap, "RetryPolicy", quick)


class BreakBodies:
    """WSGI middleware: a 200 reply whose body ``breaker`` changes (returning the new body, or
    None to leave it) is sent changed, with its Content-Length; ``broken`` keeps each reply as it
    was (`original` of its body)."""

    def __init__(self, app, breaker) -> None:
        self.app, self.breaker, self.broken = app, breaker, []

    def original(self, body: bytes):
        return body

    def __call__(self, environ, start_response):
        seen = {}

        def capture(status, headers, exc_info=None):
            seen.update(status=status, headers=headers)
            return lambda data: None

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if seen["status"].startswith("200"):
            changed = self.breaker(body)
            if changed is not None and changed != body:
                self.broken.append(self.original(body))
                body = changed
        headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
        start_response(seen["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]
