"""The tables. Importing this module registers them on `SQLModel.metadata` (Alembic reads it).

Articles are keyed by PMID. Their repeating parts (sections, authors, MeSH ...) are keyed by
(pmid, position) rather than surrogate ids: the bulk writer can then insert them without a
round trip for generated keys, and a revised record replaces them wholesale.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

import evidence.store.db  # noqa: F401  (sets the naming convention before any table exists)
from evidence.vocab import (
    CLAIM_TYPES,
    DECISIONS,
    SEARCH_ROLES,
    STANCES,
    USER_ROLES,
)

# On SQLite a PMID column is INTEGER, so that article.pmid is the rowid itself (a BIGINT
# primary key would get a rowid plus a separate index: twice the B-tree work per insert).
PMID = BigInteger().with_variant(Integer(), "sqlite")

# Child rows are clustered by (pmid, position) on SQLite: one B-tree instead of rowid + index.
CHILD_TABLE_ARGS = {"sqlite_with_rowid": False}


def _pmid_fk(*, primary_key: bool = True) -> Column[int]:
    return Column(
        "pmid",
        PMID,
        ForeignKey("article.pmid", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


class Article(SQLModel, table=True):
    """The latest known version of one PubMed record."""

    pmid: int = Field(sa_column=Column(PMID, primary_key=True, autoincrement=False))
    version: int = 1
    record_type: str = Field(default="article", max_length=16)  # article | book
    status: str | None = Field(default=None, max_length=40)  # MEDLINE, In-Process ...
    publication_status: str | None = Field(default=None, max_length=40)
    date_revised: dt.date | None = None
    date_completed: dt.date | None = None
    date_created: dt.date | None = None
    title: str = Field(default="", sa_type=Text)
    vernacular_title: str | None = Field(default=None, sa_type=Text)
    abstract: str = Field(default="", sa_type=Text)
    journal_title: str | None = Field(default=None, sa_type=Text)
    journal_iso: str | None = Field(default=None, sa_type=Text)
    issn: str | None = Field(default=None, max_length=20)
    volume: str | None = Field(default=None, sa_type=Text)
    issue: str | None = Field(default=None, sa_type=Text)
    pages: str | None = Field(default=None, sa_type=Text)
    pub_date: dt.date | None = None
    pub_date_raw: str | None = Field(default=None, sa_type=Text)
    pub_date_precision: str | None = Field(default=None, max_length=10)
    pub_year: int | None = Field(default=None, index=True)
    article_date: dt.date | None = None
    entrez_date: dt.date | None = Field(default=None, index=True)
    doi: str | None = Field(default=None, sa_type=Text, index=True)
    pmcid: str | None = Field(default=None, max_length=20)
    pii: str | None = Field(default=None, sa_type=Text)
    languages: str | None = Field(default=None, max_length=80)  # ISO 639-2 codes, ";"-joined
    pubmed_dates: str | None = Field(default=None, sa_type=Text)  # JSON {PubStatus: date}
    is_deleted: bool = Field(default=False)
    deleted_at: dt.datetime | None = None
    # sha256 of the parsed record: equal hash at equal version means re-ingest is a no-op.
    content_hash: str = Field(max_length=64)
    first_run_id: int | None = Field(default=None, foreign_key="ingest_run.id", ondelete="SET NULL")
    last_run_id: int | None = Field(default=None, foreign_key="ingest_run.id", ondelete="SET NULL")
    created_at: dt.datetime
    updated_at: dt.datetime


class AbstractSection(SQLModel, table=True):
    __tablename__ = "abstract_section"
    __table_args__ = CHILD_TABLE_ARGS

    pmid: int = Field(sa_column=_pmid_fk())
    position: int = Field(primary_key=True)
    label: str | None = Field(default=None, sa_type=Text)
    category: str | None = Field(default=None, max_length=20)
    text: str = Field(sa_type=Text)


class Author(SQLModel, table=True):
    __table_args__ = CHILD_TABLE_ARGS
    pmid: int = Field(sa_column=_pmid_fk())
    position: int = Field(primary_key=True)
    last_name: str | None = Field(default=None, sa_type=Text)
    fore_name: str | None = Field(default=None, sa_type=Text)
    initials: str | None = Field(default=None, max_length=20)
    collective_name: str | None = Field(default=None, sa_type=Text)
    affiliation: str | None = Field(default=None, sa_type=Text)
    orcid: str | None = Field(default=None, max_length=40)


class PublicationType(SQLModel, table=True):
    __tablename__ = "publication_type"
    __table_args__ = (Index("ix_publication_type_name", "name"), CHILD_TABLE_ARGS)

    pmid: int = Field(sa_column=_pmid_fk())
    position: int = Field(primary_key=True)
    name: str = Field(max_length=120)
    ui: str | None = Field(default=None, max_length=20)


class MeshHeading(SQLModel, table=True):
    __tablename__ = "mesh_heading"
    __table_args__ = (Index("ix_mesh_heading_descriptor", "descriptor"), CHILD_TABLE_ARGS)

    pmid: int = Field(sa_column=_pmid_fk())
    position: int = Field(primary_key=True)
    descriptor: str = Field(max_length=200)
    ui: str | None = Field(default=None, max_length=20)
    major: bool = False


class MeshQualifier(SQLModel, table=True):
    """A qualifier (subheading) of one MeSH heading: (pmid, heading_position) names the heading."""

    __tablename__ = "mesh_qualifier"
    __table_args__ = CHILD_TABLE_ARGS

    pmid: int = Field(sa_column=_pmid_fk())
    heading_position: int = Field(primary_key=True)
    position: int = Field(primary_key=True)
    name: str = Field(max_length=200)
    ui: str | None = Field(default=None, max_length=20)
    major: bool = False


class Keyword(SQLModel, table=True):
    __table_args__ = CHILD_TABLE_ARGS
    pmid: int = Field(sa_column=_pmid_fk())
    position: int = Field(primary_key=True)
    keyword: str = Field(sa_type=Text)
    major: bool = False
    owner: str | None = Field(default=None, max_length=40)


class CommentCorrection(SQLModel, table=True):
    """RetractionIn/Of, ErratumIn/For, ExpressionOfConcernIn/For, UpdateIn/Of, CommentOn ..."""

    __tablename__ = "comment_correction"
    __table_args__ = (Index("ix_comment_correction_ref_pmid", "ref_pmid"), CHILD_TABLE_ARGS)

    pmid: int = Field(sa_column=_pmid_fk())
    position: int = Field(primary_key=True)
    ref_type: str = Field(max_length=60, index=True)
    ref_pmid: int | None = Field(default=None, sa_type=BigInteger)
    ref_source: str | None = Field(default=None, sa_type=Text)


class ArticleRevision(SQLModel, table=True):
    """A state of a record that is no longer current: a superseded version or revision.

    `snapshot` is the whole parsed record as JSON, so nothing a revision changed is lost.
    """

    __tablename__ = "article_revision"
    __table_args__ = (
        UniqueConstraint("pmid", "version", "content_hash", name="uq_article_revision_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pmid: int = Field(sa_column=_pmid_fk(primary_key=False))
    version: int
    date_revised: dt.date | None = None
    content_hash: str = Field(max_length=64)
    snapshot: str = Field(sa_type=Text)
    recorded_at: dt.datetime
    run_id: int | None = Field(default=None, foreign_key="ingest_run.id", ondelete="SET NULL")


class ArticleEmbedding(SQLModel, table=True):
    """An article's dense vector under one embedding model (`evidence.linking.embeddings`).

    `content_hash` is the article's hash when it was embedded: a later revision of the record
    has another hash and is embedded again. `vector` is little-endian float32 bytes.
    """

    __tablename__ = "article_embedding"

    pmid: int = Field(sa_column=_pmid_fk())
    model: str = Field(primary_key=True, max_length=60)
    content_hash: str = Field(max_length=64)
    vector: bytes = Field(sa_type=LargeBinary)
    created_at: dt.datetime


class DeletedCitation(SQLModel, table=True):
    """A PMID named by a `DeleteCitation`, whether or not we held the article."""

    __tablename__ = "deleted_citation"

    pmid: int = Field(sa_column=Column(PMID, primary_key=True, autoincrement=False))
    deleted_at: dt.datetime
    was_present: bool = False
    run_id: int | None = Field(default=None, foreign_key="ingest_run.id", ondelete="SET NULL")


class IngestRun(SQLModel, table=True):
    """One ingest of a file or a PubMed search: what it was, how it went, what it changed."""

    __tablename__ = "ingest_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # file | search
    source: str = Field(sa_type=Text)  # file path or query text (never a secret)
    # A search's E-utilities base URL (scheme, host, path; never a query or credentials).
    endpoint: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="running", max_length=20, index=True)
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    n_new: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_deleted: int = 0
    n_skipped: int = 0
    n_failed: int = 0
    n_requests: int = 0
    message: str | None = Field(default=None, sa_type=Text)
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None


# --- Documents and claims ------------------------------------------------------------------
# A document is identified by a slug; each distinct text it has had is a `document_version`
# (kept whole, so every quote offset can be re-checked against the exact text it was verified
# on). A claim belongs to at most one document (imported claim sets have none); its quotes
# carry their offsets, the document version they were verified against and a review status.

QUOTE_STATUSES = ("verified", "needs_review")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Document(SQLModel, table=True):
    """A document that makes claims; its text lives in `document_version`."""

    id: str = Field(primary_key=True, max_length=100)
    title: str | None = Field(default=None, sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    current_version: int = 1
    created_at: dt.datetime
    updated_at: dt.datetime


class DocumentVersion(SQLModel, table=True):
    """One text a document has had, with its sha256 (hex) content hash."""

    __tablename__ = "document_version"
    __table_args__ = (
        UniqueConstraint("document_id", "version", name="uq_document_version_document_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="document.id", ondelete="CASCADE", max_length=100)
    version: int
    content_hash: str = Field(max_length=64, index=True)
    text: str = Field(sa_type=Text)
    source_path: str | None = Field(default=None, sa_type=Text)
    added_at: dt.datetime


class Claim(SQLModel, table=True):
    """A checkable statement: canonical wording, type, saved PubMed query, quotes."""

    __table_args__ = (
        # NULL (an imported claim without a type) passes a CHECK on both engines.
        CheckConstraint(_in_list("claim_type", CLAIM_TYPES), name="claim_type"),
    )

    id: str = Field(primary_key=True, max_length=100)
    document_id: str | None = Field(
        default=None, foreign_key="document.id", ondelete="RESTRICT", max_length=100, index=True
    )
    statement: str = Field(sa_type=Text)
    claim_type: str | None = Field(default=None, max_length=20)
    query: str | None = Field(default=None, sa_type=Text)
    notes: str | None = Field(default=None, sa_type=Text)
    source: str = Field(default="catalog", max_length=20)  # catalog | import
    revision: int = 1
    created_at: dt.datetime
    updated_at: dt.datetime


class ClaimQuote(SQLModel, table=True):
    """A quote of a claim in its document: `text[start_offset:end_offset] == quote`.

    Offsets are Python string indices (Unicode code points) into the UTF-8 decoded text of
    `document_version`. `occurrence` (1-based) says which occurrence of a repeated quote.
    """

    __tablename__ = "claim_quote"
    __table_args__ = (CheckConstraint(_in_list("status", QUOTE_STATUSES), name="status"),)

    claim_id: str = Field(
        primary_key=True, foreign_key="claim.id", ondelete="CASCADE", max_length=100
    )
    position: int = Field(primary_key=True)
    quote: str = Field(sa_type=Text)
    occurrence: int = 1
    start_offset: int
    end_offset: int
    document_version: int
    status: str = Field(default="verified", max_length=20)
    status_reason: str | None = Field(default=None, sa_type=Text)
    checked_at: dt.datetime


class ClaimRevision(SQLModel, table=True):
    """A superseded state of a claim (JSON snapshot), with what changed and why."""

    __tablename__ = "claim_revision"
    __table_args__ = (UniqueConstraint("claim_id", "revision", name="uq_claim_revision_state"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", ondelete="CASCADE", max_length=100)
    revision: int
    changed: str = Field(sa_type=Text)  # comma-separated field names
    reason: str = Field(sa_type=Text)
    snapshot: str = Field(sa_type=Text)
    recorded_at: dt.datetime


# --- Saved searches ----------------------------------------------------------------------------
# A claim's PubMed searches, each with a role (README "Claim catalogs"): `direct` finds evidence
# about the claim itself, `counter` the evidence that would refute it, `mechanism` and
# `background` what explains it or sets it in context. `claim.query` stays the claim's first
# direct search (the single query of the original catalog format; older exports read it).


class ClaimSearch(SQLModel, table=True):
    """One saved PubMed search of a claim: its role, its query and what it is for."""

    __tablename__ = "claim_search"
    __table_args__ = (CheckConstraint(_in_list("role", SEARCH_ROLES), name="role"),)

    claim_id: str = Field(
        primary_key=True, foreign_key="claim.id", ondelete="CASCADE", max_length=100
    )
    position: int = Field(primary_key=True)  # 1-based, in catalog order
    role: str = Field(max_length=12)
    query: str = Field(sa_type=Text)
    intent: str | None = Field(default=None, sa_type=Text)  # one line: what the search is for
    # Counter searches: what the evidence they look for states, as a claim of its own. A study
    # that supports it contradicts the claim (the linker judges both; `linking.suggestions`).
    statement: str | None = Field(default=None, sa_type=Text)


# --- Query hits and evidence links -----------------------------------------------------------
# `claim_hit` remembers which PMIDs a claim's saved PubMed query returned (the query is run
# again on every audit; a PMID it stops returning keeps its row and its last-seen run).
# `evidence_link` holds the linker's suggestions, one row per (claim, pmid, method, version):
# re-linking with the same method version updates a row in place, a new version adds rows, and
# nothing in linking deletes one (reviewer decisions, later, will refer to them).

LINK_ORIGINS = ("query", "fulltext", "both")


class ClaimHit(SQLModel, table=True):
    """A PMID that one of the claim's saved PubMed searches returned."""

    __tablename__ = "claim_hit"

    claim_id: str = Field(
        primary_key=True, foreign_key="claim.id", ondelete="CASCADE", max_length=100
    )
    pmid: int = Field(
        sa_column=Column(
            "pmid",
            PMID,
            ForeignKey("article.pmid", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
            index=True,
        )
    )
    first_seen_run_id: int | None = Field(
        default=None, foreign_key="ingest_run.id", ondelete="SET NULL"
    )
    last_seen_run_id: int | None = Field(
        default=None, foreign_key="ingest_run.id", ondelete="SET NULL"
    )
    seen_at: dt.datetime  # when the query last returned it
    # Roles of the searches that returned it, comma-separated and sorted ("counter,direct");
    # NULL for hits recorded before searches had roles.
    search_roles: str | None = Field(default=None, max_length=60)


class EvidenceLink(SQLModel, table=True):
    """A suggested link between a claim and an article: stance, relevance, rationale, method.

    `rationale` is JSON: a list of {index, start, end, text, section, score}, offsets into the
    article's abstract as stored (`abstract[start:end] == text`).
    """

    __tablename__ = "evidence_link"
    __table_args__ = (
        UniqueConstraint(
            "claim_id", "pmid", "method", "method_version", name="uq_evidence_link_suggestion"
        ),
        CheckConstraint(_in_list("origin", LINK_ORIGINS), name="origin"),
        CheckConstraint(_in_list("stance", STANCES), name="stance"),
    )

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", ondelete="CASCADE", max_length=100, index=True)
    pmid: int = Field(
        sa_column=Column(
            "pmid", PMID, ForeignKey("article.pmid", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    origin: str = Field(max_length=10)  # query | fulltext | both
    retrieval_score: float = 0.0  # full-text rank score (engine-specific scale); 0 if none
    relevance: float = 0.0  # the linker's reranking score, in [0, 1]
    stance: str = Field(max_length=12)
    confidence: float = 0.0
    rationale: str = Field(default="[]", sa_type=Text)
    method: str = Field(max_length=40)
    method_version: str = Field(max_length=20)
    created_at: dt.datetime
    updated_at: dt.datetime


# --- Reviewer decisions and the audit log ----------------------------------------------------
# Both tables are append-only: the product inserts rows and never updates or deletes one. A
# reviewer's later decision on the same link supersedes the earlier one in "current" views
# (`evidence.review`); the suggestion in `evidence_link` is never modified by a decision.


class ReviewDecision(SQLModel, table=True):
    """One reviewer's judgement of one suggested link (`stance` only for `correct`)."""

    __tablename__ = "review_decision"
    __table_args__ = (
        CheckConstraint(_in_list("decision", DECISIONS), name="decision"),
        CheckConstraint(
            "(decision = 'correct' AND stance IN ('supports', 'contradicts', 'neutral')) "
            "OR (decision <> 'correct' AND stance IS NULL)",
            name="stance",
        ),
        CheckConstraint(
            "exclusion_reason IS NULL OR (decision = 'reject' AND exclusion_reason IN "
            "('off_topic', 'wrong_population', 'not_a_finding', 'duplicate', 'retracted', "
            "'other'))",
            name="exclusion_reason",
        ),
        Index("ix_review_decision_link_reviewer", "link_id", "reviewer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="evidence_link.id", ondelete="RESTRICT")
    reviewer: str = Field(max_length=100)
    decision: str = Field(max_length=10)
    stance: str | None = Field(default=None, max_length=12)
    note: str | None = Field(default=None, sa_type=Text)
    decided_at: dt.datetime
    exclusion_reason: str | None = Field(default=None, max_length=20)  # reject only
    # An adjudicator's ruling on a conflict: it settles the link's stance and is left out of
    # reviewers' agreement (kappa compares the two independent reviewers only).
    adjudication: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class AuditLog(SQLModel, table=True):
    """An append-only record of a change: who, when, which entity, before/after (JSON), why."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=100)
    at: dt.datetime
    entity: str = Field(max_length=40)  # e.g. evidence_link
    entity_id: str = Field(max_length=100)
    claim_id: str | None = Field(default=None, max_length=100, index=True)
    action: str = Field(max_length=40)  # e.g. review.accept
    before: str | None = Field(default=None, sa_type=Text)  # JSON
    after: str | None = Field(default=None, sa_type=Text)  # JSON
    reason: str | None = Field(default=None, sa_type=Text)


# --- Grading ---------------------------------------------------------------------------------
# `study_appraisal` rows are computed from an article's stored metadata (`evidence.appraisal`);
# a new row is added when the article's inputs or the grading version change, so a past
# appraisal stays readable. `grading_override` holds reviewers' overrides of a study's
# appraisal and curators' flags on a claim (append-only; the latest row per target and field
# wins, a NULL value clears it). `claim_verdict` is the verdict history: one row per change of a
# claim's verdict, certainty or reasons, never updated; the latest row is the current verdict.

OVERRIDE_TARGETS = ("study", "claim")


class StudyAppraisal(SQLModel, table=True):
    """One computed appraisal of an article under one grading version and set of inputs."""

    __tablename__ = "study_appraisal"
    __table_args__ = (Index("ix_study_appraisal_pmid_id", "pmid", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    pmid: int = Field(
        sa_column=Column(
            "pmid", PMID, ForeignKey("article.pmid", ondelete="CASCADE"), nullable=False
        )
    )
    grading_version: str = Field(max_length=20)
    inputs_hash: str = Field(max_length=64)  # sha256 of the facts appraised
    design: str = Field(max_length=40)
    cebm_level: int
    population: str = Field(max_length=20)
    species: str = Field(default="[]", sa_type=Text)  # JSON list
    sample_size: int | None = None
    rob_flags: str = Field(default="[]", sa_type=Text)  # JSON list
    status: str = Field(max_length=20)
    letter: str = Field(max_length=1)
    reasons: str = Field(default="[]", sa_type=Text)  # JSON list of Reason
    computed_at: dt.datetime


class GradingOverride(SQLModel, table=True):
    """A reviewer's override of a study appraisal field, or a curator's flag on a claim."""

    __tablename__ = "grading_override"
    __table_args__ = (
        CheckConstraint(_in_list("target", OVERRIDE_TARGETS), name="target"),
        Index("ix_grading_override_target", "target", "target_id", "field"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=10)  # study | claim
    target_id: str = Field(max_length=100)  # a PMID or a claim id
    field: str = Field(max_length=40)
    value: str | None = Field(default=None, sa_type=Text)  # JSON; NULL clears the override
    reviewer: str = Field(max_length=100)
    reason: str = Field(sa_type=Text)
    at: dt.datetime


class ClaimVerdict(SQLModel, table=True):
    """One state of a claim's assessment, added when its verdict, certainty or reasons change."""

    __tablename__ = "claim_verdict"
    __table_args__ = (Index("ix_claim_verdict_claim_id_id", "claim_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", ondelete="CASCADE", max_length=100)
    at: dt.datetime
    grading_version: str = Field(max_length=20)
    scope: str = Field(max_length=20)
    verdict: str = Field(max_length=20)
    lean: str = Field(max_length=12)
    certainty: str | None = Field(default=None, max_length=12)
    support_share: float | None = None
    basis: str = Field(max_length=12)  # reviewed | suggested | mixed | none
    sort_label: str = Field(max_length=1)
    cebm_level: int | None = None
    reasons: str = Field(sa_type=Text)  # JSON list of Reason
    studies: str = Field(sa_type=Text)  # JSON list of StudyRole
    changed: str = Field(sa_type=Text)  # JSON list: verdict, certainty, reasons (or "initial")
    why: str = Field(sa_type=Text)  # in words: what changed in the evidence
    cause: str = Field(max_length=20)  # audit | grade | ingest | review | override | refresh
    cause_ref: str | None = Field(default=None, max_length=100)  # run id, decision id ...
    actor: str | None = Field(default=None, max_length=100)
    previous_id: int | None = Field(default=None, foreign_key="claim_verdict.id")


# --- Scheduled refresh -----------------------------------------------------------------------
# `refresh_run`: one `evidence refresh` (status, counts, errors, its digest as JSON).
# `refresh_claim`: one claim's searches in one run: the edat/mdat windows asked, the hits, what
# was fetched, and whether it finished. A claim's watermark is the `until` of its latest `done`
# row with the same hash of its searches (`query_hash`: every role's query, see
# `evidence.claims.searches.searches_hash`): the next run searches from there (minus an overlap).

REFRESH_STATUSES = ("running", "succeeded", "nothing_new", "partial", "failed", "interrupted")


class RefreshRun(SQLModel, table=True):
    __tablename__ = "refresh_run"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="running", max_length=20, index=True)
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    today: dt.date  # the day the windows end on
    claim_filter: str | None = Field(default=None, max_length=100)  # --claim, if given
    ingest_run_id: int | None = Field(
        default=None, foreign_key="ingest_run.id", ondelete="SET NULL"
    )
    n_claims: int = 0
    n_failed: int = 0
    n_searches: int = 0  # esearch requests
    n_fetches: int = 0  # efetch requests
    n_requests: int = 0  # every E-utilities request, retries included
    n_fetched: int = 0  # records fetched
    n_new: int = 0
    n_updated: int = 0
    n_new_links: int = 0
    n_verdict_changes: int = 0
    errors: str = Field(default="[]", sa_type=Text)  # JSON list of one-line messages
    digest: str | None = Field(default=None, sa_type=Text)  # JSON
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None


class RefreshClaim(SQLModel, table=True):
    __tablename__ = "refresh_claim"
    __table_args__ = (Index("ix_refresh_claim_claim_status", "claim_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="refresh_run.id", ondelete="CASCADE", index=True)
    claim_id: str = Field(foreign_key="claim.id", ondelete="CASCADE", max_length=100)
    mode: str = Field(max_length=12)  # full | incremental
    query_hash: str = Field(max_length=64)
    since: dt.date | None = None  # windows' first day (None: full search)
    until: dt.date  # windows' last day: the watermark once done
    n_hits: int = 0
    n_fetched: int = 0
    n_requests: int = 0
    status: str = Field(default="running", max_length=12)  # running | done | failed
    error: str | None = Field(default=None, sa_type=Text)
    finished_at: dt.datetime | None = None


# --- The reviewers' workbench (`evidence serve`) ---------------------------------------------
# Accounts hold an argon2 hash only. `web_session` holds server-side sessions (the cookie
# carries a signed random token; the row holds its SHA-256, so a leaked database cannot be
# replayed as cookies) and each session's CSRF token. `login_failure` counts failed logins
# per user name and per client address to slow guessing. `review_mode` is append-only: the
# latest row says whether reviewers judge blind.


class AppUser(SQLModel, table=True):
    """A person who signs in to the workbench."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in_list("role", USER_ROLES), name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: str = Field(max_length=20)
    password_hash: str = Field(sa_type=Text)  # argon2id, encoded with its parameters
    created_at: dt.datetime
    updated_at: dt.datetime


class WebSession(SQLModel, table=True):
    """A signed-in browser: the token's hash, its CSRF token, when it expires."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime
    expires_at: dt.datetime


class LoginFailure(SQLModel, table=True):
    """Failed logins in a row for one key (`user:NAME` or `addr:IP`), reset by a success."""

    __tablename__ = "login_failure"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    last_failed_at: dt.datetime


class ReviewMode(SQLModel, table=True):
    """Whether reviewers judge blind, from this row on (the latest row counts)."""

    __tablename__ = "review_mode"

    id: int | None = Field(default=None, primary_key=True)
    blind: bool
    set_by: str = Field(max_length=100)
    at: dt.datetime
