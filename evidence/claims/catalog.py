"""Claims: canonical statements with a type, verified quotes and a saved PubMed query.

Two inputs, one path into the database:

- a **catalog** (TOML): a `[document]` table and `[[claim]]` entries whose quotes are located
  in the document's text, each with one `query` (a direct search) or several
  `[[claim.search]]` entries with a role and an intent (see README "Claim catalogs");
- a **claim set** (JSONL or CSV: `id`, `text`, optional `query`, `type`, `notes`) with no
  document, for analysts.

`parse_catalog` and `parse_claim_file` are pure: they read the files and check everything that
can be checked without the database, collecting every problem, and raise one `ClaimFileError`
(exit 2) before anything is written. `save_claims` then checks the few things only the database
knows (an id already owned by another document) before its first write, and writes everything
in the caller's transaction. Loading the same file twice changes nothing; a changed claim is
updated in place and its previous state is kept in `claim_revision`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from evidence.claims.documents import (
    AddResult,
    add_document,
    check_slug,
    claim_quotes,
    claim_snapshot,
    locate_quote,
    read_text,
    record_revision,
    slugify,
)
from evidence.claims.searches import SEARCH_ROLES, SavedSearch
from evidence.clock import utcnow
from evidence.errors import ClaimFileError, ClaimNotFound, InputError
from evidence.store.db import batched
from evidence.store.models import Claim, ClaimQuote, ClaimRevision, ClaimSearch
from evidence.vocab import CLAIM_TYPES

#: What each claim type means (README "Claim types" repeats this).
CLAIM_TYPE_HELP = {
    "mechanistic": "how something acts: receptors, pathways, pharmacology",
    "clinical": "an effect or outcome in people: efficacy, symptom relief, drug effects",
    "safety": "harms: adverse effects, toxicity, dependence",
    "prevalence": "how common something is: use patterns, reasons for use",
    "comparative": "one thing set against another (kratom vs coffee, vs medications)",
    "definitional": "what something is or is called",
    "botanical": "plant identity, taxonomy and constituents",
}
assert set(CLAIM_TYPE_HELP) == set(CLAIM_TYPES)

CATALOG_KEYS = {"document", "claim"}
DOCUMENT_KEYS = {"path", "id", "title", "url"}
CLAIM_KEYS = {"id", "statement", "type", "quotes", "query", "search", "notes"}
SEARCH_KEYS = {"role", "query", "intent", "statement"}
QUOTE_KEYS = {"text", "occurrence"}
ROW_KEYS = {"id", "text", "query", "type", "notes"}


@dataclass(frozen=True)
class QuoteSpec:
    text: str
    occurrence: int
    start: int
    end: int


@dataclass(frozen=True)
class ClaimSpec:
    id: str
    statement: str
    claim_type: str | None
    query: str | None
    notes: str | None
    quotes: tuple[QuoteSpec, ...]
    where: str  # "file:line", for messages
    #: Every saved search, in order; `query` is the first direct one.
    searches: tuple[SavedSearch, ...] = ()


@dataclass(frozen=True)
class DocumentSpec:
    id: str
    title: str | None
    url: str | None
    path: Path
    text: str


@dataclass(frozen=True)
class ClaimSet:
    source: str  # catalog | import
    file: Path
    document: DocumentSpec | None
    claims: tuple[ClaimSpec, ...]


def _short(text: str, limit: int = 60) -> str:
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


def check_query(query: str) -> str | None:
    """None if the PubMed query looks well formed, else the problem (cheap syntax checks)."""
    if query.count('"') % 2:
        return "query has an unbalanced double quote"
    depth = 0
    for char in re.sub(r'"[^"]*"', "", query):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return "query has a ')' without its '('"
    if depth:
        return "query has a '(' without its ')'"
    return None


class _Problems:
    """Collects problems as `where: claim ID: what` lines."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, claim: str | None, what: str) -> None:
        self.items.append(f"{where}: claim {claim}: {what}" if claim else f"{where}: {what}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ClaimFileError(self.items)


def _optional_str(
    entry: Mapping[str, Any], key: str, where: str, cid: str | None, problems: _Problems
) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(where, cid, f"field {key!r} must be a string")
        return None
    return value.strip() or None


def _check_claim_fields(
    entry: Mapping[str, Any],
    where: str,
    problems: _Problems,
    *,
    statement_key: str,
    type_required: bool,
    query_required: bool,
    seen: dict[str, str],
) -> tuple[str, str, str | None, str | None, str | None] | None:
    """Validate the fields common to catalogs and claim sets; None if the claim is unusable."""
    raw_id = entry.get("id")
    if raw_id is None or raw_id == "":
        problems.add(where, None, "claim without an 'id'; give every claim a unique id")
        return None
    if not isinstance(raw_id, str):
        problems.add(where, None, f"claim id {raw_id!r} must be a string")
        return None
    cid = raw_id.strip()
    ok = True
    slug_problem = check_slug(cid, "id")
    if slug_problem:
        problems.add(where, cid, slug_problem)
        ok = False
    if cid in seen:
        problems.add(where, cid, f"duplicate claim id (first defined at {seen[cid]})")
        ok = False
    else:
        seen[cid] = where
    statement = _optional_str(entry, statement_key, where, cid, problems)
    if statement is None:
        problems.add(where, cid, f"missing {statement_key!r} (the claim's canonical statement)")
        ok = False
    claim_type = _optional_str(entry, "type", where, cid, problems)
    if claim_type is None and type_required:
        problems.add(where, cid, f"missing 'type'; one of: {', '.join(CLAIM_TYPES)}")
        ok = False
    elif claim_type is not None and claim_type not in CLAIM_TYPES:
        problems.add(where, cid, f"unknown type {claim_type!r}; one of: {', '.join(CLAIM_TYPES)}")
        ok = False
    query = entry.get("query")
    if query is not None and not isinstance(query, str):
        problems.add(where, cid, "field 'query' must be a string")
        ok = False
    elif query is not None and not query.strip():
        problems.add(where, cid, "empty query; give a PubMed query or leave the field out")
        ok = False
    elif query is None and query_required:
        problems.add(where, cid, "missing 'query' (the saved PubMed search for this claim)")
        ok = False
    elif query is not None:
        query_problem = check_query(query)
        if query_problem:
            problems.add(where, cid, query_problem)
            ok = False
    notes = _optional_str(entry, "notes", where, cid, problems)
    if not ok or statement is None:
        return None
    return cid, statement, claim_type, (query.strip() if query else None), notes


# --- catalogs (TOML) -------------------------------------------------------------------------

_CLAIM_HEADER = re.compile(r"^\s*\[\[\s*claim\s*\]\]")


def _claim_lines(source: str) -> list[int]:
    """Line numbers of the `[[claim]]` headers, in order (tomllib does not report positions)."""
    return [n for n, line in enumerate(source.splitlines(), 1) if _CLAIM_HEADER.match(line)]


def _parse_quotes(
    raw: Any, text: str, document_id: str, where: str, cid: str, problems: _Problems
) -> tuple[QuoteSpec, ...] | None:
    if not isinstance(raw, list) or not raw:
        problems.add(where, cid, "missing 'quotes': a list of exact quotes from the document")
        return None
    quotes = []
    for n, item in enumerate(raw, 1):
        occurrence: Any = 1
        if isinstance(item, dict):
            unknown = set(item) - QUOTE_KEYS
            if unknown:
                problems.add(where, cid, f"quote {n}: unknown key(s) {', '.join(sorted(unknown))}")
                return None
            quote, occurrence = item.get("text"), item.get("occurrence", 1)
        else:
            quote = item
        if not isinstance(quote, str) or not quote.strip():
            problems.add(where, cid, f"quote {n} is empty or not a string")
            return None
        if not isinstance(occurrence, int) or isinstance(occurrence, bool) or occurrence < 1:
            problems.add(where, cid, f"quote {n}: 'occurrence' must be a whole number ≥ 1")
            return None
        span = locate_quote(text, quote, occurrence)
        if span is None:
            count = text.count(quote)
            if count:
                problems.add(
                    where,
                    cid,
                    f"quote {n} occurs {count} time(s) in document "
                    f"{document_id}, not {occurrence}: {_short(quote)}",
                )
            else:
                problems.add(
                    where,
                    cid,
                    f"quote {n} not found in document {document_id}: "
                    f"{_short(quote)}; copy it exactly (curly quotes and dashes count)",
                )
            return None
        quotes.append(QuoteSpec(quote, occurrence, *span))
    return tuple(quotes)


def _single(query: str | None) -> tuple[SavedSearch, ...]:
    """The original format's one query: the claim's one direct search."""
    return (SavedSearch("direct", query),) if query else ()


def _parse_searches(
    entry: Mapping[str, Any], where: str, cid: str, problems: _Problems
) -> tuple[SavedSearch, ...] | None:
    """A claim's searches: its `query` (one direct search) or its `[[claim.search]]` entries."""
    raw = entry.get("search")
    if raw is None:
        query = entry.get("query")
        return _single(query.strip() if isinstance(query, str) else None)
    if "query" in entry:
        problems.add(
            where, cid, "give either 'query' (one direct search) or [[claim.search]] entries"
        )
        return None
    if not isinstance(raw, list) or not raw:
        problems.add(where, cid, "'search' must be [[claim.search]] tables with role and query")
        return None
    searches: list[SavedSearch] = []
    ok = True
    for n, item in enumerate(raw, 1):
        what = f"search {n}"
        if not isinstance(item, dict):
            problems.add(where, cid, f"{what} must be a table with role, query and intent")
            ok = False
            continue
        unknown = set(item) - SEARCH_KEYS
        if unknown:
            problems.add(
                where,
                cid,
                f"{what}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"a search has {', '.join(sorted(SEARCH_KEYS))}",
            )
            ok = False
            continue
        role, query, intent = item.get("role"), item.get("query"), item.get("intent")
        if role not in SEARCH_ROLES:
            given = "missing role" if role is None else f"unknown role {role!r}"
            problems.add(where, cid, f"{what}: {given}; one of: {', '.join(SEARCH_ROLES)}")
            ok = False
            continue
        if not isinstance(query, str) or not query.strip():
            problems.add(where, cid, f"{what} ({role}): missing 'query' (a PubMed query)")
            ok = False
            continue
        query_problem = check_query(query)
        if query_problem:
            problems.add(where, cid, f"{what} ({role}): {query_problem}")
            ok = False
            continue
        if intent is not None and (not isinstance(intent, str) or "\n" in intent.strip()):
            problems.add(where, cid, f"{what} ({role}): 'intent' must be one line of text")
            ok = False
            continue
        statement = item.get("statement")
        if statement is not None and (
            role != "counter" or not isinstance(statement, str) or "\n" in statement.strip()
        ):
            problems.add(
                where, cid, f"{what} ({role}): 'statement' is one line, on a counter search only"
            )
            ok = False
            continue
        normal = " ".join(query.split())
        if any(" ".join(s.query.split()) == normal for s in searches):
            problems.add(where, cid, f"{what} ({role}) repeats an earlier search's query")
            ok = False
            continue
        searches.append(
            SavedSearch(
                role,
                query.strip(),
                (intent or "").strip() or None,
                (statement or "").strip() or None,
            )
        )
    if ok and not any(s.role == "direct" for s in searches):
        problems.add(where, cid, "no direct search; a claim needs one that finds evidence about it")
        ok = False
    return tuple(searches) if ok else None


def parse_catalog(path: Path) -> ClaimSet:
    """Read and fully validate a TOML claim catalog and its document; nothing is written."""
    source = read_text(path)
    name = path.name
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: not valid TOML: {exc}") from None
    problems = _Problems()
    unknown = set(data) - CATALOG_KEYS
    if unknown:
        problems.add(
            name,
            None,
            f"unknown top-level key(s) {', '.join(sorted(unknown))}; "
            "a catalog has a [document] table and [[claim]] entries",
        )
    doc = data.get("document")
    if not isinstance(doc, dict) or not isinstance(doc.get("path"), str):
        problems.add(name, None, "missing [document] table with a 'path' to the document text")
        problems.raise_if_any()
    assert isinstance(doc, dict)
    bad = set(doc) - DOCUMENT_KEYS
    if bad:
        problems.add(name, None, f"[document]: unknown key(s) {', '.join(sorted(bad))}")
    doc_path = (path.parent / doc["path"]).resolve()
    text = read_text(doc_path)
    doc_id = doc.get("id") or slugify(doc_path.name)
    slug_problem = check_slug(str(doc_id), "document id")
    if slug_problem:
        problems.add(name, None, f"[document]: {slug_problem}")
    title, url = doc.get("title"), doc.get("url")
    entries = data.get("claim")
    if not isinstance(entries, list) or not entries:
        problems.add(name, None, "no [[claim]] entries")
        problems.raise_if_any()
    assert isinstance(entries, list)
    lines = _claim_lines(source)
    if len(lines) != len(entries):  # claims written another way (inline array): no line numbers
        lines = []
    seen: dict[str, str] = {}
    claims = []
    for n, entry in enumerate(entries):
        where = f"{name}:{lines[n]}" if lines else f"{name} claim #{n + 1}"
        if not isinstance(entry, dict):
            problems.add(where, None, "a [[claim]] entry must be a table")
            continue
        has_searches = "search" in entry
        fields = _check_claim_fields(
            entry,
            where,
            problems,
            statement_key="statement",
            type_required=True,
            query_required=not has_searches,
            seen=seen,
        )
        cid = entry.get("id") if isinstance(entry.get("id"), str) else None
        searches = _parse_searches(entry, where, cid or "?", problems)
        bad = set(entry) - CLAIM_KEYS
        if bad:
            problems.add(
                where,
                cid,
                f"unknown key(s) {', '.join(sorted(bad))}; "
                f"a claim has {', '.join(sorted(CLAIM_KEYS))}",
            )
            continue
        quotes = _parse_quotes(entry.get("quotes"), text, str(doc_id), where, cid or "?", problems)
        if fields is None or quotes is None or searches is None:
            continue
        if has_searches:  # claim.query: the first direct search
            fields = (*fields[:3], next(s.query for s in searches if s.role == "direct"), fields[4])
        claims.append(ClaimSpec(*fields, quotes=quotes, where=where, searches=searches))
    problems.raise_if_any()
    document = DocumentSpec(
        str(doc_id),
        title if isinstance(title, str) else None,
        url if isinstance(url, str) else None,
        doc_path,
        text,
    )
    return ClaimSet("catalog", path, document, tuple(claims))


# --- claim sets (JSONL, CSV) -------------------------------------------------------------------


def _jsonl_rows(name: str, text: str, problems: _Problems) -> Iterable[tuple[str, Any]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{name}:{n}", json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(f"{name}:{n}", None, f"not valid JSON ({exc.msg}, column {exc.colno})")


def _csv_rows(name: str, text: str, problems: _Problems) -> Iterable[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = {"id", "text"} - set(header)
    unknown = set(header) - ROW_KEYS
    if missing or unknown:
        what = []
        if missing:
            what.append(f"missing column(s) {', '.join(sorted(missing))}")
        if unknown:
            what.append(f"unknown column(s) {', '.join(sorted(unknown))}")
        problems.add(
            f"{name}:1", None, "; ".join(what) + f" (columns: {', '.join(sorted(ROW_KEYS))})"
        )
        return
    for row in reader:
        if None in row:  # more cells than header columns
            problems.add(f"{name}:{reader.line_num}", row.get("id"), "more cells than columns")
            continue
        # An empty CSV cell means "not given"; JSONL can say "" explicitly, and that is an error.
        yield f"{name}:{reader.line_num}", {k: v for k, v in row.items() if v not in ("", None)}


def parse_claim_file(path: Path) -> ClaimSet:
    """Read and fully validate a JSONL or CSV claim set (no document); nothing is written."""
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".ndjson", ".csv"}:
        raise InputError(f"{path.name}: expected a .jsonl or .csv claim file")
    text = read_text(path).removeprefix("\ufeff")  # spreadsheets write a BOM
    problems = _Problems()
    rows = _csv_rows if suffix == ".csv" else _jsonl_rows
    seen: dict[str, str] = {}
    claims = []
    for where, row in rows(path.name, text, problems):
        if not isinstance(row, dict):
            problems.add(where, None, "each line must be a JSON object")
            continue
        fields = _check_claim_fields(
            row,
            where,
            problems,
            statement_key="text",
            type_required=False,
            query_required=False,
            seen=seen,
        )
        bad = set(row) - ROW_KEYS
        if bad:
            problems.add(
                where,
                row.get("id") if isinstance(row.get("id"), str) else None,
                f"unknown field(s) {', '.join(sorted(bad))}",
            )
            continue
        if fields is not None:
            claims.append(ClaimSpec(*fields, quotes=(), where=where, searches=_single(fields[3])))
    if not claims and not problems.items:
        problems.add(path.name, None, "no claims in the file")
    problems.raise_if_any()
    return ClaimSet("import", path, None, tuple(claims))


# --- writing -----------------------------------------------------------------------------------


@dataclass
class LoadReport:
    file: str
    document: AddResult | None
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)  # the document's other claims

    def summary(self) -> str:
        line = (
            f"claims from {self.file}: {len(self.new)} new, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )
        if self.updated:
            line += f" (updated: {', '.join(self.updated)})"
        return line


def _claim_row(spec: ClaimSpec, document_id: str | None, **fields: Any) -> Claim:
    """The `claim` row `spec` describes (`fields`: source, revision and times)."""
    return Claim(
        id=spec.id,
        document_id=document_id,
        statement=spec.statement,
        claim_type=spec.claim_type,
        query=spec.query,
        notes=spec.notes,
        **fields,
    )


def _desired_state(
    spec: ClaimSpec, claim: Claim, document_id: str | None, version: int | None, now: dt.datetime
) -> dict[str, Any]:
    """The snapshot `claim` would have once `spec` is saved (as `claim_snapshot` writes it)."""
    wanted = _claim_row(
        spec, document_id, revision=claim.revision, created_at=claim.created_at, updated_at=now
    )
    quotes = [
        ClaimQuote(
            claim_id=spec.id,
            position=position,
            quote=q.text,
            occurrence=q.occurrence,
            start_offset=q.start,
            end_offset=q.end,
            document_version=version or 0,  # as `_write_quotes` stores it
            checked_at=now,
        )
        for position, q in enumerate(spec.quotes, 1)
    ]
    return claim_snapshot(wanted, quotes, spec.searches)


def save_claims(
    session: Session, claim_set: ClaimSet, *, now: dt.datetime | None = None
) -> LoadReport:
    """Write a validated claim set in the caller's transaction (does not commit)."""
    now = now or utcnow()
    doc = claim_set.document
    document_id = doc.id if doc else None
    ids = [spec.id for spec in claim_set.claims]
    existing: dict[str, Claim] = {}
    for chunk in batched(ids):
        stmt = select(Claim).where(col(Claim.id).in_(chunk))
        existing.update((c.id, c) for c in session.execute(stmt).scalars())
    # The one check that needs the database, done before the first write.
    problems = _Problems()
    for spec in claim_set.claims:
        claim = existing.get(spec.id)
        if claim is not None and claim.document_id != document_id:
            owner = (
                f"document {claim.document_id}" if claim.document_id else "an imported claim set"
            )
            problems.add(
                spec.where,
                spec.id,
                f"id already belongs to {owner}; claim ids are "
                "unique across documents, rename this one",
            )
    problems.raise_if_any()

    doc_result = None
    version = None
    if doc is not None:
        doc_result = add_document(
            session,
            doc.id,
            doc.text,
            title=doc.title,
            url=doc.url,
            source_path=str(doc.path),
            now=now,
        )
        version = doc_result.version
    report = LoadReport(claim_set.file.name, doc_result)
    for spec in claim_set.claims:
        claim = existing.get(spec.id)
        if claim is None:
            session.add(
                _claim_row(
                    spec, document_id, source=claim_set.source, created_at=now, updated_at=now
                )
            )
            session.flush()  # the claim row before its quotes (FKs are checked per statement)
            _write_quotes(session, spec, [], version, now)
            _write_searches(session, spec, [])
            report.new.append(spec.id)
            continue
        quotes = claim_quotes(session, spec.id)
        searches = claim_search_rows(session, spec.id)
        before = claim_snapshot(claim, quotes, searches)
        desired = _desired_state(spec, claim, document_id, version, now)
        changed = [key for key in desired if before[key] != desired[key]]
        if not changed:
            report.unchanged.append(spec.id)
            continue
        record_revision(session, claim, before, changed, f"loaded from {claim_set.file.name}", now)
        claim.statement, claim.claim_type = spec.statement, spec.claim_type
        claim.query, claim.notes = spec.query, spec.notes
        _write_quotes(session, spec, quotes, version, now)
        _write_searches(session, spec, searches)
        report.updated.append(spec.id)
    if document_id is not None:
        held = select(col(Claim.id)).where(col(Claim.document_id) == document_id)
        report.not_in_file = sorted(set(session.execute(held).scalars()) - set(ids))
    session.flush()
    return report


def _write_quotes(
    session: Session, spec: ClaimSpec, old: list[ClaimQuote], version: int | None, now: dt.datetime
) -> None:
    """Make the claim's quote rows match `spec`, updating rows in place by position."""
    for position, q in enumerate(spec.quotes, 1):
        row = old[position - 1] if position <= len(old) else None
        if row is None:
            row = ClaimQuote(
                claim_id=spec.id,
                position=position,
                quote=q.text,
                start_offset=q.start,
                end_offset=q.end,
                document_version=version or 0,
                checked_at=now,
            )
            session.add(row)
        row.quote, row.occurrence = q.text, q.occurrence
        row.start_offset, row.end_offset = q.start, q.end
        row.document_version = version or 0
        row.status, row.status_reason, row.checked_at = "verified", None, now
    for row in old[len(spec.quotes) :]:
        session.delete(row)


def claim_search_rows(session: Session, claim_id: str) -> list[ClaimSearch]:
    """The claim's saved searches, in order."""
    stmt = (
        select(ClaimSearch)
        .where(col(ClaimSearch.claim_id) == claim_id)
        .order_by(col(ClaimSearch.position))
    )
    return list(session.execute(stmt).scalars())


def _write_searches(session: Session, spec: ClaimSpec, old: list[ClaimSearch]) -> None:
    """Make the claim's search rows match `spec`, updating rows in place by position."""
    for position, s in enumerate(spec.searches, 1):
        row = old[position - 1] if position <= len(old) else None
        if row is None:
            row = ClaimSearch(claim_id=spec.id, position=position, role=s.role, query=s.query)
            session.add(row)
        row.role, row.query, row.intent, row.statement = s.role, s.query, s.intent, s.statement
    for row in old[len(spec.searches) :]:
        session.delete(row)


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRow:
    id: str
    document_id: str | None
    claim_type: str | None
    statement: str
    status: str  # verified | needs_review | no_quotes
    n_quotes: int


def list_claims(session: Session, document_id: str | None = None) -> list[ClaimRow]:
    """Claims (optionally of one document), by id, with their review status."""
    stmt = select(Claim).order_by(col(Claim.id))
    if document_id is not None:
        stmt = stmt.where(col(Claim.document_id) == document_id)
    claims = list(session.execute(stmt).scalars())
    statuses: dict[str, list[str]] = {}
    for chunk in batched([c.id for c in claims]):
        rows = session.execute(
            select(col(ClaimQuote.claim_id), col(ClaimQuote.status)).where(
                col(ClaimQuote.claim_id).in_(chunk)
            )
        ).all()
        for claim_id, status in rows:
            statuses.setdefault(claim_id, []).append(status)
    out = []
    for c in claims:
        quote_statuses = statuses.get(c.id, [])
        if not quote_statuses:
            status = "no_quotes"
        elif "needs_review" in quote_statuses:
            status = "needs_review"
        else:
            status = "verified"
        out.append(
            ClaimRow(c.id, c.document_id, c.claim_type, c.statement, status, len(quote_statuses))
        )
    return out


def get_claim(
    session: Session, claim_id: str
) -> tuple[Claim, list[ClaimQuote], list[ClaimRevision]]:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise ClaimNotFound(f"no claim {claim_id!r}; see: evidence claims list")
    stmt = (
        select(ClaimRevision)
        .where(col(ClaimRevision.claim_id) == claim_id)
        .order_by(col(ClaimRevision.revision))
    )
    return claim, claim_quotes(session, claim_id), list(session.execute(stmt).scalars())
