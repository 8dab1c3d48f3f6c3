"""The notebooks in notebooks/: they run end to end, use only the public API, and are
committed without outputs.

Executing them is slow (about two minutes each on two CPU cores), so those tests are
marked ``slow``; the checks on the committed files are fast. Run from notebooks/ (as Jupyter
runs them), they write only into ``$ZOO_NOTEBOOK_DIR`` (else a new temporary folder): the
executing test asserts ``git status`` of the checkout is unchanged.
"""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Wall-clock budget of one whole notebook; a hang fails instead of stalling CI.
TIMEOUT_S = float(os.environ.get("ZOO_NOTEBOOK_TIMEOUT", "900"))
KERNEL = "python3"


def _ids(path: pathlib.Path) -> str:
    return path.stem


def _code_cells(path: pathlib.Path) -> list[str]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_committed_without_outputs(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; run "
        f"`python notebooks/strip_outputs.py` before committing"
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_uses_only_the_public_api(path):
    """No library code in notebooks: no functions or classes, no private names."""
    for source in _code_cells(path):
        # IPython magics and shell escapes are not Python
        python = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
        )
        for node in ast.walk(ast.parse(python)):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)), (
                f"{path.name} defines {node.name!r}: library code belongs in the package"
            )
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            private = [n for n in names for part in n.split(".") if part.startswith("_")]
            assert not private, f"{path.name} imports private names {private}"


def test_strip_outputs_script(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    cell = new_code_cell("print(1)", execution_count=3)
    cell.outputs = [new_output("stream", name="stdout", text="1\n")]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    path = tmp_path / "dirty.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    script = [sys.executable, str(NOTEBOOK_DIR / "strip_outputs.py")]

    check = subprocess.run(
        [*script, "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 1 and "has outputs" in check.stdout
    subprocess.run([*script, str(path)], check=True, capture_output=True)
    stripped = nbformat.read(path, as_version=4).cells[0]
    assert stripped.outputs == [] and stripped.execution_count is None
    assert "execution" not in stripped.metadata and stripped.source == "print(1)"
    assert (
        subprocess.run([*script, "--check", str(path)], capture_output=True, check=False).returncode
        == 0
    )


#: Calls that write files; a notebook makes none before it changes into its scratch folder.
WRITERS = ("savez", "run_dir=", "directory=", ".plot(", "write_sample_folder", "mkdir", "open(")
SCRATCH = "os.chdir(work)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_writes_only_into_its_scratch_folder(path):
    """A notebook run from notebooks/ (as Jupyter does) writes nothing into the checkout:
    it changes into ``$ZOO_NOTEBOOK_DIR`` or a new temporary folder before its first write."""
    cells = _code_cells(path)
    writes = [i for i, source in enumerate(cells) if any(w in source for w in WRITERS)]
    if not writes:
        return
    chdir = [i for i, source in enumerate(cells) if SCRATCH in source]
    assert chdir and chdir[0] < writes[0], (
        f"{path.name}: code cell {writes[0]} writes files before `{SCRATCH}` (see 02_training)"
    )
    assert 'os.environ.get("ZOO_NOTEBOOK_DIR") or tempfile.mkdtemp(' in cells[chdir[0]]


def _checkout_status() -> set[str] | None:
    """The new files ``git status --porcelain --ignored`` shows in the checkout (untracked or
    ignored; bytecode and tool caches left out)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None  # not a git checkout (an sdist): nothing to compare
    caches = ("__pycache__", ".pytest_cache", ".ruff_cache")
    lines = out.splitlines()
    return {ln for ln in lines if ln[:2] in ("??", "!!") and not any(c in ln for c in caches)}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs(path, tmp_path, monkeypatch):
    """Executes the notebook in a fresh kernel started in notebooks/ (as Jupyter does): it
    writes into ``$ZOO_NOTEBOOK_DIR`` only, and leaves the checkout as it was."""
    import nbclient
    import nbformat

    work = tmp_path / "work"
    monkeypatch.setenv("ZOO_NOTEBOOK_DIR", str(work))
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path / "saved_models"))
    before = _checkout_status()
    # Headless plots; the kernel finds this checkout even when it is not installed.
    # KERAS_BACKEND and everything else are inherited unchanged.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))

    nb = nbformat.read(path, as_version=4)
    deadline = time.monotonic() + TIMEOUT_S
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},  # the kernel's working directory
    )
    try:
        client.execute()
    except nbclient.exceptions.CellTimeoutError as err:
        pytest.fail(f"{path.name} did not finish within {TIMEOUT_S:.0f}s: {err}")
    # cells that raise fail execute() above (CellExecutionError); check the record too
    errors = [
        f"cell {i}: {out.ename}: {out.evalue}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors, f"{path.name}: {errors}"
    after = _checkout_status()
    assert before is None or after <= before, f"{path.name} wrote {sorted(after - before)}"
    if any(any(w in source for w in WRITERS) for source in _code_cells(path)):
        assert any(work.iterdir()), f"{path.name} wrote nothing into $ZOO_NOTEBOOK_DIR"
