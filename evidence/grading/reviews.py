"""Reviewer workflow: judge suggested links, find disagreements, measure agreement, audit.

Decisions (README "Reviewing" repeats them):
- **Append-only.** `review_decision` and `audit_log` only ever get INSERTs from the product. A
  reviewer's *current* decision on a link is their latest row (highest id); earlier rows stay.
- **The suggestion is kept.** `evidence_link` is never modified by a decision; the stance a
  link carries after review is computed (`effective_stance`).
- **What a decision means.** accept: the suggested stance is right; correct: the stance is the
  reviewer's (`--stance`); reject: the article is not evidence for the claim (judged stance
  `REJECTED`). A link's effective stance is that of the latest current decision of any reviewer,
  else the suggestion.
- **Conflicts** are links whose reviewers' current decisions give different judged stances.
- **Agreement** is Cohen's kappa over the judged stances (supports / contradicts / neutral /
  rejected) of links with current decisions by at least two reviewers. Cohen's kappa is for two
  raters: on a link judged by more than two, the first two reviewers by name are compared, and
  "rater 1" / "rater 2" are those positions, so links judged by different pairs are pooled.
  When kappa is undefined (no such links, or chance agreement is 1, e.g. everyone always says
  "supports") it is reported as undefined with the reason, never NaN.
- **Exclusion reasons.** A reject may carry a reason from `EXCLUSION_REASONS` (the web
  requires one; "other" needs a note); it is kept on the decision row and in the audit row.
- **Adjudication.** An adjudicator resolves a conflict with a decision marked `adjudication`.
  Being the latest decision on the link, it settles the stance (as any latest decision does);
  it is left out of conflicts and of kappa, which compare the independent reviewers only. A
  conflict is open until an adjudication newer than every reviewer's decision exists.
- **Blind mode** (`review_mode`, latest row; blind when never set): a reviewer sees another
  reviewer's decision on a link only once they have decided on it themselves
  (`visible_decisions`); adjudicators and admins see everything.
- **One call for a decision and its regrade** (`decide_and_regrade`): the CLI and the web
  both use it, so a decision is validated, recorded, audited and graded in one place.
- **The audit log** gets one row per decision: actor (the reviewer), time, entity
  (`evidence_link`, the link id), the claim, action (`review.accept` ...), before and after
  (JSON: the reviewer's previous decision and the link's effective stance) and the note as
  the reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text
from sqlalchemy.engine import Connection

from evidence.clock import utcnow
from evidence.errors import InputError, NotFound
from evidence.store.db import batched
from evidence.store.models import AuditLog, EvidenceLink, ReviewDecision, ReviewMode
from evidence.vocab import DECISIONS, EXCLUSION_REASONS, STANCES

__all__ = [
    "EXCLUSION_REASONS",
    "REJECTED",
    "Agreement",
    "Conflict",
    "Decision",
    "LogEntry",
    "QueueItem",
    "agreement",
    "blind_mode",
    "claim_of_link",
    "conflicts",
    "current_decisions",
    "decide",
    "effective_stance",
    "judged_stance",
    "kappa",
    "log",
    "overview",
    "queue",
    "set_blind_mode",
    "visible_decisions",
]

REJECTED = "rejected"
LINKS: Table = EvidenceLink.__table__  # type: ignore[attr-defined]
DECISION_TABLE: Table = ReviewDecision.__table__  # type: ignore[attr-defined]
MODE_TABLE: Table = ReviewMode.__table__  # type: ignore[attr-defined]
AUDIT: Table = AuditLog.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Decision:
    id: int
    link_id: int
    reviewer: str
    decision: str
    stance: str | None
    note: str | None
    decided_at: dt.datetime
    exclusion_reason: str | None = None
    adjudication: bool = False


@dataclass(frozen=True)
class QueueItem:
    link_id: int
    claim_id: str
    pmid: int
    stance: str
    relevance: float
    title: str


@dataclass(frozen=True)
class Conflict:
    link_id: int
    claim_id: str
    pmid: int
    suggested: str
    judged: dict[str, str]  # reviewer -> judged stance


@dataclass(frozen=True)
class Agreement:
    scope: str  # a claim id, or "overall"
    links: int
    observed: float | None
    expected: float | None
    kappa: float | None
    undefined: str | None = None  # why kappa is undefined


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: dt.datetime
    actor: str
    entity: str
    entity_id: str
    action: str
    before: Any
    after: Any
    reason: str | None


def judged_stance(suggested: str, decision: str, stance: str | None) -> str:
    """The stance a decision gives a link: accept keeps the suggestion, correct replaces it."""
    if decision == "accept":
        return suggested
    if decision == "correct" and stance is not None:
        return stance
    return REJECTED


def current_decisions(conn: Connection, link_ids: list[int] | None = None) -> list[Decision]:
    """Each reviewer's latest decision per link (by id), oldest first."""
    sql = (
        "SELECT d.id, d.link_id, d.reviewer, d.decision, d.stance, d.note, d.decided_at, "
        "d.exclusion_reason, d.adjudication "
        "FROM review_decision d WHERE d.id = (SELECT max(e.id) FROM review_decision e "
        "WHERE e.link_id = d.link_id AND e.reviewer = d.reviewer)"
    )
    if link_ids is None:
        rows = list(conn.execute(text(sql + " ORDER BY d.id")))
    else:
        # Only the links asked for (a claim page must not read every decision in the table).
        stmt = text(sql + " AND d.link_id IN :ids").bindparams(bindparam("ids", expanding=True))
        rows = [row for chunk in batched(sorted(set(link_ids))) for row in
                conn.execute(stmt, {"ids": list(chunk)})]  # fmt: skip
        rows.sort(key=lambda row: int(row[0]))
    return [
        Decision(int(i), int(link), str(who), str(what), stance, note, at, reason, bool(adj))
        for i, link, who, what, stance, note, at, reason, adj in rows
    ]


def _link(conn: Connection, link_id: int) -> Any:
    row = conn.execute(
        select(LINKS.c.id, LINKS.c.claim_id, LINKS.c.pmid, LINKS.c.stance).where(
            LINKS.c.id == link_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no evidence link {link_id}; see: evidence review queue")
    return row


def claim_of_link(conn: Connection, link_id: int) -> str:
    """The claim a link belongs to; NotFound for an unknown link."""
    return str(_link(conn, link_id).claim_id)


def effective_stance(conn: Connection, link_id: int) -> str:
    """The link's stance after review: the latest current decision's, else the suggestion's."""
    link = _link(conn, link_id)
    decisions = current_decisions(conn, [link_id])
    if not decisions:
        return str(link.stance)
    last = decisions[-1]
    return judged_stance(str(link.stance), last.decision, last.stance)


def queue(
    conn: Connection,
    claim: str | None = None,
    reviewer: str | None = None,
    *,
    limit: int | None = None,
) -> list[QueueItem]:
    """Links still to judge: without a decision by `reviewer` (by anyone, if None).

    Supports/contradicts suggestions come first, then by relevance (highest first), then id;
    the first `limit` of them if given.
    """
    params: dict[str, Any] = {}
    where = []
    if claim is not None:
        where.append("l.claim_id = :claim")
        params["claim"] = claim
    decided = "SELECT 1 FROM review_decision d WHERE d.link_id = l.id"
    if reviewer is not None:
        decided += " AND d.reviewer = :reviewer"
        params["reviewer"] = reviewer
    where.append(f"NOT EXISTS ({decided})")
    rows = conn.execute(
        text(
            "SELECT l.id, l.claim_id, l.pmid, l.stance, l.relevance, a.title "
            "FROM evidence_link l JOIN article a ON a.pmid = l.pmid "
            f"WHERE {' AND '.join(where)} "
            "ORDER BY CASE WHEN l.stance = 'neutral' THEN 1 ELSE 0 END, l.relevance DESC, l.id"
            + (f" LIMIT {int(limit)}" if limit is not None else "")
        ),
        params,
    )
    return [
        QueueItem(int(i), str(c), int(p), str(s), float(r), str(t or ""))
        for i, c, p, s, r, t in rows
    ]


def decide(
    conn: Connection,
    link_id: int,
    reviewer: str,
    decision: str,
    stance: str | None = None,
    note: str | None = None,
    *,
    reason: str | None = None,
    adjudication: bool = False,
    now: dt.datetime | None = None,
) -> Decision:
    """Record a reviewer's decision on a link and its audit row (caller's transaction).

    Raises InputError for an empty reviewer, an unknown decision, stance or exclusion reason,
    a stance given with accept/reject or missing with correct, a reason with anything but a
    reject, "other" without a note; NotFound for an unknown link. Nothing is written when it
    raises.
    """
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise InputError("a reviewer name is required (--reviewer NAME)")
    if decision not in DECISIONS:
        raise InputError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    if decision == "correct":
        if stance not in STANCES:
            raise InputError(f"a correction needs a stance: one of {', '.join(STANCES)}")
    elif stance is not None:
        raise InputError(f"a stance goes with a correction only, not with {decision}")
    note = (note or "").strip() or None
    if reason is not None:
        if decision != "reject":
            raise InputError(f"an exclusion reason goes with a reject only, not with {decision}")
        if reason not in EXCLUSION_REASONS:
            raise InputError(
                f"unknown exclusion reason {reason!r}; one of {', '.join(EXCLUSION_REASONS)}"
            )
        if reason == "other" and note is None:
            raise InputError("exclusion reason 'other' needs a note saying why")
    link = _link(conn, link_id)
    now = now or utcnow()
    previous = [d for d in current_decisions(conn, [link_id]) if d.reviewer == reviewer]
    before = {
        "decision": previous[0].decision if previous else None,
        "stance": previous[0].stance if previous else None,
        "effective_stance": effective_stance(conn, link_id),
    }
    new_id = conn.execute(
        insert(DECISION_TABLE)
        .values(
            link_id=link_id,
            reviewer=reviewer,
            decision=decision,
            stance=stance,
            note=note,
            decided_at=now,
            exclusion_reason=reason,
            adjudication=adjudication,
        )
        .returning(DECISION_TABLE.c.id)
    ).scalar_one()
    after: dict[str, Any] = {
        "decision": decision,
        "stance": stance,
        "effective_stance": judged_stance(str(link.stance), decision, stance),
    }
    if reason is not None:
        after["exclusion_reason"] = reason
    if adjudication:
        after["adjudication"] = True
    conn.execute(
        insert(AUDIT).values(
            actor=reviewer,
            at=now,
            entity="evidence_link",
            entity_id=str(link_id),
            claim_id=str(link.claim_id),
            action=f"review.{'adjudicate' if adjudication else decision}",
            before=json.dumps(before),
            after=json.dumps(after),
            reason=note,
        )
    )
    return Decision(
        int(new_id), link_id, reviewer, decision, stance, note, now, reason, adjudication
    )


def blind_mode(conn: Connection) -> bool:
    """Whether reviewers judge blind: the latest `review_mode` row, blind when never set."""
    row = conn.execute(select(MODE_TABLE.c.blind).order_by(MODE_TABLE.c.id.desc()).limit(1)).first()
    return True if row is None else bool(row.blind)


def set_blind_mode(
    conn: Connection, blind: bool, actor: str, *, now: dt.datetime | None = None
) -> None:
    """Switch blind review on or off (a new row, and an audit row)."""
    now = now or utcnow()
    before = blind_mode(conn)
    conn.execute(insert(MODE_TABLE).values(blind=blind, set_by=actor, at=now))
    conn.execute(
        insert(AUDIT).values(
            actor=actor, at=now, entity="review_mode", entity_id="blind",
            action="review.mode", before=json.dumps({"blind": before}),
            after=json.dumps({"blind": blind}), reason=None,
        )
    )  # fmt: skip


def visible_decisions(
    conn: Connection, link_ids: list[int], viewer: str, *, sees_all: bool, blind: bool
) -> dict[int, list[Decision]]:
    """Current decisions per link that `viewer` may see.

    In blind mode a viewer who does not see all (a reviewer) sees their own decision on a link,
    and the others' only once they have decided on that link themselves; adjudications are
    shown with the others'.
    """
    out: dict[int, list[Decision]] = {}
    for d in current_decisions(conn, link_ids):
        out.setdefault(d.link_id, []).append(d)
    if sees_all or not blind:
        return out
    return {link: (ds if any(d.reviewer == viewer for d in ds) else []) for link, ds in out.items()}


def _judged(
    conn: Connection, claim: str | Sequence[str] | None = None
) -> dict[int, tuple[Any, dict[str, str]]]:
    """link id -> (link row, {reviewer: judged stance}) for every link with a reviewer's
    (not an adjudicator's) current decision, of one claim's (or some claims') links if given."""
    sql = (
        "SELECT l.id, l.claim_id, l.pmid, l.stance, d.reviewer, d.decision, "
        "d.stance AS decided_stance FROM review_decision d JOIN evidence_link l "
        "ON l.id = d.link_id WHERE NOT d.adjudication AND "
    )
    if claim is None:
        # One join instead of an IN list of every decided link (tens of thousands).
        sql += "d.id IN (SELECT max(e.id) FROM review_decision e GROUP BY e.link_id, e.reviewer)"
        stmt = text(sql + " ORDER BY d.id")
        claims: list[str] = []
    else:
        sql += (
            "l.claim_id IN :cs AND d.id = (SELECT max(e.id) FROM review_decision e "
            "WHERE e.link_id = d.link_id AND e.reviewer = d.reviewer)"
        )
        stmt = text(sql + " ORDER BY d.id").bindparams(bindparam("cs", expanding=True))
        claims = [claim] if isinstance(claim, str) else list(claim)
    if claim is None:
        rows = list(conn.execute(stmt))
    else:
        rows = [r for chunk in batched(claims) for r in conn.execute(stmt, {"cs": list(chunk)})]
    out: dict[int, tuple[Any, dict[str, str]]] = {}
    for row in rows:
        entry = out.setdefault(int(row.id), (row, {}))
        entry[1][str(row.reviewer)] = judged_stance(
            str(row.stance), str(row.decision), row.decided_stance
        )
    return out


def _settled(conn: Connection) -> set[int]:
    """Links whose latest decision is an adjudication (their conflict is resolved)."""
    rows = conn.execute(
        text(
            "SELECT d.link_id FROM review_decision d WHERE d.adjudication AND d.id = "
            "(SELECT max(e.id) FROM review_decision e WHERE e.link_id = d.link_id)"
        )
    )
    return {int(r[0]) for r in rows}


def conflicts(conn: Connection, claim: str | None = None) -> list[Conflict]:
    """Open conflicts: links whose reviewers' current decisions disagree on the judged stance
    and that no adjudication has settled since (of one claim, if given)."""
    return _conflicts_in(_judged(conn, claim), _settled(conn))


def overview(
    conn: Connection, claims: Sequence[str] | None = None
) -> tuple[list[Conflict], list[Agreement]]:
    """`conflicts` and `agreement` from one read of the decisions (of `claims`' links only, if
    given: then "overall" pools those claims)."""
    judged = _judged(conn, claims)
    return _conflicts_in(judged, _settled(conn)), _agreement_in(judged)


def _conflicts_in(
    judged_links: dict[int, tuple[Any, dict[str, str]]], settled: set[int]
) -> list[Conflict]:
    out = []
    for link_id, (link, judged) in sorted(judged_links.items()):
        if link_id not in settled and len(set(judged.values())) > 1:
            out.append(
                Conflict(
                    link_id, str(link.claim_id), int(link.pmid), str(link.stance), dict(judged)
                )
            )
    return out


def kappa(pairs: list[tuple[str, str]], scope: str = "overall") -> Agreement:
    """Cohen's kappa of (rater 1, rater 2) labels; undefined (None, with reason) when it is."""
    n = len(pairs)
    if n == 0:
        return Agreement(scope, 0, None, None, None, "no link judged by two reviewers")
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first) / (n * n)
    if expected == 1:
        return Agreement(
            scope, n, observed, expected, None, "chance agreement is 1 (a single label used)"
        )
    return Agreement(scope, n, observed, expected, (observed - expected) / (1 - expected))


def agreement(conn: Connection, claim: str | None = None) -> list[Agreement]:
    """Cohen's kappa per claim (by claim id) and overall (last); with `claim`, over that
    claim's links only (its row, then the same pairs as "overall")."""
    return _agreement_in(_judged(conn, claim))


def _agreement_in(judged_links: dict[int, tuple[Any, dict[str, str]]]) -> list[Agreement]:
    per_claim: dict[str, list[tuple[str, str]]] = {}
    for _, (link, judged) in sorted(judged_links.items()):
        if len(judged) < 2:
            continue
        first, second = sorted(judged)[:2]
        per_claim.setdefault(str(link.claim_id), []).append((judged[first], judged[second]))
    out = [kappa(pairs, claim) for claim, pairs in sorted(per_claim.items())]
    out.append(kappa([p for pairs in per_claim.values() for p in pairs]))
    return out


def log(conn: Connection, claim: str) -> list[LogEntry]:
    """The claim's audit rows in time order (id breaks ties)."""
    exists = conn.execute(text("SELECT 1 FROM claim WHERE id = :c"), {"c": claim}).first()
    if exists is None:
        raise NotFound(f"no claim {claim!r}; see: evidence claims list")
    rows = conn.execute(
        select(
            AUDIT.c.id,
            AUDIT.c.at,
            AUDIT.c.actor,
            AUDIT.c.entity,
            AUDIT.c.entity_id,
            AUDIT.c.action,
            AUDIT.c.before,
            AUDIT.c.after,
            AUDIT.c.reason,
        )
        .where(AUDIT.c.claim_id == claim)
        .order_by(AUDIT.c.at, AUDIT.c.id)
    )
    return [
        LogEntry(
            int(i),
            at,
            str(actor),
            str(entity),
            str(entity_id),
            str(action),
            json.loads(before) if before else None,
            json.loads(after) if after else None,
            reason,
        )
        for i, at, actor, entity, entity_id, action, before, after, reason in rows
    ]
