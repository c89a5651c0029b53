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

from evidence.linking import embeddings, linkers, sentences
from evidence.linking.model import ModelError, StanceModel
from evidence.linking.stance import Candidate
from evidence.linking.trained import EMBEDDER_NAME, STANCE_DIR, TrainedLinker
from evidence.store import db
from tests import test_grading as g
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
    assert linkers.identity(linkers.LinkerChoice("trained")) == (loaded.method, loaded.version)
    # the model's version, then the rationale rules': changing either adds rows on relink
    assert loaded.version == f"{loaded.stance.version}.{sentences.RULES_VERSION}"
    assert linkers.identity(linkers.LinkerChoice("lexical"))[0] == "lexical-nli"
    probs = loaded.stance.predict(CLAIM, [FINDING, OFF_TOPIC])
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_predictions_are_deterministic(linker: TrainedLinker) -> None:
    other = TrainedLinker.load()
    passages = [FINDING, OFF_TOPIC, "Naloxone reversed the antinociception of mitragynine."]
    first = linker.stance.predict(CLAIM, passages)
    assert np.array_equal(first, linker.stance.predict(CLAIM, passages))
    assert np.array_equal(first, other.stance.predict(CLAIM, list(passages)))
    # A study's scores do not depend on the other studies linked with it (one batch each).
    a = linker.assess_many(CLAIM, [Candidate(1, "t", FINDING), Candidate(2, "t", OFF_TOPIC)], {})
    b = linker.assess_many(CLAIM, [Candidate(1, "t", FINDING)], {})
    assert a[0] == b[0]
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
    result = evidence(
        "link", env={"EVIDENCE_LINKER": "trained", "EVIDENCE_STANCE_MODEL": str(broken)}
    )
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(broken) in lines[0]
    assert "EVIDENCE_STANCE_MODEL" in lines[0] or "reinstall" in lines[0]
    assert query(evidence.url, "SELECT count(*) FROM evidence_link") == [(0,)]


def test_vectors_are_stored_once_per_revision(
    evidence: Invoker, tmp_path: Path, linker: TrainedLinker
) -> None:
    from datetime import date

    def records(version: int, abstract: str) -> Path:
        path = tmp_path / f"v{version}.xml"
        return g.write(
            path,
            g.article(1, "Mitragynine at mu receptors", abstract, version=version,
                      mdat=date(2024, 3, version)),
            g.article(2, "Parking", OFF_TOPIC),
        )  # fmt: skip

    assert evidence("ingest", str(records(1, FINDING))).exit_code == 0
    engine = db.make_engine(evidence.url)
    try:
        with engine.begin() as conn:
            vectors = embeddings.ensure(conn, linker.embedder, [1, 2, 3])
        assert sorted(vectors) == [1, 2]  # an unknown PMID is left out
        listed = "SELECT pmid, model, content_hash, created_at FROM article_embedding ORDER BY 1"
        stored = query(evidence.url, listed)
        assert [(p, m) for p, m, _, _ in stored] == [(1, EMBEDDER_NAME), (2, EMBEDDER_NAME)]
        with engine.begin() as conn:
            again = embeddings.ensure(conn, linker.embedder, [1, 2])
        assert all(np.array_equal(again[k], vectors[k]) for k in (1, 2))
        assert query(evidence.url, listed) == stored  # nothing embedded twice
        # A new revision of the record (another content hash) is embedded again.
        assert evidence("ingest", str(records(2, OFF_TOPIC + " Revised."))).exit_code == 0
        with engine.begin() as conn:
            revised = embeddings.ensure(conn, linker.embedder, [1, 2])
        assert not np.array_equal(revised[1], vectors[1])
        assert np.array_equal(revised[2], vectors[2])
        after = query(evidence.url, listed)
        assert after[0][2] != stored[0][2] and after[1] == stored[1]
    finally:
        engine.dispose()


def test_rrf_fuses_rankings_without_calibration() -> None:
    fused = embeddings.rrf([1, 2, 3], [3, 1])
    assert max(fused, key=fused.__getitem__) == 1  # first and second beat third and first
    assert fused[2] == pytest.approx(1 / 62)


def test_embed_command_and_relink_with_new_method_adds_rows(evidence: Invoker) -> None:
    assert evidence("ingest", str(RECORDS)).exit_code == 0
    result = evidence("embed", env={"EVIDENCE_LINKER": "trained"})
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
    result = evidence("link", "--linker", "trained")
    assert result.exit_code == 0, result.output
    methods = dict(query(evidence.url, "SELECT method, count(*) FROM evidence_link GROUP BY 1"))
    assert methods["lexical-nli"] == lexical and methods["minilm-stance"] > 0
