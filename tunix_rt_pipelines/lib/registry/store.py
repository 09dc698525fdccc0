"""Where the registry database is and how to talk to it safely from many threads and processes.

- `resolve_url()`: an explicit URL, else `$TUNIX_RT_REGISTRY_URL` (PostgreSQL in production),
  else, outside production, the SQLite file `<project home>/registry.db`.
- `make_engine()`: SQLite in WAL mode with SQLAlchemy (not the sqlite3 module) emitting BEGIN, so
  write transactions can start with `BEGIN IMMEDIATE` and take the write lock before reading
  (two writers can then never deadlock on a lock upgrade, the usual cause of "database is
  locked"); a busy timeout makes waiting writers queue instead of failing.
- `write_transaction()`: a write transaction, retried a few times on transient lock errors.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from tunix_rt_pipelines import environment

URL_ENV = "TUNIX_RT_REGISTRY_URL"
SQLITE_FILE = "registry.db"
_BUSY_TIMEOUT_S = 60
_RETRIES = 5
# PostgreSQL serialization failure and deadlock: safe to retry the whole transaction.
_PG_RETRY_CODES = {"40001", "40P01"}

T = TypeVar("T")


class RegistryConnectionError(Exception):
    """The registry database is not configured or not reachable; the message says what to do."""


def resolve_url(explicit: str = "") -> str:
    """The registry URL in force (see the module docstring).

    Raises:
        RegistryConnectionError: Production without `$TUNIX_RT_REGISTRY_URL`.
    """
    url = explicit or os.environ.get(URL_ENV, "").strip()
    if url:
        return normalize_url(url)
    if environment.get_environment() == "prod":
        raise RegistryConnectionError(f"${URL_ENV} is not set; in production the registry is PostgreSQL, "
                                      f"e.g. {URL_ENV}=postgresql://USER:PASSWORD@HOST:5432/DB")
    return f"sqlite:///{environment.project_home() / SQLITE_FILE}"


def normalize_url(url: str) -> str:
    """`postgres://` and driver-less `postgresql://` URLs get the psycopg2 driver.

    SQLAlchemy 2.1 defaults `postgresql://` to psycopg 3; the project ships psycopg2 (the driver
    dagster-postgres uses too), so a plain URL must not depend on that default.
    """
    if url.startswith("postgres://"):  # Heroku style; not a SQLAlchemy dialect name
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def safe_url(engine_or_url: sa.Engine | str) -> str:
    """The URL with its password hidden, for messages."""
    url = engine_or_url.url if isinstance(engine_or_url, sa.Engine) else parse_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def _sqlite_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below), not sqlite3
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            _switch_to_wal(cursor)  # readers never block the writer
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("registry_write") else "BEGIN")


def _switch_to_wal(cursor) -> None:
    """`PRAGMA journal_mode = WAL`, once per database file (the mode is stored in the file).

    The switch needs the file's exclusive lock, and SQLite answers "database is locked" at once,
    busy timeout or not, when other connections hold it: eight threads opening a fresh registry
    together failed in 2 of 30 tries. Reading the mode first takes no lock; the switch is retried.
    """
    import sqlite3

    for attempt in range(50):
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.01 * (attempt + 1))  # about 12 s in all before giving up


URL_EXAMPLES = "sqlite:///PATH/registry.db or postgresql://USER:PASSWORD@HOST:5432/DB"


def parse_url(url: str) -> sa.URL:
    """`url` parsed, or a `RegistryConnectionError` naming the setting; the URL itself is never echoed (it may hold a password)."""
    try:
        return sa.make_url(normalize_url(url))
    except (sa.exc.ArgumentError, ValueError) as exc:
        why = "the port is not a number" if "int()" in str(exc) else "it is not a database URL"
        raise RegistryConnectionError(f"the registry URL (${URL_ENV}) cannot be used: {why}; a valid one looks like {URL_EXAMPLES}") from None


def make_engine(url: str) -> sa.Engine:
    """An engine for `url` (SQLite file or memory, or PostgreSQL), set up for concurrent writers.

    Raises:
        RegistryConnectionError: A URL that does not parse or names another database.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
            engine = sa.create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False})
        else:  # one shared in-memory database for every thread of this process
            engine = sa.create_engine(parsed, connect_args={"check_same_thread": False}, poolclass=sa.StaticPool)
        _sqlite_setup(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise RegistryConnectionError(f"unsupported registry URL {parsed.render_as_string(hide_password=True)} (${URL_ENV}): "
                                      f"use {URL_EXAMPLES}")
    # pool_pre_ping: a server restart between two promotions must not fail the second one.
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=20)


def _transient(exc: sa.exc.DBAPIError) -> bool:
    if "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig):
        return True
    return getattr(exc.orig, "pgcode", None) in _PG_RETRY_CODES


def connect(engine: sa.Engine) -> sa.Connection:
    """A connection (reads run in a plain deferred transaction); close it after use.

    Raises:
        RegistryConnectionError: The database cannot be reached.
    """
    try:
        connection = engine.connect()
        if engine.url.get_backend_name() == "sqlite":
            connection.exec_driver_sql("SELECT count(*) FROM sqlite_master")  # reads the header: is it a database at all
            connection.rollback()  # end the probe's implicit transaction; callers begin their own
        return connection
    except sa.exc.OperationalError as exc:  # unreachable, refused, bad credentials
        raise RegistryConnectionError(f"cannot connect to the registry at {safe_url(engine)}: {_one_line(exc.orig)}") from None
    except sa.exc.DatabaseError as exc:  # reachable, but not a database ("file is not a database")
        raise RegistryConnectionError(f"cannot use the registry at {safe_url(engine)} (${URL_ENV}): {_one_line(exc.orig)}; "
                                      f"point it at a registry database, e.g. {URL_EXAMPLES}") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def write_transaction(engine: sa.Engine, work: Callable[[sa.Connection], T]) -> T:
    """Run `work(conn)` in one write transaction; retried on transient lock/serialization errors.

    `work` must be safe to repeat: everything it did is rolled back before a retry.

    Raises:
        RegistryConnectionError: The database cannot be reached.
    """
    for attempt in range(_RETRIES):
        try:
            with connect(engine) as conn:
                conn.execution_options(registry_write=True)
                with conn.begin():
                    return work(conn)
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise RegistryConnectionError(f"lost the connection to the registry at {safe_url(engine)}: {exc.orig}") from None
            if not _transient(exc) or attempt == _RETRIES - 1:
                raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")
