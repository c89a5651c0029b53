"""The refresh digest: what one refresh changed, for a terminal, mail (Markdown) or chat (JSON).

A digest compares a snapshot taken before the refresh (suggested stances, verdicts, the
statuses of linked studies) with the state after it: new evidence per claim, stance changes,
retractions / errata / expressions of concern on linked studies, verdict and certainty changes
with their reasons, and the claims' searches that found nothing (once per claim). Each piece
of new evidence says which roles' searches found it (direct, counter, mechanism, background).
It is stored as JSON on the run (`refresh_run.digest`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, text

from evidence.grading.verdicts import current_verdicts, verdict_label
from evidence.linking.current import current_link, current_params
from evidence.store.db import connect

if TYPE_CHECKING:
    from evidence.grading.grades import ClaimGrade

__all__ = ["Snapshot", "build", "has_changes", "render_markdown", "render_text", "snapshot"]

#: The key of the linked-studies re-check among a run's failures (not a claim).
LINKED = "(linked studies)"


class RunTotals(Protocol):
    """What the digest reads of a refresh run (`refresh.RefreshReport`), named here so that the
    digest does not import the refresh that imports it."""

    @property
    def run_id(self) -> int | None: ...
    @property
    def plans(self) -> Sized: ...
    @property
    def fetched(self) -> Sized: ...
    @property
    def new(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def failed(self) -> dict[str, str]: ...
    @property
    def empty(self) -> Mapping[str, Sequence[tuple[str, Sequence[str]]]]: ...


#: Statuses worth a line in the digest when a linked study takes one.
NOTABLE = {"retracted": "retracted", "concern": "expression of concern", "corrected": "erratum"}


@dataclass(frozen=True)
class Snapshot:
    stances: dict[tuple[str, int], str]  # (claim, pmid) -> suggested stance
    verdicts: dict[str, tuple[str, str | None]]  # claim -> (label, certainty)
    statuses: dict[int, str]  # linked pmid -> latest computed appraisal status


def snapshot(engine: Engine, claim_ids: Sequence[str]) -> Snapshot:
    wanted = set(claim_ids)
    with connect(engine) as conn:
        stances = {
            (str(c), int(p)): str(s)
            for c, p, s in conn.execute(
                text(f"SELECT claim_id, pmid, stance FROM evidence_link WHERE {current_link()}"),
                current_params(),
            )
            if str(c) in wanted
        }
        verdicts = {
            c: (v.label, v.certainty) for c, v in current_verdicts(conn).items() if c in wanted
        }
        statuses = {
            int(p): str(s)
            for p, s in conn.execute(
                text(
                    "SELECT s.pmid, s.status FROM study_appraisal s WHERE s.id = "
                    "(SELECT max(t.id) FROM study_appraisal t WHERE t.pmid = s.pmid)"
                )
            )
        }
    return Snapshot(stances, verdicts, statuses)


def build(
    engine: Engine,
    before: Snapshot,
    report: RunTotals,
    grades: Sequence[ClaimGrade],
    today: dt.date,
) -> dict[str, Any]:
    """The digest of one refresh as JSON-ready data (claims sorted by id, PMIDs ascending)."""
    after = snapshot(engine, [g.claim_id for g in grades])
    with connect(engine) as conn:
        found_by = {
            (str(c), int(p)): str(r)
            for c, p, r in conn.execute(
                text("SELECT claim_id, pmid, search_roles FROM claim_hit WHERE search_roles "
                     "IS NOT NULL")
            )
        }  # fmt: skip
    claims: dict[str, dict[str, Any]] = {}
    notices: dict[int, dict[str, Any]] = {}
    for g in sorted(grades, key=lambda g: g.claim_id):
        entry: dict[str, Any] = {"new_evidence": [], "stance_changes": []}
        for e in g.evidence:
            key = (g.claim_id, e.pmid)
            old, new = before.stances.get(key), after.stances.get(key)
            row = {"pmid": e.pmid, "title": e.title, "year": e.year,
                   "design": e.appraisal.design, "stance": e.stance,
                   "found_by": found_by.get(key)}  # fmt: skip
            if old is None and new is not None:
                entry["new_evidence"].append(row)
            elif old is not None and new is not None and old != new:
                entry["stance_changes"].append({**row, "from": old, "to": new})
            status = e.appraisal.status
            if status in NOTABLE and before.statuses.get(e.pmid) != status:
                notice = notices.setdefault(
                    e.pmid,
                    {"pmid": e.pmid, "title": e.title, "status": status,
                     "what": NOTABLE[status], "claims": []},
                )  # fmt: skip
                notice["claims"].append(g.claim_id)
        if g.changed and g.verdict is not None:
            old_label, old_certainty = before.verdicts.get(g.claim_id, ("ungraded", None))
            entry["verdict_change"] = {
                "from": old_label,
                "to": verdict_label(g.verdict.verdict, g.verdict.lean),
                "certainty_from": old_certainty,
                "certainty_to": g.verdict.certainty,
                "why": g.verdict.why,
                "reasons": [r.code for r in g.verdict.reasons if r.delta],
            }
        if entry["new_evidence"] or entry["stance_changes"] or "verdict_change" in entry:
            claims[g.claim_id] = entry
    counts = {
        "claims": len(report.plans),
        "failed_claims": len(report.failed.keys() - {LINKED}),
        "recheck_failed": LINKED in report.failed,
        "fetched": len(report.fetched),
        "new_records": report.new,
        "updated_records": report.updated,
        "new_links": sum(len(c["new_evidence"]) for c in claims.values()),
        "stance_changes": sum(len(c["stance_changes"]) for c in claims.values()),
        "retractions": sum(1 for n in notices.values() if n["status"] == "retracted"),
        "notices": len(notices),
        "verdict_changes": sum(1 for c in claims.values() if "verdict_change" in c),
    }
    return {
        "run": report.run_id,
        "today": today.isoformat(),
        "counts": counts,
        "claims": claims,
        "notices": [notices[p] for p in sorted(notices)],
        "failed": dict(sorted(report.failed.items())),
        "empty_searches": {
            claim: [{"role": role, "unknown": list(unknown)} for role, unknown in empty]
            for claim, empty in sorted(report.empty.items())
        },
    }


def has_changes(digest: dict[str, Any]) -> bool:
    c = digest.get("counts", {})
    keys = ("new_records", "updated_records", "new_links", "stance_changes", "notices",
            "verdict_changes")  # fmt: skip
    return any(c.get(k, 0) for k in keys)


def _lines(digest: dict[str, Any], *, markdown: bool) -> list[str]:
    c = digest["counts"]
    bullet = "- " if markdown else "  "
    head = "## " if markdown else ""
    out = [
        f"{'# ' if markdown else ''}Refresh {digest['run']} ({digest['today']}): "
        f"{c['new_records']} new and {c['updated_records']} updated records, "
        f"{c['new_links']} new links, {c['verdict_changes']} verdict changes"
        + (f", {c['failed_claims']} claims failed" if c["failed_claims"] else "")
        + (", the re-check of linked studies failed" if c.get("recheck_failed") else "")
    ]
    if not has_changes(digest) and not digest["failed"]:
        out.append("Nothing new.")
    if digest["notices"]:
        out += ["", f"{head}Retractions and notices on linked studies"]
        for n in digest["notices"]:
            out.append(
                f"{bullet}PMID {n['pmid']} {n['what']}: {n['title']} "
                f"(linked to {', '.join(n['claims'])})"
            )
    for claim_id, entry in digest["claims"].items():
        out += ["", f"{head}{claim_id}"]
        change = entry.get("verdict_change")
        if change:
            out.append(
                f"{bullet}verdict {change['from']} -> {change['to']}, certainty "
                f"{change['certainty_from'] or '-'} -> {change['certainty_to'] or '-'}: "
                f"{change['why']}"
            )
        for e in entry["new_evidence"]:
            found = e.get("found_by")
            by = f"; found by the {found.replace(',', ' and ')} search" if found else ""
            out.append(
                f"{bullet}new evidence: PMID {e['pmid']} ({e['stance']}, {e['design']}, "
                f"{e['year'] or 'n.d.'}{by}) {e['title']}"
            )
        for e in entry["stance_changes"]:
            out.append(f"{bullet}stance of PMID {e['pmid']}: {e['from']} -> {e['to']}")
    empty = digest.get("empty_searches") or {}
    if empty:
        out += ["", f"{head}Searches that found nothing (check their queries)"]
        for claim, searches in empty.items():
            unknown = list(dict.fromkeys(p for s in searches for p in s["unknown"]))
            out.append(
                f"{bullet}{claim}: {', '.join(s['role'] for s in searches)}"
                + (f" (PubMed did not know: {', '.join(unknown)})" if unknown else "")
            )
    if digest["failed"]:
        out += ["", f"{head}Failed claims (searched again next run)"]
        out += [f"{bullet}{claim}: {why}" for claim, why in digest["failed"].items()]
    return out


def render_text(digest: dict[str, Any]) -> str:
    return "\n".join(_lines(digest, markdown=False))


def render_markdown(digest: dict[str, Any]) -> str:
    return "\n".join(_lines(digest, markdown=True)) + "\n"
