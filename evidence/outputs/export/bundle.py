"""Export jobs: one table to a file or a stream, every table with its data dictionary and a
manifest (`export all`), a claim's evidence as RIS or BibTeX.

Every check that can fail (table, format, as-of, existing files, the claim) runs before the
first byte is written, and files are staged and renamed into place only when all of them are
complete. The manifest names the database by backend only: a URL may carry a password.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
from sqlalchemy import Engine

from evidence import __version__
from evidence.clock import utcnow
from evidence.errors import InputError
from evidence.grading.rules import GRADING_VERSION
from evidence.linking.current import identity
from evidence.outputs.export.citations import bibtex, citations, ris
from evidence.outputs.export.dictionary import (
    DICTIONARY_COLUMNS,
    SPECS,
    TableSpec,
    dictionary_frame,
    dictionary_markdown,
)
from evidence.outputs.export.tables import (
    DEFAULT_CHUNK,
    AsOf,
    check_claim,
    engine_for,
    iter_frames,
    parse_as_of,
    snapshot,
)
from evidence.outputs.export.writers import check_target, sha256, staging, write_csv, write_parquet
from evidence.store.db import current_revisions

__all__ = [
    "CITATION_FORMATS",
    "FORMATS",
    "Written",
    "export_all",
    "table_spec",
    "write_citations",
    "write_table",
]

FORMATS = ("csv", "parquet")
CITATION_FORMATS = ("ris", "bibtex")
DICTIONARY_CSV = "datadictionary.csv"
DICTIONARY_MD = "datadictionary.md"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Written:
    name: str  # the table, or ris / bibtex
    path: Path | None  # None: written to a stream
    rows: int
    format: str


def table_spec(table: str) -> TableSpec:
    """The table's spec; an unknown name is a one-line input error."""
    try:
        return SPECS[table]
    except KeyError:
        known = ", ".join([*SPECS, "all", *CITATION_FORMATS])
        raise InputError(f"unknown table {table!r}; one of: {known}") from None


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; one of: {', '.join(FORMATS)}")


def _write(frames: Iterable[pd.DataFrame], spec: TableSpec, path: Path, fmt: str, bom: bool) -> int:
    if fmt == "parquet":
        return write_parquet(frames, spec, path)
    with path.open("w", encoding="utf-8", newline="") as fh:
        return write_csv(frames, spec, fh, bom=bom)


def write_table(
    source: Engine | str,
    table: str,
    output: Path | TextIO,
    *,
    fmt: str = "csv",
    as_of: AsOf = None,
    claim: str | None = None,
    bom: bool = False,
    force: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> Written:
    """Stream one table to a file (staged, renamed when complete) or, as CSV, to a stream.

    Parameters
    ----------
    source : an Engine or a database URL
    table : one of `evidence.export.TABLES`
    output : a file path, or a text stream (CSV only)
    fmt : "csv" or "parquet"
    as_of : rebuild the table as it stood then (see `evidence.export.tables`)
    claim : only this claim's rows (runs are not per claim)
    bom : start a CSV with a UTF-8 byte-order mark (for spreadsheets)
    force : overwrite an existing file
    chunk_size : rows per chunk held in memory

    Returns
    -------
    Written : the table, where it went and how many rows
    """
    spec = table_spec(table)
    _check_format(fmt)
    moment = parse_as_of(as_of)
    if isinstance(output, Path):
        check_target(output, force=force)
    elif fmt == "parquet":
        raise InputError("Parquet cannot go to standard output; name a file with -o PATH")
    with engine_for(source) as engine, snapshot(engine) as conn:
        if claim is not None:
            check_claim(conn, claim)
        frames = iter_frames(conn, spec, as_of=moment, claim=claim, chunk_size=chunk_size)
        if not isinstance(output, Path):
            return Written(spec.name, None, write_csv(frames, spec, output, bom=bom), fmt)
        with staging() as staged:
            rows = _write(frames, spec, staged.path_for(output), fmt, bom)
    return Written(spec.name, output, rows, fmt)


def _utc_text(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _file_entry(path: Path, name: str, table: str | None, rows: int | None) -> dict[str, Any]:
    return {
        "name": name,
        "table": table,
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": sha256(path),
    }


def export_all(
    source: Engine | str,
    directory: Path,
    *,
    fmt: str = "csv",
    as_of: AsOf = None,
    claim: str | None = None,
    bom: bool = False,
    force: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> dict[str, Any]:
    """Write every table, `datadictionary.csv` / `.md` and `manifest.json` into `directory`.

    Every table is read in one snapshot of the database, so the files agree with each other.
    The manifest lists each file with its rows, bytes and sha256, and records the database
    revision, grading and linker versions, the as-of time and when the export ran.

    Returns
    -------
    dict : the manifest, as written
    """
    _check_format(fmt)
    moment = parse_as_of(as_of)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is a file; export all writes a directory of files")
    names = [f"{name}.{fmt}" for name in SPECS] + [DICTIONARY_CSV, DICTIONARY_MD, MANIFEST]
    existing = [name for name in names if (directory / name).exists()]
    if existing and not force:
        raise InputError(f"{directory / existing[0]} exists; pass --force to overwrite it")
    created = not directory.exists()
    try:
        with engine_for(source) as engine:
            revision = sorted(current_revisions(engine))
            with snapshot(engine) as conn:
                if claim is not None:
                    check_claim(conn, claim)
                directory.mkdir(parents=True, exist_ok=True)
                with staging() as staged:
                    files = []
                    for spec in SPECS.values():
                        name = f"{spec.name}.{fmt}"
                        tmp = staged.path_for(directory / name)
                        frames = iter_frames(
                            conn, spec, as_of=moment, claim=claim, chunk_size=chunk_size
                        )
                        rows = _write(frames, spec, tmp, fmt, bom)
                        files.append(_file_entry(tmp, name, spec.name, rows))
                    dictionary = dictionary_frame()
                    tmp = staged.path_for(directory / DICTIONARY_CSV)
                    rows = _write([dictionary], DICTIONARY_COLUMNS, tmp, "csv", bom)
                    files.append(_file_entry(tmp, DICTIONARY_CSV, None, rows))
                    tmp = staged.path_for(directory / DICTIONARY_MD)
                    tmp.write_text(dictionary_markdown() + "\n", encoding="utf-8")
                    files.append(_file_entry(tmp, DICTIONARY_MD, None, None))
                    manifest = {
                        "created_at": _utc_text(utcnow()),
                        "evidence_version": __version__,
                        "database": {"backend": engine.dialect.name, "revision": revision},
                        "grading_version": GRADING_VERSION,
                        "linker": dict(zip(("method", "version"), identity(), strict=True)),
                        "as_of": _utc_text(moment) if moment is not None else None,
                        "claim": claim,
                        "format": fmt,
                        "bom": bom,
                        "files": files,
                    }
                    tmp = staged.path_for(directory / MANIFEST)
                    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        if created and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()  # leave no trace of a failed export
        raise
    return manifest


def write_citations(
    source: Engine | str,
    claim: str | None,
    output: Path | TextIO,
    *,
    fmt: str = "ris",
    as_of: AsOf = None,
    force: bool = False,
) -> Written:
    """A claim's evidence as RIS or BibTeX, stance and grade in the notes (a path or a stream)."""
    if fmt not in CITATION_FORMATS:
        raise InputError(f"unknown citation format {fmt!r}; one of: ris, bibtex")
    if claim is None:
        raise InputError(f"{fmt} exports one claim's evidence: pass --claim ID")
    moment = parse_as_of(as_of)
    if isinstance(output, Path):
        check_target(output, force=force)
    with engine_for(source) as engine, snapshot(engine) as conn:
        check_claim(conn, claim)
        records = citations(conn, claim, as_of=moment)
    body = ris(records) if fmt == "ris" else bibtex(records)
    if not isinstance(output, Path):
        output.write(body)
        return Written(fmt, None, len(records), fmt)
    with staging() as staged:
        staged.path_for(output).write_text(body, encoding="utf-8", newline="")
    return Written(fmt, output, len(records), fmt)
