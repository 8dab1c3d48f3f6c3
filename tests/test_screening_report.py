"""The screening report on the command line: skipped files are counted, named and listed.

A class folder of good PNGs plus three bad files (a truncated PNG, a zero-byte
file, a text file named .jpg) is trained on, evaluated and embedded through
the real CLI; a clean folder prints no such block.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BAD = ("a/truncated.png", "a/empty.png", "b/notes.jpg")


def _invoke(args):
    from cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def _folder(root, bad: bool):
    """``root/a`` and ``root/b``: 8 random 8x8 grayscale PNGs each, and the bad files."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(8):
            image = rng.integers(0, 256, (8, 8), dtype=np.uint8)
            Image.fromarray(image).save(root / name / f"{i}.png")
    if bad:
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(buffer, "PNG")
        (root / BAD[0]).write_bytes(buffer.getvalue()[:60])
        (root / BAD[1]).write_bytes(b"")
        (root / BAD[2]).write_text("not an image at all\n")
    return root


def _train(data, run):
    args = ["train", "mlp", "--data", data, "--run-dir", run, "--epochs", 1, "--batch-size", 4,
            "--seed", 1, "--quiet", "--model-arg", "hidden_units=[4]"]  # fmt: skip
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dirty")
    data = _folder(tmp / "data", bad=True)
    return data, tmp / "run", _train(data, tmp / "run")


def _assert_block(stderr: str):
    assert "Skipped 3 file(s)" in stderr, stderr
    assert "1 x zero-byte file" in stderr, stderr
    for name in BAD:
        assert name in stderr, stderr


def test_train_prints_the_block_and_writes_the_full_list(dirty_run):
    data, run, result = dirty_run
    _assert_block(result.stderr)
    assert "Skipped" not in result.stdout
    listing = (run / "skipped_files.txt").read_text().splitlines()
    assert listing[0] == f"# {data}"
    assert sorted(line.split("\t")[0] for line in listing[1:]) == sorted(BAD)
    assert str(run / "skipped_files.txt") in result.stderr


def test_evaluate_prints_the_block(dirty_run):
    data, run, _ = dirty_run
    result = _invoke(["evaluate", run, "--data", data, "--no-plot"])
    assert result.exit_code == 0, result.output
    _assert_block(result.stderr)


def test_embed_prints_the_block(dirty_run, tmp_path):
    data, _, _ = dirty_run
    result = _invoke(["embed", "mlp", data, "--output", tmp_path / "emb", "--weights", "none"])
    assert result.exit_code == 0, result.output
    _assert_block(result.stderr)


@pytest.mark.parametrize("with_run_dir", [True, False])
def test_finetune_prints_the_block(dirty_run, tmp_path, monkeypatch, with_run_dir):
    data, _, _ = dirty_run
    monkeypatch.chdir(tmp_path)
    args = ["finetune", "lenet5", data, "--weights", "none", "--freeze-epochs", 1,
            "--epochs", 1, "--batch-size", 4, "--quiet"]  # fmt: skip
    result = _invoke(args + (["--run-dir", tmp_path / "ft"] if with_run_dir else []))
    assert result.exit_code == 0, result.output
    _assert_block(result.stderr)
    if with_run_dir:
        listing = tmp_path / "ft" / "phase1-head" / "skipped_files.txt"
        assert str(listing) in result.stderr
        assert len(listing.read_text().splitlines()) == 1 + len(BAD)


def test_clean_folder_prints_nothing(tmp_path):
    data = _folder(tmp_path / "data", bad=False)
    result = _train(data, tmp_path / "run")
    assert "Skipped" not in result.output
    assert not (tmp_path / "run" / "skipped_files.txt").exists()
