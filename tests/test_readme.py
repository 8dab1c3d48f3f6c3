"""The README never lies: its main-job command runs, and CI runs its test command verbatim."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
from conftest import REPO

README = (REPO / "README.md").read_text()


def _setup_commands():
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)


def test_readme_states_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2
    assert commands[0].startswith("pip install -e . && zoo ")
    assert commands[1].startswith('pip install -e ".[test]" && ') and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    marked = README.split("<!-- ci:test-command -->", 1)[1].split("<!-- /ci:test-command -->", 1)[0]
    assert _setup_commands()[1] in marked
    ci = (REPO / ".ci" / "run").read_text()
    assert "ci:test-command" in ci and "README.md" in ci


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_main_job_runs_on_the_shipped_sample(tmp_path):
    """`zoo train lenet5` (after the install part of the command) from a fresh folder."""
    main_job = _setup_commands()[0].split("&&", 1)[1].strip()
    args = shlex.split(main_job)
    assert args[0] == "zoo"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", *args[1:]], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Status:    completed" in proc.stdout
    accuracy = float(re.search(r"test_accuracy:\s+([0-9.]+)", proc.stdout).group(1))
    assert accuracy > 0.9  # LeNet-5 on 4,500 real digits; chance is 0.1
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.keras").is_file()
