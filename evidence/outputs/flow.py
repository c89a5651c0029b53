"""A claim's PRISMA-style evidence flow: found, screened, included by stance, excluded by reason.

One function (`claim_flow`) counts, one (`flow_svg`) draws; the web workbench and the static
report both call them, so the two never disagree.

What the boxes count:
- **Found, per search**: the claim's saved PubMed search (its `claim_hit` rows) and full-text
  retrieval over the local corpus (links whose origin is `fulltext` or `both`).
- **Screened**: candidate articles the linker suggested for the claim, one per article (the
  article's reviewed link if any, else its current-method suggestion), as grading counts them.
- **Included, by stance**: screened articles whose latest decision keeps them (accept or correct),
  by the stance that stands.
- **Excluded, by reason**: screened articles whose latest decision rejects them, by exclusion
  reason ("no reason given" for rejects recorded without one).
- **Awaiting review**: screened articles no one has decided on yet.

Blind review: `claim_flow(conn, claim, blind_for=NAME)` counts only what that reviewer may
see: articles they have not decided themselves count as awaiting, whatever others decided, so
the included/excluded boxes cannot reveal another reviewer's pending judgement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import text
from sqlalchemy.engine import Connection

from evidence.grading.reviews import REJECTED, judged_stance
from evidence.linking import stance as linking
from evidence.vocab import EXCLUSION_REASONS, STANCES

__all__ = ["NO_REASON", "ClaimFlow", "claim_flow", "flow_svg", "reason_label"]

NO_REASON = "no reason given"


def reason_label(reason: str | None) -> str:
    return reason.replace("_", " ") if reason else NO_REASON


@dataclass(frozen=True)
class ClaimFlow:
    claim_id: str
    searches: tuple[tuple[str, int], ...]
    screened: int
    awaiting: int
    included: dict[str, int] = field(default_factory=dict)  # stance -> articles
    excluded: dict[str, int] = field(default_factory=dict)  # reason label -> articles

    @property
    def n_included(self) -> int:
        return sum(self.included.values())

    @property
    def n_excluded(self) -> int:
        return sum(self.excluded.values())


def claim_flow(conn: Connection, claim_id: str, *, blind_for: str | None = None) -> ClaimFlow:
    """Count the claim's flow from what is stored now (read only); see the module docstring
    for `blind_for`."""
    hits = conn.execute(
        text("SELECT count(*) FROM claim_hit WHERE claim_id = :c"), {"c": claim_id}
    ).scalar_one()
    rows = conn.execute(
        text(
            "SELECT l.id, l.pmid, l.stance, l.origin, l.method, l.method_version, "
            "d.id, d.decision, d.stance, d.exclusion_reason, "
            "EXISTS (SELECT 1 FROM review_decision v WHERE v.link_id = l.id "
            "AND v.reviewer = :viewer) AS seen "
            "FROM evidence_link l JOIN article a ON a.pmid = l.pmid AND NOT a.is_deleted "
            # The latest decision per link of this claim, as a derived table: PostgreSQL
            # plans a correlated max() in a join condition badly.
            "LEFT JOIN (SELECT e.link_id, max(e.id) AS latest FROM review_decision e "
            "JOIN evidence_link x ON x.id = e.link_id WHERE x.claim_id = :c "
            "GROUP BY e.link_id) m ON m.link_id = l.id "
            "LEFT JOIN review_decision d ON d.id = m.latest "
            "WHERE l.claim_id = :c"
        ),
        {"c": claim_id, "viewer": blind_for or ""},
    ).all()
    fulltext = 0
    # One entry per article: its latest-decided link, else its current-method suggestion.
    chosen: dict[int, tuple[int, str, str | None]] = {}  # pmid -> (decision id, stance, reason)
    for _lid, pmid, stance, origin, method, version, did, decision, dstance, reason, seen in rows:
        current = method == linking.METHOD and version == linking.METHOD_VERSION
        if current and origin in ("fulltext", "both"):
            fulltext += 1
        pmid = int(pmid)
        if blind_for is not None and not seen:
            did = None  # not decided by the viewer: others' decisions stay hidden
        if did is not None:
            if pmid not in chosen or chosen[pmid][0] < int(did):
                judged = judged_stance(str(stance), str(decision), dstance)
                chosen[pmid] = (int(did), judged, reason)
        elif current and pmid not in chosen:
            chosen[pmid] = (0, "", None)
    included: Counter[str] = Counter()
    excluded: Counter[str] = Counter()
    awaiting = 0
    for did, judged, reason in chosen.values():
        if did == 0:
            awaiting += 1
        elif judged == REJECTED:
            excluded[reason_label(reason)] += 1
        else:
            included[judged] += 1
    reasons_order = [reason_label(r) for r in EXCLUSION_REASONS] + [NO_REASON]
    return ClaimFlow(
        claim_id,
        (("saved PubMed search", int(hits)), ("full-text retrieval", fulltext)),
        len(chosen),
        awaiting,
        {s: included[s] for s in STANCES},
        {r: excluded[r] for r in reasons_order if excluded[r]},
    )


def _box(x: int, y: int, w: int, lines: list[str], css: str, title: str) -> tuple[str, int]:
    h = 14 + 17 * len(lines)
    parts = [
        f'<g class="flow-box {css}" data-box="{escape(css)}"><title>{escape(title)}</title>',
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="4"/>',
    ]
    for i, line in enumerate(lines):
        weight = ' font-weight="600"' if i == 0 else ""
        parts.append(
            f'<text x="{x + 8}" y="{y + 20 + 17 * i}" class="label"{weight}>{escape(line)}</text>'
        )
    parts.append("</g>")
    return "".join(parts), h


def _arrow(*points: tuple[int, int]) -> str:
    """A line through `points` with an arrowhead at the last one (no markers: no `url()`)."""
    (x1, _), (x2, y2) = points[-2], points[-1]
    path = " ".join(f"{x},{y}" for x, y in points)
    if x1 == x2:  # vertical, pointing down
        head = f"{x2 - 5},{y2 - 8} {x2 + 5},{y2 - 8} {x2},{y2}"
    else:  # horizontal, pointing right
        head = f"{x2 - 8},{y2 - 5} {x2 - 8},{y2 + 5} {x2},{y2}"
    return (
        f'<polyline points="{path}" fill="none" stroke="#5b6470"/>'
        f'<polygon points="{head}" fill="#5b6470"/>'
    )


def flow_svg(flow: ClaimFlow) -> Markup:
    """The flow as inline SVG (no script, no font): boxes with counts, arrows between them."""
    left, right, w = 10, 330, 290
    found_lines = ["Records found"] + [f"{label}: {n}" for label, n in flow.searches]
    found, h1 = _box(left, 10, w, found_lines, "found", "records found by each search")
    y2 = 10 + h1 + 30
    screened, h2 = _box(
        left, y2, w, [f"Candidates screened: {flow.screened}"], "screened", "articles screened"
    )
    y3 = y2 + h2 + 30
    inc_lines = [f"Included: {flow.n_included}"] + [
        f"{stance}: {n}" for stance, n in flow.included.items()
    ]
    included, h3 = _box(left, y3, w, inc_lines, "included", "links included, by stance")
    exc_lines = [f"Excluded: {flow.n_excluded}"] + [
        f"{reason}: {n}" for reason, n in flow.excluded.items()
    ]
    excluded, h4 = _box(right, y2, w, exc_lines, "excluded", "links excluded, by reason")
    y5 = y2 + h4 + 20
    waiting, h5 = _box(
        right, y5, w, [f"Awaiting review: {flow.awaiting}"], "awaiting", "not yet decided"
    )
    height = max(y3 + h3, y5 + h5) + 10
    mid = left + w // 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="flow" viewBox="0 0 630 '
        f'{height}" width="100%" style="max-width:630px" aria-labelledby="flow-title">',
        f'<title id="flow-title">Evidence flow for {escape(flow.claim_id)}</title>',
        found,
        _arrow((mid, 10 + h1), (mid, y2)),
        screened,
        _arrow((mid, y2 + h2), (mid, y3)),
        included,
        _arrow((left + w, y2 + h2 // 2), (right, y2 + h2 // 2)),
        excluded,
        _arrow(
            (left + w, y2 + h2 // 2),
            (left + w + 20, y2 + h2 // 2),
            (left + w + 20, y5 + h5 // 2),
            (right, y5 + h5 // 2),
        ),  # fmt: skip
        waiting,
        "</svg>",
    ]
    return Markup("".join(parts))
