"""The notebooks in notebooks/ run top to bottom, headless, against a small database.

Each notebook is executed by a real Jupyter kernel (nbclient) with `EVIDENCE_DATABASE_URL`
pointing at the export tests' database (the grading records, claims, links and a verdict
change); a cell that raises fails the test with the cell's traceback.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT, Invoker
from tests.test_export import build

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PNG = b"\x89PNG\r\n\x1a\n"


def run_notebook(path: Path, cwd: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return notebook


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["evidence_map.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, evidence: Invoker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(evidence, tmp_path)
    figures = tmp_path / "figures"
    monkeypatch.setenv("EVIDENCE_DATABASE_URL", evidence.url)
    monkeypatch.setenv("EVIDENCE_FIGURES", str(figures))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = run_notebook(path, tmp_path)

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "3 claims, 7 studies, 8 claim-study pairs" in printed
    for name in ("evidence_map.png", "timeline.png", "verdicts.png"):
        assert (figures / name).read_bytes().startswith(PNG), name


def test_notebook_as_of_before_anything(
    evidence: Invoker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty map (nothing stored yet at that time) still runs: no cell assumes data."""
    build(evidence, tmp_path)
    monkeypatch.setenv("EVIDENCE_DATABASE_URL", evidence.url)
    monkeypatch.setenv("EVIDENCE_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("EVIDENCE_AS_OF", "2000-01-01")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = run_notebook(NOTEBOOKS[0], tmp_path)
    printed = "".join(
        o.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "stream"
    )
    assert "0 claims, 0 studies, 0 claim-study pairs" in printed
