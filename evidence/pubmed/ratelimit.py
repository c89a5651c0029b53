"""A request scheduler shared by every process on the host, for NCBI's per-IP/per-key rate limit.

NCBI allows 3 E-utilities requests per second without an API key and 10 with one, counted per
IP address or per key -- so two `evidence` processes on one machine share one budget, and a
per-process throttle (like Biopython's own) lets them exceed it together (rentrez #132).

Two rules, both kept in one small state file locked with ``fcntl.flock``:

1. **Slots.** Each request takes ``slot = max(now, next_slot)`` and writes
   ``next_slot = slot + interval``, then sleeps until its slot, so processes go in the order
   they asked, ``interval`` (a little above ``1/rate``) apart.
2. **Sends.** Slots alone are not enough on a busy host: a process woken late sends late, next
   to the following process's request, and NCBI counts requests by *arrival* (4 of 322 requests
   drew a 429 that way with a 50 ms margin). So when a process is about to send, it checks the
   times the last ``burst`` requests were actually sent (same file): if ``burst`` of them lie
   within ``window`` (1 s plus a margin) it waits, and otherwise records its own send time.
   A late process therefore delays whoever follows instead of crowding it.

Measured with `scripts/bench_ratelimit.py` (README "E-utilities under load").

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
    "SEND_WINDOW",
    "RateLimiter",
    "default_state_path",
]

#: Seconds between request slots: 1.05 x the minimum NCBI allows (3/s, 10/s).
INTERVAL_WITHOUT_KEY = 0.35
INTERVAL_WITH_KEY = 0.105
#: The sends rule: at most `rate` sends in any `SEND_WINDOW` seconds. The 0.15 s above NCBI's
#: second absorbs what happens between recording a send and its arrival (a process descheduled
#: there); it caps the sustained rate at rate/1.15 s, 87% of what NCBI allows.
SEND_WINDOW = 1.15

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
        burst: int | None = None,
        window: float = SEND_WINDOW,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not requests_per_second > 0:
            raise ValueError(f"requests_per_second must be positive, got {requests_per_second}")
        if interval is None:
            interval = 1.05 / requests_per_second
        if not (interval >= 0 and math.isfinite(interval)):
            raise ValueError(f"interval must be a finite number >= 0, got {interval}")
        self._interval = float(interval)
        #: At most `burst` sends in any `window` seconds (0: no such rule).
        self._burst = max(int(burst if burst is not None else requests_per_second), 0)
        self._window = float(window)
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
        rate = 10.0 if api_key else 3.0
        interval = INTERVAL_WITH_KEY if api_key else INTERVAL_WITHOUT_KEY
        return cls(rate, path=path, interval=interval, clock=clock, sleep=sleep)

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
            next_slot, sent = self._read(fd, now)
            slot = max(now, next_slot)
            self._write(fd, slot + self._interval, sent)
        return slot

    def acquire(self) -> float:
        """Wait for this process's slot, then until sending keeps the window's rule; returns
        the seconds slept. Call it right before sending: the send time is recorded."""
        slept = self.reserve() - self._clock()
        if slept > 0:
            self._sleep(slept)
        else:
            slept = 0.0
        while True:
            with self._locked_state() as fd:
                now = self._clock()
                next_slot, sent = self._read(fd, now)
                recent = [t for t in sent if now - self._window < t <= now]
                if self._burst == 0 or len(recent) < self._burst:
                    self._write(fd, next_slot, [*recent, now][-self._burst :])
                    return slept
                wait = recent[-self._burst] + self._window - now
            self._sleep(wait)
            slept += wait

    def defer(self, seconds: float) -> None:
        """Hold every process back: no slot starts earlier than ``seconds`` from now.

        Used after an HTTP 429, which NCBI sends per IP/key, so the whole host should pause.
        """
        if not seconds > 0:
            return
        with self._locked_state() as fd:
            now = self._clock()
            until = now + min(seconds, _MAX_AHEAD)
            next_slot, sent = self._read(fd, now)
            self._write(fd, max(next_slot, until), sent)

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
    def _read(fd: int, now: float) -> tuple[float, list[float]]:
        """``next_slot`` (``now`` if missing, corrupt or implausible) and the recent send times.

        The file is ``next_slot`` then the send times, on one line, separated by spaces.
        """
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            fields = os.read(fd, 512).decode("ascii").split()
            values = [float(f) for f in fields]
        except (OSError, UnicodeDecodeError, ValueError):
            return now, []
        if not values or not all(math.isfinite(v) for v in values):
            return now, []
        next_slot, sent = values[0], values[1:]
        if next_slot > now + _MAX_AHEAD:
            next_slot = now
        return next_slot, [t for t in sent if t <= now + _MAX_AHEAD]

    @staticmethod
    def _write(fd: int, next_slot: float, sent: list[float]) -> None:
        data = " ".join(f"{v:.6f}" for v in (next_slot, *sent)).encode("ascii") + b"\n"
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, data)
