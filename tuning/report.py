"""Results of a search: table (CSV + JSON), plots (PNG), a printed summary.

Everything here reads the search folder's JSON files (``search.json``,
``search/trial_*/trial.json`` and the crash ledgers), so ``zoo tune-report``
works on a finished or interrupted search without Keras or keras-tuner.

Files written into the search folder:

- ``results.csv`` / ``results.json``: one row per trial with its status,
  hyperparameters, metrics (at the best epoch), objective, duration,
  epochs trained and attempts;
- ``objective_per_trial.png``: the objective of each trial and the best so far;
- ``hparams_vs_objective.png``: one panel per hyperparameter.
"""

from __future__ import annotations

import csv
import glob
import io
import math
import os
from typing import Any

from tuning.state import LEDGER, read_state, write_state

__all__ = ["collect", "format_table", "load_request", "plot", "summarize", "write_results"]

REQUEST = "search.json"
PROJECT = "search"
RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"
PLOT_OBJECTIVE = "objective_per_trial.png"
PLOT_HPARAMS = "hparams_vs_objective.png"


def load_request(directory: str) -> dict:
    """The search request stored in ``directory/search.json``.

    Raises:
        FileNotFoundError: when the folder holds no search.
    """
    path = os.path.join(directory, REQUEST)
    if not os.path.isfile(path) and not os.path.isfile(path + ".bak"):
        raise FileNotFoundError(f"{directory} holds no search ({REQUEST} is missing).")
    return read_state(path, required=True)


def _best(observations: list, direction: str | None) -> float | None:
    values = []
    for obs in observations:
        v = obs.get("value")
        v = v[0] if isinstance(v, list) and v else v
        if isinstance(v, (int, float)) and v is not None and math.isfinite(v):
            values.append(float(v))
    if not values:
        return None
    return max(values) if direction == "max" else min(values)


def collect(directory: str) -> list[dict]:
    """One row per trial, in trial order.

    Each row: ``trial_id``, ``status``, ``hyperparameters`` (dict),
    ``metrics`` (dict), ``objective``, ``duration_s``, ``epochs``,
    ``attempts``, ``message``.
    """
    rows = []
    pattern = os.path.join(directory, PROJECT, "trial_*", "trial.json")
    for fname in sorted(glob.glob(pattern)):
        state = read_state(fname)
        if state is None:
            continue
        ledger = read_state(os.path.join(os.path.dirname(fname), LEDGER)) or {}
        metrics = {}
        for name, cfg in ((state.get("metrics") or {}).get("metrics") or {}).items():
            metrics[name] = _best(cfg.get("observations", []), cfg.get("direction"))
        values = (state.get("hyperparameters") or {}).get("values") or {}
        message = (state.get("message") or "").strip()
        rows.append(
            {
                "trial_id": state.get("trial_id"),
                "status": state.get("status"),
                "hyperparameters": values,
                "metrics": metrics,
                "objective": state.get("score"),
                "duration_s": ledger.get("duration_s"),
                "epochs": ledger.get("epochs"),
                "attempts": ledger.get("starts", 0),
                "message": message.splitlines()[-1][:300] if message else "",
            }
        )
    return rows


def _columns(rows: list[dict]) -> tuple[list[str], list[str]]:
    hps, metrics = [], []
    for row in rows:
        for k in row["hyperparameters"]:
            if k not in hps:
                hps.append(k)
        for k in row["metrics"]:
            if k not in metrics:
                metrics.append(k)
    return hps, sorted(metrics)


def write_results(directory: str, rows: list[dict], request: dict | None = None) -> dict:
    """Writes ``results.csv`` and ``results.json`` atomically; returns the JSON document."""
    from zoo.saving import atomic_write

    request = request or {}
    hps, metrics = _columns(rows)
    header = ["trial_id", "status", "objective", "duration_s", "epochs", "attempts"]
    header += [f"hp:{h}" for h in hps] + [f"metric:{m}" for m in metrics] + ["message"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for r in rows:
        writer.writerow(
            [
                r["trial_id"],
                r["status"],
                _cell(r["objective"]),
                _cell(r["duration_s"]),
                _cell(r["epochs"]),
                r["attempts"],
            ]
            + [_cell(r["hyperparameters"].get(h)) for h in hps]
            + [_cell(r["metrics"].get(m)) for m in metrics]
            + [r["message"]]
        )

    def write_csv(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(buf.getvalue())

    atomic_write(os.path.join(directory, RESULTS_CSV), write_csv, suffix=".csv")
    best = best_row(rows, request.get("direction", "max"))
    doc = {
        "model": request.get("model"),
        "data": request.get("data"),
        "tuner": request.get("tuner"),
        "objective": request.get("objective"),
        "direction": request.get("direction"),
        "max_trials": request.get("max_trials"),
        "trials": rows,
        "counts": _counts(rows),
        "total_epochs": sum(int(r["epochs"] or 0) for r in rows),
        "best": best,
    }
    write_state(os.path.join(directory, RESULTS_JSON), doc)
    return doc


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _counts(rows: list[dict]) -> dict:
    out: dict[str, int] = {}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def best_row(rows: list[dict], direction: str = "max") -> dict | None:
    done = [r for r in rows if r["status"] == "COMPLETED" and r["objective"] is not None]
    if not done:
        return None
    pick = max if direction == "max" else min
    return pick(done, key=lambda r: r["objective"])


def format_table(rows: list[dict], objective: str = "objective", limit: int | None = None) -> str:
    """A plain-text table of the trials (hyperparameters, objective, status, time)."""
    hps, _ = _columns(rows)
    hps = [h for h in hps if not h.startswith("tuner/") or h == "tuner/epochs"]
    header = ["trial", "status", objective, "epochs", "seconds"] + hps
    lines = [header]
    for r in rows[:limit] if limit else rows:
        lines.append(
            [str(r["trial_id"]), str(r["status"]), _cell(r["objective"]) or "-", _cell(r["epochs"]) or "-",
             f"{r['duration_s']:.1f}" if r["duration_s"] is not None else "-"]
            + [_cell(r["hyperparameters"].get(h)) or "-" for h in hps]
        )  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=False)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def plot(
    directory: str, rows: list[dict], objective: str = "objective", direction: str = "max"
) -> list[str]:
    """Writes the two PNG plots; returns their paths (none when no trial finished)."""
    from zoo.saving import atomic_write

    paths = []
    fig = _plot_objective(rows, objective, direction)
    paths.append(_save(fig, os.path.join(directory, PLOT_OBJECTIVE), atomic_write))
    done = [r for r in rows if r["objective"] is not None and r["status"] == "COMPLETED"]
    hps, _ = _columns(done)
    hps = [h for h in hps if not h.startswith("tuner/")]
    if hps:
        fig = _plot_hparams(done, hps, objective)
        paths.append(_save(fig, os.path.join(directory, PLOT_HPARAMS), atomic_write))
    return paths


def _figure(nrows=1, ncols=1, **kwargs):
    """A figure on its own Agg canvas and its axes.

    No pyplot state: the caller's matplotlib backend (e.g. a notebook's inline
    plots) is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize"))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _plot_objective(rows: list[dict], objective: str, direction: str):
    """The objective of each trial (failed ones marked) and the best so far."""
    fig, ax = _figure(figsize=(7, 4))
    xs = list(range(len(rows)))
    ys = [r["objective"] if r["status"] == "COMPLETED" else None for r in rows]
    ax.plot(
        [x for x, y in zip(xs, ys, strict=False) if y is not None],
        [y for y in ys if y is not None],
        "o",
        label="trial",
    )
    failed = [x for x, r in zip(xs, rows, strict=False) if r["status"] != "COMPLETED"]
    if failed:
        low = min([y for y in ys if y is not None], default=0.0)
        ax.plot(failed, [low] * len(failed), "rx", label="failed")
    best, best_so_far = None, []
    for y in ys:
        if y is not None and (best is None or (y > best if direction == "max" else y < best)):
            best = y
        best_so_far.append(best)
    ax.step(
        xs,
        [b if b is not None else float("nan") for b in best_so_far],
        where="post",
        label="best so far",
    )
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title(f"{objective} per trial")
    ax.legend()
    fig.tight_layout()
    return fig


def _plot_hparams(done: list[dict], hps: list[str], objective: str):
    """One panel per hyperparameter: its value against the objective of completed trials."""
    cols = min(3, len(hps))
    nrows = math.ceil(len(hps) / cols)
    fig, axes = _figure(nrows, cols, figsize=(4 * cols, 3.2 * nrows), squeeze=False)
    for ax, h in zip(axes.flat, hps, strict=False):
        pts = [
            (r["hyperparameters"].get(h), r["objective"]) for r in done if h in r["hyperparameters"]
        ]
        _hparam_panel(ax, pts)
        ax.set_xlabel(h)
        ax.set_ylabel(objective)
        ax.set_title(f"{objective} vs {h}")
    for ax in list(axes.flat)[len(hps) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.suptitle("Hyperparameter vs objective (completed trials)")
    return fig


def _hparam_panel(ax, pts: list[tuple[Any, float]]) -> None:
    """Numbers on a (log, when they span > 50x) axis; anything else as sorted labels."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v, _ in pts)
    if numeric:
        ax.plot([v for v, _ in pts], [o for _, o in pts], "o")
        values = [v for v, _ in pts]
        if values and min(values) > 0 and max(values) / min(values) > 50:
            ax.set_xscale("log")
        return
    labels = sorted({str(v) for v, _ in pts})
    ax.plot([labels.index(str(v)) for v, _ in pts], [o for _, o in pts], "o")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30)


def _save(fig, path: str, atomic_write) -> str:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100), suffix=".png")
    return path


def summarize(directory: str, *, write: bool = True, plots: bool = True) -> dict:
    """Collects the trials, writes table and plots, returns the results document."""
    request = load_request(directory)
    rows = collect(directory)
    doc = (
        write_results(directory, rows, request)
        if write
        else {"trials": rows, "best": best_row(rows)}
    )
    if plots and rows:
        doc["plots"] = plot(
            directory, rows, request.get("objective", "objective"), request.get("direction", "max")
        )
    return doc
