"""The screening report on stderr: which files of an image folder were skipped.

`train`, `finetune`, `evaluate` and `embed` print it through `print_skipped`; nothing is
printed when nothing was skipped. Runs keep the full list in
``RUN/skipped_files.txt`` (written by `zoo.training.steps`).
"""

from __future__ import annotations

import os

import click

SHOWN_FILES = 5  # file names shown on stderr; the run directory has them all


def print_skipped(report, listing: str | None = None) -> None:
    """Prints ``report``'s short skipped-files block on stderr (nothing if none)."""
    if report is None:
        return
    from zoo.data.screen_report import skipped_summary

    text = skipped_summary(report.skipped, report.root, SHOWN_FILES, listing=listing)
    if text:
        click.echo(text, err=True)


def print_run_skipped(run_dir: str | None) -> None:
    """Prints the block from a run's ``skipped_files.txt`` (a fine-tune's: phase 1's)."""
    from zoo.data.screen_report import SKIPPED_FILE, read_skipped_listing

    if not run_dir or not os.path.isdir(run_dir):
        return
    found = [os.path.join(run_dir, SKIPPED_FILE)] + sorted(
        os.path.join(run_dir, d, SKIPPED_FILE) for d in os.listdir(run_dir)
    )
    path = next((p for p in found if os.path.isfile(p)), None)
    if path is not None:
        print_skipped(read_skipped_listing(path, run_dir), listing=path)


def print_evaluated_skipped(report: dict, data) -> None:
    """Prints the block for the files an evaluation's screening skipped (``report["skipped"]``)."""
    from zoo.data.screen_report import SkippedFile, skipped_summary

    skipped = [SkippedFile(path, reason) for path, reason in report.get("skipped", ())]
    text = skipped_summary(skipped, str(data), SHOWN_FILES)
    if text:
        click.echo(text, err=True)


def print_folder_skipped(data) -> None:
    """Screens ``data`` (when an image folder) and prints the block.

    For a fine-tune without a run directory, whose library call does not return
    its bundle: the folder is screened a second time.
    """
    if not isinstance(data, str) or not os.path.isdir(data):
        return
    from zoo.data.screen import screen_folder

    print_skipped(screen_folder(data, progress=False))
