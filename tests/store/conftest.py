"""A private PostgreSQL cluster for the store tests, and a ``store_url`` fixture over both backends.

The cluster is real (``initdb`` + ``postgres`` from the installed server, a
free port on 127.0.0.1, its socket in the temp dir) and lives for the session.
PostgreSQL refuses to run as root: as root the cluster runs as the
``postgres`` system user (or ``nobody``) over a directory owned by it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """``postgresql://agentctl@127.0.0.1:PORT``: a superuser with trust auth on loopback only."""
    if _bin() is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    with private_cluster() as url:
        yield url


@contextlib.contextmanager
def private_cluster() -> Iterator[str]:
    """A throw-away cluster (also used by bench/store_bench.py)."""
    bindir = _bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries are not installed")
    base = Path(tempfile.mkdtemp(prefix="agentctl-pg-"))
    data = base / "data"
    prefix = _as_user()
    if prefix:
        user = prefix[2]
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "--username=agentctl", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        cwd=base,
    )
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} -c fsync=off"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        cwd=base,
        timeout=120,
    )
    try:
        yield f"postgresql://agentctl@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            cwd=base,
            timeout=120,
        )
        shutil.rmtree(base, ignore_errors=True)


def new_database(server: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}".encode())
            return f"{server}/{name}"
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What ``AGENTCTL_STORE`` would hold: a fresh SQLite file, or a fresh database on the private cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'agentctl.db'}"
    return new_database(request.getfixturevalue("pg_server"))
