"""Training-curve plots: from a history dict, a run directory, and bad input."""

from __future__ import annotations

import pytest

from zoo.training.plots import load_history, plot_history

HISTORY = {
    "epoch": [1, 2, 3],
    "loss": [2.0, 1.0, 0.5],
    "val_loss": [2.1, 1.2, 0.9],
    "test_loss": [2.2, 1.3, 1.0],
    "accuracy": [0.3, 0.6, 0.8],
    "val_accuracy": [0.3, 0.55, 0.7],
    "lr": [0.1, 0.05, 0.01],
}


def _is_png(path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_from_a_history_dict(tmp_path):
    out = plot_history(HISTORY, tmp_path / "curves.png", title="t")
    assert _is_png(out)


def test_plot_from_a_run_directory_reads_its_csv(tmp_path):
    from zoo.training.runs import write_history_csv

    write_history_csv(str(tmp_path / "history.csv"), HISTORY)
    assert load_history(tmp_path)["test_loss"] == HISTORY["test_loss"]
    assert _is_png(plot_history(tmp_path, tmp_path / "c.png"))


def test_bad_sources_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="No training history"):
        plot_history(tmp_path / "nowhere", tmp_path / "c.png")
    with pytest.raises(ValueError, match="None of"):
        plot_history(HISTORY, tmp_path / "c.png", metrics=("auc",))
    assert not (tmp_path / "c.png").exists()
