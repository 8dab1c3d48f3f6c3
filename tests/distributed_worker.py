"""One process of a data-parallel ``zoo train`` for tests/test_distributed.py; SIGKILLs itself on cue.

Usage: python distributed_worker.py [--kill-after-epoch E] ZOO-TRAIN-ARGS...

Runs the real ``zoo`` CLI in this process (the ``KERAS_DISTRIBUTION_*``
environment says which process it is). ``--kill-after-epoch E`` sends SIGKILL
to this process at the end of epoch E (0-based): a real ``kill -9`` of a real
training process; only its timing is scripted.
"""

from __future__ import annotations

import os
import signal
import sys

import keras

import zoo.training.steps


class KillAfterEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int):
        super().__init__()
        self.kill_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.kill_epoch:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--kill-after-epoch"]:
        epoch, args = int(args[1]), args[2:]
        make_callbacks = zoo.training.steps.make_callbacks

        def with_kill(*a, **k):
            return [*make_callbacks(*a, **k), KillAfterEpoch(epoch)]

        zoo.training.steps.make_callbacks = with_kill
    from cli.main import main as zoo_main

    sys.argv = ["zoo", *args]
    zoo_main()


if __name__ == "__main__":
    main()
