"""A private PostgreSQL server for the tests.

``HONED_TEST_POSTGRES_URL`` wins when set (a CI service, say). Otherwise the Debian binaries
under ``/usr/lib/postgresql/*/bin`` (``apt-get install postgresql``; ``.ci/setup-postgres.sh``)
run a throwaway cluster: ``initdb`` into a temporary directory and ``pg_ctl start`` on a free
loopback port. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` OS user through ``runuser``. The cluster is stopped and deleted afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["find_pg_bin", "fresh_database_url", "pg_server", "pg_url", "postgres_server"]


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, newest version first."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for c in candidates:
        if os.access(os.path.join(c, "initdb"), os.X_OK):
            return Path(c)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a ``postgresql://`` URL of a server that lives as long as the context."""
    given = os.environ.get("HONED_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = find_pg_bin()
    if bindir is None:
        raise RuntimeError(
            "no PostgreSQL binaries: install them (apt-get install postgresql, or run "
            ".ci/setup-postgres.sh) or set HONED_TEST_POSTGRES_URL."
        )
    root = Path(tempfile.mkdtemp(prefix="honed-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c max_connections=200 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c shared_buffers=64MB"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(root / "log"),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            env=env,
            timeout=90,
        )
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _wait_ready(url)
        yield url
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            env=env,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    import psycopg

    end = time.time() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.time() > end:
                raise
            time.sleep(0.1)


def fresh_database_url(server_url: str) -> str:
    """Create an empty database on the server and return a URL to it (tests stay apart)."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def _pytest_fixtures():  # defined lazily so this module imports without pytest
    import pytest

    @pytest.fixture(scope="session")
    def pg_server() -> Iterator[str]:
        """URL of a PostgreSQL server for the whole session (skips if none can run)."""
        if not os.environ.get("HONED_TEST_POSTGRES_URL") and find_pg_bin() is None:
            pytest.skip("PostgreSQL binaries missing: run .ci/setup-postgres.sh")
        pytest.importorskip("psycopg", reason="pip install 'honed[postgres]'")
        with postgres_server() as url:
            yield url

    @pytest.fixture
    def pg_url(pg_server: str) -> str:
        """A fresh, empty database on the session's server."""
        return fresh_database_url(pg_server)

    return pg_server, pg_url


pg_server, pg_url = _pytest_fixtures()
