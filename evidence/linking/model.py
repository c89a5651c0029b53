"""Offline inference for the "minilm-stance" cross-encoder and the all-MiniLM-L6-v2 embedder.

Only numpy, onnxruntime and tokenizers are needed (no torch). Both models are int8 ONNX files
with their `tokenizer.json` in one directory:

  stance model dir:  stance.onnx, tokenizer.json, config.json (labels, max_len, thresholds)
  embedder dir:      embedder.onnx, tokenizer.json, config.json (dim, max_len)

`StanceModel.predict(claim, passages)` gives an [n, 3] float32 array of probabilities in the
order of `config.json` "labels" (("neutral", "supports", "contradicts") for v1). `aggregate`
turns one abstract's sentence probabilities into its stance, confidence and rationale indices.
Everything is deterministic: fixed thread count, sequential execution, no sampling.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from evidence.errors import ModelError

__all__ = ["LABELS", "Aggregate", "Embedder", "ModelError", "StanceModel", "aggregate"]

LABELS: tuple[str, str, str] = ("neutral", "supports", "contradicts")
DEFAULT_THRESHOLDS: dict[str, float] = {
    "neutral_threshold": 0.5,  # best non-neutral sentence score below this -> neutral
    "supports_bias": 0.0,  # added to the supports score before comparing
    "contradicts_bias": 0.0,  # added to the contradicts score before comparing
    "rationale_min": 0.5,  # other rationale sentences need this share of the best score
}
BATCH = 64
THREADS = 2


def _session(path: Path, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        raise ModelError(
            f"{path}: model file missing; reinstall the package or set "
            "EVIDENCE_STANCE_MODEL to a complete model directory"
        )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises several private exception types
        raise ModelError(
            f"{path}: corrupt model file ({type(exc).__name__}); reinstall the "
            "package or set EVIDENCE_STANCE_MODEL to a good model directory"
        ) from exc


def _tokenizer(path: Path, max_len: int) -> Tokenizer:
    if not path.is_file():
        raise ModelError(
            f"{path}: tokenizer missing; reinstall the package or set "
            "EVIDENCE_STANCE_MODEL to a complete model directory"
        )
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise ModelError(
            f"{path}: corrupt tokenizer ({exc.__class__.__name__}); reinstall the "
            "package or set EVIDENCE_STANCE_MODEL to a good model directory"
        ) from exc
    tok.no_padding()
    tok.enable_truncation(max_length=max_len, strategy="longest_first")
    return tok


def _config(directory: Path) -> dict[str, Any]:
    if not directory.is_dir():
        raise ModelError(
            f"{directory}: model directory missing; reinstall the package or set "
            "EVIDENCE_STANCE_MODEL to a model directory"
        )
    path = directory / "config.json"
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{path}: config missing; reinstall the package or set "
            "EVIDENCE_STANCE_MODEL to a complete model directory"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"{path}: corrupt config ({exc.__class__.__name__}); reinstall the "
            "package or set EVIDENCE_STANCE_MODEL to a good model directory"
        ) from exc
    if not isinstance(cfg, dict):
        raise ModelError(f"{path}: corrupt config (not an object); reinstall the package")
    return cfg


def _pad(encodings: Sequence[Any], names: Sequence[str]) -> dict[str, npt.NDArray[np.int64]]:
    """Pad a batch to its longest member (dynamic padding)."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for k, e in enumerate(encodings):
        n = len(e.ids)
        ids[k, :n] = e.ids
        mask[k, :n] = 1
        types[k, :n] = e.type_ids
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {k: v for k, v in feeds.items() if k in names}


def _softmax(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: npt.NDArray[np.float32] = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


@dataclass(frozen=True)
class StanceModel:
    """The cross-encoder. Build with `StanceModel.load(directory)`."""

    session: ort.InferenceSession
    tokenizer: Tokenizer
    labels: tuple[str, ...]
    thresholds: Mapping[str, float]
    method: str
    version: str
    inputs: tuple[str, ...]

    @classmethod
    def load(cls, directory: str | Path, threads: int = THREADS) -> StanceModel:
        d = Path(directory)
        cfg = _config(d)
        try:
            labels = tuple(str(x) for x in cfg["labels"])
            max_len = int(cfg["max_len"])
            thresholds = {
                **DEFAULT_THRESHOLDS,
                **{k: float(v) for k, v in cfg.get("thresholds", {}).items()},
            }
            method, version = str(cfg["method"]), str(cfg["version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{d / 'config.json'}: corrupt config (bad {exc}); reinstall the "
                "package or set EVIDENCE_STANCE_MODEL to a good model directory"
            ) from exc
        if labels != LABELS:
            raise ModelError(
                f"{d / 'config.json'}: labels {labels} are not {LABELS}; use a "
                "minilm-stance model directory"
            )
        session = _session(d / "stance.onnx", threads)
        tok = _tokenizer(d / "tokenizer.json", max_len)
        inputs = tuple(i.name for i in session.get_inputs())
        return cls(session, tok, labels, thresholds, method, version, inputs)

    def predict(
        self, claim: str, passages: Sequence[str], batch: int = BATCH
    ) -> npt.NDArray[np.float32]:
        """Probabilities [len(passages), 3] in `self.labels` order, one row per passage."""
        out = np.zeros((len(passages), len(self.labels)), dtype=np.float32)
        if not passages:
            return out
        # sort by length so each batch pads little; results go back to input order
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            enc = self.tokenizer.encode_batch([(claim, passages[i]) for i in idx])
            (logits,) = self.session.run(["logits"], _pad(enc, self.inputs))
            out[idx] = _softmax(np.asarray(logits, dtype=np.float32))
        return out


@dataclass(frozen=True)
class Aggregate:
    stance: str  # "supports" | "contradicts" | "neutral"
    confidence: float  # probability of the chosen stance (best rationale / 1 - best non-neutral)
    rationale: tuple[int, ...]  # indices into the scored sentences, best first (empty if neutral)
    scores: tuple[float, float]  # best supports, best contradicts probability over eligible


def aggregate(
    probs: npt.NDArray[np.floating[Any]],
    eligible: Sequence[bool] | None = None,
    thresholds: Mapping[str, float] | None = None,
    max_rationales: int = 3,
) -> Aggregate:
    """Abstract stance from its sentences' [n, 3] probabilities (labels order of LABELS).

    Only `eligible` sentences (results/conclusions; all when None) can carry the stance.
    The abstract's supports and contradicts scores are the best sentence's probability for
    each, plus the calibrated biases; the higher one wins unless it is under the neutral
    threshold. Rationales: the eligible sentences whose probability for the winning stance is
    at least `rationale_min` times the best one, best first, at most `max_rationales`.
    """
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    p = np.asarray(probs, dtype=np.float64).reshape(-1, 3)
    mask = np.ones(len(p), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if len(mask) != len(p):
        raise ValueError(f"eligible has {len(mask)} entries for {len(p)} sentences")
    if not mask.any():
        return Aggregate("neutral", 1.0, (), (0.0, 0.0))
    sup = float(p[mask, 1].max())
    con = float(p[mask, 2].max())
    adj_sup, adj_con = sup + t["supports_bias"], con + t["contradicts_bias"]
    if max(adj_sup, adj_con) < t["neutral_threshold"]:
        return Aggregate("neutral", round(1.0 - max(sup, con), 4), (), (sup, con))
    k = 1 if adj_sup >= adj_con else 2
    col = np.where(mask, p[:, k], -1.0)
    best = float(col.max())
    ranked = [
        int(i)
        for i in np.argsort(-col, kind="stable")
        if col[i] >= t["rationale_min"] * best and mask[i]
    ]
    return Aggregate(LABELS[k], round(best, 4), tuple(ranked[:max_rationales]), (sup, con))


@dataclass(frozen=True)
class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings: mean pooling + L2 norm in numpy."""

    session: ort.InferenceSession
    tokenizer: Tokenizer
    dim: int
    inputs: tuple[str, ...]

    @classmethod
    def load(cls, directory: str | Path, threads: int = THREADS) -> Embedder:
        d = Path(directory)
        cfg = _config(d)
        try:
            dim, max_len = int(cfg["dim"]), int(cfg["max_len"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{d / 'config.json'}: corrupt config (bad {exc}); reinstall the package"
            ) from exc
        session = _session(d / "embedder.onnx", threads)
        tok = _tokenizer(d / "tokenizer.json", max_len)
        return cls(session, tok, dim, tuple(i.name for i in session.get_inputs()))

    def encode(self, texts: Sequence[str], batch: int = BATCH) -> npt.NDArray[np.float32]:
        """float32 [len(texts), dim], each row L2-normalised (cosine = dot product)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            feeds = _pad(self.tokenizer.encode_batch([texts[i] for i in idx]), self.inputs)
            (hidden,) = self.session.run(["last_hidden_state"], feeds)
            m = feeds["attention_mask"][:, :, None].astype(np.float32)
            pooled = (np.asarray(hidden, dtype=np.float32) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            norm = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norm, 1e-12)
        return out
