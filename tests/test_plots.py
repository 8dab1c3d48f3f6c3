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


# ------------------------------------------------------------ compare_runs
def _run(folder, accuracies):
    from zoo.training.runs import write_history_csv

    folder.mkdir(parents=True)
    n = len(accuracies)
    write_history_csv(
        str(folder / "history.csv"),
        {"epoch": list(range(1, n + 1)), "loss": [1.0] * n, "test_accuracy": accuracies},
    )
    return folder


def test_compare_runs_one_curve_per_run_labelled_by_folder(tmp_path):
    from matplotlib.figure import Figure

    from zoo.training import plots

    drawn = {}
    real_savefig = Figure.savefig

    def spy(fig, *args, **kwargs):  # the labels actually put in the legend
        drawn["labels"] = [line.get_label() for line in fig.axes[0].get_lines()]
        return real_savefig(fig, *args, **kwargs)

    a = _run(tmp_path / "erase", [0.5, 0.9])
    b = _run(tmp_path / "paper", [0.4, 0.8, 0.85])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", spy)
        out = plots.compare_runs(
            [a, b / "history.csv"], tmp_path / "cmp.png", metric="test_accuracy"
        )
    assert _is_png(out)
    assert drawn["labels"] == ["erase (last 0.9, best 0.9)", "paper (last 0.85, best 0.85)"]


def test_compare_runs_same_folder_names_keep_both(tmp_path):
    from matplotlib.figure import Figure

    from zoo.training import plots

    a = _run(tmp_path / "x" / "run", [0.5])
    b = _run(tmp_path / "y" / "run", [0.6])
    seen = {}
    real_savefig = Figure.savefig

    def spy(fig, *args, **kwargs):
        seen["n"] = len(fig.axes[0].get_lines())
        return real_savefig(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", spy)
        plots.compare_runs([a, b], tmp_path / "cmp.png", metric="test_accuracy")
    assert seen["n"] == 2


def test_compare_runs_names_the_run_without_the_metric(tmp_path):
    from zoo.training.plots import compare_runs

    a = _run(tmp_path / "a", [0.5])
    with pytest.raises(ValueError, match=r"Run 'a' has no 'val_accuracy' \(it has \["):
        compare_runs([a], tmp_path / "cmp.png")
    with pytest.raises(ValueError, match="at least one run"):
        compare_runs([], tmp_path / "cmp.png")
    assert not (tmp_path / "cmp.png").exists()


def test_zoo_plot_one_run_and_several(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    a = _run(tmp_path / "a", [0.5, 0.7])
    b = _run(tmp_path / "b", [0.6, 0.65])
    monkeypatch.chdir(tmp_path)
    one = CliRunner().invoke(cli, ["plot", str(a)])
    assert one.exit_code == 0, one.output
    assert _is_png(a / "curves.png") and "curves.png" in one.output
    two = CliRunner().invoke(cli, ["plot", str(a), str(b)])
    assert two.exit_code == 0, two.output
    assert _is_png(tmp_path / "compare_test_accuracy.png")  # every run tracked the test split
    bad = CliRunner().invoke(cli, ["plot", str(a), str(b), "--metric", "auc"])
    assert bad.exit_code != 0 and "has no 'auc'" in bad.output
    missing = CliRunner().invoke(cli, ["plot", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "No training history" in missing.output
