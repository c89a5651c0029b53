"""A claim's saved PubMed searches: roles, intents, and reading them back.

A claim is searched from every angle a reviewer would take (README "Claim catalogs"):

- **direct**: evidence about the claim itself;
- **counter**: the evidence that would refute it (for "caffeine acts on opioid receptors":
  caffeine's established adenosine-receptor pharmacology; for "safe short-term": poison-centre
  series, deaths, liver injury);
- **mechanism**: how it would work (receptor assays behind a clinical claim);
- **background**: context (reviews, use patterns) a reviewer wants at hand.

Every role's hits are candidates for linking alike: the role says why a search exists, not
which stance its hits take. `claim_hit.search_roles` keeps which roles found a study.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, select, text
from sqlalchemy.engine import Connection

from evidence.store.db import batched
from evidence.store.models import ClaimSearch
from evidence.vocab import SEARCH_ROLES

__all__ = [
    "ROLE_HELP",
    "SEARCH_ROLES",
    "SavedSearch",
    "claim_searches",
    "hits_by_role",
    "join_roles",
    "searches_hash",
]

#: What each role is for (README "Claim catalogs" repeats this).
ROLE_HELP = {
    "direct": "evidence about the claim itself",
    "counter": "the evidence that would refute the claim",
    "mechanism": "how the claimed effect would work (receptors, pathways)",
    "background": "context a reviewer wants at hand (reviews, use patterns)",
}
assert set(ROLE_HELP) == set(SEARCH_ROLES)

SEARCHES: Table = ClaimSearch.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SavedSearch:
    role: str
    query: str
    intent: str | None = None
    statement: str | None = None  # counter searches: what refuting evidence would state


def claim_searches(conn: Connection, claim_ids: Sequence[str]) -> dict[str, list[SavedSearch]]:
    """claim id -> its searches in catalog order (a claim without searches is left out)."""
    out: dict[str, list[SavedSearch]] = {}
    for chunk in batched(list(claim_ids)):
        rows = conn.execute(
            select(
                SEARCHES.c.claim_id,
                SEARCHES.c.role,
                SEARCHES.c.query,
                SEARCHES.c.intent,
                SEARCHES.c.statement,
            )
            .where(SEARCHES.c.claim_id.in_(chunk))
            .order_by(SEARCHES.c.claim_id, SEARCHES.c.position)
        )
        for claim_id, role, query, intent, statement in rows:
            found = SavedSearch(str(role), str(query), intent, statement)
            out.setdefault(str(claim_id), []).append(found)
    return out


def searches_hash(searches: Iterable[SavedSearch]) -> str:
    """Whitespace-insensitive over roles and queries (an intent is a note, not the search).

    A claim with one direct search hashes as its query alone did before searches had roles,
    so that upgrading does not turn every claim's next refresh into a full search.
    """
    items = [(s.role, " ".join(s.query.split())) for s in searches]
    if len(items) == 1 and items[0][0] == "direct":
        text = items[0][1]
    else:
        text = "\n".join(f"{role}\t{query}" for role, query in items)
    return hashlib.sha256(text.encode()).hexdigest()


def join_roles(*groups: Iterable[str] | str | None) -> str | None:
    """Roles as stored in `claim_hit.search_roles`: the union, sorted, comma-separated."""
    roles: set[str] = set()
    for group in groups:
        if group is None:
            continue
        items = group.split(",") if isinstance(group, str) else group
        roles.update(r for r in items if r)
    return ",".join(sorted(roles)) or None


def hits_by_role(conn: Connection, claim_id: str) -> dict[str, int]:
    """Role -> how many of the claim's recorded hits searches of that role returned."""
    out: dict[str, int] = {}
    rows = conn.execute(
        text("SELECT search_roles FROM claim_hit WHERE claim_id = :c AND search_roles IS NOT NULL"),
        {"c": claim_id},
    )
    for (roles,) in rows:
        for role in str(roles).split(","):
            out[role] = out.get(role, 0) + 1
    return out
