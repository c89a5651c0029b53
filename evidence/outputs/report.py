"""The reviewer's audit report: a self-contained static site, and the terminal summary's data.

Decisions (README "Report" repeats them):
- **Self-contained.** Every page inlines its stylesheet; there is no script, font or image to
  fetch: the evidence map is inline SVG with a table beside it (readable without the chart, and
  printable). Links to PubMed and DOIs are plain links, followed only when a reader clicks.
- **Escaped.** Pages are Jinja2 templates with autoescaping on; highlighted text (quotes in the
  article, rationale sentences in abstracts) is built by escaping each segment, then marking it.
- **The evidence flow** per claim (found, screened, included, excluded by reason) is
  `flow.claim_flow` drawn by `flow.flow_svg`, the same as on the workbench's claim page.
- **What the pages show** is the live assessment (`grading.assess_claim`), the recorded verdict
  and its history (`verdicts`), and the latest refresh digest (`refresh_run.digest`).
- The site is written into a fresh temporary directory and swapped into place, so a reader (or
  a failure half-way) never sees half a report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import Connection, Engine, Table, func, select, text
from sqlmodel import Session

from evidence.claims import catalog as claims_lib
from evidence.claims.documents import current_text, get_document, list_documents
from evidence.clock import utcnow
from evidence.errors import InputError
from evidence.grading.grades import ClaimGrade, assess_claim
from evidence.grading.rules import GRADING_VERSION
from evidence.grading.verdicts import Verdict, current_verdicts, verdict_history, verdict_label
from evidence.linking.current import current_link, current_params
from evidence.outputs.flow import ClaimFlow, claim_flow, flow_svg
from evidence.provenance import Provenance, read_provenance
from evidence.store.db import connect
from evidence.store.models import Claim, ClaimQuote, IngestRun, RefreshRun
from evidence.vocab import STANCES

__all__ = ["ClaimView", "Report", "collect", "write_site"]


@dataclass
class ClaimView:
    claim: Claim
    quotes: list[ClaimQuote]
    grade: ClaimGrade
    recorded: Verdict | None
    history: list[Verdict]
    rationales: dict[int, list[dict[str, Any]]]  # pmid -> rationale sentences with offsets
    abstracts: dict[int, str]
    flow: ClaimFlow | None = None

    @property
    def page(self) -> str:
        return f"claims/{slug(self.claim.id)}.html"

    @property
    def label(self) -> str:
        a = self.grade.assessment
        return verdict_label(a.verdict, a.lean)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(STANCES, 0)
        for e in self.grade.evidence:
            if e.stance in out:
                out[e.stance] += 1
        return out


@dataclass
class Report:
    title: str
    document_id: str | None
    document_hash: str | None
    document_text: str | None
    generated_at: dt.datetime
    refreshed_at: dt.datetime | None
    digest: dict[str, Any] | None
    provenance: Provenance
    claims: list[ClaimView] = field(default_factory=list)


def slug(value: str) -> str:
    """A file name from a claim id (ids are slugs already; this only guards the file system)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-") or "claim"


def _pick_document(session: Session, document_id: str | None) -> str | None:
    if document_id is not None:
        get_document(session, document_id)  # an unknown id is NotFound (exit 6)
        return document_id
    documents = list_documents(session)
    if len(documents) > 1:
        ids = ", ".join(d.id for d in documents)
        raise InputError(f"the database holds several documents ({ids}); choose one: --document ID")
    return documents[0].id if documents else None


def _refresh_state(conn: Connection) -> tuple[dt.datetime | None, dict[str, Any] | None]:
    """When the evidence was last refreshed (a refresh, else a PubMed search) and its digest."""
    refreshes: Table = RefreshRun.__table__  # type: ignore[attr-defined]
    ingests: Table = IngestRun.__table__  # type: ignore[attr-defined]
    row = conn.execute(
        select(refreshes.c.finished_at, refreshes.c.digest)
        .where(refreshes.c.status.in_(("succeeded", "nothing_new", "partial")))
        .order_by(refreshes.c.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return row.finished_at, json.loads(row.digest) if row.digest else None
    searched = conn.execute(
        select(func.max(ingests.c.finished_at)).where(
            ingests.c.kind == "search", ingests.c.status == "succeeded"
        )
    ).scalar()
    return searched, None


def _rationales(conn: Connection, claim_id: str) -> tuple[dict[int, list[Any]], dict[int, str]]:
    rows = conn.execute(
        text(
            "SELECT l.pmid, l.rationale, a.abstract FROM evidence_link l JOIN article a "
            f"ON a.pmid = l.pmid WHERE l.claim_id = :c AND {current_link('l')}"
        ),
        {"c": claim_id, **current_params()},
    ).all()
    rationales = {int(p): json.loads(r or "[]") for p, r, _ in rows}
    abstracts = {int(p): str(a or "") for p, _, a in rows}
    return rationales, abstracts


def collect(engine: Engine, document_id: str | None = None) -> Report:
    """Everything the report shows, read in one pass (no writes)."""
    with Session(engine) as session:
        chosen = _pick_document(session, document_id)
        text_, hash_, title = None, None, "Claims audit"
        if chosen is not None:
            document = get_document(session, chosen)
            version = current_text(session, document)
            text_, hash_ = version.text, version.content_hash
            title = document.title or document.id
        rows = claims_lib.list_claims(session, chosen)
        claims = [claims_lib.get_claim(session, row.id) for row in rows]
    with connect(engine) as conn:
        refreshed_at, digest = _refresh_state(conn)
        report = Report(
            title,
            chosen,
            hash_,
            text_,
            utcnow(),
            refreshed_at,
            digest,
            read_provenance(conn),
        )
        recorded = current_verdicts(conn)
        for claim, quotes, _ in claims:
            grade = assess_claim(conn, claim.id)
            history = verdict_history(conn, claim.id)
            rationales, abstracts = _rationales(conn, claim.id)
            report.claims.append(
                ClaimView(
                    claim,
                    quotes,
                    grade,
                    recorded.get(claim.id),
                    history,
                    rationales,
                    abstracts,
                    claim_flow(conn, claim.id),
                )  # fmt: skip
            )
    return report


# --- highlighting ----------------------------------------------------------------------------


def highlight(source: str, spans: Iterable[tuple[int, int, str | None]], css: str = "hl") -> Markup:
    """`source` escaped, with each (start, end, href) span marked (and linked when href).

    Overlapping spans are merged into the first: a quote inside another is still reachable from
    its claim page, and nested marks would confuse screen readers.
    """
    out: list[str] = []
    cursor = 0
    for start, end, href in sorted(spans):
        if start < cursor or not 0 <= start < end <= len(source):
            continue
        out.append(str(escape(source[cursor:start])))
        inner = str(escape(source[start:end]))
        if href:
            inner = f'<a href="{escape(href)}">{inner}</a>'
        out.append(f'<mark class="{css}">{inner}</mark>')
        cursor = end
    out.append(str(escape(source[cursor:])))
    return Markup("".join(out))


def paragraphs(markup: Markup) -> list[Markup]:
    """Split marked-up text into paragraphs at line breaks outside marks.

    Web articles saved as text put one paragraph (or heading, or list item) on each line, so
    every line break is a paragraph break; blank lines are dropped. A quote that spans a line
    break keeps its mark whole: the break inside it stays in that paragraph.
    """
    out: list[str] = []
    depth = 0
    current: list[str] = []
    for piece in re.split(r"(<mark\b[^>]*>|</mark>|\n)", str(markup)):
        if piece.startswith("<mark"):
            depth += 1
        elif piece == "</mark>":
            depth -= 1
        elif piece == "\n" and depth == 0:
            out.append("".join(current))
            current = []
            continue
        current.append(piece)
    out.append("".join(current))
    return [Markup(p.strip()) for p in out if p.strip()]


# --- the evidence map --------------------------------------------------------------------------


def evidence_map_svg(claims: Sequence[ClaimView]) -> Markup:
    """Claims x stance counts as horizontal stacked bars, inline SVG (no script, no font)."""
    row, label_w, bar_w = 22, 330, 360
    most = max([sum(c.counts.values()) for c in claims] + [1])
    height = row * len(claims) + 30
    # Room for the longest verdict label after a full bar ("insufficient (leans support)"),
    # at about 7.5 px a character of the 12 px label font.
    tail = 12 + int(7.5 * max([len(c.label) for c in claims] + [10]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {label_w + bar_w + tail}'
        f' {height}" width="100%" aria-labelledby="map-title">',
        '<title id="map-title">Evidence map: linked studies per claim by stance</title>',
    ]
    for i, view in enumerate(claims):
        y = 20 + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" class="label">'
            f"{escape(view.claim.id)}</text>"
        )
        x = float(label_w)
        for stance in STANCES:
            n = view.counts[stance]
            if not n:
                continue
            w = bar_w * n / most
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
                f'class="{stance}"><title>{escape(view.claim.id)}: {n} {stance}</title></rect>'
            )
            x += w
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 14}" class="label">{escape(view.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# --- writing --------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("evidence.outputs", "templates/report"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(grading_version=GRADING_VERSION, stances=STANCES)
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else "never"
    return env


def _article_markup(report: Report) -> list[Markup]:
    if report.document_text is None:
        return []
    spans = [
        (q.start_offset, q.end_offset, view.page)
        for view in report.claims
        for q in view.quotes
        if q.status == "verified"
    ]
    return paragraphs(highlight(report.document_text, spans, css="quote"))


def _abstract_markup(view: ClaimView, pmid: int) -> Markup:
    spans = [
        (int(s["start"]), int(s["end"]), None)
        for s in view.rationales.get(pmid, [])
        if s.get("section") != "TITLE"
    ]
    return highlight(view.abstracts.get(pmid, ""), spans, css="rationale")


def write_site(report: Report, out_dir: Path) -> Path:
    """Write the site into `out_dir` (replacing a previous report there); returns index.html."""
    env = _environment()
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists() and not (out_dir / "index.html").is_file():
        if any(out_dir.iterdir()):
            raise InputError(
                f"{out_dir} exists and is not an evidence report; choose an empty or new directory"
            )
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out_dir.parent))
    try:
        (staging / "claims").mkdir()
        common = {"report": report}
        pages = {
            "index.html": env.get_template("index.html.j2").render(
                **common, chart=evidence_map_svg(report.claims)
            ),
            "article.html": env.get_template("article.html.j2").render(
                **common, paragraphs=_article_markup(report)
            ),
            "changes.html": env.get_template("changes.html.j2").render(**common),
        }
        claim_template = env.get_template("claim.html.j2")
        for view in report.claims:
            abstracts = {e.pmid: _abstract_markup(view, e.pmid) for e in view.grade.evidence}
            flow = flow_svg(view.flow) if view.flow is not None else None
            pages[view.page] = claim_template.render(
                **common, view=view, abstracts=abstracts, flow=flow
            )
        for name, html in pages.items():
            (staging / name).write_text(html, encoding="utf-8")
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=".report-old-", dir=out_dir.parent))
            os.replace(out_dir, old / "site")
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / "index.html"
