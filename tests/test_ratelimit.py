"""The host-wide E-utilities rate limiter: spacing, sharing through the state file, bad files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.errors import ConfigError
from evidence.pubmed.ratelimit import (
    INTERVAL_WITH_KEY,
    INTERVAL_WITHOUT_KEY,
    SEND_WINDOW,
    RateLimiter,
    default_state_path,
)


class FakeClock:
    """A wall clock that only moves when someone sleeps (or the test advances it)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(path: Path, clock: FakeClock, **kwargs: object) -> RateLimiter:
    return RateLimiter(path=path, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_intervals_sit_just_above_ncbi_limits() -> None:
    assert RateLimiter.for_ncbi(api_key=False).interval == INTERVAL_WITHOUT_KEY == 0.35
    assert RateLimiter.for_ncbi(api_key=True).interval == INTERVAL_WITH_KEY == 0.105
    assert RateLimiter(3).interval == pytest.approx(0.35)
    assert RateLimiter(10).interval == pytest.approx(0.105)
    for rate in (3, 10):
        assert 1 / rate < RateLimiter(rate).interval < 1.1 / rate


def test_back_to_back_requests_are_spaced(tmp_path: Path) -> None:
    clock = FakeClock()
    lim = limiter(tmp_path / "rl", clock, requests_per_second=3)
    sent = []
    for _ in range(10):
        lim.acquire()
        sent.append(clock.now)
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    # Slots 0.35 s apart, and never a 4th send within SEND_WINDOW of the 1st before it.
    assert all(g >= 0.35 - 1e-6 for g in gaps)
    assert sent[:4] == pytest.approx([sent[0] + d for d in (0, 0.35, 0.70, SEND_WINDOW)])
    assert clock.sleeps[0] == pytest.approx(0.35)  # the first request goes at once (no sleep)
    assert max_in_window(sent, SEND_WINDOW - 1e-6) == 3
    # What it costs: 3 requests per SEND_WINDOW at most, 87% of NCBI's 3/s.
    assert 9 / (sent[-1] - sent[0]) >= 0.8 * 3


def test_a_late_sender_delays_the_next_instead_of_crowding_it(tmp_path: Path) -> None:
    # Five "processes" on one state file, one after another on a shared clock. Process A is
    # woken 0.3 s late (a busy host). With slots alone the sends would be 0, 0.65, 0.70, 1.05,
    # 1.40: four arrivals within one second, and NCBI answers the 4th with a 429. The send
    # rule holds each later process until the send SEND_WINDOW before it has left the window.
    clock = FakeClock()
    path = tmp_path / "rl"
    z, b, c, d = (limiter(path, clock, requests_per_second=3) for _ in range(4))
    a = RateLimiter(3, path=path, clock=clock, sleep=lambda s: clock.sleep(s + 0.3))
    start, sent = clock.now, []
    for lim in (z, a, b, c, d):
        lim.acquire()
        sent.append(clock.now - start)
    assert sent == pytest.approx([0, 0.65, 0.70, SEND_WINDOW, 0.65 + SEND_WINDOW])
    assert max_in_window(sent, 1.0) == 3


def test_idle_limiter_does_not_sleep(tmp_path: Path) -> None:
    clock = FakeClock()
    lim = limiter(tmp_path / "rl", clock)
    assert lim.acquire() == 0.0
    clock.now += 5
    assert lim.acquire() == 0.0
    assert clock.sleeps == []


def test_limiters_sharing_a_file_share_the_schedule(tmp_path: Path) -> None:
    # Two "processes" (two limiters on one state file) interleave; slots never collide.
    clock = FakeClock()
    a = limiter(tmp_path / "rl", clock, requests_per_second=10)
    b = limiter(tmp_path / "rl", clock, requests_per_second=10)
    slots = [lim.reserve() for _ in range(6) for lim in (a, b)]
    assert slots == sorted(slots)
    assert all(
        y - x == pytest.approx(0.105, abs=1e-5) for x, y in zip(slots, slots[1:], strict=False)
    )
    assert max_in_window(slots) <= 10


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage", b"nan\n", b"inf\n", b"-inf", b"\xff\xfe\x00binary", b"1e400", b"   "],
)
def test_corrupt_state_file_means_free_now(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "rl"
    path.write_bytes(content)
    clock = FakeClock()
    lim = limiter(path, clock)
    assert lim.acquire() == 0.0
    next_slot, *sent = map(float, path.read_text().split())  # rewritten
    assert next_slot == pytest.approx(clock.now + lim.interval)
    assert sent == [clock.now]


def test_state_far_in_the_future_is_ignored(tmp_path: Path) -> None:
    # e.g. written before the wall clock was set back an hour: do not sleep for an hour.
    path = tmp_path / "rl"
    clock = FakeClock()
    path.write_text(f"{clock.now + 3600}\n")
    assert limiter(path, clock).acquire() == 0.0


def test_queued_slots_in_the_near_future_are_respected(tmp_path: Path) -> None:
    path = tmp_path / "rl"
    clock = FakeClock()
    path.write_text(f"{clock.now + 2.0}\n")  # other processes already hold 2 s of slots
    assert limiter(path, clock).acquire() == pytest.approx(2.0)


def test_defer_holds_everyone_back(tmp_path: Path) -> None:
    clock = FakeClock()
    a = limiter(tmp_path / "rl", clock)
    b = limiter(tmp_path / "rl", clock)
    a.acquire()
    a.defer(5.0)
    assert b.acquire() == pytest.approx(5.0)
    a.defer(0)  # no-op
    a.defer(-1)  # no-op


def test_state_file_is_private_and_parent_created(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "dir" / "rl"
    RateLimiter(path=path).reserve()
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_unusable_path_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="EVIDENCE_RATELIMIT_FILE"):
        RateLimiter(path=blocker / "rl").acquire()


def test_symlinked_state_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("precious")
    link = tmp_path / "rl"
    link.symlink_to(target)
    with pytest.raises(ConfigError):
        RateLimiter(path=link).acquire()
    assert target.read_text() == "precious"


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVIDENCE_RATELIMIT_FILE", str(tmp_path / "custom.rl"))
    assert default_state_path() == tmp_path / "custom.rl"
    assert RateLimiter().path == tmp_path / "custom.rl"
    monkeypatch.delenv("EVIDENCE_RATELIMIT_FILE")
    path = default_state_path()
    assert path.name == f"evidence-eutils-{os.getuid()}.ratelimit"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(interval=-1)
    assert "interval=0.35" in repr(RateLimiter.for_ncbi(api_key=False))


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=30),
    rate=st.sampled_from([3.0, 10.0]),
)
def test_property_no_window_exceeds_the_rate(
    tmp_path_factory: pytest.TempPathFactory, arrivals: list[float], rate: float
) -> None:
    # Requests arrive with arbitrary gaps; each goes at its slot.  Slots never precede the
    # request, are ``interval`` apart, and no 1 s window holds more than ``rate`` of them.
    path = tmp_path_factory.mktemp("rl") / "state"
    clock = FakeClock()
    lim = RateLimiter(rate, path=path, clock=clock, sleep=lambda s: None)
    slots = []
    for gap in arrivals:
        clock.now += gap
        asked = clock.now
        slot = lim.reserve()
        assert slot >= asked
        slots.append(slot)
    assert all(y - x >= lim.interval - 1e-6 for x, y in zip(slots, slots[1:], strict=False))
    assert max_in_window(slots) <= rate


def test_threads_get_distinct_spaced_slots(tmp_path: Path) -> None:
    lim = RateLimiter(path=tmp_path / "rl", interval=0.001)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            slot = lim.reserve()
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    assert len(slots) == 100
    assert all(y - x >= 0.001 - 1e-6 for x, y in zip(slots, slots[1:], strict=False))


def test_processes_share_the_schedule(tmp_path: Path) -> None:
    # Real flock across real processes: 3 processes x 40 reservations, all slots spaced.
    path = tmp_path / "rl"
    script = textwrap.dedent(
        """
        import sys
        from evidence.pubmed.ratelimit import RateLimiter
        lim = RateLimiter(path=sys.argv[1], interval=0.002)
        print("\\n".join(repr(lim.reserve()) for _ in range(40)))
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    slots = sorted(float(line) for p in procs for line in p.communicate(timeout=60)[0].split())
    assert all(p.returncode == 0 for p in procs)
    assert len(slots) == 120
    assert all(y - x >= 0.002 - 1e-5 for x, y in zip(slots, slots[1:], strict=False))
