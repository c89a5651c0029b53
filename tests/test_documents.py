"""Documents through the CLI on SQLite and PostgreSQL: add, re-add, new versions, flags."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.claims_helpers import ARTICLE, CATALOG, snapshot
from tests.conftest import Invoker, query


def lines(output: str) -> list[str]:
    return output.strip().splitlines()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_add_then_add_again_is_a_no_op(evidence: Invoker, tmp_path: Path) -> None:
    path = tmp_path / "My Article.txt"
    path.write_text("Kratom is a tree. “Quoted” – dash.\n", encoding="utf-8")
    digest = sha(path.read_text(encoding="utf-8"))
    result = evidence("docs", "add", str(path), "--title", "A title", "--url", "https://x.test/a")
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [
        f"added document my-article version 1 (35 characters, sha256 {digest[:12]})"
    ]
    assert query(evidence.url, "SELECT id, title, url, current_version FROM document") == [
        ("my-article", "A title", "https://x.test/a", 1)
    ]
    stored = query(
        evidence.url, "SELECT document_id, version, content_hash, text FROM document_version"
    )
    assert stored == [("my-article", 1, digest, path.read_text("utf-8"))]
    before = snapshot(evidence.url)
    again = evidence("docs", "add", str(path))
    assert again.exit_code == 0
    assert lines(again.output) == [
        f"document my-article unchanged: version 1 already has this text (sha256 {digest[:12]})"
    ]
    assert snapshot(evidence.url) == before
    retitled = evidence("docs", "add", str(path), "--title", "New title")
    assert lines(retitled.output)[0].endswith("; updated title")
    assert query(evidence.url, "SELECT title, current_version FROM document") == [("New title", 1)]


def test_explicit_id_and_bad_id(evidence: Invoker, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("text\n", encoding="utf-8")
    assert lines(evidence("docs", "add", str(path), "--id", "doc-1").output)[0].startswith(
        "added document doc-1 version 1"
    )
    bad = evidence("docs", "add", str(path), "--id", "Doc 1")
    assert bad.exit_code == 2
    assert lines(bad.output) == [
        "Error: document id 'Doc 1' is not a valid id (lowercase letters, digits, '.', '_' or "
        "'-', starting with a letter or digit, ≤ 100); choose one with --id"
    ]


def test_changed_text_is_a_new_version_and_flags_claims(evidence: Invoker, tmp_path: Path) -> None:
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    text = ARTICLE.read_text(encoding="utf-8")
    # Drop one sentence and insert text before the rest: one claim loses its quote, every
    # quote after the insertion moves.
    changed = "Updated. " + text.replace(" and, in rare cases, severe allergic reactions", "")
    path = tmp_path / "kratom-withdrawal-article.txt"
    path.write_text(changed, encoding="utf-8")
    result = evidence("docs", "add", str(path))
    assert result.exit_code == 0, result.output
    assert lines(result.output) == [
        f"document kratom-withdrawal-article: new version 2 ({len(changed)} characters, sha256 "
        f"{sha(changed)[:12]}); 1 claim(s) flagged for review (quote no longer in the text): "
        "rare-severe-allergic-reactions"
    ]
    quotes = query(evidence.url, "SELECT claim_id, quote, start_offset, end_offset, status, "
                   "status_reason, document_version FROM claim_quote")  # fmt: skip
    flagged = [q for q in quotes if q[4] != "verified"]
    old_start = text.index("in rare cases, severe allergic reactions")
    assert flagged == [(
        "rare-severe-allergic-reactions", "in rare cases, severe allergic reactions",
        old_start, old_start + 40, "needs_review",
        "quote not found in version 2 of document kratom-withdrawal-article (offsets are from "
        "version 1)", 1,
    )]  # fmt: skip
    for claim_id, quote, start, end, status, _, version in quotes:
        if status == "verified":  # moved by the 9 inserted characters, re-verified on v2
            assert (changed[start:end], version) == (quote, 2), claim_id
    assert query(evidence.url, "SELECT claim_id, changed, reason FROM claim_revision WHERE "
                 "claim_id = 'rare-severe-allergic-reactions'") == [(
        "rare-severe-allergic-reactions", "quotes",
        "document kratom-withdrawal-article version 2: quote(s) 1 not found; flagged for review",
    )]  # fmt: skip
    listed = evidence("claims", "list")
    row = next(line for line in lines(listed.output) if "rare-severe" in line)
    assert " needs_review " in row
    docs = evidence("docs", "list")
    row = next(line for line in lines(docs.output) if "kratom-withdrawal-article" in line)
    assert [cell.strip() for cell in row.split("│")[1:7]] == [
        "kratom-withdrawal-article", "2", str(len(changed)), sha(changed)[:12], "26", "1",
    ]  # fmt: skip
    shown = evidence("docs", "show", "kratom-withdrawal-article")
    assert lines(shown.output)[0] == "document kratom-withdrawal-article (version 2)"
    assert (
        lines(shown.output)[-1] == "claims: 26, needing review: 1 (rare-severe-allergic-reactions)"
    )
    assert [line.split()[:3] for line in lines(shown.output)[4:6]] == [
        ["1", "sha256", sha(text)], ["2", "sha256", sha(changed)],
    ]  # fmt: skip
    # Loading the catalog again brings back its text as version 3; everything verifies.
    reload = evidence("claims", "load", str(CATALOG))
    assert lines(reload.output)[0].startswith("document kratom-withdrawal-article: new version 3")
    assert lines(reload.output)[0].endswith("every claim quote still matches")
    assert query(evidence.url, "SELECT DISTINCT status, document_version FROM claim_quote") == [
        ("verified", 3)
    ]


def test_non_utf8_and_unusable_files(evidence: Invoker, tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Kratom caf\u00e9\n".encode("latin-1"))
    result = evidence("docs", "add", str(latin))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"Error: {latin}: not UTF-8 text (byte 0xe9 at offset 10); convert it first, "
        "e.g. iconv -f WINDOWS-1252 -t UTF-8 latin.txt > utf8.txt"
    ]
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"abc\x00def")
    assert lines(evidence("docs", "add", str(nul)).output) == [
        f"Error: {nul}: contains NUL bytes, not a text document"
    ]
    missing = evidence("docs", "add", str(tmp_path / "nope.txt"))
    assert (missing.exit_code, lines(missing.output)) == (
        2, [f"Error: {tmp_path / 'nope.txt'}: no such file"],
    )  # fmt: skip
    assert all(rows == [] for rows in snapshot(evidence.url).values())


def test_list_and_show_when_empty_or_unknown(evidence: Invoker) -> None:
    assert lines(evidence("docs", "list").output) == [
        "no documents; add one with: evidence docs add PATH"
    ]
    result = evidence("docs", "show", "nope")
    assert result.exit_code == 6
    assert lines(result.output) == [
        "Error: no document 'nope'; see: evidence docs list, or add it: evidence docs add PATH "
        "--id ID"
    ]


def test_show_text(evidence: Invoker) -> None:
    assert evidence("docs", "add", str(ARTICLE)).exit_code == 0
    result = evidence("docs", "show", "kratom-withdrawal-article", "--text")
    assert result.output.endswith(ARTICLE.read_text(encoding="utf-8") + "\n")
