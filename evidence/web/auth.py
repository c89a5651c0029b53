"""Accounts, passwords, sessions, CSRF tokens and login throttling for the workbench.

Decisions (README "Reviewing in the browser" repeats them):
- **Passwords** are stored only as argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory
  profile); a hash made with older parameters is rehashed at the next successful login.
- **Sessions** are server-side rows. The browser holds a random 32-byte token, signed
  (itsdangerous, by the server's secret) so that a forged cookie is refused before the database
  is asked; the row keeps only the token's SHA-256. Sessions expire after `SESSION_HOURS`;
  logging out deletes the row.
- **CSRF**: each session has its own random token, carried by every form and compared in
  constant time. The login form (no session yet) uses a double-submit token in a cookie.
- **Throttling**: each failed login for a user name, and from a client address, doubles the
  wait before the next attempt with that key is even checked (1 s after the second failure,
  up to `MAX_WAIT` s); a success clears the user name's count. A locked-out attempt is refused
  without checking the password, so guessing costs time whether or not the guess is right.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from evidence.errors import InputError
from evidence.store.models import AppUser, LoginFailure, WebSession
from evidence.vocab import USER_ROLES as ROLES

__all__ = [
    "SESSION_HOURS",
    "LoginResult",
    "User",
    "add_user",
    "check_login",
    "end_session",
    "new_token",
    "same_token",
    "session_user",
    "start_session",
]

USERS: Table = AppUser.__table__  # type: ignore[attr-defined]
SESSIONS: Table = WebSession.__table__  # type: ignore[attr-defined]
FAILURES: Table = LoginFailure.__table__  # type: ignore[attr-defined]
SESSION_HOURS = 12
MAX_WAIT = 60  # seconds
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown name as slow as one for a known name.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str

    @property
    def adjudicates(self) -> bool:
        return self.role in ("adjudicator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def add_user(conn: Connection, name: str, role: str, password: str) -> tuple[User, bool]:
    """Create a user, or set an existing one's role and password; returns (user, created)."""
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() or not c.isprintable() for c in name):
        raise InputError(f"invalid user name {name!r}: 1-100 printable characters, no spaces")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is too short: at least {MIN_PASSWORD} characters")
    now = utcnow()
    hashed = _hasher.hash(password)
    existing = conn.execute(select(USERS.c.id).where(USERS.c.name == name)).first()
    if existing is not None:
        conn.execute(
            update(USERS)
            .where(USERS.c.id == existing.id)
            .values(role=role, password_hash=hashed, updated_at=now)
        )
        # A new password ends the sessions opened with the old one.
        conn.execute(delete(SESSIONS).where(SESSIONS.c.user_id == existing.id))
        return User(int(existing.id), name, role), False
    new_id = conn.execute(
        insert(USERS)
        .values(name=name, role=role, password_hash=hashed, created_at=now, updated_at=now)
        .returning(USERS.c.id)
    ).scalar_one()
    return User(int(new_id), name, role), True


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    wait: int = 0  # seconds before another attempt is checked (when throttled)


def _wait_for(conn: Connection, key: str, now: dt.datetime) -> int:
    row = conn.execute(
        select(FAILURES.c.failures, FAILURES.c.last_failed_at).where(FAILURES.c.key == key)
    ).first()
    if row is None or row.failures < 2:
        return 0
    pause = min(2 ** (int(row.failures) - 2), MAX_WAIT)
    left = (_aware(row.last_failed_at) + dt.timedelta(seconds=pause) - now).total_seconds()
    return max(0, int(left + 0.999))


def _fail(conn: Connection, key: str, now: dt.datetime) -> None:
    updated = conn.execute(
        update(FAILURES)
        .where(FAILURES.c.key == key)
        .values(failures=FAILURES.c.failures + 1, last_failed_at=now)
    ).rowcount
    if not updated:
        conn.execute(insert(FAILURES).values(key=key, failures=1, last_failed_at=now))


def check_login(
    conn: Connection, name: str, password: str, address: str, *, now: dt.datetime | None = None
) -> LoginResult:
    """The user when `password` is theirs and neither the name nor the address is throttled."""
    now = now or utcnow()
    keys = [f"user:{name.strip()[:100]}", f"addr:{address[:150]}"]
    wait = max(_wait_for(conn, key, now) for key in keys)
    if wait:
        return LoginResult(None, wait)
    row = conn.execute(
        select(USERS.c.id, USERS.c.name, USERS.c.role, USERS.c.password_hash).where(
            USERS.c.name == name.strip()
        )
    ).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        for key in keys:
            _fail(conn, key, now)
        return LoginResult(None, 0)
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(
            update(USERS).where(USERS.c.id == row.id).values(password_hash=_hasher.hash(password))
        )
    conn.execute(delete(FAILURES).where(FAILURES.c.key == keys[0]))
    return LoginResult(User(int(row.id), str(row.name), str(row.role)))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: Connection, user: User, *, now: dt.datetime | None = None) -> str:
    """A new session for `user`; returns its token (for the signed cookie)."""
    now = now or utcnow()
    token = new_token()
    conn.execute(
        insert(SESSIONS).values(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_hex(32),
            created_at=now,
            expires_at=now + dt.timedelta(hours=SESSION_HOURS),
        )
    )
    # Expired sessions of anyone go when someone logs in: the table stays small without a job.
    conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now))
    return token


def session_user(
    conn: Connection, token: str, *, now: dt.datetime | None = None
) -> tuple[User, str] | None:
    """(user, CSRF token) of a live session, else None."""
    now = now or utcnow()
    row = conn.execute(
        select(USERS.c.id, USERS.c.name, USERS.c.role, SESSIONS.c.csrf_token, SESSIONS.c.expires_at)
        .join(USERS, USERS.c.id == SESSIONS.c.user_id)
        .where(SESSIONS.c.token_hash == _digest(token))
    ).first()
    if row is None or _aware(row.expires_at) <= now:
        return None
    return User(int(row.id), str(row.name), str(row.role)), str(row.csrf_token)


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == _digest(token)))
