"""Data-parallel training across processes and hosts, on JAX, through ``keras.distribution``.

``zoo train ... --distribute data_parallel`` (``TrainConfig(distribute="data_parallel")``)
started once per process with Keras' documented environment::

    KERAS_DISTRIBUTION_JOB_ADDRESSES=10.0.0.1:1234   # the coordinator (process 0)
    KERAS_DISTRIBUTION_NUM_PROCESSES=2
    KERAS_DISTRIBUTION_PROCESS_ID=0                  # 0 .. N-1, one per process

`start` calls ``keras.distribution.initialize()`` (JAX's distributed runtime;
CPU collectives over Gloo) and sets ``keras.distribution.DataParallel`` over
every device of every process. Each process keeps its shard of each split
(`local_shard`: rows ``i::N``, as many on each process, up to N-1 examples
left out) and feeds ``batch_size / N`` of each global batch (`local_batch`);
gradients are averaged over the global batch, so every process holds the same
weights after every step. Only the coordinator (process 0) writes the run
directory (checkpoints, run files, final model); on ``--resume`` every process
reads the coordinator's last committed state from it (a folder every process
can read: the same machine, or a shared file system). A process that dies
stops the others: `failures` turns their collective error into
`DistributedError`, after which the process should exit at once (the CLI
does, with ``os._exit``: JAX's shutdown would wait for the lost process).

On TensorFlow, Keras 3 has no multi-process data parallelism: it trains on
the GPUs of one host through ``tf.distribute.MirroredStrategy``
(``--distribute mirrored``); ``data_parallel`` there is refused (`start`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
from typing import Any

__all__ = [
    "ENV_ADDRESSES",
    "ENV_PROCESSES",
    "ENV_PROCESS_ID",
    "Cluster",
    "DistributedError",
    "cluster",
    "failures",
    "is_worker",
    "local_batch",
    "local_shard",
    "prepare_worker",
    "report",
    "start",
    "weights_digest",
]

ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"

NOT_ON_BACKEND = (
    "distribute='data_parallel' needs the JAX backend (KERAS_BACKEND=jax): Keras 3's "
    "multi-process data parallelism (keras.distribution) exists on JAX only; on {backend} "
    "Keras 3 trains on the GPUs of one host only (--distribute mirrored, TensorFlow's "
    "MirroredStrategy), not across processes or hosts."
)


class DistributedError(RuntimeError):
    """A process of a data-parallel run failed or lost its peers; the run cannot go on."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """This process's place in a data-parallel run (1 process, id 0 when not distributed)."""

    num_processes: int = 1
    process_id: int = 0

    @property
    def coordinator(self) -> bool:
        return self.process_id == 0

    @property
    def worker(self) -> bool:
        """A process other than the coordinator: reads the run directory, writes nothing."""
        return self.process_id > 0

    @property
    def multi(self) -> bool:
        return self.num_processes > 1


_CLUSTER: Cluster | None = None


def cluster() -> Cluster:
    """The cluster joined by `start` (a single process before, or without, one)."""
    return _CLUSTER or Cluster()


def _env_int(environ, name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an integer.") from None


def cluster_from_env(environ=os.environ) -> Cluster:
    """The `Cluster` Keras' environment variables describe (checked, nothing started).

    Raises:
        ValueError: a value that is not an integer or out of range, or several
            processes without the coordinator's address (each naming the variable).
    """
    n = _env_int(environ, ENV_PROCESSES, 1)
    pid = _env_int(environ, ENV_PROCESS_ID, 0)
    if n < 1:
        raise ValueError(f"{ENV_PROCESSES}={n}: needs at least 1 process.")
    if not 0 <= pid < n:
        raise ValueError(f"{ENV_PROCESS_ID}={pid} is not in 0..{n - 1} ({ENV_PROCESSES}={n}).")
    if n > 1 and not environ.get(ENV_ADDRESSES, "").strip():
        raise ValueError(
            f"{ENV_PROCESSES}={n} needs {ENV_ADDRESSES}: the coordinator's HOST:PORT "
            f"(process 0), the same on every process."
        )
    return Cluster(n, pid)


def is_worker(distribute: str | None, environ=os.environ) -> bool:
    """Whether this process is a non-coordinator of a ``distribute`` run (from the environment)."""
    if distribute not in ("auto", "data_parallel"):
        return False
    with contextlib.suppress(ValueError):
        return cluster_from_env(environ).worker
    return False


def start(config: Any) -> Cluster:
    """Joins the data-parallel run ``config`` asks for (once per process); before any JAX work.

    ``distribute`` ``"data_parallel"`` (or ``"auto"`` on JAX) initializes the
    distributed runtime when the environment names more than one process, and
    sets ``DataParallel`` over all devices. Anything else: a single process.

    Raises:
        ValueError: ``data_parallel`` on another backend than JAX; a bad
            environment; a batch size the processes cannot split evenly.
    """
    global _CLUSTER
    import keras

    backend = keras.backend.backend()
    if config.distribute == "data_parallel" and backend != "jax":
        raise ValueError(NOT_ON_BACKEND.format(backend=_BACKENDS.get(backend, backend)))
    if config.distribute not in ("auto", "data_parallel") or backend != "jax":
        return cluster()
    wanted = cluster_from_env()
    if wanted.multi and config.batch_size % wanted.num_processes:
        raise ValueError(
            f"batch_size={config.batch_size} (the global batch) does not split evenly over "
            f"{wanted.num_processes} processes; use a multiple of {wanted.num_processes}."
        )
    if _CLUSTER is None:
        if wanted.multi:
            import jax

            # CPU processes exchange gradients over Gloo (GPUs use NCCL whatever this says)
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
            keras.distribution.initialize()  # reads the KERAS_DISTRIBUTION_* variables
        _CLUSTER = wanted
    if keras.distribution.distribution() is None:
        # each process feeds its own shard (`local_shard`): no automatic sharding
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(auto_shard_dataset=not _CLUSTER.multi)
        )
    return _CLUSTER


_BACKENDS = {"tensorflow": "TensorFlow", "torch": "PyTorch", "numpy": "NumPy"}


def local_batch(batch_size: int | None) -> int | None:
    """This process's part of a global batch of ``batch_size``."""
    c = cluster()
    if batch_size is None or not c.multi:
        return batch_size
    return batch_size // c.num_processes


def local_shard(bundle):
    """``bundle`` with each split cut to this process's shard (unchanged for a single process).

    In-memory splits keep rows ``process_id::N`` of the first ``N * (n // N)``;
    a streaming folder split keeps those files, batched ``batch_size / N``.

    Raises:
        ValueError: a split with fewer examples than processes, or a
            streaming source that cannot be sharded.
    """
    c = cluster()
    if not c.multi:
        return bundle
    changes = {
        s: _shard(bundle.get(s), c, s)
        for s in ("train", "val", "test")
        if bundle.get(s) is not None
    }
    return dataclasses.replace(bundle, **changes)


def _shard(data, c: Cluster, split: str):
    from zoo.data.streaming import ImageFileDataset

    n_proc, pid = c.num_processes, c.process_id
    if isinstance(data, tuple):
        x, y = data
        n = len(y) // n_proc * n_proc
        if n == 0:
            raise ValueError(
                f"the {split} split has {len(y)} example(s), fewer than {n_proc} processes."
            )
        return x[pid:n:n_proc], y[pid:n:n_proc]
    if not isinstance(data, ImageFileDataset):
        raise ValueError(
            f"the {split} split streams from a {type(data).__name__}, which data_parallel cannot "
            "shard across processes; use an image folder, an .npz or data that fits in memory."
        )
    n = len(data.paths) // n_proc * n_proc
    if n == 0:
        raise ValueError(
            f"the {split} split has {len(data.paths)} file(s), fewer than {n_proc} processes."
        )
    return ImageFileDataset(
        data.paths[pid:n:n_proc], data.labels[pid:n:n_proc], image_size=data.image_size,
        channels=data.channels, batch_size=max(1, data.batch_size // n_proc),
        shuffle=data.shuffle, seed=data.seed, max_pixels=data.max_pixels, workers=data.workers,
        use_multiprocessing=data.use_multiprocessing, max_queue_size=data.max_queue_size,
    )  # fmt: skip


def prepare_worker(model, data, config, *, run_dir, resume: bool, callbacks=(), **kwargs):
    """Steps 1-2 of ``train`` on a worker: the same run as the coordinator's, writing nothing.

    Resuming, the run's record gives what the caller left None and its last
    committed state (written by the coordinator) is restored; the coordinator
    checks the run is the same one.

    Returns:
        The `steps.TrainingRun`, with no run directory (so nothing is written).
    """
    from zoo.training import runs, steps

    run = record = None
    if resume:
        run = runs.RunDirectory(run_dir)
        record, model, data, config, kwargs["model_kwargs"], kwargs["preprocessing"] = (
            steps._resume_arguments(
                run, model, data, config, kwargs.get("model_kwargs"), kwargs.get("preprocessing")
            )
        )
    tr = steps.prepare_run(model, data, config, run_dir=None, **kwargs)
    if run is not None:
        tr.run, tr.record, tr.state = run, record, run.state()
    steps.restore_run(tr, extra_callbacks=callbacks)
    if tr.checkpoint is not None:
        tr.callbacks.remove(tr.checkpoint)
    tr.run, tr.checkpoint = None, None
    return tr


@contextlib.contextmanager
def failures(c: Cluster, run_dir=None):
    """Turns any error of a multi-process run into `DistributedError` (one line, what to do)."""
    if not c.multi:
        yield
        return
    try:
        yield
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        again = f" --resume {run_dir}" if run_dir else " --resume RUN_DIR"
        raise DistributedError(
            f"process {c.process_id} of {c.num_processes} stopped ({type(err).__name__}: "
            f"{first}); a data-parallel run stops when any process fails. The run keeps the "
            f"coordinator's last committed epoch: start every process again with{again}."
        ) from err


def weights_digest(model) -> str:
    """sha256 over a model's weights, in order (processes in lock step print the same)."""
    import numpy as np

    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def report(c: Cluster, model, stream=None) -> None:
    """Prints this process's final-weights digest (multi-process runs only)."""
    if c.multi:
        stream = stream if stream is not None else sys.stderr
        print(
            f"[distribute] process {c.process_id} of {c.num_processes}: final weights sha256 "
            f"{weights_digest(model)}",
            file=stream,
            flush=True,
        )
