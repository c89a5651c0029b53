"""Single-flight locks on both engines: refusal, waiting, kill -9 recovery, release on errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from evidence.store.db import make_engine
from evidence.store.locks import LockHeld, single_flight
from tests.conftest import ROOT, query

# Takes the lock, says so, holds it, and touches MARKER (if given) just before letting go.
HOLDER = """
import sys, time
from pathlib import Path
from evidence.store.db import make_engine
from evidence.store.locks import single_flight
url, name, hold, marker = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
with single_flight(make_engine(url), name):
    print("locked", flush=True)
    time.sleep(hold)
    if marker:
        Path(marker).touch()
"""

Spawn = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def spawn(db_url: str) -> Iterator[Spawn]:
    """Start a holder process on `db_url`; returns once it holds the lock."""
    procs: list[subprocess.Popen[str]] = []

    def start(
        hold: float, name: str = "refresh", marker: Path | None = None
    ) -> subprocess.Popen[str]:
        args = [sys.executable, "-c", HOLDER, db_url, name, str(hold), str(marker or "")]
        proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stderr is not None
        if proc.stdout.readline() != "locked\n":
            proc.wait()
            pytest.fail(f"holder did not take the lock: {proc.stderr.read()}")
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_second_acquirer_is_refused_at_once(engine: Engine, spawn: Spawn) -> None:
    holder = spawn(hold=60)
    started = time.monotonic()
    with pytest.raises(LockHeld) as raised, single_flight(engine, "refresh"):
        pytest.fail("acquired a lock another process holds")
    assert time.monotonic() - started < 30  # sanity only: it did not wait for the holder
    message = str(raised.value)
    assert message.startswith("another evidence refresh holds the lock on this database (")
    assert f"pid {holder.pid} on host " in message and " UTC); wait with --wait" in message
    assert raised.value.exit_code == 75
    assert raised.value.holder is not None and raised.value.holder.pid == holder.pid


@pytest.mark.parametrize("timeout", [None, 30.0], ids=["blocking", "polling"])
def test_wait_acquires_once_the_holder_releases(
    engine: Engine, spawn: Spawn, tmp_path: Path, timeout: float | None
) -> None:
    marker = tmp_path / "holder-done"
    holder = spawn(hold=1.0, marker=marker)
    with single_flight(engine, "refresh", wait=True, timeout=timeout) as me:
        assert marker.exists()  # touched before the holder let go, so it did let go first
        assert me.pid == os.getpid()
    assert holder.wait(timeout=30) == 0


def test_wait_gives_up_after_the_timeout(engine: Engine, spawn: Spawn) -> None:
    holder = spawn(hold=60)
    with (
        pytest.raises(LockHeld, match=rf"pid {holder.pid} .*gave up after waiting 0\.5 s"),
        single_flight(engine, "refresh", wait=True, timeout=0.5),
    ):
        pytest.fail("acquired a lock another process holds")


def test_lock_of_a_killed_holder_is_recovered(engine: Engine, spawn: Spawn) -> None:
    holder = spawn(hold=60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    # PostgreSQL ends the dead client's session (and its locks) asynchronously.
    deadline = time.monotonic() + 10
    while True:
        try:
            with single_flight(engine, "refresh") as me:
                # The dead holder's pid/host/since are no longer what others are told.
                with pytest.raises(LockHeld, match=f"pid {me.pid} "):
                    with single_flight(engine, "refresh"):
                        pass
            break
        except LockHeld:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exceptions_release_the_lock(
    engine: Engine, db_url: str, spawn: Spawn, error: type[BaseException]
) -> None:
    with pytest.raises(error), single_flight(engine, "refresh"):
        raise error()
    assert "Checked out connections: 0" in engine.pool.status()  # no leaked connection
    if db_url.startswith("postgresql"):  # ... nor its session kept open in the pool
        sessions = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'evidence %'"
        )
        assert query(db_url, sessions) == [(0,)]
    # Another process, hence another session: a lock left on a pooled one would block it.
    assert spawn(hold=0).wait(timeout=30) == 0


def test_different_names_do_not_block_each_other(engine: Engine, spawn: Spawn) -> None:
    spawn(hold=60, name="audit")
    with single_flight(engine, "refresh"), single_flight(engine, "digest"):
        pass


def test_same_process_twice_is_refused_not_reentrant(engine: Engine) -> None:
    with single_flight(engine, "refresh") as me:
        for _ in range(2):  # a refused attempt leaves the outer lock (and its info) in place
            with pytest.raises(LockHeld, match=f"pid {me.pid} "):
                with single_flight(engine, "refresh"):
                    pass
    with single_flight(engine, "refresh"):
        pass


def test_sqlite_lock_file_sits_beside_the_database(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    lock_file = Path(sqlite_url.removeprefix("sqlite:///") + ".refresh.lock")
    with single_flight(engine, "refresh") as me:
        assert f'"pid": {me.pid}' in lock_file.read_text()
    assert lock_file.read_text() == ""  # kept (unlinking races), but no stale holder
    engine.dispose()


def test_in_memory_sqlite_locks_in_the_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    engine = make_engine("sqlite://")
    with single_flight(engine, "refresh"):
        assert len(list(tmp_path.glob("evidence-*.refresh.lock"))) == 1
        with pytest.raises(LockHeld), single_flight(engine, "refresh"):
            pass
    engine.dispose()


def test_lock_names_must_be_plain(engine: Engine) -> None:
    with pytest.raises(ValueError, match="lock name"), single_flight(engine, "../refresh"):
        pass
