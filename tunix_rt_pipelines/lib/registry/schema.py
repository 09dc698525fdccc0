"""The registry's schema migrations: Alembic revisions (`migrations/`), run by this driver only.

`upgrade()` is `alembic upgrade head` for one registry database, made safe for how the registry is
used: Dagster, the CLI and sweep workers may all open a fresh database at the same moment.

- One write transaction holds check, adoption stamp and upgrade. It takes the lock first: SQLite
  `BEGIN IMMEDIATE` (`store.write_transaction`), PostgreSQL `pg_advisory_xact_lock` (the key the
  pre-Alembic code used, so old and new upgraders queue too). DDL is transactional on both: a
  second upgrader sees nothing or the finished schema, and a failed upgrade leaves no trace.
- Adoption: a pre-Alembic database has `registry_schema_version` (max 1 or 2) and no
  `alembic_version`. Its shape is exactly revision 0001/0002, so it is stamped there, then
  upgraded; 0003 writes legacy row 3, which makes pre-Alembic code refuse the database.
- A database newer than this code (a revision it does not ship, legacy max > 3) is refused.

Revisions are found next to this file (works from a wheel) with a `Config` built in code, no
alembic.ini. Alembic's `context`/`op` are process globals, so runs in one process take turns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tunix_rt_pipelines.lib.registry.store import connect, safe_url, write_transaction
from tunix_rt_pipelines.lib.registry.tables import schema_versions

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic is imported where it is used: loading the code location (which imports the registry
# through its resource) need not pay ~0.2 s for it when nothing migrates.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK_KEY = 0x7475_6E69_7872  # "tunixr": the schema lock id pre-Alembic code took as well
# Pre-Alembic version -> the revision with the same shape (3 only if someone dropped alembic_version).
_ADOPTED_AT = {1: "0001", 2: "0002", 3: "0003"}
_ALEMBIC_GLOBALS = threading.Lock()


class SchemaError(Exception):
    """The database's schema cannot be used by this code; the message says what to do."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic `Config` for the registry's revisions; env.py runs on `connection`, in its transaction."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this code ships (the schema it reads and writes), e.g. "0004"."""
    head = _script().get_current_head()
    assert head is not None, f"no revisions in {MIGRATIONS_DIR}"
    return head


def is_known(revision: str) -> bool:
    """Whether this code ships `revision` (else the database is newer than this code)."""
    return revision in {script.revision for script in _script().walk_revisions()}


def _state(conn: sa.Connection) -> tuple[str | None, bool]:
    """`(revision, stamped)`: Alembic's stamp, else the pre-Alembic version's revision (unstamped)."""
    from alembic.runtime.migration import MigrationContext

    stamped = MigrationContext.configure(conn).get_current_revision()
    if stamped is not None:
        return stamped, True
    has_legacy = sa.inspect(conn).has_table(schema_versions.name)
    legacy = (conn.execute(sa.select(sa.func.max(schema_versions.c.version))).scalar() if has_legacy else 0) or 0
    return (None if legacy == 0 else _ADOPTED_AT.get(legacy, f"legacy-v{legacy}")), False


def current_revision(conn: sa.Connection) -> str | None:
    """The database's revision; a pre-Alembic database reads as the revision it will be adopted at.

    Args:
        conn: A connection to the registry database (only read).

    Returns:
        The revision id; "legacy-vN" for a pre-Alembic version this code does not know; None when empty.
    """
    return _state(conn)[0]


def newer_than_this_code(url: str, revision: str) -> SchemaError:
    """The refusal for a database at a revision this code does not ship."""
    return SchemaError(f"the registry at {url} is at {revision}, newer than this code ({head_revision()}); "
                       "upgrade tunix-rt-pipelines before using it")


def _migrate(engine: sa.Engine, run: Callable[[Config], None]) -> tuple[str | None, str | None]:
    """Lock, check, adopt if needed and `run(config)`, all in one write transaction; `(before, after)`."""

    from alembic import command

    def work(conn: sa.Connection) -> tuple[str | None, str | None]:
        if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE (write_transaction) is the lock
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        before, stamped = _state(conn)  # read under the lock: another upgrader may just have finished
        if before is not None and not is_known(before):
            raise newer_than_this_code(safe_url(engine), before)
        with _ALEMBIC_GLOBALS:
            config = alembic_config(conn)
            if before is not None and not stamped:  # adoption: the shape is already there, so only record it
                command.stamp(config, before)
            run(config)  # a no-op when already at the target
        return before, _state(conn)[0]

    return write_transaction(engine, work)


def upgrade(engine: sa.Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to `head_revision()`: create it, adopt a pre-Alembic one, or apply new revisions.

    Args:
        engine: The registry's engine (`store.make_engine`).
        revision: Stop at this revision instead of head (tests build a database as an older release left it).

    Returns:
        `(revision before or None when empty, revision after)`; equal when there was nothing to do.

    Raises:
        SchemaError: The database is newer than this code.
        RegistryConnectionError: The database cannot be reached.
    """
    with connect(engine) as conn:  # the usual case, already at head, needs no write lock
        now, stamped = _state(conn)
    if now == (head_revision() if revision == "head" else revision) and stamped:
        return now, now
    from alembic import command

    return _migrate(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: sa.Engine, revision: str) -> tuple[str | None, str | None]:
    """Take the database back to `revision` ("base": drop everything), for rollbacks and tests.

    Returns:
        `(revision before, revision after or None at base)`.

    Raises:
        SchemaError: The database is newer than this code.
    """
    from alembic import command

    return _migrate(engine, lambda config: command.downgrade(config, revision))
