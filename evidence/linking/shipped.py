"""Where the models shipped with the package live (`weights/`, read offline).

Its own module, importing nothing: naming the current linker (`linkers.identity`, asked by every
reader of current links) reads the stance model's config.json without loading onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EMBEDDER_DIR", "STANCE_DIR", "WEIGHTS"]

WEIGHTS = Path(__file__).resolve().parent / "weights"
STANCE_DIR = WEIGHTS / "stance"
EMBEDDER_DIR = WEIGHTS / "embedder"
