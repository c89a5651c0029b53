"""Tables on the terminal: as wide as the terminal, never wider.

On a terminal a table takes the terminal's width, and rich wraps long cells inside their
columns; identifiers are never wrapped (`id_column`). In a pipe, a file or under cron there is no
width to fit, so rows are kept whole up to `PIPE_WIDTH` columns (or `$COLUMNS`), which keeps them
greppable.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

PIPE_WIDTH = 200


def is_terminal() -> bool:
    return sys.stdout.isatty()


def table_console() -> Console:
    from rich.console import Console

    if is_terminal():
        return Console()
    columns = os.environ.get("COLUMNS", "")
    return Console(width=int(columns) if columns.isdigit() else PIPE_WIDTH)


def print_table(table: Table) -> None:
    table_console().print(table)
