"""CSV and Parquet writers that stream chunks, and staging that makes files appear whole.

A file is written under a temporary name beside its target and renamed into place only when
everything succeeded (`staging`): an error or a kill leaves the target as it was, and no
half-written file under its name. The writers never hold more than one chunk.
"""

from __future__ import annotations

import csv
import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pandas as pd

from evidence.errors import InputError
from evidence.outputs.export.dictionary import TableSpec, arrow_schema, to_csv_cells

__all__ = ["Staging", "check_target", "sha256", "staging", "write_csv", "write_parquet"]

BOM = "\ufeff"


def check_target(path: Path, *, force: bool) -> None:
    """Refuse to overwrite without `force`, or to write where no directory is."""
    if path.is_dir():
        raise InputError(f"{path} is a directory; name a file (or use: evidence export all)")
    if path.exists() and not force:
        raise InputError(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise InputError(f"no directory {path.parent}; create it first")


class Staging:
    """Temporary files beside their targets, renamed into place together by `commit`."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []

    def path_for(self, target: Path) -> Path:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        self._files.append((tmp, target))
        return tmp

    def commit(self) -> None:
        for tmp, _ in self._files:
            _fsync(tmp)  # the data is on disk before a name points at it
        for tmp, target in self._files:
            os.replace(tmp, target)
        self._files.clear()

    def discard(self) -> None:
        for tmp, _ in self._files:
            tmp.unlink(missing_ok=True)
        self._files.clear()


@contextmanager
def staging() -> Iterator[Staging]:
    """Commit the staged files when the block succeeds; remove them when it raises."""
    staged = Staging()
    try:
        yield staged
        staged.commit()
    finally:
        staged.discard()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_csv(frames: Iterable[pd.DataFrame], spec: TableSpec, out: TextIO, *, bom: bool) -> int:
    """Write the header once, then each chunk as it comes; returns the number of rows.

    `out` must be opened with `newline=""` (the line terminator is written as given).
    """
    if bom:
        out.write(BOM)
    csv.writer(out, lineterminator="\n").writerow(spec.names)
    rows = 0
    for frame in frames:
        to_csv_cells(frame, spec).to_csv(out, header=False, index=False, lineterminator="\n")
        rows += len(frame)
    return rows


def write_parquet(frames: Iterable[pd.DataFrame], spec: TableSpec, path: Path) -> int:
    """One row group per chunk, under the dictionary's fixed schema; returns the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(spec)
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for frame in frames:
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            rows += len(frame)
    return rows
