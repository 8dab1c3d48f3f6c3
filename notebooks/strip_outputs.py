"""Strips outputs, execution counts and run metadata from notebooks, in place.

Notebooks are committed without outputs (tests/test_notebooks.py checks it).

Usage:
    python notebooks/strip_outputs.py                  # every notebook in notebooks/
    python notebooks/strip_outputs.py a.ipynb b.ipynb
    python notebooks/strip_outputs.py --check          # exit 1 if any has outputs
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
#: Cell metadata written by running a notebook (nbclient, JupyterLab), not by its author.
RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def strip(nb) -> bool:
    """Removes outputs, execution counts and run metadata; returns whether anything changed."""
    changed = False
    for cell in nb.cells:
        for key in RUN_METADATA:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        if cell.cell_type != "code":
            continue
        if cell.outputs or cell.execution_count is not None:
            cell.outputs, cell.execution_count = [], None
            changed = True
    for key in ("widgets", "papermill"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if unstripped")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(HERE.glob("*.ipynb"))
    dirty = []
    for path in paths:
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if strip(nb):
            dirty.append(path)
            if not args.check:
                nbformat.write(nb, path)
    verb = "has outputs" if args.check else "stripped"
    for path in dirty:
        print(f"{path}: {verb}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
