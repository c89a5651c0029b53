"""Documents that make claims: their texts, content hashes and versions.

A document is identified by a slug (`kratom-withdrawal-article`), by default made from its
file name. Adding the same text again changes nothing; a different text becomes the next
`document_version`, and every quote of the document's claims is checked against the new text:
a quote still found (at the same occurrence) gets its new offsets, one that is not is marked
`needs_review` with the reason. A claim is never silently kept as verified against a text that
no longer contains its quote.

Reading and validating (`read_text`, `slugify`, `locate_quote`) is pure; `add_document` and the
query helpers take a `Session` and never commit: the caller owns the transaction, so a claim
catalog can register its document and its claims in one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlmodel import Session, col

from evidence.clock import utcnow
from evidence.errors import DocumentNotFound, InputError
from evidence.store.models import Claim, ClaimQuote, ClaimRevision, Document, DocumentVersion

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
SLUG_HELP = "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, ≤ 100"


def content_hash(text: str) -> str:
    """sha256 (hex) of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slugify(name: str) -> str:
    """A document id from a file name: `Kratom Article.txt` -> `kratom-article`."""
    stem = Path(name).stem.lower()
    slug = re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-._")
    return slug[:100] or "document"


def check_slug(value: str, what: str) -> str | None:
    """None if `value` is a usable id, else the problem in words."""
    if not SLUG_RE.match(value):
        return f"{what} {value!r} is not a valid id ({SLUG_HELP})"
    return None


def read_text(path: Path) -> str:
    """The file's text, strictly UTF-8; `InputError` (exit 2) if it is not text we can keep."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a text file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"convert it first, e.g. iconv -f WINDOWS-1252 -t UTF-8 {path.name} > utf8.txt"
        ) from None
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and a NUL means this is not a text document anyway.
        raise InputError(f"{path}: contains NUL bytes, not a text document")
    if not text.strip():
        raise InputError(f"{path}: is empty; a document needs text to quote from")
    return text


def locate_quote(text: str, quote: str, occurrence: int = 1) -> tuple[int, int] | None:
    """(start, end) of the `occurrence`-th (1-based) exact occurrence of `quote`, or None.

    Matching is exact, code point for code point: curly quotes, dashes and spacing count.
    """
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            return None
    return start, start + len(quote)


@dataclass
class AddResult:
    document_id: str
    outcome: str  # new | unchanged | new_version
    version: int
    content_hash: str
    chars: int
    metadata_changed: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)  # claim ids now needing review
    moved: list[str] = field(default_factory=list)  # claim ids whose offsets moved

    def summary(self) -> str:
        short = self.content_hash[:12]
        if self.outcome == "new":
            return (
                f"added document {self.document_id} version 1 "
                f"({self.chars} characters, sha256 {short})"
            )
        if self.outcome == "unchanged":
            line = (
                f"document {self.document_id} unchanged: version {self.version} already has "
                f"this text (sha256 {short})"
            )
            if self.metadata_changed:
                line += f"; updated {', '.join(self.metadata_changed)}"
            return line
        line = (
            f"document {self.document_id}: new version {self.version} "
            f"({self.chars} characters, sha256 {short})"
        )
        if self.flagged:
            line += (
                f"; {len(self.flagged)} claim(s) flagged for review "
                f"(quote no longer in the text): {', '.join(self.flagged)}"
            )
        else:
            line += "; every claim quote still matches"
        return line


def get_document(session: Session, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound(
            f"no document {document_id!r}; see: evidence docs list, or add it: "
            "evidence docs add PATH --id ID"
        )
    return document


def current_text(session: Session, document: Document) -> DocumentVersion:
    stmt = select(DocumentVersion).where(
        col(DocumentVersion.document_id) == document.id,
        col(DocumentVersion.version) == document.current_version,
    )
    row: DocumentVersion = session.execute(stmt).scalar_one()
    return row


def add_document(
    session: Session,
    document_id: str,
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    source_path: str | None = None,
    now: dt.datetime | None = None,
) -> AddResult:
    """Register `text` as the document's current text (no-op if it already is).

    Does not commit. A changed text re-checks every quote of the document's claims.
    """
    problem = check_slug(document_id, "document id")
    if problem:
        raise InputError(f"{problem}; choose one with --id")
    now = now or utcnow()
    digest = content_hash(text)
    document = session.get(Document, document_id)
    if document is None:
        session.add(
            Document(
                id=document_id,
                title=title,
                url=url,
                current_version=1,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()  # the parent row first: PostgreSQL checks the FK per statement
        session.add(
            DocumentVersion(
                document_id=document_id,
                version=1,
                content_hash=digest,
                text=text,
                source_path=source_path,
                added_at=now,
            )
        )
        session.flush()
        return AddResult(document_id, "new", 1, digest, len(text))
    changed_meta = []
    # Only a value the caller gave replaces a stored one: re-adding without --title keeps it.
    if title is not None and title != document.title:
        document.title = title
        changed_meta.append("title")
    if url is not None and url != document.url:
        document.url = url
        changed_meta.append("url")
    current = current_text(session, document)
    if current.content_hash == digest:
        if changed_meta:
            document.updated_at = now
            session.flush()
        return AddResult(
            document_id,
            "unchanged",
            document.current_version,
            digest,
            len(text),
            metadata_changed=changed_meta,
        )
    version = document.current_version + 1
    session.add(
        DocumentVersion(
            document_id=document_id,
            version=version,
            content_hash=digest,
            text=text,
            source_path=source_path,
            added_at=now,
        )
    )
    document.current_version = version
    document.updated_at = now
    session.flush()
    flagged, moved = recheck_quotes(session, document_id, version, text, now=now)
    return AddResult(
        document_id,
        "new_version",
        version,
        digest,
        len(text),
        metadata_changed=changed_meta,
        flagged=flagged,
        moved=moved,
    )


class _Search(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def intent(self) -> str | None: ...
    @property
    def statement(self) -> str | None: ...


def claim_snapshot(
    claim: Claim, quotes: list[ClaimQuote], searches: Sequence[_Search] | None = None
) -> dict[str, object]:
    """The claim's state as plain data (stored as JSON in `claim_revision`); with `searches`,
    its saved searches too (the catalog compares them to see whether a claim changed)."""
    snapshot: dict[str, object] = {
        "id": claim.id,
        "document_id": claim.document_id,
        "statement": claim.statement,
        "type": claim.claim_type,
        "query": claim.query,
        "notes": claim.notes,
        "revision": claim.revision,
        "quotes": [
            {
                "quote": q.quote,
                "occurrence": q.occurrence,
                "start": q.start_offset,
                "end": q.end_offset,
                "document_version": q.document_version,
                "status": q.status,
                "status_reason": q.status_reason,
            }
            for q in quotes
        ],
    }
    if searches is not None:
        snapshot["searches"] = [
            {"role": s.role, "query": s.query, "intent": s.intent, "statement": s.statement}
            for s in searches
        ]
    return snapshot


def claim_quotes(session: Session, claim_id: str) -> list[ClaimQuote]:
    stmt = (
        select(ClaimQuote)
        .where(col(ClaimQuote.claim_id) == claim_id)
        .order_by(col(ClaimQuote.position))
    )
    return list(session.execute(stmt).scalars())


def record_revision(
    session: Session,
    claim: Claim,
    before: dict[str, object],
    changed: list[str],
    reason: str,
    now: dt.datetime,
) -> None:
    """Keep the superseded state and bump the claim's revision."""
    session.add(
        ClaimRevision(
            claim_id=claim.id,
            revision=claim.revision,
            changed=",".join(changed),
            reason=reason,
            snapshot=json.dumps(before, ensure_ascii=False),
            recorded_at=now,
        )
    )
    claim.revision += 1
    claim.updated_at = now


def recheck_quotes(
    session: Session, document_id: str, version: int, text: str, *, now: dt.datetime
) -> tuple[list[str], list[str]]:
    """Check every quote of the document's claims against its new text.

    Returns (claim ids flagged for review, claim ids whose quotes moved but still match).
    """
    flagged: list[str] = []
    moved: list[str] = []
    claims = session.execute(
        select(Claim).where(col(Claim.document_id) == document_id).order_by(col(Claim.id))
    ).scalars()
    for claim in claims:
        quotes = claim_quotes(session, claim.id)
        before = claim_snapshot(claim, quotes)
        lost = []
        shifted = False
        for q in quotes:
            span = locate_quote(text, q.quote, q.occurrence)
            q.checked_at = now
            if span is None:
                if q.status != "needs_review":
                    lost.append(q.position)
                q.status = "needs_review"
                q.status_reason = (
                    f"quote not found in version {version} of document {document_id} "
                    f"(offsets are from version {q.document_version})"
                )
                continue
            if (q.start_offset, q.end_offset) != span or q.status != "verified":
                shifted = True
            q.start_offset, q.end_offset = span
            q.document_version = version
            q.status, q.status_reason = "verified", None
        if lost:
            flagged.append(claim.id)
            positions = ", ".join(str(p) for p in lost)
            record_revision(
                session,
                claim,
                before,
                ["quotes"],
                f"document {document_id} version {version}: quote(s) {positions} "
                "not found; flagged for review",
                now,
            )
        elif shifted:
            moved.append(claim.id)
            record_revision(
                session,
                claim,
                before,
                ["quotes"],
                f"document {document_id} version {version}: quotes re-verified at new offsets",
                now,
            )
    session.flush()
    return flagged, moved


@dataclass(frozen=True)
class DocumentSummary:
    id: str
    title: str | None
    url: str | None
    version: int
    content_hash: str
    chars: int
    claims: int
    needs_review: int


def list_documents(session: Session) -> list[DocumentSummary]:
    """Every document with its current version and claim counts, by id."""
    n_claims = dict(
        session.execute(
            select(col(Claim.document_id), func.count()).group_by(col(Claim.document_id))
        ).all()
    )
    flagged_rows = session.execute(
        select(col(Claim.document_id), func.count(func.distinct(col(Claim.id))))
        .join(ClaimQuote, col(ClaimQuote.claim_id) == col(Claim.id))
        .where(col(ClaimQuote.status) == "needs_review")
        .group_by(col(Claim.document_id))
    ).all()
    n_flagged = dict(flagged_rows)
    out = []
    docs = session.execute(select(Document).order_by(col(Document.id))).scalars()
    for document in docs:
        current = current_text(session, document)
        out.append(
            DocumentSummary(
                document.id,
                document.title,
                document.url,
                document.current_version,
                current.content_hash,
                len(current.text),
                n_claims.get(document.id, 0),
                n_flagged.get(document.id, 0),
            )
        )
    return out


def document_versions(session: Session, document_id: str) -> list[DocumentVersion]:
    stmt = (
        select(DocumentVersion)
        .where(col(DocumentVersion.document_id) == document_id)
        .order_by(col(DocumentVersion.version))
    )
    return list(session.execute(stmt).scalars())
