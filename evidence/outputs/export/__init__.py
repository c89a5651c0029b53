"""Analyst exports: the evidence database as tidy, documented tables.

For notebooks, each table is a function returning a DataFrame with the data dictionary's
dtypes (no SQL needed)::

    from evidence.outputs import export
    claims = export.claims("sqlite:///evidence.db")
    links = export.links(engine, as_of="2024-03-01", claim="kratom-eases-withdrawal")

`read_csv` reads an exported CSV back with the same dtypes (undoing the spreadsheet
neutralisation); `pandas.read_parquet` needs no help. `write_table`, `export_all` and
`write_citations` are what `evidence export` runs. The modules: `dictionary` (the column
specs, the one source of truth for dtypes, files and the data dictionary), `tables` (the
queries and as-of rules), `writers` (streaming CSV / Parquet), `bundle` (export jobs),
`citations` (RIS / BibTeX).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pandas as pd
from sqlalchemy import Engine

from evidence.errors import InputError
from evidence.outputs.export.bundle import (
    CITATION_FORMATS,
    FORMATS,
    Written,
    export_all,
    table_spec,
    write_citations,
    write_table,
)
from evidence.outputs.export.dictionary import (
    DICTIONARY_COLUMNS,
    SPECS,
    dictionary_frame,
    from_csv_text,
)
from evidence.outputs.export.tables import (
    AsOf,
    check_claim,
    collect,
    engine_for,
    parse_as_of,
    snapshot,
)

__all__ = [
    "CITATION_FORMATS",
    "FORMATS",
    "TABLES",
    "AsOf",
    "Written",
    "audit",
    "claims",
    "data_dictionary",
    "export_all",
    "frame",
    "links",
    "parse_as_of",
    "read_csv",
    "runs",
    "searches",
    "studies",
    "verdict_history",
    "write_citations",
    "write_table",
]

#: The exported tables, in the order `export all` writes them.
TABLES: tuple[str, ...] = tuple(SPECS)


def frame(
    source: Engine | str, table: str, *, as_of: AsOf = None, claim: str | None = None
) -> pd.DataFrame:
    """One exported table as a DataFrame with the data dictionary's dtypes.

    Parameters
    ----------
    source : an Engine or a database URL
    table : one of `TABLES`
    as_of : the table as it stood then: "2024-03-01" (end of that day, UTC), an ISO
        datetime, or a date/datetime
    claim : only this claim's rows (an unknown claim raises NotFound)

    Returns
    -------
    pandas.DataFrame : columns in file order, one row per entity
    """
    spec = table_spec(table)
    moment = parse_as_of(as_of)
    with engine_for(source) as engine, snapshot(engine) as conn:
        if claim is not None:
            check_claim(conn, claim)
        return collect(conn, spec, as_of=moment, claim=claim)


def claims(source: Engine | str, as_of: AsOf = None, claim: str | None = None) -> pd.DataFrame:
    """Claims with their verdict, certainty and counts by stance (see `frame`)."""
    return frame(source, "claims", as_of=as_of, claim=claim)


def studies(source: Engine | str, as_of: AsOf = None, claim: str | None = None) -> pd.DataFrame:
    """Linked articles: bibliographic fields, design, population, n, grade, retraction state."""
    return frame(source, "studies", as_of=as_of, claim=claim)


def links(source: Engine | str, as_of: AsOf = None, claim: str | None = None) -> pd.DataFrame:
    """Evidence links with the stance that stands after review and where it comes from."""
    return frame(source, "links", as_of=as_of, claim=claim)


def searches(source: Engine | str, as_of: AsOf = None, claim: str | None = None) -> pd.DataFrame:
    """The claims' saved PubMed searches: role, query and intent (see `frame`)."""
    return frame(source, "searches", as_of=as_of, claim=claim)


def verdict_history(
    source: Engine | str, as_of: AsOf = None, claim: str | None = None
) -> pd.DataFrame:
    """Every recorded change of a claim's verdict, certainty or reasons."""
    return frame(source, "verdict_history", as_of=as_of, claim=claim)


def runs(source: Engine | str, as_of: AsOf = None) -> pd.DataFrame:
    """Ingest and refresh runs (database-wide)."""
    return frame(source, "runs", as_of=as_of)


def audit(source: Engine | str, as_of: AsOf = None, claim: str | None = None) -> pd.DataFrame:
    """The audit log: reviewer decisions, overrides, flags."""
    return frame(source, "audit", as_of=as_of, claim=claim)


def data_dictionary() -> pd.DataFrame:
    """One row per exported column: table, column, type, pandas dtype, meaning, values."""
    return dictionary_frame()


def read_csv(path: str | Path | IO[str], table: str | None = None) -> pd.DataFrame:
    """Read an exported CSV back with the dictionary's dtypes and the original text values.

    The neutralising apostrophe is stripped from text cells, a BOM is skipped, and only an
    empty cell is missing ("NA" is text). `table` defaults to the file's name (links.csv);
    `datadictionary.csv` reads too.

    Parameters
    ----------
    path : the file (or an open text stream, with `table`)
    table : one of `TABLES`

    Returns
    -------
    pandas.DataFrame : equal to what `frame` returned for the same rows
    """
    if table is None:
        if not isinstance(path, str | Path):
            raise InputError("read_csv of a stream needs table=")
        table = Path(path).stem
    spec = DICTIONARY_COLUMNS if table == DICTIONARY_COLUMNS.name else table_spec(table)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return from_csv_text(raw, spec)
