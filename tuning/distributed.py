"""Distributed search with keras-tuner's own chief/worker mode.

One chief process holds the oracle and serves it over gRPC; worker processes
ask it for trials, train them and report back. keras-tuner reads three
environment variables, which `configure` sets (or set them yourself):

- ``KERASTUNER_TUNER_ID``: ``chief`` for the chief, a unique id per worker;
- ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT``: the chief's address.

SECURITY: the gRPC channel is unauthenticated and unencrypted. Anyone who can
reach the port can read the search space and results and inject trials. The
chief therefore binds to 127.0.0.1 unless ``allow_remote=True``
(``--allow-remote``); then run it only on a trusted network (or tunnel the
port over SSH).

Workers should share the chief's ``--directory`` (same filesystem) so that
trial folders, durations and the best model are visible to the chief; a
worker elsewhere still works, and the best configuration is then retrained by
the chief at the end.

This module imports no Keras.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time

__all__ = [
    "ENV_ID",
    "ENV_IP",
    "ENV_PORT",
    "check_bind_address",
    "configure",
    "parse_address",
    "role",
    "serve",
]

ENV_ID = "KERASTUNER_TUNER_ID"
ENV_IP = "KERASTUNER_ORACLE_IP"
ENV_PORT = "KERASTUNER_ORACLE_PORT"
LOOPBACK = "127.0.0.1"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> ``(host, port)``; raises ValueError with the expected form."""
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"Expected HOST:PORT such as 127.0.0.1:8000; received {text!r}.")
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except (OSError, ValueError):
            return False


def check_bind_address(host: str, allow_remote: bool) -> str:
    """Returns the address the chief binds to; refuses non-loopback without consent.

    Raises:
        ValueError: for a non-loopback host without ``allow_remote``.
    """
    if _is_loopback(host):
        return host
    if not allow_remote:
        raise ValueError(
            f"The chief would listen on {host}, reachable from other machines, over an "
            f"unauthenticated gRPC channel; pass --allow-remote (allow_remote=True) to do "
            f"that on a trusted network, or use 127.0.0.1."
        )
    return host


def configure(
    role_name: str,
    address: str,
    *,
    worker_id: str | None = None,
    allow_remote: bool = False,
    environ: dict | None = None,
) -> dict:
    """Sets keras-tuner's environment variables for a chief or a worker.

    Args:
        role_name: ``"chief"`` or ``"worker"``.
        address: ``HOST:PORT`` the chief listens on / the workers connect to.
        worker_id: a worker's unique id (must not contain ``"chief"``).
        allow_remote: let the chief listen on a non-loopback address.
        environ: the mapping to update (defaults to ``os.environ``).

    Returns:
        The variables set.
    """
    environ = os.environ if environ is None else environ
    host, port = parse_address(address)
    if role_name == "chief":
        host = check_bind_address(host, allow_remote)
        tuner_id = "chief"
    elif role_name == "worker":
        if not worker_id:
            raise ValueError("A worker needs --worker-id (a unique name such as worker0).")
        if "chief" in worker_id:
            raise ValueError(f"A worker id must not contain 'chief'; received {worker_id!r}.")
        tuner_id = str(worker_id)
    else:
        raise ValueError(f"role must be 'chief' or 'worker'; received {role_name!r}.")
    values = {ENV_ID: tuner_id, ENV_IP: host, ENV_PORT: str(port)}
    environ.update(values)
    return values


def role(environ: dict | None = None) -> str:
    """``"chief"``, ``"worker"`` or ``"single"`` from the environment."""
    environ = os.environ if environ is None else environ
    if ENV_IP not in environ:
        return "single"
    return "chief" if "chief" in environ.get(ENV_ID, "") else "worker"


def serve(oracle, *, poll_s: float = 0.2, progress=print) -> None:
    """Serves ``oracle`` until every trial is done and every worker was told to stop.

    keras-tuner's ``start_server`` does the same but polls every 20 s; the
    binding address is checked again here.
    """
    from concurrent import futures

    import grpc

    # The one use of keras_tuner.src in the zoo, on purpose: keras-tuner's only public way
    # to serve an oracle is a chief's ``Tuner.search()``, which runs
    # ``oracle_chief.start_server``: a one-thread server that, once told to stop, re-checks
    # the workers every 20 s, and binds without the address check above. Its servicer,
    # stop test and gRPC service have no public names.
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

    host = check_bind_address(
        os.environ[ENV_IP], allow_remote=os.environ.get("ZOO_TUNE_ALLOW_REMOTE") == "1"
    )
    port = os.environ[ENV_PORT]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    progress(f"[tune] chief serving the oracle on {host}:{port} (unauthenticated gRPC)")
    try:
        while True:
            time.sleep(poll_s)
            if servicer.stop_triggered and exit_chief(oracle):
                break
    finally:
        server.stop(grace=1.0)
