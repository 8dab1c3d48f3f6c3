"""The code's shape is checked, not hoped for: lint, module and function size, layering.

- ``ruff check`` and ``ruff format --check`` find nothing (rules in pyproject.toml);
- no module under zoo/, tuning/ or cli/ is over 400 lines, no function over 60 lines of code
  (docstrings, comments and blank lines not counted);
- importing ``zoo.registry`` pulls in no Keras and no model module; no module of the library
  imports the CLI.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("zoo", "tuning", "cli")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules(packages=PACKAGES):
    for package in packages:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def _code_lines(node: ast.AST, source_lines: list[str]) -> int:
    """Lines of ``node`` holding code: no blank, comment-only or docstring lines."""
    skip = set()
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        if isinstance(body, list) and body:
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                skip.update(range(first.lineno, first.end_lineno + 1))
    count = 0
    for lineno in range(node.lineno, node.end_lineno + 1):
        text = source_lines[lineno - 1].strip()
        if lineno in skip or not text or text.startswith("#"):
            continue
        count += 1
    return count


def _long_functions(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = _code_lines(node, lines)
            if n > MAX_FUNCTION_LINES:
                found.append(f"{os.path.relpath(path, ROOT)}:{node.lineno} {node.name} ({n})")
    return found


def test_modules_are_short():
    long = []
    for path in _modules():
        with open(path, encoding="utf-8") as f:
            n = sum(1 for _ in f)
        if n > MAX_MODULE_LINES:
            long.append(f"{os.path.relpath(path, ROOT)} ({n} lines)")
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_functions_are_short():
    long = [hit for path in _modules() for hit in _long_functions(path)]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"


def test_library_never_imports_the_cli():
    offenders = []
    for path in _modules(("zoo", "tuning")):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n == "cli" or n.startswith("cli.") for n in names):
                offenders.append(os.path.relpath(path, ROOT))
    assert not offenders, f"library modules importing the CLI: {offenders}"


def test_registry_imports_no_keras_and_no_models():
    code = (
        "import sys, zoo.registry; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax') "
        "or m.startswith('zoo.models')]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def _ruff():
    exe = shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (it is in the test extra: pip install -e '.[test]')")
    return exe


def test_ruff_check_is_clean():
    out = subprocess.run(
        [_ruff(), "check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]


def test_ruff_format_is_clean():
    out = subprocess.run(
        [_ruff(), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
