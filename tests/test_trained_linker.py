"""The trained linker (issue 13): models load offline from the package, predictions are
deterministic, a missing or corrupt model is one line and exit 3, vectors are stored once per
article revision on both engines, and relinking with another method adds rows.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from evidence.linking import embeddings, linkers
from evidence.linking.model import ModelError, StanceModel
from evidence.linking.trained import EMBEDDER_NAME, STANCE_DIR, TrainedLinker
from evidence.store import db
from tests.conftest import FIXTURES, Invoker, query

RECORDS = FIXTURES / "audit" / "records.xml"
CLAIM = "Mitragynine is a partial agonist at the mu-opioid receptor."
FINDING = "Mitragynine acted as a partial agonist at the human mu-opioid receptor (EC50 0.3 uM)."
OFF_TOPIC = "The parking lot of the hospital was repaved in 2019."


@pytest.fixture(scope="module")
def linker() -> TrainedLinker:
    return TrainedLinker.load()


def test_models_load_from_the_package_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the models tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = TrainedLinker.load()
    assert STANCE_DIR.is_relative_to(Path(linkers.__file__).parent)
    assert loaded.method == "minilm-stance" and loaded.version
    assert linkers.identity(linkers.LinkerChoice()) == (loaded.method, loaded.version)
    probs = loaded.stance.predict(CLAIM, [FINDING, OFF_TOPIC])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_predictions_are_deterministic(linker: TrainedLinker) -> None:
    other = TrainedLinker.load()
    passages = [FINDING, OFF_TOPIC, "Naloxone reversed the antinociception of mitragynine."]
    first = linker.stance.predict(CLAIM, passages)
    assert np.array_equal(first, linker.stance.predict(CLAIM, passages))
    assert np.array_equal(first, other.stance.predict(CLAIM, list(passages)))
    # Batching and order do not change a passage's scores.
    single = linker.stance.predict(CLAIM, [passages[2]])
    assert np.allclose(single[0], first[2], atol=1e-6)
    vectors = linker.embedder.encode([CLAIM, FINDING])
    assert np.array_equal(vectors, other.embedder.encode([CLAIM, FINDING]))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(
        vectors[0] @ linker.embedder.encode([OFF_TOPIC])[0]
    )


def test_background_is_never_the_rationale(linker: TrainedLinker) -> None:
    abstract = (
        "Kratom is widely used to relieve opioid withdrawal. We present a 41-year-old man "
        "who developed intrahepatic cholestasis after four weeks of kratom use. Liver tests "
        "normalised within two months of stopping."
    )
    assessment = linker.assess("Kratom relieves opioid withdrawal.", "A case report", abstract)
    assert all(not r.text.startswith("Kratom is widely used") for r in assessment.rationale)
    assert assessment.method == "minilm-stance"


@pytest.mark.parametrize("damage", ["missing", "corrupt", "no-config"])
def test_missing_or_corrupt_model_is_one_line_and_exit_3(
    evidence: Invoker, tmp_path: Path, damage: str
) -> None:
    broken = tmp_path / "model"
    shutil.copytree(STANCE_DIR, broken)
    if damage == "missing":
        (broken / "stance.onnx").unlink()
    elif damage == "corrupt":
        (broken / "stance.onnx").write_bytes(b"not an onnx model")
    else:
        (broken / "config.json").unlink()
    with pytest.raises(ModelError):
        StanceModel.load(broken)
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    assert (
        evidence(
            "claims", "load", str(FIXTURES.parent.parent / "catalogs" / "kratom.toml")
        ).exit_code
        == 0
    )
    result = evidence("link", env={"EVIDENCE_STANCE_MODEL": str(broken)})
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(broken) in lines[0]
    assert "EVIDENCE_STANCE_MODEL" in lines[0] or "reinstall" in lines[0]
    assert query(evidence.url, "SELECT count(*) FROM evidence_link") == [(0,)]


def test_vectors_are_stored_once_per_revision(db_url: str, linker: TrainedLinker) -> None:
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO article (pmid, version, record_type, title, abstract, "
                    "content_hash, is_deleted, created_at, updated_at) VALUES (:p, 1, "
                    "'article', :t, :a, :h, :d, :now, :now)"
                ),
                [
                    {"p": 1, "t": "Mitragynine at mu receptors", "a": FINDING, "h": "a" * 64,
                     "d": False, "now": "2026-01-01 00:00:00"},
                    {"p": 2, "t": "Parking", "a": OFF_TOPIC, "h": "b" * 64, "d": False,
                     "now": "2026-01-01 00:00:00"},
                    {"p": 3, "t": "Gone", "a": OFF_TOPIC, "h": "c" * 64, "d": True,
                     "now": "2026-01-01 00:00:00"},
                ],
            )  # fmt: skip
            vectors = embeddings.ensure(conn, linker.embedder, [1, 2, 3])
        assert sorted(vectors) == [1, 2]  # a deleted article is never embedded
        stored = query(db_url, "SELECT pmid, model, created_at FROM article_embedding ORDER BY 1")
        assert [(p, m) for p, m, _ in stored] == [(1, EMBEDDER_NAME), (2, EMBEDDER_NAME)]
        with engine.begin() as conn:
            again = embeddings.ensure(conn, linker.embedder, [1, 2])
            assert all(np.array_equal(again[k], vectors[k]) for k in (1, 2))
        assert (
            query(db_url, "SELECT pmid, model, created_at FROM article_embedding ORDER BY 1")
            == stored
        )
        # A new revision of the record (another content hash) is embedded again.
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE article SET abstract = :a, content_hash = :h WHERE pmid = 1"),
                {"a": OFF_TOPIC, "h": "d" * 64},
            )
            revised = embeddings.ensure(conn, linker.embedder, [1])
        assert np.allclose(revised[1], vectors[2], atol=1e-6)  # now the same text as pmid 2
        hashes = query(db_url, "SELECT content_hash FROM article_embedding WHERE pmid = 1")
        assert hashes == [("d" * 64,)]
    finally:
        engine.dispose()


def test_rrf_fuses_rankings_without_calibration() -> None:
    fused = embeddings.rrf([1, 2, 3], [3, 1])
    assert max(fused, key=fused.__getitem__) == 1  # first and second beat third and first
    assert fused[2] == pytest.approx(1 / 62)


def test_embed_command_and_relink_with_new_method_adds_rows(evidence: Invoker) -> None:
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    result = evidence("embed")
    assert result.exit_code == 0, result.output
    total = query(evidence.url, "SELECT count(*) FROM article WHERE NOT is_deleted")[0][0]
    assert f"embedded {total} of {total} article(s)" in result.output
    again = evidence("embed")
    assert f"embedded 0 of {total} article(s)" in again.output
    catalog = FIXTURES.parent.parent / "catalogs" / "kratom.toml"
    assert evidence("claims", "load", str(catalog)).exit_code == 0
    assert evidence("link", "--linker", "lexical").exit_code == 0
    lexical = query(evidence.url, "SELECT count(*) FROM evidence_link")[0][0]
    assert lexical > 0
    result = evidence("link")
    assert result.exit_code == 0, result.output
    methods = dict(query(evidence.url, "SELECT method, count(*) FROM evidence_link GROUP BY 1"))
    assert methods["lexical-nli"] == lexical and methods["minilm-stance"] > 0
