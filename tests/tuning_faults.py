"""Real faults for tests/test_tuning_faults.py, installed from outside the library.

Runs ``zoo tune`` with faults that happen for real: the process SIGKILLs
itself, or sleeps until the test kills it. Nothing in ``tuning/`` knows about
them: this script wraps the library's own functions before the command runs.

    python tests/tuning_faults.py [--hang ID] [--crash NAME=VALUE]
        [--kill-in-write FILE:N] -- ZOO_TUNE_ARGS...

- ``--hang ID``: trial ``ID`` writes ``trial_<ID>/HANGING`` (its pid) and
  sleeps, after the crash ledger counted its start, so a test can kill it
  mid-trial.
- ``--crash NAME=VALUE``: a trial whose hyperparameter ``NAME`` equals
  ``VALUE`` SIGKILLs its process (as the OOM killer would), every attempt.
- ``--kill-in-write FILE:N``: the N-th atomic write of a state file named
  ``FILE`` writes half its bytes to the temporary file and SIGKILLs the
  process there.

A supervised search (no ``--in-process``) runs its child through this script
too (``--child``), so the faults happen in the process that runs the trials.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(HERE))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tests/tuning_faults.py")
    parser.add_argument("--hang", metavar="TRIAL_ID")
    parser.add_argument("--crash", metavar="NAME=VALUE")
    parser.add_argument("--kill-in-write", metavar="FILE:N")
    parser.add_argument("--child", action="store_true", help="run `python -m tuning.search`")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _fault_args(args: argparse.Namespace) -> list[str]:
    out = []
    for flag, value in (("--hang", args.hang), ("--crash", args.crash),
                        ("--kill-in-write", args.kill_in_write)):  # fmt: skip
        if value is not None:
            out += [flag, value]
    return out


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_trial_faults(hang: str | None, crash: str | None) -> None:
    """Wraps `SafeTunerMixin.train_execution`, which runs after the ledger counted the start."""
    from tuning.tuners import SafeTunerMixin

    train_execution = SafeTunerMixin.train_execution

    def faulty(self, trial, *args, **kwargs):
        if crash:
            name, _, value = crash.partition("=")
            if str(trial.hyperparameters.values.get(name)) == value:
                _die()
        if hang is not None and str(trial.trial_id) == hang:
            with open(os.path.join(self.get_trial_dir(trial.trial_id), "HANGING"), "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(600)
        return train_execution(self, trial, *args, **kwargs)

    SafeTunerMixin.train_execution = faulty


def install_write_fault(spec: str) -> None:
    """Wraps `zoo.saving.atomic_write`, through which `tuning.state` writes every state file."""
    import zoo.saving

    name, _, count = spec.rpartition(":")
    atomic_write = zoo.saving.atomic_write
    seen = {"writes": 0}

    def faulty(path, write_fn, suffix=""):
        if os.path.basename(os.fspath(path)) != name:
            return atomic_write(path, write_fn, suffix=suffix)
        seen["writes"] += 1
        if seen["writes"] != int(count):
            return atomic_write(path, write_fn, suffix=suffix)

        def torn(tmp):
            write_fn(tmp)
            with open(tmp, "r+b") as fh:
                fh.truncate(os.path.getsize(tmp) // 2)
                fh.flush()
                os.fsync(fh.fileno())
            _die()

        return atomic_write(path, torn, suffix=suffix)

    zoo.saving.atomic_write = faulty


def main(argv: list[str]) -> int:
    if REPO not in sys.path:
        sys.path.insert(0, REPO)  # run as a script: only tests/ is on the path
    args = _parser().parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    install_trial_faults(args.hang, args.crash)
    if args.kill_in_write:
        install_write_fault(args.kill_in_write)
    if args.child:
        from tuning.search import main as search_main

        return search_main(rest)
    import tuning.supervisor
    from cli.tune_cmds import tune_cmd

    tuning.supervisor.CHILD = (sys.executable, HERE, "--child", *_fault_args(args), "--")
    return tune_cmd(rest, prog_name="zoo")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
