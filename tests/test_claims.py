"""Claims through the CLI on SQLite and PostgreSQL: catalogs, claim sets, listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.claims_helpers import ARTICLE, CATALOG, snapshot
from tests.conftest import Invoker, query

KRATOM_IDS = [
    "alkaloids-bind-opioid-receptors",
    "analgesic",
    "anxiety",
    "caffeine-acts-on-opioid-receptors",
    "dopamine-serotonin-targeted-in-oud-treatment",
    "effectiveness-through-opioid-receptors",
    "gastrointestinal-side-effects",
    "insomnia",
    "kratom-and-caffeine-activate-receptors",
    "kratom-contains-alkaloids",
    "kratom-from-mitragyna-speciosa",
    "kratom-related-to-coffee",
    "long-term-use-dependence",
    "main-active-compounds",
    "mimics-endogenous-opioids",
    "mixed-agonist-antagonist",
    "natural-alternative-to-oud-medications",
    "opioid-withdrawal-relief",
    "psychoactive",
    "rare-severe-allergic-reactions",
    "reduces-opioid-cravings",
    "safe-short-term",
    "stimulant-effect-from-mitragynine",
    "stimulant-like-coffee",
    "used-to-self-manage-withdrawal",
    "withdrawal-relief-via-dopamine-serotonin",
]

DOC = "Kratom relieves opioid withdrawal. Coffee is a stimulant. Coffee is a stimulant.\n"


def lines(output: str) -> list[str]:
    return output.strip().splitlines()


def test_shipped_catalog_loads_every_claim_with_verified_offsets(evidence: Invoker) -> None:
    result = evidence("claims", "load", str(CATALOG))
    assert result.exit_code == 0, result.output
    sha = query(evidence.url, "SELECT content_hash FROM document_version")[0][0]
    assert lines(result.output) == [
        f"added document kratom-withdrawal-article version 1 (4716 characters, sha256 {sha[:12]})",
        "claims from kratom.toml: 26 new, 0 updated, 0 unchanged",
    ]
    text = ARTICLE.read_text(encoding="utf-8")
    assert query(evidence.url, "SELECT id, current_version, title FROM document") == [
        ("kratom-withdrawal-article", 1,
         "Kratom for opioid withdrawal: how it works, how it relates to coffee, and safe use")
    ]  # fmt: skip
    assert query(evidence.url, "SELECT text FROM document_version") == [(text,)]
    claims = query(evidence.url, "SELECT id, document_id, claim_type, query FROM claim ORDER BY id")
    assert [c[0] for c in claims] == KRATOM_IDS
    assert {c[1] for c in claims} == {"kratom-withdrawal-article"}
    assert all(c[2] and c[3] and c[3].strip() for c in claims)
    quotes = query(
        evidence.url,
        "SELECT claim_id, quote, occurrence, start_offset, end_offset, status, document_version "
        "FROM claim_quote ORDER BY claim_id, position",
    )
    assert {q[0] for q in quotes} == set(KRATOM_IDS)  # every claim has a quote
    for claim_id, quote, occurrence, start, end, status, version in quotes:
        assert text[start:end] == quote, claim_id
        # `occurrence` is honoured: exactly occurrence-1 earlier matches
        assert text[:start].count(quote) == occurrence - 1, claim_id
        assert (status, version) == ("verified", 1)
    # the article's curly apostrophe and en dash are matched exactly
    stim = [q for q in quotes if q[0] == "stimulant-like-coffee"][2]
    assert (
        stim[1]
        == "kratom’s ability to stimulate energy levels and enhance focus – much like a cup of joe"
    )
    assert (stim[3], stim[4]) == (text.index(stim[1]), text.index(stim[1]) + 86)
    gi = [q[2:5] for q in quotes if q[0] == "gastrointestinal-side-effects"]
    first = text.index("gastrointestinal issues")
    second = text.index("gastrointestinal issues", first + 1)
    assert gi == [(1, first, first + 23), (2, second, second + 23)]


def test_loading_twice_changes_nothing(evidence: Invoker) -> None:
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    before = snapshot(evidence.url)
    result = evidence("claims", "load", str(CATALOG))
    assert result.exit_code == 0, result.output
    assert lines(result.output)[1] == "claims from kratom.toml: 0 new, 0 updated, 26 unchanged"
    assert lines(result.output)[0].startswith(
        "document kratom-withdrawal-article unchanged: version 1 already has this text"
    )
    assert snapshot(evidence.url) == before


def test_changed_claim_is_updated_and_its_old_state_kept(evidence: Invoker, tmp_path: Path) -> None:
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    (tmp_path / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    edited = CATALOG.read_text(encoding="utf-8").replace(
        'statement = "Kratom can cause insomnia."', 'statement = "Kratom can cause sleeplessness."'
    )
    (tmp_path / "kratom.toml").write_text(edited, encoding="utf-8")
    result = evidence("claims", "load", str(tmp_path / "kratom.toml"))
    assert result.exit_code == 0, result.output
    assert lines(result.output)[1] == (
        "claims from kratom.toml: 0 new, 1 updated, 25 unchanged (updated: insomnia)"
    )
    assert query(evidence.url, "SELECT statement, revision FROM claim WHERE id = 'insomnia'") == [
        ("Kratom can cause sleeplessness.", 2)
    ]
    history = query(
        evidence.url, "SELECT claim_id, revision, changed, reason, snapshot FROM claim_revision"
    )
    assert [h[:4] for h in history] == [("insomnia", 1, "statement", "loaded from kratom.toml")]
    assert json.loads(history[0][4])["statement"] == "Kratom can cause insomnia."
    shown = evidence("claims", "show", "insomnia", "--json")
    assert json.loads(shown.output)["history"][0]["changed"] == ["statement"]


def write_catalog(tmp_path: Path, claims: str, document: str = DOC) -> Path:
    (tmp_path / "doc.txt").write_text(document, encoding="utf-8")
    path = tmp_path / "bad.toml"
    path.write_text('[document]\npath = "doc.txt"\nid = "doc"\n\n' + claims, encoding="utf-8")
    return path


GOOD = (
    '[[claim]]\nid = "good"\ntype = "clinical"\nstatement = "S."\n'
    'quotes = ["Kratom relieves"]\nquery = "kratom"\n\n'
)


def claim(**fields: str) -> str:
    body = {"id": '"c1"', "type": '"clinical"', "statement": '"S."',
            "quotes": '["Coffee is a stimulant"]', "query": '"kratom[tiab]"'}  # fmt: skip
    body.update(fields)
    return "[[claim]]\n" + "".join(f"{k} = {v}\n" for k, v in body.items() if v != "DROP") + "\n"


def search(role: str | None, **fields: str) -> str:
    """A [[claim.search]] table for the claim written just before it."""
    body = {"role": f'"{role}"' if role else "DROP", "query": '"kratom[tiab]"',
            "intent": '"What it is for."'}  # fmt: skip
    body.update(fields)
    return (
        "[[claim.search]]\n" + "".join(f"{k} = {v}\n" for k, v in body.items() if v != "DROP")
        + "\n"
    )  # fmt: skip


MALFORMED = {
    "duplicate id": (
        GOOD + claim(id='"good"'),
        "bad.toml:12: claim good: duplicate claim id (first defined at bad.toml:5)",
    ),
    "quote not found": (
        GOOD + claim(quotes='["Coffee is a depressant"]'),
        'bad.toml:12: claim c1: quote 1 not found in document doc: "Coffee is a depressant"; '
        "copy it exactly (curly quotes and dashes count)",
    ),
    "straight for curly apostrophe": (
        claim(quotes='["kratom\'s"]'),
        'bad.toml:5: claim c1: quote 1 not found in document doc: "kratom\'s"; '
        "copy it exactly (curly quotes and dashes count)",
    ),
    "occurrence past the last": (
        claim(quotes='[{ text = "Coffee is a stimulant", occurrence = 3 }]'),
        "bad.toml:5: claim c1: quote 1 occurs 2 time(s) in document doc, not 3: "
        '"Coffee is a stimulant"',
    ),
    "empty query": (
        GOOD + claim(query='"  "'),
        "bad.toml:12: claim c1: empty query; give a PubMed query or leave the field out",
    ),
    "missing query": (
        claim(query="DROP"),
        "bad.toml:5: claim c1: missing 'query' (the saved PubMed search for this claim)",
    ),
    "unbalanced query": (
        claim(query='"(kratom[tiab] OR ketum[tiab]"'),
        "bad.toml:5: claim c1: query has a '(' without its ')'",
    ),
    "unknown type": (
        claim(type='"anecdotal"'),
        "bad.toml:5: claim c1: unknown type 'anecdotal'; one of: mechanistic, clinical, "
        "safety, prevalence, comparative, definitional, botanical",
    ),
    "missing statement": (
        claim(statement="DROP"),
        "bad.toml:5: claim c1: missing 'statement' (the claim's canonical statement)",
    ),
    "missing quotes": (
        claim(quotes="DROP"),
        "bad.toml:5: claim c1: missing 'quotes': a list of exact quotes from the document",
    ),
    "missing id": (
        claim(id="DROP"),
        "bad.toml:5: claim without an 'id'; give every claim a unique id",
    ),
    "bad id": (
        claim(id='"Has Spaces"'),
        "bad.toml:5: claim Has Spaces: id 'Has Spaces' is not a valid id (lowercase letters, "
        "digits, '.', '_' or '-', starting with a letter or digit, ≤ 100)",
    ),
    "misspelt key": (
        claim(qoutes='["x"]'),
        "bad.toml:5: claim c1: unknown key(s) qoutes; a claim has id, notes, query, quotes, "
        "search, statement, type",
    ),
    "unknown search role": (
        claim(query="DROP") + search("direct") + search("sideways", query='"coffee[tiab]"'),
        "bad.toml:5: claim c1: search 2: unknown role 'sideways'; one of: direct, counter, "
        "mechanism, background",
    ),
    "search without a role": (
        claim(query="DROP") + search(None),
        "bad.toml:5: claim c1: search 1: missing role; one of: direct, counter, mechanism, "
        "background",
    ),
    "query and searches": (
        claim() + search("counter"),
        "bad.toml:5: claim c1: give either 'query' (one direct search) or [[claim.search]] entries",
    ),
    "no direct search": (
        claim(query="DROP") + search("counter"),
        "bad.toml:5: claim c1: no direct search; a claim needs one that finds evidence about it",
    ),
    "search without a query": (
        claim(query="DROP") + search("direct", query="DROP"),
        "bad.toml:5: claim c1: search 1 (direct): missing 'query' (a PubMed query)",
    ),
    "unbalanced search query": (
        claim(query="DROP") + search("direct") + search("counter", query='"(coffee[tiab]"'),
        "bad.toml:5: claim c1: search 2 (counter): query has a '(' without its ')'",
    ),
    "two-line intent": (
        claim(query="DROP") + search("direct", intent='"""one\ntwo"""'),
        "bad.toml:5: claim c1: search 1 (direct): 'intent' must be one line of text",
    ),
    "misspelt search key": (
        claim(query="DROP") + search("direct", intnet='"x"'),
        "bad.toml:5: claim c1: search 1: unknown key(s) intnet; a search has intent, query, role, "
        "statement",
    ),
    "repeated search": (
        claim(query="DROP") + search("direct") + search("counter", query='" kratom[tiab] "'),
        "bad.toml:5: claim c1: search 2 (counter) repeats an earlier search's query",
    ),
    "several problems": (
        claim(type='"x"', query='""'),
        "bad.toml:5: claim c1: unknown type 'x'; one of: mechanistic, clinical, safety, "
        "prevalence, comparative, definitional, botanical (and 1 more problem(s))",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_catalog_is_one_line_error_and_writes_nothing(
    evidence: Invoker, tmp_path: Path, case: str
) -> None:
    claims, message = MALFORMED[case]
    result = evidence("claims", "load", str(write_catalog(tmp_path, claims)))
    assert result.exit_code == 2
    assert lines(result.output) == [f"Error: {message}"]
    assert all(rows == [] for rows in snapshot(evidence.url).values())


def test_unreadable_catalogs(evidence: Invoker, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[document\n", encoding="utf-8")
    result = evidence("claims", "load", str(bad))
    assert result.exit_code == 2
    assert lines(result.output) == [
        "Error: bad.toml: not valid TOML: Expected ']' at the end of a table declaration "
        "(at line 1, column 10)"
    ]
    bad.write_text(GOOD, encoding="utf-8")
    result = evidence("claims", "load", str(bad))
    assert lines(result.output) == [
        "Error: bad.toml: missing [document] table with a 'path' to the document text"
    ]
    bad.write_text('[document]\npath = "nowhere.txt"\n' + GOOD, encoding="utf-8")
    result = evidence("claims", "load", str(bad))
    assert result.exit_code == 2
    assert lines(result.output) == [f"Error: {tmp_path / 'nowhere.txt'}: no such file"]
    assert all(rows == [] for rows in snapshot(evidence.url).values())


def test_claim_id_owned_by_another_document_is_refused(evidence: Invoker, tmp_path: Path) -> None:
    (tmp_path / "set.jsonl").write_text('{"id": "good", "text": "Imported."}\n', encoding="utf-8")
    assert evidence("claims", "import", str(tmp_path / "set.jsonl")).exit_code == 0
    before = snapshot(evidence.url)
    result = evidence("claims", "load", str(write_catalog(tmp_path, GOOD)))
    assert result.exit_code == 2
    assert lines(result.output) == [
        "Error: bad.toml:5: claim good: id already belongs to an imported claim set; claim ids "
        "are unique across documents, rename this one"
    ]
    assert snapshot(evidence.url) == before  # not even the document was added


def test_list_and_show(evidence: Invoker, tmp_path: Path) -> None:
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    (tmp_path / "set.csv").write_text("id,text\nother,Another claim.\n", encoding="utf-8")
    assert evidence("claims", "import", str(tmp_path / "set.csv")).exit_code == 0
    everything = evidence("claims", "list")
    assert everything.exit_code == 0
    assert lines(everything.output)[-1] == "27 claim(s)"
    assert "│ other " in everything.output
    result = evidence("claims", "list", "--document", "kratom-withdrawal-article")
    assert lines(result.output)[-1] == "26 claim(s)"
    assert "│ other " not in result.output
    row = next(line for line in lines(result.output) if "caffeine-acts-on-opioid" in line)
    assert row.split("│")[1:4] == [
        " caffeine-acts-on-opioid-receptors            ", " mechanistic  ", " verified ",
    ]  # fmt: skip
    missing = evidence("claims", "list", "--document", "nope")
    assert missing.exit_code == 6
    assert lines(missing.output)[0].startswith("Error: no document 'nope'")
    shown = json.loads(evidence("claims", "show", "analgesic", "--json").output)
    text = ARTICLE.read_text(encoding="utf-8")
    start = text.index("known for their analgesic")
    assert shown["quotes"] == [{"quote": "known for their analgesic", "occurrence": 1,
                                "start": start, "end": start + 25, "document_version": 1,
                                "status": "verified", "status_reason": None}]  # fmt: skip
    assert shown["type"] == "mechanistic"
    assert evidence("claims", "show", "nope").exit_code == 6


# --- claim sets (JSONL / CSV) ------------------------------------------------------------------

JSONL = (
    '{"id": "a", "text": "Statement A.", "query": "kratom[tiab]", "type": "safety"}\n'
    "\n"
    '{"id": "b", "text": "Statement B."}\n'
)


def test_import_jsonl_then_again_is_a_no_op(evidence: Invoker, tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(JSONL, encoding="utf-8")
    result = evidence("claims", "import", str(path))
    assert result.exit_code == 0, result.output
    assert lines(result.output) == ["claims from set.jsonl: 2 new, 0 updated, 0 unchanged"]
    assert query(evidence.url, "SELECT id, document_id, statement, claim_type, query, source, "
                 "revision FROM claim ORDER BY id") == [
        ("a", None, "Statement A.", "safety", "kratom[tiab]", "import", 1),
        ("b", None, "Statement B.", None, None, "import", 1),
    ]  # fmt: skip
    before = snapshot(evidence.url)
    again = evidence("claims", "import", str(path))
    assert lines(again.output) == ["claims from set.jsonl: 0 new, 0 updated, 2 unchanged"]
    assert snapshot(evidence.url) == before
    path.write_text(JSONL.replace("Statement B.", "Statement B, revised."), encoding="utf-8")
    changed = evidence("claims", "import", str(path))
    assert lines(changed.output) == [
        "claims from set.jsonl: 0 new, 1 updated, 1 unchanged (updated: b)"
    ]
    assert query(evidence.url, "SELECT claim_id, revision, changed FROM claim_revision") == [
        ("b", 1, "statement")
    ]


def test_import_csv(evidence: Invoker, tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    # A BOM (as spreadsheets write), quoted commas, an empty cell meaning "no query"
    path.write_text('\ufeffid,text,query,type\nc1,"One, two.",kratom[tiab],clinical\nc2,Two.,,\n',
                    encoding="utf-8")  # fmt: skip
    result = evidence("claims", "import", str(path))
    assert lines(result.output) == ["claims from set.csv: 2 new, 0 updated, 0 unchanged"]
    assert query(
        evidence.url, "SELECT id, statement, claim_type, query FROM claim ORDER BY id"
    ) == [
        ("c1", "One, two.", "clinical", "kratom[tiab]"),
        ("c2", "Two.", None, None),
    ]


BAD_SETS = {
    "dup.jsonl": (
        '{"id": "a", "text": "A."}\n{"id": "b", "text": "B."}\n{"id": "a", "text": "A2."}\n',
        "dup.jsonl:3: claim a: duplicate claim id (first defined at dup.jsonl:1)",
    ),
    "dup.csv": (
        "id,text\na,A.\nb,B.\na,A again.\n",
        "dup.csv:4: claim a: duplicate claim id (first defined at dup.csv:2)",
    ),
    "type.csv": (
        "id,text,type\na,A.,clinical\nb,B.,hearsay\n",
        "type.csv:3: claim b: unknown type 'hearsay'; one of: mechanistic, clinical, safety, "
        "prevalence, comparative, definitional, botanical",
    ),
    "columns.csv": (
        "id,statement\na,A.\n",
        "columns.csv:1: missing column(s) text; unknown column(s) statement "
        "(columns: id, notes, query, text, type)",
    ),
    "empty-query.jsonl": (
        '{"id": "a", "text": "A.", "query": ""}\n',
        "empty-query.jsonl:1: claim a: empty query; give a PubMed query or leave the field out",
    ),
    "broken.jsonl": (
        '{"id": "a", "text": "A."}\n{"id": "b", "text": \n',
        "broken.jsonl:2: not valid JSON (Expecting value, column 21)",
    ),
    "no-text.jsonl": (
        '{"id": "a"}\n',
        "no-text.jsonl:1: claim a: missing 'text' (the claim's canonical statement)",
    ),
}


@pytest.mark.parametrize("name", list(BAD_SETS))
def test_bad_claim_sets_write_nothing(evidence: Invoker, tmp_path: Path, name: str) -> None:
    content, message = BAD_SETS[name]
    (tmp_path / name).write_text(content, encoding="utf-8")
    result = evidence("claims", "import", str(tmp_path / name))
    assert result.exit_code == 2
    assert lines(result.output) == [f"Error: {message}"]
    assert query(evidence.url, "SELECT count(*) FROM claim") == [(0,)]


def test_import_refuses_other_formats_and_non_utf8(evidence: Invoker, tmp_path: Path) -> None:
    (tmp_path / "set.txt").write_text("a,b\n", encoding="utf-8")
    result = evidence("claims", "import", str(tmp_path / "set.txt"))
    assert (result.exit_code, lines(result.output)) == (
        2, ["Error: set.txt: expected a .jsonl or .csv claim file"],
    )  # fmt: skip
    (tmp_path / "set.csv").write_bytes("id,text\na,Caf\u00e9\n".encode("latin-1"))
    result = evidence("claims", "import", str(tmp_path / "set.csv"))
    assert result.exit_code == 2
    assert lines(result.output) == [
        f"Error: {tmp_path / 'set.csv'}: not UTF-8 text (byte 0xe9 at offset 13); convert it "
        "first, e.g. iconv -f WINDOWS-1252 -t UTF-8 set.csv > utf8.txt"
    ]


# --- searches with roles -------------------------------------------------------------------------

ROLES_CATALOG = (
    GOOD
    + claim(query="DROP")
    + search(
        "direct", query='"kratom[tiab] AND stimulant[tiab]"', intent='"Kratom as a stimulant."'
    )
    + search(
        "counter",
        query='"kratom[tiab] AND sedation[tiab]"',
        intent='"Sedating effects."',
        statement='"Kratom is sedating."',
    )
    + search("mechanism", query='"mitragynine[tiab] AND adrenergic[tiab]"', intent="DROP")
)


def test_catalog_searches_with_roles_load_show_and_update(
    evidence: Invoker, tmp_path: Path
) -> None:
    result = evidence("claims", "load", str(write_catalog(tmp_path, ROLES_CATALOG)))
    assert result.exit_code == 0, result.output
    assert query(evidence.url, "SELECT * FROM claim_search ORDER BY claim_id, position") == [
        ("c1", 1, "direct", "kratom[tiab] AND stimulant[tiab]", "Kratom as a stimulant.", None),
        (
            "c1",
            2,
            "counter",
            "kratom[tiab] AND sedation[tiab]",
            "Sedating effects.",
            "Kratom is sedating.",
        ),
        ("c1", 3, "mechanism", "mitragynine[tiab] AND adrenergic[tiab]", None, None),
        ("good", 1, "direct", "kratom", None, None),  # the original format: one direct search
    ]
    # claim.query is the first direct search, in both formats.
    assert query(evidence.url, "SELECT id, query FROM claim ORDER BY id") == [
        ("c1", "kratom[tiab] AND stimulant[tiab]"),
        ("good", "kratom"),
    ]
    shown = evidence("claims", "show", "c1")
    assert shown.exit_code == 0, shown.output
    text = lines(shown.output)
    at = text.index("search 1 (direct): kratom[tiab] AND stimulant[tiab]")
    assert text[at : at + 7] == [
        "search 1 (direct): kratom[tiab] AND stimulant[tiab]",
        "  intent: Kratom as a stimulant.",
        "search 2 (counter): kratom[tiab] AND sedation[tiab]",
        "  intent: Sedating effects.",
        "  judged against: Kratom is sedating. (support for it contradicts the claim)",
        "search 3 (mechanism): mitragynine[tiab] AND adrenergic[tiab]",
        "  intent: -",
    ]
    as_json = json.loads(evidence("claims", "show", "c1", "--json").output)
    assert [(s["role"], s["intent"]) for s in as_json["searches"]] == [
        ("direct", "Kratom as a stimulant."),
        ("counter", "Sedating effects."),
        ("mechanism", None),
    ]

    # Loading again changes nothing; dropping the mechanism search and rewording the counter
    # one is an update whose old searches are kept in the claim's history.
    before = snapshot(evidence.url)
    again = evidence("claims", "load", str(write_catalog(tmp_path, ROLES_CATALOG)))
    assert lines(again.output)[-1] == "claims from bad.toml: 0 new, 0 updated, 2 unchanged"
    assert snapshot(evidence.url) == before
    edited = (
        GOOD
        + claim(query="DROP")
        + search("direct", query='"kratom[tiab] AND stimulant[tiab]"', intent='"Kratom."')
        + search("counter", query='"kratom[tiab] AND sedat*[tiab]"', intent='"Sedation."')
    )
    changed = evidence("claims", "load", str(write_catalog(tmp_path, edited)))
    assert lines(changed.output)[-1] == (
        "claims from bad.toml: 0 new, 1 updated, 1 unchanged (updated: c1)"
    )
    assert query(evidence.url, "SELECT position, role, query FROM claim_search "
                 "WHERE claim_id = 'c1' ORDER BY position") == [
        (1, "direct", "kratom[tiab] AND stimulant[tiab]"),
        (2, "counter", "kratom[tiab] AND sedat*[tiab]"),
    ]  # fmt: skip
    (changed_fields, old) = query(
        evidence.url, "SELECT changed, snapshot FROM claim_revision WHERE claim_id = 'c1'"
    )[0]
    assert changed_fields == "searches"
    assert [s["role"] for s in json.loads(old)["searches"]] == ["direct", "counter", "mechanism"]


def test_shipped_catalog_gives_every_search_a_role_and_an_intent(evidence: Invoker) -> None:
    assert evidence("claims", "load", str(CATALOG)).exit_code == 0
    rows = query(evidence.url, "SELECT claim_id, position, role, query, intent FROM claim_search")
    assert {r[0] for r in rows} == set(KRATOM_IDS)
    assert all(r[4] and "\n" not in r[4] for r in rows)  # an intent for every search
    by_claim: dict[str, list[str]] = {}
    for claim_id, _, role, _, _ in sorted(rows):
        by_claim.setdefault(claim_id, []).append(role)
    assert all(roles[0] == "direct" for roles in by_claim.values())
    # The claims a specialist expects to be false or harmful are searched for refutation too.
    for claim_id in ("caffeine-acts-on-opioid-receptors", "kratom-and-caffeine-activate-receptors",
                     "safe-short-term", "natural-alternative-to-oud-medications"):  # fmt: skip
        assert "counter" in by_claim[claim_id], claim_id
