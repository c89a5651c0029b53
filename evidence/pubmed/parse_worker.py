"""Parse a PubMed XML file in a separate process and stream encoded batches to the writer.

Parsing and encoding are the CPU-bound Python of a bulk ingest once the database expands
JSON rows itself; a second process puts them on the second core. Only
`EncodedBatch`es (a few strings each) cross the pipe, which costs a tenth of pickling the
parsed dataclasses. Memory stays bounded: the worker blocks when it is `AHEAD` batches
ahead of the writer. This module imports nothing heavy, so the spawned worker starts quickly.

Messages, in stream order: ("batch", EncodedBatch, bytes_read),
("delete", (pmid, ...), bytes_read), then ("done", None, bytes_read) or ("error", exc, 0).
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from queue import Queue
from typing import IO, Any

from evidence.errors import EvidenceError, InputError
from evidence.pubmed import parsing
from evidence.store.records import Deletion, ParsedArticle, Record
from evidence.store.rows import encode_batch

Message = tuple[str, Any, int]

#: Batches the worker may run ahead of the writer: bounds memory, absorbs database stalls.
AHEAD = 4


class CountingReader:
    """A binary file that counts what has been read: progress for any file size."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.done += len(data)
        return data

    def readable(self) -> bool:
        return True


def encoded_messages(
    records: Iterable[Record], batch_size: int, position: CountingReader | None = None
) -> Iterator[Message]:
    """Group records into batches of encoded records; a deletion ends the batch before it."""
    batch: list[ParsedArticle] = []

    def done() -> int:
        return position.done if position else 0

    for record in records:
        if isinstance(record, Deletion):
            if batch:
                yield ("batch", encode_batch(batch), done())
                batch = []
            yield ("delete", record.pmids, done())
            continue
        batch.append(record)
        if len(batch) >= batch_size:
            yield ("batch", encode_batch(batch), done())
            batch = []
    if batch:
        yield ("batch", encode_batch(batch), done())
    yield ("done", None, done())


def _send(out: IO[bytes], message: Message) -> None:
    blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(blob).to_bytes(8, "little") + blob)


def _receive(stream: IO[bytes]) -> Message | None:
    head = stream.read(8)
    if len(head) < 8:
        return None
    blob = stream.read(int.from_bytes(head, "little"))
    message: Message = pickle.loads(blob)
    return message


def main(argv: list[str] | None = None) -> None:
    """Worker entry point: `python -m evidence.pubmed.parse_worker FILE NAME BATCH_SIZE`.

    Messages go to stdout through a sender thread and a small queue, so the parser runs up to
    `AHEAD` batches ahead of a writer that is waiting on its database (pipe writes release
    the GIL).
    """
    path, name, batch_size = argv or sys.argv[1:]
    # The worker creates no reference cycles and frees each batch as it goes, so the cyclic
    # collector only costs time here: it re-scans every live batch ~30 times per file.
    gc.disable()
    out = sys.stdout.buffer
    queue: Queue[Message | None] = Queue(maxsize=AHEAD)

    def sender() -> None:
        try:
            while (message := queue.get()) is not None:
                _send(out, message)
            out.flush()
        except BrokenPipeError:
            os._exit(0)  # the writer is gone (killed or failed): nobody is listening

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    try:
        with open(path, "rb") as raw:
            reader = CountingReader(raw)
            records = parsing.iter_records(reader, name=name)  # type: ignore[arg-type]
            for message in encoded_messages(records, int(batch_size), reader):
                queue.put(message)
    except EvidenceError as exc:
        queue.put(("error", exc, 0))
    except Exception as exc:  # noqa: BLE001  (reported by the writer, with its type)
        queue.put(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), 0))
    queue.put(None)
    thread.join()


def parse_file(path: Path, *, batch_size: int) -> Iterator[Message]:
    """Messages for `path`, produced by a worker process; its errors are re-raised here.

    The worker is a plain subprocess, not multiprocessing: spawn and forkserver re-import the
    caller's main module, which breaks any unguarded script or notebook that ingests.
    """
    cmd = [
        sys.executable,
        "-m",
        "evidence.pubmed.parse_worker",
        str(path),
        path.name,
        str(batch_size),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            message = _receive(proc.stdout)
            if message is None:
                code = proc.wait()
                detail = proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise InputError(
                    f"{path.name}: the parser process ended unexpectedly (exit code {code}"
                    + (f": {detail[-1]}" if detail else "")
                    + "); rerun the ingest"
                )
            kind, payload, _ = message
            if kind == "error":
                raise payload
            yield message
            if kind == "done":
                return
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()


if __name__ == "__main__":
    main()
