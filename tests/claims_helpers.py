"""Helpers shared by the document and claim tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import query

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalogs" / "kratom.toml"
ARTICLE = ROOT / "catalogs" / "kratom-withdrawal-article.txt"
CLAIM_TABLES = (
    "claim_revision",
    "claim_quote",
    "claim_search",
    "claim",
    "document_version",
    "document",
)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every claim table, for "nothing changed" assertions."""
    order = {
        "claim_quote": "claim_id, position",
        "claim_search": "claim_id, position",
        "claim": "id",
        "document": "id",
    }
    return {t: query(url, f"SELECT * FROM {t} ORDER BY {order.get(t, 'id')}") for t in CLAIM_TABLES}
