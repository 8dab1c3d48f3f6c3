"""``benchmarks/degradation.py``: its one recipe is valid ``zoo train`` flags with the paper's steps.

Parsed by the real ``zoo train`` command (click) into the real `TrainConfig`,
without training: He et al. 2016, Sec. 4.2 divide the rate by 10 at 32k and
48k of 64k iterations (epochs 82 and 123 of 164 at batch 128).
"""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from cli.config_flags import collect_config, config_values, given_values
from cli.train_cmds import train_cmd

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "degradation.py"


@pytest.fixture(scope="module")
def degradation():
    spec = importlib.util.spec_from_file_location("degradation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(args: list[str], tmp_path):
    data = tmp_path / "subset.npz"
    data.write_bytes(b"")
    ctx = train_cmd.make_context("train", ["resnet20", "--data", str(data), *args])
    return collect_config(None, config_values(given_values(ctx, ctx.params)))


def test_full_schedule_is_the_papers(degradation, tmp_path):
    config = _config(degradation.recipe(degradation.parse(["--full"])), tmp_path)
    assert (config.epochs, config.batch_size, config.learning_rate) == (164, 128, 0.1)
    assert config.schedule == "multistep" and config.milestones == (82, 123)
    assert config.gamma == 0.1 and config.momentum == 0.9 and config.l2 == 5e-5
    assert config.validation_split == 0 and config.track_test


@pytest.mark.parametrize(("epochs", "batch", "milestones", "rate"),
                         [(60, 32, (30, 45), 0.025), (12, 64, (6, 9), 0.05),
                          (2, 128, (1,), 0.1), (1, 32, (1,), 0.025)])  # fmt: skip
def test_short_schedule_keeps_the_papers_shape(degradation, tmp_path, epochs, batch, milestones,
                                               rate):  # fmt: skip
    argv = ["--epochs", str(epochs), "--batch-size", str(batch)]
    config = _config(degradation.recipe(degradation.parse(argv)), tmp_path)
    assert (config.epochs, config.batch_size, config.milestones) == (epochs, batch, milestones)
    assert config.learning_rate == pytest.approx(rate)  # 0.1 at batch 128, scaled linearly
    assert dict(config.augment) == {"flip": 1.0, "crop": 0.125}
