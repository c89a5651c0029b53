"""Which linker suggests links: the hybrid (the default), the trained model, or the lexical
method.

Every link row carries the method and version that made it; "current" links are those of the
chosen linker (`evidence.linking.current`). The choice comes from the caller (the CLI reads
`--linker` / `EVIDENCE_LINKER` and `EVIDENCE_STANCE_MODEL` through `evidence.config`); the
library never reads the environment.

- `hybrid` ("hybrid-stance"): `evidence.linking.hybrid`, the lexical reading where it commits
  and the trained model's where the lexical relevance gate turned on-topic evidence away. The
  default: on every held-out set measured it beats both methods alone, and on the kratom
  benchmark it calls no claim the opposite of the labels (README "Linking").
- `trained` ("minilm-stance"): `evidence.linking.trained`, hybrid retrieval and the
  cross-encoder alone.
- `lexical` ("lexical-nli"): `evidence.linking.stance`, word overlap and cue words; needs no
  model files.

A missing or corrupt model file is a `ModelError` (exit 3) that names the fix; there is no
silent fallback to the lexical method, since links made by another method would quietly change
every verdict.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy.engine import Connection

from evidence.errors import ModelError
from evidence.linking import sentences, stance
from evidence.linking.shipped import STANCE_DIR
from evidence.linking.stance import Candidate, Ranked, TermStats

__all__ = ["LINKERS", "Linker", "LinkerChoice", "LinkerName", "identity", "load"]

LinkerName = Literal["hybrid", "trained", "lexical"]
LINKERS: tuple[LinkerName, ...] = ("hybrid", "trained", "lexical")


class Linker(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def version(self) -> str: ...

    def rank(
        self,
        conn: Connection,
        statement: str,
        candidates: Sequence[Candidate],
        *,
        stats: TermStats | None = None,
    ) -> list[Ranked]: ...


@dataclass(frozen=True)
class LinkerChoice:
    """The caller's choice of linker (from `evidence.config`)."""

    name: LinkerName = "hybrid"
    stance_model: Path | None = None  # another trained model directory of the same format


class LexicalLinker:
    # Read at call time: a test (or a rollout) may change METHOD_VERSION after import.
    @property
    def method(self) -> str:
        return stance.METHOD

    @property
    def version(self) -> str:
        return stance.METHOD_VERSION

    def rank(
        self,
        conn: Connection,
        statement: str,
        candidates: Sequence[Candidate],
        *,
        stats: TermStats | None = None,
    ) -> list[Ranked]:
        return stance.rank_candidates(statement, candidates, stats=stats)


@functools.cache
def load(choice: LinkerChoice) -> Linker:
    """The linker, ready to rank (loads the ONNX models for `trained`, once per process)."""
    if choice.name == "lexical":
        return LexicalLinker()
    # onnxruntime only when a model is used
    if choice.name == "hybrid":
        from evidence.linking.hybrid import HybridLinker

        return HybridLinker.load(choice.stance_model)
    from evidence.linking.trained import TrainedLinker

    return TrainedLinker.load(choice.stance_model)


def identity(choice: LinkerChoice) -> tuple[str, str]:
    """(method, version) of the chosen linker, read without loading a model: what readers
    (grading, the report, exports) need to pick the current links."""
    if choice.name == "lexical":
        return stance.METHOD, stance.METHOD_VERSION
    method, version = _model_identity((choice.stance_model or STANCE_DIR) / "config.json")
    if choice.name == "hybrid":
        from evidence.linking import hybrid

        return hybrid.METHOD, hybrid.version_of(version)
    return method, sentences.with_rules(version)


@functools.cache
def _model_identity(path: Path) -> tuple[str, str]:
    """A model's (method, version) from its config.json, read once per process: readers ask
    for it on every query of current links."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        return str(config["method"]), str(config["version"])
    except FileNotFoundError:
        raise ModelError(
            f"{path}: stance model missing; reinstall evidence (make demo installs it), set "
            "EVIDENCE_STANCE_MODEL to a model directory, or use --linker lexical"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{path}: corrupt stance model config ({type(exc).__name__}); reinstall evidence or "
            "set EVIDENCE_STANCE_MODEL to a good model directory"
        ) from exc
