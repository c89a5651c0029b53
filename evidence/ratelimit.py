"""A request scheduler shared by every process on the host, for NCBI's per-IP/per-key rate limit.

NCBI allows 3 E-utilities requests per second without an API key and 10 with one, counted per
IP address or per key -- so two `evidence` processes on one machine share one budget, and a
per-process throttle (like Biopython's own) lets them exceed it together (rentrez #132).

The scheduler keeps one number, ``next_slot`` (a wall-clock time), in a small state file.
Each request locks the file (``fcntl.flock``), takes ``slot = max(now, next_slot)``, writes
``next_slot = slot + interval``, unlocks, and sleeps until its slot.  Slots are therefore at
least ``interval`` apart across every process that uses the file, in the order they asked.
The interval is a little above ``1/rate`` (0.35 s and 0.105 s) so that timing jitter between
taking a slot and the request reaching NCBI never puts rate+1 requests in one second.

The state file is advisory and disposable: if it is empty, corrupt, or names a time absurdly far
in the future (a wall-clock jump), the scheduler treats it as "free now" and rewrites it.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from evidence.errors import ConfigError

try:  # POSIX: lock the state file itself.
    import fcntl
except ImportError:  # pragma: no cover - Windows: fall back to a sidecar lock file.
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "INTERVAL_WITH_KEY",
    "INTERVAL_WITHOUT_KEY",
    "RateLimiter",
    "default_state_path",
]

#: Seconds between request slots: 1.05 x the minimum NCBI allows (3/s, 10/s).
INTERVAL_WITHOUT_KEY = 0.35
INTERVAL_WITH_KEY = 0.105

#: A ``next_slot`` further ahead than this is not a queue of waiting requests but a stale file
#: (for instance written before the wall clock was set back); it is ignored.
_MAX_AHEAD = 300.0

_ENV_VAR = "EVIDENCE_RATELIMIT_FILE"


def default_state_path() -> Path:
    """``$EVIDENCE_RATELIMIT_FILE``, else ``<tempdir>/evidence-eutils-<uid>.ratelimit``."""
    configured = os.environ.get(_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    getuid = getattr(os, "getuid", None)
    owner = str(getuid()) if getuid is not None else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"evidence-eutils-{owner}.ratelimit"


class RateLimiter:
    """Spaces requests ``interval`` seconds apart across all processes sharing ``path``.

    ``RateLimiter.for_ncbi(api_key=...)`` picks NCBI's interval.  ``clock`` (wall-clock seconds,
    shared between processes) and ``sleep`` can be replaced in unit tests.
    """

    def __init__(
        self,
        requests_per_second: float = 3.0,
        *,
        path: str | os.PathLike[str] | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval is None:
            if not requests_per_second > 0:
                raise ValueError(f"requests_per_second must be positive, got {requests_per_second}")
            interval = 1.05 / requests_per_second
        if not (interval >= 0 and math.isfinite(interval)):
            raise ValueError(f"interval must be a finite number >= 0, got {interval}")
        self._interval = float(interval)
        self._path = Path(path) if path is not None else default_state_path()
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def for_ncbi(
        cls,
        *,
        api_key: bool,
        path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """NCBI's limit: 10 requests/s with an API key, 3 without."""
        interval = INTERVAL_WITH_KEY if api_key else INTERVAL_WITHOUT_KEY
        return cls(path=path, interval=interval, clock=clock, sleep=sleep)

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"RateLimiter(interval={self._interval:g}, path={str(self._path)!r})"

    def reserve(self) -> float:
        """Claim the next free slot and return its time (on ``clock``); does not sleep."""
        with self._locked_state() as fd:
            now = self._clock()
            slot = max(now, self._read(fd, now))
            self._write(fd, slot + self._interval)
        return slot

    def acquire(self) -> float:
        """Wait for this process's next slot; returns the seconds slept."""
        wait = self.reserve() - self._clock()
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0

    def defer(self, seconds: float) -> None:
        """Hold every process back: no slot starts earlier than ``seconds`` from now.

        Used after an HTTP 429, which NCBI sends per IP/key, so the whole host should pause.
        """
        if not seconds > 0:
            return
        with self._locked_state() as fd:
            now = self._clock()
            until = now + min(seconds, _MAX_AHEAD)
            self._write(fd, max(self._read(fd, now), until))

    # -- state file --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked_state(self) -> Iterator[int]:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: the default lives in a shared temp directory; never write through a
            # symlink someone else planted there.
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(self._path, flags, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"cannot use the E-utilities rate-limit file {self._path}: {exc.strerror or exc}; "
                f"set {_ENV_VAR} to a writable path"
            ) from exc
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    yield fd
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            else:  # pragma: no cover - non-POSIX
                from filelock import FileLock

                with FileLock(str(self._path) + ".lock"):
                    yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _read(fd: int, now: float) -> float:
        """``next_slot`` from the file; ``now`` if it is missing, corrupt or implausible."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            raw = os.read(fd, 64)
            value = float(raw.decode("ascii").strip())
        except (OSError, UnicodeDecodeError, ValueError):
            return now
        if not math.isfinite(value) or value > now + _MAX_AHEAD:
            return now
        return value

    @staticmethod
    def _write(fd: int, next_slot: float) -> None:
        data = f"{next_slot:.6f}\n".encode("ascii")
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, data)
