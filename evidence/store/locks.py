"""Single-flight locks: at most one run of a named job (e.g. ``refresh``) per database.

PostgreSQL: a session-level advisory lock, held by a dedicated connection for the whole block,
so it excludes runs on every host that uses the database. SQLite: ``flock`` on
``<db path>.<name>.lock`` beside the database file. In both cases the lock belongs to a session
or an open file, so when the holder dies -- even by ``kill -9`` -- the server or the kernel frees
it: there is never a stale lock to clean up. The pid, host and start time shown to users are
advisory only, never used for exclusion.

The lock is not re-entrant: a second ``single_flight`` on the same name in the same process is
refused like any other acquirer (``LockHeld``; with ``wait`` and no ``timeout`` it would wait
for itself forever). POSIX only (``fcntl``), like the cron/systemd setups that run refresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from evidence.clock import utcnow
from evidence.errors import DatabaseError, LockHeld
from evidence.store.db import connect, is_sqlite

__all__ = ["LockHeld", "LockInfo", "single_flight"]

_NAME = re.compile(r"[A-Za-z0-9_-]+")  # it becomes part of a file name
_POLL = 0.2  # seconds between attempts while waiting with a timeout
# How a PostgreSQL holder advertises itself in application_name: "evidence <pid> <epoch> <host>".
_ADVERTISED = re.compile(r"evidence (\d+) (\d+) (.+)")


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock: the holder's process id, host and when it took the lock."""

    pid: int
    host: str
    since: datetime

    def __str__(self) -> str:
        since = self.since.astimezone(UTC)
        return f"pid {self.pid} on host {self.host} since {since:%Y-%m-%d %H:%M:%S} UTC"


class _AdvisoryLock:
    def __init__(self, conn: Connection, name: str) -> None:
        digest = hashlib.sha256(f"evidence:{name}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        # Autocommit: the session must sit idle, not "idle in transaction", while it holds.
        self._conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        self.held = False

    def _select(self, function: str) -> object:
        return self._conn.execute(text(f"SELECT {function}(:k)"), {"k": self._key}).scalar()

    def try_lock(self) -> bool:
        self.held = bool(self._select("pg_try_advisory_lock"))
        return self.held

    def lock(self) -> None:
        self._select("pg_advisory_lock")
        self.held = True

    def holder(self) -> LockInfo | None:
        # pg_stat_activity shows application_name (unlike client_addr or backend_start) to any
        # role, so the holder advertises its client pid/host/start there (see record).
        row = self._conn.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi "
                "AND l.objid = :lo AND l.objsubid = 1 AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"hi": (self._key >> 32) & 0xFFFFFFFF, "lo": self._key & 0xFFFFFFFF},
        ).first()
        match = _ADVERTISED.fullmatch(str(row[0])) if row else None
        if match is None:  # not advertised yet, or a lock someone took by hand
            return None
        pid, since, host = match.groups()
        return LockInfo(int(pid), host, datetime.fromtimestamp(int(since), UTC))

    def record(self, me: LockInfo) -> None:
        # Host last: PostgreSQL truncates application_name to 63 bytes.
        value = f"evidence {me.pid} {int(me.since.timestamp())} {me.host}"
        self._conn.execute(text("SELECT set_config('application_name', :v, false)"), {"v": value})

    def release(self) -> None:
        # Unlock explicitly, so the next acquirer does not race the backend's exit; if that
        # fails the connection is broken and the lock went with its session.
        try:
            if self.held:
                with suppress(DBAPIError):
                    self._select("pg_advisory_unlock")
        finally:
            # Never give this session back to the pool: if the unlock did not run (interrupt),
            # ending the session is what frees the lock.
            self._conn.invalidate()


class _FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        try:  # 0o644 like SQLite's own files; no following a link planted in a shared dir
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise DatabaseError(f"cannot open lock file {path}: {exc.strerror or exc}") from None
        self.held = False

    def try_lock(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.held = True
        return True

    def lock(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.held = True

    def holder(self) -> LockInfo | None:
        try:
            data = json.loads(self._path.read_text())
            return LockInfo(
                int(data["pid"]), str(data["host"]), datetime.fromisoformat(data["since"])
            )
        except (OSError, ValueError, KeyError, TypeError):  # empty, half-written or foreign
            return None

    def record(self, me: LockInfo) -> None:
        data = {"pid": me.pid, "host": me.host, "since": me.since.isoformat()}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(data).encode(), 0)

    def release(self) -> None:
        # The file stays: unlinking it would let a process that opened it just before lock a
        # different inode than the next one. Emptying it keeps a stale holder out of messages.
        if self.held:
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor is what frees the flock


def _lock_path(engine: Engine, name: str) -> Path:
    database = engine.url.database
    if database and database != ":memory:":
        db_path = Path(database).expanduser().resolve()
        return db_path.with_name(f"{db_path.name}.{name}.lock")
    # An in-memory database has no file to sit beside; key a temp file by user and URL. Each
    # process has its own in-memory database, so this only serialises one user's such runs.
    key = hashlib.sha256(f"{os.getuid()}:{engine.url}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"evidence-{key}.{name}.lock"


def _acquire(lock: _AdvisoryLock | _FileLock, wait: bool, timeout: float | None) -> bool:
    if lock.try_lock():
        return True
    if not wait:
        return False
    if timeout is None:
        lock.lock()
        return True
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(_POLL, left))
        if lock.try_lock():
            return True
    return False


@contextmanager
def single_flight(
    engine: Engine, name: str, *, wait: bool = False, timeout: float | None = None
) -> Iterator[LockInfo]:
    """Hold the database-wide lock `name` for the block; yields this process's `LockInfo`.

    If another process holds it: raise `LockHeld` at once, or with `wait` block until it is
    free (at most `timeout` seconds, then `LockHeld`). Released however the block exits.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"lock name must match {_NAME.pattern}, got {name!r}")
    with ExitStack() as stack:
        lock: _AdvisoryLock | _FileLock
        if is_sqlite(engine):
            lock = _FileLock(_lock_path(engine, name))
        else:
            lock = _AdvisoryLock(stack.enter_context(connect(engine)), name)
        stack.callback(lock.release)
        if not _acquire(lock, wait, timeout):
            raise LockHeld(name, lock.holder(), timeout if wait else None)
        me = LockInfo(os.getpid(), socket.gethostname(), utcnow())
        lock.record(me)
        yield me
