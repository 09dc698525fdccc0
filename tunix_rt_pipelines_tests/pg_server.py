"""A private PostgreSQL server for tests and CI: `initdb` + `pg_ctl` in a temporary folder.

It listens on 127.0.0.1 on a free port (plus a Unix socket in its folder), trusts local
connections, and never touches a system cluster. As root, the server runs as the `postgres`
user (PostgreSQL refuses to run as root). fsync is off: test data need not survive a crash.

From a shell (`.ci/run` uses this):

    eval "$(python -m tunix_rt_pipelines_tests.pg_server start)"   # exports TUNIX_RT_TEST_POSTGRES_URL, TUNIX_RT_TEST_POSTGRES_DIR
    python -m tunix_rt_pipelines_tests.pg_server stop "$TUNIX_RT_TEST_POSTGRES_DIR"
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

URL_ENV = "TUNIX_RT_TEST_POSTGRES_URL"
DIR_ENV = "TUNIX_RT_TEST_POSTGRES_DIR"


class ServerUnavailable(Exception):
    """No PostgreSQL binaries here, or the server would not start; the message says which."""


@dataclass(frozen=True)
class Server:
    url: str
    folder: Path


def find_binary(name: str) -> str | None:
    """`name` on PATH, else in the newest /usr/lib/postgresql/<version>/bin (Debian's layout)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return candidates[-1] if candidates else None


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable("running as root and there is no 'postgres' user to run the server as") from None
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise ServerUnavailable(f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-800:]}")


def start() -> Server:
    """Create and start a server; `stop(server.folder)` ends it and removes everything."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise ServerUnavailable("no initdb/pg_ctl found (install the Debian package: apt-get install -y postgresql)")
    prefix = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="tunix-pg-"))
    if prefix:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    try:
        _run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=200"
        _run([*prefix, pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "-o", options, "start"], "pg_ctl start")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder)


def stop(folder: Path) -> None:
    pg_ctl = find_binary("pg_ctl")
    if pg_ctl and (folder / "data").is_dir():
        subprocess.run([*_as_server_user(), pg_ctl, "-D", str(folder / "data"), "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
    shutil.rmtree(folder, ignore_errors=True)


def reachable(url: str) -> str | None:
    """None when `url` accepts connections, else why not."""
    import sqlalchemy as sa

    from tunix_rt_pipelines.lib.registry.store import normalize_url

    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:  # any failure means "not usable here"; the reason is reported
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        server = start()
        print(f"export {URL_ENV}={shlex.quote(server.url)} {DIR_ENV}={shlex.quote(str(server.folder))}")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        stop(Path(argv[1]))
        return 0
    print("usage: python -m tunix_rt_pipelines_tests.pg_server start | stop FOLDER", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
