"""`evidence export` and the `evidence.export` API, on SQLite and PostgreSQL.

The database is the grading tests' one (`tests/test_grading.py`: six records, three claims,
chosen links, graded), plus a record whose title is a spreadsheet formula and a reviewer's
rejection that changes a verdict after the first grading, so as-of has a past to rebuild.
The audit test at the end exports the database `evidence audit` builds.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from evidence.errors import NotFound
from evidence.outputs import export
from evidence.outputs.export.dictionary import SPECS, dictionary_frame, neutralise, pandas_dtype
from evidence.store import db
from tests import test_grading as g
from tests.conftest import FIXTURES, Invoker, query
from tests.eutils_server import EUtilsServer

FORMULA = 91000010
FORMULA_TITLE = '=HYPERLINK("http://evil.example/x","kratom withdrawal") and more'
NOTE = "@bob: not about withdrawal"


def build(evidence: Invoker, tmp_path: Path) -> int:
    """The grading database, graded, then a rejection that changes MECHANISTIC's verdict.

    Returns the rejected link's id.
    """
    g.build(evidence, tmp_path)
    # The cohort agrees with the in-vitro study: a verdict needs two agreeing studies.
    g.insert_links(evidence.url, [(g.MECHANISTIC, g.COHORT, "supports")])
    extra = g.write(
        tmp_path / "formula.xml",
        g.article(FORMULA, FORMULA_TITLE, "Kratom and withdrawal, a formula in the title."),
    )
    assert evidence("ingest", str(extra)).exit_code == 0
    g.insert_links(evidence.url, [(g.CLINICAL, FORMULA, "neutral")])
    add_searches(evidence.url)
    g.grade(evidence)
    (link_id,) = query(
        evidence.url,
        "SELECT id FROM evidence_link WHERE claim_id = :c AND pmid = :p",
        c=g.MECHANISTIC,
        p=g.IN_VITRO,
    )[0]
    result = evidence(
        "review", "decide", str(link_id), "--reject", "--reviewer", "alice", "--note", NOTE
    )
    assert result.exit_code == 0, result.output
    return int(link_id)


def add_searches(url: str) -> None:
    """Two searches with roles for the clinical claim, and the roles that found its RCT."""
    engine = create_engine(db.normalise_url(url))
    with engine.begin() as conn:
        for position, role, q, intent in (
            (1, "direct", "kratom[tiab] AND withdraw*[tiab]", "Withdrawal outcomes."),
            (2, "counter", "kratom[tiab] AND dependen*[tiab]", "=kratom's own dependence"),
        ):
            conn.execute(
                text("INSERT INTO claim_search (claim_id, position, role, query, intent) "
                     "VALUES (:c, :n, :r, :q, :i)"),
                {"c": g.CLINICAL, "n": position, "r": role, "q": q, "i": intent},
            )  # fmt: skip
        conn.execute(
            text("INSERT INTO claim_hit (claim_id, pmid, seen_at, search_roles) "
                 "VALUES (:c, :p, :t, 'counter,direct')"),
            {"c": g.CLINICAL, "p": g.RCT, "t": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)},
        )  # fmt: skip
    engine.dispose()


def test_searches_and_the_roles_that_found_a_link_are_exported(
    evidence: Invoker, tmp_path: Path
) -> None:
    build(evidence, tmp_path)
    searches = export.searches(evidence.url)
    assert searches[["claim_id", "position", "role", "intent"]].astype(object).values.tolist() == [
        [g.CLINICAL, 1, "direct", "Withdrawal outcomes."],
        [g.CLINICAL, 2, "counter", "=kratom's own dependence"],
    ]
    assert list(searches["role"].cat.categories) == ["direct", "counter", "mechanism", "background"]
    links = export.links(evidence.url)
    found = links.set_index(["claim_id", "pmid"])["search_roles"]
    assert found[(g.CLINICAL, g.RCT)] == "counter,direct"
    assert found.drop((g.CLINICAL, g.RCT)).isna().all()  # no search recorded finding the rest
    out = tmp_path / "out"
    assert evidence("export", "all", "-o", str(out)).exit_code == 0
    text_ = (out / "searches.csv").read_text("utf-8")
    assert "'=kratom's own dependence" in text_  # a formula-like intent is neutralised
    pd.testing.assert_frame_equal(export.read_csv(out / "searches.csv"), searches)
    dictionary = export.data_dictionary()
    rows = dictionary[dictionary["table"].isin(["searches", "links"])]
    assert {"role", "intent", "search_roles"} <= set(rows["column"])


def files_in(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the dictionary --------------------------------------------------------------------------


def test_dictionary_is_the_source_of_dtypes_and_schema() -> None:
    frame = dictionary_frame()
    assert len(frame) == sum(len(spec.columns) for spec in SPECS.values())
    for spec in SPECS.values():
        empty = export.dictionary.empty_frame(spec)
        assert list(empty.columns) == spec.names
        assert [str(d) for d in empty.dtypes] == [str(pandas_dtype(c)) for c in spec.columns]
        assert export.dictionary.arrow_schema(spec).names == spec.names
        rows = frame[frame["table"] == spec.name]
        assert list(rows["column"]) == spec.names
    assert all(frame["meaning"].notna())
    categories = frame[frame["type"] == "category"]
    assert all(categories["allowed_values"].notna())


def test_neutralise_is_reversible_and_leaves_safe_text() -> None:
    values = pd.Series(
        ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "'quoted", "''=x", "safe", "a=b", None],
        dtype="string",
    )
    cells = neutralise(values)
    assert list(cells[:8]) == ["'" + v for v in values[:8]]
    assert list(cells[8:10]) == ["safe", "a=b"] and cells.isna().iloc[10]
    assert not cells.dropna().str.match(r"[=+\-@\t\r]").any()
    pd.testing.assert_series_equal(export.dictionary.unneutralise(cells), values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", "2024-03-01T23:59:59.999999"),
        ("2024-03-01T12:30:00", "2024-03-01T12:30:00"),
        ("2024-03-01T12:30:00Z", "2024-03-01T12:30:00"),
        ("2024-03-01T14:30:00+02:00", "2024-03-01T12:30:00"),
        ("2024-03-01 12:30:00.250000", "2024-03-01T12:30:00.250000"),
    ],
)
def test_parse_as_of(text: str, expected: str) -> None:
    moment = export.parse_as_of(text)
    assert moment is not None and moment.isoformat() == expected


# --- export all -------------------------------------------------------------------------------


def test_export_all_round_trips_every_table(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    out = tmp_path / "out"
    result = evidence("export", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    names = [f"{t}.csv" for t in export.TABLES]
    assert files_in(out) == sorted(
        [*names, "datadictionary.csv", "datadictionary.md", "manifest.json"]
    )

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["database"]["backend"] in ("sqlite", "postgresql")
    assert manifest["database"]["revision"] == [
        r for (r,) in query(evidence.url, "SELECT version_num FROM alembic_version")
    ]
    assert manifest["grading_version"] == export.bundle.GRADING_VERSION
    assert manifest["as_of"] is None and manifest["format"] == "csv"
    by_name = {f["name"]: f for f in manifest["files"]}
    assert set(by_name) == {*names, "datadictionary.csv", "datadictionary.md"}
    for name, entry in by_name.items():
        assert entry["sha256"] == sha(out / name), name
        assert entry["bytes"] == (out / name).stat().st_size

    for table in export.TABLES:
        expected = export.frame(evidence.url, table)
        back = export.read_csv(out / f"{table}.csv")
        # pandas.read_csv with the dictionary gives back the API's frame, dtypes included.
        pd.testing.assert_frame_equal(back, expected)
        assert by_name[f"{table}.csv"]["rows"] == len(expected)
        assert [str(d) for d in back.dtypes] == [str(pandas_dtype(c)) for c in SPECS[table].columns]
    claims = export.claims(evidence.url).set_index("claim_id")
    assert claims.loc[g.CLINICAL, "verdict"] == "supported"
    assert claims.loc[g.CLINICAL, "n_studies"] == 6
    assert claims.loc[g.CLINICAL, "n_supports"] == 5
    assert claims.loc[g.MECHANISTIC, ["n_rejected", "n_neutral"]].tolist() == [1, 1]
    dictionary = export.read_csv(out / "datadictionary.csv")
    pd.testing.assert_frame_equal(dictionary, dictionary_frame())
    markdown = (out / "datadictionary.md").read_text()
    assert all(f"## {t}" in markdown for t in export.TABLES)
    assert "leading apostrophe" in markdown


def test_formula_title_is_neutralised_and_read_back(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    out = tmp_path / "out"
    assert evidence("export", "all", "-o", str(out)).exit_code == 0
    with (out / "studies.csv").open(newline="", encoding="utf-8") as fh:
        rows = {row["pmid"]: row for row in csv.DictReader(fh)}
    assert rows[str(FORMULA)]["title"] == "'" + FORMULA_TITLE
    with (out / "links.csv").open(newline="", encoding="utf-8") as fh:
        notes = [row["review_note"] for row in csv.DictReader(fh) if row["review_note"]]
    assert notes == ["'" + NOTE]
    # No cell anywhere starts with what a spreadsheet would run.
    for path in out.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                assert not any(re.match(r"[=+@\t\r]", cell) for cell in row), (path, row)
    # Numbers and dates are never touched.
    with (out / "links.csv").open(newline="", encoding="utf-8") as fh:
        assert all(re.fullmatch(r"[0-9.]+", row["relevance"]) for row in csv.DictReader(fh))
    # pandas users get the original text back, by read_csv or the documented recipe.
    studies = export.read_csv(out / "studies.csv").set_index("pmid")
    assert studies.loc[FORMULA, "title"] == FORMULA_TITLE
    plain = pd.read_csv(out / "studies.csv", dtype=str, keep_default_na=False)
    plain["title"] = plain["title"].str.replace(r"^'", "", regex=True)
    assert FORMULA_TITLE in set(plain["title"])
    assert export.links(evidence.url)["review_note"].dropna().tolist() == [NOTE]


def test_as_of_before_a_verdict_change(
    evidence: Invoker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PostgreSQL session in another time zone must not shift the as-of bound.
    monkeypatch.setenv("PGTZ", "America/New_York")
    link_id = build(evidence, tmp_path)
    history = query(
        evidence.url,
        "SELECT at, verdict FROM claim_verdict WHERE claim_id = :c ORDER BY id",
        c=g.MECHANISTIC,
    )
    assert [v for _, v in history] == ["supported", "insufficient"]
    before = str(history[0][0])  # the first verdict's own time: at <= as_of includes it

    claims = export.claims(evidence.url, as_of=before).set_index("claim_id")
    assert claims.loc[g.MECHANISTIC, "verdict"] == "supported"
    assert claims.loc[g.MECHANISTIC, "n_supports"] == 2
    assert claims.loc[g.MECHANISTIC, "n_rejected"] == 0
    now = export.claims(evidence.url).set_index("claim_id")
    assert now.loc[g.MECHANISTIC, "verdict"] == "insufficient"

    link = export.links(evidence.url, as_of=before).set_index("link_id").loc[link_id]
    assert (link["stance"], link["origin"]) == ("supports", "suggested")
    assert pd.isna(link["decision"]) and link["n_reviewers"] == 0
    link = export.links(evidence.url).set_index("link_id").loc[link_id]
    assert (link["stance"], link["origin"], link["reviewer"]) == ("rejected", "reviewer", "alice")
    assert len(export.verdict_history(evidence.url, as_of=before, claim=g.MECHANISTIC)) == 1
    assert export.audit(evidence.url, as_of=before).empty
    assert len(export.audit(evidence.url)) == 1

    # The same through the CLI, and a date before anything existed gives headers only.
    result = evidence("export", "claims", "--as-of", before, "--claim", g.MECHANISTIC)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["claim_id"], r["verdict"]) for r in rows] == [(g.MECHANISTIC, "supported")]
    result = evidence("export", "links", "--as-of", "2000-01-01")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [",".join(SPECS["links"].names)]


def test_as_of_gives_a_claims_earlier_wording(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    changed = [
        dict(c, text="Kratom relieves opioid withdrawal.") if c["id"] == g.CLINICAL else c
        for c in g.CLAIMS
    ]
    path = tmp_path / "changed.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in changed) + "\n")
    assert evidence("claims", "import", str(path)).exit_code == 0
    (recorded,) = query(evidence.url, "SELECT recorded_at FROM claim_revision")[0]
    (verdict_at,) = query(evidence.url, "SELECT min(at) FROM claim_verdict")[0]
    now = export.claims(evidence.url, claim=g.CLINICAL).iloc[0]
    assert (now["statement"], now["revision"]) == ("Kratom relieves opioid withdrawal.", 2)
    then = export.claims(evidence.url, as_of=str(verdict_at), claim=g.CLINICAL).iloc[0]
    assert (then["statement"], then["revision"]) == ("Kratom eases opioid withdrawal symptoms.", 1)
    assert then["claim_type"] == "clinical" and then["verdict"] == "supported"
    at_change = export.claims(evidence.url, as_of=str(recorded), claim=g.CLINICAL).iloc[0]
    assert at_change["revision"] == 2


def test_as_of_rebuilds_appraisals_and_overrides(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    result = evidence(
        "review",
        "appraise",
        str(g.COHORT),
        "design=rct",
        "--reason",
        "randomised",
        "--reviewer",
        "alice",
    )
    assert result.exit_code == 0, result.output
    (at,) = query(evidence.url, "SELECT max(at) FROM grading_override")[0]
    studies = export.studies(evidence.url).set_index("pmid")
    assert studies.loc[g.COHORT, ["design", "overridden", "design_tier"]].tolist() == [
        "rct",
        "design",
        2,
    ]
    (verdict_at,) = query(evidence.url, "SELECT min(at) FROM claim_verdict")[0]
    earlier = export.studies(evidence.url, as_of=str(verdict_at)).set_index("pmid")
    assert earlier.loc[g.COHORT, "design"] == "cohort"
    assert pd.isna(earlier.loc[g.COHORT, "overridden"])
    at_override = export.studies(evidence.url, as_of=str(at)).set_index("pmid")
    assert at_override.loc[g.COHORT, "design"] == "rct"
    # Before the first appraisal: the study is linked but not appraised yet.
    (linked_at,) = query(evidence.url, "SELECT min(created_at) FROM evidence_link")[0]
    unappraised = export.studies(evidence.url, as_of=str(linked_at)).set_index("pmid")
    assert unappraised["design"].isna().all() and unappraised["appraised_at"].isna().all()


# --- streaming, formats, streams --------------------------------------------------------------


def test_chunk_size_does_not_change_the_files(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    for fmt in ("csv", "parquet"):
        one, many = tmp_path / f"one-{fmt}", tmp_path / f"many-{fmt}"
        assert evidence("export", "all", "-o", str(one), "--format", fmt).exit_code == 0
        result = evidence("export", "all", "-o", str(many), "--format", fmt, "--chunk-size", "2")
        assert result.exit_code == 0, result.output
        for table in export.TABLES:
            a, b = one / f"{table}.{fmt}", many / f"{table}.{fmt}"
            if fmt == "csv":
                assert a.read_bytes() == b.read_bytes(), table
                continue
            expected = export.frame(evidence.url, table)
            pd.testing.assert_frame_equal(pd.read_parquet(b), expected)
            pd.testing.assert_frame_equal(pd.read_parquet(a), expected)
            # One row group per chunk: the writer really streamed.
            assert pq.ParquetFile(b).num_row_groups == -(-len(expected) // 2), table


def test_single_tables_stdout_parquet_and_bom(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    path = tmp_path / "links.csv"
    result = evidence("export", "links", "-o", str(path))
    assert result.exit_code == 0, result.output
    assert f"links: 9 rows -> {path} (csv)" in result.output
    to_stdout = evidence("export", "links", "-o", "-")
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout == path.read_text(encoding="utf-8")
    assert "links: 9 rows -> standard output" in to_stdout.stderr

    bom = tmp_path / "claims-bom.csv"
    assert evidence("export", "claims", "-o", str(bom), "--bom").exit_code == 0
    assert bom.read_bytes().startswith(b"\xef\xbb\xbfclaim_id,")
    pd.testing.assert_frame_equal(export.read_csv(bom, "claims"), export.claims(evidence.url))

    parquet = tmp_path / "verdicts.parquet"  # the format follows the suffix
    result = evidence("export", "verdict_history", "-o", str(parquet), "--claim", g.MECHANISTIC)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(parquet)
    pd.testing.assert_frame_equal(frame, export.verdict_history(evidence.url, claim=g.MECHANISTIC))
    assert set(frame["claim_id"]) == {g.MECHANISTIC}
    assert frame["verdict"].dtype == pandas_dtype(SPECS["verdict_history"].column("verdict"))


# --- refusals ------------------------------------------------------------------------------


def test_existing_files_are_kept_without_force(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    path = tmp_path / "claims.csv"
    path.write_text("mine\n")
    result = evidence("export", "claims", "-o", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {path} exists; pass --force to overwrite it"
    assert path.read_text() == "mine\n"
    assert evidence("export", "claims", "-o", str(path), "--force").exit_code == 0
    assert path.read_text().startswith("claim_id,")

    out = tmp_path / "out"
    out.mkdir()
    (out / "links.csv").write_text("mine\n")
    result = evidence("export", "all", "-o", str(out))
    assert result.exit_code == 2 and "links.csv exists" in result.stderr
    assert files_in(out) == ["links.csv"]
    assert evidence("export", "all", "-o", str(out), "--force").exit_code == 0
    assert len(files_in(out)) == len(export.TABLES) + 3  # and no staged temporary file is left


def test_a_failure_mid_export_leaves_nothing(
    evidence: Invoker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(evidence, tmp_path)
    from evidence.outputs.export import writers

    calls = {"n": 0}
    real = writers.to_csv_cells

    def fail_on_third_chunk(frame: pd.DataFrame, spec: Any) -> pd.DataFrame:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(frame, spec)

    monkeypatch.setattr(writers, "to_csv_cells", fail_on_third_chunk)
    target = tmp_path / "links.csv"
    with pytest.raises(RuntimeError):
        export.write_table(evidence.url, "links", target, chunk_size=2)
    assert not target.exists()
    out = tmp_path / "out"
    calls["n"] = 0
    with pytest.raises(RuntimeError):
        export.export_all(evidence.url, out, chunk_size=2)
    assert not out.exists()  # the directory it made is gone too
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["export", "nope"], 2, "unknown table 'nope'; one of: claims, studies, links"),
        (["export", "links", "--claim", "no-such-claim", "-o", "{out}/x.csv"], 6,
         "no claim 'no-such-claim'"),
        (["export", "all", "--claim", "no-such-claim", "-o", "{out}/all"], 6, "no claim"),
        (["export", "claims", "--as-of", "last tuesday", "-o", "{out}/x.csv"], 2,
         "bad --as-of 'last tuesday'"),
        (["export", "links", "--format", "parquet"], 2, "Parquet cannot go to standard output"),
        (["export", "ris", "-o", "{out}/x.ris"], 2, "pass --claim ID"),
        (["export", "bibtex", "--claim", "no-such-claim", "-o", "{out}/x.bib"], 6, "no claim"),
        (["export", "all"], 2, "pass -o DIR"),
        (["export", "links", "-o", "{out}/missing/x.csv"], 2, "no directory"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(
    evidence: Invoker, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = evidence(*[a.format(out=out) for a in args])
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert files_in(out) == []


def test_api_claim_filter_and_unknown_claim(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    links = export.links(evidence.url, claim=g.MECHANISTIC)
    assert set(links["claim_id"]) == {g.MECHANISTIC} and len(links) == 3
    studies = export.studies(evidence.url, claim=g.MECHANISTIC)
    assert sorted(studies["pmid"]) == [g.COHORT, g.IN_VITRO, g.MICE]
    assert len(export.runs(evidence.url)) == 2  # runs are database-wide
    with pytest.raises(NotFound):
        export.claims(evidence.url, claim="no-such-claim")


# --- reference managers ---------------------------------------------------------------------


def parse_ris(text: str) -> list[dict[str, list[str]]]:
    """RIS records as {tag: [values]}; every line must be a tag line or blank."""
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.split("\r\n"):
        if not line:
            continue
        match = re.fullmatch(r"([A-Z][A-Z0-9])  - (.*)", line)
        assert match, line
        tag, value = match.groups()
        if tag == "TY":
            assert current is None
            current = {}
        assert current is not None, line
        if tag == "ER":
            records.append(current)
            current = None
            continue
        current.setdefault(tag, []).append(value)
    assert current is None
    return records


def parse_bibtex(text: str) -> dict[str, dict[str, str]]:
    """BibTeX entries as {key: {field: value}}, checking braces balance."""
    entries: dict[str, dict[str, str]] = {}
    for match in re.finditer(r"@(\w+)\{([^,]+),\n", text):
        start, depth, fields = match.end(), 1, {}
        i = start
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0) if text[i - 1] != "\\" else 0
            i += 1
        body = text[start : i - 1]
        for field in re.finditer(r"  (\w+) = \{", body):
            j, level = field.end(), 1
            while level:
                level += {"{": 1, "}": -1}.get(body[j], 0) if body[j - 1] != "\\" else 0
                j += 1
            fields[field.group(1)] = body[field.end() : j - 1]
        entries[match.group(2)] = fields
    return entries


def test_ris_and_bibtex_carry_stance_and_grade(evidence: Invoker, tmp_path: Path) -> None:
    build(evidence, tmp_path)
    ris_path, bib_path = tmp_path / "clinical.ris", tmp_path / "clinical.bib"
    result = evidence("export", "ris", "--claim", g.CLINICAL, "-o", str(ris_path))
    assert result.exit_code == 0, result.output
    assert f"ris: 6 rows -> {ris_path}" in result.output
    assert evidence("export", "bibtex", "--claim", g.CLINICAL, "-o", str(bib_path)).exit_code == 0

    links = export.links(evidence.url, claim=g.CLINICAL)
    counted = links[links["counts"]].set_index("pmid")
    studies = export.studies(evidence.url, claim=g.CLINICAL).set_index("pmid")
    records = parse_ris(ris_path.read_bytes().decode("utf-8"))
    assert sorted(int(r["AN"][0]) for r in records) == sorted(counted.index)
    for record in records:
        pmid = int(record["AN"][0])
        stance, grade = counted.loc[pmid, "stance"], studies.loc[pmid, "grade"]
        assert record["TY"] == ["JOUR"] and record["TI"] == [studies.loc[pmid, "title"]]
        assert record["AU"] and record["PY"] == ["2023"]
        assert f"stance {stance}" in record["N1"][0] and f"grade {grade}" in record["N1"][0]
        assert sorted(record["KW"]) == [f"grade: {grade}", f"stance: {stance}"]
    formula = next(r for r in records if r["AN"] == [str(FORMULA)])
    assert formula["TI"] == [FORMULA_TITLE]  # not a spreadsheet: no apostrophe

    entries = parse_bibtex(bib_path.read_text(encoding="utf-8"))
    assert sorted(entries) == sorted(f"pmid{p}" for p in counted.index)
    rct = entries[f"pmid{g.RCT}"]
    assert rct["pmid"] == str(g.RCT) and rct["year"] == "2023"
    assert "stance supports" in rct["annote"] and "grade A" in rct["annote"]
    assert rct["keywords"] == "stance: supports, grade: A"

    # A rejection leaves the claim's evidence.
    mechanistic = evidence("export", "ris", "--claim", g.MECHANISTIC)
    ris_ids = [r["AN"] for r in parse_ris(mechanistic.stdout_bytes.decode())]
    assert ris_ids == [[str(g.COHORT)], [str(g.MICE)]]


def test_bibtex_escapes_tex_specials() -> None:
    from evidence.outputs.export.citations import Citation, bibtex

    citation = Citation(
        pmid=1,
        book=False,
        title="50% of {rats} & mice_x #1 ~ $5 ^ \\",
        authors=("Ng, A",),
        journal=None,
        journal_iso=None,
        year=None,
        pub_date=None,
        volume=None,
        issue=None,
        pages="123-9",
        doi="10.1000/a_b",
        claim_id="c",
        stance="supports",
        origin="reviewer",
        reviewer="alice",
        rationale=None,
        design="rct",
        population="human",
        sample_size=10,
        status="ok",
        grade="B",
    )
    fields = parse_bibtex(bibtex([citation]))["pmid1"]
    assert fields["title"] == (
        r"50\% of \{rats\} \& mice\_x \#1 \textasciitilde{} \$5 \textasciicircum{} "
        r"\textbackslash{}"
    )
    assert fields["pages"] == "123--129" and fields["doi"] == "10.1000/a_b"
    assert "reviewer alice" in fields["annote"]


# --- the audit database, and no secrets -------------------------------------------------------

API_KEY = "sekrit-ncbi-key-4f1c9a7e"


@pytest.fixture(scope="module")
def server() -> Iterator[EUtilsServer]:
    with EUtilsServer(rate_limit=False) as srv:
        srv.add_records(FIXTURES / "audit" / "records.xml")
        yield srv


def test_export_all_of_the_audit_database_holds_no_secret(
    evidence: Invoker, tmp_path: Path, server: EUtilsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "NCBI_EMAIL": "tester@example.org",
        "NCBI_API_KEY": API_KEY,
        "EVIDENCE_EUTILS_URL": server.base_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = evidence("audit")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    for fmt in ("csv", "parquet"):
        result = evidence("export", "all", "-o", str(out / fmt), "--format", fmt)
        assert result.exit_code == 0, result.output
    manifest = json.loads((out / "csv" / "manifest.json").read_text())
    rows = {f["table"]: f["rows"] for f in manifest["files"] if f["table"]}
    assert rows["claims"] == 26 and rows["links"] > 0 and rows["verdict_history"] == 26
    n_searches = query(evidence.url, "SELECT count(*) FROM claim_search")[0][0]
    assert rows["runs"] == rows["searches"] == n_searches > 26  # one run per saved search
    roles = set(export.read_csv(out / "csv" / "searches.csv")["role"])
    assert roles == {"direct", "counter", "mechanism", "background"}
    for table in export.TABLES:
        pd.testing.assert_frame_equal(
            export.read_csv(out / "csv" / f"{table}.csv"),
            pd.read_parquet(out / "parquet" / f"{table}.parquet"),
        )
    claim = query(evidence.url, "SELECT claim_id FROM evidence_link ORDER BY id")[0][0]
    assert evidence("export", "ris", "--claim", claim, "-o", str(out / "c.ris")).exit_code == 0
    assert evidence("export", "bibtex", "--claim", claim, "-o", str(out / "c.bib")).exit_code == 0
    exported = [p for p in out.rglob("*") if p.is_file()]
    assert len(exported) == 22
    for path in exported:
        assert API_KEY.encode() not in path.read_bytes(), path
    assert "password" not in (out / "csv" / "manifest.json").read_text()


def test_notebook_frames_are_typed(evidence: Invoker, tmp_path: Path) -> None:
    """What the evidence-map notebook relies on: ordered design tiers and joinable keys."""
    build(evidence, tmp_path)
    links, studies = export.links(evidence.url), export.studies(evidence.url)
    merged = links[links["counts"]].merge(studies, on="pmid", validate="many_to_one")
    table: Any = pd.crosstab(merged["claim_id"], merged["design"], dropna=False)
    assert list(table.columns) == list(SPECS["studies"].column("design").allowed)
