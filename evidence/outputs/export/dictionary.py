"""The data dictionary: every exported table's columns, their types, meanings and values.

This is the one source of truth for the exports. The DataFrames of `evidence.export` get
their dtypes here (`coerce`), the Parquet files their schema (`arrow_schema`), the CSV files
their text form and its reading back (`to_csv_cells`, `from_csv_text`), and
`datadictionary.csv` / `.md` their rows. A column's `kind` decides all of these:

- integer: pandas `Int64`; CSV `123`; Parquet int64.
- float: `Float64`; CSV the shortest repr that reads back exactly; Parquet double.
- text: `string`; CSV neutralised (below); Parquet string.
- boolean: `boolean`; CSV `True` / `False`; Parquet bool.
- datetime: `datetime64[us, UTC]`; CSV `2024-03-01T12:00:00.000000Z`; Parquet
  timestamp[us, UTC].
- date: `datetime64[us]` (midnight); CSV `2024-03-01`; Parquet timestamp[us].
- category: `category` (its allowed values); CSV the value; Parquet dictionary<string>.

An empty CSV cell is a missing value in every kind, so empty text is stored as missing too
(an empty cell means one thing). A category's categories are its allowed values in the order
given here (best first for designs, grades and certainty), so sorting and cross-tabulating
follow that order.

**Neutralising CSV cells.** A spreadsheet executes a cell that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return. In CSV files a text cell that starts with one of those, or
with an apostrophe, gets one leading apostrophe (`'`): a spreadsheet then shows it as text,
and the rule is reversible (strip one leading apostrophe from a text cell that has one).
Numbers, dates and categories are never touched (a negative number stays a number).
`evidence.export.read_csv` reverses it; Parquet is typed and is not neutralised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from evidence.errors import EvidenceError
from evidence.grading.rules import (
    BASES,
    CERTAINTIES,
    DESIGNS,
    LEANS,
    LETTERS,
    POPULATIONS,
    SCOPES,
    SORT_LABELS,
    STATUSES,
    VERDICTS,
)
from evidence.store.models import LINK_ORIGINS, REFRESH_STATUSES
from evidence.vocab import CLAIM_TYPES, DECISIONS, EXCLUSION_REASONS, SEARCH_ROLES, STANCES

__all__ = [
    "DICTIONARY_COLUMNS",
    "SPECS",
    "Column",
    "Kind",
    "TableSpec",
    "arrow_schema",
    "coerce",
    "dictionary_frame",
    "dictionary_markdown",
    "empty_frame",
    "from_csv_text",
    "neutralise",
    "pandas_dtype",
    "to_csv_cells",
    "unneutralise",
]

Kind = Literal["integer", "float", "text", "boolean", "datetime", "date", "category"]

#: First characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The escape itself is escaped too, so that stripping one apostrophe is always right.
APOSTROPHE = "'"
# A regular expression rather than startswith(tuple): it runs vectorised on Arrow strings.
_RISKY = "[" + re.escape("".join((*FORMULA_STARTS, APOSTROPHE))) + "]"
DATETIME_CSV_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
DATE_CSV_FORMAT = "%Y-%m-%d"

JUDGED_STANCES = (*STANCES, "rejected")
STANCE_ORIGINS = ("suggested", "reviewer")
RUN_TYPES = ("ingest", "refresh")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    #: For a category: its categories. For text: the documented values, if the set is closed.
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    key: str  # what one row is, in words
    as_of: str  # what --as-of does to this table
    columns: tuple[Column, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, kind: Kind, meaning: str, allowed: tuple[str, ...] = ()) -> Column:
    if kind == "category" and not allowed:
        raise ValueError(f"category column {name} needs its allowed values")
    return Column(name, kind, meaning, allowed)


_VERDICT_COLUMNS = (
    _c("verdict", "category", "The verdict (missing: not graded).", VERDICTS),
    _c("lean", "category", "Which way an insufficient verdict leans.", LEANS),
    _c("verdict_label", "text", 'The verdict as shown, e.g. "insufficient (leans support)".'),
    _c(
        "certainty",
        "category",
        "GRADE-like certainty, best first (missing for definitional "
        "claims and claims without evidence).",
        CERTAINTIES,
    ),
    _c("scope", "category", "How the claim is judged (claim type, or a curator's flag).", SCOPES),
    _c("basis", "category", "Whose stances counted: reviewers', the linker's, or both.", BASES),
    _c("support_share", "float", "Weighted share of counted evidence that supports (0-1)."),
    _c("sort_label", "category", "SORT strength of recommendation.", SORT_LABELS),
    _c("cebm_level", "integer", "Oxford CEBM 2011 level of the deciding evidence (1-5)."),
    _c("grading_version", "text", "Version of the grading rules that produced the row."),
)

CLAIMS = TableSpec(
    name="claims",
    description="One row per claim: its statement, its verdict and how the evidence stands.",
    key="claim_id",
    as_of="Claims created at or before the time, with the statement, type and query they had "
    "then (from claim_revision); the verdict is the latest claim_verdict row at or before it; "
    "the counts come from the links table as of the same time.",
    columns=(
        _c("claim_id", "text", "The claim's id (a slug)."),
        _c("document_id", "text", "The document that makes the claim (missing: imported)."),
        _c("claim_type", "category", "What kind of claim it is.", CLAIM_TYPES),
        _c("statement", "text", "The claim in canonical wording."),
        _c(
            "query",
            "text",
            "Its first direct PubMed search (every search, with its role: the searches table).",
        ),
        _c("source", "text", "How it arrived: catalog or import.", ("catalog", "import")),
        _c("revision", "integer", "The claim's revision number (1 = as first loaded)."),
        _c("created_at", "datetime", "When the claim was first stored (UTC)."),
        *_VERDICT_COLUMNS,
        _c("verdict_at", "datetime", "When that verdict was recorded (UTC)."),
        _c("n_studies", "integer", "Articles whose stance counts for the claim (links.counts)."),
        _c("n_supports", "integer", "Of those, how many support it."),
        _c("n_contradicts", "integer", "Of those, how many contradict it."),
        _c("n_neutral", "integer", "Of those, how many are neutral."),
        _c("n_rejected", "integer", "Of those, how many a reviewer rejected as not evidence."),
    ),
)

STUDIES = TableSpec(
    name="studies",
    description="One row per article linked to a claim: bibliographic fields and its "
    "appraisal (design, population, size, grade, retraction state), with reviewers' "
    "overrides applied.",
    key="pmid",
    as_of="Articles with a link created at or before the time; the appraisal is the latest "
    "study_appraisal computed at or before it, with the overrides made by then. Bibliographic "
    "fields are the article's current record.",
    columns=(
        _c("pmid", "integer", "PubMed id."),
        _c("doi", "text", "DOI."),
        _c("pmcid", "text", "PubMed Central id."),
        _c("title", "text", "Article title."),
        _c("authors", "text", 'Authors in order, "; "-separated ("Last FM" or a group name).'),
        _c("journal", "text", "Journal title."),
        _c("journal_iso", "text", "ISO abbreviation of the journal."),
        _c("year", "integer", "Publication year."),
        _c(
            "pub_date",
            "date",
            "Publication date, normalised (a month or year alone is its first day).",
        ),
        _c("volume", "text", "Journal volume."),
        _c("issue", "text", "Journal issue."),
        _c("pages", "text", "Pages as PubMed gives them (e.g. 123-9)."),
        _c("publication_types", "text", 'NLM publication types, "; "-separated.'),
        _c("design", "category", "Study design tier, best first.", DESIGNS),
        _c("design_tier", "integer", "Position of the design in that list (1 = sr_ma)."),
        _c("cebm_level", "integer", "Oxford CEBM 2011 level of the design (1-5)."),
        _c("population", "category", "Who or what was studied.", POPULATIONS),
        _c("species", "text", 'Animal species studied, "; "-separated.'),
        _c("sample_size", "integer", "Number of participants (missing: not found)."),
        _c("rob_flags", "text", 'Risk-of-bias flags, "; "-separated.'),
        _c(
            "status",
            "category",
            "Retraction state: ok, corrected (erratum), concern "
            "(expression of concern), retracted, non_evidence (the record is a notice).",
            STATUSES,
        ),
        _c("retracted", "boolean", "True when status is retracted."),
        _c("grade", "category", "The study's letter grade (A best).", LETTERS),
        _c("overridden", "text", 'Appraisal fields a reviewer overrode, "; "-separated.'),
        _c("grading_version", "text", "Version of the grading rules of the appraisal."),
        _c(
            "appraised_at",
            "datetime",
            "When the appraisal was computed (UTC; missing: never "
            "appraised, its design and grade are missing too).",
        ),
        _c("deleted", "boolean", "PubMed deleted the record (DeleteCitation)."),
        _c("n_claims", "integer", "Claims the article is linked to."),
    ),
)

LINKS = TableSpec(
    name="links",
    description="One row per evidence link (a suggested claim-article pair) with the stance "
    "that stands after review.",
    key="link_id",
    as_of="Links created at or before the time, and the reviewer decisions made by then. A "
    "suggestion re-linked in place keeps only its latest stance, relevance and rationale.",
    columns=(
        _c("link_id", "integer", "The link's id (evidence_link.id; review decide takes it)."),
        _c("claim_id", "text", "The claim."),
        _c("pmid", "integer", "The article (see studies)."),
        _c(
            "stance",
            "category",
            "The stance that stands: the latest reviewer decision's "
            "judgement, else the suggestion's.",
            JUDGED_STANCES,
        ),
        _c("origin", "category", "Where that stance comes from.", STANCE_ORIGINS),
        _c("suggested_stance", "category", "The linker's suggested stance.", STANCES),
        _c("decision", "category", "The latest reviewer decision on the link.", DECISIONS),
        _c("reviewer", "text", "Who made it."),
        _c("decided_at", "datetime", "When (UTC)."),
        _c("review_note", "text", "The reviewer's note."),
        _c(
            "exclusion_reason",
            "category",
            "Why the latest decision rejects the link (rejects only; empty if none given).",
            EXCLUSION_REASONS,
        ),
        _c("n_reviewers", "integer", "Reviewers who have judged the link."),
        _c(
            "counts",
            "boolean",
            "This link gives the article's stance for the claim in "
            "grading (one per claim and live article: the latest decision, else the current "
            "linker's suggestion).",
        ),
        _c("relevance", "float", "The linker's relevance score (0-1)."),
        _c("confidence", "float", "The linker's stance confidence (0-1)."),
        _c("retrieval_score", "float", "Full-text rank score (engine-specific; 0 if none)."),
        _c(
            "retrieved_by",
            "category",
            "How the article was found: the claim's PubMed searches (query), full-text search, "
            "or both.",
            LINK_ORIGINS,
        ),
        _c(
            "search_roles",
            "text",
            "Roles of the claim's searches that returned the article, comma-separated "
            "(direct, counter, mechanism, background; see searches); missing when no search "
            "did, or for hits recorded before searches had roles.",
        ),
        _c("rationale", "text", "The rationale sentence(s) from the abstract, in order."),
        _c("method", "text", "Linker method."),
        _c("method_version", "text", "Linker method version."),
        _c("created_at", "datetime", "When the suggestion was made (UTC)."),
        _c("updated_at", "datetime", "When it was last re-linked (UTC)."),
    ),
)

SEARCHES = TableSpec(
    name="searches",
    description="One row per saved PubMed search of a claim: its role, query and intent.",
    key="claim_id, position",
    as_of="Claims created at or before the time, with the searches they have now (earlier "
    "searches are in the claim's revision history, evidence claims show).",
    columns=(
        _c("claim_id", "text", "The claim."),
        _c("position", "integer", "The search's place among the claim's searches (1 = first)."),
        _c(
            "role",
            "category",
            "What the search is for: direct (evidence about the claim), counter (evidence "
            "that would refute it), mechanism (how it would work), background (context).",
            SEARCH_ROLES,
        ),
        _c("query", "text", "The PubMed query, as it is sent."),
        _c("intent", "text", "One line: what the search is meant to find."),
        _c(
            "statement",
            "text",
            "Counter searches: what the refuting evidence states; a study supporting it is "
            "linked as contradicting the claim. Empty otherwise.",
        ),
    ),
)

VERDICT_HISTORY = TableSpec(
    name="verdict_history",
    description="One row per change of a claim's verdict, certainty or reasons "
    "(claim_verdict, append-only).",
    key="verdict_id",
    as_of="Rows recorded at or before the time.",
    columns=(
        _c("verdict_id", "integer", "The row's id."),
        _c("claim_id", "text", "The claim."),
        _c("at", "datetime", "When it was recorded (UTC)."),
        *_VERDICT_COLUMNS,
        _c(
            "changed",
            "text",
            'What changed: "; "-separated of verdict, certainty, reasons, or initial.',
        ),
        _c("why", "text", "What changed in the evidence, in words."),
        _c("reason_codes", "text", 'Codes of the assessment\'s reasons, "; "-separated.'),
        _c(
            "cause",
            "text",
            "What ran the grading.",
            ("audit", "grade", "ingest", "review", "override", "refresh"),
        ),
        _c("cause_ref", "text", "Its reference: run id, decision id, override id."),
        _c("actor", "text", "Who caused it, when a person did."),
        _c("previous_id", "integer", "The claim's previous row (missing: the first)."),
    ),
)

RUNS = TableSpec(
    name="runs",
    description="One row per ingest run (a file or a PubMed search) and per refresh run. Not "
    "filtered by --claim: runs are database-wide.",
    key="run_type, run_id",
    as_of="Runs started at or before the time, as they are recorded now (a run still going at "
    "that time shows how it ended).",
    columns=(
        _c("run_type", "category", "ingest_run or refresh_run.", RUN_TYPES),
        _c("run_id", "integer", "The run's id within its type."),
        _c("kind", "text", "file or search (ingest), refresh.", ("file", "search", "refresh")),
        _c("status", "category", "How it ended (running: not finished).", REFRESH_STATUSES),
        _c("started_at", "datetime", "Start (UTC)."),
        _c("finished_at", "datetime", "End (UTC)."),
        _c("duration_s", "float", "Seconds from start to end."),
        _c("source", "text", "File path or query (ingest); the --claim of a refresh."),
        _c("n_new", "integer", "Records new to the database."),
        _c("n_updated", "integer", "Records updated."),
        _c("n_unchanged", "integer", "Records seen again unchanged (ingest)."),
        _c("n_deleted", "integer", "Records deleted (ingest)."),
        _c("n_failed", "integer", "Failed records (ingest) or failed claims (refresh)."),
        _c("n_requests", "integer", "E-utilities requests, retries included."),
        _c("n_claims", "integer", "Claims searched (refresh)."),
        _c("n_searches", "integer", "esearch requests (refresh)."),
        _c("n_fetches", "integer", "efetch requests (refresh)."),
        _c("n_fetched", "integer", "Records fetched (refresh)."),
        _c("n_new_links", "integer", "New evidence links (refresh)."),
        _c("n_verdict_changes", "integer", "Verdict changes recorded (refresh)."),
        _c("n_errors", "integer", "Errors recorded (refresh)."),
        _c("message", "text", "The ingest's message, or the refresh's first error."),
    ),
)

AUDIT = TableSpec(
    name="audit",
    description="One row per audited change (audit_log, append-only): reviewer decisions, "
    "overrides and flags.",
    key="audit_id",
    as_of="Rows recorded at or before the time.",
    columns=(
        _c("audit_id", "integer", "The row's id."),
        _c("at", "datetime", "When (UTC)."),
        _c("actor", "text", "Who."),
        _c("entity", "text", "What kind of thing changed (evidence_link, study_appraisal, claim)."),
        _c("entity_id", "text", "Which one (a link id, a PMID, a claim id)."),
        _c("claim_id", "text", "The claim concerned, if any."),
        _c("action", "text", "What was done (review.accept, override.set ...)."),
        _c("before", "text", "State before, as JSON."),
        _c("after", "text", "State after, as JSON."),
        _c("reason", "text", "Why: the reviewer's note or reason."),
    ),
)

#: Every exported table, in the order `export all` writes them.
SPECS: dict[str, TableSpec] = {
    spec.name: spec for spec in (CLAIMS, STUDIES, LINKS, SEARCHES, VERDICT_HISTORY, RUNS, AUDIT)
}

#: The data dictionary is itself a table (so it is written and read like the others).
DICTIONARY_COLUMNS = TableSpec(
    name="datadictionary",
    description="One row per exported column.",
    key="table, column",
    as_of="Not affected.",
    columns=(
        _c("table", "text", "The table (file name without extension)."),
        _c("column", "text", "The column, in file order."),
        _c(
            "type",
            "category",
            "The column's kind.",
            ("integer", "float", "text", "boolean", "datetime", "date", "category"),
        ),
        _c("pandas_dtype", "text", "Its dtype in evidence.export DataFrames."),
        _c("meaning", "text", "What it holds."),
        _c("allowed_values", "text", 'Its values, "; "-separated, when the set is closed.'),
    ),
)


# --- dtypes ---------------------------------------------------------------------------------

_DTYPES: dict[str, str] = {
    "integer": "Int64",
    "float": "Float64",
    "text": "string",
    "boolean": "boolean",
    "datetime": "datetime64[us, UTC]",
    "date": "datetime64[us]",
}


def pandas_dtype(column: Column) -> Any:
    """The pandas dtype of a column (a CategoricalDtype for categories)."""
    if column.kind == "category":
        return pd.CategoricalDtype(list(column.allowed), ordered=False)
    return _DTYPES[column.kind]


def _dtype_name(column: Column) -> str:
    return "category" if column.kind == "category" else _DTYPES[column.kind]


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    """A frame with the table's columns and dtypes and no rows."""
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=pandas_dtype(c)) for c in spec.columns}, index=pd.RangeIndex(0)
    )


def _coerce_column(values: pd.Series, column: Column, table: str) -> pd.Series:
    kind = column.kind
    if kind == "integer":
        return pd.to_numeric(values).astype("Int64")
    if kind == "float":
        return pd.to_numeric(values).astype("Float64")
    if kind == "boolean":
        return values.astype("boolean")
    if kind == "datetime":
        # SQLite hands back naive text (UTC), PostgreSQL zone-aware datetimes.
        return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    if kind == "date":
        return pd.to_datetime(values, format="ISO8601").astype("datetime64[us]")
    text = values.astype("string")
    text = text.mask(text == "")
    if kind == "text":
        return text
    unknown = text[~(text.isin(column.allowed) | text.isna())]
    if len(unknown):
        # astype would turn them into missing values without a word.
        raise EvidenceError(
            f"{table}.{column.name} holds {unknown.iloc[0]!r}, which this version of evidence "
            "does not know; upgrade evidence"
        )
    return text.astype(pandas_dtype(column))


def coerce(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The frame with exactly the table's columns, in order, with the dictionary's dtypes."""
    if frame.empty:
        out = empty_frame(spec)
        out.index = frame.index
        return out
    return pd.DataFrame(
        {c.name: _coerce_column(frame[c.name], c, spec.name) for c in spec.columns},
        index=frame.index,
    )


# --- CSV text ---------------------------------------------------------------------------------


def neutralise(values: pd.Series) -> pd.Series:
    """Text cells a spreadsheet would execute (and cells starting with "'") get a leading "'"."""
    risky = values.str.match(_RISKY).fillna(False).astype(bool)
    return values.mask(risky, APOSTROPHE + values)


def unneutralise(values: pd.Series) -> pd.Series:
    """Undo `neutralise`: strip one leading "'" where there is one."""
    quoted = values.str.match(APOSTROPHE).fillna(False).astype(bool)
    return values.mask(quoted, values.str.slice(1))


def to_csv_cells(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The frame as CSV cells: fixed date formats (a file does not depend on how it was
    chunked) and neutralised text."""
    cells: dict[str, pd.Series] = {}
    for c in spec.columns:
        values = frame[c.name]
        if c.kind == "datetime":
            cells[c.name] = values.dt.strftime(DATETIME_CSV_FORMAT)
        elif c.kind == "date":
            cells[c.name] = values.dt.strftime(DATE_CSV_FORMAT)
        elif c.kind == "text":
            cells[c.name] = neutralise(values)
        else:
            cells[c.name] = values
    return pd.DataFrame(cells, index=frame.index)


def from_csv_text(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """A frame read from an export CSV as text (`dtype=str, keep_default_na=False`), typed."""
    missing = [name for name in spec.names if name not in frame.columns]
    if missing:
        raise EvidenceError(f"not a {spec.name} export: no column {missing[0]!r}")
    typed: dict[str, pd.Series] = {}
    for c in spec.columns:
        values = frame[c.name].astype("string")
        values = values.mask(values == "")
        if c.kind == "text":
            typed[c.name] = unneutralise(values)
        elif c.kind == "boolean":
            typed[c.name] = values.map({"True": True, "False": False}, na_action="ignore")
        else:
            typed[c.name] = values
    return coerce(pd.DataFrame(typed, index=frame.index), spec)


# --- Parquet ----------------------------------------------------------------------------------


def arrow_schema(spec: TableSpec) -> Any:
    """The Parquet schema, with pandas metadata so `pandas.read_parquet` restores the dtypes."""
    import pyarrow as pa

    types = {
        "integer": pa.int64(),
        "float": pa.float64(),
        "text": pa.string(),
        "boolean": pa.bool_(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "date": pa.timestamp("us"),
        "category": pa.dictionary(pa.int16(), pa.string()),
    }
    schema = pa.schema([pa.field(c.name, types[c.kind]) for c in spec.columns])
    return pa.Table.from_pandas(empty_frame(spec), schema=schema, preserve_index=False).schema


# --- the dictionary as a table -----------------------------------------------------------------


def dictionary_frame(specs: Mapping[str, TableSpec] = SPECS) -> pd.DataFrame:
    """One row per exported column: table, column, type, pandas dtype, meaning, values."""
    rows = [
        {
            "table": spec.name,
            "column": c.name,
            "type": c.kind,
            "pandas_dtype": _dtype_name(c),
            "meaning": c.meaning,
            "allowed_values": "; ".join(c.allowed),
        }
        for spec in specs.values()
        for c in spec.columns
    ]
    return coerce(pd.DataFrame(rows), DICTIONARY_COLUMNS)


def dictionary_markdown(specs: Mapping[str, TableSpec] = SPECS) -> str:
    """The data dictionary as Markdown: how to read the files, then each table's columns."""
    out = [
        "# Data dictionary",
        "",
        "Exported by `evidence export`. UTF-8 (with a BOM when `--bom` was given), one row per "
        "entity, columns in the order below. Dates and times are ISO 8601 in UTC "
        "(`2024-03-01T12:00:00.000000Z`; dates `2024-03-01`); an empty cell is a missing value "
        "(empty text is stored as missing).",
        "",
        "**Spreadsheet safety.** A text cell that starts with `=`, `+`, `-`, `@`, a tab, a "
        "carriage return or an apostrophe gets one leading apostrophe (`'`) in CSV files, so "
        "a spreadsheet shows it and does not execute it. Numbers, dates and category values "
        "are never changed. To get the original values in pandas:",
        "",
        "```python",
        "from evidence.outputs.export import read_csv",
        'links = read_csv("links.csv")            # dtypes below, apostrophes stripped',
        "```",
        "",
        "or, with pandas alone: `pd.read_csv(path, dtype=str, keep_default_na=False)`, then "
        "on each `text` column strip one leading apostrophe "
        '(`s.str.replace(r"^\'", "", regex=True)`) and convert the other columns to the '
        "pandas dtypes below. Parquet files are typed and never neutralised: "
        "`pandas.read_parquet` returns these dtypes as they are.",
        "",
        "**As of.** With `--as-of TIME` each table is rebuilt as it stood at that time from "
        "the history the database keeps (a date alone means the end of that day, UTC); each "
        "table says how below.",
        "",
    ]
    for spec in specs.values():
        out += [
            f"## {spec.name}",
            "",
            spec.description,
            "",
            f"- One row per: `{spec.key}`",
            f"- As of: {spec.as_of}",
            "",
            "| column | type | pandas dtype | meaning | allowed values |",
            "|---|---|---|---|---|",
        ]
        for c in spec.columns:
            allowed = ", ".join(f"`{v}`" for v in c.allowed)
            meaning = c.meaning.replace("|", "\\|")
            out.append(f"| `{c.name}` | {c.kind} | `{_dtype_name(c)}` | {meaning} | {allowed} |")
        out.append("")
    return "\n".join(out)
