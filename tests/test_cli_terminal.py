"""Tables on a real terminal (a pseudo-terminal 80 or 120 columns wide) fit its width.

Each command runs as a subprocess whose standard streams are a pty with the window size set,
as when a user types it; no line it prints may be wider than the terminal, and tables keep
their header.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.claims_helpers import CATALOG
from tests.conftest import FIXTURES, ROOT, Invoker

BOX = re.compile(r"[│┃─━┏┓┗┛┡┩└┘┌┐]")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(args: list[str], url: str, columns: int) -> list[str]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "EVIDENCE_DATABASE_URL": url, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidence", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode("utf-8", "replace")
    text = ANSI.sub("", b"".join(chunks).decode("utf-8"))
    return text.replace("\r\n", "\n").split("\n")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> str:
    import shutil

    path = tmp_path_factory.mktemp("terminal") / "evidence.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    evidence = Invoker(url)
    # module scope runs before the per-test environment (conftest) sets the linker
    lexical = {"EVIDENCE_LINKER": "lexical"}
    for args in (
        ("ingest", str(FIXTURES / "audit" / "records.xml")),
        ("claims", "load", str(CATALOG)),
        ("link",),
        ("grade",),
    ):
        result = evidence(*args, env=lexical)
        assert result.exit_code == 0, result.output
    return url


COMMANDS = [
    ["claims", "list"],
    ["claims", "show", "safe-short-term"],
    ["grade"],
    ["runs"],
    ["docs", "list"],
    ["report"],
    ["review", "queue"],
    ["articles", "search", "kratom"],
]


@pytest.mark.parametrize(
    ("args", "columns"),
    [(args, 80) for args in COMMANDS] + [(["claims", "show", "safe-short-term"], 120)],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_tables_fit_the_terminal(audited: str, args: list[str], columns: int) -> None:
    lines = run_in_terminal(args, audited, columns)
    # Prose lines may soft-wrap like any terminal text; a table row that does breaks the grid.
    rows = [line for line in lines if BOX.search(line)]
    assert rows, "no table drawn"
    too_wide = [line for line in rows if len(line) > columns]
    assert not too_wide, "\n".join(too_wide[:3])


def test_review_queue_has_a_header_on_a_terminal(audited: str) -> None:
    lines = run_in_terminal(["review", "queue"], audited, 120)
    header = next(line for line in lines if "link" in line and "claim" in line)
    for column in ("PMID", "stance", "relevance", "title"):
        assert column in header
