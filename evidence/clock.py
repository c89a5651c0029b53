"""The one clock the library reads when a caller passes no `now`: aware UTC datetimes.

May import: nothing of `evidence`.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
