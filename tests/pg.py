"""PostgreSQL for tests: one fresh database per test session and one per test.

A pytest plugin (registered in tests/conftest.py). The server is LIENTHONG_TEST_PG_URL when set,
otherwise a throwaway cluster started from the local PostgreSQL binaries. Without either, tests
that need it are skipped, or fail when LIENTHONG_REQUIRE_PG=1 (as in CI), so that a missing
database can never turn a red run green.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

URL_ENV = "LIENTHONG_TEST_PG_URL"
REQUIRE_ENV = "LIENTHONG_REQUIRE_PG"
DATABASE_PREFIX = "lienthong_test_"
PG_FIXTURES = frozenset({"pg_server", "pg_url", "pg_engine"})


class PgUnavailable(Exception):
    """No PostgreSQL server can be had; the message says why."""


def pg_required(environ: Mapping[str, str] = os.environ) -> bool:
    """True when the environment demands a real PostgreSQL (CI sets LIENTHONG_REQUIRE_PG=1)."""
    return environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def give_up(reason: str, environ: Mapping[str, str] = os.environ) -> NoReturn:
    """End the requesting test: fail when PostgreSQL is required, skip otherwise."""
    if pg_required(environ):
        pytest.fail(
            f"PostgreSQL is required ({REQUIRE_ENV}=1) but unavailable: {reason}", pytrace=False
        )
    pytest.skip(
        f"PostgreSQL unavailable: {reason} (set {URL_ENV}, or install the PostgreSQL "
        f"server binaries for a throwaway cluster)"
    )


def _admin_engine(url: URL | str) -> Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction; NullPool leaves no idle connection
    # behind that would block the final DROP.
    return sa.create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 10}
    )


def check_server(url: URL) -> None:
    """Raise PgUnavailable unless the server at url accepts a connection."""
    try:
        with _admin_engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        shown = url.render_as_string(hide_password=True)
        raise PgUnavailable(f"cannot connect to {shown}: {exc.orig}") from exc


def create_database(server_url: URL, purpose: str) -> URL:
    """Create an empty database with a name no parallel run can pick; return its URL."""
    # pid + random: unique across concurrent sessions on one server, readable when one leaks.
    name = f"{DATABASE_PREFIX}{purpose}_{os.getpid()}_{secrets.token_hex(4)}"
    engine = _admin_engine(server_url)
    quoted = engine.dialect.identifier_preparer.quote(name)
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quoted} TEMPLATE template0 ENCODING 'UTF8'"))
    return server_url.set(database=name)


def drop_database(server_url: URL, database_url: URL) -> None:
    engine = _admin_engine(server_url)
    quoted = engine.dialect.identifier_preparer.quote(database_url.database)
    with engine.connect() as conn:
        # FORCE ends connections a test leaked, which would otherwise make the drop fail.
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))


def find_pg_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then Debian's versioned layout."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    candidates = [d for d in candidates if (d / "pg_ctl").exists()]
    if not candidates:
        return None
    return max(candidates, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ThrowawayCluster:
    """A private PostgreSQL cluster in a temporary directory, fast and unsafe (fsync off)."""

    bindir: Path
    root: Path
    port: int
    run_as: pwd.struct_passwd | None

    @property
    def url(self) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database="postgres",
        )

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @classmethod
    def start(cls) -> ThrowawayCluster:
        bindir = find_pg_bindir()
        if bindir is None:
            raise PgUnavailable("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin")
        run_as = None
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root: hand the cluster to the postgres user.
            try:
                run_as = pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable(
                    "running as root and there is no 'postgres' OS user "
                    "to run a throwaway cluster as"
                ) from None
        root = Path(tempfile.mkdtemp(prefix="lienthong-pg-"))
        if run_as is not None:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
        cluster = cls(bindir=bindir, root=root, port=_free_port(), run_as=run_as)
        try:
            cluster._initdb()
            # The free port may be taken by someone else before the server binds it: retry.
            for attempt in range(3):
                try:
                    cluster._pg_ctl_start()
                    break
                except PgUnavailable:
                    if attempt == 2:
                        raise
                    cluster.port = _free_port()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, *args: str | Path, timeout: float = 120) -> None:
        user_args = {}
        if self.run_as is not None:
            user_args = {
                "user": self.run_as.pw_uid,
                "group": self.run_as.pw_gid,
                "extra_groups": [],
            }
        # cwd in the cluster root: the postgres user may not be allowed into the caller's cwd.
        result = subprocess.run(
            [str(a) for a in args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **user_args,
        )
        if result.returncode != 0:
            raise PgUnavailable(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{(result.stdout + result.stderr).strip()[-2000:]}"
            )

    def _initdb(self) -> None:
        flags = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        self._run(self.bindir / "initdb", "-D", self.datadir, *flags)

    def _pg_ctl_start(self) -> None:
        # Socket in our own directory: the system cluster's socket directory is not ours to use.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.root / "server.log"
        try:
            self._run(
                self.bindir / "pg_ctl", "-D", self.datadir, "-l", log, "-o", options, "-w", "start"
            )
        except PgUnavailable as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PgUnavailable(f"{exc}\n{tail}") from None

    def stop(self) -> None:
        try:
            if (self.datadir / "postmaster.pid").exists():
                # immediate: the data is thrown away, so a clean checkpoint is wasted time.
                self._run(self.bindir / "pg_ctl", "-D", self.datadir, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[URL]:
    """URL of a server the session may create databases on (not a database to test in)."""
    # give_up() is called outside the except blocks: the reason says it all, and a chained
    # driver traceback under every failing test would only bury it.
    configured = os.environ.get(URL_ENV, "").strip()
    if configured:
        url = make_url(configured)
        if url.drivername in {"postgres", "postgresql"}:
            # A libpq-style URL names no driver; SQLAlchemy would reach for psycopg2.
            url = url.set(drivername="postgresql+psycopg")
        try:
            check_server(url)
        except PgUnavailable as exc:
            reason = str(exc)
        else:
            yield url
            return
        give_up(reason)
    try:
        cluster = ThrowawayCluster.start()
    except PgUnavailable as exc:
        reason = str(exc)
    else:
        try:
            yield cluster.url
        finally:
            cluster.stop()
        return
    give_up(reason)


@pytest.fixture(scope="session")
def pg_url(pg_server: URL) -> Iterator[str]:
    """SQLAlchemy URL (postgresql+psycopg://...) of an empty database private to this session."""
    database = create_database(pg_server, "s")
    try:
        yield database.render_as_string(hide_password=False)
    finally:
        drop_database(pg_server, database)


@pytest.fixture
def pg_engine(pg_server: URL) -> Iterator[Engine]:
    """Engine on an empty database private to this test, dropped afterwards."""
    database = create_database(pg_server, "t")
    engine = sa.create_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_database(pg_server, database)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that uses a PostgreSQL fixture is a `pg` test whether or not its author marked it,
    # so `-m "not pg"` selects exactly the tests that run without a database.
    for item in items:
        if PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pg)
