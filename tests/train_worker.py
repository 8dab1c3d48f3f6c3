"""A training process for the kill tests: trains, and SIGKILLs itself on cue.

Usage: python train_worker.py RUN_DIR DATA.npz EPOCHS [--kill-batch E:B] [--kill-save SUBSTRING:N]

``--kill-batch E:B`` sends SIGKILL to this process after batch B of epoch E
(0-based), i.e. mid-epoch. ``--kill-save SUBSTRING:N`` sends SIGKILL during
the N-th atomic write whose target path contains SUBSTRING, after the
temporary file is written and before it is renamed into place (mid-save).
The kill is a real ``kill -9`` of a real training process; only its timing
is scripted.
"""

from __future__ import annotations

import argparse
import os
import signal

import keras

import zoo.saving
import zoo.training.run_checkpoint
from zoo.training.config import TrainConfig
from zoo.training.fit import train


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


class KillAtBatch(keras.callbacks.Callback):
    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.kill_epoch, self.kill_batch, self.epoch = epoch, batch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.kill_epoch and batch == self.kill_batch:
            _die()


def kill_during_save(substring: str, nth: int) -> None:
    original = zoo.saving.atomic_write
    seen = {"n": 0}

    def atomic_write(path, write_fn, suffix=""):
        if substring in os.fspath(path):
            seen["n"] += 1
            if seen["n"] == nth:

                def write_then_die(tmp):
                    write_fn(tmp)
                    _die()

                return original(path, write_then_die, suffix)
        return original(path, write_fn, suffix)

    zoo.saving.atomic_write = atomic_write
    zoo.training.run_checkpoint.atomic_write = atomic_write


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("data")
    parser.add_argument("epochs", type=int)
    parser.add_argument("--kill-batch")
    parser.add_argument("--kill-save")
    args = parser.parse_args()
    callbacks = []
    if args.kill_batch:
        e, b = (int(v) for v in args.kill_batch.split(":"))
        callbacks.append(KillAtBatch(e, b))
    if args.kill_save:
        sub, n = args.kill_save.rsplit(":", 1)
        kill_during_save(sub, int(n))
    config = TrainConfig(
        epochs=args.epochs, batch_size=50, optimizer="momentum", learning_rate=0.05,
        schedule="step", step_size=1, gamma=0.5, seed=3, early_stopping=False,
    )  # fmt: skip
    train("lenet5", args.data, config, run_dir=args.run_dir, callbacks=callbacks, verbose=0,
          resume=os.path.isfile(os.path.join(args.run_dir, "run.json")))  # fmt: skip


if __name__ == "__main__":
    main()
